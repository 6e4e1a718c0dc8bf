"""Fused time loops of the gray-box cells (TensorFlow backend): weights and tensors in, never a layer.

:class:`~lstm_apps.layers.GrayBoxRNN` runs a gray-box cell through these
functions when it can, as :class:`~lstm_apps.layers.LSTM1997` runs through
:func:`~lstm_apps.layers.kernels.lstm1997`; the generic
``keras.layers.RNN`` loop calls the cell's Python step once per time step,
with a few small ops each, and that per-step overhead, not arithmetic, is
what these cells spend their time on there.

* :func:`adaptive_forget`: the :class:`~lstm_apps.layers.AdaptiveForgetCell`
  *is* an LSTM with a forget gate: its forget gate's ``a − b·|r_t| + W_f x_t
  + U_f h_{t−1}`` is one more column block of the same net inputs once
  ``|r_t|`` is appended to the inputs. So its weights are laid out as the 1997
  kernel's (forget gate, ``tanh`` squash, full BPTT) and it runs on that
  kernel: one input projection, an XLA-compiled loop with one recurrent
  product per step, and a hand-written backward pass.
* :func:`methylation`: its gates depend on the dose alone, so the whole
  recursion is the linear recurrence of
  :mod:`~lstm_apps.layers.kernels.linear_tf` (a compiled loop with a
  hand-written backward pass).
* :func:`forgetting_curve`: every input-dependent term (decays, gate biases,
  cell inputs) is computed for all steps at once, and only the elementwise
  recurrence runs in the loop, compiled with XLA (:func:`compiled_loop`);
  its gradient is TensorFlow's, taken inside one compiled function.

The math is exactly each cell's ``gate_step``; ``tests/test_graybox_fast.py``
checks outputs and gradients against the generic loop.
"""

from __future__ import annotations

from lstm_apps.layers.kernels.linear_tf import linear_rnn
from lstm_apps.layers.kernels.lstm1997_tf import lstm1997
from lstm_apps.layers.kernels.scan import compiled, scan, tf_module

__all__ = ["ACTIVATION_EPS", "adaptive_forget", "compiled_loop", "forgetting_curve", "methylation", "slstm"]

#: the forgetting cell's activation floor (``readout="activation"``), as in the cell
ACTIVATION_EPS = 1e-3


def adaptive_forget(
    sequences,
    initial_state,
    kernel,
    recurrent_kernel,
    bias,
    forget_kernel,
    forget_recurrent_kernel,
    a,
    b,
    return_index=0,
    **loop,
):
    """Run an adaptive-forget LSTM over whole sequences on the 1997 kernel.

    Args:
        sequences: ``(batch, timesteps, features)``.
        initial_state: ``[h0, s0]``.
        kernel: ``(features + 1, 3 * units)``, columns ``[i | g | o]``, rows
            the features then ``|r|``.
        recurrent_kernel: ``(units, 3 * units)``; bias: ``(3 * units,)``.
        forget_kernel: ``W_f`` ``(features, units)``.
        forget_recurrent_kernel: ``U_f`` ``(units, units)`` or ``None`` (no
            recurrent forget term).
        a, b: the effective (constrained) forget parameters, ``(1,)`` or
            ``(units,)``.
        return_index: the input column of the return ``r``.
        **loop: ``mask``, ``go_backwards``, ``return_sequences``,
            ``zero_output_for_mask``, ``training`` as in
            :func:`~lstm_apps.layers.kernels.lstm1997`.

    Returns:
        ``(last_output, outputs, [h, s])`` like ``keras.backend.rnn``.
    """
    tf = tf_module()
    x = tf.convert_to_tensor(sequences)
    units = recurrent_kernel.shape[0]
    mag = tf.abs(x[:, :, return_index : return_index + 1])
    x = tf.concat([x, mag], axis=-1)
    kernel, recurrent_kernel, bias = (tf.convert_to_tensor(v) for v in (kernel, recurrent_kernel, bias))
    ones = tf.ones([1, units], x.dtype)
    forget_in = tf.concat([forget_kernel, -tf.reshape(b, [1, -1]) * ones], axis=0)  # |r| row: -b
    if forget_recurrent_kernel is None:
        forget_recurrent_kernel = tf.zeros([units, units], x.dtype)

    def layout(matrix, forget):  # [i | g | o] + forget -> the 1997 kernel's [i | f | g | o]
        i, g, o = tf.split(matrix, 3, axis=-1)
        return tf.concat([i, forget, g, o], axis=-1)

    return lstm1997(
        x,
        initial_state,
        layout(kernel, forget_in),
        layout(recurrent_kernel, forget_recurrent_kernel),
        layout(bias, tf.reshape(a, [-1]) * ones[0]),
        forget_gate=True,
        squash="tanh",
        truncate_gradients=False,
        **loop,
    )


