"""Gate telemetry: run a recurrent layer step by step and read its gates and states.

:func:`gate_trace` is the one entry point: given a model (and which of its
recurrent layers), a recurrent layer or a cell, it returns every step's gates
and states as named NumPy arrays ``(batch, timesteps, width)``, for the 1997
layer, ``keras.layers.LSTM``, ``GRU`` and ``SimpleRNN``, the gray-box cells,
the min cells and the sLSTM, through masks and ``keras.layers.Bidirectional``.

Underneath, a cell opts in with one method,
``gate_step(inputs, states, training=False) -> (output, new_states, gates)``:
one step exactly as its ``call`` computes it, plus a dict of named per-step
tensors ``(batch, width)`` (``"input_gate"``, ``"forget_gate"``,
``"output_gate"``, ``"cell_state"``, ...; a gate the same for every sequence
may be ``(width,)``). The cells of :mod:`lstm_apps.layers` implement it;
Keras's own ``LSTMCell``, ``GRUCell`` and ``SimpleRNNCell`` get it from small
adapter functions here, written from the equations of their ``call``
(Keras exposes no per-step gates).
:func:`trace_gates` wraps such a cell (sharing its weights) in a
``keras.layers.RNN`` whose per-step output is the cell's output and gates side
by side. :meth:`~lstm_apps.layers.LSTM1997.gate_activations`,
:func:`~lstm_apps.layers.gate_activations` and
:func:`~lstm_apps.layers.forget_gate_trace` are thin wrappers of
:func:`gate_trace`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["gate_trace", "layer_inputs", "trace_gates", "walk_layers"]


# ---------------------------------------------------------------------------
# gate_step of Keras's own cells
# ---------------------------------------------------------------------------
def _previous(states):
    return states[0] if isinstance(states, (list, tuple)) else states


def _keras_lstm_step(cell, inputs, states, training=False):
    """``keras.layers.LSTMCell.call`` (no dropout) with its gates."""
    h_prev, c_prev = states[0], states[1]
    z = ops.add(ops.matmul(inputs, cell.kernel), ops.matmul(h_prev, cell.recurrent_kernel))
    if cell.use_bias:
        z = ops.add(z, cell.bias)
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
    i = cell.recurrent_activation(z_i)
    f = cell.recurrent_activation(z_f)
    g = cell.activation(z_c)
    o = cell.recurrent_activation(z_o)
    c = f * c_prev + i * g
    h = o * cell.activation(c)
    gates = {"input_gate": i, "forget_gate": f, "cell_input": g, "output_gate": o, "cell_state": c}
    return h, [h, c], gates


def _keras_gru_step(cell, inputs, states, training=False):
    """``keras.layers.GRUCell.call`` (no dropout; both ``reset_after`` settings) with its gates."""
    h_prev = _previous(states)
    u = cell.units
    x = ops.matmul(inputs, cell.kernel)
    if cell.reset_after:
        inner = ops.matmul(h_prev, cell.recurrent_kernel)
        if cell.use_bias:
            x = ops.add(x, cell.bias[0])
            inner = ops.add(inner, cell.bias[1])
    else:
        if cell.use_bias:
            x = ops.add(x, cell.bias)
        inner = ops.matmul(h_prev, cell.recurrent_kernel[:, : 2 * u])
    z = cell.recurrent_activation(x[:, :u] + inner[:, :u])
    r = cell.recurrent_activation(x[:, u : 2 * u] + inner[:, u : 2 * u])
    if cell.reset_after:
        recurrent_h = r * inner[:, 2 * u :]
    else:
        recurrent_h = ops.matmul(r * h_prev, cell.recurrent_kernel[:, 2 * u :])
    candidate = cell.activation(x[:, 2 * u :] + recurrent_h)
    h = z * h_prev + (1.0 - z) * candidate
    return h, [h], {"update_gate": z, "reset_gate": r, "candidate": candidate}


def _keras_simple_rnn_step(cell, inputs, states, training=False):
    """``keras.layers.SimpleRNNCell.call`` (no dropout) with its pre-activation."""
    pre = ops.matmul(inputs, cell.kernel)
    if cell.bias is not None:
        pre = ops.add(pre, cell.bias)
    pre = pre + ops.matmul(_previous(states), cell.recurrent_kernel)
    h = cell.activation(pre) if cell.activation is not None else pre
    return h, [h], {"pre_activation": pre}


_KERAS_CELLS = (
    (keras.layers.LSTMCell, _keras_lstm_step),
    (keras.layers.GRUCell, _keras_gru_step),
    (keras.layers.SimpleRNNCell, _keras_simple_rnn_step),
)


def _gate_step_of(cell):
    """The ``gate_step(inputs, states, training)`` function of a recurrent cell, or ``None``.

    The cell's own ``gate_step`` method when it has one, else an adapter for
    Keras's ``LSTMCell``, ``GRUCell`` (``reset_after`` either way) and
    ``SimpleRNNCell`` that computes the step exactly as their ``call`` does
    in inference (their ``activation``, ``recurrent_activation`` and
    ``use_bias`` options included; dropout is a training-time mask and is not
    applied), returning its gates as well. Keras subclasses are not
    subclassed here, only read.

    Args:
        cell: a Keras RNN cell.

    Returns:
        A callable ``(inputs, states, training=False) -> (output, new_states,
        gates)``, or ``None`` for a cell this module cannot trace.
    """
    own = getattr(cell, "gate_step", None)
    if callable(own):
        return own
    for kind, step in _KERAS_CELLS:
        if isinstance(cell, kind):
            return lambda inputs, states, training=False, _cell=cell, _step=step: _step(
                _cell, inputs, states, training
            )
    return None


# ---------------------------------------------------------------------------
# the loop: a cell's steps with its gates, in a keras.layers.RNN
# ---------------------------------------------------------------------------
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

    def __init__(self, cell, step, input_dim, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.step = step
        self.state_size = cell.state_size
        # one probe step gives the names and widths of the cell's gates
        probe = ops.zeros((1, input_dim), dtype=self.compute_dtype)
        output, _, gates = step(probe, _initial_states(cell, 1, self.compute_dtype), training=False)
        self.names = ("output", *gates)
        self.widths = tuple(int(t.shape[-1]) for t in (output, *gates.values()))
        self.output_size = sum(self.widths)

    def build(self, input_shape):
        self.built = True

    def get_initial_state(self, batch_size=None):
        return _initial_states(self.cell, batch_size, self.compute_dtype)

    def call(self, inputs, states, training=False):
        output, new_states, gates = self.step(inputs, states, training=training)
        parts = [output]
        for name, width in zip(self.names[1:], self.widths[1:]):
            gate = gates[name]  # a gate the same for every sequence may come without the batch axis
            parts.append(
                gate if len(gate.shape) == 2 else ops.broadcast_to(gate, (ops.shape(output)[0], width))
            )
        return ops.concatenate(parts, axis=-1), new_states


def trace_gates(
    cell, inputs, initial_state=None, mask=None, go_backwards=False, dtype=None, zero_output_for_mask=False
):
    """Per-step output, gates and states of a recurrent cell over a batch of sequences.

    The loop under :func:`gate_trace`, for one cell and its own inputs.

    Args:
        cell: a Keras RNN cell with a ``gate_step(inputs, states, training)``
            method returning ``(output, new_states, gates)``, or a Keras
            ``LSTMCell``, ``GRUCell`` or ``SimpleRNNCell``; built here on
            ``inputs`` when it is not built yet.
        inputs: ``(batch, timesteps, features)`` tensor or array.
        initial_state: optional list of initial states (the cell's own
            initial states, or zeros, when ``None``).
        mask: optional boolean ``(batch, timesteps)``; masked steps keep the
            previous state and repeat the previous outputs and gates (zeros
            before the first unmasked step), as ``keras.layers.RNN`` does.
        go_backwards: process the steps in reverse; the results stay in
            processing order (index 0 is the last time step).
        dtype: dtype policy of the loop (the global policy when ``None``).
        zero_output_for_mask: masked steps give zeros instead (the
            ``keras.layers.RNN`` option of that name).

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
    step = _gate_step_of(cell)
    if step is None:
        raise ValueError(
            "trace_gates needs a cell with a gate_step(inputs, states, training) method (or a Keras "
            f"LSTMCell, GRUCell or SimpleRNNCell), received {type(cell).__name__} "
            f"{getattr(cell, 'name', cell)!r}."
        )
    shape = tuple(inputs.shape)
    if len(shape) != 3:
        raise ValueError(f"inputs must be (batch, timesteps, features), received shape {shape}.")
    if not cell.built:
        cell.build((shape[0], shape[2]))
    rnn = keras.layers.RNN(
        _GateCell(cell, step, shape[2], dtype=dtype),
        return_sequences=True,
        go_backwards=go_backwards,
        zero_output_for_mask=zero_output_for_mask,
        dtype=dtype,
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
    """Every layer of a model, nested models and wrapped layers (``TimeDistributed``'s layer, a
    ``Bidirectional``'s ``forward_layer`` and ``backward_layer``) included."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from walk_layers(layer)
        if isinstance(layer, keras.layers.Bidirectional):
            yield layer.forward_layer
            yield layer.backward_layer
        elif isinstance(getattr(layer, "layer", None), keras.layers.Layer):
            yield layer.layer


def _feeder(model, layer):
    """A model from ``model``'s inputs to what ``layer`` receives in it (sequences and mask)."""
    tried = []
    try:
        tried.append(layer.input)
    except (AttributeError, ValueError):  # a layer called more than once has no single input
        pass
    # a functional sub-model's ``input`` is its own Input; its calls in ``model`` are its nodes
    tried += [node.input_tensors for node in reversed(getattr(layer, "_inbound_nodes", []))]
    for tensors in tried:
        try:
            return keras.Model(model.inputs, tensors)
        except ValueError:  # not connected to this model's inputs
            continue
    raise ValueError(f"layer {layer.name!r} is not connected to the inputs of model {model.name!r}.")


def layer_inputs(model, layer, inputs):
    """What ``layer`` of a built model receives when the model is called on ``inputs``.

    Args:
        model: a built Keras model (Sequential or functional).
        layer: one of its layers (a layer of the model itself, not of a
            nested model).
        inputs: a batch for the *model*.

    Returns:
        ``(layer_inputs, mask)``: the layer's input as NumPy and the boolean
        ``(batch, timesteps)`` mask it is fed (behind ``Masking`` or
        ``Embedding(mask_zero=True)``), or ``None``.
    """
    fed = _feeder(model, layer).predict(inputs, verbose=0)
    mask = None
    if isinstance(fed, (list, tuple)):
        # a layer fed a mask (Masking, Embedding(mask_zero=True)) records [sequences, mask]
        fed, *rest = fed
        masks = [np.asarray(r) for r in rest if np.asarray(r).dtype == bool and np.asarray(r).ndim == 2]
        mask = masks[0] if masks else None
    return fed, mask


# ---------------------------------------------------------------------------
# gate_trace: any model, recurrent layer or cell
# ---------------------------------------------------------------------------
def _is_recurrent(layer) -> bool:
    return isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))


