"""Edge export (lstm_apps.export): TFLite/LiteRT sequence and streaming files, quantization, parity.

Stated tolerances (max absolute difference Keras vs TFLite):

* float32, sequence and streaming: <= 1e-5 (``FLOAT_TOL``);
* float16 weights: <= 2e-3 (``FLOAT16_TOL``);
* dynamic-range int8 weights: <= 2e-2 (``DYNAMIC_TOL``);
* int16x8 (int8 weights, int16 activations and states, calibrated step by
  step on 1000-step streams with 25% headroom): <= 0.02 (``INT16X8_TOL``);
  measured here 0.009 over 200 steps. In the slow matrix of tiny random
  cells calibrated on 8 sequences: <= 0.1, and <= 0.6 when ops outside the
  16x8 op set stay float (measured: the forgetting-curve cell 0.30, the
  MinGRU cell in sequence form 0.55); some cells do not convert to 16x8
  at all (``CONVERTER_FAILURES``). The
  int16x8 *sequence* file of this stack (unrolled: the converter cannot
  quantize the fused op to 16x8) drifts by ~0.13 per step in its LSTM part
  (int8: 0.013, streaming int16x8: 0.009), so it is not among the stated
  bounds: use the streaming form for int16x8;
* full int8 (weights, activations and states, calibrated step by step on
  the sample sequences with 25% headroom): <= 0.05 at the first step,
  <= 1.0 over the first 30 steps and <= 1.5 over 200 steps (``INT8_*``),
  on recipe-like data: standardised windows of
  a noisy seasonal series and a two-layer stack (LSTM1997 -> LSTM) trained
  for a few epochs to predict the next value (outputs of std ~0.9). Full
  int8 cannot hold the 1997 carousel: ``s`` has no forget gate and grows
  without bound, so 256 levels over the range a long stream reaches are
  coarse and the rounding accumulates. Measured here: ~0.01 at step 1,
  ~0.9 by step 30, ~1.4 over 200 steps (without the headroom ~0.5 and
  ~1.0, but LSTM and GRU then drift to 0.13-0.24 by step 1000; calibrated
  on 1000-step streams ~1.05 and ~1.6). With the headroom, LSTM and GRU
  stacks stay near 0.04 over 1000 steps in int8
  (tests/test_export_quant.py, benchmarks/edge.py). Use ``int16x8``,
  ``dynamic`` (<= 2e-2) or ``float16`` for the 1997 layer.

TFLite conversion takes seconds, so converted files are module-scoped
fixtures shared by the tests; the full cell x mode x quantization matrix is
marked slow.
"""

from __future__ import annotations

import inspect
import json
import re

import keras
import numpy as np
import pytest
from ai_edge_litert.tools import flatbuffer_utils

import lstm_apps.layers as L
from lstm_apps.export import (
    FLOAT_PARITY_LIMIT,
    SequenceRunner,
    StepGraph,
    StreamingRunner,
    check_parity,
    measure_latency,
    to_tflite,
)

FLOAT_TOL = 1e-5
FLOAT16_TOL = 2e-3
DYNAMIC_TOL = 2e-2
INT16X8_TOL = 2e-2
INT16X8_MATRIX_TOL = 0.1
INT16X8_FALLBACK_TOL = 0.6
INT8_TOL = 1.5
INT8_SHORT_TOL = 1.0
INT8_FIRST_STEP_TOL = 0.05
T_SHORT = 30
TOLERANCES = {
    None: FLOAT_TOL,
    "float16": FLOAT16_TOL,
    "dynamic": DYNAMIC_TOL,
    "int16x8": INT16X8_TOL,
    "int8": INT8_TOL,
}
TOLERANCES_SHORT = {**TOLERANCES, "int8": INT8_SHORT_TOL}

# The abstract base of gray-box cells has no call(); GrayBoxRNN wraps a cell it is given (the
# gray-box factory kinds below are GrayBoxRNN layers). They are the only classes left out.
ABSTRACT = {"GrayBoxCell", "GrayBoxRNN"}


