"""The layers of ``lstm_apps.layers`` on the current Keras backend: golden values, training, ``.keras`` files.

Not collected by the default run (the name does not start with ``test_``):
Keras picks its backend at import, so ``tests/test_backends.py`` runs this
module in a subprocess per backend (``KERAS_BACKEND=jax`` and ``torch``), and
it runs on TensorFlow too (``KERAS_BACKEND=tensorflow python -m pytest
tests/backend_layer_checks.py``). Every check compares with the NumPy
references (``tests/reference_*.py``, the library's own reference functions)
within 1e-5 (float32), so equal values on every backend follow.

With ``LSTM_APPS_BACKEND_EXCHANGE=DIR`` the ``.keras`` files that other
backends saved under ``DIR/<backend>/`` are loaded and must reproduce the
outputs saved beside them, and this backend's files are saved for the next.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import lstm_apps.layers as layers
from lstm_apps.layers import (
    LSTM1997,
    SLSTM,
    AdaptiveForgetCell,
    ForgettingCurveCell,
    MethylationCell,
    MinGRU,
    MinLSTM,
    forgetting_cell_reference,
    methylation_cell_reference,
    recurrent,
    recurrent_kinds,
)

#: whether importing the layers loaded TensorFlow (it must not on another backend)
TENSORFLOW_AT_IMPORT = "tensorflow" in sys.modules

import reference_min_rnn
import reference_slstm
from layer_test_utils import check_recurrent_layer
from reference_lstm1997 import Reference
from test_adaptive_forget import reference as adaptive_forget_reference

BACKEND = keras.backend.backend()
EXCHANGE = os.environ.get("LSTM_APPS_BACKEND_EXCHANGE")
ATOL = 1e-5  # float32 against float64 references
B, T, F, U = 3, 7, 3, 4

# cells_per_block, forget_gate, squash, truncate_gradients: all 16 run with -m slow
LSTM1997_OPTIONS = list(itertools.product([1, 2], [False, True], ["paper", "tanh"], [True, False]))
PAPER, EVERY_OPTION = (1, False, "paper", True), (2, True, "tanh", False)  # the default run's two
#: the fast path where this backend has one (TensorFlow, JAX), and the generic loop
FAST_PATHS = [True, False] if BACKEND in ("jax", "tensorflow") else [False]


def _params(cases, default):
    """``cases`` as pytest parameters, those not in ``default`` marked slow."""
    return [c if c in default else pytest.param(*c, marks=pytest.mark.slow) for c in cases]


def numpy(value):
    """A backend tensor (or variable) as a NumPy array, whatever the backend."""
    return np.asarray(keras.ops.convert_to_numpy(value))


def outputs_and_gradients(layer, x, initial_state=None, mask=None, seed=0):
    """The layer's outputs and the gradients of ``sum_k sum(w_k * output_k)`` (fixed weights ``w_k``)
    with respect to ``x``, the initial states and the trainable variables, on the current backend.

    Returns ``(outputs, gradients)``: lists of NumPy arrays; an input the loss does not depend on
    gets zeros.
    """
    initial_state = list(initial_state or [])
    variables = list(layer.trainable_variables)
    rng = np.random.default_rng(seed)

    def weighted(outs, xp):
        total = 0.0
        for o in outs:
            w = rng.normal(size=tuple(o.shape)).astype("float32")  # drawn in call order: same every call
            total = total + xp.sum(o * xp.asarray(w))
        return total

    def as_list(out):
        return list(out) if isinstance(out, (list, tuple)) else [out]

    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        def loss(trainable, x, init):
            out, _ = layer.stateless_call(
                trainable, [v.value for v in layer.non_trainable_variables], x,
                initial_state=init or None, mask=mask, training=True,
            )  # fmt: skip
            outs = as_list(out)
            return weighted(outs, jnp), outs

        fn = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True))
        (_, outs), (d_vars, d_x, d_init) = fn([v.value for v in variables], x, initial_state)
        grads = [d_x, *d_init, *d_vars]
    elif BACKEND == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        init = [torch.tensor(s, requires_grad=True) for s in initial_state]
        outs = as_list(layer(xt, initial_state=init or None, mask=mask, training=True))
        total = weighted(outs, _TorchNumpy)
        sources = [xt, *init, *[v.value for v in variables]]
        grads = torch.autograd.grad(total, sources, allow_unused=True)
        grads = [torch.zeros_like(s) if g is None else g for s, g in zip(sources, grads)]
        grads = [g.detach() for g in grads]
        outs = [o.detach() for o in outs]
    else:
        import tensorflow as tf

        xt = tf.constant(x)
        init = [tf.constant(s) for s in initial_state]
        with tf.GradientTape() as tape:
            tape.watch([xt, *init])
            outs = as_list(layer(xt, initial_state=init or None, mask=mask, training=True))
            total = weighted(outs, tf.experimental.numpy)
        sources = [xt, *init, *variables]
        grads = tape.gradient(total, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return [numpy(o) for o in outs], [numpy(g) for g in grads]


class _TorchNumpy:
    """``sum`` and ``asarray`` of torch, as :func:`outputs_and_gradients` calls them."""

    @staticmethod
    def sum(v):
        return v.sum()

    @staticmethod
    def asarray(v):
        import torch

        return torch.as_tensor(v)


def _random_weights(layer, seed, scale=0.6):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32") for w in layer.get_weights()])


# -- import -------------------------------------------------------------------------------------------
def test_layers_import_without_tensorflow():
    if BACKEND == "tensorflow":
        pytest.skip("the TensorFlow backend loads TensorFlow itself")
    assert not TENSORFLOW_AT_IMPORT, "importing lstm_apps.layers loaded tensorflow"


# -- the 1997 layer -----------------------------------------------------------------------------------
def _lstm1997(fast_path, cpb=1, forget=False, squash="paper", truncate=True, seed=0, **kwargs):
    layer = LSTM1997(
        U, cells_per_block=cpb, forget_gate=forget, squash=squash, truncate_gradients=truncate,
        fast_path=fast_path, return_sequences=True, **kwargs,
    )  # fmt: skip
    layer.build((None, None, F))
    _random_weights(layer, seed)
    return layer


def _reference(layer):
    k, r, b = (np.asarray(w, "float64") for w in layer.get_weights())
    return Reference(k, r, b, layer.units, layer.cells_per_block, layer.forget_gate, layer.squash)


@pytest.mark.parametrize(
    "fast_path,cpb,forget,squash,truncate",
    _params(
        [(f, *o) for f in FAST_PATHS for o in LSTM1997_OPTIONS],
        {(f, *o) for f in FAST_PATHS for o in (PAPER, EVERY_OPTION)},
    ),
)
def test_lstm1997_outputs_gates_and_gradients_match_reference(fast_path, cpb, forget, squash, truncate):
    layer = _lstm1997(fast_path, cpb, forget, squash, truncate, seed=5)
    assert layer.uses_fast_path() == fast_path
    rng = np.random.default_rng(6)
    x = rng.normal(size=(B, T, F)).astype("float32")
    h0, s0 = (rng.normal(scale=0.5, size=(B, U)).astype("float32") for _ in range(2))
    ref = _reference(layer)
    ref_h, ref_gates = ref.forward(x, h0, s0)
    outs, grads = outputs_and_gradients(layer, x, [h0, s0], seed=7)
    np.testing.assert_allclose(outs[0], ref_h, atol=ATOL)
    dh = np.random.default_rng(7).normal(size=(B, T, U)).astype("float32")  # the loss's weights
    expected = ref.backward(dh, truncate=truncate)
    for key, got in zip(["x", "h0", "s0", "kernel", "recurrent_kernel", "bias"], grads):
        np.testing.assert_allclose(got, expected[key], rtol=1e-4, atol=1e-4, err_msg=key)
    ref_h, ref_gates = ref.forward(x)
    gates = layer.gate_activations(x)
    for name in ("input_gate", "output_gate", "cell_state") + (("forget_gate",) if forget else ()):
        np.testing.assert_allclose(gates[name], ref_gates[name], atol=ATOL, err_msg=name)
    np.testing.assert_allclose(gates["output"], ref_h, atol=ATOL)


# the default run: the generic loop (PyTorch, TensorFlow); JAX's kernel takes these options in
# test_jax_kernel_matches_generic_loop (masks, go_backwards, return_state), so here with -m slow
OPTION_PATHS = _params([(f,) for f in FAST_PATHS], () if BACKEND == "jax" else {(False,)})


@pytest.mark.parametrize("fast_path", OPTION_PATHS)
def test_lstm1997_layer_options(fast_path):
    """return_state, go_backwards, masks, stateful, unroll and per-block biases against the reference."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(B, T, F)).astype("float32")
    layer = _lstm1997(fast_path, cpb=2, seed=9, return_state=True, input_gate_bias=[-1.0, -3.0])
    ref = _reference(layer)
    ref_h = ref.forward(x)[0]
    out, h, s = (numpy(v) for v in layer(x))
    np.testing.assert_allclose(out, ref_h, atol=ATOL)
    np.testing.assert_allclose(h, ref_h[:, -1], atol=ATOL)
    np.testing.assert_allclose(s, ref.cache["s"][-1], atol=ATOL)
    # go_backwards: the reference on the reversed steps (outputs in processing order)
    back = _lstm1997(fast_path, seed=10, go_backwards=True)
    np.testing.assert_allclose(numpy(back(x)), _reference(back).forward(x[:, ::-1])[0], atol=ATOL)
    # a trailing mask: the unmasked prefix as if alone, then the last output repeated
    mask = np.ones((B, T), bool)
    mask[1, 4:] = False
    plain = _lstm1997(fast_path, seed=10)
    masked = numpy(plain(x, mask=keras.ops.convert_to_tensor(mask)))
    alone = _reference(plain).forward(x[1:2, :4])[0][0]
    np.testing.assert_allclose(masked[1, :4], alone, atol=ATOL)
    np.testing.assert_allclose(masked[1, 4:], np.repeat(alone[-1:], T - 4, axis=0), atol=ATOL)
    # stateful: two halves equal one sequence
    stateful = LSTM1997(U, stateful=True, return_sequences=True, fast_path=fast_path)
    stateful.build((B, None, F))
    stateful.set_weights(plain.get_weights())
    halves = np.concatenate([numpy(stateful(x[:, :3])), numpy(stateful(x[:, 3:]))], axis=1)
    np.testing.assert_allclose(halves, numpy(plain(x)), atol=ATOL)
    # unroll: the generic path, the same outputs
    unrolled = LSTM1997(U, unroll=True, return_sequences=True)
    unrolled.build((None, T, F))
    unrolled.set_weights(plain.get_weights())
    assert not unrolled.uses_fast_path()
    np.testing.assert_allclose(numpy(unrolled(x)), numpy(plain(x)), atol=ATOL)


