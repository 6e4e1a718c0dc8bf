"""Fast time loop of the 1997 LSTM (TensorFlow backend): the kernel behind ``LSTM1997``.

:class:`~lstm_apps.layers.LSTM1997` runs through :func:`lstm1997` when it
can, as ``keras.layers.LSTM`` runs through ``keras.backend.lstm``: the kernel
takes the weights and tensors, never the layer. The inputs of every time
step are projected with one matrix product before the loop, the loop itself
does one fused recurrent product per step (compiled with XLA), a large batch
on a CPU is split into one independent loop per core, forward and backward
passes apart (:mod:`~lstm_apps.layers.kernels.sharding`; the count picked at
run time when the batch size is unknown at trace time), and the backward pass is
hand-written (a ``tf.custom_gradient``; the derivatives are in
:mod:`~lstm_apps.layers.kernels.lstm1997_math`). With the paper's truncated
gradients (``truncate_gradients=True``) no error crosses time through
``h_{t-1}``, so the only recurrence left is the elementwise one of the cell
state ``s`` (a reverse cumulative sum without forget gate; an elementwise
loop with it or with masks), and the weight gradients are one large product
over all steps; full BPTT runs a reverse loop with one product per step
(TensorFlow's ops: compiled with XLA, these loops ran 2-3 times slower on a
CPU; see ``lstm1997_math.JIT_BACKWARD``). A
many-to-one layer (``return_sequences=False``, no mask, no forget gate) with
truncated gradients needs no loop at all in its backward pass: the only error
that crosses time rides the constant error carousel unchanged, so every step
sees the same error of ``s`` (the paper's constant error flow); its forward
loop keeps no per-step outputs in inference.

The math is exactly the cell's (see :class:`~lstm_apps.layers.LSTM1997Cell`);
``tests/test_fast.py`` checks outputs and gradients against the generic
``keras.layers.RNN(LSTM1997Cell)`` path for every option combination.
"""

from __future__ import annotations

import numpy as np

from lstm_apps.layers.kernels.lstm1997_math import (
    Spec,
    backward,
    cell_step,
    fused_post,
    fused_pre,
    last_fused,
    reverse_cumsum,
    weight_grad,
)
from lstm_apps.layers.kernels.scan import compiled, dim, rows, scan, tf_module
from lstm_apps.layers.kernels.sharding import auto_shards, dispatch, split_sizes

__all__ = ["FUSED_BACKWARD", "JIT_MAX_BATCH_UNITS", "fast_path_supported", "lstm1997"]


def fast_path_supported() -> bool:
    """True when the Keras backend is TensorFlow (the fast loop is written in TF)."""
    import keras

    return keras.backend.backend() == "tensorflow"


#: ``jit_compile="auto"`` compiles the forward loop with XLA up to this batch * units
#: (``None``: always). On an idle 2-core CPU the compiled loop was faster at every
#: shape of ``benchmarks/cells.py`` (units 32-256, batch 32-256).
JIT_MAX_BATCH_UNITS = None


#: run the elementwise parts of the default (truncated, no forget gate, no mask) backward pass
#: as two XLA fusions around TensorFlow's cumulative sum
FUSED_BACKWARD = True


def _forward_impl(spec, proj, kernel, h0, s0, mask, store, last=False):
    """Time-major loop: proj (T, B, W), mask (T, B, 1) bool or None.

    Returns ``H, S`` (T, B, units) and, with ``store``, the per-step
    activations ``A`` (T, B, W) for the backward pass. With ``last`` (no
    mask) only the final ``h_T, s_T`` (B, units) come back, followed, with
    ``store``, by each step's incoming ``h_{t-1}`` (T, B, units) and ``A``:
    all the truncated backward pass of a many-to-one layer reads.
    """
    tf = tf_module()

    def fn(carry, x):
        h, s = carry
        z = x[0] + tf.matmul(h, kernel)
        h_new, s_new, act = cell_step(spec, z, s)
        if mask is not None:
            m = x[1]
            h_new = tf.where(m, h_new, h)
            s_new = tf.where(m, s_new, s)
        if last:
            return (h_new, s_new), ((h, act) if store else ())
        return (h_new, s_new), ((h_new, s_new, act) if store else (h_new, s_new))

    xs = [proj] if mask is None else [proj, mask]
    final, ys = scan(fn, (h0, s0), xs)
    return (*final, *ys) if last else tuple(ys)