# --------------------------------------------------------------------------
# the cells that exist in lstm_apps.layers right now, plus Keras's own
# --------------------------------------------------------------------------
def _package_cell_classes():
    """Every Layer class exported by lstm_apps.layers (cells and RNN layers), except the abstract base."""
    found = []
    for name in L.__all__:
        obj = getattr(L, name)
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer) and name not in ABSTRACT:
            found.append(name)
    return found


def _make_recurrent(name, units=4, **kw):
    """A recurrent layer for a lstm_apps.layers class name, a factory kind or a Keras layer."""
    if name.startswith("kind:"):
        return L.recurrent(name[5:], units, **kw)
    if name.startswith("keras:"):
        return getattr(keras.layers, name[6:])(units, **kw)
    cls = getattr(L, name)
    if cls is L.GrayBoxRNN:  # the fused wrapper of a gray-box cell: exported with the adaptive-forget one
        return cls(L.AdaptiveForgetCell(units), **kw)
    if issubclass(cls, keras.layers.RNN):
        return cls(units, **kw)
    return keras.layers.RNN(cls(units), **kw)


def _features_for(name):
    """The first input width (3, 2 or 1) the cell accepts; a cell accepting none fails the test."""
    errors = []
    for f in (3, 2, 1):
        try:
            _make_recurrent(name)(np.zeros((1, 2, f), "float32"))
            return f
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(f"{f} features: {type(exc).__name__}: {exc}")
    raise AssertionError(f"{name} cannot be built on 1-3 input features: {errors}")


# Known 16x8 converter failures, caught by the export's smoke test (it never writes a file LiteRT
# cannot run): for the forgetting-curve cell's unrolled graph the converter's float fallback writes a
# LOGISTIC with an int8 input and an int16 output; for the minLSTM and sLSTM unrolled sequence graphs,
# int16 comparisons LiteRT has no kernel for. int8 converts all of them. (Their int16x8 streaming
# files run the steps of lstm_apps.export.integer_steps: tests/test_export_int16.py.)
CONVERTER_FAILURES = {
    (c, "sequence", "int16x8") for c in ("MinLSTM", "MinLSTMCell", "SLSTM", "SLSTMCell")
} | {(c, "sequence", "int16x8") for c in ("min_lstm", "slstm", "ForgettingCurveCell", "forgetting_curve")}

# Branches of the "zoo" model: every package class, factory kind and Keras layer, plus LSTM1997 options.
LSTM1997_OPTIONS = {
    "LSTM1997[blocks=2,forget_gate,staggered]": dict(
        cls="LSTM1997", units=6, cells_per_block=2, forget_gate=True, input_gate_bias=[-1.0, -2.0, -3.0]
    ),
    "LSTM1997[tanh,full_bptt]": dict(cls="LSTM1997", units=4, squash="tanh", truncate_gradients=False),
    "LSTM1997[blocks=4,seq]": dict(cls="LSTM1997", units=8, cells_per_block=4, return_sequences=True),
}
# Factory kinds: "lstm", "gru", "simple_rnn" are keras.layers.LSTM / GRU / SimpleRNN; "lstm1997" is
# the same class as the package's LSTM1997 branch, so it is not repeated.
BRANCHES = (
    _package_cell_classes()
    + [f"kind:{k}" for k in L.recurrent_kinds() if k != "lstm1997"]
    + list(LSTM1997_OPTIONS)
)
T_ZOO = 24


def _branch_layer(name):
    if name in LSTM1997_OPTIONS:
        opts = dict(LSTM1997_OPTIONS[name])
        cls = getattr(L, opts.pop("cls"))
        return cls(opts.pop("units"), **opts)
    seq = BRANCHES.index(name) % 2 == 0  # alternate per-step and per-sequence outputs
    return _make_recurrent(name, 4, return_sequences=seq)


