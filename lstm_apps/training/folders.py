"""Run folders of the recipe harness: seeding, strategies, fresh and resumed folders, histories.

The pieces of :class:`lstm_apps.training.run.Run` that deal with where a run
lives and what an interrupted or finished run left behind: a fresh folder
(never an existing one), the latest unfinished run for ``--resume``, the
check that a resumed run's flags are the stored ones, the parent's state for
``--continue-from``, and the history kept across an interruption.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstm_apps import io as _io
from lstm_apps.training.lock import RunLock, RunLockedError, describe_owner, read_lock, run_state
from lstm_apps.training.parser import DISTRIBUTE_CHOICES

if TYPE_CHECKING:
    from lstm_apps.training.run import Run

#: The time ledger (training seconds spent, carried across ``--resume``).
LEDGER_FILE = "train_time.json"
#: Where :meth:`Run.fit_members` keeps finished members' weights until the run ends.
MEMBERS_DIR = "backup_members"
#: Where each fit's last state (weights, optimizer, epoch) is kept, for ``--continue-from``.
FINAL_STATE_DIR = "final_state"
#: Flags that may differ between a run and its ``--resume`` / ``--continue-from``: they change
#: where and how visibly it runs, or its time limits, not what it computes.
RESUME_FREE_FLAGS = frozenset(
    {
        "resume",
        "continue_from",
        "runs_dir",
        "verbose",
        "debug",
        "export",
        "distribute",
        "max_minutes",
        "max_cpu_minutes",
    }
)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend (``keras.utils.set_random_seed``)."""
    import keras

    keras.utils.set_random_seed(int(seed))


