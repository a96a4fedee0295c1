"""One model per task in one graph (zoo.per_task): every registered model, and the CLI's --per-task end to end."""

import json
import os

import keras
import numpy as np
import pytest

import zoo
from tests.conftest import TINY, write_tiny_tree
from tests.harness import labels_for, specs
from zoo.__main__ import main
from zoo.data.pipeline import make_dataset
from zoo.per_task import build_task_stack
from zoo.training import compile_model


def _task_batches(spec, tasks, per_task=2, batch=3):
    """Single-task batches in a fixed interleaved order: [(inputs with 'task', labels)]."""
    out = []
    for i in range(per_task):
        for j, task in enumerate(tasks):
            x = spec.example_batch(batch=batch, seed=10 * i + j)
            out.append(({**x, "task": np.full(batch, task, np.int32)}, labels_for(spec, x)))
    return out


def _fit(model, batches, epochs=1):
    for _ in range(epochs):
        for x, y in batches:
            model.train_on_batch(x, y)


def _recipe(spec, **extra):
    return {**spec.recipe, "jit_compile": False, "steps_per_execution": 1, **extra}


@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.name)
def test_each_task_trains_only_its_own_copy_and_reloads_as_a_plain_model(spec, tmp_path):
    stack = build_task_stack(spec, spec.tiny_config, _recipe(spec), [1, 4, 19], seed=3)
    before = [[np.array(w) for w in c.get_weights()] for c in stack.copies]
    _fit(stack, _task_batches(spec, [1, 19]))
    changed = [any(not np.array_equal(b, a) for b, a in zip(bs, c.get_weights())) for bs, c in zip(before, stack.copies)]
    assert changed == [True, False, True]  # task 4 had no batch: its copy (and its optimizer) did not move
    x, _ = _task_batches(spec, [19])[0]
    inputs = {k: v for k, v in x.items() if k not in ("supporting", "task")}
    plain_inputs = {**inputs, **({"supporting": x["supporting"]} if "supporting" in x else {})}
    # The stack answers each question with its task's copy.
    np.testing.assert_allclose(stack.predict_on_batch({**inputs, "task": x["task"]}),
                               stack.copies[2].predict_on_batch(inputs), atol=1e-5)
    path = str(tmp_path / "copy.weights.h5")
    stack.copies[2].save_weights(path)
    plain = spec.build(**spec.tiny_config)
    plain.load_weights(path)
    assert type(plain) is spec.cls
    np.testing.assert_allclose(plain.predict_on_batch(plain_inputs if spec.supporting_facts else inputs),
                               stack.copies[2].predict_on_batch(inputs), atol=1e-5)


@pytest.mark.parametrize("name,seeds", [("memn2n", 1), ("entnet", 1), ("memn2n", 2)])
def test_a_task_copy_trains_exactly_as_a_run_on_its_task_alone(name, seeds):
    """Own loss, optimizer (slots, step count) and clipping: each copy of task 19 ends where a single model of its
    seed fed only task 19's batches does (memn2n: SGD, per-variable clipping; entnet: Adam, global norm)."""
    spec = zoo.get_spec(name)
    clip = {"clipnorm": 0.05} if "clipnorm" in spec.recipe else {"global_clipnorm": 0.05}
    recipe = _recipe(spec, **clip)
    batches = _task_batches(spec, [1, 19], per_task=3)
    own = [({k: v for k, v in x.items() if k != "task"}, y) for x, y in batches if x["task"][0] == 19]
    singles = []
    for s in range(seeds):
        keras.utils.set_random_seed(7 + s)
        singles.append(compile_model(spec.build(**spec.tiny_config), recipe))
        _fit(singles[-1], own, epochs=2)
    stack = build_task_stack(spec, spec.tiny_config, recipe, [1, 19], seed=7, seeds=seeds)
    _fit(stack, batches, epochs=2)
    for single, copy in zip(singles, stack.copies[seeds:]):  # task-major: task 19's copies come second
        for a, b in zip(single.get_weights(), copy.get_weights()):
            np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(singles[0].get_weights()[0], stack.copies[0].get_weights()[0])
    x = own[0][0]
    out = stack.predict_on_batch({**x, "task": np.full(len(own[0][1]), 19, np.int32)})
    expected = [c.predict_on_batch(x) for c in stack.copies[seeds:]]
    np.testing.assert_allclose(out, expected[0] if seeds == 1 else np.stack(expected), atol=1e-5)
    if seeds > 1:
        assert not np.allclose(expected[0], expected[1])  # the seeds differ


