"""Drift of a streaming file over a long stream: how far it strays from Keras after many steps.

A streaming file feeds its states back at every step, so what quantization
rounds in a state can accumulate: the error after 10,000 steps is not the
error after 20. :func:`stream_drift` runs one long stream through the file
step by step and through the Keras model in one call, and reports the largest
absolute difference over the first ``n`` steps for each ``n`` asked for.

Example:

```python
from lstm_apps.export import to_tflite
from lstm_apps.export.drift import stream_drift

to_tflite(model, "m.tflite", mode="streaming", quantize="int16x8", representative_data=x[:32])
stream_drift(model, "m.tflite", long_stream, marks=(1000, 10000))  # {1000: 0.002, 10000: 0.004}
```
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["any_length_model", "stream_drift"]


def any_length_model(model):
    """A copy of ``model`` (same weights) whose inputs take sequences of any length.

    Args:
        model: a built Keras model whose inputs are sequences
            ``(batch, timesteps, ...)``.

    Returns:
        The model itself when every input's length is already free, else a
        clone with ``timesteps=None`` and the model's weights.
    """
    import keras

    if all(kt.shape[1] is None for kt in model.inputs):
        return model
    inputs = [
        keras.Input((None, *kt.shape[2:]), dtype=keras.backend.standardize_dtype(kt.dtype))
        for kt in model.inputs
    ]
    clone = keras.models.clone_model(model, input_tensors=inputs if len(inputs) > 1 else inputs[0])
    clone.set_weights(model.get_weights())
    return clone


def stream_drift(
    model, tflite: str | os.PathLike | bytes, stream, marks=(1000, 10000), reference=None
) -> dict[int, float]:
    """Largest ``|Keras - file|`` over the first ``n`` steps of one long stream, for each ``n``.

    Args:
        model: the Keras model the file was exported from; its outputs must
            be per step (``return_sequences=True`` up to the output).
        tflite: a streaming file (path or bytes).
        stream: the stream(s), ``(batch, steps, ...)`` (a list for several
            inputs).
        marks: the step counts to report; each at most the stream's length.
        reference: the Keras outputs on ``stream`` when already computed
            (an array, or a list for several outputs); by default the model
            is run on it (:func:`any_length_model`).

    Returns:
        ``{n: max abs difference over steps [0, n)}`` over all outputs.

    Raises:
        ValueError: a mark longer than the stream, or an output that is not
            per step.
    """
    from lstm_apps.export.runner import StreamingRunner

    xs = stream if isinstance(stream, (list, tuple)) else [stream]
    xs = [np.asarray(v) for v in xs]
    if xs[0].ndim < 2:
        raise ValueError(f"stream must be (batch, steps, ...), received shape {xs[0].shape}.")
    steps = xs[0].shape[1]
    marks = sorted(int(n) for n in marks)
    if not marks or marks[0] <= 0 or marks[-1] > steps:
        raise ValueError(
            f"marks must be step counts in [1, {steps}] (the stream's length), received {marks}."
        )
    if reference is None:
        reference = any_length_model(model).predict(xs if len(xs) > 1 else xs[0], verbose=0, batch_size=1)
    reference = reference if isinstance(reference, (list, tuple)) else [reference]
    runner = StreamingRunner(tflite)
    got = runner.run(xs if len(xs) > 1 else xs[0])
    got = [got[n] for n in runner.output_names] if isinstance(got, dict) else [got]
    per_step = np.zeros(steps)
    for ref, out in zip(reference, got):
        ref = np.asarray(ref)
        if ref.ndim < 2 or ref.shape[1] != steps:
            raise ValueError(
                f"stream_drift needs per-step outputs (return_sequences=True up to the output); an output "
                f"has shape {ref.shape} for a {steps}-step stream."
            )
        diff = np.abs(out.astype("float64") - ref).reshape(ref.shape[0], steps, -1)
        per_step = np.maximum(per_step, diff.max(axis=(0, 2)))
    return {n: float(per_step[:n].max()) for n in marks}