def _recurrent_layers(model) -> list:
    """The recurrent layers of a model in order, nested models included (a ``Bidirectional`` is one)."""
    found = []
    for layer in model.layers:
        if _is_recurrent(layer):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(_recurrent_layers(layer))
    return found


def _pick(model, layer):
    """``(recurrent layer, direction prefix or "")`` chosen by ``layer=`` (see :func:`gate_trace`)."""
    choices = _recurrent_layers(model)
    listed = ", ".join(f"{k}: {c.name!r} ({type(c).__name__})" for k, c in enumerate(choices))
    if not choices:
        raise ValueError(
            f"model {model.name!r} has no recurrent layer (a keras.layers.RNN such as LSTM, GRU, "
            f"SimpleRNN, LSTM1997, or a Bidirectional); its layers are {[x.name for x in model.layers]}."
        )
    if layer is None:
        return choices[0], ""
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if not -len(choices) <= layer < len(choices):
            raise ValueError(
                f"layer={layer} is out of range: model {model.name!r} has {len(choices)} recurrent "
                f"layer(s), {listed}."
            )
        return choices[layer], ""
    directions = [
        (c, prefix, sub)
        for c in choices
        if isinstance(c, keras.layers.Bidirectional)
        for prefix, sub in (("forward_", c.forward_layer), ("backward_", c.backward_layer))
    ]
    if isinstance(layer, str):
        matches = [(c, "") for c in choices if c.name == layer]
        matches += [(c, prefix) for c, prefix, sub in directions if sub.name == layer]
        if len(matches) > 1:
            raise ValueError(
                f"layer={layer!r} is ambiguous: {len(matches)} recurrent layers of model {model.name!r} "
                f"have that name; pick one by index: {listed}."
            )
        others = [x for x in walk_layers(model) if x.name == layer]
    elif isinstance(layer, keras.layers.Layer):
        matches = [(c, "") for c in choices if c is layer]
        matches += [(c, prefix) for c, prefix, sub in directions if sub is layer]
        others = [x for x in walk_layers(model) if x is layer]
    else:
        raise ValueError(
            f"layer must be a layer name, an index into the recurrent layers or a layer, received "
            f"{layer!r} of type {type(layer).__name__}; the recurrent layers of model {model.name!r} are "
            f"{listed}."
        )
    if matches:
        return matches[0]
    if others:
        raise ValueError(
            f"layer {others[0].name!r} of model {model.name!r} is a {type(others[0]).__name__}, which has "
            f"no recurrence; the recurrent layers are {listed}."
        )
    raise ValueError(
        f"model {model.name!r} has no layer {getattr(layer, 'name', layer)!r}; its recurrent layers are "
        f"{listed}."
    )


