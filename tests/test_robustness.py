"""Bad input gets a clear error naming the problem, never a silent wrong answer (issue 17).

Property-based tests (Hypothesis) over the bAbI parser, the serving
signatures and the CLI's arguments; plus the listed cases one by one.
"""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import STORY_1
from zoo.data import BabiFormatError, parse_lines
from zoo.data.babi import parse_file

# Lines that look like bAbI: ids, words, '?', TABs, answers, supporting ids.
_WORDS = st.sampled_from(["Mary", "went", "to", "the", "kitchen", "Where", "is", "?", ".", ",", "n,w", "", " ",
                          "1", "2", "3", "-1", "x", "\t", "é", "'", "\r"])
_LINE = st.lists(_WORDS, max_size=8).map(" ".join) | st.text(max_size=40)
_ID_LINE = st.tuples(st.integers(0, 6), _LINE).map(lambda t: f"{t[0]} {t[1]}")


@settings(max_examples=300, deadline=None)
@given(st.lists(_ID_LINE | _LINE, max_size=12))
def test_parser_gives_examples_or_names_file_and_line(lines):
    text = "\n".join(lines)
    try:
        examples = parse_lines(text.splitlines(True), path="f.txt")
    except BabiFormatError as err:
        assert str(err).startswith("f.txt:") and 1 <= err.line_no <= max(len(text.splitlines()), 1)
        return
    for ex in examples:  # what parses is well formed
        assert ex.query and ex.answer and all(ex.story) and all(0 <= s < len(ex.story) for s in ex.supporting)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_parser_on_any_bytes(tmp_path, data):
    path = tmp_path / "any.txt"
    path.write_bytes(data)
    try:
        parse_file(str(path))
    except BabiFormatError as err:
        assert str(path) in str(err)


@pytest.mark.parametrize("text, line, message", [
    # The TABs of a question turned into spaces: not a story sentence.
    ("1 Mary went home.\n2 Where is Mary? home 1\n", 2, "a question without TABs"),
    ("1 Mary went home.\n2 Where is Mary?    \n", 2, "a question without TABs"),
    ("1 Mary went home.\n2 !!!\n", 2, "the sentence has no word"),
    ("1 Mary went home.\n2 ?\thome\t1\n", 2, "the question has no word"),
    ("1 Mary went home.\n2 Where is Mary?\t,\t1\n", 2, "an answer is words"),
    ("1 " + "word " * 101 + "\n", 1, "has 101 words; at most 100"),
])
def test_listed_bad_lines(tmp_path, text, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(BabiFormatError, match=message) as err:
        parse_file(str(path))
    assert err.value.line_no == line and str(path) in str(err.value)


@pytest.mark.parametrize("data, message", [
    ("1 Mary went to the café.\n".encode("latin-1"), r":1: not UTF-8 text \(byte 0xe9 at column 23\)"),
    (b"1 Mary went home.\n2 \x00\x01\x02\n", ":2: binary data"),
])
def test_encoding_errors_name_file_and_line(tmp_path, data, message):
    path = tmp_path / "enc.txt"
    path.write_bytes(data)
    with pytest.raises(BabiFormatError, match=message):
        parse_file(str(path))


def test_good_file_still_parses_the_same(tmp_path):
    path = tmp_path / "qa1_train.txt"
    path.write_text(STORY_1.replace("\n", "\r\n"))
    assert parse_file(str(path)) == parse_lines(STORY_1.splitlines(True), path=str(path))


# --- Serving: every format follows export.signatures.INPUT_RULES, as the Keras reference does. ---

@pytest.fixture(scope="module", params=["memn2n", "entnet"])
def served(request, tmp_path_factory):
    """A tiny model exported to every format (a memory read, and a recurrence), with raw runtime calls."""
    import numpy as np

    from export import export_model
    from export.runners import RUNNERS
    from tests.harness import specs, tiny
    from tests.test_export import tiny_vocab

    spec = next(s for s in specs() if s.name == request.param)
    model, vocab = tiny(spec), tiny_vocab(spec)
    object.__setattr__(model, "vocab", vocab)
    out = str(tmp_path_factory.mktemp(f"served-{spec.name}"))
    paths = export_model(model, vocab, spec.name, None, out, log=lambda m: None)
    runners = {k: RUNNERS[k](p) for k, p in paths.items() if k != "tflite_int8"}

    def raw(kind, story, query):  # the artefact itself, without the runner's checks
        r = runners[kind]
        story, query = np.asarray(story, np.int32), np.asarray(query, np.int32)
        if kind == "saved_model":
            return r.fn(story=story, query=query)["probabilities"].numpy()
        if kind == "tflite":
            try:
                return r.runner(story=story, query=query)["probabilities"]
            except RuntimeError:
                r._start()
                raise
        return r.session.run(["probabilities"], {"story": story, "query": query})[0]

    return spec, model, runners, raw


_TOL = {"saved_model": 1e-5, "tflite": 1e-4, "onnx": 1e-4}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 3), st.integers(0, 20), st.integers(0, 5), st.integers(0, 4), st.integers(0, 10 ** 6),
       st.booleans())
