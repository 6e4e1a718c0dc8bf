"""Throughput of every recurrent layer against ``keras.layers.LSTM``, as users run them and as compiled steps.

For every shape of the grid (units x timesteps x batch) each layer kind of the
factory (``lstm_apps.layers.recurrent_kinds()``: the 1997 layer, Keras's
LSTM, GRU and SimpleRNN, the gray-box cells, MinGRU and MinLSTM (parallel
scans) and sLSTM) is put in a model ``Input((T, features)) -> layer ->
Dense(1)`` (the layer's last output; with ``--return-sequences`` every step's,
each through the Dense) and timed in four phases:

* ``fit`` and ``predict``: what a user runs. The model is built *without* a
  batch size (``keras.Input((T, F))``), compiled with SGD and the MSE loss,
  and ``model.fit`` (one epoch) and ``model.predict`` run over the same
  data, alternated, the faster of ``--rounds`` rounds kept. The batches per
  call are chosen per shape, for ``fit`` and ``predict`` apart, so that
  Keras's LSTM spends about ``--fit-seconds`` in one call (from its compiled
  training and inference steps; at least 4 batches, at most 256, and at most
  about 200 MB of inputs); every layer of a shape gets the same data.
  The per-call cost of Keras's own loop (the dataset, the iterator, the
  callbacks) is in these figures; the ``no_rnn`` row (the last input step
  straight into the Dense) measures it alone.
* ``train`` and ``infer``: a compiled (``tf.function``) training step
  (forward, gradients, SGD update of every weight) and forward pass of a
  model built with ``keras.Input(..., batch_size=batch)``, the fastest of
  ``--repeats`` calls.

Seconds are per batch; throughput is sequences per second. Layers are
*interleaved* (round r times every layer before round r + 1) and each one's
best is divided into ``keras.layers.LSTM``'s (``*_ratio_to_lstm``: higher is
faster), by wall clock and by this process's CPU time, so that the ratios
stay meaningful on a drifting machine; absolute figures need an idle one.
Everything runs in one process; the JSON records the host, the load average
before and after, the device, and a ``summary`` (each layer's lowest, median
and highest ratio per phase) with the goals of issues 26 and 27.

The methylation cell reads one input feature (the dose): its model feeds it
the first input column. ``KIND_generic`` kinds (``lstm1997_generic``,
``adaptive_forget_generic``, ...) run the same cell through the generic
``keras.layers.RNN`` loop, for comparison.

Usage:

```bash
python benchmarks/cells.py --quick                                   # a tiny grid, about a minute
python benchmarks/cells.py --out benchmarks/results/cells.json       # the full grid
python benchmarks/cells.py --return-sequences --out benchmarks/results/cells_sequences.json
python benchmarks/cells.py --units 64 --timesteps 100 --batch 32 --layers lstm1997 adaptive_forget
```
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

PHASES = ("fit", "predict", "train", "infer")
GRAYBOX = ("adaptive_forget", "forgetting_curve", "methylation")
#: input features of the kinds that read fewer than the benchmark's (their model slices them)
KIND_FEATURES = {"methylation": 1}
#: the reference kind of the Keras loop's own cost (fit and predict only)
NO_RNN = "no_rnn"
#: goals of issues 26 and 27 (a benchmark's, not a test's): kind -> [(phase, T or None, lowest ratio)]
GOALS = {
    "lstm1997": [("fit", None, 1.5), ("predict", None, 1.5)],
    **{k: [("fit", None, 1.0), ("predict", None, 1.0)] for k in GRAYBOX},
    **{k: [("fit", 1000, 5.0), ("fit", 100, 2.0)] for k in ("min_gru", "min_lstm")},
    "slstm": [("fit", None, 1 / 1.5), ("predict", None, 1 / 1.5)],
}
MAX_INPUT_FLOATS = 50_000_000  # about 200 MB of float32 inputs for fit and predict


def log(msg):
    """A progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


def timed(call):
    """Runs ``call()`` once: ``(wall seconds, CPU seconds of this process)``."""
    start, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - start, time.process_time() - cpu


