"""Fast time loop of the 1997 LSTM on the JAX backend: ``jax.lax.scan`` with a hand-written backward pass.

The JAX counterpart of :mod:`~lstm_apps.layers.kernels.lstm1997_tf`, with the
same signature and results: the inputs of every step are projected by one
matrix product before the loop, the loop (``jax.lax.scan``) does one
recurrent product per step, and the gradient is a ``jax.custom_vjp`` that
carries over the analytic backward pass of
:mod:`~lstm_apps.layers.kernels.lstm1997_math`. With the paper's truncated
gradients (``truncate_gradients=True``, the "scissors") no error crosses time
through ``h_{t-1}``: without a mask and a forget gate the error of the cell
state is a reverse cumulative sum (the constant error carousel), with them an
elementwise reverse scan, and the recurrent weights' gradient is one large
product over all steps. Full BPTT runs a reverse scan with one product per
step (JAX's own derivative of the loop would add a second one, for the weight
gradient). ``tests/backend_layer_checks.py`` checks outputs and gradients
against the generic ``keras.layers.RNN(LSTM1997Cell)`` path.

JAX is imported on first use, so importing the kernels does not load it under
another backend.
"""

from __future__ import annotations

import functools

import numpy as np

from lstm_apps.layers.kernels.lstm1997_math import Spec

__all__ = ["UNROLL", "fast_path_supported", "lstm1997"]

#: time steps per iteration of the forward and backward scans (``jax.lax.scan``'s ``unroll``);
#: 4 was slower than 1 on a CPU (units 256, 100 steps, batch 256)
UNROLL = 1


def fast_path_supported() -> bool:
    """True when the Keras backend is JAX."""
    import keras

    return keras.backend.backend() == "jax"


def _split(spec, z):
    """Net inputs or activations ``(..., width)`` -> the gate blocks by name (``spec.names``)."""
    out, start = {}, 0
    for name, width in zip(spec.names, spec.widths):
        out[name] = z[..., start : start + width]
        start += width
    return out


def _expand(spec, gate):
    """A per-block gate ``(..., n_blocks)`` broadcast to its cells ``(..., units)``."""
    import jax.numpy as jnp

    return gate if spec.cpb == 1 else jnp.repeat(gate, spec.cpb, axis=-1)


def _reduce(spec, x):
    """Sum over the cells of each block: ``(..., units)`` -> ``(..., n_blocks)``."""
    if spec.cpb == 1:
        return x
    return x.reshape(x.shape[:-1] + (spec.n_blocks, spec.cpb)).sum(axis=-1)


def _activations(spec, z):
    """Gate activations in the weight layout (the cell input: ``sigmoid`` with the paper's squash)."""
    import jax
    import jax.numpy as jnp

    if spec.paper:  # every block goes through a sigmoid
        return jax.nn.sigmoid(z)
    p = _split(spec, z)
    return jnp.concatenate([jnp.tanh(p[n]) if n == "cell" else jax.nn.sigmoid(p[n]) for n in spec.names], -1)


def _cell_input_terms(spec, act_cell):
    """``(g, g')`` of the cell input from its stored activation."""
    if spec.paper:  # g = 4 sigmoid - 2
        return 4.0 * act_cell - 2.0, 4.0 * act_cell * (1.0 - act_cell)
    return act_cell, 1.0 - act_cell * act_cell


def _squash_terms(spec, s):
    """``(q, q')``: the output squash of the state ``s`` and its derivative."""
    import jax
    import jax.numpy as jnp

    if spec.paper:  # q = 2 sigmoid - 1
        sig = jax.nn.sigmoid(s)
        return 2.0 * sig - 1.0, 2.0 * sig * (1.0 - sig)
    q = jnp.tanh(s)
    return q, 1.0 - q * q


