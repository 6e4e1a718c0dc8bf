"""Formal languages for next-symbol prediction (lstm_apps.datasets.formal_languages) and the counter analysis.

The legal next symbols are checked against a brute-force reference (every
string of the language up to a length, and which of them extend a prefix);
the scoring against a plain loop; ``max_n_all_correct`` against oracles and
against hand-set LSTMs whose weights implement a counter (exact: every n tested;
leaky, with a forget gate below 1: fails where a NumPy simulation of the same
cell says it must), and a random model, which scores nothing.
"""

import itertools

import keras
import numpy as np
import pytest

from lstm_apps.analysis import counting
from lstm_apps.datasets import formal_languages as fl
from lstm_apps.layers import LSTM1997


# -- brute-force reference -------------------------------------------------------------------------
def language_strings(name, max_len):
    """Every string of the language with at most ``max_len`` letters, as tuples of letter indices."""
    k = len(fl.language(name).letters)
    if name in ("anbn", "anbncn"):
        return {tuple(np.repeat(np.arange(k), n)) for n in range(1, max_len // k + 1)}
    out = set()
    for length in range(0, max_len + 1):
        for word in itertools.product(range(2), repeat=length):
            if name == "parity" and sum(word) % 2 == 0:
                out.add(word)
            if name == "dyck1":
                depth = np.cumsum([1 if c == 0 else -1 for c in word]) if word else np.zeros(1)
                if depth.min() >= 0 and depth[-1] == 0:
                    out.add(word)
    return out


def reference_legal(name, letters, strings):
    """Which symbols (letters, then T) may follow each prefix, from the enumerated strings."""
    k = len(fl.language(name).letters)
    rows = []
    for t in range(len(letters) + 1):
        prefix = tuple(int(c) for c in letters[:t])
        row = [any(w[: t + 1] == prefix + (c,) for w in strings) for c in range(k)]
        rows.append(row + [prefix in strings])
    return np.asarray(rows)


@pytest.mark.parametrize("name", fl.LANGUAGES)
def test_legal_next_matches_brute_force(name):
    strings = language_strings(name, 12)
    rng = np.random.default_rng(0)
    for n in (1, 2, 3):
        letters = fl.tokens(name, n, rng)
        if len(letters) > 8:  # the reference must see every continuation of the prefix
            continue
        assert tuple(letters) in strings
        np.testing.assert_array_equal(fl.legal_next(name, letters), reference_legal(name, letters, strings))


def test_tokens_are_the_language_and_its_size():
    assert fl.tokens("anbn", 3).tolist() == [0, 0, 0, 1, 1, 1]
    assert fl.tokens("anbncn", 1).tolist() == [0, 1, 2]
    for seed in range(20):
        word = fl.tokens("dyck1", 7, seed)
        depth = np.cumsum(np.where(word == 0, 1, -1))
        assert depth.min() >= 0 and depth[-1] == 0 and depth.max() == 7
        assert len(fl.tokens("parity", 9, seed)) == 9
    assert not np.array_equal(fl.tokens("parity", 30, 1), fl.tokens("parity", 30, 2))
    with pytest.raises(ValueError, match="positive integer"):
        fl.tokens("anbn", 0)
    with pytest.raises(ValueError, match="Unknown language"):
        fl.language("anbnbn")
    with pytest.raises(ValueError, match="not a string of anbn"):
        fl.legal_next("anbn", [0, 1, 1])
    with pytest.raises(ValueError, match="never opened"):
        fl.legal_next("dyck1", [1, 0])


def test_encoding_and_scored_positions():
    batch = fl.encode("anbn", [fl.tokens("anbn", 1), fl.tokens("anbn", 3)])
    assert batch.x.shape == (2, 7, 3) and batch.y.shape == (2, 7, 3)
    assert batch.valid.sum(axis=1).tolist() == [3, 7] and batch.sizes.tolist() == [1, 3]
    assert not batch.x[0, 3:].any() and not batch.y[0, 3:].any()  # padding is zeros
    assert batch.x[1].argmax(-1).tolist() == [0, 1, 1, 1, 2, 2, 2]  # S a a a b b b
    # deterministic: after S (a), after each b (b, b, T); the a's are not scored
    assert batch.scored[1].tolist() == [True, False, False, False, True, True, True]
    cn = fl.test_strings("anbncn", [2])
    assert cn.scored[0].tolist() == [True, False, False, True, True, True, True]
    for name in ("dyck1", "parity"):  # the legal set is determined everywhere: every step is scored
        b = fl.test_strings(name, [4, 2])
        np.testing.assert_array_equal(b.scored, b.valid)


def test_test_strings_do_not_depend_on_the_other_sizes():
    a = fl.test_strings("dyck1", [3, 5], seed=4)
    b = fl.test_strings("dyck1", [5], seed=4)
    np.testing.assert_array_equal(a.x[1, : b.x.shape[1]], b.x[0])
    train = fl.training_set("parity", max_n=10, size=50, seed=0)
    assert len(train) == 50 and train.sizes.min() >= 1 and train.sizes.max() <= 10
    assert len(fl.training_set("anbn", 10)) == 10


def test_running_counts():
    letters = fl.tokens("anbncn", 2)
    counts = fl.running_counts("anbncn", letters)
    assert counts["a-b"].tolist() == [0, 1, 2, 1, 0, 0, 0]
    assert counts["b-c"].tolist() == [0, 0, 0, 1, 2, 1, 0]
    assert fl.running_counts("parity", np.array([1, 0, 1, 1]))["parity"].tolist() == [0, 1, 1, 0, 1]
    assert fl.running_counts("dyck1", np.array([0, 0, 1]))["depth"].tolist() == [0, 1, 2, 1]


def _loop_correct(outputs, batch):
    right = []
    for i in range(len(batch)):
        ok = True
        for t in range(batch.x.shape[1]):
            if batch.scored[i, t]:
                for j in range(batch.y.shape[2]):
                    ok &= bool(outputs[i, t, j] > 0.5) == bool(batch.y[i, t, j] > 0.5)
        right.append(ok)
    return np.asarray(right)


def test_strings_correct_matches_a_loop():
    rng = np.random.default_rng(1)
    batch = fl.test_strings("anbn", [1, 2, 3, 4, 5, 6])
    noisy = np.clip(batch.y + rng.normal(0, 0.3, batch.y.shape), 0, 1)
    np.testing.assert_array_equal(fl.strings_correct(noisy, batch), _loop_correct(noisy, batch))
    assert fl.strings_correct(batch.y, batch).all()
    wrong_a = batch.y.copy()
    wrong_a[:, 1, 0] = 0.0  # after the first a: not a scored step, so still right
    assert fl.strings_correct(wrong_a, batch).all()
    wrong_t = batch.y.copy()
    wrong_t[2, 6, 2] = 0.0  # the end symbol of n = 3 missed
    assert fl.strings_correct(wrong_t, batch).tolist() == [True, True, False, True, True, True]
    with pytest.raises(ValueError, match="do not answer"):
        fl.strings_correct(batch.y[:, :3], batch)


def test_max_n_from_correct():
    assert fl.max_n_from_correct([1, 2, 3], [True, True, True]) == 3
    assert fl.max_n_from_correct([3, 1, 2], [True, False, True]) == 0
    assert fl.max_n_from_correct([1, 2, 3, 4], [True, True, False, True]) == 2
    with pytest.raises(ValueError, match="without gaps"):
        fl.max_n_from_correct([1, 3], [True, True])


def oracle(name, fail_above=None):
    """Predicts the legal sets exactly (decoding x), wrong on strings longer than ``fail_above`` letters."""

    def predict(x):
        out = np.zeros((len(x), x.shape[1], len(fl.language(name).outputs)), dtype="float32")
        for i, seq in enumerate(x):
            steps = int(seq.any(axis=-1).sum())
            letters = seq[1:steps].argmax(-1) - 1
            out[i, :steps] = fl.legal_next(name, letters)
            if fail_above is not None and len(letters) > fail_above:
                out[i, :steps] = 1.0 - out[i, :steps]
        return out

    return predict


@pytest.mark.parametrize("name", fl.LANGUAGES)
def test_max_n_all_correct_with_oracles(name):
    assert fl.max_n_all_correct(oracle(name), name, 40)["max_n_all_correct"] == 40
    letters_per_n = {"anbn": 2, "anbncn": 3}.get(name)
    if letters_per_n:  # fails from n = 13 on
        result = fl.max_n_all_correct(oracle(name, 12 * letters_per_n), name, 60, max_tokens=200)
        assert result["max_n_all_correct"] == 12
        assert result["tested_up_to"] < 60  # stopped at the chunk with the first error
        full = fl.max_n_all_correct(oracle(name, 12 * letters_per_n), name, 60, stop_at_first_error=False)
        assert full["tested_up_to"] == 60 and full["strings_right"] == 12


def test_test_strings_per_size():
    one = fl.test_strings("parity", [3, 7], seed=4)
    many = fl.test_strings("parity", [3, 7], seed=4, per_n=5)
    assert many.sizes.tolist() == [3] * 5 + [7] * 5 and len(many) == 10
    np.testing.assert_array_equal(many.x[[0, 5]][:, : one.x.shape[1]], one.x)  # the first of each size
    assert len({many.x[i, :8].tobytes() for i in range(5, 10)}) > 1  # the others are fresh strings
    again = fl.test_strings("parity", [7], seed=4, per_n=5)
    np.testing.assert_array_equal(again.x, many.x[5:, : again.x.shape[1]])  # whatever else was asked for


def fails_when_first_letter_is(name, letter):
    """The oracle, but wrong on every string whose first letter is ``letter``."""
    exact = oracle(name)

    def predict(x):
        out = exact(x)
        out[x[:, 1, 1 + letter] == 1.0] = 1.0 - out[x[:, 1, 1 + letter] == 1.0]
        return out

    return predict


@pytest.mark.parametrize("max_tokens", [2**17, 300])
def test_accuracy_by_size_counts_the_strings_right_per_size(max_tokens):
    result = fl.accuracy_by_size(oracle("parity"), "parity", 30, per_n=8, seed=2, max_tokens=max_tokens)
    assert result["sizes"] == list(range(1, 31)) and result["accuracy"] == [1.0] * 30
    assert result["min_accuracy"] == 1.0 and result["strings_per_size"] == 8
    result = fl.accuracy_by_size(
        fails_when_first_letter_is("parity", 1), "parity", 30, per_n=8, seed=2, min_n=5, max_tokens=max_tokens
    )
    batch = fl.test_strings("parity", range(5, 31), seed=2, per_n=8)  # the same strings, scored by a loop
    expected = [
        np.mean([batch.x[i, 1, 2] == 0.0 for i in np.flatnonzero(batch.sizes == n)]) for n in range(5, 31)
    ]
    assert result["sizes"] == list(range(5, 31))
    np.testing.assert_allclose(result["accuracy"], expected)
    assert 0.0 < result["min_accuracy"] == min(expected) < 1.0
    assert result["worst_size"] == 5 + int(np.argmin(expected))


def test_accuracy_by_size_on_the_fixed_languages_and_bad_sizes():
    result = fl.accuracy_by_size(oracle("anbn", fail_above=2 * 12), "anbn", 20, per_n=50)
    assert result["strings_per_size"] == 1  # one string per size: tested once
    assert result["accuracy"] == [1.0] * 12 + [0.0] * 8 and result["worst_size"] == 13
    with pytest.raises(ValueError, match="min_n must be at most max_n"):
        fl.accuracy_by_size(oracle("parity"), "parity", 5, min_n=6)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        fl.accuracy_by_size(oracle("parity"), "parity", 5, per_n=0)


# -- hand-set counters ---------------------------------------------------------------------------------
def keras_counter(delta=0.1, forget_bias=30.0):
    """A Keras LSTM whose unit 0 counts (+delta per a, -delta per b) and unit 1 marks the b phase."""
    model = keras.Sequential(
        [
            keras.Input((None, 3)),
            keras.layers.LSTM(2, return_sequences=True),
            keras.layers.Dense(3, activation="sigmoid"),
        ]
    )
    kernel, rec, bias = np.zeros((3, 8), "float32"), np.zeros((2, 8), "float32"), np.zeros(8, "float32")
    bias[0:2], bias[2:4], bias[6:8] = 30.0, forget_bias, 30.0  # gates: input, forget, output (open)
    kernel[1, 4], kernel[2, 4] = np.arctanh(delta), -np.arctanh(delta)  # counter: +-delta
    kernel[2, 5] = 30.0  # phase: +1 per b
    model.layers[0].set_weights([kernel, rec, bias])
    model.layers[1].set_weights(list(_readout(np.tanh(delta))))
    return model


def _readout(step):
    """Outputs a (before any b), b (count > 0), T (b phase, count 0) from h = [counter, phase]."""
    w, b = np.zeros((2, 3), "float32"), np.zeros(3, "float32")
    w[1, 0], b[0] = -50.0, 19.0
    w[0, 1], b[1] = 200.0, -100.0 * step
    w[1, 2], w[0, 2], b[2] = 50.0, -40.0 / step, -19.0
    return w, b


def lstm1997_counter(delta=0.1):
    """The same counter in the 1997 layer: no forget gate, s += y_in * g with g = 2 tanh(net / 2)."""
    model = keras.Sequential(
        [
            keras.Input((None, 3)),
            LSTM1997(2, return_sequences=True),
            keras.layers.Dense(3, activation="sigmoid"),
        ]
    )
    kernel, rec, bias = np.zeros((3, 6), "float32"), np.zeros((2, 6), "float32"), np.zeros(6, "float32")
    bias[0:2], bias[4:6] = 30.0, 30.0  # input and output gates open
    z = 2.0 * np.arctanh(delta / 2.0)
    kernel[1, 2], kernel[2, 2] = z, -z
    kernel[2, 3] = 30.0
    model.layers[0].set_weights([kernel, rec, bias])
    model.layers[1].set_weights(list(_readout(np.tanh(delta / 2.0))))
    return model


def numpy_counter_max_n(forget, delta=0.1, max_n=200):
    """A NumPy simulation of keras_counter's gates: the first n whose end symbol comes out wrong."""
    step = np.tanh(delta)
    for n in range(1, max_n + 1):
        c0 = 0.0
        for _ in range(n):
            c0 = forget * c0 + delta
        for j in range(n):
            c0 = forget * c0 - delta
            last = j == n - 1
            says_end = 50 * np.tanh(j + 1) - 40.0 / step * np.tanh(c0) - 19 > 0
            says_b = 200 * np.tanh(c0) - 100 * step > 0
            if says_end != last or says_b == last:
                return n - 1
    return max_n


def predictor(model):
    return lambda x: model.predict(x, verbose=0, batch_size=512)


def test_hand_set_counters_generalise_and_a_random_model_does_not():
    assert fl.max_n_all_correct(predictor(keras_counter()), "anbn", 500)["max_n_all_correct"] == 500
    assert fl.max_n_all_correct(predictor(lstm1997_counter()), "anbn", 200)["max_n_all_correct"] == 200
    # a leaky counter (forget gate sigmoid(8) < 1) forgets its count where the NumPy cell says it must
    leaky = fl.max_n_all_correct(predictor(keras_counter(forget_bias=8.0)), "anbn", 300)["max_n_all_correct"]
    assert 10 < leaky < 100
    assert leaky == numpy_counter_max_n(1.0 / (1.0 + np.exp(-8.0)))
    for seed in range(3):
        keras.utils.set_random_seed(seed)
        random_model = keras.Sequential(
            [keras.Input((None, 3)), LSTM1997(4, return_sequences=True), keras.layers.Dense(3, "sigmoid")]
        )
        assert fl.max_n_all_correct(predictor(random_model), "anbn", 100)["max_n_all_correct"] < 3


# -- the counter analysis ------------------------------------------------------------------------------
def test_linear_fit_matches_numpy():
    rng = np.random.default_rng(0)
    t = rng.normal(size=50)
    v = 3.0 * t - 1.0 + rng.normal(0, 0.5, 50)
    slope, intercept, r2 = counting.linear_fit(v, t)
    np.testing.assert_allclose([slope, intercept], np.polyfit(t, v, 1), rtol=1e-10)
    np.testing.assert_allclose(r2, np.corrcoef(t, v)[0, 1] ** 2, rtol=1e-10)
    assert counting.linear_fit(np.ones(5), np.arange(5))[2] == 0.0
    with pytest.raises(ValueError, match="same length"):
        counting.linear_fit([1.0, 2.0], [1.0])
    states = rng.normal(size=(50, 4))
    states[:, 2] = 0.5 * t
    best = counting.best_linear_unit(states, t)
    assert best["unit"] == 2 and best["r2"] == pytest.approx(1.0) and best["slope"] == pytest.approx(0.5)


def test_state_traces_match_the_layers():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, 3))
    h = keras.layers.LSTM(4, return_sequences=True)(inputs)
    h = LSTM1997(3, return_sequences=True, forget_gate=True)(h)
    h = keras.layers.GRU(2, return_sequences=True)(h)
    model = keras.Model(inputs, keras.layers.Dense(3)(h))
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    lstm, lstm97, gru = counting.state_traces(model, x)
    seq, _, c = keras.layers.RNN(model.layers[1].cell, return_sequences=True, return_state=True)(x)
    np.testing.assert_allclose(lstm["output"], keras.ops.convert_to_numpy(seq), atol=1e-5)
    np.testing.assert_allclose(lstm["state"][:, -1], keras.ops.convert_to_numpy(c), atol=1e-5)
    gates = model.layers[2].gate_activations(lstm["output"])
    np.testing.assert_allclose(lstm97["state"], gates["cell_state"], atol=1e-5)
    np.testing.assert_allclose(gru["state"], gru["output"])  # a GRU's memory is its output
    with pytest.raises(ValueError, match="no recurrent"):
        counting.state_traces(keras.Sequential([keras.Input((None, 3)), keras.layers.Dense(2)]), x)


def test_counter_analysis_finds_the_hand_set_counter():
    report = counting.counter_analysis(keras_counter(), "anbn", n=100)
    (layer,) = report["layers"]
    assert layer["counter"]["unit"] == 0 and layer["counter"]["r2"] > 0.9999
    assert layer["counter"]["slope"] == pytest.approx(0.1, rel=1e-3)  # delta per a
    assert layer["phase"]["unit"] == 1 and layer["phase"]["r2"] > 0.99
    assert layer["state"].shape == (201, 2)
    fig = counting.plot_counter(report)
    assert len(fig.axes) == 3  # states (with the phase on a twin axis) and the fit
    # a leaky counter is a worse line of the count
    leaky = counting.counter_analysis(keras_counter(forget_bias=4.0), "anbn", n=100)
    assert leaky["layers"][0]["counter"]["r2"] < 0.9
    with pytest.raises(ValueError, match="anbn and anbncn"):
        counting.phase_indicator("parity", [0, 1])
