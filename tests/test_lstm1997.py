"""The 1997 LSTM against an independent NumPy reference, and its Keras integration."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_test_utils import check_recurrent_layer
from reference_lstm1997 import Reference

from lstm_apps.layers import (
    LSTM1997,
    ForgettingCurveCell,
    LSTM1997Cell,
    MethylationCell,
    factory,
    gate_activations,
    memory_half_life,
    recurrent,
    recurrent_kinds,
    register_recurrent_kind,
)

OPTIONS = list(
    itertools.product(
        [1, 2],  # cells_per_block
        [False, True],  # forget_gate
        ["paper", "tanh"],  # squash
        [True, False],  # truncate_gradients
    )
)


def _layer(units=4, input_dim=3, seed=0, dtype="float64", **kwargs):
    """A built layer with random (not initial) weights, so biases etc. all matter."""
    layer = LSTM1997(units, return_sequences=True, dtype=dtype, **kwargs)
    layer.build((None, None, input_dim))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.6, size=w.shape) for w in layer.get_weights()])
    return layer


def _ref(layer):
    k, r, b = (np.asarray(w) for w in layer.get_weights())
    return Reference(k, r, b, layer.units, layer.cells_per_block, layer.forget_gate, layer.squash)


@pytest.mark.parametrize("cells_per_block,forget_gate,squash,truncate", OPTIONS)
def test_forward_and_telemetry_match_numpy_reference(cells_per_block, forget_gate, squash, truncate):
    layer = _layer(
        cells_per_block=cells_per_block, forget_gate=forget_gate, squash=squash, truncate_gradients=truncate
    )
    x = np.random.default_rng(1).normal(size=(3, 9, 3))
    ref_h, ref_gates = _ref(layer).forward(x)
    np.testing.assert_allclose(np.asarray(layer(x)), ref_h, rtol=1e-10, atol=1e-12)
    gates = layer.gate_activations(x)
    for name in ("input_gate", "output_gate", "cell_state"):
        np.testing.assert_allclose(gates[name], ref_gates[name], atol=1e-12)
    if forget_gate:
        np.testing.assert_allclose(gates["forget_gate"], ref_gates["forget_gate"], atol=1e-12)
    else:
        assert "forget_gate" not in gates
    np.testing.assert_allclose(gates["output"], ref_h, atol=1e-12)


def test_float32_forward_matches_reference():
    layer = _layer(units=6, cells_per_block=3, dtype="float32")
    x = np.random.default_rng(2).normal(size=(2, 20, 3)).astype("float32")
    ref_h, _ = _ref(layer).forward(x)
    np.testing.assert_allclose(np.asarray(layer(x)), ref_h, atol=2e-5)


def test_ranges_of_paper_squashes():
    layer = _layer(units=4, seed=3)
    layer.set_weights([w * 10 for w in layer.get_weights()])  # saturate
    x = np.random.default_rng(3).normal(size=(4, 30, 3)) * 5
    gates = layer.gate_activations(x)
    h = gates["output"]
    assert np.all(np.abs(h) <= 1.0)
    # s grows without bound only through g in [-2, 2]: |s_t - s_{t-1}| <= 2
    ds = np.diff(gates["cell_state"], axis=1)
    assert np.all(np.abs(ds) <= 2.0 + 1e-12)
    assert np.abs(ds).max() > 1.0  # and really uses the [-2, 2] range


def _tf_gradients(layer, x, dh, h0, s0):
    x_t, h0_t, s0_t = (tf.Variable(v) for v in (x, h0, s0))
    with tf.GradientTape() as tape:
        out = layer(x_t, initial_state=[h0_t, s0_t])
        loss = tf.reduce_sum(out * dh)
    cell = layer.cell
    grads = tape.gradient(
        loss,
        [x_t, cell.kernel, cell.recurrent_kernel, cell.bias, h0_t, s0_t],
        unconnected_gradients=tf.UnconnectedGradients.ZERO,
    )
    return dict(zip(["x", "kernel", "recurrent_kernel", "bias", "h0", "s0"], [np.asarray(g) for g in grads]))


@pytest.mark.parametrize("cells_per_block,forget_gate,squash,truncate", OPTIONS)
def test_gradients_match_reference_bptt(cells_per_block, forget_gate, squash, truncate):
    layer = _layer(
        cells_per_block=cells_per_block,
        forget_gate=forget_gate,
        squash=squash,
        truncate_gradients=truncate,
        seed=5,
    )
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 7, 3))
    h0, s0 = rng.normal(size=(2, 4)) * 0.5, rng.normal(size=(2, 4))
    dh = rng.normal(size=(2, 7, 4))
    ref = _ref(layer)
    ref.forward(x, h0, s0)
    expected = ref.backward(dh, truncate=truncate)
    got = _tf_gradients(layer, x, dh, h0, s0)
    for key in got:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-9, atol=1e-11, err_msg=key)


def test_reference_full_bptt_agrees_with_finite_differences():
    """The reference backward itself is checked numerically (full BPTT)."""
    layer = _layer(cells_per_block=2, forget_gate=True, seed=7)
    ref = _ref(layer)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(1, 6, 3))
    dh = rng.normal(size=(1, 6, 4))
    ref.forward(x)
    grad = ref.backward(dh, truncate=False)["x"]
    eps = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = (np.sum(ref.forward(xp)[0] * dh) - np.sum(ref.forward(xm)[0] * dh)) / (2 * eps)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


def test_truncation_cuts_h_path_but_keeps_carousel():
    layer = _layer(units=4, seed=9, truncate_gradients=True)
    rng = np.random.default_rng(10)
    x = rng.normal(size=(2, 12, 3))
    h0, s0 = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    dh = np.zeros((2, 12, 4))
    dh[:, -1] = 1.0  # loss on the final output only
    got = _tf_gradients(layer, x, dh, h0, s0)
    # h_{t-1} reaches the loss only through the nets: with scissors, nothing flows back
    np.testing.assert_array_equal(got["h0"], 0.0)
    # ...but the constant error carousel carries error to the start and the first input
    assert np.abs(got["s0"]).min() > 0
    assert np.abs(got["x"][:, 0]).max() > 1e-4
    full = _tf_gradients(_layer(units=4, seed=9, truncate_gradients=False), x, dh, h0, s0)
    assert np.abs(full["h0"]).max() > 1e-6
    assert not np.allclose(full["x"], got["x"])


def test_weight_layout_and_initial_biases():
    layer = LSTM1997(8, cells_per_block=2, input_gate_bias=[-1, -2, -3, -4], output_gate_bias=-2.5)
    layer.build((None, 5, 3))
    kernel, rec, bias = layer.get_weights()
    assert kernel.shape == (3, 4 + 8 + 4) and rec.shape == (8, 16) and bias.shape == (16,)
    np.testing.assert_array_equal(bias[:4], [-1, -2, -3, -4])
    np.testing.assert_array_equal(bias[4:12], 0.0)
    np.testing.assert_array_equal(bias[12:], -2.5)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    f = LSTM1997(3, forget_gate=True, forget_bias=2.0)
    f.build((None, 5, 2))
    assert f.cell.gate_names == ("input", "forget", "cell", "output")
    np.testing.assert_array_equal(f.get_weights()[2], [-1, -1, -1, 2, 2, 2, 0, 0, 0, -2, -2, -2])
    # defaults start negative so the carousel must earn its use
    d = LSTM1997Cell(4)
    assert all(b < 0 for b in d.input_gate_bias)


def test_shared_gates_repeat_within_block():
    layer = _layer(units=6, cells_per_block=3, seed=11)
    g = layer.gate_activations(np.random.default_rng(0).normal(size=(1, 5, 3)))
    ig = g["input_gate"][0]
    np.testing.assert_array_equal(ig[:, 0], ig[:, 2])
    assert not np.allclose(ig[:, 0], ig[:, 3])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cells_per_block": 1},
        {"cells_per_block": 2, "forget_gate": True, "squash": "tanh", "input_gate_bias": [-1.0, -2.0]},
    ],
)
def test_layer_contract(kwargs, tmp_path):
    units = 4
    n_blocks = units // kwargs["cells_per_block"]
    n_gates = 3 if kwargs.get("forget_gate") else 2
    width = n_gates * n_blocks + units
    check_recurrent_layer(
        lambda: LSTM1997(units, **kwargs),
        input_shape=(3, 7, 5),
        expected_output_shape=(3, units),
        expected_weight_count=(5 + units + 1) * width,
        tmp_path=tmp_path,
    )


def test_cell_in_plain_rnn_and_save_load(tmp_path):
    check_recurrent_layer(
        lambda: LSTM1997Cell(4, cells_per_block=2),
        input_shape=(2, 6, 3),
        expected_output_shape=(2, 4),
        tmp_path=tmp_path,
    )


def test_sequential_and_functional_and_return_state(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 10, 3)).astype("float32")
    seq = keras.Sequential(
        [keras.Input((10, 3)), LSTM1997(5, return_sequences=True), LSTM1997(3), keras.layers.Dense(1)]
    )
    assert seq.predict(x, verbose=0).shape == (4, 1)
    inp = keras.Input((None, 3))
    out, h, s = LSTM1997(5, return_state=True)(inp)
    model = keras.Model(inp, [out, h, s])
    o, h_, s_ = model.predict(x, verbose=0)
    np.testing.assert_allclose(o, h_)
    assert s_.shape == (4, 5)
    model.save(tmp_path / "f.keras")
    again = keras.models.load_model(tmp_path / "f.keras")
    for a, b in zip(again.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_masking_skips_padded_steps():
    layer = _layer(units=4, seed=12, dtype="float32")
    rng = np.random.default_rng(13)
    x = rng.normal(size=(2, 8, 3)).astype("float32")
    mask = np.ones((2, 8), bool)
    mask[1, 5:] = False
    last = keras.layers.RNN(layer.cell)  # same cell, last output only
    masked = np.asarray(last(x, mask=mask))
    np.testing.assert_allclose(masked[0], np.asarray(last(x[:1]))[0], atol=1e-6)
    np.testing.assert_allclose(masked[1], np.asarray(last(x[1:2, :5]))[0], atol=1e-6)
    # through an Embedding(mask_zero=True) in a model
    tokens = np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]])
    model = keras.Sequential(
        [keras.Input((5,), dtype="int32"), keras.layers.Embedding(6, 3, mask_zero=True), LSTM1997(4)]
    )
    short = keras.Sequential([keras.Input((3,), dtype="int32"), model.layers[0], model.layers[1]])
    np.testing.assert_allclose(
        model.predict(tokens, verbose=0)[0], short.predict(tokens[:1, :3], verbose=0)[0], atol=1e-6
    )


def test_stateful_across_batches_equals_one_long_sequence():
    x = np.random.default_rng(14).normal(size=(2, 12, 3)).astype("float32")
    stateful = LSTM1997(4, stateful=True, return_sequences=True, dtype="float32")
    stateful.build((2, 6, 3))
    plain = LSTM1997(4, return_sequences=True, dtype="float32")
    plain.build((2, 12, 3))
    plain.set_weights(stateful.get_weights())
    first, second = np.asarray(stateful(x[:, :6])), np.asarray(stateful(x[:, 6:]))
    whole = np.asarray(plain(x))
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(np.asarray(stateful(x[:, :6])), whole[:, :6], atol=1e-6)


def test_go_backwards_and_bidirectional(tmp_path):
    x = np.random.default_rng(15).normal(size=(2, 7, 3)).astype("float32")
    fwd = _layer(units=4, seed=16, dtype="float32")
    back = LSTM1997(4, go_backwards=True, return_sequences=True)
    back.build((None, 7, 3))
    back.set_weights(fwd.get_weights())
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(fwd(x[:, ::-1])), atol=1e-6)
    bi = keras.layers.Bidirectional(LSTM1997(4, cells_per_block=2))
    model = keras.Sequential([keras.Input((7, 3)), bi, keras.layers.Dense(1)])
    assert model.predict(x, verbose=0).shape == (2, 1)
    assert bi.backward_layer.go_backwards and isinstance(bi.backward_layer, LSTM1997)
    model.save(tmp_path / "bi.keras")
    np.testing.assert_allclose(
        keras.models.load_model(tmp_path / "bi.keras").predict(x, verbose=0),
        model.predict(x, verbose=0),
        atol=1e-6,
    )


def test_unroll_matches_loop():
    x = np.random.default_rng(17).normal(size=(2, 5, 3)).astype("float32")
    a = _layer(units=4, seed=18, dtype="float32")
    b = LSTM1997(4, unroll=True, return_sequences=True)
    b.build((None, 5, 3))
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(np.asarray(b(x)), np.asarray(a(x)), atol=1e-6)


def test_gate_activations_from_model():
    model = keras.Sequential(
        [keras.Input((6, 2)), keras.layers.Dense(3), LSTM1997(4, name="mem"), keras.layers.Dense(1)]
    )
    x = np.random.default_rng(19).normal(size=(2, 6, 2)).astype("float32")
    g = gate_activations(model, x)
    inner = model.layers[0](x)
    np.testing.assert_allclose(
        g["output"], model.get_layer("mem").gate_activations(np.asarray(inner))["output"], atol=1e-6
    )
    assert g["input_gate"].shape == (2, 6, 4)
    # behind a Masking layer the padded steps keep the state (telemetry sees the mask)
    masked = keras.Sequential(
        [keras.Input((6, 2)), keras.layers.Masking(0.0), LSTM1997(3), keras.layers.Dense(1)]
    )
    xm = x.copy()
    xm[1, 4:] = 0.0
    gm = gate_activations(masked, xm)
    np.testing.assert_allclose(gm["cell_state"][1, 4], gm["cell_state"][1, 3], atol=1e-7)
    np.testing.assert_allclose(
        gm["output"][:, -1], masked.layers[1](xm, mask=np.any(xm != 0, axis=-1)), atol=1e-6
    )
    with pytest.raises(ValueError, match="no LSTM1997"):
        gate_activations(keras.Sequential([keras.Input((6, 2)), keras.layers.LSTM(2)]), x)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"units": 0}, "units=0"),
        ({"units": -3}, "units=-3"),
        ({"units": 6, "cells_per_block": 4}, "cells_per_block=4"),
        ({"units": 4, "cells_per_block": 2, "input_gate_bias": [-1, -2, -3]}, r"length 3"),
        ({"units": 4, "output_gate_bias": [1, 2]}, r"length 2"),
        ({"units": 4, "squash": "relu"}, "'relu'"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSTM1997(**kwargs)


def test_two_dimensional_input_raises():
    with pytest.raises(ValueError, match=r"3-D inputs.*\(2, 5\)"):
        LSTM1997(4)(np.zeros((2, 5), "float32"))


def test_factory_lists_every_kind_and_routes_gray_box_options(monkeypatch):
    assert recurrent_kinds() == (
        "lstm",
        "gru",
        "simple_rnn",
        "lstm1997",
        "adaptive_forget",
        "forgetting_curve",
        "methylation",
        "min_gru",
        "min_lstm",
        "slstm",
    )
    layer = recurrent(
        "adaptive_forget", 3, a_init=2.0, recurrent_forget=False, return_sequences=True, name="af"
    )
    assert isinstance(layer, keras.layers.RNN) and layer.name == "af" and layer.return_sequences
    assert layer.cell.a_init == 2.0 and layer.cell.recurrent_forget is False
    for kind, cell_class in (("forgetting_curve", ForgettingCurveCell), ("methylation", MethylationCell)):
        rnn = recurrent(kind, 2, go_backwards=True, name=kind)  # keyword arguments go to the RNN
        assert type(rnn.cell) is cell_class and rnn.cell.units == 2 and rnn.go_backwards
    monkeypatch.setattr(factory, "_KINDS", dict(factory._KINDS))  # a user's kind, undone after the test
    register_recurrent_kind("wide_gru", lambda units, **kw: keras.layers.GRU(2 * units, **kw))
    assert recurrent_kinds()[-1] == "wide_gru" and recurrent("wide_gru", 3).units == 6


def test_factory_and_half_life():
    assert isinstance(recurrent("lstm1997", 3), LSTM1997)
    assert isinstance(recurrent("lstm", 3), keras.layers.LSTM)
    assert isinstance(recurrent("gru", 3, return_sequences=True), keras.layers.GRU)
    assert isinstance(recurrent("simple_rnn", 3), keras.layers.SimpleRNN)
    assert recurrent("lstm1997", 4, cells_per_block=2).cells_per_block == 2
    with pytest.raises(ValueError, match="'transformer'"):
        recurrent("transformer", 3)
    with pytest.raises(ValueError, match="units"):
        recurrent("gru", 0)
    assert memory_half_life(0.0) == pytest.approx(1.0)
    b = np.array([1.0, 4.0])
    f = 1 / (1 + np.exp(-b))
    np.testing.assert_allclose(f ** memory_half_life(b), 0.5)
