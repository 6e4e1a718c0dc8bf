"""The 1997 layer's options for the paper's special nets, against the NumPy reference.

No output gate, other squashing functions (logistic g, identity h), biases on
the gates only or none, the fully connected hidden layer (gate activations fed
back) or no recurrent weights, and biases drawn at random: forward pass,
telemetry and gradients (truncated and full) against ``reference_lstm1997``,
the weight layout, config and ``.keras`` round trips, the fast-path fallback
and the map to ``keras.layers.LSTM``.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_test_utils import check_recurrent_layer
from reference_lstm1997 import Reference

from lstm_apps.layers import LSTM1997, LSTM1997Cell

#: the paper's nets (Table 10) and a few combinations around them
CONFIGS = {
    "2a": dict(
        output_gate=False,
        cell_activation="sigmoid",
        output_activation="linear",
        recurrent_connections="none",
        use_bias=False,
    ),
    "2c": dict(use_bias=False, recurrent_connections="cells_and_gates"),
    "reber": dict(cells_per_block=2, use_bias="gates", recurrent_connections="cells_and_gates"),
    "adding": dict(cells_per_block=2, recurrent_connections="cells_and_gates"),
    "forget_feedback": dict(cells_per_block=2, forget_gate=True, recurrent_connections="cells_and_gates"),
    "no_output_gate_tanh": dict(output_gate=False, squash="tanh"),
    "mixed_squash": dict(cell_activation="tanh", output_activation="paper", use_bias="gates"),
}


def _layer(units=4, input_dim=3, seed=0, dtype="float64", **kwargs):
    """A built layer with random (not initial) weights, so every weight matters."""
    layer = LSTM1997(units, return_sequences=True, dtype=dtype, **kwargs)
    layer.build((None, None, input_dim))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.6, size=w.shape) for w in layer.get_weights()])
    return layer


def _ref(layer):
    cell = layer.cell
    bias = cell.full_bias()
    return Reference(
        np.asarray(cell.kernel),
        None if cell.recurrent_kernel is None else np.asarray(cell.recurrent_kernel),
        None if bias is None else np.asarray(bias),
        cell.units,
        cell.cells_per_block,
        cell.forget_gate,
        cell.squash,
        output_gate=cell.output_gate,
        cell_activation=cell.cell_activation,
        output_activation=cell.output_activation,
        gate_feedback=cell.gate_feedback,
    )


def _initial(layer, rng, n):
    sizes = layer.cell.state_size
    return [rng.normal(size=(n, d)) * 0.5 for d in sizes]


@pytest.mark.parametrize("truncate", [True, False])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_forward_telemetry_and_gradients_match_the_numpy_reference(name, truncate):
    layer = _layer(seed=1, truncate_gradients=truncate, **CONFIGS[name])
    assert not layer.uses_fast_path()  # the special options run the generic loop
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 7, 3))
    ref = _ref(layer)
    ref_h, ref_gates = ref.forward(x)
    np.testing.assert_allclose(np.asarray(layer(x)), ref_h, rtol=1e-10, atol=1e-12)
    gates = layer.gate_activations(x)
    for key, value in ref_gates.items():
        if value is None:
            assert key not in gates
        else:
            np.testing.assert_allclose(gates[key], value, atol=1e-12, err_msg=key)

    init = _initial(layer, rng, 2)
    dh = rng.normal(size=(2, 7, 4))
    ref.forward(x, *init)
    expected = ref.backward(dh, truncate=truncate)
    variables = [tf.Variable(v) for v in (x, *init)]
    cell = layer.cell
    weights = {"kernel": cell.kernel, "recurrent_kernel": cell.recurrent_kernel, "bias": cell.bias}
    weights = {k: w for k, w in weights.items() if w is not None}
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(variables[0], initial_state=variables[1:]) * dh)
    grads = tape.gradient(
        loss, [*variables, *weights.values()], unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    names = ["x", "h0", "s0", "gates0"][: len(variables)] + list(weights)
    got = dict(zip(names, (np.asarray(g) for g in grads)))
    if cell.use_bias == "gates":  # the reference's bias gradient has every column; the weight the gates'
        cols = np.concatenate([np.arange(w) + start for name, w, start in _columns(cell) if name != "cell"])
        expected["bias"] = expected["bias"][cols]
    for key, value in got.items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-9, atol=1e-11, err_msg=key)


def _columns(cell):
    start = 0
    for name, w in zip(cell.gate_names, cell.block_widths):
        yield name, w, start
        start += w


def test_reference_with_gate_feedback_agrees_with_finite_differences():
    layer = _layer(seed=3, **CONFIGS["forget_feedback"])
    ref = _ref(layer)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 5, 3))
    dh = rng.normal(size=(1, 5, 4))
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


def test_golden_values_of_the_2a_cell():
    # one cell, one input gate, g = sigmoid, h = identity, no bias, no recurrent weights:
    # s_t = s_{t-1} + sigmoid(x_t w_in) * sigmoid(x_t w_c), h_t = s_t
    layer = LSTM1997(1, return_sequences=True, dtype="float64", **CONFIGS["2a"])
    layer.build((None, None, 1))
    layer.set_weights([np.array([[1.0, 2.0]])])
    x = np.array([[[0.0], [1.0], [-1.0]]])
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    steps = [sig(v) * sig(2 * v) for v in (0.0, 1.0, -1.0)]
    np.testing.assert_allclose(np.asarray(layer(x))[0, :, 0], np.cumsum(steps), rtol=1e-12)


def test_weight_layout_of_the_paper_nets():
    def counts(units, input_dim, **kw):
        layer = LSTM1997(units, **kw)
        layer.build((None, None, input_dim))
        return [tuple(w.shape) for w in layer.weights]

    # Reber 4 blocks of 1: gates see cells and gates (4 + 8 rows), biases on the 8 gates only
    assert counts(4, 7, use_bias="gates", recurrent_connections="cells_and_gates") == [
        (7, 12),
        (12, 12),
        (8,),
    ]
    assert counts(1, 101, **CONFIGS["2a"]) == [(101, 2)]  # input gate and cell input, from the inputs
    assert counts(2, 54, use_bias=False, recurrent_connections="cells_and_gates") == [(54, 6), (6, 6)]
    layer = LSTM1997(4, cells_per_block=2, use_bias="gates", input_gate_bias=[-1, -2], output_gate_bias=-3)
    layer.build((None, None, 2))
    np.testing.assert_array_equal(layer.get_weights()[2], [-1, -2, -3, -3])
    np.testing.assert_array_equal(layer.cell.full_bias(), [-1, -2, 0, 0, 0, 0, -3, -3])
    cell = LSTM1997Cell(3, recurrent_connections="cells_and_gates", forget_gate=True)
    assert cell.state_size == [3, 3, 9] and cell.gate_units == 9


def test_biases_given_as_none_are_drawn_from_the_bias_initializer():
    keras.utils.set_random_seed(0)
    layer = LSTM1997(
        4,
        cells_per_block=2,
        input_gate_bias=[-3.0, -6.0],
        output_gate_bias=None,
        cell_input_bias=None,
        bias_initializer=keras.initializers.RandomUniform(-0.1, 0.1),
    )
    layer.build((None, None, 2))
    bias = layer.get_weights()[2]
    np.testing.assert_array_equal(bias[:2], [-3.0, -6.0])
    drawn = bias[2:]
    assert np.all(np.abs(drawn) <= 0.1) and np.unique(drawn).size == drawn.size
    assert np.isnan(layer.cell.initial_bias()[2:]).all()
    assert layer.get_config()["output_gate_bias"] is None


@pytest.mark.parametrize("name", ["2a", "2c", "reber", "forget_feedback"])
def test_layer_contract_config_and_keras_round_trip(name, tmp_path):
    kwargs = CONFIGS[name]
    model = check_recurrent_layer(
        lambda: LSTM1997(4, **kwargs), input_shape=(3, 6, 5), expected_output_shape=(3, 4), tmp_path=tmp_path
    )
    layer = model.layers[1]
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value, key


def test_return_state_carries_the_gate_activations():
    layer = LSTM1997(4, cells_per_block=2, recurrent_connections="cells_and_gates", return_state=True)
    x = np.random.default_rng(5).normal(size=(2, 6, 3)).astype("float32")
    out, h, s, gates = layer(x)
    assert gates.shape == (2, 4)  # input and output gate of 2 blocks
    telemetry = layer.gate_activations(x)
    np.testing.assert_allclose(gates[:, :2], telemetry["input_gate"][:, -1, ::2], atol=1e-6)
    np.testing.assert_allclose(gates[:, 2:], telemetry["output_gate"][:, -1, ::2], atol=1e-6)
    np.testing.assert_allclose(out, h)


def test_standard_options_keep_the_fast_path_and_the_keras_lstm_map():
    assert LSTM1997(4).uses_fast_path() == (keras.backend.backend() == "tensorflow")
    x = np.random.default_rng(6).normal(size=(2, 5, 3)).astype("float32")
    layer = _layer(dtype="float32", output_gate=False, use_bias=False, recurrent_connections="none")
    np.testing.assert_allclose(layer.to_keras_lstm()(x), layer(x), atol=1e-5)
    for name in ("2a", "2c"):
        with pytest.raises(ValueError, match="cell_activation='sigmoid'|cells_and_gates"):
            _layer(dtype="float32", **CONFIGS[name]).to_keras_lstm()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"cell_activation": "relu"}, "cell_activation='relu'"),
        ({"output_activation": "sigmoid"}, "output_activation='sigmoid'"),
        ({"use_bias": "cells"}, "use_bias='cells'"),
        ({"use_bias": 1}, "use_bias=1"),
        ({"recurrent_connections": "all"}, "recurrent_connections='all'"),
        ({"output_gate": "no"}, "output_gate='no'"),
    ],
)
def test_bad_options_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSTM1997(4, **kwargs)
