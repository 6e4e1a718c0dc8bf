"""Run exported ``.tflite`` files with LiteRT (``ai_edge_litert``).

:class:`StreamingRunner` drives a streaming file one time step at a time and
keeps the recurrent state between calls; :class:`SequenceRunner` runs a
sequence file on whole sequences; :func:`measure_latency` times either on a
single thread. Only ``ai_edge_litert`` is needed (not TensorFlow), as on a
device.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "STEP_SIGNATURE",
    "INIT_SIGNATURE",
    "SEQUENCE_SIGNATURE",
    "load_interpreter",
    "file_mode",
    "StreamingRunner",
    "SequenceRunner",
    "measure_latency",
]

#: Signature of the one-step function of a streaming file.
STEP_SIGNATURE = "step"
#: Signature giving the initial recurrent states of a streaming file.
INIT_SIGNATURE = "initial_state"
#: Signature of a sequence file.
SEQUENCE_SIGNATURE = "serving_default"


def load_interpreter(model: str | os.PathLike | bytes, num_threads: int = 1):
    """An ``ai_edge_litert`` interpreter for a ``.tflite`` path or its bytes."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model, (bytes, bytearray)):
        return Interpreter(model_content=bytes(model), num_threads=num_threads)
    path = Path(model)
    if not path.is_file():
        raise ValueError(f"TFLite file {str(path)!r} does not exist.")
    return Interpreter(model_path=str(path), num_threads=num_threads)


def file_mode(model: str | os.PathLike | bytes) -> str:
    """``"streaming"`` or ``"sequence"``: which form an exported file holds."""
    sigs = load_interpreter(model).get_signature_list()
    if STEP_SIGNATURE in sigs:
        return "streaming"
    if SEQUENCE_SIGNATURE in sigs:
        return "sequence"
    raise ValueError(
        f"not an lstm_apps export: signatures {sorted(sigs)}; "
        f"expected {STEP_SIGNATURE!r} or {SEQUENCE_SIGNATURE!r}."
    )


def _ordered(names):
    """``x`` / ``x_0, x_1, ...`` in numeric order."""

    def key(n):
        tail = n.rsplit("_", 1)[-1]
        return (0, int(tail)) if tail.isdigit() else (1, n)

    return sorted(names, key=key)


class _SignatureIO:
    def __init__(self, runner):
        self.runner = runner
        details = runner.get_input_details()
        self.inputs = {n: (tuple(d["shape_signature"]), np.dtype(d["dtype"])) for n, d in details.items()}

    def cast(self, name: str, value) -> np.ndarray:
        shape, dtype = self.inputs[name]
        arr = np.asarray(value)
        if arr.dtype != dtype:
            if np.issubdtype(dtype, np.integer) and not np.issubdtype(arr.dtype, np.integer):
                if not np.all(np.equal(np.mod(arr, 1), 0)):
                    raise ValueError(
                        f"input {name!r} expects integers ({dtype}), received non-integer values."
                    )
            arr = arr.astype(dtype)
        if arr.ndim != len(shape):
            raise ValueError(
                f"input {name!r} expects rank {len(shape)} (shape {shape}, -1 = any), "
                f"received shape {arr.shape}."
            )
        return np.ascontiguousarray(arr)


