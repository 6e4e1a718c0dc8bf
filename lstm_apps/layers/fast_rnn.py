"""Fast time loop of the 1997 LSTM (TensorFlow backend), and its map to ``keras.layers.LSTM``.

:class:`~lstm_apps.layers.LSTM1997` runs through :func:`fast_lstm1997` when it
can: the inputs of every time step are projected with one matrix product
before the loop (``LSTM1997Cell.project_inputs``), the loop itself does one
fused recurrent product per step (compiled with XLA), a large batch on a CPU
is split into one independent loop per core (``shards``), and the backward
pass is hand-written (a ``tf.custom_gradient``). With the paper's truncated gradients
(``truncate_gradients=True``) no error crosses time through ``h_{t-1}``, so
the only recurrence left is the elementwise one of the cell state ``s`` (a
reverse cumulative sum without forget gate; an elementwise loop with it or
with masks), and the weight gradients are one large product over all steps;
full BPTT runs a reverse loop with one product per step. A many-to-one layer
(``return_sequences=False``, no mask, no forget gate) with truncated gradients
needs no loop at all in its backward pass: the only error that crosses time
rides the constant error carousel unchanged, so every step sees the same
error of ``s`` (the paper's constant error flow); its forward loop keeps no
per-step outputs in inference.

The math is exactly the cell's (see :class:`~lstm_apps.layers.LSTM1997Cell`);
``tests/test_fast.py`` checks outputs and gradients against the generic
``keras.layers.RNN(LSTM1997Cell)`` path for every option combination.

:func:`to_keras_lstm` maps a 1997 layer onto a built-in ``keras.layers.LSTM``
with identical outputs (forget gate pinned at 1, cell input and state
halved), so a trained model can use cuDNN on a GPU.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fast_path_supported", "fast_lstm1997", "to_keras_lstm", "keras_lstm_weights"]


def _tf():
    import tensorflow as tf

    return tf


def fast_path_supported() -> bool:
    """True when the Keras backend is TensorFlow (the fast loop is written in TF)."""
    import keras

    return keras.backend.backend() == "tensorflow"


# ---------------------------------------------------------------------------
# gate math shared by the forward loop and the backward pass (TF ops)
# ---------------------------------------------------------------------------
class _Spec:
    """Static description of a cell (hashable, so tf.functions cache on it)."""

    __slots__ = ("units", "cpb", "n_blocks", "forget", "paper", "names", "widths")

    def __init__(self, cell):
        self.units = int(cell.units)
        self.cpb = int(cell.cells_per_block)
        self.n_blocks = int(cell.n_blocks)
        self.forget = bool(cell.forget_gate)
        self.paper = cell.squash == "paper"
        self.names = tuple(cell.gate_names)
        self.widths = tuple(cell.block_widths)

    def key(self):
        return (self.units, self.cpb, self.forget, self.paper)

    def __hash__(self):
        return hash(self.key())

    def __eq__(self, other):
        return isinstance(other, _Spec) and self.key() == other.key()


def _split(spec, z):
    tf = _tf()
    parts = tf.split(z, list(spec.widths), axis=-1)
    return dict(zip(spec.names, parts))


def _expand(spec, gate):
    if spec.cpb == 1:
        return gate
    return _tf().repeat(gate, spec.cpb, axis=-1)


def _reduce(spec, x):
    """Sum over the cells of each block: (..., units) -> (..., n_blocks)."""
    if spec.cpb == 1:
        return x
    tf = _tf()
    shape = tf.concat([tf.shape(x)[:-1], [spec.n_blocks, spec.cpb]], axis=0)
    return tf.reduce_sum(tf.reshape(x, shape), axis=-1)


def _squash(spec, s):
    tf = _tf()
    return 2.0 * tf.sigmoid(s) - 1.0 if spec.paper else tf.tanh(s)


def _activations(spec, z):
    """Gate activations of net inputs ``z`` (..., width).

    Returns ``(act, parts)``: ``act`` holds, in the weight layout, the
    sigmoids of the gate nets and the cell input's own activation
    (``sigmoid(net_c)`` with the paper's squash, ``tanh(net_c)`` with
    ``"tanh"``); it is what the backward pass needs of a step.
    """
    tf = _tf()
    if spec.paper:  # every block goes through a sigmoid: one op for the whole row
        act = tf.sigmoid(z)
        return act, _split(spec, act)
    p = _split(spec, z)
    parts = {n: (tf.tanh(v) if n == "cell" else tf.sigmoid(v)) for n, v in p.items()}
    return tf.concat([parts[n] for n in spec.names], axis=-1), parts


def _step(spec, z, s_prev):
    """One step from the full net input ``z``: ``(h, s, act)``, the cell's ops."""
    act, p = _activations(spec, z)
    g = 4.0 * p["cell"] - 2.0 if spec.paper else p["cell"]
    s = _expand(spec, p["input"]) * g
    if spec.forget:
        s = s + _expand(spec, p["forget"]) * s_prev
    else:
        s = s + s_prev
    h = _expand(spec, p["output"]) * _squash(spec, s)
    return h, s, act


