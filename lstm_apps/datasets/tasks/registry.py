"""The table of the 1997 long-time-lag experiments: one :class:`TaskSpec` per task.

A spec binds everything a run of one of Hochreiter & Schmidhuber's (1997)
experiments needs: the generator, the paper's figures (training sequences to
success, the weights and memory cell blocks of its net), the stop rule, how
the data are set up (a fresh stream, fixed training and test sets, or the
task's whole population) and our default training configuration
(:class:`TaskConfig`). :data:`TASK_SPECS` is the table; to add an experiment,
write its generator (:mod:`~lstm_apps.datasets.tasks.generators`) and its
check (:mod:`~lstm_apps.datasets.tasks.criteria`) and add a row.

:func:`task_settings` resolves a run's settings from a spec, the quick mode
and the caller's overrides; :data:`PAPER_SUITE` is the suite of a
``--all`` run with each task's share of the time budget.

Example:

>>> spec = task_spec("adding")
>>> spec.section, spec.paper_figure(1000), spec.paper_weights
('5.4', 853000, 93)
>>> make_task("adding", 3, seed=0).y.shape
(3, 1)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstm_apps.datasets.tasks import criteria, generators
from lstm_apps.datasets.tasks.generators import TaskBatch, pad

__all__ = [
    "TaskConfig",
    "TaskSpec",
    "TASK_SPECS",
    "TASKS",
    "PAPER_SEQUENCES",
    "PAPER_WINDOW",
    "PAPER_TEST_SEQUENCES",
    "QUICK_SETTINGS",
    "task_spec",
    "make_task",
    "paper_sequences",
    "max_length",
    "paper_stop_rule",
    "TaskSettings",
    "task_settings",
    "SuiteEntry",
    "PAPER_SUITE",
    "budget_shares",
]

#: The most recent training sequences the paper's stop rules look at.
PAPER_WINDOW = 2000
#: Fresh test sequences of the paper's adding, multiplication and temporal-order experiments.
PAPER_TEST_SEQUENCES = 2560
#: What ``quick=True`` uses: a seconds-long run for tests and smoke checks.
QUICK_SETTINGS = {
    "max_sequences": 128,
    "check_every": 64,
    "window": 64,
    "test_sequences": 64,
    "batch_size": 16,
}

_OUTPUTS = ("regression", "classification", "next_symbol")
_INITS = ("glorot", "uniform")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, received {value!r}.")
    return int(value)


@dataclass(frozen=True)
class TaskConfig:
    """Our default training configuration of a task (the LSTM1997 net and Adam).

    Attributes:
        blocks: memory cell blocks.
        cells_per_block: memory cells per block (``units = blocks * cells_per_block``).
        input_bias: input-gate bias of the first block.
        bias_step: added to the input-gate bias from one block to the next
            (the paper's negative, staggered biases).
        output_bias: output-gate bias of every block.
        init: ``"uniform"`` (the paper's weights, uniform in [-0.1, 0.1]) or
            ``"glorot"`` (Keras's default initializers).
        learning_rate: Adam's starting learning rate.
        batch_size: training sequences per weight update.
        max_sequences: the default budget of training sequences.
        check_every: training sequences between two checks of the stop rule.
    """

    blocks: int
    cells_per_block: int
    input_bias: float = -1.0
    bias_step: float = -1.0
    output_bias: float = -2.0
    init: str = "glorot"
    learning_rate: float = 0.03
    batch_size: int = 16
    max_sequences: int = 100_000
    check_every: int = 1000

    def __post_init__(self):
        for name in ("blocks", "cells_per_block", "batch_size", "max_sequences", "check_every"):
            _positive_int(name, getattr(self, name))
        if self.init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}, received {self.init!r}.")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, received {self.learning_rate!r}.")

    @property
    def units(self) -> int:
        """Memory cells in all."""
        return self.blocks * self.cells_per_block

    def input_gate_biases(self) -> list[float]:
        """The input-gate bias of each block: ``input_bias + k * bias_step``."""
        return [self.input_bias + k * self.bias_step for k in range(self.blocks)]


@dataclass(frozen=True)
class TaskSpec:
    """One experiment of the paper: its data, figures, stop rule and default configuration.

    Attributes:
        name: the task's name (``--task``).
        section: the paper's section, e.g. ``"5.4"``.
        title: a short description.
        generate: ``generate(n, seed, length) -> TaskBatch``; ``length`` is
            None for tasks with fixed lengths.
        output: ``"regression"`` (one value at the sequence end),
            ``"classification"`` (one class at the end) or ``"next_symbol"``
            (a prediction at every step).
        check: the stop rule's ``check(pred, batch, **options) -> (solved, details)``.
        config: our default :class:`TaskConfig`.
        paper_sequences: training sequences the paper's LSTM needed, per length
            (``None`` for tasks with fixed lengths).
        paper_weights: weights of the paper's net (None where not checked
            against its architecture).
        paper_blocks: ``(blocks, cells per block)`` of the paper's net.
        default_length: the default ``length`` (T or p), or None for tasks
            with the paper's fixed lengths.
        length_name: what ``length`` means (``"T"``, ``"p"``), or None.
        max_steps: ``max_steps(length)`` -> the padded number of steps, or None
            when the fixed sets decide it.
        fixed_sets: ``fixed_sets(n, rng) -> (train, test)`` for tasks trained
            on a fixed set of ``fixed_set_size`` sequences (embedded Reber);
            the stop rule then checks both sets.
        fixed_set_size: sequences in each fixed set.
        all_sequences: ``all_sequences(length)`` -> every sequence of a task
            with a finite population (long lags); checked and tested on.
        input_to_output: the output units also see the inputs (the paper's
            input-to-output connections).
        criterion_options: keyword options ``check`` takes (e.g. ``n_seq``).
    """

    name: str
    section: str
    title: str
    generate: Callable[[int, Any, int | None], TaskBatch]
    output: str
    check: Callable[..., tuple[bool, dict[str, Any]]]
    config: TaskConfig
    paper_sequences: Mapping[int | None, int]
    paper_weights: int | None = None
    paper_blocks: tuple[int, int] | None = None
    default_length: int | None = None
    length_name: str | None = None
    max_steps: Callable[[int | None], int | None] = lambda length: None
    fixed_sets: Callable[[int, np.random.Generator], tuple[TaskBatch, TaskBatch]] | None = None
    fixed_set_size: int | None = None
    all_sequences: Callable[[int | None], TaskBatch] | None = None
    input_to_output: bool = False
    criterion_options: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if self.output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, received {self.output!r}.")
        if self.fixed_sets is not None:
            _positive_int("fixed_set_size", self.fixed_set_size)

    def length(self, length: int | None = None) -> int | None:
        """The task's length for a requested one: the default when None; None for fixed lengths."""
        if self.default_length is None:
            if length is not None:
                raise ValueError(
                    f"task {self.name!r} has the paper's fixed lengths; --length applies to "
                    f"{', '.join(_length_tasks())}, received length={length!r}."
                )
            return None
        return self.default_length if length is None else length

    def paper_figure(self, length: int | None = None) -> int | None:
        """Training sequences the paper's LSTM needed at this length (None if the paper gives none)."""
        return self.paper_sequences.get(self.length(length))

    def steps(self, length: int | None = None) -> int | None:
        """Time steps every batch is padded to (None: decided by the fixed sets)."""
        return self.max_steps(self.length(length))


# -- the table ----------------------------------------------------------------------------------


def _reber(n, seed, length):
    return generators.embedded_reber(n, seed=seed)


def _reber_sets(n, rng):
    """The paper's fixed sets: ``n`` training strings and ``n`` test strings that are not among them."""
    train = generators.embedded_reber(n, seed=rng)
    test = generators.embedded_reber(n, seed=rng, exclude=train.info["strings"])
    steps = max(train.x.shape[1], test.x.shape[1])
    return pad(train, steps), pad(test, steps)


def _long_lag(n, seed, length):
    return generators.long_lag(n, p=length, seed=seed)


def _adding(n, seed, length):
    return generators.adding_problem(n, T=length, seed=seed)


def _multiplication(n, seed, length):
    return generators.multiplication_problem(n, T=length, seed=seed)


def _temporal_order(relevant):
    def generate(n, seed, length):
        return generators.temporal_order(n, relevant=relevant, seed=seed)

    return generate


def _marked_pairs_steps(T):
    return T + T // 10  # lengths are integers in [T, T + T/10]


#: The paper's experiments. Figures: Hochreiter & Schmidhuber (1997), tables
#: 1, 2, 7, 8, 9 (Reber: the best LSTM row of table 1; multiplication: the
#: n_seq = 140 row). Our nets are larger where one of the paper's size was
#: unreliable with Adam (see each config and the recipe's text).
TASK_SPECS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "reber",
            "5.1",
            "embedded Reber grammar: predict every next symbol",
            _reber,
            "next_symbol",
            criteria.reber_check,
            TaskConfig(8, 2, bias_step=-0.5, max_sequences=60_000, check_every=512),
            {None: 8_440},
            fixed_sets=_reber_sets,
            fixed_set_size=256,
        ),
        TaskSpec(
            "long_lag",
            "5.2a",
            "noise-free long time lags: recall the first symbol after p steps",
            _long_lag,
            "next_symbol",
            criteria.long_lag_check,
            TaskConfig(1, 1, bias_step=0.0, max_sequences=30_000, check_every=256),
            {100: 5_040},
            paper_blocks=(1, 1),
            default_length=100,
            length_name="p",
            max_steps=lambda p: p,
            all_sequences=generators.long_lag_sequences,
            input_to_output=True,
        ),
        TaskSpec(
            "adding",
            "5.4",
            "adding problem: the sum of two marked values",
            _adding,
            "regression",
            criteria.adding_check,
            TaskConfig(4, 2, init="uniform", max_sequences=100_000),
            {100: 74_000, 500: 209_000, 1000: 853_000},
            paper_weights=93,
            paper_blocks=(2, 2),
            default_length=100,
            length_name="T",
            max_steps=_marked_pairs_steps,
        ),
        TaskSpec(
            "multiplication",
            "5.5",
            "multiplication problem: the product of two marked values",
            _multiplication,
            "regression",
            criteria.multiplication_check,
            TaskConfig(4, 2, init="uniform", max_sequences=150_000),
            {100: 482_000},
            paper_weights=93,
            paper_blocks=(2, 2),
            default_length=100,
            length_name="T",
            max_steps=_marked_pairs_steps,
            criterion_options=("n_seq",),
        ),
        TaskSpec(
            "temporal_order_2",
            "5.6a",
            "temporal order of 2 widely separated symbols (4 classes)",
            _temporal_order(2),
            "classification",
            criteria.temporal_order_check,
            TaskConfig(2, 2, max_sequences=60_000),
            {None: 31_390},
            paper_weights=156,
            paper_blocks=(2, 2),
            max_steps=lambda length: 110,
        ),
        TaskSpec(
            "temporal_order_3",
            "5.6b",
            "temporal order of 3 widely separated symbols (8 classes)",
            _temporal_order(3),
            "classification",
            criteria.temporal_order_check,
            TaskConfig(3, 2, max_sequences=200_000),
            {None: 571_100},
            paper_weights=308,
            paper_blocks=(3, 2),
            max_steps=lambda length: 110,
        ),
    )
}

