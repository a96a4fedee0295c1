"""A GRU over a masked sequence, as an exportable loop."""

import keras
from keras import ops

from zoo.layers.recurrence import recur, reverse_time, time_major

DIRECTIONS = ("forward", "backward", "bidirectional")
MERGES = ("sum", "concat")


@keras.saving.register_keras_serializable(package="zoo")
class MaskedGRU(keras.layers.Layer):
    """A GRU whose state moves only where the sequence is valid.

    The GRU of Kumar et al. 2016 (Eq. 1-5; Cho et al. 2014), with the reset
    gate applied after the recurrent matrix:

        u_t = sigmoid(W_u x_t + U_u h_{t-1} + b_u)
        r_t = sigmoid(W_r x_t + U_r h_{t-1} + b_r)
        h~_t = tanh(W x_t + r_t * (U h_{t-1}) + b)
        h_t = v_t * (u_t * h~_t + (1 - u_t) * h_{t-1}) + (1 - v_t) * h_{t-1}

    where v_t is ``valid`` at step t: at 0 (padding) the state carries over,
    so padding anywhere changes nothing; a value in between mixes the two,
    which is the gated GRU of the DMN's episodic memory (v_t = g_t, Eq. 9).
    The input projections of all steps are one matrix product before the
    loop (:func:`zoo.layers.recurrence.recur`); the loop holds only U h.

    Args:
        units: state size.
        direction: ``"forward"``, ``"backward"`` (the sequence read from its
            end) or ``"bidirectional"`` (both, with their own weights, in one
            loop).
        merge: how a bidirectional layer joins the two directions:
            ``"sum"`` (DMN+'s input fusion) or ``"concat"``.
        return_sequences: return the state at every step, not the last.

    Call arguments:
        inputs: [batch, T, features].
        valid: [batch, T] floats in [0, 1], or ``None`` (all valid).
        initial_state: [batch, units] or ``None`` (zeros); forward
            direction only.
        training: picks the loop form (:mod:`zoo.layers.recurrence`); the
            values are the same.

    Returns:
        [batch, T, units] (``return_sequences``) or [batch, units]; a
        bidirectional layer's last state is the forward state after the last
        step merged with the backward state after the first.

    Example:
        >>> gru = MaskedGRU(4)
        >>> tuple(gru(ops.ones((2, 3, 5)), ops.ones((2, 3))).shape)
        (2, 4)
    """

    def __init__(self, units, direction="forward", merge="sum", return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
        if merge not in MERGES:
            raise ValueError(f"merge must be one of {list(MERGES)}, got {merge!r}")
        self.units = units
        self.direction = direction
        self.merge = merge
        self.return_sequences = return_sequences

    def build(self, inputs_shape, valid_shape=None, initial_state_shape=None):
        features = inputs_shape[-1]
        n = 2 if self.direction == "bidirectional" else 1
        glorot = keras.initializers.GlorotUniform()
        self.kernel = self.add_weight(name="kernel", shape=(n, features, 3 * self.units), initializer=glorot)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(n, self.units, 3 * self.units),
                                                initializer=keras.initializers.Orthogonal())
        self.bias = self.add_weight(name="bias", shape=(n, 3 * self.units), initializer="zeros")

    def step(self, h, x_proj, keep, direction=0):
        """One step from the input projection ``x_proj`` = W x + b [batch, 3 units]; ``keep`` [batch, 1]."""
        u = self.units
        hu = ops.matmul(h, self.recurrent_kernel[direction])
        update = ops.sigmoid(x_proj[:, :u] + hu[:, :u])
        reset = ops.sigmoid(x_proj[:, u:2 * u] + hu[:, u:2 * u])
        candidate = ops.tanh(x_proj[:, 2 * u:] + reset * hu[:, 2 * u:])
        new = update * candidate + (1.0 - update) * h
        return keep * new + (1.0 - keep) * h

    def cell(self, x, h, direction=0):
        """One GRU step on [batch, features] input ``x`` from state ``h`` (e.g. the DMN memory update)."""
        x_proj = ops.matmul(x, self.kernel[direction]) + self.bias[direction]
        return self.step(h, x_proj, ops.ones_like(h[:, :1]), direction)

    def call(self, inputs, valid=None, initial_state=None, training=None):
        if valid is None:
            valid = ops.ones_like(inputs[:, :, 0])
        keep = ops.expand_dims(ops.cast(valid, inputs.dtype), -1)  # [batch, T, 1]
        proj = [ops.matmul(inputs, self.kernel[i]) + self.bias[i] for i in range(self.kernel.shape[0])]
        if self.direction == "backward":
            proj, keep = [reverse_time(proj[0])], reverse_time(keep)
        h0 = ops.zeros_like(proj[0][:, 0, :self.units]) if initial_state is None else initial_state
        if self.direction != "bidirectional":
            def step(carry, x_t, k_t):
                return (self.step(carry[0], x_t, k_t),)

            (last,), states = recur(step, [time_major(proj[0]), time_major(keep)], (h0,),
                                    collect=self.return_sequences, training=bool(training))
            if not self.return_sequences:
                return last
            states = time_major(states[0])
            return reverse_time(states) if self.direction == "backward" else states

        # Both directions in one loop: the backward one reads the reversed sequence.
        def step2(carry, xf, xb, kf, kb):
            return self.step(carry[0], xf, kf, 0), self.step(carry[1], xb, kb, 1)

        inputs_t = [time_major(proj[0]), time_major(reverse_time(proj[1])), time_major(keep),
                    time_major(reverse_time(keep))]
        (last_f, last_b), states = recur(step2, inputs_t, (h0, ops.zeros_like(h0)),
                                         collect=self.return_sequences, training=bool(training))
        if self.return_sequences:
            forward, backward = time_major(states[0]), reverse_time(time_major(states[1]))
        else:
            forward, backward = last_f, last_b
        return forward + backward if self.merge == "sum" else ops.concatenate([forward, backward], axis=-1)

    def compute_output_shape(self, inputs_shape, valid_shape=None, initial_state_shape=None):
        units = self.units * (2 if self.direction == "bidirectional" and self.merge == "concat" else 1)
        if self.return_sequences:
            return tuple(inputs_shape[:2]) + (units,)
        return (inputs_shape[0], units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "direction": self.direction, "merge": self.merge,
                "return_sequences": self.return_sequences}