def _cell_input_terms(spec, act_cell):
    """``(g, g')`` of the cell input from its stored activation (``sigmoid`` with the paper's squash)."""
    if spec.paper:  # g = 4 sigmoid - 2
        return 4.0 * act_cell - 2.0, 4.0 * act_cell * (1.0 - act_cell)
    return act_cell, 1.0 - act_cell * act_cell


def _squash_terms(spec, s):
    """``(q, q')``: the output squash of the state ``s`` and its derivative."""
    tf = _tf()
    if spec.paper:  # q = 2 sigmoid - 1
        sig = tf.sigmoid(s)
        return 2.0 * sig - 1.0, 2.0 * sig * (1.0 - sig)
    q = tf.tanh(s)
    return q, 1.0 - q * q


#: ``jit_compile="auto"`` compiles the forward loop with XLA up to this batch * units
#: (``None``: always). On an idle 2-core CPU the compiled loop was faster at every
#: shape of ``benchmarks/cells.py`` (units 32-256, batch 32-256).
JIT_MAX_BATCH_UNITS = None

#: ``shards="auto"`` splits a batch of at least this many sequences into one
#: independent loop per CPU core, with at least half this many sequences each
#: (the loops run side by side on TensorFlow's inter-op threads); smaller
#: batches, and batches whose size is unknown when the function is traced,
#: run as one loop
SHARD_MIN_BATCH = 128

#: run the elementwise parts of the default (truncated, no forget gate, no mask) backward pass
#: as two XLA fusions around TensorFlow's cumulative sum
FUSED_BACKWARD = True

#: time steps per iteration of the compiled while loops (loop bookkeeping is
#: paid once per chunk; the remainder of T is stepped before the loop)
UNROLL = 8


def _scan(fn, init, xs, unroll=UNROLL):
    """Sequential scan over axis 0 of the tensors ``xs``.

    ``fn(carry, x_t) -> (carry, y_t)`` with tuples of tensors. ``unroll``
    steps run per ``tf.while_loop`` iteration (1 when T is not static).
    Returns ``(final carry, ys)`` with every ``y`` stacked on a new axis 0.
    """
    tf = _tf()
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


