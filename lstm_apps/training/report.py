"""Results of a run: flat metrics, Markdown tables and history plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lstm_apps import io as _io

__all__ = ["format_table", "flatten_metrics", "plot_history"]


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings with ``_``-joined keys and JSON-friendly values.

    Args:
        metrics: a mapping, possibly nested.
        prefix: prepended (with ``_``) to every key.

    Returns:
        A flat dict; NumPy values become Python ones, NaN becomes ``None``.

    Example:

    >>> flatten_metrics({"val": {"loss": np.float32(0.5)}})
    {'val_loss': 0.5}
    """
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, name))
        else:
            flat[name] = _io.to_jsonable(value)
    return flat


def format_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, floatfmt: str = ".4g"
) -> str:
    """Format rows as a Markdown table (also readable in a terminal).

    Args:
        rows: one mapping per row.
        columns: the columns in order; default every key, in first-seen order.
        floatfmt: format of floats; ``None`` shows as an em dash.

    Returns:
        The table's text ("" for no rows).

    Example:

    >>> print(format_table([{"model": "lstm", "loss": 0.12345}]))
    | model | loss   |
    |-------|--------|
    | lstm  | 0.1235 |
    """
    if not rows:
        return ""
    columns = list(columns or list(dict.fromkeys(k for r in rows for k in r)))

    def fmt(v: Any) -> str:
        if v is None:
            return "—"
        if isinstance(v, (float, np.floating)):
            return "nan" if not np.isfinite(v) else format(float(v), floatfmt)
        return str(v)

    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(values):
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"

    out = [line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in cells]
    return "\n".join(out)


def plot_history(history: Mapping[str, Sequence[float]]):
    """A figure with one panel per metric (training and ``val_`` together).

    Args:
        history: a Keras history dict (``{"loss": [...], "val_loss": [...]}``).

    Returns:
        The Matplotlib figure (save it with ``run.save_figure``).

    Example:

    >>> run.save_figure(plot_history(history.history), "history.png")
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [k for k in history if not k.startswith("val_")]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in names]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(4.5 * max(len(names), 1), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if key in history:
                values = np.asarray([np.nan if v is None else v for v in history[key]], dtype=float)
                ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
    fig.tight_layout()
    return fig
