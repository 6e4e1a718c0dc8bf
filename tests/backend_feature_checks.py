"""The library's ``tf.data`` pipelines, input gradients and TensorFlow-only entry points on this backend.

Not collected by the default run (the name does not start with ``test_``):
``tests/test_backends.py`` runs this module in a subprocess per backend
(``KERAS_BACKEND=jax`` and ``torch``) after saving, under
``LSTM_APPS_BACKEND_EXCHANGE=DIR``, the models and TensorFlow's gradient
norms that :func:`test_gradient_norms_equal_tensorflows` compares with.

* The ``tf.data`` pipelines (genome windows, translation batches, the task
  streams, the multi-worker harness's array datasets) train a model here: Keras
  reads a ``tf.data.Dataset`` on every backend.
* :func:`~lstm_apps.datasets.tasks.analysis.gradient_norms` gives TensorFlow's
  figures on this backend's own gradients.
* What needs TensorFlow (raw-string text classifiers, TFLite export, the
  multi-worker harness) raises a ``RuntimeError`` naming this backend.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()
EXCHANGE = os.environ.get("LSTM_APPS_BACKEND_EXCHANGE")
GRADIENT_STEPS = 16


def _fit(model, data, loss, **kwargs) -> float:
    """One epoch of Adam on ``data``; the epoch's loss, which must be finite and the weights changed."""
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, weighted_metrics=[])
    before = [np.array(w) for w in model.get_weights()]
    loss = model.fit(data, epochs=1, verbose=0, **kwargs).history["loss"][-1]
    assert np.isfinite(loss), f"the loss on {BACKEND} is {loss}"
    assert any(not np.allclose(b, a) for b, a in zip(before, model.get_weights())), "fit changed nothing"
    return loss


# -- tf.data pipelines ------------------------------------------------------------------------------------
def test_genome_windows_train_a_model():
    from lstm_apps.datasets.genome import VOCAB_SIZE, window_dataset

    codes = np.random.default_rng(0).integers(0, VOCAB_SIZE, 200).astype("int8")
    ds = window_dataset(codes, 12, batch_size=8, shuffle=True, reverse_complement=True, random_offset=True)
    model = keras.Sequential(
        [
            keras.Input((12,), dtype="int32"),
            keras.layers.Embedding(VOCAB_SIZE, 4),
            keras.layers.SimpleRNN(4, return_sequences=True),
            keras.layers.Dense(4),
        ]
    )
    _fit(model, ds, keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def test_translation_batches_train_a_model():
    from lstm_apps.seq2seq import PairBatches, build_seq2seq
    from lstm_apps.translation import compile_seq2seq

    ids = [[3, 4, 5], [6, 7], [3, 3, 8, 9], [5]] * 3
    batches = PairBatches(ids, [list(reversed(s)) for s in ids], batch_size=4)
    parts = build_seq2seq(10, 10, cell="simple_rnn", units=4, embed_dim=4, attention="none")
    compile_seq2seq(parts.model, learning_rate=0.01)
    before = [np.array(w) for w in parts.model.get_weights()]
    loss = parts.model.fit(batches.dataset(), epochs=1, verbose=0).history["loss"][-1]
    assert np.isfinite(loss) and any(not np.allclose(b, a) for b, a in zip(before, parts.model.get_weights()))


def test_task_stream_trains_a_model():
    from lstm_apps.datasets.tasks import task_data

    data = task_data("adding", length=20, seed=0)
    model = keras.Sequential(
        [keras.Input((None, data.features)), keras.layers.SimpleRNN(4), keras.layers.Dense(1)]
    )
    _fit(model, data.training_data(), "mse", steps_per_epoch=2)


def test_array_dataset_trains_a_model():
    from lstm_apps.training.distributed import array_dataset

    rng = np.random.default_rng(0)
    x = rng.random((12, 5, 2)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.SimpleRNN(3), keras.layers.Dense(1)])
    _fit(model, array_dataset(x, y, batch_size=4, shuffle=True), "mse")


