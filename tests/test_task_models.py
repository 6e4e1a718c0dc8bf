"""The Keras side of lstm_apps.datasets.tasks: paper-size models, gate traces, gradient norms."""

import keras
import numpy as np
import pytest

from lstm_apps.datasets import tasks as T
from lstm_apps.datasets.tasks import analysis, models


def test_build_model_follows_the_config_and_flags():
    settings = T.task_settings("adding", net="ours")
    m = models.build_model("adding", "lstm1997", 2, 1, 110, settings, truncate=False)
    layer = m.get_layer("recurrent")
    assert layer.truncate_gradients is False
    assert layer.cells_per_block == 2 and layer.units == 8
    assert layer.input_gate_bias == [-1.0, -2.0, -3.0, -4.0]
    assert m.output_shape == (None, 1) and m.loss == "mse"
    kernel = layer.get_weights()[0]
    assert np.abs(kernel).max() <= 0.1  # the paper's uniform [-0.1, 0.1] weights
    to2 = T.task_settings("temporal_order_2", net="ours")
    m2 = models.build_model("temporal_order_2", "simple_rnn", 8, 4, 110, to2)
    assert type(m2.get_layer("recurrent")).__name__ == "SimpleRNN" and m2.get_layer("recurrent").units == 4
    np.testing.assert_allclose(m2.predict(np.zeros((2, 110, 8)), verbose=0).sum(-1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="TaskSettings.*dict"):
        models.build_model("adding", "lstm1997", 2, 1, 110, {"blocks": 1})


def test_the_papers_net_of_the_adding_problem():
    m = models.build_model("adding", "lstm1997", 2, 1, 110, T.task_settings("adding"))
    layer = m.get_layer("recurrent")
    assert (
        m.count_params() == 93 and not layer.uses_fast_path() and isinstance(m.loss, models.PaperSquaredError)
    )
    assert layer.recurrent_connections == "cells_and_gates" and layer.input_gate_bias == [-3.0, -6.0]
    kernel, recurrent, bias = layer.get_weights()
    assert np.abs(np.concatenate([kernel.ravel(), recurrent.ravel()])).max() <= 0.1
    np.testing.assert_array_equal(bias[:2], [-3.0, -6.0])
    assert np.abs(bias[2:]).max() <= 0.1 and np.unique(bias[2:]).size == 6  # cell inputs, output gates: drawn
    assert m.get_layer("output").activation.__name__ == "sigmoid"
    kernel, bias = m.get_layer("output").get_weights()  # the output unit's weights are drawn alike
    assert np.abs(kernel).max() <= 0.1 and np.abs(bias).max() <= 0.1 and bias[0] != 0.0


@pytest.mark.parametrize("row", T.PAPER_ROWS, ids=[r.id for r in T.PAPER_ROWS])
def test_every_paper_net_has_the_papers_weight_count(row):
    settings = T.task_settings(row.task, blocks=row.blocks, cells_per_block=row.cells_per_block)
    b = T.make_task(row.task, 2, seed=0, **row.params)
    steps = T.max_length(row.task, **row.params)
    m = models.build_model(
        row.task, "lstm1997", b.features, b.y.shape[-1], steps, settings, symbolic=b.symbolic
    )
    assert m.count_params() == row.weights


def test_paper_squared_error_gives_the_papers_sgd_step():
    # one sequence, one update: w <- w - lr * d(1/2 sum (t - y)^2)/dw, over every step with a target
    inp = keras.Input((3, 2))
    out = keras.layers.Dense(2, activation="sigmoid", use_bias=False)(inp)
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=models.PaperSquaredError())
    w = np.array([[0.3, -0.2], [0.1, 0.4]], "float32")
    model.set_weights([w])
    x = np.array([[[1.0, 0.0], [0.5, -1.0], [0.0, 2.0]]], "float32")
    t = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], "float32")
    weight = np.array([[1.0, 1.0, 0.0]], "float32")  # the last step is padding
    model.train_on_batch(x, t, sample_weight=weight)
    y = 1 / (1 + np.exp(-(x[0] @ w)))
    grad = x[0, :2].T @ ((y - t[0]) * y * (1 - y))[:2]
    np.testing.assert_allclose(model.get_weights()[0], w - 0.5 * grad, rtol=1e-5)


