"""Benchmark: every LSTM row of the 1997 paper's Tables 1-9, trial after trial, beside the paper's figures.

Each trial is one run of ``recipes/long_time_lag.py`` on a row of
``tasks.PAPER_ROWS`` (the paper's net, its parameters and stop rule), with a
budget of ``--budget-factor`` times the paper's sequences and
``--cpu-minutes-per-trial`` of process CPU time. Trials are appended to ONE
results file, ``benchmarks/results/long_time_lag.json``, under the row and
the run's *setting* (net, optimizer, extra recipe flags), so they accumulate
across runs: a second run of the same row and setting takes the next seeds.
After every trial the summary (per row and setting: trials, success rate,
mean and median sequences of the solved trials, mean test errors, weights,
the paper's figures beside them) and the docs table are recomputed.

The science (``--study``) writes its own results file and figure:

* ``scissors``: truncated ("scissors") against full gradients;
* ``abuse``: negative input-gate biases against zero (the abuse problem);
* ``output_gate``: embedded Reber with and without output gates;
* ``scaling``: 5.2c with q = p = 10 ... 1000 for a simple RNN, the 1997
  layer, Keras's LSTM and GRU (weight-matched to the paper's 2 cells):
  sequences to success against the time lag.

Usage (run it alone on the machine; everything after ``--`` goes to the recipe)::

    nice -n 10 python benchmarks/long_time_lag.py --trials 5 --rows 1-5 4-1 6a
    nice -n 10 python benchmarks/long_time_lag.py --trials 1 --rows 2c-5 4-3 5-1
    nice -n 10 python benchmarks/long_time_lag.py --trials 3 --rows 4-1 6a -- --optimizer adam
    nice -n 10 python benchmarks/long_time_lag.py --study scaling --trials 3
    python benchmarks/long_time_lag.py --render        # summaries, tables and figures only
"""

from __future__ import annotations

import argparse
import datetime as _dt
import resource
import shlex
import statistics
import tempfile
import time
from pathlib import Path

from lstm_apps import io as _io
from lstm_apps.cli import load_recipe
from lstm_apps.datasets import tasks
from lstm_apps.training import format_table, non_negative_float, positive_int

RESULTS = Path(__file__).resolve().parent / "results"
FIGURES = Path(__file__).resolve().parent.parent / "docs" / "recipes" / "img"
_seeds = load_recipe("_seeds", folder=Path(__file__).resolve().parent)
#: The setting of the docs' main table: the paper's net trained with its on-line SGD (the recipe's defaults);
#: the second table is the paper's net trained with Adam (``-- --optimizer adam``).
MAIN_SETTING = "paper net, sgd"
ADAM_SETTING = "paper net, adam"
#: The arms of each study: ``(label, rows, recipe flags)``; 5.2c's scaling sweep is built below.
STUDIES = {
    "scissors": [
        ("truncated (the paper's scissors)", ["4-1", "6a", "2c-2"], []),
        ("full BPTT", ["4-1", "6a", "2c-2"], ["--no-truncate"]),
    ],
    "abuse": [
        ("input-gate biases negative (the paper's)", ["4-1", "6a"], []),
        ("input-gate biases 0", ["4-1", "6a"], ["--input-gate-bias", "0", "--bias-step", "0"]),
    ],
    "output_gate": [
        ("with output gates", ["1-4", "1-5"], []),
        ("without output gates", ["1-4", "1-5"], ["--no-output-gate"]),
    ],
}
SCALING_LAGS = (10, 20, 50, 100, 200, 500, 1000)
SCALING_CELLS = ("simple_rnn", "lstm1997", "lstm", "gru")
STUDIES["scaling"] = [(cell, [f"q={q}" for q in SCALING_LAGS], ["--cell", cell]) for cell in SCALING_CELLS]


