"""The forgetting_curve recipe end to end: the 1885 fits, the review-log cell and its baselines."""

import json

import keras
import pytest

from lstm_apps.cli import load_recipe

recipe = load_recipe("forgetting_curve")


def test_recipe_quick(runs_dir):
    metrics = recipe.main(["--quick", "--runs-dir", str(runs_dir), "--max-cell-units", "2"])
    for name in ("cell_1", "cell_2", "exponential", "power_law", "ebbinghaus", "fsrs6"):
        assert f"rmse_{name}" in metrics and f"aic_{name}" in metrics
    for name in ("cell", "hlr", "fsrs"):
        for key in ("logloss", "auc", "rmse_bins"):
            assert f"{key}_{name}" in metrics
    assert metrics["rmse_cell_2"] < metrics["rmse_ebbinghaus"] < 1.9
    assert metrics["logloss_cell"] < 0.6  # a constant 0.5 scores 0.69
    assert metrics["logloss_fsrs"] < 0.6
    assert 0.0 < metrics["next_review_days_example_card"] < 365.0
    run_dir = next((runs_dir / "forgetting_curve").iterdir())
    for f in (
        "metrics.json",
        "model.keras",
        "ebbinghaus_fits.png",
        "card_memory.png",
        "curves.md",
        "reviews.md",
    ):
        assert (run_dir / f).exists(), f
    # the shared --learning-rate, 0.03 by default here, is the cell's Adam learning rate
    assert json.loads((run_dir / "config.json").read_text())["learning_rate"] == 0.03
    optimizer = keras.models.load_model(run_dir / "model.keras").optimizer
    assert float(optimizer.learning_rate) == pytest.approx(0.03)


@pytest.mark.parametrize(
    "bad",
    [
        ["--cell", "forgetting_curve"],  # the gray-box cell is the model under test: no choice of cell
        ["--lr", "0.1"],  # the shared --learning-rate replaces it
        ["--units", "0"],
        ["--test-fraction", "1"],
        ["--log", "no_such_log.csv"],
    ],
)
def test_recipe_refuses_bad_flags(bad, runs_dir, capsys):
    with pytest.raises(SystemExit):
        recipe.main(["--quick", "--runs-dir", str(runs_dir), *bad])
    assert bad[0] in capsys.readouterr().err
    assert not runs_dir.exists()  # refused before a run folder is made


@pytest.mark.slow
def test_recipe_default_cell_beats_ebbinghaus(runs_dir):
    """Default run: the cell with at most 3 time constants beats Ebbinghaus's formula on RMSE and AIC."""
    metrics = recipe.main(["--runs-dir", str(runs_dir), "--verbose", "0"])
    assert min(metrics[f"rmse_cell_{k}"] for k in (2, 3)) < metrics["rmse_ebbinghaus"]
    assert min(metrics[f"aic_{k}"] for k in ("cell_2", "cell_3")) < metrics["aic_ebbinghaus"]
    assert metrics["logloss_cell"] < metrics["logloss_constant"]
