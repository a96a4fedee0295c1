"""The memory slots in use, as a layer (so that a functional graph can hold it)."""

import keras

from zoo.layers.masking import slot_mask


@keras.saving.register_keras_serializable(package="zoo")
class SlotMask(keras.layers.Layer):
    """Float mask [batch, memory] of the sentences of a story (:func:`zoo.layers.masking.slot_mask`).

    A slot is in use when it comes at or before the story's last non-empty
    sentence. The helper needs the memory's size at run time, which a
    functional graph has only inside a layer.

    Call arguments:
        story: int ids [batch, memory, words], 0 for padding.

    Returns:
        [batch, memory] float32, 1 for the slots in use.

    Example:
        >>> import numpy as np
        >>> SlotMask()(np.array([[[3, 0], [0, 0]]])).tolist()
        [[1.0, 0.0]]
    """

    def call(self, story):
        return slot_mask(story)

    def compute_output_shape(self, story_shape):
        return tuple(story_shape[:2])
