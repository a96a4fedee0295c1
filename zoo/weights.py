"""Weight folders: resolve ``weights=``, check sha256, load and save.

A weight folder (``saved_models/<model>/<tag>/`` or any path) holds
``config.json``, ``model.weights.h5``, ``vocab.json``, ``metadata.json`` (with
the sha256 of each file), ``golden.npz`` and a model card ``README.md``. A
per-task folder (``train --per-task``, :mod:`zoo.per_task`) holds one such
folder per bAbI task, ``task-T/``, under a ``metadata.json`` (``per_task``: the
tasks and their folders, and the sha256 of each one's ``metadata.json``) and a
model card for them all.
"""

import contextlib
import json
import os
import shutil

import numpy as np

from zoo.io import atomic_write_json, atomic_write_text, make_temp_folder, sha256_file

# The shipped weights: saved_models/ beside zoo/ in a checkout (and an editable install), zoo/saved_models/ in
# an installed wheel (the package data of zoo.saved_models).
_HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = next((p for p in (os.path.join(os.path.dirname(_HERE), "saved_models"), os.path.join(_HERE, "saved_models"))
             if os.path.isdir(p)), os.path.join(_HERE, "saved_models"))
CHECKED_FILES = ("config.json", "model.weights.h5", "vocab.json")


def list_weights(name):
    """Tags of the weights shipped for a model, sorted."""
    from zoo.registry import get_spec

    get_spec(name)
    folder = os.path.join(ROOT, name)
    if not os.path.isdir(folder):
        return []
    return sorted(t for t in os.listdir(folder) if os.path.isfile(os.path.join(folder, t, "metadata.json")))


def resolve(name, weights):
    """``None`` -> None; a shipped tag or a weight folder path -> that folder."""
    if weights is None:
        return None
    tags = list_weights(name)
    if isinstance(weights, str) and weights in tags:
        return os.path.join(ROOT, name, weights)
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(os.path.join(weights, "metadata.json")):
        return os.fspath(weights)
    raise ValueError(f"weights={weights!r} is neither a tag of {name!r} nor a weight folder; "
                     f"valid: None, a folder with metadata.json, or one of {tags}")


def read_metadata(folder):
    with open(os.path.join(folder, "metadata.json"), encoding="utf-8") as f:
        return json.load(f)


def trained_folder(name, weights):
    """The bAbI folder (``en-valid``, ``en-valid-10k``, ...) that shipped or saved weights were trained on;
    None for weights trained on files given by path."""
    return read_metadata(resolve(name, weights)).get("data", {}).get("folder", "en-valid")


def verify(folder):
    """Checks every file's sha256 against metadata.json; returns the metadata."""
    meta = read_metadata(folder)
    for fname, expected in meta.get("sha256", {}).items():
        path = os.path.join(folder, fname)
        if not os.path.isfile(path):
            raise ValueError(f"{folder}: {fname} is listed in metadata.json but missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ValueError(f"{path}: sha256 {actual} does not match {expected} in metadata.json; "
                             "the file is corrupt or was changed")
    missing = [f for f in CHECKED_FILES if f not in meta.get("sha256", {})]
    if meta.get("per_task"):
        missing = [f"{sub['folder']}/metadata.json" for sub in meta["per_task"].values()
                   if f"{sub['folder']}/metadata.json" not in meta.get("sha256", {})]
    if missing:
        raise ValueError(f"{folder}/metadata.json has no sha256 for {missing}")
    return meta


def load_folder(name, folder, task=None):
    """Builds the model of a weight folder, loads its checked weights and vocabulary; of a per-task folder,
    task ``task``'s model."""
    from zoo.data.vocab import Vocabulary
    from zoo.registry import get_spec

    meta = verify(folder)
    if meta.get("model") != name:
        raise ValueError(f"{folder} holds weights of {meta.get('model')!r}, not {name!r}")
    per_task = meta.get("per_task")
    if per_task:
        valid = sorted(int(t) for t in per_task)
        if isinstance(task, bool) or not isinstance(task, (int, np.integer)) or str(int(task)) not in per_task:
            raise ValueError(f"{folder} holds one {name} model per bAbI task: pass task= one of {valid} (the "
                             f"command line's --task), got {task!r}")
        return load_folder(name, os.path.join(folder, per_task[str(int(task))]["folder"]))
    if task is not None:
        raise ValueError(f"task={task!r} picks a model of a per-task weight folder; {folder} holds one model for "
                         f"all its tasks (leave task out)")
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    spec = get_spec(name)
    spec.check_config({k: v for k, v in config.items() if k != "name"})  # sizes of the wrong kind: a clear error
    model = spec.cls.from_config(config)
    model.load_weights(os.path.join(folder, "model.weights.h5"))
    object.__setattr__(model, "vocab", Vocabulary.load(os.path.join(folder, "vocab.json")))
    return model, meta


