"""A GRU sentence encoder: every sentence of a story at once, the loop over words only."""

import keras
from keras import ops

from zoo.layers.masked_gru import MaskedGRU


@keras.saving.register_keras_serializable(package="zoo")
class SentenceGRU(keras.layers.Layer):
    """Encodes each sentence as the last state of a GRU over its words.

    All the sentences of the batch go through one :class:`MaskedGRU` as one
    batch of [batch * slots] sequences, so the loop runs over the words of a
    sentence only (W-MemNN's input module, Pavez et al. 2018, Sec. 3.1).
    Padding words leave the state unchanged; empty sentences come out zero.

    Args:
        units: state size.

    Call arguments:
        words: [batch, slots, words, dim] embedded sentences.
        valid: [batch, slots, words] float mask of the words to read.
        training: picks the loop form (:mod:`zoo.layers.recurrence`).

    Returns:
        [batch, slots, units].

    Example:
        >>> tuple(SentenceGRU(4)(ops.ones((2, 3, 5, 6)), ops.ones((2, 3, 5))).shape)
        (2, 3, 4)
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.gru = MaskedGRU(units, name="gru")

    def build(self, words_shape, valid_shape=None):
        self.gru.build((None, words_shape[2], words_shape[3]))

    def call(self, words, valid, training=None):
        shape = ops.shape(words)
        flat = ops.reshape(words, (-1, shape[2], words.shape[-1]))
        flat_valid = ops.reshape(ops.cast(valid, words.dtype), (-1, shape[2]))
        states = self.gru(flat, flat_valid, training=training)
        # An empty sentence keeps the zero initial state.
        return ops.reshape(states, (shape[0], shape[1], self.units))

    def compute_output_shape(self, words_shape, valid_shape=None):
        return tuple(words_shape[:2]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