def _zoo_model():
    keras.utils.set_random_seed(1)
    inputs, outputs = [], []
    for name in BRANCHES:
        f = 3 if name in LSTM1997_OPTIONS else _features_for(name)
        x = keras.Input((T_ZOO, f))
        h = _branch_layer(name)(x)
        inputs.append(x)
        outputs.append(keras.layers.Dense(2)(h))
    return keras.Model(inputs, outputs)


def _zoo_inputs(model, batch=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(batch, *kt.shape[1:])).astype("float32") for kt in model.inputs]


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    model = _zoo_model()
    xs = _zoo_inputs(model)
    folder = tmp_path_factory.mktemp("zoo")
    stream = to_tflite(model, folder / "zoo_streaming.tflite", mode="streaming", parity_inputs=xs)
    return {"model": model, "xs": xs, "stream": stream, "folder": folder}


def _per_output_diffs_streaming(model, path, xs):
    graph = StepGraph(model)
    keras_out = model.predict(xs, verbose=0)
    got = StreamingRunner(path).run(xs)
    diffs = {}
    for name, branch, temporal, ref in zip(graph.output_names, BRANCHES, graph.output_temporal, keras_out):
        g = got[name] if temporal else got[name][:, -1]
        assert g.shape == ref.shape, (branch, g.shape, ref.shape)
        diffs[branch] = float(np.max(np.abs(g - ref)))
    return diffs


def test_zoo_covers_every_package_cell():
    # Nothing exported by lstm_apps.layers is left out silently: every Layer class except the abstract base.
    layer_classes = {
        n
        for n in L.__all__
        if inspect.isclass(getattr(L, n)) and issubclass(getattr(L, n), keras.layers.Layer)
    }
    assert layer_classes - ABSTRACT <= set(BRANCHES)
    assert {"LSTM1997", "LSTM1997Cell"} <= set(BRANCHES)
    assert set(f"kind:{k}" for k in L.recurrent_kinds()) - {"kind:lstm1997"} <= set(BRANCHES)
    assert {"kind:lstm", "kind:gru"} <= set(BRANCHES)  # Keras's own LSTM and GRU


@pytest.mark.parametrize("branch", BRANCHES)
def test_streaming_float32_parity_every_cell(zoo, branch):
    diffs = zoo.setdefault("diffs", None) or _per_output_diffs_streaming(
        zoo["model"], zoo["stream"].path, zoo["xs"]
    )
    zoo["diffs"] = diffs
    assert diffs[branch] <= FLOAT_TOL, (branch, diffs[branch])


def test_streaming_file_names_every_state(zoo):
    runner = StreamingRunner(zoo["stream"].path)
    assert runner.input_names == [f"x_{i}" for i in range(len(BRANCHES))]
    assert runner.output_names == [f"y_{i}" for i in range(len(BRANCHES))]
    graph = StepGraph(zoo["model"])
    assert runner.state_names == sorted(graph.state_names)
    # LSTM-like cells carry two states, GRU/SimpleRNN one
    n_states = {s.layer: 0 for s in graph.states}
    for s in graph.states:
        n_states[s.layer] += 1
    assert sorted(n_states.values())[-1] >= 2 and min(n_states.values()) == 1
    assert zoo["stream"].parity_max_abs <= FLOAT_TOL


# --------------------------------------------------------------------------
# a stacked model with dense heads on recipe-like data; every quantization
# --------------------------------------------------------------------------
T_LONG = 200


