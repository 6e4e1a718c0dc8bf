"""The shared recipe harness: flags, seeding, run folders, training and artifacts.

Every recipe script holds only its domain; this module gives it

* :func:`recipe_parser`: the common flags ``--quick``, ``--seed``, ``--epochs``,
  ``--cell``, ``--runs-dir``, ``--batch-size``, ``--verbose``, ``--resume`` and
  ``--distribute``;
* :func:`start_run`: seeds every generator and opens the run folder
  ``<runs-dir>/<recipe>/<timestamp>/`` (never an existing one) with ``config.json``;
* :class:`Run`: ``fit`` (Keras progress bar, ``BackupAndRestore`` so an
  interrupted run resumes with ``--resume``, ``history.json``/``history.csv``/
  ``history.png``), ``save_model``, ``save_figure``, ``save_metrics`` (flat
  JSON), ``print_table`` and ``strategy`` for distributed training.

Every file is written atomically (see :mod:`lstm_apps.io`).

Example:

```python
parser = recipe_parser("demo", "A demo recipe.", epochs=5)
args = parser.parse_args(["--quick"])
run = start_run("demo", args)
with run.strategy.scope():
    model = keras.Sequential([...])
    model.compile(...)
run.fit(model, x, y, epochs=args.epochs)
run.save_model(model)
run.save_metrics({"val_loss": 0.1})
```
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstm_apps import io as _io

__all__ = [
    "CELL_KINDS",
    "recipe_parser",
    "start_run",
    "set_seed",
    "Run",
    "format_table",
    "flatten_metrics",
    "make_strategy",
]

#: Cell kinds every recipe accepts through ``--cell``.
CELL_KINDS = ("lstm1997", "lstm", "gru", "simple_rnn")
DISTRIBUTE_CHOICES = ("none", "mirrored", "multiworker")


def recipe_parser(
    recipe: str,
    description: str | None = None,
    *,
    epochs: int = 10,
    quick_epochs: int = 1,
    cell: str = "lstm1997",
    cells: Sequence[str] = CELL_KINDS,
    batch_size: int = 32,
    seed: int = 0,
) -> argparse.ArgumentParser:
    """Return an ``ArgumentParser`` with the flags shared by every recipe.

    Args:
        recipe: the recipe's name (the run folder's parent).
        description: shown by ``--help``; recipes pass their module docstring.
        epochs: default ``--epochs``.
        quick_epochs: epochs used by ``--quick`` unless ``--epochs`` is given.
        cell: default ``--cell``.
        cells: allowed ``--cell`` values.
        batch_size: default ``--batch-size``.
        seed: default ``--seed``.
    """
    parser = argparse.ArgumentParser(
        prog=f"{recipe}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(recipe=recipe, _default_epochs=epochs, _quick_epochs=quick_epochs)
    g = parser.add_argument_group("common recipe options")
    g.add_argument(
        "--quick",
        action="store_true",
        help="a seconds-long run on a small slice (for tests and smoke checks)",
    )
    g.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")
    g.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"training epochs (default {epochs}; {quick_epochs} with --quick)",
    )
    g.add_argument("--batch-size", type=int, default=batch_size, help=f"batch size (default {batch_size})")
    g.add_argument("--cell", choices=list(cells), default=cell, help=f"recurrent cell (default {cell})")
    g.add_argument("--runs-dir", default="runs", help="parent folder of the run folders (default runs/)")
    g.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="RUN_DIR",
        help="continue an interrupted run (its folder, or the latest unfinished one of this recipe)",
    )
    g.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="Keras verbosity (default 1, 0 with --quick)",
    )
    g.add_argument(
        "--distribute",
        choices=DISTRIBUTE_CHOICES,
        default="none",
        help="none; mirrored (tf.distribute.MirroredStrategy over local devices); "
        "multiworker (MultiWorkerMirroredStrategy configured from TF_CONFIG)",
    )
    g.add_argument(
        "--export",
        action="store_true",
        help="also write model_streaming.tflite (one-step LiteRT model, lstm_apps.export) and its parity "
        "against Keras into metrics.json",
    )
    return parser


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend (``keras.utils.set_random_seed``)."""
    import keras

    keras.utils.set_random_seed(int(seed))