def failure(exc):
    """Why a layer was skipped: the exception's type and the first line of its message."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def interleaved(benches, phases, rounds, times):
    """Times each bench's phases ``rounds`` times, interleaved (round r times every layer before
    round r + 1), appending each call's :func:`timed` pair to ``times[kind][phase]`` where it has
    that phase."""
    for _ in range(rounds):
        for phase in phases:
            for kind, bench in benches.items():
                if phase in times[kind]:
                    times[kind][phase].append(bench.time(phase))


def finish(report, out):
    """Writes the report to ``out`` (or prints it when ``out`` is empty), then logs its table."""
    if out:
        from lstm_apps.io import write_json

        write_json(out, report)
        log(f"wrote {out}")
    else:
        print(json.dumps(report, indent=2))
    log(report["table"])
    return report


def kinds_available():
    """The factory's kinds, plus the generic-loop variants of the fused ones."""
    from lstm_apps.layers import recurrent_kinds

    kinds = list(recurrent_kinds())
    return kinds, ["lstm1997_generic", *(f"{k}_generic" for k in GRAYBOX)]


def make_layer(kind, units, return_sequences=False):
    """The layer of a kind, as ``lstm_apps.layers.recurrent`` builds it (``*_generic``: the generic loop)."""
    from lstm_apps.layers import recurrent

    options = {"return_sequences": return_sequences}
    if kind == "lstm1997_generic":
        return recurrent("lstm1997", units, fast_path=False, **options)
    if kind.endswith("_generic"):
        return recurrent(kind.removesuffix("_generic"), units, fused=False, **options)
    return recurrent(kind, units, **options)


def build_model(kind, units, timesteps, features, batch_size=None, return_sequences=False):
    """``Input((T, F)) -> layer -> Dense(1)``; ``batch_size=None`` as a user writes it."""
    import keras

    inp = keras.Input((timesteps, features), batch_size=batch_size)
    if kind == NO_RNN:
        out = inp if return_sequences else inp[:, -1]
    else:
        base = kind.removesuffix("_generic")
        h = inp[:, :, : KIND_FEATURES[base]] if base in KIND_FEATURES else inp
        out = make_layer(kind, units, return_sequences)(h)
        if isinstance(out, (list, tuple)):
            out = out[0]
    return keras.Model(inp, keras.layers.Dense(1)(out))