def _seasonal_windows(n, steps, seed=0):
    """Standardised windows of a noisy seasonal series with a slow trend (a forecasting recipe's inputs)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n * 7 + steps + 1, dtype="float64")
    series = (
        np.sin(2 * np.pi * t / 24.0)
        + 0.5 * np.sin(2 * np.pi * t / 168.0)
        + 0.002 * t
        + 0.2 * rng.normal(size=t.size)
    )
    series = (series - series.mean()) / series.std()
    starts = np.arange(n) * 7
    x = np.stack([series[s : s + steps] for s in starts])[..., None]
    y = np.stack([series[s + 1 : s + steps + 1] for s in starts])[..., None]
    calendar = np.stack([np.sin(2 * np.pi * (starts[:, None] + np.arange(steps)) / 24.0)] * 1, axis=-1)
    return np.concatenate([x, calendar], axis=-1).astype("float32"), y.astype("float32")


def _stacked_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((T_LONG, 2)),
            keras.layers.TimeDistributed(keras.layers.Dense(8, activation="tanh")),
            L.LSTM1997(32, cells_per_block=2, return_sequences=True),
            keras.layers.Dropout(0.1),
            keras.layers.LSTM(32, return_sequences=True),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    x, y = _seasonal_windows(48, T_LONG)
    model.fit(x[:32], y[:32], epochs=4, batch_size=8, verbose=0)
    return model


@pytest.fixture(scope="module")
def stacked(tmp_path_factory):
    model = _stacked_model()
    x, _ = _seasonal_windows(48, T_LONG, seed=1)
    folder = tmp_path_factory.mktemp("stacked")
    files = {}
    for q in (None, "dynamic", "float16", "int16x8", "int8"):
        files[q] = to_tflite(
            model, folder / f"stream_{q}.tflite", mode="streaming", quantize=q,
            representative_data=x[:16], parity_inputs=x[16:20],
        )  # fmt: skip
    return {"model": model, "x": x, "files": files, "folder": folder}


def test_stream_200_steps_equals_keras_sequence(stacked):
    model, x = stacked["model"], stacked["x"][16:18]
    ref = model.predict(x, verbose=0)  # (2, 200, 1): the whole 200-step sequence at once
    runner = StreamingRunner(stacked["files"][None].path)
    runner.reset(batch_size=2)
    got = np.stack([runner.step(x[:, t]) for t in range(T_LONG)], axis=1)
    assert got.shape == ref.shape == (2, T_LONG, 1)
    assert np.max(np.abs(got - ref)) <= FLOAT_TOL
    # the model really uses its memory: a fresh state at step 100 gives a different output
    runner.reset(batch_size=2)
    fresh = runner.step(x[:, 100])
    assert np.max(np.abs(fresh - ref[:, 100])) > 1e-3


@pytest.mark.parametrize("quantize", [None, "dynamic", "float16", "int16x8", "int8"])
def test_quantized_streaming_within_documented_bound(stacked, quantize):
    result = stacked["files"][quantize]
    x = stacked["x"][20:24]
    ref = stacked["model"].predict(x, verbose=0)  # (4, 200, 1), per step
    # the bounds are stated on outputs that vary (not on a model that outputs ~0)
    assert np.std(ref) > 0.1, np.std(ref)
    err = np.abs(StreamingRunner(result.path).run(x) - ref).max(axis=(0, 2))  # max error at each step
    print(
        f"[{quantize}] max abs error: step 1 {err[0]:.3g}, first {T_SHORT} steps {err[:T_SHORT].max():.3g}, "
        f"200 steps {err.max():.3g}; export-time parity {result.parity_max_abs:.3g}; "
        f"output std {np.std(ref):.3g}"
    )
    assert err[0] <= (INT8_FIRST_STEP_TOL if quantize == "int8" else TOLERANCES[quantize])  # before any drift
    assert err[:T_SHORT].max() <= TOLERANCES_SHORT[quantize]
    assert err.max() <= TOLERANCES[quantize]
    assert result.parity_max_abs is not None and result.parity_max_abs <= TOLERANCES[quantize], result
    # independent re-check with check_parity
    assert check_parity(stacked["model"], result.path, x[:2]) <= TOLERANCES[quantize]


def test_quantization_shrinks_and_keeps_float_io(stacked):
    files = stacked["files"]
    sizes = {q: r.size_bytes for q, r in files.items()}
    # weights shrink 4x (2x for float16); the graph itself (ops, quantization parameters) does not
    assert sizes["dynamic"] < 0.75 * sizes[None], sizes
    assert sizes["int8"] < 0.75 * sizes[None], sizes
    assert sizes["float16"] < 0.8 * sizes[None], sizes
    assert sizes["int16x8"] < 0.75 * sizes[None], sizes
    for q, activations in (("int8", "int8"), ("int16x8", "int16")):
        runner = StreamingRunner(files[q].path)
        details = runner._step.get_input_details()
        assert all(np.dtype(d["dtype"]) == np.float32 for d in details.values())
        # the integer file really computes in integers: int8 weights, int8 or int16 activations
        model = flatbuffer_utils.read_model(files[q].path)
        types = {flatbuffer_utils.type_to_name(t.type) for g in model.subgraphs for t in g.tensors}
        assert {"INT8", activations.upper()} <= types, (q, types)
        assert files[q].op_flags == [] and "WHILE" not in files[q].ops
    assert not files["int8"].int8_float_fallback


def test_runner_keeps_state_and_resets(stacked):
    x = stacked["x"][0]  # one sequence (200, 2), unbatched steps
    runner = StreamingRunner(stacked["files"][None].path)
    first = [runner.step(x[t]) for t in range(5)]
    assert first[0].shape == (1,)
    assert not np.allclose(first[0], first[4])
    runner.reset()
    again = [runner.step(x[t]) for t in range(5)]
    np.testing.assert_allclose(np.stack(first), np.stack(again), atol=0)
    assert set(runner.states) == set(runner.state_names) and len(runner.state_names) == 4


def test_latency_is_measured_single_thread(stacked):
    lat = measure_latency(stacked["files"][None].path, stacked["x"][:1], repeats=30, warmup=5)
    assert lat["mode"] == "streaming" and lat["repeats"] == 30 and lat["per_step_us_median"] > 0


def test_int8_needs_representative_data(stacked, tmp_path):
    with pytest.raises(ValueError, match="representative_data"):
        to_tflite(stacked["model"], tmp_path / "m.tflite", mode="streaming", quantize="int8")


# --------------------------------------------------------------------------
# sequence form
# --------------------------------------------------------------------------
def _small_stack():
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [
            keras.Input((20, 3)),
            L.LSTM1997(8, cells_per_block=2, return_sequences=True),
            keras.layers.GRU(8),
            keras.layers.Dense(2),
        ]
    )


def test_sequence_float32_parity(tmp_path):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((20, 3)), L.LSTM1997(8, cells_per_block=2), keras.layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(5, 20, 3)).astype("float32")
    result = to_tflite(model, tmp_path / "seq.tflite", mode="sequence", parity_inputs=x)
    assert result.mode == "sequence" and result.sequence_loop == "fused"
    assert result.ops["UNIDIRECTIONAL_SEQUENCE_LSTM"] == 1 and "WHILE" not in result.ops
    got = SequenceRunner(result.path).predict(x)  # batch 5 through a batch-1 file
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=FLOAT_TOL)
    with pytest.raises(ValueError, match="not a streaming file"):
        StreamingRunner(result.path)


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["dynamic", "float16", "int8"])
def test_sequence_quantized(tmp_path, quantize):
    model = _stacked_model()
    x, _ = _seasonal_windows(24, T_LONG, seed=2)
    short = keras.Sequential([keras.Input((24, 2)), *model.layers])
    xs = x[:, :24]
    result = to_tflite(
        short, tmp_path / "q.tflite", mode="sequence", quantize=quantize, representative_data=xs[:16]
    )
    assert result.parity_max_abs <= TOLERANCES[quantize]
    # both recurrent layers fuse; int8 unrolls (it keeps the 1997 layer out of the fused op), and the
    # file has no WHILE loop either way
    assert result.sequence_loop == ("unrolled" if quantize == "int8" else "fused"), result
    assert "WHILE" not in result.ops


# --------------------------------------------------------------------------
# what cannot stream, and the parity guard
# --------------------------------------------------------------------------
def test_bidirectional_cannot_stream(tmp_path):
    model = keras.Sequential(
        [keras.Input((10, 3)), keras.layers.Bidirectional(keras.layers.LSTM(4)), keras.layers.Dense(1)]
    )
    with pytest.raises(
        ValueError,
        match=r"cannot stream layer 'bidirectional.*'.*Bidirectional.*reads each sequence backwards",
    ):
        to_tflite(model, tmp_path / "b.tflite", mode="streaming")
    assert not (tmp_path / "b.tflite").exists()


def test_unsupported_layer_is_named(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((10, 3)),
            keras.layers.Conv1D(4, 3, padding="causal", name="my_conv"),
            L.LSTM1997(4),
            keras.layers.Dense(1),
        ]
    )
    with pytest.raises(ValueError, match=r"cannot stream layer 'my_conv' \(Conv1D\)"):
        to_tflite(model, tmp_path / "c.tflite", mode="streaming")
    with pytest.raises(ValueError, match="go_backwards"):
        StepGraph(keras.Sequential([keras.Input((5, 2)), keras.layers.GRU(3, go_backwards=True)]))
    with pytest.raises(ValueError, match=r"time axis"):
        StepGraph(
            keras.Sequential(
                [
                    keras.Input((5, 2)),
                    keras.layers.LSTM(3, return_sequences=True),
                    keras.layers.Softmax(axis=1),
                ]
            )
        )


def test_layers_after_the_last_step_run_unchanged():
    # Flatten / Reshape are fine once the time axis is gone (after return_sequences=False)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12, 3)),
            keras.layers.GRU(6),
            keras.layers.Reshape((2, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    x = np.random.default_rng(0).normal(size=(2, 12, 3)).astype("float32")
    got = StepGraph(model).run(x)[0]
    np.testing.assert_allclose(got[:, -1], model.predict(x, verbose=0), atol=1e-5)


@keras.saving.register_keras_serializable(package="lstm_apps_tests")
class _ShiftedLSTM(keras.layers.LSTM):
    """A layer whose call() does more than its cell: the streaming graph cannot know it."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training) + 0.01


