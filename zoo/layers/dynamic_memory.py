"""The dynamic memory of the Recurrent Entity Network: blocks with keys, updated at every sentence."""

import keras
from keras import ops

from zoo.layers.recurrence import recur, time_major


def prelu(x, slope):
    return ops.where(x > 0, x, slope * x)


@keras.saving.register_keras_serializable(package="zoo")
class DynamicMemory(keras.layers.Layer):
    """N memory blocks, each a key w_j and a value h_j, rewritten by every sentence in order.

    Henaff et al. 2017, Sec. 2.2 (Eq. 2-5). For sentence s_t and each block j:

        g_j = sigmoid(s_t^T h_j + s_t^T w_j)
        h~_j = phi(U h_j + V w_j + W s_t)
        h_j <- h_j + g_j * h~_j
        h_j <- h_j / ||h_j||

    phi is a PReLU with one shared slope, initialised to 1 (the identity, as
    in the released code). The blocks start at their keys, h_j = w_j. A
    padding sentence (``valid`` 0) leaves the memory unchanged. The keys are
    the layer's own weights, or, with ``tied_keys``, given at call time
    (``keys``), e.g. the word embeddings of chosen entities (key tying).

    Args:
        blocks: number of memory blocks N.
        dim: size of the sentences, keys and values.
        stddev: standard deviation of the Gaussian initialisation.
        tied_keys: the keys come in at call time; the layer has none.

    Call arguments:
        sentences: [batch, T, dim] encoded sentences, oldest first.
        valid: [batch, T] 1 for the sentences in use, 0 for padding.
        keys: [batch, blocks, dim] the keys, with ``tied_keys`` only.
        training: picks the loop form (:mod:`zoo.layers.recurrence`).

    Returns:
        ``(memory, gates)``: [batch, blocks, dim] the blocks after the last
        sentence, and [batch, T, blocks] the gate g_j at each sentence (0 for
        padding).

    Example:
        >>> mem = DynamicMemory(3, 4)
        >>> h, g = mem(ops.ones((2, 5, 4)), ops.ones((2, 5)))
        >>> tuple(h.shape), tuple(g.shape)
        ((2, 3, 4), (2, 5, 3))
    """

    def __init__(self, blocks, dim, stddev=0.1, tied_keys=False, **kwargs):
        super().__init__(**kwargs)
        self.blocks = blocks
        self.dim = dim
        self.stddev = stddev
        self.tied_keys = tied_keys

    def build(self, sentences_shape=None, valid_shape=None, keys_shape=None):
        init = keras.initializers.RandomNormal(stddev=self.stddev)
        d = self.dim
        if not self.tied_keys:
            self.keys = self.add_weight(name="keys", shape=(self.blocks, d), initializer=init)
        self.U = self.add_weight(name="U", shape=(d, d), initializer=init)
        self.V = self.add_weight(name="V", shape=(d, d), initializer=init)
        self.W = self.add_weight(name="W", shape=(d, d), initializer=init)
        self.slope = self.add_weight(name="slope", shape=(), initializer="ones")

    def call(self, sentences, valid, keys=None, training=None):
        if (keys is None) != (not self.tied_keys):
            raise ValueError("DynamicMemory takes keys at call time if and only if tied_keys=True")
        w = keys if self.tied_keys else ops.expand_dims(self.keys, 0)  # [1 or batch, N, d]
        s_w = ops.matmul(sentences, ops.transpose(w, (0, 2, 1)))  # [batch, T, N]: s_t . w_j, before the loop
        s_proj = ops.matmul(sentences, self.W)  # [batch, T, d]: W s_t
        w_proj = ops.matmul(w, self.V)  # [1 or batch, N, d]: V w_j
        n = w.shape[1]
        keep = ops.expand_dims(ops.cast(valid, sentences.dtype), -1)  # [batch, T, 1]

        # Few ops per step: the loop's time goes to per-op overhead as much as to arithmetic (a batched
        # matvec for the gate, rsqrt, one blend: 13% more examples/s than the plain form, README: Tests and benchmarks).
        def step(carry, s_t, sw_t, sp_t, k_t):
            h = carry[0]  # [batch, N, d]
            gate = ops.sigmoid(ops.squeeze(ops.matmul(h, ops.expand_dims(s_t, -1)), -1) + sw_t) * k_t  # [batch, N]
            # U h as a 2-D matmul: a [batch, N, d] by [d, d] matmul becomes a Tensordot whose gradient XLA
            # does not compile inside the loop.
            uh = ops.reshape(ops.matmul(ops.reshape(h, (-1, self.dim)), self.U), (-1, n, self.dim))
            candidate = prelu(uh + w_proj + ops.expand_dims(sp_t, 1), self.slope)
            new = h + ops.expand_dims(gate, -1) * candidate
            new = new * ops.rsqrt(ops.sum(ops.square(new), -1, keepdims=True) + 1e-12)
            return h + ops.expand_dims(k_t, -1) * (new - h), gate  # padding (k_t 0) keeps h

        h0 = ops.zeros_like(ops.expand_dims(sentences[:, 0, :1], 1)) + w  # [batch, N, d]: the keys
        g0 = ops.zeros_like(h0[:, :, 0])
        (memory, _), (gates,) = recur(step, [time_major(x) for x in (sentences, s_w, s_proj, keep)], (h0, g0),
                                      collect=(1,), training=bool(training))
        return memory, time_major(gates)

    def compute_output_shape(self, sentences_shape, valid_shape=None, keys_shape=None):
        return (sentences_shape[0], self.blocks, self.dim), (sentences_shape[0], sentences_shape[1], self.blocks)

    def get_config(self):
        return {**super().get_config(), "blocks": self.blocks, "dim": self.dim, "stddev": self.stddev,
                "tied_keys": self.tied_keys}
