"""Shared layer-test helper: shape, weight count, config round-trip, ``.keras``
save/load and one ``fit`` step for any recurrent layer or cell."""

from __future__ import annotations

import copy

import keras
import numpy as np


def check_recurrent_layer(
    layer_factory,
    input_shape=(3, 7, 4),
    expected_output_shape=None,
    expected_weight_count=None,
    tmp_path=None,
    atol=1e-6,
    seed=0,
):
    """Run the standard checks on a recurrent layer.

    Args:
        layer_factory: zero-argument callable returning a fresh layer (an RNN
            layer, or a cell, which gets wrapped in ``keras.layers.RNN``).
        input_shape: ``(batch, timesteps, features)``.
        expected_output_shape: the layer's output shape for that input.
        expected_weight_count: number of scalar trainable parameters.
        tmp_path: folder for the ``.keras`` round-trip (skipped when None).

    Returns:
        The built model (input -> layer -> Dense(1)).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=input_shape).astype("float32")
    layer = layer_factory()
    if not isinstance(layer, keras.layers.RNN) and hasattr(layer, "state_size"):
        layer = keras.layers.RNN(layer)
    out = layer(x)
    out0 = out[0] if isinstance(out, (list, tuple)) else out
    if expected_output_shape is not None:
        assert tuple(out0.shape) == tuple(expected_output_shape), (out0.shape, expected_output_shape)
    n_params = int(sum(np.prod(w.shape) for w in layer.trainable_weights))
    if expected_weight_count is not None:
        assert n_params == expected_weight_count, (n_params, expected_weight_count)

    # config round-trip: same config, same outputs with copied weights
    config = layer.get_config()
    clone = type(layer).from_config(copy.deepcopy(config))  # Keras RNN.from_config pops keys
    clone(x)
    assert clone.get_config() == config
    clone.set_weights(layer.get_weights())
    out_clone = clone(x)
    out_clone0 = out_clone[0] if isinstance(out_clone, (list, tuple)) else out_clone
    to_numpy = keras.ops.convert_to_numpy  # np.asarray fails on a torch tensor that requires grad
    np.testing.assert_allclose(to_numpy(out_clone0), to_numpy(out0), atol=atol)

    # a model around it: one fit step changes the weights, .keras round-trip
    inp = keras.Input(input_shape[1:])
    h = layer_factory()
    if not isinstance(h, keras.layers.RNN) and hasattr(h, "state_size"):
        h = keras.layers.RNN(h)
    y = h(inp)
    if isinstance(y, (list, tuple)):
        y = y[0]
    if len(y.shape) == 3:
        y = keras.layers.GlobalAveragePooling1D()(y)
    model = keras.Model(inp, keras.layers.Dense(1)(y))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    target = rng.normal(size=(input_shape[0], 1)).astype("float32")
    model.fit(x, target, epochs=1, batch_size=input_shape[0], verbose=0)
    after = model.get_weights()
    assert any(not np.allclose(b, a) for b, a in zip(before, after)), "one fit step changed no weight"
    assert all(np.all(np.isfinite(a)) for a in after)
    if tmp_path is not None:
        path = tmp_path / "layer_test.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=atol)
    return model


# fast/fused loops against the generic keras.layers.RNN loop (tests/test_fast.py, test_fused_loops.py)
def outputs_and_grads(layer, x, initial_state, mask, training):
    import tensorflow as tf  # here, not at the top: backend_layer_checks imports this module on JAX/PyTorch

    x = tf.constant(x)
    init = [tf.constant(s) for s in initial_state] if initial_state is not None else None
    with tf.GradientTape() as tape:
        tape.watch(x)
        if init is not None:
            tape.watch(init)
        out = layer(x, initial_state=init, mask=mask, training=training)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        # a loss that weighs every output (and returned state) differently
        loss = 0.0
        for i, o in enumerate(outs):
            weight = tf.sin(tf.reshape(tf.range(tf.size(o), dtype="float32"), o.shape) * 0.7 + i)
            loss += tf.reduce_sum(o * weight)
    sources = [x] + (init or []) + list(layer.trainable_variables)
    grads = tape.gradient(loss, sources)
    return [o.numpy() for o in outs], [None if g is None else np.asarray(g) for g in grads]


def assert_same_outputs_and_grads(fast, slow, x, initial_state=None, mask=None, training=True):
    out_f, grad_f = outputs_and_grads(fast, x, initial_state, mask, training)
    out_s, grad_s = outputs_and_grads(slow, x, initial_state, mask, training)
    assert len(out_f) == len(out_s)
    for a, b in zip(out_f, out_s):
        np.testing.assert_allclose(a, b, atol=2e-6, rtol=1e-5)
    for a, b in zip(grad_f, grad_s):
        a = np.zeros_like(b) if a is None and b is not None else a
        b = np.zeros_like(a) if b is None and a is not None else b
        if a is not None:
            np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)