def test_export_refuses_float_file_with_bad_parity(tmp_path):
    model = keras.Sequential(
        [keras.Input((8, 2)), _ShiftedLSTM(4, return_sequences=True)]
    )  # every output off by 0.01
    target = tmp_path / "bad.tflite"
    with pytest.raises(
        ValueError, match=rf"refusing to write .*bad.tflite.*above the {FLOAT_PARITY_LIMIT:g} limit"
    ):
        to_tflite(model, target, mode="streaming")
    assert not target.exists()


def test_bad_arguments(tmp_path):
    model = _small_stack()
    with pytest.raises(ValueError, match="mode must be one of"):
        to_tflite(model, tmp_path / "m.tflite", mode="stream")
    with pytest.raises(ValueError, match="quantize must be one of"):
        to_tflite(model, tmp_path / "m.tflite", quantize="int4")
    with pytest.raises(ValueError, match=r"must end in '.tflite'"):
        to_tflite(model, tmp_path / "m.keras")
    with pytest.raises(ValueError, match="int16x8.*representative_data"):
        to_tflite(model, tmp_path / "m.tflite", mode="streaming", quantize="int16x8")
    with pytest.raises(ValueError, match=r"calibration_steps must be a positive integer.*received 0"):
        to_tflite(model, tmp_path / "m.tflite", calibration_steps=0)
    with pytest.raises(ValueError, match=r"state_clip must be a positive number.*received -1"):
        to_tflite(model, tmp_path / "m.tflite", mode="streaming", state_clip=-1)
    with pytest.raises(ValueError, match="state_clip applies to streaming files"):
        to_tflite(model, tmp_path / "m.tflite", mode="sequence", state_clip=20.0)


