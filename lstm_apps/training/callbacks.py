"""Keras callbacks of the recipe harness: a time budget and a stop criterion.

* :class:`TimeBudget` stops training once a wall-clock or a CPU-time budget
  is spent (checked after every batch); with a ledger file the spent time is
  carried across processes, so ``--resume`` does not restart the budget.
* :class:`StopWhen` stops training when a criterion, called after each epoch,
  returns a reason.

``Run.fit`` adds the run's :class:`TimeBudget` (``run.budget``, built from
``--max-minutes``/``--max-cpu-minutes``) to every fit by itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from lstm_apps import io as _io

__all__ = ["TimeBudget", "StopWhen"]

#: The clocks :class:`TimeBudget` reads (module attributes, so tests can replace them).
wall_clock: Callable[[], float] = time.perf_counter
cpu_clock: Callable[[], float] = time.process_time
#: Within an epoch, :class:`TimeBudget` writes its ledger at most this often (seconds of training).
LEDGER_EVERY_SECONDS = 5.0
#: :attr:`TimeBudget.stopped_by` values, by the code workers exchange.
_STOPS = (None, "wall", "cpu")


def _limit_seconds(minutes, name: str) -> float | None:
    if minutes is None:
        return None
    value = float(minutes)
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            f"{name} must be a non-negative finite number of minutes or None, received {minutes!r}."
        )
    return 60.0 * value


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``max_minutes`` of wall-clock or ``max_cpu_minutes`` of CPU time are spent.

    Only time inside ``fit`` counts (from ``on_train_begin`` to the last
    batch), summed over every fit the same callback is given to. CPU time is
    the process's (``time.process_time``, all threads): the fair measure on a
    shared machine; wall-clock time bounds how long a run may take. Both are
    checked after every batch; a fit stopped by the budget still finishes its
    epoch (validation, callbacks) the way Keras does.

    With a ``ledger`` (a JSON file) the spent seconds are written after every
    epoch, every :data:`LEDGER_EVERY_SECONDS` of training within an epoch and
    at the end of each fit, and read back when the callback is created: a run
    resumed after an interruption continues from the time spent before it
    (the interrupted epoch included, up to its last ledger write: it was
    spent, even though the backup repeats that epoch). ``ledger_extra`` (a
    function returning a dict) adds entries to each write; what a ledger
    holds is ``ledger_data``.

    ``share`` (set before a fit, default 1) is the fraction of the time left
    that the next fit may use: an ensemble of ``n`` members gives member ``k``
    the share ``1 / (n - k)``, so each gets an equal part of what is left.

    ``agree`` (``None`` by default) is set by ``Run.fit`` under
    ``--distribute multiworker`` to a function returning the chief's copy of
    a vector of numbers (:meth:`lstm_apps.training.distributed.Agreement.values`):
    the stop decision after each batch (only when a limit is set) and the
    spent seconds after each epoch and fit are then the chief's on every
    worker, so all workers stop at the same batch and count the same time.

    Args:
        max_minutes: wall-clock budget in minutes, ``None`` for no limit.
        max_cpu_minutes: CPU-time budget in minutes, ``None`` for no limit.
        ledger: optional path of the JSON file that keeps the spent time.

    Attributes:
        wall_seconds: wall-clock seconds spent training (across resume).
        cpu_seconds: CPU seconds spent training (across resume).
        stopped_by: ``None``, ``"wall"`` or ``"cpu"``: the limit that stopped
            a fit (kept across fits and, with a ledger, across resume).
        fits: how many fits this callback has timed in this process.

    Example:

    >>> budget = TimeBudget(max_minutes=30, ledger=run.file("train_time.json"))
    >>> model.fit(x, y, epochs=100, callbacks=[budget])
    >>> budget.stopped_by  # None when the epochs ran out first
    """

    def __init__(self, max_minutes=None, max_cpu_minutes=None, ledger=None, share: float = 1.0):
        super().__init__()
        self.wall_limit = _limit_seconds(max_minutes, "max_minutes")
        self.cpu_limit = _limit_seconds(max_cpu_minutes, "max_cpu_minutes")
        self.ledger = None if ledger is None else Path(ledger)
        self.share = share
        self.wall_seconds = 0.0
        self.cpu_seconds = 0.0
        self.stopped_by: str | None = None
        self.fits = 0
        self._clock = None  # (wall0, cpu0, spent wall, spent cpu) of the fit in progress
        self._fit_limits = (None, None)
        self._saved_at = 0.0
        self.ledger_extra: Callable[[], dict] | None = None
        self.ledger_data: dict[str, Any] = {}
        self.agree: Callable[[list[float]], Any] | None = None
        if self.ledger is not None and self.ledger.is_file():
            saved = _io.read_json(self.ledger)
            self.ledger_data = dict(saved)
            self.wall_seconds = float(saved.get("wall_seconds", 0.0))
            self.cpu_seconds = float(saved.get("cpu_seconds", 0.0))
            self.stopped_by = saved.get("stopped_by")

    @property
    def share(self) -> float:
        return self._share

    @share.setter
    def share(self, value: float) -> None:
        value = float(value)
        if not 0.0 < value <= 1.0:
            raise ValueError(f"share must be in (0, 1], received {value!r}.")
        self._share = value

    @property
    def limited(self) -> bool:
        """Whether a wall-clock or CPU limit is set."""
        return self.wall_limit is not None or self.cpu_limit is not None

    def left_fraction(self) -> float:
        """The fraction of the tighter budget still left, in ``[0, 1]`` (1.0 without a limit)."""
        left = 1.0
        for limit, spent in ((self.wall_limit, self.wall_seconds), (self.cpu_limit, self.cpu_seconds)):
            if limit is not None:
                left = min(left, max(0.0, 1.0 - spent / limit) if limit > 0 else 0.0)
        return left

    def metrics(self) -> dict[str, Any]:
        """``train_seconds``, ``train_cpu_seconds`` and ``stopped_by_time_budget`` (for metrics.json)."""
        return {
            "train_seconds": round(self.wall_seconds, 3),
            "train_cpu_seconds": round(self.cpu_seconds, 3),
            "stopped_by_time_budget": self.stopped_by is not None,
        }

    def save(self) -> None:
        """Write the spent time to the ledger (if any)."""
        if self.ledger is not None:
            self.ledger_data = {
                **(self.ledger_extra() if self.ledger_extra is not None else {}),
                "wall_seconds": round(self.wall_seconds, 3),
                "cpu_seconds": round(self.cpu_seconds, 3),
                "stopped_by": self.stopped_by,
            }
            _io.write_json(self.ledger, self.ledger_data)
            self._saved_at = self.wall_seconds

    # -- Keras hooks ----------------------------------------------------
    def on_train_begin(self, logs=None):
        self.fits += 1
        self._clock = (wall_clock(), cpu_clock(), self.wall_seconds, self.cpu_seconds)
        self._saved_at = self.wall_seconds
        self._fit_limits = tuple(
            None if limit is None else spent + self.share * max(limit - spent, 0.0)
            for limit, spent in ((self.wall_limit, self.wall_seconds), (self.cpu_limit, self.cpu_seconds))
        )

    def _tick(self) -> None:
        if self._clock is None:
            return
        wall0, cpu0, wall_spent, cpu_spent = self._clock
        self.wall_seconds = wall_spent + (wall_clock() - wall0)
        self.cpu_seconds = cpu_spent + (cpu_clock() - cpu0)

    def _agree_on_spent(self) -> None:
        """Take the chief's spent seconds and stop reason (multi-worker; see ``agree``)."""
        if self.agree is None:
            return
        wall, cpu, code = self.agree([self.wall_seconds, self.cpu_seconds, _STOPS.index(self.stopped_by)])
        self.wall_seconds, self.cpu_seconds, self.stopped_by = float(wall), float(cpu), _STOPS[int(code)]
        if self._clock is not None:  # this worker's clock goes on from the chief's count
            self._clock = (wall_clock(), cpu_clock(), self.wall_seconds, self.cpu_seconds)

    def on_train_batch_end(self, batch, logs=None):
        self._tick()
        wall_limit, cpu_limit = self._fit_limits
        stopped = None
        if wall_limit is not None and self.wall_seconds > wall_limit:
            stopped = "wall"
        elif cpu_limit is not None and self.cpu_seconds > cpu_limit:
            stopped = "cpu"
        if self.agree is not None and self.limited:  # the chief decides, at the same batch for all
            stopped = _STOPS[int(self.agree([_STOPS.index(stopped)])[0])]
        if stopped:
            self.stopped_by = stopped
            self.model.stop_training = True
        if self.ledger is not None and self.wall_seconds - self._saved_at >= LEDGER_EVERY_SECONDS:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self._tick()
        self._agree_on_spent()
        self.save()

    def on_train_end(self, logs=None):
        self._tick()
        self._agree_on_spent()
        self._clock = None
        self.save()