@contextlib.contextmanager
def writing_folder(folder, overwrite=False):
    """Yields a temp folder beside ``folder`` to fill; when the block ends, it is renamed to ``folder`` (which
    it replaces), or removed if the block raised. A non-empty ``folder`` is refused unless ``overwrite``."""
    if os.path.exists(folder) and os.listdir(folder) and not overwrite:
        raise FileExistsError(f"{folder} exists; pass overwrite=True (--overwrite) to replace it")
    parent = os.path.dirname(os.path.abspath(folder))
    os.makedirs(parent, exist_ok=True)
    tmp = make_temp_folder(parent, ".tmp-weights-")
    try:
        yield tmp
        if os.path.exists(folder):
            old = folder.rstrip("/") + ".old"
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_weights(model, path):
    """``model.save_weights`` without the optimizer's state, which a compiled model's file would hold too
    (Adam's two slots per weight make it three times as large) and which loading does not use."""
    from keras.src.saving import saving_lib

    optimizer = getattr(model, "optimizer", None)
    saving_lib.save_weights_only(model, path, objects_to_skip=[optimizer] if optimizer is not None else None)


def save_folder(model, vocab, folder, metadata, golden_inputs=None, card=None, overwrite=False):
    """Writes a complete weight folder atomically (a temp folder, then a rename)."""
    with writing_folder(folder, overwrite) as tmp:
        atomic_write_json(os.path.join(tmp, "config.json"), model.get_config())
        save_weights(model, os.path.join(tmp, "model.weights.h5"))
        vocab.save(os.path.join(tmp, "vocab.json"))
        files = list(CHECKED_FILES)
        if golden_inputs is not None:
            logits = np.asarray(model.predict_on_batch(golden_inputs))
            np.savez(os.path.join(tmp, "golden.npz"), logits=logits, **golden_inputs)
            files.append("golden.npz")
        metadata = {**metadata, "model": metadata.get("model", model.name),
                    "sha256": {f: sha256_file(os.path.join(tmp, f)) for f in files}}
        atomic_write_json(os.path.join(tmp, "metadata.json"), metadata)
        if card is not None:
            atomic_write_text(os.path.join(tmp, "README.md"), card(metadata))
    return metadata


def _data_lines(data, per_task=False):
    how = "one model per task, trained" if per_task else "trained jointly" if len(data.get("tasks") or ()) != 1 \
        else "trained"
    if data.get("files"):
        lines = [f"- bAbI-format files, tasks {data.get('tasks')}, {how} on {data.get('train_examples')} "
                 f"questions, chosen on {data.get('valid_examples')} valid questions:"]
        lines += [f"  - {split}: `{path}` (task {task})" for split, files in data["files"].items()
                  for path, task in files.items()]
        return "\n".join(lines)
    return (f"- bAbI v1.2 (CC BY 3.0), folder `{data.get('folder')}`, tasks {data.get('tasks')}, {how} on "
            f"the `train` split ({data.get('train_examples')} questions), chosen on the `valid` split "
            f"({data.get('valid_examples')} questions).")


def _test_lines(test):
    if not test:
        return ""
    rows = ", ".join(f"{t}: {e:.1f}" for t, e in test["tasks"].items())
    return (f"Error (%) on the --test files (scored once at the end, not used for choosing): mean "
            f"{test['mean_error']} %; per task {rows}\n\n")


def _per_task_lines(per_task):
    """The card's table of a per-task folder's models."""
    if not per_task:
        return ""
    rows = "\n".join(f"| {t} | `{sub['folder']}/` | {sub['best_epoch']} | {sub['valid_examples']} |"
                     for t, sub in per_task.items())
    return ("## One model per task\nEach task has its own model, trained on that task's batches only and chosen "
            "at its best epoch on that task's valid questions; `zoo.load(name, weights=..., task=T)` loads one, "
            "and each folder has its own card.\n\n| task | folder | best epoch | valid questions |\n"
            "|---|---|---|---|\n" + rows + "\n\n")


