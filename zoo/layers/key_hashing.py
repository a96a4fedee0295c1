"""Key hashing: keep only the memories that share a word with the question."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class KeyHashing(keras.layers.Layer):
    """Pre-selects memories whose key shares a non-stop word with the question.

    Miller et al. 2016, Sec. 3.1 ("key hashing"): before addressing, the
    memory is cut down to the key-value pairs whose key shares at least one
    word with the question, ignoring stop words (frequency below a bound in
    the paper; an explicit list of ids here). At most ``slots`` memories are
    kept, the latest ones when more match; they come out in their original
    order, followed by empty (all-zero) slots, so the downstream masks treat
    the tail as padding. Written with ``keras.ops`` only, it runs inside a
    model (and so in every export) or in a ``tf.data`` ``map``.

    Args:
        slots: memories kept, N.
        stop_ids: word ids that never make a match (stop words, padding 0
            always).

    Call arguments:
        keys: [batch, memory, words] key word ids.
        query: [batch, words] question word ids.
        *others: further [batch, memory, ...] arrays (such as the values),
            gathered with the keys.

    Returns:
        A tuple: the kept keys [batch, slots, words], each of ``others``
        [batch, slots, ...], and the kept original slot indices [batch, slots]
        (-1 for an empty slot).

    Example:
        >>> keys = ops.array([[[5, 0], [6, 7], [8, 0]]])
        >>> kept, idx = KeyHashing(2)(keys, ops.array([[7, 9]]))
        >>> ops.convert_to_numpy(idx).tolist()
        [[1, -1]]
    """

    def __init__(self, slots, stop_ids=(), **kwargs):
        super().__init__(**kwargs)
        if int(slots) < 1:
            raise ValueError(f"slots must be 1 or more, got {slots}")
        self.slots = int(slots)
        self.stop_ids = [int(i) for i in stop_ids]

    def call(self, keys, query, *others):
        keys = ops.cast(keys, "int32")
        query = ops.cast(query, "int32")
        # int products, not logical_and: that reaches TFLite as BitwiseAnd, a Flex op.
        useful = ops.cast(ops.not_equal(query, 0), "int32")
        for stop in self.stop_ids:
            useful = useful * ops.cast(ops.not_equal(query, stop), "int32")
        def as_words(x):  # [batch, words] -> [batch, 1, 1, words]
            return ops.expand_dims(ops.expand_dims(x, 1), 1)

        # [batch, memory, key words, query words]
        same = ops.cast(ops.equal(ops.expand_dims(keys, -1), as_words(query)), "int32") * as_words(useful)
        match = ops.max(ops.max(same, axis=-1), axis=-1)  # [batch, memory]: 1 when a word is shared
        # Room for ``slots`` picks even when the memory is smaller.
        match = ops.pad(match, ((0, 0), (0, self.slots)))
        position = ops.expand_dims(ops.arange(1, ops.shape(match)[1] + 1, dtype="int32"), 0)
        _, picked = ops.top_k(match * position, self.slots)  # the latest matches
        kept = ops.take_along_axis(match, picked, axis=1)
        # Original order for the kept ones, the empty slots last.
        order_key = ops.where(kept > 0, -picked, -picked - ops.shape(match)[1])
        _, order = ops.top_k(order_key, self.slots)
        picked = ops.take_along_axis(picked, order, axis=1)
        kept = ops.take_along_axis(kept, order, axis=1)
        index = ops.where(kept > 0, picked, -1)
        out = [self._gather(x, picked, kept) for x in (keys,) + tuple(others)]
        return (*out, index)

    def _gather(self, x, picked, kept):
        x = ops.pad(x, [(0, 0), (0, self.slots)] + [(0, 0)] * (len(x.shape) - 2))
        extra = len(x.shape) - 2
        idx, keep = picked, kept
        for _ in range(extra):
            idx, keep = ops.expand_dims(idx, -1), ops.expand_dims(keep, -1)
        gathered = ops.take_along_axis(x, ops.broadcast_to(idx, ops.shape(idx)[:2] + tuple(ops.shape(x)[2:])), axis=1)
        return gathered * ops.cast(keep, gathered.dtype)

    def compute_output_spec(self, keys, query, *others):
        def spec(x):
            return keras.KerasTensor((x.shape[0], self.slots) + tuple(x.shape[2:]), dtype="int32")

        index = keras.KerasTensor((keys.shape[0], self.slots), dtype="int32")
        return (spec(keys), *[spec(x) for x in others], index)

    def get_config(self):
        return {**super().get_config(), "slots": self.slots, "stop_ids": list(self.stop_ids)}