def _time_major(x, reverse):
    """``(batch, T, F)`` -> ``(T, batch, F)``, the steps reversed with ``reverse``."""
    tf = tf_module()
    x = tf.transpose(x, [1, 0, 2])
    return tf.reverse(x, [0]) if reverse else x


def _batch_major(x, reverse):
    """The inverse of :func:`_time_major`."""
    tf = tf_module()
    return tf.transpose(tf.reverse(x, [0]) if reverse else x, [1, 0, 2])


def _project(x, w, b, reverse):
    """Every step's ``x W + b`` from batch-major inputs, time-major ``(T, batch, width)``."""
    tf = tf_module()
    xt = _time_major(x, reverse)
    return tf.reshape(tf.matmul(rows(xt), w) + b, tf.stack([dim(xt, 0), dim(xt, 1), dim(w, -1)]))


def _input_grads(x, w, dz, reverse):
    """``(dx, dW, db)`` of the projection from the net-input gradients ``dz`` (T, batch, width),
    in plain ops, so a graph that does not need ``dx`` prunes it."""
    tf = tf_module()
    dz2 = rows(dz)
    dw = tf.matmul(rows(_time_major(x, reverse)), dz2, transpose_a=True)
    dx = tf.reshape(tf.matmul(dz2, w, transpose_b=True), tf.gather(tf.shape(x), [1, 0, 2]))
    return _batch_major(dx, reverse), dw, tf.reduce_sum(dz2, axis=0)


def _splitter(x, shards):
    """A function splitting tensors along axis 0 into ``shards`` pieces (one: unchanged)."""
    tf = tf_module()
    static = x.shape[0]
    sizes = split_sizes(int(static) if static is not None else tf.shape(x)[0], shards)
    if sizes is None:
        return lambda v: [v]
    return lambda v: tf.split(v, sizes, axis=0, num=shards)


def _local(*tensors):
    """The forward pass's tensors as the gradient's own (``tf.identity``): a branch of a
    ``tf.switch_case`` (:func:`~lstm_apps.layers.kernels.sharding.dispatch`) cannot hand its
    inner tensors to a compiled function called from its gradient directly."""
    return [None if t is None else tf_module().identity(t) for t in tensors]


def _join(parts):
    return tf_module().concat(parts, axis=0) if len(parts) > 1 else parts[0]


def _project_last(spec, x, w, b, kernel, h0, s0, store, reverse):
    """The many-to-one forward pass from batch-major inputs: projection and loop in one function."""
    return _forward_impl(spec, _project(x, w, b, reverse), kernel, h0, s0, None, store, last=True)


def _last_backward(spec, H_prev, A, sT, dhT, dsT):
    """Net-input and state gradients of one shard of a many-to-one layer: ``(dz, dkernel, ds0)``."""
    fused = compiled("last", lambda A, sT, dhT, dsT: last_fused(spec, A, sT, dhT, dsT), spec, True)
    dz, gs = fused(A, sT, dhT, dsT)
    return dz, weight_grad(H_prev, dz), gs


def _core_last(spec, x, w, b, kernel, h0, s0, store, jit, shards=1, reverse=False):
    """``(h_T, s_T)`` of a many-to-one layer (truncated, no forget gate, no mask), with its gradient.

    ``x`` are the batch-major inputs: the input projection runs in the same
    compiled function as the loop. The loop keeps no per-step outputs for
    inference; for training it keeps each step's ``h_{t-1}`` and gate
    activations, and the backward pass is elementwise (:func:`last_fused`)
    plus one product per weight. ``shards`` split the batch (axis 0 of
    ``x``) into independent loops whose backward passes also stay apart, so
    no per-step tensor is ever joined. A gradient of an inference call runs
    the storing loop again.
    """
    tf = tf_module()
    fwd = compiled(
        "fwd_last", lambda *a: _project_last(spec, *a, store, reverse), (spec, store, reverse), jit
    )
    fwd_store = compiled(
        "fwd_last", lambda *a: _project_last(spec, *a, True, reverse), (spec, True, reverse), jit
    )
    bwd = compiled("bwd_last", lambda *a: _last_backward(spec, *a), spec, False)
    split = _splitter(x, shards)

    @tf.custom_gradient
    def core(x, w, b, kernel, h0, s0):
        args = [tf.stop_gradient(v) for v in (x, w, b, kernel, h0, s0)]
        xs, h0s, s0s = split(args[0]), split(args[4]), split(args[5])
        outs = [fwd(xi, args[1], args[2], args[3], hi, si) for xi, hi, si in zip(xs, h0s, s0s)]
        hT, sT = _join([o[0] for o in outs]), _join([o[1] for o in outs])

        def grad(dhT, dsT):
            dhT = tf.zeros_like(hT) if dhT is None else dhT
            dsT = tf.zeros_like(sT) if dsT is None else dsT
            dw = db = dk = None
            dxs, ds0s = [], []
            for xi, hi, si, o, dhi, dsi in zip(xs, h0s, s0s, outs, split(dhT), split(dsT)):
                H_prev, A = (o[2], o[3]) if store else fwd_store(*_local(xi, *args[1:4], hi, si))[2:]
                dz, dki, ds0 = bwd(H_prev, A, o[1], dhi, dsi)
                dxi, dwi, dbi = _input_grads(xi, args[1], dz, reverse)
                dw, db, dk = (dwi, dbi, dki) if dw is None else (dw + dwi, db + dbi, dk + dki)
                dxs.append(dxi)
                ds0s.append(ds0)
            return _join(dxs), dw, db, dk, tf.zeros_like(h0), _join(ds0s)

        return (hT, sT), grad

    return core(x, w, b, kernel, h0, s0)