# ---------------------------------------------------------------------------
# forward loop
# ---------------------------------------------------------------------------
def _forward_impl(spec, proj, kernel, h0, s0, mask, store, last=False):
    """Time-major loop: proj (T, B, W), mask (T, B, 1) bool or None.

    Returns ``H, S`` (T, B, units) and, with ``store``, the per-step
    activations ``A`` (T, B, W) for the backward pass. With ``last`` (no
    mask) only the final ``h_T, s_T`` (B, units) come back, followed, with
    ``store``, by each step's incoming ``h_{t-1}`` (T, B, units) and ``A``:
    all the truncated backward pass of a many-to-one layer reads.
    """
    tf = _tf()

    def fn(carry, x):
        h, s = carry
        z = x[0] + tf.matmul(h, kernel)
        h_new, s_new, act = _step(spec, z, s)
        if mask is not None:
            m = x[1]
            h_new = tf.where(m, h_new, h)
            s_new = tf.where(m, s_new, s)
        if last:
            return (h_new, s_new), ((h, act) if store else ())
        return (h_new, s_new), ((h_new, s_new, act) if store else (h_new, s_new))

    xs = [proj] if mask is None else [proj, mask]
    final, ys = _scan(fn, (h0, s0), xs)
    return (*final, *ys) if last else tuple(ys)


_FUNCTIONS = {}


def _compiled(kind, impl, key, jit):
    """A cached ``tf.function`` of ``impl`` for one static configuration."""
    key = (kind, key, jit)
    if key not in _FUNCTIONS:
        _FUNCTIONS[key] = _tf().function(impl, jit_compile=jit, reduce_retracing=True, autograph=False)
    return _FUNCTIONS[key]


# ---------------------------------------------------------------------------
# backward pass
# ---------------------------------------------------------------------------
def _net_input_grads(spec, gh, gs, yi, yo, g, g_prime, q, yf=None, sp=None):
    """Net-input gradients (weight layout) from the errors reaching ``h_t`` (``gh``) and ``s_t`` (``gs``)."""
    d = {
        "output": _reduce(spec, gh * q) * yo * (1.0 - yo),
        "input": _reduce(spec, gs * g) * yi * (1.0 - yi),
        "cell": gs * _expand(spec, yi) * g_prime,
    }
    if spec.forget:
        d["forget"] = _reduce(spec, gs * sp) * yf * (1.0 - yf)
    return _tf().concat([d[n] for n in spec.names], axis=-1)


def _backward_impl(spec, truncated, proj, kernel, h0, s0, mask, H, S, A, dH, dS):
    """Gradients of ``(H, S)`` with respect to ``(proj, kernel, h0, s0)``.

    With ``truncated`` no error crosses time through ``h_{t-1}`` (the
    paper's scissors): the only recurrence is the elementwise one of ``s``.
    ``A`` are the stored activations, or ``None`` to recompute them.
    """
    tf = _tf()
    h_prev = tf.concat([h0[None], H[:-1]], axis=0)
    if A is None:
        A, _ = _activations(spec, proj + tf.einsum("tbu,uw->tbw", h_prev, kernel))
    p = _split(spec, A)
    y_in, y_out = p["input"], p["output"]
    g, g_prime = _cell_input_terms(spec, p["cell"])
    q, q_prime = _squash_terms(spec, S)
    a = _expand(spec, y_out) * q_prime  # error reaching s_t from h_t: dh_t * a_t
    y_f = p.get("forget")
    f = _expand(spec, y_f) if spec.forget else None
    s_prev = tf.concat([s0[None], S[:-1]], axis=0) if spec.forget else None

    extra = (y_f, s_prev) if spec.forget else ()
    if truncated and mask is None and f is None:
        # no error through h_{t-1} and no forget gate: ds_t is a reverse cumulative sum
        gs = tf.cumsum(dS + dH * a, axis=0, reverse=True)
        dz = _net_input_grads(spec, dH, gs, y_in, y_out, g, g_prime, q)
        return dz, _weight_grad(h_prev, dz), tf.zeros_like(h0), gs[0]

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
            dz_t = _net_input_grads(spec, gh, gsn, *x[pos:])
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
    (dh0, ds0), ys = _scan(fn, (zero, tf.zeros_like(s0)), seq)
    ys = [tf.reverse(v, [0]) for v in ys]
    if truncated:
        dz = _net_input_grads(spec, ys[0], ys[1], y_in, y_out, g, g_prime, q, *extra)
    else:
        dz = ys[0]
    return dz, _weight_grad(h_prev, dz), dh0, ds0


