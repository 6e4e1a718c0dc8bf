"""Benchmark for the translation recipe: the two goals of its issue.

1. Number words (bundled generator, English → German): exact match on
   held-out numbers, goal ≥ 99 %.
2. English → German dictionary sentences (``../shared/data/translation/
   ding_en_de.tsv``, 15,000 pairs, read in place and never copied): chrF on
   the held-out 10 % split, goal ≥ 40 (copying the source scores ≈ 14),
   trained on 2 CPU cores in under an hour (``--max-minutes`` caps training).

Usage:

    nice -n 10 python benchmarks/translation.py [--only numbers|ding] [--max-minutes 50]

Writes ``benchmarks/results/translation.json`` (``translation_<only>.json``
with ``--only``, or ``--out``) and prints a table with the wall time and the
process CPU time of each run (on a shared machine wall time overstates what
the run needs; CPU seconds / 2 is the time on two free cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent

DING = ROOT.parent / "shared" / "data" / "translation" / "ding_en_de.tsv"


def _run(name: str, argv: list[str]) -> dict:
    from lstm_apps.cli import load_recipe

    cpu0, t0 = time.process_time(), time.time()
    metrics = load_recipe("translation").main(argv)
    return {
        "name": name,
        "argv": argv,
        "wall_seconds": round(time.time() - t0, 1),
        "cpu_seconds": round(time.process_time() - cpu0, 1),
        **{
            k: metrics.get(k)
            for k in (
                "val_chrf",
                "val_bleu",
                "val_chrf_copy",
                "val_bleu_copy",
                "val_exact_match",
                "val_chrf_greedy",
                "val_exact_match_greedy",
                "train_pairs",
                "extra_pairs",
                "extra_pairs_per_epoch",
                "val_pairs",
                "epochs_trained",
                "train_seconds",
                "stopped_by_time_budget",
                "length_penalty",
                "decoding",
                "mbr_samples",
                "val_chrf_beam",
                "val_bleu_beam",
                "chrf_signature",
                "bleu_signature",
            )
        },
        **{
            k: v
            for k, v in metrics.items()
            if k.startswith(
                (
                    "dev_chrf_length_penalty_",
                    "epochs_trained_member_",
                    "val_chrf_member_",
                    "val_bleu_member_",
                    "ensemble",
                )
            )
        },
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("numbers", "ding"), default=None)
    parser.add_argument(
        "--max-minutes", type=float, default=50.0, help="training time cap of each run (default 50)"
    )
    parser.add_argument("--runs-dir", default=str(ROOT / "runs" / "benchmarks"))
    parser.add_argument(
        "--out",
        default=None,
        help="results file (default benchmarks/results/translation.json, "
        "translation_<only>.json with --only)",
    )
    parser.add_argument(
        "--extra", nargs=argparse.REMAINDER, default=[], help="more recipe flags for every run"
    )
    args = parser.parse_args(argv)
    common = [
        "--runs-dir",
        args.runs_dir,
        "--verbose",
        "2",
        "--max-minutes",
        str(args.max_minutes),
        *args.extra,
    ]
    results = []
    if args.only in (None, "numbers"):
        r = _run("number words", common)
        r["goal"] = "val_exact_match >= 0.99"
        r["met"] = bool(r["val_exact_match"] is not None and r["val_exact_match"] >= 0.99)
        results.append(r)
    if args.only in (None, "ding"):
        if not DING.is_file():
            print(f"skipping the Ding benchmark: {DING} is absent", file=sys.stderr)
        else:
            r = _run("ding en-de", ["--data", str(DING), *common])
            r["goal"] = "val_chrf >= 40 within 60 min on 2 cores"
            r["met"] = bool(r["val_chrf"] is not None and r["val_chrf"] >= 40 and r["cpu_seconds"] / 2 < 3600)
            results.append(r)
    out = (
        Path(args.out)
        if args.out
        else ROOT
        / "benchmarks"
        / "results"
        / (f"translation_{args.only}.json" if args.only else "translation.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    from lstm_apps.io import write_json
    from lstm_apps.training import format_table

    write_json(
        out, {"machine": f"{os.cpu_count()} cores, load average {os.getloadavg()}", "results": results}
    )
    cols = [
        "name",
        "val_chrf",
        "val_chrf_copy",
        "val_bleu",
        "val_exact_match",
        "epochs_trained",
        "wall_seconds",
        "cpu_seconds",
        "goal",
        "met",
    ]
    print(format_table(results, cols))
    return {"results": results}


if __name__ == "__main__":
    main()
