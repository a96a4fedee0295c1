"""Sentence encoder with a learned multiplicative positional mask (EntNet)."""

import keras
from keras import ops

from zoo.layers.masking import word_mask


@keras.saving.register_keras_serializable(package="zoo")
class PositionalMask(keras.layers.Layer):
    """Encodes a sentence as s = sum_i f_i * e_i, with a learned vector f_i per word position.

    Henaff et al. 2017, Sec. 2.1 (the input encoder of the Recurrent Entity
    Network): the mask vectors f_1..f_K are learned, so word order can
    count as the fixed position encoding of MemN2N lets it. Padding words
    count for nothing. Positions past ``max_words`` share the last mask
    vector, so that longer sentences are still read.

    Args:
        max_words: number of mask vectors K.
        dim: embedding size.

    Call arguments:
        embedded: [..., words, dim] word embeddings.
        ids: [..., words] the word ids, 0 for padding.

    Returns:
        [..., dim] sentence vectors.

    Example:
        >>> tuple(PositionalMask(4, 3)(ops.ones((2, 5, 3)), ops.ones((2, 5), "int32")).shape)
        (2, 3)
    """

    def __init__(self, max_words, dim, **kwargs):
        super().__init__(**kwargs)
        self.max_words = max_words
        self.dim = dim

    def build(self, embedded_shape=None, ids_shape=None):
        # Ones: the encoder starts as a bag of words (as the released code does).
        self.mask = self.add_weight(name="mask", shape=(self.max_words, self.dim), initializer="ones")

    def call(self, embedded, ids):
        words = ops.shape(ids)[-1]
        rows = ops.take(self.mask, ops.minimum(ops.arange(words), self.max_words - 1), axis=0)  # [words, dim]
        return ops.sum(embedded * rows * ops.expand_dims(word_mask(ids), -1), axis=-2)

    def compute_output_shape(self, embedded_shape, ids_shape=None):
        return tuple(embedded_shape[:-2]) + (embedded_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "max_words": self.max_words, "dim": self.dim}
