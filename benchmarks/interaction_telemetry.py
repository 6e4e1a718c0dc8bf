"""Benchmark for the interaction_telemetry recipe: next action and telemetry flags over several seeds.

Goal (issue 30), checked for every seed: the network's next-action accuracy
on the held-out visits of the BPI Challenge 2012 log is above the best
order-k Markov model's (order and pseudo-count chosen on validation visits).
The telemetry question is reported whichever way it falls, with its spread
over the seeds: ROC AUC of the telemetry, behaviour and combined features
for telling the abandoned visits at step ``--prefix``, and the prompt
policy's precision and recall. The split is the same for every seed
(``--split-seed 0``); the seed changes the network's initialization and batch
order (and so its gates); the Markov model is the same for every seed.

Usage (the full benchmark, defaults of the recipe; about 5 minutes a seed on
two shared cores):

    nice -n 19 python benchmarks/interaction_telemetry.py --seeds 0 1 2 3 4

Writes ``benchmarks/results/interaction_telemetry.json`` with the command,
every seed's metrics, their mean and spread, and the goal checks.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from lstm_apps.cli import load_recipe

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_seeds = load_recipe("_seeds", folder=Path(__file__).resolve().parent)

#: Metrics summarised over the seeds.
SUMMARY = [
    "next_action_accuracy_lstm",
    "next_action_accuracy_markov",
    "next_action_accuracy_lstm_no_end",
    "next_action_accuracy_markov_no_end",
    "next_action_accuracy_lstm_end_only",
    "next_action_accuracy_markov_end_only",
    "auc_telemetry",
    "auc_behaviour",
    "auc_both",
    "auc_telemetry_all_steps",
    "auc_behaviour_all_steps",
    "auc_both_all_steps",
    "prompt_prompts",
    "prompt_precision",
    "prompt_recall",
    "prompt_prompts_behaviour",
    "prompt_precision_behaviour",
    "prompt_recall_behaviour",
    "epochs_trained",
    "train_cpu_seconds",
]


def goal_checks(m: dict) -> dict[str, bool]:
    """The issue's goal for one run's metrics."""
    return {"lstm_above_markov": m["next_action_accuracy_lstm"] > m["next_action_accuracy_markov"]}


def summarise(runs: list[dict]) -> dict:
    """Mean, standard deviation, min and max of each :data:`SUMMARY` metric over the runs that have it."""
    return _seeds.summarise(runs, SUMMARY)


def comparisons(runs: list[dict]) -> dict:
    """Seeds on which each feature set has the highest AUC at the prefix step, and the paired differences."""
    sets = ("telemetry", "behaviour", "both")
    best = [max(sets, key=lambda s: r[f"auc_{s}"]) for r in runs]
    diff = np.array([r["auc_telemetry"] - r["auc_behaviour"] for r in runs])
    return {
        "seeds_best": {s: best.count(s) for s in sets},
        "telemetry_minus_behaviour": {
            "mean": float(diff.mean()),
            "min": float(diff.min()),
            "max": float(diff.max()),
        },
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="network seeds (0..4)")
    _seeds.add_run_flags(parser, "interaction_telemetry")
    args = parser.parse_args(argv)

    return _seeds.run_seeds(
        "interaction_telemetry",
        argv,
        recipe="interaction_telemetry",
        seeds=args.seeds,
        flags=["--runs-dir", args.runs_dir, "--verbose", "2", *args.extra],
        goal_checks=goal_checks,
        goal="for every seed: next-action accuracy of the network above the best order-k Markov model "
        "on the held-out visits; the telemetry AUCs and the prompt policy reported whichever way they fall",
        summary=SUMMARY,
        out=args.out,
        more=lambda runs: {"comparisons": comparisons(runs)},
    )


if __name__ == "__main__":
    main()
