"""Vectorised bAbI arrays and ``tf.data`` pipelines batched by story length.

A question sees, on average, 7.4 sentences of bAbI 10k, against a memory
window of 50: padding every batch to the window wastes most of the compute.
Examples are therefore grouped into length buckets and each batch is padded
to its bucket's size only, which keeps the number of distinct shapes (and of
XLA compilations) small.
"""

import numpy as np

MEMORY_SIZE = 50
BUCKETS = (3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50)


def vectorize(examples, vocab, memory_size=MEMORY_SIZE, sentence_size=None, query_size=None):
    """Turns examples into int32 arrays.

    Keeps the last ``memory_size`` sentences of each story, oldest first,
    padded at the end. Supporting facts that fall out of the window are
    dropped (marked -1).

    Returns:
        dict with ``story`` [n, memory, words], ``query`` [n, words],
        ``answer`` [n], ``supporting`` [n, k] (-1 padded), ``task`` [n] and
        ``length`` [n] (sentences in memory).
    """
    n = len(examples)
    stories = [ex.story[-memory_size:] for ex in examples]
    lengths = np.array([len(s) for s in stories], dtype=np.int32)
    if sentence_size is None:
        sentence_size = max([len(w) for s in stories for w in s] + [1])
    if query_size is None:
        query_size = max([len(ex.query) for ex in examples] + [1])
    memory = max(int(lengths.max(initial=1)), 1)
    story = np.zeros((n, memory, sentence_size), np.int32)
    query = np.zeros((n, query_size), np.int32)
    answer = np.zeros((n,), np.int32)
    k = max([len(ex.supporting) for ex in examples] + [1])
    supporting = np.full((n, k), -1, np.int32)
    for i, (ex, sentences) in enumerate(zip(examples, stories)):
        for j, words in enumerate(sentences):
            ids = vocab.encode(words[:sentence_size])
            story[i, j, : len(ids)] = ids
        q = vocab.encode(ex.query[:query_size])
        query[i, : len(q)] = q
        answer[i] = vocab.encode([ex.answer])[0]
        shift = len(ex.story) - len(sentences)
        kept = [s - shift for s in ex.supporting if s - shift >= 0]
        supporting[i, : len(kept)] = kept
    task = np.array([ex.task for ex in examples], np.int32)
    return {"story": story, "query": query, "answer": answer,
            "supporting": supporting, "task": task, "length": lengths}


def bucket_size(length, buckets=BUCKETS):
    for b in buckets:
        if length <= b:
            return b
    return int(length)


def insert_empty_memories(story, lengths, rate, rng, size):
    """Random noise (Sukhbaatar et al. 2015, Sec. 4.1): inserts empty memories.

    For each story of the batch, adds up to ``ceil(rate * length)``
    all-padding sentences at random places before its last sentence (a blank
    after it would read as padding). The model treats every slot up to the
    last non-empty one as memory, so an empty slot takes part in attention
    with its temporal embedding only, which regularises the temporal
    encoding. The oldest sentences go first when a story outgrows ``size``.

    Args:
        story: [batch, slots, words] int32, oldest sentence first.
        lengths: [batch] sentences in each story.

    Returns:
        [batch, size, words] int32.
    """
    batch, slots, words = story.shape
    most = int(np.ceil(rate * max(int(lengths.max(initial=0)), 1)))
    blanks = rng.integers(0, np.ceil(rate * lengths) + 1)  # [batch]
    # Slot before which each blank goes, uniform over the story's sentences.
    where = (rng.random((batch, most)) * lengths[:, None]).astype(np.int64)
    used = np.arange(most)[None, :] < blanks[:, None]
    j = np.arange(slots)[None, :]
    shift = np.sum(used[:, None, :] & (where[:, None, :] <= j[:, :, None]), axis=-1)  # blanks before row j
    drop = np.maximum(lengths + blanks - size, 0)[:, None]
    target = j + shift - drop
    keep = (j < lengths[:, None]) & (target >= 0)
    out = np.zeros((batch, size, words), np.int32)
    rows, cols = np.nonzero(keep)
    out[rows, target[rows, cols]] = story[rows, cols]
    return out


def batch_plan(lengths, batch_size, shuffle, rng, buckets=BUCKETS, room=0.0, groups=None):
    """Lists batches of example indices, each drawn from one length bucket.

    ``room`` leaves space for that fraction of extra (empty) memories.
    ``groups`` (one number per example, e.g. its bAbI task) keeps each batch
    within one group too.
    """
    keys = np.array([bucket_size(int(np.ceil(n * (1 + room))), buckets) for n in lengths])
    groups = np.zeros(len(keys), np.int64) if groups is None else np.asarray(groups)
    plan = []
    for group, key in sorted(set(zip(groups.tolist(), keys.tolist()))):
        idx = np.flatnonzero((keys == key) & (groups == group))
        if shuffle:
            idx = rng.permutation(idx)
        plan.extend((int(key), idx[i:i + batch_size]) for i in range(0, len(idx), batch_size))
    if shuffle:
        plan = [plan[i] for i in rng.permutation(len(plan))]
    return plan


