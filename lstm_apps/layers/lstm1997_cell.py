"""The cell of the Hochreiter & Schmidhuber (1997) LSTM: constant error carousel, memory cell blocks.

:class:`LSTM1997Cell` follows the Keras cell contract; the layer
:class:`~lstm_apps.layers.LSTM1997` (in :mod:`~lstm_apps.layers.lstm1997`)
runs it over a sequence, through its fast loop where it can.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import constraints, initializers, ops, regularizers

from lstm_apps.layers._common import finite_array

__all__ = ["LSTM1997Cell"]

_SQUASHES = ("paper", "tanh")


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, received {name}={value!r}.")
    return int(value)


def _per_block(name, value, n_blocks):
    """A finite number or one finite number per block -> a list of n_blocks floats."""
    expected = f"a finite number or a list of {n_blocks} finite numbers (one per block)"
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        values = [float(value)] * n_blocks
    elif isinstance(value, (str, bytes, bool, np.bool_)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be {expected}, received {value!r}.")
    else:
        values = list(value)
        if any(isinstance(v, (str, bytes, bool, np.bool_)) for v in values):
            raise ValueError(f"{name} must be {expected}, received {value!r}.")
        try:
            values = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be {expected}, received {value!r}.") from None
        if len(values) != n_blocks:
            raise ValueError(
                f"{name} must be a number or a list of one value per memory cell block ({n_blocks} blocks), "
                f"received a list of length {len(values)}: {value!r}."
            )
    if not all(np.isfinite(values)):
        raise ValueError(f"{name} must be {expected}, received {value!r}.")
    return values


@keras.saving.register_keras_serializable(package="lstm_apps")
class LSTM1997Cell(keras.layers.Layer):
    """Cell of the Hochreiter & Schmidhuber (1997) "Long Short-Term Memory".

    Memory cells are grouped in blocks of ``cells_per_block`` cells that share
    one input gate and one output gate. With net inputs computed from the
    input ``x_t`` and the previous output ``h_{t-1}``
    (``net = x_t W + h_{t-1} U + b``), per cell:

    ```
    y_in  = sigmoid(net_in)                 input gate (one per block)
    y_out = sigmoid(net_out)                output gate (one per block)
    g     = 4 sigmoid(net_c) - 2            cell input, in [-2, 2]
    s_t   = s_{t-1} + y_in * g              constant error carousel
    h_t   = y_out * (2 sigmoid(s_t) - 1)    output, in [-1, 1]
    ```

    With ``forget_gate=True`` (Gers, Schmidhuber & Cummins 1999) the carousel
    becomes ``s_t = y_f * s_{t-1} + y_in * g`` with ``y_f = sigmoid(net_f)``.
    With ``squash="tanh"``, ``g = tanh(net_c)`` and ``h_t = y_out * tanh(s_t)``.

    Weight layout: ``kernel`` has shape ``(input_dim, width)``,
    ``recurrent_kernel`` ``(units, width)`` and ``bias`` ``(width,)``, where
    the columns are the gate blocks in Keras's order with the forget gate
    left out when absent: ``[input gate, cell input, output gate]``, or
    ``[input gate, forget gate, cell input, output gate]``. Gates are shared
    within a block, so each gate occupies one column per *block*
    (``n_blocks = units // cells_per_block``) and the cell input one column
    per cell: ``width = 2 * n_blocks + units`` (``3 * n_blocks + units`` with
    the forget gate); with one cell per block that is ``3 * units`` (``4 * units``).
    Cell ``j`` belongs to block ``j // cells_per_block``.

    Args:
        units: number of memory cells (the output size).
        cells_per_block: memory cells sharing one input and one output gate
            (the paper's "S cells per block"); must divide ``units``.
        input_gate_bias: initial input-gate bias, a number or one value per
            block (the paper staggers them, e.g. ``[-1, -2, -3, -4]``).
            Negative by default so the carousel must earn its use.
        output_gate_bias: initial output-gate bias, a number or one per block.
        forget_gate: add the Gers et al. (1999) forget gate.
        forget_bias: initial forget-gate bias (only with ``forget_gate``);
            ``memory_half_life(forget_bias)`` steps is the memory it implies.
        squash: ``"paper"`` (g in [-2, 2], h in [-1, 1] by scaled sigmoids)
            or ``"tanh"``.
        truncate_gradients: the paper's truncated backpropagation
            ("scissors"): error arriving at the net inputs of the gates and
            cells is not propagated back in time through ``h_{t-1}``; it
            still changes the incoming weights, and gradients cross time only
            through the cell state ``s``. ``False`` gives full BPTT.
        kernel_initializer, recurrent_initializer: initializers of the input
            and recurrent weights (the paper draws them from [-0.1, 0.1] or
            [-0.2, 0.2]; pass ``keras.initializers.RandomUniform`` for that).
        cell_input_bias: initial bias of the cell input ``net_c``.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: as in
            ``keras.layers.LSTMCell``.

    Call arguments:
        inputs: a 2-D tensor ``(batch, input_dim)``, one time step.
        states: ``[h, s]``, each ``(batch, units)``.
        training: unused (no dropout); accepted for the cell contract.

    Example:

    ```python
    cell = LSTM1997Cell(8, cells_per_block=2, input_gate_bias=[-1, -2, -3, -4])
    layer = keras.layers.RNN(cell, return_sequences=True)
    y = layer(np.zeros((2, 10, 3), "float32"))   # (2, 10, 8)
    ```
    """

    def __init__(
        self,
        units: int,
        cells_per_block: int = 1,
        input_gate_bias: float | Sequence[float] = -1.0,
        output_gate_bias: float | Sequence[float] = -2.0,
        forget_gate: bool = False,
        forget_bias: float | Sequence[float] = 1.0,
        squash: str = "paper",
        truncate_gradients: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        cell_input_bias: float = 0.0,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _check_positive_int("units", units)
        self.cells_per_block = _check_positive_int("cells_per_block", cells_per_block)
        if self.units % self.cells_per_block:
            raise ValueError(
                f"units must be divisible by cells_per_block, received units={units} and "
                f"cells_per_block={cells_per_block}."
            )
        self.n_blocks = self.units // self.cells_per_block
        self.input_gate_bias = _per_block("input_gate_bias", input_gate_bias, self.n_blocks)
        self.output_gate_bias = _per_block("output_gate_bias", output_gate_bias, self.n_blocks)
        self.forget_gate = bool(forget_gate)
        self.forget_bias = _per_block("forget_bias", forget_bias, self.n_blocks)
        if squash not in _SQUASHES:
            raise ValueError(f"squash must be one of {_SQUASHES}, received squash={squash!r}.")
        self.squash = squash
        self.truncate_gradients = bool(truncate_gradients)
        self.cell_input_bias = float(finite_array("cell_input_bias", cell_input_bias))
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    # -- layout --------------------------------------------------------------
    @property
    def gate_names(self) -> tuple[str, ...]:
        """Column blocks of the weights, in order."""
        return ("input", "forget", "cell", "output") if self.forget_gate else ("input", "cell", "output")

    @property
    def block_widths(self) -> tuple[int, ...]:
        return tuple(self.units if g == "cell" else self.n_blocks for g in self.gate_names)

    @property
    def width(self) -> int:
        """Number of columns of ``kernel``/``recurrent_kernel``/``bias``."""
        return sum(self.block_widths)

    def initial_bias(self) -> np.ndarray:
        """The bias vector this cell is initialised with."""
        parts = {
            "input": self.input_gate_bias,
            "forget": self.forget_bias,
            "cell": [self.cell_input_bias] * self.units,
            "output": self.output_gate_bias,
        }
        return np.concatenate([np.asarray(parts[g], dtype="float32") for g in self.gate_names])

    # -- weights -------------------------------------------------------------
    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"LSTM1997Cell needs a known feature dimension, received input_shape={input_shape}."
            )
        self.kernel = self.add_weight(
            shape=(input_dim, self.width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = self.add_weight(
            shape=(self.width,),
            name="bias",
            initializer=initializers.Constant(self.initial_bias()),
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )
        self.built = True

    # -- computation ---------------------------------------------------------
    def project_inputs(self, inputs):
        """``x W + b`` for inputs of shape ``(..., input_dim)``.

        Recurrence-free, so a whole sequence can be projected in one matrix
        product before the time loop.
        """
        return ops.add(ops.matmul(inputs, self.kernel), self.bias)

    def _expand(self, gate):
        """Broadcast a per-block gate ``(batch, n_blocks)`` to its cells."""
        if self.cells_per_block == 1:
            return gate
        return ops.repeat(gate, self.cells_per_block, axis=-1)

    def step_projected(self, projected, states):
        """One step from projected inputs; returns ``(h, s, gates)``.

        ``gates`` maps ``"input"``, ``"output"`` (and ``"forget"``) to the
        per-block gate activations.
        """
        h_prev, s_prev = states[0], states[1]
        h_rec = ops.stop_gradient(h_prev) if self.truncate_gradients else h_prev
        z = ops.add(projected, ops.matmul(h_rec, self.recurrent_kernel))
        parts = {}
        start = 0
        for name, w in zip(self.gate_names, self.block_widths):
            parts[name] = z[:, start : start + w]
            start += w
        gates = {"input": ops.sigmoid(parts["input"]), "output": ops.sigmoid(parts["output"])}
        if self.squash == "paper":
            g = 4.0 * ops.sigmoid(parts["cell"]) - 2.0
        else:
            g = ops.tanh(parts["cell"])
        s = ops.multiply(self._expand(gates["input"]), g)
        if self.forget_gate:
            gates["forget"] = ops.sigmoid(parts["forget"])
            s = ops.add(s, ops.multiply(self._expand(gates["forget"]), s_prev))
        else:
            s = ops.add(s, s_prev)
        squashed = 2.0 * ops.sigmoid(s) - 1.0 if self.squash == "paper" else ops.tanh(s)
        h = ops.multiply(self._expand(gates["output"]), squashed)
        return h, s, gates

    def call(self, inputs, states, training=False):
        h, s, _ = self.step_projected(self.project_inputs(inputs), states)
        return h, [h, s]

    def gate_step(self, inputs, states, training=False):
        """One step with its gates, for :func:`lstm_apps.telemetry.trace_gates`.

        Returns:
            ``(h, [h, s], gates)``, ``h`` and ``s`` as :meth:`call` computes
            them; ``gates`` maps ``"input_gate"``, ``"output_gate"`` (and
            ``"forget_gate"``) to ``(batch, units)`` activations, one column
            per memory cell (a block's cells repeat its gate), and
            ``"cell_state"`` to ``s``.
        """
        h, s, gates = self.step_projected(self.project_inputs(inputs), states)
        named = {"input_gate": self._expand(gates["input"]), "output_gate": self._expand(gates["output"])}
        if self.forget_gate:
            named["forget_gate"] = self._expand(gates["forget"])
        named["cell_state"] = s
        return h, [h, s], named

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype) for _ in range(2)]

    def get_config(self):
        config = {
            "units": self.units,
            "cells_per_block": self.cells_per_block,
            "input_gate_bias": self.input_gate_bias,
            "output_gate_bias": self.output_gate_bias,
            "forget_gate": self.forget_gate,
            "forget_bias": self.forget_bias,
            "squash": self.squash,
            "truncate_gradients": self.truncate_gradients,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "cell_input_bias": self.cell_input_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
        return {**super().get_config(), **config}
