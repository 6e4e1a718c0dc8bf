"""The long-time-lag recipe (recipes/long_time_lag.py): quick runs and flags.

Its library (task table, stop rules, streams, models) is tested in test_tasks.py,
test_task_registry.py and test_task_models.py.
"""

import json

import numpy as np
import pytest

from lstm_apps.cli import load_recipe


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("long_time_lag")


REQUIRED = (
    "solved",
    "sequences_to_success",
    "paper_sequences",
    "test_max_abs_error",
    "test_error_count",
    "test_sequences",
    "weights",
    "paper_weights",
    "wall_seconds",
)

#: one quick run per task: (flags, paper row, weights, test sequences of a quick run)
QUICK_TASKS = {
    "reber": (["--blocks", "4", "--cells-per-block", "1"], "1-4", 264, 64),
    "long_lag": (["--length", "20"], None, 21 * 22 + 2 * 21, 2),
    "long_lag_random": ([], "2b", 10_504, 64),
    "very_long_lag": (["--lag", "50", "--distractors", "50"], "2c-1", 364, 64),
    "two_sequence": (["--variant", "c", "--relevant", "1"], "3c-2", 102, 64),
    "multiplication": (["--n-seq", "13"], "5-2", 93, 64),
    "temporal_order_2": ([], "6a", 156, 64),
    "temporal_order_3": ([], "6b", 308, 64),
}


@pytest.mark.parametrize(
    "task",
    [pytest.param(t, marks=[] if t == "very_long_lag" else pytest.mark.slow) for t in QUICK_TASKS],
)
def test_quick_run_of_every_task_on_the_papers_net(recipe, tmp_path, task):
    # 10-30 s each on 2 loaded cores (no XLA in quick runs); all but 5.2c (symbol-id inputs, the
    # 10,000-sequence confirmation) are slow-marked: together they check every task's net, data and
    # stop rule end to end
    flags, row, weights, tests = QUICK_TASKS[task]
    metrics = recipe.main(["--task", task, *flags, "--quick", "--runs-dir", str(tmp_path), "--verbose", "0"])
    for key in REQUIRED:
        assert key in metrics
    assert metrics["paper_row"] == row and metrics["weights"] == weights
    if row is not None:
        assert metrics["paper_weights"] == weights  # the paper's net, at the paper's weight count
    assert metrics["sequences_trained"] == 128 and metrics["solved"] is False
    assert metrics["test_sequences"] == tests and 0 <= metrics["test_error_count"] <= tests
    assert any("checked every" in d for d in metrics["differences"])
    assert not any("Adam" in d for d in metrics["differences"])  # the paper's on-line SGD by default


def test_quick_adding_run(recipe, tmp_path):
    metrics = recipe.main(["--task", "adding", "--quick", "--runs-dir", str(tmp_path)])
    for key in REQUIRED:
        assert key in metrics
    assert metrics["paper_sequences"] == 74_000 and metrics["paper_row"] == "4-1"
    assert metrics["weights"] == metrics["paper_weights"] == 93
    assert metrics["sequences_trained"] == 128
    # a quick run cannot solve the task, and must say so
    assert metrics["solved"] is False and metrics["sequences_to_success"] is None
    assert metrics["test_error_count"] <= metrics["test_sequences"] == 64
    assert np.isfinite(metrics["test_max_abs_error"])
    run_dir = next((tmp_path / "long_time_lag").iterdir())
    for name in (
        "metrics.json",
        "config.json",
        "input_gates.png",
        "vanishing_gradient.png",
        "model.keras",
        "results.md",
    ):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "config.json").read_text())["max_minutes"] == 10.0  # per task
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["sequences_to_success"] is None and saved["paper_sequences"] == 74_000
    assert "LSTM 1997 paper" in (run_dir / "results.md").read_text()
    log = json.loads((run_dir / "criterion_log_adding100_lstm1997.json").read_text())
    assert [entry["sequences"] for entry in log] == [64, 128] and not any(e["solved"] for e in log)
    history = json.loads((run_dir / "history_adding100_lstm1997.json").read_text())
    assert [e["wrong"] for e in log] == history["window_wrong"]  # the stop rule's checks reach the history
    # the vanishing gradient: a simple RNN loses its gradient over 100 steps, the carousel keeps it
    assert metrics["grad_ratio_simple_rnn_init"] < 1e-3
    assert metrics["grad_ratio_lstm1997_init"] > 0.1


