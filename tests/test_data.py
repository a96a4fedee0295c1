import os

import numpy as np
import pytest

from zoo.data import (BabiFormatError, Vocabulary, iterate_batches, load_split, make_dataset, parse_lines,
                      task_file, tokenize, vectorize)
from zoo.data.babi import parse_tasks
from zoo.data.pipeline import bucket_size, insert_empty_memories
from tests.conftest import STORY_1, STORY_19


def test_parse_stories_restart_and_supporting_facts():
    ex = parse_lines(STORY_1.splitlines(True), task=1)
    assert len(ex) == 3
    assert ex[0].story == (("mary", "moved", "to", "the", "bathroom"), ("john", "went", "to", "the", "hallway"))
    assert ex[0].query == ("where", "is", "mary") and ex[0].answer == "bathroom" and ex[0].supporting == (0,)
    # Questions are not memories: the second question sees four sentences.
    assert len(ex[1].story) == 4 and ex[1].supporting == (2,)
    # A new story starts at id 1.
    assert ex[2].story[0] == ("sandra", "travelled", "to", "the", "office") and len(ex[2].story) == 2
    assert all(e.task == 1 for e in ex)


def test_comma_separated_answers_are_one_answer_word():
    (ex,) = parse_lines(STORY_19.splitlines(True))
    assert ex.answer == "s,w"
    assert ex.supporting == (1, 0)


@pytest.mark.parametrize("text, message", [
    ("1 Mary went home.\nx Where?\tkitchen\t1\n", "expected 'ID text'"),
    ("1 Mary went home.\n3 John left.\n", "line id 3 follows 1"),
    ("1 Mary went home.\n2 Where is Mary?\thome\n", "question needs"),
    ("1 Mary went home.\n2 Where is Mary?\thome\t7\n", "supporting id(s) [7]"),
    ("1 Mary went home.\n2 Where is Mary?\thome\tone\n", "must be integers"),
])
def test_malformed_file_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    from zoo.data import parse_file

    with pytest.raises(BabiFormatError) as err:
        parse_file(str(path))
    assert str(path) in str(err.value) and ":2:" in str(err.value) and message in str(err.value)
    assert err.value.line_no == 2


def test_folders_splits_and_missing_files(babi_dir):
    assert task_file(babi_dir, "en-valid", 1, "valid").endswith("en-valid/qa1_valid.txt")
    assert task_file(babi_dir, "en", 1, "train").endswith("qa1_single-supporting-fact_train.txt")
    with pytest.raises(FileNotFoundError, match=r"qa1_\*_valid.txt.*use en-valid"):
        task_file(babi_dir, "en", 1, "valid")
    with pytest.raises(FileNotFoundError, match="qa1_test.txt"):
        load_split(babi_dir, "1k", [1], "test")
    with pytest.raises(ValueError, match="valid: en, en-10k"):
        task_file(babi_dir, "fr", 1, "train")
    with pytest.raises(ValueError, match="valid: train, valid, test"):
        task_file(babi_dir, "en", 1, "dev")
    ex, missing = load_split(babi_dir, "1k", "1,2,19", "train", skip_missing=True)
    assert missing == [2] and {e.task for e in ex} == {1, 19}
    assert len(ex) == 3 * 6 + 4


def test_parse_tasks():
    assert parse_tasks("all") == tuple(range(1, 21))
    assert parse_tasks("3,1") == (1, 3)
    with pytest.raises(ValueError, match="1 to 20"):
        parse_tasks("0,21")


def test_vocabulary_round_trip(tmp_path):
    ex = parse_lines(STORY_1.splitlines(True))
    v = Vocabulary.from_examples(ex)
    assert v.tokens[:2] == ["<pad>", "<unk>"] and "bathroom" in v.tokens
    assert v.encode(["mary", "zebra"]) == [v.index["mary"], 1]
    v.save(str(tmp_path / "vocab.json"))
    assert Vocabulary.load(str(tmp_path / "vocab.json")) == v
    assert tokenize("Where is Mary?") == ("where", "is", "mary")


