"""Study: the paper's embedded Reber net trained by the paper's own equations, in NumPy, outside Keras.

Row 1-5 of the 1997 paper (3 memory cell blocks of 2 cells, 276 weights,
on-line SGD at 0.5) is the recipe's default Reber run, and it misses the
paper's figure by far (``benchmarks/long_time_lag.py``). This script asks
whether Keras or the recipe is to blame: :class:`AppendixANet` is the paper's
net and learning rule written from its appendix A.1 alone (forward pass eqs.
3-9, truncated backward pass eqs. 19-28 with forward derivatives of the
internal states), by hand because no library implements the paper's RTRL
variant. ``tests/test_benchmark_reber_appendix_a.py`` checks that one update
equals the recipe's Keras model's SGD step. The trials then run the readings
the paper's text leaves open:

* ``per sequence`` / ``per step``: each weight's update is "the sum of the
  contributions of all time steps", applied after the string, or applied at
  every step ("on-line learning");
* ``next symbol`` / ``legal set``: the target is the next symbol (one-hot) or
  every legal next symbol (the paper: "permanently predict the next symbol");
* ``Table 10's squashes``: h in [-2, 2] and g in [-1, 1] as Table 10's
  legend reads, where section 5.1 and the appendix give the reverse.

Success is the paper's: every symbol of the 256 training and 256 test strings
predicted (the legal next symbols the most active outputs), checked every
``--check-every`` sequences.

Usage::

    nice -n 10 python benchmarks/reber_appendix_a.py --trials 3 --budget 40000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lstm_apps import io as _io
from lstm_apps.datasets.tasks import criteria, registry

RESULTS = Path(__file__).resolve().parent / "results" / "reber_appendix_a.json"
#: ``name -> (update after every step, target, (g range, h range))``.
VARIANTS = {
    "per sequence, next symbol (the recipe's)": (False, "next", (4.0, 2.0)),
    "per step, next symbol": (True, "next", (4.0, 2.0)),
    "per sequence, legal set": (False, "legal", (4.0, 2.0)),
    "per step, legal set": (True, "legal", (4.0, 2.0)),
    "per sequence, next symbol, Table 10's squashes": (False, "next", (2.0, 4.0)),
}


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


class AppendixANet:
    """The paper's Reber net (section 5.1) and its truncated learning rule (appendix A.1).

    Weights are kept in the Keras layer's layout: one matrix ``w`` whose rows
    are the units feeding the hidden layer (the inputs, the cells' outputs,
    the input gates', the output gates', a bias unit) and whose columns are
    the input gates, the cell inputs and the output gates; ``out`` maps the
    cells to the logistic output units (no biases: the paper's 276 weights).

    Args:
        rng: ``numpy.random.Generator`` for the initial weights.
        blocks, size: memory cell blocks and cells per block.
        inputs, outputs: input and output units.
        init: weights drawn from ``[-init, init]``.
        output_gate_bias: the output gates' initial biases, one per block.
        squash: the ranges of g and h (the paper: 4 and 2, i.e. [-2, 2] and [-1, 1]).
    """

    def __init__(self, rng, blocks=3, size=2, inputs=7, outputs=7, init=0.2, output_gate_bias=None,
                 squash=(4.0, 2.0)):  # fmt: skip
        self.blocks, self.cells = blocks, blocks * size
        self.block = np.repeat(np.arange(blocks), size)
        self.g_range, self.h_range = squash
        rows = inputs + self.cells + 2 * blocks + 1
        self.w = rng.uniform(-init, init, (rows, 2 * blocks + self.cells))
        self.w[-1, blocks : blocks + self.cells] = 0.0  # biases on the gates only
        ogb = output_gate_bias if output_gate_bias is not None else -1.0 - np.arange(blocks)
        self.w[-1, blocks + self.cells :] = ogb
        self.out = rng.uniform(-init, init, (self.cells, outputs))

    @classmethod
    def from_keras(cls, model) -> AppendixANet:
        """The weights of the recipe's paper net (``models.build_model``) as an :class:`AppendixANet`."""
        layer = model.get_layer("recurrent")
        kernel, recurrent, bias = (np.asarray(v, "float64") for v in layer.get_weights())
        net = cls(np.random.default_rng(0), layer.units // layer.cells_per_block, layer.cells_per_block,
                  kernel.shape[0], model.get_layer("output").units)  # fmt: skip
        b = net.blocks
        net.w = np.concatenate([kernel, recurrent, np.zeros((1, kernel.shape[1]))])
        net.w[-1, :b], net.w[-1, b + net.cells :] = bias[:b], bias[b:]
        net.out = np.asarray(model.get_layer("output").get_weights()[0], "float64")
        return net

    def keras_weights(self) -> list[np.ndarray]:
        """``[kernel, recurrent_kernel, bias, output kernel]`` in the Keras model's layout."""
        n_in = self.w.shape[0] - self.cells - 2 * self.blocks - 1
        b, c = self.blocks, self.cells
        bias = np.r_[self.w[-1, :b], self.w[-1, b + c :]]
        return [self.w[:n_in], self.w[n_in:-1], bias, self.out]

    def _step(self, x, y_c, gates, s):
        b, c = self.blocks, self.cells
        u = np.concatenate([x, y_c, gates, np.ones(x.shape[:-1] + (1,))], -1)
        z = _sig(u @ self.w)
        y_in, z_c, y_out = z[..., :b], z[..., b : b + c], z[..., b + c :]
        s = s + y_in[..., self.block] * (self.g_range * z_c - self.g_range / 2)
        h = self.h_range * _sig(s) - self.h_range / 2
        y_c = y_out[..., self.block] * h
        return u, y_in, z_c, y_out, s, h, y_c, _sig(y_c @ self.out)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Outputs ``(n, steps, outputs)`` for inputs ``(n, steps, inputs)``, activations reset per string."""
        n = x.shape[0]
        y_c, gates, s = np.zeros((n, self.cells)), np.zeros((n, 2 * self.blocks)), np.zeros((n, self.cells))
        out = []
        for t in range(x.shape[1]):
            _, y_in, _, y_out, s, _, y_c, y = self._step(x[:, t], y_c, gates, s)
            gates = np.concatenate([y_in, y_out], -1)
            out.append(y)
        return np.stack(out, 1)

    def train_sequence(self, x: np.ndarray, target: np.ndarray, lr: float, per_step: bool = False):
        """One string (its real steps only) by eqs. 19-28; ``per_step``: update at every step."""
        b, c, block = self.blocks, self.cells, self.block
        y_c, gates, s = np.zeros(c), np.zeros(2 * b), np.zeros(c)
        ds_in, ds_c = np.zeros((c, self.w.shape[0])), np.zeros((c, self.w.shape[0]))
        dw, dout = np.zeros_like(self.w), np.zeros_like(self.out)
        for t in range(len(x)):
            u, y_in, z_c, y_out, s, h, y_c, y = self._step(x[t], y_c, gates, s)
            gates = np.concatenate([y_in, y_out])
            g = self.g_range * z_c - self.g_range / 2
            ds_in += np.outer(g * (y_in * (1 - y_in))[block], u)  # (25)
            ds_c += np.outer(self.g_range * z_c * (1 - z_c) * y_in[block], u)  # (27)
            e_k = y * (1 - y) * (target[t] - y)  # (19)
            back = self.out @ e_k
            e_out = y_out * (1 - y_out) * np.bincount(block, h * back, minlength=b)  # (21)
            e_s = y_out[block] * (self.h_range * _sig(s) * (1 - _sig(s))) * back  # (23)
            step = np.zeros_like(self.w)
            step[:, :b] = np.stack([(e_s[:, None] * ds_in)[block == j].sum(0) for j in range(b)], 1)  # (26)
            step[:, b : b + c] = (e_s[:, None] * ds_c).T  # (28)
            step[:, b + c :] = np.outer(u, e_out)  # (22)
            step[-1, b : b + c] = 0.0  # the cells have no bias
            if per_step:
                self.w += lr * step
                self.out += lr * np.outer(y_c, e_k)
            else:
                dw += step
                dout += np.outer(y_c, e_k)
        self.w += lr * dw
        self.out += lr * dout


def trial(seed: int, per_step: bool, target: str, squash, lr: float, budget: int, check_every: int) -> dict:
    """One trial on the paper's fixed sets (256 + 256 strings, drawn with ``seed``)."""
    rng = np.random.default_rng(seed)
    train, test = registry._reber_sets(256, rng)
    x = np.concatenate([train.x, test.x]).astype("float64")
    legal = np.concatenate([train.info["legal"], test.info["legal"]])
    mask = np.concatenate([train.step_mask, test.step_mask])
    targets = train.y if target == "next" else train.info["legal"].astype("float64")
    net = AppendixANet(np.random.default_rng(seed + 1), squash=squash)
    started, wrong = time.process_time(), None
    for n in range(1, budget + 1):
        i = int(rng.integers(len(train)))
        steps = int(train.lengths[i])
        net.train_sequence(train.x[i, :steps], targets[i, :steps], lr, per_step)
        if n % check_every == 0:
            wrong = int((~criteria.next_symbol_correct(net.forward(x), legal, mask)).sum())
            if wrong == 0:
                break
    return {"seed": seed, "solved": wrong == 0, "sequences": n, "wrong_of_512": wrong,
            "cpu_seconds": round(time.process_time() - started, 1)}  # fmt: skip


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=3, help="seeds per variant")
    parser.add_argument("--budget", type=int, default=40_000, help="training sequences per trial at most")
    parser.add_argument("--check-every", type=int, default=256, help="sequences between checks")
    parser.add_argument("--learning-rate", type=float, default=0.5, help="the paper's row 1-5: 0.5")
    parser.add_argument("--variants", nargs="*", choices=tuple(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--output", default=str(RESULTS), help="the results file")
    args = parser.parse_args(argv)
    summary = []
    for name in args.variants:
        per_step, target, squash = VARIANTS[name]
        trials = []
        for seed in range(args.trials):
            trials.append(
                trial(seed, per_step, target, squash, args.learning_rate, args.budget, args.check_every)
            )
            print(name, trials[-1], flush=True)
        solved = [t["sequences"] for t in trials if t["solved"]]
        summary.append({
            "variant": name, "trials": trials, "solved": f"{len(solved)}/{len(trials)}",
            "mean_sequences": float(np.mean(solved)) if solved else None,
            "wrong_unsolved": [t["wrong_of_512"] for t in trials if not t["solved"]],
        })  # fmt: skip
    result = {
        "command": f"python benchmarks/reber_appendix_a.py --trials {args.trials} --budget {args.budget} "
        f"--check-every {args.check_every} --learning-rate {args.learning_rate}",
        "paper": {"row": "1-5", "mean_sequences": 8440, "success": "30 of 30", "range": [3800, 24100]},
        "summary": summary,
    }
    _io.write_json(Path(args.output), result)
    return result


if __name__ == "__main__":
    main()