#: The task names, in the table's order.
TASKS = tuple(TASK_SPECS)

#: ``(task, length) -> training sequences`` the paper's LSTM needed (length None: fixed lengths).
PAPER_SEQUENCES: dict[tuple[str, int | None], int] = {
    (spec.name, length): n for spec in TASK_SPECS.values() for length, n in spec.paper_sequences.items()
}


def _length_tasks() -> list[str]:
    return [name for name, spec in TASK_SPECS.items() if spec.default_length is not None]


def task_spec(task: str) -> TaskSpec:
    """The :class:`TaskSpec` of ``task`` (one of :data:`TASKS`)."""
    if task not in TASK_SPECS:
        raise ValueError(f"task must be one of {TASKS}, received {task!r}.")
    return TASK_SPECS[task]


def make_task(task: str, n: int, seed=None, length: int | None = None) -> TaskBatch:
    """Generate ``n`` sequences of ``task`` (one of :data:`TASKS`).

    Args:
        task: the task's name.
        n: number of sequences.
        seed: integer seed or ``numpy.random.Generator``.
        length: T for adding/multiplication and p for long_lag (default 100);
            tasks with the paper's fixed lengths reject it.

    Returns:
        A :class:`TaskBatch`.
    """
    spec = task_spec(task)
    return spec.generate(n, seed, spec.length(length))


