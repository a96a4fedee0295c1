"""The DMN input module: one GRU over all the words of a story, a fact at each sentence's end."""

import keras
from keras import ops

from zoo.layers.masked_gru import MaskedGRU
from zoo.layers.masking import word_mask


@keras.saving.register_keras_serializable(package="zoo")
class StoryReader(keras.layers.Layer):
    """Runs a GRU over the story's words in order; the facts are its states at the sentence ends.

    Kumar et al. 2016, Sec. 2.1: the input module reads the concatenated
    sentences word by word, h_t = GRU(L[w_t], h_{t-1}), and the fact c_i is
    the hidden state at the end of sentence i. Padding words leave the state
    unchanged (:class:`MaskedGRU`), so the state at the last column of a
    sentence's row is the state after its last word, and a padding sentence
    repeats the state before it.

    Args:
        units: GRU state size.

    Call arguments:
        embedded: [batch, memory, words, dim] word embeddings.
        story: [batch, memory, words] the word ids, 0 for padding.
        training: picks the loop form (:mod:`zoo.layers.recurrence`).

    Returns:
        [batch, memory, units] facts.

    Example:
        >>> import numpy as np
        >>> tuple(StoryReader(4)(np.ones((2, 3, 5, 6), "float32"), np.ones((2, 3, 5), "int32")).shape)
        (2, 3, 4)
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.gru = MaskedGRU(units, return_sequences=True, name="gru")

    def build(self, embedded_shape, story_shape=None):
        self.gru.build((None, None, embedded_shape[-1]))

    def call(self, embedded, story, training=None):
        slots, words = ops.shape(story)[1], ops.shape(story)[2]
        flat = ops.reshape(embedded, (-1, slots * words, ops.shape(embedded)[-1]))
        valid = ops.reshape(word_mask(story), (-1, slots * words))
        states = self.gru(flat, valid, training=training)  # [batch, slots * words, units]
        states = ops.reshape(states, (-1, slots, words, self.units))
        return ops.take(states, words - 1, axis=2)

    def compute_output_shape(self, embedded_shape, story_shape=None):
        return tuple(embedded_shape[:2]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
