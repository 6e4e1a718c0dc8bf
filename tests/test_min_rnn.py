"""minGRU and minLSTM against an independent NumPy reference, the parallel scan against the step loop,
and their Keras integration (masks, states, saving, export)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_test_utils import check_recurrent_layer
from reference_min_rnn import forward as reference_forward

from lstm_apps.export import to_tflite
from lstm_apps.layers import recurrent, recurrent_kinds
from lstm_apps.layers.min_rnn import (
    MinGRU,
    MinGRUCell,
    MinLSTM,
    MinLSTMCell,
    linear_scan,
)

LAYERS = {"min_gru": (MinGRU, MinGRUCell, 2), "min_lstm": (MinLSTM, MinLSTMCell, 3)}
KINDS = list(LAYERS)


def _layer(kind, units=5, input_dim=3, seed=0, dtype="float64", scale=1.0, **kwargs):
    """A built layer with random (not initial) weights: pre-activations of both signs, so both
    branches of g and unsaturated and saturated gates all occur."""
    layer = LAYERS[kind][0](units, return_sequences=True, dtype=dtype, **kwargs)
    layer.build((None, None, input_dim))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=scale, size=w.shape) for w in layer.get_weights()])
    return layer


def _twin(layer, **overrides):
    """The same layer (weights, options) with some options changed."""
    config = {**layer.get_config(), **overrides}
    config.pop("name", None)
    twin = type(layer).from_config(config)
    twin.build((None, None, layer.cell.kernel.shape[0]))
    twin.set_weights(layer.get_weights())
    return twin


def _ref(layer, x, **kwargs):
    kernel, bias = (np.asarray(w) for w in layer.get_weights())
    kind = "min_gru" if isinstance(layer, MinGRU) else "min_lstm"
    return reference_forward(kind, x, kernel, bias, layer.units, **kwargs)


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_forward_matches_numpy_reference(kind, parallel):
    layer = _layer(kind, parallel=parallel, scale=1.5)
    x = np.random.default_rng(1).normal(size=(3, 40, 3))
    expected, _, _ = _ref(layer, x)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_gate_step_matches_reference(kind):
    layer = _layer(kind, scale=1.5, seed=2)
    x = np.random.default_rng(3).normal(size=(2, 12, 3))
    expected, _, gates = _ref(layer, x)
    states = layer.cell.get_initial_state(batch_size=2)
    names = {"min_gru": {"update_gate", "candidate"}, "min_lstm": {"forget_gate", "input_gate", "candidate"}}
    for t in range(x.shape[1]):
        out, states, got = layer.cell.gate_step(x[:, t], states)
        assert set(got) == names[kind]
        np.testing.assert_allclose(np.asarray(out), expected[:, t], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(states[0]), expected[:, t], rtol=1e-10, atol=1e-12)
        for name, value in got.items():
            np.testing.assert_allclose(np.asarray(value), gates[name][:, t], rtol=1e-10, atol=1e-12)
    if kind == "min_lstm":  # the normalised gates sum to one
        np.testing.assert_allclose(gates["forget_gate"] + gates["input_gate"], 1.0)


def test_candidate_activation_and_default_state():
    layer = _layer("min_gru", units=2, input_dim=1)
    kernel = np.zeros((1, 4))
    kernel[0, 2:] = [1.0, 1.0]  # candidate pre-activation = x
    layer.set_weights([kernel, np.zeros(4)])
    x = np.array([[[2.0]], [[-2.0]]])  # one step, g(2) = 2.5, g(-2) = sigmoid(-2)
    # h_0 = 0 exactly (not g(0) = 0.5): with z = 0.5 the first output is 0.5 * g(x)
    np.testing.assert_allclose(np.asarray(layer(x))[:, 0, 0], [1.25, 0.5 / (1 + np.exp(2.0))])
    state = layer.cell.get_initial_state(batch_size=3)[0]
    np.testing.assert_array_equal(np.asarray(state), np.zeros((3, 2)))


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 7, 8, 33, 64])
@pytest.mark.parametrize("static", [True, False])
def test_linear_scan_equals_the_loop_at_every_length(steps, static):
    """The work-efficient scan (static lengths, odd ones padded at every level) and the doubling scan
    (unknown lengths) against a plain loop, with an initial state of either sign."""
    rng = np.random.default_rng(steps)
    a = rng.uniform(0.0, 1.0, size=(2, steps, 3))
    a[0, steps // 2] = 1.0  # an identity step (a masked one)
    b = rng.uniform(0.0, 2.0, size=(2, steps, 3))
    b[0, steps // 2] = 0.0
    h0 = rng.normal(size=(2, 3)) * 5

    def loop(h):
        states = []
        for t in range(steps):
            h = a[:, t] * h + b[:, t]
            states.append(h)
        return np.stack(states, 1)

    expected = loop(h0)
    if static:
        got = linear_scan(a, b, h0)
    else:
        spec = tf.TensorSpec((None, None, 3), tf.float64)
        got = tf.function(linear_scan, input_signature=[spec, spec, tf.TensorSpec((None, 3), tf.float64)])(
            a, b, h0
        )
    assert tuple(got.shape) == (2, steps, 3)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(linear_scan(a, b)), loop(np.zeros((2, 3))), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_equals_sequential_at_1000_steps(kind):
    layer = _layer(kind, units=16, input_dim=4, dtype="float32", seed=4, scale=0.8, return_state=True)
    sequential = _twin(layer, parallel=False)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 1000, 4)).astype("float32")
    h0 = rng.normal(size=(4, 16)).astype("float32")
    out_p, h_p = tf.function(layer)(x, initial_state=[h0])
    out_s, h_s = tf.function(sequential)(x, initial_state=[h0])
    assert np.abs(np.asarray(out_s)).max() > 0.5  # not a trivially small signal
    np.testing.assert_allclose(np.asarray(out_p), np.asarray(out_s), rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(h_p), np.asarray(h_s), rtol=0, atol=1e-5)
    # and both against the float64 reference
    expected, _, _ = _ref(layer, x, h0=h0)
    np.testing.assert_allclose(np.asarray(out_p), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_parallel_scan_with_unknown_length_in_a_graph(kind):
    """Unknown batch and length (a traced function, a model fed sequences of several lengths)."""
    layer = _layer(kind, units=4, dtype="float32", seed=15, return_state=True)
    spec = tf.TensorSpec((None, None, 3), tf.float32)
    traced = tf.function(
        lambda x, mask: layer(x, mask=mask), input_signature=[spec, tf.TensorSpec((None, None), tf.bool)]
    )
    rng = np.random.default_rng(16)
    for steps in (1, 2, 7, 33):
        x = rng.normal(size=(2, steps, 3)).astype("float32")
        mask = np.ones((2, steps), bool)
        mask[1, steps // 2 :] = False
        out, h = traced(x, mask)
        expected, h_ref, _ = _ref(layer, x, mask=mask)
        np.testing.assert_allclose(np.asarray(out), expected, atol=1e-5)
        np.testing.assert_allclose(np.asarray(h), h_ref, atol=1e-5)


@pytest.mark.parametrize("options", [{}, {"go_backwards": True}, {"zero_output_for_mask": True}])
@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_masks_and_initial_state_follow_keras_rules(kind, parallel, options):
    layer = _layer(kind, seed=6, parallel=parallel, return_state=True, **options)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 9, 3))
    h0 = rng.normal(size=(3, 5))
    mask = np.ones((3, 9), bool)
    mask[0, :3] = False  # leading padding: the output is zeros there, the state stays h0
    mask[1, 6:] = False  # trailing padding
    mask[2, ::2] = False  # holes
    out, h_last = layer(x, initial_state=[h0], mask=mask)
    expected, h_ref, _ = _ref(layer, x, h0=h0, mask=mask, **options)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(h_last), h_ref, rtol=1e-10, atol=1e-12)
    if not options:
        np.testing.assert_array_equal(np.asarray(out)[0, :3], 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_masked_sequences_equal_their_unpadded_part_through_embedding(kind):
    cls = LAYERS[kind][0]
    tokens = np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]])
    model = keras.Sequential(
        [keras.Input((5,), dtype="int32"), keras.layers.Embedding(6, 3, mask_zero=True), cls(4)]
    )
    short = keras.Sequential([keras.Input((3,), dtype="int32"), model.layers[0], model.layers[1]])
    np.testing.assert_allclose(
        model.predict(tokens, verbose=0)[0], short.predict(tokens[:1, :3], verbose=0)[0], atol=1e-6
    )


@pytest.mark.parametrize("kind", KINDS)
def test_stateful_parallel_across_batches_equals_one_long_sequence(kind):
    x = np.random.default_rng(8).normal(size=(2, 12, 3)).astype("float32")
    stateful = LAYERS[kind][0](4, stateful=True, return_sequences=True)
    stateful.build((2, 6, 3))
    whole = _twin(stateful, stateful=False)
    first, second = np.asarray(stateful(x[:, :6])), np.asarray(stateful(x[:, 6:]))
    np.testing.assert_allclose(np.concatenate([first, second], 1), np.asarray(whole(x)), atol=1e-6)


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_layer_contract(kind, parallel, tmp_path):
    cls, _, n_blocks = LAYERS[kind]
    check_recurrent_layer(
        lambda: cls(4, parallel=parallel, return_sequences=parallel),
        input_shape=(3, 7, 5),
        expected_output_shape=(3, 7, 4) if parallel else (3, 4),
        expected_weight_count=n_blocks * 4 * (5 + 1),
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_cell_in_plain_rnn(kind, tmp_path):
    _, cell_cls, n_blocks = LAYERS[kind]
    check_recurrent_layer(
        lambda: cell_cls(4),
        input_shape=(2, 6, 3),
        expected_output_shape=(2, 4),
        expected_weight_count=n_blocks * 4 * 4,
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_weight_layout(kind):
    cls, _, n_blocks = LAYERS[kind]
    layer = cls(6)
    layer.build((None, 5, 3))
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "bias"]
    assert layer.cell.kernel.shape == (3, n_blocks * 6) and layer.cell.bias.shape == (n_blocks * 6,)
    assert layer.cell.blocks == (
        ("update", "candidate") if kind == "min_gru" else ("forget", "input", "candidate")
    )


@pytest.mark.parametrize("kind", KINDS)
def test_functional_return_state_round_trip(kind, tmp_path):
    cls = LAYERS[kind][0]
    x = np.random.default_rng(9).normal(size=(4, 10, 3)).astype("float32")
    inp = keras.Input((None, 3))
    out, h = cls(5, return_state=True)(inp)
    model = keras.Model(inp, [out, h])
    o, h_ = model.predict(x, verbose=0)
    np.testing.assert_allclose(o, h_)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(again.layers[1], cls) and again.layers[1].parallel
    for a, b in zip(again.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_finite_and_equal_between_paths(kind):
    """Saturated gates over 1000 steps: the scan's gradients stay finite and match the loop's."""
    layer = _layer(kind, units=6, input_dim=3, dtype="float32", seed=10, scale=4.0)
    sequential = _twin(layer, parallel=False)
    x = tf.constant(np.random.default_rng(11).normal(size=(2, 1000, 3)).astype("float32"))
    mask = np.ones((2, 1000), bool)
    mask[1, 700:] = False
    grads = []
    for lay in (layer, sequential):

        @tf.function
        def gradients(lay=lay):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(lay(x, mask=mask)))
            return tape.gradient(loss, lay.trainable_variables)

        grads.append([np.asarray(g) for g in gradients()])
    for gp, gs in zip(*grads):
        assert np.all(np.isfinite(gp)) and np.abs(gp).max() > 0
        np.testing.assert_allclose(gp, gs, rtol=2e-3, atol=2e-3 * np.abs(gs).max())


def test_mixed_precision_scans_in_float32():
    layer = MinLSTM(4, return_sequences=True, dtype="mixed_float16")
    x = np.random.default_rng(12).normal(size=(2, 300, 3)).astype("float32")
    out = layer(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    reference = _twin(layer, dtype="float32")
    np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(reference(x)), atol=2e-2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"units": 0}, "units=0"),
        ({"units": -3}, "units=-3"),
        ({"units": 2.5}, "units=2.5"),
        ({"units": True}, "units=True"),
        ({"units": 4, "parallel": "yes"}, "parallel='yes'"),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_bad_arguments_raise_value_error(kind, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LAYERS[kind][0](**kwargs)
    if "parallel" not in kwargs:
        with pytest.raises(ValueError, match=match):
            LAYERS[kind][1](**kwargs)


@pytest.mark.parametrize("kind", KINDS)
def test_two_dimensional_input_raises(kind):
    with pytest.raises(ValueError, match=r"3-D inputs.*\(2, 5\)"):
        LAYERS[kind][0](4)(np.zeros((2, 5), "float32"))


def test_factory_builders():
    assert {"min_gru", "min_lstm", "slstm"} <= set(recurrent_kinds())
    gru = recurrent("min_gru", 3, return_sequences=True, parallel=False)
    assert isinstance(gru, MinGRU) and gru.return_sequences and not gru.parallel
    lstm = recurrent("min_lstm", 3)
    assert isinstance(lstm, MinLSTM) and lstm.parallel and lstm.units == 3


@pytest.mark.parametrize("kind", KINDS)
def test_streaming_tflite_parity_over_1000_steps(kind, tmp_path):
    """A parallel-mode layer streams through its cell: one step per call, float32 parity <= 1e-5."""
    cls = LAYERS[kind][0]
    keras.utils.set_random_seed(13)
    inp = keras.Input((None, 3))
    h = cls(8, return_sequences=True)(inp)
    model = keras.Model(inp, keras.layers.Dense(2)(h))
    layer = model.layers[1]
    rng = np.random.default_rng(14)
    layer.set_weights(
        [w + rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()]
    )
    x = rng.normal(size=(2, 1000, 3)).astype("float32")
    result = to_tflite(model, tmp_path / f"{kind}.tflite", mode="streaming", parity_inputs=x)
    assert result.parity_shape == (2, 1000, 3)
    assert result.state_names == ["state_" + layer.name + "_0"]
    assert result.parity_max_abs <= 1e-5, result.parity_max_abs


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_parallel_matches_sequential(kind, tmp_path):
    cls = LAYERS[kind][0]
    x = np.random.default_rng(17).normal(size=(2, 9, 3)).astype("float32")
    model = keras.Sequential([keras.Input((9, 3)), keras.layers.Bidirectional(cls(4, return_sequences=True))])
    bi = model.layers[0]
    assert bi.backward_layer.go_backwards and bi.backward_layer.parallel
    sequential = keras.layers.Bidirectional(cls(4, return_sequences=True, parallel=False))
    sequential.build((None, 9, 3))
    sequential.set_weights(bi.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), np.asarray(sequential(x)), atol=1e-6)
    model.save(tmp_path / "bi.keras")
    np.testing.assert_allclose(
        keras.models.load_model(tmp_path / "bi.keras").predict(x, verbose=0),
        model.predict(x, verbose=0),
        atol=1e-6,
    )
