"""benchmarks/long_time_lag.py: the paper's rows as recipe flags, trials that accumulate, the summaries."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from lstm_apps.cli import load_recipe
from lstm_apps.datasets import tasks
from lstm_apps.datasets.tasks import success_rates


@pytest.fixture(scope="module")
def bench():
    return load_recipe("long_time_lag", folder="benchmarks")


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


def test_every_row_becomes_recipe_flags_that_find_the_row_again(bench):
    parser = load_recipe("long_time_lag").build_parser()
    names = ("length", "lag", "distractors", "variant", "relevant", "n_seq")
    for row in tasks.PAPER_ROWS:
        flags, sequences = bench.row_flags(row.id)
        args = parser.parse_args(flags)
        params = tasks.task_params(args.task, **{k: getattr(args, k) for k in names})
        settings = load_recipe("long_time_lag").settings_for(args, args.task, params)
        net = settings.net
        found = tasks.paper_row(args.task, params, net.blocks, net.cells_per_block, settings.learning_rate)
        assert found.id == row.id and sequences == row.sequences
    assert bench.row_flags("1-1")[0][-2:] == ["--learning-rate", "0.1"]  # the paper's SGD at the row's rate
    assert "--learning-rate" not in bench.row_flags("1-1", ["--optimizer", "adam"])[0]  # Adam keeps its own
    assert bench.row_flags("q=10") == (
        ["--task", "very_long_lag", "--lag", "10", "--distractors", "10"],
        None,
    )
    assert bench.row_flags("q=100")[1] == 31_000
    with pytest.raises(SystemExit, match="unknown row '9z'"):
        bench.row_flags("9z")
    for arms in bench.STUDIES.values():
        for _, keys, flags in arms:
            assert all(bench.row_flags(k) for k in keys)
            parser.parse_args(flags)
    assert bench.setting_of([]) == bench.MAIN_SETTING == "paper net, sgd"
    assert bench.setting_of(["--optimizer", "adam", "--no-truncate"]) == "paper net, adam (--no-truncate)"


def test_summary_and_the_goal(bench):
    row = tasks.paper_row("adding", {"length": 100})
    trial = {"test_error_count": 1, "test_sequences": 2560, "weights": 93, "cpu_seconds": 60.0}
    trials = [
        {**trial, "solved": True, "sequences_to_success": 50_000, "sequences_trained": 50_000},
        {**trial, "solved": True, "sequences_to_success": 70_000, "sequences_trained": 70_000},
        {**trial, "solved": False, "sequences_to_success": None, "sequences_trained": 370_000},
    ]
    s = bench.summarize(trials, row)
    assert (s["trials"], s["solved"], s["mean_sequences"], s["median_sequences"]) == (3, 2, 60_000, 60_000)
    assert s["most_sequences_unsolved"] == 370_000 and s["mean_cpu_minutes"] == 1.0
    assert s["goal_met"] is False  # the paper solved all of its trials
    assert bench.summarize(trials[:2], row)["goal_met"] is True
    slower = [{**t, "sequences_to_success": 80_000} for t in trials[:2]]
    assert bench.summarize(slower, row)["goal_met"] is False
    reber = tasks.paper_row("reber", blocks=3, cells_per_block=2, learning_rate=0.2)  # 97 % in the paper
    assert bench.summarize(trials, reber)["goal_met"] is False
    empty = bench.summarize([], row)
    assert empty["trials"] == 0 and empty["goal_met"] is None and empty["mean_sequences"] is None


def test_committed_results_keep_the_migrated_trials_and_cover_every_row(bench):
    results = json.loads((ROOT / "benchmarks" / "results" / "long_time_lag.json").read_text())
    trials = [t for entry in results["rows"].values() for t in entry["trials"]]
    migrated = [t for t in trials if "migrated" in t["setting"]]
    assert len(migrated) >= 17  # the 7 suite runs and the 10 Reber goal runs of issue 3
    reber = [t for t in results["rows"]["1-5"]["trials"] if "Reber goal runs" in t["setting"]]
    assert sorted(t["seed"] for t in reber) == list(range(10)) and sum(t["solved"] for t in reber) == 8
    assert [line["row"] for line in results["table"]] == [row.id for row in tasks.PAPER_ROWS]
    again = bench.resummarize(json.loads(json.dumps(results)))
    assert again["table"] == results["table"] and again["other_settings"] == results["other_settings"]


def test_trials_accumulate_across_runs(bench, tmp_path, monkeypatch):
    calls = []

    class FakeRecipe:
        def build_parser(self):
            return load_recipe("long_time_lag").build_parser()

        def main(self, argv):
            calls.append(argv)
            seed = int(argv[argv.index("--seed") + 1])
            solved = seed != 1
            return {
                "solved": solved,
                "sequences_to_success": 10_000 * (seed + 1) if solved else None,
                "sequences_trained": 10_000 * (seed + 1),
                "test_error_count": seed,
                "test_sequences": 2560,
                "weights": 156,
                "paper_weights": 156,
            }

    real = bench.load_recipe
    monkeypatch.setattr(bench, "load_recipe", lambda name, **kw: FakeRecipe() if not kw else real(name, **kw))
    out = tmp_path / "r.json"
    bench.main(["--rows", "6a", "--trials", "2", "--output", str(out), "--cpu-minutes-per-trial", "5"])
    bench.main(["--rows", "6a", "--trials", "1", "--output", str(out)])
    bench.main(["--rows", "6a", "--trials", "1", "--output", str(out), "--", "--optimizer", "adam"])
    bench.main(["--rows", "6a", "--trials", "1", "--output", str(out), "--", "--net", "ours"])
    results = json.loads(out.read_text())
    trials = results["rows"]["6a"]["trials"]
    assert [(t["setting"], t["seed"]) for t in trials] == [
        ("paper net, sgd", 0),
        ("paper net, sgd", 1),
        ("paper net, sgd", 2),
        ("paper net, adam", 0),
        ("ours net, sgd", 0),
    ]
    assert "--max-cpu-minutes" in calls[0] and calls[0][calls[0].index("--max-cpu-minutes") + 1] == "5.0"
    assert calls[0][calls[0].index("--max-sequences") + 1] == str(5 * 31_390)
    line = results["table"][[r.id for r in tasks.PAPER_ROWS].index("6a")]
    assert (line["solved"], line["mean_sequences"], line["goal"]) == ("2/3", 20_000, "missed")
    assert results["table_adam"][[r.id for r in tasks.PAPER_ROWS].index("6a")]["solved"] == "1/1"
    assert [o["setting"] for o in results["other_settings"]] == ["ours net, sgd"]
    assert len(results["commands"]) == 4
