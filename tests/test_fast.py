"""The fast path of LSTM1997 (lstm_apps.layers.kernels) against the generic
``keras.layers.RNN`` path, the map to ``keras.layers.LSTM``, and the benchmark."""

import itertools
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_test_utils import assert_same_outputs_and_grads, check_recurrent_layer, outputs_and_grads

from lstm_apps.layers import LSTM1997, LSTM1997Cell
from lstm_apps.layers.kernels import lstm1997_tf, sharding
from lstm_apps.layers.lstm1997 import keras_lstm_weights, to_keras_lstm

B, T, F, U = 3, 11, 4, 4  # T = 3 steps before the loop + one chunk of UNROLL=8

CELL_CONFIGS = [
    dict(squash=sq, forget_gate=fg, cells_per_block=cpb, truncate_gradients=tr)
    for sq, fg, cpb, tr in itertools.product(("paper", "tanh"), (False, True), (1, 2), (True, False))
]


def _kernel(cell, sequences, initial_state, **kwargs):
    """The fast kernel on a cell's weights and options, as ``LSTM1997`` calls it."""
    return lstm1997_tf.lstm1997(
        sequences,
        initial_state,
        cell.kernel,
        cell.recurrent_kernel,
        cell.bias,
        cells_per_block=cell.cells_per_block,
        forget_gate=cell.forget_gate,
        squash=cell.squash,
        truncate_gradients=cell.truncate_gradients,
        **kwargs,
    )


def _pair(config, **rnn_kwargs):
    """A fast and a generic LSTM1997 with identical (random, non-trivial) weights."""
    fast = LSTM1997(U, fast_path=True, **config, **rnn_kwargs)
    slow = LSTM1997(U, fast_path=False, **config, **rnn_kwargs)
    fast.build((B, T, F))
    slow.build((B, T, F))
    rng = np.random.default_rng(1)
    weights = [rng.uniform(-0.8, 0.8, size=w.shape).astype("float32") for w in fast.get_weights()]
    fast.set_weights(weights)
    slow.set_weights(weights)
    assert fast.uses_fast_path() and not slow.uses_fast_path()
    return fast, slow


_outputs_and_grads = outputs_and_grads
_assert_same = assert_same_outputs_and_grads


def _data(seed=0, masked=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, F)).astype("float32")
    init = [rng.normal(size=(B, U)).astype("float32") for _ in range(2)]
    mask = None
    if masked:
        mask = rng.random((B, T)) > 0.35
        mask[0, :3] = False  # leading masked steps: outputs zero, states carried from h0
        mask[1, -2:] = False  # trailing masked steps
        mask = tf.constant(mask)
    return x, init, mask


# the default run covers the paper's default, full BPTT, forget gate with blocks,
# and everything non-default at once; the other 12 combinations run with -m slow
DEFAULT_INDICES = (0, 1, 6, 15)


@pytest.mark.parametrize(
    "index",
    [
        i if i in DEFAULT_INDICES else pytest.param(i, marks=pytest.mark.slow)
        for i in range(len(CELL_CONFIGS))
    ],
)
def test_fast_path_matches_generic_outputs_and_gradients(index):
    """Every cell option, each with a different mix of the RNN options."""
    config = CELL_CONFIGS[index]
    # cycle the layer options over the cell configurations
    rnn = dict(
        return_sequences=index % 2 == 0,
        return_state=index % 4 in (1, 2),
        go_backwards=index % 3 == 1,
        zero_output_for_mask=index % 3 == 0,
    )
    fast, slow = _pair(config, **rnn)
    x, init, mask = _data(index, masked=True)
    _assert_same(fast, slow, x, init if index % 2 else None, mask, training=index % 5 != 0)
    x, init, _ = _data(index + 100, masked=False)
    _assert_same(fast, slow, x, init if index % 3 else None, None, training=index % 5 == 0)


# the many-to-one layer with the paper's scissors and no forget gate takes its own path
# (no loop in the backward pass): every combination of the options it allows
LAST_CONFIGS = [
    dict(squash=sq, cells_per_block=cpb, return_state=rs, go_backwards=gb)
    for sq, cpb, rs, gb in itertools.product(("paper", "tanh"), (1, 2), (False, True), (False, True))
]


# the default run covers each option both ways (squash, blocks, return_state, go_backwards);
# the other 12 combinations run with -m slow
LAST_DEFAULT_INDICES = (0, 6, 9, 15)


