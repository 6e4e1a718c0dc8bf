"""The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` as one compiled loop (TensorFlow backend).

Cells whose coefficients ``a_t, b_t`` do not depend on the state (minGRU,
minLSTM, the methylation cell) compute them for every step at once and leave
only this elementwise recurrence. On a CPU a sequential loop compiled with XLA
is the fastest way to run it: one fused multiply-add per element and step, the
data read once, where a parallel (Blelloch) scan moves the data ``log T``
times through many small ops that two cores cannot overlap. The backward pass
is hand-written (TensorFlow cannot take the gradient of an XLA loop from
outside it): the error of ``h_t`` is ``g_t = dh_t + a_{t+1} g_{t+1}``, the
same recurrence run in reverse, and then ``da_t = g_t h_{t-1}``,
``db_t = g_t``, ``dh_0 = a_1 g_1``.
"""

from __future__ import annotations

from lstm_apps.layers.kernels.scan import compiled, scan, tf_module

__all__ = ["gated_linear_rnn", "linear_recurrence", "linear_rnn", "sequential_loop_preferred"]


def sequential_loop_preferred() -> bool:
    """True with the TensorFlow backend and no GPU visible: there :func:`linear_recurrence`
    beats a parallel scan (on a GPU the scan's ``log T`` depth wins)."""
    import keras

    return keras.backend.backend() == "tensorflow" and not tf_module().config.list_logical_devices("GPU")


def _forward(a, b, h0):
    """Batch-major ``a, b`` (batch, T, units) -> batch-major ``h``."""
    tf = tf_module()

    def fn(carry, x):
        h = x[0] * carry[0] + x[1]
        return (h,), (h,)

    _, (h,) = scan(fn, (h0,), [tf.transpose(a, [1, 0, 2]), tf.transpose(b, [1, 0, 2])])
    return tf.transpose(h, [1, 0, 2])


def _backward(a, h0, h, dh):
    """``(da, db, dh0)`` of :func:`_forward` from the error ``dh`` of every state."""
    tf = tf_module()

    def fn(carry, x):  # in reverse: g_t = dh_t + a_{t+1} g_{t+1}; the carry is a_t g_t
        g = x[0] + carry[0]
        return (x[1] * g,), (g,)

    xs = [tf.reverse(tf.transpose(v, [1, 0, 2]), [0]) for v in (dh, a)]
    (dh0,), (g,) = scan(fn, (tf.zeros_like(h0),), xs)
    g = tf.transpose(tf.reverse(g, [0]), [1, 0, 2])
    h_prev = tf.concat([h0[:, None], h[:, :-1]], axis=1)
    return g * h_prev, g, dh0


def linear_recurrence(a, b, h0):
    """Every state of ``h_t = a_t * h_{t-1} + b_t``, with its gradient.

    Args:
        a: ``(batch, timesteps, units)``; a step with ``a = 1, b = 0`` keeps
            the state (a masked step).
        b: the same shape.
        h0: ``(batch, units)``, the state before the first step.

    Returns:
        ``h`` ``(batch, timesteps, units)``, the state after every step.

    Example:

    >>> import numpy as np
    >>> a = np.full((1, 3, 1), 0.5, "float32")
    >>> np.asarray(linear_recurrence(a, np.ones_like(a), np.zeros((1, 1), "float32")))[0, :, 0]
    array([1.  , 1.5 , 1.75], dtype=float32)
    """
    tf = tf_module()
    a, b = tf.convert_to_tensor(a), tf.convert_to_tensor(b)
    h0 = tf.cast(tf.convert_to_tensor(h0), a.dtype)
    forward = compiled("linear_fwd", _forward, None, True)
    backward = compiled("linear_bwd", _backward, None, True)

    @tf.custom_gradient
    def run(a, b, h0):
        a, b, h0 = (tf.stop_gradient(v) for v in (a, b, h0))
        h = forward(a, b, h0)

        def grad(dh):
            return backward(a, h0, h, dh)

        return h, grad

    return run(a, b, h0)


def linear_rnn(
    a,
    b,
    h0,
    mask=None,
    go_backwards=False,
    return_sequences=False,
    zero_output_for_mask=False,
    training=False,
):
    """A layer's time loop over a linear recurrence whose output is its state, as ``keras.backend.rnn``.

    Args:
        a, b: ``(batch, timesteps, units)``, in the order of the inputs.
        h0: ``(batch, units)``.
        mask: optional boolean ``(batch, timesteps)``: a masked step keeps the
            state and outputs zeros (``zero_output_for_mask``) or the last
            output (zeros before the first unmasked step).
        go_backwards: process the steps in reverse (outputs in processing order).
        return_sequences: also return every step's output.
        zero_output_for_mask: see ``mask``.
        training: unused; accepted so that the gray-box kernels take the same options.

    Returns:
        ``(last_output, outputs, [h_T])`` (``outputs`` ``(batch, 1, units)``
        without ``return_sequences``).
    """
    tf = tf_module()
    if go_backwards:
        a, b = tf.reverse(a, [1]), tf.reverse(b, [1])
        mask = None if mask is None else tf.reverse(mask, [1])
    keep = None
    if mask is not None:
        keep = tf.cast(mask, tf.bool)[:, :, None]
        a = tf.where(keep, a, tf.ones_like(a))
        b = tf.where(keep, b, tf.zeros_like(b))
    h = linear_recurrence(a, b, h0)
    outputs = h
    if keep is not None:
        shown = keep if zero_output_for_mask else tf.cumsum(tf.cast(keep, tf.int32), axis=1) > 0
        outputs = tf.where(shown, h, tf.zeros_like(h))
    last = outputs[:, -1]
    return last, (outputs if return_sequences else last[:, None]), [h[:, -1]]


def gated_linear_rnn(sequences, h0, kernel, bias, coefficients, key, scan_dtype=None, **loop):
    """A cell whose step is ``h_t = a_t h_{t-1} + b_t`` with ``(a_t, b_t) = coefficients(x_t W + b)``.

    The projection and the coefficients of every step run as one XLA
    function (its gradient is TensorFlow's, also compiled: no loop inside),
    the recurrence as :func:`linear_recurrence`.

    Args:
        sequences: ``(batch, timesteps, features)``.
        h0: ``(batch, units)``.
        kernel, bias: the input weights ``(features, width)`` and ``(width,)``.
        coefficients: ``coefficients(projected) -> (a, b)``, elementwise over
            ``(batch, timesteps, width)``; a pure function of its argument.
        key: hashable, what identifies ``coefficients`` (with its cell's
            sizes) for the cache of compiled functions.
        scan_dtype: the dtype of the coefficients and the recurrence (float32
            under a mixed-precision policy); ``None``: that of ``sequences``.
        **loop: ``mask``, ``go_backwards``, ``return_sequences``,
            ``zero_output_for_mask``, ``training`` (see :func:`linear_rnn`).

    Returns:
        ``(last_output, outputs, [h_T])`` as :func:`linear_rnn`, in ``scan_dtype``.
    """
    tf = tf_module()
    x = tf.convert_to_tensor(sequences)
    dtype = tf.as_dtype(scan_dtype or x.dtype)

    def gates(x, kernel, bias):
        projected = tf.cast(tf.matmul(x, tf.cast(kernel, x.dtype)) + tf.cast(bias, x.dtype), dtype)
        return coefficients(projected)

    kernel, bias = tf.convert_to_tensor(kernel), tf.convert_to_tensor(bias)
    a, b = compiled("gated_coefficients", gates, (key, dtype.name), True)(x, kernel, bias)
    return linear_rnn(a, b, tf.cast(h0, dtype), **loop)