def _loop_impl(step, n_states, masked, zero_output, xs, init, params):
    """The time-major loop: ``xs`` per-step tensors (the mask last when ``masked``)."""
    tf = tf_module()

    def fn(carry, x):
        states = carry[:n_states]
        out, new = step(x[: len(x) - masked], states, params)
        if not masked:
            return tuple(new), (out,)
        m = x[-1]
        new = [tf.where(m, n, s) for n, s in zip(new, states)]
        out = tf.where(m, out, tf.zeros_like(out) if zero_output else carry[-1])
        return (*new, out), (out,)

    final, (outputs,) = scan(fn, tuple(init), xs)
    return outputs, list(final[:n_states])


def compiled_loop(
    key,
    step,
    per_step,
    initial_state,
    params,
    output_size,
    mask=None,
    go_backwards=False,
    return_sequences=False,
    zero_output_for_mask=False,
    training=False,
):
    """A recurrence over whole sequences, compiled with XLA, its gradient taken in XLA too.

    Suited to steps of little arithmetic and many small ops (elementwise
    gates, a stabiliser), which the generic loop runs one by one and XLA
    fuses; the gradient runs the loop again inside its own compiled function
    (see :func:`_compiled_loop`).

    Args:
        key: hashable, what (with the arguments' structure) identifies ``step``
            for the cache of compiled loops.
        step: ``step(x_t, states, params) -> (output, new_states)``; ``x_t``
            the list of this step's slices of ``per_step``.
        per_step: batch-major tensors ``(batch, T, ...)``, one slice per step.
        initial_state: list of ``(batch, ...)`` tensors.
        params: tensors the step reads (weights), passed into the loop.
        output_size: the width of one step's output.
        mask, go_backwards, return_sequences, zero_output_for_mask: as in
            ``keras.backend.rnn``: a masked step keeps the states and
            outputs zeros or (by default) the last output.
        training: unused (the loop keeps what its gradient needs either way);
            accepted so that every gray-box kernel takes the same options.

    Returns:
        ``(last_output, outputs, states)`` like ``keras.backend.rnn``
        (``outputs`` ``(batch, 1, output_size)`` without ``return_sequences``).
    """
    tf = tf_module()

    def time_major(v):
        v = tf.transpose(v, [1, 0, 2])
        return tf.reverse(v, [0]) if go_backwards else v

    xs = [time_major(v) for v in per_step]
    init = list(initial_state)
    extra = []
    if mask is not None:
        extra.append(time_major(tf.cast(mask, tf.bool)[:, :, None]))
        init.append(tf.zeros(tf.stack([tf.shape(init[0])[0], output_size]), init[0].dtype))
    outputs, *states = _compiled_loop(
        key,
        step,
        len(initial_state),
        bool(zero_output_for_mask),
        xs,
        init,
        list(params),
        extra,
    )
    outputs = tf.transpose(outputs, [1, 0, 2])
    last = outputs[:, -1]
    return last, (outputs if return_sequences else last[:, None]), states


def _compiled_loop(key, step, n_states, zero_output, xs, init, params, extra):
    """``(outputs, *states)`` of the loop, compiled, with a gradient computed in a compiled function too.

    A loop's gradient needs each step's intermediates, which TensorFlow keeps
    in tensor lists that cannot leave an XLA function; so the gradient
    function runs the (cheap, elementwise) loop again under its own tape,
    inside one compiled function. Without a static number of steps
    neither is compiled (XLA's loop gradient needs it).
    """
    tf = tf_module()
    n_x, n_i = len(xs), len(init)
    masked = bool(extra)
    jit = xs[0].shape[0] is not None

    def run(args, extra):
        outputs, states = _loop_impl(
            step,
            n_states,
            masked,
            zero_output,
            [*args[:n_x], *extra],
            args[n_x : n_x + n_i],
            args[n_x + n_i :],
        )
        return [outputs, *states]

    def gradients(args, extra, grads):
        with tf.GradientTape() as tape:
            tape.watch(args)
            outs = run(args, extra)
        return tape.gradient(outs, args, output_gradients=grads, unconnected_gradients="zero")

    params = [tf.convert_to_tensor(v) for v in params]
    config = (key, masked, zero_output, n_x, n_i, len(params))
    forward = compiled("elementwise", run, config, jit)
    backward = compiled("elementwise_grad", gradients, config, jit)

    @tf.custom_gradient
    def loop(*args):
        args = [tf.stop_gradient(v) for v in args]
        outs = forward(args, extra)

        def grad(*grads):
            grads = [tf.zeros_like(o) if g is None else g for o, g in zip(outs, grads)]
            return backward(args, extra, grads)

        return outs, grad

    return loop(*xs, *init, *params)


def methylation(sequences, initial_state, mu, delta, inhibition, **loop):
    """Run the methylation recursion ``p_t = f_t p_{t−1} + i_t g_t`` over whole sequences.

    Its gates depend on the dose alone, so the recursion is linear with
    coefficients known before the loop (:func:`~lstm_apps.layers.kernels.linear_tf.linear_rnn`).

    Args:
        sequences: the dose ``(batch, timesteps, 1)``.
        initial_state: ``[p0]``, ``(batch, units)``.
        mu, delta, inhibition: the effective parameters, ``(units,)``.
        **loop: ``mask``, ``go_backwards``, ``return_sequences``,
            ``zero_output_for_mask``, ``training`` (see :func:`compiled_loop`).

    Returns:
        ``(last_output, outputs, [p])`` like ``keras.backend.rnn``.
    """
    tf = tf_module()
    dose = tf.clip_by_value(tf.convert_to_tensor(sequences)[:, :, 0:1], 0.0, 1.0)
    mu_t = mu * (1.0 - inhibition * dose)  # (batch, T, units): every step's gates at once
    f = mu_t - delta
    ig = (1.0 - f) * (delta / (1.0 - mu_t + delta))
    return linear_rnn(f, ig, initial_state[0], **loop)


