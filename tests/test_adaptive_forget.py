"""AdaptiveForgetCell: Keras contract, NumPy golden values, the gate's physics, errors, the QLIKE loss."""

import keras
import numpy as np
import pytest
from layer_test_utils import check_recurrent_layer

from lstm_apps.layers import AdaptiveForgetCell, forget_gate_trace, memory_half_life, recurrent, variance_nll


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference(cell, x):
    """NumPy implementation of the documented equations; returns h, s, f per step."""
    w = {v.path.split("/")[-1]: np.asarray(v) for v in cell.weights}
    p = cell.physical_parameters()
    a, b = p["a"], p["b"]
    u = cell.units
    batch, steps, _ = x.shape
    h = np.zeros((batch, u))
    s = np.zeros((batch, u))
    hs, ss, fs = [], [], []
    for t in range(steps):
        xt = x[:, t, :].astype("float64")
        r = xt[:, cell.return_index : cell.return_index + 1]
        f_pre = a - b * np.abs(r) + xt @ w["forget_kernel"]
        if cell.recurrent_forget:
            f_pre = f_pre + h @ w["forget_recurrent_kernel"]
        f = _sigmoid(f_pre)
        z = np.concatenate([xt, np.abs(r)], axis=1) @ w["kernel"] + h @ w["recurrent_kernel"] + w["bias"]
        i, g, o = _sigmoid(z[:, :u]), np.tanh(z[:, u : 2 * u]), _sigmoid(z[:, 2 * u :])
        s = f * s + i * g
        h = o * np.tanh(s)
        hs.append(h), ss.append(s), fs.append(f)
    return np.stack(hs, 1), np.stack(ss, 1), np.stack(fs, 1)


def _randomise(cell, seed=1):
    rng = np.random.default_rng(seed)
    for v in cell.weights:
        v.assign(rng.normal(0, 0.4, v.shape).astype("float32"))


@pytest.mark.parametrize(
    "shared,recurrent_forget,features,ret_idx", [(True, True, 1, 0), (False, True, 3, 1), (True, False, 2, 1)]
)
def test_golden_values_against_numpy(shared, recurrent_forget, features, ret_idx):
    x = np.random.default_rng(0).normal(0, 1.5, (2, 9, features)).astype("float32")
    cell = AdaptiveForgetCell(
        3, return_index=ret_idx, shared_forget=shared, recurrent_forget=recurrent_forget
    )
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(x)
    _randomise(cell)
    h_ref, s_ref, f_ref = reference(cell, x)
    np.testing.assert_allclose(np.asarray(layer(x)), h_ref, atol=1e-5)
    trace = forget_gate_trace(layer, x)
    np.testing.assert_allclose(trace["forget_gate"], f_ref, atol=1e-5)
    np.testing.assert_allclose(trace["cell_state"], s_ref, atol=1e-5)
    np.testing.assert_allclose(trace["output"], h_ref, atol=1e-5)


def test_keras_contract(tmp_path):
    units, features = 4, 2
    expected = (
        (features + 1) * 3 * units + units * 3 * units + 3 * units + features * units + units * units + 1 + 1
    )
    check_recurrent_layer(
        lambda: AdaptiveForgetCell(units),
        input_shape=(3, 7, features),
        expected_output_shape=(3, units),
        expected_weight_count=expected,
        tmp_path=tmp_path,
    )
    per_unit = (
        (features + 1) * 3 * units
        + units * 3 * units
        + 3 * units
        + features * units
        + units * units
        + 2 * units
    )
    check_recurrent_layer(
        lambda: AdaptiveForgetCell(units, shared_forget=False),
        input_shape=(3, 7, features),
        expected_weight_count=per_unit,
    )


def test_untrained_gate_is_a_minus_b_abs_return_and_shuts_on_shocks():
    cell = AdaptiveForgetCell(2, a_init=3.0, b_init=0.8)
    r = np.array([[[0.0], [0.5], [-4.0], [4.0], [0.1]]], "float32")
    f = forget_gate_trace(keras.layers.RNN(cell), r)["forget_gate"][0, :, 0]
    np.testing.assert_allclose(f, _sigmoid(3.0 - 0.8 * np.abs(r[0, :, 0])), rtol=1e-5)
    assert f[2] < 0.7 < 0.9 < f[0]  # a 4-s.d. move shuts the gate
    assert cell.half_life(0.0) == pytest.approx(memory_half_life(3.0), rel=1e-5)
    assert cell.half_life(4.0) == pytest.approx(memory_half_life(3.0 - 3.2), rel=1e-4)
    p = cell.physical_parameters()
    assert set(p) == {"a", "b", "half_life_calm"}
    assert p["a"][0] == pytest.approx(3.0, rel=1e-5) and p["b"][0] == pytest.approx(0.8, rel=1e-5)


