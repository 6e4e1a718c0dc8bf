"""Throughput of the recurrent layers: LSTM1997, gray-box cells, Keras LSTM, GRU, SimpleRNN.

For every shape of the grid (units x timesteps x batch) each layer is put in
a model ``Input((T, features)) -> layer -> Dense(1)`` (the layer's last output;
with ``--return-sequences`` every step's, each through the Dense) and timed for

* inference: a compiled (``tf.function``) forward pass, ``training=False``;
* training: a compiled step (forward, gradients, SGD update of every weight).

Throughput is sequences per second (batch / seconds per call). The layers'
timings are *interleaved* (round r times every layer once before round r+1),
and each layer's fastest round is divided by ``keras.layers.LSTM``'s, so that the
ratios stay meaningful on a shared, drifting CPU. Everything runs in one
process; the JSON records the host, the load average before and after, and
the device.

Usage:

```bash
python benchmarks/cells.py --quick                       # seconds: one small shape
python benchmarks/cells.py --out benchmarks/results/cells.json   # full grid
python benchmarks/cells.py --units 32 64 --timesteps 100 --batch 32 --repeats 5
```
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import pkgutil
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

BUILTIN = ("lstm1997", "lstm", "gru", "simple_rnn")


def graybox_factories():
    """``{name: factory(units) -> cell}`` for the gray-box cells in ``lstm_apps.layers``.

    Every ``GrayBoxCell`` subclass defined in a module of the package is
    tried with ``cls(units)``; a cell that cannot be built that way is
    reported in the JSON (``skipped``) rather than guessed at.
    """
    import lstm_apps.layers as pkg
    from lstm_apps.layers.graybox import GrayBoxCell

    found = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        try:
            module = importlib.import_module(f"lstm_apps.layers.{info.name}")
        except Exception:  # noqa: BLE001 - a broken neighbour must not stop the benchmark
            continue
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, GrayBoxCell) and obj is not GrayBoxCell and obj.__module__ == module.__name__:
                found[obj.__name__] = obj
    return found


def make_layer(kind, units, graybox=None, return_sequences=False):
    import keras

    seq = {"return_sequences": return_sequences}
    if kind == "lstm1997":
        from lstm_apps.layers import LSTM1997

        return LSTM1997(units, **seq)
    if kind == "lstm1997_generic":
        from lstm_apps.layers import LSTM1997

        return LSTM1997(units, fast_path=False, **seq)
    if kind == "lstm":
        return keras.layers.LSTM(units, **seq)
    if kind == "gru":
        return keras.layers.GRU(units, **seq)
    if kind == "simple_rnn":
        return keras.layers.SimpleRNN(units, **seq)
    return keras.layers.RNN(graybox[kind](units), **seq)


class Bench:
    """A model around one layer with compiled inference and training steps."""

    def __init__(self, kind, units, timesteps, batch, features, graybox=None, seed=0, return_sequences=False):
        import keras
        import numpy as np
        import tensorflow as tf

        keras.utils.set_random_seed(seed)
        inp = keras.Input((timesteps, features), batch_size=batch)
        out = make_layer(kind, units, graybox, return_sequences)(inp)
        if isinstance(out, (list, tuple)):
            out = out[0]
        if len(out.shape) == 3 and not return_sequences:
            out = out[:, -1]
        self.model = keras.Model(inp, keras.layers.Dense(1)(out))
        rng = np.random.default_rng(seed)
        self.x = tf.constant(rng.normal(size=(batch, timesteps, features)).astype("float32"))
        self.y = tf.constant(
            rng.normal(size=(batch, 1, 1) if return_sequences else (batch, 1)).astype("float32")
        )  # a target at every step
        self.batch = batch
        model = self.model
        optimizer = keras.optimizers.SGD(1e-3)
        optimizer.build(model.trainable_variables)

        @tf.function
        def infer(x):
            return model(x, training=False)

        @tf.function
        def train(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            return loss

        self._fns = {"infer": lambda: infer(self.x), "train": lambda: train(self.x, self.y)}

    def time(self, phase):
        """One call: ``(wall seconds, CPU seconds of this process)``."""
        start, cpu = time.perf_counter(), time.process_time()
        out = self._fns[phase]()
        float(out.numpy().ravel()[0])  # wait for the result
        return time.perf_counter() - start, time.process_time() - cpu


def run_shape(
    kinds, units, timesteps, batch, features, repeats, graybox, phases, log, return_sequences=False
):
    benches, skipped = {}, {}
    for kind in kinds:
        try:
            b = Bench(kind, units, timesteps, batch, features, graybox, return_sequences=return_sequences)
            for _ in range(2):  # warm-up: tracing, compilation, first-run allocations
                for phase in phases:
                    b.time(phase)
            benches[kind] = b
        except Exception as exc:  # noqa: BLE001 - report, do not guess
            skipped[kind] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    times = {k: {p: [] for p in phases} for k in benches}
    for _ in range(repeats):
        for phase in phases:
            for kind, b in benches.items():  # interleaved: every layer once per round
                times[kind][phase].append(b.time(phase))
    rows = {}
    for kind in benches:
        row = {}
        for phase in phases:
            wall = [w for w, _ in times[kind][phase]]
            cpu = [c for _, c in times[kind][phase]]
            best = min(wall)
            row[f"{phase}_seconds"] = best
            row[f"{phase}_seq_per_s"] = batch / best
            row[f"{phase}_seconds_median"] = statistics.median(wall)
            row[f"{phase}_cpu_seconds"] = min(cpu)
            row[f"{phase}_seconds_all"] = wall
            row[f"{phase}_cpu_seconds_all"] = cpu
        rows[kind] = row
    if "lstm" in rows:
        ref = rows["lstm"]
        for row in rows.values():
            for phase in phases:
                row[f"{phase}_ratio_to_lstm"] = ref[f"{phase}_seconds"] / row[f"{phase}_seconds"]
                row[f"{phase}_cpu_ratio_to_lstm"] = ref[f"{phase}_cpu_seconds"] / max(
                    row[f"{phase}_cpu_seconds"], 1e-9
                )
    log(
        f"units={units} T={timesteps} batch={batch} (train/infer wall|cpu): "
        + ", ".join(
            f"{k} "
            + "/".join(f"{rows[k].get(p + '_ratio_to_lstm', float('nan')):.2f}" for p in phases)
            + "|"
            + "/".join(f"{rows[k].get(p + '_cpu_ratio_to_lstm', float('nan')):.2f}" for p in phases)
            for k in rows
        )
        + (f" (skipped {sorted(skipped)})" if skipped else "")
    )
    return {
        "units": units,
        "timesteps": timesteps,
        "batch": batch,
        "features": features,
        "layers": rows,
        "skipped": skipped,
    }


def device_name():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        try:
            return "GPU: " + tf.config.experimental.get_device_details(gpus[0]).get(
                "device_name", gpus[0].name
            )
        except Exception:  # noqa: BLE001
            return "GPU: " + gpus[0].name
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores"


def markdown_table(results, phases=("train", "infer"), key="ratio_to_lstm"):
    """Ratios to keras.layers.LSTM, one row per shape, one column per layer and phase."""
    kinds = list(dict.fromkeys(k for r in results for k in r["layers"]))
    kinds = [k for k in kinds if k != "lstm"]
    head = ["units", "T", "batch"] + [f"{k} {p}" for k in kinds for p in phases]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [str(r["units"]), str(r["timesteps"]), str(r["batch"])]
        for k in kinds:
            for p in phases:
                v = r["layers"].get(k, {}).get(f"{p}_{key}")
                cells.append("—" if v is None else f"{v:.2f}×")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def merge(paths, out=None):
    """Combine the JSON of several runs (parts of the grid run separately) into one report;
    a shape measured in several files keeps the last file's result."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    latest = {}  # a shape measured again in a later file replaces the earlier result
    for run in runs:
        for r in run["results"]:
            latest[(r["units"], r["timesteps"], r["batch"])] = r
    results = [latest[k] for k in sorted(latest)]
    report = {
        "benchmark": runs[0]["benchmark"],
        "device": runs[0]["device"],
        "tensorflow": runs[0]["tensorflow"],
        "keras": runs[0]["keras"],
        "note": runs[0]["note"],
        "runs": [{k: v for k, v in run.items() if k not in ("results", "table")} for run in runs],
        "results": results,
        "table": markdown_table(results),
        "table_cpu": markdown_table(results, key="cpu_ratio_to_lstm"),
    }
    if out:
        from lstm_apps.io import write_json

        write_json(out, report)
    print(report["table"], file=sys.stderr)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one small shape, few repeats (seconds)")
    parser.add_argument("--units", type=int, nargs="+", default=[32, 64, 256])
    parser.add_argument("--timesteps", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--features", type=int, default=32, help="input features per step (default 32)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed calls per layer and phase (median kept)"
    )
    parser.add_argument(
        "--layers",
        nargs="+",
        default=None,
        help="layer kinds (default: lstm1997, gray-box cells, lstm, gru, simple_rnn)",
    )
    parser.add_argument("--no-graybox", action="store_true", help="leave the gray-box cells out")
    parser.add_argument("--phases", nargs="+", default=["train", "infer"], choices=["train", "infer"])
    parser.add_argument(
        "--return-sequences",
        action="store_true",
        help=(
            "layers return every step's output and the loss reads all of them (Dense(1) per step); "
            "default: the last output only"
        ),
    )
    parser.add_argument("--out", default=None, help="write the JSON here (default: print it)")
    parser.add_argument(
        "--merge",
        nargs="+",
        default=None,
        metavar="JSON",
        help="combine earlier runs' JSON files (one table) instead of measuring",
    )
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out)

    graybox = {} if args.no_graybox else graybox_factories()
    kinds = args.layers or ["lstm1997", *sorted(graybox), "lstm", "gru", "simple_rnn"]
    if "lstm" not in kinds:
        kinds.append("lstm")  # the reference of every ratio
    unknown = [k for k in kinds if k not in (*BUILTIN, "lstm1997_generic", *graybox)]
    if unknown:
        raise ValueError(
            f"unknown layer kinds {unknown}; expected some of {[*BUILTIN, 'lstm1997_generic', *graybox]}."
        )
    if args.quick:
        shapes = [(32, 20, 16)]
        repeats = min(args.repeats, 2)
    else:
        shapes = [(u, t, b) for u in args.units for t in args.timesteps for b in args.batch]
        repeats = args.repeats

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    import keras
    import tensorflow as tf

    started = time.time()
    load_before = os.getloadavg()
    results = [
        run_shape(kinds, u, t, b, args.features, repeats, graybox, args.phases, log, args.return_sequences)
        for u, t, b in shapes
    ]
    report = {
        "benchmark": "recurrent layer throughput (sequences/s) and ratio to keras.layers.LSTM",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": device_name(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "note": "timings interleaved across layers (every layer once per round); *_seconds is the fastest "
        "round (wall clock), *_cpu_seconds the fastest round's CPU time of this process; the host is shared, "
        "so ratios to keras.layers.LSTM (wall and CPU) are meaningful, absolute numbers less so",
        "quick": args.quick,
        "repeats": repeats,
        "features": args.features,
        "outputs": "every step (return_sequences=True)" if args.return_sequences else "last step",
        "wall_seconds": round(time.time() - started, 1),
        "results": results,
        "table": markdown_table(results, tuple(args.phases)),
        "table_cpu": markdown_table(results, tuple(args.phases), key="cpu_ratio_to_lstm"),
    }
    text = json.dumps(report, indent=2)
    if args.out:
        from lstm_apps.io import write_json

        write_json(args.out, report)
        log(f"wrote {args.out}")
    else:
        print(text)
    log(report["table"])
    return report


if __name__ == "__main__":
    main()
