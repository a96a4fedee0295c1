"""Key-value memory read with the query update of a hop."""

import keras
from keras import ops

from zoo.layers.memory_read import MemoryRead


@keras.saving.register_keras_serializable(package="zoo")
class KeyValueRead(MemoryRead):
    """One hop of a Key-Value Memory Network: address by keys, read values, update the query.

    Miller et al. 2016, Sec. 3: key addressing p_h = softmax(q_j . A Phi_K(k_h)),
    value reading o = sum_h p_h A Phi_V(v_h), and the query update
    q_{j+1} = R_j (q_j + o) with a learned matrix R_j per hop. The softmax
    switch of :class:`MemoryRead` (linear start) carries over.

    Args:
        dim: size of the query and of the memory vectors.

    Call arguments:
        query: [batch, dim] q_j.
        keys: [batch, slots, dim] embedded keys.
        values: [batch, slots, dim] embedded values.
        key_ids: [batch, slots, words] the keys' word ids, for the slot mask.

    Returns:
        ``(q_next, p)``: [batch, dim] and the key attention [batch, slots].

    Example:
        >>> q, p = KeyValueRead(4)(ops.ones((2, 4)), ops.ones((2, 3, 4)),
        ...                        ops.ones((2, 3, 4)), ops.ones((2, 3, 5), "int32"))
        >>> tuple(q.shape), tuple(p.shape)
        ((2, 4), (2, 3))
    """

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.update = keras.layers.Dense(dim, use_bias=False, name="update",
                                         kernel_initializer=keras.initializers.RandomNormal(stddev=0.1))

    def build(self, *shapes):
        super().build(*shapes)
        self.update.build((None, self.dim))

    def call(self, query, keys, values, key_ids):
        o, p = super().call(query, keys, values, key_ids)
        return self.update(query + o), p

    def compute_output_shape(self, query_shape, keys_shape, values_shape, key_ids_shape):
        return tuple(query_shape), tuple(keys_shape[:2])

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}
