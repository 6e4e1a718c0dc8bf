"""The paper-style success-rate summary of benchmarks/long_time_lag.py --trials."""

from __future__ import annotations

from script_utils import load_script


def _benchmark():
    return load_script("benchmarks/long_time_lag.py")


def test_success_rates_count_solved_trials_and_take_the_median_of_the_solved():
    rows = [
        {"goal run": "reber", "solved": True, "sequences_to_success": 7168, "paper_sequences": 8440},
        {"goal run": "reber", "solved": False, "sequences_to_success": None, "paper_sequences": 8440},
        {"goal run": "reber", "solved": True, "sequences_to_success": 3072, "paper_sequences": 8440},
        {"goal run": "adding100", "solved": False, "sequences_to_success": None, "paper_sequences": 74000},
    ]
    reber, adding = _benchmark().success_rates(rows)
    assert reber == {
        "goal run": "reber",
        "trials": 3,
        "solved": "2/3",
        "median sequences (solved trials)": 5120,
        "paper_sequences": 8440,
    }
    assert adding["solved"] == "0/1" and adding["median sequences (solved trials)"] is None