def _fed(model, target, inputs):
    """``(inputs, mask)`` that ``target`` (a layer of ``model`` or of a model nested in it) receives."""
    if any(x is target for x in model.layers):
        return layer_inputs(model, target, inputs)
    for sub in model.layers:
        if isinstance(sub, keras.Model) and any(x is target for x in walk_layers(sub)):
            fed, mask = layer_inputs(model, sub, inputs)
            inner, inner_mask = _fed(sub, target, fed)
            # a mask entering a nested model flows on through its mask-propagating layers
            return inner, inner_mask if inner_mask is not None else mask
    raise ValueError(f"layer {target.name!r} is not a layer of model {model.name!r}.")


def _as_inputs(inputs, dtype):
    x = ops.convert_to_tensor(inputs)
    if len(x.shape) != 3:
        raise ValueError(
            f"the recurrent layer's inputs must be (batch, timesteps, features), received shape "
            f"{tuple(x.shape)}."
        )
    return ops.cast(x, dtype)


def _trace_rnn(rnn, x, mask, initial_state):
    """Trace one ``keras.layers.RNN`` on its own inputs; results in the original time order."""
    if _gate_step_of(rnn.cell) is None:
        raise ValueError(
            f"layer {rnn.name!r} ({type(rnn).__name__}) runs a {type(rnn.cell).__name__}, which has no "
            "gate_step(inputs, states, training) method and is not a Keras LSTMCell, GRUCell or "
            "SimpleRNNCell; gate_trace cannot read its gates."
        )
    if initial_state is None and rnn.stateful and getattr(rnn, "states", None) is not None:
        initial_state = [ops.convert_to_tensor(v) for v in rnn.states]  # read, not advanced
    trace = trace_gates(
        rnn.cell,
        x,
        initial_state=initial_state,
        mask=mask,
        go_backwards=rnn.go_backwards,
        dtype=rnn.dtype_policy,
        zero_output_for_mask=rnn.zero_output_for_mask,
    )
    if rnn.go_backwards:  # keras.layers.RNN returns them in processing order
        trace = {name: np.flip(v, axis=1) for name, v in trace.items()}
    return trace