def iterate_batches(arrays, batch_size=32, shuffle=False, noise=0.0, seed=0,
                    buckets=BUCKETS, memory_size=MEMORY_SIZE, with_supporting=False, by_task=False):
    """Yields ``(inputs, answers)`` numpy batches padded per length bucket.

    ``noise`` is the random-noise rate (0.1 in the paper), used for training
    only. A fresh shuffle is drawn each time the generator is created.
    ``by_task``: every batch holds questions of one bAbI task, and the
    inputs get ``task`` [batch] (the task numbers).
    """
    rng = np.random.default_rng(seed)
    story, query, answer, lengths = arrays["story"], arrays["query"], arrays["answer"], arrays["length"]
    plan = batch_plan(lengths, batch_size, shuffle, rng, buckets, room=noise,
                      groups=arrays["task"] if by_task else None)
    noisy, offset = {}, {}
    if noise > 0:
        # One vectorised call per bucket, not one per batch: the generator
        # then only slices, and Python stays off the training's critical path.
        for key in sorted({k for k, _ in plan}):
            members = np.concatenate([idx for k, idx in plan if k == key])
            size = min(key, memory_size)
            noisy[key] = insert_empty_memories(story[members, :min(size, story.shape[1])], lengths[members],
                                               noise, rng, size)
            offset[key] = 0
    for key, idx in plan:
        if noise > 0:
            batch = noisy[key][offset[key]:offset[key] + len(idx)]
            offset[key] += len(idx)
        else:
            size = min(key, story.shape[1])
            batch = story[idx, :size]
            if batch.shape[1] < key:
                batch = np.pad(batch, ((0, 0), (0, key - batch.shape[1]), (0, 0)))
        inputs = {"story": batch, "query": query[idx]}
        if with_supporting:
            inputs["supporting"] = arrays["supporting"][idx]
        if by_task:
            inputs["task"] = arrays["task"][idx].astype(np.int32)
        yield inputs, answer[idx]


def make_dataset(arrays, batch_size=32, shuffle=False, noise=0.0, seed=0,
                 buckets=BUCKETS, memory_size=MEMORY_SIZE, with_supporting=False, first_epoch=0, by_task=False):
    """A ``tf.data.Dataset`` of ``(inputs, answers)`` batches (of one task each with ``by_task``, see
    :func:`iterate_batches`).

    Each iteration (each epoch under ``model.fit``) reshuffles with a new
    seed and, with ``noise``, inserts new empty memories; the seed of the
    i-th iteration depends on ``seed`` and ``first_epoch + i`` only, so that
    a run resumed after epoch K (``first_epoch=K``) sees the batches it would
    have seen.
    """
    import tensorflow as tf

    if noise > 0 and with_supporting:
        raise ValueError("random noise (noise > 0) moves the sentences, so supporting-fact indices would point "
                         "at the wrong slots: use noise=0 with with_supporting=True")
    words = arrays["story"].shape[2]
    epoch = [first_epoch]

    def generator():
        epoch[0] += 1
        yield from iterate_batches(arrays, batch_size, shuffle, noise, seed * 100003 + epoch[0],
                                   buckets, memory_size, with_supporting, by_task)

    spec = {"story": tf.TensorSpec([None, None, words], tf.int32),
            "query": tf.TensorSpec([None, arrays["query"].shape[1]], tf.int32)}
    if with_supporting:
        spec["supporting"] = tf.TensorSpec([None, arrays["supporting"].shape[1]], tf.int32)
    if by_task:
        spec["task"] = tf.TensorSpec([None], tf.int32)
    ds = tf.data.Dataset.from_generator(generator, output_signature=(spec, tf.TensorSpec([None], tf.int32)))
    n_batches = len(batch_plan(arrays["length"], batch_size, False, None, buckets, room=noise,
                               groups=arrays["task"] if by_task else None))
    return ds.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(8)


def eval_order(arrays, batch_size=32, buckets=BUCKETS):
    """Example indices in the order a non-shuffled dataset yields them."""
    plan = batch_plan(arrays["length"], batch_size, False, None, buckets)
    return np.concatenate([idx for _, idx in plan]) if plan else np.zeros((0,), np.int64)
