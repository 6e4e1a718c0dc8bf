"""Throughput of LSTM1997 against keras.layers.LSTM on one Keras backend (TensorFlow, JAX or PyTorch).

``benchmarks/cells.py`` times every layer on TensorFlow with its own compiled
steps; this script times the same model, ``Input((T, features)) -> layer ->
Dense(1)`` on the layer's last output, on the backend that ``--backend``
names, through Keras's own per-backend steps: ``model.train_on_batch`` (a
jitted step on JAX, a ``tf.function`` on TensorFlow, eager PyTorch) and
``model.predict_on_batch``. The grid defaults to the shapes of
``benchmarks/cells.py`` (units 32, 64, 256 x timesteps 100, 1000 x batch 32,
256, 32 features). Timings are interleaved (round r times every layer once
before round r+1), each layer's fastest round is divided by
``keras.layers.LSTM``'s on the same backend (a ratio above 1: faster than
``keras.layers.LSTM``), and the JSON records the host, the load average
and the versions.

On JAX, ``lstm1997`` runs the kernel of
:mod:`lstm_apps.layers.kernels.lstm1997_jax` (``jax.lax.scan``, the paper's
truncated backward pass as a custom VJP) and ``lstm1997_generic`` the
``keras.layers.RNN`` loop; on PyTorch both are the generic loop.

Usage:

```bash
python benchmarks/cells_backends.py --backend jax --quick          # seconds: one small shape
python benchmarks/cells_backends.py --backend jax --out benchmarks/results/cells_backends_jax.json
python benchmarks/cells_backends.py --backend torch --units 64 --timesteps 100 --batch 32
```
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from lstm_apps.cli import load_recipe

#: the shared timing, table and report helpers of benchmarks/cells.py
cells = load_recipe("cells", folder=Path(__file__).resolve().parent)

BACKENDS = ("tensorflow", "jax", "torch")
KINDS = ("lstm1997", "lstm1997_generic", "lstm")
#: the grid of benchmarks/cells.py
UNITS, TIMESTEPS, BATCHES, FEATURES = (32, 64, 256), (100, 1000), (32, 256), 32


def make_layer(kind, units):
    import keras

    from lstm_apps.layers import LSTM1997

    if kind == "lstm1997":
        return LSTM1997(units)
    if kind == "lstm1997_generic":
        return LSTM1997(units, fast_path=False)
    if kind == "lstm":
        return keras.layers.LSTM(units)
    raise ValueError(f"unknown layer kind {kind!r}; expected one of {KINDS}.")


class Bench:
    """A model around one layer, timed through ``train_on_batch`` and ``predict_on_batch``."""

    def __init__(self, kind, units, timesteps, batch, features, seed=0):
        import keras
        import numpy as np

        keras.utils.set_random_seed(seed)
        inp = keras.Input((timesteps, features), batch_size=batch)
        self.layer = make_layer(kind, units)
        self.model = keras.Model(inp, keras.layers.Dense(1)(self.layer(inp)))
        self.model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
        rng = np.random.default_rng(seed)
        self.x = rng.normal(size=(batch, timesteps, features)).astype("float32")
        self.y = rng.normal(size=(batch, 1)).astype("float32")

    def time(self, phase):
        """One call: ``(wall seconds, CPU seconds of this process)``; both calls return host values."""
        if phase == "train":
            return cells.timed(lambda: float(self.model.train_on_batch(self.x, self.y)))
        return cells.timed(lambda: float(self.model.predict_on_batch(self.x).ravel()[0]))


def run_shape(kinds, units, timesteps, batch, features, repeats, phases, log):
    benches, skipped = {}, {}
    for kind in kinds:
        try:
            bench = Bench(kind, units, timesteps, batch, features)
            for _ in range(2):  # warm-up: tracing, compilation, first-run allocations
                for phase in phases:
                    bench.time(phase)
            benches[kind] = bench
        except Exception as exc:  # noqa: BLE001 - report, do not guess
            skipped[kind] = cells.failure(exc)
    times = {k: {p: [] for p in phases} for k in benches}
    cells.interleaved(benches, phases, repeats, times)
    rows = {}
    for kind, bench in benches.items():
        row = {"fast_path": bool(getattr(bench.layer, "uses_fast_path", lambda: False)())}
        for phase in phases:
            wall = [w for w, _ in times[kind][phase]]
            row[f"{phase}_seconds"] = min(wall)
            row[f"{phase}_seconds_median"] = statistics.median(wall)
            row[f"{phase}_seq_per_s"] = batch / min(wall)
            row[f"{phase}_cpu_seconds"] = min(c for _, c in times[kind][phase])
            row[f"{phase}_seconds_all"] = wall
        rows[kind] = row
    if "lstm" in rows:
        for row in rows.values():
            for phase in phases:
                row[f"{phase}_ratio_to_lstm"] = rows["lstm"][f"{phase}_seconds"] / row[f"{phase}_seconds"]
    log(
        f"units={units} T={timesteps} batch={batch} (train/infer ratio to keras LSTM): "
        + ", ".join(
            f"{k} " + "/".join(f"{rows[k].get(p + '_ratio_to_lstm', float('nan')):.2f}" for p in phases)
            for k in rows
        )
        + (f" (skipped {skipped})" if skipped else "")
    )
    return {"units": units, "timesteps": timesteps, "batch": batch, "features": features, "layers": rows,
            "skipped": skipped}  # fmt: skip


def versions(backend):
    import keras

    out = {"keras": keras.__version__}
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    out[module] = sys.modules[module].__version__ if module in sys.modules else None
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=BACKENDS, default="jax", help="the Keras backend (default jax)")
    parser.add_argument("--quick", action="store_true", help="one small shape, two repeats (seconds)")
    parser.add_argument("--units", type=int, nargs="+", default=list(UNITS))
    parser.add_argument("--timesteps", type=int, nargs="+", default=list(TIMESTEPS))
    parser.add_argument("--batch", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--features", type=int, default=FEATURES, help="input features per step")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per layer and phase")
    parser.add_argument("--layers", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--phases", nargs="+", choices=["train", "infer"], default=["train", "infer"])
    parser.add_argument("--out", default=None, help="write the JSON here (default: print it)")
    args = parser.parse_args(argv)
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = args.backend  # Keras reads it once, at import
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if keras.backend.backend() != args.backend:
        raise ValueError(
            f"--backend {args.backend}: Keras was imported on {keras.backend.backend()!r} in this "
            "process before; run the script in a fresh process."
        )
    kinds = list(dict.fromkeys([*args.layers, "lstm"]))  # keras.layers.LSTM: the reference of every ratio
    shapes = [(32, 20, 16)] if args.quick else [
        (u, t, b) for u in args.units for t in args.timesteps for b in args.batch
    ]  # fmt: skip
    repeats = min(args.repeats, 2) if args.quick else args.repeats

    started, load_before = time.time(), os.getloadavg()
    results = [
        run_shape(kinds, u, t, b, args.features, repeats, args.phases, cells.log) for u, t, b in shapes
    ]
    report = {
        "benchmark": f"LSTM1997 throughput on Keras's {args.backend} backend, ratio to keras.layers.LSTM",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "backend": args.backend,
        "command": "python benchmarks/cells_backends.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "device": f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores",
        **versions(args.backend),
        "python": platform.python_version(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "note": "timings interleaved across layers; *_seconds is the fastest round (wall clock) of "
        "train_on_batch / predict_on_batch; the host is shared, so ratios to keras.layers.LSTM on the same "
        "backend are meaningful, absolute numbers less so",
        "quick": args.quick,
        "repeats": repeats,
        "wall_seconds": round(time.time() - started, 1),
        "results": results,
        "table": cells.markdown_table(results, tuple(args.phases)),
    }
    return cells.finish(report, args.out)


if __name__ == "__main__":
    main()