@pytest.mark.slow  # the default run trains and saves the layer in test_every_layer_trains_saves_and_loads
@pytest.mark.parametrize(
    "options",
    [
        {"cells_per_block": 2, "forget_gate": True, "squash": "tanh", "truncate_gradients": False},
        {
            "cells_per_block": 2,
            "input_gate_bias": [-1.0, -2.0],
            "return_sequences": True,
            "go_backwards": True,
        },
        {"return_state": True, "unroll": True},
    ],
)
def test_lstm1997_layer_contract(options, tmp_path):
    """Shapes, config round trip, a fit step and a .keras round trip (tests/layer_test_utils.py)."""
    check_recurrent_layer(lambda: LSTM1997(U, **options), input_shape=(B, T, F), tmp_path=tmp_path, atol=ATOL)


# -- the JAX kernel against the generic loop ------------------------------------------------------------
# cpb, forget, squash, truncate, then masked, return_sequences, go_backwards, zero_output_for_mask
LAYER_CASES = [(False, True, False, False), (True, True, True, True), (True, False, False, False)]
LAYER_CASES += [(False, False, True, False), (True, False, True, True)]
KERNEL_CASES = [c + m for c in LSTM1997_OPTIONS for m in LAYER_CASES]
# the default run: the paper's many-to-one layer (no per-step outputs kept), masked sequences, and
# full BPTT with blocks, a forget gate and tanh squashes
DEFAULT_KERNEL_CASES = {PAPER + (False, False, True, False), PAPER + (True, True, True, True)}
DEFAULT_KERNEL_CASES.add(EVERY_OPTION + (True, False, False, False))


