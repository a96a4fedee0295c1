"""The recurrent layers against plain numpy loops, masks, and the two loop forms."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.layers.attention_gru import AttentionGRU
from zoo.layers.episodic_memory import EpisodicMemory
from zoo.layers.masked_gru import MaskedGRU
from zoo.layers.slot_mask import SlotMask
from zoo.layers.story_reader import StoryReader
from zoo.models.dmn import gate_loss
from zoo.training import compile_model


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_gru(x, valid, kernel, recurrent, bias, h=None):
    """The MaskedGRU equations, one step at a time; returns every state [batch, T, units]."""
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units)) if h is None else h
    states = []
    for t in range(x.shape[1]):
        xp, hu = x[:, t] @ kernel + bias, h @ recurrent
        u = sigmoid(xp[:, :units] + hu[:, :units])
        r = sigmoid(xp[:, units:2 * units] + hu[:, units:2 * units])
        c = np.tanh(xp[:, 2 * units:] + r * hu[:, 2 * units:])
        v = valid[:, t:t + 1]
        h = v * (u * c + (1 - u) * h) + (1 - v) * h
        states.append(h)
    return np.stack(states, 1)


def sequence(batch=3, steps=5, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, steps, features)).astype("float32")
    valid = np.ones((batch, steps), "float32")
    valid[0, 3:] = 0  # padding at the end
    valid[1, 1] = 0  # a gap
    return x, valid


@pytest.fixture(params=["inference", "unrolled", "while"])
def training(request, monkeypatch):
    """The loop forms (zoo.layers.recurrence): inference (fori_loop), training with a static number of steps
    (unrolled) and training with a dynamic one (tf.while_loop over TensorArrays)."""
    from zoo.layers import recurrence

    monkeypatch.setattr(recurrence, "UNROLL", request.param != "while")
    return request.param != "inference"


def weights(layer, direction=0):
    return [np.asarray(w)[direction] for w in (layer.kernel, layer.recurrent_kernel, layer.bias)]


def test_masked_gru_is_the_gru_equations_in_both_loop_forms(training):
    x, valid = sequence()
    layer = MaskedGRU(6, return_sequences=True)
    out = np.asarray(layer(x, valid, training=training))
    np.testing.assert_allclose(out, numpy_gru(x, valid, *weights(layer)), atol=1e-5)
    last = MaskedGRU.from_config({**layer.get_config(), "return_sequences": False})
    last.build(x.shape)
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(last(x, valid, training=training)), out[:, -1], atol=1e-6)


def test_masked_gru_padding_changes_nothing_and_gaps_carry_the_state():
    x, valid = sequence()
    layer = MaskedGRU(6, return_sequences=True)
    out = np.asarray(layer(x, valid))
    np.testing.assert_allclose(out[0, 3:], np.repeat(out[0, 2:3], 2, 0), atol=1e-7)
    np.testing.assert_allclose(out[1, 1], out[1, 0], atol=1e-7)
    padded = np.pad(x, ((0, 0), (0, 4), (0, 0)), constant_values=5.0)  # junk under the padding
    longer = np.asarray(layer(padded, np.pad(valid, ((0, 0), (0, 4)))))
    np.testing.assert_allclose(longer[:, :5], out, atol=1e-6)


def test_backward_and_bidirectional_gru(training):
    x, valid = sequence()
    back = MaskedGRU(6, direction="backward", return_sequences=True)
    out = np.asarray(back(x, valid, training=training))
    expected = numpy_gru(x[:, ::-1], valid[:, ::-1], *weights(back))[:, ::-1]
    np.testing.assert_allclose(out, expected, atol=1e-5)
    for merge in ("sum", "concat"):
        bi = MaskedGRU(6, direction="bidirectional", merge=merge, return_sequences=True)
        out = np.asarray(bi(x, valid, training=training))
        fwd = numpy_gru(x, valid, *weights(bi, 0))
        bwd = numpy_gru(x[:, ::-1], valid[:, ::-1], *weights(bi, 1))[:, ::-1]
        np.testing.assert_allclose(out, fwd + bwd if merge == "sum" else np.concatenate([fwd, bwd], -1), atol=1e-5)
    last = MaskedGRU(6, direction="bidirectional")
    last.build(x.shape)
    out = np.asarray(last(x, valid, training=training))
    fwd = numpy_gru(x, valid, *weights(last, 0))[:, -1]
    bwd = numpy_gru(x[:, ::-1], valid[:, ::-1], *weights(last, 1))[:, -1]  # after the first step
    np.testing.assert_allclose(out, fwd + bwd, atol=1e-5)


def test_masked_gru_initial_state_and_gradients_agree_between_loop_forms():
    x, valid = sequence()
    layer = MaskedGRU(6)
    h0 = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    out = np.asarray(layer(x, valid, initial_state=h0))
    np.testing.assert_allclose(out, numpy_gru(x, valid, *weights(layer), h=h0)[:, -1], atol=1e-5)
    from zoo.layers import recurrence

    grads = []
    for training, unroll in ((False, True), (True, True), (True, False)):  # fori, unrolled, while_loop
        recurrence.UNROLL = unroll
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, valid, training=training) ** 2)
        grads.append([np.asarray(g) for g in tape.gradient(loss, layer.trainable_variables)])
    recurrence.UNROLL = True
    for other in grads[1:]:
        for a, b in zip(grads[0], other):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_masked_gru_rejects_bad_arguments():
    with pytest.raises(ValueError, match="direction must be one of"):
        MaskedGRU(4, direction="sideways")
    with pytest.raises(ValueError, match="merge must be one of"):
        MaskedGRU(4, direction="bidirectional", merge="max")


def test_attention_gru_is_the_dmn_plus_equations(training):
    x, valid = sequence()
    gates = np.random.default_rng(2).uniform(size=valid.shape).astype("float32") * valid
    layer = AttentionGRU(5)
    out = np.asarray(layer(x, gates, training=training))
    kernel, recurrent, bias = (np.asarray(w) for w in (layer.kernel, layer.recurrent_kernel, layer.bias))
    h = np.zeros((3, 5))
    for t in range(x.shape[1]):
        xp, hu = x[:, t] @ kernel + bias, h @ recurrent
        r = sigmoid(xp[:, :5] + hu[:, :5])
        c = np.tanh(xp[:, 5:] + r * hu[:, 5:])
        g = gates[:, t:t + 1]
        h = g * c + (1 - g) * h
    np.testing.assert_allclose(out, h, atol=1e-5)
    # A gate of 0 leaves the state as it was: the last two facts of example 0 count for nothing.
    cut = np.asarray(layer(x[:, :3], gates[:, :3]))
    np.testing.assert_allclose(out[0], cut[0], atol=1e-6)


@pytest.mark.parametrize("form,reading", [("dmn", "episodes"), ("dmn", "stacked"), ("dmn_plus", "episodes")])
def test_episodic_memory_gates_and_padding(form, reading):
    x, valid = sequence(features=6)
    valid[1, 1] = 1  # facts are contiguous; padding at the end only
    q = np.random.default_rng(3).normal(size=(3, 6)).astype("float32")
    layer = EpisodicMemory(6, passes=2, form=form, reading=reading)
    m, g = (np.asarray(v) for v in layer(x, q, valid))
    assert m.shape == (3, 6) and g.shape == (3, 2, 5)
    assert (g[0, :, 3:] == 0).all() and (g[:, :, :3] > 0).all()
    if form == "dmn_plus":
        np.testing.assert_allclose(g.sum(-1), 1.0, atol=1e-5)  # a softmax over the facts
    else:
        assert (g < 1).all()
    # More padding facts change nothing, in either loop form.
    padded = np.pad(x, ((0, 0), (0, 3), (0, 0)), constant_values=2.0)
    for training in (False, True):
        m2, g2 = (np.asarray(v) for v in layer(padded, q, np.pad(valid, ((0, 0), (0, 3))), training=training))
        np.testing.assert_allclose(m2, m, atol=1e-5)
        np.testing.assert_allclose(g2[:, :, :5], g, atol=1e-5)
    # The memory depends on the question.
    assert not np.allclose(np.asarray(layer(x, q * 2, valid)[0]), m)


def test_episodic_memory_dmn_gate_is_the_two_layer_network_over_z():
    x, valid = sequence(features=4)
    valid[:] = 1
    q = np.random.default_rng(4).normal(size=(3, 4)).astype("float32")
    layer = EpisodicMemory(4, passes=1, form="dmn")
    _, g = layer(x, q, valid)
    w = np.asarray(layer.bilinear)
    c, m = x, q[:, None]  # the first pass's memory is the question
    z = np.concatenate([c, np.broadcast_to(m, c.shape), np.broadcast_to(m, c.shape), c * m, c * m, np.abs(c - m),
                        np.abs(c - m), ((c @ w) * m).sum(-1, keepdims=True), ((c @ w) * m).sum(-1, keepdims=True)], -1)
    w1, b1 = (np.asarray(v) for v in layer.gate_hidden.weights)
    w2, b2 = (np.asarray(v) for v in layer.gate_out.weights)
    expected = sigmoid(np.tanh(z @ w1 + b1) @ w2 + b2)[..., 0]
    np.testing.assert_allclose(np.asarray(g)[:, 0], expected, atol=1e-5)


def test_episodic_memory_dmn_softmax_gates_compete_over_the_facts():
    x, valid = sequence(features=4)
    q = np.random.default_rng(4).normal(size=(3, 4)).astype("float32")
    plain = EpisodicMemory(4, passes=2, form="dmn")
    normed = EpisodicMemory(4, passes=2, form="dmn", gate_norm="softmax")
    plain(x, q, valid)
    normed(x, q, valid)
    normed.set_weights(plain.get_weights())  # the same network: only the normalization differs
    _, g = plain(x, q, valid)
    _, s = normed(x, q, valid)
    g, s = np.asarray(g), np.asarray(s)
    np.testing.assert_allclose(s.sum(-1), 1.0, atol=1e-5)
    assert (s[valid[:, None, :].repeat(2, 1) == 0] == 0).all()
    # The first pass sees the same scores: the softmax of the sigmoid's logits over the facts in use.
    p = np.where(valid > 0, g[:, 0], 0.5)  # padding's gates are 0: keep the log finite there
    logit = np.log(p / (1 - p))
    e = np.exp(logit - logit.max(-1, keepdims=True)) * valid
    np.testing.assert_allclose(s[:, 0], e / e.sum(-1, keepdims=True), atol=1e-4)
    assert EpisodicMemory.from_config(normed.get_config()).gate_norm == "softmax"


def test_episodic_memory_rejects_bad_arguments():
    with pytest.raises(ValueError, match="form must be one of"):
        EpisodicMemory(4, form="dmn++")
    with pytest.raises(ValueError, match="reading must be one of"):
        EpisodicMemory(4, form="dmn", reading="sideways")
    with pytest.raises(ValueError, match="stacked"):
        EpisodicMemory(4, form="dmn_plus", reading="stacked")
    with pytest.raises(ValueError, match="passes must be 1 or more"):
        EpisodicMemory(4, passes=0)
    with pytest.raises(ValueError, match="gate_norm must be one of"):
        EpisodicMemory(4, form="dmn", gate_norm="tanh")
    with pytest.raises(ValueError, match="facts of size 4"):
        EpisodicMemory(4)(np.ones((1, 2, 3), "float32"), np.ones((1, 4), "float32"), np.ones((1, 2), "float32"))


def test_story_reader_facts_are_the_states_at_sentence_ends():
    rng = np.random.default_rng(5)
    story = np.array([[[3, 4, 0], [5, 0, 0], [0, 0, 0]], [[6, 7, 8], [0, 0, 0], [0, 0, 0]]], "int32")
    embedded = rng.normal(size=story.shape + (4,)).astype("float32")
    layer = StoryReader(5)
    facts = np.asarray(layer(embedded, story))
    kernel, recurrent, bias = weights(layer.gru)
    for b in range(2):
        words = embedded[b][story[b] > 0][None]  # the story's words, in order, no padding
        states = numpy_gru(words, np.ones(words.shape[:2]), kernel, recurrent, bias)[0]
        ends = np.cumsum((story[b] > 0).sum(-1)) - 1
        for i, end in enumerate(ends):
            if (story[b, i] > 0).any():
                np.testing.assert_allclose(facts[b, i], states[end], atol=1e-5)
    np.testing.assert_array_equal(np.asarray(SlotMask()(story)), [[1, 1, 0], [1, 0, 0]])


def test_gate_loss_is_the_cross_entropy_of_each_pass_with_its_fact():
    gates = np.array([[[0.9, 0.2, 0.1], [0.3, 0.6, 0.0]]], "float32")
    valid = np.array([[1.0, 1.0, 0.0]], "float32")
    both = float(np.asarray(gate_loss(gates, np.array([[0, 1]]), valid))[0])
    expected = -(np.log(0.9) + np.log(0.8)) - (np.log(0.7) + np.log(0.6))
    np.testing.assert_allclose(both, expected, rtol=1e-5)
    one = float(np.asarray(gate_loss(gates, np.array([[0, -1]]), valid))[0])
    np.testing.assert_allclose(one, -(np.log(0.9) + np.log(0.8)), rtol=1e-5)
    # Gates normalized over the facts: the cross-entropy of the supporting fact alone.
    normed = np.array([[[0.7, 0.3, 0.0], [0.4, 0.6, 0.0]]], "float32")
    both = float(np.asarray(gate_loss(normed, np.array([[0, 1]]), valid, normalized=True))[0])
    np.testing.assert_allclose(both, -(np.log(0.7) + np.log(0.6)), rtol=1e-5)
    one = float(np.asarray(gate_loss(normed, np.array([[1, -1]]), valid, normalized=True))[0])
    np.testing.assert_allclose(one, -np.log(0.3), rtol=1e-5)


@pytest.mark.parametrize("gate_norm", ["sigmoid", "softmax"])
def test_dmn_gate_supervision_adds_to_the_loss_and_trains_the_gates(gate_norm):
    spec = zoo.get_spec("dmn")
    model = spec.build(**{**spec.tiny_config, "dropout": 0.0, "gate_norm": gate_norm})  # same forward pass each call
    compile_model(model, spec.recipe)
    batch = spec.example_batch(batch=4)
    labels = np.arange(4) % spec.tiny_config["vocab_size"]
    plain = {"story": batch["story"], "query": batch["query"]}
    answer_only = float(model.compute_loss(x=plain, y=labels, y_pred=model(plain, training=True)))
    with_facts = float(model.compute_loss(x=batch, y=labels, y_pred=model(batch, training=True)))
    assert with_facts > answer_only + 1e-3
    # compute_loss without the forward pass that left the gate term recomputes it: same value.
    again = float(model.compute_loss(x=batch, y=labels, y_pred=model(plain, training=True)))
    np.testing.assert_allclose(again, with_facts, rtol=1e-5)
    gate_vars = [v for v in model.trainable_variables if "gate" in v.path]
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=batch, y=labels, y_pred=model(batch, training=True)) - model.compute_loss(
            x=plain, y=labels, y_pred=model(plain, training=True))
    grads = tape.gradient(loss, gate_vars)
    assert gate_vars and all(g is not None and float(np.abs(np.asarray(g)).max()) > 0 for g in grads)


def test_masked_gru_cell_is_one_step_of_either_direction():
    x, valid = sequence()
    layer = MaskedGRU(6, direction="bidirectional")
    layer.build(x.shape)
    h = np.random.default_rng(6).normal(size=(3, 6)).astype("float32")
    for direction in (0, 1):
        expected = numpy_gru(x[:, :1], np.ones((3, 1)), *weights(layer, direction), h=h)[:, 0]
        np.testing.assert_allclose(np.asarray(layer.cell(x[:, 0], h, direction)), expected, atol=1e-5)
