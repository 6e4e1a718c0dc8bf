"""The Hochreiter & Schmidhuber (1997) LSTM: constant error carousel, no forget gate."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import constraints, initializers, ops, regularizers

from lstm_apps import telemetry
from lstm_apps.layers import kernels
from lstm_apps.layers._common import finite_array
from lstm_apps.layers.keras_lstm import PINNED_FORGET_BIAS, keras_lstm_weights

__all__ = [
    "LSTM1997Cell",
    "LSTM1997",
    "gate_activations",
    "keras_lstm_weights",
    "memory_half_life",
    "to_keras_lstm",
    "PINNED_FORGET_BIAS",
]

_SQUASHES = ("paper", "tanh")


def memory_half_life(forget_bias):
    """Steps until a memory decays to half under a constant forget gate.

    With the forget gate held at ``sigmoid(b)``, the cell state after ``n``
    steps is ``sigmoid(b)**n`` of its start, so the half-life is
    ``ln 0.5 / ln sigmoid(b)``.

    Args:
        forget_bias: the forget gate's pre-activation ``b`` (number or array).

    Returns:
        A float (or NumPy array) of steps; large ``b`` gives long memories.

    Example:

    >>> round(memory_half_life(0.0), 3)   # gate 0.5: half gone after one step
    1.0
    """
    b = np.asarray(forget_bias, dtype="float64")
    log_f = -np.logaddexp(0.0, -b)  # ln sigmoid(b), stable
    out = math.log(0.5) / log_f
    return float(out) if out.ndim == 0 else out


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


@keras.saving.register_keras_serializable(package="lstm_apps")
class LSTM1997(keras.layers.RNN):
    """Long Short-Term Memory layer of Hochreiter & Schmidhuber (1997).

    The faithful 1997 LSTM: constant error carousel without a forget gate,
    cell input ``g`` in [-2, 2], output squash ``h`` in [-1, 1], negative
    initial input-gate biases, memory cell blocks sharing their gates, and the
    paper's truncated gradients. See :class:`LSTM1997Cell` for the equations,
    the options and the weight layout.

    Args:
        units: number of memory cells.
        cells_per_block, input_gate_bias, output_gate_bias, forget_gate,
        forget_bias, squash, truncate_gradients, kernel_initializer,
        recurrent_initializer, cell_input_bias, *_regularizer, *_constraint:
            as in :class:`LSTM1997Cell`.
        return_sequences: return the whole output sequence, not only the last output.
        return_state: also return the final states ``h`` and ``s``.
        go_backwards: process the input sequence backwards.
        stateful: keep the last states of each batch for the next batch.
        unroll: unroll the time loop (faster for short sequences, more memory).
            An unrolled layer always takes the generic path (plain ops, no
            XLA), e.g. for TFLite conversion.
        zero_output_for_mask: output zeros at masked steps (with ``return_sequences``).
        fast_path: with the TensorFlow backend (and ``unroll=False``), run the
            fast time loop of :mod:`lstm_apps.layers.kernels.lstm1997_tf`: inputs of all
            steps projected by one matrix product, an XLA-compiled loop with
            one recurrent product per step, and a hand-written backward pass
            (same outputs and gradients as the generic
            ``keras.layers.RNN(LSTM1997Cell)`` path, which ``False`` selects).
            With the JAX backend, the same loop in ``jax.lax.scan``
            (:mod:`lstm_apps.layers.kernels.lstm1997_jax`); PyTorch runs the generic path.
        **kwargs: standard layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: a 3-D tensor ``(batch, timesteps, features)``.
        mask: optional boolean ``(batch, timesteps)``; masked steps keep the
            previous state (set automatically after ``Embedding(mask_zero=True)``
            or ``Masking``).
        training: Python boolean (no dropout in this layer).
        initial_state: optional list ``[h0, s0]``.

    Example:

    ```python
    import keras, numpy as np
    from lstm_apps.layers import LSTM1997

    model = keras.Sequential([keras.Input((20, 3)), LSTM1997(16), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(np.random.rand(8, 20, 3), np.random.rand(8, 1), epochs=1, verbose=0)
    gates = model.layers[0].gate_activations(np.random.rand(2, 20, 3))
    gates["input_gate"].shape   # (2, 20, 16)
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
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        fast_path: bool = True,
        **kwargs,
    ):
        self.fast_path = bool(fast_path)
        cell = LSTM1997Cell(
            units,
            cells_per_block=cells_per_block,
            input_gate_bias=input_gate_bias,
            output_gate_bias=output_gate_bias,
            forget_gate=forget_gate,
            forget_bias=forget_bias,
            squash=squash,
            truncate_gradients=truncate_gradients,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            cell_input_bias=cell_input_bias,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dtype=kwargs.get("dtype", None),
            trainable=kwargs.get("trainable", True),
            name="lstm1997_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )

    def _check_rank(self, shape):
        if shape is None or len(shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects 3-D inputs (batch, timesteps, features), "
                f"received a tensor of shape {tuple(shape) if shape is not None else None}."
            )

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_rank(sequences_shape)
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        self._check_rank(sequences.shape)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def uses_fast_path(self) -> bool:
        """Whether calls run the fast loop (``fast_path``, TensorFlow or JAX backend, no ``unroll``)."""
        return self.fast_path and not self.unroll and kernels.fast_path_supported()

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.uses_fast_path():
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        last_output, outputs, states = kernels.lstm1997(
            sequences,
            list(initial_state),
            cell.kernel,
            cell.recurrent_kernel,
            cell.bias,
            cells_per_block=cell.cells_per_block,
            forget_gate=cell.forget_gate,
            squash=cell.squash,
            truncate_gradients=cell.truncate_gradients,
            mask=mask,
            go_backwards=self.go_backwards,
            return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask,
            training=bool(training),
        )
        if outputs is None:
            outputs = ops.expand_dims(last_output, 1)
        return last_output, outputs, states

    def to_keras_lstm(self, **kwargs) -> keras.layers.LSTM:
        """A built-in ``keras.layers.LSTM`` computing the same outputs (inference).

        The 1997 cell is a standard LSTM with its forget gate pinned at 1 once
        the cell input and the state are halved: ``4 sigmoid(x) - 2 =
        2 tanh(x / 2)`` and ``2 sigmoid(s) - 1 = tanh(s / 2)``. See
        :func:`to_keras_lstm` for the exact map and
        its limits (a ``ValueError`` names the unsupported option).

        Args:
            **kwargs: extra ``keras.layers.LSTM`` arguments (``name``, ``use_cudnn`` ...).

        Returns:
            A built ``keras.layers.LSTM`` with the mapped weights; its states
            are ``[h, s / 2]`` (paper squash) or ``[h, s]`` (``"tanh"``).
        """
        return to_keras_lstm(self, **kwargs)

    def gate_activations(self, inputs, initial_state=None, mask=None) -> dict[str, np.ndarray]:
        """Per-step gate activations and cell states for an input batch.

        Args:
            inputs: ``(batch, timesteps, features)`` array, this layer's input.
            initial_state: optional ``[h0, s0]``.
            mask: optional boolean ``(batch, timesteps)``.

        Returns:
            A dict of NumPy arrays, each ``(batch, timesteps, ...)`` in the
            order the layer processed the steps: ``"input_gate"``,
            ``"output_gate"`` (and ``"forget_gate"``), one column per memory
            cell (a block's cells repeat its gate); ``"cell_state"`` (``s``);
            ``"output"`` (``h``). For ``go_backwards`` layers, index 0 is the
            last time step.
        """
        inputs = ops.convert_to_tensor(
            np.asarray(inputs, dtype=self.compute_dtype) if not hasattr(inputs, "shape") else inputs
        )
        self._check_rank(inputs.shape)
        if not self.built:
            self(inputs)
        return telemetry.trace_gates(
            self.cell,
            inputs,
            initial_state=initial_state,
            mask=mask,
            go_backwards=self.go_backwards,
            dtype=self.dtype_policy,
        )

    def get_config(self):
        config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            config.pop(key, None)
        base = super().get_config()
        base.pop("cell", None)
        return {**base, **config, "fast_path": self.fast_path}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_CELL_ATTRS = frozenset(
    {
        "units", "cells_per_block", "n_blocks", "input_gate_bias", "output_gate_bias", "forget_gate",
        "forget_bias", "squash", "truncate_gradients", "kernel_initializer", "recurrent_initializer",
        "cell_input_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
        "kernel_constraint", "recurrent_constraint", "bias_constraint",
    }
)  # fmt: skip


# Read-only properties mirroring keras.layers.LSTM (``layer.units`` ...).
for _name in _CELL_ATTRS:
    setattr(LSTM1997, _name, property(lambda self, _n=_name: getattr(self.cell, _n)))
del _name


def gate_activations(model, inputs, layer=None) -> dict[str, np.ndarray]:
    """Gate telemetry of an :class:`LSTM1997` layer inside a built model.

    Args:
        model: a built Keras model (Sequential or functional).
        inputs: a batch for the *model*; the layer's own inputs are computed.
        layer: the layer or its name; by default the first ``LSTM1997``.

    Returns:
        The dict of :meth:`LSTM1997.gate_activations`.
    """
    if layer is None:
        found = [candidate for candidate in telemetry.walk_layers(model) if isinstance(candidate, LSTM1997)]
        if not found:
            raise ValueError(
                f"model {model.name!r} has no LSTM1997 layer; its layers are "
                f"{[candidate.name for candidate in model.layers]}."
            )
        layer = found[0]
    elif isinstance(layer, str):
        layer = model.get_layer(layer)
    if not isinstance(layer, LSTM1997):
        raise ValueError(
            f"layer must be an LSTM1997 layer, received {type(layer).__name__} "
            f"{getattr(layer, 'name', layer)!r}."
        )
    fed, mask = telemetry.layer_inputs(model, layer, inputs)
    return layer.gate_activations(fed, mask=mask)


# ---------------------------------------------------------------------------
# mapping onto keras.layers.LSTM
# ---------------------------------------------------------------------------
def to_keras_lstm(layer: LSTM1997, **kwargs) -> keras.layers.LSTM:
    """A built-in ``keras.layers.LSTM`` with the same outputs as an ``LSTM1997`` layer.

    Every configuration maps exactly for inference: both squashes, with and
    without the forget gate, any ``cells_per_block``, and the layer's
    ``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``,
    ``unroll`` and ``zero_output_for_mask``. The map is for inference: the
    returned layer trains with full backpropagation and a free forget gate,
    not with the paper's truncation. Its state is ``[h, s / 2]`` with the
    paper's squash (``[h, s]`` with ``"tanh"``): halve ``s`` in an
    ``initial_state`` given to it. The weights are :func:`keras_lstm_weights`.

    Args:
        layer: a built :class:`LSTM1997`.
        **kwargs: extra ``keras.layers.LSTM`` arguments (``name``,
            ``use_cudnn`` ...); they override the copied ones.

    Returns:
        A built ``keras.layers.LSTM``; on a GPU it can run on cuDNN.

    Example:

    ```python
    layer = LSTM1997(16, return_sequences=True)
    y = layer(x)
    lstm = layer.to_keras_lstm()
    np.testing.assert_allclose(lstm(x), y, atol=1e-5)
    ```
    """
    if not isinstance(layer, LSTM1997):
        raise ValueError(
            f"to_keras_lstm expects an LSTM1997 layer, received {type(layer).__name__} "
            f"{getattr(layer, 'name', layer)!r}."
        )
    if not layer.built or not layer.cell.built:
        raise ValueError(
            f"LSTM1997 layer {layer.name!r} is not built: call it on data (or build it) before converting."
        )
    weights = keras_lstm_weights(layer.cell)
    options = dict(
        units=layer.cell.units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        unit_forget_bias=False,
        return_sequences=layer.return_sequences,
        return_state=layer.return_state,
        go_backwards=layer.go_backwards,
        stateful=layer.stateful,
        unroll=layer.unroll,
        zero_output_for_mask=layer.zero_output_for_mask,
        dtype=layer.dtype_policy,
        name=f"{layer.name}_as_lstm",
    )
    options.update(kwargs)
    lstm = keras.layers.LSTM(**options)
    input_dim = weights[0].shape[0]
    batch = int(layer.states[0].shape[0]) if layer.stateful and layer.states is not None else None
    lstm.build((batch, None, input_dim))
    lstm.set_weights(weights)
    if batch is not None:  # carry the current states over: [h, s / 2] (paper) or [h, s]
        half = 0.5 if layer.cell.squash == "paper" else 1.0
        lstm.states[0].assign(layer.states[0].value)
        lstm.states[1].assign(half * layer.states[1].value)
    return lstm