@pytest.mark.parametrize(
    "cpb,forget,squash,truncate,masked,return_sequences,go_backwards,zero_output_for_mask",
    _params(KERNEL_CASES, DEFAULT_KERNEL_CASES),
)
def test_jax_kernel_matches_generic_loop(
    cpb, forget, squash, truncate, masked, return_sequences, go_backwards, zero_output_for_mask
):
    if BACKEND != "jax":
        pytest.skip(f"the JAX kernel runs on the JAX backend, this is {BACKEND!r}")
    options = dict(
        cells_per_block=cpb, forget_gate=forget, squash=squash, truncate_gradients=truncate,
        return_sequences=return_sequences, go_backwards=go_backwards,
        zero_output_for_mask=zero_output_for_mask, return_state=True,
    )  # fmt: skip
    fast, generic = LSTM1997(U, **options), LSTM1997(U, fast_path=False, **options)
    for layer in (fast, generic):
        layer.build((B, T, F))
        _random_weights(layer, seed=1, scale=0.5)
    assert fast.uses_fast_path() and not generic.uses_fast_path()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, F)).astype("float32")
    init = [rng.normal(size=(B, U)).astype("float32") for _ in range(2)]
    mask = None
    if masked:
        mask = rng.random((B, T)) > 0.35
        mask[1, 2:4] = False
        if not zero_output_for_mask:
            # Keras's own JAX loop repeats h0 at masked steps before the first unmasked one, where
            # its TensorFlow and PyTorch loops (and the kernels) output zeros: none of those here
            mask[:, -1 if go_backwards else 0] = True
        else:
            mask[0, -2:] = False
        mask = keras.ops.convert_to_tensor(mask)
    out_fast, grad_fast = outputs_and_gradients(fast, x, init, mask)
    out_generic, grad_generic = outputs_and_gradients(generic, x, init, mask)
    for a, b in zip(out_fast, out_generic, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-6, rtol=1e-5)
    for a, b in zip(grad_fast, grad_generic, strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)


