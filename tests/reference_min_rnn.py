"""NumPy reference of minGRU and minLSTM (Feng et al. 2024), written from the paper's equations.

Independent of Keras and of the layers' log-space scan: float64, linear space,
one step at a time, with Keras's masking rule (a masked step keeps the state
and repeats the previous output, which is zeros before the first unmasked step).
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def g(v):
    """The paper's candidate activation: v + 0.5 for v >= 0, sigmoid(v) below."""
    return np.where(v >= 0, v + 0.5, sigmoid(np.minimum(v, 0.0)))


def step(kind, x_t, h, kernel, bias, units):
    """One step; returns ``(h_new, gates)``."""
    pre = x_t @ kernel + bias
    blocks = [pre[:, k * units : (k + 1) * units] for k in range(pre.shape[1] // units)]
    if kind == "min_gru":
        z = sigmoid(blocks[0])
        cand = g(blocks[1])
        return (1.0 - z) * h + z * cand, {"update_gate": z, "candidate": cand}
    f, i = sigmoid(blocks[0]), sigmoid(blocks[1])
    f_n, i_n = f / (f + i), i / (f + i)
    cand = g(blocks[2])
    return f_n * h + i_n * cand, {"forget_gate": f_n, "input_gate": i_n, "candidate": cand}


def forward(kind, x, kernel, bias, units, h0=None, mask=None, go_backwards=False, zero_output_for_mask=False):
    """Outputs ``(batch, T, units)`` in processing order, the final state and the per-step gates."""
    x = np.asarray(x, dtype="float64")
    kernel, bias = np.asarray(kernel, "float64"), np.asarray(bias, "float64")
    n, steps, _ = x.shape
    h = np.zeros((n, units)) if h0 is None else np.asarray(h0, dtype="float64")
    mask = np.ones((n, steps), bool) if mask is None else np.asarray(mask, bool)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    out_prev = np.zeros((n, units))
    outputs, gates_seq = [], []
    for t in order:
        h_new, gates = step(kind, x[:, t], h, kernel, bias, units)
        keep = mask[:, t][:, None]
        h = np.where(keep, h_new, h)
        out = np.where(keep, h_new, 0.0 if zero_output_for_mask else out_prev)
        out_prev = out
        outputs.append(out)
        gates_seq.append(gates)
    stacked = {k: np.stack([gs[k] for gs in gates_seq], 1) for k in gates_seq[0]}
    return np.stack(outputs, 1), h, stacked