class StreamingRunner:
    """Run a streaming ``.tflite`` file one time step at a time.

    The recurrent states are kept between :meth:`step` calls; :meth:`reset`
    starts a new sequence (states from the file's ``initial_state``
    signature, the model's own ``get_initial_state``).

    Args:
        model: path of a file written by ``to_tflite(..., mode="streaming")``
            (or its bytes).
        num_threads: interpreter threads (1: the single-core figure a small
            device gives).

    Attributes:
        input_names, output_names, state_names: the signature's names.
        states: the current states, ``{name: array}`` (``None`` before the first step).

    Example:

    ```python
    runner = StreamingRunner("model_streaming.tflite")
    for x_t in sensor_readings:          # each (features,)
        y_t = runner.step(x_t)           # prediction after this step
    runner.reset()                       # next sequence
    ```
    """

    def __init__(self, model: str | os.PathLike | bytes, num_threads: int = 1):
        self.interpreter = load_interpreter(model, num_threads=num_threads)
        sigs = self.interpreter.get_signature_list()
        if STEP_SIGNATURE not in sigs:
            raise ValueError(
                f"{model if not isinstance(model, (bytes, bytearray)) else 'model bytes'!s} is not a "
                f"streaming file: its signatures are {sorted(sigs)}, expected {STEP_SIGNATURE!r}; "
                "export with mode='streaming'."
            )
        step_sig = sigs[STEP_SIGNATURE]
        self._step = self.interpreter.get_signature_runner(STEP_SIGNATURE)
        self._init = self.interpreter.get_signature_runner(INIT_SIGNATURE) if INIT_SIGNATURE in sigs else None
        outs = set(step_sig["outputs"])
        self.state_names = sorted(n for n in step_sig["inputs"] if n.startswith("state_") and n in outs)
        self.input_names = _ordered(n for n in step_sig["inputs"] if n not in self.state_names)
        self.output_names = _ordered(n for n in step_sig["outputs"] if n not in self.state_names)
        self._io = _SignatureIO(self._step)
        self.states: dict[str, np.ndarray] | None = None
        self.batch_size: int | None = None

    def reset(self, batch_size: int = 1) -> None:
        """Start new sequences: set the states to the model's initial states."""
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}.")
        if self._init is not None:
            feed = {}
            for n in self.input_names:
                shape, dtype = self._io.inputs[n]
                feed[n] = np.zeros((batch_size, *[max(int(d), 1) for d in shape[1:]]), dtype=dtype)
            out = self._init(**feed)
            self.states = {n: np.array(out[n]) for n in self.state_names}
        else:
            self.states = {}
            for n in self.state_names:
                shape, dtype = self._io.inputs[n]
                self.states[n] = np.zeros((batch_size, *[int(d) for d in shape[1:]]), dtype=dtype)
        self.batch_size = int(batch_size)

    def step(self, x_t):
        """Feed one time step; return the outputs after it.

        Args:
            x_t: the step's input, ``(batch, features...)`` or, for one
                sequence, ``(features...)``; a dict ``{input_name: array}``
                (or a list in input order) for models with several inputs.

        Returns:
            The output array (``(batch, ...)``, or without the batch axis
            when ``x_t`` had none), or a dict ``{output_name: array}`` for
            several outputs.
        """
        if isinstance(x_t, Mapping):
            feed = {n: x_t[n] for n in self.input_names}
        elif isinstance(x_t, (list, tuple)) and len(self.input_names) > 1:
            feed = dict(zip(self.input_names, x_t))
        else:
            feed = {self.input_names[0]: x_t}
        unbatched = False
        for n in self.input_names:
            arr = np.asarray(feed[n])
            if arr.ndim == len(self._io.inputs[n][0]) - 1:
                arr = arr[None]
                unbatched = True
            feed[n] = self._io.cast(n, arr)
        batch = next(iter(feed.values())).shape[0]
        if self.states is None or self.batch_size != batch:
            self.reset(batch)
        out = self._step(**feed, **self.states)
        self.states = {n: np.array(out[n]) for n in self.state_names}
        result = {n: (np.array(out[n])[0] if unbatched else np.array(out[n])) for n in self.output_names}
        return result[self.output_names[0]] if len(result) == 1 else result

    def run(self, sequences, reset: bool = True) -> np.ndarray | dict[str, np.ndarray]:
        """Feed whole sequences ``(batch, timesteps, ...)`` step by step.

        Returns the per-step outputs stacked on axis 1 (``(batch, timesteps, ...)``).
        """
        xs = sequences if isinstance(sequences, (list, tuple, Mapping)) else [sequences]
        if isinstance(xs, Mapping):
            xs = [xs[n] for n in self.input_names]
        xs = [np.asarray(v) for v in xs]
        if xs[0].ndim < 2:
            raise ValueError(f"sequences must be (batch, timesteps, ...), received shape {xs[0].shape}.")
        if reset:
            self.reset(xs[0].shape[0])
        per_step: dict[str, list] = {n: [] for n in self.output_names}
        for t in range(xs[0].shape[1]):
            out = self.step(dict(zip(self.input_names, (v[:, t] for v in xs))))
            if not isinstance(out, dict):
                out = {self.output_names[0]: out}
            for n in self.output_names:
                per_step[n].append(out[n])
        stacked = {n: np.stack(v, axis=1) for n, v in per_step.items()}
        return stacked[self.output_names[0]] if len(stacked) == 1 else stacked


