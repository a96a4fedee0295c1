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


def slot_age(story_ids):
    """Float age [batch, memory] of each slot: 0 for the story's last sentence, counting back; padding slots get
    negative ages (callers mask them)."""
    mask = slot_mask(story_ids)
    length = ops.sum(mask, axis=-1, keepdims=True)
    position = ops.cast(ops.expand_dims(ops.arange(ops.shape(mask)[1]), 0), "float32")
    return length - 1.0 - position


def masked_softmax(scores, mask):
    """Softmax over the last axis, over the entries where ``mask`` (broadcastable, floats) is 1 only; written out,
    since ``ops.softmax`` warns on a one-entry axis, a legal input here. All-masked rows come out zero."""
    masked = ops.where(mask > 0, scores, ops.full_like(scores, -1e9))
    exp = ops.exp(masked - ops.max(masked, axis=-1, keepdims=True)) * mask
    return exp / ops.maximum(ops.sum(exp, axis=-1, keepdims=True), 1e-9)
