"""Masked recurrences as loops that train fast and export (helpers, not layers).

Two forms of one loop, chosen by ``training``:

- training: a ``tf.while_loop`` that reads its inputs from, and writes its
  states to, ``TensorArray``s. Its gradient is cheap; a loop that indexes a
  tensor at step t instead gets a gradient the size of the whole tensor at
  every step (a masked GRU of 80 units over 10 steps, batch 100, trained
  at 8,300 examples/s this way and 4,700 with ``fori_loop``).
- inference: ``keras.ops.fori_loop`` with plain indexing and
  ``scatter_update``, which the TFLite converter turns into built-in ops
  (WHILE, GATHER, SCATTER_ND) with a dynamic batch, where TensorArrays need
  the Flex delegate; tf2onnx writes it as an ONNX ``Loop``.

- training with a number of steps known when the graph is built (the
  words of a sentence or a question: the pipeline pads them to one size):
  the loop unrolled, ``UNROLL`` (at most ``MAX_UNROLL`` steps; the inputs
  unstacked once, so the gradient is one op per input). No loop control
  per step. On the same 10k batches, alternating, W-MemNN (whose sentence
  GRU runs over 12 words) trained at 1,556 examples/s this way against
  1,385 (+12%), DMN+ (its question GRU) at 2,404 against 2,198 (+9%).

All compute the same values; tests check that they agree.
``TRAINING_LOOP = "fori"`` makes training use the inference form too (for
``benchmarks/train_speed.py --compare-loops``).
"""

import tensorflow as tf
from keras import ops

TRAINING_LOOP = "tensor_array"
UNROLL = True
MAX_UNROLL = 32


def recur(step, inputs, initial, collect=False, training=False):
    """Runs ``carry = step(carry, *inputs_t)`` for t = 0 .. T-1.

    Args:
        step: a function of the carry (a tuple of [batch, ...] tensors) and
            the inputs at step t; returns the next carry (same structure).
        inputs: a list of time-major tensors [T, batch, ...].
        initial: the carry at t = 0, a tuple of tensors.
        collect: also return the carry of every step, stacked: ``True`` for
            every part of the carry, or a tuple of the indices of the parts
            to keep (the others are not stored).
        training: use the training form (see the module docstring).

    Returns:
        ``(final, states)``: the last carry, and a tuple of [T, batch, ...]
        tensors (the collected parts of the carry after each step) when
        ``collect``, else ``None``.
    """
    initial = tuple(initial)
    steps = ops.shape(inputs[0])[0]
    collect = tuple(range(len(initial))) if collect is True else tuple(collect or ())
    static = inputs[0].shape[0]
    if training and TRAINING_LOOP == "tensor_array" and UNROLL and static is not None and static <= MAX_UNROLL:
        return _unrolled(step, inputs, initial, collect)
    if training and TRAINING_LOOP == "tensor_array":
        return _while_tensor_array(step, inputs, initial, collect, steps)
    return _fori(step, inputs, initial, collect, steps)


def _unrolled(step, inputs, initial, collect):
    steps = [ops.unstack(x, axis=0) for x in inputs]  # one gradient op per input, not one per step
    carry, states = initial, []
    for inputs_t in zip(*steps):
        carry = tuple(step(carry, *inputs_t))
        states.append([carry[i] for i in collect])
    return carry, (tuple(ops.stack([s[j] for s in states]) for j in range(len(collect))) if collect else None)


def _while_tensor_array(step, inputs, initial, collect, steps):
    reads = [tf.TensorArray(x.dtype, size=steps, element_shape=x.shape[1:]).unstack(x) for x in inputs]
    writes = [tf.TensorArray(initial[i].dtype, size=steps, element_shape=initial[i].shape) for i in collect]

    def body(t, carry, writes):
        carry = tuple(step(carry, *[r.read(t) for r in reads]))
        return t + 1, carry, [w.write(t, carry[i]) for w, i in zip(writes, collect)]

    # maximum_iterations lets XLA size the gradient's accumulators (without it jit_compile fails).
    _, final, writes = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), initial, writes),
                                     maximum_iterations=steps)
    return final, (tuple(w.stack() for w in writes) if collect else None)


def _fori(step, inputs, initial, collect, steps):
    buffers = tuple(ops.zeros((steps,) + tuple(ops.shape(initial[i])), initial[i].dtype) for i in collect)

    def body(t, state):
        carry, buffers = state
        carry = tuple(step(carry, *[ops.take(x, t, axis=0) for x in inputs]))
        where = ops.reshape(t, (1, 1))
        buffers = tuple(ops.scatter_update(b, where, ops.expand_dims(carry[i], 0)) for b, i in zip(buffers, collect))
        return carry, buffers

    final, buffers = ops.fori_loop(0, steps, body, (initial, buffers))
    return final, (buffers if collect else None)


def time_major(x):
    """[batch, T, ...] -> [T, batch, ...]."""
    rank = len(x.shape)
    return ops.transpose(x, (1, 0) + tuple(range(2, rank)))


def reverse_time(x):
    """Reverses a [batch, T, ...] tensor along T (ops.flip; a gather, which every format has)."""
    steps = ops.shape(x)[1]
    return ops.take(x, ops.arange(steps - 1, -1, -1), axis=1)
