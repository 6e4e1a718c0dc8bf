"""A recipe run: its folder, seed, strategy, training with resume and a time budget, and artifacts.

:func:`start_run` seeds every generator and opens the run folder
``<runs-dir>/<recipe>/<timestamp>/`` (never an existing one; with ``--resume``
the interrupted one) with ``config.json``; the :class:`Run` it returns trains
(``fit``, ``fit_members``), saves (``save_model``, ``save_figure``,
``save_metrics``, ``print_table``, ``export``) and ends the run (``finish``).
Every file is written atomically (see :mod:`lstm_apps.io`).

Nothing is lost or silently mixed:

* a run holds ``run.lock`` (its process id and host) from ``start_run`` until
  ``finish`` or a failure; ``--resume`` skips (no folder) or refuses (a
  folder) a run whose process is alive, and takes over the lock of a killed
  one;
* ``--resume`` continues an *interrupted* run only: a finished one (its
  ``metrics.json`` written by ``finish``) is refused, and so are flags whose
  values differ from the run's ``config.json`` in what changes its result
  (seed, cell, data, epochs...; not ``--verbose``, ``--runs-dir``,
  ``--max-minutes``... see :data:`RESUME_FREE_FLAGS`): repeat the run's own
  flags and add ``--resume``;
* ``--continue-from RUN_DIR`` trains a finished run further in a *new*
  folder whose ``config.json`` names its parent (``continued_from``): each
  fit restarts from the parent's last state (``final_state/``, weights and
  optimizer) and runs up to the new ``--epochs``; the histories and the
  training time carry on;
* a run that fails after ``start_run`` (in :func:`run_recipe_main` or
  ``lstm-apps run``) writes ``failed.json`` (the error, the time) and releases
  its lock;
* after a resume the history files, ``train_seconds``,
  ``train_cpu_seconds`` and ``wall_seconds`` cover the whole run.

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
import contextlib
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lstm_apps import io as _io
from lstm_apps.training.folders import (
    FINAL_STATE_DIR,
    LEDGER_FILE,
    MEMBERS_DIR,
    RESUME_FREE_FLAGS,
    _copy_parent_state,
    _final_state_keeper,
    _float_or_none,
    _history_writer,
    _join_histories,
    _resolve_epochs,
    _restored_epochs,
    make_strategy,
    open_run_folder,
    set_seed,
)
from lstm_apps.training.lock import FAILED_FILE, RunLock, write_failure
from lstm_apps.training.report import flatten_metrics, format_table, plot_history

__all__ = [
    "Run",
    "start_run",
    "set_seed",
    "make_strategy",
    "run_recipe_main",
    "failures_recorded",
    "LEDGER_FILE",
    "MEMBERS_DIR",
    "FINAL_STATE_DIR",
    "RESUME_FREE_FLAGS",
]

#: The runs opened inside :func:`failures_recorded` blocks (none are kept outside one).
_OPENED: list[Run] = []
_RECORDING = [0]  # how many failures_recorded blocks are open


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
        quick = bool(getattr(args, "quick", False))
        self.epochs = _resolve_epochs(args)
        verbose = getattr(args, "verbose", None)
        self.verbose = verbose if verbose is not None else (0 if quick else 1)
        self.config = {k: v for k, v in vars(args).items() if not k.startswith("_")}
        self.config["epochs"] = self.epochs
        self._strategy = None
        self._metrics: dict[str, Any] = {}
        self._wall_given = False
        self._budget = None
        self._lock: RunLock | None = None
        #: this process's place among several workers (``--distribute multiworker``), else ``None``
        self.worker = None
        self._agreement = None
        self._fits = 0
        self.finished = False
        #: wall-clock seconds of this run spent in earlier processes (before ``--resume``)
        self.wall_before = 0.0

    # -- distribution -------------------------------------------------
    @property
    def strategy(self):
        """The ``tf.distribute`` strategy of ``--distribute``; build and compile models in its ``scope()``."""
        if self._strategy is None:
            self._strategy = make_strategy(getattr(self.args, "distribute", "none"))
        return self._strategy

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the run folder: ``False`` on a multi-worker run's other workers.

        Those run the same code but write into a temporary :attr:`path`, removed by
        :meth:`finish` (see :mod:`lstm_apps.training.distributed`).
        """
        return self.worker is None or self.worker.is_chief

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
            self._budget.ledger_extra = lambda: {"run_wall_seconds": round(self.wall_seconds(), 3)}
        return self._budget

    def wall_seconds(self) -> float:
        """Wall-clock seconds of the run: this process's, plus those before ``--resume``."""
        return self.wall_before + (time.time() - self.started)

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
                or a list for several inputs). Numbers and text are kept as
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

        ``wall_seconds`` since the run started (across ``--resume``) is
        added unless given. With ``merge`` the metrics extend those saved earlier in
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
            self._metrics["wall_seconds"] = round(self.wall_seconds(), 3)
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
        ``keras.callbacks.BackupAndRestore`` (keeping the previous epoch's
        copy too, in case a kill cuts a write short), so an interrupted run
        continues each fit from its last finished epoch with ``--resume``.
        When the fit ends the backup becomes ``final_state/<history_name>/``,
        from which ``--continue-from`` trains further. The history
        is written after every epoch as ``<history_name>.json`` and ``.csv``
        (and ``.png`` when the fit ends); a resumed fit keeps the epochs
        before the interruption, so the files and the returned
        ``history.history`` cover every epoch. The run's time budget
        (:attr:`budget`) stops the fit once its share is spent.

        Under ``--distribute multiworker`` the data (arrays, a ``tf.data``
        dataset, a ``PyDataset`` or an iterator of batches) becomes one
        pipeline of global batches sharded over the workers, ``batch_size``
        is the global batch, and the time budget, ``StopWhen`` and
        ``model.stop_training`` decide as the chief does (see
        :mod:`lstm_apps.training.distributed`).

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
        before, restored = None, 0
        if backup.exists() and self.file(f"{history_name}.json").is_file():
            before = _io.read_json(self.file(f"{history_name}.json"))
            restored = _restored_epochs(backup)
        writer = _history_writer(self, history_name, before, restored)
        budget = self.budget
        budget.share = budget_share
        # the history is written before the backup at each epoch's end: a kill between the two
        # leaves one epoch more in the history, which the resumed fit drops (never one less)
        callbacks = list(callbacks)
        all_callbacks = [
            writer,
            keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True, delete_checkpoint=False),
            _final_state_keeper(backup, self.file(FINAL_STATE_DIR) / history_name),
            budget,
            *callbacks,
        ]
        self._fits += 1
        if self._agreement is not None:  # several workers: one sharded pipeline, the chief's decisions
            from lstm_apps.training.callbacks import StopWhen
            from lstm_apps.training.distributed import chief_stops, distribute_fit_inputs

            seed = (int(getattr(self.args, "seed", 0)), self._fits)  # each fit its own shuffling
            kwargs = distribute_fit_inputs(self.strategy, model, args, kwargs, seed=seed)
            args = ()
            budget.agree = self._agreement.values
            for callback in callbacks:
                if isinstance(callback, StopWhen):
                    callback.agree = self._agreement.object
            all_callbacks.append(chief_stops(self._agreement))
        history = model.fit(*args, callbacks=all_callbacks, **kwargs)
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
        """Write the final metrics (with the training time) and return them; the run is then finished.

        Adds ``train_seconds``, ``train_cpu_seconds`` and
        ``stopped_by_time_budget`` (the time spent in :meth:`fit`, across
        ``--resume``) unless the recipe gives them; once ``metrics.json`` is
        written, the time ledger and ``backup_members/`` are removed and the
        lock is released: ``--resume`` then refuses the folder
        (``--continue-from`` trains it further in a new one).
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
        self.file(FAILED_FILE).unlink(missing_ok=True)
        if self._agreement is not None:  # a barrier: a worker that ends first is reported as crashed
            self._agreement.any(False)
        self.finished = True
        self._release()
        if not self.is_chief:  # a temporary folder: the chief's run folder holds the results
            shutil.rmtree(self.path, ignore_errors=True)
        return result

    def fail(self, exc: BaseException) -> Path:
        """Record a failure: write ``failed.json`` (the error's type and message, the time), release the lock.

        :func:`run_recipe_main` (and ``lstm-apps run``) call it when a recipe
        raises after :func:`start_run`; the backups stay, so ``--resume``
        continues the run once the cause is fixed.
        """
        if not self.is_chief:  # nothing of a temporary folder is kept
            shutil.rmtree(self.path, ignore_errors=True)
            return self.path
        path = write_failure(self.path, exc)
        self._release()
        return path

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def start_run(
    recipe: str,
    args: argparse.Namespace,
    extra_config: Mapping[str, Any] | None = None,
    *,
    needs_tensorflow: str | None = None,
) -> Run:
    """Seed everything, open and lock the run folder; write ``config.json``.

    Args:
        recipe: the recipe's name (the run folder's parent).
        args: the namespace of :func:`~lstm_apps.training.recipe_parser`.
        extra_config: more entries for ``config.json``.
        needs_tensorflow: what in the recipe needs Keras's TensorFlow
            backend (named in the error), for a recipe that cannot run on
            another: refused before the run folder is made.

    Returns:
        The :class:`Run`, holding the folder's lock (``run.lock``) until
        :meth:`Run.finish` or :meth:`Run.fail`. A fresh folder
        ``<runs-dir>/<recipe>/<timestamp>/`` is created (with a suffix if the
        name is taken, so no earlier run is ever overwritten). With
        ``--resume`` the given (or the latest interrupted) run folder is
        reused: each fit continues from its backup, the time budget from the
        ledger. With ``--continue-from`` a fresh folder continues a finished
        run (see the module docstring).

    Raises:
        ValueError: ``--resume`` of a folder that does not exist, has finished,
            is still running (its process id is named), or was made with other
            values of flags that change the result (the flags are named);
            ``--continue-from`` of a folder that has not finished or keeps no
            final state, or with ``--epochs`` not above the run's.
        lstm_apps.extras.MissingExtraError: a library of the ``recipes``
            extra is not installed (checked before anything is written).
        RuntimeError: ``--export``, ``--distribute`` other than ``none`` or
            ``needs_tensorflow`` on a Keras backend other than TensorFlow
            (named).

    Example:

    >>> run = start_run("demo", recipe_parser("demo").parse_args(["--quick"]))
    """
    from lstm_apps.extras import require_recipe_libraries

    require_recipe_libraries(f"recipe {recipe!r}")
    from lstm_apps.backends import require_tensorflow

    if needs_tensorflow:
        require_tensorflow(needs_tensorflow)
    if getattr(args, "export", False):  # refused before training, not after
        require_tensorflow("--export (TFLite export)")
    if getattr(args, "distribute", "none") != "none":
        require_tensorflow(f"--distribute {args.distribute} (a tf.distribute strategy)")
    import matplotlib

    matplotlib.use("Agg")
    strategy = role = agreement = None
    if getattr(args, "distribute", "none") == "multiworker":
        from lstm_apps.training.distributed import open_on_workers

        strategy = make_strategy("multiworker")  # first: collectives are configured before any TF op
        opened, role, agreement = open_on_workers(recipe, args, strategy)
    else:
        opened = open_run_folder(recipe, args)
    path, lock, resumed, stored = opened.path, opened.lock, opened.resumed, opened.stored
    continue_from = getattr(args, "continue_from", None)
    try:
        set_seed(getattr(args, "seed", 0))
        run = Run(recipe, args, path, resumed=resumed)
        if resumed:
            run.config = {**stored, **run.config, "resumed": True}  # equal but for RESUME_FREE_FLAGS
            run.file(FAILED_FILE).unlink(missing_ok=True)
            if run.file(LEDGER_FILE).is_file():
                run.wall_before = float(_io.read_json(run.file(LEDGER_FILE)).get("run_wall_seconds", 0.0))
        elif continue_from:
            source = Path(continue_from)
            fits = _copy_parent_state(source, path)
            parent_metrics = _io.read_json(source / "metrics.json")
            spent = {
                "wall_seconds": float(parent_metrics.get("train_seconds") or 0.0),
                "cpu_seconds": float(parent_metrics.get("train_cpu_seconds") or 0.0),
                "stopped_by": None,
                "run_wall_seconds": float(parent_metrics.get("wall_seconds") or 0.0),
            }
            _io.write_json(run.file(LEDGER_FILE), spent)
            run.wall_before = spent["run_wall_seconds"]
            run.config["continued_from"] = str(source.resolve())
            run.config["continued_fits"] = fits
            run.config["parent_epochs"] = opened.parent_config.get("epochs")
        run._lock = lock
        run._strategy, run.worker, run._agreement = strategy, role, agreement
        run.save_config(extra_config)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    if _RECORDING[0]:
        _OPENED.append(run)
    note = " (resumed)" if resumed else (f" (continues {continue_from})" if continue_from else "")
    if role is not None:
        note += f" (worker {role.index} of {role.count}" + (
            ", the chief)" if role.is_chief else ": a temporary folder; the chief writes the run folder)"
        )
    print(f"[{recipe}] run folder: {path}{note}", file=sys.stderr)
    return run


@contextlib.contextmanager
def failures_recorded():
    """Record the failure of every run opened inside the block and not finished.

    Each such run gets its ``failed.json`` and its lock is released.

    Used by :func:`run_recipe_main` and ``lstm-apps run``; the exception
    propagates. A run that fails before its first fit leaves a folder holding
    ``config.json`` and ``failed.json`` (why), not an empty one.

    Example:

    >>> with failures_recorded():
    ...     metrics = recipe.main(argv)
    """
    first = len(_OPENED)
    _RECORDING[0] += 1
    try:
        yield
    except BaseException as exc:
        if not (isinstance(exc, SystemExit) and exc.code in (0, None)):
            for run in _OPENED[first:]:
                if not run.finished:
                    try:
                        path = run.fail(exc)
                    except OSError:  # the folder went away: nothing to record
                        continue
                    if run.is_chief:
                        print(f"[{run.recipe}] run failed; see {path}", file=sys.stderr)
        raise
    finally:
        _RECORDING[0] -= 1
        del _OPENED[first:]


def run_recipe_main(main: Callable[[list[str]], Any], argv: Sequence[str] | None = None):
    """Run a recipe's ``main(argv)`` as a command: a bad input is one line on stderr, exit status 2.

    A ``ValueError`` (the library's error for bad input) is printed as
    ``<recipe>: error: <message>`` and the process exits with status 2, the
    way ``argparse`` reports a bad flag; with ``--debug`` in ``argv`` the
    full traceback is shown instead. A run that fails after :func:`start_run`
    records why in ``failed.json`` and releases its lock
    (:func:`failures_recorded`). Recipes end with::

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
        with failures_recorded():
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
