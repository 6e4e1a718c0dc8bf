"""The Hochreiter & Schmidhuber (1997) LSTM: constant error carousel, no forget gate."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from lstm_apps import telemetry
from lstm_apps.layers import kernels
from lstm_apps.layers._cell_rnn import CellRNN
from lstm_apps.layers.keras_lstm import PINNED_FORGET_BIAS, keras_lstm_weights
from lstm_apps.layers.lstm1997_cell import LSTM1997Cell

__all__ = [
    "LSTM1997Cell",
    "LSTM1997",
    "gate_activations",
    "keras_lstm_weights",
    "memory_half_life",
    "to_keras_lstm",
    "PINNED_FORGET_BIAS",
]


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


@keras.saving.register_keras_serializable(package="lstm_apps")
class LSTM1997(CellRNN):
    """Long Short-Term Memory layer of Hochreiter & Schmidhuber (1997).

    The faithful 1997 LSTM: constant error carousel without a forget gate,
    cell input ``g`` in [-2, 2], output squash ``h`` in [-1, 1], negative
    initial input-gate biases, memory cell blocks sharing their gates, and the
    paper's truncated gradients. See :class:`LSTM1997Cell` for the equations,
    the options and the weight layout. The cell's arguments (and ``n_blocks``)
    are read-only properties of the layer (``layer.units`` ...).

    Args:
        units: number of memory cells.
        cells_per_block, input_gate_bias, output_gate_bias, forget_gate,
        forget_bias, squash, truncate_gradients, kernel_initializer,
        recurrent_initializer, cell_input_bias, *_regularizer, *_constraint,
        output_gate, cell_activation, output_activation, use_bias,
        recurrent_connections, bias_initializer:
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
            The fast loop knows the standard options only
            (``LSTM1997Cell.standard_options``): a layer with the paper's
            special options (no output gate, ``cell_activation`` or
            ``output_activation`` other than ``squash``'s, ``use_bias`` other
            than True, ``recurrent_connections`` other than ``"cells"``)
            always runs the generic loop; the paper's nets that need them
            are small.
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

    cell_class = LSTM1997Cell
    cell_name = "lstm1997_cell"
    switches = {"fast_path": True}
    # zero_output_for_mask reaches keras.layers.RNN through **kwargs, as it always has
    rnn_arguments = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")
    cell_properties = ("n_blocks",)

    @staticmethod
    def check_switch(name: str, value) -> bool:
        """``fast_path`` as a bool (any truthy value turns it on, as it always has)."""
        return bool(value)

    def uses_fast_path(self) -> bool:
        """Whether calls run the fast loop (``fast_path``, standard options, TF or JAX, no ``unroll``)."""
        return (
            self.fast_path
            and not self.unroll
            and self.cell.standard_options
            and kernels.fast_path_supported()
        )

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

        :func:`lstm_apps.telemetry.gate_trace` of this layer, in the order
        the layer processed the steps.

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
        trace = telemetry.gate_trace(self, inputs, initial_state=initial_state, mask=mask)
        return _in_processing_order(trace, self.go_backwards)


def gate_activations(model, inputs, layer=None) -> dict[str, np.ndarray]:
    """Gate telemetry of an :class:`LSTM1997` layer inside a built model.

    :func:`lstm_apps.telemetry.gate_trace` restricted to ``LSTM1997`` layers
    (it traces any recurrent layer).

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
    return _in_processing_order(telemetry.gate_trace(model, inputs, layer=layer), layer.go_backwards)


def _in_processing_order(trace: dict, go_backwards: bool) -> dict[str, np.ndarray]:
    """A gate trace without its mask, its steps in the order the layer processed them."""
    trace.pop("mask", None)
    return {name: v[:, ::-1] for name, v in trace.items()} if go_backwards else trace


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
        half = 0.5 if layer.cell.cell_activation == "paper" else 1.0
        lstm.states[0].assign(layer.states[0].value)
        lstm.states[1].assign(half * layer.states[1].value)
    return lstm