class SequenceRunner:
    """Run a sequence ``.tflite`` file (whole sequences in one call).

    The file's batch is fixed at export (``to_tflite(..., batch_size=)``);
    :meth:`predict` splits (and pads) larger batches into calls of that size.
    The states of fused LSTM ops are variable tensors of the file, kept from
    one call to the next: :meth:`predict` resets them before each call, so
    every call starts its sequences from the initial state (on a device,
    call ``ResetVariableTensors()`` before each new sequence).

    Args:
        model: path of a file written by ``to_tflite(..., mode="sequence")`` (or its bytes).
        num_threads: interpreter threads.
    """

    def __init__(self, model: str | os.PathLike | bytes, num_threads: int = 1):
        self.interpreter = load_interpreter(model, num_threads=num_threads)
        self.interpreter.allocate_tensors()  # reset_all_variables needs allocated tensors
        sigs = self.interpreter.get_signature_list()
        if SEQUENCE_SIGNATURE not in sigs:
            raise ValueError(
                f"not a sequence file: signatures {sorted(sigs)}, expected {SEQUENCE_SIGNATURE!r}."
            )
        self._run = self.interpreter.get_signature_runner(SEQUENCE_SIGNATURE)
        self.input_names = _ordered(sigs[SEQUENCE_SIGNATURE]["inputs"])
        self.output_names = _ordered(sigs[SEQUENCE_SIGNATURE]["outputs"])
        self._io = _SignatureIO(self._run)

    def predict(self, inputs):
        """Outputs for a batch of sequences (an array, or a dict for several outputs)."""
        xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if isinstance(inputs, Mapping):
            xs = [inputs[n] for n in self.input_names]
        feed = {n: self._io.cast(n, v) for n, v in zip(self.input_names, xs)}
        total = next(iter(feed.values())).shape[0]
        fixed = self._io.inputs[self.input_names[0]][0][0]
        chunk = total if fixed in (-1, None) else int(fixed)
        parts: dict[str, list] = {n: [] for n in self.output_names}
        for start in range(0, total, chunk):
            piece = {n: v[start : start + chunk] for n, v in feed.items()}
            got = piece[self.input_names[0]].shape[0]
            if got < chunk:  # pad the last piece to the file's fixed batch
                piece = {
                    n: np.concatenate([v, np.repeat(v[-1:], chunk - got, axis=0)]) for n, v in piece.items()
                }
            self.interpreter.reset_all_variables()  # fused LSTM states start from zero
            out = self._run(**piece)
            for n in self.output_names:
                parts[n].append(np.array(out[n])[:got])
        result = {n: np.concatenate(v, axis=0) for n, v in parts.items()}
        return result[self.output_names[0]] if len(result) == 1 else result


def measure_latency(
    model: str | os.PathLike | bytes,
    inputs,
    repeats: int = 200,
    warmup: int = 20,
    num_threads: int = 1,
) -> dict[str, Any]:
    """Per-step latency of a ``.tflite`` file on one batch of sequences.

    Streaming files are timed per :meth:`StreamingRunner.step` call (the
    states fed back each time); sequence files per whole-sequence call,
    divided by the number of time steps.

    Args:
        model: the file (or its bytes).
        inputs: ``(1, timesteps, ...)`` sequences (a list for several inputs).
        repeats: timed calls (streaming: steps, cycling through the sequence).
        warmup: untimed calls first.
        num_threads: interpreter threads (1 by default: a single core).

    Returns:
        ``{"mode", "per_step_us_median", "per_step_us_p90", "repeats", "timesteps"}``.
    """
    if repeats <= 0:
        raise ValueError(f"repeats must be positive, received {repeats!r}.")
    xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    xs = [np.asarray(v) for v in xs]
    steps = xs[0].shape[1]
    mode = file_mode(model)
    times = []
    if mode == "streaming":
        runner = StreamingRunner(model, num_threads=num_threads)
        runner.reset(xs[0].shape[0])
        for i in range(warmup + repeats):
            t = i % steps
            x_t = dict(zip(runner.input_names, (v[:, t] for v in xs)))
            t0 = time.perf_counter()
            runner.step(x_t)
            dt = time.perf_counter() - t0
            if i >= warmup:
                times.append(dt)
        per_step = np.asarray(times)
    else:
        runner = SequenceRunner(model, num_threads=num_threads)
        n = max(1, repeats // max(steps, 1))
        for i in range(min(warmup, 3) + n):
            t0 = time.perf_counter()
            runner.predict(xs if len(xs) > 1 else xs[0])
            dt = time.perf_counter() - t0
            if i >= min(warmup, 3):
                times.append(dt)
        per_step = np.asarray(times) / steps
    return {
        "mode": mode,
        "per_step_us_median": float(np.median(per_step) * 1e6),
        "per_step_us_p90": float(np.percentile(per_step, 90) * 1e6),
        "repeats": int(len(times)),
        "timesteps": int(steps),
    }