def test_per_unit_time_scales(tmp_path):
    a0 = [0.5, 2.0, 5.0]
    cell = AdaptiveForgetCell(3, shared_forget=False, a_init=a0, b_init=[0.2, 0.5, 1.0])
    layer = keras.layers.RNN(cell)
    r = np.array([[[0.0], [2.0]]], "float32")
    f = forget_gate_trace(layer, r)["forget_gate"][0]
    np.testing.assert_allclose(f[0], _sigmoid(np.array(a0)), rtol=1e-5)
    np.testing.assert_allclose(f[1], _sigmoid(np.array(a0) - 2.0 * np.array([0.2, 0.5, 1.0])), rtol=1e-5)
    np.testing.assert_allclose(
        cell.physical_parameters()["half_life_calm"], memory_half_life(np.array(a0)), rtol=1e-4
    )
    assert AdaptiveForgetCell.from_config(cell.get_config()).a_init == a0
    check_recurrent_layer(
        lambda: AdaptiveForgetCell(3, shared_forget=False, a_init=a0),
        input_shape=(2, 5, 1),
        tmp_path=tmp_path,
    )


def test_extra_channels_are_fused():
    x = np.random.default_rng(3).normal(size=(2, 6, 3)).astype("float32")
    cell = AdaptiveForgetCell(3, return_index=2)
    layer = keras.layers.RNN(cell)
    base = np.asarray(layer(x))
    x2 = x.copy()
    x2[:, :, 0] += 1.0  # change an extra channel only
    assert not np.allclose(np.asarray(layer(x2)), base)
    # an untrained gate reads only the return column
    f1 = forget_gate_trace(layer, x)["forget_gate"]
    f2 = forget_gate_trace(layer, x2)["forget_gate"]
    np.testing.assert_allclose(f1, f2, atol=1e-6)


def test_gate_is_learned_parameters_move():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 20, 1)).astype("float32")
    y = (x[:, :, :1] ** 2 + 0.1).astype("float32")
    inp = keras.Input((None, 1))
    cell = AdaptiveForgetCell(2)
    out = keras.layers.Activation("exponential")(
        keras.layers.Dense(1)(keras.layers.RNN(cell, return_sequences=True)(inp))
    )
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.Adam(0.05), loss=variance_nll)
    model.fit(x, y, epochs=3, verbose=0)
    p = cell.physical_parameters()
    assert p["a"][0] != pytest.approx(3.0, abs=1e-4) and p["b"][0] != pytest.approx(0.5, abs=1e-4)
    assert p["b"][0] > 0


def test_variance_nll_is_qlike():
    from lstm_apps.metrics import qlike

    y = np.array([[0.5], [2.0], [0.01]], "float32")
    h = np.array([[1.0], [1.5], [0.2]], "float32")
    got = float(np.mean(np.asarray(variance_nll(y, h))))
    assert got == pytest.approx(qlike(y, h), rel=1e-5)
    assert got == pytest.approx(np.mean(np.log(h) + y / h), rel=1e-5)


def test_factory_kind_and_errors():
    layer = recurrent("adaptive_forget", 3, a_init=2.0, return_sequences=True)
    assert layer(np.zeros((1, 4, 2), "float32")).shape == (1, 4, 3)
    assert layer.cell.a_init == 2.0
    with pytest.raises(ValueError, match="units=0"):
        AdaptiveForgetCell(0)
    with pytest.raises(ValueError, match="b_init=0"):
        AdaptiveForgetCell(2, b_init=0)
    with pytest.raises(ValueError, match="a_init=20"):
        AdaptiveForgetCell(2, a_init=20)
    with pytest.raises(ValueError, match="return_index=3"):
        keras.layers.RNN(AdaptiveForgetCell(2, return_index=3))(np.zeros((1, 2, 2), "float32"))
    with pytest.raises(ValueError, match="a list of 3 numbers"):
        AdaptiveForgetCell(3, shared_forget=False, a_init=[1.0, 2.0])
    with pytest.raises(ValueError, match="a_init must be a number"):
        AdaptiveForgetCell(3, a_init=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="not built"):
        AdaptiveForgetCell(2).physical_parameters()
    with pytest.raises(ValueError, match=r"\(batch, timesteps, features\)"):
        forget_gate_trace(AdaptiveForgetCell(2), np.zeros((3, 2), "float32"))
