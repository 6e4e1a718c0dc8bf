"""The TensorFlow modules that :func:`lstm_apps.export.to_tflite` converts.

A Keras model becomes a ``tf.Module`` with one signature per LiteRT entry
point: the whole sequence at once (``sequence``), the sequence stepped inside
one call, or one step with explicit states (``streaming``); and the
representative data that calibrates an integer file step by step.
"""

from __future__ import annotations

import numpy as np

from lstm_apps.export.runner import INIT_SIGNATURE, SEQUENCE_SIGNATURE, STEP_SIGNATURE

#: Calibration samples (one per stream and step) fed to the integer converter at most.
MAX_CALIBRATION_SAMPLES = 2000
#: Streams whose first two steps (from the initial states) are always among the streaming calibration
#: samples.
FIRST_STEP_SAMPLES = 8


def _tf():
    """TensorFlow, for the converter's modules; refused on another Keras backend (named)."""
    from lstm_apps.backends import require_tensorflow

    require_tensorflow("TFLite export (lstm_apps.export)")
    import tensorflow as tf

    return tf


def _as_list(inputs) -> list[np.ndarray]:
    xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return [np.asarray(v) for v in xs]


def _input_names(n: int) -> list[str]:
    return ["x"] if n == 1 else [f"x_{i}" for i in range(n)]


def _output_names(n: int) -> list[str]:
    return ["y"] if n == 1 else [f"y_{i}" for i in range(n)]


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


def _build_streaming_module(model, graph, clips: dict[str, float] | None = None):
    """The streaming module: ``step`` (inputs and states -> outputs and states) and ``initial_state``.

    ``clips``: ``{state name: c}``, each such state clipped to ``[-c, c]`` after each step
    (:func:`lstm_apps.export.clip.state_clips`).
    """
    clips = clips or {}
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
        for n in state_specs:
            v = states[n]
            if n in clips:
                v = tf.clip_by_value(v, -clips[n], clips[n])
            result[n] = tf.identity(v)
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


def _chained_streams(xs: list[np.ndarray], lanes: int, steps: int) -> list[np.ndarray]:
    """``lanes`` streams of ``steps`` steps: lane ``j`` runs sequences ``j, j + lanes, ...`` back to back."""
    n_seq, length = xs[0].shape[0], xs[0].shape[1]
    rounds = -(-steps // length)
    order = [[(j + r * lanes) % n_seq for r in range(rounds)] for j in range(lanes)]
    return [np.stack([np.concatenate([v[i] for i in lane], axis=0)[:steps] for lane in order]) for v in xs]


def _widened(sample: dict, factor: float, clips: dict | None = None) -> dict:
    """A calibration sample with its float inputs and states scaled by ``factor`` (integer ids kept);
    a clipped state stays within its clip (``clips``: ``{state name: c}``)."""
    clips = clips or {}
    out = {n: (v * np.asarray(factor, v.dtype) if v.dtype.kind == "f" else v) for n, v in sample.items()}
    return {n: (np.clip(v, -clips[n], clips[n]).astype(v.dtype) if n in clips else v) for n, v in out.items()}


def _saturated(sample: dict, clips: dict) -> dict:
    """A calibration sample with each clipped state's units at its clip, on the side of their sign.

    The clip is a state's exact range (:func:`lstm_apps.export.clip.state_clips`); these samples
    make the calibrated ranges reach it, where a sampled range stops at what the sample streams
    reached. Each unit goes to the side it was heading, as on a long stream.
    """
    return {
        n: (np.where(v < 0, -clips[n], clips[n]).astype(v.dtype) if n in clips else v)
        for n, v in sample.items()
    }


def _calibration(
    model,
    mode,
    graph,
    module,
    data,
    batch_size=1,
    max_samples=MAX_CALIBRATION_SAMPLES,
    steps: int | None = None,
    headroom: float = 0.0,
    clips: dict | None = None,
    seed_clips: bool = False,
):
    """Representative samples: whole sequences, or (x_t, states) pairs from stepping the float model.

    Every sample is also given scaled by ``1 + headroom`` (its float inputs
    and states), so that the calibrated ranges reach a little beyond.
    Streaming with ``clips`` (``{state name: c}``, the states the module
    clips): scaled states stay within their clip; with ``seed_clips`` (the
    clip is the state's known range, as the 1997 carousel's saturation
    point), up to 8 samples are also given with those states at their clip
    (:func:`_saturated`), so their calibrated range is the clip's.

    Streaming: the sample sequences are chained into (up to 64) streams of
    ``steps`` steps (at least one sequence), run through the float step
    function with the states fed back; ``max_samples`` (x_t, states) pairs
    are drawn at random (seed 0) from all streams and steps, and the first two
    steps of :data:`FIRST_STEP_SAMPLES` streams are always among them.
    """
    xs = _as_list(data)
    n_seq, length = xs[0].shape[0], xs[0].shape[1]
    if mode == "sequence":
        names = _input_names(len(xs))
        b = batch_size
        samples = [
            (SEQUENCE_SIGNATURE, {n: v[i : i + b] for n, v in zip(names, xs)})
            for i in range(0, min(n_seq, 64) - b + 1, b)
        ]
        return samples + [(sig, _widened(d, 1.0 + headroom)) for sig, d in samples if headroom]
    tf = _tf()
    samples, real = [], []
    lanes = min(n_seq, 64)
    total = max(length, steps or length)
    streams = _chained_streams(xs, lanes, total)
    # An even random choice of (step, stream) pairs: a fixed stride would alias with the number of streams.
    count = min(max_samples, lanes * total)
    chosen = np.zeros(lanes * total, dtype=bool)
    chosen[np.random.default_rng(0).choice(lanes * total, size=count, replace=False)] = True
    chosen = chosen.reshape(total, lanes)
    # Every stream starts from the initial states, where a cell may take another branch (the sLSTM's fresh
    # start at n = 0, whose m = i~ is then the next step's input), and random draws from 64 x 1000 steps
    # hold few of them: the first two steps of 8 streams are always in (the sLSTM's benchmark stack's
    # parity went from 0.26 to 0.005 in int16x8).
    chosen[:2, : min(lanes, FIRST_STEP_SAMPLES)] = True
    states = graph.initial_state(lanes)
    states = {k: tf.convert_to_tensor(v) for k, v in states.items()}
    for t in range(total):
        feed = {n: tf.convert_to_tensor(v[:, t]) for n, v in zip(graph.input_names, streams)}
        for i in np.flatnonzero(chosen[t]):
            sample = {n: np.asarray(feed[n][i : i + 1]) for n in graph.input_names}
            sample.update({n: np.asarray(states[n][i : i + 1]) for n in graph.state_names})
            samples.append((STEP_SIGNATURE, sample))
            real.append(sample)
            if headroom:
                samples.append((STEP_SIGNATURE, _widened(sample, 1.0 + headroom, clips)))
        out = module.step({**feed, **states})
        states = {n: out[n] for n in graph.state_names}
    if clips and seed_clips:  # spread over the streams' steps
        picks = np.linspace(0, len(real) - 1, num=min(8, len(real))).astype(int)
        samples += [(STEP_SIGNATURE, _saturated(real[i], clips)) for i in picks]
    for i in range(min(lanes, 8)):
        samples.append((INIT_SIGNATURE, {n: v[i : i + 1, 0] for n, v in zip(graph.input_names, xs)}))
    return samples
