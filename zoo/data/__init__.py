"""bAbI data: parsing, vocabulary, vectorising and tf.data pipelines."""

from zoo.data.babi import (BabiFormatError, Example, load_split, parse_file, parse_lines,
                           task_file, tokenize)
from zoo.data.pipeline import eval_order, iterate_batches, make_dataset, vectorize
from zoo.data.vocab import Vocabulary

__all__ = ["BabiFormatError", "Example", "Vocabulary", "eval_order", "iterate_batches", "load_split",
           "make_dataset", "parse_file", "parse_lines", "task_file", "tokenize", "vectorize"]
