"""Convert trained Keras recurrent models to TFLite/LiteRT files.

Two forms:

* ``mode="sequence"``: the whole sequence in one call (signature
  ``serving_default``: ``x`` -> ``y``), the model's own time loop (a TFLite
  ``WHILE``);
* ``mode="streaming"``: one time step per call (signature ``step``: ``x`` and
  the states ``state_<layer>_<i>`` -> ``y`` and the new states, plus a
  signature ``initial_state``: ``x`` -> the states a sequence starts with),
  built by :class:`~lstm_apps.export.streaming.StepGraph` from the model's own
  layers and weights.

Quantization (``quantize=``): ``None`` (float32), ``"float16"`` (weights
stored in float16), ``"dynamic"`` (weights in int8, activations float;
TFLite leaves weight tensors under 1024 elements in float, so small models
do not shrink), ``"int8"`` (weights and activations in int8, calibrated on
``representative_data``; inputs and outputs stay float32). ``int8`` is
meant for the streaming form, whose calibration runs the sample sequences
step by step so the states it sees are the ones the model really produces.
The TFLite int8 quantizer crashes (segmentation fault) on a recurrent
``WHILE`` loop, so an int8 *sequence* file is the one-step graph unrolled
over the model's fixed length (at most :data:`MAX_UNROLL` steps).

When the model's own loop does not convert (some layers lose the static
shapes the converter needs), the sequence form is built as a loop over the
one-step graph instead (``ExportResult.sequence_loop`` says which).

Every export is checked: the file is run with LiteRT on sample sequences and
compared with the Keras model (:func:`check_parity`); a float32 file whose
largest absolute difference exceeds :data:`FLOAT_PARITY_LIMIT` is not
written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstm_apps import io as _io
from lstm_apps.export.runner import (
    INIT_SIGNATURE,
    SEQUENCE_SIGNATURE,
    STEP_SIGNATURE,
    SequenceRunner,
    StreamingRunner,
    file_mode,
)

__all__ = [
    "MODES",
    "QUANTIZATIONS",
    "FLOAT_PARITY_LIMIT",
    "ExportResult",
    "to_tflite",
    "convert",
    "check_parity",
    "synthetic_inputs",
]

MODES = ("sequence", "streaming")
QUANTIZATIONS = (None, "dynamic", "float16", "int8")
#: Largest absolute difference (Keras vs TFLite) accepted for a float32 file.
FLOAT_PARITY_LIMIT = 1e-4
#: Calibration samples (one per sequence and step) fed to the int8 converter at most.
MAX_CALIBRATION_SAMPLES = 400


@dataclass
class ExportResult:
    """What :func:`to_tflite` wrote.

    Attributes:
        path: the ``.tflite`` file.
        mode: ``"sequence"`` or ``"streaming"``.
        quantize: the quantization (``None`` for float32).
        size_bytes: file size.
        parity_max_abs: largest absolute difference between the Keras model
            and the file on ``parity_shape`` inputs (``None`` if not checked).
        parity_shape: shape of the first input used for the parity check.
        state_names: the streaming states (empty for sequence files).
        int8_float_fallback: ``True`` when some int8 ops had to stay float.
        sequence_loop: how the sequence form loops: ``"keras"`` (the model's
            own graph), ``"step_graph"`` (a loop over the one-step graph, when
            the model's own does not convert) or ``"unrolled"`` (int8).
    """

    path: Path
    mode: str
    quantize: str | None
    size_bytes: int
    parity_max_abs: float | None
    parity_shape: tuple | None = None
    state_names: list[str] = field(default_factory=list)
    int8_float_fallback: bool = False
    sequence_loop: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _tf():
    import tensorflow as tf

    return tf


def _check_args(mode, quantize):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, received mode={mode!r}.")
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, received quantize={quantize!r}.")


def _as_list(inputs) -> list[np.ndarray]:
    xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return [np.asarray(v) for v in xs]


def _input_names(n: int) -> list[str]:
    return ["x"] if n == 1 else [f"x_{i}" for i in range(n)]


def _output_names(n: int) -> list[str]:
    return ["y"] if n == 1 else [f"y_{i}" for i in range(n)]


def _vocabulary_size(model) -> int | None:
    import keras

    def walk(layer):
        if isinstance(layer, keras.layers.Embedding):
            yield layer
        for sub in getattr(layer, "layers", []) or []:
            yield from walk(sub)

    sizes = [l.input_dim for l in walk(model)]
    return min(sizes) if sizes else None


def synthetic_inputs(model, batch: int = 4, timesteps: int | None = None, seed: int = 0) -> list[np.ndarray]:
    """Random sequences shaped for ``model`` (standard normal; token ids from 1 for integer inputs).

    ``timesteps`` defaults to the model's sequence length, or 32 when it is
    not fixed.
    """
    rng = np.random.default_rng(seed)
    out = []
    vocab = _vocabulary_size(model)
    for kt in model.inputs:
        shape = list(kt.shape)
        steps = timesteps or shape[1] or 32
        full = [batch, steps, *[d if d is not None else 1 for d in shape[2:]]]
        if "int" in str(kt.dtype):
            out.append(rng.integers(1, max(2, vocab or 2), size=full).astype(str(kt.dtype)))
        else:
            out.append(rng.normal(size=full).astype(str(kt.dtype)))
    return out


def _frozen_scope(model):
    """A function opening a ``StatelessScope`` that reads every variable as a constant.

    TFLite files carry weights as constants; resource variables would stay
    ``READ_VARIABLE`` ops that the int8 calibrator cannot run.
    """
    import keras

    tf = _tf()
    values = [(v, np.asarray(v.numpy())) for v in model.variables]

    def scope():
        return keras.StatelessScope(state_mapping=[(v, tf.constant(a, dtype=a.dtype)) for v, a in values])

    return scope


def _spec(shape, dtype, name):
    tf = _tf()
    return tf.TensorSpec(shape, tf.as_dtype(dtype), name=name)


def _build_sequence_module(model, batch_size: int = 1):
    import keras

    tf = _tf()
    scope = _frozen_scope(model)
    in_names = _input_names(len(model.inputs))
    out_names = _output_names(len(model.outputs))
    # A static batch: the converter lowers the RNN's TensorList only with static element shapes.
    specs = {
        n: _spec([batch_size, *kt.shape[1:]], keras.backend.standardize_dtype(kt.dtype), n)
        for n, kt in zip(in_names, model.inputs)
    }

    def sequence(inputs):
        with scope():
            xs = [inputs[n] for n in in_names]
            ys = model(xs if len(xs) > 1 else xs[0], training=False)
        ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
        return {n: tf.identity(y, name=n) for n, y in zip(out_names, ys)}

    module = tf.Module()
    module.sequence = tf.function(sequence, input_signature=[specs], autograph=False)
    return module, {SEQUENCE_SIGNATURE: module.sequence.get_concrete_function()}


#: Longest sequence the int8 sequence form is unrolled for: the converter's time grows quickly
#: with the unrolled graph (a 64-unit LSTM1997 unrolled over 50 steps took over 8 minutes).
MAX_UNROLL = 32


def _build_stepped_sequence_module(model, graph, batch_size: int = 1, unroll: bool = False):
    """The sequence form as a loop over the one-step graph.

    Used when the model's own loop does not convert, and unrolled (no
    ``WHILE``, which the int8 quantizer cannot handle) for int8.
    """
    tf = _tf()
    scope = _frozen_scope(model)
    in_names = graph.input_names
    specs = {
        n: _spec([batch_size, kt.shape[1], *shape], dtype, n)
        for n, kt, (shape, dtype) in zip(in_names, model.inputs, graph.input_specs)
    }
    # Static per-step output shapes, from one eager step.
    init = graph.initial_state(batch_size)
    probe, _ = graph.step(
        {n: np.zeros((batch_size, *shape), dtype) for n, (shape, dtype) in zip(in_names, graph.input_specs)},
        init,
    )
    out_shapes = {n: tuple(v.shape) for n, v in probe.items()}
    out_dtypes = {n: tf.as_dtype(np.asarray(v).dtype) for n, v in probe.items()}

    def sequence(inputs):
        xs = [inputs[n] for n in in_names]
        steps = tf.shape(xs[0])[1]
        xs_tm = [tf.transpose(x, [1, 0, *range(2, len(x.shape))]) for x in xs]
        with scope():
            states0 = {k: tf.convert_to_tensor(v) for k, v in graph.initial_state(batch_size).items()}
            last0 = {n: tf.zeros(out_shapes[n], out_dtypes[n]) for n in graph.output_names}
            tas0 = {
                n: tf.TensorArray(out_dtypes[n], size=steps, element_shape=out_shapes[n])
                for n, temporal in zip(graph.output_names, graph.output_temporal)
                if temporal
            }

            def body(t, states, last, tas):
                outs, new_states = graph.step({n: x[t] for n, x in zip(in_names, xs_tm)}, states)
                new_states = {
                    k: tf.reshape(tf.cast(v, states[k].dtype), states[k].shape) for k, v in new_states.items()
                }
                outs = {n: tf.reshape(tf.cast(v, out_dtypes[n]), out_shapes[n]) for n, v in outs.items()}
                tas = {n: ta.write(t, outs[n]) for n, ta in tas.items()}
                return t + 1, new_states, outs, tas

            if unroll:
                loop = (tf.constant(0), states0, last0, tas0)
                for _ in range(int(model.inputs[0].shape[1])):
                    loop = body(*loop)
                _, _, last, tas = loop
            else:
                _, _, last, tas = tf.while_loop(
                    lambda t, *_: t < steps, body, (tf.constant(0), states0, last0, tas0)
                )
        result = {}
        for n in graph.output_names:
            if n in tas:
                stacked = tas[n].stack()
                result[n] = tf.transpose(stacked, [1, 0, *range(2, len(stacked.shape))])
            else:
                result[n] = tf.identity(last[n])
        return result

    module = tf.Module()
    module.sequence = tf.function(sequence, input_signature=[specs], autograph=False)
    return module, {SEQUENCE_SIGNATURE: module.sequence.get_concrete_function()}


def _build_streaming_module(model, graph):
    tf = _tf()
    scope = _frozen_scope(model)
    specs = {
        n: _spec([None, *shape], dtype, n) for n, (shape, dtype) in zip(graph.input_names, graph.input_specs)
    }
    state_specs = {s.name: _spec([None, *s.shape], s.dtype, s.name) for s in graph.states}

    def step(inputs):
        with scope():
            outs, states = graph.step(
                {n: inputs[n] for n in graph.input_names}, {n: inputs[n] for n in state_specs}
            )
        result = {n: tf.identity(v) for n, v in outs.items()}
        result.update({n: tf.identity(states[n]) for n in state_specs})
        return result

    def initial_state(inputs):
        batch = tf.shape(inputs[graph.input_names[0]])[0]
        with scope():
            init = graph.initial_state(batch)
        return {n: tf.identity(tf.cast(init[n], state_specs[n].dtype)) for n in state_specs}

    module = tf.Module()
    module.step = tf.function(step, input_signature=[{**specs, **state_specs}], autograph=False)
    module.initial_state = tf.function(initial_state, input_signature=[specs], autograph=False)
    return module, {
        STEP_SIGNATURE: module.step.get_concrete_function(),
        INIT_SIGNATURE: module.initial_state.get_concrete_function(),
    }


def _calibration(model, mode, graph, module, data, batch_size=1, max_samples=MAX_CALIBRATION_SAMPLES):
    """Representative samples: whole sequences, or (x_t, states) pairs from stepping the float model."""
    xs = _as_list(data)
    n_seq, steps = xs[0].shape[0], xs[0].shape[1]
    if mode == "sequence":
        names = _input_names(len(xs))
        b = batch_size
        return [
            (SEQUENCE_SIGNATURE, {n: v[i : i + b] for n, v in zip(names, xs)})
            for i in range(0, min(n_seq, 64) - b + 1, b)
        ]
    tf = _tf()
    samples = []
    batch = min(n_seq, 64)
    xs = [v[:batch] for v in xs]
    stride = max(1, (batch * steps) // max_samples)
    states = graph.initial_state(batch)
    states = {k: tf.convert_to_tensor(v) for k, v in states.items()}
    counter = 0
    for t in range(steps):
        feed = {n: tf.convert_to_tensor(v[:, t]) for n, v in zip(graph.input_names, xs)}
        for i in range(batch):
            if counter % stride == 0:
                sample = {n: np.asarray(feed[n][i : i + 1]) for n in graph.input_names}
                sample.update({n: np.asarray(states[n][i : i + 1]) for n in graph.state_names})
                samples.append((STEP_SIGNATURE, sample))
            counter += 1
        out = module.step({**feed, **states})
        states = {n: out[n] for n in graph.state_names}
    for i in range(min(batch, 8)):
        samples.append((INIT_SIGNATURE, {n: v[i : i + 1, 0] for n, v in zip(graph.input_names, xs)}))
    return samples


def convert(
    model, mode: str = "streaming", quantize: str | None = None, representative_data=None, batch_size: int = 1
) -> tuple[bytes, dict]:
    """Convert ``model`` to TFLite bytes (no parity check; see :func:`to_tflite`).

    ``batch_size``: the sequence form's fixed batch (streaming files take any batch).

    Returns ``(flatbuffer bytes, info)`` where ``info`` holds
    ``state_names`` and ``int8_float_fallback``.
    """
    _check_args(mode, quantize)
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, received {type(model).__name__}.")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}.")
    if quantize == "int8" and representative_data is None:
        raise ValueError(
            "quantize='int8' needs representative_data: a few real input sequences (batch, timesteps, features) "
            "to calibrate the int8 ranges of activations and states; received None."
        )
    from lstm_apps.export.streaming import StepGraph

    info = {"state_names": [], "int8_float_fallback": False, "sequence_loop": None}
    graph = None
    if mode == "streaming":
        graph = StepGraph(model)
        info["state_names"] = list(graph.state_names)
        builders = [("step", lambda: _build_streaming_module(model, graph))]
    else:

        def stepped():
            return _build_stepped_sequence_module(model, StepGraph(model), batch_size)

        builders = [
            ("keras", lambda: _build_sequence_module(model, batch_size=batch_size)),
            ("step_graph", stepped),
        ]
        if quantize == "int8":
            # The int8 quantizer crashes (segfault) on a recurrent WHILE loop: unroll the step graph instead.
            steps = model.inputs[0].shape[1]
            if steps is None or steps > MAX_UNROLL:
                raise ValueError(
                    f"int8 sequence export needs a fixed sequence length of at most {MAX_UNROLL} steps (the loop is "
                    f"unrolled, as the TFLite int8 quantizer cannot handle a recurrent WHILE loop); the model's "
                    f"length is {steps}. Use mode='streaming' for int8."
                )
            builders = [
                (
                    "unrolled",
                    lambda: _build_stepped_sequence_module(model, StepGraph(model), batch_size, unroll=True),
                )
            ]
    errors = []
    for loop, build in builders:
        try:
            module, signatures = build()
        except ValueError as exc:  # e.g. a layer the step graph cannot run
            errors.append(f"{loop}: {exc}")
            continue
        calibration = None
        if quantize == "int8":
            calibration = _calibration(
                model,
                mode,
                graph if mode == "streaming" else None,
                module,
                representative_data,
                batch_size=batch_size,
            )
        try:
            data, fallback = _convert_module(module, signatures, quantize, calibration, mode)
            _smoke_test(data, model, mode, batch_size)
        except ValueError as exc:
            errors.append(f"{loop}: {exc}")
            continue
        info["int8_float_fallback"] = fallback
        info["sequence_loop"] = loop if mode == "sequence" else None
        return data, info
    raise ValueError(
        f"TFLite conversion of {model.name!r} (mode={mode!r}, quantize={quantize!r}) failed: "
        + " | ".join(errors)
    )


def _smoke_test(data: bytes, model, mode: str, batch_size: int) -> None:
    """Run the converted file once on zeros; a file LiteRT cannot run is a failed conversion."""
    try:
        xs = synthetic_inputs(model, batch_size)
        if mode == "sequence":
            SequenceRunner(data).predict(xs if len(xs) > 1 else xs[0])
        else:
            runner = StreamingRunner(data)
            runner.step({n: v[:, 0] for n, v in zip(runner.input_names, xs)})
    except (RuntimeError, ValueError) as exc:
        raise ValueError(
            f"LiteRT cannot run the converted file ({type(exc).__name__}: {str(exc)[:300]})"
        ) from exc


def _convert_module(module, signatures, quantize, calibration, mode) -> tuple[bytes, bool]:
    """SavedModel -> TFLite bytes; returns ``(bytes, int8_float_fallback)``."""
    tf = _tf()
    with tempfile.TemporaryDirectory(prefix="lstm_apps_export_") as tmp:
        tf.saved_model.save(module, tmp, signatures=signatures)

        def make(strict_int8: bool):
            conv = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=list(signatures))
            if quantize is not None:
                conv.optimizations = [tf.lite.Optimize.DEFAULT]
            if quantize == "float16":
                conv.target_spec.supported_types = [tf.float16]
            if quantize == "int8":
                conv.representative_dataset = lambda: iter(calibration)
                conv.target_spec.supported_ops = (
                    [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                    if strict_int8
                    else [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
                )
            return conv.convert()

        try:
            return make(strict_int8=True), False
        except Exception as exc:  # converter errors are not ValueErrors
            first = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__
            if quantize != "int8":
                raise ValueError(f"the converter failed ({type(exc).__name__}: {first})") from exc
            if mode == "sequence":
                raise ValueError(
                    "full-integer (int8) quantization of the sequence form failed: the TFLite converter cannot "
                    f"quantize the recurrent WHILE loop ({type(exc).__name__}). Use mode='streaming' for int8, "
                    "or quantize='dynamic' for the sequence form."
                ) from exc
        try:
            return make(strict_int8=False), True
        except Exception as exc2:
            raise ValueError(f"int8 conversion failed ({type(exc2).__name__}: {str(exc2)[-300:]})") from exc2


def _keras_outputs(model, xs) -> list[np.ndarray]:
    ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0, batch_size=64)
    return [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]


def _parity(model, tflite, xs, graph=None) -> float:
    ref = _keras_outputs(model, xs)
    mode = file_mode(tflite)
    diffs = []
    if mode == "sequence":
        out = SequenceRunner(tflite).predict(xs if len(xs) > 1 else xs[0])
        outs = out if isinstance(out, dict) else {"y": out}
        for name, r in zip(_output_names(len(ref)), ref):
            diffs.append(float(np.max(np.abs(outs[name].astype("float64") - r))))
        return max(diffs)
    if graph is None:
        from lstm_apps.export.streaming import StepGraph

        graph = StepGraph(model)
    stream = StreamingRunner(tflite).run(xs if len(xs) > 1 else xs[0])
    streams = stream if isinstance(stream, dict) else {graph.output_names[0]: stream}
    for name, temporal, r in zip(graph.output_names, graph.output_temporal, ref):
        s = streams[name]
        got = s if temporal else s[:, -1]
        if got.shape != r.shape:
            raise ValueError(
                f"output {name}: streamed shape {got.shape} does not match the Keras output {r.shape}."
            )
        diffs.append(float(np.max(np.abs(got.astype("float64") - r))))
    return max(diffs)


def check_parity(model, tflite_path, inputs) -> float:
    """Largest absolute difference between ``model`` and an exported file.

    Sequence files are run on ``inputs`` in one call; streaming files step by
    step through every time step (outputs of ``return_sequences`` models are
    compared at every step, others after the last step).

    Args:
        model: the Keras model.
        tflite_path: a file written by :func:`to_tflite` (or its bytes).
        inputs: sequences ``(batch, timesteps, ...)`` (a list for several inputs).

    Returns:
        ``max |keras - tflite|`` over all outputs, as a float.
    """
    xs = _as_list(inputs)
    if xs[0].ndim < 2:
        raise ValueError(f"inputs must be sequences (batch, timesteps, ...), received shape {xs[0].shape}.")
    return _parity(
        model, tflite_path if isinstance(tflite_path, (bytes, bytearray)) else Path(tflite_path), xs
    )


def to_tflite(
    model,
    path: str | os.PathLike,
    mode: str = "sequence",
    quantize: str | None = None,
    representative_data=None,
    parity_inputs=None,
    check: bool = True,
    batch_size: int = 1,
) -> ExportResult:
    """Export a Keras recurrent model to a ``.tflite`` file (LiteRT).

    Args:
        model: a built Keras model (``Sequential`` or functional).
        path: the ``.tflite`` file to write (atomically).
        mode: ``"sequence"`` (whole sequences per call) or ``"streaming"``
            (one step per call, recurrent states as named inputs/outputs;
            run it with :class:`~lstm_apps.export.StreamingRunner`).
        quantize: ``None`` (float32), ``"float16"``, ``"dynamic"`` or
            ``"int8"`` (needs ``representative_data``).
        representative_data: real input sequences ``(n, timesteps, ...)``
            (a list for several inputs): int8 calibration and the default
            parity inputs.
        parity_inputs: sequences for the parity check; by default (up to 8
            of) ``representative_data``, else random ones
            (:func:`synthetic_inputs`).
        check: measure the parity (always on for float32 files).
        batch_size: the sequence form's batch, fixed in the file (the
            converter lowers a recurrent loop only with static shapes;
            :class:`~lstm_apps.export.SequenceRunner` splits larger batches).
            Streaming files take any batch.

    Returns:
        An :class:`ExportResult` (path, size, parity, states).

    Raises:
        ValueError: bad arguments, a layer that cannot be exported in this
            mode (named), a failed conversion, or a float32 file whose parity
            exceeds :data:`FLOAT_PARITY_LIMIT` (the file is then not written).

    Example:

    ```python
    result = to_tflite(model, "model_streaming.tflite", mode="streaming",
                       quantize="int8", representative_data=x_train[:32])
    print(result.size_bytes, result.parity_max_abs)
    ```
    """
    _check_args(mode, quantize)
    path = Path(path)
    if path.suffix != ".tflite":
        raise ValueError(f"path must end in '.tflite', received {str(path)!r}.")
    data, info = convert(
        model, mode=mode, quantize=quantize, representative_data=representative_data, batch_size=batch_size
    )
    parity = None
    xs = None
    if check or quantize is None:
        if parity_inputs is not None:
            xs = _as_list(parity_inputs)
        elif representative_data is not None:
            xs = [v[:8] for v in _as_list(representative_data)]
        else:
            xs = synthetic_inputs(model)
        parity = check_parity(model, data, xs)
        if quantize is None and not parity <= FLOAT_PARITY_LIMIT:
            raise ValueError(
                f"refusing to write {str(path)!r}: the float32 {mode} file differs from the Keras model by up to "
                f"{parity:.3g} (max abs over {xs[0].shape[0]} sequences of {xs[0].shape[1]} steps), above the "
                f"{FLOAT_PARITY_LIMIT:g} limit, so the converted graph does not compute what the model computes "
                "(a layer whose call() does more than its cell, or an op the converter changes)."
            )
    with _io.atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return ExportResult(
        path=path,
        mode=mode,
        quantize=quantize,
        size_bytes=len(data),
        parity_max_abs=parity,
        parity_shape=tuple(xs[0].shape) if xs is not None else None,
        state_names=info["state_names"],
        int8_float_fallback=info["int8_float_fallback"],
        sequence_loop=info["sequence_loop"],
    )
