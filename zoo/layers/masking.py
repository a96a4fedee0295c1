"""Masks shared by the layers (helpers, not layers)."""

from keras import ops


def slot_mask(story_ids):
    """Float mask [batch, memory] of the memory slots in use.

    A slot is in use when it comes at or before the story's last non-empty
    sentence; an empty sentence before it is an empty memory (random noise),
    empty slots after it are padding.
    """
    filled = ops.cast(ops.any(ops.not_equal(story_ids, 0), axis=-1), "int32")
    slots = ops.shape(filled)[1]
    position = ops.expand_dims(ops.arange(1, slots + 1, dtype="int32"), 0)
    length = ops.max(filled * position, axis=-1, keepdims=True)
    return ops.cast(position <= length, "float32")


def word_mask(ids):
    """Float mask of the non-padding words, same shape as ``ids``."""
    return ops.cast(ops.not_equal(ids, 0), "float32")