class _OneDevice:
    """``make_strategy("none")`` on a backend other than TensorFlow: one device, a scope that does nothing."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


def make_strategy(kind: str):
    """Return the ``tf.distribute`` strategy for ``--distribute``.

    Args:
        kind: ``"none"``: the default (single-device) strategy; ``"mirrored"``:
            ``MirroredStrategy`` over the local GPUs (or CPU devices);
            ``"multiworker"``: ``MultiWorkerMirroredStrategy`` across the
            machines that the ``TF_CONFIG`` environment variable (JSON)
            describes (created before any TensorFlow operation runs; see
            :mod:`lstm_apps.training.distributed`).

    Returns:
        The strategy: build and compile models inside ``strategy.scope()``;
        the global batch is split over the replicas. On a Keras backend other
        than TensorFlow, ``"none"`` gives a one-device stand-in whose
        ``scope()`` does nothing.

    Raises:
        ValueError: an unknown ``kind``, or ``"multiworker"`` without a valid ``TF_CONFIG``.
        RuntimeError: ``"mirrored"`` or ``"multiworker"`` on a backend other
            than TensorFlow (named): ``tf.distribute`` is TensorFlow's.

    Example:

    >>> with make_strategy("mirrored").scope():
    ...     model = build_model()
    """
    from lstm_apps.backends import keras_backend, require_tensorflow

    if kind not in DISTRIBUTE_CHOICES:
        raise ValueError(f"distribute must be one of {DISTRIBUTE_CHOICES}, received {kind!r}.")
    if kind == "none" and keras_backend() != "tensorflow":
        return _OneDevice()
    require_tensorflow(f"--distribute {kind} (a tf.distribute strategy)")
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
        from lstm_apps.training.keras_fixes import install_keras_fixes

        install_keras_fixes()
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:
            if "configured at program startup" not in str(exc):
                raise
            raise ValueError(
                "--distribute multiworker: the strategy must be created before TensorFlow runs its first "
                "operation (its collectives are configured at startup), but this process already ran "
                "TensorFlow; call start_run (or make_strategy) before building data or models."
            ) from None


@dataclass
class OpenedFolder:
    """The folder :func:`open_run_folder` chose, and what it found there.

    Attributes:
        path: the run folder.
        resumed: whether it continues an interrupted run (``--resume``).
        stored: the resumed run's ``config.json`` (else ``None``).
        parent_config: with ``--continue-from``, the parent run's ``config.json`` (else ``{}``).
        lock: the folder's :class:`~lstm_apps.training.lock.RunLock` (``None`` on a worker
            that is not the chief: it writes a temporary folder).
    """

    path: Path
    resumed: bool = False
    stored: dict[str, Any] | None = None
    parent_config: dict[str, Any] = field(default_factory=dict)
    lock: RunLock | None = None


def open_run_folder(recipe: str, args: argparse.Namespace) -> OpenedFolder:
    """Choose, check and lock the run folder of ``args`` (see :func:`~lstm_apps.training.start_run`).

    A fresh folder, the folder to resume (``--resume``, checked: not finished,
    not running, the same flags) or a fresh folder continuing a finished run
    (``--continue-from``, checked likewise); the folder is locked.

    Raises:
        ValueError: as :func:`~lstm_apps.training.start_run` does.
    """
    parent = Path(args.runs_dir) / recipe
    resume = getattr(args, "resume", None)
    continue_from = getattr(args, "continue_from", None)
    if resume and continue_from:
        raise ValueError(
            f"--resume {resume} and --continue-from {continue_from} exclude each other: --resume continues "
            "an interrupted run in its folder, --continue-from a finished one in a new folder."
        )
    new_config = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    new_config["epochs"] = _resolve_epochs(args)
    stored: dict[str, Any] | None = None
    parent_config: dict[str, Any] = {}
    resumed = False
    if resume:
        if resume == "latest":
            path, skipped = _latest_unfinished(parent)
            if path is None:
                also = f"; skipped runs still in progress: {', '.join(skipped)}" if skipped else ""
                raise ValueError(
                    f"--resume: no unfinished run of {recipe!r} under {parent} (one with a backup folder, "
                    f"not finished and not running){also}."
                )
        else:
            path = Path(resume)
            if not path.is_dir():
                what = "is not a folder" if path.exists() else "does not exist"
                raise ValueError(f"--resume: run folder {str(path)!r} {what}.")
            state = run_state(path)
            if state == "finished":
                raise ValueError(
                    f"--resume: run folder {str(path)!r} has finished (its metrics.json was written by "
                    "Run.finish), so there is nothing to resume and resuming would overwrite its results. "
                    f"To train it further into a new folder, use --continue-from {path}."
                )
            if state == "running":
                raise RunLockedError(
                    f"--resume: run folder {str(path)!r} is locked by {describe_owner(read_lock(path))}, "
                    "which is still running."
                )
        stored = _check_same_config(path, new_config, "--resume")
        resumed = True
    elif continue_from:
        source = Path(continue_from)
        if not source.is_dir():
            what = "is not a folder" if source.exists() else "does not exist"
            raise ValueError(f"--continue-from: run folder {str(source)!r} {what}.")
        state = run_state(source)
        if state != "finished":
            raise ValueError(
                f"--continue-from: run folder {str(source)!r} has not finished ({state}); "
                + (
                    "wait for it to end."
                    if state == "running"
                    else f"continue it in its own folder with --resume {source}."
                )
            )
        parent_config = _check_same_config(source, new_config, "--continue-from", free=("epochs",))
        if not (source / FINAL_STATE_DIR).is_dir():
            raise ValueError(
                f"--continue-from: run folder {str(source)!r} keeps no final training state "
                f"({FINAL_STATE_DIR}/), so it cannot be trained further (it was made before lstm-apps "
                "kept it, or it trained nothing)."
            )
        parent_epochs = parent_config.get("epochs")
        if new_config["epochs"] is None:
            raise ValueError(
                f"--continue-from {source} needs --epochs: the total number of epochs each fit of the "
                "run trains up to (this recipe chooses its epochs itself otherwise)."
            )
        if isinstance(parent_epochs, int) and new_config["epochs"] <= parent_epochs:
            raise ValueError(
                f"--continue-from: --epochs is the total number of epochs; run {str(source)!r} was made "
                f"with {parent_epochs}, so give --epochs above {parent_epochs} (received "
                f"{new_config['epochs']})."
            )
        path = _new_run_dir(parent)
    else:
        path = _new_run_dir(parent)
    lock = RunLock.acquire(path)
    return OpenedFolder(path, resumed, stored, parent_config, lock)


def _new_run_dir(parent: Path) -> Path:
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, no permission...
        raise ValueError(
            f"--runs-dir: cannot create the folder {str(parent)!r} for the run folders ({exc})."
        ) from None
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        candidate = parent / (stamp if i == 0 else f"{stamp}-{i}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run folder under {parent}")


def _latest_unfinished(parent: Path) -> tuple[Path | None, list[str]]:
    """The latest resumable run folder under ``parent`` and the live runs skipped (described)."""
    if not parent.is_dir():
        return None, []
    skipped, candidates = [], []
    for p in sorted(q for q in parent.iterdir() if q.is_dir()):
        state = run_state(p)
        if state == "running":
            skipped.append(f"{p} ({describe_owner(read_lock(p))})")
        elif state in ("interrupted", "failed") and any(p.glob("backup*")):  # something to resume
            candidates.append(p)
    return (candidates[-1] if candidates else None), skipped


def _resolve_epochs(args: argparse.Namespace) -> int:
    """``--epochs``, else the recipe's quick or default epochs."""
    epochs = getattr(args, "epochs", None)
    if epochs is not None:
        return epochs
    if getattr(args, "quick", False):
        return getattr(args, "_quick_epochs", 1)
    return getattr(args, "_default_epochs", 10)


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _config_differences(stored: Mapping[str, Any], new: Mapping[str, Any], free=()) -> list[str]:
    """``["--seed: 0 in the run, 7 now", ...]`` for the flags whose values differ.

    A flag given as ``None`` now (left to the recipe's choice) matches the
    value the recipe chose and stored for it, since the recipe chooses it
    again from the same flags.
    """
    out = []
    for key, value in new.items():
        if key in RESUME_FREE_FLAGS or key in free or key not in stored or value is None:
            continue
        was, now = _io.to_jsonable(stored[key]), _io.to_jsonable(value)
        if was != now:
            out.append(f"{_flag(key)}: {was!r} in the run, {now!r} now")
    return out