def make_strategy(kind: str):
    """Return the ``tf.distribute`` strategy for ``--distribute``.

    ``"none"``: the default (single-device) strategy; ``"mirrored"``:
    ``MirroredStrategy`` over the local GPUs (or CPU devices); ``"multiworker"``:
    ``MultiWorkerMirroredStrategy`` across the machines that the ``TF_CONFIG``
    environment variable (JSON) describes. Build and compile models inside
    ``strategy.scope()``; the global batch is split over the replicas.
    """
    import json

    import tensorflow as tf

    if kind == "none":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--distribute multiworker needs the TF_CONFIG environment variable describing the cluster "
                '(e.g. \'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\'); '
                "received TF_CONFIG unset."
            )
        try:
            config = json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"--distribute multiworker: TF_CONFIG must be JSON, received {os.environ['TF_CONFIG']!r} ({exc})."
            ) from None
        if not isinstance(config, dict) or "cluster" not in config or "task" not in config:
            raise ValueError(
                f"--distribute multiworker: TF_CONFIG needs 'cluster' and 'task' entries, received {os.environ['TF_CONFIG']!r}."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"distribute must be one of {DISTRIBUTE_CHOICES}, received {kind!r}.")


def _timestamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _new_run_dir(parent: Path) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    stamp = _timestamp()
    for i in range(1000):
        candidate = parent / (stamp if i == 0 else f"{stamp}-{i}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run folder under {parent}")


def _latest_unfinished(parent: Path) -> Path | None:
    if not parent.is_dir():
        return None
    candidates = sorted(
        p
        for p in parent.iterdir()
        if p.is_dir() and any(p.glob("backup*")) and not (p / "metrics.json").exists()
    )
    return candidates[-1] if candidates else None


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings with ``_``-joined keys and JSON-friendly values."""
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
    """Format rows as a Markdown table (also readable in a terminal)."""
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
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    out = [line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in cells]
    return "\n".join(out)


class Run:
    """One recipe run: its folder, configuration, training and artifacts.

    Create it with :func:`start_run`. Attributes: ``path`` (the run folder),
    ``args`` (the parsed flags), ``config`` (what ``config.json`` holds),
    ``epochs`` (resolved from ``--epochs``/``--quick``), ``verbose``.
    """

    def __init__(self, recipe: str, args: argparse.Namespace, path: Path, resumed: bool = False):
        self.recipe = recipe
        self.args = args
        self.path = Path(path)
        self.resumed = resumed
        self.started = time.time()
        default_epochs = getattr(args, "_default_epochs", 10)
        quick_epochs = getattr(args, "_quick_epochs", 1)
        self.epochs = (
            args.epochs if args.epochs is not None else (quick_epochs if args.quick else default_epochs)
        )
        self.verbose = args.verbose if args.verbose is not None else (0 if args.quick else 1)
        self.config = {k: v for k, v in vars(args).items() if not k.startswith("_")}
        self.config["epochs"] = self.epochs
        self._strategy = None
        self._metrics: dict[str, Any] = {}

    # -- distribution -------------------------------------------------
    @property
    def strategy(self):
        """The ``tf.distribute`` strategy chosen by ``--distribute``; build and compile models in its ``scope()``."""
        if self._strategy is None:
            self._strategy = make_strategy(getattr(self.args, "distribute", "none"))
        return self._strategy

    # -- artifacts ----------------------------------------------------
    def file(self, name: str) -> Path:
        """Path of ``name`` inside the run folder."""
        return self.path / name

    def save_config(self, extra: Mapping[str, Any] | None = None) -> Path:
        """Write ``config.json`` (the flags plus ``extra``)."""
        if extra:
            self.config.update(extra)
        return _io.write_json(self.file("config.json"), self.config)

    def save_json(self, name: str, obj: Any) -> Path:
        return _io.write_json(self.file(name), obj)

    def save_text(self, name: str, text: str) -> Path:
        return _io.write_text(self.file(name), text)

    def save_figure(self, fig, name: str) -> Path:
        """Save a Matplotlib figure as ``name`` (PNG) in the run folder."""
        return _io.save_figure(fig, self.file(name))

    def save_model(self, model, name: str = "model.keras", sample_inputs=None, export: bool = True) -> Path:
        """Save ``model`` as a ``.keras`` file in the run folder.

        ``sample_inputs``: a small batch of the model's real inputs (NumPy),
        kept for ``--export`` (streaming TFLite file and its parity) and
        for representative data when quantizing. ``export=False`` leaves this
        model out of ``--export`` (for a recipe that exports other parts of
        it itself, e.g. an encoder and a one-step decoder).
        """
        self.sample_inputs = sample_inputs
        path = _io.save_keras_model(model, self.file(name))
        if export and getattr(self.args, "export", False):
            from lstm_apps.export.hook import export_run_model

            export_run_model(self, model, sample_inputs, name=name)
        return path

    def save_metrics(self, metrics: Mapping[str, Any], merge: bool = True) -> dict[str, Any]:
        """Write ``metrics.json``: flat, numeric where possible.

        ``wall_seconds`` since the run started is added unless given. With
        ``merge`` the metrics extend those saved earlier in this run.
        """
        flat = flatten_metrics(metrics)
        if merge:
            self._metrics.update(flat)
        else:
            self._metrics = dict(flat)
        if "wall_seconds" in flat:
            self._wall_given = True
        if not getattr(
            self, "_wall_given", False
        ):  # refreshed at every save (e.g. after an early --export save)
            self._metrics["wall_seconds"] = round(time.time() - self.started, 3)
        _io.write_json(self.file("metrics.json"), self._metrics)
        return dict(self._metrics)

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self._metrics)

    def print_table(
        self,
        rows: Sequence[Mapping[str, Any]],
        columns: Sequence[str] | None = None,
        title: str | None = None,
        save_as: str | None = "results.md",
    ) -> str:
        """Print a results table and (by default) save it as ``results.md``."""
        table = format_table(rows, columns)
        text = (f"## {title}\n\n" if title else "") + table + "\n"
        print(("\n" + title + "\n" if title else "\n") + table)
        if save_as:
            self.save_text(save_as, text)
        return table

    # -- training -----------------------------------------------------
    def callbacks(self, extra: Iterable[Any] = (), backup: str = "backup") -> list:
        """``BackupAndRestore`` into ``<run>/<backup>`` plus ``extra``."""
        import keras

        return [keras.callbacks.BackupAndRestore(str(self.file(backup)), delete_checkpoint=True), *extra]

    def fit(self, model, *args, callbacks: Iterable[Any] = (), history_name: str = "history", **kwargs):
        """``model.fit`` with the run's epochs, verbosity and backup; saves the history.

        Positional and keyword arguments go to ``model.fit``; ``epochs`` and
        ``verbose`` default to the run's. The history is written as
        ``<history_name>.json``, ``.csv`` and a loss plot ``.png``. Each
        ``history_name`` backs up into its own folder (``backup`` for the
        default, ``backup_<history_name>`` otherwise), so a recipe that trains
        several models resumes each one from its own checkpoint.
        """
        kwargs.setdefault("epochs", self.epochs)
        kwargs.setdefault("verbose", self.verbose)
        backup = "backup" if history_name == "history" else f"backup_{history_name}"
        history = model.fit(*args, callbacks=self.callbacks(callbacks, backup=backup), **kwargs)
        self.save_history(history.history, history_name)
        return history

    def save_history(self, history: Mapping[str, Sequence[float]], name: str = "history") -> None:
        """Write a Keras history dict as JSON, CSV and a plot of every series."""
        import pandas as pd

        hist = {k: [float(v) for v in vals] for k, vals in history.items()}
        self.save_json(f"{name}.json", hist)
        if not hist:
            return
        frame = pd.DataFrame(hist)
        frame.index.name = "epoch"
        self.save_text(f"{name}.csv", frame.to_csv())
        self.save_figure(plot_history(hist), f"{name}.png")

    def finish(self, metrics: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write the final metrics and return them."""
        return self.save_metrics(metrics or {})


