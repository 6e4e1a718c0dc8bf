"""The long-time-lag recipe (recipes/long_time_lag.py): quick runs, its stop rule, flags."""

import json

import numpy as np
import pytest
from script_utils import load_script


@pytest.fixture(scope="module")
def recipe():
    return load_script("recipes/long_time_lag.py")


REQUIRED = (
    "solved",
    "sequences_to_success",
    "paper_sequences",
    "test_max_abs_error",
    "test_error_count",
    "wall_seconds",
)


def test_quick_adding_run(recipe, tmp_path):
    metrics = recipe.main(["--task", "adding", "--quick", "--runs-dir", str(tmp_path)])
    for key in REQUIRED:
        assert key in metrics
    assert metrics["paper_sequences"] == 74_000
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
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["sequences_to_success"] is None and saved["paper_sequences"] == 74_000
    assert "LSTM 1997 paper" in (run_dir / "results.md").read_text()
    # the vanishing gradient: a simple RNN loses its gradient over 100 steps, the carousel keeps it
    assert metrics["grad_ratio_simple_rnn_init"] < 1e-3
    assert metrics["grad_ratio_lstm1997_init"] > 0.1


def test_quick_all_writes_results_table(recipe, tmp_path):
    metrics = recipe.main(["--all", "--quick", "--runs-dir", str(tmp_path)])
    run_dir = next((tmp_path / "long_time_lag").iterdir())
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
    for key in REQUIRED:
        assert key in metrics
    for name in (
        "reber",
        "long_lag",
        "adding100",
        "multiplication100",
        "temporal_order_2",
        "temporal_order_3",
    ):
        assert f"{name}_lstm1997_paper_sequences" in metrics
        assert (run_dir / f"model_{name}_lstm1997.keras").is_file()
    assert metrics["temporal_order_2_lstm1997_paper_sequences"] == 31_390
    assert metrics["reber_lstm1997_test_error_count"] <= 64


class _FakeModel:
    """Predicts given outputs; stands in for a Keras model in the stop-rule callback."""

    def __init__(self, outputs):
        self.outputs = outputs
        self.stop_training = False

    def predict(self, x, batch_size=None, verbose=0):
        return self.outputs


def _check(recipe, task, batch, outputs, deadline=1e12):
    cb = recipe.SuccessCheck(task, lambda: batch, per_epoch=1000, deadline=deadline, n_seq=140, verbose=0)
    cb.set_model(_FakeModel(outputs))
    cb.on_epoch_end(2, {})
    return cb


def test_stop_rule_adding(recipe):
    from lstm_apps.datasets import tasks

    b = tasks.adding_problem(200, seed=0)
    good = _check(recipe, "adding", b, b.y + 0.03)
    assert good.solved_at == 3000 and good.model.stop_training
    bad_out = b.y + 0.03
    bad_out[5] += 0.02  # one sequence off by 0.05
    bad = _check(recipe, "adding", b, bad_out)
    assert bad.solved_at is None and not bad.model.stop_training
    assert bad.log[-1]["wrong"] == 1
    late = _check(recipe, "adding", b, bad_out, deadline=0)  # time budget spent: stop, unsolved
    assert late.solved_at is None and late.model.stop_training


def test_stop_rule_reber_and_temporal_order(recipe):
    from lstm_apps.datasets import tasks

    r = tasks.embedded_reber(20, seed=1)
    legal = r.info["legal"]
    perfect = legal / np.maximum(legal.sum(-1, keepdims=True), 1)
    assert _check(recipe, "reber", r, perfect).solved_at == 3000
    assert _check(recipe, "reber", r, r.y).solved_at is None  # ignores the second legal symbol
    t = tasks.temporal_order(30, seed=2)
    assert _check(recipe, "temporal_order_2", t, 0.8 * t.y + 0.05).solved_at == 3000
    assert _check(recipe, "temporal_order_2", t, np.full_like(t.y, 0.25)).solved_at is None


def test_flags_build_the_right_layer(recipe):
    cfg = recipe.TASK_CONFIG["adding"]
    m = recipe.build_model("adding", "lstm1997", 2, 1, 110, cfg, truncate=False)
    layer = m.get_layer("recurrent")
    assert layer.truncate_gradients is False
    assert layer.cells_per_block == 2 and layer.units == 8
    assert layer.input_gate_bias == [-1.0, -2.0, -3.0, -4.0]
    m2 = recipe.build_model(
        "temporal_order_2", "simple_rnn", 8, 4, 110, recipe.TASK_CONFIG["temporal_order_2"]
    )
    assert type(m2.get_layer("recurrent")).__name__ == "SimpleRNN"
    with pytest.raises(SystemExit):
        recipe.build_parser().parse_args(["--cell", "transformer"])


@pytest.mark.slow
def test_adding_T100_solved_within_30000_sequences(recipe, tmp_path):
    metrics = recipe.main(
        ["--task", "adding", "--runs-dir", str(tmp_path), "--max-sequences", "30000", "--verbose", "0"]
    )
    assert metrics["solved"] and metrics["sequences_to_success"] <= 30_000
    assert metrics["test_error_count"] <= 26  # at most 1 % of the 2560 test sequences
