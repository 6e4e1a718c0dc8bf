"""The causal Transformer baseline (lstm_apps.baselines.transformer).

Masks against a NumPy reference; causality and the window's reach checked on
outputs (a step's output does not move when inputs it may not see change);
parameter counts against Keras; inference memory from the layers' shapes.
"""

import keras
import numpy as np
import pytest

from lstm_apps.baselines import transformer as tf_baseline
from lstm_apps.datasets.delayed_copy import delayed_copy
from lstm_apps.layers import LSTM1997


def reference_mask(steps, window):
    i, j = np.meshgrid(np.arange(steps), np.arange(steps), indexing="ij")
    return (j <= i) & ((i - j < window) if window else True)


@pytest.mark.parametrize("window", [None, 1, 3, 10])
def test_attention_mask_matches_numpy(window):
    got = keras.ops.convert_to_numpy(tf_baseline.attention_mask(7, window))
    np.testing.assert_array_equal(got, reference_mask(7, window))


def test_attention_mask_refuses_a_bad_window():
    with pytest.raises(ValueError, match="window must be a positive integer"):
        tf_baseline.attention_mask(5, 0)


def test_sinusoidal_positions_match_the_formula():
    layer = tf_baseline.PositionEmbedding("sinusoidal")
    out = keras.ops.convert_to_numpy(layer(np.zeros((1, 5, 6), "float32")))[0]
    rates = np.exp(-np.log(10000.0) * np.arange(3) / 3)
    angles = np.arange(5)[:, None] * rates[None]
    np.testing.assert_allclose(out, np.concatenate([np.sin(angles), np.cos(angles)], axis=1), atol=1e-5)
    learned = tf_baseline.PositionEmbedding("learned", max_length=3)
    table = keras.ops.convert_to_numpy(learned(np.zeros((1, 6, 2), "float32")))[0]
    np.testing.assert_array_equal(table[3:], table[[2, 2, 2]])  # past max_length: the last vector
    assert not np.array_equal(table[0], table[1])
    with pytest.raises(ValueError, match="max_length must be a positive integer"):
        tf_baseline.PositionEmbedding("learned")
    with pytest.raises(ValueError, match="kind must be one of"):
        tf_baseline.PositionEmbedding("rotary")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"d_model": 8, "heads": 2, "layers": 1, "ff_dim": 16},
        {"d_model": 16, "heads": 4, "layers": 3},
        {"d_model": 12, "heads": 3, "layers": 2, "positions": "learned", "max_length": 40},
    ],
)
def test_parameter_count_matches_keras(kwargs):
    model = tf_baseline.causal_transformer(5, 3, **kwargs)
    assert model.count_params() == tf_baseline.transformer_parameter_count(5, 3, **kwargs)


def test_causal_and_windowed():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(2, 30, 4)).astype("float32")
    full = tf_baseline.causal_transformer(4, 3, d_model=16, heads=2, layers=2)
    banded = tf_baseline.causal_transformer(4, 3, d_model=16, heads=2, layers=2, window=5)
    assert tf_baseline.attention_reach(full) is None and tf_baseline.attention_reach(banded) == 8
    for model in (full, banded):
        later = x.copy()
        later[:, 20:] = 0.0
        np.testing.assert_allclose(
            model.predict(x, verbose=0)[:, :20], model.predict(later, verbose=0)[:, :20]
        )
    early = x.copy()
    early[:, :5] = 0.0  # steps 0..4: beyond the reach (8) of steps 13 and later
    same, moved = banded.predict(x, verbose=0), banded.predict(early, verbose=0)
    np.testing.assert_allclose(same[:, 13:], moved[:, 13:], atol=1e-6)
    assert np.abs(same[:, 5:12] - moved[:, 5:12]).max() > 1e-3  # within reach: they see it
    assert np.abs(full.predict(x, verbose=0)[:, 13:] - full.predict(early, verbose=0)[:, 13:]).max() > 1e-3


def test_a_windowed_transformer_cannot_recall_beyond_its_reach():
    """Delayed copy with a lag past the reach: the recall outputs are the same whatever the symbols."""
    keras.utils.set_random_seed(1)
    model = tf_baseline.causal_transformer(
        6, 4, d_model=8, heads=2, layers=1, window=6, output_activation="softmax"
    )
    a = delayed_copy(8, delay=10, symbols=2, alphabet=4, seed=0)
    b = delayed_copy(8, delay=10, symbols=2, alphabet=4, seed=1)
    assert not np.array_equal(a.symbols, b.symbols)
    recall = a.weights[0] > 0
    pa, pb = model.predict(a.x, verbose=0), model.predict(b.x, verbose=0)
    np.testing.assert_allclose(pa[:, recall], pb[:, recall], atol=1e-6)


def test_save_and_load_round_trip(tmp_path):
    model = tf_baseline.causal_transformer(
        4, 2, d_model=8, heads=2, layers=1, window=3, positions="learned", max_length=20
    )
    x = np.random.default_rng(0).normal(size=(1, 9, 4)).astype("float32")
    model.save(tmp_path / "t.keras")
    loaded = keras.models.load_model(tmp_path / "t.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.get_layer("block_0").window == 3


def test_block_refuses_bad_shapes():
    with pytest.raises(ValueError, match="heads must divide d_model"):
        tf_baseline.TransformerBlock(10, 3, 16)
    with pytest.raises(ValueError, match="layers must be a positive integer"):
        tf_baseline.causal_transformer(3, 2, layers=0)


def test_match_size():
    def lstm_count(units, inputs=5):
        return 4 * units * (units + inputs + 1)

    for target in (100, 1000, 17_000, 123_456):
        brute = min(range(1, 400), key=lambda u: (abs(lstm_count(u) - target), u))
        assert tf_baseline.match_size(lstm_count, target) == brute
    built = tf_baseline.match_size(
        lambda u: keras.Sequential([keras.Input((None, 5)), keras.layers.LSTM(u)]).count_params(),
        1000,
        high=64,
    )
    assert built == tf_baseline.match_size(lstm_count, 1000)
    with pytest.raises(ValueError, match="low <= high"):
        tf_baseline.match_size(lstm_count, 100, low=5, high=2)


def test_inference_memory_from_shapes():
    def stack(layer):
        return keras.Sequential([keras.Input((None, 3)), layer, keras.layers.Dense(2)])

    for steps in (10, 1000):
        assert tf_baseline.inference_memory(stack(keras.layers.LSTM(8)), steps)["total"] == 16
        assert tf_baseline.inference_memory(stack(keras.layers.GRU(8)), steps)["total"] == 8
        assert tf_baseline.inference_memory(stack(LSTM1997(8)), steps)["total"] == 16
    banded = tf_baseline.causal_transformer(3, 2, d_model=16, heads=4, layers=2, window=64)
    full = tf_baseline.causal_transformer(3, 2, d_model=16, heads=4, layers=2)
    per_step = 2 * 2 * 16  # layers x (keys + values) x heads * key_dim
    assert tf_baseline.inference_memory(banded, 10)["kv_cache"] == per_step * 10
    assert tf_baseline.inference_memory(banded, 100)["kv_cache"] == per_step * 64
    assert tf_baseline.inference_memory(banded, 5000)["kv_cache"] == per_step * 64
    assert tf_baseline.inference_memory(full, 5000)["kv_cache"] == per_step * 5000
    with pytest.raises(ValueError, match="no recurrent layer"):
        tf_baseline.inference_memory(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), 5)
