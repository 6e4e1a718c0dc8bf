"""Benchmark for the protein recipe: bits per residue and property probes over several seeds.

Goal (issue 29), checked for every seed:

* the network scores fewer bits per residue than the best order-k Markov model
  (order and pseudo-count chosen on validation proteins) on the held-out
  *E. coli* proteins, and on another organism's proteins (``--evaluate``,
  default: the CDS translations of the *Arabidopsis thaliana* chloroplast
  genome in ``../shared/data/genomes``, or under ``LSTM_APPS_SHARED_DATA``);
* the linear probe of its hidden state explains more of the prefix's net
  charge and of its mean hydrophobicity (R² on held-out proteins) than the
  same probe on an untrained network of the same size.

With ``--multitask`` (the default) every run also trains the network with
auxiliary property heads; its bits and probe R² are reported beside the
plain network's. The split of the proteins is the same for every seed
(``--split-seed 0``); the seed changes the initialization and the batch order.

Usage (the full benchmark: at most 30 CPU-minutes of training per seed, half for
each network, early stopping usually ends it sooner; about 25 s of CPU an
epoch on two cores):

    nice -n 19 python benchmarks/protein.py --seeds 0 1 2 --cpu-minutes 30

Writes ``benchmarks/results/protein.json`` with the command, every seed's
metrics, their mean and spread, and the goal checks.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lstm_apps.cli import load_recipe

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
_seeds = load_recipe("_seeds", folder=Path(__file__).resolve().parent)
SHARED_DATA = Path(os.environ.get("LSTM_APPS_SHARED_DATA") or ROOT.parent / "shared" / "data")
DEFAULT_OTHER = SHARED_DATA / "genomes" / "arabidopsis_chloroplast_NC_000932.gb"

#: Metrics summarised over the seeds.
SUMMARY = [
    "test_bits_per_residue_lstm",
    "test_bits_per_residue_markov",
    "test_bits_per_residue_composition",
    "test_bits_per_residue_multitask",
    "evaluate_bits_per_residue_lstm",
    "evaluate_bits_per_residue_markov",
    "evaluate_bits_per_residue_multitask",
    "evaluate_bits_per_residue_composition",
    "probe_r2_charge",
    "probe_r2_charge_untrained",
    "probe_r2_charge_counts",
    "probe_r2_hydrophobicity",
    "probe_r2_hydrophobicity_untrained",
    "probe_r2_hydrophobicity_counts",
    "multitask_probe_r2_charge",
    "multitask_probe_r2_hydrophobicity",
    "epochs_trained",
    "train_cpu_seconds",
]


def goal_checks(m: dict) -> dict[str, bool]:
    """The issue's goal for one run's metrics."""
    checks = {
        "lstm_below_markov_held_out": m["test_bits_per_residue_lstm"] < m["test_bits_per_residue_markov"],
        "probe_charge_above_untrained": m["probe_r2_charge"] > m["probe_r2_charge_untrained"],
        "probe_hydrophobicity_above_untrained": m["probe_r2_hydrophobicity"]
        > m["probe_r2_hydrophobicity_untrained"],
    }
    if "evaluate_bits_per_residue_lstm" in m:
        checks["lstm_below_markov_other_organism"] = (
            m["evaluate_bits_per_residue_lstm"] < m["evaluate_bits_per_residue_markov"]
        )
    return checks


def summarise(runs: list[dict]) -> dict:
    """Mean, standard deviation, min and max of each :data:`SUMMARY` metric over the runs that have it."""
    return _seeds.summarise(runs, SUMMARY)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="network seeds (default 0 1 2)"
    )
    parser.add_argument("--cpu-minutes", type=float, default=30.0, help="training CPU minutes per seed (30)")
    parser.add_argument("--max-minutes", type=float, default=240.0, help="wall-clock cap per seed (240)")
    parser.add_argument("--evaluate", default=str(DEFAULT_OTHER), help="another organism's proteins")
    parser.add_argument(
        "--no-multitask", dest="multitask", action="store_false", help="skip the multitask run"
    )
    _seeds.add_run_flags(parser, "protein")
    args = parser.parse_args(argv)

    return _seeds.run_seeds(
        "protein",
        argv,
        recipe="protein",
        seeds=args.seeds,
        flags=[
            *_seeds.budget_flags(args),
            "--verbose",
            "2",
            *(["--evaluate", args.evaluate] if args.evaluate else []),
            *(["--multitask"] if args.multitask else []),
            *args.extra,
        ],
        goal_checks=goal_checks,
        goal="for every seed: bits/residue below the best order-k Markov model on held-out E. coli "
        "proteins and on another organism's proteins; probe R² of the trained network above the "
        "untrained network's for the net charge and the mean hydrophobicity",
        summary=SUMMARY,
        out=args.out,
    )


if __name__ == "__main__":
    main()
