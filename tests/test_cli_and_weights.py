"""The CLI end to end on a small bAbI tree, and weight folders."""

import json
import os
import shutil

import numpy as np
import pytest

import zoo
from tests.conftest import TINY, stopping_once_at_epoch, write_tiny_tree
from zoo.__main__ import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny MemN2N trained by the CLI on a small tree (tasks 1 and 19)."""
    root = write_tiny_tree(str(tmp_path_factory.mktemp("data")))
    out = str(tmp_path_factory.mktemp("run") / "run")
    assert main(["train", "memn2n", "--data-dir", root, "--tasks", "1,19", "--out", out, "--epochs", "2",
                 "--verbose", "0", *TINY]) == 0
    return root, out


def test_train_writes_a_complete_checked_weight_folder(trained):
    _, out = trained
    folder = os.path.join(out, "weights")
    meta = json.load(open(os.path.join(folder, "metadata.json")))
    assert set(meta["sha256"]) == {"config.json", "model.weights.h5", "vocab.json", "golden.npz"}
    assert set(meta["valid"]["tasks"]) == {"1", "19"}
    assert meta["parameters"] > 0 and meta["train_seconds"] > 0
    assert "| 19 |" in open(os.path.join(folder, "README.md")).read()
    model = zoo.load("memn2n", weights=folder)
    golden = np.load(os.path.join(folder, "golden.npz"))
    logits = model.predict_on_batch({"story": golden["story"], "query": golden["query"]})
    np.testing.assert_allclose(logits, golden["logits"], atol=1e-5)
    assert os.path.isdir(os.path.join(out, "logs"))  # TensorBoard


def test_train_refuses_to_overwrite_finished_weights(trained, capsys):
    root, out = trained
    assert main(["train", "memn2n", "--data-dir", root, "--tasks", "1", "--out", out, "--epochs", "1",
                 "--verbose", "0", *TINY]) == 2
    assert "already holds finished weights" in capsys.readouterr().err


def test_train_resumes_after_an_interruption(trained, tmp_path):
    """A run stopped mid-way picks up from its backup, not from epoch 0."""
    root, _ = trained
    out = str(tmp_path / "resume")
    with stopping_once_at_epoch(2):  # as if stopped after two epochs
        with pytest.raises(KeyboardInterrupt):
            main(["train", "memn2n", "--data-dir", root, "--tasks", "1", "--out", out, "--epochs", "3",
                  "--verbose", "0", *TINY])
        assert main(["train", "memn2n", "--data-dir", root, "--tasks", "1", "--out", out, "--epochs", "3",
                     "--verbose", "0", *TINY]) == 0
    epochs = [line.split(",")[0] for line in open(os.path.join(out, "log.csv")).read().splitlines()[1:]]
    assert epochs == [str(i) for i in range(len(epochs))] and len(epochs) == 4  # 1 linear start + 3, none twice
    # The same weights as a run never stopped: same batches, optimizer state and schedule after the resume.
    whole = str(tmp_path / "whole")
    assert main(["train", "memn2n", "--data-dir", root, "--tasks", "1", "--out", whole, "--epochs", "3",
                 "--verbose", "0", *TINY]) == 0
    a, b = (zoo.load("memn2n", weights=os.path.join(o, "weights")) for o in (out, whole))
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(x, y, atol=1e-5)
    assert json.load(open(os.path.join(out, "weights", "metadata.json")))["best_epoch"] == \
        json.load(open(os.path.join(whole, "weights", "metadata.json")))["best_epoch"]


def test_evaluate_writes_the_json_result(trained, tmp_path):
    root, out = trained
    result = str(tmp_path / "r.json")
    assert main(["evaluate", "memn2n", "--weights", os.path.join(out, "weights"), "--data-dir", root,
                 "--tasks", "1,19", "--split", "valid", "--json", result]) == 0
    r = json.load(open(result))
    assert set(r) == {"model", "weights", "data", "split", "tasks", "mean_error", "failed_tasks"}
    assert r["split"] == "valid" and set(r["tasks"]) == {"1", "19"}
    assert r["mean_error"] == pytest.approx(np.mean(list(r["tasks"].values())), abs=0.01)
    assert r["failed_tasks"] == sorted(int(t) for t, e in r["tasks"].items() if e > 5)


def test_evaluate_missing_split_is_a_clear_error(trained, capsys):
    root, out = trained
    assert main(["evaluate", "memn2n", "--weights", os.path.join(out, "weights"), "--data-dir", root,
                 "--tasks", "1", "--split", "test"]) == 2
    assert "qa1_test.txt" in capsys.readouterr().err


def test_predict_prints_answer_and_attention(trained, capsys, tmp_path):
    _, out = trained
    story = tmp_path / "story.txt"
    story.write_text("Mary moved to the bathroom.\nJohn went to the hallway.\n")
    assert main(["predict", "memn2n", "--weights", os.path.join(out, "weights"), "--story", str(story),
                 "--question", "Where is Mary?"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("answer: ")
    assert text.count("hop ") == 2 and "mary moved to the bathroom" in text.lower()


def test_corrupt_weights_are_refused(trained, tmp_path):
    _, out = trained
    copy = str(tmp_path / "copy")
    shutil.copytree(os.path.join(out, "weights"), copy)
    with open(os.path.join(copy, "model.weights.h5"), "ab") as f:
        f.write(b"x")
    with pytest.raises(ValueError, match="sha256"):
        zoo.load("memn2n", weights=copy)


def test_weights_argument_errors_name_the_valid_values(trained):
    _, out = trained
    with pytest.raises(ValueError, match=r"valid: None, a folder .*\["):
        zoo.load("memn2n", weights="babi-3k")
    with pytest.raises(ValueError, match="fresh models only"):
        zoo.load("memn2n", weights=os.path.join(out, "weights"), hops=1)


def test_save_folder_never_overwrites_unless_asked(trained, tmp_path):
    from zoo.weights import save_folder

    _, out = trained
    model = zoo.load("memn2n", weights=os.path.join(out, "weights"))
    target = str(tmp_path / "w")
    save_folder(model, model.vocab, target, {"model": "memn2n"})
    with pytest.raises(FileExistsError, match="overwrite"):
        save_folder(model, model.vocab, target, {"model": "memn2n"})
    save_folder(model, model.vocab, target, {"model": "memn2n"}, overwrite=True)
    assert zoo.load("memn2n", weights=target) is not None


def test_weight_files_hold_no_optimizer_state(trained, tmp_path):
    import h5py
    import keras

    from zoo.weights import save_folder

    _, out = trained
    with h5py.File(os.path.join(out, "weights", "model.weights.h5")) as f:  # written by train, compiled
        assert "layers" in f and "optimizer" not in f
    model = zoo.load("memn2n", weights=os.path.join(out, "weights"))
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy")
    golden = np.load(os.path.join(out, "weights", "golden.npz"))
    x = {"story": golden["story"], "query": golden["query"]}
    model.fit(x, np.ones(len(golden["story"]), "int32"), epochs=1, verbose=0)  # Adam's slots now exist
    assert model.optimizer.variables
    save_folder(model, model.vocab, str(tmp_path / "w"), {"model": "memn2n"})
    with h5py.File(str(tmp_path / "w" / "model.weights.h5")) as f:
        assert "optimizer" not in f
    np.testing.assert_array_equal(zoo.load("memn2n", weights=str(tmp_path / "w")).predict_on_batch(x),
                                  model.predict_on_batch(x))


def test_bad_cli_arguments_are_clear_errors(capsys, babi_dir, tmp_path):
    assert main(["train", "memn2n", "--data-dir", babi_dir, "--out", str(tmp_path / "r"), "--config", "{dim: 3}"]) == 2
    assert "--config takes a JSON object" in capsys.readouterr().err
    assert main(["train", "memn2n", "--data-dir", babi_dir, "--out", str(tmp_path / "r"), "--tasks", "0"]) == 2
    assert "numbers from 1 to 20" in capsys.readouterr().err
    assert main(["train", "memn2n", "--data-dir", babi_dir, "--out", str(tmp_path / "r"), "--size", "5k"]) == 2
    assert "valid: 1k, 10k" in capsys.readouterr().err
    assert main(["train", "memn2n", "--data-dir", babi_dir, "--out", str(tmp_path / "r2"),
                 "--recipe", '{"learning_rat": 0.1}']) == 2
    err = capsys.readouterr().err
    assert "unknown recipe key(s) ['learning_rat']" in err and "learning_rate" in err
    assert not os.path.exists(tmp_path / "r2")


def test_balance_tasks_repeats_the_smaller_tasks():
    from zoo.training import balance_tasks

    task = np.array([1] * 6 + [3] * 2 + [19] * 3)
    arrays = {"task": task, "answer": np.arange(len(task)), "story": np.arange(len(task))[:, None] * np.ones((1, 2))}
    out, repeats = balance_tasks(arrays)
    assert repeats == {3: 3, 19: 2}
    _, counts = np.unique(out["task"], return_counts=True)
    assert counts.tolist() == [6, 6, 6]
    # Rows stay whole: each repeated row is the same example.
    assert (out["task"] == task[out["answer"]]).all() and (out["story"][:, 0] == out["answer"]).all()
    assert sorted(set(out["answer"][out["task"] == 3])) == [6, 7]


def test_train_and_predict_a_dmn_with_gate_supervision(babi_dir, tmp_path, capsys):
    """DMN trains from the CLI on supporting facts; its card says so and predict prints the gates per pass."""
    out = str(tmp_path / "dmn")
    assert main(["train", "dmn", "--data-dir", babi_dir, "--tasks", "1,19", "--out", out, "--epochs", "1",
                 "--verbose", "0", "--config", '{"dim": 8, "passes": 2}', "--recipe", '{"batch_size": 8}']) == 0
    meta = json.load(open(os.path.join(out, "weights", "metadata.json")))
    assert meta["supervision"] == "answers and supporting facts (cross-entropy of the gates)"
    capsys.readouterr()
    assert main(["predict", "dmn", "--weights", os.path.join(out, "weights"), "--story",
                 "Mary moved to the bathroom. John went to the hallway.", "--question", "Where is Mary?"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("answer: ") and text.count("pass ") == 2
    assert "mary moved to the bathroom" in text.lower()


def test_recipe_l2_adds_half_the_squared_weights_but_not_the_biases():
    from zoo.training import compile_model

    spec = zoo.get_spec("dmn_plus")
    model = spec.build(**spec.tiny_config)
    batch = spec.example_batch(batch=2)
    labels = np.array([1, 2])
    compile_model(model, {**spec.recipe, "l2": 0.0})
    plain = float(model.compute_loss(x=batch, y=labels, y_pred=model(batch), training=True))
    compile_model(model, {**spec.recipe, "l2": 0.5})
    with_l2 = float(model.compute_loss(x=batch, y=labels, y_pred=model(batch), training=True))
    expected = 0.5 * 0.5 * sum(float(np.sum(np.square(v))) for v in model.trainable_weights
                               if not v.path.endswith("bias"))
    np.testing.assert_allclose(with_l2 - plain, expected, rtol=1e-4)
    assert any(v.path.endswith("bias") and np.abs(np.asarray(v)).sum() == 0 for v in model.trainable_weights)
    # Not in the validation loss.
    assert float(model.compute_loss(x=batch, y=labels, y_pred=model(batch), training=False)) == pytest.approx(plain)


def test_recipe_patience_stops_after_epochs_without_a_better_valid_accuracy(tmp_path):
    from zoo.training import RecipeSchedule

    class Stub:
        stop_training = False

        def save_weights(self, path):
            open(path, "w").close()

    schedule = RecipeSchedule({"epochs": 50, "learning_rate": 0.1, "patience": 2}, str(tmp_path / "best.weights.h5"),
                              str(tmp_path / "state.json"))
    schedule.set_model(Stub())
    for epoch, acc in enumerate([0.5, 0.6, 0.6, 0.55]):
        schedule._epoch_start = 0.0
        schedule.on_epoch_end(epoch, {"val_accuracy": acc, "val_loss": 1.0 - acc})
        assert schedule.model.stop_training == (epoch == 3), epoch
    assert schedule.state["best_epoch"] == 2
