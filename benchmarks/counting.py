"""Benchmark: how far each cell (and a Transformer) counts, over seeds, on the counting recipe's tasks.

For every task, model and seed, ``recipes/counting.py`` trains on n <= 10 and
tests every n up to 1000; the trials (``max_n_all_correct``, the counter's
R², the training strings right, the time) and a summary per task and model
(median, minimum and maximum of ``max_n_all_correct`` over the seeds, how
many seeds reached the test range's end, the median counter R²) are written
to ``benchmarks/results/counting.json`` under ``--name``, with the exact
command. Running the same name again appends the trials of seeds not yet
there (results are deterministic given the seed) and recomputes the summary.

Goals (issue "Counting and memory span"): the 1997 layer generalises aⁿbⁿ
from n <= 10 to n = 1000 in at least half the seeds and aⁿbⁿcⁿ to n >= 500;
the counter cell's R² >= 0.99; every cell's and the Transformer's figure in
one table. A model whose layer cannot read the task's one-hot symbols (a cell
made for one input feature) is recorded as refused, with the reason.

``--study parity`` is the proof task of issue "Modern cells" (Delétang et al.
2023, xLSTM): parity, trained on lengths <= 40, tested on 100 strings of every
length up to 256 (recipe flags ``--task parity --train-max-n 40 --test-max-n
256 --accuracy-strings 100``, before the ones after ``--``), entry ``parity``
by default. Each trial then also holds the accuracy at every length, and the
summary, per model, the seeds with an accuracy >= 0.99 at every length (the
goal: sLSTM in at least 3 of 5 seeds), the median lowest accuracy and the mean
accuracy over ranges of lengths (the training lengths, then doublings).

Every entry holds a ``settings`` block (the seeds run, the recipe's flags,
``--note``), so a reduced run says so in the file.

Usage::

    nice -n 19 python benchmarks/counting.py                       # 10 seeds, every task and model
    nice -n 19 python benchmarks/counting.py --name reduced --tasks anbn --models lstm1997 gru \\
        --seeds 2 -- --epochs 5 --test-max-n 200
    nice -n 19 python benchmarks/counting.py --study parity --seeds 5   # every cell, 5 seeds

Everything after ``--`` goes to ``recipes/counting.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from lstm_apps.cli import load_recipe
from lstm_apps.datasets.formal_languages import LANGUAGES
from lstm_apps.training import positive_int

RESULTS = Path(__file__).resolve().parent / "results" / "counting.json"
_seeds = load_recipe("_seeds", folder=Path(__file__).resolve().parent)
#: The recipe flags of ``--study parity`` (flags after ``--`` come later and override them).
PARITY_ARGS = ["--task", "parity", "--train-max-n", "40", "--test-max-n", "256", "--accuracy-strings", "100"]
#: The proof task's accuracy, at every length.
GOAL_ACCURACY = 0.99


def length_ranges(train_max_n: int, test_max_n: int) -> list[tuple[int, int]]:
    """The training lengths ``1 .. train_max_n``, then doublings up to ``test_max_n``.

    Example:

    >>> length_ranges(40, 256)
    [(1, 40), (41, 80), (81, 160), (161, 256)]
    """
    ranges, low, high = [], 1, train_max_n
    while low <= test_max_n:
        ranges.append((low, min(high, test_max_n)))
        low, high = high + 1, 2 * high
    return ranges


def summarize_accuracy(done: list[dict]) -> dict:
    """Over the seeds: how many reached ``GOAL_ACCURACY`` at every length, and the accuracy by lengths."""
    lowest = np.array([r["min_accuracy"] for r in done])
    out = {
        "seeds_at_goal_every_n": int((lowest >= GOAL_ACCURACY).sum()),
        "median_min_accuracy": float(np.median(lowest)),
        "min_accuracy": float(lowest.min()),
        "median_train_strings_right": float(np.median([r["train_strings_right"] for r in done])),
        "accuracy_by_range": {},
    }
    for low, high in length_ranges(done[0]["train_max_n"], done[0]["test_max_n"]):
        means = [np.mean(r["accuracy_by_n"][low - 1 : high]) for r in done]
        out["accuracy_by_range"][f"{low}-{high}"] = float(np.mean(means))
    return out


def summarize(trials: list[dict]) -> dict:
    """Per task and model: max_n_all_correct over the seeds, and the goals' counts."""
    out: dict = {}
    for t in trials:
        out.setdefault(t["task"], {}).setdefault(t["model"], []).append(t)
    summary = {}
    for task, models in out.items():
        summary[task] = {}
        for model, rows in models.items():
            done = [r for r in rows if "refused" not in r]
            if not done:
                summary[task][model] = {"seeds": len(rows), "refused": rows[0]["refused"]}
                continue
            reached = np.array([r["max_n_all_correct"] for r in done])
            r2 = [r["counter_r2"] for r in done if r.get("counter_r2") is not None]
            summary[task][model] = {
                "seeds": len(done),
                "median_max_n": float(np.median(reached)),
                "min_max_n": int(reached.min()),
                "max_max_n": int(reached.max()),
                "seeds_to_test_max_n": int(sum(r["max_n_all_correct"] >= r["test_max_n"] for r in done)),
                "seeds_to_500": int((reached >= 500).sum()),
                "test_max_n": int(done[0]["test_max_n"]),
                "median_counter_r2": float(np.median(r2)) if r2 else None,
            }
            if all("min_accuracy" in r for r in done):
                summary[task][model].update(summarize_accuracy(done))
    return summary