# --------------------------------------------------------------------------
# recipes: --export, and the CLI
# --------------------------------------------------------------------------
# slow: a recipe run plus the CLI export (90 s of a loaded run)
@pytest.mark.slow
def test_recipe_export_flag_and_cli(tmp_path, capsys):
    from lstm_apps import cli
    from lstm_apps.training import recipe_parser, start_run

    args = recipe_parser("demo", "d").parse_args(["--quick", "--export", "--runs-dir", str(tmp_path)])
    run = start_run("demo", args)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((30, 2)), L.LSTM1997(8, return_sequences=True), keras.layers.Dense(1)]
    )
    x, _ = _seasonal_windows(8, 30)
    run.save_model(model, sample_inputs=x)
    metrics = json.loads(run.file("metrics.json").read_text())
    assert run.file("model_streaming.tflite").is_file()
    assert metrics["export_parity_max_abs"] <= FLOAT_TOL
    assert metrics["export_size_bytes"] == run.file("model_streaming.tflite").stat().st_size
    assert check_parity(model, run.file("model_streaming.tflite"), x[:2]) <= FLOAT_TOL
    final = run.finish({"loss": 1.0})
    assert final["export_parity_max_abs"] == metrics["export_parity_max_abs"] and final["loss"] == 1.0

    capsys.readouterr()
    out = tmp_path / "cli_int8.tflite"
    code = cli.main(
        ["export", str(run.path), "--mode", "streaming", "--quantize", "int8", "-o", str(out), "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert out.is_file() and report["size_bytes"] == out.stat().st_size
    assert report["parity_max_abs"] <= INT8_TOL and report["per_step_latency_us"] > 0
    assert report["data"].endswith("sample_inputs.npz")
    assert report["ops"]["FULLY_CONNECTED"] >= 1 and report["op_flags"] == []

    # the text report lists the ops and which LSTMs fused
    seq = tmp_path / "cli_sequence.tflite"
    assert cli.main(["export", str(run.path), "--mode", "sequence", "-o", str(seq)]) == 0
    text = capsys.readouterr().out
    assert "ops:       FULLY_CONNECTED x1, UNIDIRECTIONAL_SEQUENCE_LSTM x1" in text
    assert "fusion:    lstm1997" in text and ": fused" in text and "needs:" not in text

    # --state-clip saturation: the 1997 carousel alone, where 2 sigmoid(s) - 1 is 1 in float32
    clipped = tmp_path / "cli_clip.tflite"
    assert cli.main(["export", str(run.path), "-o", str(clipped), "--state-clip", "saturation"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"clip: +state_lstm1997\w*_1 to \[-18\.02, 18\.02\]", text), text
    assert text.count("clip:") == 1

    # a model that cannot stream: clear CLI error, exit status 2
    bidi = keras.Sequential([keras.Input((5, 2)), keras.layers.Bidirectional(keras.layers.GRU(2))])
    bidi.save(tmp_path / "bidi.keras")
    assert cli.main(["export", str(tmp_path / "bidi.keras"), "-o", str(tmp_path / "x.tflite")]) == 2
    assert "Bidirectional" in capsys.readouterr().err


def test_export_flag_without_sample_inputs_is_reported(tmp_path):
    from lstm_apps.training import recipe_parser, start_run

    args = recipe_parser("demo", "d").parse_args(["--quick", "--export", "--runs-dir", str(tmp_path)])
    run = start_run("demo", args)
    run.save_model(keras.Sequential([keras.Input((4, 1)), keras.layers.GRU(2)]))
    metrics = json.loads(run.file("metrics.json").read_text())
    assert "sample_inputs" in metrics["export_error"]
    assert not run.file("model_streaming.tflite").exists()


# --------------------------------------------------------------------------
# the exhaustive matrix (slow): every cell x mode x quantization
# --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("quantize", [None, "dynamic", "float16", "int16x8", "int8"])
@pytest.mark.parametrize("mode", ["streaming", "sequence"])
@pytest.mark.parametrize("branch", BRANCHES)
def test_matrix(tmp_path, branch, mode, quantize):
    f = 3 if branch in LSTM1997_OPTIONS else _features_for(branch)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((24, f)), _branch_layer(branch), keras.layers.Dense(2)])
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(scale=0.3, size=(12, 24, f)), axis=1).astype("float32")  # random-walk sequences

    def export():
        return to_tflite(
            model, tmp_path / "m.tflite", mode=mode, quantize=quantize, representative_data=x[:8],
            parity_inputs=x[8:],
        )  # fmt: skip

    if (branch.replace("kind:", ""), mode, quantize) in CONVERTER_FAILURES:
        # the export catches a file LiteRT cannot run and says so; this fails once the converter is fixed
        with pytest.raises(ValueError, match="LiteRT cannot run the converted file"):
            export()
        return
    result = export()
    tolerance = TOLERANCES[quantize]
    if quantize == "int16x8":
        tolerance = INT16X8_FALLBACK_TOL if result.int8_float_fallback else INT16X8_MATRIX_TOL
    assert result.parity_max_abs <= tolerance, (branch, mode, quantize, result.parity_max_abs)


