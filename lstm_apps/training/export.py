"""The export step of a recipe: LiteRT (``.tflite``) files of trained models and their parity.

:func:`export_models` converts one or several named Keras models with
:func:`lstm_apps.export.to_tflite`, checks each file against Keras on the
recipe's real sample inputs and returns the numbers as a flat dict for
``metrics.json``. ``Run.save_model`` (with ``--export``) and ``Run.export``
call it and record what it returns; it never calls back into the run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lstm_apps.export.samples import as_input_list

__all__ = ["export_models", "EXPORT_MODES"]

EXPORT_MODES = ("streaming", "sequence")


def _file_name(name: str, mode: str, quantize: str | None) -> str:
    stem = f"{name}_streaming" if mode == "streaming" else name
    return f"{stem}_{quantize}.tflite" if quantize else f"{stem}.tflite"


def export_models(
    folder: str | os.PathLike,
    models: Mapping[str, tuple[Any, Any]],
    mode: str = "streaming",
    quantize: str | None = None,
    label: str = "export",
) -> dict[str, Any]:
    """Export named Keras models as ``.tflite`` files; return their parity, size and latency.

    For each ``name: (model, sample_inputs)`` the file
    ``<folder>/<name>_streaming.tflite`` (``mode="streaming"``: one step per
    call, the recurrent states as inputs and outputs) or
    ``<folder>/<name>.tflite`` (``mode="sequence"``) is written (``_<quantize>``
    before the suffix when quantized) and checked against Keras on the sample
    inputs, which also calibrate an int8 file. A model that reads raw strings
    through a ``TextVectorization`` layer is exported from its token ids (the
    text is tokenized with the saved vocabulary on the device). A model that
    cannot be exported does not lose the run: its reason is returned instead.

    Metric names: for a single model named ``"model"``, ``export_parity_max_abs``,
    ``export_size_bytes``, ``export_step_latency_us`` (streaming: the median
    per-step latency on one thread) and ``export_input`` (streaming:
    ``"model_inputs"`` or ``"token_ids"``), or ``export_error`` with the reason;
    for other names the same with ``export_<name>_`` as prefix, and for
    several models also ``export_parity_max_abs``, the largest of their
    parities (or ``export_error`` naming the models that failed).

    Args:
        folder: where the files go (usually the run folder).
        models: ``{name: (keras_model, sample_inputs)}``; ``sample_inputs`` is a
            small batch of real inputs (an array, or a list for several
            inputs), or ``None`` (the model is then not exported, and
            ``export_<name>_error`` says why).
        mode: ``"streaming"`` or ``"sequence"``.
        quantize: ``None`` (float32), ``"dynamic"``, ``"float16"`` or ``"int8"``.
        label: prefix of the lines printed to stderr (the recipe's name).

    Returns:
        The flat metrics described above.

    Raises:
        ValueError: a bad ``mode`` or ``models``.
        RuntimeError: Keras runs on a backend other than TensorFlow (named): raised, not
            recorded as every model's ``export_error``.

    Example:

    >>> metrics = export_models(run.path, {"encoder": (encoder, [src_ids]),
    ...                                    "decoder_step": (step, step_inputs)}, mode="sequence")
    >>> metrics["export_parity_max_abs"]
    """
    if mode not in EXPORT_MODES:
        raise ValueError(f"mode must be one of {EXPORT_MODES}, received {mode!r}.")
    if not isinstance(models, Mapping) or not models:
        raise ValueError(
            f"models must be a non-empty mapping of name to (model, sample_inputs), received {models!r}."
        )
    from lstm_apps.backends import require_tensorflow

    require_tensorflow("TFLite export (lstm_apps.training.export_models)")
    folder = Path(folder)
    out: dict[str, Any] = {}
    parities, failed = [], []
    for name, entry in models.items():
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise ValueError(f"models[{name!r}] must be a (model, sample_inputs) pair, received {entry!r}.")
        model, sample_inputs = entry
        prefix = "export_" if len(models) == 1 and name == "model" else f"export_{name}_"
        result = _export_one(model, sample_inputs, folder / _file_name(name, mode, quantize), mode, quantize)
        if "error" in result:
            print(f"[{label}] --export of {name} failed: {result['error']}", file=sys.stderr)
            failed.append(name)
        else:
            parities.append(result["parity_max_abs"])
            latency = result.get("step_latency_us")
            print(
                f"[{label}] exported {result.pop('file')}: {result['size_bytes']} bytes, parity max "
                f"|keras - tflite| {result['parity_max_abs']:.2e}"
                + (f", {latency:.1f} us/step (1 thread)" if latency is not None else ""),
                file=sys.stderr,
            )
        out.update({f"{prefix}{key}": value for key, value in result.items()})
    if len(models) > 1 or "model" not in models:
        if failed:
            out["export_error"] = f"not exported: {', '.join(failed)} (see export_<name>_error)"
        elif len(models) > 1:
            out["export_parity_max_abs"] = max(parities)
    return out


def _export_one(model, sample_inputs, target: Path, mode: str, quantize: str | None) -> dict[str, Any]:
    from lstm_apps.export.runner import measure_latency
    from lstm_apps.export.tflite import to_tflite

    if sample_inputs is None:
        return {
            "error": "no sample_inputs were given for this model, so the export's parity cannot be checked"
        }
    xs = as_input_list(sample_inputs)
    try:
        model, xs, token_level = _past_text_vectorization(model, xs)
        result = to_tflite(model, target, mode=mode, quantize=quantize, representative_data=xs)
        latency = (
            measure_latency(result.path, [v[:1] for v in xs], repeats=100, warmup=10)
            if mode == "streaming"
            else None
        )
    except Exception as exc:  # the model is saved already: report why it cannot be exported
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    out: dict[str, Any] = {"file": result.path.name}
    if mode == "streaming":
        out["input"] = "token_ids" if token_level else "model_inputs"
    out["parity_max_abs"] = result.parity_max_abs
    out["size_bytes"] = result.size_bytes
    if latency is not None:
        out["step_latency_us"] = round(latency["per_step_us_median"], 2)
    return out


def _past_text_vectorization(model, xs):
    """A raw-string model exports from its token ids: ``(model, xs, True)`` past its vectorizer.

    Tokenizing is not a step of the recurrence (and TFLite has no string
    lookup tables); on a device the text is tokenized with the saved
    vocabulary and the ids are fed one per step. Other models are returned
    unchanged with ``False``.
    """
    import keras
    import tensorflow as tf

    if not any(np.asarray(v).dtype.kind in "OSU" for v in xs):
        return model, xs, False
    vectorizers = [layer for layer in model.layers if isinstance(layer, keras.layers.TextVectorization)]
    if len(vectorizers) != 1 or len(model.inputs) != 1:
        return model, xs, False
    vectorizer = vectorizers[0]
    outputs = model.outputs[0] if len(model.outputs) == 1 else model.outputs
    token_model = keras.Model(vectorizer.output, outputs, name=f"{model.name}_from_token_ids")
    ids = np.asarray(vectorizer(tf.constant(np.asarray(xs[0]).astype(str))))
    return token_model, [ids], True