def row_flags(key: str, recipe_args=()) -> tuple[list[str], int | None]:
    """The recipe flags of a paper row (or a scaling point ``q=N``) and the paper's sequences (or None).

    With the paper's SGD (the recipe's default) a row's own learning rate
    (embedded Reber's 0.1, 0.2, 0.5) is passed as well, unless ``recipe_args``
    set one.
    """
    if key.startswith("q="):
        q = key[2:]
        return ["--task", "very_long_lag", "--lag", q, "--distractors", q], tasks.paper_sequences(
            "very_long_lag", lag=int(q), distractors=int(q)
        )
    rows = {row.id: row for row in tasks.PAPER_ROWS}
    if key not in rows:
        raise SystemExit(f"unknown row {key!r}; the rows are {', '.join(rows)}")
    row = rows[key]
    flags = ["--task", row.task]
    for name, value in row.params.items():
        flags += [f"--{name.replace('_', '-')}", str(value)]
    if row.blocks:
        flags += ["--blocks", str(row.blocks), "--cells-per-block", str(row.cells_per_block)]
    args = load_recipe("long_time_lag").build_parser().parse_args(list(recipe_args))
    if args.optimizer == "sgd" and args.learning_rate is None and row.learning_rate:
        flags += ["--learning-rate", str(row.learning_rate)]
    return flags, row.sequences


def setting_of(recipe_args: list[str]) -> str:
    """The label of a run's setting: its net and optimizer, and any other recipe flags."""
    args = load_recipe("long_time_lag").build_parser().parse_args(recipe_args)
    rest = [a for a in recipe_args if a not in ("--net", "--optimizer", args.net, args.optimizer)]
    return f"{args.net} net, {args.optimizer}" + (f" ({shlex.join(rest)})" if rest else "")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_trial(recipe, key, seed, recipe_args, args, runs_dir) -> dict:
    flags, paper = row_flags(key, recipe_args)
    budget = args.scaling_budget if key.startswith("q=") else max(1000, int(args.budget_factor * paper))
    argv = [*flags, "--seed", str(seed), "--runs-dir", runs_dir, "--verbose", "0"]
    argv += ["--max-sequences", str(budget), "--max-cpu-minutes", str(args.cpu_minutes_per_trial)]
    t0, c0 = time.time(), cpu_seconds()
    m = recipe.main(argv + list(recipe_args))
    keep = ("solved", "sequences_to_success", "sequences_trained", "sequences_to_st1", "test_error_count")
    keep += ("test_sequences", "test_mse", "test_mae", "test_max_abs_error", "weights", "paper_weights")
    return {
        "seed": seed,
        **{k: m[k] for k in keep if k in m},
        "budget_sequences": budget,
        "stopped_by_time_budget": m.get("stopped_by_time_budget"),
        "wall_seconds": round(time.time() - t0, 1),
        "cpu_seconds": round(cpu_seconds() - c0, 1),
        "date": _dt.date.today().isoformat(),
    }


def summarize(trials: list[dict], paper: tasks.PaperRow | None = None) -> dict:
    """Success rate, mean and median sequences of the solved trials, test errors, beside the paper's."""
    solved = [t["sequences_to_success"] for t in trials if t["solved"]]
    mean = statistics.fmean(solved) if solved else None
    out = {
        "trials": len(trials),
        "solved": len(solved),
        "success_rate": len(solved) / len(trials) if trials else None,
        "mean_sequences": mean,
        "median_sequences": statistics.median(solved) if solved else None,
        "min_sequences": min(solved) if solved else None,
        "max_sequences": max(solved) if solved else None,
        "most_sequences_unsolved": max(
            (t["sequences_trained"] for t in trials if not t["solved"] and t.get("sequences_trained")),
            default=None,
        ),
        "mean_test_errors": statistics.fmean(t["test_error_count"] for t in trials) if trials else None,
        "test_sequences": trials[-1]["test_sequences"] if trials else None,
        "weights": trials[-1].get("weights") if trials else None,
        "mean_cpu_minutes": _mean([t.get("cpu_seconds") for t in trials], 1 / 60),
    }
    if paper is not None:
        out.update(
            paper_sequences=paper.sequences,
            paper_success_rate=paper.success,
            paper_trials=paper.trials,
            paper_weights=paper.weights,
            paper_test_errors=paper.paper.get("test_errors"),
            goal_met=None if not trials else _goal(out, paper),
        )
    return out


