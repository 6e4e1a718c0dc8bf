"""The 1997 paper's nets and results: Tables 1-10 of Hochreiter & Schmidhuber (1997) as data.

* :class:`PaperNet` and :data:`PAPER_NETS`: each experiment's LSTM as its
  Table 10 gives it (blocks, block size, which units have biases, the initial
  gate biases, the squashing functions, the connectivity, the weight
  initialisation interval and the learning rate of its on-line SGD);
* :class:`PaperRow` and :data:`PAPER_ROWS`: every LSTM row of Tables 1-9 with
  the paper's figures (mean training sequences to success, success rate where
  the paper gives one, test errors, weights), keyed by an id after Table 10's
  numbering (``"1-5"``, ``"2a"``, ``"2c-5"``, ``"3a-1"``, ``"4-3"``, ``"5-2"``, ``"6b"``);
* :func:`paper_row` finds the row of a run.

Example:

>>> paper_row("adding", {"length": 1000}).sequences
853000
>>> PAPER_NETS["very_long_lag"].use_bias, PAPER_NETS["very_long_lag"].learning_rate
(False, 0.01)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PaperNet", "PAPER_NETS", "PaperRow", "PAPER_ROWS", "paper_row", "paper_rows"]


@dataclass(frozen=True)
class PaperNet:
    """One experiment's LSTM as the paper built it (Table 10 and the text of section 5).

    Attributes:
        blocks: memory cell blocks.
        cells_per_block: cells per block.
        input_gate_bias: initial input-gate biases, one per block, or None
            (drawn like the other weights: Table 10's "r"; "none" without biases).
        output_gate_bias: as ``input_gate_bias`` for the output gates.
        output_gate: False for the nets without output gates (2a, 2b).
        use_bias: which hidden units have biases: True (all: "b1"/"all"),
            ``"gates"`` (gate units only: "ga") or False ("none").
        output_bias: whether the output units have biases ("all").
        recurrent_connections: ``"cells_and_gates"`` (Table 10's "F": the
            hidden layer fully connected) or ``"none"`` ("B": each layer fed by
            the layers below only; 2a, 2b).
        cell_activation, output_activation: g and h (the paper's ``"paper"``
            squashes; 2a/2b: logistic g, identity h).
        input_to_output: the output units also see the input units ("B").
        init: weights drawn uniformly from ``[-init, init]``.
        learning_rate: the learning rate of the paper's on-line SGD.
        sequential_construction: train the output units without the memory
            cells first and add the cells once the training error stops
            decreasing (the paper's remedy for the abuse problem, section 4;
            2a, 2b): see :class:`~lstm_apps.datasets.tasks.models.SequentialConstruction`.
        description: the paper's words for it.
    """

    blocks: int
    cells_per_block: int
    input_gate_bias: tuple[float, ...] | None
    output_gate_bias: tuple[float, ...] | None
    use_bias: bool | str = True
    output_bias: bool = True
    output_gate: bool = True
    recurrent_connections: str = "cells_and_gates"
    cell_activation: str = "paper"
    output_activation: str = "paper"
    input_to_output: bool = False
    init: float = 0.1
    learning_rate: float = 0.1
    sequential_construction: bool = False
    description: str = ""

    @property
    def units(self) -> int:
        """Memory cells in all."""
        return self.blocks * self.cells_per_block

    def resized(self, blocks: int | None = None, cells_per_block: int | None = None) -> PaperNet:
        """The same net with other block counts; staggered biases continue their step."""
        blocks = blocks or self.blocks
        cells = cells_per_block or self.cells_per_block

        def stagger(biases):
            if biases is None or len(biases) == blocks:
                return biases
            step = biases[1] - biases[0] if len(biases) > 1 else -1.0
            return tuple(biases[0] + k * step for k in range(blocks))

        return dataclasses.replace(
            self,
            blocks=blocks,
            cells_per_block=cells,
            input_gate_bias=stagger(self.input_gate_bias),
            output_gate_bias=stagger(self.output_gate_bias),
        )

    def layer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~lstm_apps.layers.LSTM1997` for this net (weights in ±``init``)."""
        import keras

        uniform = keras.initializers.RandomUniform(-self.init, self.init)
        return dict(
            cells_per_block=self.cells_per_block,
            input_gate_bias=None if self.input_gate_bias is None else list(self.input_gate_bias),
            output_gate_bias=None if self.output_gate_bias is None else list(self.output_gate_bias),
            cell_input_bias=None,
            output_gate=self.output_gate,
            cell_activation=self.cell_activation,
            output_activation=self.output_activation,
            use_bias=self.use_bias,
            recurrent_connections=self.recurrent_connections,
            kernel_initializer=uniform,
            recurrent_initializer=uniform,
            bias_initializer=uniform,
        )


_REBER = PaperNet(
    3, 2, None, (-1.0, -2.0, -3.0), use_bias="gates", output_bias=False, init=0.2, learning_rate=0.5,
    description="3 (4) blocks of 2 (1) cells, fully connected hidden layer, biased gates only; weights in "
    "[-0.2, 0.2], output-gate biases -1, -2, -3(, -4)",
)  # fmt: skip
_LONG_LAG = PaperNet(
    1, 1, None, None, use_bias=False, output_bias=False, output_gate=False, recurrent_connections="none",
    cell_activation="sigmoid", output_activation="linear", input_to_output=True, init=0.2, learning_rate=1.0,
    sequential_construction=True,
    description="one memory cell and its input gate, no output gate, g logistic, h the identity; each "
    "layer fed by all layers below, no biases; weights in [-0.2, 0.2]; the cell added once the error "
    "stops decreasing",
)  # fmt: skip

#: Each task's net, as the paper's Table 10 gives it (Reber: 3 blocks of 2; the 4 x 1 rows resize it).
PAPER_NETS: dict[str, PaperNet] = {
    "reber": _REBER,
    "long_lag": _LONG_LAG,
    "long_lag_random": _LONG_LAG,
    "very_long_lag": PaperNet(
        2, 1, None, None, use_bias=False, output_bias=False, init=0.2, learning_rate=0.01,
        description="2 blocks of 1 cell, fully connected hidden layer, no biases; weights in [-0.2, 0.2]",
    ),
    "two_sequence": PaperNet(
        3, 1, (-1.0, -3.0, -5.0), (-2.0, -4.0, -6.0), output_bias=False, learning_rate=1.0,
        description="3 blocks of 1 cell, all hidden units biased; input-gate biases -1, -3, -5, output-gate "
        "biases -2, -4, -6; weights in [-0.1, 0.1] (lr 0.1 for 3c)",
    ),
    "adding": PaperNet(
        2, 2, (-3.0, -6.0), None, learning_rate=0.5,
        description="2 blocks of 2 cells, every non-input unit biased; input-gate biases -3, -6, the others "
        "and all weights in [-0.1, 0.1]",
    ),
    "multiplication": PaperNet(
        2, 2, None, None, learning_rate=0.1,
        description="as the adding problem's, every bias drawn from [-0.1, 0.1]",
    ),
    "temporal_order_2": PaperNet(
        2, 2, (-2.0, -4.0), None, learning_rate=0.5,
        description="2 blocks of 2 cells, every non-input unit biased; input-gate biases -2, -4",
    ),
    "temporal_order_3": PaperNet(
        3, 2, (-2.0, -4.0, -6.0), None, learning_rate=0.1,
        description="3 blocks of 2 cells, every non-input unit biased; input-gate biases -2, -4, -6",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class PaperRow:
    """One LSTM row of the paper's Tables 1-9.

    Attributes:
        id: after Table 10's numbering (``"1-5"``, ``"2c-9"``, ``"3b-2"``...).
        table: the paper's table.
        task: the task's name (:data:`~lstm_apps.datasets.tasks.registry.TASKS`).
        params: the task's parameters (``length``, ``lag``, ``distractors``,
            ``variant``, ``relevant``, ``n_seq``).
        sequences: the mean training sequences to success (ST2 for 3a/3b).
        weights: the net's weights.
        trials: trials the figure is a mean of.
        success: the share of successful trials, where the paper gives one.
        blocks, cells_per_block: the net's size where the task's rows differ (Reber).
        learning_rate: the row's learning rate where it differs from the net's.
        paper: further figures (``st1``: sequences to ST1; ``test_errors`` of
            ``test_sequences``; ``test_mse``; ``misclassified``: the fraction;
            ``mean_difference``; ``range``).
        default: the row a run of ``task`` compares with when several match.
    """

    id: str
    table: int
    task: str
    params: Mapping[str, Any]
    sequences: int
    weights: int
    trials: int
    success: float | None = None
    blocks: int | None = None
    cells_per_block: int | None = None
    learning_rate: float | None = None
    paper: Mapping[str, Any] = field(default_factory=dict)
    default: bool = False

    @property
    def title(self) -> str:
        """A short label: the task and its parameters."""
        parts = [f"{k}={v}" for k, v in self.params.items()]
        if self.blocks:
            parts.append(f"{self.blocks}x{self.cells_per_block}")
        if self.learning_rate:
            parts.append(f"lr={self.learning_rate}")
        return f"{self.task} " + ", ".join(parts) if parts else self.task


def _reber(id, blocks, cells, lr, seqs, success, default=False, **paper):
    weights = 264 if blocks == 4 else 276
    return PaperRow(id, 1, "reber", {}, seqs, weights, 30, success, blocks, cells, lr, paper, default)


def _2c(k, q, p, weights, seqs):
    return PaperRow(f"2c-{k}", 3, "very_long_lag", {"lag": q, "distractors": p}, seqs, weights, 20)


def _2seq(id, table, T, N, variant, st2, misclassified, st1=None, **more):
    figures = {"misclassified": misclassified, "test_sequences": 2560, **more}
    if st1 is not None:
        figures["st1"] = st1
    lr = 0.1 if variant == "c" else None
    params = {"length": T, "variant": variant, "relevant": N}
    return PaperRow(id, table, "two_sequence", params, st2, 102, 10, learning_rate=lr, paper=figures)


#: Every LSTM row of the paper's Tables 1-9 (means over its trials).
PAPER_ROWS: tuple[PaperRow, ...] = (
    _reber("1-1", 4, 1, 0.1, 39_740, 1.0),
    _reber("1-2", 3, 2, 0.1, 21_730, 1.0),
    _reber("1-3", 3, 2, 0.2, 14_060, 0.97),
    _reber("1-4", 4, 1, 0.5, 9_500, 0.97, default=True),
    _reber("1-5", 3, 2, 0.5, 8_440, 1.0, default=True, range=(3_800, 24_100)),
    PaperRow("2a", 2, "long_lag", {"length": 100}, 5_040, 10_504, 18, 1.0),
    PaperRow("2b", 2, "long_lag_random", {"length": 100}, 5_680, 10_504, 18, 1.0),
    _2c(1, 50, 50, 364, 30_000),
    _2c(2, 100, 100, 664, 31_000),
    _2c(3, 200, 200, 1_264, 33_000),
    _2c(4, 500, 500, 3_064, 38_000),
    _2c(5, 1000, 1000, 6_064, 49_000),
    _2c(6, 1000, 500, 3_064, 49_000),
    _2c(7, 1000, 200, 1_264, 75_000),
    _2c(8, 1000, 100, 664, 135_000),
    _2c(9, 1000, 50, 364, 203_000),
    _2seq("3a-1", 4, 100, 3, "a", 39_850, 0.000195, st1=27_380),
    _2seq("3a-2", 4, 100, 1, "a", 64_330, 0.000117, st1=58_370),
    _2seq("3a-3", 4, 1000, 3, "a", 452_460, 0.000078, st1=446_850),
    _2seq("3b-1", 5, 100, 3, "b", 43_250, 0.00828, st1=41_740),
    _2seq("3b-2", 5, 100, 1, "b", 78_430, 0.01500, st1=74_950),
    _2seq("3b-3", 5, 1000, 1, "b", 485_080, 0.01207, st1=481_060),
    _2seq("3c-1", 6, 100, 3, "c", 269_650, 0.00558, mean_difference=0.014),
    _2seq("3c-2", 6, 100, 1, "c", 565_640, 0.00441, mean_difference=0.012),
    PaperRow("4-1", 7, "adding", {"length": 100}, 74_000, 93, 10, paper={"test_errors": 1}),
    PaperRow("4-2", 7, "adding", {"length": 500}, 209_000, 93, 10, paper={"test_errors": 0}),
    PaperRow(
        "4-3", 7, "adding", {"length": 1000}, 853_000, 93, 10,
        paper={"test_errors": 1, "range": (370_000, 2_020_000)},
    ),
    PaperRow(
        "5-1", 8, "multiplication", {"length": 100, "n_seq": 140}, 482_000, 93, 10,
        paper={"test_errors": 139, "test_mse": 0.0223},
    ),
    PaperRow(
        "5-2", 8, "multiplication", {"length": 100, "n_seq": 13}, 1_273_000, 93, 10,
        paper={"test_errors": 14, "test_mse": 0.0139},
    ),
    PaperRow("6a", 9, "temporal_order_2", {}, 31_390, 156, 20, paper={"test_errors": 1}),
    PaperRow("6b", 9, "temporal_order_3", {}, 571_100, 308, 10, paper={"test_errors": 2}),
)  # fmt: skip
for _row in PAPER_ROWS:  # every test figure is out of the paper's 2560 test sequences (Reber: 256 + 256)
    _row.paper.setdefault("test_sequences", 512 if _row.task == "reber" else 2560)
    if _row.task == "reber":
        _row.paper.setdefault("test_errors", 0)
del _row


def paper_rows(task: str | None = None) -> list[PaperRow]:
    """The rows of ``task`` (every row when None), in the paper's order."""
    return [row for row in PAPER_ROWS if task is None or row.task == task]


def paper_row(
    task: str,
    params: Mapping[str, Any] | None = None,
    blocks: int | None = None,
    cells_per_block: int | None = None,
    learning_rate: float | None = None,
) -> PaperRow | None:
    """The paper's row for a run of ``task`` with these parameters, or None if the paper ran none.

    Parameters the row does not name (e.g. ``n_seq`` of an adding run) are
    ignored. Among several rows (embedded Reber's architectures and learning
    rates) those of ``blocks`` x ``cells_per_block`` are kept, then the one
    of ``learning_rate`` if there is one, else the row marked ``default``.

    Example:

    >>> paper_row("reber", blocks=4, cells_per_block=1).id
    '1-4'
    >>> paper_row("adding", {"length": 250}) is None
    True
    """
    params = dict(params or {})
    rows = [
        r
        for r in paper_rows(task)
        if all(params.get(k) == v for k, v in r.params.items())
        and (blocks is None or r.blocks in (None, blocks))
        and (cells_per_block is None or r.cells_per_block in (None, cells_per_block))
    ]
    if len(rows) > 1 and learning_rate is not None:
        rows = [r for r in rows if np.isclose(r.learning_rate or 0.0, learning_rate)] or rows
    if len(rows) > 1:
        rows = [r for r in rows if r.default] or rows[-1:]
        rows = rows[-1:]
    return rows[0] if rows else None