def paper_sequences(task: str, length: int | None = None) -> int | None:
    """Training sequences the paper's LSTM needed for ``task`` at ``length`` (default length when None)."""
    return task_spec(task).paper_figure(length)


def max_length(task: str, length: int | None = None) -> int | None:
    """Time steps a task's batches are padded to (None for Reber: its fixed sets decide)."""
    return task_spec(task).steps(length)


def paper_stop_rule(
    task: str,
    check_set: Callable[[int], TaskBatch],
    sequences_per_epoch: int,
    verbose: int = 0,
    **options,
) -> criteria.PaperStopRule:
    """The paper's stop rule of ``task`` as a criterion function for ``StopWhen``.

    Args:
        task: the task's name.
        check_set: ``check_set(sequences_trained)`` returns the sequences the
            rule is checked on (see :class:`~lstm_apps.datasets.tasks.criteria.PaperStopRule`).
        sequences_per_epoch: training sequences per epoch.
        verbose: print every check.
        **options: criterion options (``n_seq`` for multiplication); options
            the task's rule does not take are ignored, so a caller can pass
            the same ones for every task.

    Returns:
        A :class:`~lstm_apps.datasets.tasks.criteria.PaperStopRule`.
    """
    spec = task_spec(task)
    kwargs = {k: v for k, v in options.items() if k in spec.criterion_options}

    def check(pred, batch):
        return spec.check(pred, batch, **kwargs)

    return criteria.PaperStopRule(check, check_set, sequences_per_epoch, verbose=verbose)


