"""Position-encoding sentence encoder."""

import keras
from keras import ops

from zoo.layers.masking import word_mask


@keras.saving.register_keras_serializable(package="zoo")
class PositionEncoding(keras.layers.Layer):
    """Weights each word by its position: m_i = sum_j l_j * A x_ij.

    Sukhbaatar et al. 2015, Sec. 4.1 (PE), with
    l_kj = (1 - j/J) - (k/d)(1 - 2j/J), j the word's position (1-based), J
    the number of words of that sentence and k the embedding dimension
    (1-based). Unlike a bag of words it tells "Mary saw John" from "John saw
    Mary". Padding words count for nothing.

    Args:
        variant: ``"paper"``, the formula above, or ``"centered"``, the form
            of the authors' released code, l_kj = 1 + 4 (k - (d+1)/2)
            (j - (J+1)/2) / (d J), which weighs every word about 1 and adds
            the position as a modulation (J is again the sentence's length,
            so that padding changes nothing).

    Call arguments:
        embedded: [..., words, dim] word embeddings.
        ids: [..., words] the word ids, 0 for padding.

    Returns:
        [..., dim] sentence vectors.

    Example:
        >>> ids = ops.array([[3, 5, 0]])
        >>> tuple(PositionEncoding()(ops.ones((1, 3, 4)), ids).shape)
        (1, 4)
    """

    VARIANTS = ("paper", "centered")

    def __init__(self, variant="paper", **kwargs):
        super().__init__(**kwargs)
        if variant not in self.VARIANTS:
            raise ValueError(f"variant must be one of {list(self.VARIANTS)}, got {variant!r}")
        self.variant = variant

    def call(self, embedded, ids):
        mask = word_mask(ids)
        words = ops.shape(ids)[-1]
        dim = ops.shape(embedded)[-1]
        j = ops.cast(ops.arange(1, words + 1), "float32")
        d = ops.cast(dim, "float32")
        k = ops.cast(ops.arange(1, dim + 1), "float32")
        length = ops.expand_dims(ops.maximum(ops.sum(mask, axis=-1, keepdims=True), 1.0), -1)  # J, per sentence
        j = ops.expand_dims(j, -1)  # [words, 1]
        if self.variant == "paper":
            weights = (1.0 - j / length) - (k / d) * (1.0 - 2.0 * j / length)  # [..., words, dim]
        else:
            weights = 1.0 + 4.0 * (k - (d + 1.0) / 2.0) * (j - (length + 1.0) / 2.0) / (d * length)
        return ops.sum(embedded * weights * ops.expand_dims(mask, -1), axis=-2)

    def compute_output_shape(self, embedded_shape, ids_shape):
        return tuple(embedded_shape[:-2]) + (embedded_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "variant": self.variant}