def test_any_ids_and_shapes_answer_as_keras(served, batch, slots, words, query_words, seed, wild):
    import numpy as np

    from export.signatures import reference

    spec, model, _, raw = served
    vocab = spec.tiny_config["vocab_size"]
    rng = np.random.default_rng(seed)
    low, high = (-50, vocab + 50) if wild else (0, vocab)
    story = rng.integers(low, high, (batch, slots, words)) * (rng.random((batch, slots, words)) < 0.7)
    query = rng.integers(low, high, (batch, query_words))
    ref = reference(model, story, query)
    assert ref["probabilities"].shape == (batch, vocab)
    empty = ~((np.abs(story).sum((1, 2)) > 0) & (np.abs(query).sum(1) > 0))
    assert (ref["answer_id"][empty] == -1).all() and (ref["probabilities"][empty] == 0).all()
    for kind, tol in _TOL.items():
        np.testing.assert_allclose(raw(kind, story, query), ref["probabilities"], atol=tol, err_msg=kind)


@pytest.mark.parametrize("rows", [(3, 1), (1, 3), (3, 2)])
def test_mismatched_batch_sizes_fail_in_every_runtime(served, rows):
    import numpy as np

    _, _, runners, raw = served
    story, query = np.ones((rows[0], 4, 3), np.int32), np.ones((rows[1], 3), np.int32)
    for kind in _TOL:
        with pytest.raises(Exception):
            raw(kind, story, query)
        with pytest.raises(ValueError, match=f"same batch size, got {rows[0]} and {rows[1]}"):
            runners[kind](story, query)
    assert raw("tflite", story[:1], query[:1]).shape[0] == 1  # the interpreter still serves after the error


def test_out_of_vocabulary_ids_read_as_unk(served):
    import numpy as np

    spec, _, runners, _ = served
    story = np.full((1, 2, 3), 2, np.int32)
    unk = story.copy()
    unk[0, 0, 0] = 1
    for bad in (-5, spec.tiny_config["vocab_size"], 2 ** 31 - 1):
        story[0, 0, 0] = bad
        for kind, r in runners.items():
            np.testing.assert_array_equal(r(story, [[2, 3]]), r(unk, [[2, 3]]), err_msg=f"{kind} id {bad}")


