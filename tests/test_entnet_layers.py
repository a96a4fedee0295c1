"""EntNet's layers against the paper's equations as plain numpy loops."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.layers.dynamic_memory import DynamicMemory
from zoo.layers.positional_mask import PositionalMask
from zoo.layers.entnet_output import EntNetOutput


def prelu(x, a):
    return np.maximum(x, 0) + a * np.minimum(x, 0)


def numpy_memory(s, valid, w, U, V, W, a):
    """Eq. 2-5 of Henaff et al. 2017, one block and one sentence at a time."""
    batch, steps, _ = s.shape
    h = np.repeat(w[None], batch, 0).astype(np.float64)
    gates = np.zeros((batch, steps, w.shape[0]))
    for b in range(batch):
        for t in range(steps):
            if not valid[b, t]:
                continue
            for j in range(w.shape[0]):
                g = 1 / (1 + np.exp(-(s[b, t] @ h[b, j] + s[b, t] @ w[j])))
                cand = prelu(U.T @ h[b, j] + V.T @ w[j] + W.T @ s[b, t], a)
                new = h[b, j] + g * cand
                h[b, j] = new / np.linalg.norm(new)
                gates[b, t, j] = g
    return h, gates


@pytest.mark.parametrize("training", [False, True])
def test_dynamic_memory_is_the_paper_update_and_skips_padding(training):
    rng = np.random.default_rng(0)
    s = rng.normal(size=(2, 4, 5)).astype("float32")
    valid = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], "float32")  # padding at the end, and a gap
    layer = DynamicMemory(3, 5, stddev=0.5)
    layer.build(s.shape)
    layer.slope.assign(0.3)  # a slope other than the identity, so that phi is checked
    h, g = (np.asarray(v) for v in layer(s, valid, training=training))
    w, U, V, W = (np.asarray(getattr(layer, k)) for k in ("keys", "U", "V", "W"))
    h_ref, g_ref = numpy_memory(s, valid, w, U, V, W, 0.3)
    np.testing.assert_allclose(h, h_ref, atol=1e-5)
    np.testing.assert_allclose(g, g_ref, atol=1e-5)
    # Masked sentences leave the memory unchanged: dropping them gives the same blocks.
    kept = np.asarray(layer(s[:1, :3], valid[:1, :3])[0])
    np.testing.assert_allclose(kept[0], h[0], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(h, axis=-1), 1.0, atol=1e-5)


def test_dynamic_memory_tied_keys_come_in_at_call_time():
    s = np.ones((2, 3, 4), "float32")
    keys = np.random.default_rng(1).normal(size=(2, 5, 4)).astype("float32")
    layer = DynamicMemory(5, 4, tied_keys=True)
    h, _ = layer(s, np.zeros((2, 3), "float32"), keys)
    np.testing.assert_allclose(np.asarray(h), keys, atol=1e-6)  # no sentence: the blocks are their keys
    assert not any("keys" in v.path for v in layer.weights)
    with pytest.raises(ValueError, match="tied_keys"):
        layer(s, np.ones((2, 3), "float32"))


def test_positional_mask_weighs_each_position_and_ignores_padding():
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(1, 4, 3)).astype("float32")
    ids = np.array([[5, 6, 7, 0]])
    layer = PositionalMask(2, 3)
    layer.build()
    mask = rng.normal(size=(2, 3)).astype("float32")
    layer.mask.assign(mask)
    out = np.asarray(layer(emb, ids))
    rows = mask[[0, 1, 1]]  # the third word shares the last mask vector
    np.testing.assert_allclose(out[0], (emb[0, :3] * rows).sum(0), atol=1e-6)


def test_entnet_output_module():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(2, 4)).astype("float32")
    h = rng.normal(size=(2, 3, 4)).astype("float32")
    layer = EntNetOutput(6, 4)
    y, p = (np.asarray(v) for v in layer(q, h))
    H, R = np.asarray(layer.H), np.asarray(layer.R)
    scores = np.einsum("bd,bnd->bn", q, h)
    p_ref = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    u = np.einsum("bn,bnd->bd", p_ref, h)
    np.testing.assert_allclose(p, p_ref, rtol=1e-5)
    np.testing.assert_allclose(y, prelu(q + u @ H, 1.0) @ R, rtol=1e-4, atol=1e-6)


def test_entnet_tied_keys_train_the_embedding_rows_of_the_entities():
    spec = zoo.get_spec("entnet")
    model = spec.build(**spec.tiny_config)
    batch = spec.example_batch()
    inner = model.explain(batch)
    assert inner["gates"].shape == (2, 5, 3) and inner["memory"].shape == (2, 3, 8)
    embedding = next(v for v in model.trainable_variables if v.path.endswith("embedding/embeddings"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(batch, training=True))
    grad = tf.convert_to_tensor(tape.gradient(loss, embedding))
    assert float(tf.reduce_sum(tf.abs(grad[7]))) > 0  # a key word, whether or not it is in the batch
    with pytest.raises(ValueError, match="key_ids must be word ids"):
        spec.build(**{**spec.tiny_config, "key_ids": [0, 99]})
