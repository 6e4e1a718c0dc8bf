"""The layers on Keras's JAX and PyTorch backends, and ``.keras`` files exchanged between all three.

Keras picks its backend once, at import, so ``tests/backend_layer_checks.py``
(golden values against the NumPy references, gradients, the JAX kernel
against the generic loop, a fit step, ``.keras`` round trips) runs in one
subprocess per backend, with ``KERAS_BACKEND`` set. The files travel in a
chain: this (TensorFlow) process saves a trained model of every layer, the
JAX run loads them and saves its own, the PyTorch run loads both and saves
its own, and this process loads the JAX and PyTorch files last; every load
must reproduce the outputs saved beside the file. ``tests/backend_feature_checks.py``
(the library's ``tf.data`` pipelines, input gradients against TensorFlow's,
and the clear error of what needs TensorFlow) runs the same way. JAX and
PyTorch come with the ``backends`` extra (``pip install -e ".[test]"``
installs it); a backend that is not installed is skipped, and named.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import backend_feature_checks
import backend_layer_checks as checks
import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: in this order: the PyTorch run also loads the JAX run's files
BACKENDS = ("jax", "torch")
XLA_QUICK_COMPILE = ("--xla_backend_optimization_level=0", "--xla_llvm_disable_expensive_passes=true")


def _missing() -> list[str]:
    return [b for b in BACKENDS if importlib.util.find_spec(b) is None]


def run_checks(
    backend: str, exchange: Path, marker: str, timeout: float, module: str = "backend_layer_checks.py"
) -> str:
    """``pytest tests/MODULE -m MARKER`` with ``KERAS_BACKEND=backend``; its summary line."""
    env = dict(os.environ, KERAS_BACKEND=backend, LSTM_APPS_BACKEND_EXCHANGE=str(exchange))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    # tiny tensors: one thread each (no spinning thread pools on a shared 2-core machine), and XLA's
    # quick compile (the checks compile far more than they run)
    env["OMP_NUM_THREADS"] = "1"
    env["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), *XLA_QUICK_COMPILE]).strip()
    command = [sys.executable, "-m", "pytest", "-q", "-m", marker, "-p", "no:cacheprovider"]
    command += ["-p", "no:xdist", str(ROOT / "tests" / module)]
    started = time.time()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{module} failed on the {backend} backend:\n{output[-6000:]}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return f"{backend}: {lines[-1] if lines else '?'} ({time.time() - started:.0f} s)"


def exchange_across_backends(folder: Path, names, marker: str, timeout: float) -> list[str]:
    """Save the TensorFlow files of ``names``, run the checks on each installed backend, load their files."""
    missing = _missing()
    if len(missing) == len(BACKENDS):
        pytest.skip(f"{' and '.join(missing)} not installed: pip install -e '.[backends]'")
    for name in names:  # the TensorFlow suite trains them: here they are only saved
        checks.train_and_save(name, folder / "tensorflow", train=False)
    summaries = [run_checks(b, folder, marker, timeout) for b in BACKENDS if b not in missing]
    loaded = sorted(p for p in folder.glob("*/*.keras") if p.parent.name != "tensorflow")
    assert {p.stem for p in loaded} >= set(names), f"files missing from the other backends in {folder}"
    for path in loaded:
        checks.check_saved(path)
    print("\n".join(summaries))
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (pip install -e '.[backends]'); ran {summaries}")
    return summaries


@pytest.fixture(autouse=True)
def _tensorflow_here():
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"the driver runs on TensorFlow, this process on {keras.backend.backend()!r}")


def test_layers_on_jax_and_torch_and_keras_files_across_backends(tmp_path):
    names = [n for n in checks.EXCHANGE_NAMES if n not in checks.KERAS_KINDS]
    exchange_across_backends(tmp_path, names, "not slow", timeout=1200)


@pytest.mark.slow  # every option combination of the 1997 layer and its JAX kernel; Keras's own kinds
def test_layers_on_jax_and_torch_every_option(tmp_path):
    exchange_across_backends(tmp_path, list(checks.KERAS_KINDS), "slow", timeout=5400)


def test_tensorflow_only_features_refuse_another_backend(monkeypatch, tmp_path):
    """Without JAX or PyTorch installed too: the checks read the backend through lstm_apps.backends."""
    from lstm_apps import backends
    from lstm_apps.export import to_tflite
    from lstm_apps.training import make_strategy, recipe_parser, start_run

    backends.require_tensorflow("anything")  # silent here
    monkeypatch.setattr(backends, "keras_backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="TFLite export needs Keras's TensorFlow backend.*'jax' backend"):
        backends.require_tensorflow("TFLite export")
    with pytest.raises(RuntimeError, match="--distribute mirrored.*'jax' backend"):
        make_strategy("mirrored")
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.SimpleRNN(2)])
    with pytest.raises(RuntimeError, match="TFLite export.*'jax' backend"):
        to_tflite(model, tmp_path / "model.tflite")
    with pytest.raises(ValueError, match="received 'bogus'"):
        make_strategy("bogus")
    with make_strategy("none").scope():
        pass
    args = recipe_parser("demo").parse_args(["--quick", "--export", "--runs-dir", str(tmp_path)])
    with pytest.raises(RuntimeError, match="--export.*'jax' backend"):
        start_run("demo", args)
    args = recipe_parser("demo").parse_args(["--quick", "--runs-dir", str(tmp_path)])
    with pytest.raises(RuntimeError, match="^the demo's text model needs Keras's TensorFlow backend.*'jax'"):
        start_run("demo", args, needs_tensorflow="the demo's text model")
    assert not (tmp_path / "demo").exists()


@pytest.mark.slow  # ~50 s: a process per backend; test_tensorflow_only_entry_points_refuse_another_backend
# checks the refusals by default
def test_tensorflow_data_paths_and_gradients_on_jax_and_torch(tmp_path):
    """The ``tf.data`` pipelines train there, ``gradient_norms`` equals TensorFlow's, and what needs
    TensorFlow names the backend (``tests/backend_feature_checks.py``)."""
    missing = _missing()
    if len(missing) == len(BACKENDS):
        pytest.skip(f"{' and '.join(missing)} not installed: pip install -e '.[backends]'")
    backend_feature_checks.save_gradient_models(tmp_path / "gradients")
    module = "backend_feature_checks.py"
    summaries = [run_checks(b, tmp_path, "not slow", 600, module) for b in BACKENDS if b not in missing]
    for summary in summaries:  # every check ran: the gradient check skips without TensorFlow's norms
        assert "skipped" not in summary, summary
    print("\n".join(summaries))
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (pip install -e '.[backends]'); ran {summaries}")


def test_tensorflow_only_entry_points_refuse_another_backend(monkeypatch, tmp_path):
    """Every entry point that needs TensorFlow refuses first, without JAX or PyTorch installed too."""
    from lstm_apps import backends
    from lstm_apps.export.command import export_file
    from lstm_apps.export.fused import build_fused_sequence_module
    from lstm_apps.text_models import (
        TextClassifierSpec,
        average_members,
        build_text_classifier,
        compare_with_baseline,
        explanation_figure,
        input_gate_activity,
        make_vectorizer,
        predict_texts,
        train_text_classifiers,
    )
    from lstm_apps.training import export_models
    from lstm_apps.training.distributed import (
        Agreement,
        distribute_fit_inputs,
        generator_dataset,
        install_keras_fixes,
    )

    vectorizer = make_vectorizer(["good", "bad"])
    spec = TextClassifierSpec(units=2, embedding_dim=2)
    classifier = build_text_classifier(spec, vectorizer)  # built on TensorFlow, refused on "jax" below
    monkeypatch.setattr(backends, "keras_backend", lambda: "jax")
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.SimpleRNN(2)])
    x = np.zeros((1, 3, 2), "float32")
    refused = {
        "build_text_classifier": lambda: build_text_classifier(spec, make_vectorizer(["good"])),
        "average_members": lambda: average_members([classifier, classifier]),
        "predict_texts": lambda: predict_texts(classifier, ["good"]),
        "compare_with_baseline": lambda: compare_with_baseline(classifier, None, None),
        "input_gate_activity": lambda: input_gate_activity(classifier, "good"),
        "explanation_figure": lambda: explanation_figure(classifier, "good", 1),
        "train_text_classifiers": lambda: train_text_classifiers(None, spec, None),
        "TFLite export .lstm_apps.training.export_models": lambda: export_models(
            tmp_path, {"model": (model, x)}
        ),
        "TFLite export .lstm-apps export": lambda: export_file(tmp_path / "model.keras"),
        "TFLite export .lstm_apps.export": lambda: build_fused_sequence_module(model, 1, None, ["x"], ["y"]),
        "--distribute multiworker .Agreement": lambda: Agreement(None),
        "--distribute multiworker .distribute_fit_inputs": lambda: distribute_fit_inputs(
            None, model, (x, x), {}, 0
        ),
        "--distribute multiworker .the repairs": install_keras_fixes,
        "generator_dataset": lambda: generator_dataset(iter([(x, x)])),
    }
    for feature, call in refused.items():
        with pytest.raises(RuntimeError, match=f"^{feature}.* needs Keras's TensorFlow backend.*'jax'"):
            call()
    assert not list(tmp_path.iterdir()), "a refused export wrote a file"


def test_backend_benchmark_quick_writes_ratios(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import cells_backends

    out = tmp_path / "cells_backends.json"
    cells_backends.main(
        ["--backend", "tensorflow", "--quick", "--repeats", "1", "--phases", "infer", "--out", str(out)]
    )
    report = json.loads(out.read_text())
    row = report["results"][0]["layers"]
    assert (
        report["backend"] == "tensorflow"
        and row["lstm1997"]["fast_path"]
        and not row["lstm1997_generic"]["fast_path"]
    )
    assert row["lstm"]["infer_ratio_to_lstm"] == 1.0 and row["lstm1997"]["infer_ratio_to_lstm"] > 0
    with pytest.raises(ValueError, match="run the script in a fresh process"):
        cells_backends.main(["--backend", "jax", "--quick"])
