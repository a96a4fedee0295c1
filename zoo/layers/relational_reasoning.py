"""Relational reasoning over a small working memory (W-MemNN's reasoning module)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class RelationalReasoning(keras.layers.Layer):
    """Sums g over every ordered pair of buffer items with the question.

    Pavez et al. 2018, Sec. 3.3 (after Santoro et al. 2017's Relation
    Network): r = sum_{i, j} g([o_i; o_j; q]), with g a stack of ReLU layers.
    The working memory holds one item per attention hop, so it costs
    hops^2 pairs (16 for 4 hops), whatever the story's length. The first
    layer of g is linear in the concatenation, so it is split: each item is
    projected once for either side of a pair and the question once, and
    the pairs add projections (g's first layer over n items costs n, not
    n^2, matrix products). The sum makes the result independent of the
    order of the items.

    Args:
        units: sizes of g's ReLU layers, e.g. ``(128, 128, 128)``.
        kernel_regularizer: a Keras regularizer for g's kernels, or ``None``.

    Call arguments:
        items: [batch, n, dim] the working memory.
        question: [batch, question_dim].

    Returns:
        [batch, units[-1]].

    Example:
        >>> tuple(RelationalReasoning((8, 6))(ops.ones((2, 4, 5)), ops.ones((2, 3))).shape)
        (2, 6)
    """

    def __init__(self, units=(128, 128, 128), kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        units = tuple(int(u) for u in units)
        if not units or min(units) < 1:
            raise ValueError(f"units must be one or more positive layer sizes, got {list(units)}")
        self.units = units
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, items_shape, question_shape=None):
        glorot = keras.initializers.GlorotNormal()

        def kernel(name, shape):
            return self.add_weight(name=name, shape=shape, initializer=glorot, regularizer=self.kernel_regularizer)

        dim, first = items_shape[-1], self.units[0]
        self.left_kernel = kernel("left_kernel", (dim, first))
        self.right_kernel = kernel("right_kernel", (dim, first))
        self.question_kernel = kernel("question_kernel", (question_shape[-1], first))
        self.kernels = [kernel(f"kernel_{i + 1}", (a, b)) for i, (a, b) in enumerate(zip(self.units, self.units[1:]))]
        self.biases = [self.add_weight(name=f"bias_{i}", shape=(u,), initializer="zeros")
                       for i, u in enumerate(self.units)]

    def call(self, items, question):
        left = ops.expand_dims(ops.matmul(items, self.left_kernel), 2)  # [batch, n, 1, units]
        right = ops.expand_dims(ops.matmul(items, self.right_kernel), 1)  # [batch, 1, n, units]
        q = ops.matmul(question, self.question_kernel) + self.biases[0]
        x = ops.relu(left + right + q[:, None, None, :])  # [batch, n, n, units]: pair (i, j) at [i, j]
        for w, b in zip(self.kernels, self.biases[1:]):
            x = ops.relu(ops.matmul(x, w) + b)
        return ops.sum(x, axis=(1, 2))

    def compute_output_shape(self, items_shape, question_shape=None):
        return (items_shape[0], self.units[-1])

    def get_config(self):
        return {**super().get_config(), "units": list(self.units),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}
