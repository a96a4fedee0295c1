"""MemNN's output-module score of every memory as the next supporting fact."""

import keras
from keras import ops

from zoo.layers.lookup import lookup
from zoo.layers.masking import slot_mask

NEG = -1e9


@keras.saving.register_keras_serializable(package="zoo")
class SupportingFactScore(keras.layers.Layer):
    """s_O(x, m_i) for every memory slot, plus a "no more facts" slot.

    Weston, Chopra, Bordes 2015, Sec. 3.1 (O module) and 3.4 (write time):
    s_O(x, m) = Phi_x(x)^T U^T U Phi_y(m). The caller gives the two
    projections: ``state`` = U Phi_x(x) (the question plus the facts chosen
    so far) and ``candidates`` = U Phi_y(m_i). Write time enters as in the
    paper, as extra features of the candidate that U maps into the same
    space, so that the state decides how time counts: a learned vector per
    age of the memory (0 = the latest sentence) and, after the first hop, one
    per signed distance to the previously chosen fact. "Where is the milk"
    after "Mary dropped the milk" then looks for the closest earlier "Mary
    went" sentence, after "Mary got the milk" for the latest one; the
    paper's pairwise comparison of two candidates' write times is the
    difference of these per-candidate terms. The last slot is the NULL memory
    of Weston et al.'s bAbI experiments (score u . n, n learned): choosing
    it ends the search for supporting facts.

    With ``time="ordinal"`` write time is closer to the paper's features,
    which only say which of two sentences is older: the age enters as one
    learned vector scaled by age / memory_size, and the distance as one
    vector per side (earlier, same, later than the previous fact, or no
    previous fact) plus one scaled by distance / memory_size. Few weights,
    and "the latest such sentence" carries over to ages seldom seen in
    training, where a row per age must learn each age on its own.

    Args:
        memory_size: rows of the age table.
        dim: size of the projections.
        relative: add the distance-to-the-previous-fact features (hops after
            the first).
        time: ``"table"`` (a learned vector per age and per distance) or
            ``"ordinal"``.

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

    TIME = ("table", "ordinal")

    def __init__(self, memory_size, dim, relative=False, time="table", **kwargs):
        super().__init__(**kwargs)
        if time not in self.TIME:
            raise ValueError(f"time must be one of {list(self.TIME)}, got {time!r}")
        self.memory_size = memory_size
        self.dim = dim
        self.relative = relative
        self.time = time

    def build(self, *shapes):
        init = keras.initializers.RandomNormal(stddev=0.1)
        if self.time == "ordinal":
            self.age_vector = self.add_weight(name="age_vector", shape=(self.dim,), initializer=init)
        else:
            self.age_table = self.add_weight(name="age_table", shape=(self.memory_size, self.dim), initializer=init)
        self.null = self.add_weight(name="null", shape=(self.dim,), initializer=init)
        if self.relative and self.time == "ordinal":
            # Rows: earlier than, same as, later than the previous fact; no previous fact.
            self.side_table = self.add_weight(name="side_table", shape=(4, self.dim), initializer=init)
            self.distance_vector = self.add_weight(name="distance_vector", shape=(self.dim,), initializer=init)
        elif self.relative:
            # Rows 0..2M: distance previous - i from -M to M; row 2M + 1: no previous fact.
            self.distance_table = self.add_weight(name="distance_table", shape=(2 * self.memory_size + 2, self.dim),
                                                  initializer=init)

    def call(self, state, candidates, story_ids, previous=None):
        mask = slot_mask(story_ids)
        slots = ops.shape(mask)[1]
        position = ops.cast(ops.expand_dims(ops.arange(slots), 0), "float32")
        age = ops.clip(ops.sum(mask, axis=-1, keepdims=True) - 1.0 - position, 0, self.memory_size - 1)
        candidates = candidates + self._write_time(age, position, previous)
        scores = ops.sum(candidates * ops.expand_dims(state, 1), axis=-1)
        scores = ops.where(mask > 0, scores, ops.full_like(scores, NEG))
        null = ops.sum(state * ops.expand_dims(self.null, 0), axis=-1, keepdims=True)
        return ops.concatenate([scores, null], axis=1)

    def _write_time(self, age, position, previous):
        """The write-time features of every slot, [batch, slots, dim]."""
        m = float(self.memory_size)
        ordinal = self.time == "ordinal"
        out = ops.expand_dims(age / m, -1) * self.age_vector if ordinal else lookup(self.age_table, age)
        if not self.relative:
            return out
        prev = ops.cast(ops.expand_dims(previous, 1), "float32")
        none = prev < 0  # no previous fact
        offset = ops.clip(prev - position, -m, m)  # distance previous - i
        if ordinal:
            side = ops.where(none, 3.0, ops.sign(position - prev) + 1.0)
            distance = ops.where(none, 0.0, offset / m)
            return out + lookup(self.side_table, side) + ops.expand_dims(distance, -1) * self.distance_vector
        return out + lookup(self.distance_table, ops.where(none, 2 * m + 1, offset + m))

    def compute_output_spec(self, state, candidates, story_ids, previous=None):
        slots = None if candidates.shape[1] is None else candidates.shape[1] + 1
        return keras.KerasTensor((state.shape[0], slots), dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "memory_size": self.memory_size, "dim": self.dim, "relative": self.relative,
                "time": self.time}
