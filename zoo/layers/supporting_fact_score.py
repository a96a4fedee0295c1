"""MemNN's output-module score of every memory as the next supporting fact."""

import keras
from keras import ops

from zoo.layers.masking import slot_mask

NEG = -1e9


@keras.saving.register_keras_serializable(package="zoo")
class SupportingFactScore(keras.layers.Layer):
    """s_O(x, m_i) for every memory slot, plus a "no more facts" slot.

    Weston, Chopra, Bordes 2015, Sec. 3.1 (O module) and 3.4 (write time):
    s_O(x, m) = Phi_x(x)^T U^T U Phi_y(m). The caller gives the two
    projections: ``state`` = U Phi_x(x) (the question plus the facts chosen
    so far) and ``candidates`` = U Phi_y(m_i). The paper's relative time
    features compare write times pairwise; a linear score on them is a
    difference of per-memory terms, which is what this layer learns: a
    weight per age of the memory (0 = the latest sentence, so the more
    recent fact can win) and, after the first hop, a weight for being older
    than the previously chosen fact. The last slot is the NULL memory of
    Weston et al.'s bAbI experiments (score u . n, n learned): choosing it
    ends the search for supporting facts.

    Args:
        memory_size: rows of the age table.
        dim: size of the projections.
        relative: add the "older than the previous fact" feature (hops after
            the first).

    Call arguments:
        state: [batch, dim].
        candidates: [batch, slots, dim].
        story_ids: [batch, slots, words], for the slot mask and the ages.
        previous: [batch] int32 slot of the previous fact (-1 for none);
            needed when ``relative``.

    Returns:
        [batch, slots + 1] scores; padding slots score -1e9.

    Example:
        >>> s = SupportingFactScore(memory_size=10, dim=4)
        >>> tuple(s(ops.ones((2, 4)), ops.ones((2, 3, 4)), ops.ones((2, 3, 5), "int32")).shape)
        (2, 4)
    """

    def __init__(self, memory_size, dim, relative=False, **kwargs):
        super().__init__(**kwargs)
        self.memory_size = memory_size
        self.dim = dim
        self.relative = relative

    def build(self, *shapes):
        self.age_weight = self.add_weight(name="age_weight", shape=(self.memory_size,), initializer="zeros")
        self.null = self.add_weight(name="null", shape=(self.dim,),
                                    initializer=keras.initializers.RandomNormal(stddev=0.1))
        if self.relative:
            self.older_weight = self.add_weight(name="older_weight", shape=(), initializer="zeros")

    def call(self, state, candidates, story_ids, previous=None):
        mask = slot_mask(story_ids)
        slots = ops.shape(mask)[1]
        scores = ops.sum(candidates * ops.expand_dims(state, 1), axis=-1)
        position = ops.cast(ops.expand_dims(ops.arange(slots), 0), "float32")
        age = ops.clip(ops.sum(mask, axis=-1, keepdims=True) - 1.0 - position, 0, self.memory_size - 1)
        scores = scores + ops.take(self.age_weight, ops.cast(age, "int32"), axis=0)
        if self.relative:
            prev = ops.cast(ops.expand_dims(previous, 1), "float32")
            older = ops.cast(position < prev, "float32")  # false for every slot when prev = -1
            scores = scores + self.older_weight * older
        scores = ops.where(mask > 0, scores, ops.full_like(scores, NEG))
        null = ops.sum(state * ops.expand_dims(self.null, 0), axis=-1, keepdims=True)
        return ops.concatenate([scores, null], axis=1)

    def compute_output_spec(self, state, candidates, story_ids, previous=None):
        slots = None if candidates.shape[1] is None else candidates.shape[1] + 1
        return keras.KerasTensor((state.shape[0], slots), dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "memory_size": self.memory_size, "dim": self.dim, "relative": self.relative}