def _seq_forward(spec, x, w, b, kernel, h0, s0, mask, store, reverse):
    """The forward pass of one shard with every step's output, from batch-major inputs.

    Returns time-major ``(H, S, A)`` with ``store`` (what the backward pass
    reads), else the batch-major outputs ``Y`` and the final ``h_T, s_T``.
    """
    tf = tf_module()
    m = None if mask is None else _time_major(tf.cast(mask, tf.bool)[:, :, None], reverse)
    out = _forward_impl(spec, _project(x, w, b, reverse), kernel, h0, s0, m, store)
    if store:
        return out
    H, S = out
    return tf.transpose(H, [1, 0, 2]), H[-1], S[-1]


def _seq_errors(dY, dhT, dsT):
    """Time-major errors reaching every ``h_t`` and the error of ``s_T`` as a last row:
    ``(dH, dS_T)`` with ``dH`` (T, batch, units), ``dh_T`` added at the last step."""
    tf = tf_module()
    dH = tf.transpose(dY, [1, 0, 2])
    steps = tf.shape(dH)[0]
    last = tf.reshape(tf.one_hot(steps - 1, steps, dtype=dH.dtype), [-1, 1, 1])
    return dH + last * dhT[None], last * dsT[None]


def _seq_pre(spec, A, S, dY, dhT, dsT):
    """XLA-fused first half of the truncated backward pass (no forget gate, no mask):
    ``dH`` and the error entering the carousel at every step, ``dS + dH * a``."""
    dH, dS = _seq_errors(dY, dhT, dsT)
    return dH, fused_pre(spec, A, S, dH, dS)


def _seq_backward(spec, truncated, kernel, h0, s0, mask, H, S, A, dY, dhT, dsT, reverse):
    """Net-input, recurrent-weight and initial-state gradients of one shard: ``(dz, dkernel, dh0, ds0)``."""
    tf = tf_module()
    if mask is None and truncated and not spec.forget and FUSED_BACKWARD:
        pre = compiled("seq_pre", lambda *a: _seq_pre(spec, *a), spec, True)
        post = compiled("post", lambda A, S, dH, gs: fused_post(spec, A, S, dH, gs), spec, True)
        dH, g = pre(A, S, dY, dhT, dsT)
        gs = reverse_cumsum(g)
        dz = post(A, S, dH, gs)
        # h_{t-1} is h0 then H[:-1]: two products instead of joining them into a copy
        dkernel = weight_grad(H[:-1], dz[1:]) + tf.matmul(h0, dz[0], transpose_a=True)
        return dz, dkernel, tf.zeros_like(h0), gs[0]
    dH, dS = _seq_errors(dY, dhT, dsT)
    m = None if mask is None else _time_major(tf.cast(mask, tf.bool)[:, :, None], reverse)
    return backward(spec, truncated, None, kernel, h0, s0, m, H, S, A, dH, dS)


