"""Soft attention read over memory slots."""

import keras
from keras import ops

from zoo.layers.masking import slot_mask


@keras.saving.register_keras_serializable(package="zoo")
class MemoryRead(keras.layers.Layer):
    """Reads memory by attention: p = softmax(u^T m_i), o = sum_i p_i c_i.

    Sukhbaatar et al. 2015, Eq. (1) and (2). Padding slots get no weight,
    unless ``window`` is set: then the softmax runs over a memory of
    ``window`` slots, as in the authors' code, where the memory always holds
    that many and an empty one is a zero vector that scores 0. The empty
    slots are counted, not stored: a story of n sentences adds
    ``window - n`` terms exp(0) to the softmax's denominator, so the model
    can put attention on "nothing", and the padding of a batch changes
    nothing.
    For linear start (Sec. 4.2) the softmax can be switched off: the weights
    are then the raw scores u^T m_i. The switch is a non-trainable weight,
    ``softmax_on`` (1.0 or 0.0), set by :class:`zoo.training.LinearStart`.

    Args:
        window: the memory size the softmax runs over, or ``None`` (only the
            slots in use).

    Call arguments:
        query: [batch, dim] the controller state u.
        keys: [batch, slots, dim] input memories m_i.
        values: [batch, slots, dim] output memories c_i.
        story_ids: [batch, slots, words], for the slot mask.

    Returns:
        ``(o, p)``: the read vector [batch, dim] and the attention
        [batch, slots].

    Example:
        >>> o, p = MemoryRead()(ops.ones((2, 4)), ops.ones((2, 3, 4)),
        ...                     ops.ones((2, 3, 4)), ops.ones((2, 3, 5), "int32"))
        >>> tuple(o.shape), tuple(p.shape)
        ((2, 4), (2, 3))
    """

    def __init__(self, window=None, **kwargs):
        super().__init__(**kwargs)
        self.window = window

    def build(self, *shapes):
        self.softmax_on = self.add_weight(
            name="softmax_on", shape=(), initializer="ones", trainable=False)

    def call(self, query, keys, values, story_ids):
        mask = slot_mask(story_ids)
        scores = ops.sum(keys * ops.expand_dims(query, 1), axis=-1)
        # Softmax over the slots in use, written out (ops.softmax warns on a
        # one-slot memory, a legal input here).
        masked = ops.where(mask > 0, scores, ops.full_like(scores, -1e9))
        top = ops.max(masked, axis=-1, keepdims=True)
        if self.window is not None:
            top = ops.maximum(top, 0.0)  # the empty slots score 0
        exp = ops.exp(masked - top) * mask
        total = ops.sum(exp, axis=-1, keepdims=True)
        if self.window is not None:
            total = total + ops.maximum(self.window - ops.sum(mask, axis=-1, keepdims=True), 0.0) * ops.exp(-top)
        soft = exp / ops.maximum(total, 1e-9)
        p = self.softmax_on * soft + (1.0 - self.softmax_on) * scores * mask
        o = ops.sum(values * ops.expand_dims(p, -1), axis=1)
        return o, p

    def get_config(self):
        return {**super().get_config(), "window": self.window}

    def compute_output_shape(self, query_shape, keys_shape, values_shape, story_ids_shape):
        return tuple(query_shape), tuple(keys_shape[:2])
