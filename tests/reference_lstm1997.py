"""NumPy reference of the 1997 LSTM: forward pass and hand-written BPTT.

Independent of Keras: written from the paper's equations, in float64, with
the backward pass for both the truncated ("scissors") and the full gradient.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Reference:
    def __init__(
        self, kernel, recurrent_kernel, bias, units, cells_per_block=1, forget_gate=False, squash="paper"
    ):
        self.K = np.asarray(kernel, dtype="float64")
        self.R = np.asarray(recurrent_kernel, dtype="float64")
        self.b = np.asarray(bias, dtype="float64")
        self.U = units
        self.S = cells_per_block
        self.B = units // cells_per_block
        self.forget = forget_gate
        self.squash = squash
        names = ["i", "f", "c", "o"] if forget_gate else ["i", "c", "o"]
        widths = [units if n == "c" else self.B for n in names]
        self.slices = {}
        start = 0
        for n, w in zip(names, widths):
            self.slices[n] = slice(start, start + w)
            start += w
        assert start == self.K.shape[1]

    # squashing functions and derivatives
    def g(self, z):
        return 4 * sigmoid(z) - 2 if self.squash == "paper" else np.tanh(z)

    def dg(self, z):
        if self.squash == "paper":
            s = sigmoid(z)
            return 4 * s * (1 - s)
        return 1 - np.tanh(z) ** 2

    def hsq(self, s):
        return 2 * sigmoid(s) - 1 if self.squash == "paper" else np.tanh(s)

    def dhsq(self, s):
        if self.squash == "paper":
            q = sigmoid(s)
            return 2 * q * (1 - q)
        return 1 - np.tanh(s) ** 2

    def rep(self, gate):
        return np.repeat(gate, self.S, axis=-1)

    def block_sum(self, cellwise):
        n, _ = cellwise.shape
        return cellwise.reshape(n, self.B, self.S).sum(-1)

    def forward(self, x, h0=None, s0=None):
        x = np.asarray(x, dtype="float64")
        n, T, _ = x.shape
        h = np.zeros((n, self.U)) if h0 is None else np.asarray(h0, dtype="float64")
        s = np.zeros((n, self.U)) if s0 is None else np.asarray(s0, dtype="float64")
        cache = {"x": x, "h_prev": [], "s_prev": [], "z": [], "yi": [], "yo": [], "yf": [], "s": [], "h": []}
        for t in range(T):
            z = x[:, t] @ self.K + h @ self.R + self.b
            yi = sigmoid(z[:, self.slices["i"]])
            yo = sigmoid(z[:, self.slices["o"]])
            g = self.g(z[:, self.slices["c"]])
            if self.forget:
                yf = sigmoid(z[:, self.slices["f"]])
                s_new = self.rep(yf) * s + self.rep(yi) * g
            else:
                yf = None
                s_new = s + self.rep(yi) * g
            h_new = self.rep(yo) * self.hsq(s_new)
            for k, v in (
                ("h_prev", h),
                ("s_prev", s),
                ("z", z),
                ("yi", yi),
                ("yo", yo),
                ("yf", yf),
                ("s", s_new),
                ("h", h_new),
            ):
                cache[k].append(v)
            h, s = h_new, s_new
        self.cache = cache
        return np.stack(cache["h"], 1), {
            "input_gate": self.rep_seq(cache["yi"]),
            "output_gate": self.rep_seq(cache["yo"]),
            "forget_gate": self.rep_seq(cache["yf"]) if self.forget else None,
            "cell_state": np.stack(cache["s"], 1),
        }

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
        for t in reversed(range(T)):
            z, s, s_prev = c["z"][t], c["s"][t], c["s_prev"][t]
            yi, yo, yf = c["yi"][t], c["yo"][t], c["yf"][t]
            dh = dh_seq[:, t] + dh_next
            ds = ds_next + dh * self.rep(yo) * self.dhsq(s)
            dz = np.zeros_like(z)
            dz[:, self.slices["o"]] = self.block_sum(dh * self.hsq(s)) * yo * (1 - yo)
            zc = z[:, self.slices["c"]]
            dz[:, self.slices["c"]] = ds * self.rep(yi) * self.dg(zc)
            dz[:, self.slices["i"]] = self.block_sum(ds * self.g(zc)) * yi * (1 - yi)
            if self.forget:
                dz[:, self.slices["f"]] = self.block_sum(ds * s_prev) * yf * (1 - yf)
                ds_next = ds * self.rep(yf)
            else:
                ds_next = ds
            dK += x[:, t].T @ dz
            dR += c["h_prev"][t].T @ dz
            db += dz.sum(0)
            dx[:, t] = dz @ self.K.T
            dh_next = np.zeros_like(dh) if truncate else dz @ self.R.T
        return {"x": dx, "kernel": dK, "recurrent_kernel": dR, "bias": db, "h0": dh_next, "s0": ds_next}