def _core_seq(spec, truncated, x, w, b, kernel, h0, s0, mask, store, jit, shards=1, reverse=False):
    """``(Y, h_T, s_T)``: every step's output ``Y`` (batch, T, units), with the hand-written gradient.

    ``x`` (and ``mask``) are batch-major; ``shards`` split them along the
    batch into contiguous pieces, each projected, looped and (for a gradient)
    differentiated on its own; only ``Y``, the final states and the input
    gradients are joined, along the batch. The forward loop is compiled with
    ``jit``; the backward pass runs on TensorFlow's kernels, with XLA-fused
    elementwise parts on the default path (XLA's CPU cumulative sum and
    large products were slower in our measurements). Inference keeps no
    time-major outputs; a gradient of an inference call runs the storing
    loop again.
    """
    tf = tf_module()
    key = (spec, truncated, mask is not None, reverse)
    fwd = compiled("fwd_seq", lambda *a: _seq_forward(spec, *a, store, reverse), (*key, store), jit)
    fwd_store = compiled("fwd_seq", lambda *a: _seq_forward(spec, *a, True, reverse), (*key, True), jit)
    bwd = compiled("bwd_seq", lambda *a: _seq_backward(spec, truncated, *a, reverse), key, False)
    split = _splitter(x, shards)
    masks = [None] * shards if mask is None else split(mask)

    @tf.custom_gradient
    def core(x, w, b, kernel, h0, s0):
        args = [tf.stop_gradient(v) for v in (x, w, b, kernel, h0, s0)]
        xs, h0s, s0s = split(args[0]), split(args[4]), split(args[5])
        outs = [fwd(xi, *args[1:4], hi, si, mi) for xi, hi, si, mi in zip(xs, h0s, s0s, masks)]
        if store:
            Y = _join([tf.transpose(o[0], [1, 0, 2]) for o in outs])
            hT, sT = _join([o[0][-1] for o in outs]), _join([o[1][-1] for o in outs])
        else:
            Y, hT, sT = (_join([o[i] for o in outs]) for i in range(3))

        def grad(dY, dhT, dsT):
            dY = tf.zeros_like(Y) if dY is None else dY
            dhT = tf.zeros_like(hT) if dhT is None else dhT
            dsT = tf.zeros_like(sT) if dsT is None else dsT
            dw = db = dk = None
            dxs, dh0s, ds0s = [], [], []
            pieces = zip(xs, h0s, s0s, masks, outs, split(dY), split(dhT), split(dsT))
            for xi, hi, si, mi, o, dyi, dhi, dsi in pieces:
                H, S, A = o if store else fwd_store(*_local(xi, *args[1:4], hi, si, mi))
                dz, dki, dh0, ds0 = bwd(args[3], hi, si, mi, H, S, A, dyi, dhi, dsi)
                dxi, dwi, dbi = _input_grads(xi, args[1], dz, reverse)
                dw, db, dk = (dwi, dbi, dki) if dw is None else (dw + dwi, db + dbi, dk + dki)
                dxs.append(dxi)
                dh0s.append(dh0)
                ds0s.append(ds0)
            return _join(dxs), dw, db, dk, _join(dh0s), _join(ds0s)

        return (Y, hT, sT), grad

    return core(x, w, b, kernel, h0, s0)


