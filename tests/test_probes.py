"""Tests for lstm_apps.probes: which states are probed, the probe against its majority baseline."""

import keras
import numpy as np
import pytest

from lstm_apps.probes import hidden_states, linear_probe, probed_layer


def _model():
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 2), name="x")
    h = keras.layers.GRU(6, return_sequences=True, name="rnn_0")(inp)
    h = keras.layers.SimpleRNN(5, return_sequences=True, name="rnn_1")(h)
    return keras.Model(inp, keras.layers.Dense(1, name="head")(h))


def test_probed_layer_and_hidden_states():
    model = _model()
    assert probed_layer(model).name == "rnn_1"  # the last recurrent layer by default
    assert probed_layer(model, "rnn_0").name == "rnn_0"
    with pytest.raises(ValueError, match="layer 'nope' is not a layer"):
        probed_layer(model, "nope")
    flat = keras.Input((3,))
    dense = keras.Model(flat, keras.layers.Dense(1)(flat))
    with pytest.raises(ValueError, match="has no recurrent layer"):
        probed_layer(dense)
    x = np.random.default_rng(0).normal(size=(7, 9, 2)).astype("float32")
    full = hidden_states(model, x, position=None)
    assert full.shape == (7, 9, 5)
    np.testing.assert_allclose(hidden_states(model, x), full[:, -1, :], rtol=1e-6)
    assert hidden_states(model, x, layer="rnn_0").shape == (7, 6)


def test_linear_probe_finds_a_linear_signal_and_reports_the_majority_baseline():
    rng = np.random.default_rng(1)
    n = 600
    label = rng.random(n) < 0.3  # 30 % positives: the majority guess scores about 70 %
    x = rng.normal(size=(n, 12, 2)).astype("float32")
    x[:, -3:, 0] += np.where(label, 2.0, -2.0)[:, None]  # the last steps carry the label
    model = _model()
    out = linear_probe(model, x[:400], label[:400], x[400:], label[400:])
    assert out["train_samples"] == 400 and out["test_samples"] == 200
    assert out["majority_accuracy"] == pytest.approx(np.mean(~label[400:]))
    assert out["accuracy"] > 0.9 > out["majority_accuracy"]
    # no signal: a shuffled label is not predictable beyond chance
    noise = linear_probe(model, x[:400], rng.permutation(label)[:400], x[400:], label[400:])
    assert noise["accuracy"] < 0.8


def test_linear_probe_with_one_class_and_bad_shapes():
    model = _model()
    x = np.zeros((10, 4, 2), "float32")
    out = linear_probe(model, x, np.ones(10, bool), x[:4], np.array([True, True, False, True]))
    assert out["accuracy"] == out["majority_accuracy"] == 0.75
    with pytest.raises(ValueError, match="train_inputs and train_labels must hold equally many"):
        linear_probe(model, x, np.ones(9, bool), x, np.ones(10, bool))