# -- input gradients --------------------------------------------------------------------------------------
def save_gradient_models(folder: Path) -> list[Path]:
    """A simple RNN and the paper's LSTM1997 (truncated gradients) as ``folder/<name>.keras``, each with
    its inputs and this backend's :func:`gradient_norms` beside it (``.npz``); returns the paths."""
    from lstm_apps.datasets.tasks.analysis import gradient_norms
    from lstm_apps.layers import recurrent

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.random((3, GRADIENT_STEPS, 2)).astype("float32")
    paths = []
    for kind, options in (
        ("simple_rnn", {}),
        ("lstm1997", dict(cells_per_block=2, input_gate_bias=[-1.0, -2.0])),
    ):
        model = keras.Sequential(
            [keras.Input((GRADIENT_STEPS, 2)), recurrent(kind, 4, **options), keras.layers.Dense(1)]
        )
        model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in model.get_weights()])
        path = folder / f"{kind}.keras"
        model.save(path)
        np.savez(path.with_suffix(".npz"), x=x, norms=gradient_norms(model, x))
        paths.append(path)
    return paths


def test_gradient_norms_equal_tensorflows():
    import lstm_apps.layers  # noqa: F401  (registers the layers for loading)
    from lstm_apps.datasets.tasks.analysis import gradient_norms

    folder = Path(EXCHANGE or "") / "gradients"
    if not EXCHANGE or not folder.is_dir():
        pytest.skip("needs TensorFlow's gradient norms, which tests/test_backends.py saves")
    paths = sorted(folder.glob("*.keras"))
    assert {p.stem for p in paths} == {"simple_rnn", "lstm1997"}, f"models missing from {folder}"
    for path in paths:
        saved = np.load(path.with_suffix(".npz"))
        norms = gradient_norms(keras.models.load_model(path, compile=False), saved["x"])
        assert norms.shape == (GRADIENT_STEPS,) and np.all(norms > 0)
        np.testing.assert_allclose(norms, saved["norms"], rtol=1e-4, atol=1e-7, err_msg=path.stem)


# -- what needs TensorFlow --------------------------------------------------------------------------------
def test_tensorflow_only_entry_points_name_the_backend(tmp_path):
    from lstm_apps.export.command import export_file
    from lstm_apps.text_models import (
        TextClassifierSpec,
        build_text_classifier,
        classifier_vocabulary,
        make_vectorizer,
    )
    from lstm_apps.training import export_models
    from lstm_apps.training.distributed import Agreement, generator_dataset, install_keras_fixes

    if BACKEND == "tensorflow":
        pytest.skip("these run on the TensorFlow backend")
    # the vocabulary and the vectorizer work here (eager TextVectorization), a model holding it does not
    vocabulary = classifier_vocabulary(["good film", "bad plot", "good plot"], max_tokens=10)
    assert sorted(vocabulary) == ["bad", "film", "good", "plot"]
    vectorizer = make_vectorizer(vocabulary)
    with pytest.raises(RuntimeError, match=f"build_text_classifier .*raw strings.*'{BACKEND}' backend"):
        build_text_classifier(TextClassifierSpec(units=2, embedding_dim=2), vectorizer)
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.SimpleRNN(2)])
    with pytest.raises(RuntimeError, match=f"TFLite export.*'{BACKEND}' backend"):
        export_models(tmp_path, {"model": (model, np.zeros((1, 3, 2), "float32"))})
    with pytest.raises(RuntimeError, match=f"TFLite export.*'{BACKEND}' backend"):
        export_file(tmp_path / "model.keras")
    with pytest.raises(RuntimeError, match=f"--distribute multiworker.*'{BACKEND}' backend"):
        Agreement(None)
    with pytest.raises(RuntimeError, match=f"--distribute multiworker.*'{BACKEND}' backend"):
        install_keras_fixes()
    # fit would read a pass of it to build the model and lose those batches of the iterator
    with pytest.raises(RuntimeError, match=f"generator_dataset .*'{BACKEND}' backend"):
        generator_dataset(iter([(np.zeros((2, 3, 2)), np.zeros((2, 1)))]))
    assert not list(tmp_path.iterdir()), "a refused export wrote a file"
