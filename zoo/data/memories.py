"""Key-value memories for KV-MemNN from knowledge bases and documents.

Three builders, one per kind of memory of Miller et al. 2016:

- bAbI sentences: :func:`zoo.data.pipeline.vectorize` gives ``story``; a
  ``KVMemNN(memory="story")`` takes each sentence as key and as value,
  embedded two ways.
- knowledge-base triples (:func:`kb_memories`): key = subject + relation,
  value = object.
- documents (:func:`document_memories`): key = title, value = content.

Each example is ``(memory, question, answer)``; the memory can be the same
object for every question (one knowledge base) or differ per question.
"""

import numpy as np

from zoo.data.babi import tokenize
from zoo.data.vocab import PAD, UNK, Vocabulary

# Question words that would match too much under key hashing.
STOP_WORDS = ("a", "an", "the", "of", "in", "on", "at", "to", "for", "is", "was", "are", "were", "does", "did",
              "do", "what", "who", "whom", "where", "when", "which", "how", "whose")


def kb_memories(examples, vocab=None):
    """Arrays for KB question answering.

    Args:
        examples: ``(triples, question, answer)`` with ``triples`` a list of
            ``(subject, relation, object)`` strings.
        vocab: a Vocabulary; built from the examples when None.

    Returns:
        ``(arrays, vocab)``: ``keys`` [n, memory, words], ``values``,
        ``query``, ``answer`` int32 arrays.
    """
    pairs = [([f"{s} {r}" for s, r, _ in triples], [o for _, _, o in triples], q, a)
             for triples, q, a in examples]
    return _key_value_arrays(pairs, vocab)


def document_memories(examples, vocab=None):
    """Arrays for question answering over documents: key = title, value = content.

    Args:
        examples: ``(documents, question, answer)`` with ``documents`` a list
            of ``(title, content)`` strings.
    """
    pairs = [([t for t, _ in docs], [c for _, c in docs], q, a) for docs, q, a in examples]
    return _key_value_arrays(pairs, vocab)


def stop_ids(vocab, words=STOP_WORDS):
    """Ids of the stop words that are in the vocabulary (for KeyHashing)."""
    return sorted(vocab.index[w] for w in words if w in vocab.index)


def _key_value_arrays(pairs, vocab):
    tokenized = [([tokenize(k) for k in keys], [tokenize(v) for v in values], tokenize(q), a.lower())
                 for keys, values, q, a in pairs]
    if vocab is None:
        words = set()
        for keys, values, q, a in tokenized:
            for w in keys + values + [q, [a]]:
                words.update(w)
        vocab = Vocabulary([PAD, UNK] + sorted(words))
    n = len(tokenized)
    memory = max([len(k) for k, _, _, _ in tokenized] + [1])
    key_words = max([len(w) for k, _, _, _ in tokenized for w in k] + [1])
    value_words = max([len(w) for _, v, _, _ in tokenized for w in v] + [1])
    query_words = max([len(q) for _, _, q, _ in tokenized] + [1])
    arrays = {"keys": np.zeros((n, memory, key_words), np.int32),
              "values": np.zeros((n, memory, value_words), np.int32),
              "query": np.zeros((n, query_words), np.int32), "answer": np.zeros((n,), np.int32)}
    for i, (keys, values, q, a) in enumerate(tokenized):
        for j, (k, v) in enumerate(zip(keys, values)):
            arrays["keys"][i, j, :len(k)] = vocab.encode(k)
            arrays["values"][i, j, :len(v)] = vocab.encode(v)
        arrays["query"][i, :len(q)] = vocab.encode(q)
        arrays["answer"][i] = vocab.encode([a])[0]
    return arrays, vocab