def test_stories_longer_than_the_memory_keep_the_last_sentences(served):
    import numpy as np

    spec, model, runners, _ = served
    memory = spec.tiny_config["memory_size"]
    rng = np.random.default_rng(1)
    story = rng.integers(1, spec.tiny_config["vocab_size"], (2, 3 * memory, 4)).astype(np.int32)
    story[1, 2 * memory:] = 0  # the second story is shorter; its window ends at its last sentence
    query = np.full((2, 3), 2, np.int32)
    last = np.zeros((2, memory, 4), np.int32)
    last[0], last[1] = story[0, -memory:], story[1, memory:2 * memory]
    want = model.predict_on_batch({"story": last, "query": query})
    want = np.exp(want - want.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    for kind, r in runners.items():
        np.testing.assert_allclose(r(story, query), want, atol=_TOL[kind], err_msg=kind)


def test_runner_checks_name_the_problem(served):
    import numpy as np

    _, _, runners, _ = served
    for r in runners.values():
        with pytest.raises(ValueError, match="story must have 3 dimensions"):
            r(np.ones((2, 3), np.int32), np.ones((2, 3), np.int32))
        with pytest.raises(ValueError, match="query must hold integer word ids"):
            r(np.ones((1, 2, 3), np.int32), np.ones((1, 3)) * 0.5)
        with pytest.raises(ValueError, match="at least one row"):
            r(np.ones((0, 2, 3), np.int32), np.ones((0, 3), np.int32))
        with pytest.raises(ValueError, match="do not fit int32"):
            r(np.full((1, 2, 3), 2 ** 40), np.ones((1, 3), np.int32))


def test_answer_text_window_and_empty_story(served):
    spec, model, runners, _ = served
    memory = spec.tiny_config["memory_size"]
    sentences = [f"w{2 + i % 20} w{3 + i % 19}." for i in range(3 * memory)]
    got, empty = runners["saved_model"].answer_text([sentences, [""] * len(sentences)], ["w3 w4?", "w3 w4?"])
    assert got == model.answer(sentences, "w3 w4?")["answer"]  # the Keras model keeps the last memory_size
    assert empty == ""  # no story: no answer, never '<pad>'
    with pytest.raises(ValueError, match="the story has no sentences"):
        model.answer([], "w3 w4?")


# --- Settings: checked before any work, one line naming the argument. ---

@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    from tests.conftest import _write_babi

    root = str(tmp_path_factory.mktemp("data"))
    for split in ("train", "valid"):
        _write_babi(root, "en-valid", 1, split, STORY_1 * 4)
    return root


def _cli(capsys, *argv):
    from zoo.__main__ import main

    code = main(list(argv))
    return code, capsys.readouterr().err


TINY_RUN = ["--tasks", "1", "--verbose", "0", "--config", '{"dim": 8, "hops": 1}']


@pytest.mark.parametrize("extra, message", [
    (["--config", '{"dim": 0}'], "config key 'dim' of model 'memn2n' must be an integer of 1 or more, got 0"),
    (["--config", '{"temporal": 1}'], "config key 'temporal' of model 'memn2n' must be true or false"),
    (["--config", '{"dims": 8}'], "unknown config key(s) ['dims']"),
    (["--epochs", "-3"], "epochs must be an integer of 1 or more, got -3"),
    (["--recipe", '{"batch_size": 0}'], "recipe key 'batch_size' must be an integer of 1 or more, got 0"),
    (["--recipe", '{"memory_size": 0}'], "recipe key 'memory_size' must be an integer of 1 or more, got 0"),
    (["--recipe", '{"learning_rate": -1}'], "recipe key 'learning_rate' must be a number above 0"),
    (["--recipe", '{"optimizer": "rmsprop"}'], "recipe key 'optimizer' must be 'sgd' or 'adam'"),
    (["--recipe", '[1]'], "--recipe takes a JSON object"),
    (["--seed", "-1"], "seed must be an integer in [0, 2**32)"),
])
def test_bad_settings_fail_before_any_work(small_data, tmp_path, capsys, extra, message):
    out = tmp_path / "run"
    code, err = _cli(capsys, "train", "memn2n", "--data-dir", small_data, "--out", str(out), *TINY_RUN, *extra)
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()  # nothing written


def test_impossible_out_fails_before_the_data_is_read(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = _cli(capsys, "train", "memn2n", "--data-dir", str(tmp_path / "no-data"), "--out",
                     str(blocker / "run"), *TINY_RUN)
    assert code == 2 and err.startswith("error: --out") and "cannot write there" in err


def test_resume_with_other_settings_names_them(small_data, tmp_path, capsys):
    out = str(tmp_path / "run")
    from zoo import training

    original = training.RecipeSchedule.on_epoch_begin

    def stop(self, epoch, logs=None):
        raise KeyboardInterrupt

    training.RecipeSchedule.on_epoch_begin = stop
    try:
        with pytest.raises(KeyboardInterrupt):
            _cli(capsys, "train", "memn2n", "--data-dir", small_data, "--out", out, *TINY_RUN, "--seed", "1")
    finally:
        training.RecipeSchedule.on_epoch_begin = original
    code, err = _cli(capsys, "train", "memn2n", "--data-dir", small_data, "--out", out, *TINY_RUN, "--seed", "2",
                     "--recipe", '{"learning_rate": 0.02}')
    assert code == 2 and "other settings" in err and "seed: 2 (started with 1)" in err
    assert "recipe.learning_rate: 0.02 (started with 0.01)" in err


def test_evaluate_json_folder_and_predict_missing_story_file(tmp_path, capsys):
    code, err = _cli(capsys, "evaluate", "memn2n", "--weights", "babi-1k", "--json", str(tmp_path))
    assert code == 2 and "is a folder; give a file name" in err
    code, err = _cli(capsys, "evaluate", "memn2n", "--weights", "babi-1k", "--json", str(tmp_path / "no" / "r.json"))
    assert code == 2 and "no folder" in err
    code, err = _cli(capsys, "predict", "memn2n", "--weights", "babi-1k", "--story", str(tmp_path / "story.txt"),
                     "--question", "Where is Mary?")
    assert code == 2 and "no such file" in err


_ARGS = st.sampled_from([["--weights", "babi-1k"], ["--weights", "/nonexistent"], ["--size", "3k"], ["--tasks", "0"],
                         ["--tasks", "1,x"], ["--split", "dev"], ["--epochs", "-1"], ["--epochs", "x"],
                         ["--config", '{"dim": 0}'], ["--config", "{"], ["--recipe", '{"epochs": 1.5}'],
                         ["--recipe", '{"noise": 2}'], ["--out", "/proc/zoo-run"], ["--question", ""],
                         ["--story", "/nonexistent.txt"], ["--format", "pdf"], ["--seed", "1e3"]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["train", "evaluate", "predict"]), st.sampled_from(["memn2n", "entnet", "nope"]),
       st.lists(_ARGS, max_size=4))
def test_any_cli_arguments_give_a_result_or_one_line(tmp_path, capsys, command, name, args):
    """Random CLI arguments (over data that does not exist): exit 2 with one 'error:' line, or argparse's usage."""
    from zoo.__main__ import main

    argv = [command, name, "--data-dir", str(tmp_path / "no-data")] + [a for pair in args for a in pair]
    capsys.readouterr()  # the fixture lives across the examples
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse: a usage message
        assert exit.code == 2
        return
    err = capsys.readouterr().err
    assert code == 2, argv
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (argv, err)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["memn2n", "dmn_plus", "entnet", "wmemnn", "memnn"]),
       st.dictionaries(st.sampled_from(["dim", "hops", "passes", "blocks", "heads", "dropout", "stddev", "units",
                                        "g_units", "temporal", "encoder", "margin", "l2", "nope"]),
                       st.one_of(st.integers(-2, 3), st.floats(-1, 2) | st.just(float("nan")), st.booleans(), st.none(),
                                 st.text(max_size=3), st.lists(st.integers(-1, 4), max_size=2)), max_size=3))
