"""A recipe run: its folder, seed, strategy, training with resume and a time budget, and artifacts.

:func:`start_run` seeds every generator and opens the run folder
``<runs-dir>/<recipe>/<timestamp>/`` (never an existing one; with ``--resume``
the interrupted one) with ``config.json``; the :class:`Run` it returns trains
(``fit``, ``fit_members``), saves (``save_model``, ``save_figure``,
``save_metrics``, ``print_table``, ``export``) and ends the run (``finish``).
Every file is written atomically (see :mod:`lstm_apps.io`).

Example:

```python
parser = recipe_parser("demo", "A demo recipe.", epochs=5)
args = parser.parse_args(["--quick"])
run = start_run("demo", args)
with run.strategy.scope():
    model = keras.Sequential([...])
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="mse")
run.fit(model, x, y, validation_data=(x_val, y_val))
run.save_model(model, sample_inputs=x_val[:16])
run.finish({"val_loss": model.evaluate(x_val, y_val)})
```
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lstm_apps import io as _io
from lstm_apps.training.parser import DISTRIBUTE_CHOICES
from lstm_apps.training.report import flatten_metrics, format_table, plot_history

__all__ = ["Run", "start_run", "set_seed", "make_strategy", "run_recipe_main", "LEDGER_FILE", "MEMBERS_DIR"]

#: The time ledger (training seconds spent, carried across ``--resume``).
LEDGER_FILE = "train_time.json"
#: Where :meth:`Run.fit_members` keeps finished members' weights until the run ends.
MEMBERS_DIR = "backup_members"


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend (``keras.utils.set_random_seed``)."""
    import keras

    keras.utils.set_random_seed(int(seed))


def make_strategy(kind: str):
    """Return the ``tf.distribute`` strategy for ``--distribute``.

    Args:
        kind: ``"none"``: the default (single-device) strategy; ``"mirrored"``:
            ``MirroredStrategy`` over the local GPUs (or CPU devices);
            ``"multiworker"``: ``MultiWorkerMirroredStrategy`` across the
            machines that the ``TF_CONFIG`` environment variable (JSON)
            describes.

    Returns:
        The strategy: build and compile models inside ``strategy.scope()``;
        the global batch is split over the replicas.

    Example:

    >>> with make_strategy("mirrored").scope():
    ...     model = build_model()
    """
    import tensorflow as tf

    if kind == "none":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--distribute multiworker needs the TF_CONFIG environment variable describing the cluster "
                '(e.g. \'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                '"index": 0}}\'); received TF_CONFIG unset.'
            )
        try:
            config = json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"--distribute multiworker: TF_CONFIG must be JSON, received {os.environ['TF_CONFIG']!r} "
                f"({exc})."
            ) from None
        if not isinstance(config, dict) or "cluster" not in config or "task" not in config:
            raise ValueError(
                "--distribute multiworker: TF_CONFIG needs 'cluster' and 'task' entries, received "
                f"{os.environ['TF_CONFIG']!r}."
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"distribute must be one of {DISTRIBUTE_CHOICES}, received {kind!r}.")


def _new_run_dir(parent: Path) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
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


def _history_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, list]:
    """A Keras history dict (``{key: [per epoch]}``) from per-epoch logs."""
    history: dict[str, list] = {}
    for logs in rows:
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
    return history


def _join_histories(before: Mapping[str, Sequence], after: Mapping[str, Sequence]) -> dict[str, list]:
    keys = list(dict.fromkeys([*before, *after]))
    return {key: [*before.get(key, []), *after.get(key, [])] for key in keys}


