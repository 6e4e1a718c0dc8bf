"""The sLSTM against an independent NumPy reference (stabilised and raw exponential gates), its heads,
its start from zero states, and its Keras integration (masks, states, saving, export)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_test_utils import check_recurrent_layer
from reference_slstm import block_diagonal
from reference_slstm import forward as reference_forward

from lstm_apps.export import to_tflite
from lstm_apps.layers import recurrent
from lstm_apps.layers.slstm import SLSTM, SLSTMCell

OPTIONS = [(1, "sigmoid"), (1, "exp"), (2, "sigmoid"), (4, "exp")]


def _layer(units=8, input_dim=3, seed=0, dtype="float64", scale=0.7, **kwargs):
    """A built layer with random (not initial) weights."""
    layer = SLSTM(units, return_sequences=True, dtype=dtype, **kwargs)
    layer.build((None, None, input_dim))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=scale, size=w.shape) for w in layer.get_weights()])
    return layer


def _ref(layer, x, **kwargs):
    kernel, rec, bias = (np.asarray(w) for w in layer.get_weights())
    return reference_forward(
        x, kernel, rec, bias, layer.units, layer.num_heads, layer.cell.forget_activation, **kwargs
    )


@pytest.mark.parametrize("num_heads,forget_activation", OPTIONS)
def test_forward_matches_numpy_reference(num_heads, forget_activation):
    layer = _layer(num_heads=num_heads, forget_activation=forget_activation, return_state=True)
    x = np.random.default_rng(1).normal(size=(3, 25, 3))
    out, *states = layer(x)
    expected, ref_states, _ = _ref(layer, x)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-10, atol=1e-12)
    for got, want in zip(states, ref_states):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)
    # the stabiliser changes no output: the raw exponential gates give the same h
    raw, _, _ = _ref(layer, x, stabilised=False)
    np.testing.assert_allclose(np.asarray(out), raw, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("num_heads,forget_activation", OPTIONS)
def test_gate_step_matches_reference(num_heads, forget_activation):
    layer = _layer(num_heads=num_heads, forget_activation=forget_activation, seed=2)
    x = np.random.default_rng(3).normal(size=(2, 10, 3))
    expected, _, gates = _ref(layer, x)
    states = layer.cell.get_initial_state(batch_size=2)
    for t in range(x.shape[1]):
        out, states, got = layer.cell.gate_step(x[:, t], states)
        assert list(got) == ["input_gate", "forget_gate", "output_gate", "cell_state", "normalizer"]
        np.testing.assert_allclose(np.asarray(out), expected[:, t], rtol=1e-10, atol=1e-12)
        for name, value in got.items():
            np.testing.assert_allclose(np.asarray(value), gates[name][:, t], rtol=1e-10, atol=1e-12)
    # the first step (n = 0) has i' = 1, f' = 0; after it the larger stabilised gate is 1 and the other at
    # most 1, so the normaliser never drops below 1
    np.testing.assert_allclose(gates["input_gate"][:, 0], 1.0)
    np.testing.assert_array_equal(gates["forget_gate"][:, 0], 0.0)
    later = np.stack([gates["input_gate"][:, 1:], gates["forget_gate"][:, 1:]])
    np.testing.assert_allclose(later.max(0), 1.0)
    assert later.min() < 0.9 and later.max() <= 1.0 + 1e-12
    assert gates["normalizer"].min() >= 1.0 - 1e-12


def test_first_step_from_zero_states_is_output_gate_times_z():
    """n_0 = 0: m_1 = i~_1 as in the reference, so h_1 = o_1 tanh(z~_1), even when exp(i~) underflows."""
    layer = _layer(units=4, dtype="float32", seed=4)
    kernel, rec, bias = layer.get_weights()
    bias[:4] = -300.0  # exp(i~ - m) with any other stabiliser would underflow to 0 / 0
    layer.set_weights([kernel, rec, bias])
    x = np.random.default_rng(5).normal(size=(3, 2, 3)).astype("float32")
    out = np.asarray(layer(x))
    pre = x[:, 0] @ kernel + bias
    expected = 1 / (1 + np.exp(-pre[:, 12:])) * np.tanh(pre[:, 8:12])
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(out))
    # per element: a row that starts afresh (n = 0) beside rows that do not
    h0, c0, n0, m0 = (
        np.random.default_rng(6).uniform(0.5, 1.5, size=(3, 4)).astype("float32") for _ in range(4)
    )
    n0[1] = 0.0
    h0[1] = c0[1] = m0[1] = 0.0
    states = [h0, c0, n0, m0]
    first, *_ = _ref(layer, x[:, :1], states=states)
    cell_out, _ = layer.cell(x[:, 0], states)
    np.testing.assert_allclose(np.asarray(cell_out), first[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(cell_out)[1], expected[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("num_heads", [1, 2, 4])
def test_weight_layout_counts_and_block_diagonal_recurrence(num_heads):
    units, input_dim = 8, 3
    layer = SLSTM(units, num_heads=num_heads, forget_bias=2.0)
    layer.build((None, 5, input_dim))
    d = units // num_heads
    shapes = [tuple(w.shape) for w in layer.weights]
    rec_shape = (units, 4 * units) if num_heads == 1 else (num_heads, d, 4 * d)
    assert shapes == [(input_dim, 4 * units), rec_shape, (4 * units,)]
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    n_params = sum(int(np.prod(s)) for s in shapes)
    assert n_params == 4 * units * (input_dim + units // num_heads + 1)
    bias = layer.get_weights()[2]
    np.testing.assert_array_equal(bias[units : 2 * units], 2.0)
    np.testing.assert_array_equal(np.delete(bias, np.s_[units : 2 * units]), 0.0)
    # the recurrent product equals the block-diagonal matrix; a head sees only its own outputs
    rng = np.random.default_rng(7)
    rec = rng.normal(size=rec_shape)
    layer.cell.recurrent_kernel.assign(rec)
    h = rng.normal(size=(2, units)).astype("float32")
    full = block_diagonal(rec, units, num_heads)
    np.testing.assert_allclose(np.asarray(layer.cell.recurrent_projection(h)), h @ full, rtol=1e-5, atol=1e-5)
    if num_heads > 1:
        moved = h.copy()
        moved[:, :d] += 1.0  # change head 0's output only
        diff = np.asarray(layer.cell.recurrent_projection(moved) - layer.cell.recurrent_projection(h))
        per_gate = diff.reshape(2, 4, num_heads, d)
        assert np.abs(per_gate[:, :, 0]).max() > 1e-3
        np.testing.assert_array_equal(per_gate[:, :, 1:], 0.0)


def test_per_unit_forget_bias():
    layer = SLSTM(4, forget_bias=[1.0, 2.0, 3.0, 4.0])
    layer.build((None, 5, 2))
    np.testing.assert_array_equal(layer.get_weights()[2][4:8], [1, 2, 3, 4])
    assert layer.get_config()["forget_bias"] == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("num_heads", [1, 2])
def test_masks_and_initial_state(num_heads):
    layer = _layer(num_heads=num_heads, seed=8, return_state=True)
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3, 9, 3))
    states = [
        rng.normal(size=(3, 8)),
        rng.normal(size=(3, 8)),
        rng.uniform(1, 2, (3, 8)),
        rng.normal(size=(3, 8)),
    ]
    mask = np.ones((3, 9), bool)
    mask[0, :3] = False
    mask[1, 6:] = False
    mask[2, ::2] = False
    out, *final = layer(x, initial_state=states, mask=mask)
    expected, ref_final, _ = _ref(layer, x, states=states, mask=mask)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-10, atol=1e-12)
    for got, want in zip(final, ref_final):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(
        np.asarray(out)[0, :3], 0.0
    )  # as keras.layers.RNN: zeros before the first step


def test_masked_sequence_equals_its_unpadded_part_through_embedding():
    tokens = np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]])
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(6, 3, mask_zero=True),
            SLSTM(4, num_heads=2),
        ]
    )
    short = keras.Sequential([keras.Input((3,), dtype="int32"), model.layers[0], model.layers[1]])
    np.testing.assert_allclose(
        model.predict(tokens, verbose=0)[0], short.predict(tokens[:1, :3], verbose=0)[0], atol=1e-6
    )


@pytest.mark.parametrize("kwargs", [{"num_heads": 1}, {"num_heads": 2, "forget_activation": "exp"}])
def test_layer_contract(kwargs, tmp_path):
    units, input_dim = 4, 5
    check_recurrent_layer(
        lambda: SLSTM(units, **kwargs),
        input_shape=(3, 7, input_dim),
        expected_output_shape=(3, units),
        expected_weight_count=4 * units * (input_dim + units // kwargs["num_heads"] + 1),
        tmp_path=tmp_path,
    )


def test_cell_in_plain_rnn(tmp_path):
    check_recurrent_layer(
        lambda: SLSTMCell(4, num_heads=2),
        input_shape=(2, 6, 3),
        expected_output_shape=(2, 4),
        expected_weight_count=4 * 4 * (3 + 2 + 1),
        tmp_path=tmp_path,
    )


def test_functional_return_state_round_trip(tmp_path):
    x = np.random.default_rng(10).normal(size=(4, 10, 3)).astype("float32")
    inp = keras.Input((None, 3))
    out, h, c, n, m = SLSTM(6, num_heads=3, forget_activation="exp", return_state=True)(inp)
    model = keras.Model(inp, [out, h, c, n, m])
    o, h_, *_ = model.predict(x, verbose=0)
    np.testing.assert_allclose(o, h_)
    model.save(tmp_path / "s.keras")
    again = keras.models.load_model(tmp_path / "s.keras")
    layer = again.layers[1]
    assert isinstance(layer, SLSTM) and layer.num_heads == 3 and layer.cell.forget_activation == "exp"
    for a, b in zip(again.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, atol=1e-6)


# the bounded sigmoid forget gate runs with -m slow (18 s of a loaded run); the exponential one, whose
# stabiliser is what can overflow, runs by default
@pytest.mark.parametrize("forget_activation", [pytest.param("sigmoid", marks=pytest.mark.slow), "exp"])
def test_gradients_finite_over_long_sequences(forget_activation):
    layer = _layer(
        units=8, num_heads=2, dtype="float32", seed=11, scale=2.0, forget_activation=forget_activation
    )
    x = tf.constant(np.random.default_rng(12).normal(size=(2, 500, 3)).astype("float32") * 3)

    @tf.function
    def gradients():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(layer(x)))
        return tape.gradient(loss, layer.trainable_variables)

    for g in gradients():
        g = np.asarray(g)
        assert np.all(np.isfinite(g)) and np.abs(g).max() > 0


def test_gradient_matches_finite_differences_of_reference():
    layer = _layer(units=4, num_heads=2, seed=13, forget_activation="exp")
    rng = np.random.default_rng(14)
    x = rng.normal(size=(1, 6, 3))
    dh = rng.normal(size=(1, 6, 4))
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(xv) * dh)
    grad = np.asarray(tape.gradient(loss, xv))
    eps = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = (np.sum(_ref(layer, xp)[0] * dh) - np.sum(_ref(layer, xm)[0] * dh)) / (2 * eps)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"units": 0}, "units=0"),
        ({"units": -2}, "units=-2"),
        ({"units": 8, "num_heads": 0}, "num_heads=0"),
        ({"units": 8, "num_heads": 3}, "num_heads=3"),
        ({"units": 8, "forget_activation": "relu"}, "forget_activation='relu'"),
        ({"units": 8, "forget_bias": float("nan")}, "forget_bias=nan"),
        ({"units": 8, "forget_bias": float("inf")}, "forget_bias=inf"),
        ({"units": 2, "forget_bias": [1.0, float("-inf")]}, "forget_bias"),
        ({"units": 4, "forget_bias": [1.0, 2.0]}, "length 2"),
        ({"units": 4, "forget_bias": "big"}, "forget_bias='big'"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SLSTM(**kwargs)
    with pytest.raises(ValueError, match=match):
        SLSTMCell(**kwargs)


def test_two_dimensional_input_raises():
    with pytest.raises(ValueError, match=r"3-D inputs.*\(2, 5\)"):
        SLSTM(4)(np.zeros((2, 5), "float32"))


def test_factory_builder():
    layer = recurrent("slstm", 8, num_heads=2, return_sequences=True)
    assert isinstance(layer, SLSTM) and layer.num_heads == 2 and layer.return_sequences


@pytest.mark.parametrize("num_heads,forget_activation", [(1, "sigmoid"), (2, "exp")])
def test_streaming_tflite_parity_over_1000_steps(num_heads, forget_activation, tmp_path):
    keras.utils.set_random_seed(15)
    inp = keras.Input((None, 3))
    h = SLSTM(8, num_heads=num_heads, forget_activation=forget_activation, return_sequences=True)(inp)
    model = keras.Model(inp, keras.layers.Dense(2)(h))
    layer = model.layers[1]
    rng = np.random.default_rng(16)
    layer.set_weights(
        [w + rng.normal(scale=0.3, size=w.shape).astype("float32") for w in layer.get_weights()]
    )
    x = rng.normal(size=(2, 1000, 3)).astype("float32")
    result = to_tflite(model, tmp_path / "slstm.tflite", mode="streaming", parity_inputs=x)
    assert result.parity_shape == (2, 1000, 3)
    assert result.state_names == [f"state_{layer.name}_{i}" for i in range(4)]
    assert result.parity_max_abs <= 1e-5, result.parity_max_abs
