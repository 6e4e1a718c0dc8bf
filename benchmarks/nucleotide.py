"""Benchmark for the nucleotide recipe: bits/base on the last 10 % of E. coli K-12.

Goal (issue 7): the recurrent network scores fewer bits/base on the held-out
last 10 % of the bundled *E. coli* K-12 W3110 genome than the best order-k
Markov model (order 6 reaches 1.936 there), within 30 minutes of CPU training.

The training budget is counted in **process CPU time** (``--cpu-minutes``,
all threads; 30 CPU-minutes is at most 30 wall-minutes on any machine, and
15 on two free cores), with a wall-clock cap (``--max-minutes``) so a run on
a busy shared machine still ends. Both are reported.

Usage:

    nice -n 10 python benchmarks/nucleotide.py [--cpu-minutes 30] [--max-minutes 80] [--extra --units 256]

Writes ``benchmarks/results/nucleotide.json`` and prints the recipe's table.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from lstm_apps.cli import load_recipe

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_seeds = load_recipe("_seeds", folder=Path(__file__).resolve().parent)

#: The configuration benchmarked (recipe flags).
SETTINGS = [
    "--cell",
    "lstm",
    "--units",
    "128",
    "--layers",
    "1",
    "--window",
    "128",
    "--batch-size",
    "128",
    "--learning-rate",
    "3e-3",
    "--epochs",
    "1000",
    "--steps-per-epoch",
    "150",
    "--patience",
    "6",
    "--verbose",
    "2",
]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cpu-minutes", type=float, default=30.0, help="training budget in process CPU minutes (default 30)"
    )
    parser.add_argument(
        "--max-minutes", type=float, default=80.0, help="wall-clock cap on training (default 80)"
    )
    _seeds.add_run_flags(parser, "nucleotide", extra_help="more recipe flags (override the defaults)")
    args = parser.parse_args(argv)

    from lstm_apps import io

    nucleotide = load_recipe("nucleotide")

    recipe_argv = SETTINGS + [*_seeds.budget_flags(args), *args.extra]
    start = _seeds.clock()
    metrics = nucleotide.main(recipe_argv)
    result = {
        "goal": "test_bits_per_base_lstm < best order-k Markov (1.936 for order 6) "
        "within 30 CPU-minutes of training",
        "argv": recipe_argv,
        **_seeds.costs(start),
        "goal_met": bool(metrics["test_bits_per_base_lstm"] < metrics["test_bits_per_base_markov"]),
        **metrics,
    }
    io.write_json(args.out, result)
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "test_bits_per_base_lstm",
                    "test_bits_per_base_markov",
                    "markov_order",
                    "train_seconds",
                    "train_cpu_seconds",
                    "epochs_trained",
                    "goal_met",
                )
            },
            indent=2,
        )
    )
    return result


if __name__ == "__main__":
    main()
