"""The output module of the Recurrent Entity Network."""

import keras
from keras import ops

from zoo.layers.dynamic_memory import prelu


@keras.saving.register_keras_serializable(package="zoo")
class EntNetOutput(keras.layers.Layer):
    """The EntNet output module: p_j = softmax(q^T h_j), u = sum_j p_j h_j, y = R phi(q + H u).

    Henaff et al. 2017, Sec. 2.3 (Eq. 6-8); phi is a PReLU with one slope,
    initialised to 1.

    Args:
        vocab_size: answer words.
        dim: size of q and of the memory blocks.
        stddev: standard deviation of the Gaussian initialisation.

    Call arguments:
        query: [batch, dim] the encoded question.
        memory: [batch, blocks, dim].

    Returns:
        ``(logits, p)``: [batch, vocab_size] and [batch, blocks].

    Example:
        >>> y, p = EntNetOutput(7, 4)(ops.ones((2, 4)), ops.ones((2, 3, 4)))
        >>> tuple(y.shape), tuple(p.shape)
        ((2, 7), (2, 3))
    """

    def __init__(self, vocab_size, dim, stddev=0.1, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.dim = dim
        self.stddev = stddev

    def build(self, query_shape=None, memory_shape=None):
        init = keras.initializers.RandomNormal(stddev=self.stddev)
        self.H = self.add_weight(name="H", shape=(self.dim, self.dim), initializer=init)
        self.R = self.add_weight(name="R", shape=(self.dim, self.vocab_size), initializer=init)
        self.slope = self.add_weight(name="slope", shape=(), initializer="ones")

    def call(self, query, memory):
        p = ops.softmax(ops.sum(memory * ops.expand_dims(query, 1), -1), axis=-1)  # [batch, blocks]
        u = ops.sum(memory * ops.expand_dims(p, -1), axis=1)
        return ops.matmul(prelu(query + ops.matmul(u, self.H), self.slope), self.R), p

    def compute_output_shape(self, query_shape, memory_shape=None):
        return (query_shape[0], self.vocab_size), (query_shape[0], memory_shape[1])

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim, "stddev": self.stddev}