def _float_or_none(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _history_writer(run: Run, name: str, before: Mapping[str, Sequence] | None):
    """A Keras callback that writes ``<name>.json``/``.csv`` after every epoch.

    ``before`` is the history the file held when the fit started (a resumed
    fit); the callback keeps its first ``initial_epoch`` epochs (those the
    backup restored) and appends this fit's.
    """
    import keras

    class _HistoryWriter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows: list[dict] = []  # this fit's epoch logs (the dicts later callbacks extend)
            self.before: dict[str, list] = {}
            self.started = False

        def on_epoch_begin(self, epoch, logs=None):
            if not self.started:
                self.started = True
                self.before = {k: list(v)[:epoch] for k, v in (before or {}).items()}

        def history(self) -> dict[str, list]:
            return _join_histories(self.before, _history_of(self.rows))

        def on_epoch_end(self, epoch, logs=None):
            self.rows.append(logs if logs is not None else {})
            run.save_history(self.history(), name, plot=False)

    return _HistoryWriter()


class Run:
    """One recipe run: its folder, configuration, training and artifacts.

    Create it with :func:`start_run`.

    Attributes:
        recipe: the recipe's name.
        path: the run folder.
        args: the parsed flags.
        config: what ``config.json`` holds.
        epochs: resolved from ``--epochs``/``--quick``.
        verbose: Keras verbosity (``--verbose``; 0 with ``--quick``).
        resumed: whether this run continues an interrupted one (``--resume``).
        budget: the run's :class:`~lstm_apps.training.TimeBudget`
            (``--max-minutes``/``--max-cpu-minutes``, ledger ``train_time.json``).
    """

    def __init__(self, recipe: str, args: argparse.Namespace, path: Path, resumed: bool = False):
        self.recipe = recipe
        self.args = args
        self.path = Path(path)
        self.resumed = resumed
        self.started = time.time()
        default_epochs = getattr(args, "_default_epochs", 10)
        quick_epochs = getattr(args, "_quick_epochs", 1)
        epochs = getattr(args, "epochs", None)
        quick = bool(getattr(args, "quick", False))
        self.epochs = epochs if epochs is not None else (quick_epochs if quick else default_epochs)
        verbose = getattr(args, "verbose", None)
        self.verbose = verbose if verbose is not None else (0 if quick else 1)
        self.config = {k: v for k, v in vars(args).items() if not k.startswith("_")}
        self.config["epochs"] = self.epochs
        self._strategy = None
        self._metrics: dict[str, Any] = {}
        self._wall_given = False
        self._budget = None

    # -- distribution -------------------------------------------------
    @property
    def strategy(self):
        """The ``tf.distribute`` strategy of ``--distribute``; build and compile models in its ``scope()``."""
        if self._strategy is None:
            self._strategy = make_strategy(getattr(self.args, "distribute", "none"))
        return self._strategy

    # -- time budget ----------------------------------------------------
    @property
    def budget(self):
        """The run's :class:`~lstm_apps.training.TimeBudget`, added to every :meth:`fit`."""
        if self._budget is None:
            from lstm_apps.training.callbacks import TimeBudget

            self._budget = TimeBudget(
                getattr(self.args, "max_minutes", None),
                getattr(self.args, "max_cpu_minutes", None),
                ledger=self.file(LEDGER_FILE),
            )
        return self._budget

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
        """Write ``obj`` as JSON to ``name`` in the run folder."""
        return _io.write_json(self.file(name), obj)

    def save_text(self, name: str, text: str) -> Path:
        """Write ``text`` to ``name`` in the run folder."""
        return _io.write_text(self.file(name), text)

    def save_figure(self, fig, name: str) -> Path:
        """Save a Matplotlib figure as ``name`` (PNG) in the run folder and close it."""
        return _io.save_figure(fig, self.file(name))

    def save_model(self, model, name: str = "model.keras", sample_inputs=None, export: bool = True) -> Path:
        """Save ``model`` as a ``.keras`` file in the run folder (atomically).

        Args:
            model: the Keras model.
            name: the file name (ends in ``.keras``).
            sample_inputs: a small batch of the model's real inputs (an array,
                or a list for several inputs). Numeric ones are kept as
                ``sample_inputs.npz`` (``<stem>_sample_inputs.npz`` for another
                name), so ``lstm-apps export RUN_DIR`` calibrates and checks
                parity on real data; with ``--export`` they are the parity data.
            export: with ``--export``, export this model as its streaming
                ``.tflite`` (:func:`~lstm_apps.training.export_models`) and
                record the returned metrics; ``False`` leaves it out (for a
                recipe that exports other parts with :meth:`export`).

        Returns:
            The ``.keras`` path.
        """
        from lstm_apps.export.samples import sample_file_name, save_sample_inputs

        path = _io.save_keras_model(model, self.file(name))
        stem = Path(name).stem
        if sample_inputs is not None:
            save_sample_inputs(self.file(sample_file_name(stem)), sample_inputs)
        if export and getattr(self.args, "export", False):
            self.export({stem: (model, sample_inputs)}, mode="streaming")
        return path

    def export(self, models: Mapping[str, tuple[Any, Any]], mode: str = "streaming", quantize=None) -> dict:
        """Export named models with :func:`~lstm_apps.training.export_models`; record and return its metrics.

        Example:

        >>> run.export({"encoder": (encoder, [src]), "decoder_step": (step, inputs)}, mode="sequence")
        """
        from lstm_apps.training.export import export_models

        metrics = export_models(self.path, models, mode=mode, quantize=quantize, label=self.recipe)
        self.save_metrics(metrics)
        return metrics

    def save_metrics(self, metrics: Mapping[str, Any], merge: bool = True) -> dict[str, Any]:
        """Write ``metrics.json``: flat, numeric where possible.

        ``wall_seconds`` since the run started (in this process) is added
        unless given. With ``merge`` the metrics extend those saved earlier in
        this run.
        """
        flat = flatten_metrics(metrics)
        if merge:
            self._metrics.update(flat)
        else:
            self._metrics = dict(flat)
        if "wall_seconds" in flat:
            self._wall_given = True
        if not self._wall_given:  # refreshed at every save (e.g. after an early --export save)
            self._metrics["wall_seconds"] = round(time.time() - self.started, 3)
        _io.write_json(self.file("metrics.json"), self._metrics)
        return dict(self._metrics)

    @property
    def metrics(self) -> dict[str, Any]:
        """The metrics saved so far."""
        return dict(self._metrics)

    def print_table(
        self,
        rows: Sequence[Mapping[str, Any]],
        columns: Sequence[str] | None = None,
        title: str | None = None,
        save_as: str | None = "results.md",
    ) -> str:
        """Print a results table and (by default) save it as ``results.md``; return the table."""
        table = format_table(rows, columns)
        text = (f"## {title}\n\n" if title else "") + table + "\n"
        print(("\n" + title + "\n" if title else "\n") + table)
        if save_as:
            self.save_text(save_as, text)
        return table

    def save_history(self, history: Mapping[str, Sequence[float]], name: str = "history", plot=True) -> None:
        """Write a Keras history dict as ``<name>.json``, ``.csv`` and (``plot``) a ``.png`` of its series."""
        import pandas as pd

        hist = {k: [_float_or_none(v) for v in vals] for k, vals in history.items()}
        self.save_json(f"{name}.json", hist)
        if not hist:
            return
        frame = pd.DataFrame({k: pd.Series(v, dtype=float) for k, v in hist.items()})
        frame.index.name = "epoch"
        self.save_text(f"{name}.csv", frame.to_csv())
        if plot:
            self.save_figure(plot_history(hist), f"{name}.png")

    # -- training -----------------------------------------------------
    def fit(
        self,
        model,
        *args,
        callbacks: Iterable[Any] = (),
        history_name: str = "history",
        budget_share: float = 1.0,
        **kwargs,
    ):
        """``model.fit`` with the run's epochs, verbosity, backup, time budget and history files.

        Each ``history_name`` backs up into its own folder (``backup`` for the
        default, ``backup_<history_name>`` otherwise) with
        ``keras.callbacks.BackupAndRestore``, so an interrupted run continues
        each fit from its last finished epoch with ``--resume``. The history
        is written after every epoch as ``<history_name>.json`` and ``.csv``
        (and ``.png`` when the fit ends); a resumed fit keeps the epochs
        before the interruption, so the files and the returned
        ``history.history`` cover every epoch. The run's time budget
        (:attr:`budget`) stops the fit once its share is spent.

        Args:
            model: a compiled Keras model.
            *args: passed to ``model.fit`` (``x, y`` or a dataset).
            callbacks: more Keras callbacks (after the run's own).
            history_name: name of the history files and of the backup.
            budget_share: the fraction of the time budget left that this fit may
                use (``1 / (n - k)`` for member ``k`` of ``n``).
            **kwargs: passed to ``model.fit``; ``epochs`` and ``verbose``
                default to the run's.

        Returns:
            Keras's ``History``, its ``history`` dict covering every epoch of
            this fit, including those before an interruption.
        """
        import keras

        kwargs.setdefault("epochs", self.epochs)
        kwargs.setdefault("verbose", self.verbose)
        backup = self.file("backup" if history_name == "history" else f"backup_{history_name}")
        before = None
        if backup.exists() and self.file(f"{history_name}.json").is_file():
            before = _io.read_json(self.file(f"{history_name}.json"))
        writer = _history_writer(self, history_name, before)
        budget = self.budget
        budget.share = budget_share
        run_callbacks = [
            keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=True),
            writer,
            budget,
        ]
        history = model.fit(*args, callbacks=[*run_callbacks, *callbacks], **kwargs)
        history.history = _join_histories(writer.before, history.history)
        history.epoch = list(range(len(next(iter(history.history.values()), []))))
        self.save_history(history.history, history_name)
        return history

    def fit_members(
        self,
        n: int,
        build: Callable[[int], Any],
        data: Callable[[int], Sequence[Any]],
        history_prefix: str = "history",
        **fit_kwargs,
    ) -> list[tuple[Any, dict]]:
        """Train ``n`` models (an ensemble) one after another, resumably.

        Member ``k`` is ``build(k)`` (a compiled model) trained with
        ``run.fit(model, *data(k), budget_share=1 / (n - k), **fit_kwargs)``:
        each member gets an equal share of the time budget left when it
        starts. Member 0 keeps the run's seed (a one-member run is a plain
        fit); member ``k > 0`` is built and trained after
        ``set_seed(args.seed + k)``. Its history goes to
        ``<history_prefix>.json`` for member 0 and
        ``<history_prefix>_member_<k>.json`` for the others. With ``n > 1`` a
        finished member's weights (optimizer state included) go to
        ``backup_members/member_<k>.weights.h5``, so ``--resume`` loads it
        instead of training it again; :meth:`finish` removes the folder.

        Args:
            n: the number of members.
            build: ``k -> compiled keras model``.
            data: ``k -> positional arguments of fit``: a tuple (e.g. ``(x, y)``)
                or a single argument (e.g. a ``tf.data.Dataset``).
            history_prefix: the history files' name.
            **fit_kwargs: passed to :meth:`fit`; ``callbacks`` may be a function
                ``k -> list`` (fresh callbacks for each member).

        Returns:
            ``[(model, history_dict), ...]`` in member order.

        Example:

        >>> members = run.fit_members(3, build, lambda k: (train_ds(seed=k),), validation_data=dev_ds)
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, received {n!r}.")
        callbacks = fit_kwargs.pop("callbacks", ())
        members = []
        for k in range(n):
            if k:  # member 0 keeps the run's seed
                set_seed(int(getattr(self.args, "seed", 0)) + k)
            model = build(k)
            history_name = history_prefix if k == 0 else f"{history_prefix}_member_{k}"
            finished = self.file(MEMBERS_DIR) / f"member_{k}.weights.h5"
            if finished.is_file():  # trained before an interruption
                if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
                    model.optimizer.build(model.trainable_variables)  # so its state loads too, silently
                model.load_weights(finished)
                history_file = self.file(f"{history_name}.json")
                members.append((model, _io.read_json(history_file) if history_file.is_file() else {}))
                continue
            member_callbacks = callbacks(k) if callable(callbacks) else list(callbacks)
            fit_args = data(k)
            history = self.fit(
                model,
                *(fit_args if isinstance(fit_args, tuple) else (fit_args,)),
                callbacks=member_callbacks,
                history_name=history_name,
                budget_share=1.0 / (n - k),
                **fit_kwargs,
            )
            if n > 1:
                _io.save_keras_weights(model, finished)
            members.append((model, history.history))
        return members

    def finish(self, metrics: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write the final metrics (with the training time) and return them.

        Adds ``train_seconds``, ``train_cpu_seconds`` and
        ``stopped_by_time_budget`` (the time spent in :meth:`fit`, across
        ``--resume``) unless the recipe gives them; once ``metrics.json`` is
        written, the time ledger and ``backup_members/`` are removed.
        """
        budget_metrics = {}
        if self._budget is not None or self.file(LEDGER_FILE).is_file():
            budget_metrics = self.budget.metrics()
        metrics = dict(metrics or {})
        given = {*metrics, *self._metrics}
        metrics.update({k: v for k, v in budget_metrics.items() if k not in given})
        result = self.save_metrics(metrics)
        self.file(LEDGER_FILE).unlink(missing_ok=True)
        shutil.rmtree(self.file(MEMBERS_DIR), ignore_errors=True)
        return result


