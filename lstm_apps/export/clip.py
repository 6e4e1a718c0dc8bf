"""Clipping the states of a streaming file: a fixed bound, or the 1997 carousel's saturation point.

A streaming file feeds its states back at every step, so a state that grows
without bound (the 1997 layer's carousel ``s``: no forget gate) leaves any
fixed-point grid. Its output squash is bounded, though: ``h = y_out *
(2 sigmoid(s) - 1)`` (``"paper"``) or ``y_out * tanh(s)`` (``"tanh"``) is as
close to ±1 as the file can tell apart once ``|s|`` passes a point known in
closed form. :func:`saturation_clip` gives that point for each quantization,
and ``to_tflite(..., state_clip="saturation")`` clips each carousel there:
the state's range is then known exactly, not sampled, and an integer file's
grid spends its levels only where the output still changes.

The point: ``1 - squash(c) = eps``, ``eps`` half a step of the grid that
holds ``h`` (:data:`SATURATION_TOLERANCE`): for ``"paper"``,
``tanh(c / 2) = 1 - eps`` so ``c = ln((2 - eps) / eps)``; for ``"tanh"``
half that. Beyond ``c`` the squash differs from ±1 by less than ``eps``.
What the clip changes: a carousel that goes beyond ``c`` and later comes back
comes back from ``c``, where Keras comes back from further out; the parity
and :func:`~lstm_apps.export.stream_drift` measure it on real data.

Example:

```python
from lstm_apps.export import to_tflite
from lstm_apps.export.clip import saturation_clip

saturation_clip("paper", "int8")  # 6.23: 2 sigmoid(s) - 1 is within 1/255 of 1 beyond it
result = to_tflite(model, "m.tflite", mode="streaming", quantize="int8",
                   representative_data=x[:32], state_clip="saturation")
result.state_clips  # {"state_lstm1997_1": 6.23}
```
"""

from __future__ import annotations

import argparse
import math

import numpy as np

__all__ = ["SATURATION", "SATURATION_TOLERANCE", "saturation_clip", "state_clip_arg", "state_clips"]

#: The ``state_clip`` value that clips each 1997 carousel at its saturation point.
SATURATION = "saturation"

#: Half a step of the grid that holds a squashed output in ``[-1, 1]``, by quantization: float32
#: (float16 and dynamic files keep float32 activations) just below 1, int8's 256 levels over
#: ``[-1, 1]``, int16's symmetric 65535.
SATURATION_TOLERANCE = {
    None: 2.0**-25,
    "float16": 2.0**-25,
    "dynamic": 2.0**-25,
    "int8": 1.0 / 255.0,
    "int16x8": 1.0 / 65534.0,
}

# output squash of the 1997 cell -> the factor on s inside tanh (2 sigmoid(s) - 1 = tanh(s / 2))
_SQUASH_SLOPE = {"paper": 0.5, "tanh": 1.0}


def saturation_clip(output_activation: str, quantize: str | None = None) -> float | None:
    """The carousel value beyond which the 1997 cell's output squash is ±1 on the file's grid.

    Args:
        output_activation: the cell's ``output_activation``: ``"paper"``
            (``2 sigmoid(s) - 1``), ``"tanh"`` or ``"linear"`` (no bound:
            ``None`` is returned).
        quantize: the file's quantization (a key of
            :data:`SATURATION_TOLERANCE`).

    Returns:
        ``c`` with ``1 - squash(c) = eps`` (``eps`` from
        :data:`SATURATION_TOLERANCE`), or ``None`` for a squash that does
        not saturate.

    Raises:
        ValueError: an unknown squash or quantization.

    Example:

    >>> round(saturation_clip("paper", "int8"), 3)
    6.233
    """
    if quantize not in SATURATION_TOLERANCE:
        raise ValueError(
            f"quantize must be one of {list(SATURATION_TOLERANCE)}, received quantize={quantize!r}."
        )
    if output_activation == "linear":
        return None
    if output_activation not in _SQUASH_SLOPE:
        raise ValueError(
            f"output_activation must be 'paper', 'tanh' or 'linear', received {output_activation!r}."
        )
    eps = SATURATION_TOLERANCE[quantize]
    return math.log((2.0 - eps) / eps) / (2.0 * _SQUASH_SLOPE[output_activation])


def state_clips(graph, state_clip, quantize: str | None = None) -> dict[str, float]:
    """The clip of each state of a streaming graph, by state name.

    Args:
        graph: a :class:`~lstm_apps.export.StepGraph`.
        state_clip: ``None`` (no clip), a positive number (every float
            state, ``[-state_clip, state_clip]``) or ``"saturation"`` (the
            carousel ``s`` of every 1997 cell whose output squash saturates,
            at :func:`saturation_clip`; the other states are not clipped).
        quantize: the file's quantization (sets the saturation point).

    Returns:
        ``{state name: clip}`` for the clipped states.

    Raises:
        ValueError: a bad ``state_clip``, or ``"saturation"`` for a model
            without such a carousel (its recurrent layers named).
    """
    if state_clip is None:
        return {}
    if isinstance(state_clip, str):
        if state_clip != SATURATION:
            raise ValueError(
                f"state_clip must be a positive number, {SATURATION!r} or None, received {state_clip!r}."
            )
        from lstm_apps.layers.lstm1997_cell import LSTM1997Cell

        clips = {}
        for spec in graph.states:
            if isinstance(spec.cell, LSTM1997Cell) and spec.index == 1:  # states [h, s(, gates)]
                clip = saturation_clip(spec.cell.output_activation, quantize)
                if clip is not None:
                    clips[spec.name] = clip
        if not clips:
            layers = sorted({f"{s.layer} ({type(s.cell).__name__})" for s in graph.states})
            raise ValueError(
                f"state_clip={SATURATION!r} clips the carousel of LSTM1997 cells with a bounded output "
                f"squash ('paper' or 'tanh'); the model has none among its recurrent layers {layers}."
            )
        return clips
    if isinstance(state_clip, bool) or not isinstance(state_clip, (int, float)) or not state_clip > 0:
        raise ValueError(
            f"state_clip must be a positive number, {SATURATION!r} or None, received {state_clip!r}."
        )
    return {s.name: float(state_clip) for s in graph.states if np.dtype(s.dtype).kind == "f"}


def state_clip_arg(text: str) -> float | str:
    """The type of a ``--state-clip`` flag (``lstm-apps export``, ``benchmarks/edge.py``).

    Args:
        text: a positive number, or ``saturation``.

    Returns:
        The number as a float, or ``"saturation"``.

    Raises:
        argparse.ArgumentTypeError: anything else (argparse prints it as the flag's error).
    """
    if text == SATURATION:
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number or {SATURATION!r}, received {text!r}")
    return value