def test_any_config_builds_or_names_the_key(name, overrides):
    from zoo.registry import get_spec

    spec = get_spec(name)
    try:
        spec.build(**{**spec.tiny_config, **overrides})
    except ValueError as err:
        assert any(repr(k) in str(err) or k in str(err) for k in overrides) or "must" in str(err), str(err)


# --- Export: whole or absent. ---

def _export_state(out, name="memn2n"):
    """{metadata file: export_id}, after checking each artefact against its metadata's sha256."""
    from zoo.io import sha256_file

    ids = {}
    for meta_path in [os.path.join(out, name, "metadata.json")] + [os.path.join(out, f) for f in os.listdir(out)
                                                                   if f.endswith((".tflite.json", ".onnx.json"))]:
        meta = json.load(open(meta_path))
        artefact = meta_path[:-len(".json")] if not meta_path.endswith("metadata.json") else \
            os.path.join(out, name, str(meta["version"]))
        for rel, digest in meta["sha256"].items():
            path = os.path.join(artefact, rel) if os.path.isdir(artefact) else artefact
            assert sha256_file(path) == digest, path
        ids[os.path.basename(meta_path)] = meta["export_id"]
    return ids


def _tiny_memn2n():
    from tests.harness import specs, tiny
    from tests.test_export import tiny_vocab

    spec = next(s for s in specs() if s.name == "memn2n")
    model, vocab = tiny(spec), tiny_vocab(spec)
    object.__setattr__(model, "vocab", vocab)
    return model, vocab