class Bench:
    """One kind at one shape: compiled steps (known batch size) and ``fit``/``predict`` (unknown)."""

    def __init__(self, kind, units, timesteps, batch, features, phases, return_sequences=False, seed=0):
        import keras
        import numpy as np
        import tensorflow as tf

        self.kind, self.batch, self.phases = kind, batch, phases
        keras.utils.set_random_seed(seed)
        rng = np.random.default_rng(seed)
        self._fns = {}
        if kind != NO_RNN and ("train" in phases or "infer" in phases):
            model = build_model(kind, units, timesteps, features, batch, return_sequences)
            x = tf.constant(rng.normal(size=(batch, timesteps, features)).astype("float32"))
            y = tf.constant(
                rng.normal(size=(batch, 1, 1) if return_sequences else (batch, 1)).astype("float32")
            )  # a target at every step
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

            self._fns["infer"] = lambda: float(infer(x).numpy().ravel()[0])
            self._fns["train"] = lambda: float(train(x, y).numpy())
        if "fit" in phases or "predict" in phases:
            self.user_model = build_model(kind, units, timesteps, features, None, return_sequences)
            self.user_model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")

    def use_data(self, x, y, fit_batches, predict_batches):
        """The ``fit``/``predict`` data (the same arrays for every kind of a shape): the first
        ``fit_batches`` and ``predict_batches`` batches of ``x``."""
        model, batch = self.user_model, self.batch
        self.batches = {"fit": fit_batches, "predict": predict_batches}
        xf, yf, xp = x[: fit_batches * batch], y[: fit_batches * batch], x[: predict_batches * batch]
        self._fns["fit"] = lambda: model.fit(xf, yf, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        self._fns["predict"] = lambda: model.predict(xp, batch_size=batch, verbose=0)

    def time(self, phase):
        """One call: ``(wall seconds, CPU seconds of this process)`` per batch."""
        wall, cpu = timed(self._fns[phase])
        n = self.batches[phase] if phase in ("fit", "predict") else 1
        return wall / n, cpu / n


def _fit_data(benches, timesteps, batch, features, return_sequences, fit_seconds, seed=0):
    """Inputs and targets for fit/predict, and the batches of a ``fit`` and of a ``predict``
    call: enough for Keras's LSTM to take about ``fit_seconds`` per call (from its compiled
    training and inference steps), 4 to 256 of them."""
    import numpy as np

    cap = max(2, MAX_INPUT_FLOATS // (batch * timesteps * features))
    counts = {}
    for phase, step_phase in (("fit", "train"), ("predict", "infer")):
        step = None
        if "lstm" in benches and step_phase in benches["lstm"]._fns:
            step = min(benches["lstm"].time(step_phase)[0] for _ in range(2))
        wanted = 8 if step is None else math.ceil(fit_seconds / max(step, 1e-4))
        counts[phase] = int(min(max(wanted, 4), 256, cap))
    batches = max(counts.values())
    rng = np.random.default_rng(seed + 1)
    x = rng.normal(size=(batches * batch, timesteps, features)).astype("float32")
    y = rng.normal(size=(batches * batch, timesteps, 1) if return_sequences else (batches * batch, 1))
    return x, y.astype("float32"), counts["fit"], counts["predict"]


def run_shape(kinds, units, timesteps, batch, args, log):
    phases = tuple(args.phases)
    user = [p for p in phases if p in ("fit", "predict")]
    steps = [p for p in phases if p in ("train", "infer")]
    benches, skipped = {}, {}
    all_kinds = [*kinds, NO_RNN] if user else list(kinds)
    for kind in all_kinds:
        try:
            b = Bench(kind, units, timesteps, batch, args.features, phases, args.return_sequences)
            for _ in range(2):  # warm-up: tracing, compilation, first-run allocations
                for phase in steps:
                    if phase in b._fns:
                        b.time(phase)
            benches[kind] = b
        except Exception as exc:  # noqa: BLE001 - report, do not guess
            skipped[kind] = failure(exc)
    batches = None
    if user:
        x, y, *batches = _fit_data(
            benches, timesteps, batch, args.features, args.return_sequences, args.fit_seconds
        )
        for kind, b in list(benches.items()):
            try:
                b.use_data(x, y, *batches)
                for phase in user:  # warm-up: traces and compiles every batch shape
                    b.time(phase)
            except Exception as exc:  # noqa: BLE001
                skipped[kind] = failure(exc)
                del benches[kind]
    times = {k: {p: [] for p in phases if p in b._fns} for k, b in benches.items()}
    interleaved(benches, steps, args.repeats, times)
    for _ in range(args.rounds):
        for kind, b in benches.items():  # fit and predict alternated, every layer once per round
            for phase in user:
                times[kind][phase].append(b.time(phase))
    rows = {}
    for kind in benches:
        row = {}
        for phase, calls in times[kind].items():
            wall = [w for w, _ in calls]
            cpu = [c for _, c in calls]
            row[f"{phase}_seconds"] = min(wall)
            row[f"{phase}_seq_per_s"] = batch / min(wall)
            row[f"{phase}_seconds_median"] = statistics.median(wall)
            row[f"{phase}_cpu_seconds"] = min(cpu)
            row[f"{phase}_seconds_all"] = wall
            row[f"{phase}_cpu_seconds_all"] = cpu
        rows[kind] = row
    if "lstm" in rows:
        ref = rows["lstm"]
        for row in rows.values():
            for phase in phases:
                if f"{phase}_seconds" in row and f"{phase}_seconds" in ref:
                    row[f"{phase}_ratio_to_lstm"] = ref[f"{phase}_seconds"] / row[f"{phase}_seconds"]
                    row[f"{phase}_cpu_ratio_to_lstm"] = ref[f"{phase}_cpu_seconds"] / max(
                        row[f"{phase}_cpu_seconds"], 1e-9
                    )
    log(
        f"units={units} T={timesteps} batch={batch}"
        + (f" ({batches[0]}/{batches[1]} batches per fit/predict call)" if batches else "")
        + f", ratios to LSTM ({'/'.join(phases)}): "
        + ", ".join(
            f"{k} " + "/".join(f"{rows[k].get(p + '_ratio_to_lstm', float('nan')):.2f}" for p in phases)
            for k in rows
        )
        + (f" (skipped {sorted(skipped)})" if skipped else "")
    )
    return {
        "units": units,
        "timesteps": timesteps,
        "batch": batch,
        "features": args.features,
        "fit_batches": batches[0] if batches else None,
        "predict_batches": batches[1] if batches else None,
        "layers": rows,
        "skipped": skipped,
    }


def summarize(results, phases=PHASES):
    """Each layer's lowest, median and highest ratio to Keras's LSTM per phase, and the goals."""
    summary = {}
    kinds = dict.fromkeys(k for r in results for k in r["layers"])
    for kind in kinds:
        entry = {}
        for phase in phases:
            ratios = [
                r["layers"][kind][f"{phase}_ratio_to_lstm"]
                for r in results
                if f"{phase}_ratio_to_lstm" in r["layers"].get(kind, {})
            ]
            if ratios:
                entry[phase] = {"min": min(ratios), "median": statistics.median(ratios), "max": max(ratios)}
        summary[kind] = entry
    goals = {}
    for kind, wanted in GOALS.items():
        for phase, steps, lowest in wanted:
            ratios = [
                r["layers"][kind][f"{phase}_ratio_to_lstm"]
                for r in results
                if (steps is None or r["timesteps"] == steps)
                and f"{phase}_ratio_to_lstm" in r["layers"].get(kind, {})
            ]
            if ratios:
                name = f"{kind}_{phase}" + (f"_T{steps}" if steps else "")
                goals[name] = {
                    "at_least": lowest,
                    "lowest": min(ratios),
                    "shapes_met": sum(v >= lowest for v in ratios),
                    "shapes": len(ratios),
                    "met": min(ratios) >= lowest,
                }
    return summary, goals


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


def markdown_table(results, phases=PHASES, key="ratio_to_lstm"):
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
    phases = tuple(runs[-1].get("phases", ("train", "infer")))
    summary, goals = summarize(results, phases)
    report = {
        **{k: runs[0][k] for k in ("benchmark", "device", "tensorflow", "keras", "note") if k in runs[0]},
        "runs": [{k: v for k, v in run.items() if k not in ("results", "table", "summary")} for run in runs],
        "phases": list(phases),
        "results": results,
        "summary": summary,
        "goals": goals,
        "table": markdown_table(results, phases),
        "table_cpu": markdown_table(results, phases, key="cpu_ratio_to_lstm"),
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
    parser.add_argument("--quick", action="store_true", help="a tiny grid, one round (about a minute)")
    parser.add_argument("--units", type=int, nargs="+", default=[32, 64, 256])
    parser.add_argument("--timesteps", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--features", type=int, default=32, help="input features per step (default 32)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed calls per layer of each compiled step (best kept)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="timed fit/predict rounds per layer (the faster kept)"
    )
    parser.add_argument(
        "--fit-seconds",
        type=float,
        default=2.0,
        help="choose the batches per fit/predict call so Keras's LSTM takes about this long (default 2)",
    )
    parser.add_argument(
        "--layers",
        nargs="+",
        default=None,
        help="layer kinds (default: every kind of lstm_apps.layers.recurrent_kinds(); "
        "also lstm1997_generic, adaptive_forget_generic, ...)",
    )
    parser.add_argument("--no-graybox", action="store_true", help="leave the gray-box cells out")
    parser.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES)
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

    registered, generic = kinds_available()
    kinds = list(args.layers or registered)
    if args.no_graybox:
        kinds = [k for k in kinds if k.removesuffix("_generic") not in GRAYBOX]
    if "lstm" not in kinds:
        kinds.append("lstm")  # the reference of every ratio
    unknown = [k for k in kinds if k not in (*registered, *generic)]
    if unknown:
        raise ValueError(f"unknown layer kinds {unknown}; expected some of {[*registered, *generic]}.")
    if args.quick:
        shapes = [(32, 20, 16)]
        args.repeats, args.rounds, args.fit_seconds = min(args.repeats, 2), 1, 0.0
    else:
        shapes = [(u, t, b) for u in args.units for t in args.timesteps for b in args.batch]

    import keras
    import tensorflow as tf

    started = time.time()
    load_before = os.getloadavg()
    results = [run_shape(kinds, u, t, b, args, log) for u, t, b in shapes]
    phases = tuple(args.phases)
    summary, goals = summarize(results, phases)
    report = {
        "benchmark": "recurrent layer throughput (sequences/s) and ratio to keras.layers.LSTM",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python benchmarks/cells.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "device": device_name(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "note": "fit/predict: models without a batch size, model.fit (1 epoch) over fit_batches and "
        "model.predict over predict_batches batches, alternated, the faster of the rounds; train/infer: "
        "compiled steps of models with a known batch size, the fastest call; seconds per batch; ratios to "
        "keras.layers.LSTM by wall clock and by this process's CPU time; the host may be shared, so ratios "
        "are meaningful, absolute numbers less so",
        "quick": args.quick,
        "phases": list(phases),
        "repeats": args.repeats,
        "rounds": args.rounds,
        "features": args.features,
        "outputs": "every step (return_sequences=True)" if args.return_sequences else "last step",
        "wall_seconds": round(time.time() - started, 1),
        "results": results,
        "summary": summary,
        "goals": goals,
        "table": markdown_table(results, phases),
        "table_cpu": markdown_table(results, phases, key="cpu_ratio_to_lstm"),
    }
    return finish(report, args.out)


if __name__ == "__main__":
    main()