def test_the_stack_checkpoint_holds_every_copy_s_optimizer_state(tmp_path):
    """Backup saves the stack with save_weights: each copy's Adam slots and step count come back."""
    spec = zoo.get_spec("entnet")
    stack = build_task_stack(spec, spec.tiny_config, _recipe(spec), [1, 19], seed=2)
    _fit(stack, _task_batches(spec, [1, 19]))
    path = str(tmp_path / "stack.weights.h5")
    stack.save_weights(path)
    again = build_task_stack(spec, spec.tiny_config, _recipe(spec), [1, 19], seed=5)
    again.load_weights(path)
    for a, b in zip(stack.copies, again.copies):
        assert a.optimizer.iterations.numpy() == b.optimizer.iterations.numpy() == 2
        for va, vb in zip(a.optimizer.variables, b.optimizer.variables):
            np.testing.assert_array_equal(np.asarray(va), np.asarray(vb))


def test_by_task_batches_hold_one_task_each_and_cover_every_question_once():
    from zoo.data.pipeline import eval_order

    rng = np.random.default_rng(0)
    n = 90
    arrays = {"story": rng.integers(1, 9, (n, 6, 4)).astype(np.int32), "query": rng.integers(1, 9, (n, 4)),
              "answer": np.arange(n, dtype=np.int32), "task": np.repeat([1, 2, 19], 30),
              "length": rng.integers(1, 7, n), "supporting": np.zeros((n, 3), np.int32)}
    seen = []
    for x, y in make_dataset(arrays, 8, shuffle=True, by_task=True):
        tasks = set(x["task"].numpy().tolist())
        assert len(tasks) == 1 and tasks == set(arrays["task"][y.numpy()].tolist())
        seen += y.numpy().tolist()
    assert sorted(seen) == list(range(n))
    # Without by_task, the batches are those of before (the plan did not change).
    plain = np.concatenate([y.numpy() for _, y in make_dataset(arrays, 8)])
    np.testing.assert_array_equal(plain, eval_order(arrays, 8))


@pytest.fixture(scope="module")
def per_task_run(tmp_path_factory):
    root = write_tiny_tree(str(tmp_path_factory.mktemp("data")))
    out = str(tmp_path_factory.mktemp("run") / "run")
    assert main(["train", "memn2n", "--data-dir", root, "--tasks", "1,19", "--out", out, "--epochs", "3",
                 "--seed", "4", "--per-task", "--verbose", "0", *TINY]) == 0
    return root, out


def test_per_task_folder_loads_each_task_s_model_and_evaluate_scores_each_with_its_own(per_task_run, capsys):
    root, out = per_task_run
    folder = os.path.join(out, "weights")
    meta = json.load(open(os.path.join(folder, "metadata.json")))
    assert meta["tag"] == "babi-1k-per-task" and sorted(meta["per_task"]) == ["1", "19"]
    card = open(os.path.join(folder, "README.md")).read()
    assert "## One model per task" in card and "one model per task, trained on" in card
    models = {t: zoo.load("memn2n", weights=folder, task=t) for t in (1, 19)}
    assert not np.allclose(models[1].get_weights()[0], models[19].get_weights()[0])
    for t in (1, 19):
        sub = json.load(open(os.path.join(folder, f"task-{t}", "metadata.json")))
        assert sub["data"]["tasks"] == [t] and sub["valid"]["tasks"] == {str(t): meta["valid"]["tasks"][str(t)]}
        golden = np.load(os.path.join(folder, f"task-{t}", "golden.npz"))
        np.testing.assert_allclose(models[t].predict_on_batch({"story": golden["story"], "query": golden["query"]}),
                                   golden["logits"], atol=1e-5)
    result = os.path.join(out, "eval.json")
    assert main(["evaluate", "memn2n", "--weights", folder, "--data-dir", root, "--tasks", "1,19",
                 "--json", result]) == 0
    assert json.load(open(result))["tasks"] == meta["valid"]["tasks"]
    capsys.readouterr()
    assert main(["evaluate", "memn2n", "--weights", folder, "--data-dir", root, "--tasks", "1,19",
                 "--task", "7"]) == 2
    assert "pass task= one of [1, 19]" in capsys.readouterr().err


