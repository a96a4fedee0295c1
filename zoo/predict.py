"""Answering a question about a story given as plain text."""

import re

import numpy as np

from zoo.data.babi import tokenize


def split_story(text):
    """Sentences of a story: one per line or ending with '.'; bAbI line ids and question lines are dropped."""
    sentences = []
    for line in text.splitlines():
        line = re.sub(r"^\s*\d+\s+", "", line)
        if "\t" in line:  # a bAbI question line
            continue
        sentences.extend(s.strip() for s in re.split(r"(?<=[.!])\s+", line) if s.strip())
    return sentences


def encode(vocab, sentences, question, memory_size):
    """Inputs of batch 1 for a model with vocabulary ``vocab``."""
    sentences = sentences[-memory_size:]
    tokens = [tokenize(s) for s in sentences]
    q = tokenize(question)
    if not tokens or not any(tokens):
        raise ValueError("the story has no sentences")
    if not q:
        raise ValueError("the question has no words")
    words = max(len(t) for t in tokens)
    story = np.zeros((1, len(tokens), words), np.int32)
    for i, t in enumerate(tokens):
        story[0, i, : len(t)] = vocab.encode(t)
    query = np.array([vocab.encode(q)], np.int32)
    return {"story": story, "query": query}, sentences


def on_sentences(explained, n):
    """``explain`` output of a batch with the weights over hashed memory slots (KV-MemNN's ``kept_slots``,
    the sentence of each slot, -1 for none) put back on the ``n`` sentences they read."""
    if "kept_slots" not in explained:
        return explained
    kept = np.asarray(explained["kept_slots"])
    out = dict(explained)
    for key, value in explained.items():
        if key.startswith("attention_hop_") and np.asarray(value).shape == kept.shape:
            back = np.zeros((kept.shape[0], n), np.float32)
            for b, (slots, weights) in enumerate(zip(kept, np.asarray(value))):
                for slot, weight in zip(slots, weights):
                    if 0 <= slot < n:
                        back[b, slot] += weight
            out[key] = back
    return out


def answer(name, weights, story, question, task=None):
    """Loads a model (of per-task weights: task ``task``'s) and answers; returns the answer, sentences and
    attention per hop."""
    import zoo

    return zoo.load(name, weights=weights, compile=False, task=task).answer(story, question)


def answer_with(model, story, question):
    if not (isinstance(story, str) or (isinstance(story, (list, tuple)) and all(isinstance(x, str) for x in story))):
        raise ValueError(f"the story must be text or a list of sentences (strings), got {type(story).__name__}")
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, got {type(question).__name__}")
    sentences = split_story(story) if isinstance(story, str) else list(story)
    inputs, sentences = encode(model.vocab, sentences, question, model.get_config()["memory_size"])
    logits = np.asarray(model.predict_on_batch(inputs))[0]
    inner = on_sentences(model.explain(inputs), len(sentences))
    # Weights over the sentences: attention per hop, or the DMN's gates per pass.
    steps = sorted((k for k in inner if k.startswith(("attention_hop_", "gate_pass_"))),
                   key=lambda k: (k.rsplit("_", 1)[0], int(k.rsplit("_", 1)[1])))
    return {"answer": model.vocab.tokens[int(np.argmax(logits))], "sentences": sentences,
            "attention": [inner[k][0].tolist() for k in steps],
            "steps": [" ".join(k.split("_")[-2:]) for k in steps]}
