"""The sentiment benchmark's paired statistics (the benchmark itself runs outside CI)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from script_utils import load_script


def test_paired_tests_match_scipy_and_count_ties():
    bench = load_script("benchmarks/sentiment.py")
    model = [0.74, 0.73, 0.75, 0.77, 0.72, 0.70]
    base = [0.73, 0.70, 0.73, 0.76, 0.72, 0.75]
    tests = bench.paired_tests(model, base)
    assert (tests["wins"], tests["losses"], tests["ties"]) == (4, 1, 1)
    assert tests["paired_t_test_p"] == pytest.approx(stats.ttest_rel(model, base).pvalue)
    # sign test by hand: 4 wins of 5 untied seeds, two-sided: 2 * P(X >= 4) = 2 * 6 / 32
    assert tests["sign_test_p"] == pytest.approx(12 / 32)
    assert np.isnan(bench.paired_tests([0.7, 0.7], [0.7, 0.7])["sign_test_p"])


def test_rescore_recomputes_summaries_from_the_per_seed_rows(tmp_path):
    bench = load_script("benchmarks/sentiment.py")
    rows = [
        {"seed": s, "accuracy_model": m, "accuracy_baseline": b}
        for s, (m, b) in enumerate([(0.8, 0.7), (0.6, 0.7), (0.9, 0.7)])
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"old": {"recipe_args": ["--x"], "per_seed": rows, "model": {"mean": 0.0}}}))
    bench.main(["--rescore", "--out", str(path)])
    entry = json.loads(path.read_text())["old"]
    assert entry["recipe_args"] == ["--x"] and entry["seeds"] == 3 and entry["model_wins"] == 2
    assert entry["model"]["mean"] == pytest.approx(0.7667, abs=1e-4) and entry["difference"][
        "mean"
    ] == pytest.approx(0.0667, abs=1e-4)
    assert entry["tests"]["sign_test_p"] == pytest.approx(1.0) and entry["tests"]["wins"] == 2