def test_symbol_inputs_and_a_paper_model_round_trip(tmp_path):
    b = T.very_long_lag(4, lag=5, distractors=5, seed=0)
    layer = models.SymbolInputs(9)
    hot = np.asarray(layer(b.x))
    np.testing.assert_array_equal(hot, b.one_hot_x())
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(b.x)), b.step_mask)
    settings = T.task_settings("very_long_lag")
    m = models.build_model("very_long_lag", "lstm1997", 9, 2, None, settings, symbolic=True)
    assert m.count_params() == 6 * 5 + 64 and m.get_layer("recurrent").use_bias is False
    m.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(b.x, verbose=0), m.predict(b.x, verbose=0), atol=1e-6)
    # padding changes nothing: the mask carries the state over the padded steps
    longer = np.pad(b.x, ((0, 0), (0, 7)))
    np.testing.assert_allclose(m.predict(longer, verbose=0), m.predict(b.x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="symbols.*0"):
        models.SymbolInputs(0)


def test_differences_from_the_paper_are_stated():
    paper = models.paper_differences(T.task_settings("long_lag", optimizer="adam"), task="long_lag")
    assert any("Adam" in d for d in paper) and any("memory cell is added" in d for d in paper)
    sgd = models.paper_differences(T.task_settings("adding", optimizer="sgd"))
    assert not any("Adam" in d for d in sgd) and any("checked every" in d for d in sgd)
    ours = models.paper_differences(T.task_settings("reber", net="ours"), cell="gru")
    assert ours[0].startswith("the recurrent layer is gru") and "our net (8 blocks of 2" in ours[1]


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
    config = T.task_settings("adding", net="ours", blocks=2)
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


def test_sequential_construction_adds_the_memory_cell_once_the_error_stops_decreasing():
    # 5.2a's net trains without its memory cell first (the paper's remedy for the abuse problem)
    settings = T.task_settings("long_lag", params={"length": 10})
    assert settings.net.sequential_construction
    keras.utils.set_random_seed(0)
    m = models.build_model("long_lag", "lstm1997", 11, 11, 10, settings, jit_compile=False)
    both = T.long_lag_sequences(10)
    out, cell = m.get_layer("output"), m.get_layer("recurrent")
    initial_rows = out.kernel.numpy()[:1].copy()
    assert np.abs(initial_rows).max() > 0  # random, in the paper's interval
    (callback,) = models.construction_callbacks(m, verbose=0)
    cell_before = cell.get_weights()[0].copy()
    m.fit(both.x, both.y, batch_size=1, epochs=3, verbose=0, callbacks=[callback])
    # phase one: the loss fell every epoch, the cell's output weights stay zero and its own weights unchanged
    assert callback.added_at_epoch is None and not out.kernel_constraint.is_open
    np.testing.assert_array_equal(out.kernel.numpy()[:1], 0.0)
    np.testing.assert_array_equal(cell.get_weights()[0], cell_before)
    # the error stops decreasing: the cell is added with its initial output weights, then it trains
    callback.on_epoch_end(3, {"loss": callback.best})
    assert callback.added_at_epoch == 4 and out.kernel_constraint.is_open
    np.testing.assert_array_equal(out.kernel.numpy()[:1], initial_rows)
    m.fit(both.x, both.y, batch_size=1, epochs=1, verbose=0)
    assert np.abs(cell.get_weights()[0] - cell_before).max() > 0
    assert models.construction_callbacks(m) == []  # already added
    assert (
        models.construction_callbacks(
            models.build_model("adding", "lstm1997", 2, 1, 20, T.task_settings("adding"))
        )
        == []
    )
    with pytest.raises(ValueError, match="rows.*0"):
        models.CellRowsMask(0)
