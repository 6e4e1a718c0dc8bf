"""GrayBoxCell base class: constrained weights, named physical parameters."""

import keras
import numpy as np
import pytest
from keras import ops

from lstm_apps.layers import GrayBoxCell
from lstm_apps.layers.graybox import bounded, inverse_bounded


class _Decay(GrayBoxCell):
    """A one-parameter test cell: s' = a s + x with a in (0, 1)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = 2
        self.output_size = 2

    def build(self, input_shape):
        self.add_bounded_weight("a", (2,), 0.0, 1.0, [0.2, 0.9])
        self.add_positive_weight("gain", (2,), 3.0)
        self.add_log_weight("tau", (2,), [0.01, 500.0])
        self.add_bounded_weight("hidden", (2,), -1.0, 1.0, 0.0, physical=False)
        self.built = True

    def call(self, inputs, states, training=None):
        s = states[0] * self.bounded_value("a") + inputs * self.bounded_value("gain")
        return s, [s]


def test_bounded_inverse_roundtrip():
    v = np.array([0.01, 0.5, 0.99])
    np.testing.assert_allclose(np.asarray(bounded(inverse_bounded(v, 0.0, 1.0), 0.0, 1.0)), v, rtol=1e-5)
    with pytest.raises(ValueError, match="strictly inside"):
        inverse_bounded(1.0, 0.0, 1.0)


def test_constrained_weights_and_physical_parameters():
    cell = _Decay()
    with pytest.raises(ValueError, match="not built"):
        cell.physical_parameters()
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(np.zeros((1, 3, 2), "float32"))
    params = cell.physical_parameters()
    assert set(params) == {"a", "gain", "tau"}  # "hidden" is not physical
    np.testing.assert_allclose(params["a"], [0.2, 0.9], rtol=1e-5)
    np.testing.assert_allclose(params["gain"], [3.0, 3.0], rtol=1e-5)
    np.testing.assert_allclose(params["tau"], [0.01, 500.0], rtol=1e-5)
    # whatever the raw variable, the effective value stays inside its range
    for var in cell.weights:
        var.assign(np.full(var.shape, 50.0, "float32"))
    a = np.asarray(ops.convert_to_numpy(cell.bounded_value("a")))
    assert np.all((a > 0) & (a <= 1))
    cell.set_physical_value("a", [0.3, 0.7])
    cell.set_physical_value("tau", 2.5)
    cell.set_physical_value("gain", [0.5, 40.0])
    params = cell.physical_parameters()
    np.testing.assert_allclose(params["a"], [0.3, 0.7], rtol=1e-5)
    np.testing.assert_allclose(params["tau"], [2.5, 2.5], rtol=1e-5)
    np.testing.assert_allclose(params["gain"], [0.5, 40.0], rtol=1e-5)
    with pytest.raises(ValueError, match="no constrained weight 'nope'"):
        cell.bounded_value("nope")
    with pytest.raises(ValueError, match="must be > 0"):
        cell.set_physical_value("tau", -1.0)


def test_invalid_initial_values():
    cell = _Decay()
    cell.built = False
    with pytest.raises(ValueError, match="must be > 0"):
        cell.add_positive_weight("g", (1,), 0.0)
    with pytest.raises(ValueError, match="finite and > 0"):
        cell.add_log_weight("t", (1,), -2.0)