def test_jax_kernel_outputs_zeros_before_the_first_unmasked_step():
    """As Keras's TensorFlow loop (and the min cells' scan): zeros, not h0, at leading masked steps."""
    if BACKEND != "jax":
        pytest.skip(f"the JAX kernel runs on the JAX backend, this is {BACKEND!r}")
    layer = _lstm1997(True, seed=2)
    x = np.random.default_rng(3).normal(size=(B, T, F)).astype("float32")
    h0 = np.ones((B, U), "float32")
    mask = np.ones((B, T), bool)
    mask[0, :2] = False
    out = numpy(layer(x, initial_state=[h0, h0], mask=keras.ops.convert_to_tensor(mask)))
    np.testing.assert_array_equal(out[0, :2], 0.0)
    alone = _reference(layer).forward(x[:1, 2:], h0[:1], h0[:1])[0][0]
    np.testing.assert_allclose(out[0, 2:], alone, atol=ATOL)


# -- gray-box cells ----------------------------------------------------------------------------------
def test_adaptive_forget_cell_matches_reference():
    x = np.random.default_rng(0).normal(0, 1.5, (2, 9, 3)).astype("float32")
    cell = AdaptiveForgetCell(3, return_index=1, shared_forget=False)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(x)
    _random_weights(layer, seed=1, scale=0.4)
    h_ref, s_ref, f_ref = adaptive_forget_reference(cell, x)
    np.testing.assert_allclose(numpy(layer(x)), h_ref, atol=ATOL)
    trace = layers.forget_gate_trace(layer, x)
    np.testing.assert_allclose(trace["forget_gate"], f_ref, atol=ATOL)
    np.testing.assert_allclose(trace["cell_state"], s_ref, atol=ATOL)


