"""Time words: the age of each sentence, read as one more word at its end."""

import keras
from keras import ops

from zoo.layers.lookup import lookup
from zoo.layers.masking import slot_age, slot_mask, word_mask


@keras.saving.register_keras_serializable(package="zoo")
class TimeWords(keras.layers.Layer):
    """Appends a learned word per age of a sentence after its last word.

    The temporal encoding of a recurrent sentence encoder (the official
    W-MemNN code, after Sukhbaatar et al. 2015, Sec. 4.1): each sentence gets
    the word "age i" (0 = the story's last sentence) as its last word, so
    the encoder reads when a fact happened along with what it says. The word
    goes after the padding of the sentence; a masked encoder
    (:class:`zoo.layers.sentence_gru.SentenceGRU`) skips the padding, so it
    reads the age right after the sentence's last word. Ages beyond the
    table share its last row. Padding slots get no time word.

    Args:
        memory_size: rows of the age table.
        dim: word vector size.
        stddev: Gaussian initialisation of the table.

    Call arguments:
        words: [batch, slots, words, dim] embedded story.
        story_ids: [batch, slots, words] the story's word ids.

    Returns:
        ``(words, valid)``: [batch, slots, words + 1, dim] and the float mask
        [batch, slots, words + 1] of the real words and time words.

    Example:
        >>> w, v = TimeWords(memory_size=5, dim=4)(ops.ones((2, 3, 6, 4)), ops.ones((2, 3, 6), "int32"))
        >>> tuple(w.shape), tuple(v.shape)
        ((2, 3, 7, 4), (2, 3, 7))
    """

    def __init__(self, memory_size, dim, stddev=0.1, **kwargs):
        super().__init__(**kwargs)
        self.memory_size = memory_size
        self.dim = dim
        self.stddev = stddev

    def build(self, words_shape=None, story_ids_shape=None):
        self.table = self.add_weight(name="table", shape=(self.memory_size, self.dim),
                                     initializer=keras.initializers.RandomNormal(stddev=self.stddev))

    def call(self, words, story_ids):
        slots = slot_mask(story_ids)
        age = lookup(self.table, ops.clip(slot_age(story_ids), 0, self.memory_size - 1))
        age = age * ops.expand_dims(slots, -1)
        words = ops.concatenate([words, ops.expand_dims(ops.cast(age, words.dtype), 2)], axis=2)
        valid = ops.concatenate([word_mask(story_ids), ops.expand_dims(slots, -1)], axis=2)
        return words, valid

    def compute_output_shape(self, words_shape, story_ids_shape):
        w = None if words_shape[2] is None else words_shape[2] + 1
        return tuple(words_shape[:2]) + (w, words_shape[3]), tuple(words_shape[:2]) + (w,)

    def get_config(self):
        return {**super().get_config(), "memory_size": self.memory_size, "dim": self.dim, "stddev": self.stddev}
