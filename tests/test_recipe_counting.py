"""The counting recipe (recipes/counting.py): quick runs, files, flags.

Its library is tested in test_formal_languages.py (languages, scoring, counter
analysis) and test_transformer_baseline.py.
"""

import json

import pytest

from lstm_apps.cli import load_recipe
from lstm_apps.layers import recurrent_kinds


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("counting")


def run_dir(tmp_path):
    return next((tmp_path / "counting").iterdir())


def test_quick_anbn_counts_beyond_the_training_sizes(recipe, tmp_path):
    metrics = recipe.main(["--quick", "--runs-dir", str(tmp_path)])
    # a few seconds of training already give a counter that holds past n = 10
    assert metrics["train_strings_right"] == 1.0
    assert metrics["max_n_all_correct_lstm1997"] > 10
    assert metrics["counter_r2_lstm1997"] > 0.99 and metrics["counter_r2_layer1"] > 0.99
    assert metrics["tested_up_to"] <= 60  # --quick tests n <= 60
    folder = run_dir(tmp_path)
    for name in ("metrics.json", "config.json", "counter.png", "model.keras", "results.md", "history.json"):
        assert (folder / name).is_file(), name
    table = (folder / "results.md").read_text()
    assert "Gers & Schmidhuber 2001" in table and "Pérez-Ortiz et al. 2003" in table and "this run" in table
    config = json.loads((folder / "config.json").read_text())
    assert config["epochs"] == 3 and config["units"] == 4 and config["learning_rate"] > 0


# slow: a transformer run (18 s of a loaded run); the baseline itself is tested in
# test_transformer_baseline.py and the recipe path by the two runs above and below
@pytest.mark.slow
def test_quick_transformer_does_not_generalise(recipe, tmp_path):
    metrics = recipe.main(["--quick", "--cell", "transformer", "--runs-dir", str(tmp_path)])
    assert metrics["max_n_all_correct_transformer"] < 60
    assert "counter_r2_transformer" not in metrics  # no memory cells to fit
    assert not (run_dir(tmp_path) / "counter.png").exists()


# slow: a two-layer run (69 s of a loaded run)
@pytest.mark.slow
def test_quick_two_layers_on_dyck(recipe, tmp_path):
    metrics = recipe.main(
        ["--quick", "--task", "dyck1", "--cell", "gru", "--layers", "2", "--runs-dir", str(tmp_path)]
    )
    assert {"counter_r2_layer1", "counter_r2_layer2", "max_n_all_correct_gru"} <= set(metrics)
    assert "phase_r2_layer1" not in metrics  # Dyck-1 has no phases
    assert 0.0 <= metrics["counter_r2_layer2"] <= 1.0 and 0.0 <= metrics["train_strings_right"] <= 1.0


def test_flags(recipe):
    parser = recipe.build_parser()
    for bad in (
        ["--task", "anbnbn"],
        ["--cell", "bert"],
        ["--train-max-n", "0"],
        ["--layers", "0"],
        ["--lr", "1"],
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    assert set(recipe.MODELS) == {*recurrent_kinds(), "transformer"}
    args = recipe.resolve(parser.parse_args(["--task", "parity"]))
    defaults = recipe.TASK_DEFAULTS["parity"]
    assert (args.units, args.batch_size, args.learning_rate) == (
        defaults["units"],
        defaults["batch_size"],
        defaults["learning_rate"],
    )
    assert args.epochs is None and args.test_max_n == 1000 and args.train_max_n == 10
    args = recipe.resolve(parser.parse_args(["--cell", "transformer"]))
    assert (
        args.learning_rate
        == recipe.TRANSFORMER_LEARNING_RATE
        != recipe.TASK_DEFAULTS["anbn"]["learning_rate"]
    )
    args = recipe.resolve(parser.parse_args(["--units", "7", "--learning-rate", "0.3", "--quick"]))
    assert (args.units, args.learning_rate, args.test_max_n) == (7, 0.3, 60)


def test_quick_parity_accuracy_at_every_size(recipe, tmp_path):
    argv = ["--quick", "--task", "parity", "--cell", "min_gru", "--accuracy-strings", "30"]
    metrics = recipe.main([*argv, "--runs-dir", str(tmp_path)])
    accuracy = metrics["accuracy_by_n"]
    assert len(accuracy) == 60 and metrics["accuracy_strings_per_n"] == 10  # --quick: n <= 60, 10 strings
    assert metrics["min_accuracy"] == min(accuracy) == accuracy[metrics["worst_n"] - 1]
    assert all(round(10 * a) == 10 * a for a in accuracy)  # shares of 10 strings
    assert "lowest accuracy per n" in (run_dir(tmp_path) / "results.md").read_text()


def test_slstm_forget_activation_reaches_the_cell(recipe):
    from lstm_apps.datasets import formal_languages as fl

    parser = recipe.build_parser()
    args = recipe.resolve(
        parser.parse_args(["--task", "parity", "--cell", "slstm", "--forget-activation", "exp"])
    )
    model = recipe.build_model(args, fl.training_set("parity", 3, size=4))
    assert model.get_layer("slstm_1").cell.forget_activation == "exp"
    with pytest.raises(SystemExit):
        parser.parse_args(["--forget-activation", "tanh"])


@pytest.mark.slow
def test_default_anbn_run_generalises_far(recipe, tmp_path):
    metrics = recipe.main(["--runs-dir", str(tmp_path), "--verbose", "0"])
    assert metrics["max_n_all_correct_lstm1997"] >= 20  # twice the training sizes (seed 0: 27)
    assert metrics["counter_r2_lstm1997"] >= 0.99
