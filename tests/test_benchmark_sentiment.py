"""The sentiment benchmark's paired statistics (the benchmark itself runs outside CI)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from lstm_apps.cli import load_recipe
from lstm_apps.metrics import paired_tests, spread


def test_paired_tests_match_scipy_and_count_ties():
    model = [0.74, 0.73, 0.75, 0.77, 0.72, 0.70]
    base = [0.73, 0.70, 0.73, 0.76, 0.72, 0.75]
    tests = paired_tests(model, base)
    assert (tests["wins"], tests["losses"], tests["ties"]) == (4, 1, 1)
    assert tests["paired_t_test_p"] == pytest.approx(stats.ttest_rel(model, base).pvalue)
    # sign test by hand: 4 wins of 5 untied seeds, two-sided: 2 * P(X >= 4) = 2 * 6 / 32
    assert tests["sign_test_p"] == pytest.approx(12 / 32)
    assert np.isnan(paired_tests([0.7, 0.7], [0.7, 0.7])["sign_test_p"])
    with pytest.raises(ValueError, match="equally long"):
        paired_tests([0.7, 0.8], [0.7])


def test_spread_is_mean_sample_std_min_max():
    assert spread([0.6, 0.8, 1.0]) == pytest.approx({"mean": 0.8, "std": 0.2, "min": 0.6, "max": 1.0})
    assert spread([0.5])["std"] == 0.0
    with pytest.raises(ValueError, match="at least one value"):
        spread([])


def test_spread_population_std():
    values = [0.6, 0.8, 1.3]
    assert spread(values, ddof=0)["std"] == pytest.approx(np.std(values))
    assert spread([0.5], ddof=0)["std"] == 0.0
    with pytest.raises(ValueError, match="ddof must be 0 .* or 1 .* received 2"):
        spread(values, ddof=2)


def test_rescore_recomputes_summaries_from_the_per_seed_rows(tmp_path):
    rows = [
        {"seed": s, "accuracy_model": m, "accuracy_baseline": b}
        for s, (m, b) in enumerate([(0.8, 0.7), (0.6, 0.7), (0.9, 0.7)])
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"old": {"recipe_args": ["--x"], "per_seed": rows, "model": {"mean": 0.0}}}))
    load_recipe("sentiment", folder="benchmarks").main(["--rescore", "--out", str(path)])
    entry = json.loads(path.read_text())["old"]
    assert entry["recipe_args"] == ["--x"] and entry["seeds"] == 3 and entry["model_wins"] == 2
    assert entry["model"]["mean"] == pytest.approx(0.7667, abs=1e-4)
    assert entry["difference"]["mean"] == pytest.approx(0.0667, abs=1e-4)
    assert entry["tests"]["sign_test_p"] == pytest.approx(1.0) and entry["tests"]["wins"] == 2
