"""W-MemNN's layers against the paper's (and official code's) equations as plain numpy loops."""

import itertools

import numpy as np
import pytest
import keras
import tensorflow as tf

import zoo
from zoo.layers.masked_gru import MaskedGRU
from zoo.layers.multi_head_memory_attention import MultiHeadMemoryAttention
from zoo.layers.relational_reasoning import RelationalReasoning
from zoo.layers.sentence_gru import SentenceGRU
from zoo.layers.time_words import TimeWords


def test_time_words_put_each_sentence_age_after_its_padding():
    story = np.array([[[4, 5, 0], [6, 0, 0], [7, 8, 9], [0, 0, 0]]], "int32")  # 3 sentences, 1 padding slot
    words = np.random.default_rng(0).normal(size=(1, 4, 3, 2)).astype("float32")
    layer = TimeWords(memory_size=2, dim=2)
    out, valid = (np.asarray(v) for v in layer(words, story))
    table = np.asarray(layer.table)
    np.testing.assert_allclose(out[:, :, :3], words)
    # Ages 2, 1, 0 (the last sentence is 0); 2 is beyond the table and shares its last row.
    np.testing.assert_allclose(out[0, :3, 3], table[[1, 1, 0]], atol=1e-6)
    np.testing.assert_allclose(out[0, 3, 3], 0.0)
    np.testing.assert_array_equal(valid[0], [[1, 1, 0, 1], [1, 0, 0, 1], [1, 1, 1, 1], [0, 0, 0, 0]])


@pytest.mark.parametrize("training", [False, True])
def test_sentence_gru_reads_each_sentence_alone_and_skips_padding(training):
    rng = np.random.default_rng(1)
    words = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    valid = np.array([[[1, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]],
                      [[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 1]]], "float32")
    layer = SentenceGRU(3)
    out = np.asarray(layer(words, valid, training=training))
    gru = layer.gru
    for b, t in itertools.product(range(2), range(3)):
        kept = words[b, t][valid[b, t] > 0]
        if not len(kept):
            np.testing.assert_allclose(out[b, t], 0.0)
            continue
        ref = np.asarray(gru(kept[None]))[0]  # the real words only, no padding at all
        np.testing.assert_allclose(out[b, t], ref, atol=1e-5)


def numpy_heads(m, q, valid, K, O, heads, units):
    """Pavez et al. 2018, Sec. 3.2, one head and one example at a time."""
    batch, slots, dim = m.shape
    outs, attention = [], np.zeros((batch, heads, slots))
    for b in range(batch):
        reads = []
        for h in range(heads):
            keys = np.tanh(m[b] @ K[:, h * units:(h + 1) * units])
            s = keys @ q[b] / np.sqrt(units)
            s = np.where(valid[b] > 0, s, -np.inf)
            a = np.exp(s - s.max())
            a /= a.sum()
            attention[b, h] = a
            reads.append(a @ m[b])
        outs.append(np.concatenate(reads) @ O)
    return np.array(outs), attention


def test_multi_head_memory_attention_is_the_paper_formula_over_the_slots_in_use():
    rng = np.random.default_rng(2)
    m = rng.normal(size=(2, 4, 6)).astype("float32")
    q = rng.normal(size=(2, 3)).astype("float32")
    valid = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], "float32")
    layer = MultiHeadMemoryAttention(heads=2, units=3)
    o, a = (np.asarray(v) for v in layer(m, q, valid))
    o_ref, a_ref = numpy_heads(m, q, valid, np.asarray(layer.key_kernel), np.asarray(layer.output_kernel), 2, 3)
    np.testing.assert_allclose(a, a_ref, atol=1e-6)
    np.testing.assert_allclose(o, o_ref, atol=1e-5)
    # A padding slot changes nothing: without it, the first example reads the same.
    o3, _ = layer(m[:1, :3], q[:1], valid[:1, :3])
    np.testing.assert_allclose(np.asarray(o3), o[:1], atol=1e-6)
    with pytest.raises(ValueError, match="heads must be 1 or more"):
        MultiHeadMemoryAttention(heads=0, units=3)


