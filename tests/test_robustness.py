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
