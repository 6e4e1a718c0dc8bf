"""benchmarks/long_time_lag.py: its goal runs take the recipe's flags; the paper-style success rates."""

from __future__ import annotations

from lstm_apps.datasets.tasks import success_rates


def test_success_rates_count_solved_trials_and_take_the_median_of_the_solved():
    rows = [
        {"goal run": "reber", "solved": True, "sequences_to_success": 7168, "paper_sequences": 8440},
        {"goal run": "reber", "solved": False, "sequences_to_success": None, "paper_sequences": 8440},
        {"goal run": "reber", "solved": True, "sequences_to_success": 3072, "paper_sequences": 8440},
        {"goal run": "adding100", "solved": False, "sequences_to_success": None, "paper_sequences": 74000},
    ]
    reber, adding = success_rates(rows)
    assert reber == {
        "goal run": "reber",
        "trials": 3,
        "solved": "2/3",
        "median sequences (solved trials)": 5120,
        "paper_sequences": 8440,
    }
    assert adding["solved"] == "0/1" and adding["median sequences (solved trials)"] is None
    by_task = success_rates([{**r, "task": r["goal run"]} for r in rows], key="task")
    assert [r["task"] for r in by_task] == ["reber", "adding100"]


def test_goal_runs_use_the_recipes_flags():
    from lstm_apps.cli import load_recipe

    bench = load_recipe("long_time_lag", folder="benchmarks")
    parser = load_recipe("long_time_lag").build_parser()
    for flags, _ in bench.GOALS.values():
        args = parser.parse_args(flags)
        assert args.task in ("adding", "temporal_order_2", "reber")
    assert set(bench.DEFAULT) <= set(bench.GOALS)