def numpy_relations(items, q, layer):
    """sum over ordered pairs (i, j) of g([o_i; o_j; q]), g a stack of ReLU layers."""
    first = np.concatenate([np.asarray(layer.left_kernel), np.asarray(layer.right_kernel),
                            np.asarray(layer.question_kernel)], axis=0)
    kernels = [first] + [np.asarray(k) for k in layer.kernels]
    biases = [np.asarray(b) for b in layer.biases]
    out = np.zeros((items.shape[0], kernels[-1].shape[1]))
    for b in range(items.shape[0]):
        for i, j in itertools.product(range(items.shape[1]), repeat=2):
            x = np.concatenate([items[b, i], items[b, j], q[b]])
            for w, c in zip(kernels, biases):
                x = np.maximum(x @ w + c, 0)
            out[b] += x
    return out


def test_relational_reasoning_sums_g_over_ordered_pairs_in_any_order():
    rng = np.random.default_rng(3)
    items = rng.normal(size=(2, 4, 5)).astype("float32")
    q = rng.normal(size=(2, 3)).astype("float32")
    layer = RelationalReasoning((6, 7))
    layer.build(items.shape, q.shape)
    for bias in layer.biases:  # nonzero biases, so that they are checked
        bias.assign(rng.normal(size=bias.shape).astype("float32") * 0.1)
    out = np.asarray(layer(items, q))
    np.testing.assert_allclose(out, numpy_relations(items, q, layer), rtol=1e-5, atol=1e-5)
    # Invariant to the order of the working memory's items.
    shuffled = items[:, [2, 0, 3, 1]]
    np.testing.assert_allclose(np.asarray(layer(shuffled, q)), out, rtol=1e-5, atol=1e-5)
    # ... but not a function of the items alone: the question enters every pair.
    assert not np.allclose(np.asarray(layer(items, q[::-1])), out)
    with pytest.raises(ValueError, match="units must be"):
        RelationalReasoning(())


def test_wmemnn_l2_acts_on_the_official_kernels_only():
    spec = zoo.get_spec("wmemnn")
    model = spec.build(**{**spec.tiny_config, "l2": 0.5})
    regularized = {v.path for v in model.trainable_weights if v.regularizer is not None}
    assert any("attention_1" in p for p in regularized) and any("reasoning" in p for p in regularized)
    assert any("answer" in p for p in regularized) and any("transition_1" in p for p in regularized)
    assert not any("embedding" in p or "encoder" in p for p in regularized)
    # Keras's form, l2 * sum(w^2), added to the training loss.
    expected = sum(0.5 * float(tf.reduce_sum(tf.square(tf.convert_to_tensor(v))))
                   for v in model.trainable_weights if v.regularizer is not None)
    np.testing.assert_allclose(float(sum(model.losses)), expected, rtol=1e-5)
    batch = {"story": np.ones((2, 3, 4), "int32"), "query": np.ones((2, 4), "int32")}
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    model.compile(loss=loss)
    y, logits = np.array([1, 2]), model(batch)
    total = float(model.compute_loss(x=batch, y=y, y_pred=logits, training=True))
    np.testing.assert_allclose(total, float(loss(y, logits)) + expected, rtol=1e-5)


def test_train_and_predict_a_wmemnn_from_the_cli(babi_dir, tmp_path, capsys):
    """W-MemNN trains from the CLI; predict prints each hop's attention (the heads' mean) over the story."""
    import json
    import os

    from zoo.__main__ import main

    out = str(tmp_path / "wmemnn")
    assert main(["train", "wmemnn", "--data-dir", babi_dir, "--tasks", "1,19", "--out", out, "--epochs", "1",
                 "--verbose", "0", "--config", '{"dim": 8, "units": 8, "hops": 3, "heads": 2, "g_units": [16]}',
                 "--recipe", '{"batch_size": 8}']) == 0
    meta = json.load(open(os.path.join(out, "weights", "metadata.json")))
    assert meta["config"]["hops"] == 3 and meta["supervision"] == "answers only"
    capsys.readouterr()
    assert main(["predict", "wmemnn", "--weights", os.path.join(out, "weights"), "--story",
                 "Mary moved to the bathroom. John went to the hallway.", "--question", "Where is Mary?"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("answer: ") and text.count("hop ") == 3
    assert "mary moved to the bathroom" in text.lower()
