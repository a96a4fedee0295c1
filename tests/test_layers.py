"""One test per layer: shapes, masks and the paper's equations."""

import numpy as np
import pytest

import keras
from keras import ops

from zoo.layers.bag_of_words import BagOfWords
from zoo.layers.hard_memory_pick import ChosenFacts, HardMemoryPick
from zoo.layers.hop_gate import HopGate
from zoo.layers.key_hashing import KeyHashing
from zoo.layers.key_value_read import KeyValueRead
from zoo.layers.lookup import lookup
from zoo.layers.masking import slot_mask
from zoo.layers.memory_read import MemoryRead
from zoo.layers.position_encoding import PositionEncoding
from zoo.layers.supporting_fact_score import SupportingFactScore
from zoo.layers.temporal_encoding import TemporalEncoding
from zoo.layers.tied_embedding import TiedEmbedding


def roundtrip(layer):
    clone = layer.__class__.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_slot_mask_counts_empty_memories_before_the_last_sentence():
    ids = np.zeros((1, 5, 2), "int32")
    ids[0, 0, 0] = 3
    ids[0, 2, 1] = 4  # slot 1 is an empty memory, slots 3-4 padding
    np.testing.assert_array_equal(np.asarray(slot_mask(ids)), [[1, 1, 1, 0, 0]])


def test_bag_of_words_sums_non_padding_words():
    emb = np.arange(12, dtype="float32").reshape(1, 3, 4)
    ids = np.array([[5, 6, 0]])
    out = np.asarray(BagOfWords()(emb, ids))
    np.testing.assert_allclose(out, emb[:, :2].sum(1))
    roundtrip(BagOfWords())


def test_position_encoding_matches_the_paper_formula():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(1, 4, 3)).astype("float32")
    ids = np.array([[7, 8, 9, 0]])  # J = 3 words
    J, d = 3, 3
    l = np.array([[(1 - j / J) - (k / d) * (1 - 2 * j / J) for k in range(1, d + 1)] for j in range(1, J + 1)])
    np.testing.assert_allclose(np.asarray(PositionEncoding()(emb, ids)), (emb[0, :3] * l).sum(0)[None], rtol=1e-5)
    # Word order matters, unlike a bag of words.
    swapped = emb[:, [1, 0, 2, 3]]
    assert not np.allclose(PositionEncoding()(swapped, ids), PositionEncoding()(emb, ids))
    roundtrip(PositionEncoding())


def test_temporal_encoding_counts_age_from_the_last_sentence():
    layer = TemporalEncoding(memory_size=6, dim=2)
    ids = np.zeros((2, 4, 3), "int32")
    ids[0, :3, 0] = 1  # 3 sentences
    ids[1, :1, 0] = 1  # 1 sentence
    out = np.asarray(layer(np.zeros((2, 4, 2), "float32"), ids))
    table = np.asarray(layer.table)
    np.testing.assert_allclose(out[0, :3], table[[2, 1, 0]])  # most recent gets age 0
    np.testing.assert_allclose(out[1, 0], table[0])
    assert (out[0, 3] == 0).all() and (out[1, 1:] == 0).all()  # padding slots stay zero
    roundtrip(layer)


def test_memory_read_softmax_and_linear_start():
    layer = MemoryRead()
    u = np.array([[1.0, 0.0]], "float32")
    keys = np.array([[[2.0, 0.0], [1.0, 0.0], [5.0, 0.0]]], "float32")
    values = np.array([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]], "float32")
    ids = np.array([[[1], [1], [0]]], "int32")  # third slot is padding
    o, p = layer(u, keys, values, ids)
    expected = np.exp([2.0, 1.0]) / np.exp([2.0, 1.0]).sum()
    np.testing.assert_allclose(np.asarray(p)[0], [*expected, 0.0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(o)[0], expected, rtol=1e-6)
    layer.softmax_on.assign(0.0)  # linear start: raw scores
    o, p = layer(u, keys, values, ids)
    np.testing.assert_allclose(np.asarray(p)[0], [2.0, 1.0, 0.0])
    assert not layer.softmax_on.trainable


def test_memory_read_window_counts_the_empty_slots_in_the_softmax():
    layer = MemoryRead(window=5)
    u = np.array([[1.0, 0.0], [-3.0, 0.0]], "float32")
    keys = np.array([[[2.0, 0.0], [1.0, 0.0], [5.0, 0.0]]] * 2, "float32")
    values = np.array([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]] * 2, "float32")
    ids = np.array([[[1], [1], [0]]] * 2, "int32")  # 2 sentences and 3 empty slots of the window
    o, p = layer(u, keys, values, ids)
    for row, scores in enumerate(([2.0, 1.0], [-6.0, -3.0])):  # all scores below 0 in the second row
        expected = np.exp(scores) / (np.exp(scores).sum() + 3 * np.exp(0.0))
        np.testing.assert_allclose(np.asarray(p)[row], [*expected, 0.0], rtol=1e-5)
        np.testing.assert_allclose(np.asarray(o)[row], expected, rtol=1e-5)
    roundtrip(layer)