def _check_same_config(path: Path, new: Mapping[str, Any], what: str, free=()) -> dict[str, Any]:
    """The run's stored config; a ValueError naming the flags whose values differ from ``new``."""
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ValueError(f"{what}: run folder {str(path)!r} has no config.json, so it is not a run folder.")
    try:
        stored = _io.read_json(config_file)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{what}: cannot read {str(config_file)!r} ({exc}).") from None
    if not isinstance(stored, dict):
        raise ValueError(f"{what}: {str(config_file)!r} does not hold a JSON object.")
    if "recipe" in stored and "recipe" in new and stored["recipe"] != new["recipe"]:
        raise ValueError(
            f"{what}: run folder {str(path)!r} is a run of the recipe {stored['recipe']!r}, not of "
            f"{new['recipe']!r}."
        )
    differences = _config_differences(stored, new, free)
    if differences:
        raise ValueError(
            f"{what}: run folder {str(path)!r} was made with other values of flags that change its "
            f"result ({'; '.join(differences)}). Give the run's own values (its config.json), or leave "
            f"{what} out to start a new run."
        )
    return stored


def _copy_parent_state(parent: Path, child: Path) -> list[str]:
    """Copy each fit's final state of ``parent`` as a backup of ``child``, with its history files."""
    names = []
    for state in sorted(p for p in (parent / FINAL_STATE_DIR).iterdir() if p.is_dir()):
        name = state.name
        names.append(name)
        shutil.copytree(state, child / ("backup" if name == "history" else f"backup_{name}"))
        for suffix in (".json", ".csv"):
            if (parent / f"{name}{suffix}").is_file():
                shutil.copy2(parent / f"{name}{suffix}", child / f"{name}{suffix}")
    return names


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


def _history_writer(run: Run, name: str, before: Mapping[str, Sequence] | None, restored_epochs: int):
    """A Keras callback that writes ``<name>.json``/``.csv`` after every epoch.

    ``before`` is the history the file held when the fit started (a resumed
    fit); the callback keeps its first ``initial_epoch`` epochs (those the
    backup restored: ``restored_epochs`` until the first epoch begins, the
    whole of them when none is left to run) and appends this fit's.
    """
    import keras

    def kept(epochs: int) -> dict[str, list]:
        return {k: list(v)[:epochs] for k, v in (before or {}).items()}

    class _HistoryWriter(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows: list[dict] = []  # this fit's epoch logs (the dicts later callbacks extend)
            self.before: dict[str, list] = kept(restored_epochs)
            self.started = False

        def on_epoch_begin(self, epoch, logs=None):
            if not self.started:
                self.started = True
                self.before = kept(epoch)

        def history(self) -> dict[str, list]:
            return _join_histories(self.before, _history_of(self.rows))

        def on_epoch_end(self, epoch, logs=None):
            self.rows.append(logs if logs is not None else {})
            run.save_history(self.history(), name, plot=False)

    return _HistoryWriter()


def _final_state_keeper(backup: Path, final: Path):
    """A Keras callback that moves a fit's backup to ``final`` when the fit ends (for ``--continue-from``)."""
    import keras

    class _KeepFinalState(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            if not backup.is_dir():
                return
            for spare in backup.glob("*.bkp"):  # the previous epoch's copy: not needed any more
                spare.unlink()
            final.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(backup, final)

    return _KeepFinalState()


def _restored_epochs(backup: Path) -> int:
    """The epochs a fit's backup holds (``0`` without one)."""
    try:
        return int(_io.read_json(backup / "training_metadata.json")["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