@pytest.mark.slow  # trains every task of the suite: the longest default test (160 s of a loaded run)
def test_quick_all_writes_results_table(recipe, tmp_path):
    metrics = recipe.main(["--all", "--quick", "--runs-dir", str(tmp_path)])
    run_dir = next((tmp_path / "long_time_lag").iterdir())
    # 10 minutes per task: 5 full shares and 2 half shares of the suite's time budget
    assert json.loads((run_dir / "config.json").read_text())["max_minutes"] == 60.0
    table = (run_dir / "results.md").read_text()
    for task in (
        "reber",
        "long_lag",
        "adding",
        "multiplication",
        "temporal_order_2",
        "temporal_order_3",
        "simple_rnn",
    ):
        assert task in table
    assert metrics["tasks"] == 6
    for key in ("solved", "sequences_to_success", "paper_sequences", "test_error_count", "wall_seconds"):
        assert key in metrics
    for name in (
        "reber",
        "long_lag100",
        "adding100",
        "multiplication100",
        "temporal_order_2",
        "temporal_order_3",
    ):
        assert f"{name}_lstm1997_paper_sequences" in metrics
        assert (run_dir / f"model_{name}_lstm1997.keras").is_file()
    assert metrics["temporal_order_2_lstm1997_paper_sequences"] == 31_390
    assert metrics["reber_lstm1997_test_error_count"] <= 64
    assert not metrics["multiplication100_lstm1997_solved"]  # n_seq scales with a quick run's short window


def test_flags(recipe, tmp_path):
    parser = recipe.build_parser()
    for bad in (
        ["--cell", "transformer"],
        ["--task", "parity"],
        ["--window", "0"],
        ["--lr", "0.1"],
        ["--variant", "d"],
        ["--net", "big"],
        ["--optimizer", "rmsprop"],
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    with pytest.raises(ValueError, match="fixed lengths"):  # the paper's fixed lengths
        recipe.main(["--task", "reber", "--length", "50", "--quick", "--runs-dir", str(tmp_path)])
    with pytest.raises(ValueError, match="--lag applies to very_long_lag"):
        recipe.main(["--task", "adding", "--lag", "50", "--quick", "--runs-dir", str(tmp_path)])
    assert not (tmp_path / "long_time_lag").exists()  # refused before a run folder is made
    args = parser.parse_args(["--task", "multiplication", "--blocks", "3", "--input-gate-bias", "-2"])
    assert (args.learning_rate, args.batch_size, args.max_minutes) == (None, None, None)
    settings = recipe.settings_for(args, args.task, {})
    assert settings.config.blocks == 3 and settings.config.input_bias == -2.0
    assert settings.net.blocks == 3 and settings.net.input_gate_bias == (-2.0, -3.0, -4.0)
    assert settings.config.cells_per_block == 2 and settings.learning_rate == 0.1  # the paper's (5.5)
    assert (settings.optimizer, settings.batch_size) == ("sgd", 1)
    args = parser.parse_args(["--learning-rate", "0.1", "--batch-size", "8"])
    settings = recipe.settings_for(args, "adding", {})
    assert settings.learning_rate == 0.1 and settings.batch_size == 8
    args = parser.parse_args(["--task", "two_sequence", "--variant", "c"])
    settings = recipe.settings_for(args, args.task, {"variant": "c"})
    assert (settings.batch_size, settings.learning_rate) == (1, 0.1)  # the paper's on-line SGD of 3c
    assert recipe.settings_for(parser.parse_args(["--no-output-gate"]), "reber", {}).net.output_gate is False


@pytest.mark.slow
def test_adding_T100_solved_within_30000_sequences(recipe, tmp_path):
    # issue 3's configuration: our larger net and Adam (the paper's net and SGD need about 74,000)
    flags = ["--net", "ours", "--optimizer", "adam", "--max-sequences", "30000", "--verbose", "0"]
    metrics = recipe.main(["--task", "adding", "--runs-dir", str(tmp_path), *flags])
    assert metrics["solved"] and metrics["sequences_to_success"] <= 30_000
    assert metrics["test_error_count"] <= 26  # at most 1 % of the 2560 test sequences
