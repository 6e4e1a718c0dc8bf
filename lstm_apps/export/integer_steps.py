"""The one step of the sLSTM, minGRU and minLSTM cells in ops that LiteRT quantizes to int16x8.

The TFLite converter has no 16x8 quantization for ``NEG``, ``DIV``, the
comparisons (``EQUAL``, ``GREATER``, ``GREATER_EQUAL``...) and ``SELECT_V2``
("Quantization to 16x8-bit not yet supported for op"), and these cells'
own steps use them: ``where(v >= 0, ...)`` in the min cells' candidate
activation, ``-softplus(-x)`` (``log_sigmoid``) in the minLSTM and sLSTM
gates, ``sigmoid(-k)`` in the minGRU, ``n == 0`` and ``c / n`` in the
sLSTM. With float builtins allowed for those ops (the converter's fallback)
the converter writes a file LiteRT refuses to load ("Tensor N is invalidly
specified in schema": a float32 constant of the ``step`` signature, the 0 of
a float comparison, is given the 2-byte buffer of the int16 0 of the
``initial_state`` signature). So integer files run these cells through the
functions below, which compute the same step with ``ADD``, ``SUB``,
``MUL``, ``MINIMUM``, ``RELU``, ``EXP``, ``LOG``, ``LOGISTIC``,
``TANH`` and ``FULLY_CONNECTED``, all of which have 16x8 kernels:

* ``-x`` is ``x * -1`` (``MUL``);
* ``g(v) = where(v >= 0, v + 0.5, sigmoid(v))`` is ``relu(v) + sigmoid(min(v, 0))``, the same value on
  both sides (``sigmoid(0) = 0.5``);
* ``log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|))`` with ``-|x| = min(x, -x)``;
* the sLSTM's ``c / n`` is ``c * exp(-log n)`` (``n >= 1`` after every step), and its
  fresh-start test ``n_{t-1} == 0`` is ``fresh = relu(1 - 2 n_{t-1})``: a state ``n`` is 0 (the
  initial state) or at least 1, so ``fresh`` is exactly 1 or 0, and the two ``where`` of the step become
  ``m = i~ + keep * relu(log f + m_{t-1} - i~)`` and ``f' = keep * exp(keep * (log f + m_{t-1} - m))``
  with ``keep = 1 - fresh``;
* the sLSTM's block-diagonal recurrent product over heads is one product with the equivalent
  ``(units, 4 * units)`` matrix (zeros off the blocks), so the step's products are all
  ``FULLY_CONNECTED`` (no per-head ``BATCH_MATMUL`` and ``TRANSPOSE``).

In float32 they equal the cells' own steps up to rounding (tests/test_export_int16.py checks each
against the cell). Written here by hand: the converter offers no rewrite of unsupported ops.
"""

from __future__ import annotations

from keras import ops

__all__ = [
    "INTEGER_STEPS",
    "cell_steps",
    "integer_step",
    "negate",
    "log_sigmoid",
    "candidate_activation",
    "reciprocal",
]


def negate(x):
    """``-x`` as ``x * -1`` (``MUL``; ``NEG`` has no 16x8 quantization)."""
    return ops.multiply(x, -1.0)


def log_sigmoid(x):
    """``log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|))``, without ``NEG`` (``-|x| = min(x, -x)``)."""
    return ops.minimum(x, 0.0) - ops.log(1.0 + ops.exp(ops.minimum(x, negate(x))))


def candidate_activation(v):
    """The min cells' ``g(v)`` (``v + 0.5`` for ``v >= 0``, else ``sigmoid(v)``) without a comparison."""
    return ops.relu(v) + ops.sigmoid(ops.minimum(v, 0.0))


def reciprocal(n):
    """``1 / n`` for ``n > 0`` as ``exp(-log n)`` (``DIV`` has no 16x8 quantization).

    Not ``rsqrt(n) ** 2``: LiteRT's int16 ``RSQRT`` is off by 1e-2 at ``n = 1`` when ``n`` is calibrated
    up to 10 (measured), ``exp(-log n)`` by 1e-4.
    """
    return ops.exp(negate(ops.log(n)))


