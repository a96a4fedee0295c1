"""Many seeds in one graph (zoo.seeds): every registered model, and the CLI's --seeds end to end."""

import json
import os

import keras
import numpy as np
import pytest

import zoo
from tests.conftest import TINY, stopping_once_at_epoch, write_tiny_tree
from tests.harness import labels_for, specs
from zoo.__main__ import main
from zoo.data.vocab import PAD, UNK, Vocabulary
from zoo.seeds import build_stack
from zoo.training import compile_model
from zoo.weights import load_folder, save_folder


def _inputs(batch):
    return {k: v for k, v in batch.items() if k != "supporting"}


@pytest.mark.parametrize("spec", specs(), ids=lambda s: s.name)
def test_copies_train_differ_and_the_chosen_one_reloads_as_a_plain_model(spec, tmp_path):
    recipe = {**spec.recipe, "jit_compile": False, "steps_per_execution": 1}
    stack = build_stack(spec, spec.tiny_config, recipe, [4, 5, 6])
    batch = spec.example_batch(batch=4)
    before = [np.asarray(c.get_weights()[0]).copy() for c in stack.copies]
    history = stack.fit(batch, labels_for(spec, batch), epochs=1, batch_size=4, verbose=0)
    assert {"loss", "copy0_loss", "copy2_accuracy"} <= set(history.history)
    assert all(np.isfinite(history.history[f"copy{i}_loss"][0]) for i in range(3))
    assert all(not np.allclose(b, c.get_weights()[0]) for b, c in zip(before, stack.copies))  # each one trained
    logits = stack.predict_on_batch(_inputs(batch))
    assert logits.shape[0] == 3
    assert not np.allclose(logits[0], logits[1], atol=1e-4)  # independent initialisations
    chosen = stack.copies[1]
    vocab = Vocabulary([PAD, UNK] + [f"w{i}" for i in range(2, spec.tiny_config["vocab_size"])])
    meta = {"model": spec.name, "tag": "t", "config": chosen.get_config()}
    save_folder(chosen, vocab, str(tmp_path / "w"), meta)
    plain, _ = load_folder(spec.name, str(tmp_path / "w"))
    assert type(plain) is spec.cls
    np.testing.assert_allclose(plain.predict_on_batch(_inputs(batch)), logits[1], atol=1e-5)


@pytest.mark.parametrize("name", ["memn2n", "entnet"])
def test_a_copy_trains_exactly_as_a_run_of_its_own(name):
    """Own loss, optimizer slots and gradient clipping: copy 0 of a stack ends where a single model of its seed
    does, with clipping that bites (memn2n: per variable, sum loss, SGD; entnet: global norm, Adam)."""
    spec = zoo.get_spec(name)
    clip = {"clipnorm": 0.05} if "clipnorm" in spec.recipe else {"global_clipnorm": 0.05}
    recipe = {**spec.recipe, **clip, "jit_compile": False, "steps_per_execution": 1}
    batch = spec.example_batch(batch=6)
    labels = labels_for(spec, batch)
    keras.utils.set_random_seed(7)
    single = compile_model(spec.build(**spec.tiny_config), recipe)
    single.fit(batch, labels, epochs=3, batch_size=3, shuffle=False, verbose=0)
    stack = build_stack(spec, spec.tiny_config, recipe, [7, 8])
    stack.fit(batch, labels, epochs=3, batch_size=3, shuffle=False, verbose=0)
    for a, b in zip(single.get_weights(), stack.copies[0].get_weights()):
        # Adam turns float noise of the clipped gradients into ~1e-5; a wrong clip norm gave 3e-2 here.
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert not np.allclose(single.get_weights()[0], stack.copies[1].get_weights()[0])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = write_tiny_tree(str(tmp_path_factory.mktemp("data")))
    out = str(tmp_path_factory.mktemp("run") / "run")
    assert main(["train", "memn2n", "--data-dir", root, "--tasks", "1,19", "--out", out, "--epochs", "3",
                 "--seed", "10", "--seeds", "3", "--select", "valid", "--verbose", "0", *TINY]) == 0
    return root, out


def test_seeds_ship_the_copy_of_lowest_valid_error_and_the_card_shows_all(seeded):
    root, out = seeded
    folder = os.path.join(out, "weights")
    meta = json.load(open(os.path.join(folder, "metadata.json")))
    seeds = meta["seeds"]
    assert [c["seed"] for c in seeds["copies"]] == [10, 11, 12]
    means = [c["valid"]["mean_error"] for c in seeds["copies"]]
    assert seeds["chosen"] == int(np.argmin(means)) and meta["seed"] == 10 + seeds["chosen"]
    assert meta["valid"] == seeds["copies"][seeds["chosen"]]["valid"]
    assert seeds["valid_mean_error"]["mean"] == pytest.approx(np.mean(means), abs=0.01)
    assert seeds["valid_mean_error"]["std"] == pytest.approx(np.std(means), abs=0.01)
    card = open(os.path.join(folder, "README.md")).read()
    assert "## Every seed" in card and f"seed {meta['seed']} (shipped)" in card
    # The shipped copy is an ordinary weight folder whose measured error is the recorded one.
    result = str(os.path.join(out, "eval.json"))
    assert main(["evaluate", "memn2n", "--weights", folder, "--data-dir", root, "--tasks", "1,19",
                 "--json", result]) == 0
    assert json.load(open(result))["mean_error"] == meta["valid"]["mean_error"]


def test_seeds_resume_after_an_interruption_as_if_never_stopped(seeded, tmp_path):
    root, whole = seeded
    out = str(tmp_path / "resume")
    args = ["train", "memn2n", "--data-dir", root, "--tasks", "1,19", "--out", out, "--epochs", "3", "--seed", "10",
            "--seeds", "3", "--select", "valid", "--verbose", "0", *TINY]
    with stopping_once_at_epoch(2):
        with pytest.raises(KeyboardInterrupt):
            main(args)
        assert main(args) == 0
    a = json.load(open(os.path.join(whole, "weights", "metadata.json")))["seeds"]
    b = json.load(open(os.path.join(out, "weights", "metadata.json")))["seeds"]
    assert [c["valid"] for c in a["copies"]] == [c["valid"] for c in b["copies"]]
    assert [c["best_epoch"] for c in a["copies"]] == [c["best_epoch"] for c in b["copies"]]


def test_seeds_arguments_are_checked(tmp_path, capsys):
    args = ["train", "memn2n", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*args, "--seeds", "0"]) == 2
    assert "seeds (copies trained together) must be an integer of 1 or more, got 0" in capsys.readouterr().err
    assert main([*args, "--select", "train"]) == 2
    assert "needs seeds of 2 or more" in capsys.readouterr().err
    assert main([*args, "--seeds", "2", "--weights", "babi-1k"]) == 2
    assert "every copy would start from the same weights" in capsys.readouterr().err
