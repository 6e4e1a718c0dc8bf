"""benchmarks/reber_appendix_a.py: the paper's appendix A in NumPy, and the recipe's Reber net's SGD step."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_apps.cli import load_recipe
from lstm_apps.datasets import tasks as T
from lstm_apps.datasets.tasks import models


@pytest.fixture(scope="module")
def study():
    return load_recipe("reber_appendix_a", folder="benchmarks")


def _paper_model():
    settings = T.task_settings("reber")
    assert settings.batch_size == 1 and settings.learning_rate == 0.5  # row 1-5: one string per update, 0.5
    return models.build_model("reber", "lstm1997", 7, 7, 20, settings, jit_compile=False)


def test_one_sgd_step_of_the_recipes_reber_net_is_the_papers_update(study):
    # the loss's reduction (1/2 sum over outputs and steps, not a mean), the learning rate's scale, the
    # truncation, the biased gates, the unbiased outputs and the padding all show after one update
    m = _paper_model()
    assert m.count_params() == 276
    b = T.pad(T.embedded_reber(1, seed=3), 20)
    n = int(b.lengths[0])
    net = study.AppendixANet.from_keras(m)
    np.testing.assert_allclose(net.forward(b.x)[0, :n], m.predict(b.x, verbose=0)[0, :n], atol=1e-6)
    before = m.get_weights()
    m.train_on_batch(b.x, b.y, sample_weight=b.step_mask.astype("float32"))
    net.train_sequence(b.x[0, :n].astype("float64"), b.y[0, :n], 0.5)
    for got, want, old in zip(m.get_weights(), net.keras_weights(), before):
        assert np.abs(want - old).max() > 1e-4  # every kind of weight moves
        np.testing.assert_allclose(got, want, atol=2e-6)


def test_updating_at_every_step_differs_from_the_sequences_sum(study):
    b = T.embedded_reber(1, seed=5)
    n = int(b.lengths[0])
    a, c = (study.AppendixANet(np.random.default_rng(0)) for _ in range(2))
    a.train_sequence(b.x[0, :n], b.y[0, :n], 0.5, per_step=False)
    c.train_sequence(b.x[0, :n], b.y[0, :n], 0.5, per_step=True)
    assert 1e-6 < np.abs(a.w - c.w).max() < 0.5
    assert np.all(a.w[-1, 3:9] == 0.0) and np.all(c.w[-1, 3:9] == 0.0)  # the cells stay unbiased
    np.testing.assert_array_equal(a.keras_weights()[2][3:], a.w[-1, 9:])  # output-gate biases in Keras order


def test_a_tiny_study_writes_its_summary(study, tmp_path):
    out = tmp_path / "r.json"
    r = study.main(["--trials", "1", "--budget", "64", "--check-every", "32", "--output", str(out),
                    "--variants", "per step, legal set"])  # fmt: skip
    (row,) = r["summary"]
    assert row["variant"] == "per step, legal set" and row["solved"] == "0/1"
    assert row["trials"][0]["sequences"] == 64 and 0 < row["wrong_unsolved"][0] <= 512
    assert out.exists() and "--budget 64" in r["command"]
