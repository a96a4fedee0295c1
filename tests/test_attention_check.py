"""benchmarks/attention_check.py: where the hops look, counted against the supporting facts."""

import numpy as np

from benchmarks.attention_check import tally
from zoo.data.babi import Example


def _example(n_sentences, supporting, answer="a"):
    story = tuple((f"w{i}",) for i in range(n_sentences))
    return Example(story=story, query=("q",), answer=answer, supporting=tuple(supporting))


def _result(tops, n_slots, answer="a"):
    attention = [np.eye(n_slots)[t] for t in tops]
    return {"answer": answer, "attention": attention, "sentences": [""] * n_slots}


def test_tally_counts_tops_in_order_and_answers_apart():
    pairs = [
        (_example(4, [2, 0]), _result([2, 0, 1], 4)),             # in order, right
        (_example(4, [2, 0]), _result([0, 2, 1], 4, "b")),        # swapped, wrong
        (_example(4, [3]), _result([3, 1, 1], 4, "b")),           # one fact, found by hop 1, wrong
    ]
    counts, correct, by_found, hops = tally(pairs, memory_size=50)
    assert hops == 3 and correct == 1
    assert counts[1, 0] == 2 and counts[2, 1] == 1 and counts[1, 1] == 1 and counts[2, 0] == 1
    assert by_found == {True: [2, 1], False: [1, 0]}


def test_tally_shifts_by_the_sentences_the_memory_window_dropped():
    # A story of 6 sentences read through a memory of 4: slot 0 is sentence 2.
    pairs = [(_example(6, [5, 2]), _result([3, 0], 4))]
    counts, _, by_found, _ = tally(pairs, memory_size=4)
    assert counts[1, 0] == 1 and counts[2, 1] == 1
    assert by_found[True] == [1, 1]
