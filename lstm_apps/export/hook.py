"""``--export`` for recipes: the streaming ``.tflite`` of a run's model and its parity.

Called by :meth:`lstm_apps.training.Run.save_model` when the recipe was run
with ``--export``. Writes into the run folder:

* ``model_streaming.tflite``: the one-step float32 model (see
  :func:`lstm_apps.export.to_tflite`), checked against Keras on the recipe's
  ``sample_inputs``;
* ``sample_inputs.npz``: those inputs (numeric ones), so that
  ``lstm-apps export RUN_DIR --quantize int8`` can calibrate on real data;

and adds to ``metrics.json``: ``export_parity_max_abs``,
``export_size_bytes``, ``export_step_latency_us`` (median, one thread), or
``export_error`` (the reason) when the model cannot stream.
"""

from __future__ import annotations

import sys

import numpy as np

from lstm_apps import io as _io

__all__ = ["export_run_model", "save_sample_inputs", "load_sample_inputs", "SAMPLE_FILE", "STREAMING_FILE"]

SAMPLE_FILE = "sample_inputs.npz"
STREAMING_FILE = "model_streaming.tflite"
#: Sequences kept in ``sample_inputs.npz`` at most.
MAX_SAMPLES = 64


def _as_list(sample_inputs):
    xs = sample_inputs if isinstance(sample_inputs, (list, tuple)) else [sample_inputs]
    return [np.asarray(v) for v in xs]


def save_sample_inputs(path, sample_inputs) -> bool:
    """Save numeric sample inputs as ``.npz`` (``x_0, x_1, ...``); False when not numeric."""
    xs = _as_list(sample_inputs)
    if any(v.dtype.kind not in "biuf" for v in xs):
        return False
    with _io.atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{f"x_{i}": v[:MAX_SAMPLES] for i, v in enumerate(xs)})
    return True


def load_sample_inputs(path) -> list[np.ndarray]:
    """The inputs saved by :func:`save_sample_inputs`, in order."""
    with np.load(path, allow_pickle=False) as data:
        return [data[f"x_{i}"] for i in range(len(data.files))]


def export_run_model(run, model, sample_inputs, name: str = "model.keras") -> dict:
    """Export ``model`` of ``run`` as its streaming ``.tflite`` and record the parity (see module doc).

    A recipe that saves several models (``name`` other than ``model.keras``)
    gets ``<stem>_streaming.tflite`` and metrics prefixed ``export_<stem>_``.
    """
    from pathlib import Path

    stem = Path(name).stem
    prefix = "export_" if stem == "model" else f"export_{stem}_"
    target = STREAMING_FILE if stem == "model" else f"{stem}_streaming.tflite"
    from lstm_apps.export.runner import measure_latency
    from lstm_apps.export.tflite import to_tflite

    if sample_inputs is None:
        reason = (
            "the recipe gave no sample_inputs to Run.save_model, so the export's parity cannot be checked"
        )
        print(f"[{run.recipe}] --export skipped: {reason}", file=sys.stderr)
        return run.save_metrics({f"{prefix}error": reason})
    xs = _as_list(sample_inputs)
    model, xs, token_level = _past_text_vectorization(model, xs)
    save_sample_inputs(run.file(SAMPLE_FILE if stem == "model" else f"{stem}_{SAMPLE_FILE}"), xs)
    try:
        result = to_tflite(model, run.file(target), mode="streaming", representative_data=xs)
        latency = measure_latency(result.path, [v[:1] for v in xs], repeats=100, warmup=10)
    except Exception as exc:  # the model is saved already: report why it cannot stream, do not lose the run
        reason = f"{type(exc).__name__}: {exc}"
        print(f"[{run.recipe}] --export failed: {reason}", file=sys.stderr)
        return run.save_metrics({f"{prefix}error": reason[:500]})
    print(
        f"[{run.recipe}] exported {result.path.name}: {result.size_bytes} bytes, parity max |keras - tflite| "
        f"{result.parity_max_abs:.2e}, {latency['per_step_us_median']:.1f} us/step (1 thread)",
        file=sys.stderr,
    )
    return run.save_metrics(
        {
            f"{prefix}input": "token_ids" if token_level else "model_inputs",
            f"{prefix}parity_max_abs": result.parity_max_abs,
            f"{prefix}size_bytes": result.size_bytes,
            f"{prefix}step_latency_us": round(latency["per_step_us_median"], 2),
        }
    )


def _past_text_vectorization(model, xs):
    """A raw-string model streams from its token ids: ``(model, xs, True)`` past its vectorizer.

    Tokenizing is not a step of the recurrence (and TFLite has no string
    lookup tables); on a device the text is tokenized with the saved
    vocabulary and the ids are streamed one per step. Other models are
    returned unchanged with ``False``.
    """
    import keras
    import tensorflow as tf

    if not any(np.asarray(v).dtype.kind in "OSU" for v in xs):
        return model, xs, False
    vectorizers = [l for l in model.layers if isinstance(l, keras.layers.TextVectorization)]
    if len(vectorizers) != 1 or len(model.inputs) != 1:
        return model, xs, False
    vectorizer = vectorizers[0]
    outputs = model.outputs[0] if len(model.outputs) == 1 else model.outputs
    token_model = keras.Model(vectorizer.output, outputs, name=f"{model.name}_from_token_ids")
    ids = np.asarray(vectorizer(tf.constant(np.asarray(xs[0]).astype(str))))
    return token_model, [ids], True
