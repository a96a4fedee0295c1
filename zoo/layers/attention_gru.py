"""The attention GRU of DMN+: a GRU whose update gate is the attention gate."""

import keras
from keras import ops

from zoo.layers.recurrence import recur, time_major


@keras.saving.register_keras_serializable(package="zoo")
class AttentionGRU(keras.layers.Layer):
    """Reads facts in order, each let in as far as its attention gate says.

    Xiong, Merity, Socher 2016, Sec. 3.3 (Eq. 10-12):

        r_i = sigmoid(W_r f_i + U_r h_{i-1} + b_r)
        h~_i = tanh(W f_i + r_i * (U h_{i-1}) + b)
        h_i = g_i * h~_i + (1 - g_i) * h_{i-1}

    The scalar gate g_i (a softmax over the facts) replaces the GRU's update
    gate, so the episode keeps the order of the facts that soft attention
    (a weighted sum) loses. A gate of 0 (a padding fact) leaves the state
    unchanged.

    Args:
        units: state size.

    Call arguments:
        facts: [batch, T, features].
        gates: [batch, T] attention gates (0 for padding).
        training: picks the loop form (:mod:`zoo.layers.recurrence`).

    Returns:
        [batch, units], the state after the last fact (the episode c^t).

    Example:
        >>> agru = AttentionGRU(4)
        >>> tuple(agru(ops.ones((2, 3, 5)), ops.ones((2, 3)) / 3).shape)
        (2, 4)
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, facts_shape, gates_shape=None):
        glorot = keras.initializers.GlorotUniform()
        self.kernel = self.add_weight(name="kernel", shape=(facts_shape[-1], 2 * self.units), initializer=glorot)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, 2 * self.units),
                                                initializer=keras.initializers.Orthogonal())
        self.bias = self.add_weight(name="bias", shape=(2 * self.units,), initializer="zeros")

    def call(self, facts, gates, training=None):
        u = self.units
        proj = ops.matmul(facts, self.kernel) + self.bias  # [batch, T, 2 units]
        g = ops.expand_dims(ops.cast(gates, facts.dtype), -1)

        def step(carry, x_t, g_t):
            h = carry[0]
            hu = ops.matmul(h, self.recurrent_kernel)
            reset = ops.sigmoid(x_t[:, :u] + hu[:, :u])
            candidate = ops.tanh(x_t[:, u:] + reset * hu[:, u:])
            return (g_t * candidate + (1.0 - g_t) * h,)

        h0 = ops.zeros_like(proj[:, 0, :u])
        (last,), _ = recur(step, [time_major(proj), time_major(g)], (h0,), training=bool(training))
        return last

    def compute_output_shape(self, facts_shape, gates_shape=None):
        return (facts_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
