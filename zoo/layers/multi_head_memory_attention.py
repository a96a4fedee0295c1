"""Multi-head attention over a memory, for one hop of W-MemNN."""

import keras
import numpy as np
from keras import ops

from zoo.layers.masking import masked_softmax


@keras.saving.register_keras_serializable(package="zoo")
class MultiHeadMemoryAttention(keras.layers.Layer):
    """One attention hop with several heads (Pavez et al. 2018, Sec. 3.2).

    Head h keys every memory slot m_t with its own projection,
    k^h_t = tanh(K^h m_t), scores it against the query q scaled by the key
    size, a^h = softmax_t(k^h_t . q / sqrt(units)) over the slots in use,
    and reads the slots themselves, r^h = sum_t a^h_t m_t (as the official
    code: the heads differ in their keys, the values are the memories). The
    output joins the heads, o = O [r^1; ...; r^H].

    Args:
        heads: number of heads.
        units: key size (the query's size) and output size.
        kernel_regularizer: a Keras regularizer for K and O, or ``None``.

    Call arguments:
        memories: [batch, slots, dim].
        query: [batch, units].
        valid: [batch, slots] float mask of the slots in use.

    Returns:
        ``(output, attention)``: [batch, units] and [batch, heads, slots].

    Example:
        >>> o, a = MultiHeadMemoryAttention(2, 4)(ops.ones((3, 5, 6)), ops.ones((3, 4)), ops.ones((3, 5)))
        >>> tuple(o.shape), tuple(a.shape)
        ((3, 4), (3, 2, 5))
    """

    def __init__(self, heads, units, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if heads < 1:
            raise ValueError(f"heads must be 1 or more, got {heads}")
        self.heads = heads
        self.units = units
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, memories_shape, query_shape=None, valid_shape=None):
        dim = memories_shape[-1]
        glorot = keras.initializers.GlorotNormal()
        self.key_kernel = self.add_weight(name="key_kernel", shape=(dim, self.heads * self.units),
                                          initializer=glorot, regularizer=self.kernel_regularizer)
        self.output_kernel = self.add_weight(name="output_kernel", shape=(self.heads * dim, self.units),
                                             initializer=glorot, regularizer=self.kernel_regularizer)

    def call(self, memories, query, valid):
        shape = ops.shape(memories)
        keys = ops.tanh(ops.matmul(memories, self.key_kernel))  # [batch, slots, heads * units]
        keys = ops.reshape(keys, (shape[0], shape[1], self.heads, self.units))
        # Products and sums rather than einsum: the TFLite converter mis-infers the einsum's shapes.
        scores = ops.sum(keys * query[:, None, None, :], axis=-1) / np.sqrt(self.units).astype("float32")
        scores = ops.transpose(scores, (0, 2, 1))  # [batch, heads, slots]
        attention = masked_softmax(scores, ops.expand_dims(ops.cast(valid, scores.dtype), 1))
        read = ops.matmul(attention, memories)  # [batch, heads, dim]
        read = ops.reshape(read, (shape[0], self.heads * memories.shape[-1]))
        return ops.matmul(read, self.output_kernel), attention

    def compute_output_shape(self, memories_shape, query_shape=None, valid_shape=None):
        return (memories_shape[0], self.units), (memories_shape[0], self.heads, memories_shape[1])

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "units": self.units,
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}