def _mean(values, scale=1.0):
    """The mean of the known values (migrated trials lack some), scaled; None when none is known."""
    known = [v for v in values if v is not None]
    return statistics.fmean(known) * scale if known else None


def _goal(s: dict, paper: tasks.PaperRow) -> bool:
    """The issue's goal: at least the paper's share of trials solved (all of them where it gives none),
    with mean sequences at or below the paper's."""
    share_ok = s["success_rate"] >= (paper.success if paper.success is not None else 1.0) - 1e-9
    return bool(share_ok and s["mean_sequences"] is not None and s["mean_sequences"] <= paper.sequences)


def _line(row: tasks.PaperRow, setting: str, s: dict) -> dict:
    return {
        "row": row.id,
        "table": row.table,
        "experiment": row.title,
        "setting": setting,
        "paper_sequences": row.sequences,
        "paper_success": "—" if row.success is None else f"{row.success:.0%} of {row.trials}",
        "paper_weights": row.weights,
        "trials": s["trials"],
        "solved": f"{s['solved']}/{s['trials']}" if s["trials"] else "not run",
        "mean_sequences": None if s["mean_sequences"] is None else round(s["mean_sequences"]),
        "median_sequences": s["median_sequences"],
        "most_sequences_unsolved": s["most_sequences_unsolved"],
        "mean_test_errors": s["mean_test_errors"],
        "test_sequences": s["test_sequences"],
        "weights": s["weights"],
        "goal": {None: "—", True: "met", False: "missed"}[s.get("goal_met")],
    }


def table(results: dict, setting: str = MAIN_SETTING) -> list[dict]:
    """One docs line per paper row: a setting's summary beside the paper's figures."""
    lines = []
    for row in tasks.PAPER_ROWS:
        s = results["rows"].get(row.id, {}).get("summary", {}).get(setting) or summarize([], row)
        lines.append(_line(row, setting, s))
    return lines


def other_settings(results: dict) -> list[dict]:
    """One docs line per paper row and setting other than the two tables' (other flags, migrated trials)."""
    return [
        _line(row, setting, s)
        for row in tasks.PAPER_ROWS
        for setting, s in results["rows"].get(row.id, {}).get("summary", {}).items()
        if setting not in (MAIN_SETTING, ADAM_SETTING)
    ]


def resummarize(results: dict) -> dict:
    rows = {row.id: row for row in tasks.PAPER_ROWS}
    for key, entry in results["rows"].items():
        by_setting = {}
        for t in entry["trials"]:
            by_setting.setdefault(t["setting"], []).append(t)
        entry["summary"] = {k: summarize(v, rows.get(key)) for k, v in by_setting.items()}
    results["table"] = table(results)
    results["table_adam"] = table(results, ADAM_SETTING)
    results["other_settings"] = other_settings(results)
    return results


def study_summary(results: dict) -> list[dict]:
    """Per arm and row of a study: its summary."""
    out = []
    for label, keys, _ in STUDIES[results["study"]]:
        for key in keys:
            trials = [t for t in results["trials"] if t["arm"] == label and t["row"] == key]
            out.append({"arm": label, "row": key, "paper_sequences": row_flags(key)[1], **summarize(trials)})
    return out


