"""``lstm-apps export``: convert a saved model (or a run folder) to ``.tflite``.

```
lstm-apps export RUN_DIR_OR_MODEL.keras --mode streaming --quantize int8 -o model.tflite
```

Prints the file size, the parity against Keras (max absolute difference),
the per-step latency on one thread, the LiteRT ops the file uses (with a
warning when it needs Flex, custom or control-flow ops) and, for sequence
files, which LSTMs became fused ops and why the others did not. Representative/parity data: ``--data``
(``.npy`` or ``.npz``), else the run folder's ``sample_inputs.npz`` (written by
``Run.save_model``), else random sequences (said so in the output).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_parser", "handle"]


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export",
        help="export a model to TFLite/LiteRT (sequence or streaming, quantized)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", help="a run folder (holding model.keras) or a .keras file")
    p.add_argument("--mode", choices=("sequence", "streaming"), default="streaming", help="default streaming")
    p.add_argument(
        "--quantize",
        choices=("none", "dynamic", "float16", "int8", "int16x8"),
        default="none",
        help="default none (float32)",
    )
    p.add_argument(
        "-o",
        "--output",
        default=None,
        help="the .tflite file (default: beside the model, model_<mode>[_<quantize>].tflite)",
    )
    p.add_argument(
        "--data",
        default=None,
        help="input sequences (.npy, or .npz with x_0, x_1, ...) for calibration and parity",
    )
    p.add_argument(
        "--timesteps", type=int, default=None, help="length of random sequences when no data is given"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def _model_path(source: Path) -> Path:
    if source.is_dir():
        path = source / "model.keras"
        if not path.is_file():
            raise ValueError(f"run folder {str(source)!r} has no model.keras.")
        return path
    if source.suffix != ".keras" or not source.is_file():
        raise ValueError(f"source must be a run folder or an existing .keras file, received {str(source)!r}.")
    return source


def handle(args) -> int:
    import keras
    import numpy as np

    import lstm_apps.layers  # noqa: F401  (registers the package's layers for loading)
    from lstm_apps.export.runner import measure_latency
    from lstm_apps.export.samples import load_sample_inputs, sample_file_name
    from lstm_apps.export.tflite import synthetic_inputs, to_tflite

    source = Path(args.source)
    model_path = _model_path(source)
    model = keras.models.load_model(model_path)
    quantize = None if args.quantize == "none" else args.quantize
    data_origin = None
    if args.data:
        data_path = Path(args.data)
        if not data_path.is_file():
            raise ValueError(f"--data file {str(data_path)!r} does not exist.")
        data = (
            load_sample_inputs(data_path)
            if data_path.suffix == ".npz"
            else [np.load(data_path, allow_pickle=False)]
        )
        data_origin = str(data_path)
    elif (model_path.parent / (sample_name := sample_file_name(model_path.stem))).is_file():
        data = load_sample_inputs(model_path.parent / sample_name)
        data_origin = str(model_path.parent / sample_name)
    else:
        data = synthetic_inputs(model, batch=16, timesteps=args.timesteps)
        data_origin = (
            "random normal sequences (no --data and no sample_inputs.npz: int8 ranges are not calibrated "
            "on real data)"
        )
    suffix = f"_{quantize}" if quantize else ""
    out = Path(args.output) if args.output else model_path.parent / f"model_{args.mode}{suffix}.tflite"
    result = to_tflite(model, out, mode=args.mode, quantize=quantize, representative_data=data)
    latency = measure_latency(out, [v[:1] for v in data], repeats=200)
    report = {
        "file": str(out),
        "mode": args.mode,
        "quantize": args.quantize,
        "size_bytes": result.size_bytes,
        "parity_max_abs": result.parity_max_abs,
        "parity_inputs": list(result.parity_shape) if result.parity_shape else None,
        "per_step_latency_us": round(latency["per_step_us_median"], 2),
        "states": result.state_names,
        "ops": result.ops,
        "op_flags": result.op_flags,
        "fusion": result.fusion,
        "data": data_origin,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"wrote {out} ({args.mode}, {args.quantize})")
        print(f"  size:      {result.size_bytes} bytes ({result.size_bytes / 1024:.1f} KiB)")
        print(
            f"  parity:    max |keras - tflite| = {result.parity_max_abs:.3g} on {result.parity_shape} inputs"
        )
        print(f"  latency:   {latency['per_step_us_median']:.1f} us per step (median, 1 thread)")
        if result.state_names:
            print(f"  states:    {', '.join(result.state_names)}")
        print(f"  ops:       {', '.join(f'{op} x{n}' for op, n in result.ops.items())}")
        if result.op_flags:
            flags = ", ".join(result.op_flags)
            print(f"  needs:     {flags} ops (not every LiteRT runtime or delegate has them)")
        for layer, how in result.fusion.items():
            print(f"  fusion:    {layer}: {how}")
        print(f"  data:      {data_origin}")
    return 0
