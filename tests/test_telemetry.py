"""lstm_apps.telemetry: one wrapper traces the gates of every cell that has ``gate_step``."""

import keras
import numpy as np
import pytest

from lstm_apps.layers import AdaptiveForgetCell, ForgettingCurveCell, LSTM1997Cell, MethylationCell
from lstm_apps.telemetry import layer_inputs, trace_gates, walk_layers


def _inputs(kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "methylation":
        return rng.uniform(0.0, 1.0, (2, 7, 1)).astype("float32")
    if kind == "forgetting":  # [dt, study, one event feature]
        x = rng.uniform(0.0, 3.0, (2, 7, 3)).astype("float32")
        x[..., 1] = rng.random((2, 7)) < 0.5
        return x
    return rng.normal(size=(2, 7, 3)).astype("float32")


CELLS = {
    "lstm1997": lambda: LSTM1997Cell(4, cells_per_block=2, forget_gate=True),
    "adaptive": lambda: AdaptiveForgetCell(3),
    "methylation": lambda: MethylationCell(3),
    "forgetting": lambda: ForgettingCurveCell(3),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_traced_output_is_the_cells_output(name):
    """The wrapper shares the cell's weights and initial state: its "output" is what
    keras.layers.RNN(cell) returns, and its states follow the cell's own recursion."""
    cell = CELLS[name]()
    x = _inputs("lstm" if name in ("lstm1997", "adaptive") else name)
    expected = np.asarray(keras.layers.RNN(cell, return_sequences=True)(x))
    trace = trace_gates(cell, x)
    assert next(iter(trace)) == "output"
    np.testing.assert_allclose(trace["output"], expected, atol=1e-6)
    assert "cell_state" in trace and all(v.shape[:2] == x.shape[:2] for v in trace.values())


def test_gray_box_gates_obey_their_equations():
    x = _inputs("methylation")
    trace = trace_gates(MethylationCell(3, mu_init=[0.9, 0.95, 0.99]), x)
    f, i, g, p = (trace[k] for k in ("forget_gate", "input_gate", "cell_input", "cell_state"))
    np.testing.assert_allclose(i, 1.0 - f, atol=1e-6)
    np.testing.assert_allclose(p[:, 1:], f[:, 1:] * p[:, :-1] + i[:, 1:] * g[:, 1:], atol=1e-6)

    x = _inputs("lstm")
    trace = trace_gates(AdaptiveForgetCell(3), x)
    np.testing.assert_allclose(
        trace["output"], trace["output_gate"] * np.tanh(trace["cell_state"]), atol=1e-6
    )

    x = _inputs("forgetting")
    cell = ForgettingCurveCell(3)
    trace = trace_gates(cell, x)
    tau = cell.physical_parameters()["tau"]
    np.testing.assert_allclose(trace["forget_gate"], np.exp(-x[..., :1] / tau), rtol=1e-5, atol=1e-7)
    studied = x[..., 1] == 1.0
    assert np.all(trace["input_gate"][~studied] == 0.0) and np.all(trace["input_gate"][studied] > 0.0)


def test_lstm1997_gates_repeat_per_block_and_follow_the_carousel():
    cell = LSTM1997Cell(4, cells_per_block=2)
    x = _inputs("lstm")
    trace = trace_gates(cell, x)
    assert list(trace) == ["output", "input_gate", "output_gate", "cell_state"]
    np.testing.assert_array_equal(trace["input_gate"][..., 0], trace["input_gate"][..., 1])
    squashed = 2.0 / (1.0 + np.exp(-trace["cell_state"])) - 1.0
    np.testing.assert_allclose(trace["output"], trace["output_gate"] * squashed, atol=1e-6)


def test_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="gate_step.*GRUCell"):
        trace_gates(keras.layers.GRUCell(2), np.zeros((1, 3, 2), "float32"))
    with pytest.raises(ValueError, match=r"\(batch, timesteps, features\), received shape \(3, 2\)"):
        trace_gates(MethylationCell(2), np.zeros((3, 2), "float32"))


def test_walk_layers_and_layer_inputs():
    inner = keras.Sequential([keras.Input((5, 2)), keras.layers.Dense(3, name="inner_dense")], name="inner")
    wrapped = keras.layers.TimeDistributed(keras.layers.Dense(2, name="wrapped"))
    model = keras.Sequential([keras.Input((5, 2)), inner, wrapped, keras.layers.LSTM(2, name="last")])
    names = [layer.name for layer in walk_layers(model)]
    assert {"inner", "inner_dense", "wrapped", "last"} <= set(names)
    x = np.ones((2, 5, 2), "float32")
    x[1, 3:] = 0.0
    fed, mask = layer_inputs(model, model.get_layer("last"), x)
    np.testing.assert_allclose(fed, wrapped(inner(x)), atol=1e-6)
    assert mask is None
    masked = keras.Sequential([keras.Input((5, 2)), keras.layers.Masking(0.0), keras.layers.LSTM(2)])
    fed, mask = layer_inputs(masked, masked.layers[-1], x)
    np.testing.assert_allclose(fed, x)
    np.testing.assert_array_equal(mask, np.any(x != 0, axis=-1))
