"""The cell of the Hochreiter & Schmidhuber (1997) LSTM: constant error carousel, memory cell blocks.

:class:`LSTM1997Cell` follows the Keras cell contract; the layer
:class:`~lstm_apps.layers.LSTM1997` (in :mod:`~lstm_apps.layers.lstm1997`)
runs it over a sequence, through its fast loop where it can.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from lstm_apps.layers._common import (
    add_option_weight,
    check_bool,
    check_positive_int,
    constructor_config,
    feature_dim,
    finite_array,
    store_weight_options,
)

__all__ = ["LSTM1997Cell"]

_SQUASHES = ("paper", "tanh")
_CELL_ACTIVATIONS = ("paper", "tanh", "sigmoid")
_OUTPUT_ACTIVATIONS = ("paper", "tanh", "linear")
_RECURRENT = ("cells", "cells_and_gates", "none")


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


def _per_block_or_none(name, value, n_blocks):
    """As :func:`_per_block`; ``None`` (drawn from the bias initializer) stays ``None``."""
    return None if value is None else _per_block(name, value, n_blocks)


def _choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, received {name}={value!r}.")
    return value


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

    The paper's other nets (its Table 10) need the options after
    ``bias_constraint``: no output gate (``output_gate=False``: ``h_t =
    h(s_t)``, tasks 2a/2b), other squashing functions (``cell_activation``
    for ``g``, ``output_activation`` for ``h``; 2a/2b use a logistic ``g`` and
    the identity ``h``), biases on the gates only or none (``use_bias``), the
    paper's fully connected hidden layer, whose gates see the previous gate
    activations as well as the cell outputs (``recurrent_connections=
    "cells_and_gates"``), or no recurrent connection but the carousel
    (``"none"``, the 2a/2b nets), and biases drawn at random (a gate bias of
    ``None`` is drawn from ``bias_initializer``, Table 10's "r").

    Weight layout: ``kernel`` has shape ``(input_dim, width)``,
    ``recurrent_kernel`` ``(units, width)`` and ``bias`` ``(width,)``, where
    the columns are the gate blocks in Keras's order with the forget gate
    left out when absent: ``[input gate, cell input, output gate]``, or
    ``[input gate, forget gate, cell input, output gate]``. Gates are shared
    within a block, so each gate occupies one column per *block*
    (``n_blocks = units // cells_per_block``) and the cell input one column
    per cell: ``width = 2 * n_blocks + units`` (``3 * n_blocks + units`` with
    the forget gate); with one cell per block that is ``3 * units`` (``4 * units``).
    Cell ``j`` belongs to block ``j // cells_per_block``. Without an output
    gate its columns are absent; with ``use_bias="gates"`` the bias holds the
    gate columns only (in the same order), with ``use_bias=False`` there is
    none; with ``recurrent_connections="cells_and_gates"`` the recurrent
    kernel has ``units + gate_units`` rows (the cells' outputs, then each
    gate's activations, gates in column order) and the previous gate
    activations are a third state; with ``"none"`` there is no recurrent
    kernel.

    Args:
        units: number of memory cells (the output size).
        cells_per_block: memory cells sharing one input and one output gate
            (the paper's "S cells per block"); must divide ``units``.
        input_gate_bias: initial input-gate bias, a number or one value per
            block (the paper staggers them, e.g. ``[-1, -2, -3, -4]``).
            Negative by default so the carousel must earn its use. ``None``:
            drawn from ``bias_initializer``.
        output_gate_bias: initial output-gate bias, a number or one per block
            (``None``: drawn from ``bias_initializer``).
        forget_gate: add the Gers et al. (1999) forget gate.
        forget_bias: initial forget-gate bias (only with ``forget_gate``);
            ``memory_half_life(forget_bias)`` steps is the memory it implies.
        squash: ``"paper"`` (g in [-2, 2], h in [-1, 1] by scaled sigmoids)
            or ``"tanh"``: both squashing functions at once.
        truncate_gradients: the paper's truncated backpropagation
            ("scissors"): error arriving at the net inputs of the gates and
            cells is not propagated back in time through ``h_{t-1}`` (nor
            through the previous gate activations); it still changes the
            incoming weights, and gradients cross time only through the cell
            state ``s``. ``False`` gives full BPTT.
        kernel_initializer, recurrent_initializer: initializers of the input
            and recurrent weights (the paper draws them from [-0.1, 0.1] or
            [-0.2, 0.2]; pass ``keras.initializers.RandomUniform`` for that).
        cell_input_bias: initial bias of the cell input ``net_c`` (``None``:
            drawn from ``bias_initializer``).
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: as in
            ``keras.layers.LSTMCell``.
        output_gate: ``False`` drops the output gates (``h_t = h(s_t)``).
        cell_activation: ``g``: ``"paper"`` (``4 sigmoid - 2``), ``"tanh"`` or
            ``"sigmoid"`` (``[0, 1]``); ``None`` takes it from ``squash``.
        output_activation: ``h``: ``"paper"`` (``2 sigmoid - 1``), ``"tanh"``
            or ``"linear"`` (the identity); ``None`` takes it from ``squash``.
        use_bias: ``True`` (every gate and cell input), ``"gates"`` (the gates
            only, the paper's Reber nets) or ``False`` (none, task 2c).
        recurrent_connections: what the gates and cell inputs see of the
            previous step: ``"cells"`` (the cells' outputs ``h_{t-1}``),
            ``"cells_and_gates"`` (and the gate activations: the paper's fully
            connected hidden layer) or ``"none"``.
        bias_initializer: draws the biases given as ``None``.

    Call arguments:
        inputs: a 2-D tensor ``(batch, input_dim)``, one time step.
        states: ``[h, s]``, each ``(batch, units)`` (``[h, s, gates]`` with
            ``recurrent_connections="cells_and_gates"``).
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
        input_gate_bias: float | Sequence[float] | None = -1.0,
        output_gate_bias: float | Sequence[float] | None = -2.0,
        forget_gate: bool = False,
        forget_bias: float | Sequence[float] = 1.0,
        squash: str = "paper",
        truncate_gradients: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        cell_input_bias: float | None = 0.0,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        output_gate: bool = True,
        cell_activation: str | None = None,
        output_activation: str | None = None,
        use_bias: bool | str = True,
        recurrent_connections: str = "cells",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.cells_per_block = check_positive_int("cells_per_block", cells_per_block)
        if self.units % self.cells_per_block:
            raise ValueError(
                f"units must be divisible by cells_per_block, received units={units} and "
                f"cells_per_block={cells_per_block}."
            )
        self.n_blocks = self.units // self.cells_per_block
        self.input_gate_bias = _per_block_or_none("input_gate_bias", input_gate_bias, self.n_blocks)
        self.output_gate_bias = _per_block_or_none("output_gate_bias", output_gate_bias, self.n_blocks)
        self.forget_gate = bool(forget_gate)
        self.forget_bias = _per_block("forget_bias", forget_bias, self.n_blocks)
        if squash not in _SQUASHES:
            raise ValueError(f"squash must be one of {_SQUASHES}, received squash={squash!r}.")
        self.squash = squash
        self.truncate_gradients = bool(truncate_gradients)
        self.cell_input_bias = (
            None if cell_input_bias is None else float(finite_array("cell_input_bias", cell_input_bias))
        )
        store_weight_options(self, locals())
        self.output_gate = check_bool("output_gate", output_gate)
        self.cell_activation = _choice("cell_activation", cell_activation or squash, _CELL_ACTIVATIONS)
        self.output_activation = _choice(
            "output_activation", output_activation or squash, _OUTPUT_ACTIVATIONS
        )
        if not (isinstance(use_bias, (bool, np.bool_)) or use_bias == "gates"):
            raise ValueError(f"use_bias must be True, False or 'gates', received use_bias={use_bias!r}.")
        self.use_bias = use_bias if use_bias == "gates" else bool(use_bias)
        self.recurrent_connections = _choice("recurrent_connections", recurrent_connections, _RECURRENT)
        self.state_size = [self.units, self.units] + ([self.gate_units] if self.gate_feedback else [])
        self.output_size = self.units

    # -- layout --------------------------------------------------------------
    @property
    def gate_names(self) -> tuple[str, ...]:
        """Column blocks of the weights, in order."""
        names = ("input", "forget", "cell", "output")
        return tuple(
            n for n in names if (n != "forget" or self.forget_gate) and (n != "output" or self.output_gate)
        )

    @property
    def block_widths(self) -> tuple[int, ...]:
        return tuple(self.units if g == "cell" else self.n_blocks for g in self.gate_names)

    @property
    def width(self) -> int:
        """Number of columns of ``kernel``/``recurrent_kernel`` (and of ``bias`` with ``use_bias=True``)."""
        return sum(self.block_widths)

    @property
    def gate_units(self) -> int:
        """Gate units in all (``n_blocks`` per gate)."""
        return self.n_blocks * (len(self.gate_names) - 1)

    @property
    def gate_feedback(self) -> bool:
        """Whether the previous gate activations are recurrent inputs (a third state)."""
        return self.recurrent_connections == "cells_and_gates"

    @property
    def standard_options(self) -> bool:
        """True when only the options the fast loop and ``to_keras_lstm`` know are in use.

        The paper's special nets (no output gate, ``g``/``h`` other than
        ``squash``'s, biases other than everywhere, recurrent connections
        other than from the cells) run in the generic loop.
        """
        return (
            self.output_gate
            and self.cell_activation == self.output_activation == self.squash
            and self.use_bias is True
            and self.recurrent_connections == "cells"
        )

    def _bias_parts(self) -> list[tuple[str, int]]:
        """``(name, width)`` of each column block that has a bias."""
        return [
            (n, w)
            for n, w in zip(self.gate_names, self.block_widths)
            if self.use_bias is True or (self.use_bias == "gates" and n != "cell")
        ]

    def initial_bias(self) -> np.ndarray:
        """The constant initial bias vector (the ``bias`` weight's layout); NaN where drawn at random."""
        parts = {
            "input": self.input_gate_bias,
            "forget": self.forget_bias,
            "cell": [self.cell_input_bias] * self.units,
            "output": self.output_gate_bias,
        }
        out = []
        for name, w in self._bias_parts():
            value = parts[name]
            out.append(np.full(w, np.nan, "float32") if value is None or value[0] is None else value)
        return (
            np.concatenate([np.asarray(v, dtype="float32") for v in out]) if out else np.zeros(0, "float32")
        )

    def _init_bias(self, shape, dtype=None):
        constant = self.initial_bias()
        drawn = np.isnan(constant)
        if not drawn.any():
            return ops.convert_to_tensor(constant, dtype=dtype)
        random = self.bias_initializer(shape=shape, dtype=dtype)
        return ops.where(
            ops.convert_to_tensor(drawn), random, ops.convert_to_tensor(np.nan_to_num(constant), dtype)
        )

    # -- weights -------------------------------------------------------------
    def build(self, input_shape):
        self.kernel = add_option_weight(self, "kernel", (feature_dim(self, input_shape), self.width))
        self.recurrent_kernel = None
        if self.recurrent_connections != "none":
            rows = self.units + (self.gate_units if self.gate_feedback else 0)
            self.recurrent_kernel = add_option_weight(
                self, "recurrent_kernel", (rows, self.width), options="recurrent"
            )
        self.bias = None
        if self.use_bias:
            width = sum(w for _, w in self._bias_parts())
            self.bias = add_option_weight(self, "bias", (width,), initializer=self._init_bias)
        self.built = True

    def full_bias(self):
        """The bias of every column (zeros where a column has none), or None without biases."""
        if self.use_bias != "gates":  # True or False: the weight itself, or None
            return self.bias
        parts, start = [], 0
        for name, w in zip(self.gate_names, self.block_widths):
            if name == "cell":
                parts.append(ops.zeros((w,), dtype=self.bias.dtype))
            else:
                parts.append(self.bias[start : start + w])
                start += w
        return ops.concatenate(parts, axis=0)

    # -- computation ---------------------------------------------------------
    def project_inputs(self, inputs):
        """``x W + b`` for inputs of shape ``(..., input_dim)``.

        Recurrence-free, so a whole sequence can be projected in one matrix
        product before the time loop.
        """
        z = ops.matmul(inputs, self.kernel)
        bias = self.full_bias()
        return z if bias is None else ops.add(z, bias)

    def _expand(self, gate):
        """Broadcast a per-block gate ``(batch, n_blocks)`` to its cells."""
        if self.cells_per_block == 1:
            return gate
        # a broadcast product, not ops.repeat: its gradient has static shapes, so a whole train step
        # with the generic loop compiles with XLA (jit_compile=True)
        cells = ops.ones((1, 1, self.cells_per_block), dtype=gate.dtype)
        return ops.reshape(ops.expand_dims(gate, -1) * cells, (-1, self.units))

    def _g(self, net):
        if self.cell_activation == "paper":
            return 4.0 * ops.sigmoid(net) - 2.0
        return ops.tanh(net) if self.cell_activation == "tanh" else ops.sigmoid(net)

    def _h(self, s):
        if self.output_activation == "paper":
            return 2.0 * ops.sigmoid(s) - 1.0
        return ops.tanh(s) if self.output_activation == "tanh" else s

    def step_projected(self, projected, states):
        """One step from projected inputs; returns ``(h, s, gates)``.

        ``gates`` maps ``"input"`` (and ``"forget"``, ``"output"``) to the
        per-block gate activations.
        """
        h_prev, s_prev = states[0], states[1]
        z = projected
        if self.recurrent_kernel is not None:
            r = ops.concatenate([h_prev, states[2]], axis=-1) if self.gate_feedback else h_prev
            r = ops.stop_gradient(r) if self.truncate_gradients else r
            z = ops.add(z, ops.matmul(r, self.recurrent_kernel))
        parts = {}
        start = 0
        for name, w in zip(self.gate_names, self.block_widths):
            parts[name] = z[:, start : start + w]
            start += w
        gates = {name: ops.sigmoid(parts[name]) for name in self.gate_names if name != "cell"}
        s = ops.multiply(self._expand(gates["input"]), self._g(parts["cell"]))
        if self.forget_gate:
            s = ops.add(s, ops.multiply(self._expand(gates["forget"]), s_prev))
        else:
            s = ops.add(s, s_prev)
        h = self._h(s)
        if self.output_gate:
            h = ops.multiply(self._expand(gates["output"]), h)
        return h, s, gates

    def _states(self, h, s, gates):
        if not self.gate_feedback:
            return [h, s]
        return [h, s, ops.concatenate([gates[n] for n in self.gate_names if n != "cell"], axis=-1)]

    def call(self, inputs, states, training=False):
        h, s, gates = self.step_projected(self.project_inputs(inputs), states)
        return h, self._states(h, s, gates)

    def gate_step(self, inputs, states, training=False):
        """One step with its gates, for :func:`lstm_apps.telemetry.trace_gates`.

        Returns:
            ``(h, states, gates)``, ``h`` and the states as :meth:`call`
            computes them; ``gates`` maps ``"input_gate"`` (and
            ``"forget_gate"``, ``"output_gate"``) to ``(batch, units)``
            activations, one column per memory cell (a block's cells repeat
            its gate), and ``"cell_state"`` to ``s``.
        """
        h, s, gates = self.step_projected(self.project_inputs(inputs), states)
        named = {f"{n}_gate": self._expand(gates[n]) for n in ("input", "output", "forget") if n in gates}
        named["cell_state"] = s
        return h, self._states(h, s, gates), named

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in self.state_size]

    def get_config(self):
        return {**super().get_config(), **constructor_config(self)}
