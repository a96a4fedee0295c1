"""Word embedding usable both ways, for weight tying."""

import keras
from keras import ops

from zoo.layers.lookup import lookup


@keras.saving.register_keras_serializable(package="zoo")
class TiedEmbedding(keras.layers.Layer):
    """Embeds word ids, or scores vectors against every word (the transpose).

    MemN2N's adjacent weight tying (Sukhbaatar et al. 2015, Sec. 2.2) reuses
    one matrix as the output embedding C^k of hop k, the input embedding
    A^{k+1} of hop k+1, and as the answer matrix W^T = C^K; ``reverse=True``
    gives ``x @ E^T``.

    Args:
        vocab_size: number of words (id 0 is padding).
        dim: embedding size.
        stddev: standard deviation of the Gaussian initialisation (0.1 in
            the paper).

    Call arguments:
        inputs: int ids of any shape, or float vectors [..., dim] with
            ``reverse=True``.
        reverse: score vectors against the vocabulary instead of embedding.

    Returns:
        [..., dim] embeddings, or [..., vocab_size] scores.

    Example:
        >>> e = TiedEmbedding(10, 4)
        >>> tuple(e(ops.ones((2, 3), "int32")).shape)
        (2, 3, 4)
    """

    def __init__(self, vocab_size, dim, stddev=0.1, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.dim = dim
        self.stddev = stddev

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.vocab_size, self.dim),
            initializer=keras.initializers.RandomNormal(stddev=self.stddev))

    def call(self, inputs, reverse=False):
        if reverse:
            return ops.matmul(inputs, ops.transpose(self.embeddings))
        return lookup(self.embeddings, inputs)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape) + (self.dim,)

    def compute_output_spec(self, inputs, reverse=False):
        # compute_output_shape cannot take ``reverse``; Keras asks this instead.
        if reverse:
            return keras.KerasTensor(tuple(inputs.shape[:-1]) + (self.vocab_size,), dtype=self.compute_dtype)
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim, "stddev": self.stddev}
