"""Bag-of-words sentence encoder."""

import keras
from keras import ops

from zoo.layers.masking import word_mask


@keras.saving.register_keras_serializable(package="zoo")
class BagOfWords(keras.layers.Layer):
    """Sums the embeddings of a sentence's words: m_i = sum_j A x_ij.

    Sukhbaatar et al. 2015, Sec. 4.1 ("BoW"). Padding words (id 0) count for
    nothing, as the paper's null symbol.

    Call arguments:
        embedded: [..., words, dim] word embeddings.
        ids: [..., words] the word ids, 0 for padding.

    Returns:
        [..., dim] sentence vectors.

    Example:
        >>> ids = ops.array([[1, 2, 0]])
        >>> tuple(BagOfWords()(ops.ones((1, 3, 4)), ids).shape)
        (1, 4)
    """

    def call(self, embedded, ids):
        return ops.sum(embedded * ops.expand_dims(word_mask(ids), -1), axis=-2)

    def compute_output_shape(self, embedded_shape, ids_shape):
        return tuple(embedded_shape[:-2]) + (embedded_shape[-1],)