def _seed_lines(seeds):
    """The card's table of every copy of a ``--seeds`` run: which was shipped, and how the others did."""
    if not seeds:
        return ""
    copies = seeds["copies"]
    spread = seeds["valid_mean_error"]
    head = " | ".join(f"seed {c['seed']}{' (shipped)' if i == seeds['chosen'] else ''}" for i, c in enumerate(copies))
    rows = [f"| mean | {' | '.join(str(c['valid']['mean_error']) for c in copies)} |"]
    if all("train_mean_error" in c for c in copies):
        rows.append(f"| training mean | {' | '.join(str(c['train_mean_error']) for c in copies)} |")
    rows.append(f"| best epoch | {' | '.join(str(c['best_epoch']) for c in copies)} |")
    for t in copies[0]["valid"]["tasks"]:
        errors = " | ".join(f"{c['valid']['tasks'][t]:.1f}" for c in copies)
        rows.append(f"| {t} | {errors} |")
    return (f"## Every seed (valid error %)\n{len(copies)} copies trained together; shipped: seed "
            f"{copies[seeds['chosen']]['seed']}, chosen by {seeds['why']}. Over the copies: mean {spread['mean']} %, "
            f"standard deviation {spread['std']}, min {spread['min']}, max {spread['max']}.\n\n"
            f"| task | {head} |\n|---|{'---|' * len(copies)}\n" + "\n".join(rows) + "\n\n")


def _task_seed_lines(seeds):
    """The card's table of a per-task ``--seeds`` run: every seed's valid error on every task, the shipped one
    marked with *."""
    if not seeds:
        return ""
    names = " | ".join(f"seed {s}" for s in seeds["seeds"])
    rows = [f"| {t} | " + " | ".join(f"{e:.1f}{'*' if i == own['chosen'] else ''}" for i, e in enumerate(own["valid"]))
            + " |" for t, own in seeds["tasks"].items()]
    rows.append(f"| mean | {' | '.join(str(m) for m in seeds['seed_mean_error'])} |")
    spread = seeds["valid_mean_error"]
    return (f"## Every seed of every task (valid error %)\n{len(seeds['seeds'])} copies per task trained together; "
            f"for each task the one of {seeds['why']} is shipped (*). The mean of each seed's models over the "
            f"tasks: mean {spread['mean']} %, standard deviation {spread['std']}, min {spread['min']}, max "
            f"{spread['max']}.\n\n| task | {names} |\n|---|{'---|' * len(seeds['seeds'])}\n" + "\n".join(rows)
            + "\n\n")


def model_card(meta):
    """A model card (markdown) from a weight folder's metadata."""
    ev = meta.get("valid", {})
    rows = "\n".join(f"| {t} | {e:.1f} |" for t, e in ev.get("tasks", {}).items())
    files = "\n".join(f"| `{f}` | `{h}` |" for f, h in meta.get("sha256", {}).items())
    recipe = "\n".join(f"- {k}: {v}" for k, v in meta.get("recipe", {}).items())
    notes = "\n".join(f"- {n}" for n in meta.get("notes", []))
    return f"""# {meta['model']} / {meta.get('tag', '')}

{meta.get('paper', '')}

## Data
{_data_lines(meta.get('data', {}), bool(meta.get('per_task')))}
- Vocabulary: {meta.get('vocab_size')} words (`vocab.json`, 0 = padding, 1 = unknown). Memory: last {meta.get('config', {}).get('memory_size')} sentences.
{notes}

## Recipe
- supervision: {meta.get('supervision', 'answers only')}
{recipe}
- seed: {meta.get('seed')}
- best epoch: {'each model its own (below)' if meta.get('per_task') else meta.get('best_epoch')}, training time: {meta.get('train_seconds', 0):.0f} s on {meta.get('machine', '?')}

## Model
- config: `{json.dumps(meta.get('config', {}))}`
- parameters: {meta.get('parameters')}

## Valid error (%) per task
Mean {ev.get('mean_error')} %, failed tasks (> 5 %): {ev.get('failed_tasks')}

| task | error % |
|---|---|
{rows}

{_test_lines(meta.get('test'))}{_per_task_lines(meta.get('per_task'))}{_seed_lines(meta.get('seeds'))}{_task_seed_lines(meta.get('task_seeds'))}Measured with: `{meta.get('command', '')}`

## Inputs and outputs
- `story` int32 [batch, memory, words], oldest sentence first, padded with 0 at the end; `query` int32 [batch, words].
- Output: answer logits over the vocabulary. Attention per hop: `model.explain(inputs)`.

## Files
| file | sha256 |
|---|---|
{files}

License of the data: CC BY 3.0 (Facebook AI Research, bAbI).
"""
