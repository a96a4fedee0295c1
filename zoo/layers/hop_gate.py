"""Highway gate between memory hops."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class HopGate(keras.layers.Layer):
    """Gates the controller update: u' = o * T + u * (1 - T), T = sigmoid(W_T u + b_T).

    Liu and Perez 2017 (Gated End-to-End Memory Networks), Eq. (5)-(6): a
    highway connection (Srivastava et al. 2015) replaces MemN2N's plain
    u' = u + o, so each hop learns how much of the memory read to let in.
    One layer called at every hop gives the paper's global gate tying; one
    layer per hop its hop-specific gates.

    Args:
        dim: size of u and o.

    Call arguments:
        state: [batch, dim] the controller state u^k.
        read: [batch, dim] the memory read o^k.

    Returns:
        ``(u', T)``: the next state and the gate values, both [batch, dim].

    Example:
        >>> u, t = HopGate(4)(ops.ones((2, 4)), ops.zeros((2, 4)))
        >>> tuple(u.shape), tuple(t.shape)
        ((2, 4), (2, 4))
    """

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.transform = keras.layers.Dense(dim, activation="sigmoid", name="transform",
                                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.1))

    def build(self, state_shape=None, read_shape=None):
        self.transform.build((None, self.dim))

    def call(self, state, read):
        gate = self.transform(state)
        return read * gate + state * (1.0 - gate), gate

    def compute_output_shape(self, state_shape, read_shape):
        return tuple(state_shape), tuple(state_shape)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}
