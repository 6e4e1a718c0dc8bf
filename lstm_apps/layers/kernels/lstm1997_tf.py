"""Fast time loop of the 1997 LSTM (TensorFlow backend): the kernel behind ``LSTM1997``.

:class:`~lstm_apps.layers.LSTM1997` runs through :func:`lstm1997` when it
can, as ``keras.layers.LSTM`` runs through ``keras.backend.lstm``: the kernel
takes the weights and tensors, never the layer. The inputs of every time
step are projected with one matrix product before the loop, the loop itself
does one fused recurrent product per step (compiled with XLA), a large batch
on a CPU is split into one independent loop per core
(:mod:`~lstm_apps.layers.kernels.sharding`), and the backward pass is
hand-written (a ``tf.custom_gradient``; the derivatives are in
:mod:`~lstm_apps.layers.kernels.lstm1997_math`). With the paper's truncated
gradients (``truncate_gradients=True``) no error crosses time through
``h_{t-1}``, so the only recurrence left is the elementwise one of the cell
state ``s`` (a reverse cumulative sum without forget gate; an elementwise
loop with it or with masks), and the weight gradients are one large product
over all steps; full BPTT runs a reverse loop with one product per step. A
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
from keras import ops

from lstm_apps.layers.kernels.lstm1997_math import (
    Spec,
    backward,
    cell_step,
    last_fused,
    truncated_backward,
    weight_grad,
)
from lstm_apps.layers.kernels.scan import compiled, dim, rows, scan, tf_module
from lstm_apps.layers.kernels.sharding import auto_shards, shard_sizes, sharded

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


def _core(spec, truncated, proj, kernel, h0, s0, mask, store, jit, shards=1):
    """``(H, S)`` for all steps, with the hand-written gradient.

    ``jit`` compiles the forward loop with XLA; the backward pass always runs
    on TensorFlow's kernels (XLA's CPU cumulative sum and large products were
    slower in our measurements). ``shards`` splits the forward loop over the
    batch; the backward pass (large products and elementwise work that use
    every core already) runs on the whole batch.
    """
    tf = tf_module()
    key = (spec, truncated, mask is not None, store)
    fused = mask is None and truncated and not spec.forget and FUSED_BACKWARD
    if mask is None:
        fwd = compiled("fwd", lambda p, k, h, s: _forward_impl(spec, p, k, h, s, None, store), key, jit)
        if fused:
            bwd = compiled(
                "bwd",
                lambda p, k, h, s, H, S, A, dH, dS: truncated_backward(spec, p, k, h, s, H, S, A, dH, dS),
                key,
                False,
            )
        else:
            bwd = compiled(
                "bwd",
                lambda p, k, h, s, H, S, A, dH, dS: backward(
                    spec, truncated, p, k, h, s, None, H, S, A, dH, dS
                ),
                key,
                False,
            )
        extra = ()
    else:
        fwd = compiled("fwd", lambda p, k, h, s, m: _forward_impl(spec, p, k, h, s, m, store), key, jit)
        bwd = compiled(
            "bwd",
            lambda p, k, h, s, m, H, S, A, dH, dS: backward(spec, truncated, p, k, h, s, m, H, S, A, dH, dS),
            key,
            False,
        )
        extra = (mask,)

    @tf.custom_gradient
    def core(proj, kernel, h0, s0):
        # the loop must not be recorded by an outer tape: its gradient is ours
        args = [tf.stop_gradient(v) for v in (proj, kernel, h0, s0)]
        out = sharded(fwd, shards, args, extra)
        H, S = out[0], out[1]
        A = out[2] if store else None

        def grad(dH, dS):
            dH = tf.zeros_like(H) if dH is None else dH
            if dS is None:  # the fused pass broadcasts a scalar zero instead of reading a (T, B, units) one
                dS = tf.zeros([], S.dtype) if fused else tf.zeros_like(S)
            return bwd(*args, *extra, H, S, A, dH, dS)

        return (H, S), grad

    return core(proj, kernel, h0, s0)


def _time_major(x, reverse):
    """``(batch, T, F)`` -> ``(T, batch, F)``, the steps reversed with ``reverse``."""
    tf = tf_module()
    x = tf.transpose(x, [1, 0, 2])
    return tf.reverse(x, [0]) if reverse else x


def _project_last(spec, x, w, b, kernel, h0, s0, store, reverse):
    """The many-to-one forward pass from batch-major inputs: projection and loop in one function."""
    tf = tf_module()
    xt = _time_major(x, reverse)
    proj = tf.reshape(tf.matmul(rows(xt), w) + b, tf.stack([dim(xt, 0), dim(xt, 1), dim(w, -1)]))
    return _forward_impl(spec, proj, kernel, h0, s0, None, store, last=True)


def _last_backward(spec, x, H_prev, A, sT, dhT, dsT, reverse):
    """Weight gradients of one shard of a many-to-one layer: ``(dz, dW, db, dkernel, ds0)``."""
    tf = tf_module()
    fused = compiled("last", lambda A, sT, dhT, dsT: last_fused(spec, A, sT, dhT, dsT), spec, True)
    dz, gs = fused(A, sT, dhT, dsT)
    dz2 = rows(dz)
    dw = tf.matmul(rows(_time_major(x, reverse)), dz2, transpose_a=True)
    return dz, dw, tf.reduce_sum(dz2, axis=0), weight_grad(H_prev, dz), gs


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
    bwd = compiled("bwd_last", lambda *a: _last_backward(spec, *a, reverse), (spec, reverse), False)
    sizes = shard_sizes(x.shape[0], shards)

    def split(v):
        return [v] if sizes is None else tf.split(v, sizes, axis=0)

    @tf.custom_gradient
    def core(x, w, b, kernel, h0, s0):
        args = [tf.stop_gradient(v) for v in (x, w, b, kernel, h0, s0)]
        xs, h0s, s0s = split(args[0]), split(args[4]), split(args[5])
        outs = [fwd(xi, args[1], args[2], args[3], hi, si) for xi, hi, si in zip(xs, h0s, s0s)]
        hT = tf.concat([o[0] for o in outs], axis=0) if len(outs) > 1 else outs[0][0]
        sT = tf.concat([o[1] for o in outs], axis=0) if len(outs) > 1 else outs[0][1]

        def grad(dhT, dsT):
            dhT = tf.zeros_like(hT) if dhT is None else dhT
            dsT = tf.zeros_like(sT) if dsT is None else dsT
            dw = db = dk = None
            dxs, ds0s = [], []
            for xi, hi, si, o, dhi, dsi in zip(xs, h0s, s0s, outs, split(dhT), split(dsT)):
                H_prev, A = (o[2], o[3]) if store else fwd_store(xi, args[1], args[2], args[3], hi, si)[2:]
                dz, dwi, dbi, dki, ds0 = bwd(xi, H_prev, A, o[1], dhi, dsi)
                dw, db, dk = (dwi, dbi, dki) if dw is None else (dw + dwi, db + dbi, dk + dki)
                # the input gradient in plain ops, so a graph that does not need it prunes it
                dx = tf.reshape(
                    tf.matmul(rows(dz), args[1], transpose_b=True), tf.gather(tf.shape(xi), [1, 0, 2])
                )
                dxs.append(tf.transpose(tf.reverse(dx, [0]) if reverse else dx, [1, 0, 2]))
                ds0s.append(ds0)
            cat = (lambda v: tf.concat(v, axis=0)) if len(dxs) > 1 else (lambda v: v[0])
            return cat(dxs), dw, db, dk, tf.zeros_like(h0), cat(ds0s)

        return (hT, sT), grad

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
            sequences when no GPU is visible, else 1. The batch size must be
            known when the function is traced (for example
            ``keras.Input(batch_size=...)``); with an unknown batch size the
            forward pass runs as one loop.

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
    if shards == "auto":
        shards = auto_shards(sequences.shape[0])
    if isinstance(shards, bool) or not isinstance(shards, (int, np.integer)) or shards < 1:
        raise ValueError(f"shards must be a positive integer or 'auto', received {shards!r}.")
    if jit_compile == "auto":
        jit_compile = (
            JIT_MAX_BATCH_UNITS is None or (sequences.shape[0] or 32) * spec.units <= JIT_MAX_BATCH_UNITS
        )
    if not return_sequences and mask is None and truncate_gradients and not spec.forget and FUSED_BACKWARD:
        x = tf.convert_to_tensor(sequences)
        w, b, rec = (tf.cast(tf.convert_to_tensor(v), x.dtype) for v in (kernel, bias, recurrent_kernel))
        h0, s0 = (tf.cast(v, x.dtype) for v in initial_state[:2])
        h_last, s_last = _core_last(
            spec, x, w, b, rec, h0, s0, bool(training), bool(jit_compile), int(shards), bool(go_backwards)
        )
        return h_last, None, [h_last, s_last]
    x = tf.transpose(sequences, [1, 0, 2])
    if mask is not None:
        mask = tf.cast(tf.transpose(tf.convert_to_tensor(mask)), tf.bool)[:, :, None]
    if go_backwards:
        x = tf.reverse(x, [0])
        if mask is not None:
            mask = tf.reverse(mask, [0])
    proj = ops.add(ops.matmul(x, kernel), bias)  # every step's x W + b in one product
    rec = tf.cast(tf.convert_to_tensor(recurrent_kernel), proj.dtype)
    h0 = tf.cast(initial_state[0], proj.dtype)
    s0 = tf.cast(initial_state[1], proj.dtype)
    H, S = _core(
        spec,
        bool(truncate_gradients),
        proj,
        rec,
        h0,
        s0,
        mask,
        bool(training),
        bool(jit_compile),
        int(shards),
    )
    if mask is None:
        out = H
    elif zero_output_for_mask:
        out = tf.where(mask, H, tf.zeros_like(H))
    else:
        # a masked step repeats the last emitted output; zeros before the first one
        seen = tf.cumsum(tf.cast(mask, tf.int32), axis=0) > 0
        out = tf.where(seen, H, tf.zeros_like(H))
    last_output = out[-1]
    outputs = tf.transpose(out, [1, 0, 2]) if return_sequences else None
    return last_output, outputs, [H[-1], S[-1]]