def _fused_pre(spec, A, S, dH, dS):
    """XLA-fused elementwise part before the cumulative sum: dS + dH * a."""
    y_out = _split(spec, A)["output"]
    q_prime = _squash_terms(spec, S)[1]
    return dS + dH * _expand(spec, y_out) * q_prime


def _fused_post(spec, A, S, dH, gs):
    """XLA-fused net-input gradients (truncated, no forget gate) from dH and ds."""
    p = _split(spec, A)
    g, g_prime = _cell_input_terms(spec, p["cell"])
    return _net_input_grads(spec, dH, gs, p["input"], p["output"], g, g_prime, _squash_terms(spec, S)[0])


def _last_fused(spec, A, sT, dhT, dsT):
    """XLA-fused net-input gradients of a many-to-one layer (truncated, no forget gate, no mask).

    Only ``h_T`` and ``s_T`` reach the loss, and with the paper's scissors
    error crosses time only along the carousel ``s_t = s_{t-1} + y_in g``,
    whose derivative is 1: the error of every ``s_t`` is the same,
    ``ds_T + dh_T y_out_T q'(s_T)`` (the constant error flow of the paper),
    so no loop over time is left. Returns ``(dz, ds)`` with ``ds`` that
    constant error (also the gradient of ``s_0``).
    """
    tf = _tf()
    p = _split(spec, A)
    y_in, y_out = p["input"], p["output"]
    yo_last = y_out[-1]
    g, g_prime = _cell_input_terms(spec, p["cell"])
    q, q_prime = _squash_terms(spec, sT)
    gs = dsT + dhT * _expand(spec, yo_last) * q_prime
    d_out_last = _reduce(spec, dhT * q) * yo_last * (1.0 - yo_last)
    d = {
        "output": tf.pad(
            d_out_last[None], [[tf.shape(A)[0] - 1, 0], [0, 0], [0, 0]]
        ),  # only the last step's output gate
        "input": _reduce(spec, gs * g) * y_in * (1.0 - y_in),
        "cell": gs * _expand(spec, y_in) * g_prime,
    }
    return tf.concat([d[n] for n in spec.names], axis=-1), gs


def _dim(x, axis):
    """The size of ``x`` along ``axis``: static when known, else a scalar tensor (the
    functions are shared by layers of one configuration, so a retrace may relax shapes)."""
    size = x.shape[axis]
    return _tf().shape(x)[axis] if size is None else size


def _rows(x):
    """``x`` as a matrix: every axis but the last flattened."""
    return _tf().reshape(x, [-1, _dim(x, -1)])


def _weight_grad(h_prev, dz):
    """``sum_t h_{t-1}^T dz_t`` as one 2-D product (faster than an einsum on a CPU)."""
    return _tf().matmul(_rows(h_prev), _rows(dz), transpose_a=True)


def _reverse_cumsum_impl(g):
    """``tf.cumsum(g, axis=0, reverse=True)`` as a loop (compiled: TF's CPU cumsum over
    the leading axis was the slowest part of the backward pass)."""
    tf = _tf()

    def fn(carry, x):
        total = carry[0] + x[0]
        return (total,), (total,)

    _, (out,) = _scan(fn, (tf.zeros_like(g[0]),), [tf.reverse(g, [0])])
    return tf.reverse(out, [0])


def _truncated_backward(spec, proj, kernel, h0, s0, H, S, A, dH, dS):
    """Scissors, no mask, no forget gate: fused elementwise parts around one cumsum."""
    tf = _tf()
    if A is None:
        h_prev = tf.concat([h0[None], H[:-1]], axis=0)
        A, _ = _activations(spec, proj + tf.einsum("tbu,uw->tbw", h_prev, kernel))
    pre = _compiled("pre", lambda A, S, dH, dS: _fused_pre(spec, A, S, dH, dS), spec, True)
    post = _compiled("post", lambda A, S, dH, gs: _fused_post(spec, A, S, dH, gs), spec, True)
    cumsum = _compiled("cumsum", _reverse_cumsum_impl, None, True)
    gs = cumsum(pre(A, S, dH, dS))
    dz = post(A, S, dH, gs)
    # h_{t-1} is h0 then H[:-1]: two products instead of joining them into a copy
    dkernel = _weight_grad(H[:-1], dz[1:]) + tf.matmul(h0, dz[0], transpose_a=True)
    return dz, dkernel, tf.zeros_like(h0), gs[0]


