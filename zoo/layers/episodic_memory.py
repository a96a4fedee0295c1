"""The episodic memory module of the DMN and of DMN+."""

import keras
from keras import ops

from zoo.layers.attention_gru import AttentionGRU
from zoo.layers.masked_gru import MaskedGRU
from zoo.layers.masking import masked_softmax

FORMS = ("dmn", "dmn_plus")
GATE_NORMS = ("sigmoid", "softmax")
READINGS = ("episodes", "stacked")


@keras.saving.register_keras_serializable(package="zoo")
class EpisodicMemory(keras.layers.Layer):
    """Passes over the facts, each attending by the question and the memory so far.

    ``form="dmn"`` (Kumar et al. 2016, Sec. 2.3): the gate of fact c_t at
    pass i is g = G(c_t, m^{i-1}, q) = sigmoid(W2 tanh(W1 z + b1) + b2) over
    z = [c, m, q, c*q, c*m, |c-q|, |c-m|, c^T W q, c^T W m] (Eq. 10-11); the
    gated GRU h_t = g_t GRU(c_t, h_{t-1}) + (1 - g_t) h_{t-1} (Eq. 9) gives
    the episode e^i = h_T, and the memory m^i = GRU(e^i, m^{i-1}), m^0 = q.
    ``reading="stacked"`` reads each pass over the previous pass's states
    instead: e^0_t = c_t, g^i_t = G(e^{i-1}_t, m^{i-1}, q),
    e^i_t = g^i_t GRU(e^{i-1}_t, e^i_{t-1}) + (1 - g^i_t) e^i_{t-1},
    m^i = e^i_T. One gate network and one episode GRU serve every pass.

    ``gate_norm="softmax"`` (``form="dmn"`` only) normalizes the DMN's gates
    of a pass over the facts instead, g_t = softmax_t(W2 tanh(W1 z + b1) + b2),
    as DMN+ does: the gates then compete, so a fact need only score higher
    than the others (in the paper the gate function "chooses" a fact for its
    stopping rule, Sec. 2.3; its supervision, "the cross-entropy error of the
    gates", reads either way).

    ``form="dmn_plus"`` (Xiong et al. 2016, Sec. 3.3): the gates are a
    softmax over the facts of Z = W2 tanh(W1 z + b1) + b2 with
    z = [f*q, f*m, |f-q|, |f-m|] (Eq. 6-9); the episode c^i is the last
    state of the :class:`AttentionGRU` (shared by all passes), and the
    memory update is untied, m^i = ReLU(W^i [m^{i-1}; c^i; q] + b^i)
    (Eq. 13).

    Args:
        units: size of the facts, the question, the episodes and the memory
            (the memory starts as the question).
        passes: number of passes over the facts.
        form: ``"dmn"`` or ``"dmn_plus"``.
        reading: ``"episodes"`` or ``"stacked"`` (``form="dmn"`` only).
        gate_units: hidden size of the gate network (default ``units``).
        gate_norm: ``"sigmoid"`` (each gate on its own, the paper's Eq. 11)
            or ``"softmax"`` (over the facts of a pass); ``form="dmn"`` only,
            DMN+'s gates are always a softmax.

    Call arguments:
        facts: [batch, T, units].
        question: [batch, units].
        valid: [batch, T] 1 for the facts in use, 0 for padding.
        training: picks the loop form (:mod:`zoo.layers.recurrence`).

    Returns:
        ``(memory, gates)``: [batch, units] the last memory, and
        [batch, passes, T] the gate of every fact at every pass (0 for
        padding).

    Example:
        >>> mem = EpisodicMemory(4, passes=2)
        >>> m, g = mem(ops.ones((2, 3, 4)), ops.ones((2, 4)), ops.ones((2, 3)))
        >>> tuple(m.shape), tuple(g.shape)
        ((2, 4), (2, 2, 3))
    """

    def __init__(self, units, passes=3, form="dmn_plus", reading="episodes", gate_units=None, gate_norm="sigmoid",
                 **kwargs):
        super().__init__(**kwargs)
        if form not in FORMS:
            raise ValueError(f"form must be one of {list(FORMS)}, got {form!r}")
        if reading not in READINGS:
            raise ValueError(f"reading must be one of {list(READINGS)}, got {reading!r}")
        if reading == "stacked" and form != "dmn":
            raise ValueError("reading='stacked' is a reading of the DMN's episodic memory: use form='dmn'")
        if passes < 1:
            raise ValueError(f"passes must be 1 or more, got {passes}")
        if gate_norm not in GATE_NORMS:
            raise ValueError(f"gate_norm must be one of {list(GATE_NORMS)}, got {gate_norm!r}")
        self.units = units
        self.passes = passes
        self.form = form
        self.reading = reading
        self.gate_units = gate_units
        self.gate_norm = gate_norm
        hidden = gate_units or units
        self.gate_hidden = keras.layers.Dense(hidden, activation="tanh", name="gate_hidden")
        self._softmax = form == "dmn_plus" or gate_norm == "softmax"  # the gates of a pass normalized over the facts
        self.gate_out = keras.layers.Dense(1, activation=None if self._softmax else "sigmoid", name="gate_out")
        if form == "dmn":
            self.episode_gru = MaskedGRU(units, return_sequences=reading == "stacked", name="episode_gru")
            self.memory_gru = MaskedGRU(units, name="memory_gru") if reading == "episodes" else None
        else:
            self.attention_gru = AttentionGRU(units, name="attention_gru")
            self.memory_updates = [keras.layers.Dense(units, activation="relu", name=f"memory_update_{i + 1}")
                                   for i in range(passes)]

    def build(self, facts_shape, question_shape=None, valid_shape=None):
        d = self.units
        if facts_shape[-1] != d:
            raise ValueError(f"EpisodicMemory({d}) takes facts of size {d}, got {facts_shape[-1]}")
        if self.form == "dmn":
            self.bilinear = self.add_weight(name="bilinear", shape=(d, d),
                                            initializer=keras.initializers.GlorotUniform())
            self.gate_hidden.build((None, None, 7 * d + 2))
            self.episode_gru.build((None, None, d))
            if self.memory_gru is not None:
                self.memory_gru.build((None, None, d))
        else:
            self.gate_hidden.build((None, None, 4 * d))
            self.attention_gru.build((None, None, d))
            for layer in self.memory_updates:
                layer.build((None, 3 * d))
        self.gate_out.build((None, None, self.gate_units or d))

    def _gates(self, c, m, q, valid):
        m, q = ops.expand_dims(m, 1), ops.expand_dims(q, 1)  # [batch, 1, d]
        if self.form == "dmn":
            cw = ops.matmul(c, self.bilinear)
            z = [c, ops.zeros_like(c) + m, ops.zeros_like(c) + q, c * q, c * m, ops.abs(c - q), ops.abs(c - m),
                 ops.sum(cw * q, -1, keepdims=True), ops.sum(cw * m, -1, keepdims=True)]
        else:
            z = [c * q, c * m, ops.abs(c - q), ops.abs(c - m)]
        score = self.gate_out(self.gate_hidden(ops.concatenate(z, -1)))[..., 0]
        return masked_softmax(score, valid) if self._softmax else score * valid

    def call(self, facts, question, valid, training=None):
        valid = ops.cast(valid, facts.dtype)
        memory, read, gates = question, facts, []
        for i in range(self.passes):
            g = self._gates(read, memory, question, valid)
            gates.append(g)
            if self.form == "dmn_plus":
                episode = self.attention_gru(facts, g, training=training)
                memory = self.memory_updates[i](ops.concatenate([memory, episode, question], -1))
            elif self.reading == "stacked":
                read = self.episode_gru(read, g, training=training)  # [batch, T, d], padding carries
                memory = ops.take(read, ops.shape(read)[1] - 1, axis=1)
            else:
                episode = self.episode_gru(facts, g, training=training)
                memory = self.memory_gru.cell(episode, memory)
        return memory, ops.stack(gates, axis=1)

    def compute_output_shape(self, facts_shape, question_shape=None, valid_shape=None):
        return (facts_shape[0], self.units), (facts_shape[0], self.passes, facts_shape[1])

    def get_config(self):
        return {**super().get_config(), "units": self.units, "passes": self.passes, "form": self.form,
                "reading": self.reading, "gate_units": self.gate_units, "gate_norm": self.gate_norm}