def test_export_checks_every_target_first_and_replaces_whole(tmp_path):
    import stat
    import tempfile

    from export import export_model

    model, vocab = _tiny_memn2n()
    out = str(tmp_path / "out")
    temp_before = set(os.listdir(tempfile.gettempdir()))
    old_umask = os.umask(0o022)
    try:
        first = export_model(model, vocab, "memn2n", None, out, formats=["onnx"], log=lambda m: None)
        listing = sorted(os.listdir(out))
        with pytest.raises(FileExistsError, match=r"memn2n.onnx.*exist"):  # refused before writing anything
            export_model(model, vocab, "memn2n", None, out, log=lambda m: None)
        assert sorted(os.listdir(out)) == listing
        paths = export_model(model, vocab, "memn2n", None, out, overwrite=True, log=lambda m: None)
        assert paths["saved_model"].endswith(os.path.join("memn2n", "1")) and paths["onnx"] == first["onnx"]
        again = export_model(model, vocab, "memn2n", None, out, overwrite=True, log=lambda m: None)
    finally:
        os.umask(old_umask)
    assert again["saved_model"].endswith(os.path.join("memn2n", "2"))  # the next version; the old one gone
    assert os.listdir(os.path.join(out, "memn2n")) == ["2", "metadata.json"] or \
        sorted(os.listdir(os.path.join(out, "memn2n"))) == ["2", "metadata.json"]
    assert len(set(_export_state(out).values())) == 1  # every format from one export
    assert not [e for e in os.listdir(out) if e.startswith(".")]  # no staging left
    left = {e for e in set(os.listdir(tempfile.gettempdir())) - temp_before
            if not e.startswith("__autograph_generated_file")}  # TensorFlow's own, of every tf.function
    assert left == set()  # nothing of the export left in the system temp
    for path in (again["onnx"], again["tflite"], os.path.join(out, "memn2n", "metadata.json")):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, path
    for path in (out, again["saved_model"]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o755, path


_EXPORT_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from tests.test_robustness import _tiny_memn2n
from export import export_model
model, vocab = _tiny_memn2n()
export_model(model, vocab, "memn2n", None, {out!r}, overwrite=True, log=lambda m: print(m, flush=True))
print("done", flush=True)
"""


def test_export_killed_at_random_moments_leaves_one_whole_export(tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time

    from export import export_model

    model, vocab = _tiny_memn2n()
    out = str(tmp_path / "out")
    export_model(model, vocab, "memn2n", None, out, log=lambda m: None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = _EXPORT_SCRIPT.format(root=root, out=out)
    rng = random.Random(17)
    for delay in (rng.uniform(4, 9), rng.uniform(9, 14)):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = _export_state(out)
        assert len(set(state.values())) == 1 and len(state) == 4, state  # one whole export, old or new
    export_model(model, vocab, "memn2n", None, out, overwrite=True, log=lambda m: None)
    assert not [e for e in os.listdir(out) if e.startswith(".")]  # the killed runs' staging is cleaned up


def test_training_killed_at_random_moments_resumes_to_the_same_weights(small_data, tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time

    import numpy as np

    import zoo
    from zoo.__main__ import main

    args = ["train", "memn2n", "--data-dir", small_data, "--epochs", "10", *TINY_RUN,
            "--recipe", '{"linear_start_max": 2, "jit_compile": false}']
    whole = str(tmp_path / "whole")
    assert main(args + ["--out", whole]) == 0
    killed = str(tmp_path / "killed")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rng = random.Random(3)
    kills = 0
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-m", "zoo", *args, "--out", killed], cwd=root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            err = proc.communicate(timeout=rng.uniform(3, 6.5))[1]  # start-up takes about 4 s; an epoch 0.5 s
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            continue
        assert proc.returncode == 0, err[-2000:]
        break
    else:
        assert main(args + ["--out", killed]) == 0
    assert kills >= 1
    a, b = (zoo.load("memn2n", weights=os.path.join(o, "weights")) for o in (whole, killed))
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(x, y, atol=1e-5)
    meta = [json.load(open(os.path.join(o, "weights", "metadata.json"))) for o in (whole, killed)]
    assert meta[0]["best_epoch"] == meta[1]["best_epoch"] and meta[0]["valid"] == meta[1]["valid"]


def test_answer_names_bad_story_and_question():
    import zoo

    model = zoo.load("memn2n", weights="babi-1k", compile=False)
    for story, question, message in [(None, "Where is Mary?", "the story must be text"),
                                     ([1, 2], "Where is Mary?", "the story must be text"),
                                     ("Mary went home.", 5, "the question must be text"),
                                     ("", "Where is Mary?", "the story has no sentences"),
                                     ("Mary went home.", "???", "the question has no words")]:
        with pytest.raises(ValueError, match=message):
            model.answer(story, question)


def test_a_finished_run_run_again_gives_its_result(small_data, tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["train", "memn2n", "--data-dir", small_data, "--out", out, "--epochs", "1", *TINY_RUN,
            "--recipe", '{"linear_start_max": 1, "jit_compile": false}']
    assert _cli(capsys, *args)[0] == 0
    first = json.load(open(os.path.join(out, "weights", "metadata.json")))
    code, _ = _cli(capsys, *args)
    assert code == 0 and json.load(open(os.path.join(out, "weights", "metadata.json"))) == first
    code, err = _cli(capsys, *args[:-2], "--recipe", '{"linear_start_max": 2, "jit_compile": false}')
    assert code == 2 and "already holds finished weights of a run with other settings" in err
    assert "recipe.linear_start_max: 2 (started with 1)" in err