def start_run(recipe: str, args: argparse.Namespace, extra_config: Mapping[str, Any] | None = None) -> Run:
    """Seed everything and open the run folder; write ``config.json``.

    Args:
        recipe: the recipe's name (the run folder's parent).
        args: the namespace of :func:`~lstm_apps.training.recipe_parser`.
        extra_config: more entries for ``config.json``.

    Returns:
        The :class:`Run`. A fresh folder ``<runs-dir>/<recipe>/<timestamp>/``
        is created (with a suffix if the name is taken, so no earlier run is
        ever overwritten). With ``--resume`` the given (or the latest
        unfinished) run folder is reused: each fit continues from its backup,
        the time budget from the ledger.

    Example:

    >>> run = start_run("demo", recipe_parser("demo").parse_args(["--quick"]))
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
                    f"--resume: no unfinished run of {recipe!r} under {parent} (one with a backup folder "
                    "and no metrics.json)."
                )
        else:
            path = Path(args.resume)
            if not path.is_dir():
                raise ValueError(f"--resume: run folder {str(path)!r} does not exist.")
        resumed = True
    else:
        path = _new_run_dir(parent)
    set_seed(getattr(args, "seed", 0))
    run = Run(recipe, args, path, resumed=resumed)
    if resumed and run.file("config.json").exists():
        run.config = {**_io.read_json(run.file("config.json")), "resumed": True}
    run.save_config(extra_config)
    print(f"[{recipe}] run folder: {path}" + (" (resumed)" if resumed else ""), file=sys.stderr)
    return run


def run_recipe_main(main: Callable[[list[str]], Any], argv: Sequence[str] | None = None):
    """Run a recipe's ``main(argv)`` as a command: a bad input is one line on stderr, exit status 2.

    A ``ValueError`` (the library's error for bad input) is printed as
    ``<recipe>: error: <message>`` and the process exits with status 2, the
    way ``argparse`` reports a bad flag; with ``--debug`` in ``argv`` the
    full traceback is shown instead. Recipes end with::

        if __name__ == "__main__":
            run_recipe_main(main)

    Args:
        main: the recipe's ``main(argv=None) -> dict``.
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        What ``main`` returns.
    """
    import inspect

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return main(argv)
    except ValueError as exc:
        if "--debug" in argv:
            raise
        try:
            name = Path(inspect.getfile(main)).stem
        except TypeError:
            name = getattr(main, "__name__", "recipe")
        print(f"{name}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
