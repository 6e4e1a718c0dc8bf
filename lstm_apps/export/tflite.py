"""Convert trained Keras recurrent models to TFLite/LiteRT files.

Two forms:

* ``mode="sequence"``: the whole sequence in one call (signature
  ``serving_default``: ``x`` -> ``y``). Every LSTM that can becomes LiteRT's
  fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op (:mod:`lstm_apps.export.fused`:
  ``keras.layers.LSTM``, ``LSTM1997`` through its exact map to a standard
  LSTM, both directions of a ``Bidirectional``); other recurrent layers keep
  the model's own time loop (a TFLite ``WHILE``), and ``ExportResult.fusion``
  says why for each;
* ``mode="streaming"``: one time step per call (signature ``step``: ``x`` and
  the states ``state_<layer>_<i>`` -> ``y`` and the new states, plus a
  signature ``initial_state``: ``x`` -> the states a sequence starts with),
  built by :class:`~lstm_apps.export.streaming.StepGraph` from the model's own
  layers and weights.

Quantization (``quantize=``): ``None`` (float32), ``"float16"`` (weights
stored in float16), ``"dynamic"`` (weights in int8, activations float;
TFLite leaves weight tensors under 1024 elements in float, so small models
do not shrink), ``"int8"`` (weights and activations in int8) and
``"int16x8"`` (weights in int8, activations and states in int16: the mode
integer-only accelerators and microcontroller LSTM kernels take), both
calibrated on ``representative_data`` (inputs and outputs stay float32). A
streaming file is calibrated step by step: the sample sequences are run
through the float model with the states fed back, so the states it sees are
the ones the model really produces; for ``int16x8`` they are chained into
streams of 1000 steps, so the ranges cover what a long-running stream
reaches (:data:`CALIBRATION_STEPS`), and every sample is also seen scaled by
``1 + CALIBRATION_HEADROOM`` so that values a little beyond are not clipped.
Measured on the benchmark stacks (``benchmarks/edge.py``), this takes
int16x8 LSTM and GRU files from 0.05-0.12 to about 0.002 over 1000 steps,
and int8 ones from 0.13-0.24 to about 0.04; int8 is calibrated on the
sequences alone, as its 256 levels lose more to a wider range than they gain.
The TFLite int8 quantizer crashes (segmentation fault) on a recurrent
``WHILE`` loop, so an integer *sequence* file is either all fused LSTMs or
the one-step graph unrolled over the model's fixed length (at most
:data:`MAX_UNROLL` steps); the converter cannot quantize the fused op to
16x8 (TensorFlow issue 59626), so ``int16x8`` sequence files are unrolled
(and can drift where the streaming form does not: compare the parity).
``int16x8`` streaming files run the sLSTM, minGRU and minLSTM cells through
the same step written in ops that have 16x8 kernels
(:mod:`lstm_apps.export.integer_steps`): their own steps
use ops the converter leaves float, and those files LiteRT refused to load.

When the model's own loop does not convert (some layers lose the static
shapes the converter needs), the sequence form is built as a loop over the
one-step graph instead (``ExportResult.sequence_loop`` says which).

Every export is checked: the file is run with LiteRT on sample sequences and
compared with the Keras model (:func:`check_parity`); a float32 file whose
largest absolute difference exceeds :data:`FLOAT_PARITY_LIMIT` is not
written. ``ExportResult.ops`` lists the LiteRT ops the file uses and
``ExportResult.op_flags`` whether it needs Flex, custom or control-flow ops
(:mod:`lstm_apps.export.ops`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstm_apps import io as _io
from lstm_apps.export.clip import SATURATION, state_clips
from lstm_apps.export.integer_steps import cell_steps
from lstm_apps.export.modules import (
    MAX_UNROLL,
    _as_list,
    _build_sequence_module,
    _build_stepped_sequence_module,
    _build_streaming_module,
    _calibration,
    _frozen_scope,
    _input_names,
    _output_names,
    _tf,
)
from lstm_apps.export.ops import file_ops, op_flags
from lstm_apps.export.runner import (
    SEQUENCE_SIGNATURE,
    SequenceRunner,
    StreamingRunner,
    file_mode,
)

__all__ = [
    "MODES",
    "QUANTIZATIONS",
    "INTEGER_QUANTIZATIONS",
    "CALIBRATION_STEPS",
    "FLOAT_PARITY_LIMIT",
    "ExportResult",
    "to_tflite",
    "convert",
    "check_parity",
    "synthetic_inputs",
]

MODES = ("sequence", "streaming")
QUANTIZATIONS = (None, "dynamic", "float16", "int8", "int16x8")
#: The quantizations with integer activations, calibrated on representative data.
INTEGER_QUANTIZATIONS = ("int8", "int16x8")
#: Largest absolute difference (Keras vs TFLite) accepted for a float32 file.
FLOAT_PARITY_LIMIT = 1e-4
#: Length of the streams an integer streaming file is calibrated on, by quantization (the sample
#: sequences chained; ``None``: each sequence alone).
CALIBRATION_STEPS = {"int8": None, "int16x8": 1000}
#: ... and of the streams a file with ``state_clip="saturation"`` is calibrated on, whatever its
#: quantization: its carousels' ranges are fixed by the clip, so a long stream widens no state's range,
#: and it covers the long-run regime of saturated carousels that short sequences do not reach.
SATURATION_CALIBRATION_STEPS = 1000
#: Integer files are calibrated with every sample also scaled by ``1 + CALIBRATION_HEADROOM`` (float
#: inputs and states), so that values a little beyond those seen in calibration are not clipped.
CALIBRATION_HEADROOM = 0.25


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
        int8_float_fallback: ``True`` when some ops of an integer file had to
            stay float.
        sequence_loop: how the sequence form loops: ``"fused"`` (fused LSTM
            ops, and the model's own loop for layers that cannot fuse),
            ``"keras"`` (the model's own graph), ``"step_graph"`` (a loop over
            the one-step graph, when the model's own does not convert) or
            ``"unrolled"`` (integer files that cannot fuse).
        ops: ``{LiteRT op name: count}`` over the file's subgraphs
            (:func:`~lstm_apps.export.ops.file_ops`).
        op_flags: ``"flex"``, ``"custom"``, ``"control_flow"`` when the file
            needs such ops (:func:`~lstm_apps.export.ops.op_flags`); empty when
            every op is a plain builtin.
        fusion: sequence files: for each recurrent layer, ``"fused"`` or why
            it is not a fused LSTM op.
        state_clips: streaming files: ``{state name: c}`` for each state
            clipped to ``[-c, c]`` after every step (``state_clip``).
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
    ops: dict[str, int] = field(default_factory=dict)
    op_flags: list[str] = field(default_factory=list)
    fusion: dict[str, str] = field(default_factory=dict)
    state_clips: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _positive_number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0


def _check_args(mode, quantize):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, received mode={mode!r}.")
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, received quantize={quantize!r}.")


def _vocabulary_size(model) -> int | None:
    import keras

    def walk(layer):
        if isinstance(layer, keras.layers.Embedding):
            yield layer
        for sub in getattr(layer, "layers", []) or []:
            yield from walk(sub)

    sizes = [layer.input_dim for layer in walk(model)]
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


def convert(
    model,
    mode: str = "streaming",
    quantize: str | None = None,
    representative_data=None,
    batch_size: int = 1,
    calibration_steps: int | None = None,
    fuse: bool = True,
    state_clip: float | str | None = None,
) -> tuple[bytes, dict]:
    """Convert ``model`` to TFLite bytes (no parity check; see :func:`to_tflite`).

    ``batch_size``: the sequence form's fixed batch (streaming files take any
    batch). ``calibration_steps``: length of the streams an integer streaming
    file is calibrated on (``None``: :data:`CALIBRATION_STEPS`). ``fuse``:
    sequence form with fused LSTM ops where possible (``False``: the model's
    own loop, e.g. to compare).
    ``state_clip``: streaming files clip every float state to
    ``[-state_clip, state_clip]`` after each step, or with ``"saturation"``
    each 1997 carousel at its saturation point (see :func:`to_tflite`).

    Returns ``(flatbuffer bytes, info)`` where ``info`` holds
    ``state_names``, ``int8_float_fallback``, ``sequence_loop``,
    ``fusion`` and ``state_clips``.

    Raises:
        RuntimeError: Keras runs on a backend other than TensorFlow (named).
    """
    _check_args(mode, quantize)
    import keras

    from lstm_apps.backends import require_tensorflow

    require_tensorflow("TFLite export (lstm_apps.export)")

    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, received {type(model).__name__}.")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}.")
    if calibration_steps is not None and (
        not isinstance(calibration_steps, int)
        or isinstance(calibration_steps, bool)
        or calibration_steps <= 0
    ):
        raise ValueError(
            f"calibration_steps must be a positive integer or None, received {calibration_steps!r}."
        )
    if state_clip is not None:
        if not (state_clip == SATURATION if isinstance(state_clip, str) else _positive_number(state_clip)):
            raise ValueError(
                f"state_clip must be a positive number, {SATURATION!r} or None, received {state_clip!r}."
            )
        if mode != "streaming":
            raise ValueError(
                f"state_clip applies to streaming files (their states are explicit); received mode={mode!r}."
            )
    if quantize in INTEGER_QUANTIZATIONS and representative_data is None:
        raise ValueError(
            f"quantize={quantize!r} needs representative_data: a few real input sequences (batch, timesteps, "
            "features) to calibrate the integer ranges of activations and states; received None."
        )
    from lstm_apps.export.streaming import StepGraph

    info = {
        "state_names": [],
        "int8_float_fallback": False,
        "sequence_loop": None,
        "fusion": {},
        "state_clips": {},
    }
    graph = None
    unroll_error = None
    if mode == "streaming":
        graph = StepGraph(model, cell_steps=cell_steps(quantize))
        info["state_names"] = list(graph.state_names)
        clips = state_clips(graph, state_clip, quantize)
        info["state_clips"] = clips
        builders = [("step", lambda: _build_streaming_module(model, graph, clips))]
    else:

        def stepped():
            return _build_stepped_sequence_module(model, StepGraph(model), batch_size)

        builders = [
            ("keras", lambda: _build_sequence_module(model, batch_size=batch_size)),
            ("step_graph", stepped),
        ]
        if quantize in INTEGER_QUANTIZATIONS:
            # The int8 quantizer crashes (segfault) on a recurrent WHILE loop: unroll the step graph instead.
            steps = model.inputs[0].shape[1]
            if steps is None or steps > MAX_UNROLL:
                unroll_error = (
                    f"{quantize} sequence export needs a fixed sequence length of at most {MAX_UNROLL} "
                    "steps (the loop is unrolled, as the TFLite integer quantizer cannot handle a recurrent "
                    f"WHILE loop); the model's length is {steps}. Use mode='streaming' for {quantize}."
                )
            builders = [
                (
                    "unrolled",
                    lambda: _build_stepped_sequence_module(model, StepGraph(model), batch_size, unroll=True),
                )
            ]
        if fuse:
            builders.insert(0, ("fused", lambda: _build_fused_module(model, batch_size, quantize)))
    errors = []
    for loop, build in builders:
        if loop == "unrolled" and unroll_error:
            errors.append(f"{loop}: {unroll_error}")
            continue
        try:
            module, signatures = build()
        except ValueError as exc:  # e.g. a layer the step graph cannot run
            errors.append(f"{loop}: {exc}")
            continue
        try:
            if loop == "fused":
                data = _convert_fused(
                    module, signatures, model, quantize, representative_data, batch_size, info
                )
                fallback = False
            else:
                calibration = None
                if quantize in INTEGER_QUANTIZATIONS:
                    calibration = _calibration(
                        model,
                        mode,
                        graph if mode == "streaming" else None,
                        module,
                        representative_data,
                        batch_size=batch_size,
                        steps=calibration_steps or _calibration_steps(quantize, state_clip),
                        headroom=CALIBRATION_HEADROOM,
                        clips=info["state_clips"],
                        seed_clips=state_clip == SATURATION,
                    )
                data, fallback = _convert_module(module, signatures, quantize, calibration)
            _smoke_test(data, model, mode, batch_size, fallback)
        except ValueError as exc:
            errors.append(f"{loop}: {exc}")
            if loop == "fused":  # the layers that would have fused say why the file does without
                info["fusion"] = {
                    k: (f"not fused: {exc}" if v == "fused" else v) for k, v in info["fusion"].items()
                }
            continue
        info["int8_float_fallback"] = bool(fallback)
        info["sequence_loop"] = loop if mode == "sequence" else None
        return data, info
    raise ValueError(
        f"TFLite conversion of {model.name!r} (mode={mode!r}, quantize={quantize!r}) failed: "
        + " | ".join(errors)
    )


def _calibration_steps(quantize, state_clip) -> int | None:
    """The default length of the streams an integer streaming file is calibrated on."""
    return SATURATION_CALIBRATION_STEPS if state_clip == SATURATION else CALIBRATION_STEPS[quantize]


def _build_fused_module(model, batch_size, quantize):
    from lstm_apps.export.fused import build_fused_sequence_module

    module, concrete, report = build_fused_sequence_module(
        model,
        batch_size,
        _frozen_scope(model),
        _input_names(len(model.inputs)),
        _output_names(len(model.outputs)),
        quantize=quantize,
    )
    module.fusion_report = report
    return module, {SEQUENCE_SIGNATURE: concrete}


def _convert_fused(module, signatures, model, quantize, representative_data, batch_size, info) -> bytes:
    """The fused sequence file: float first (to see that the converter fused), then quantized."""
    from lstm_apps.export.fused import FUSED_OP
    from lstm_apps.export.ops import file_ops, set_lstm_cell_clip

    report = module.fusion_report
    info["fusion"] = dict(report.layers)
    if not report.any_fused:
        raise ValueError("no recurrent layer can become a fused LSTM op")
    integer = quantize in INTEGER_QUANTIZATIONS
    if integer and not report.all_fused:
        raise ValueError(
            f"{quantize} needs every recurrent layer fused (the integer quantizer cannot handle the "
            "WHILE loop of the others)"
        )
    data, _ = _convert_module(module, signatures, None, None)
    ops = file_ops(data)
    if ops.get(FUSED_OP, 0) != report.expected_ops:
        raise ValueError(
            f"the converter fused {ops.get(FUSED_OP, 0)} of the {report.expected_ops} LSTM ops expected "
            f"(ops: {sorted(ops)})"
        )
    if integer and "WHILE" in ops:
        raise ValueError(f"{quantize} cannot quantize the WHILE loop left in the fused graph")
    if quantize is not None:
        calibration = None
        if integer:
            calibration = _calibration(
                model,
                "sequence",
                None,
                module,
                representative_data,
                batch_size,
                headroom=CALIBRATION_HEADROOM,
            )
        try:
            data, _ = _convert_module(module, signatures, quantize, calibration, fallback=False)
        except ValueError as exc:
            raise ValueError(f"{quantize}: {exc}") from exc
    data, _ = set_lstm_cell_clip(data, 0.0)
    return data


def _smoke_test(data: bytes, model, mode: str, batch_size: int, fallback: str | None = None) -> None:
    """Run the converted file once on zeros; a file LiteRT cannot run is a failed conversion.

    A file with tensors whose data do not fit their type (LiteRT would refuse it: "Tensor N is
    invalidly specified in schema") is refused naming them (:func:`~lstm_apps.export.ops.mis_sized_buffers`)
    and, for an integer file with float fallback, the op the converter could not quantize (``fallback``).
    """
    from lstm_apps.export.ops import mis_sized_buffers

    bad = mis_sized_buffers(data)
    if bad:
        why = f"with ops left float ({fallback}), " if fallback else ""
        raise ValueError(
            f"LiteRT cannot run the converted file: {why}the converter wrote {len(bad)} tensor(s) whose "
            "data do not fit their type, which LiteRT refuses to load ('Tensor N is invalidly specified in "
            "schema'): " + "; ".join(bad)
        )
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


def _convert_module(module, signatures, quantize, calibration, fallback=True) -> tuple[bytes, str | None]:
    """SavedModel -> TFLite bytes; returns ``(bytes, why)``: ``why`` is ``None``, or for an integer
    file with float fallback the converter's reason it could not quantize every op.

    Integer files are tried with integer ops only, then (``fallback``) with
    float builtins allowed for what cannot be quantized (never a recurrent
    ``WHILE`` loop: integer files are fused or unrolled, as the quantizer
    crashes on one).
    """
    tf = _tf()
    integer_ops = {
        "int8": tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
        "int16x8": tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
    }
    with tempfile.TemporaryDirectory(prefix="lstm_apps_export_") as tmp:
        tf.saved_model.save(module, tmp, signatures=signatures)

        def make(strict: bool):
            conv = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=list(signatures))
            if quantize is not None:
                conv.optimizations = [tf.lite.Optimize.DEFAULT]
            if quantize == "float16":
                conv.target_spec.supported_types = [tf.float16]
            if quantize in integer_ops:
                conv.representative_dataset = lambda: iter(calibration)
                conv.target_spec.supported_ops = [integer_ops[quantize]] + (
                    [] if strict else [tf.lite.OpsSet.TFLITE_BUILTINS]
                )
            return conv.convert()

        try:
            return make(strict=True), None
        except Exception as exc:  # converter errors are not ValueErrors
            first = _converter_message(exc)
            if quantize not in integer_ops or not fallback:
                raise ValueError(f"the converter failed ({type(exc).__name__}: {first})") from exc
        try:
            return make(strict=False), first
        except Exception as exc2:
            raise ValueError(
                f"{quantize} conversion failed ({type(exc2).__name__}: {str(exc2)[-300:]})"
            ) from exc2


def _converter_message(exc) -> str:
    """The converter's own error line (the last line that says ``error:``), else its last line."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    lines = [line for line in text.splitlines() if "error:" in line] or text.splitlines()
    return lines[-1].split("error:", 1)[-1].strip()[:300]


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
    calibration_steps: int | None = None,
    fuse: bool = True,
    state_clip: float | str | None = None,
) -> ExportResult:
    """Export a Keras recurrent model to a ``.tflite`` file (LiteRT).

    Args:
        model: a built Keras model (``Sequential`` or functional).
        path: the ``.tflite`` file to write (atomically).
        mode: ``"sequence"`` (whole sequences per call) or ``"streaming"``
            (one step per call, recurrent states as named inputs/outputs;
            run it with :class:`~lstm_apps.export.StreamingRunner`).
        quantize: ``None`` (float32), ``"float16"``, ``"dynamic"``,
            ``"int8"`` or ``"int16x8"`` (the last two need
            ``representative_data``).
        representative_data: real input sequences ``(n, timesteps, ...)``
            (a list for several inputs): integer calibration and the default
            parity inputs.
        parity_inputs: sequences for the parity check; by default (up to 8
            of) ``representative_data``, else random ones
            (:func:`synthetic_inputs`).
        check: measure the parity (always on for float32 files).
        batch_size: the sequence form's batch, fixed in the file (the
            converter lowers a recurrent loop only with static shapes;
            :class:`~lstm_apps.export.SequenceRunner` splits larger batches).
            Streaming files take any batch.
        calibration_steps: integer streaming files: the sample sequences are
            chained into streams of this many steps for calibration, so the
            state ranges cover a long-running stream (a value up to the
            sequences' length: each sequence alone, from the initial state;
            ``None``: :data:`CALIBRATION_STEPS` for the quantization, or
            :data:`SATURATION_CALIBRATION_STEPS` with
            ``state_clip="saturation"``).
        fuse: sequence form: LSTMs become fused ``UNIDIRECTIONAL_SEQUENCE_LSTM``
            ops where they can (``False``: the model's own loop).
        state_clip: streaming form: clip every float state to
            ``[-state_clip, state_clip]`` after each step (``None``: no
            clip, exactly as Keras). For long integer streams of the 1997
            layer, whose carousel ``s`` has no forget gate and grows without
            bound (to about 150 in 1000 steps of the benchmark series): its
            output ``tanh(s / 2)`` is 1 in float32 once ``|s| > 17``, so
            ``state_clip=20`` leaves the outputs unchanged while ``s`` stays
            beyond, and keeps the state on a grid integers can hold. The
            parity check measures what it changes. ``"saturation"``: each
            1997 carousel alone (not ``h``, nor other layers' states) at the
            point where its output squash is ±1 on the file's grid
            (:func:`~lstm_apps.export.clip.saturation_clip`: 18.0 in
            float32, 11.8 for int16x8, 6.2 for int8), a range known exactly,
            which integer files are also calibrated to cover
            (``ExportResult.state_clips`` lists the clips).

    Returns:
        An :class:`ExportResult` (path, size, parity, states, ops, fusion).

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
        model,
        mode=mode,
        quantize=quantize,
        representative_data=representative_data,
        batch_size=batch_size,
        calibration_steps=calibration_steps,
        fuse=fuse,
        state_clip=state_clip,
    )
    ops = file_ops(data)
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
                f"refusing to write {str(path)!r}: the float32 {mode} file differs from the Keras model by "
                f"up to {parity:.3g} (max abs over {xs[0].shape[0]} sequences of {xs[0].shape[1]} steps), "
                f"above the {FLOAT_PARITY_LIMIT:g} limit, so the converted graph does not compute what the "
                "model computes (a layer whose call() does more than its cell, or an op the converter "
                "changes)."
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
        ops=ops,
        op_flags=op_flags(ops),
        fusion=info["fusion"],
        state_clips=info["state_clips"],
    )
