"""The table of the 1997 long-time-lag experiments: one :class:`TaskSpec` per task.

A spec binds everything a run of one of Hochreiter & Schmidhuber's (1997)
experiments needs: the generator and its parameters, the stop rule, the
sequences the rule is checked on (the most recent training sequences, a
fresh random test set, the task's whole population or its fixed sets), the
test scores and our default training configuration (:class:`TaskConfig`).
The paper's nets and figures are in :mod:`~lstm_apps.datasets.tasks.paper`.
:data:`TASK_SPECS` is the table; to add an experiment, write its generator
and its check (:mod:`~lstm_apps.datasets.tasks.criteria`) and add a row.

Parameters (:func:`task_params`): ``length`` (T of the adding, multiplication
and 2-sequence problems, p of the long lags), ``lag`` and ``distractors``
(q and p of 5.2c), ``variant`` (a, b, c of 5.3), ``relevant`` (its N) and
``n_seq`` (multiplication's stop rule).

Example:

>>> spec = task_spec("adding")
>>> spec.section, spec.paper_figure(1000)
('5.4', 853000)
>>> make_task("adding", 3, seed=0).y.shape
(3, 1)
>>> task_params("very_long_lag", lag=1000)
{'lag': 1000, 'distractors': 100}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstm_apps.datasets.tasks import criteria, generators, noisy
from lstm_apps.datasets.tasks.generators import TaskBatch, pad
from lstm_apps.datasets.tasks.paper import PAPER_NETS, PAPER_ROWS, PaperNet, PaperRow, paper_row

__all__ = [
    "TaskConfig",
    "TaskSpec",
    "TASK_SPECS",
    "TASKS",
    "PARAMS",
    "PAPER_SEQUENCES",
    "PAPER_WINDOW",
    "PAPER_TEST_SEQUENCES",
    "PAPER_SUCCESS_SEQUENCES",
    "PRECHECK_SEQUENCES",
    "task_spec",
    "task_params",
    "make_task",
    "paper_sequences",
    "max_length",
    "paper_stop_rule",
]

#: The most recent training sequences the paper's stop rules look at.
PAPER_WINDOW = 2000
#: Fresh test sequences of the paper's adding, multiplication, 2-sequence and temporal-order experiments.
PAPER_TEST_SEQUENCES = 2560
#: The most recent sequences a stop rule that needs every sequence right checks first.
PRECHECK_SEQUENCES = 256
#: 5.2b/5.2c: success holds for this many successive, randomly chosen sequences.
PAPER_SUCCESS_SEQUENCES = 10_000
#: The task parameters, with what they mean.
PARAMS = {
    "length": "T (adding, multiplication, two_sequence) or p (long_lag, long_lag_random)",
    "lag": "q of very_long_lag: the distractors every sequence has at least",
    "distractors": "p of very_long_lag: the distractor symbols",
    "variant": "a, b or c of two_sequence",
    "relevant": "N of two_sequence: the information-conveying elements",
    "n_seq": "multiplication: the stop rule's bound on wrong recent sequences",
}

_OUTPUTS = ("regression", "classification", "next_symbol")
_INITS = ("glorot", "uniform")
_CHECKS = ("window", "fixed", "all", "fresh")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, received {value!r}.")
    return int(value)


@dataclass(frozen=True)
class TaskConfig:
    """Our own training configuration of a task (``--net ours``: the LSTM1997 net and Adam).

    Attributes:
        blocks: memory cell blocks.
        cells_per_block: memory cells per block (``units = blocks * cells_per_block``).
        input_bias: input-gate bias of the first block.
        bias_step: added to the input-gate bias from one block to the next
            (the paper's negative, staggered biases).
        output_bias: output-gate bias of every block.
        init: ``"uniform"`` (the paper's weights, uniform in [-0.1, 0.1]) or
            ``"glorot"`` (Keras's default initializers).
        learning_rate: Adam's starting learning rate (for either net).
        batch_size: training sequences per weight update (Adam).
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
    """One experiment of the paper: its data, stop rule, test and default configuration.

    Attributes:
        name: the task's name (``--task``).
        section: the paper's section, e.g. ``"5.4"``.
        title: a short description.
        generate: ``generate(n, seed, **params) -> TaskBatch`` (every
            parameter of ``params`` is passed; a generator ignores those of the
            stop rule).
        output: ``"regression"`` (one value at the sequence end),
            ``"classification"`` (one class at the end) or ``"next_symbol"``
            (a prediction at every step).
        check: the stop rule's ``check(pred, batch, **options) -> (solved, details)``.
        config: our default :class:`TaskConfig` (``--net ours``).
        params: the task's parameters and their defaults (see :data:`PARAMS`).
        check_source: the sequences the rule is checked on: ``"window"``
            (the most recent training sequences), ``"fixed"`` (the fixed
            training and test sets: embedded Reber), ``"all"`` (every
            sequence of a finite population: 5.2a) or ``"fresh"`` (a fresh
            random set of ``check_sequences`` at each check: 5.3).
        check_sequences: sequences of a ``"fresh"`` check set.
        confirm_sequences: when the check holds, success must also hold for
            this many fresh random sequences (5.2b, 5.2c), or None.
        criterion_options: parameters ``check`` takes (e.g. ``n_seq``).
        precheck: the rule needs every checked sequence right, so a wrong one
            among the most recent few hundred settles a check (see
            :class:`~lstm_apps.datasets.tasks.criteria.PaperStopRule`).
        max_steps: ``max_steps(params)`` -> the padded number of steps, or
            None (the fixed sets decide, or the lengths vary without bound).
        pad_multiple: with ``max_steps`` None and no fixed sets, batches are
            padded to a multiple of this (few compiled shapes).
        fixed_sets: ``fixed_sets(n, rng) -> (train, test)`` for tasks trained
            on a fixed set of ``fixed_set_size`` sequences (embedded Reber).
        fixed_set_size: sequences in each fixed set.
        all_sequences: ``all_sequences(**params)`` -> every sequence (5.2a).
        input_to_output: our model's output units also see the inputs.
        score: ``score(pred, batch) -> {"error_count", "max_abs_error", "mse", ...}``,
            the test scores (default: :func:`~lstm_apps.datasets.tasks.criteria.test_errors`).
        test_sequences: the paper's test set size.
    """

    name: str
    section: str
    title: str
    generate: Callable[..., TaskBatch]
    output: str
    check: Callable[..., tuple[bool, dict[str, Any]]]
    config: TaskConfig
    params: Mapping[str, Any] = field(default_factory=dict)
    check_source: str = "window"
    check_sequences: int | None = None
    confirm_sequences: int | None = None
    criterion_options: tuple[str, ...] = ()
    precheck: bool = False
    max_steps: Callable[..., int | None] = lambda **params: None
    pad_multiple: int = 32
    fixed_sets: Callable[[int, np.random.Generator], tuple[TaskBatch, TaskBatch]] | None = None
    fixed_set_size: int | None = None
    all_sequences: Callable[..., TaskBatch] | None = None
    input_to_output: bool = False
    score: Callable[[Any, TaskBatch], dict[str, Any]] | None = None
    test_sequences: int = PAPER_TEST_SEQUENCES

    def __post_init__(self):
        if self.output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, received {self.output!r}.")
        if self.check_source not in _CHECKS:
            raise ValueError(f"check_source must be one of {_CHECKS}, received {self.check_source!r}.")
        if self.fixed_sets is not None:
            _positive_int("fixed_set_size", self.fixed_set_size)

    def resolve(self, **given) -> dict[str, Any]:
        """The task's parameters: its defaults, then ``given`` (None: the default); :func:`task_params`."""
        unknown = [k for k in given if k not in PARAMS]
        if unknown:
            raise ValueError(f"unknown task parameter {unknown[0]!r}; the parameters are {tuple(PARAMS)}.")
        refused = [k for k, v in given.items() if v is not None and k not in self.params]
        if refused:
            takers = ", ".join(n for n, s in TASK_SPECS.items() if refused[0] in s.params)
            what = "fixed lengths" if refused[0] == "length" else f"no parameter {refused[0]!r}"
            raise ValueError(
                f"task {self.name!r} has the paper's {what}; --{refused[0].replace('_', '-')} applies "
                f"to {takers}, received {refused[0]}={given[refused[0]]!r}."
            )
        return {k: (default if given.get(k) is None else given[k]) for k, default in self.params.items()}

    @property
    def length_name(self) -> str | None:
        """What ``length`` means for this task (``"T"``, ``"p"``), or None when it takes none."""
        if "length" not in self.params:
            return None
        return "p" if self.name.startswith("long_lag") else "T"

    def paper_row(self, params: Mapping[str, Any] | None = None, **net) -> PaperRow | None:
        """The paper's row for these parameters (see :func:`~lstm_apps.datasets.tasks.paper.paper_row`)."""
        return paper_row(self.name, self.resolve(**dict(params or {})), **net)

    def paper_figure(self, length: int | None = None, **params) -> int | None:
        """Training sequences the paper's LSTM needed (None if the paper ran no such experiment)."""
        row = self.paper_row({"length": length, **params} if length is not None else params)
        return None if row is None else row.sequences

    def steps(self, length: int | None = None, **params) -> int | None:
        """Time steps every batch is padded to (None: the fixed sets or the batch decide)."""
        return self.max_steps(**self.resolve(**({"length": length} if length is not None else {}), **params))

    @property
    def paper_net(self) -> PaperNet:
        """The paper's net of this task (:data:`~lstm_apps.datasets.tasks.paper.PAPER_NETS`)."""
        return PAPER_NETS[self.name]


# -- the table ----------------------------------------------------------------------------------


def _reber(n, seed):
    return generators.embedded_reber(n, seed=seed)


def _reber_sets(n, rng):
    """The paper's fixed sets: ``n`` training strings and ``n`` test strings that are not among them."""
    train = generators.embedded_reber(n, seed=rng)
    test = generators.embedded_reber(n, seed=rng, exclude=train.info["strings"])
    steps = max(train.x.shape[1], test.x.shape[1])
    return pad(train, steps), pad(test, steps)


def _marked_pairs_steps(length, **_):
    return length + length // 10  # lengths are integers in [T, T + T/10]


def _temporal_order(relevant):
    def generate(n, seed):
        return generators.temporal_order(n, relevant=relevant, seed=seed)

    return generate


def _very_long_lag_score(pred, batch):
    r = criteria.classification_errors(pred, batch.y, tol=0.2)
    return {"error_count": r["error_count"], "max_abs_error": r["worst"], "mse": r["mse"]}


def _spec(name, section, title, generate, output, check, config, **kw):
    return TaskSpec(name, section, title, generate, output, check, config, **kw)


#: The paper's experiments (sections 5.1-5.6), in the paper's order.
TASK_SPECS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "reber", "5.1", "embedded Reber grammar: predict every next symbol", _reber, "next_symbol",
            criteria.reber_check, TaskConfig(8, 2, bias_step=-0.5, max_sequences=60_000, check_every=512),
            check_source="fixed", fixed_sets=_reber_sets, fixed_set_size=256, test_sequences=256,
        ),
        _spec(
            "long_lag", "5.2a", "noise-free long time lags: recall the first symbol after p steps",
            lambda n, seed, length: generators.long_lag(n, p=length, seed=seed), "next_symbol",
            criteria.long_lag_check, TaskConfig(1, 1, bias_step=0.0, max_sequences=30_000, check_every=256),
            params={"length": 100}, check_source="all", max_steps=lambda length: length,
            all_sequences=lambda length: generators.long_lag_sequences(length), input_to_output=True,
            score=criteria.long_lag_errors, test_sequences=2,
        ),
        _spec(
            "long_lag_random", "5.2b", "long time lags without local regularities: random middles",
            lambda n, seed, length: noisy.long_lag_random(n, p=length, seed=seed), "next_symbol",
            criteria.long_lag_random_check,
            TaskConfig(1, 1, bias_step=0.0, max_sequences=30_000, check_every=256),
            params={"length": 100}, confirm_sequences=PAPER_SUCCESS_SEQUENCES, precheck=True,
            max_steps=lambda length: length, input_to_output=True, score=criteria.final_step_errors,
            test_sequences=PAPER_SUCCESS_SEQUENCES,
        ),
        _spec(
            "very_long_lag", "5.2c", "very long time lags: the second symbol after q + k distractors",
            lambda n, seed, lag, distractors: noisy.very_long_lag(n, lag, distractors, seed=seed),
            "classification", criteria.very_long_lag_check,
            TaskConfig(2, 1, bias_step=-1.0, max_sequences=300_000, check_every=1000),
            params={"lag": 100, "distractors": 100}, confirm_sequences=PAPER_SUCCESS_SEQUENCES, precheck=True,
            score=_very_long_lag_score, test_sequences=PAPER_SUCCESS_SEQUENCES,
        ),
        _spec(
            "two_sequence", "5.3", "the 2-sequence problem: a class from the first N noisy elements",
            lambda n, seed, length, variant, relevant: noisy.two_sequence(n, length, relevant, variant, seed),
            "regression", criteria.two_sequence_check,
            TaskConfig(3, 1, bias_step=-2.0, init="uniform", max_sequences=300_000, check_every=500),
            params={"length": 100, "variant": "a", "relevant": 3}, check_source="fresh", check_sequences=256,
            max_steps=_marked_pairs_steps, score=criteria.two_sequence_errors,
        ),
        _spec(
            "adding", "5.4", "adding problem: the sum of two marked values",
            lambda n, seed, length: generators.adding_problem(n, T=length, seed=seed), "regression",
            criteria.adding_check, TaskConfig(4, 2, init="uniform", max_sequences=100_000),
            params={"length": 100}, max_steps=_marked_pairs_steps, precheck=True,
        ),
        _spec(
            "multiplication", "5.5", "multiplication problem: the product of two marked values",
            lambda n, seed, length, n_seq: generators.multiplication_problem(n, T=length, seed=seed),
            "regression", criteria.multiplication_check,
            TaskConfig(4, 2, init="uniform", max_sequences=150_000, check_every=4000),
            params={"length": 100, "n_seq": 140}, criterion_options=("n_seq",), max_steps=_marked_pairs_steps,
        ),
        _spec(
            "temporal_order_2", "5.6a", "temporal order of 2 widely separated symbols (4 classes)",
            _temporal_order(2), "classification", criteria.temporal_order_check,
            TaskConfig(2, 2, max_sequences=60_000), max_steps=lambda: 110, precheck=True,
        ),
        _spec(
            "temporal_order_3", "5.6b", "temporal order of 3 widely separated symbols (8 classes)",
            _temporal_order(3), "classification", criteria.temporal_order_check,
            TaskConfig(3, 2, max_sequences=200_000), max_steps=lambda: 110, precheck=True,
        ),
    )
}  # fmt: skip

