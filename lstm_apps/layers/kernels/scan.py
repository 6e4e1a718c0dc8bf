"""TensorFlow loop utilities of the kernels: a chunked scan over time and cached compiled functions.

TensorFlow is imported on first use (:func:`tf_module`), so importing the
kernels does not load it under another Keras backend.
"""

from __future__ import annotations

__all__ = ["UNROLL", "compiled", "dim", "rows", "scan", "tf_module"]


def tf_module():
    """The ``tensorflow`` module, imported on first use."""
    import tensorflow as tf

    return tf


#: time steps per iteration of the compiled while loops (loop bookkeeping is
#: paid once per chunk; the remainder of T is stepped before the loop)
UNROLL = 8


def scan(fn, init, xs, unroll=UNROLL):
    """Sequential scan over axis 0 of the tensors ``xs``.

    ``fn(carry, x_t) -> (carry, y_t)`` with tuples of tensors. ``unroll``
    steps run per ``tf.while_loop`` iteration (1 when T is not static).
    Returns ``(final carry, ys)`` with every ``y`` stacked on a new axis 0.
    """
    tf = tf_module()
    steps = xs[0].shape[0]
    k = unroll if steps is not None else 1
    rem = steps % k if steps is not None else 0
    carry = tuple(init)
    init_shapes = [c.shape for c in carry]
    pre = []
    for t in range(rem):
        carry, y = fn(carry, tuple(x[t] for x in xs))
        pre.append(y)
    rest = [x[rem:] for x in xs]
    if steps is not None and steps - rem == 0:
        ys = [tf.stack(list(col)) for col in zip(*pre)]
        return carry, ys
    n_chunks = (tf.shape(rest[0])[0] // k) if steps is None else (steps - rem) // k

    def chunked(x):
        return tf.reshape(x, tf.concat([[n_chunks, k], tf.shape(x)[1:]], axis=0))

    rest = [chunked(x) for x in rest]

    def body(c, carry, tas):
        x_chunk = [tf.unstack(x[c], num=k) if k > 1 else [x[c][0]] for x in rest]
        outs = []
        for j in range(k):
            carry, y = fn(carry, tuple(col[j] for col in x_chunk))
            outs.append(y)
        for new, old in zip(carry, init_shapes):  # the reshaped chunks lose static dims; keep the carry's
            new.set_shape(old)
        tas = tuple(ta.write(c, tf.stack(list(col))) for ta, col in zip(tas, zip(*outs)))
        return c + 1, carry, tas

    # output structure from a trace-only probe of fn
    probe_carry, probe_y = fn(carry, tuple(x[0][0] for x in rest))
    n_out = len(probe_y)
    tas = tuple(
        tf.TensorArray(y.dtype, size=n_chunks, element_shape=tf.TensorShape([k]).concatenate(y.shape))
        for y in probe_y
    )
    _, carry, tas = tf.while_loop(
        lambda c, *_: c < n_chunks,
        body,
        (tf.constant(0, tf.int32), carry, tas),
        maximum_iterations=n_chunks,
    )
    ys = []
    for i in range(n_out):
        y = tas[i].stack()
        y = tf.reshape(y, tf.concat([[-1], tf.shape(y)[2:]], axis=0))
        if pre:
            y = tf.concat([tf.stack([p[i] for p in pre]), y], axis=0)
        ys.append(y)
    return carry, ys


_FUNCTIONS = {}


def compiled(kind, impl, key, jit):
    """A cached ``tf.function`` of ``impl`` for one static configuration."""
    key = (kind, key, jit)
    if key not in _FUNCTIONS:
        _FUNCTIONS[key] = tf_module().function(impl, jit_compile=jit, reduce_retracing=True, autograph=False)
    return _FUNCTIONS[key]


def dim(x, axis):
    """The size of ``x`` along ``axis``: static when known, else a scalar tensor (the
    functions are shared by layers of one configuration, so a retrace may relax shapes)."""
    size = x.shape[axis]
    return tf_module().shape(x)[axis] if size is None else size


def rows(x):
    """``x`` as a matrix: every axis but the last flattened."""
    return tf_module().reshape(x, [-1, dim(x, -1)])