def plot_history(history: Mapping[str, Sequence[float]]):
    """A figure with one panel per metric (training and ``val_`` together)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [k for k in history if not k.startswith("val_")]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in names]
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if key in history:
                ax.plot(np.arange(1, len(history[key]) + 1), history[key], marker="o", ms=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
    fig.tight_layout()
    return fig


def start_run(recipe: str, args: argparse.Namespace, extra_config: Mapping[str, Any] | None = None) -> Run:
    """Seed everything and open the run folder; write ``config.json``.

    A fresh folder ``<runs-dir>/<recipe>/<timestamp>/`` is created (a suffix is
    added if the name is taken, so no earlier run is ever overwritten). With
    ``--resume`` the given (or the latest unfinished) run folder is reused and
    training continues from its ``backup/``.
    """
    import matplotlib

    matplotlib.use("Agg")
    parent = Path(args.runs_dir) / recipe
    resumed = False
    if getattr(args, "resume", None):
        if args.resume == "latest":
            path = _latest_unfinished(parent)
            if path is None:
                raise ValueError(
                    f"--resume: no unfinished run of {recipe!r} under {parent} (one with a backup/ folder and no metrics.json)."
                )
        else:
            path = Path(args.resume)
            if not path.is_dir():
                raise ValueError(f"--resume: run folder {str(path)!r} does not exist.")
        resumed = True
    else:
        path = _new_run_dir(parent)
    set_seed(args.seed)
    run = Run(recipe, args, path, resumed=resumed)
    if resumed and run.file("config.json").exists():
        run.config = {**_io.read_json(run.file("config.json")), "resumed": True}
    run.save_config(extra_config)
    print(f"[{recipe}] run folder: {path}" + (" (resumed)" if resumed else ""), file=sys.stderr)
    return run