#: The task names, in the table's order.
TASKS = tuple(TASK_SPECS)

#: ``row id -> training sequences`` the paper's LSTM needed (its Tables 1-9; see :data:`PAPER_ROWS`).
PAPER_SEQUENCES: dict[str, int] = {row.id: row.sequences for row in PAPER_ROWS}


def task_spec(task: str) -> TaskSpec:
    """The :class:`TaskSpec` of ``task`` (one of :data:`TASKS`)."""
    if task not in TASK_SPECS:
        raise ValueError(f"task must be one of {TASKS}, received {task!r}.")
    return TASK_SPECS[task]


def task_params(task: str, **given) -> dict[str, Any]:
    """The parameters of a run of ``task``: its defaults, then ``given`` (None: the default).

    A parameter the task does not take is refused with a ``ValueError``
    naming the tasks that take it, unless it is None.

    Example:

    >>> task_params("two_sequence", variant="c", lag=None)
    {'length': 100, 'variant': 'c', 'relevant': 3}
    """
    return task_spec(task).resolve(**given)


def make_task(task: str, n: int, seed=None, length: int | None = None, **params) -> TaskBatch:
    """Generate ``n`` sequences of ``task`` (one of :data:`TASKS`).

    Args:
        task: the task's name.
        n: number of sequences.
        seed: integer seed or ``numpy.random.Generator``.
        length: T or p (default 100); tasks with the paper's fixed lengths reject it.
        **params: the task's other parameters (:data:`PARAMS`).

    Returns:
        A :class:`TaskBatch`.
    """
    spec = task_spec(task)
    return spec.generate(n, seed, **spec.resolve(length=length, **params))


