"""The fused loops against the generic ``keras.layers.RNN`` loop (outputs, final states, gradients):
the gray-box cells (``GrayBoxRNN``, ``lstm_apps.layers.kernels.graybox_tf``), the sLSTM's inference
loop, and the linear recurrence of the min cells (``lstm_apps.layers.kernels.linear_tf``)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_test_utils import assert_same_outputs_and_grads, check_recurrent_layer, outputs_and_grads

from lstm_apps.layers import (
    SLSTM,
    AdaptiveForgetCell,
    ForgettingCurveCell,
    GrayBoxRNN,
    MethylationCell,
    MinGRU,
    MinLSTM,
    recurrent,
)
from lstm_apps.layers.kernels import linear_recurrence

B, T, U = 3, 13, 4  # T = 5 steps before the loop + one chunk of UNROLL=8

# (cell factory, input features, how to draw inputs)
CELLS = {
    "adaptive_forget": (lambda: AdaptiveForgetCell(U), 2, "normal"),
    "adaptive_forget_per_unit": (
        lambda: AdaptiveForgetCell(U, shared_forget=False, return_index=1, recurrent_forget=False),
        3,
        "normal",
    ),
    "forgetting_curve": (lambda: ForgettingCurveCell(U), 4, "events"),
    "forgetting_curve_activation": (lambda: ForgettingCurveCell(U, readout="activation"), 2, "events"),
    "methylation": (lambda: MethylationCell(U), 1, "dose"),
    "methylation_zeros": (lambda: MethylationCell(U, initial_state="zeros"), 1, "dose"),
}

# the layer options each case runs with, cycled over the cells
OPTIONS = [
    dict(return_sequences=True),
    dict(return_sequences=False, return_state=True, go_backwards=True),
    dict(return_sequences=True, zero_output_for_mask=True, go_backwards=True),
    dict(return_sequences=True, return_state=True),
]


def _inputs(kind, features, seed):
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(size=(B, T, features)).astype("float32")
    if kind == "dose":
        return rng.uniform(-0.2, 1.2, size=(B, T, 1)).astype("float32")  # clipped into [0, 1]
    x = rng.normal(size=(B, T, features)).astype("float32")
    x[:, :, 0] = rng.exponential(2.0, size=(B, T))  # elapsed time (a few negative ones below)
    x[:, 0, 0] = -0.5
    x[:, :, 1] = rng.integers(0, 2, size=(B, T))  # study events
    return x


def _pair(name, **options):
    make, features, kind = CELLS[name]
    fused = GrayBoxRNN(make(), **options)
    generic = GrayBoxRNN(make(), fused=False, **options)
    x = _inputs(kind, features, 0)
    fused(x)
    generic(x)
    rng = np.random.default_rng(1)
    weights = [w + rng.uniform(-0.3, 0.3, size=w.shape).astype("float32") for w in fused.get_weights()]
    fused.set_weights(weights)
    generic.set_weights(weights)
    assert fused.uses_fused_loop() and not generic.uses_fused_loop()
    return fused, generic, features, kind


_outputs_and_grads = outputs_and_grads
_assert_same = assert_same_outputs_and_grads


# the activation readout and the per-unit adaptive cell run with -m slow (about 15 s each on an idle
# machine): the default run covers each cell's loop once
SLOW_CELLS = ("forgetting_curve_activation", "adaptive_forget_per_unit")


@pytest.mark.parametrize(
    "index, name",
    [
        pytest.param(i, name, marks=pytest.mark.slow) if name in SLOW_CELLS else (i, name)
        for i, name in enumerate(CELLS)
    ],
)
def test_fused_loop_matches_generic_outputs_and_gradients(index, name):
    options = OPTIONS[index % len(OPTIONS)]
    fused, generic, features, kind = _pair(name, **options)
    x = _inputs(kind, features, index + 10)
    _assert_same(fused, generic, x)
    rng = np.random.default_rng(index)
    mask = rng.random((B, T)) > 0.3
    mask[0, :3] = False  # leading masked steps
    mask[1, -2:] = False  # trailing masked steps
    n_states = len(fused.cell.state_size) if isinstance(fused.cell.state_size, (list, tuple)) else 1
    init = [rng.uniform(0.0, 1.0, size=(B, U)).astype("float32") for _ in range(n_states)]
    _assert_same(fused, generic, _inputs(kind, features, index + 20), init, tf.constant(mask))


def test_factory_kinds_run_fused_and_round_trip(tmp_path):
    for kind in ("adaptive_forget", "forgetting_curve", "methylation"):
        layer = recurrent(kind, 3, return_sequences=True)
        assert isinstance(layer, GrayBoxRNN) and layer.fused
    model = check_recurrent_layer(
        lambda: GrayBoxRNN(AdaptiveForgetCell(5), return_sequences=True),
        input_shape=(4, 10, 2),
        expected_output_shape=(4, 10, 5),
        tmp_path=tmp_path,
    )
    (layer,) = [candidate for candidate in model.layers if isinstance(candidate, GrayBoxRNN)]
    assert layer.uses_fused_loop() and layer.get_config()["fused"] is True
    assert GrayBoxRNN.from_config({**layer.get_config(), "fused": False}).fused is False
    with pytest.raises(ValueError, match="fused must be True or False"):
        GrayBoxRNN(MethylationCell(2), fused="yes")


# the forgetting cell's loop without XLA (unknown length) takes about 20 s: slow
@pytest.mark.parametrize("name", ["methylation", pytest.param("forgetting_curve", marks=pytest.mark.slow)])
def test_fit_with_unknown_batch_and_length_matches_generic(name):
    """``Input((None, F))`` (the recipes' variable lengths): the loop runs without XLA; a few
    SGD steps leave the same weights as the generic loop."""
    make, features, kind = CELLS[name]
    x = _inputs(kind, features, 3)
    y = np.random.default_rng(4).random((B, T, 1)).astype("float32")
    finals = []
    for fused in (True, False):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((None, features)),
                GrayBoxRNN(make(), fused=fused, return_sequences=True),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, epochs=3, batch_size=2, verbose=0, shuffle=False)
        finals.append(model.get_weights())
    for a, b in zip(*finals):
        np.testing.assert_allclose(a, b, atol=1e-5)


def _mask(seed):
    mask = np.random.default_rng(seed).random((B, T)) > 0.3
    mask[0, :3] = False
    mask[1, -2:] = False
    return tf.constant(mask)


@pytest.mark.parametrize(
    "options",
    [
        dict(num_heads=1, return_sequences=True, return_state=True),
        # heads, the exponential forget gate, go_backwards: about 25 s, slow
        pytest.param(
            dict(num_heads=2, forget_activation="exp", go_backwards=True, zero_output_for_mask=True),
            marks=pytest.mark.slow,
        ),
    ],
    ids=["one_head_states", "two_heads_exp_backwards"],
)
def test_slstm_inference_loop_matches_generic(options):
    """Inference runs the fused loop (and a gradient of it is right); training the generic one."""
    fused, generic = SLSTM(U, **options), SLSTM(U, fused=False, **options)
    x = np.random.default_rng(2).normal(size=(B, T, 3)).astype("float32")
    fused(x)
    generic(x)
    generic.set_weights(fused.get_weights())
    assert fused.uses_fused_loop() and not generic.uses_fused_loop()
    assert fused.get_config()["fused"] is True and SLSTM.from_config(generic.get_config()).fused is False
    init = [np.random.default_rng(3).uniform(0.0, 1.0, size=(B, U)).astype("float32") for _ in range(4)]
    _assert_same(fused, generic, x, init, _mask(4), training=False)


@pytest.mark.parametrize("layer", [MinGRU, MinLSTM])
def test_min_cells_cpu_loop_matches_the_step_loop(layer):
    """On a CPU ``parallel=True`` runs the compiled linear recurrence: it equals the step loop."""
    fused = layer(U, return_sequences=True, go_backwards=True, return_state=True)
    steps = layer(U, return_sequences=True, go_backwards=True, return_state=True, parallel=False)
    x = np.random.default_rng(5).normal(size=(B, T, 3)).astype("float32")
    fused(x)
    steps(x)
    steps.set_weights(fused.get_weights())
    init = [np.random.default_rng(6).normal(size=(B, U)).astype("float32")]
    _assert_same(fused, steps, x, init, _mask(7))


def test_linear_recurrence_against_numpy_and_autodiff():
    rng = np.random.default_rng(8)
    a = rng.uniform(0.0, 1.2, size=(2, 9, 3)).astype("float32")
    b, h0 = rng.normal(size=(2, 9, 3)).astype("float32"), rng.normal(size=(2, 3)).astype("float32")
    expected, h = [], h0.astype("float64")
    for t in range(9):
        h = a[:, t] * h + b[:, t]
        expected.append(h)
    weights = tf.constant(rng.normal(size=(2, 9, 3)).astype("float32"))
    grads = []
    for run in (linear_recurrence, _python_recurrence):
        args = [tf.constant(v) for v in (a, b, h0)]
        with tf.GradientTape() as tape:
            tape.watch(args)
            out = run(*args)
            loss = tf.reduce_sum(out * weights)
        grads.append(tape.gradient(loss, args))
        np.testing.assert_allclose(out.numpy(), np.stack(expected, axis=1), rtol=1e-5, atol=1e-6)
    for got, want in zip(*grads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def _python_recurrence(a, b, h0):
    h, out = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return tf.stack(out, axis=1)