@pytest.mark.parametrize("readout", ["linear", pytest.param("activation", marks=pytest.mark.slow)])
def test_forgetting_curve_cell_matches_reference(readout):
    rng = np.random.default_rng(3)
    x = np.abs(rng.normal(size=(4, 9, 6))).astype("float32")
    x[..., 1] = rng.integers(0, 2, (4, 9))
    cell = ForgettingCurveCell(3, readout=readout)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(x)
    for v in cell.weights:
        v.assign(numpy(v) + rng.normal(size=v.shape).astype("float32") * 0.5)
    ref = forgetting_cell_reference(x, cell.numpy_parameters())[0]
    np.testing.assert_allclose(numpy(layer(x))[..., 0], ref, atol=ATOL)


def test_methylation_cell_matches_reference():
    mu, delta, kappa = np.array([0.96, 0.97, 0.99]), np.array([0.02, 0.1, 0.17]), np.array([0.3, 0.5, 0.8])
    layer = keras.layers.RNN(
        MethylationCell(3, mu_init=mu, delta_init=delta, inhibition_init=kappa), return_sequences=True
    )
    dose = np.random.default_rng(0).random((4, 25, 1)).astype("float32")
    ref = methylation_cell_reference(dose, mu, delta, kappa)
    np.testing.assert_allclose(numpy(layer(dose)), ref, atol=ATOL)


# -- the modern cells --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,cls", [("min_gru", MinGRU), ("min_lstm", MinLSTM)])
@pytest.mark.parametrize("parallel", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_min_cells_match_reference(kind, cls, parallel):
    layer = cls(U, parallel=parallel, return_sequences=True)
    layer.build((None, None, F))
    _random_weights(layer, seed=4)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(B, T, F)).astype("float32")
    h0 = rng.normal(size=(B, U)).astype("float32")
    kernel, bias = layer.get_weights()
    ref = reference_min_rnn.forward(kind, x, kernel, bias, U, h0=h0)[0]
    np.testing.assert_allclose(numpy(layer(x, initial_state=[h0])), ref, atol=ATOL)


@pytest.mark.parametrize("num_heads,forget_activation", _params([(1, "sigmoid"), (2, "exp")], {(2, "exp")}))
def test_slstm_matches_reference(num_heads, forget_activation):
    layer = SLSTM(U, num_heads=num_heads, forget_activation=forget_activation, return_sequences=True)
    layer.build((None, None, F))
    _random_weights(layer, seed=6, scale=0.5)
    x = np.random.default_rng(7).normal(size=(B, T, F)).astype("float32")
    kernel, recurrent_kernel, bias = layer.get_weights()
    ref = reference_slstm.forward(
        x, kernel, recurrent_kernel, bias, U, num_heads=num_heads, forget_activation=forget_activation
    )[0]
    np.testing.assert_allclose(numpy(layer(x)), ref, atol=ATOL)


# -- every layer: a fit step, .keras files on this backend and across backends ----------------------------
#: input features a kind needs (others take F)
FEATURES = {"methylation": 1, "forgetting_curve": 4}
#: Keras's own layers behind the factory: checked with -m slow only (Keras tests them on every backend)
KERAS_KINDS = ("lstm", "gru", "simple_rnn")


def _builders():
    builders = {kind: (lambda kind=kind: recurrent(kind, U)) for kind in recurrent_kinds()}
    builders["lstm1997_options"] = lambda: LSTM1997(
        U, cells_per_block=2, forget_gate=True, squash="tanh", truncate_gradients=False,
        input_gate_bias=[-1.0, -2.0], return_sequences=True, go_backwards=True,
    )  # fmt: skip
    return builders


EXCHANGE_NAMES = list(_builders())