def paper_sequences(task: str, length: int | None = None, **params) -> int | None:
    """Training sequences the paper's LSTM needed for ``task`` with these parameters (None: no such row)."""
    return task_spec(task).paper_figure(length, **params)


def max_length(task: str, length: int | None = None, **params) -> int | None:
    """Time steps a task's batches are padded to (None: Reber's fixed sets or 5.2c's batches decide)."""
    return task_spec(task).steps(length, **params)


def paper_stop_rule(
    task: str,
    check_set: Callable[[int], TaskBatch],
    sequences_per_epoch: int,
    verbose: int = 0,
    confirm: Callable[[Any], tuple[bool, Mapping[str, Any]]] | None = None,
    min_sequences: int = 0,
    precheck: int | None = PRECHECK_SEQUENCES,
    **options,
) -> criteria.PaperStopRule:
    """The paper's stop rule of ``task`` as a criterion function for ``StopWhen``.

    Args:
        task: the task's name.
        check_set: ``check_set(sequences_trained)`` returns the sequences the
            rule is checked on (see :class:`~lstm_apps.datasets.tasks.criteria.PaperStopRule`).
        sequences_per_epoch: training sequences per epoch.
        verbose: print every check.
        confirm: the 10,000-sequence confirmation of 5.2b/5.2c
            (:attr:`~lstm_apps.datasets.tasks.streams.TaskData.confirm`), or None.
        min_sequences: no success before this many training sequences
            (:attr:`~lstm_apps.datasets.tasks.streams.TaskData.min_sequences`:
            a full window of the most recent ones).
        precheck: sequences checked first by a task whose rule needs every
            sequence right (its spec's ``precheck``); None: none.
        **options: criterion options (``n_seq`` for multiplication); options
            the task's rule does not take are ignored, so a caller can pass
            the same ones for every task.

    Returns:
        A :class:`~lstm_apps.datasets.tasks.criteria.PaperStopRule`.
    """
    spec = task_spec(task)
    kwargs = {k: v for k, v in options.items() if k in spec.criterion_options and v is not None}

    def check(pred, batch):
        return spec.check(pred, batch, **kwargs)

    return criteria.PaperStopRule(
        check,
        check_set,
        sequences_per_epoch,
        verbose=verbose,
        confirm=confirm,
        min_sequences=min_sequences,
        precheck=precheck if spec.precheck else None,
    )