def run_trial(recipe, task, model, seed, recipe_args, runs_dir) -> dict:
    argv = ["--task", task, "--cell", model, "--seed", str(seed), "--runs-dir", runs_dir, "--verbose", "0"]
    t0 = time.time()
    trial = {"task": task, "model": model, "seed": seed}
    try:
        m = recipe.main(argv + list(recipe_args))
    except ValueError as exc:  # e.g. a cell made for a single input feature
        return {**trial, "refused": str(exc)}
    resolved = recipe.resolve(recipe.build_parser().parse_args(argv + list(recipe_args)))
    if "min_accuracy" in m:  # --accuracy-strings: every size tested
        trial.update(
            {k: m[k] for k in ("min_accuracy", "worst_n", "accuracy_strings_per_n", "accuracy_by_n")}
        )
    return {
        **trial,
        "max_n_all_correct": m[f"max_n_all_correct_{model}"],
        "tested_up_to": m["tested_up_to"],
        "train_max_n": resolved.train_max_n,
        "test_max_n": resolved.test_max_n,
        "counter_r2": m.get(f"counter_r2_{model}"),
        "phase_r2_layer1": m.get("phase_r2_layer1"),
        "train_strings_right": m["train_strings_right"],
        "weights": m["weights"],
        "train_seconds": m.get("train_seconds"),
        "wall_seconds": round(time.time() - t0, 1),
    }


def settings(entry: dict, note: str = "") -> dict:
    """What the entry's trials ran with: seeds, the recipe's flags (epochs among them) and the note."""
    out = {
        "seeds": sorted({t["seed"] for t in entry["trials"]}),
        "recipe_args": entry["recipe_args"],
        "note": note or entry.get("settings", {}).get("note", ""),
    }
    return out


def main(argv=None):
    argv, own, recipe_args = _seeds.split_argv(argv)
    recipe = load_recipe("counting")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--name", default=None, help="the entry of the results file (default: the study)")
    parser.add_argument(
        "--study", choices=("max_n", "parity"), default="max_n", help="max_n (default) or the parity proof"
    )
    parser.add_argument("--note", default="", help="a line for the entry's settings (e.g. 'reduced: ...')")
    parser.add_argument("--tasks", nargs="+", choices=LANGUAGES, default=list(LANGUAGES))
    parser.add_argument("--models", nargs="+", choices=recipe.MODELS, default=list(recipe.MODELS))
    parser.add_argument("--seeds", type=positive_int, default=10, help="seeds seed .. seed + seeds - 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(RESULTS), help="the results file (default %(default)s)")
    args = parser.parse_args(own)
    if args.study == "parity":
        args.tasks, recipe_args = ["parity"], PARITY_ARGS + recipe_args
    args.name = args.name or {"max_n": "default", "parity": "parity"}[args.study]
    output = Path(args.output)
    command = _seeds.command_line("counting", argv)
    results, entry = _seeds.open_entry(output, args.name, recipe_args, command)
    done = {(t["task"], t["model"], t["seed"]) for t in entry["trials"]}
    with tempfile.TemporaryDirectory() as runs_dir:
        for task in args.tasks:
            for model in args.models:
                for seed in range(args.seed, args.seed + args.seeds):
                    if (task, model, seed) in done:
                        continue
                    trial = run_trial(recipe, task, model, seed, recipe_args, runs_dir)
                    entry["trials"].append(trial)
                    print(trial, flush=True)
                    entry["summary"] = summarize(entry["trials"])
                    entry["settings"] = settings(entry, args.note)
                    _seeds.save_entry(output, results, args.name, entry)
    for task, models in entry.get("summary", {}).items():
        for model, s in models.items():
            print(task, model, s)
    return entry


if __name__ == "__main__":
    main()