def test_tied_embedding_forward_and_reverse():
    layer = TiedEmbedding(5, 3)
    e = np.asarray(layer(np.array([[1, 4]])))
    table = np.asarray(layer.embeddings)
    np.testing.assert_allclose(e[0], table[[1, 4]])
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(np.asarray(layer(x, reverse=True)), x @ table.T, rtol=1e-6)
    roundtrip(layer)
    sym = keras.Input((3,))
    assert tuple(layer(sym, reverse=True).shape) == (None, 5)


def test_position_encoding_centered_variant_matches_the_released_code():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(1, 5, 4)).astype("float32")
    ids = np.array([[3, 4, 5, 6, 0]])  # J = 4
    J, d = 4, 4
    l = np.array([[1 + 4 * (k - (d + 1) / 2) * (j - (J + 1) / 2) / (d * J) for k in range(1, d + 1)]
                  for j in range(1, J + 1)])
    layer = PositionEncoding(variant="centered")
    np.testing.assert_allclose(np.asarray(layer(emb, ids)), (emb[0, :4] * l).sum(0)[None], rtol=1e-5)
    roundtrip(layer)
    with pytest.raises(ValueError, match="variant must be one of"):
        PositionEncoding(variant="sinusoid")


def test_hop_gate_mixes_state_and_read_by_the_gate():
    layer = HopGate(3)
    u = np.array([[1.0, 2.0, 3.0]], "float32")
    o = np.array([[-1.0, 0.5, 4.0]], "float32")
    out, gate = (np.asarray(x) for x in layer(u, o))
    w, b = (np.asarray(v) for v in layer.transform.weights)
    t = 1.0 / (1.0 + np.exp(-(u @ w + b)))
    np.testing.assert_allclose(gate, t, rtol=1e-5)
    np.testing.assert_allclose(out, o * t + u * (1 - t), rtol=1e-5)
    roundtrip(layer)


def test_key_value_read_addresses_keys_reads_values_and_updates_the_query():
    layer = KeyValueRead(2)
    q = np.array([[1.0, 0.0]], "float32")
    keys = np.array([[[3.0, 0.0], [0.0, 3.0]]], "float32")
    values = np.array([[[1.0, 2.0], [5.0, 7.0]]], "float32")
    ids = np.ones((1, 2, 1), "int32")
    q_next, p = (np.asarray(x) for x in layer(q, keys, values, ids))
    expected_p = np.exp([3.0, 0.0]) / np.exp([3.0, 0.0]).sum()
    np.testing.assert_allclose(p[0], expected_p, rtol=1e-5)
    o = expected_p @ values[0]
    np.testing.assert_allclose(q_next[0], (q[0] + o) @ np.asarray(layer.update.kernel), rtol=1e-5)
    roundtrip(layer)


def test_key_hashing_round_trips_its_config():
    layer = KeyHashing(4, stop_ids=[2, 3])
    roundtrip(layer)
    assert layer.get_config()["stop_ids"] == [2, 3]


def test_supporting_fact_score_masks_padding_and_adds_the_null_slot():
    layer = SupportingFactScore(memory_size=5, dim=2, relative=True)
    ids = np.zeros((1, 4, 2), "int32")
    ids[0, :3, 0] = 1  # 3 memories, 1 padding slot
    state = np.array([[1.0, -1.0]], "float32")
    cands = np.arange(8, dtype="float32").reshape(1, 4, 2)
    scores = np.asarray(layer(state, cands, ids, np.array([1], "int32")))
    assert scores.shape == (1, 5) and scores[0, 3] < -1e8
    age, dist = np.asarray(layer.age_table), np.asarray(layer.distance_table)
    i = 0  # age 2, distance previous - i = 1 -> row 1 + 5
    np.testing.assert_allclose(scores[0, i], state[0] @ (cands[0, i] + age[2] + dist[6]), rtol=1e-5)
    np.testing.assert_allclose(scores[0, 4], state[0] @ np.asarray(layer.null), rtol=1e-5)
    # No previous fact: the last distance row.
    first = np.asarray(layer(state, cands, ids, np.array([-1], "int32")))
    np.testing.assert_allclose(first[0, 2], state[0] @ (cands[0, 2] + age[0] + dist[11]), rtol=1e-5)
    roundtrip(layer)


