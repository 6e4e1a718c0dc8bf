"""Quick runs of recipes/interaction_telemetry.py (seconds of training; bounds that a broken pipeline fails).

The bounds were measured in ``--quick`` mode (800 visits of the bundled BPI
Challenge 2012 log, 160 held out; a 16-unit network trained one epoch), where
the network is far from trained: the quick run checks the pipeline, not the
goal (see benchmarks/interaction_telemetry.py for that).
"""

import json

import pytest

from lstm_apps.cli import load_recipe

recipe = load_recipe("interaction_telemetry")

KEYS = (
    "next_action_accuracy_lstm",
    "next_action_accuracy_markov",
    "auc_telemetry",
    "auc_behaviour",
    "auc_both",
    "prompt_precision",
    "prompt_recall",
)


def test_quick_run_writes_every_metric(runs_dir):
    metrics = recipe.main(["--quick", "--runs-dir", str(runs_dir)])
    (run,) = list((runs_dir / "interaction_telemetry").iterdir())
    saved = json.loads((run / "metrics.json").read_text())
    for key in KEYS:
        assert key in saved and saved[key] == metrics[key], key
    # the Markov model is deterministic: order 1 on 560 training visits (measured 0.675); six
    # actions and the end: always guessing the commonest target scores about 0.3
    assert metrics["markov_order"] == 1 and 0.65 < metrics["next_action_accuracy_markov"] < 0.70
    assert 0.2 < metrics["next_action_accuracy_lstm"] < 0.75
    assert metrics["next_action_accuracy_markov_no_end"] > metrics["next_action_accuracy_markov"]
    # abandoned visits are about 30 % of the 160 held out; a scorer that learned nothing is near 0.5
    assert metrics["test_visits"] == 160 and 40 <= metrics["prompt_bad_visits"] <= 60
    for key in ("auc_telemetry", "auc_behaviour", "auc_both"):
        assert 0.55 < metrics[key] < 0.9, key
    # a prompt lands in an abandoned visit about as often as the base rate or more (measured 0.38 to 0.50)
    assert metrics["prompt_precision"] > metrics["test_bad_share"] - 0.05
    assert 0.05 < metrics["prompt_recall"] <= 1.0  # measured 0.47 (0.10 to 0.47 over seeds 0-2)
    assert metrics["prompt_landed"] <= metrics["prompt_prompts"] <= metrics["test_visits"]
    for name in ("model.keras", "visit_gates.png", "results.md", "results_flags.md", "results_prompts.md"):
        assert (run / name).exists(), name
    assert "Tax et al. 2017" in (run / "results.md").read_text()


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--bad-activity", "A_NOTHING"], "'A_NOTHING' never occurs"),
        (["--action-prefix", "X_"], "starts with action_prefix 'X_'"),
    ],
)
def test_bad_options_fail_before_training(runs_dir, argv, match):
    with pytest.raises(ValueError, match=match):
        recipe.main(["--quick", "--runs-dir", str(runs_dir), *argv])
    assert not (runs_dir / "interaction_telemetry").exists()


@pytest.mark.slow  # a second quick run (about 20 s of CPU): any --cell gives telemetry
def test_quick_run_with_a_gru(runs_dir):
    metrics = recipe.main(["--quick", "--cell", "gru", "--runs-dir", str(runs_dir)])
    for key in ("auc_telemetry", "auc_both"):
        assert 0.5 < metrics[key] < 0.9, key
    assert 0.2 < metrics["next_action_accuracy_lstm"] < 0.75
