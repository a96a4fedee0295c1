"""Shipped weights: checksums, golden outputs, model card, and the recorded error re-measured."""

import json
import os

import numpy as np
import pytest

import zoo
from zoo.weights import ROOT, verify
from tests.conftest import SHARED_BABI

ALL = [(name, tag) for name in zoo.list_models() for tag in zoo.list_weights(name)]
# Per-task folders (train --per-task) hold one weight folder per task: each is checked as a folder of its own.
PER_TASK = [(n, t) for n, t in ALL if "per_task" in json.load(open(os.path.join(ROOT, n, t, "metadata.json")))]
SHIPPED = [(n, t) for n, t in ALL if (n, t) not in PER_TASK] + [
    (n, f"{t}/{sub['folder']}") for n, t in PER_TASK
    for sub in json.load(open(os.path.join(ROOT, n, t, "metadata.json")))["per_task"].values()]


def _load(name, tag):
    """A shipped model; ``TAG/task-T`` is task T's model of per-task weights TAG."""
    if "/" in tag:
        tag, sub = tag.split("/")
        return zoo.load(name, weights=tag, task=int(sub.split("-")[1]))
    return zoo.load(name, weights=tag)


@pytest.mark.parametrize("name", ["memn2n", "gated_memn2n", "kv_memnn", "memnn"])
def test_ships_babi_1k_and_10k(name):
    assert {"babi-1k", "babi-10k"} <= set(zoo.list_weights(name))


@pytest.mark.parametrize("name, tag", SHIPPED, ids=[f"{n}-{t}" for n, t in SHIPPED])
def test_checksums_card_and_golden_outputs(name, tag):
    folder = os.path.join(ROOT, name, tag)
    meta = verify(folder)
    assert set(meta["sha256"]) >= {"config.json", "model.weights.h5", "vocab.json", "golden.npz"}
    for key in ("data", "recipe", "valid", "train_seconds", "parameters", "paper"):
        assert key in meta, f"model card data lacks {key}"
    assert len(meta["valid"]["tasks"]) == (1 if "/" in tag else 20)
    card = open(os.path.join(folder, "README.md")).read()
    assert f"{meta['valid']['mean_error']}" in card and str(meta["parameters"]) in card
    model = _load(name, tag)
    assert model.count_params() == meta["parameters"]
    golden = np.load(os.path.join(folder, "golden.npz"))
    logits = model.predict_on_batch({"story": golden["story"], "query": golden["query"]})
    np.testing.assert_allclose(logits, golden["logits"], rtol=1e-5, atol=1e-5)  # float32 summation order


@pytest.mark.skipif(not os.path.isdir(SHARED_BABI), reason="the shared bAbI copy is not beside the checkout")
@pytest.mark.parametrize("name, tag", SHIPPED, ids=[f"{n}-{t}" for n, t in SHIPPED])
def test_recorded_error_is_re_measured(name, tag):
    """Tasks 1 and 16 of the valid split give the per-task errors the card records."""
    from zoo.data.babi import load_split
    from zoo.data.pipeline import vectorize
    from zoo.training import task_errors

    model = _load(name, tag)
    meta = json.load(open(os.path.join(ROOT, name, tag, "metadata.json")))
    tasks = [t for t in (1, 16) if str(t) in meta["valid"]["tasks"]] or [int(next(iter(meta["valid"]["tasks"])))]
    examples, _ = load_split(SHARED_BABI, meta["data"]["folder"], tasks, "valid")
    arrays = vectorize(examples, model.vocab, model.get_config()["memory_size"])
    measured = task_errors(model, arrays)["tasks"]
    for task in map(str, tasks):
        assert measured[task] == pytest.approx(meta["valid"]["tasks"][task], abs=0.01)


@pytest.mark.parametrize("name, tag", PER_TASK, ids=[f"{n}-{t}" for n, t in PER_TASK])
def test_per_task_folder_pins_its_task_folders_and_records_their_errors(name, tag):
    folder = os.path.join(ROOT, name, tag)
    meta = verify(folder)
    assert len(meta["per_task"]) == 20 and len(meta["valid"]["tasks"]) == 20
    for task, sub in meta["per_task"].items():
        sub_meta = verify(os.path.join(folder, sub["folder"]))
        assert sub_meta["valid"]["tasks"] == {task: meta["valid"]["tasks"][task]}
    card = open(os.path.join(folder, "README.md")).read()
    assert "## One model per task" in card and str(meta["valid"]["mean_error"]) in card


@pytest.mark.skipif(not os.path.isdir(SHARED_BABI), reason="the shared bAbI copy is not beside the checkout")
def test_answer_text_signature_answers_a_raw_babi_story(tmp_path):
    """The exported SavedModel of memn2n/babi-1k reads a bAbI story as raw text and answers it."""
    from export.runners import SavedModelRunner
    from export import export_model

    model = zoo.load("memn2n", weights="babi-1k")
    path = export_model(model, model.vocab, "memn2n", "babi-1k", str(tmp_path), formats=["saved_model"],
                        log=lambda m: None)["saved_model"]
    runner = SavedModelRunner(path)
    lines = open(os.path.join(SHARED_BABI, "en-valid", "qa1_valid.txt")).read().splitlines()
    sentences, questions = [], []
    for line in lines[:40]:
        text = line.split(" ", 1)[1]
        if line.startswith("1 "):
            sentences = []
        if "\t" in text:
            question, answer, _ = text.split("\t")
            questions.append((list(sentences), question, answer))
        else:
            sentences.append(text)
    served = [runner.answer_text([s], [q])[0] for s, q, _ in questions]
    assert served == [model.answer(s, q)["answer"] for s, q, _ in questions]
    assert sum(a == gold for a, (_, _, gold) in zip(served, questions)) >= 0.9 * len(questions)
