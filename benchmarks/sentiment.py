"""Benchmark: the sentiment recipe's LSTM against TF-IDF 1-2-grams + LR on real review sentences.

Data: ``../shared/data/sentiment/movie_sentences.csv`` relative to the project
root, or under the folder ``LSTM_APPS_SHARED_DATA`` names (3,400 sentences of
Pang & Lee's sentence polarity data; third-party text, read in place, never
copied into the project). For each seed the recipe draws a fresh 80/20 split,
trains the recurrent model (early stopping on a slice of the training split) and
the baseline on the same training split, and scores both on the held-out 20 %.
The summary gives each model's mean, standard deviation, minimum and maximum
accuracy over the seeds and the paired difference with its paired t-test and
sign test (``--rescore`` recomputes them for every entry of the results file).

Usage::

    nice -n 10 python benchmarks/sentiment.py --name glove             # the recipe's defaults
    nice -n 10 python benchmarks/sentiment.py --name lstm -- --word-vectors none
    nice -n 10 python benchmarks/sentiment.py --name bilstm_pretrain -- \
        --word-vectors none --bidirectional --pretrain-epochs 4

Everything after ``--`` goes to ``recipes/sentiment.py``. Results are merged
into ``benchmarks/results/sentiment.json`` under ``--name``.

The recipe's defaults on ``--data`` became the best measured configuration
(``--word-vectors auto``: GloVe 100-d, ``--vectors-vocabulary 50000``,
``--patience 8``; the ``glove`` entry) after the entries of the results file
were measured: an entry whose ``recipe_args`` name no ``--word-vectors`` ran
without pretrained vectors, which ``--word-vectors none`` now asks for.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from lstm_apps import io as _io
from lstm_apps.cli import load_recipe
from lstm_apps.metrics import paired_tests, spread

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("LSTM_APPS_SHARED_DATA") or ROOT.parent / "shared" / "data")
DATA = SHARED_DATA / "sentiment" / "movie_sentences.csv"
_seeds = load_recipe("_seeds", folder=Path(__file__).resolve().parent)


def summarize_runs(per_seed: list[dict]) -> dict:
    """Means, spreads, the paired difference and its tests, from the per-seed rows."""
    model = [r["accuracy_model"] for r in per_seed]
    base = [r["accuracy_baseline"] for r in per_seed]
    return {
        "model": spread(model),
        "baseline": spread(base),
        "difference": spread(np.subtract(model, base)),
        "model_wins": int(np.sum(np.subtract(model, base) > 0)),
        "tests": paired_tests(model, base),
        "seeds": len(per_seed),
    }


def rescore(path: Path) -> dict:
    """Recompute every entry's summary from its per-seed rows (adds the paired tests to older entries)."""
    results = _io.read_json(path)
    for entry in results.values():
        entry.update(summarize_runs(entry["per_seed"]))
    _io.write_json(path, results)
    return results


def main(argv=None) -> dict:
    _, own, recipe_args = _seeds.split_argv(argv)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--name", default="lstm", help="name of this configuration in the results file")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--data",
        default=str(DATA),
        help="labelled CSV (default ../shared/data/sentiment/movie_sentences.csv)",
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sentiment.json"))
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="only recompute the summaries of --out from its per-seed rows, then exit",
    )
    args = parser.parse_args(own)
    if args.rescore:
        return rescore(Path(args.out))
    if not Path(args.data).is_file():
        print(
            f"benchmark skipped: {args.data} is absent "
            "(shared data lives in ../shared/data beside the project, or set LSTM_APPS_SHARED_DATA)."
        )
        return {}
    recipe = load_recipe("sentiment")
    per_seed = []
    started = time.time()
    with tempfile.TemporaryDirectory() as runs:
        for seed in args.seeds:
            t0 = time.time()
            m = recipe.main(
                ["--data", args.data, "--seed", str(seed), "--runs-dir", runs, "--verbose", "0", *recipe_args]
            )
            row = {
                "seed": seed,
                "accuracy_model": m["val_accuracy_model"],
                "accuracy_baseline": m["val_accuracy_baseline"],
                "n_train": m["n_train"],
                "n_held_out": m["n_val"],
                "seconds": round(time.time() - t0, 1),
            }
            per_seed.append(row)
            print(json.dumps(row), flush=True)
    result = {
        "recipe_args": recipe_args,
        "data": os.path.relpath(args.data, ROOT),
        "per_seed": per_seed,
        **summarize_runs(per_seed),
        "wall_seconds": round(time.time() - started, 1),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs shared with other jobs "
        "(wall times are not comparable)",
    }
    out = Path(args.out)
    existing = _io.read_json(out) if out.is_file() else {}
    existing[args.name] = result
    _io.write_json(out, existing)
    print(
        f"{args.name}: model {result['model']['mean']:.4f} ± {result['model']['std']:.4f}, "
        f"baseline {result['baseline']['mean']:.4f} ± {result['baseline']['std']:.4f}, "
        f"difference {result['difference']['mean']:+.4f} ± {result['difference']['std']:.4f} "
        f"({result['model_wins']}/{len(per_seed)} seeds won; "
        f"paired t-test p = {result['tests']['paired_t_test_p']:.3f}, "
        f"sign test p = {result['tests']['sign_test_p']:.3f}) -> {out}"
    )
    return result


if __name__ == "__main__":
    main()