def _cpu_cores():
    import os

    tf = _tf()
    threads = tf.config.threading.get_inter_op_parallelism_threads()
    if threads:
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _auto_shards(batch):
    """Loops a batch is split into by ``shards="auto"`` (1 on a GPU or for small batches)."""
    if batch is None or batch < SHARD_MIN_BATCH or _tf().config.list_logical_devices("GPU"):
        return 1
    return max(1, min(_cpu_cores(), batch // (SHARD_MIN_BATCH // 2)))


def _sharded(fwd, shards, args, extra):
    """``fwd`` on ``shards`` parts of the batch (axis 1 of ``proj`` and the mask, 0 of the
    states), outputs joined again: independent loops TensorFlow runs side by side."""
    tf = _tf()
    batch = args[0].shape[1]
    if shards == 1 or batch is None or batch < shards:
        return fwd(*args, *extra)
    sizes = [batch // shards + (1 if i < batch % shards else 0) for i in range(shards)]
    proj, kernel, h0, s0 = args
    pieces = [tf.split(proj, sizes, axis=1), tf.split(h0, sizes, axis=0), tf.split(s0, sizes, axis=0)]
    pieces += [tf.split(m, sizes, axis=1) for m in extra]
    outs = [fwd(p, kernel, h, s, *rest) for p, h, s, *rest in zip(*pieces)]
    return [tf.concat(list(col), axis=1) for col in zip(*outs)]


def _core(spec, truncated, proj, kernel, h0, s0, mask, store, jit, shards=1):
    """``(H, S)`` for all steps, with the hand-written gradient.

    ``jit`` compiles the forward loop with XLA; the backward pass always runs
    on TensorFlow's kernels (XLA's CPU cumulative sum and large products were
    slower in our measurements). ``shards`` splits the forward loop over the
    batch; the backward pass (large products and elementwise work that use
    every core already) runs on the whole batch.
    """
    tf = _tf()
    key = (spec, truncated, mask is not None, store)
    fused = mask is None and truncated and not spec.forget and FUSED_BACKWARD
    if mask is None:
        fwd = _compiled("fwd", lambda p, k, h, s: _forward_impl(spec, p, k, h, s, None, store), key, jit)
        if fused:
            bwd = _compiled(
                "bwd",
                lambda p, k, h, s, H, S, A, dH, dS: _truncated_backward(spec, p, k, h, s, H, S, A, dH, dS),
                key,
                False,
            )
        else:
            bwd = _compiled(
                "bwd",
                lambda p, k, h, s, H, S, A, dH, dS: _backward_impl(
                    spec, truncated, p, k, h, s, None, H, S, A, dH, dS
                ),
                key,
                False,
            )
        extra = ()
    else:
        fwd = _compiled("fwd", lambda p, k, h, s, m: _forward_impl(spec, p, k, h, s, m, store), key, jit)
        bwd = _compiled(
            "bwd",
            lambda p, k, h, s, m, H, S, A, dH, dS: _backward_impl(
                spec, truncated, p, k, h, s, m, H, S, A, dH, dS
            ),
            key,
            False,
        )
        extra = (mask,)

    @tf.custom_gradient
    def core(proj, kernel, h0, s0):
        # the loop must not be recorded by an outer tape: its gradient is ours
        args = [tf.stop_gradient(v) for v in (proj, kernel, h0, s0)]
        out = _sharded(fwd, shards, args, extra)
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
    tf = _tf()
    x = tf.transpose(x, [1, 0, 2])
    return tf.reverse(x, [0]) if reverse else x


def _project_last(spec, x, w, b, kernel, h0, s0, store, reverse):
    """The many-to-one forward pass from batch-major inputs: projection and loop in one function."""
    tf = _tf()
    xt = _time_major(x, reverse)
    proj = tf.reshape(tf.matmul(_rows(xt), w) + b, tf.stack([_dim(xt, 0), _dim(xt, 1), _dim(w, -1)]))
    return _forward_impl(spec, proj, kernel, h0, s0, None, store, last=True)


def _last_backward(spec, x, H_prev, A, sT, dhT, dsT, reverse):
    """Weight gradients of one shard of a many-to-one layer: ``(dz, dW, db, dkernel, ds0)``."""
    tf = _tf()
    fused = _compiled("last", lambda A, sT, dhT, dsT: _last_fused(spec, A, sT, dhT, dsT), spec, True)
    dz, gs = fused(A, sT, dhT, dsT)
    dz2 = _rows(dz)
    dw = tf.matmul(_rows(_time_major(x, reverse)), dz2, transpose_a=True)
    return dz, dw, tf.reduce_sum(dz2, axis=0), _weight_grad(H_prev, dz), gs


def _core_last(spec, x, w, b, kernel, h0, s0, store, jit, shards=1, reverse=False):
    """``(h_T, s_T)`` of a many-to-one layer (truncated, no forget gate, no mask), with its gradient.

    ``x`` are the batch-major inputs: the input projection runs in the same
    compiled function as the loop. The loop keeps no per-step outputs for
    inference; for training it keeps each step's ``h_{t-1}`` and gate
    activations, and the backward pass is elementwise (:func:`_last_fused`)
    plus one product per weight. ``shards`` split the batch (axis 0 of
    ``x``) into independent loops whose backward passes also stay apart, so
    no per-step tensor is ever joined. A gradient of an inference call runs
    the storing loop again.
    """
    tf = _tf()
    fwd = _compiled(
        "fwd_last", lambda *a: _project_last(spec, *a, store, reverse), (spec, store, reverse), jit
    )
    fwd_store = _compiled(
        "fwd_last", lambda *a: _project_last(spec, *a, True, reverse), (spec, True, reverse), jit
    )
    bwd = _compiled("bwd_last", lambda *a: _last_backward(spec, *a, reverse), (spec, reverse), False)
    batch = x.shape[0]
    if shards == 1 or batch is None or batch < shards:
        sizes = None
    else:
        sizes = [batch // shards + (1 if i < batch % shards else 0) for i in range(shards)]

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
                    tf.matmul(_rows(dz), args[1], transpose_b=True), tf.gather(tf.shape(xi), [1, 0, 2])
                )
                dxs.append(tf.transpose(tf.reverse(dx, [0]) if reverse else dx, [1, 0, 2]))
                ds0s.append(ds0)
            cat = (lambda v: tf.concat(v, axis=0)) if len(dxs) > 1 else (lambda v: v[0])
            return cat(dxs), dw, db, dk, tf.zeros_like(h0), cat(ds0s)

        return (hT, sT), grad

    return core(x, w, b, kernel, h0, s0)


def fast_lstm1997(
    cell,
    sequences,
    initial_state,
    mask=None,
    go_backwards=False,
    return_sequences=True,
    zero_output_for_mask=False,
    training=False,
    jit_compile="auto",
    shards="auto",
):
    """Run an :class:`LSTM1997Cell` over whole sequences, fast.

    Same results and gradients as ``keras.backend.rnn`` stepping the cell
    (masks, ``go_backwards`` and ``zero_output_for_mask`` included);
    TensorFlow backend only.

    Args:
        cell: a built ``LSTM1997Cell``.
        sequences: ``(batch, timesteps, features)``.
        initial_state: ``[h0, s0]``.
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
            for batches of at least :data:`SHARD_MIN_BATCH` sequences when no
            GPU is visible, else 1. The batch size must be known when the
            function is traced (for example ``keras.Input(batch_size=...)``);
            with an unknown batch size the forward pass runs as one loop.

    Returns:
        ``(last_output, outputs, [h, s])`` like ``keras.backend.rnn``
        (``outputs`` is ``None`` unless ``return_sequences``).
    """
    tf = _tf()
    spec = _Spec(cell)
    if shards == "auto":
        shards = _auto_shards(sequences.shape[0])
    if isinstance(shards, bool) or not isinstance(shards, (int, np.integer)) or shards < 1:
        raise ValueError(f"shards must be a positive integer or 'auto', received {shards!r}.")
    if jit_compile == "auto":
        jit_compile = (
            JIT_MAX_BATCH_UNITS is None or (sequences.shape[0] or 32) * spec.units <= JIT_MAX_BATCH_UNITS
        )
    if (
        not return_sequences
        and mask is None
        and cell.truncate_gradients
        and not spec.forget
        and FUSED_BACKWARD
    ):
        x = tf.convert_to_tensor(sequences)
        w, b, kernel = (
            tf.cast(tf.convert_to_tensor(v), x.dtype) for v in (cell.kernel, cell.bias, cell.recurrent_kernel)
        )
        h0, s0 = (tf.cast(v, x.dtype) for v in initial_state[:2])
        h_last, s_last = _core_last(
            spec, x, w, b, kernel, h0, s0, bool(training), bool(jit_compile), int(shards), bool(go_backwards)
        )
        return h_last, None, [h_last, s_last]
    x = tf.transpose(sequences, [1, 0, 2])
    if mask is not None:
        mask = tf.cast(tf.transpose(tf.convert_to_tensor(mask)), tf.bool)[:, :, None]
    if go_backwards:
        x = tf.reverse(x, [0])
        if mask is not None:
            mask = tf.reverse(mask, [0])
    proj = cell.project_inputs(x)
    kernel = tf.cast(tf.convert_to_tensor(cell.recurrent_kernel), proj.dtype)
    h0 = tf.cast(initial_state[0], proj.dtype)
    s0 = tf.cast(initial_state[1], proj.dtype)
    H, S = _core(
        spec,
        cell.truncate_gradients,
        proj,
        kernel,
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


# ---------------------------------------------------------------------------
# mapping onto keras.layers.LSTM
# ---------------------------------------------------------------------------
#: forget-gate bias of the mapped layer when the 1997 cell has none: sigmoid(40) is
#: exactly 1.0 in float32 (and float16/bfloat16), so the carousel is not touched
PINNED_FORGET_BIAS = 40.0


def keras_lstm_weights(cell):
    """``[kernel, recurrent_kernel, bias]`` of a ``keras.layers.LSTM`` equal to ``cell``.

    Keras's LSTM computes ``c_t = f c_{t-1} + i tanh(z_c)`` and
    ``h_t = o tanh(c_t)`` with blocks ``[i, f, c, o]``. With the paper's
    squash, ``4 sigmoid(x) - 2 = 2 tanh(x / 2)`` and ``2 sigmoid(s) - 1 =
    tanh(s / 2)``, so the 1997 cell is that LSTM on the halved state
    ``c = s / 2`` with the cell-input columns halved:
    ``c_t = f c_{t-1} + y_in tanh(net_c / 2)`` and ``h_t = y_out tanh(c_t)``.
    Without a forget gate ``f`` is pinned at exactly 1 (zero weights, bias
    :data:`PINNED_FORGET_BIAS`). With ``squash="tanh"`` nothing is halved.
    Gates shared by a block of cells are repeated for each of its cells.

    Args:
        cell: a built :class:`~lstm_apps.layers.LSTM1997Cell`.

    Returns:
        A list of three NumPy arrays in ``keras.layers.LSTM``'s layout.
    """
    if not getattr(cell, "built", False) or not hasattr(cell, "kernel"):
        raise ValueError(
            f"the LSTM1997 cell must be built (call the layer on data first), received an unbuilt {type(cell).__name__}."
        )
    spec = _Spec(cell)
    half = 0.5 if spec.paper else 1.0
    out = []
    for weight in (cell.kernel, cell.recurrent_kernel, cell.bias):
        w = np.asarray(weight.numpy() if hasattr(weight, "numpy") else weight, dtype="float32")
        parts = dict(zip(spec.names, np.split(w, np.cumsum(spec.widths)[:-1], axis=-1)))
        expand = lambda v: np.repeat(v, spec.cpb, axis=-1)  # noqa: E731 - per block -> per cell
        if spec.forget:
            forget = expand(parts["forget"])
        elif w.ndim == 1:
            forget = np.full((spec.units,), PINNED_FORGET_BIAS, dtype="float32")
        else:
            forget = np.zeros(w.shape[:-1] + (spec.units,), dtype="float32")
        out.append(
            np.concatenate(
                [expand(parts["input"]), forget, half * parts["cell"], expand(parts["output"])], axis=-1
            )
        )
    return out


def to_keras_lstm(layer, **kwargs):
    """A built-in ``keras.layers.LSTM`` with the same outputs as an ``LSTM1997`` layer.

    Every configuration maps exactly for inference: both squashes, with and
    without the forget gate, any ``cells_per_block``, and the layer's
    ``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``,
    ``unroll`` and ``zero_output_for_mask``. The map is for inference: the
    returned layer trains with full backpropagation and a free forget gate,
    not with the paper's truncation. Its state is ``[h, s / 2]`` with the
    paper's squash (``[h, s]`` with ``"tanh"``): halve ``s`` in an
    ``initial_state`` given to it.

    Args:
        layer: a built :class:`~lstm_apps.layers.LSTM1997`.
        **kwargs: extra ``keras.layers.LSTM`` arguments (``name``,
            ``use_cudnn`` ...); they override the copied ones.

    Returns:
        A built ``keras.layers.LSTM``; on a GPU it can run on cuDNN.

    Example:

    ```python
    layer = LSTM1997(16, return_sequences=True)
    y = layer(x)
    lstm = layer.to_keras_lstm()
    np.testing.assert_allclose(lstm(x), y, atol=1e-5)
    ```
    """
    import keras

    from lstm_apps.layers.lstm1997 import LSTM1997

    if not isinstance(layer, LSTM1997):
        raise ValueError(
            f"to_keras_lstm expects an LSTM1997 layer, received {type(layer).__name__} {getattr(layer, 'name', layer)!r}."
        )
    if not layer.built or not layer.cell.built:
        raise ValueError(
            f"LSTM1997 layer {layer.name!r} is not built: call it on data (or build it) before converting."
        )
    weights = keras_lstm_weights(layer.cell)
    options = dict(
        units=layer.cell.units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        unit_forget_bias=False,
        return_sequences=layer.return_sequences,
        return_state=layer.return_state,
        go_backwards=layer.go_backwards,
        stateful=layer.stateful,
        unroll=layer.unroll,
        zero_output_for_mask=layer.zero_output_for_mask,
        dtype=layer.dtype_policy,
        name=f"{layer.name}_as_lstm",
    )
    options.update(kwargs)
    lstm = keras.layers.LSTM(**options)
    input_dim = weights[0].shape[0]
    batch = int(layer.states[0].shape[0]) if layer.stateful and layer.states is not None else None
    lstm.build((batch, None, input_dim))
    lstm.set_weights(weights)
    if batch is not None:  # carry the current states over: [h, s / 2] (paper) or [h, s]
        half = 0.5 if layer.cell.squash == "paper" else 1.0
        lstm.states[0].assign(layer.states[0].value)
        lstm.states[1].assign(half * layer.states[1].value)
    return lstm
