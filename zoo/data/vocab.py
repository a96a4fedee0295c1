"""A word vocabulary built from training data and saved with the model."""

import json

from zoo.io import atomic_write_text

PAD = "<pad>"
UNK = "<unk>"


class Vocabulary:
    """Maps words to ids: 0 is padding, 1 any word unseen in training.

    Args:
        tokens: every word, in id order, starting with ``<pad>`` and ``<unk>``.

    Example:
        >>> v = Vocabulary.from_examples([])
        >>> v.encode(["mary"])
        [1]
    """

    def __init__(self, tokens):
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r} and {UNK!r}, got {tokens[:2]}")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}

    @classmethod
    def from_examples(cls, examples):
        words = set()
        for ex in examples:
            for sentence in ex.story:
                words.update(sentence)
            words.update(ex.query)
            words.add(ex.answer)
        return cls([PAD, UNK] + sorted(words))

    def __len__(self):
        return len(self.tokens)

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    def encode(self, words):
        return [self.index.get(w, 1) for w in words]

    def decode(self, ids):
        return [self.tokens[i] if 0 <= i < len(self.tokens) else UNK for i in ids]

    def save(self, path):
        atomic_write_text(path, json.dumps(self.tokens, indent=0) + "\n")

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            tokens = json.load(f)
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError(f"{path}: a vocabulary file holds a JSON list of words")
        return cls(tokens)
