"""Results of long-time-lag runs next to the paper's figures: tables, verdicts, success rates.

A *result* is the dict one run of a task gives (see the recipe
``recipes/long_time_lag.py``): ``task``, ``length``, ``cell``, ``solved``,
``sequences_to_success``, ``sequences_trained``, ``paper_sequences``,
``test_sequences``, ``test_error_count``, ``test_max_abs_error``,
``train_seconds``, ...

Example:

>>> verdict({"task": "adding", "cell": "lstm1997", "solved": True,
...          "sequences_to_success": 14_000, "paper_sequences": 74_000})
"Solved after 14,000 sequences: 5.3x fewer than the paper's 74,000."
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "SUITE_COLUMNS",
    "SUITE_METRICS",
    "comparison_rows",
    "verdict",
    "suite_metrics",
    "suite_conclusion",
    "success_rates",
]

#: The columns of the suite's table.
SUITE_COLUMNS = (
    "task",
    "length",
    "cell",
    "solved",
    "sequences_to_success",
    "paper_sequences",
    "test_error_count",
    "test_sequences",
    "test_max_abs_error",
    "train_seconds",
)
#: The figures of each suite run kept in the suite's metrics as ``<label>_<figure>``.
SUITE_METRICS = (
    "solved",
    "sequences_to_success",
    "paper_sequences",
    "test_error_count",
    "test_max_abs_error",
    "train_seconds",
)


def comparison_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Two table rows: this run, and the paper's LSTM (trained with on-line SGD) as the baseline."""
    got = result["sequences_to_success"]
    how = f"{result.get('net', 'ours')} net, {result.get('optimizer', 'adam')}"
    return [
        {
            "model": f"{result['cell']} ({how}; this run)",
            "solved": "yes" if result["solved"] else "NO (budget spent)",
            "sequences": got if got is not None else f"> {result['sequences_trained']:,}",
            "weights": result.get("weights"),
            "test wrong": f"{result['test_error_count']}/{result['test_sequences']}",
            "test max |err|": result["test_max_abs_error"],
            "train s": result["train_seconds"],
        },
        {
            "model": f"LSTM 1997 paper (on-line SGD), row {result.get('paper_row') or '—'}",
            "solved": "yes" if result["paper_sequences"] else "no such row",
            "sequences": result["paper_sequences"],
            "weights": result.get("paper_weights"),
        },
    ]


def _count(n) -> str:
    return "no figure" if n is None else f"{n:,}"


def verdict(result: Mapping[str, Any]) -> str:
    """One sentence: solved or not, and how the sequence count compares with the paper's."""
    paper, got = result["paper_sequences"], result["sequences_to_success"]
    if got is None:
        return (
            f"NOT solved: {result['task']} with {result['cell']} did not reach the paper's criterion "
            f"within {result['sequences_trained']:,} sequences / the time budget (paper: {_count(paper)})."
        )
    if paper and got <= paper:
        return f"Solved after {got:,} sequences: {paper / got:.1f}x fewer than the paper's {paper:,}."
    return (
        f"Solved after {got:,} sequences: MORE than the paper's {_count(paper)}; the paper's LSTM wins here."
    )


def suite_metrics(results: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The metrics of a suite run, from its results by label (e.g. ``adding100_lstm1997``).

    Summary figures over the LSTM1997 runs (``solved``: all of them,
    ``tasks_solved``, ``tasks``, the worst test error, the sum of wrong test
    sequences) and each run's :data:`SUITE_METRICS` as ``<label>_<figure>``.
    """
    lstm = [r for r in results.values() if r["cell"].startswith("lstm1997")]
    if not lstm:
        raise ValueError(f"a suite needs at least one lstm1997 run, received {sorted(results)}.")
    metrics = {
        "solved": all(r["solved"] for r in lstm),
        "sequences_to_success": None,
        "paper_sequences": None,
        "test_max_abs_error": max(r["test_max_abs_error"] for r in lstm),
        "test_error_count": sum(r["test_error_count"] for r in lstm),
        "tasks_solved": sum(r["solved"] for r in lstm),
        "tasks": len(lstm),
    }
    metrics.update({f"{label}_{k}": r[k] for label, r in results.items() for k in SUITE_METRICS})
    return metrics


def suite_conclusion(results: Mapping[str, Mapping[str, Any]]) -> str:
    """Which runs needed fewer sequences than the paper, and which were not solved."""
    won = [
        f"{r['task']} ({r['cell']})"
        for r in results.values()
        if r["solved"] and r["sequences_to_success"] <= (r["paper_sequences"] or 0)
    ]
    lost = [f"{r['task']} ({r['cell']})" for r in results.values() if not r["solved"]]
    return (
        f"fewer sequences than the 1997 paper on {', '.join(won) or 'no task'}; "
        f"NOT solved within the budget: {', '.join(lost) or 'none'}."
    )


def success_rates(rows: Iterable[Mapping[str, Any]], key: str = "goal run") -> list[dict[str, Any]]:
    """Per group of trials: how many solved, and the median sequences to success of the solved ones.

    The columns of the paper's tables ("% of success", "success after").

    Args:
        rows: one dict per trial with ``key``, ``solved``, ``sequences_to_success``
            and ``paper_sequences``.
        key: the field that names a group of trials.

    Returns:
        One dict per group, in order of first appearance: ``key``, ``trials``,
        ``solved`` (``"k/n"``), ``median sequences (solved trials)`` (None if
        none solved), ``paper_sequences``.
    """
    rows = list(rows)
    out = []
    for name in dict.fromkeys(r[key] for r in rows):
        mine = [r for r in rows if r[key] == name]
        solved = sorted(r["sequences_to_success"] for r in mine if r["solved"])
        out.append(
            {
                key: name,
                "trials": len(mine),
                "solved": f"{len(solved)}/{len(mine)}",
                "median sequences (solved trials)": statistics.median(solved) if solved else None,
                "paper_sequences": mine[0]["paper_sequences"],
            }
        )
    return out