def test_supporting_fact_score_ordinal_time_scales_one_vector_by_age_and_distance():
    layer = SupportingFactScore(memory_size=5, dim=2, relative=True, time="ordinal")
    ids = np.zeros((1, 4, 2), "int32")
    ids[0, :3, 0] = 1  # 3 memories, 1 padding slot
    state = np.array([[1.0, -1.0]], "float32")
    cands = np.arange(8, dtype="float32").reshape(1, 4, 2)
    scores = np.asarray(layer(state, cands, ids, np.array([1], "int32")))
    age, side, dist = (np.asarray(w) for w in (layer.age_vector, layer.side_table, layer.distance_vector))
    # Slot 0: age 2, earlier than the previous fact (slot 1) by 1; slot 2: later by 1.
    np.testing.assert_allclose(scores[0, 0], state[0] @ (cands[0, 0] + 2 / 5 * age + side[0] + 1 / 5 * dist), rtol=1e-5)
    np.testing.assert_allclose(scores[0, 2], state[0] @ (cands[0, 2] + side[2] - 1 / 5 * dist), rtol=1e-5)
    first = np.asarray(layer(state, cands, ids, np.array([-1], "int32")))
    np.testing.assert_allclose(first[0, 1], state[0] @ (cands[0, 1] + 1 / 5 * age + side[3]), rtol=1e-5)
    roundtrip(layer)
    with pytest.raises(ValueError, match="ordinal"):
        SupportingFactScore(memory_size=5, dim=2, time="linear")


def test_chosen_facts_fills_the_blocks_in_pick_or_time_order():
    facts = np.arange(8, dtype="float32").reshape(1, 4, 2)
    choices = np.array([[1, 3, -1]], "int32")  # hop 2 found the later fact; hop 3 found none
    blocks = (facts, 10 * facts, 100 * facts)
    r = np.zeros((1, 2), "float32")
    np.testing.assert_allclose(ChosenFacts("pick")(r, choices, *blocks), facts[:, 1] + 10 * facts[:, 3])
    np.testing.assert_allclose(ChosenFacts("time")(r, choices, *blocks), facts[:, 3] + 10 * facts[:, 1])
    roundtrip(ChosenFacts("time"))


def test_hard_memory_pick_returns_the_argmax_row_and_zero_for_null():
    memories = np.arange(6, dtype="float32").reshape(1, 3, 2).repeat(2, axis=0)
    scores = np.array([[0.1, 0.9, 0.0, -1.0], [0.0, 0.1, 0.2, 5.0]], "float32")  # row 2 picks NULL
    choice, attention, rows = (np.asarray(x) for x in HardMemoryPick()(scores, memories))
    np.testing.assert_array_equal(choice, [1, -1])
    np.testing.assert_array_equal(attention, [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(rows, [[2.0, 3.0], [0.0, 0.0]])


def test_lookup_gathers_rows_and_sums_repeated_ids_into_a_dense_gradient():
    import tensorflow as tf

    table = tf.Variable(np.arange(12, dtype="float32").reshape(4, 3))
    ids = np.array([[1, 3, 1], [0, 1, 2]], "int32")
    upstream = np.arange(18, dtype="float32").reshape(2, 3, 3)
    np.testing.assert_array_equal(np.asarray(lookup(table, ids)), table.numpy()[ids])
    expected = np.zeros((4, 3), "float32")
    np.add.at(expected, ids.reshape(-1), upstream.reshape(-1, 3))
    grad = tape_grad(table, ids, upstream)
    assert isinstance(grad, tf.Tensor)  # not IndexedSlices
    np.testing.assert_array_equal(grad.numpy(), expected)
    # The same under XLA, as in training.
    step = tf.function(lambda: tape_grad(table, ids, upstream), jit_compile=True)
    np.testing.assert_allclose(step().numpy(), expected)


def tape_grad(table, ids, upstream):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(lookup(table, ids) * upstream)
    return tape.gradient(loss, table)