def gate_trace(model_or_layer, inputs, layer=None, *, initial_state=None, mask=None) -> dict[str, np.ndarray]:
    """Every step's gates and states of a recurrent layer, as named NumPy arrays.

    One function for every recurrent layer the package knows: the 1997 layer
    (:class:`~lstm_apps.layers.LSTM1997`, every option), ``keras.layers.LSTM``,
    ``keras.layers.GRU`` and ``keras.layers.SimpleRNN`` (their exact
    equations: ``reset_after`` either way, ``activation``,
    ``recurrent_activation``, ``use_bias``), the gray-box cells
    (``AdaptiveForgetCell``, ``ForgettingCurveCell``, ``MethylationCell``) in
    a ``keras.layers.RNN``, :class:`~lstm_apps.layers.MinGRU`,
    :class:`~lstm_apps.layers.MinLSTM` and :class:`~lstm_apps.layers.SLSTM`,
    and any cell with a ``gate_step`` method; also inside
    ``keras.layers.Bidirectional``. The loop shares the layer's weights and
    starts from its initial state (a stateful layer's current states, which
    are read, not advanced); it runs in inference mode (no dropout).

    Names, besides ``"output"`` (what the layer returns at each step, ``h``):

    * 1997 layer: ``"input_gate"``, ``"output_gate"`` (and ``"forget_gate"``
      with ``forget_gate=True``), one column per memory cell (a block's cells
      repeat its gate), ``"cell_state"`` (``s``);
    * ``keras.layers.LSTM``: ``"input_gate"``, ``"forget_gate"``,
      ``"cell_input"`` (``activation(z_c)``), ``"output_gate"``,
      ``"cell_state"`` (``c``);
    * ``keras.layers.GRU``: ``"update_gate"`` (Keras's ``z``, the share of
      the *old* state kept: ``h = z h_prev + (1 - z) candidate``),
      ``"reset_gate"``, ``"candidate"``;
    * ``keras.layers.SimpleRNN``: ``"pre_activation"``
      (``x W + h_prev U + b``);
    * ``AdaptiveForgetCell``: ``"input_gate"``, ``"forget_gate"``,
      ``"output_gate"``, ``"cell_state"``; ``MethylationCell`` and
      ``ForgettingCurveCell``: ``"forget_gate"``, ``"input_gate"``,
      ``"cell_input"``, ``"cell_state"``;
    * ``MinGRU``: ``"update_gate"`` (the share of the *candidate* written:
      ``h = (1 - z) h_prev + z candidate``), ``"candidate"``; ``MinLSTM``:
      ``"forget_gate"``, ``"input_gate"`` (normalised), ``"candidate"``;
    * ``SLSTM``: ``"input_gate"``, ``"forget_gate"`` (the stabilised ones),
      ``"output_gate"``, ``"cell_state"``, ``"normalizer"``.

    In a ``Bidirectional`` every name comes twice, prefixed ``"forward_"``
    and ``"backward_"``, both in the original time order (index ``t`` of
    ``"backward_output"`` is the backward layer's output at time step ``t``,
    as ``Bidirectional`` concatenates them); a ``go_backwards`` layer's
    results are in the original time order too.

    Masks: behind ``Masking`` or ``Embedding(mask_zero=True)`` (or with
    ``mask=``) a masked step carries the states on, as Keras does, and every
    array repeats its value of the previous step there (zeros before the
    first unmasked step; zeros throughout with ``zero_output_for_mask``, as
    the layer's own output); the dict then holds ``"mask"``, boolean
    ``(batch, timesteps)``, ``False`` at the masked steps, whose gates were
    not computed.

    Args:
        model_or_layer: a built Keras model, a recurrent layer
            (``keras.layers.RNN`` or ``Bidirectional``, built here on
            ``inputs`` if needed) or a cell.
        inputs: with a model, a batch for the *model* (the recurrent layer's
            own inputs are computed by running the model up to it, nested
            models included); with a layer or a cell, its ``(batch,
            timesteps, features)`` inputs.
        layer: with a model, which recurrent layer: its name (the name of a
            ``Bidirectional``'s ``forward_layer`` or ``backward_layer`` picks
            that direction alone, unprefixed), an index into the model's
            recurrent layers (nested models included, in order), or the layer
            itself; ``None`` for the first recurrent layer.
        initial_state: optional list of initial states (a layer or a cell only;
            a ``Bidirectional`` takes the forward states, then the backward ones).
        mask: optional boolean ``(batch, timesteps)`` (a layer or a cell only).

    Returns:
        A dict of NumPy arrays, each ``(batch, timesteps, width)``:
        ``"output"`` first, then the cell's gates and states named as above,
        and ``"mask"`` ``(batch, timesteps)`` when a mask applied.

    Raises:
        ValueError: for a layer or cell without a traceable recurrence (a
            ``Dense``, an RNN of an unknown cell), a model without a recurrent
            layer, or a ``layer=`` that names none (the message lists the
            recurrent layers).

    Example:

    ```python
    model = keras.Sequential(
        [keras.Input((None,), dtype="int32"), keras.layers.Embedding(100, 8, mask_zero=True),
         keras.layers.Bidirectional(keras.layers.GRU(4)), keras.layers.Dense(1)]
    )
    trace = gate_trace(model, np.array([[5, 6, 7, 0]]))
    trace["forward_update_gate"].shape, trace["mask"]  # (1, 4, 4) [[ True  True  True False]]
    ```
    """
    target = model_or_layer
    direction = ""
    if isinstance(target, keras.Model) and not _is_recurrent(target):
        if initial_state is not None or mask is not None:
            raise ValueError(
                "initial_state and mask apply to a recurrent layer or a cell; a model computes the mask "
                f"its layer receives. Received model {target.name!r} with "
                f"{'initial_state' if initial_state is not None else 'mask'}=..."
            )
        target, direction = _pick(model_or_layer, layer)
        inputs, mask = _fed(model_or_layer, target, inputs)
    elif layer is not None:
        raise ValueError(
            f"layer= picks a layer of a model; received layer={layer!r} with a "
            f"{type(target).__name__} {getattr(target, 'name', target)!r}, which is not a model."
        )
    if isinstance(target, keras.layers.Bidirectional):
        x = _as_inputs(inputs, target.compute_dtype)
        if not target.built:
            target(x)
        half = None if initial_state is None else len(initial_state) // 2
        trace = {}
        for prefix, sub, state in (
            ("forward_", target.forward_layer, None if half is None else list(initial_state)[:half]),
            ("backward_", target.backward_layer, None if half is None else list(initial_state)[half:]),
        ):
            if direction in ("", prefix):
                part = _trace_rnn(sub, x, mask, state)
                trace.update({prefix + name: v for name, v in part.items()} if not direction else part)
    elif isinstance(target, keras.layers.RNN):
        x = _as_inputs(inputs, target.compute_dtype)
        if not target.built:
            target(x)
        trace = _trace_rnn(target, x, mask, initial_state)
    elif isinstance(target, keras.layers.Layer) and _gate_step_of(target) is not None:
        x = _as_inputs(inputs, target.compute_dtype)
        trace = trace_gates(target, x, initial_state=initial_state, mask=mask, dtype=target.dtype_policy)
    else:
        raise ValueError(
            f"gate_trace needs a model, a recurrent layer (keras.layers.RNN: LSTM, GRU, SimpleRNN, "
            f"LSTM1997, MinGRU, MinLSTM, SLSTM, a gray-box cell in RNN; or a Bidirectional) or a cell with "
            f"gate_step; received {type(target).__name__} {getattr(target, 'name', target)!r}, which has "
            "no recurrence."
        )
    if mask is not None:
        trace["mask"] = np.asarray(ops.convert_to_numpy(mask), dtype=bool)
    return trace