def _forgetting_step(activation):
    def step(x, states, params):
        tf = tf_module()
        f, study, z_in, g = x
        w, readout_bias, gain = params[:3]
        s_dec = f * states[0]
        total = tf.reduce_sum(s_dec * w, axis=-1, keepdims=True)
        if activation:
            total = params[3] * tf.math.log(total + ACTIVATION_EPS)
        p = tf.sigmoid(total + readout_bias)
        i = study * tf.sigmoid(p * gain + z_in)
        s = s_dec + i * (g - s_dec)
        return p, [s]

    return step


def forgetting_curve(
    sequences,
    initial_state,
    tau,
    readout_weight,
    readout_bias,
    retrieval_gain,
    gate_bias,
    target_bias,
    gate_kernel=None,
    target_kernel=None,
    readout_slope=None,
    **loop,
):
    """Run the multi-timescale forgetting cell over whole sequences.

    Args:
        sequences: ``(batch, timesteps, 2 + event features)``: ``[Δt, study, features...]``.
        initial_state: ``[s0]``, ``(batch, units)``.
        tau, readout_weight: the effective time constants and readout weights ``(units,)``.
        readout_bias: ``(1,)``; retrieval_gain, gate_bias, target_bias: ``(units,)``.
        gate_kernel, target_kernel: ``(event features, units)`` or ``None``.
        readout_slope: the effective slope ``(1,)`` of ``readout="activation"``, else ``None``.
        **loop: ``mask``, ``go_backwards``, ``return_sequences``,
            ``zero_output_for_mask`` (see :func:`compiled_loop`).

    Returns:
        ``(last_output, outputs, [s])`` like ``keras.backend.rnn``; the
        output is the recall probability ``(batch, 1)`` per step.
    """
    tf = tf_module()
    x = tf.convert_to_tensor(sequences)
    f = tf.exp(-tf.maximum(x[:, :, 0:1], 0.0) / tau)  # every step's decay at once
    study = tf.clip_by_value(x[:, :, 1:2], 0.0, 1.0)
    z_in, z_g = gate_bias, target_bias
    if gate_kernel is not None:
        z_in = z_in + tf.matmul(x[:, :, 2:], gate_kernel)
    if target_kernel is not None:
        z_g = z_g + tf.matmul(x[:, :, 2:], target_kernel)
    shape = tf.shape(f)
    z_in = tf.broadcast_to(z_in, shape)
    g = tf.broadcast_to(tf.sigmoid(z_g), shape)
    activation = readout_slope is not None
    params = [readout_weight, readout_bias, retrieval_gain] + ([readout_slope] if activation else [])
    return compiled_loop(
        ("forgetting_curve", activation),
        _forgetting_step(activation),
        [f, study, z_in, g],
        initial_state[:1],
        params,
        1,
        **loop,
    )


def slstm(sequences, initial_state, kernel, bias, recurrent_kernel, step, key, **loop):
    """The sLSTM over whole sequences: all inputs projected at once, the recurrence in :func:`compiled_loop`.

    For inference: the loop's gradient through :func:`compiled_loop` (run
    again under XLA's loop gradient) is correct but slower than the generic
    loop's, as was the same loop in plain TensorFlow ops (measured with
    ``benchmarks/cells.py``), so :class:`~lstm_apps.layers.SLSTM` trains
    through the generic loop.

    Args:
        sequences: ``(batch, timesteps, features)``.
        initial_state: ``[h, c, n, m]``.
        kernel, bias: ``(features, 4 * units)`` and ``(4 * units,)``.
        recurrent_kernel: the cell's recurrent weights (any shape ``step`` reads).
        step: ``step(projected, states, recurrent_kernel) -> (h, [h, c, n, m])``,
            one step from its projected inputs; a pure function of its arguments.
        key: hashable, what identifies ``step`` (the cell's sizes and options).
        **loop: ``mask``, ``go_backwards``, ``return_sequences``,
            ``zero_output_for_mask``, ``training`` (see :func:`compiled_loop`).

    Returns:
        ``(last_output, outputs, [h, c, n, m])`` like ``keras.backend.rnn``.
    """
    tf = tf_module()
    x = tf.convert_to_tensor(sequences)
    projected = tf.matmul(x, tf.convert_to_tensor(kernel)) + tf.convert_to_tensor(bias)
    return compiled_loop(
        ("slstm", key),
        lambda xt, states, params: step(xt[0], states, params[0]),
        [projected],
        list(initial_state),
        [recurrent_kernel],
        bias.shape[-1] // 4,
        **loop,
    )
