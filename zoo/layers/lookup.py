"""Row lookup in a weight table whose gradient is one dense tensor."""

import tensorflow as tf
from keras import ops


def lookup(table, ids):
    """``ops.take(table, ids, axis=0)`` with a dense gradient for ``table``.

    TensorFlow gives a gather the sparse gradient ``IndexedSlices``; the
    optimizer's gradient clipping and its update then turn it into a dense
    tensor twice, and under XLA on CPU each conversion is a slow serial
    scatter (about 0.15 ms for one bAbI batch, twice per embedding). Summing
    the rows once here makes a MemN2N training step about 25% faster. It also
    makes ``clipnorm`` see the true norm of the gradient: the norm of
    ``IndexedSlices`` is taken over the rows before repeated ids are summed.

    Args:
        table: [rows, dim] a weight.
        ids: int ids of any shape, each in ``[0, rows)``.

    Returns:
        [*ids.shape, dim].
    """
    rows, dim = table.shape

    @ops.custom_gradient
    def take(values, index):
        def grad(*args, upstream=None):
            if upstream is None:  # the TensorFlow backend passes it positionally
                (upstream,) = args
            flat = ops.reshape(upstream, (-1, dim))
            return ops.segment_sum(flat, ops.reshape(index, (-1,)), num_segments=rows), None

        return ops.take(values, index, axis=0), grad

    # The table goes in as a tensor (its value read here), so that the custom
    # gradient reaches the variable through the read.
    return take(tf.convert_to_tensor(table), ops.cast(ids, "int32"))
