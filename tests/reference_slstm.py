"""NumPy reference of the sLSTM (Beck, Hochreiter et al. 2024, xLSTM), written from the paper's equations.

Independent of Keras: float64, one step at a time, the heads' recurrence as an
explicit block-diagonal ``(units, 4 units)`` matrix. ``stabilised=False`` runs
the raw exponential gates (``c_t = f c + exp(i~) z``, ``n_t = f n + exp(i~)``),
which must give the same outputs as the stabilised form on short sequences.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def block_diagonal(recurrent_kernel, units, num_heads):
    """The full ``(units, 4 units)`` recurrent matrix, columns [i | f | z | o], from the stored blocks."""
    r = np.asarray(recurrent_kernel, dtype="float64")
    if num_heads == 1:
        return r
    d = units // num_heads
    full = np.zeros((units, 4 * units))
    for k in range(num_heads):
        for gate in range(4):
            full[k * d : (k + 1) * d, gate * units + k * d : gate * units + (k + 1) * d] = r[
                k, :, gate * d : (gate + 1) * d
            ]
    return full


def forward(
    x,
    kernel,
    recurrent_kernel,
    bias,
    units,
    num_heads=1,
    forget_activation="sigmoid",
    states=None,
    stabilised=True,
    mask=None,
):
    """Outputs ``(batch, T, units)``, final states ``[h, c, n, m]`` and per-step gates (stabilised)."""
    x = np.asarray(x, dtype="float64")
    w, b = np.asarray(kernel, "float64"), np.asarray(bias, "float64")
    r = block_diagonal(recurrent_kernel, units, num_heads)
    batch, steps, _ = x.shape
    if states is None:
        h, c, n, m = (np.zeros((batch, units)) for _ in range(4))
    else:
        h, c, n, m = (np.asarray(s, dtype="float64") for s in states)
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    out_prev = np.zeros((batch, units))
    outputs, gates = (
        [],
        {k: [] for k in ("input_gate", "forget_gate", "output_gate", "cell_state", "normalizer")},
    )
    for t in range(steps):
        pre = x[:, t] @ w + h @ r + b
        i_raw, f_raw, z_raw, o_raw = (pre[:, k * units : (k + 1) * units] for k in range(4))
        log_f = np.log(sigmoid(f_raw)) if forget_activation == "sigmoid" else f_raw
        z, o = np.tanh(z_raw), sigmoid(o_raw)
        if stabilised:
            # a fresh start (n = 0): m = i~ as the xLSTM reference; f' = 0 (it multiplies c = n = 0)
            m_new = np.where(n == 0, i_raw, np.maximum(log_f + m, i_raw))
            i_gate = np.exp(i_raw - m_new)
            f_gate = np.where(n == 0, 0.0, np.exp(np.where(n == 0, 0.0, log_f + m - m_new)))
        else:
            m_new = np.zeros_like(m)
            i_gate, f_gate = np.exp(i_raw), np.exp(log_f)
        c_new = f_gate * c + i_gate * z
        n_new = f_gate * n + i_gate
        h_new = o * c_new / n_new
        keep = mask[:, t][:, None]
        h, c, n, m = (
            np.where(keep, new, old) for new, old in ((h_new, h), (c_new, c), (n_new, n), (m_new, m))
        )
        out_prev = np.where(keep, h_new, out_prev)
        outputs.append(out_prev)
        for key, value in zip(gates, (i_gate, f_gate, o, c_new, n_new)):
            gates[key].append(value)
    return np.stack(outputs, 1), [h, c, n, m], {k: np.stack(v, 1) for k, v in gates.items()}