def lstm1997(
    sequences,
    initial_state,
    kernel,
    recurrent_kernel,
    bias,
    cells_per_block=1,
    forget_gate=False,
    squash="paper",
    truncate_gradients=True,
    mask=None,
    go_backwards=False,
    return_sequences=True,
    zero_output_for_mask=False,
    training=False,
    jit_compile="auto",
    shards="auto",
):
    """Run the 1997 LSTM over whole sequences, fast.

    Same results and gradients as ``keras.backend.rnn`` stepping an
    :class:`~lstm_apps.layers.LSTM1997Cell` with these weights (masks,
    ``go_backwards`` and ``zero_output_for_mask`` included); TensorFlow
    backend only.

    Args:
        sequences: ``(batch, timesteps, features)``.
        initial_state: ``[h0, s0]``, each ``(batch, units)``.
        kernel: input weights ``(features, width)``, in the cell's layout
            (see :class:`~lstm_apps.layers.LSTM1997Cell`).
        recurrent_kernel: recurrent weights ``(units, width)``.
        bias: ``(width,)``.
        cells_per_block, forget_gate, squash, truncate_gradients: the cell's
            options, as in :class:`~lstm_apps.layers.LSTM1997Cell`.
        mask: optional boolean ``(batch, timesteps)``.
        go_backwards: process the steps in reverse (outputs stay in processing order).
        return_sequences: also build the ``(batch, timesteps, units)`` outputs.
        zero_output_for_mask: zeros at masked steps instead of the previous output.
        training: keep each step's gate activations for the backward pass
            (otherwise a gradient recomputes them: with one large product,
            or, on the many-to-one path, by running the loop again).
        jit_compile: compile the forward loop with XLA: ``"auto"`` does so
            unless :data:`JIT_MAX_BATCH_UNITS` is set and
            ``batch * units`` exceeds it; an unknown
            batch size counts as 32.
        shards: run the batch as this many independent loops, side by side
            (the same results: sequences do not interact). ``"auto"`` uses one
            per CPU core (at most one per ``SHARD_MIN_BATCH // 2`` sequences)
            for batches of at least
            :data:`~lstm_apps.layers.kernels.sharding.SHARD_MIN_BATCH`
            sequences when no GPU is visible, else 1. With a batch size
            unknown when the function is traced (``keras.Input((T, F))``,
            ``fit``, ``predict``) every count the batch may get is traced and
            the batch picks one at run time
            (:func:`~lstm_apps.layers.kernels.sharding.dispatch`).

    Returns:
        ``(last_output, outputs, [h, s])`` like ``keras.backend.rnn``
        (``outputs`` is ``None`` unless ``return_sequences``).

    Example:

    ```python
    cell = layer.cell  # a built LSTM1997Cell
    last, outputs, (h, s) = lstm1997(
        x, [h0, s0], cell.kernel, cell.recurrent_kernel, cell.bias, cells_per_block=cell.cells_per_block
    )
    ```
    """
    tf = tf_module()
    spec = Spec(int(recurrent_kernel.shape[0]), cells_per_block, forget_gate, squash)
    width = sum(spec.widths)
    shapes = (tuple(kernel.shape)[-1:], tuple(recurrent_kernel.shape), tuple(bias.shape))
    if shapes != ((width,), (spec.units, width), (width,)):
        raise ValueError(
            f"the weights do not fit a cell of {spec.units} units with cells_per_block={spec.cpb} and "
            f"forget_gate={spec.forget}: expected kernel (features, {width}), recurrent_kernel "
            f"({spec.units}, {width}) and bias ({width},), received {tuple(kernel.shape)}, "
            f"{tuple(recurrent_kernel.shape)} and {tuple(bias.shape)}."
        )
    auto = shards == "auto"
    static_batch = sequences.shape[0]
    if auto:
        shards = auto_shards(static_batch)
    if isinstance(shards, bool) or not isinstance(shards, (int, np.integer)) or shards < 1:
        raise ValueError(f"shards must be a positive integer or 'auto', received {shards!r}.")
    if jit_compile == "auto":
        jit_compile = JIT_MAX_BATCH_UNITS is None or (static_batch or 32) * spec.units <= JIT_MAX_BATCH_UNITS
    x = tf.convert_to_tensor(sequences)
    w, b, rec = (tf.cast(tf.convert_to_tensor(v), x.dtype) for v in (kernel, bias, recurrent_kernel))
    h0, s0 = (tf.cast(v, x.dtype) for v in initial_state[:2])
    store, jit, reverse = bool(training), bool(jit_compile), bool(go_backwards)
    batch = tf.shape(x)[0]
    if not return_sequences and mask is None and truncate_gradients and not spec.forget and FUSED_BACKWARD:
        h_last, s_last = dispatch(
            lambda n: _core_last(spec, x, w, b, rec, h0, s0, store, jit, n, reverse),
            batch,
            static_batch,
            int(shards),
            auto,
        )
        return h_last, None, [h_last, s_last]
    if mask is not None:
        mask = tf.cast(tf.convert_to_tensor(mask), tf.bool)
    truncated = bool(truncate_gradients)
    Y, h_last, s_last = dispatch(
        lambda n: _core_seq(spec, truncated, x, w, b, rec, h0, s0, mask, store, jit, n, reverse),
        batch,
        static_batch,
        int(shards),
        auto,
    )
    if mask is None:
        out = Y
    else:
        keep = mask[:, ::-1, None] if reverse else mask[:, :, None]  # in processing order
        if zero_output_for_mask:
            out = tf.where(keep, Y, tf.zeros_like(Y))
        else:
            # a masked step repeats the last emitted output; zeros before the first one
            seen = tf.cumsum(tf.cast(keep, tf.int32), axis=1) > 0
            out = tf.where(seen, Y, tf.zeros_like(Y))
    return out[:, -1], (out if return_sequences else None), [h_last, s_last]