def test_vectorize_window_and_supporting_facts():
    ex = parse_lines(STORY_1.splitlines(True), task=1)
    v = Vocabulary.from_examples(ex)
    a = vectorize(ex, v, memory_size=3)
    assert a["story"].shape == (3, 3, 6)  # "daniel went back to the hallway" and a["story"].dtype == np.int32
    assert a["length"].tolist() == [2, 3, 2]
    # The second question's story had 4 sentences: the oldest is cut off, so
    # its supporting fact (sentence 3 of 4) is now slot 1.
    assert a["supporting"][1, 0] == 1
    assert v.decode(a["story"][1, 0])[:2] == ["john", "went"]
    assert a["answer"].tolist() == v.encode(["bathroom", "hallway", "bathroom"])
    assert (a["story"][0, 2] == 0).all()  # padding slot


def test_empty_memories_keep_order_and_count():
    rng = np.random.default_rng(0)
    story = np.arange(1, 21, dtype=np.int32).reshape(2, 5, 2)
    lengths = np.array([5, 3])
    for _ in range(20):
        out = insert_empty_memories(story, lengths, 0.5, rng, 8)
        for b, n in enumerate(lengths):
            filled = out[b][out[b].any(-1)]
            np.testing.assert_array_equal(filled, story[b, :n])  # all sentences, same order
            last = np.flatnonzero(out[b].any(-1))[-1]
            assert (out[b, last] == story[b, n - 1]).all()  # blanks never after the last sentence
            assert last + 1 - n <= int(np.ceil(0.5 * n))


def test_batches_are_bucketed_and_complete():
    ex = parse_lines((STORY_1 * 30).splitlines(True), task=1)
    v = Vocabulary.from_examples(ex)
    a = vectorize(ex, v)
    seen = []
    for inputs, answers in iterate_batches(a, batch_size=4, shuffle=True, seed=1):
        filled = inputs["story"].any(-1).sum(-1)
        assert inputs["story"].shape[1] == bucket_size(filled.max())  # the smallest bucket that fits
        assert len(answers) == len(inputs["query"]) <= 4
        seen.append(len(answers))
    assert sum(seen) == len(ex)
    ds = make_dataset(a, batch_size=8)
    assert int(ds.cardinality()) == int(np.ceil(len(ex) / 8))
    # With random noise, batches leave room for the empty memories (ceil(4 * 1.1) = 5 sentences).
    noisy = list(iterate_batches(a, batch_size=4, noise=0.1, seed=2))
    assert sum(len(y) for _, y in noisy) == len(ex)
    assert {x["story"].shape[1] for x, _ in noisy} == {bucket_size(3), bucket_size(5)}
    assert len(noisy) == int(make_dataset(a, batch_size=4, noise=0.1).cardinality())
    x, y = next(iter(ds))
    assert x["story"].shape[0] == 8 and y.shape == (8,)


@pytest.mark.skipif(not os.path.isdir(os.path.join(os.path.dirname(__file__), "..", "..", "shared")),
                    reason="the shared bAbI copy is not beside the checkout")
def test_shared_babi_counts():
    from tests.conftest import SHARED_BABI

    ex, _ = load_split(SHARED_BABI, "1k", [1], "valid")
    assert len(ex) == 100


def test_random_noise_and_supporting_facts_do_not_mix():
    arrays = {"story": np.ones((2, 3, 2), np.int32), "query": np.ones((2, 2), np.int32),
              "answer": np.ones((2,), np.int32), "supporting": np.zeros((2, 1), np.int32),
              "length": np.array([3, 3], np.int32), "task": np.ones((2,), np.int32)}
    with pytest.raises(ValueError, match="supporting-fact indices"):
        make_dataset(arrays, noise=0.1, with_supporting=True)