@pytest.mark.parametrize(
    "index",
    [
        i if i in LAST_DEFAULT_INDICES else pytest.param(i, marks=pytest.mark.slow)
        for i in range(len(LAST_CONFIGS))
    ],
)
def test_many_to_one_path_matches_generic_outputs_and_gradients(index, monkeypatch):
    config = LAST_CONFIGS[index]
    fast, slow = _pair(config)  # defaults: truncated, no forget gate, return_sequences=False
    calls = []
    original = lstm1997_tf._core_last
    monkeypatch.setattr(lstm1997_tf, "_core_last", lambda *a, **k: calls.append(1) or original(*a, **k))
    x, init, _ = _data(index + 40)
    for training in (True, False):  # an inference call's gradient runs the storing loop again
        _assert_same(fast, slow, x, init if index % 2 else None, None, training=training)
    assert calls, "the many-to-one path was not taken"


def test_shared_loops_handle_relaxed_shapes():
    """Layers of one configuration share the compiled loops; after calls with several input
    sizes TensorFlow retraces them with unknown dimensions, which must still work."""
    for features, steps, return_sequences in (
        (3, 6, False),
        (5, 7, False),
        (7, 9, False),
        (9, 10, True),
        (2, 11, True),
        (6, 5, True),
    ):
        fast = LSTM1997(U, fast_path=True, return_sequences=return_sequences)
        slow = LSTM1997(U, fast_path=False, return_sequences=return_sequences)
        x = np.random.default_rng(features).normal(size=(2, steps, features)).astype("float32")
        fast.build(x.shape)
        slow.build(x.shape)
        slow.set_weights(fast.get_weights())
        _assert_same(fast, slow, x)


def test_many_to_one_path_is_not_taken_with_a_mask_or_sequences(monkeypatch):
    monkeypatch.setattr(lstm1997_tf, "_core_last", lambda *a, **k: pytest.fail("many-to-one path taken"))
    x, init, mask = _data(3, masked=True)
    for kwargs, m in (
        (dict(return_sequences=True), None),
        (dict(), mask),
        (dict(forget_gate=True), None),
        (dict(truncate_gradients=False), None),
    ):
        fast, slow = _pair(kwargs)
        _assert_same(fast, slow, x, init, m)


# jit_compile="auto" picks XLA for the small layers of the other tests: check the plain loop here
@pytest.mark.parametrize("jit", [pytest.param(True, marks=pytest.mark.slow), False])
def test_xla_and_plain_loops_agree(jit):
    layer = LSTM1997(U, cells_per_block=2, forget_gate=True)
    x, init, mask = _data(7, masked=True)
    layer(x)
    ref = keras.layers.RNN(layer.cell, return_sequences=True)  # the same cell, generic loop
    for m in (None, mask):
        last, outs, states = _kernel(layer.cell, tf.constant(x), init, mask=m, jit_compile=jit)
        np.testing.assert_allclose(outs.numpy(), ref(x, initial_state=init, mask=m).numpy(), atol=2e-6)


def _sharded_results(layer, x, init, mask, training, return_sequences):
    """Outputs, final states and gradients of the kernel run as 1, 2 and 3 shards."""
    results = []
    for shards in (1, 2, 3):
        xs = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xs)
            last, outs, states = _kernel(
                layer.cell,
                xs,
                init,
                mask=mask,
                return_sequences=return_sequences,
                training=training,
                shards=shards,
            )
            out = outs if return_sequences else last
            weight = tf.sin(tf.reshape(tf.range(tf.size(out), dtype="float32"), out.shape) * 0.7)
            loss = tf.reduce_sum(out * weight) + tf.reduce_sum(states[1] * states[1])
        assert (outs is None) == (not return_sequences)
        grads = tape.gradient(loss, [xs, layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias])
        results.append([out.numpy(), states[0].numpy(), states[1].numpy()] + [np.asarray(g) for g in grads])
    return results


