"""The settings of one training run of a long-time-lag task, and the ``--all`` suite.

:func:`task_settings` resolves a run's settings from the task's spec, the net
(``"paper"``: the paper's net of :data:`~lstm_apps.datasets.tasks.paper.PAPER_NETS`;
``"ours"``: our own :class:`~lstm_apps.datasets.tasks.registry.TaskConfig`),
the optimizer (``"sgd"``, the default: the paper's on-line gradient descent,
one sequence per update at its learning rate; ``"adam"`` on mini-batches,
ours: about ten times less CPU per sequence), the
quick mode and the caller's overrides. :data:`PAPER_SUITE` is the suite of a
``--all`` run with each task's share of the time budget.

Example:

>>> s = task_settings("adding")
>>> s.optimizer, s.batch_size, s.learning_rate, s.net.learning_rate
('sgd', 1, 0.5, 0.5)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from lstm_apps.datasets.tasks.paper import PaperNet, paper_row
from lstm_apps.datasets.tasks.registry import (
    PAPER_WINDOW,
    TaskConfig,
    _positive_int,
    task_spec,
)

__all__ = [
    "NETS",
    "OPTIMIZERS",
    "QUICK_SETTINGS",
    "TaskSettings",
    "task_settings",
    "SuiteEntry",
    "PAPER_SUITE",
    "budget_shares",
]

#: ``--net``: the paper's net of each task, or our own configuration.
NETS = ("paper", "ours")
#: ``--optimizer``: the paper's on-line SGD (one sequence per update), or Adam on mini-batches (ours).
OPTIMIZERS = ("sgd", "adam")
#: What ``quick=True`` uses: a seconds-long run for tests and smoke checks.
QUICK_SETTINGS = {
    "max_sequences": 128,
    "check_every": 64,
    "window": 64,
    "test_sequences": 64,
    "batch_size": 16,
}


@dataclass(frozen=True)
class TaskSettings:
    """The resolved settings of one training run of a task (see :func:`task_settings`).

    ``net_kind`` is ``"paper"`` or ``"ours"``; ``net`` is the paper's net
    (with the run's overrides) and ``config`` our own configuration; the
    model is built from the one ``net_kind`` names. ``half_life_batches`` is
    None for the paper's SGD (a constant learning rate).
    """

    config: TaskConfig
    net: PaperNet
    net_kind: str
    optimizer: str
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
    half_life_batches: int | None
    quick: bool = False


def task_settings(
    task: str,
    *,
    quick: bool = False,
    epochs: int | None = None,
    max_sequences: int | None = None,
    batch_size: int | None = None,
    check_every: int | None = None,
    window: int = PAPER_WINDOW,
    test_sequences: int | None = None,
    learning_rate: float | None = None,
    lr_half_life: int = 15_000,
    blocks: int | None = None,
    cells_per_block: int | None = None,
    input_gate_bias: float | None = None,
    bias_step: float | None = None,
    output_gate_bias: float | None = None,
    net: str = "paper",
    optimizer: str = "sgd",
    params: dict | None = None,
    output_gate: bool | None = None,
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
        test_sequences: fresh test sequences (default: the paper's test set size, e.g.
            2560; 10,000 for 5.2b/5.2c).
        learning_rate: Adam's starting learning rate, or SGD's constant one
            (default: the task's for Adam, the paper's for SGD).
        lr_half_life: training sequences after which Adam's learning rate halves.
        blocks, cells_per_block, input_gate_bias, bias_step, output_gate_bias:
            the net (see :class:`TaskConfig`'s ``blocks``, ``cells_per_block``,
            ``input_bias``, ``bias_step``, ``output_bias``); on the paper's net
            the biases override its initial gate biases (``bias_step``
            default: its own step, else -1).
        net: ``"paper"`` (the paper's net, at its weight count) or ``"ours"``.
        optimizer: ``"sgd"`` (the paper's: one sequence per update unless
            ``batch_size`` says otherwise, at the paper's learning rate) or
            ``"adam"`` (batches of ``batch_size``, default 16, at the task's
            learning rate, halving every ``lr_half_life`` sequences).
        params: the task's parameters (the paper's row may set the learning rate, e.g. 3c).
        output_gate: False drops the paper's net's output gates (the output gate study).

    Returns:
        A :class:`TaskSettings`.
    """
    spec = task_spec(task)
    if net not in NETS:
        raise ValueError(f"net must be one of {NETS}, received {net!r}.")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, received {optimizer!r}.")
    paper_net = _paper_net(spec, blocks, cells_per_block, input_gate_bias, bias_step, output_gate_bias)
    if output_gate is not None:
        paper_net = dataclasses.replace(paper_net, output_gate=bool(output_gate))
    row = paper_row(task, spec.resolve(**dict(params or {})), paper_net.blocks, paper_net.cells_per_block)
    paper_lr = (
        row.learning_rate if row is not None and row.learning_rate else None
    ) or paper_net.learning_rate
    if row is not None and row.learning_rate:
        paper_net = dataclasses.replace(paper_net, learning_rate=row.learning_rate)
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
    test_sequences = spec.test_sequences if test_sequences is None else test_sequences
    window, test_sequences = _positive_int("window", window), _positive_int("test_sequences", test_sequences)
    lr_half_life = _positive_int("lr_half_life", lr_half_life)
    sgd = optimizer == "sgd"
    batch_size = batch_size or (1 if sgd else config.batch_size)
    check_every = check_every or config.check_every
    budget = max_sequences or config.max_sequences
    fixed_set_size = spec.fixed_set_size
    if quick:
        q = QUICK_SETTINGS
        batch_size = 1 if sgd else q["batch_size"]
        check_every, window = q["check_every"], q["window"]
        budget = max_sequences or q["max_sequences"]
        test_sequences = min(test_sequences, q["test_sequences"])
        fixed_set_size = fixed_set_size and q["test_sequences"]
    steps_per_epoch = max(1, check_every // batch_size)
    per_epoch = steps_per_epoch * batch_size
    if epochs is None or max_sequences:
        epochs = max(1, math.ceil(budget / per_epoch))
    return TaskSettings(
        config=config,
        net=paper_net,
        net_kind=net,
        optimizer=optimizer,
        learning_rate=learning_rate or (paper_lr if sgd else config.learning_rate),
        batch_size=batch_size,
        check_every=check_every,
        window=window,
        test_sequences=test_sequences,
        max_sequences=budget,
        fixed_set_size=fixed_set_size,
        steps_per_epoch=steps_per_epoch,
        sequences_per_epoch=per_epoch,
        epochs=epochs,
        half_life_batches=None if sgd else max(1, lr_half_life // batch_size),
        quick=bool(quick),
    )


def _paper_net(spec, blocks, cells_per_block, input_gate_bias, bias_step, output_gate_bias) -> PaperNet:
    """The paper's net of a task with the run's overrides of its size and initial gate biases."""
    net = spec.paper_net.resized(blocks, cells_per_block)
    changes = {}
    if input_gate_bias is not None or bias_step is not None:
        own = net.input_gate_bias
        step = bias_step if bias_step is not None else (own[1] - own[0] if own and len(own) > 1 else -1.0)
        first = input_gate_bias if input_gate_bias is not None else (own[0] if own else -1.0)
        changes["input_gate_bias"] = tuple(float(first + k * step) for k in range(net.blocks))
    if output_gate_bias is not None:
        changes["output_gate_bias"] = (float(output_gate_bias),) * net.blocks
    return dataclasses.replace(net, **changes)


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
        if "length" not in task_spec(self.task).params:
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
