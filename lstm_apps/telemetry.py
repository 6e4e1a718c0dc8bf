"""Gate telemetry: run a recurrent cell step by step and read its gates and states.

A cell opts in with one method,
``gate_step(inputs, states, training=False) -> (output, new_states, gates)``:
one step exactly as its ``call`` computes it, plus a dict of named per-step
tensors ``(batch, width)`` (``"input_gate"``, ``"forget_gate"``,
``"output_gate"``, ``"cell_state"``, ...; a gate the same for every sequence
may be ``(width,)``). :func:`trace_gates` wraps such a
cell (sharing its weights) in a ``keras.layers.RNN`` whose per-step output is
the cell's output and gates side by side, and returns them as NumPy arrays.
:class:`~lstm_apps.layers.LSTM1997Cell` and the gray-box cells of
:mod:`lstm_apps.layers` implement ``gate_step``;
:meth:`~lstm_apps.layers.LSTM1997.gate_activations`,
:func:`~lstm_apps.layers.gate_activations` and
:func:`~lstm_apps.layers.forget_gate_trace` are built on :func:`trace_gates`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["layer_inputs", "trace_gates", "walk_layers"]


def _state_sizes(cell) -> list[int]:
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def _initial_states(cell, batch_size, dtype):
    """The cell's own initial states, or zeros (what ``keras.layers.RNN`` starts from)."""
    get_initial_state = getattr(cell, "get_initial_state", None)
    if get_initial_state is not None:
        states = get_initial_state(batch_size=batch_size)
        return list(states) if isinstance(states, (list, tuple)) else [states]
    return [ops.zeros((batch_size, d), dtype=dtype) for d in _state_sizes(cell)]


class _GateCell(keras.layers.Layer):
    """Wraps a built cell (sharing its weights); each step outputs ``[output, *gates]``."""

    def __init__(self, cell, input_dim, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.state_size = cell.state_size
        # one probe step gives the names and widths of the cell's gates
        probe = ops.zeros((1, input_dim), dtype=self.compute_dtype)
        output, _, gates = cell.gate_step(probe, _initial_states(cell, 1, self.compute_dtype), training=False)
        self.names = ("output", *gates)
        self.widths = tuple(int(t.shape[-1]) for t in (output, *gates.values()))
        self.output_size = sum(self.widths)

    def build(self, input_shape):
        self.built = True

    def get_initial_state(self, batch_size=None):
        return _initial_states(self.cell, batch_size, self.compute_dtype)

    def call(self, inputs, states, training=False):
        output, new_states, gates = self.cell.gate_step(inputs, states, training=training)
        parts = [output]
        for name, width in zip(self.names[1:], self.widths[1:]):
            gate = gates[name]  # a gate the same for every sequence may come without the batch axis
            parts.append(
                gate if len(gate.shape) == 2 else ops.broadcast_to(gate, (ops.shape(output)[0], width))
            )
        return ops.concatenate(parts, axis=-1), new_states


def trace_gates(cell, inputs, initial_state=None, mask=None, go_backwards=False, dtype=None):
    """Per-step output, gates and states of a recurrent cell over a batch of sequences.

    Args:
        cell: a Keras RNN cell with a ``gate_step(inputs, states, training)``
            method returning ``(output, new_states, gates)``; built here on
            ``inputs`` when it is not built yet.
        inputs: ``(batch, timesteps, features)`` tensor or array.
        initial_state: optional list of initial states (the cell's own
            initial states, or zeros, when ``None``).
        mask: optional boolean ``(batch, timesteps)``; masked steps keep the
            previous state and repeat the previous outputs and gates.
        go_backwards: process the steps in reverse; the results stay in
            processing order (index 0 is the last time step).
        dtype: dtype policy of the loop (the global policy when ``None``).

    Returns:
        A dict of NumPy arrays, each ``(batch, timesteps, width)``:
        ``"output"`` (the cell's output), then the cell's gates in the order
        ``gate_step`` names them.

    Example:

    ```python
    cell = lstm_apps.layers.AdaptiveForgetCell(4)
    trace = trace_gates(cell, np.zeros((2, 30, 1), "float32"))
    trace["forget_gate"].shape  # (2, 30, 4)
    ```
    """
    if not callable(getattr(cell, "gate_step", None)):
        raise ValueError(
            f"trace_gates needs a cell with a gate_step(inputs, states, training) method, received "
            f"{type(cell).__name__} {getattr(cell, 'name', cell)!r}."
        )
    shape = tuple(inputs.shape)
    if len(shape) != 3:
        raise ValueError(f"inputs must be (batch, timesteps, features), received shape {shape}.")
    if not cell.built:
        cell.build((shape[0], shape[2]))
    rnn = keras.layers.RNN(
        _GateCell(cell, shape[2], dtype=dtype), return_sequences=True, go_backwards=go_backwards, dtype=dtype
    )
    kwargs = {}
    if initial_state is not None:
        kwargs["initial_state"] = list(initial_state)
    if mask is not None:
        kwargs["mask"] = ops.convert_to_tensor(mask)
    out = ops.convert_to_numpy(rnn(inputs, **kwargs))
    bounds = np.cumsum((0, *rnn.cell.widths))
    return {name: out[..., a:b] for name, a, b in zip(rnn.cell.names, bounds[:-1], bounds[1:])}


def walk_layers(model):
    """Every layer of a model, nested models and wrapped layers (``Bidirectional`` ...) included."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from walk_layers(layer)
        if hasattr(layer, "layer") and isinstance(layer.layer, keras.layers.Layer):
            yield layer.layer


def layer_inputs(model, layer, inputs):
    """What ``layer`` of a built model receives when the model is called on ``inputs``.

    Args:
        model: a built Keras model (Sequential or functional).
        layer: one of its layers.
        inputs: a batch for the *model*.

    Returns:
        ``(layer_inputs, mask)``: the layer's input as NumPy and the boolean
        ``(batch, timesteps)`` mask it is fed (behind ``Masking`` or
        ``Embedding(mask_zero=True)``), or ``None``.
    """
    feeder = keras.Model(model.inputs, layer.input)
    fed = feeder.predict(inputs, verbose=0)
    mask = None
    if isinstance(fed, (list, tuple)):
        # a layer fed a mask (Masking, Embedding(mask_zero=True)) records [sequences, mask]
        fed, *rest = fed
        masks = [np.asarray(r) for r in rest if np.asarray(r).dtype == bool and np.asarray(r).ndim == 2]
        mask = masks[0] if masks else None
    return fed, mask