@pytest.mark.parametrize(
    "config, masked, return_sequences, training",
    [
        (CELL_CONFIGS[0], True, True, True),
        (CELL_CONFIGS[-1], True, True, True),
        (dict(cells_per_block=2), False, False, True),  # the many-to-one path
        (dict(cells_per_block=2), False, False, False),  # its inference loop, gradient by a rerun
    ],
    ids=["paper_default", "all_options", "many_to_one", "many_to_one_inference"],
)
def test_sharded_batch_matches_one_loop(config, masked, return_sequences, training):
    """Splitting the batch into loops run side by side changes neither outputs nor gradients
    (uneven shards, a mask, full and truncated backward passes, the many-to-one path)."""
    layer = LSTM1997(U, **config)
    x, init, mask = _data(5, masked=masked)
    layer(x)
    results = _sharded_results(layer, x, init, mask, training, return_sequences)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(b, a, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("shards", [0, -1, 1.5, True, "two"])
def test_bad_shards_raise_value_error(shards):
    layer = LSTM1997(U)
    x, init, _ = _data(0)
    layer(x)
    with pytest.raises(ValueError, match="shards"):
        _kernel(layer.cell, tf.constant(x), init, shards=shards)


def test_kernel_rejects_options_that_do_not_fit_the_weights():
    layer = LSTM1997(U)
    x, init, _ = _data(0)
    layer(x)
    cell = layer.cell
    weights = (cell.kernel, cell.recurrent_kernel, cell.bias)
    with pytest.raises(ValueError, match=r"do not fit.*forget_gate=True"):
        lstm1997_tf.lstm1997(tf.constant(x), init, *weights, forget_gate=True)
    with pytest.raises(ValueError, match="cells_per_block=3"):
        lstm1997_tf.lstm1997(tf.constant(x), init, *weights, cells_per_block=3)
    with pytest.raises(ValueError, match="squash='relu'"):
        lstm1997_tf.lstm1997(tf.constant(x), init, *weights, squash="relu")


def test_auto_shards_one_loop_per_core_for_large_batches(monkeypatch):
    monkeypatch.setattr(sharding, "_cpu_cores", lambda: 2)
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: [])
    assert sharding.auto_shards(None) == 2  # unknown when traced: at most 2, chosen at run time
    assert sharding.auto_shards(sharding.SHARD_MIN_BATCH - 1) == 1
    assert sharding.auto_shards(sharding.SHARD_MIN_BATCH) == 2
    assert sharding.auto_shards(1024) == 2
    monkeypatch.setattr(
        tf.config, "list_logical_devices", lambda kind=None: ["GPU:0"] if kind == "GPU" else []
    )
    assert sharding.auto_shards(1024) == 1
    assert sharding.auto_shards(None) == 1


@pytest.mark.parametrize("auto", [True, False])
def test_dispatch_picks_the_shard_count_at_run_time(monkeypatch, auto):
    """With the batch size unknown when traced, the batch that arrives picks the shard count:
    ``auto_shards``'s count rounded down to a traced candidate, or the asked count (1 when the
    batch is smaller)."""
    monkeypatch.setattr(sharding, "_cpu_cores", lambda: 8)
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: [])
    shards = sharding.auto_shards(None) if auto else 3
    assert sharding.candidates(shards, auto) == ([1, 2, 4, 8] if auto else [1, 3])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def picked(v):
        return sharding.dispatch(lambda n: tf.constant(n), tf.shape(v)[0], None, shards, auto)

    for batch in (1, 2, 5, 127, 128, 200, 256, 300, 1000):
        if auto:
            wanted = sharding.auto_shards(batch)
            expected = max(n for n in (1, 2, 4, 8) if n <= wanted)
        else:
            expected = 3 if batch >= 3 else 1
        assert int(picked(tf.zeros([batch], tf.int32))) == expected, batch
    assert sharding.split_sizes(10, 3) == [4, 3, 3] and sharding.split_sizes(2, 3) is None
    assert sharding.split_sizes(tf.constant(10), 3).numpy().tolist() == [4, 3, 3]


