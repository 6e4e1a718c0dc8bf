"""The delayed copy recipe (recipes/delayed_copy.py): quick runs, matched sizes, memory per step, flags.

Its library is tested in test_delayed_copy.py and test_transformer_baseline.py.
"""

import pytest

from lstm_apps.cli import load_recipe


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("delayed_copy")


# slow: trains all five models of the recipe (330 s of a loaded run);
# test_window_caps_the_cache keeps a recipe run in the default suite
@pytest.mark.slow
def test_quick_run_all_models(recipe, tmp_path):
    metrics = recipe.main(["--quick", "--runs-dir", str(tmp_path)])
    folder = next((tmp_path / "delayed_copy").iterdir())
    models = recipe.MODELS
    for name in models:
        for d in (10, 50):  # --quick keeps the delays <= 50
            assert 0.0 <= metrics[f"accuracy_{name}_d{d}"] <= 0.5  # five batches cannot teach copying
        assert "accuracy_" + name + "_d100" not in metrics
        assert (folder / f"model_{name}.keras").is_file()
    # matched sizes: every model within 3 % of the Transformer's parameter count
    target = metrics["params_transformer_full"]
    assert all(abs(metrics[f"params_{n}"] - target) <= 0.03 * target for n in models)
    # memory per step: the recurrent state (2 x units for the LSTMs, units for the GRU) whatever the length;
    # the windowed Transformer's cache stops growing at w, the full one's grows with T
    for name, states in (("lstm1997", 2), ("lstm", 2), ("gru", 1)):
        memory = states * metrics[f"units_{name}"]
        assert metrics[f"step_memory_{name}_d10"] == metrics[f"step_memory_{name}_d50"] == memory
    per_step = 2 * 2 * 32  # blocks x (keys + values) x d_model
    assert metrics["step_memory_transformer_full_d10"] == per_step * 15  # T = 2K + D + 1
    assert metrics["step_memory_transformer_window_d50"] == per_step * 55  # T = 55 < w = 64: all of it
    assert metrics["step_memory_transformer_full_d50"] == per_step * 55
    assert metrics["attention_reach_transformer_window"] == 2 * 63
    for name in ("accuracy_vs_delay.png", "memory_vs_length.png", "results.md", "metrics.json"):
        assert (folder / name).is_file(), name


def test_window_caps_the_cache(recipe, tmp_path):
    metrics = recipe.main(
        ["--quick", "--models", "transformer_window", "gru", "--window", "8", "--delays", "10", "40",
         "--runs-dir", str(tmp_path)]
    )  # fmt: skip
    per_step = 2 * 2 * 32
    assert (
        metrics["step_memory_transformer_window_d10"]
        == metrics["step_memory_transformer_window_d40"]
        == per_step * 8
    )
    assert metrics["step_memory_gru_d10"] == metrics["step_memory_gru_d40"]
    assert metrics["attention_reach_transformer_window"] == 14


def test_flags(recipe):
    parser = recipe.build_parser()
    for bad in (
        ["--models", "bert"],
        ["--delays", "0"],
        ["--window", "-3"],
        ["--cell", "lstm"],
        ["--lr", "1"],
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    args = recipe.resolve(parser.parse_args([]))
    assert args.delays == [10, 50, 100, 200, 500, 1000] and args.window == 64 and args.train_max_delay == 1000
    assert args.learning_rate is None  # per family: recipe.LEARNING_RATES
    args = recipe.resolve(parser.parse_args(["--delays", "300", "20", "20", "--quick"]))
    assert args.delays == [20] and args.train_max_delay == 20
    with pytest.raises(ValueError, match="--alphabet must be at least 2"):
        recipe.resolve(parser.parse_args(["--alphabet", "1"]))


@pytest.mark.slow
def test_lstm_copies_and_a_short_window_guesses(recipe, tmp_path):
    flags = ["--models", "lstm1997", "transformer_window", "--delays", "20", "40", "--window", "8"]
    metrics = recipe.main([*flags, "--epochs", "30", "--runs-dir", str(tmp_path), "--verbose", "0"])
    assert metrics["accuracy_lstm1997_d20"] >= 0.9 and metrics["accuracy_lstm1997_d40"] >= 0.9
    assert metrics["attention_reach_transformer_window"] == 14
    for d in (20, 40):  # lag K + D + 1 beyond the reach of two blocks of window 8: a guess
        assert metrics[f"accuracy_transformer_window_d{d}"] <= metrics["chance"] + 0.1
