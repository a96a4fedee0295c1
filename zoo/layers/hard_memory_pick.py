"""Hard (argmax) choice of one memory slot."""

import keras
from keras import ops


def gather_slot(memories, choice):
    """Row ``choice`` of each [slots, dim] memory; zeros where ``choice`` = slots (the NULL slot) or -1."""
    slots = ops.shape(memories)[1]
    padded = ops.concatenate([memories, ops.zeros_like(memories[:, :1])], axis=1)
    # No logical_or: it reaches TFLite as BitwiseAnd, a Flex op.
    choice = ops.minimum(ops.where(choice < 0, slots, choice), slots)
    index = ops.expand_dims(ops.expand_dims(ops.cast(choice, "int32"), -1), -1)
    return ops.squeeze(ops.take_along_axis(padded, index, axis=1), 1)


@keras.saving.register_keras_serializable(package="zoo")
class HardMemoryPick(keras.layers.Layer):
    """Chooses the best-scoring slot and returns its rows: MemNN's o = argmax_i s_O(x, m_i).

    Weston, Chopra, Bordes 2015, Eq. (2)-(3). The last score is the NULL
    memory: choosing it returns zero rows and the index -1.

    Call arguments:
        scores: [batch, slots + 1] (see :class:`SupportingFactScore`).
        memories: [batch, slots, dim] tensors to read the chosen row of.

    Returns:
        ``(choice, attention, *rows)``: choice int32 [batch] (-1 for NULL),
        the choice as one-hot attention over the slots [batch, slots], and one
        [batch, dim] row per memory.

    Example:
        >>> c, p, row = HardMemoryPick()(ops.array([[0.1, 0.9, 0.0]]), ops.ones((1, 2, 3)))
        >>> ops.convert_to_numpy(c).tolist(), ops.convert_to_numpy(p).tolist(), tuple(row.shape)
        ([1], [[0.0, 1.0]], (1, 3))
    """

    def call(self, scores, *memories):
        slots = ops.shape(scores)[1] - 1
        # top_k, not argmax: Keras's TF argmax adds a BitwiseAnd (negative-zero
        # check) that TFLite has no built-in op for. Ties go to the lower index either way.
        choice = ops.cast(ops.top_k(scores, 1)[1][:, 0], "int32")
        rows = [gather_slot(m, choice) for m in memories]
        attention = ops.cast(ops.equal(ops.expand_dims(choice, 1), ops.expand_dims(ops.arange(slots), 0)), "float32")
        return (ops.where(choice >= slots, -1, choice), attention, *rows)

    def compute_output_spec(self, scores, *memories):
        choice = keras.KerasTensor((scores.shape[0],), dtype="int32")
        slots = None if scores.shape[1] is None else scores.shape[1] - 1
        attention = keras.KerasTensor((scores.shape[0], slots), dtype="float32")
        return (choice, attention, *[keras.KerasTensor((m.shape[0], m.shape[2]), dtype=m.dtype) for m in memories])


@keras.saving.register_keras_serializable(package="zoo")
class ChosenFacts(keras.layers.Layer):
    """Sums the chosen facts into R's input, the fact of block k from ``facts[k]``.

    MemNN's R reads [x, m_o1, m_o2, ...] with a feature block per fact
    (Weston, Chopra, Bordes 2015, Sec. 3.1). ``order="pick"`` puts the fact
    chosen at hop k into block k; ``order="time"`` the latest chosen fact
    into block 1, the one before into block 2, and so on, so that R knows
    which of the facts came last whatever order the hops found them in.

    Call arguments:
        r: [batch, dim] R's input so far.
        choices: [batch, k] int32 chosen slots, -1 for none.
        *facts: k tensors [batch, slots, dim], one per block.

    Returns:
        [batch, dim].

    Example:
        >>> f = ops.reshape(ops.arange(6, dtype="float32"), (1, 3, 2))
        >>> ops.convert_to_numpy(ChosenFacts("time")(ops.zeros((1, 2)), ops.array([[0, 2]]), f, 10 * f)).tolist()
        [[4.0, 15.0]]
    """

    ORDERS = ("pick", "time")

    def __init__(self, order="pick", **kwargs):
        super().__init__(**kwargs)
        if order not in self.ORDERS:
            raise ValueError(f"order must be one of {list(self.ORDERS)}, got {order!r}")
        self.order = order

    def call(self, r, choices, *facts):
        choices = ops.cast(choices, "int32")
        if self.order == "time":
            # Latest (highest slot) first; -1 (none) goes last. top_k sorts on every export target.
            choices = ops.cast(ops.top_k(ops.cast(choices, "float32"), len(facts))[0], "int32")
        for k, memories in enumerate(facts):
            r = r + gather_slot(memories, choices[:, k])
        return r

    def compute_output_shape(self, r_shape, choices_shape, *facts_shapes):
        return tuple(r_shape)

    def get_config(self):
        return {**super().get_config(), "order": self.order}
