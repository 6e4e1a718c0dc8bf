"""Edge export benchmark: TFLite file size, per-step latency and parity.

For each cell (LSTM1997, Keras LSTM, Keras GRU), each form (``sequence``:
whole sequence per call; ``streaming``: one step per call with the states
fed back) and each quantization (float32, dynamic-range int8 weights, full
int8), a model ``Input -> recurrent(units) -> Dense(1)`` is trained briefly
on standardised windows of a noisy seasonal series (one-step-ahead
forecasting, as in the forecasting recipes), exported with
``lstm_apps.export.to_tflite``, and measured:

* ``size_bytes``: the ``.tflite`` file;
* ``per_step_us``: median latency per time step on ONE interpreter thread
  (streaming: one ``StreamingRunner.step`` call, Python overhead of the
  signature runner included; sequence: one whole-sequence call divided by
  the number of steps);
* ``parity_max_abs``: max |Keras - TFLite| on 8 held-out sequences;
* ``convert_s``: wall time of the conversion.

Usage:

```
python benchmarks/edge.py                       # writes benchmarks/results/edge.json, prints a Markdown table
python benchmarks/edge.py --units 32 --timesteps 40 --cells lstm gru --out /tmp/edge.json
```
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUANT_CHOICES = ("none", "float16", "dynamic", "int8")


def seasonal_windows(n: int, steps: int, seed: int = 0):
    """Standardised windows (value, daily phase) of a noisy seasonal series, and next-step targets."""
    rng = np.random.default_rng(seed)
    t = np.arange(n * 5 + steps + 1, dtype="float64")
    series = (
        np.sin(2 * np.pi * t / 24.0) + 0.5 * np.sin(2 * np.pi * t / 168.0) + 0.2 * rng.normal(size=t.size)
    )
    series = (series - series.mean()) / series.std()
    starts = np.arange(n) * 5
    x = np.stack([series[s : s + steps] for s in starts])
    phase = np.sin(2 * np.pi * (starts[:, None] + np.arange(steps)) / 24.0)
    y = np.stack([series[s + 1 : s + steps + 1] for s in starts])
    return np.stack([x, phase], axis=-1).astype("float32"), y[..., None].astype("float32")


def build_model(cell: str, units: int, steps: int):
    import keras

    from lstm_apps.layers import recurrent

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((steps, 2)), recurrent(cell, units, return_sequences=True), keras.layers.Dense(1)],
        name=cell,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", nargs="+", default=["lstm1997", "lstm", "gru"])
    parser.add_argument(
        "--modes", nargs="+", default=["sequence", "streaming"], choices=["sequence", "streaming"]
    )
    parser.add_argument("--quantize", nargs="+", default=["none", "dynamic", "int8"], choices=QUANT_CHOICES)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=300, help="timed steps per file")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "edge.json"))
    args = parser.parse_args(argv)

    from lstm_apps import io as _io
    from lstm_apps.export import measure_latency, to_tflite

    x, y = seasonal_windows(96, args.timesteps)
    x_train, y_train, x_test = x[:64], y[:64], x[88:96]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cell in args.cells:
            model = build_model(cell, args.units, args.timesteps)
            t0 = time.time()
            hist = model.fit(x_train, y_train, epochs=args.epochs, batch_size=16, verbose=0)
            train_s = time.time() - t0
            out_std = float(np.std(model.predict(x_test, verbose=0)))
            for mode in args.modes:
                for q in args.quantize:
                    quantize = None if q == "none" else q
                    path = Path(tmp) / f"{cell}_{mode}_{q}.tflite"
                    row = {
                        "cell": cell,
                        "mode": mode,
                        "quantize": q,
                        "units": args.units,
                        "timesteps": args.timesteps,
                    }
                    t0 = time.time()
                    try:
                        result = to_tflite(
                            model,
                            path,
                            mode=mode,
                            quantize=quantize,
                            representative_data=x_train[:32],
                            parity_inputs=x_test,
                        )
                    except ValueError as exc:
                        row["error"] = str(exc)[:300]
                        rows.append(row)
                        print(f"{cell:9s} {mode:9s} {q:8s} ERROR {row['error'][:120]}", flush=True)
                        continue
                    row["convert_s"] = round(time.time() - t0, 2)
                    lat = measure_latency(path, x_test[:1], repeats=args.repeats, warmup=30, num_threads=1)
                    row.update(
                        size_bytes=result.size_bytes,
                        per_step_us=round(lat["per_step_us_median"], 2),
                        per_step_us_p90=round(lat["per_step_us_p90"], 2),
                        parity_max_abs=float(f"{result.parity_max_abs:.3g}"),
                        output_std=round(out_std, 3),
                        train_loss=round(float(hist.history["loss"][-1]), 4),
                    )
                    if result.sequence_loop:
                        row["sequence_loop"] = result.sequence_loop
                    rows.append(row)
                    print(
                        f"{cell:9s} {mode:9s} {q:8s} {row['size_bytes']:8d} B {row['per_step_us']:9.1f} us/step "
                        f"parity {row['parity_max_abs']:.2e} (convert {row['convert_s']} s)",
                        flush=True,
                    )
            print(f"[{cell}] trained {args.epochs} epochs in {train_s:.1f} s", flush=True)
    report = {
        "benchmark": "edge",
        "config": vars(args),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "note": "latency on one interpreter thread; the load average says how shared the machine was",
        },
        "rows": rows,
    }
    _io.write_json(args.out, report)
    print(markdown_table(rows))
    print(f"wrote {args.out}")
    return report


def markdown_table(rows) -> str:
    lines = [
        "| cell | mode | quantize | size (KiB) | µs/step (1 thread) | max abs parity |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(
                f"| {r['cell']} | {r['mode']} | {r['quantize']} | — | — | error: {r['error'][:60]} |"
            )
            continue
        lines.append(
            f"| {r['cell']} | {r['mode']} | {r['quantize']} | {r['size_bytes'] / 1024:.1f} | {r['per_step_us']:.1f} | {r['parity_max_abs']:.2g} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
