"""``lstm-apps export``: convert a saved model (or a run folder) to ``.tflite``.

```
lstm-apps export RUN_DIR_OR_MODEL.keras --mode streaming --quantize int8 -o model.tflite
```

Prints the file size, the parity against Keras (max absolute difference), the
per-step latency on one thread, the LiteRT ops the file uses (with a warning
when it needs Flex, custom or control-flow ops), for sequence files which LSTMs
became fused ops and why the others did not, and the data it used.
Calibration/parity data: ``--data`` (``.npy`` or ``.npz``), else the run
folder's ``sample_inputs.npz`` (kept by ``Run.save_model``). Without either,
an int8 export is refused (its ranges would fit random noise) unless
``--calibration random`` asks for random normal sequences; a float export then
checks parity on random sequences and says so.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lstm_apps.export.clip import state_clip_arg
from lstm_apps.training.parser import positive_int

__all__ = ["add_parser", "handle", "export_file", "CALIBRATIONS"]

#: ``--calibration``: real sequences (``--data`` or the run's sample inputs), or random normal ones.
CALIBRATIONS = ("real", "random")


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
        "--calibration",
        choices=CALIBRATIONS,
        default="real",
        help="real (default): calibrate and check parity on --data or the run's sample_inputs.npz (an "
        "int8 export without them is refused); random: on random normal sequences",
    )
    p.add_argument(
        "--timesteps",
        type=positive_int,
        default=None,
        help="length of random sequences when no data is given",
    )
    p.add_argument(
        "--state-clip",
        type=state_clip_arg,
        default=None,
        help="streaming: clip every state to [-C, C] after each step, or 'saturation': each LSTM1997 "
        "carousel where its output squash is 1 on the file's grid (long integer streams of the 1997 layer)",
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


def _load_data(data_path: Path) -> list:
    import numpy as np

    from lstm_apps.export.samples import load_sample_inputs

    if not data_path.is_file():
        raise ValueError(f"--data file {str(data_path)!r} does not exist.")
    if data_path.suffix not in (".npy", ".npz"):
        raise ValueError(f"--data file {str(data_path)!r} must be a .npy or .npz file.")
    try:
        if data_path.suffix == ".npz":
            data = load_sample_inputs(data_path)
        else:
            data = [np.load(data_path, allow_pickle=False)]
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"--data file {str(data_path)!r} cannot be read as NumPy arrays: {exc}") from None
    if not data or any(np.ndim(v) < 2 or len(v) == 0 for v in data):
        raise ValueError(
            f"--data file {str(data_path)!r} must hold a non-empty batch of sequences per model input "
            f"(arrays shaped (batch, timesteps, ...)), received shapes {[np.shape(v) for v in data]}."
        )
    return data


def export_file(
    source: str | Path,
    mode: str = "streaming",
    quantize: str | None = None,
    output: str | Path | None = None,
    data: str | Path | None = None,
    calibration: str = "real",
    timesteps: int | None = None,
    state_clip: float | str | None = None,
) -> dict:
    """Export a run folder's ``model.keras`` (or a ``.keras`` file) to ``.tflite``; return the report.

    The calibration (int8) and parity data are real input sequences: ``data``
    (a ``.npy``, or ``.npz`` with ``x_0, x_1, ...``), else the run folder's
    ``sample_inputs.npz`` (kept by ``Run.save_model``). Random normal sequences
    are used only with ``calibration="random"``, or, for a float export
    (parity only), when there are no real ones; an int8 export without real
    data is refused. The report says which data were used (``data``,
    ``data_source``: ``"file"``, ``"sample_inputs"`` or ``"random"``).

    Args:
        source: a run folder (holding ``model.keras``) or a ``.keras`` file.
        mode: ``"streaming"`` or ``"sequence"``.
        quantize: ``None`` (float32), ``"dynamic"``, ``"float16"`` or ``"int8"``.
        output: the ``.tflite`` file (default beside the model).
        data: a file of real input sequences.
        calibration: ``"real"`` (default) or ``"random"``.
        timesteps: length of random sequences.
        state_clip: streaming: a clip for every state, or ``"saturation"``
            (see :func:`~lstm_apps.export.to_tflite`).

    Returns:
        ``file``, ``mode``, ``quantize``, ``size_bytes``, ``parity_max_abs``,
        ``parity_inputs``, ``per_step_latency_us``, ``states``, ``data``,
        ``data_source``, ``input`` (``"token_ids"`` for a model that reads
        raw text: it is exported from its token ids), ``ops``, ``op_flags``,
        ``fusion``, ``state_clips``.

    Raises:
        ValueError: a missing model or data file, or int8 without real data.
        RuntimeError: Keras runs on a backend other than TensorFlow (named), before
            the model is read.

    Example:

    >>> report = export_file("runs/adding/20250101-120000", quantize="int8")
    >>> report["data_source"]
    'sample_inputs'
    """
    from lstm_apps.backends import require_tensorflow

    require_tensorflow("TFLite export (lstm-apps export)")
    from lstm_apps.export.runner import measure_latency
    from lstm_apps.export.samples import load_sample_inputs, sample_file_name
    from lstm_apps.export.tflite import synthetic_inputs, to_tflite
    from lstm_apps.io import load_keras_model
    from lstm_apps.training.export import _past_text_vectorization

    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, received {calibration!r}.")
    if calibration == "random" and data is not None:
        raise ValueError(
            f"--data {data} and --calibration random exclude each other: the first gives real sequences."
        )
    model_path = _model_path(Path(source))
    samples = model_path.parent / sample_file_name(model_path.stem)
    if data is not None:
        inputs, origin, kind = _load_data(Path(data)), str(data), "file"
    elif calibration == "real" and samples.is_file():
        inputs, origin, kind = load_sample_inputs(samples), str(samples), "sample_inputs"
    elif calibration == "real" and quantize == "int8":
        raise ValueError(
            f"no real input sequences to calibrate the int8 export of {str(model_path)!r}: "
            f"{str(samples)!r} does not exist (Run.save_model keeps it when given sample_inputs). Give "
            "--data FILE (.npy, or .npz with x_0, x_1, ...) of the task's inputs, or --calibration random "
            "to calibrate on random normal sequences (the int8 ranges then fit noise, not the task)."
        )
    else:
        inputs, kind = None, "random"
        origin = "random normal sequences" + (
            " (--calibration random)"
            if calibration == "random"
            else f" (no --data and no {samples.name}: the parity is measured on noise, not on the task)"
        )
    model = load_keras_model(model_path)
    if inputs is None:
        inputs = synthetic_inputs(model, batch=16, timesteps=timesteps)
    # a model reading raw text through its TextVectorization is exported from its token ids,
    # the run's sample texts tokenized with the model's own vocabulary
    model, inputs, from_token_ids = _past_text_vectorization(model, inputs)
    suffix = f"_{quantize}" if quantize else ""
    out = Path(output) if output else model_path.parent / f"model_{mode}{suffix}.tflite"
    result = to_tflite(
        model, out, mode=mode, quantize=quantize, representative_data=inputs, state_clip=state_clip
    )
    latency = measure_latency(out, [v[:1] for v in inputs], repeats=200)
    return {
        "file": str(out),
        "mode": mode,
        "quantize": quantize or "none",
        "size_bytes": result.size_bytes,
        "parity_max_abs": result.parity_max_abs,
        "parity_inputs": list(result.parity_shape) if result.parity_shape else None,
        "per_step_latency_us": round(latency["per_step_us_median"], 2),
        "states": result.state_names,
        "data": origin + (" (tokenized by the model's TextVectorization)" if from_token_ids else ""),
        "data_source": kind,
        "input": "token_ids" if from_token_ids else "model_inputs",
        "ops": result.ops,
        "op_flags": result.op_flags,
        "fusion": result.fusion,
        "state_clips": result.state_clips,
    }


def handle(args) -> int:
    """Run ``lstm-apps export`` (see :func:`export_file`) and print its report."""
    quantize = None if args.quantize == "none" else args.quantize
    report = export_file(
        args.source,
        mode=args.mode,
        quantize=quantize,
        output=args.output,
        data=args.data,
        calibration=args.calibration,
        timesteps=args.timesteps,
        state_clip=args.state_clip,
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"wrote {report['file']} ({args.mode}, {args.quantize})")
        size = report["size_bytes"]
        print(f"  size:      {size} bytes ({size / 1024:.1f} KiB)")
        print(
            f"  parity:    max |keras - tflite| = {report['parity_max_abs']:.3g} on "
            f"{tuple(report['parity_inputs']) if report['parity_inputs'] else None} inputs"
        )
        print(f"  latency:   {report['per_step_latency_us']:.1f} us per step (median, 1 thread)")
        if report["states"]:
            print(f"  states:    {', '.join(report['states'])}")
        for state, clip in report["state_clips"].items():
            print(f"  clip:      {state} to [-{clip:.4g}, {clip:.4g}]")
        print(f"  ops:       {', '.join(f'{op} x{n}' for op, n in report['ops'].items())}")
        if report["op_flags"]:
            flags = ", ".join(report["op_flags"])
            print(f"  needs:     {flags} ops (not every LiteRT runtime or delegate has them)")
        for layer, how in report["fusion"].items():
            print(f"  fusion:    {layer}: {how}")
        print(f"  data:      {report['data']}")
    return 0
