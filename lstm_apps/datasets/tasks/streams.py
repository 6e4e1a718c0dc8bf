"""Training streams, the data of one run of a long-time-lag task, and its test scores.

:class:`TaskStream` serves endless batches of freshly generated sequences
(or draws them from a task's fixed training set), padded to one length, and
keeps the most recent ones for the stop rule. :func:`task_data` sets up
everything a run needs, following the task's
:class:`~lstm_apps.datasets.tasks.registry.TaskSpec`: the stream, the
sequences the stop rule checks, the 10,000-sequence confirmation of 5.2b and
5.2c, and the test set, which :func:`score_model` scores in chunks (10,000
sequences of 5.2c with q = p = 1000 would not fit in memory at once).

Example:

>>> settings = task_settings("adding", quick=True, optimizer="adam")
>>> data = task_data("adding", settings, seed=0)
>>> x, y = next(iter(data.stream))
>>> x.shape, y.shape, data.test_size
((16, 110, 2), (16, 1), 64)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_apps.datasets.tasks.criteria import test_errors
from lstm_apps.datasets.tasks.generators import TaskBatch, concat, pad
from lstm_apps.datasets.tasks.registry import make_task, task_spec
from lstm_apps.datasets.tasks.settings import TaskSettings, task_settings

__all__ = ["TaskStream", "TaskData", "task_data", "score_model", "CHUNK_SEQUENCES", "predict_batch_size"]

#: Test and confirmation sequences generated and scored at a time.
CHUNK_SEQUENCES = 500
#: The most input values (sequences x steps x input units) one prediction batch holds.
PREDICT_VALUES = 16_000_000


def predict_batch_size(batch: TaskBatch, most: int = 256) -> int:
    """A prediction batch size whose one-hot inputs stay within :data:`PREDICT_VALUES` values."""
    per_sequence = max(1, batch.x.shape[1] * batch.features)
    return int(max(1, min(most, PREDICT_VALUES // per_sequence)))


def _padded(batch: TaskBatch, steps: int | None, multiple: int) -> TaskBatch:
    """``batch`` padded to ``steps``, or (None) to a multiple of ``multiple`` steps."""
    if steps is None:
        steps = multiple * math.ceil(batch.x.shape[1] / multiple)
    return pad(batch, steps)


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
        params: the task's parameters (None: its defaults; see
            :func:`~lstm_apps.datasets.tasks.registry.task_params`).
        batch_size: sequences per batch.
        window: sequences :meth:`window` returns (rounded up to whole batches).
        seed: integer seed or ``numpy.random.Generator`` (shared, not copied).
        steps: time steps every batch is padded to (None: to a multiple of
            the task's ``pad_multiple``).
        train_set: draw batches from these fixed sequences instead of
            generating fresh ones (embedded Reber's 256 training strings).

    Attributes:
        served: sequences served so far.
    """

    def __init__(
        self,
        task: str,
        params: Mapping[str, Any] | None,
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
        self.task, self.params, self.batch_size = (
            task,
            self.spec.resolve(**dict(params or {})),
            int(batch_size),
        )
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
            b = make_task(self.task, self.batch_size, seed=self.rng, **self.params)
            b = _padded(b, self.steps, self.spec.pad_multiple)
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
            One :class:`TaskBatch` (padded to the longest batch). Batches
            older than the window are forgotten.
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
        steps = max(b.x.shape[1] for b in chosen)
        return concat([pad(b, steps) for b in chosen])


@dataclass
class TaskData:
    """The data of one training run (see :func:`task_data`).

    Attributes:
        stream: the training batches.
        check_set: ``check_set(sequences_trained)`` returns the sequences the
            stop rule is checked on.
        test_chunks: ``test_chunks()`` yields the test set in chunks of at
            most :data:`CHUNK_SEQUENCES` (the same sequences every call).
        test_size: test sequences in all.
        confirm: ``confirm(model) -> (solved, details)``: the paper's success
            on fresh random sequences (5.2b, 5.2c), or None.
        steps: time steps of every batch (None: they vary, 5.2c).
        features: input units.
        outputs: output units.
        symbolic: whether inputs are symbol ids (see :class:`TaskBatch`).
        params: the task's parameters.
        min_sequences: training sequences before the stop rule may hold (a
            full window of the most recent ones; 0 for other check sets).
    """

    stream: TaskStream
    check_set: Callable[[int], TaskBatch]
    test_chunks: Callable[[], Iterator[TaskBatch]]
    test_size: int
    confirm: Callable[[Any], tuple[bool, dict[str, Any]]] | None
    steps: int | None
    features: int
    outputs: int
    symbolic: bool
    params: dict[str, Any]
    min_sequences: int = 0

    def training_data(self):
        """What ``model.fit`` takes: the stream as a ``tf.data.Dataset`` with its shapes declared.

        Steps that vary from batch to batch (5.2c) are declared ``None``, which
        Keras cannot infer from a plain generator; on other backends the
        stream's iterator itself.
        """
        import keras

        if keras.backend.backend() != "tensorflow":
            return iter(self.stream)
        import tensorflow as tf

        x = (None, self.steps) if self.symbolic else (None, self.steps, self.features)
        signature = [tf.TensorSpec(x, "int32" if self.symbolic else "float32")]
        if self.stream.spec.output == "next_symbol":
            signature += [tf.TensorSpec((None, self.steps, self.outputs)), tf.TensorSpec((None, self.steps))]
        else:
            signature.append(tf.TensorSpec((None, self.outputs)))
        return tf.data.Dataset.from_generator(lambda: iter(self.stream), output_signature=tuple(signature))

    @property
    def test(self) -> TaskBatch:
        """The whole test set as one batch (mind the memory of 5.2b/5.2c's 10,000 sequences)."""
        chunks = list(self.test_chunks())
        steps = max(b.x.shape[1] for b in chunks)
        return concat([pad(b, steps) for b in chunks])


def _chunks(task, params, n, seed, steps, multiple) -> Iterator[TaskBatch]:
    rng = np.random.default_rng(seed)
    for start in range(0, n, CHUNK_SEQUENCES):
        batch = make_task(task, min(CHUNK_SEQUENCES, n - start), seed=rng, **params)
        yield _padded(batch, steps, multiple)


def score_model(model, task: str, chunks, **options) -> dict[str, Any]:
    """The test scores of ``model`` on a task's test chunks, as the paper reports them.

    Args:
        model: a Keras model (anything with ``predict``).
        task: the task's name (its ``score`` function, or
            :func:`~lstm_apps.datasets.tasks.criteria.test_errors`).
        chunks: the test set, an iterable of :class:`TaskBatch`.
        **options: unused; accepted so callers may pass the task's parameters.

    Returns:
        ``{"error_count", "max_abs_error", "mse", "sequences"}`` (and the
        task's own figures, e.g. ``mae``): counts summed, maxima taken,
        means weighted by the chunks' sizes; ``mse`` None for next-symbol tasks.
    """
    spec = task_spec(task)
    totals: dict[str, Any] = {"sequences": 0}
    for batch in chunks:
        pred = model.predict(batch.x, batch_size=predict_batch_size(batch), verbose=0)
        scores = spec.score(pred, batch) if spec.score else test_errors(spec.output, pred, batch)
        n = len(batch)
        for key, value in scores.items():
            if key == "error_count":
                totals[key] = totals.get(key, 0) + int(value)
            elif key == "max_abs_error":
                totals[key] = max(totals.get(key, 0.0), float(value))
            elif value is None:
                totals[key] = None
            else:
                totals[key] = totals.get(key, 0.0) + float(value) * n
        totals["sequences"] += n
    n = max(totals["sequences"], 1)
    return {k: (v / n if k not in ("error_count", "max_abs_error", "sequences") and v is not None else v)
            for k, v in totals.items()}  # fmt: skip


def _confirm(task, params, n, seed, steps, multiple):
    """The paper's "success for 10,000 successive, randomly chosen sequences": fresh ones at every call."""
    spec = task_spec(task)
    rng = np.random.default_rng(seed)

    def confirm(model) -> tuple[bool, dict[str, Any]]:
        checked = 0
        while checked < n:
            batch = _padded(
                make_task(task, min(CHUNK_SEQUENCES, n - checked), seed=rng, **params), steps, multiple
            )
            pred = model.predict(batch.x, batch_size=predict_batch_size(batch), verbose=0)
            ok, details = spec.check(pred, batch)
            checked += len(batch)
            if not ok:
                return False, {"checked": checked, "wrong": int(details.get("wrong", 1))}
        return True, {"checked": checked, "wrong": 0}

    return confirm


def task_data(
    task: str,
    settings: TaskSettings | None = None,
    length: int | None = None,
    seed: int = 0,
    **params,
) -> TaskData:
    """Set up the data of one run of ``task``, as the paper did.

    * Fixed sets (embedded Reber): ``settings.fixed_set_size`` training
      strings and as many test strings that are not among them; the stream
      draws from the training set; the stop rule checks both.
    * A finite population (5.2a): the stop rule checks, and the test scores,
      every sequence of the task.
    * A fresh check set (5.3): the stop rule checks 256 fresh random
      sequences at every check (drawn with seed ``seed + 20_000``).
    * Others: a stream of fresh sequences; the stop rule checks its
      ``settings.window`` most recent ones (5.2b, 5.2c: and, when they pass,
      10,000 fresh sequences, seed ``seed + 30_000``).

    The test set is ``settings.test_sequences`` fresh sequences (seed
    ``seed + 10_000``), generated in chunks.

    Args:
        task: the task's name.
        settings: from :func:`~lstm_apps.datasets.tasks.settings.task_settings`
            (default: the task's defaults).
        length: T or p (None: the task's default).
        seed: an integer seed; the fixed sets and the stream share one generator.
        **params: the task's other parameters.

    Returns:
        A :class:`TaskData`.
    """
    spec = task_spec(task)
    settings = settings or task_settings(task)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, received {seed!r}.")
    params = spec.resolve(length=length, **params)
    rng = np.random.default_rng(seed)
    train_set = test = None
    steps = spec.max_steps(**params)
    if spec.fixed_sets is not None:
        train_set, test = spec.fixed_sets(settings.fixed_set_size, rng)
        steps = train_set.x.shape[1]
    stream = TaskStream(
        task, params, settings.batch_size, settings.window, rng, steps=steps, train_set=train_set
    )
    sample = stream.next_batch(record=False)  # the shapes; not part of the training sequences
    confirm = None
    if train_set is not None:
        both = concat([train_set, test])
        check_set = lambda sequences=None: both  # noqa: E731
    elif spec.check_source == "all":
        test = spec.all_sequences(**params)
        check_set = lambda sequences=None: test  # noqa: E731
    elif spec.check_source == "fresh":
        check_rng = np.random.default_rng(seed + 20_000)
        size = min(spec.check_sequences, settings.window) if settings.quick else spec.check_sequences

        def check_set(sequences=None):
            return _padded(make_task(task, size, seed=check_rng, **params), steps, spec.pad_multiple)

    else:
        check_set = stream.window
    if spec.confirm_sequences:
        n_confirm = (
            min(spec.confirm_sequences, settings.test_sequences) if settings.quick else spec.confirm_sequences
        )
        confirm = _confirm(task, params, n_confirm, seed + 30_000, steps, spec.pad_multiple)
    if test is not None:
        fixed = test
        test_chunks = lambda: iter([fixed])  # noqa: E731
        test_size = len(fixed)
    else:
        n_test = settings.test_sequences
        test_chunks = lambda: _chunks(task, params, n_test, seed + 10_000, steps, spec.pad_multiple)  # noqa: E731
        test_size = n_test
    return TaskData(
        stream,
        check_set,
        test_chunks,
        test_size,
        confirm,
        None if steps is None else int(sample.x.shape[1]),
        sample.features,
        sample.y.shape[-1],
        sample.symbolic,
        params,
        stream.window_batches * stream.batch_size if check_set == stream.window else 0,
    )