def _states(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


def min_gru_step(cell, inputs, states):
    """One :class:`~lstm_apps.layers.MinGRUCell` step: ``h = sigmoid(-k_z) h_{t-1} + sigmoid(k_z) g(k_h)``."""
    (h_prev,) = _states(states)
    p = cell.split(cell.project_inputs(inputs))
    z = ops.sigmoid(p["update"])
    h = ops.sigmoid(negate(p["update"])) * h_prev + z * candidate_activation(p["candidate"])
    return h, [h]


def min_lstm_step(cell, inputs, states):
    """One :class:`~lstm_apps.layers.MinLSTMCell` step with the normalised gates ``sigmoid(±d)``."""
    (h_prev,) = _states(states)
    p = cell.split(cell.project_inputs(inputs))
    log_f, log_i = log_sigmoid(p["forget"]), log_sigmoid(p["input"])
    forget, inp = ops.sigmoid(log_f - log_i), ops.sigmoid(log_i - log_f)
    h = forget * h_prev + inp * candidate_activation(p["candidate"])
    return h, [h]


def _dense_recurrent_kernel(cell):
    """The sLSTM's recurrent weights as one ``(units, 4 * units)`` matrix, ``[i | f | z | o]``."""
    kernel = cell.recurrent_kernel
    if cell.num_heads == 1:
        return kernel
    heads, d = cell.num_heads, cell.head_dim
    blocks = ops.reshape(kernel, (heads, d, 4, d))  # [head k, row a, gate g, column b]
    # dense[k d + a, g units + l d + b] = kernel[k, a, g d + b] if l == k else 0
    dense = ops.einsum("kagb,kl->kaglb", blocks, ops.eye(heads, dtype=kernel.dtype))
    return ops.reshape(dense, (cell.units, 4 * cell.units))


def slstm_step(cell, inputs, states):
    """One :class:`~lstm_apps.layers.SLSTMCell` step (see the module docstring for the rewrites)."""
    h_prev, c_prev, n_prev, m_prev = _states(states)
    pre = cell.project_inputs(inputs) + ops.matmul(h_prev, _dense_recurrent_kernel(cell))
    u = cell.units
    i_raw, f_raw, z_raw, o_raw = (pre[:, k * u : (k + 1) * u] for k in range(4))
    log_f = log_sigmoid(f_raw) if cell.forget_activation == "sigmoid" else f_raw
    log_f_plus_m = log_f + m_prev
    fresh = ops.relu(n_prev * -2.0 + 1.0)  # 1 where n_{t-1} = 0, 0 where n_{t-1} >= 1
    keep = fresh * -1.0 + 1.0
    m = i_raw + keep * ops.relu(log_f_plus_m - i_raw)
    i_gate = ops.exp(i_raw - m)
    f_gate = keep * ops.exp(keep * (log_f_plus_m - m))
    c = f_gate * c_prev + i_gate * ops.tanh(z_raw)
    n = f_gate * n_prev + i_gate
    h = ops.sigmoid(o_raw) * (c * reciprocal(n))
    return h, [h, c, n, m]


def _steps():
    from lstm_apps.layers import MinGRUCell, MinLSTMCell, SLSTMCell

    return {SLSTMCell: slstm_step, MinGRUCell: min_gru_step, MinLSTMCell: min_lstm_step}


#: ``{cell class: step(cell, inputs, states) -> (output, new_states)}``, the steps integer files use.
INTEGER_STEPS = _steps()


def integer_step(cell):
    """The step function of ``cell`` for integer files, or ``None`` when its own call converts.

    Example:

    ```python
    step = integer_step(layer.cell)
    h, states = step(layer.cell, x_t, states) if step else layer.cell(x_t, states)
    ```
    """
    return INTEGER_STEPS.get(type(cell))


def cell_steps(quantize: str | None) -> dict:
    """The cells that a streaming file of this quantization runs through another step than their own call.

    ``int16x8``: the sLSTM, minGRU and minLSTM cells through
    :data:`~lstm_apps.export.integer_steps.INTEGER_STEPS` (their own steps use ops the converter cannot
    quantize to 16x8); else none. Sequence files keep the cells' own steps: unrolled over the sequence
    with the rewritten steps, the sLSTM's int16x8 file aborts LiteRT's interpreter when it loads
    (``Fatal Python error: Aborted``, measured), where with its own it is refused with the reason.
    """
    return dict(INTEGER_STEPS) if quantize == "int16x8" else {}
