"""Tests for lstm_apps.probes: which states are probed, the probe against its majority baseline."""

import keras
import numpy as np
import pytest

from lstm_apps.probes import (
    classification_probe,
    hidden_states,
    linear_probe,
    probed_layer,
    ridge_probe,
    sequence_states,
    untrained_copy,
)


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


def _token_model(units=6):
    inp = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(5, 3, name="embed")(inp)
    h = keras.layers.LSTM(units, return_sequences=True, name="rnn")(h)
    return keras.Model(inp, keras.layers.Dense(4, name="head")(h))


def test_sequence_states_ignore_padding_and_keep_order():
    keras.utils.set_random_seed(0)
    model = _token_model()
    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, 4, n) for n in (5, 12, 3, 12, 7)]
    states = sequence_states(model, seqs, pad=4, batch_size=2)
    assert [s.shape for s in states] == [(n, 6) for n in (5, 12, 3, 12, 7)]
    for seq, got in zip(seqs, states):  # one at a time, no padding at all
        alone = hidden_states(model, seq[None, :], position=None)[0]
        np.testing.assert_allclose(got, alone, rtol=1e-5, atol=1e-6)


def test_untrained_copy_has_the_architecture_and_fresh_weights():
    keras.utils.set_random_seed(0)
    model = _token_model()
    before = [w.copy() for w in model.get_weights()]
    copy = untrained_copy(model, seed=3)
    assert [w.shape for w in copy.get_weights()] == [w.shape for w in before]
    assert [layer.name for layer in copy.layers[1:]] == [layer.name for layer in model.layers[1:]]
    assert not np.allclose(copy.get_weights()[0], before[0])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    again = untrained_copy(model, seed=3)  # seeded: the same fresh weights
    np.testing.assert_array_equal(again.get_weights()[0], copy.get_weights()[0])


def test_ridge_probe_r2_on_a_linear_target_and_on_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(800, 10))
    y = x @ rng.normal(size=10) + 0.1 * rng.normal(size=800)
    out = ridge_probe(x[:600], y[:600], x[600:], y[600:])
    assert out["r2"] > 0.99 and out["train_samples"] == 600 and out["test_samples"] == 200
    np.testing.assert_allclose(out["probe"].predict(x[600:605]), y[600:605], atol=0.5)
    noise = ridge_probe(x[:600], rng.normal(size=600), x[600:], rng.normal(size=200))
    assert noise["r2"] < 0.05
    with pytest.raises(ValueError, match="train_inputs and train_labels must hold equally many"):
        ridge_probe(x[:10], y[:9], x, y)


def test_classification_probe_balanced_accuracy_against_the_majority():
    rng = np.random.default_rng(2)
    label = rng.random(1000) < 0.2  # 80 % negatives: the majority guess scores about 80 %
    x = rng.normal(size=(1000, 4))
    x[:, 0] += np.where(label, 1.5, -1.5)
    out = classification_probe(x[:700], label[:700], x[700:], label[700:])
    assert out["majority_accuracy"] == pytest.approx(np.mean(~label[700:]))
    assert out["majority_balanced_accuracy"] == 0.5
    assert out["balanced_accuracy"] > 0.85 and out["accuracy"] > out["majority_accuracy"]
    blind = classification_probe(x[:700, 1:], label[:700], x[700:, 1:], label[700:])
    assert blind["balanced_accuracy"] < 0.6  # the other features carry nothing
