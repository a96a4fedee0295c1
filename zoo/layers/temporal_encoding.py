"""Temporal encoding of memory slots."""

import keras
from keras import ops

from zoo.layers.lookup import lookup
from zoo.layers.masking import slot_age, slot_mask


@keras.saving.register_keras_serializable(package="zoo")
class TemporalEncoding(keras.layers.Layer):
    """Adds a learned vector per age of a memory: m_i = sum_j A x_ij + T_A(i).

    Sukhbaatar et al. 2015, Sec. 4.1 (TE). Memories come oldest first and are
    padded at the end; the age i counts back from the story's last sentence
    (0 = most recent), so the same table serves any padding. Ages beyond the
    table reuse its last row. Padding slots come out zero.

    Args:
        memory_size: rows of the table (the memory window).
        dim: vector size.
        stddev: Gaussian initialisation (0.1 in the paper).

    Call arguments:
        memories: [batch, slots, dim] encoded sentences.
        story_ids: [batch, slots, words] the story's word ids.

    Returns:
        [batch, slots, dim].

    Example:
        >>> t = TemporalEncoding(memory_size=5, dim=4)
        >>> tuple(t(ops.ones((2, 3, 4)), ops.ones((2, 3, 6), "int32")).shape)
        (2, 3, 4)
    """

    def __init__(self, memory_size, dim, stddev=0.1, **kwargs):
        super().__init__(**kwargs)
        self.memory_size = memory_size
        self.dim = dim
        self.stddev = stddev

    def build(self, memories_shape=None, story_ids_shape=None):
        self.table = self.add_weight(
            name="table", shape=(self.memory_size, self.dim),
            initializer=keras.initializers.RandomNormal(stddev=self.stddev))

    def call(self, memories, story_ids):
        age = ops.clip(slot_age(story_ids), 0, self.memory_size - 1)
        encoded = memories + lookup(self.table, age)
        return encoded * ops.expand_dims(slot_mask(story_ids), -1)

    def compute_output_shape(self, memories_shape, story_ids_shape):
        return tuple(memories_shape)

    def get_config(self):
        return {**super().get_config(), "memory_size": self.memory_size, "dim": self.dim, "stddev": self.stddev}