def _step(spec, kernel, bias, rec, carry, x_t, m_t=None, store=False):
    """One step of the cell: ``((h, s), outputs)``."""
    import jax.numpy as jnp

    h, s = carry
    act = _activations(spec, x_t @ kernel + bias + h @ rec)
    p = _split(spec, act)
    g = _cell_input_terms(spec, p["cell"])[0]
    s_new = _expand(spec, p["input"]) * g + (_expand(spec, p["forget"]) * s if spec.forget else s)
    h_new = _expand(spec, p["output"]) * _squash_terms(spec, s_new)[0]
    if m_t is not None:  # a masked step keeps the state
        h_new = jnp.where(m_t, h_new, h)
        s_new = jnp.where(m_t, s_new, s)
    return (h_new, s_new), ((h_new, s_new, act) if store else (h_new, s_new))


def _forward(spec, x, kernel, bias, rec, h0, s0, mask, store, last=False):
    """Time-major loop: ``x (T, B, F)``, ``mask (T, B, 1)`` bool or ``None``.

    Returns every step's ``(H, S)`` (and, with ``store``, the gate
    activations ``A``), or with ``last`` (and not ``store``) only the final
    ``(h_T, s_T)``.

    Each step projects its own inputs (``x_t W + b``): on XLA's CPU backend
    this was faster than projecting every step's inputs before the loop (as
    the TensorFlow kernel does), which makes the loop read a ``(T, B, width)``
    tensor.
    """
    import jax

    if mask is None:
        body = lambda c, xt: _step(spec, kernel, bias, rec, c, xt, store=store)  # noqa: E731
        xs = x
    else:
        body = lambda c, xt: _step(spec, kernel, bias, rec, c, xt[0], xt[1], store=store)  # noqa: E731
        xs = (x, mask)
    if last and not store:
        body_last = lambda c, xt: (body(c, xt)[0], None)  # noqa: E731
        return jax.lax.scan(body_last, (h0, s0), xs, unroll=min(UNROLL, max(int(x.shape[0]), 1)))[0]
    _, ys = jax.lax.scan(body, (h0, s0), xs, unroll=min(UNROLL, max(int(x.shape[0]), 1)))
    return ys


def _net_input_grads(spec, gh, gs, yi, yo, g, g_prime, q, yf=None, sp=None):
    """Net-input gradients (weight layout) from the errors reaching ``h_t`` (``gh``) and ``s_t`` (``gs``)."""
    import jax.numpy as jnp

    d = {
        "output": _reduce(spec, gh * q) * yo * (1.0 - yo),
        "input": _reduce(spec, gs * g) * yi * (1.0 - yi),
        "cell": gs * _expand(spec, yi) * g_prime,
    }
    if spec.forget:
        d["forget"] = _reduce(spec, gs * sp) * yf * (1.0 - yf)
    return jnp.concatenate([d[n] for n in spec.names], axis=-1)


def _reverse_cumsum(v):
    """``sum_{k >= t} v_k`` for every ``t`` along axis 0, as a reverse loop of additions (on XLA's CPU
    backend several times faster than ``jax.lax.cumsum`` over the leading axis)."""
    import jax

    def add(total, v_t):
        total = total + v_t
        return total, total

    return jax.lax.scan(add, v[0] * 0, v, reverse=True, unroll=min(UNROLL, max(int(v.shape[0]), 1)))[1]