@pytest.mark.parametrize(
    "return_sequences, masked, training",
    [(True, True, True), (True, True, False), (False, False, True), (False, False, False)],
    ids=["sequences_masked", "sequences_masked_inference", "many_to_one", "many_to_one_inference"],
)
def test_batch_unknown_when_traced_is_sharded_at_run_time(monkeypatch, return_sequences, masked, training):
    """``keras.Input((T, F))``, ``fit`` and ``predict`` trace with an unknown batch size: the
    kernel then splits the batch at run time, with the outputs and gradients of one loop."""
    monkeypatch.setattr(sharding, "SHARD_MIN_BATCH", 2)  # so that B = 3 is split in two
    monkeypatch.setattr(sharding, "_cpu_cores", lambda: 2)
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: [])
    layer = LSTM1997(U, cells_per_block=2)
    x, init, mask = _data(6, masked=masked)
    layer(x)
    cell = layer.cell
    weights = [cell.kernel, cell.recurrent_kernel, cell.bias]
    splits = []
    original = lstm1997_tf._splitter
    monkeypatch.setattr(lstm1997_tf, "_splitter", lambda v, n: splits.append(n) or original(v, n))

    def run(xs, h0, s0, shards):
        with tf.GradientTape() as tape:
            tape.watch([xs, h0, s0])
            last, outs, states = _kernel(
                cell,
                xs,
                [h0, s0],
                mask=mask,
                return_sequences=return_sequences,
                training=training,
                shards=shards,
            )
            out = outs if return_sequences else last
            weight = tf.sin(tf.reshape(tf.range(tf.size(out), dtype="float32"), tf.shape(out)) * 0.7)
            loss = tf.reduce_sum(out * weight) + tf.reduce_sum(states[1] * states[1])
        return [out, *states, *tape.gradient(loss, [xs, h0, s0, *weights])]

    spec = tf.TensorSpec([None, U], tf.float32)
    dynamic = tf.function(
        lambda xs, h0, s0: run(xs, h0, s0, "auto"),
        input_signature=[tf.TensorSpec([None, T, F], tf.float32), spec, spec],
        autograph=False,  # as Keras traces its steps: the kernels are not autograph code
    )
    got = dynamic(tf.constant(x), *map(tf.constant, init))
    assert splits == [1, 2], splits  # both counts traced; the batch of 3 takes two shards
    expected = run(tf.constant(x), *map(tf.constant, init), 1)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=2e-6, rtol=1e-5)


def test_unrolled_and_generic_layers_take_the_generic_path():
    fast, slow = _pair({})
    unrolled = LSTM1997(U, unroll=True)
    unrolled.build((B, T, F))
    unrolled.set_weights(fast.get_weights())
    assert not unrolled.uses_fast_path()
    x, _, _ = _data(3)
    np.testing.assert_allclose(unrolled(x).numpy(), fast(x).numpy(), atol=2e-6)


def test_stateful_across_batches_matches_generic():
    fast, slow = _pair({}, stateful=True, return_sequences=True)
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.normal(size=(B, T, F)).astype("float32")
        np.testing.assert_allclose(fast(x).numpy(), slow(x).numpy(), atol=5e-6)
    for a, b in zip(fast.states, slow.states):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=5e-6)
    fast.reset_state()
    assert not np.any(fast.states[0].numpy())


def test_fast_layer_standard_checks_and_keras_round_trip(tmp_path):
    model = check_recurrent_layer(
        lambda: LSTM1997(6, cells_per_block=2, return_sequences=True),
        input_shape=(4, 10, 3),
        expected_output_shape=(4, 10, 6),
        expected_weight_count=3 * (2 * 3 + 6) + 6 * (2 * 3 + 6) + (2 * 3 + 6),
        tmp_path=tmp_path,
    )
    layer = [candidate for candidate in model.layers if isinstance(candidate, LSTM1997)][0]
    assert layer.get_config()["fast_path"] is True
    assert LSTM1997.from_config({**layer.get_config(), "fast_path": False}).fast_path is False


def test_fast_path_trains_a_model_like_the_generic_one():
    """A few SGD steps in model.fit: same weights whether the loop is fast or generic."""
    x, _, _ = _data(11)
    y = np.sum(x[:, :, :1], axis=1)
    finals = []
    for fast_path in (True, False):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((T, F)), LSTM1997(U, fast_path=fast_path), keras.layers.Dense(1)]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, epochs=3, batch_size=B, verbose=0, shuffle=False)
        finals.append(model.get_weights())
    for a, b in zip(*finals):
        np.testing.assert_allclose(a, b, atol=1e-5)


