"""NumPy reference of the 1997 LSTM: forward pass and hand-written BPTT.

Independent of Keras: written from the paper's equations, in float64, with
the backward pass for both the truncated ("scissors") and the full gradient,
and the paper's special nets (no output gate, other squashing functions,
gate activations fed back as recurrent inputs, no recurrent weights).
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


#: g and its derivative, by name
G = {
    "paper": (lambda z: 4 * sigmoid(z) - 2, lambda z: 4 * sigmoid(z) * (1 - sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "sigmoid": (sigmoid, lambda z: sigmoid(z) * (1 - sigmoid(z))),
}
#: h and its derivative, by name
H = {
    "paper": (lambda s: 2 * sigmoid(s) - 1, lambda s: 2 * sigmoid(s) * (1 - sigmoid(s))),
    "tanh": (np.tanh, lambda s: 1 - np.tanh(s) ** 2),
    "linear": (lambda s: s, lambda s: np.ones_like(s)),
}


class Reference:
    """The 1997 cell in NumPy.

    Args:
        kernel, recurrent_kernel, bias: the weights; ``recurrent_kernel`` None
            (no recurrent connection) and ``bias`` None (no bias) are zeros;
            ``bias`` has one value per column (zeros where a column has none).
        units, cells_per_block, forget_gate, output_gate: the layout.
        squash, cell_activation, output_activation: g and h by name
            (``cell_activation``/``output_activation`` None: ``squash``).
        gate_feedback: the previous gate activations are recurrent inputs
            after the cells' outputs (``recurrent_kernel`` has their rows).
    """

    def __init__(
        self,
        kernel,
        recurrent_kernel,
        bias,
        units,
        cells_per_block=1,
        forget_gate=False,
        squash="paper",
        output_gate=True,
        cell_activation=None,
        output_activation=None,
        gate_feedback=False,
    ):
        self.K = np.asarray(kernel, dtype="float64")
        width = self.K.shape[1]
        self.U = units
        self.S = cells_per_block
        self.B = units // cells_per_block
        self.forget = forget_gate
        self.output_gate = output_gate
        self.feedback = gate_feedback
        self.g, self.dg = G[cell_activation or squash]
        self.hsq, self.dhsq = H[output_activation or squash]
        names = ["i"] + (["f"] if forget_gate else []) + ["c"] + (["o"] if output_gate else [])
        self.gates = [n for n in names if n != "c"]
        widths = [units if n == "c" else self.B for n in names]
        self.slices = {}
        start = 0
        for n, w in zip(names, widths):
            self.slices[n] = slice(start, start + w)
            start += w
        assert start == width
        rows = units + (self.B * len(self.gates) if gate_feedback else 0)
        self.R = (
            np.zeros((rows, width)) if recurrent_kernel is None else np.asarray(recurrent_kernel, "float64")
        )
        assert self.R.shape == (rows, width)
        self.b = np.zeros(width) if bias is None else np.asarray(bias, dtype="float64")

    def rep(self, gate):
        return np.repeat(gate, self.S, axis=-1)

    def block_sum(self, cellwise):
        n, _ = cellwise.shape
        return cellwise.reshape(n, self.B, self.S).sum(-1)

    def forward(self, x, h0=None, s0=None, gates0=None):
        x = np.asarray(x, dtype="float64")
        n, T, _ = x.shape
        h = np.zeros((n, self.U)) if h0 is None else np.asarray(h0, dtype="float64")
        s = np.zeros((n, self.U)) if s0 is None else np.asarray(s0, dtype="float64")
        gv = np.zeros((n, self.B * len(self.gates))) if gates0 is None else np.asarray(gates0, "float64")
        cache = {k: [] for k in ("r_prev", "s_prev", "z", "y", "s", "h")}
        cache["x"] = x
        for t in range(T):
            r = np.concatenate([h, gv], axis=1) if self.feedback else h
            z = x[:, t] @ self.K + r @ self.R + self.b
            y = {k: sigmoid(z[:, self.slices[k]]) for k in self.gates}
            g = self.g(z[:, self.slices["c"]])
            s_new = (self.rep(y["f"]) * s if self.forget else s) + self.rep(y["i"]) * g
            h_new = self.hsq(s_new) * (self.rep(y["o"]) if self.output_gate else 1.0)
            for k, v in (("r_prev", r), ("s_prev", s), ("z", z), ("y", y), ("s", s_new), ("h", h_new)):
                cache[k].append(v)
            h, s = h_new, s_new
            gv = np.concatenate([y[k] for k in self.gates], axis=1)
        self.cache = cache
        gates = {
            "input_gate": self.rep_seq([y["i"] for y in cache["y"]]),
            "output_gate": self.rep_seq([y["o"] for y in cache["y"]]) if self.output_gate else None,
            "forget_gate": self.rep_seq([y["f"] for y in cache["y"]]) if self.forget else None,
            "cell_state": np.stack(cache["s"], 1),
        }
        return np.stack(cache["h"], 1), gates

    def rep_seq(self, gates):
        return np.stack([self.rep(g) for g in gates], 1)

    def backward(self, dh_seq, truncate):
        """Gradients of L = sum(dh_seq * h_seq) for the last ``forward`` call."""
        c = self.cache
        x = c["x"]
        n, T, _ = x.shape
        dK, dR, db = np.zeros_like(self.K), np.zeros_like(self.R), np.zeros_like(self.b)
        dx = np.zeros_like(x)
        dh_next = np.zeros((n, self.U))
        ds_next = np.zeros((n, self.U))
        dgates_next = np.zeros((n, self.B * len(self.gates)))
        for t in reversed(range(T)):
            z, s, s_prev, y = c["z"][t], c["s"][t], c["s_prev"][t], c["y"][t]
            dh = dh_seq[:, t] + dh_next
            yo = self.rep(y["o"]) if self.output_gate else 1.0
            ds = ds_next + dh * yo * self.dhsq(s)
            dy = {k: dgates_next[:, j * self.B : (j + 1) * self.B] for j, k in enumerate(self.gates)}
            dz = np.zeros_like(z)
            if self.output_gate:
                dy["o"] = dy["o"] + self.block_sum(dh * self.hsq(s))
            zc = z[:, self.slices["c"]]
            dz[:, self.slices["c"]] = ds * self.rep(y["i"]) * self.dg(zc)
            dy["i"] = dy["i"] + self.block_sum(ds * self.g(zc))
            if self.forget:
                dy["f"] = dy["f"] + self.block_sum(ds * s_prev)
                ds_next = ds * self.rep(y["f"])
            else:
                ds_next = ds
            for k in self.gates:
                dz[:, self.slices[k]] = dy[k] * y[k] * (1 - y[k])
            dK += x[:, t].T @ dz
            dR += c["r_prev"][t].T @ dz
            db += dz.sum(0)
            dx[:, t] = dz @ self.K.T
            dr = np.zeros_like(c["r_prev"][t]) if truncate else dz @ self.R.T
            dh_next = dr[:, : self.U]
            if self.feedback:
                dgates_next = dr[:, self.U :]
        return {
            "x": dx,
            "kernel": dK,
            "recurrent_kernel": dR,
            "bias": db,
            "h0": dh_next,
            "s0": ds_next,
            "gates0": dgates_next,
        }
