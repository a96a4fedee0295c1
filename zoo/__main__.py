"""Command line: python -m zoo train | evaluate | predict | export | demo | serve | list."""

import argparse
import json
import os
import shlex
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow start-up chatter out of the output

DEFAULT_DATA = os.environ.get("BABI_DIR", os.path.normpath(os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data", "babi", "tasks_1-20_v1-2")))


def _json_arg(flag, text):
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{flag} takes a JSON object, e.g. '{{\"dim\": 100}}': {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{flag} takes a JSON object, got {text!r}")
    return value


def _train(args):
    from zoo.training import train

    recipe, config = _json_arg("--recipe", args.recipe), _json_arg("--config", args.config)
    files = args.train is not None or args.valid is not None
    if files and (args.size is not None or args.tasks is not None):
        raise ValueError("--size and --tasks choose a bAbI folder; with --train/--valid files they do not apply "
                         "(a file's task: FILE:N, else the N of 'qaN_' in its name, else its place in the list)")
    _, meta = train(args.name, args.data_dir, args.size or "1k", args.tasks or "all", args.out, args.epochs,
                    args.seed, recipe, config, verbose=args.verbose,
                    command="python -m zoo " + shlex.join(sys.argv[1:]), train_files=args.train,
                    valid_files=args.valid, test_files=args.test, init_weights=args.weights, seeds=args.seeds,
                    select=args.select, per_task=args.per_task)
    print(json.dumps({"out": os.path.join(args.out, "weights"), **meta["valid"],
                      **({"test": meta["test"]} if "test" in meta else {})}, indent=1))


def _check_output_file(path, flag):
    """Before any work: ``path`` can be written as a file (not a folder; its folder exists and is writable)."""
    from zoo.io import check_writable_folder

    if os.path.isdir(path):
        raise ValueError(f"{flag} {path!r} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{flag} {path!r}: no folder {folder!r}")
    check_writable_folder(folder, flag.lstrip("-"))


def _evaluate(args):
    import zoo
    from zoo.data.babi import load_split, resolve_folder
    from zoo.data.pipeline import vectorize
    from zoo.training import task_errors
    from zoo.weights import trained_folder

    if args.json:
        _check_output_file(args.json, "--json")
    given = [(split, getattr(args, split)) for split in ("train", "valid", "test") if getattr(args, split)]
    if len(given) > 1:
        raise ValueError("give one of --train, --valid, --test FILE[,FILE...] (the files of one split)")
    if given and (args.size is not None or args.split is not None or args.tasks is not None):
        raise ValueError("--size, --split and --tasks choose a bAbI folder's files; with --train/--valid/--test "
                         "files they do not apply")
    from zoo.weights import read_metadata, resolve

    per_task = read_metadata(resolve(args.name, args.weights)).get("per_task")
    if per_task and args.task is None:  # each task scored with its own model
        models = {int(t): zoo.load(args.name, weights=args.weights, task=int(t)) for t in per_task}
        model = next(iter(models.values()))
    else:
        model = zoo.load(args.name, weights=args.weights, task=args.task)
    if given:
        from zoo.data.babi import load_files

        split, paths = given[0]
        examples, tasks = load_files(paths, "--" + split)
        data = sorted(tasks)
    else:
        split = args.split or "valid"
        folder = args.size or trained_folder(args.name, args.weights)
        if folder is None:
            raise ValueError(f"weights {args.weights!r} were trained on files, not a bAbI folder: give the files "
                             f"to score (--valid or --test FILE[,FILE...]) or a bAbI --size")
        folder = resolve_folder(folder)
        examples, _ = load_split(args.data_dir, folder, args.tasks or "all", split)
        data = os.path.join(args.data_dir, folder)
    arrays = vectorize(examples, model.vocab, model.get_config()["memory_size"])
    if per_task and args.task is None:
        from zoo.per_task import per_task_errors

        errors = per_task_errors(list(models.values()), list(models), arrays)
    else:
        errors = task_errors(model, arrays)
    result = {"model": args.name, "weights": args.weights, **({"task_model": args.task} if args.task else {}),
              "data": data, "split": split, **errors}
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        from zoo.io import atomic_write_text

        atomic_write_text(args.json, text + "\n")


def _predict(args):
    from zoo.predict import answer

    if args.story and os.path.isfile(args.story):
        try:
            with open(args.story, encoding="utf-8") as f:
                story = f.read()
        except UnicodeDecodeError as err:
            raise ValueError(f"--story {args.story}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
                             f"{err.start})") from None
    elif args.story and not any(c.isspace() for c in args.story.strip()):
        raise FileNotFoundError(f"--story {args.story!r}: no such file (a story given as text is sentences of "
                                f"words with spaces)")
    elif args.story:
        story = args.story
    else:
        story = sys.stdin.read()
    if args.plot:
        _check_output_file(args.plot, "--plot")
        if os.path.exists(args.plot) and not args.overwrite:
            raise FileExistsError(f"--plot {args.plot!r} exists; pass --overwrite to replace it")
    supporting = []
    if args.supporting:
        try:
            supporting = [int(s) - 1 for s in args.supporting.split(",") if s.strip()]
        except ValueError:
            raise ValueError(f"--supporting takes sentence numbers from 1 separated by commas, got "
                             f"{args.supporting!r}") from None
    if supporting and not args.plot:
        raise ValueError("--supporting marks sentences in the --plot picture; give --plot FILE.png")
    if args.plot:
        import zoo
        from zoo.plot import explain_figure

        model = zoo.load(args.name, weights=args.weights, compile=False, task=args.task)
        result = model.answer(story, args.question)
        if any(not 0 <= i < len(result["sentences"]) for i in supporting):
            raise ValueError(f"--supporting {args.supporting}: the story holds sentences 1 to "
                             f"{len(result['sentences'])} in memory")
        explain_figure(model, story, args.question, supporting=supporting, path=args.plot, overwrite=args.overwrite)
    else:
        result = answer(args.name, args.weights, story, args.question, task=args.task)
    print(f"answer: {result['answer']}")
    for step, weights in zip(result["steps"], result["attention"]):
        print(f"{step}:")
        if not any(weights):  # MemNN chose its NULL memory
            print("  (no sentence: the model stopped looking for facts)")
            continue
        for sentence, w in zip(result["sentences"], weights):
            print(f"  {w:6.3f}  {sentence}")
    if args.plot:
        print(f"picture: {args.plot}")


DEMO_STORY = """Mary moved to the bathroom.
John went to the hallway.
Daniel travelled to the office.
Mary went back to the kitchen.
John picked up the apple there.
John journeyed to the garden."""
DEMO_QUESTIONS = ("Where is Mary?", "Where is John?", "Where is the apple?")
DEMO_ANSWERS = ("kitchen", "garden", "garden")  # what the story says


def _demo(args):
    """The main job on an embedded default: shipped weights answer a story, offline."""
    import zoo

    model = zoo.load(args.name, weights=args.weights, compile=False)
    print(f"{args.name} / {args.weights}\nstory:\n  " + DEMO_STORY.replace("\n", "\n  "))
    for question, truth in zip(DEMO_QUESTIONS, DEMO_ANSWERS):
        result = model.answer(DEMO_STORY, question)
        hop = result["attention"][-1]
        focus = result["sentences"][max(range(len(hop)), key=hop.__getitem__)]
        verdict = "right" if result["answer"] == truth else f"wrong, the story says {truth}"
        print(f"Q: {question:22s} A: {result['answer']:10s} ({verdict}; last hop attends to: {focus!r})")


def _exporters(module=""):
    """The exporters (``export`` + module): ``zoo.export`` in an installed wheel, the checkout's ``export/``."""
    import importlib

    try:
        return importlib.import_module("zoo.export" + module)
    except ModuleNotFoundError as err:
        if not (err.name or "").startswith("zoo.export"):
            raise
        return importlib.import_module("export" + module)


def _export(args):
    import zoo
    from zoo.registry import get_spec

    export_model = _exporters().export_model

    if args.valid and not args.verify:
        raise ValueError("--valid names the files of --verify; give --verify too")
    model = zoo.load(args.name, weights=args.weights, compile=False, task=args.task)
    if model.vocab is None:
        raise ValueError("export needs a vocabulary: give --weights (a tag or a weight folder)")
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    if not formats:
        raise ValueError("--format names no format; valid: saved_model, tflite, onnx (comma-separated)")
    tag = args.weights if args.task is None else f"{args.weights}-task{args.task}"
    paths = export_model(model, model.vocab, args.name, tag, args.out, formats,
                         get_spec(args.name).unsupported_exports, overwrite=args.overwrite)
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    if args.verify:
        _verify(args, model, paths)


def _verify(args, model, paths):
    """Parity on real bAbI valid batches, with the accuracy of each artefact."""
    compare = _exporters(".verify").compare
    from zoo.data.babi import load_split
    from zoo.data.pipeline import iterate_batches, vectorize
    from zoo.weights import trained_folder

    if args.valid:
        from zoo.data.babi import load_files

        examples, folder = load_files(args.valid, "--valid")[0], "the --valid files"
    else:
        folder = trained_folder(args.name, args.weights)
        if folder is None:
            raise ValueError(f"weights {args.weights!r} were trained on files, not a bAbI folder: give --valid "
                             f"FILE[,FILE...] for --verify")
        examples, _ = load_split(args.data_dir, folder, "all" if args.task is None else [args.task], "valid")
        folder = f"{folder} valid"
    memory = model.get_config()["memory_size"]
    arrays = vectorize(examples, model.vocab, memory)
    batches, answers = [], []
    for inputs, y in iterate_batches(arrays, batch_size=32):
        batches.append(inputs)
        answers.append(y)
    # And the stories longer than the window, whole: every format must keep the same last sentences.
    long = [ex for ex in examples if len(ex.story) > memory][:256]
    if long:
        whole = vectorize(long, model.vocab, memory_size=max(len(ex.story) for ex in long))
        for inputs, y in iterate_batches(whole, batch_size=32, buckets=()):
            batches.append(inputs)
            answers.append(y)
    results = compare(model, paths, batches, answers)
    print(f"\nparity on {sum(len(a) for a in answers)} questions of {folder} (every task; "
          f"{len(long)} of them again with their whole stories, longer than the memory of {memory}):")
    print("| artefact | max abs diff | tolerance | argmax equal | accuracy | Keras accuracy | ok |")
    print("|---|---|---|---|---|---|---|")
    for kind, r in results.items():
        tol = "-" if r["tolerance"] is None else f"{r['tolerance']:.0e}"
        print(f"| {kind} | {r['max_abs_diff']:.2e} | {tol} | {100 * r['argmax_equal']:.2f}% | "
              f"{100 * r['accuracy']:.2f}% | {100 * r['keras_accuracy']:.2f}% | {r['ok']} |")
    if "saved_model" in paths:
        _verify_text(model, paths["saved_model"], examples)
    if not all(r["ok"] for r in results.values()):
        raise ValueError("an export differs from Keras beyond its tolerance (see the table)")


def _verify_text(model, saved_model, examples, per_task=10):
    """The answer_text signature on raw story text agrees with Keras and the gold answers."""
    SavedModelRunner = _exporters(".runners").SavedModelRunner

    runner = SavedModelRunner(saved_model)
    chosen = [ex for t in sorted({e.task for e in examples}) for ex in [e for e in examples if e.task == t][:per_task]]
    memory = model.get_config()["memory_size"]
    agree = right = 0
    for ex in chosen:
        sentences = [" ".join(s).capitalize() + "." for s in ex.story[-memory:]]
        question = " ".join(ex.query).capitalize() + "?"
        (served,) = runner.answer_text([sentences], [question])
        agree += served == model.answer(sentences, question)["answer"]
        right += served == ex.answer
    print(f"answer_text on {len(chosen)} raw-text valid stories ({per_task} per task): "
          f"{agree} agree with Keras, {right} right")
    if agree != len(chosen):
        raise ValueError("the answer_text signature disagrees with Keras")


def _serve(args):
    from zoo.serve import make_server

    try:
        server = make_server(args.port)
    except ImportError as err:  # Flask is an extra: one line that says how to get it
        raise ValueError(str(err)) from None
    print(f"serving the demo page on http://127.0.0.1:{server.port}/ (local address only; Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def _list(args):
    import zoo

    for name in zoo.list_models(args.pattern):
        print(name, " ".join(zoo.list_weights(name)))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m zoo", description="Memory Networks model zoo")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model on bAbI with its paper recipe (resumes an interrupted --out)")
    t.add_argument("name")
    t.add_argument("--data-dir", default=DEFAULT_DATA)
    t.add_argument("--size", default=None, help="1k (default), 10k, or a bAbI folder name")
    t.add_argument("--tasks", default=None, help="'all' (default) or task numbers, e.g. 1,2,3")
    t.add_argument("--train", metavar="FILE[,FILE...]", help="bAbI-format training files of any names, instead "
                   "of a bAbI folder (with --valid)")
    t.add_argument("--valid", metavar="FILE[,FILE...]", help="bAbI-format valid files: the best epoch is chosen "
                   "on them")
    t.add_argument("--test", metavar="FILE[,FILE...]", help="bAbI-format files scored at the end (in the card)")
    t.add_argument("--weights", help="start from these weights (a tag or a weight folder): their config and "
                   "vocabulary are kept")
    t.add_argument("--out", required=True)
    t.add_argument("--epochs", type=int, default=None, help="epochs after linear start (default: the recipe's)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--seeds", type=int, default=1, help="train N copies together in one graph, seeds SEED to "
                   "SEED+N-1, and ship the one --select chooses (the card lists all)")
    t.add_argument("--select", choices=["train", "valid"], default=None, help="with --seeds: the copy of lowest "
                   "training error or of lowest valid error (default: the paper's; memn2n: train, others: valid)")
    t.add_argument("--per-task", action="store_true", help="one model per bAbI task, trained in one graph, each "
                   "on its task's batches only and chosen on its task's valid questions (tag babi-SIZE-per-task); with "
                   "--seeds N, N copies per task and the one --select chooses shipped for each task")
    t.add_argument("--recipe", help="JSON recipe overrides, e.g. '{\"learning_rate\": 0.005}'")
    t.add_argument("--config", help="JSON model config overrides, e.g. '{\"dim\": 100}'")
    t.add_argument("--verbose", type=int, default=2)
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="per-task error on a bAbI split")
    e.add_argument("name")
    e.add_argument("--weights", required=True, help="a tag (see `list`) or a weight folder")
    e.add_argument("--data-dir", default=DEFAULT_DATA)
    e.add_argument("--size", default=None, help="1k, 10k or a folder (default: the data the weights were trained on)")
    e.add_argument("--tasks", default=None, help="'all' (default) or task numbers")
    e.add_argument("--split", default=None, choices=["train", "valid", "test"], help="default: valid")
    for split in ("train", "valid", "test"):
        e.add_argument(f"--{split}", metavar="FILE[,FILE...]", help=f"score bAbI-format {split} files of any "
                       f"names instead of a bAbI folder's")
    e.add_argument("--task", type=int, default=None, help="with per-task weights: score this task's model only "
                   "(default: each task with its own model)")
    e.add_argument("--json", help="write the result to this file")
    e.set_defaults(func=_evaluate)

    r = sub.add_parser("predict", help="answer a question about a story; shows attention per hop")
    r.add_argument("name")
    r.add_argument("--weights", required=True)
    r.add_argument("--task", type=int, default=None, help="with per-task weights: the task whose model answers")
    r.add_argument("--story", help="a story file, or the story text (sentences end with '.'); default stdin")
    r.add_argument("--question", required=True)
    r.add_argument("--plot", metavar="FILE.png", help="draw what the model reads (zoo.plot) to this file")
    r.add_argument("--supporting", metavar="N[,N...]", help="sentence numbers (from 1) to mark in the picture")
    r.add_argument("--overwrite", action="store_true", help="replace an existing --plot file")
    r.set_defaults(func=_predict)

    x = sub.add_parser("export", help="SavedModel (TF Serving), TFLite (float, int8) and ONNX, with metadata")
    x.add_argument("name")
    x.add_argument("--weights", required=True)
    x.add_argument("--format", default="saved_model,tflite,onnx", help="comma-separated: saved_model, tflite, onnx")
    x.add_argument("--out", required=True)
    x.add_argument("--task", type=int, default=None, help="with per-task weights: the task whose model to export")
    x.add_argument("--overwrite", action="store_true", help="replace existing artefacts")
    x.add_argument("--verify", action="store_true", help="check every artefact against Keras on bAbI valid")
    x.add_argument("--data-dir", default=DEFAULT_DATA, help="for --verify")
    x.add_argument("--valid", metavar="FILE[,FILE...]", help="for --verify: bAbI-format files instead of the "
                   "valid split the weights were trained on")
    x.set_defaults(func=_export)

    d = sub.add_parser("demo", help="answer questions about an embedded story with shipped weights (offline)")
    d.add_argument("name", nargs="?", default="memn2n")
    d.add_argument("--weights", default="babi-1k")
    d.set_defaults(func=_demo)

    v = sub.add_parser("serve", help="a local demo page and JSON endpoint (needs the serve extra: Flask)")
    v.add_argument("--port", type=int, default=8000, help="on 127.0.0.1; 0 picks a free port")
    v.set_defaults(func=_serve)

    ls = sub.add_parser("list", help="registered models and their shipped weights")
    ls.add_argument("pattern", nargs="?")
    ls.set_defaults(func=_list)

    args = p.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, OSError) as err:  # FileNotFoundError, FileExistsError, PermissionError, ...
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
