"""Training, scoring and verifying on the user's own bAbI-format files, and fine-tuning shipped weights."""

import json
import os

import numpy as np
import pytest

import zoo
from zoo.__main__ import main
from zoo.data.babi import file_tasks, load_files

TINY = ['--config', '{"dim": 8, "hops": 2}', '--recipe', '{"linear_start_max": 1, "jit_compile": false}']

# A made-up world: words no bAbI file has.
PETS = """1 The cat sleeps on the sofa.
2 The dog digs in the yard.
3 Where does the cat sleep?\tsofa\t1
4 The cat naps in the attic.
5 Where does the cat nap?\tattic\t4
"""
COLOURS = """1 The ball is red.
2 The kite is blue.
3 What colour is the kite?\tblue\t2
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("own")
    paths = {}
    for name, text, times in (("pets.train", PETS, 8), ("colours.train", COLOURS, 8), ("pets.dev", PETS, 2),
                              ("colours.dev", COLOURS, 2)):
        paths[name] = str(d / f"{name}.txt")
        with open(paths[name], "w") as f:
            f.write(text * times)
    return paths


@pytest.fixture(scope="module")
def trained(files, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("run") / "own")
    assert main(["train", "memn2n", "--train", f"{files['pets.train']},{files['colours.train']}",
                 "--valid", f"{files['pets.dev']},{files['colours.dev']}", "--test", files["colours.dev"] + ":2",
                 "--out", out, "--epochs", "2", "--verbose", "0", *TINY]) == 0
    return out


def test_the_task_of_a_file_is_its_qa_number_or_its_place(tmp_path):
    for name in ("qa3_train.txt", "qa19_x_train.txt", "pets.txt", "colours.txt"):
        (tmp_path / name).write_text(COLOURS)
    paths = [str(tmp_path / n) for n in ("qa3_train.txt", "qa19_x_train.txt", "pets.txt", "colours.txt")]
    assert [t for _, t in file_tasks(paths)] == [3, 19, 3, 4]  # qaN in the name, else the place in the list
    assert [t for _, t in file_tasks(f"{paths[2]}:7,{paths[0]}:20")] == [7, 20]  # FILE:N gives it
    with pytest.raises(ValueError, match="from 1 to 20"):
        file_tasks(f"{paths[2]}:21")
    with pytest.raises(FileNotFoundError, match="--train: no such file"):
        load_files(str(tmp_path / "nothing.txt"), "--train")
    with pytest.raises(ValueError, match="names no file"):
        load_files(",", "--valid")


def test_train_on_own_files_builds_the_vocabulary_from_them(trained, files):
    folder = os.path.join(trained, "weights")
    meta = json.load(open(os.path.join(folder, "metadata.json")))
    assert meta["data"]["folder"] is None and meta["data"]["tasks"] == [1, 2]
    assert meta["data"]["files"]["train"] == {os.path.abspath(files["pets.train"]): 1,
                                              os.path.abspath(files["colours.train"]): 2}
    assert set(meta["valid"]["tasks"]) == {"1", "2"} and set(meta["test"]["tasks"]) == {"2"}
    model = zoo.load("memn2n", weights=folder)
    assert {"cat", "sofa", "kite", "blue"} <= set(model.vocab.tokens) and "bathroom" not in model.vocab.tokens
    card = open(os.path.join(folder, "README.md")).read()
    assert files["pets.train"] in card and "--test files" in card


def test_evaluate_scores_files_and_asks_for_them_when_weights_came_from_files(trained, files, tmp_path, capsys):
    out = str(tmp_path / "r.json")
    weights = os.path.join(trained, "weights")
    assert main(["evaluate", "memn2n", "--weights", weights, "--test", files["pets.dev"], "--json", out]) == 0
    result = json.load(open(out))
    assert result["split"] == "test" and set(result["tasks"]) == {"1"}
    assert result["data"] == [os.path.abspath(files["pets.dev"])]
    assert main(["evaluate", "memn2n", "--weights", weights]) == 2
    assert "trained on files" in capsys.readouterr().err
    assert main(["evaluate", "memn2n", "--weights", weights, "--valid", files["pets.dev"],
                 "--test", files["pets.dev"]]) == 2
    assert "give one of" in capsys.readouterr().err


def test_fine_tuning_keeps_the_vocabulary_starts_from_the_weights_and_counts_unknown_words(trained, files,
                                                                                          tmp_path):
    new = str(tmp_path / "new.txt")
    with open(new, "w") as f:
        f.write(PETS.replace("yard", "meadow") * 3)
    start = os.path.join(trained, "weights")
    out = str(tmp_path / "tuned")
    # SGD at a learning rate so small that one epoch cannot move the weights: they must be the start's.
    assert main(["train", "memn2n", "--weights", start, "--train", new, "--valid", files["pets.dev"],
                 "--out", out, "--epochs", "1", "--verbose", "0",
                 "--recipe", '{"learning_rate": 1e-12, "noise": 0, "jit_compile": false}']) == 0
    tuned = zoo.load("memn2n", weights=os.path.join(out, "weights"))
    base = zoo.load("memn2n", weights=start)
    assert tuned.vocab == base.vocab
    for a, b in zip(tuned.get_weights(), base.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    meta = json.load(open(os.path.join(out, "weights", "metadata.json")))
    assert meta["init"]["folder"] == os.path.abspath(start) and meta["recipe"]["linear_start"] is False
    assert any("1 words of the new data are unknown to it and read as <unk> (in 6 of 10 questions)" in n and "meadow" in n for n in meta["notes"])


@pytest.mark.parametrize("args, message", [
    (["--train", "{pets.train}"], "go together"),
    (["--train", "{pets.train}", "--valid", "{pets.dev}", "--size", "10k"], "do not apply"),
    (["--train", "{pets.train}", "--valid", "{bad}"], "bad.txt:2: "),
    (["--weights", "babi-1k", "--train", "{pets.train}", "--valid", "{pets.dev}", "--config", '{"dim": 8}'],
     "config is fixed"),
])
def test_bad_own_data_arguments_get_one_clear_line(files, tmp_path, capsys, args, message):
    bad = str(tmp_path / "bad.txt")
    with open(bad, "w") as f:
        f.write("1 The cat sleeps.\n2 Where does the cat sleep? sofa 1\n")
    names = {**{"{" + k + "}": v for k, v in files.items()}, "{bad}": bad}
    args = [names.get(a, a) for a in args]
    assert main(["train", "memn2n", "--out", str(tmp_path / "out"), "--epochs", "1", "--verbose", "0",
                 *args]) == 2
    assert message in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out" / "weights")


def test_export_verify_reads_own_valid_files(trained, files, tmp_path, capsys):
    weights = os.path.join(trained, "weights")
    assert main(["export", "memn2n", "--weights", weights, "--format", "saved_model", "--out",
                 str(tmp_path / "x"), "--verify", "--valid", files["colours.dev"]]) == 0
    out = capsys.readouterr().out
    assert "parity on 2 questions of the --valid files" in out and "| saved_model |" in out
