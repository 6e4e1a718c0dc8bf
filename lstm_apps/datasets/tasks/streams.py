"""Training streams and the data of one run of a long-time-lag task.

:class:`TaskStream` serves endless batches of freshly generated sequences
(or draws them from a task's fixed training set), padded to one length, and
keeps the most recent ones for the stop rule. :func:`task_data` sets up
everything a run needs: the stream, the sequences the stop rule checks and
the test set, following the task's :class:`~lstm_apps.datasets.tasks.registry.TaskSpec`.

Example:

>>> settings = task_settings("adding", quick=True)
>>> data = task_data("adding", settings, seed=0)
>>> x, y = next(iter(data.stream))
>>> x.shape, y.shape, len(data.test)
((16, 110, 2), (16, 1), 64)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from lstm_apps.datasets.tasks.generators import TaskBatch, concat, pad
from lstm_apps.datasets.tasks.registry import TaskSettings, make_task, task_settings, task_spec

__all__ = ["TaskStream", "TaskData", "task_data"]


class TaskStream:
    """Endless training batches of a task; remembers the most recent ones.

    Iterating yields ``(x, y)``, or ``(x, y, sample_weight)`` for next-symbol
    tasks (weight 1 at real steps, 0 at padding), ready for ``model.fit``.
    ``model.fit`` prefetches from a generator, so at the end of an epoch the
    stream has served more batches than the model has trained on:
    :meth:`window` takes the number of sequences trained on and returns the
    most recent of *those*, the same whatever the prefetching did.

    Args:
        task: the task's name.
        length: T or p (None: the task's default).
        batch_size: sequences per batch.
        window: sequences :meth:`window` returns (rounded up to whole batches).
        seed: integer seed or ``numpy.random.Generator`` (shared, not copied).
        steps: time steps every batch is padded to (None: as generated).
        train_set: draw batches from these fixed sequences instead of
            generating fresh ones (embedded Reber's 256 training strings).

    Attributes:
        served: sequences served so far.
    """

    def __init__(
        self,
        task: str,
        length: int | None,
        batch_size: int,
        window: int,
        seed=None,
        steps: int | None = None,
        train_set: TaskBatch | None = None,
    ):
        self.spec = task_spec(task)
        for name, value in (("batch_size", batch_size), ("window", window)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, received {value!r}.")
        self.task, self.length, self.batch_size = task, length, int(batch_size)
        self.rng = np.random.default_rng(seed)
        self.steps = steps
        self.train_set = train_set
        self.window_batches = max(1, math.ceil(window / batch_size))
        self._recent: deque[tuple[int, TaskBatch]] = deque()  # (batch index, batch)
        self._batches = 0
        self.served = 0

    def next_batch(self, record: bool = True) -> TaskBatch:
        """The next batch; ``record=False`` draws one that is no training batch (e.g. to learn shapes)."""
        if self.train_set is not None:
            idx = self.rng.integers(len(self.train_set), size=self.batch_size)
            b = TaskBatch(
                self.train_set.x[idx],
                self.train_set.y[idx],
                self.train_set.lengths[idx],
                {"legal": self.train_set.info["legal"][idx]} if "legal" in self.train_set.info else {},
            )
        else:
            b = make_task(self.task, self.batch_size, seed=self.rng, length=self.length)
            if self.steps is not None:
                b = pad(b, self.steps)
        if record:
            self._recent.append((self._batches, b))
            self._batches += 1
            self.served += self.batch_size
        return b

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        while True:
            b = self.next_batch()
            if self.spec.output == "next_symbol":
                yield b.x, b.y, b.step_mask.astype("float32")
            else:
                yield b.x, b.y

    def window(self, sequences: int | None = None) -> TaskBatch:
        """The ``window`` most recent sequences (whole batches) among the first ``sequences`` served.

        Args:
            sequences: sequences trained on so far (None: all served); batches
                served after them (prefetched) are left out.

        Returns:
            One :class:`TaskBatch`. Batches older than the window are forgotten.
        """
        end = self._batches if sequences is None else min(self._batches, int(sequences) // self.batch_size)
        start = end - self.window_batches
        while self._recent and self._recent[0][0] < start:
            self._recent.popleft()
        chosen = [b for i, b in self._recent if start <= i < end]
        if not chosen:
            raise ValueError(
                f"the stream has served no batch among the first {sequences!r} sequences; "
                "there is no window to check."
            )
        return concat(chosen)


@dataclass
class TaskData:
    """The data of one training run (see :func:`task_data`).

    Attributes:
        stream: the training batches.
        check_set: ``check_set(sequences_trained)`` returns the sequences the
            stop rule is checked on.
        test: the test sequences.
        steps: time steps of every batch.
        features: input units.
        outputs: output units.
    """

    stream: TaskStream
    check_set: Callable[[int], TaskBatch]
    test: TaskBatch
    steps: int
    features: int
    outputs: int


def task_data(task: str, settings: TaskSettings | None = None, length: int | None = None, seed: int = 0):
    """Set up the data of one run of ``task``, as the paper did.

    * Tasks with fixed sets (embedded Reber): ``settings.fixed_set_size``
      training strings and as many test strings that are not among them;
      the stream draws from the training set; the stop rule checks both.
    * Tasks with a finite population (long lags): the stop rule checks, and
      the test scores, every sequence of the task.
    * Others: a stream of fresh sequences; the stop rule checks its
      ``settings.window`` most recent ones; ``settings.test_sequences`` fresh
      test sequences drawn with seed ``seed + 10_000``.

    Args:
        task: the task's name.
        settings: from :func:`task_settings` (default: the task's defaults).
        length: T or p (None: the task's default).
        seed: an integer seed; the fixed sets and the stream share one generator.

    Returns:
        A :class:`TaskData`.
    """
    spec = task_spec(task)
    settings = settings or task_settings(task)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, received {seed!r}.")
    rng = np.random.default_rng(seed)
    train_set = test = None
    if spec.fixed_sets is not None:
        train_set, test = spec.fixed_sets(settings.fixed_set_size, rng)
        steps = train_set.x.shape[1]
    else:
        steps = spec.steps(length)
    stream = TaskStream(
        task, length, settings.batch_size, settings.window, rng, steps=steps, train_set=train_set
    )
    sample = stream.next_batch(record=False)  # the shapes; not part of the training sequences
    if train_set is not None:
        both = concat([train_set, test])
        check_set = lambda sequences=None: both  # noqa: E731
    elif spec.all_sequences is not None:
        test = spec.all_sequences(spec.length(length))
        check_set = lambda sequences=None: test  # noqa: E731
    else:
        fresh = make_task(
            task, settings.test_sequences, seed=np.random.default_rng(seed + 10_000), length=length
        )
        test = pad(fresh, steps)
        check_set = stream.window
    return TaskData(stream, check_set, test, int(sample.x.shape[1]), sample.x.shape[-1], sample.y.shape[-1])
