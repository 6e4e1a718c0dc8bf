"""Edge export benchmark: file size, parity, ops, fused vs loop sequence files, drift on long streams.

Models: ``Input(20 steps, 2) -> cell(64) -> Dense(1)`` trained briefly on
standardised windows of a noisy seasonal series (one-step-ahead
forecasting, as in the forecasting recipes), exported with
``lstm_apps.export.to_tflite``. Two tables go to ``benchmarks/results/edge.json``:

* ``rows``: for each cell (LSTM1997, Keras LSTM, Keras GRU), form and
  quantization (float32, float16, dynamic-range int8 weights, full int8,
  int16x8): ``size_bytes``, ``parity_max_abs`` (max |Keras - TFLite| on 8
  held-out windows), the LiteRT ``ops`` and ``op_flags`` of the file. The
  forms: ``streaming`` (one step per call, states fed back), ``sequence``
  (whole window per call; fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` ops where
  the cell allows) and, for cells that fuse, ``sequence_loop`` (the same
  with ``fuse=False``: the model's own ``WHILE`` loop, or the unrolled step
  graph for integer files): the fused/loop comparison.
* ``drift``: for every cell kind of the layer registry
  (``lstm_apps.layers.recurrent_kinds()``, so a newly registered cell is in
  the next run) and every quantization, a streaming file run over one long
  stream of the same series (10,000 steps); ``drift_1000`` /
  ``drift_10000`` are the largest |Keras - TFLite| over the first 1000 /
  10,000 steps (10,000 for the ``--long-cells``, by default every cell of
  the drift table), ``stream_std`` the spread of the Keras output on the
  stream. The 1997 layer also gets rows with each ``--state-clip`` (its
  carousel grows without bound; see ``to_tflite``): 40, and
  ``saturation`` (each carousel clipped where its output squash is ±1 on
  the file's grid, 6.2 in int8, 11.8 in int16x8).

Timings depend on the machine's load, so the default run records none; with
``--latency`` the rows also get ``per_step_us`` (median per time step on ONE
interpreter thread: streaming, one ``StreamingRunner.step`` call with the
Python signature-runner overhead; sequence, one whole-window call divided by
the 20 steps) and ``convert_s``. Run it on an idle machine.

Usage:

```
python benchmarks/edge.py                       # writes benchmarks/results/edge.json (no timings)
python benchmarks/edge.py --latency --out /tmp/edge_latency.json   # with per-step latency
python benchmarks/edge.py --only drift --drift-cells lstm gru --out /tmp/edge.json
python benchmarks/edge.py --only drift --drift-cells lstm1997 --quantize none int8 int16x8 --out /tmp/e.json
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

QUANT_CHOICES = ("none", "float16", "dynamic", "int8", "int16x8")
LONG_STEPS = 10_000


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


def build_model(cell: str, units: int, steps: int, features: int = 2):
    import keras

    from lstm_apps.layers import recurrent

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((steps, features)),
            recurrent(cell, units, return_sequences=True),
            keras.layers.Dense(1),
        ],
        name=cell,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def trained(cell: str, args, x, y):
    """The benchmark model of a cell kind, trained; its input width (2, or 1 for one-feature cells)."""
    for features in (2, 1):
        try:
            model = build_model(cell, args.units, args.timesteps, features)
            break
        except ValueError:
            if features == 1:
                raise
    hist = model.fit(x[:64, :, :features], y[:64], epochs=args.epochs, batch_size=16, verbose=0)
    return model, features, float(hist.history["loss"][-1])


def export_rows(args, x, y, tmp) -> list[dict]:
    """The size / parity / ops table: cell x form x quantization (with latency on request)."""
    from lstm_apps.export import measure_latency, to_tflite
    from lstm_apps.export.fused import lstm_fusion

    rows = []
    x_test = x[88:96]
    for cell in args.cells:
        model, _, loss = trained(cell, args, x, y)
        out_std = float(np.std(model.predict(x_test, verbose=0)))
        forms = [("streaming", "streaming", True), ("sequence", "sequence", True)]
        if lstm_fusion(model.layers[0])[1] is None:  # the cell fuses: its loop form too, to compare
            forms.append(("sequence_loop", "sequence", False))
        for q in args.quantize:
            quantize = None if q == "none" else q
            for form, mode, fuse in forms:
                row = {
                    "cell": cell,
                    "form": form,
                    "quantize": q,
                    "units": args.units,
                    "timesteps": args.timesteps,
                }
                t0 = time.time()
                try:
                    result = to_tflite(
                        model,
                        Path(tmp) / f"{cell}_{form}_{q}.tflite",
                        mode=mode,
                        quantize=quantize,
                        representative_data=x[:32],
                        parity_inputs=x_test,
                        fuse=fuse,
                    )
                except ValueError as exc:
                    row["error"] = str(exc)[:300]
                    rows.append(row)
                    print(f"{cell:9s} {form:13s} {q:8s} ERROR {row['error'][:120]}", flush=True)
                    continue
                convert_s = time.time() - t0
                row.update(
                    size_bytes=result.size_bytes,
                    parity_max_abs=float(f"{result.parity_max_abs:.3g}"),
                    sequence_loop=result.sequence_loop,
                    ops=result.ops,
                    op_flags=result.op_flags,
                    output_std=round(out_std, 3),
                    train_loss=round(loss, 4),
                )
                if args.latency:
                    lat = measure_latency(result.path, x_test[:1], repeats=args.repeats, warmup=30)
                    row.update(
                        per_step_us=round(lat["per_step_us_median"], 2),
                        per_step_us_p90=round(lat["per_step_us_p90"], 2),
                        convert_s=round(convert_s, 2),
                    )
                rows.append(row)
                print(
                    f"{cell:9s} {form:13s} {q:8s} {row['size_bytes']:8d} B "
                    f"parity {row['parity_max_abs']:.2e} {row['sequence_loop'] or '':10s} "
                    f"{', '.join(result.ops)}",
                    flush=True,
                )
    return rows


def drift_rows(args, x, y, tmp) -> list[dict]:
    """The drift table: cell kind x quantization (x state_clip), over one long stream."""
    from lstm_apps.export import stream_drift, to_tflite
    from lstm_apps.export.drift import any_length_model

    stream, _ = seasonal_windows(1, LONG_STEPS, seed=1)
    rows = []
    for cell in args.drift_cells:
        model, features, _ = trained(cell, args, x, y)
        long = cell in args.long_cells
        steps = LONG_STEPS if long else 1000
        xs = stream[:, :steps, :features]
        reference = any_length_model(model).predict(xs, verbose=0, batch_size=1)
        variants = [(q, None) for q in args.quantize]
        if cell in args.clip_cells:
            variants += [
                (q, clip)
                for clip in args.state_clip
                for q in args.quantize
                if q in ("none", "int8", "int16x8")
            ]
        for q, clip in variants:
            row = {"cell": cell, "quantize": q, "state_clip": clip, "units": args.units, "steps": steps}
            try:
                result = to_tflite(
                    model,
                    Path(tmp) / f"drift_{cell}_{q}_{clip}.tflite",
                    mode="streaming",
                    quantize=None if q == "none" else q,
                    representative_data=x[:32, :, :features],
                    parity_inputs=x[88:96, :, :features],
                    state_clip=clip,
                )
                marks = (1000, LONG_STEPS) if long else (1000,)
                drift = stream_drift(model, result.path, xs, marks=marks, reference=reference)
            except ValueError as exc:
                row["error"] = str(exc)[:300]
                rows.append(row)
                print(f"{cell:17s} {q:8s} clip={clip} ERROR {row['error'][:120]}", flush=True)
                continue
            row.update(
                drift_1000=float(f"{drift[1000]:.3g}"),
                drift_10000=float(f"{drift[LONG_STEPS]:.3g}") if long else None,
                parity_max_abs=float(f"{result.parity_max_abs:.3g}"),
                size_bytes=result.size_bytes,
                stream_std=round(float(np.std(reference)), 3),
            )
            rows.append(row)
            print(
                f"{cell:17s} {q:8s} clip={clip} drift 1000: {row['drift_1000']:.3g}  "
                f"10000: {row['drift_10000'] if long else '-'}  (parity {row['parity_max_abs']:.2g})",
                flush=True,
            )
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    """The benchmark's flags; the cell kinds come from the layer registry."""
    from lstm_apps.export.clip import state_clip_arg
    from lstm_apps.layers import recurrent_kinds

    kinds = list(recurrent_kinds())
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("rows", "drift"), default=None, help="one of the two tables")
    parser.add_argument(
        "--cells",
        nargs="+",
        default=["lstm1997", "lstm", "gru"],
        choices=kinds,
        help="first table (sizes, parity, fused vs loop): the two cells that fuse and GRU",
    )
    parser.add_argument("--quantize", nargs="+", default=list(QUANT_CHOICES), choices=QUANT_CHOICES)
    parser.add_argument(
        "--drift-cells", nargs="+", default=kinds, choices=kinds, help="drift table (default: every kind)"
    )
    parser.add_argument(
        "--long-cells",
        nargs="+",
        default=None,
        choices=kinds,
        help="drift over 10,000 steps (default: --drift-cells)",
    )
    parser.add_argument(
        "--clip-cells", nargs="*", default=["lstm1997"], choices=kinds, help="also measured with state_clip"
    )
    parser.add_argument(
        "--state-clip",
        nargs="+",
        type=state_clip_arg,
        default=[40.0, "saturation"],
        help="the clips of the --clip-cells rows: numbers, or 'saturation' (see to_tflite)",
    )
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--latency", action="store_true", help="measure per-step latency (idle machine)")
    parser.add_argument("--repeats", type=int, default=300, help="timed steps per file (--latency)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "edge.json"))
    args = parser.parse_args(argv)
    if args.long_cells is None:
        args.long_cells = list(args.drift_cells)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)

    from lstm_apps import io as _io

    x, y = seasonal_windows(96, args.timesteps)
    report = {"benchmark": "edge", "config": {k: v for k, v in vars(args).items() if k != "out"}}
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "rows"):
            report["rows"] = export_rows(args, x, y, tmp)
        if args.only in (None, "drift"):
            report["drift"] = drift_rows(args, x, y, tmp)
    report["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    if args.latency:
        report["machine"]["load_average_1min"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        report["machine"]["note"] = (
            "latency on one interpreter thread; the load average says how shared it was"
        )
    _io.write_json(args.out, report)
    print(markdown_tables(report))
    print(f"wrote {args.out}")
    return report


def _table(head: list[str], rows: list[dict], line, error_line) -> list[str]:
    """A markdown table's lines: ``head``, then each row's ``line(row)``, or ``error_line(row)`` for a
    row that holds an error."""
    return head + [error_line(r) if "error" in r else line(r) for r in rows]


def markdown_tables(report) -> str:
    lines = []
    if "rows" in report:
        lines += _table(
            ["| cell | form | quantize | size (KiB) | max abs parity | ops |", "|---|---|---|---:|---:|---|"],
            report["rows"],
            lambda r: (
                f"| {r['cell']} | {r['form']} | {r['quantize']} | {r['size_bytes'] / 1024:.1f} | "
                f"{r['parity_max_abs']:.2g} | {', '.join(r['ops'])} |"
            ),
            lambda r: f"| {r['cell']} | {r['form']} | {r['quantize']} | — | — | error: {r['error'][:60]} |",
        )
    if "drift" in report:
        lines += _table(
            ["", "| cell | quantize | state_clip | drift 1000 | drift 10000 |", "|---|---|---|---:|---:|"],
            report["drift"],
            lambda r: (
                f"| {r['cell']} | {r['quantize']} | {r['state_clip'] or '—'} | {r['drift_1000']:.2g} | "
                f"{'—' if r['drift_10000'] is None else format(r['drift_10000'], '.2g')} |"
            ),
            lambda r: f"| {r['cell']} | {r['quantize']} | {r['state_clip']} | error | {r['error'][:60]} |",
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