class StopWhen(keras.callbacks.Callback):
    """Stop training when ``criterion(epoch, logs, model)`` returns a truthy reason.

    The criterion is called after every ``every``-th epoch with the epoch's
    ``logs`` (which it may extend with its own values: they reach the
    history) and the model. A truthy return value (e.g. ``"solved"`` or a
    dict of details) stops training and is kept as ``.reason``, the epoch as
    ``.stopped_epoch``.

    Under ``--distribute multiworker`` ``Run.fit`` sets ``agree``, and the
    reason is then the chief's on every worker (decoded from JSON; a value
    JSON cannot hold arrives as its ``str``): every worker still calls the
    criterion (it may call ``model.predict``, itself a collective), and all
    stop after the same epoch.

    Args:
        criterion: ``(epoch, logs, model) -> reason or None``.
        every: call it after every this-many epochs.

    Example:

    >>> def solved(epoch, logs, model):
    ...     return "solved" if logs["val_loss"] < 0.01 else None
    >>> stop = StopWhen(solved)
    >>> run.fit(model, x, y, callbacks=[stop])
    >>> stop.reason  # "solved", or None when the epochs ran out
    """

    def __init__(self, criterion: Callable[[int, dict, Any], Any], every: int = 1):
        super().__init__()
        if not callable(criterion):
            raise ValueError(f"criterion must be callable, received {criterion!r}.")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, received {every!r}.")
        self.criterion = criterion
        self.every = every
        self.reason = None
        self.stopped_epoch = None
        self.agree: Callable[[Any], Any] | None = None

    def on_train_begin(self, logs=None):
        self.reason = None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        reason = self.criterion(epoch, logs if logs is not None else {}, self.model)
        if self.agree is not None:
            reason = self.agree(reason if reason else None)
        if reason:
            self.reason = reason
            self.stopped_epoch = epoch
            self.model.stop_training = True
