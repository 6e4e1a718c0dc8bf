"""The Keras side of lstm_apps.datasets.tasks: paper-size models, gate traces, gradient norms."""

import keras
import numpy as np
import pytest

from lstm_apps.datasets import tasks as T
from lstm_apps.datasets.tasks import analysis, models


def test_build_model_follows_the_config_and_flags():
    config = T.task_spec("adding").config
    m = models.build_model("adding", "lstm1997", 2, 1, 110, config, truncate=False)
    layer = m.get_layer("recurrent")
    assert layer.truncate_gradients is False
    assert layer.cells_per_block == 2 and layer.units == 8
    assert layer.input_gate_bias == [-1.0, -2.0, -3.0, -4.0]
    assert m.output_shape == (None, 1) and m.loss == "mse"
    kernel = layer.get_weights()[0]
    assert np.abs(kernel).max() <= 0.1  # the paper's uniform [-0.1, 0.1] weights
    m2 = models.build_model(
        "temporal_order_2", "simple_rnn", 8, 4, 110, T.task_spec("temporal_order_2").config
    )
    assert type(m2.get_layer("recurrent")).__name__ == "SimpleRNN" and m2.get_layer("recurrent").units == 4
    np.testing.assert_allclose(m2.predict(np.zeros((2, 110, 8)), verbose=0).sum(-1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="TaskConfig.*dict"):
        models.build_model("adding", "lstm1997", 2, 1, 110, {"blocks": 1})


def test_long_lag_outputs_see_the_inputs():
    m = models.build_model("long_lag", "lstm1997", 11, 11, 10, T.task_spec("long_lag").config)
    assert m.output_shape == (None, 10, 11)  # a prediction at every step
    assert m.get_layer("output").get_weights()[0].shape == (1 + 11, 11)  # one cell and the inputs


def test_gradient_norms_match_a_linear_rnn():
    # h_T = sum_t a^(T-1-t) b x_t, y = c h_T: |dy/dx_t| = |c b| a^(T-1-t)
    a, b, c, steps = 0.5, 2.0, 3.0, 6
    inp = keras.Input((steps, 1))
    rnn = keras.layers.SimpleRNN(1, activation="linear", use_bias=False)
    out = keras.layers.Dense(1, use_bias=False)(rnn(inp))
    model = keras.Model(inp, out)
    rnn.set_weights([np.array([[b]]), np.array([[a]])])
    model.layers[-1].set_weights([np.array([[c]])])
    norms = analysis.gradient_norms(model, np.random.default_rng(0).normal(size=(4, steps, 1)))
    np.testing.assert_allclose(norms, abs(c * b) * a ** (steps - 1 - np.arange(steps)), rtol=1e-5)


def test_vanishing_gradient_simple_rnn_against_the_carousel():
    norms = analysis.vanishing_gradient(T=40, seed=0, batch=4)
    assert set(norms) == {"simple_rnn (initial weights)", "lstm1997 (initial weights)"}
    assert all(g.shape == (40,) for g in norms.values())
    ratios = analysis.gradient_ratios(norms)
    assert ratios["simple_rnn_init"] < 1e-2 < 0.1 < ratios["lstm1997_init"]
    fig = analysis.plot_vanishing_gradient(norms)
    assert len(fig.axes[0].lines) == 2


def test_input_gate_trace_and_selectivity():
    config = T.TaskConfig(2, 2, init="uniform")
    model = models.build_model("adding", "lstm1997", 2, 1, 110, config)
    gates, marks = analysis.input_gate_trace(model, 20, seed=1)
    assert gates.shape[1] == 4 and 20 <= gates.shape[0] <= 22 and len(marks) == 2
    np.testing.assert_array_equal(gates[:, 0], gates[:, 1])  # a block's cells share its gate
    assert analysis.plot_input_gates(gates, marks, 2).axes[0].get_legend_handles_labels()[1] == [
        "block 1",
        "block 2",
    ]
    g = np.full((10, 3), 0.2)
    g[[2, 7], 1] = 0.9
    assert analysis.gate_selectivity(g, [2, 7]) == (1, pytest.approx(0.9), pytest.approx(0.2))
    with pytest.raises(ValueError, match="marks"):
        analysis.gate_selectivity(g, [12])
    rnn = models.build_model("adding", "gru", 2, 1, 110, config)
    with pytest.raises(ValueError, match="LSTM1997.*GRU"):
        analysis.input_gate_trace(rnn, 20)