# -- the map onto keras.layers.LSTM --------------------------------------------------
@pytest.mark.parametrize(
    "config",
    [
        {},
        pytest.param(dict(cells_per_block=2, input_gate_bias=[-1.0, -2.0]), marks=pytest.mark.slow),
        pytest.param(dict(forget_gate=True, cells_per_block=2), marks=pytest.mark.slow),
        pytest.param(dict(squash="tanh"), marks=pytest.mark.slow),
        dict(squash="tanh", forget_gate=True, cells_per_block=4),
    ],
)
def test_to_keras_lstm_parity(config):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(B, 30, F)).astype("float32") * 2.0
    layer = LSTM1997(
        U, return_sequences=True, kernel_initializer=keras.initializers.RandomUniform(-1.0, 1.0), **config
    )
    y = layer(x).numpy()
    lstm = layer.to_keras_lstm()
    assert type(lstm) is keras.layers.LSTM
    np.testing.assert_allclose(lstm(x).numpy(), y, atol=1e-5)
    mask = tf.constant(rng.random((B, 30)) > 0.3)
    np.testing.assert_allclose(lstm(x, mask=mask).numpy(), layer(x, mask=mask).numpy(), atol=1e-5)
    # the paper's state is halved in the keras layer (c = s / 2)
    half = 0.5 if layer.cell.squash == "paper" else 1.0
    stateful = LSTM1997(U, return_state=True, go_backwards=True, **config)
    stateful.build((B, 30, F))
    stateful.set_weights(layer.get_weights())
    h, hT, sT = stateful(x)
    k, kh, kc = stateful.to_keras_lstm()(x)
    np.testing.assert_allclose(k.numpy(), h.numpy(), atol=1e-5)
    np.testing.assert_allclose(kc.numpy(), half * sT.numpy(), atol=1e-5)


def test_to_keras_lstm_pins_the_forget_gate_and_halves_the_cell_input():
    layer = LSTM1997(U)
    layer.build((None, T, F))
    kernel, recurrent, bias = keras_lstm_weights(layer.cell)
    assert kernel.shape == (F, 4 * U) and recurrent.shape == (U, 4 * U) and bias.shape == (4 * U,)
    assert not np.any(kernel[:, U : 2 * U]) and not np.any(recurrent[:, U : 2 * U])
    assert float(tf.sigmoid(tf.constant(bias[U : 2 * U]))[0]) == 1.0
    np.testing.assert_allclose(kernel[:, 2 * U : 3 * U], 0.5 * layer.cell.kernel.numpy()[:, U : 2 * U])


def test_to_keras_lstm_errors():
    with pytest.raises(ValueError, match="not built"):
        LSTM1997(U).to_keras_lstm()
    with pytest.raises(ValueError, match="expects an LSTM1997 layer, received LSTM"):
        to_keras_lstm(keras.layers.LSTM(3))
    with pytest.raises(ValueError, match="must be built"):
        keras_lstm_weights(LSTM1997Cell(3))


# -- benchmark ------------------------------------------------------------------------
def test_benchmark_quick_writes_ratios(tmp_path):
    from lstm_apps.cli import load_recipe

    bench = load_recipe("cells", folder="benchmarks")
    out = tmp_path / "cells.json"
    argv = ["--quick", "--layers", "lstm1997", "--repeats", "1", "--phases", "infer", "predict"]
    bench.main([*argv, "--out", str(out)])
    report = json.loads(out.read_text())
    (shape,) = report["results"]
    layers = shape["layers"]
    assert set(layers) == {"lstm1997", "lstm", "no_rnn"}  # lstm the reference, no_rnn Keras's own loop
    assert shape["predict_batches"] >= 4
    assert layers["lstm"]["infer_ratio_to_lstm"] == 1.0 == layers["lstm"]["predict_ratio_to_lstm"]
    for kind in ("lstm1997", "lstm"):
        row = layers[kind]
        assert row["infer_seq_per_s"] > 0 and row["infer_cpu_seconds"] >= 0 and row["predict_seconds"] > 0
        assert np.isfinite(row["infer_ratio_to_lstm"]) and np.isfinite(row["predict_ratio_to_lstm"])
        assert "train_seconds" not in row and "fit_seconds" not in row  # only the asked phases
    assert "infer_seconds" not in layers["no_rnn"]  # the loop's own cost: fit and predict only
    assert "lstm1997 infer" in report["table"] and "lstm1997 predict" in report["table"]
    summary = report["summary"]["lstm1997"]["predict"]
    assert summary["min"] == summary["max"] == layers["lstm1997"]["predict_ratio_to_lstm"]
    goal = report["goals"]["lstm1997_predict"]
    assert goal["at_least"] == 1.5 and goal["met"] == (goal["lowest"] >= 1.5) and goal["shapes"] == 1
    with pytest.raises(ValueError, match="unknown layer kinds"):
        bench.main(["--quick", "--layers", "nonsense"])
