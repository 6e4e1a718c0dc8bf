"""Export trained recurrent models to edge devices (TFLite / LiteRT).

* :func:`to_tflite` — ``mode="sequence"`` (whole sequences) or
  ``mode="streaming"`` (one step per call, recurrent states as named
  inputs/outputs), ``quantize=None | "dynamic" | "float16" | "int8" |
  "int16x8"``; sequence files hold LiteRT's fused LSTM op where the model's
  LSTMs allow it; every float32 file is checked against the Keras model
  before it is written.
* :class:`StreamingRunner` — runs a streaming file with ``ai_edge_litert``,
  keeping the state between :meth:`~StreamingRunner.step` calls.
* :func:`check_parity` — largest absolute difference Keras vs TFLite.
* :func:`file_ops`, :func:`op_flags` — the LiteRT ops a file uses, and
  whether it needs Flex, custom or control-flow ops; :func:`mis_sized_buffers`
  — the tensors whose data do not fit their type (a file LiteRT refuses).
* :func:`stream_drift` — how far a streaming file strays from Keras over a
  long stream (1000, 10,000 steps).
* :func:`saturation_clip` — where the 1997 cell's output squash is ±1 on a
  file's grid: ``to_tflite(..., state_clip="saturation")`` clips its
  carousel there.
* :class:`StepGraph` — the one-step form of a Keras model, in Keras.

Example:

```python
from lstm_apps.export import to_tflite, StreamingRunner

result = to_tflite(model, "model.tflite", mode="streaming", quantize="int8",
                   representative_data=x_train[:32])
runner = StreamingRunner("model.tflite")
for x_t in x_test[0]:
    y_t = runner.step(x_t)
```

Submodules are imported lazily, so ``import lstm_apps.export`` does not load
TensorFlow until a converter is used.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "to_tflite": "tflite",
    "convert": "tflite",
    "check_parity": "tflite",
    "synthetic_inputs": "tflite",
    "ExportResult": "tflite",
    "MODES": "tflite",
    "QUANTIZATIONS": "tflite",
    "INTEGER_QUANTIZATIONS": "tflite",
    "CALIBRATION_STEPS": "tflite",
    "SATURATION_CALIBRATION_STEPS": "tflite",
    "FLOAT_PARITY_LIMIT": "tflite",
    "StreamingRunner": "runner",
    "SequenceRunner": "runner",
    "measure_latency": "runner",
    "load_interpreter": "runner",
    "file_mode": "runner",
    "StepGraph": "streaming",
    "file_ops": "ops",
    "stream_drift": "drift",
    "saturation_clip": "clip",
    "op_flags": "ops",
    "mis_sized_buffers": "ops",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"lstm_apps.export.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'lstm_apps.export' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