@dataclass(frozen=True)
class TaskSettings:
    """The resolved settings of one training run of a task (see :func:`task_settings`)."""

    config: TaskConfig
    learning_rate: float
    batch_size: int
    check_every: int
    window: int
    test_sequences: int
    max_sequences: int
    fixed_set_size: int | None
    steps_per_epoch: int
    sequences_per_epoch: int
    epochs: int
    half_life_batches: int


def task_settings(
    task: str,
    *,
    quick: bool = False,
    epochs: int | None = None,
    max_sequences: int | None = None,
    batch_size: int | None = None,
    check_every: int | None = None,
    window: int = PAPER_WINDOW,
    test_sequences: int = PAPER_TEST_SEQUENCES,
    learning_rate: float | None = None,
    lr_half_life: int = 15_000,
    blocks: int | None = None,
    cells_per_block: int | None = None,
    input_gate_bias: float | None = None,
    bias_step: float | None = None,
    output_gate_bias: float | None = None,
) -> TaskSettings:
    """Resolve a run's settings: the task's defaults, then the caller's overrides (None: the default).

    Training runs in epochs of ``check_every`` sequences (rounded down to
    whole batches), after each of which the stop rule is checked. The number
    of epochs comes from the sequence budget unless ``epochs`` is given (a
    given ``max_sequences`` wins over ``epochs``). ``quick`` fixes the batch
    size, check interval and window to :data:`QUICK_SETTINGS`, budgets 128
    sequences unless ``max_sequences`` is given and caps the test sequences.

    Args:
        task: the task's name.
        quick: a seconds-long run.
        epochs: epochs of ``check_every`` sequences.
        max_sequences: the budget of training sequences.
        batch_size: sequences per weight update.
        check_every: sequences between two checks of the stop rule.
        window: the most recent training sequences the stop rule checks.
        test_sequences: fresh test sequences.
        learning_rate: Adam's starting learning rate.
        lr_half_life: training sequences after which the learning rate halves.
        blocks, cells_per_block, input_gate_bias, bias_step, output_gate_bias:
            the net (see :class:`TaskConfig`'s ``blocks``, ``cells_per_block``,
            ``input_bias``, ``bias_step``, ``output_bias``).

    Returns:
        A :class:`TaskSettings`.
    """
    spec = task_spec(task)
    overrides = {
        "blocks": blocks,
        "cells_per_block": cells_per_block,
        "input_bias": input_gate_bias,
        "bias_step": bias_step,
        "output_bias": output_gate_bias,
    }
    config = dataclasses.replace(spec.config, **{k: v for k, v in overrides.items() if v is not None})
    for name, value in (
        ("epochs", epochs),
        ("max_sequences", max_sequences),
        ("batch_size", batch_size),
        ("check_every", check_every),
    ):
        if value is not None:
            _positive_int(name, value)
    window, test_sequences = _positive_int("window", window), _positive_int("test_sequences", test_sequences)
    lr_half_life = _positive_int("lr_half_life", lr_half_life)
    batch_size = batch_size or config.batch_size
    check_every = check_every or config.check_every
    budget = max_sequences or config.max_sequences
    fixed_set_size = spec.fixed_set_size
    if quick:
        q = QUICK_SETTINGS
        batch_size, check_every, window = q["batch_size"], q["check_every"], q["window"]
        budget = max_sequences or q["max_sequences"]
        test_sequences = min(test_sequences, q["test_sequences"])
        fixed_set_size = fixed_set_size and q["test_sequences"]
    steps_per_epoch = max(1, check_every // batch_size)
    per_epoch = steps_per_epoch * batch_size
    if epochs is None or max_sequences:
        epochs = max(1, math.ceil(budget / per_epoch))
    return TaskSettings(
        config=config,
        learning_rate=learning_rate or config.learning_rate,
        batch_size=batch_size,
        check_every=check_every,
        window=window,
        test_sequences=test_sequences,
        max_sequences=budget,
        fixed_set_size=fixed_set_size,
        steps_per_epoch=steps_per_epoch,
        sequences_per_epoch=per_epoch,
        epochs=epochs,
        half_life_batches=max(1, lr_half_life // batch_size),
    )


# -- the suite of a --all run -------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteEntry:
    """One run of the suite.

    Attributes:
        task: the task's name.
        cell: the recurrent layer's kind.
        length: T or p; None: the run's ``--length`` (or the task's default).
        max_sequences: a budget of training sequences for this entry (None:
            the run's or the task's).
        minutes_share: the entry's relative share of the suite's time budget.
    """

    task: str
    cell: str = "lstm1997"
    length: int | None = None
    max_sequences: int | None = None
    minutes_share: float = 1.0

    def length_for(self, length: int | None = None) -> int | None:
        """This entry's length: its own, else the run's ``length``; None for tasks of fixed lengths."""
        if task_spec(self.task).default_length is None:
            return None
        return self.length if self.length is not None else length


#: The suite of the recipe's ``--all``: every task with LSTM1997, and a simple
#: RNN on the adding problem. The two tasks whose paper figure lies far beyond
#: a short budget get half a share of the time.
PAPER_SUITE: tuple[SuiteEntry, ...] = (
    SuiteEntry("adding", length=100),
    SuiteEntry("adding", "simple_rnn", length=100, max_sequences=30_000),
    SuiteEntry("temporal_order_2"),
    SuiteEntry("long_lag"),
    SuiteEntry("reber"),
    SuiteEntry("multiplication", length=100, minutes_share=0.5),
    SuiteEntry("temporal_order_3", minutes_share=0.5),
)


def budget_shares(weights: Sequence[float]) -> list[float]:
    """Fractions of the *remaining* time budget for runs with relative ``weights``, in order.

    Run ``k`` may use ``weights[k] / sum(weights[k:])`` of what is left when
    it starts, so every run gets its weight's part of the whole budget when
    each spends all it may, and time a run leaves unspent goes to the later
    ones.

    Example:

    >>> budget_shares([1.0, 1.0, 2.0])
    [0.25, 0.3333333333333333, 1.0]
    """
    weights = [float(w) for w in weights]
    bad = [w for w in weights if not w > 0]
    if bad:
        raise ValueError(f"budget weights must be positive, received {bad[0]!r}.")
    return [w / sum(weights[k:]) for k, w in enumerate(weights)]
