"""The 1997 LSTM cell's step and its analytic derivatives, in TensorFlow ops.

Shared by the forward loop and the hand-written backward passes of
:mod:`lstm_apps.layers.kernels.lstm1997_tf`. The math is exactly the cell's
(see :class:`~lstm_apps.layers.LSTM1997Cell`): the net inputs ``z`` of a step
hold, in the weight layout, the input gate, the forget gate (when present),
the cell input and the output gate; a gate shared by a block of cells has one
column per block, the cell input one per cell.
"""

from __future__ import annotations

import numpy as np

from lstm_apps.layers.kernels.scan import compiled, rows, scan, tf_module

__all__ = [
    "Spec",
    "activations",
    "backward",
    "cell_input_terms",
    "cell_step",
    "expand_blocks",
    "last_fused",
    "net_input_grads",
    "reduce_blocks",
    "split_gates",
    "squash_terms",
    "fused_post",
    "fused_pre",
    "reverse_cumsum",
    "weight_grad",
]

SQUASHES = ("paper", "tanh")


class Spec:
    """Static description of a cell (hashable, so tf.functions cache on it).

    Args:
        units: number of memory cells.
        cells_per_block: cells sharing one input and one output (and forget) gate;
            must divide ``units``.
        forget_gate: whether the cell has the Gers et al. (1999) forget gate.
        squash: ``"paper"`` (scaled sigmoids) or ``"tanh"``.
    """

    __slots__ = ("units", "cpb", "n_blocks", "forget", "paper", "names", "widths")

    def __init__(self, units, cells_per_block=1, forget_gate=False, squash="paper"):
        for name, value in (("units", units), ("cells_per_block", cells_per_block)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, received {name}={value!r}.")
        if units % cells_per_block:
            raise ValueError(
                f"units must be divisible by cells_per_block, received units={units} and "
                f"cells_per_block={cells_per_block}."
            )
        if squash not in SQUASHES:
            raise ValueError(f"squash must be one of {SQUASHES}, received squash={squash!r}.")
        self.units = int(units)
        self.cpb = int(cells_per_block)
        self.n_blocks = self.units // self.cpb
        self.forget = bool(forget_gate)
        self.paper = squash == "paper"
        self.names = ("input", "forget", "cell", "output") if self.forget else ("input", "cell", "output")
        self.widths = tuple(self.units if n == "cell" else self.n_blocks for n in self.names)

    def key(self):
        return (self.units, self.cpb, self.forget, self.paper)

    def __hash__(self):
        return hash(self.key())

    def __eq__(self, other):
        return isinstance(other, Spec) and self.key() == other.key()


# ---------------------------------------------------------------------------
# the step: gate math shared by the forward loop and the backward pass
# ---------------------------------------------------------------------------
def split_gates(spec, z):
    """Net inputs ``(..., width)`` -> a dict of the gate blocks by name (``spec.names``)."""
    tf = tf_module()
    parts = tf.split(z, list(spec.widths), axis=-1)
    return dict(zip(spec.names, parts))


def expand_blocks(spec, gate):
    """Broadcast a per-block gate ``(..., n_blocks)`` to its cells ``(..., units)``."""
    if spec.cpb == 1:
        return gate
    return tf_module().repeat(gate, spec.cpb, axis=-1)


def reduce_blocks(spec, x):
    """Sum over the cells of each block: (..., units) -> (..., n_blocks)."""
    if spec.cpb == 1:
        return x
    tf = tf_module()
    shape = tf.concat([tf.shape(x)[:-1], [spec.n_blocks, spec.cpb]], axis=0)
    return tf.reduce_sum(tf.reshape(x, shape), axis=-1)


def _squash(spec, s):
    tf = tf_module()
    return 2.0 * tf.sigmoid(s) - 1.0 if spec.paper else tf.tanh(s)


#: the ``"tanh"`` squash's cell input as ``2 sigmoid(2x) - 1``, so a step's activations are one
#: elementwise op over the whole row (XLA ran the split, two ops and the join much slower)
TANH_AS_SIGMOID = True


def activations(spec, z):
    """Gate activations of net inputs ``z`` (..., width).

    Returns ``(act, parts)``: ``act`` holds, in the weight layout, the
    sigmoids of the gate nets and the cell input's own activation
    (``sigmoid(net_c)`` with the paper's squash, ``tanh(net_c)`` with
    ``"tanh"``); it is what the backward pass needs of a step.
    """
    tf = tf_module()
    if spec.paper:  # every block goes through a sigmoid: one op for the whole row
        act = tf.sigmoid(z)
        return act, split_gates(spec, act)
    if TANH_AS_SIGMOID:  # tanh(x) = 2 sigmoid(2x) - 1: one op for the whole row, no split and join
        blocks = [np.full(w, 2.0 if n == "cell" else 1.0) for n, w in zip(spec.names, spec.widths)]
        scale = tf.constant(np.concatenate(blocks), z.dtype)
        act = tf.sigmoid(z * scale) * scale - (scale - 1.0)
        return act, split_gates(spec, act)
    p = split_gates(spec, z)
    parts = {n: (tf.tanh(v) if n == "cell" else tf.sigmoid(v)) for n, v in p.items()}
    return tf.concat([parts[n] for n in spec.names], axis=-1), parts


def cell_step(spec, z, s_prev):
    """One step from the full net input ``z``: ``(h, s, act)``, the cell's ops."""
    act, p = activations(spec, z)
    g = 4.0 * p["cell"] - 2.0 if spec.paper else p["cell"]
    s = expand_blocks(spec, p["input"]) * g
    if spec.forget:
        s = s + expand_blocks(spec, p["forget"]) * s_prev
    else:
        s = s + s_prev
    h = expand_blocks(spec, p["output"]) * _squash(spec, s)
    return h, s, act


def cell_input_terms(spec, act_cell):
    """``(g, g')`` of the cell input from its stored activation (``sigmoid`` with the paper's squash)."""
    if spec.paper:  # g = 4 sigmoid - 2
        return 4.0 * act_cell - 2.0, 4.0 * act_cell * (1.0 - act_cell)
    return act_cell, 1.0 - act_cell * act_cell


def squash_terms(spec, s):
    """``(q, q')``: the output squash of the state ``s`` and its derivative."""
    tf = tf_module()
    if spec.paper:  # q = 2 sigmoid - 1
        sig = tf.sigmoid(s)
        return 2.0 * sig - 1.0, 2.0 * sig * (1.0 - sig)
    q = tf.tanh(s)
    return q, 1.0 - q * q


# ---------------------------------------------------------------------------
# the backward pass
# ---------------------------------------------------------------------------
def net_input_grads(spec, gh, gs, yi, yo, g, g_prime, q, yf=None, sp=None):
    """Net-input gradients (weight layout) from the errors reaching ``h_t`` (``gh``) and ``s_t`` (``gs``)."""
    d = {
        "output": reduce_blocks(spec, gh * q) * yo * (1.0 - yo),
        "input": reduce_blocks(spec, gs * g) * yi * (1.0 - yi),
        "cell": gs * expand_blocks(spec, yi) * g_prime,
    }
    if spec.forget:
        d["forget"] = reduce_blocks(spec, gs * sp) * yf * (1.0 - yf)
    return tf_module().concat([d[n] for n in spec.names], axis=-1)


#: compile the reverse loop of full BPTT, forget gates and masks with XLA. Off: on an idle 2-core CPU
#: the compiled loop took 2-3 times as long as TensorFlow's (T = 1000, batch 32, 64 units: 84 against
#: 34 ms with a forget gate, 73 against 45 ms with full BPTT), which runs each step's ops on both cores
JIT_BACKWARD = False


def backward(spec, truncated, proj, kernel, h0, s0, mask, H, S, A, dH, dS):
    """Gradients of ``(H, S)`` with respect to ``(proj, kernel, h0, s0)``.

    With ``truncated`` no error crosses time through ``h_{t-1}`` (the
    paper's scissors): the only recurrence is the elementwise one of ``s``.
    ``A`` are the stored activations, or ``None`` to recompute them.
    Returns ``(dz, dkernel, dh0, ds0)``, ``dz`` the gradient of the net
    inputs (that of ``proj``).
    """
    tf = tf_module()
    if A is None:
        h_prev = tf.concat([h0[None], H[:-1]], axis=0)
        A, _ = activations(spec, proj + tf.einsum("tbu,uw->tbw", h_prev, kernel))
    if truncated and mask is None and not spec.forget:
        # no error through h_{t-1} and no forget gate: ds_t is a reverse cumulative sum
        p = split_gates(spec, A)
        g, g_prime = cell_input_terms(spec, p["cell"])
        q, q_prime = squash_terms(spec, S)
        gs = tf.cumsum(dS + dH * expand_blocks(spec, p["output"]) * q_prime, axis=0, reverse=True)
        dz = net_input_grads(spec, dH, gs, p["input"], p["output"], g, g_prime, q)
        dh0 = tf.zeros_like(h0)
        ds0 = gs[0]
    else:
        loop = compiled(
            "bwd_loop",
            lambda *a: _backward_loop(spec, truncated, *a),
            (spec, truncated, mask is not None),
            JIT_BACKWARD,
        )
        dz, dh0, ds0 = loop(kernel, h0, s0, mask, S, A, dH, dS)
    # h_{t-1} is h0 then H[:-1]: two products instead of joining them into a copy
    dkernel = weight_grad(H[:-1], dz[1:]) + tf.matmul(h0, dz[0], transpose_a=True)
    return dz, dkernel, dh0, ds0


def _backward_loop(spec, truncated, kernel, h0, s0, mask, S, A, dH, dS):
    """The reverse loop of :func:`backward`: ``(dz, dh0, ds0)``."""
    tf = tf_module()
    p = split_gates(spec, A)
    y_in, y_out = p["input"], p["output"]
    g, g_prime = cell_input_terms(spec, p["cell"])
    q, q_prime = squash_terms(spec, S)
    a = expand_blocks(spec, y_out) * q_prime  # error reaching s_t from h_t: dh_t * a_t
    y_f = p.get("forget")
    f = expand_blocks(spec, y_f) if spec.forget else None
    s_prev = tf.concat([s0[None], S[:-1]], axis=0) if spec.forget else None
    extra = (y_f, s_prev) if spec.forget else ()
    kernel_t = tf.transpose(kernel)
    zero = tf.zeros_like(h0)

    def fn(carry, x):
        dh_c, ds_c = carry
        dh_t, ds_t, a_t = x[0], x[1], x[2]
        pos = 3
        f_t = None
        if f is not None:
            f_t = x[pos]
            pos += 1
        m = None
        if mask is not None:
            m = x[pos]
            pos += 1
        gh = dh_t + dh_c
        gs = ds_t + ds_c
        gsn = gs + gh * a_t
        carry_s = gsn * f_t if f_t is not None else gsn
        if truncated:
            carry_h = zero
            ys = (gh, gsn)
        else:
            dz_t = net_input_grads(spec, gh, gsn, *x[pos:])
            carry_h = tf.matmul(dz_t, kernel_t)
        if m is not None:
            carry_h = tf.where(m, carry_h, gh)
            carry_s = tf.where(m, carry_s, gs)
            if truncated:
                ys = (tf.where(m, gh, zero), tf.where(m, gsn, zero))
            else:
                dz_t = tf.where(m, dz_t, tf.zeros_like(dz_t))
        if not truncated:
            ys = (dz_t,)
        return (carry_h, carry_s), ys

    seq = [dH, dS, a] + ([f] if f is not None else []) + ([mask] if mask is not None else [])
    if not truncated:
        seq += [y_in, y_out, g, g_prime, q, *extra]
    seq = [tf.reverse(v, [0]) for v in seq]
    (dh0, ds0), ys = scan(fn, (zero, tf.zeros_like(s0)), seq)
    ys = [tf.reverse(v, [0]) for v in ys]
    if truncated:
        dz = net_input_grads(spec, ys[0], ys[1], y_in, y_out, g, g_prime, q, *extra)
    else:
        dz = ys[0]
    return dz, dh0, ds0


def fused_pre(spec, A, S, dH, dS):
    """XLA-fused elementwise part before the cumulative sum: dS + dH * a."""
    y_out = split_gates(spec, A)["output"]
    q_prime = squash_terms(spec, S)[1]
    return dS + dH * expand_blocks(spec, y_out) * q_prime


def fused_post(spec, A, S, dH, gs):
    """XLA-fused net-input gradients (truncated, no forget gate) from dH and ds."""
    p = split_gates(spec, A)
    g, g_prime = cell_input_terms(spec, p["cell"])
    return net_input_grads(spec, dH, gs, p["input"], p["output"], g, g_prime, squash_terms(spec, S)[0])


def last_fused(spec, A, sT, dhT, dsT):
    """XLA-fused net-input gradients of a many-to-one layer (truncated, no forget gate, no mask).

    Only ``h_T`` and ``s_T`` reach the loss, and with the paper's scissors
    error crosses time only along the carousel ``s_t = s_{t-1} + y_in g``,
    whose derivative is 1: the error of every ``s_t`` is the same,
    ``ds_T + dh_T y_out_T q'(s_T)`` (the constant error flow of the paper),
    so no loop over time is left. Returns ``(dz, ds)`` with ``ds`` that
    constant error (also the gradient of ``s_0``).
    """
    tf = tf_module()
    p = split_gates(spec, A)
    y_in, y_out = p["input"], p["output"]
    yo_last = y_out[-1]
    g, g_prime = cell_input_terms(spec, p["cell"])
    q, q_prime = squash_terms(spec, sT)
    gs = dsT + dhT * expand_blocks(spec, yo_last) * q_prime
    d_out_last = reduce_blocks(spec, dhT * q) * yo_last * (1.0 - yo_last)
    d = {
        "output": tf.pad(
            d_out_last[None], [[tf.shape(A)[0] - 1, 0], [0, 0], [0, 0]]
        ),  # only the last step's output gate
        "input": reduce_blocks(spec, gs * g) * y_in * (1.0 - y_in),
        "cell": gs * expand_blocks(spec, y_in) * g_prime,
    }
    return tf.concat([d[n] for n in spec.names], axis=-1), gs


def weight_grad(h_prev, dz):
    """``sum_t h_{t-1}^T dz_t`` as one 2-D product (faster than an einsum on a CPU)."""
    return tf_module().matmul(rows(h_prev), rows(dz), transpose_a=True)


def _reverse_cumsum_impl(g):
    """``tf.cumsum(g, axis=0, reverse=True)`` as a loop (compiled: TF's CPU cumsum over
    the leading axis was the slowest part of the backward pass)."""
    tf = tf_module()

    def fn(carry, x):
        total = carry[0] + x[0]
        return (total,), (total,)

    _, (out,) = scan(fn, (tf.zeros_like(g[0]),), [tf.reverse(g, [0])])
    return tf.reverse(out, [0])


def reverse_cumsum(g):
    """``tf.cumsum(g, axis=0, reverse=True)`` as an XLA-compiled loop (see :func:`_reverse_cumsum_impl`)."""
    return compiled("cumsum", _reverse_cumsum_impl, None, True)(g)
