"""card_memory (a forgetting cell's memory of one card, to its next review) and recall_scores."""

import math

import numpy as np
import pytest

from lstm_apps.baselines.curves import card_memory
from lstm_apps.metrics import auc, log_loss, recall_scores, rmse_bins

TAU = 2.0


def _params():
    """One memory cell that a study fills to 1 and a linear readout ``sigmoid(10 s - 5)``."""
    return {
        "tau": np.array([TAU]),
        "readout_weight": np.array([10.0]),
        "readout_bias": -5.0,
        "retrieval_gain": np.array([0.0]),
        "gate_kernel": np.zeros((0, 1)),
        "gate_bias": np.array([50.0]),
        "target_kernel": np.zeros((0, 1)),
        "target_bias": np.array([50.0]),
        "readout_slope": None,
    }


def test_card_memory_decays_between_reviews_and_schedules_the_next_one_in_closed_form():
    x = np.array([[0.5, 1.0], [3.0, 1.0]])  # studied on day 0.5, reviewed 3 days later
    memory = card_memory(_params(), x, target=0.9, n_points=2001)
    np.testing.assert_allclose(memory.review_days, [0.5, 3.5])
    # recall sigmoid(10 e^(-dt/τ) - 5) falls to 0.9 when 10 e^(-dt/τ) = 5 + ln 9
    expected = -TAU * math.log((5.0 + math.log(9.0)) / 10.0)
    assert memory.next_review_days == pytest.approx(expected, rel=1e-6)
    assert memory.days[0] == 0.0 and memory.days[-1] == pytest.approx(3.5 + 1.5 * expected)
    before = memory.days < 0.5
    assert before.any() and np.all(memory.strength[before] == 0.0)  # nothing studied yet
    between = (memory.days >= 0.5) & (memory.days < 3.5)
    np.testing.assert_allclose(
        memory.strength[between, 0], np.exp(-(memory.days[between] - 0.5) / TAU), atol=1e-9
    )
    after = memory.days >= 3.5
    np.testing.assert_allclose(
        memory.strength[after, 0], np.exp(-(memory.days[after] - 3.5) / TAU), atol=1e-9
    )
    np.testing.assert_allclose(memory.recall, 1 / (1 + np.exp(-(10 * memory.strength[:, 0] - 5))))
    fig = memory.plot(ratings=[3, 1])
    assert len(fig.axes) == 2 and "next review: +" in fig.axes[1].get_legend_handles_labels()[1][-1]


def test_card_memory_never_due_and_bad_input():
    params = {**_params(), "tau": np.array([1e9])}  # practically no forgetting: recall stays sigmoid(5)
    memory = card_memory(params, np.array([[0.0, 1.0]]), n_points=50)
    assert memory.next_review_days == math.inf and memory.days[-1] == pytest.approx(30.0)
    assert len(memory.plot().axes[1].lines) == 3  # recall, one review, the target line: no next review
    with pytest.raises(ValueError, match=r"x must have shape \(n_reviews >= 1, 2 \+ features\)"):
        card_memory(params, np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="n_points must be an integer >= 2"):
        card_memory(params, np.array([[0.0, 1.0]]), n_points=1)


def test_recall_scores_are_the_three_benchmark_scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 200), 0.01, 0.99)
    elapsed, index, lapses = rng.uniform(0.1, 40, 200), rng.integers(1, 9, 200), rng.integers(0, 3, 200)
    scores = recall_scores(y, p, elapsed, index, lapses)
    assert scores == {
        "logloss": log_loss(y, p),
        "auc": auc(y, p),
        "rmse_bins": rmse_bins(y, p, elapsed, index, lapses),
    }
    assert 0.5 < scores["auc"] <= 1.0