def exchange_model(name: str) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """``(model, x, y)``: the layer of ``name`` (a factory kind or ``"lstm1997_options"``, the 1997 layer
    with every option) in ``Input -> layer -> Dense(1)``, seeded random weights, inputs and targets."""
    i = EXCHANGE_NAMES.index(name)
    features = FEATURES.get(name, F)
    inp = keras.Input((T, features))
    y = _builders()[name]()(inp)
    y = y[0] if isinstance(y, (list, tuple)) else y
    if len(y.shape) == 3:
        y = keras.layers.GlobalAveragePooling1D()(y)
    model = keras.Model(inp, keras.layers.Dense(1)(y), name=f"exchange_{name}")
    _random_weights(model, seed=100 + i, scale=0.4)
    rng = np.random.default_rng(200 + i)
    return model, rng.random((B, T, features)).astype("float32"), rng.normal(size=(B, 1)).astype("float32")


def train_and_save(name: str, folder: Path, train: bool = True) -> Path:
    """One SGD step on the ``name`` model (unless ``train=False``), then ``folder/<name>.keras`` and its
    inputs and outputs (``.npz``); returns the ``.keras`` path."""
    model, x, target = exchange_model(name)
    if train:
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        before = model.get_weights()
        model.fit(x, target, epochs=1, batch_size=B, verbose=0)
        after = model.get_weights()
        assert any(not np.allclose(b, a) for b, a in zip(before, after)), f"{name}: a step changed nothing"
        assert all(np.all(np.isfinite(a)) for a in after), f"{name}: a weight is not finite after a fit step"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.keras"
    model.save(path)
    np.savez(path.with_suffix(".npz"), x=x, y=numpy(model.predict(x, verbose=0)))
    return path


def check_saved(path: Path) -> None:
    """A ``.keras`` file saved by :func:`train_and_save` (on any backend) gives its saved outputs here."""
    data = np.load(path.with_suffix(".npz"))
    # not compiled: the file's jit_compile=True (saved on TensorFlow or JAX) would turn on torch.compile
    model = keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(
        numpy(model.predict(data["x"], verbose=0)), data["y"], atol=ATOL, err_msg=str(path)
    )


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in KERAS_KINDS else n for n in EXCHANGE_NAMES]
)
def test_every_layer_trains_saves_and_loads(name, tmp_path):
    """A fit step, a ``.keras`` round trip here, and the files other backends saved (with
    ``LSTM_APPS_BACKEND_EXCHANGE``, where this backend's file is left for the next)."""
    folder = Path(EXCHANGE) if EXCHANGE else tmp_path
    check_saved(train_and_save(name, folder / BACKEND))
    others = sorted(p for p in folder.glob(f"*/{name}.keras") if p.parent.name != BACKEND)
    if EXCHANGE:
        assert any(p.parent.name == "tensorflow" for p in others), (
            f"no TensorFlow file of {name} in {EXCHANGE}"
        )
    for path in others:
        check_saved(path)


# -- features only TensorFlow has ------------------------------------------------------------------------
def test_tensorflow_only_features_name_the_backend(tmp_path):
    from lstm_apps.export import to_tflite
    from lstm_apps.training import make_strategy, recipe_parser, start_run

    if BACKEND == "tensorflow":
        pytest.skip("TFLite export and tf.distribute run on the TensorFlow backend")
    model, _, _ = exchange_model("lstm1997")
    with pytest.raises(RuntimeError, match=f"TFLite export.*'{BACKEND}' backend"):
        to_tflite(model, tmp_path / "model.tflite")
    with pytest.raises(RuntimeError, match=f"--distribute mirrored.*'{BACKEND}' backend"):
        make_strategy("mirrored")
    with make_strategy("none").scope():  # one device: the recipes' scope does nothing here
        keras.layers.Dense(1)
    parser = recipe_parser("demo")
    for flags, what in ((["--export"], "--export"), (["--distribute", "mirrored"], "--distribute")):
        args = parser.parse_args(["--quick", "--runs-dir", str(tmp_path), *flags])
        with pytest.raises(RuntimeError, match=f"{what}.*'{BACKEND}' backend"):
            start_run("demo", args)
    assert not (tmp_path / "demo").exists(), "a refused run left a folder"
