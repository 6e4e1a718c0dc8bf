"""Benchmark: delayed copy over seeds: accuracy at every delay and the memory a step needs, per model.

For each seed, ``recipes/delayed_copy.py`` trains every model (the 1997
layer, Keras's LSTM and GRU, the windowed and the full Transformer, matched
in parameter count) and tests each at every delay D. The trials (accuracy per
model and D, memory per step, parameters, the windowed model's reach) and a
summary (per model and D: mean, minimum and maximum accuracy over the seeds;
the goals' verdicts) are written to ``benchmarks/results/delayed_copy.json``
under ``--name``, with the exact command. Running the same name again appends
the seeds not yet there and recomputes the summary.

Goals (issue "Counting and memory span"): the LSTM at >= 99 % at every D up
to 1000; the windowed Transformer at chance for D beyond its reach and near
perfect for D < w, measured, not assumed; the memory per step constant for
the recurrent models, growing with w (windowed) or T (full).

Usage::

    nice -n 19 python benchmarks/delayed_copy.py                  # 3 seeds, the recipe's defaults
    nice -n 19 python benchmarks/delayed_copy.py --name reduced --seeds 1 -- --delays 10 50 --epochs 2

Everything after ``--`` goes to ``recipes/delayed_copy.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from lstm_apps.cli import load_recipe
from lstm_apps.training import positive_int

RESULTS = Path(__file__).resolve().parent / "results" / "delayed_copy.json"
_seeds = load_recipe("_seeds", folder=Path(__file__).resolve().parent)
#: "near perfect" and "at chance" as the goals read them.
NEAR_PERFECT, CHANCE_MARGIN = 0.99, 0.05


def summarize(trials: list[dict]) -> dict:
    """Per model and delay: accuracy over the seeds; the goals' verdicts."""
    first = trials[0]
    delays, chance, window = first["delays"], first["chance"], first["window"]
    models = {}
    for name in first["params"]:
        per_d = {}
        for d in delays:
            acc = np.array([t["accuracy"][name][str(d)] for t in trials])
            per_d[str(d)] = {"mean": float(acc.mean()), "min": float(acc.min()), "max": float(acc.max())}
        models[name] = {
            "params": first["params"][name],
            "accuracy": per_d,
            "step_memory": first["step_memory"][name],
            "reach": first["reach"].get(name),
        }
    goals = {}
    for name in ("lstm1997", "lstm"):
        if name in models:
            goals[f"{name}_at_least_99_every_d"] = all(
                v["min"] >= NEAR_PERFECT for v in models[name]["accuracy"].values()
            )
    if "transformer_window" in models:
        acc, reach = models["transformer_window"]["accuracy"], models["transformer_window"]["reach"]
        lag = {d: d + first["symbols"] + 1 for d in delays}  # steps from a symbol to its recall
        beyond = [d for d in delays if lag[d] > reach]
        within = [d for d in delays if d < window]
        goals["window_at_chance_beyond_reach"] = all(
            acc[str(d)]["max"] <= chance + CHANCE_MARGIN for d in beyond
        )
        goals["window_near_perfect_below_w"] = all(acc[str(d)]["min"] >= NEAR_PERFECT for d in within)
        goals["window_delays_beyond_reach"] = beyond
    return {"seeds": len(trials), "chance": chance, "window": window, "models": models, "goals": goals}


def run_trial(recipe, seed, recipe_args, runs_dir) -> dict:
    argv = ["--seed", str(seed), "--runs-dir", runs_dir, "--verbose", "0", *recipe_args]
    args = recipe.resolve(recipe.build_parser().parse_args(argv))
    t0 = time.time()
    m = recipe.main(argv)
    names = args.models
    return {
        "seed": seed,
        "delays": args.delays,
        "symbols": args.symbols,
        "window": args.window,
        "chance": m["chance"],
        "accuracy": {n: {str(d): m[f"accuracy_{n}_d{d}"] for d in args.delays} for n in names},
        "step_memory": {n: {str(d): m[f"step_memory_{n}_d{d}"] for d in args.delays} for n in names},
        "params": {n: m[f"params_{n}"] for n in names},
        "reach": {n: m[f"attention_reach_{n}"] for n in names if f"attention_reach_{n}" in m},
        "train_seconds": m.get("train_seconds"),
        "wall_seconds": round(time.time() - t0, 1),
    }


def main(argv=None):
    argv, own, recipe_args = _seeds.split_argv(argv)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--name", default="default", help="the entry of the results file (default 'default')")
    parser.add_argument("--seeds", type=positive_int, default=3, help="seeds seed .. seed + seeds - 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(RESULTS), help="the results file (default %(default)s)")
    args = parser.parse_args(own)
    recipe = load_recipe("delayed_copy")
    output = Path(args.output)
    command = _seeds.command_line("delayed_copy", argv)
    results, entry = _seeds.open_entry(output, args.name, recipe_args, command)
    done = {t["seed"] for t in entry["trials"]}
    with tempfile.TemporaryDirectory() as runs_dir:
        for seed in range(args.seed, args.seed + args.seeds):
            if seed in done:
                continue
            entry["trials"].append(run_trial(recipe, seed, recipe_args, runs_dir))
            entry["summary"] = summarize(entry["trials"])
            _seeds.save_entry(output, results, args.name, entry)
            print(entry["summary"]["goals"], flush=True)
    return entry


if __name__ == "__main__":
    main()