def plot_study(results: dict, path: Path) -> None:
    """The study's figure: sequences to success (unsolved trials at their budget, hollow) per row and arm."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    arms = STUDIES[results["study"]]
    for k, (label, keys, _) in enumerate(arms):
        for j, key in enumerate(keys):
            trials = [t for t in results["trials"] if t["arm"] == label and t["row"] == key]
            x = SCALING_LAGS[j] if results["study"] == "scaling" else j + 0.15 * (k - (len(arms) - 1) / 2)
            for t in trials:
                y = t["sequences_to_success"] if t["solved"] else t["sequences_trained"]
                ax.plot(x, y, "o", color=f"C{k}", mfc=f"C{k}" if t["solved"] else "none")
        if results["study"] == "scaling":
            med = [s["median_sequences"] for s in results["summary"] if s["arm"] == label]
            ax.plot(SCALING_LAGS, [m if m is not None else float("nan") for m in med], "-", color=f"C{k}")
        ax.plot([], [], "o", color=f"C{k}", label=label)
    if results["study"] == "scaling":
        ax.set_xscale("log")
        ax.set_xlabel("time lag q (= p distractor symbols), task 5.2c")
    else:
        keys = arms[0][1]
        ax.set_xticks(range(len(keys)), keys)
        ax.set_xlabel("the paper's row")
    ax.set_yscale("log")
    ax.set_ylabel("training sequences to success (hollow: unsolved, at its end)")
    ax.set_title(f"long_time_lag study: {results['study']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _io.save_figure(fig, path)


def main(argv=None):
    argv, own, recipe_args = _seeds.split_argv(argv)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=positive_int, default=1, help="trials per row (and arm) in this run")
    parser.add_argument(
        "--rows", nargs="+", default=None, help="paper rows (default: every row of Tables 1-9)"
    )
    parser.add_argument("--study", choices=tuple(STUDIES), help="run a study instead of the paper's rows")
    parser.add_argument("--cpu-minutes-per-trial", type=non_negative_float, default=60.0)
    parser.add_argument(
        "--budget-factor", type=non_negative_float, default=5.0, help="x the paper's sequences"
    )
    parser.add_argument(
        "--scaling-budget",
        type=positive_int,
        default=250_000,
        help="sequences per trial of the scaling study",
    )
    parser.add_argument("--seed", type=int, default=0, help="the first seed of a row's trials")
    parser.add_argument("--output", default=None, help="the results file (default benchmarks/results/...)")
    parser.add_argument("--figure", default=None, help="a study's figure (default docs/recipes/img/...)")
    parser.add_argument("--render", action="store_true", help="recompute summaries, tables, figures only")
    args = parser.parse_args(own)
    name = "long_time_lag" + (f"_{args.study}" if args.study else "")
    output = Path(args.output) if args.output else RESULTS / f"{name}.json"
    figure = Path(args.figure) if args.figure else FIGURES / f"{name}.png"
    command = _seeds.command_line("long_time_lag", argv)
    if args.study:
        results = _io.read_json(output) if output.is_file() else {"study": args.study, "trials": []}
        plan = [(label, key, flags) for label, keys, flags in STUDIES[args.study] for key in keys]
    else:
        results = _io.read_json(output) if output.is_file() else {"rows": {}}
        setting = setting_of(recipe_args)
        plan = [(setting, key, []) for key in (args.rows or [row.id for row in tasks.PAPER_ROWS])]
    for _, key, _ in plan:
        row_flags(key)  # refuse an unknown row before anything runs
    if not args.render:
        results.setdefault("commands", []).append(command)
        recipe = load_recipe("long_time_lag")
        with tempfile.TemporaryDirectory() as runs_dir:
            for label, key, flags in plan:
                if args.study:
                    done = [t for t in results["trials"] if t["arm"] == label and t["row"] == key]
                else:
                    done = [
                        t for t in results["rows"].get(key, {}).get("trials", []) if t["setting"] == label
                    ]
                seeds = {t["seed"] for t in done}
                fresh = [s for s in range(args.seed, args.seed + len(seeds) + args.trials) if s not in seeds]
                for seed in fresh[: args.trials]:
                    trial = run_trial(recipe, key, seed, [*flags, *recipe_args], args, runs_dir)
                    print(key, label, trial, flush=True)
                    if args.study:
                        results["trials"].append(
                            {"arm": label, "row": key, **trial, "recipe_args": recipe_args}
                        )
                    else:
                        entry = results["rows"].setdefault(key, {"trials": []})
                        entry["trials"].append({"setting": label, **trial, "recipe_args": recipe_args})
                    _write(results, output, figure, args.study)
    _write(results, output, figure, args.study)
    print(format_table(results["summary"] if args.study else results["table"]))
    return results


def _write(results, output, figure, study):
    if study:
        results["summary"] = study_summary(results)
        if results["trials"]:
            plot_study(results, figure)
    else:
        resummarize(results)
    _io.write_json(output, results)


if __name__ == "__main__":
    main()