def _backward(spec, truncated, rec, h0, s0, mask, H, S, A, dH, dS, last=False):
    """Gradients of ``(H, S)`` with respect to the net inputs ``z``, ``rec``, ``h0`` and ``s0``: the TF
    kernel's analytic pass.

    With ``truncated`` no error crosses time through ``h_{t-1}``: the only
    recurrence is the elementwise one of ``s`` (a reverse cumulative sum
    without mask and forget gate). With ``last`` only the last step's
    ``dH``, ``dS`` are not zero: then that sum is the same at every step,
    ``ds_T + dh_T y_out_T q'(s_T)`` (the paper's constant error flow).
    """
    import jax
    import jax.numpy as jnp

    h_prev = jnp.concatenate([h0[None], H[:-1]], axis=0)
    p = _split(spec, A)
    yi, yo = p["input"], p["output"]
    g, g_prime = _cell_input_terms(spec, p["cell"])
    q, q_prime = _squash_terms(spec, S)
    a = _expand(spec, yo) * q_prime  # error reaching s_t from h_t: dh_t * a_t
    extra = (p["forget"], jnp.concatenate([s0[None], S[:-1]], axis=0)) if spec.forget else ()
    unroll = min(UNROLL, max(int(A.shape[0]), 1))
    if truncated and mask is None and not spec.forget:
        gs = jnp.broadcast_to(dS[-1] + dH[-1] * a[-1], a.shape) if last else _reverse_cumsum(dS + dH * a)
        dz = _net_input_grads(spec, dH, gs, yi, yo, g, g_prime, q)
        dh0, ds0 = jnp.zeros_like(h0), gs[0]
    else:
        zero = jnp.zeros_like(h0)
        f = _expand(spec, extra[0]) if spec.forget else None
        rec_t = rec.T

        def body(carry, x):
            dh_c, ds_c = carry
            gh = x["dh"] + dh_c
            gs = x["ds"] + ds_c
            gsn = gs + gh * x["a"]
            carry_s = gsn * x["f"] if spec.forget else gsn
            if truncated:
                carry_h = zero
                ys = (gh, gsn)
            else:
                fx = (x["yf"], x["sp"]) if spec.forget else ()
                dz_t = _net_input_grads(spec, gh, gsn, x["yi"], x["yo"], x["g"], x["gp"], x["q"], *fx)
                carry_h = dz_t @ rec_t
            if mask is not None:  # a masked step passes its errors on unchanged
                m = x["m"]
                carry_h = jnp.where(m, carry_h, gh)
                carry_s = jnp.where(m, carry_s, gs)
                if truncated:
                    ys = (jnp.where(m, gh, zero), jnp.where(m, gsn, zero))
                else:
                    dz_t = jnp.where(m, dz_t, jnp.zeros_like(dz_t))
            if not truncated:
                ys = dz_t
            return (carry_h, carry_s), ys

        xs = {"dh": dH, "ds": dS, "a": a}
        if spec.forget:
            xs["f"] = f
        if mask is not None:
            xs["m"] = mask
        if not truncated:
            xs.update(yi=yi, yo=yo, g=g, gp=g_prime, q=q)
            if spec.forget:
                xs.update(yf=extra[0], sp=extra[1])
        (dh0, ds0), ys = jax.lax.scan(body, (zero, jnp.zeros_like(s0)), xs, reverse=True, unroll=unroll)
        dz = _net_input_grads(spec, ys[0], ys[1], yi, yo, g, g_prime, q, *extra) if truncated else ys
    units, width = h_prev.shape[-1], dz.shape[-1]
    drec = h_prev.reshape(-1, units).T @ dz.reshape(-1, width)  # sum_t h_{t-1}^T dz_t: one product
    return dz, drec, dh0, ds0