def test_per_task_weights_are_checked_and_misuse_is_named(per_task_run, tmp_path, capsys):
    _, out = per_task_run
    folder = os.path.join(out, "weights")
    with pytest.raises(ValueError, match=r"one memn2n model per bAbI task: pass task= one of \[1, 19\]"):
        zoo.load("memn2n", weights=folder)
    with pytest.raises(ValueError, match="holds one model for all its tasks"):
        zoo.load("memn2n", weights="babi-1k", task=1)
    with pytest.raises(ValueError, match="weights=None builds a fresh model"):
        zoo.load("memn2n", task=1)
    import shutil

    bad = str(tmp_path / "bad")
    shutil.copytree(folder, bad)
    with open(os.path.join(bad, "task-19", "metadata.json"), "a") as f:
        f.write(" ")
    with pytest.raises(ValueError, match="task-19/metadata.json: sha256"):
        zoo.load("memn2n", weights=bad, task=1)
    args = ["train", "memn2n", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"), "--per-task"]
    assert main([*args, "--weights", "babi-1k"]) == 2
    assert "does not combine with starting weights" in capsys.readouterr().err


def test_predict_and_export_take_task_s_model(per_task_run, tmp_path, capsys):
    root, out = per_task_run
    folder = os.path.join(out, "weights")
    story = "Mary moved to the bathroom. John went to the hallway."
    assert main(["predict", "memn2n", "--weights", folder, "--task", "1", "--story", story,
                 "--question", "Where is Mary?"]) == 0
    expected = zoo.load("memn2n", weights=folder, task=1).answer(story, "Where is Mary?")["answer"]
    assert f"answer: {expected}" in capsys.readouterr().out
    assert main(["export", "memn2n", "--weights", folder, "--task", "19", "--format", "saved_model",
                 "--out", str(tmp_path / "x"), "--verify", "--data-dir", root]) == 0
    printed = capsys.readouterr().out
    assert "saved_model" in printed and "True" in printed
    assert main(["predict", "memn2n", "--weights", folder, "--story", story, "--question", "Where is Mary?"]) == 2
    assert "pass task= one of [1, 19]" in capsys.readouterr().err


def test_a_batch_of_a_task_without_a_copy_is_an_error_not_another_task_s_answer():
    import tensorflow as tf

    spec = zoo.get_spec("memn2n")
    stack = build_task_stack(spec, spec.tiny_config, _recipe(spec), [1, 4], seed=0)
    x, y = _task_batches(spec, [2])[0]
    with pytest.raises(tf.errors.InvalidArgumentError, match="a task without a model of its own"):
        stack.train_on_batch(x, y)


def test_per_task_with_seeds_ships_each_task_s_chosen_seed_and_records_them_all(tmp_path, capsys):
    """--per-task --seeds 2: for each task the seed of lowest training error on that task (MemN2N's criterion)
    is shipped; the card and metadata list every seed's valid error per task and their spread."""
    root = write_tiny_tree(str(tmp_path / "data"))
    out = str(tmp_path / "run")
    assert main(["train", "memn2n", "--data-dir", root, "--tasks", "1,19", "--out", out, "--epochs", "3",
                 "--seed", "4", "--per-task", "--seeds", "2", "--verbose", "0", *TINY]) == 0
    folder = os.path.join(out, "weights")
    meta = json.load(open(os.path.join(folder, "metadata.json")))
    seeds = meta["task_seeds"]
    assert seeds["seeds"] == [4, 5] and seeds["select"] == "train" and sorted(seeds["tasks"]) == ["1", "19"]
    card = open(os.path.join(folder, "README.md")).read()
    assert "## Every seed of every task" in card
    for t in (1, 19):
        own = seeds["tasks"][str(t)]
        assert len(own["valid"]) == len(own["train"]) == 2 and own["chosen"] == int(np.argmin(own["train"]))
        assert meta["valid"]["tasks"][str(t)] == own["valid"][own["chosen"]]
        sub = json.load(open(os.path.join(folder, f"task-{t}", "metadata.json")))
        assert sub["seed"] == [4, 5][own["chosen"]] and "task_seeds" not in sub
        assert [c["valid"]["mean_error"] for c in sub["seeds"]["copies"]] == own["valid"]
        assert "## Every seed (valid error %)" in open(os.path.join(folder, f"task-{t}", "README.md")).read()
    assert seeds["seed_mean_error"] == [round(float(np.mean([seeds["tasks"][t]["valid"][s] for t in ("1", "19")])),
                                              2) for s in range(2)]
    # The shipped model of each task is its chosen copy at that copy's best epoch (copies are task-major).
    for k, t in enumerate((1, 19)):
        shipped = zoo.load("memn2n", weights=folder, task=t)
        for s in range(2):
            copy = zoo.load("memn2n", weights=folder, task=t)
            copy.load_weights(os.path.join(out, f"best-copy{2 * k + s}.weights.h5"))
            same = all(np.array_equal(a, b) for a, b in zip(shipped.get_weights(), copy.get_weights()))
            assert same == (s == seeds["tasks"][str(t)]["chosen"])
    result = os.path.join(out, "eval.json")
    assert main(["evaluate", "memn2n", "--weights", folder, "--data-dir", root, "--tasks", "1,19",
                 "--json", result]) == 0
    assert json.load(open(result))["tasks"] == meta["valid"]["tasks"]