def test_token_model_with_mask_streams():
    # Embedding(mask_zero=True) adds a NotEqual op and a mask to the graph; masked steps keep the states
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((15,), dtype="int32"),
            keras.layers.Embedding(50, 8, mask_zero=True),
            L.LSTM1997(8, return_sequences=True),
            keras.layers.LayerNormalization(),
            keras.layers.GRU(4),
            keras.layers.Dense(1),
        ]
    )
    x = np.random.default_rng(0).integers(1, 50, size=(3, 15)).astype("int32")
    x[0, 10:] = 0  # padding tokens: masked steps keep the states
    graph = StepGraph(model)
    assert graph.input_specs == [((), "int32")]
    np.testing.assert_allclose(graph.run(x)[0][:, -1], model.predict(x, verbose=0), atol=1e-5)


def test_string_inputs_and_encoder_decoder_get_clear_errors():
    text_in = keras.Input((1,), dtype="string")
    vec = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=6)
    vec.adapt(np.array([["a b c"], ["b c d"]]))
    text_model = keras.Model(text_in, keras.layers.GRU(2)(keras.layers.Embedding(20, 4)(vec(text_in))))
    with pytest.raises(ValueError, match="string tensor .*TextVectorization"):
        StepGraph(text_model)
    enc_in, dec_in = keras.Input((5, 2)), keras.Input((4, 2))
    _, h, c = keras.layers.LSTM(3, return_state=True)(enc_in)
    dec = keras.layers.LSTM(3, name="decoder")(dec_in, initial_state=[h, c])
    with pytest.raises(
        ValueError, match="'decoder'.*initial_state.*encoder and the decoder as separate models"
    ):
        StepGraph(keras.Model([enc_in, dec_in], dec))


def test_masking_layer_streams():
    # Masking adds any(x != 0, axis=-1) to the graph: a reduction over features, fine per step
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((9, 2)), keras.layers.Masking(0.0), L.LSTM1997(4), keras.layers.Dense(1)]
    )
    x = np.random.default_rng(1).normal(size=(2, 9, 2)).astype("float32")
    x[0, 6:] = 0.0  # padding at the end
    x[1, 2] = 0.0  # a masked step inside: states pass through unchanged
    graph = StepGraph(model)
    assert any(s.name.endswith("_output") for s in graph.states)
    np.testing.assert_allclose(graph.run(x)[0][:, -1], model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(ValueError, match="reduces over the time axis"):
        inp = keras.Input((9, 2))
        StepGraph(keras.Model(inp, keras.layers.LSTM(2)(inp * keras.ops.mean(inp, axis=1, keepdims=True))))