@functools.cache
def _core(spec, truncated, masked, last):
    """``core(x, kernel, bias, rec, h0, s0[, mask])`` with the hand-written gradient, for one
    configuration (``x`` time-major): every step's ``(H, S)``, or with ``last`` the final ``(h_T, s_T)``
    (no per-step outputs are kept unless JAX differentiates the loop)."""
    import jax
    import jax.numpy as jnp

    def split_mask(rest):
        return rest[0] if masked else None

    @jax.custom_vjp
    def core(x, kernel, bias, rec, h0, s0, *rest):
        return _forward(spec, x, kernel, bias, rec, h0, s0, split_mask(rest), store=False, last=last)

    def fwd(x, kernel, bias, rec, h0, s0, *rest):
        mask = split_mask(rest)
        H, S, A = _forward(spec, x, kernel, bias, rec, h0, s0, mask, store=True)
        return ((H[-1], S[-1]) if last else (H, S)), (x, kernel, rec, h0, s0, mask, H, S, A)

    def bwd(res, cotangents):
        x, kernel, rec, h0, s0, mask, H, S, A = res
        dH, dS = cotangents
        if last:  # the error of the final states only
            dH, dS = jnp.zeros_like(H).at[-1].set(dH), jnp.zeros_like(S).at[-1].set(dS)
        dz, drec, dh0, ds0 = _backward(spec, truncated, rec, h0, s0, mask, H, S, A, dH, dS, last)
        steps, batch, features = x.shape
        rows = dz.reshape(-1, dz.shape[-1])
        dx = (rows @ kernel.T).reshape(steps, batch, features)  # the inputs' terms: one product each
        dkernel = x.reshape(-1, features).T @ rows
        grads = (dx, dkernel, rows.sum(axis=0), drec, dh0, ds0)
        return grads + ((np.zeros(mask.shape, jax.dtypes.float0),) if masked else ())  # a bool: no gradient

    core.defvjp(fwd, bwd)
    return core


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
):
    """Run the 1997 LSTM over whole sequences on the JAX backend.

    The same results and gradients as ``keras.backend.rnn`` stepping an
    :class:`~lstm_apps.layers.LSTM1997Cell` with these weights (masks,
    ``go_backwards`` and ``zero_output_for_mask`` included), and the same
    arguments as :func:`lstm_apps.layers.kernels.lstm1997_tf.lstm1997` less
    its TensorFlow-only ``jit_compile`` and ``shards`` (the loop runs inside
    whatever ``jax.jit`` the caller traces, Keras's training step included).

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
        training: unused (accepted for the TensorFlow kernel's signature: the
            gate activations are kept for the backward pass whenever JAX
            differentiates the loop).

    Returns:
        ``(last_output, outputs, [h, s])`` like ``keras.backend.rnn``
        (``outputs`` is ``None`` unless ``return_sequences``).

    Example:

    ```python
    cell = layer.cell  # a built LSTM1997Cell, KERAS_BACKEND=jax
    last, outputs, (h, s) = lstm1997(
        x, [h0, s0], cell.kernel, cell.recurrent_kernel, cell.bias, cells_per_block=cell.cells_per_block
    )
    ```
    """
    import jax.numpy as jnp
    from keras import ops

    del training
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
    x = jnp.swapaxes(ops.convert_to_tensor(sequences), 0, 1)
    if mask is not None:
        mask = jnp.swapaxes(ops.convert_to_tensor(mask).astype(bool), 0, 1)[:, :, None]
    if go_backwards:
        x = jnp.flip(x, 0)
        mask = None if mask is None else jnp.flip(mask, 0)
    kernel, bias, rec = (ops.convert_to_tensor(v).astype(x.dtype) for v in (kernel, bias, recurrent_kernel))
    h0, s0 = (ops.convert_to_tensor(v).astype(x.dtype) for v in initial_state[:2])
    core = _core(spec, bool(truncate_gradients), mask is not None, not return_sequences)
    H, S = core(x, kernel, bias, rec, h0, s0, *(() if mask is None else (mask,)))
    if not return_sequences:  # H, S: the final states h_T, s_T
        if mask is None:
            last_output = H
        elif zero_output_for_mask:
            last_output = jnp.where(mask[-1], H, 0.0)
        else:  # the last emitted output: h_T, or zeros when every step was masked
            last_output = jnp.where(jnp.any(mask, axis=0), H, 0.0)
        return last_output, None, [H, S]
    if mask is None:
        out = H
    elif zero_output_for_mask:
        out = jnp.where(mask, H, 0.0)
    else:  # a masked step repeats the last emitted output; zeros before the first one
        out = jnp.where(jnp.cumsum(mask.astype("int32"), axis=0) > 0, H, 0.0)
    last_output = out[-1]
    outputs = jnp.swapaxes(out, 0, 1) if return_sequences else None
    return last_output, outputs, [H[-1], S[-1]]
