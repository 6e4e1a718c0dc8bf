"""What the seed benchmarks share: the recipe's flags after ``--``, their results files, the costs.

``benchmarks/protein.py`` and ``benchmarks/interaction_telemetry.py`` run a
recipe once per seed with the same flags but ``--seed``, check the issue's
goal on every seed's metrics, summarise the metrics over the seeds (mean,
population standard deviation, minimum, maximum) and write one JSON file with
the command, the wall and CPU seconds, the cores and the load average:
:func:`run_seeds`. ``benchmarks/nucleotide.py`` (one run) records the same
costs with :func:`clock` and :func:`costs`; the three end their command line
with :func:`add_run_flags`, and ``protein.py`` and ``nucleotide.py`` pass their
training budget to the recipe with :func:`budget_flags`.

``benchmarks/counting.py``, ``delayed_copy.py``, ``long_time_lag.py`` and
``sentiment.py`` take the recipe's flags after ``--`` (:func:`split_argv`);
``counting.py`` and ``delayed_copy.py`` add the trials of new seeds to a named
entry of their results file (:func:`open_entry`, :func:`save_entry`).

Not a benchmark itself: a benchmark loads it with
``load_recipe("_seeds", folder=Path(__file__).resolve().parent)`` (no
``sys.path`` change), the same when run as ``python benchmarks/x.py`` and
when a test loads the benchmark with ``load_recipe(name, folder="benchmarks")``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def split_argv(argv: list[str] | None) -> tuple[list[str], list[str], list[str]]:
    """``(argv, own, recipe_args)``: the benchmark's arguments (``None``: ``sys.argv[1:]``), those
    before ``--`` (the benchmark's own) and those after it (the recipe's; none without ``--``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        return argv, argv, []
    cut = argv.index("--")
    return argv, argv[:cut], argv[cut + 1 :]


def command_line(script: str, argv: list[str]) -> str:
    """The command recorded in a results file: ``python benchmarks/<script>.py <argv>``."""
    return f"python benchmarks/{script}.py " + shlex.join(argv)


def open_entry(output: Path, name: str, recipe_args: list[str], command: str) -> tuple[dict, dict]:
    """The results file (``{}`` when absent) and its entry ``name`` (new: no trials), with ``command``
    appended to the entry's commands.

    Raises:
        SystemExit: the entry was run with other recipe flags.
    """
    from lstm_apps import io

    results = io.read_json(output) if output.is_file() else {}
    entry = results.get(name)
    if entry is not None and entry["recipe_args"] != recipe_args:
        raise SystemExit(
            f"entry {name!r} was run with recipe args {entry['recipe_args']}; use another --name"
        )
    entry = entry or {"recipe_args": recipe_args, "commands": [], "trials": []}
    entry["commands"].append(command)
    return results, entry


def save_entry(output: Path, results: dict, name: str, entry: dict) -> None:
    """Dates the entry (today), puts it in the results under ``name`` and writes them to ``output``."""
    from lstm_apps import io

    entry["date"] = _dt.date.today().isoformat()
    results[name] = entry
    io.write_json(output, results)


def clock() -> tuple[float, float]:
    """Now, as ``(wall seconds, this process's CPU seconds)``: the start that :func:`costs` measures from."""
    return time.time(), time.process_time()


def costs(start: tuple[float, float]) -> dict:
    """Wall and CPU seconds since ``start`` (from :func:`clock`), the cores, the load average now."""
    t0, cpu0 = start
    return {
        "wall_seconds": round(time.time() - t0, 1),
        "cpu_seconds": round(time.process_time() - cpu0, 1),
        "cpu_count": os.cpu_count(),
        "load_average_at_end": list(os.getloadavg()),
    }


def add_run_flags(parser: argparse.ArgumentParser, name: str, extra_help: str = "more recipe flags (last)"):
    """The flags a benchmark that runs a recipe ends with: ``--runs-dir``, ``--out`` (default
    ``benchmarks/results/<name>.json``) and ``--extra`` (the recipe's further flags, last)."""
    parser.add_argument("--runs-dir", default=str(ROOT / "runs" / "benchmarks"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / f"{name}.json"))
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help=extra_help)


def budget_flags(args) -> list[str]:
    """The recipe harness's budget and run-folder flags from a benchmark's ``--cpu-minutes``,
    ``--max-minutes`` and ``--runs-dir``."""
    return [
        "--max-cpu-minutes",
        str(args.cpu_minutes),
        "--max-minutes",
        str(args.max_minutes),
        "--runs-dir",
        args.runs_dir,
    ]


def summarise(runs: list[dict], keys: Sequence[str]) -> dict:
    """Mean, population standard deviation, min and max of each of ``keys`` over the runs that have it."""
    from lstm_apps.metrics import spread

    out = {}
    for key in keys:
        values = [r[key] for r in runs if key in r]
        if values:
            out[key] = spread(values, ddof=0)
    return out


def run_seeds(
    script: str,
    argv: list[str] | None,
    *,
    recipe: str,
    seeds: list[int],
    flags: list[str],
    goal_checks: Callable[[dict], dict[str, bool]],
    goal: str,
    summary: Sequence[str],
    out: str,
    more: Callable[[list[dict]], dict] | None = None,
) -> dict:
    """Runs ``recipes/<recipe>.py`` once per seed, writes the results to ``out`` and prints the means.

    Args:
        script: the benchmark's stem, for the command line recorded (``"protein"``).
        argv: the benchmark's own arguments (``None``: ``sys.argv[1:]``).
        recipe: the recipe's name.
        seeds: the seeds, in order.
        flags: the recipe's flags but the seed (``--seed <seed>`` goes first).
        goal_checks: the goal's checks on one run's metrics (``{name: met}``).
        goal: the goal in words.
        summary: the metrics summarised over the seeds.
        out: the JSON file.
        more: further entries of the results from the runs, placed after ``summary``.

    Returns:
        The results written: ``command``, ``goal``, ``goal_met`` (every check
        of every seed), ``seeds``, the costs (:func:`costs`), ``summary``,
        the entries of ``more`` and ``runs`` (each seed's ``seed``, ``argv``,
        ``goal`` and metrics).
    """
    from lstm_apps import io
    from lstm_apps.cli import load_recipe

    module = load_recipe(recipe)
    command = command_line(script, sys.argv[1:] if argv is None else argv)
    runs, start = [], clock()
    for seed in seeds:
        recipe_argv = ["--seed", str(seed), *flags]
        metrics = module.main(recipe_argv)
        runs.append({"seed": seed, "argv": recipe_argv, "goal": goal_checks(metrics), **metrics})
    result = {
        "command": command,
        "goal": goal,
        "goal_met": all(all(r["goal"].values()) for r in runs),
        "seeds": seeds,
        **costs(start),
        "summary": summarise(runs, summary),
        **(more(runs) if more else {}),
        "runs": runs,
    }
    io.write_json(out, result)
    print(
        json.dumps(
            {"goal_met": result["goal_met"], **{k: v["mean"] for k, v in result["summary"].items()}}, indent=2
        )
    )
    return result
