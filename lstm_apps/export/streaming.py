"""One-step ("streaming") form of a trained recurrent Keras model.

A device that reads a sensor wants one prediction per sample, with the
recurrent state kept between calls. :class:`StepGraph` turns a built Keras
model (``Sequential`` or functional, nested models included) into a function
of *one* time step whose recurrent states are explicit inputs and outputs::

    outputs, new_states = graph.step(x_t, states)

built from the trained model's own layers and weights:

* every ``keras.layers.RNN`` layer (``LSTM1997``, ``keras.layers.LSTM``,
  ``GRU``, ``SimpleRNN``, and any ``keras.layers.RNN(cell)`` with a custom or
  gray-box cell) becomes one call of its cell, ``cell(x_t, states)``; its
  states (``layer.get_initial_state``, nested ones flattened) become named
  inputs/outputs ``state_<layer>_<i>``;
* layers that act on each time step independently (``Dense``, ``Embedding``,
  dropout and noise layers, activations, normalizations over the feature
  axis, ``Masking``, ``TimeDistributed``, merges over the feature axis) are
  applied to the step as to a length-1 sequence;
* after a recurrent layer with ``return_sequences=False`` the tensor has no
  time axis any more; every layer after it runs as in the model, and the
  streamed output at step ``t`` is the model's output for the sequence that
  ends at ``t``.

What cannot stream gets a ``ValueError`` naming the layer: a
``Bidirectional`` layer (it reads the future), ``go_backwards``, layers that
mix time steps (convolutions, pooling, attention, ``Flatten`` of a
sequence...), recurrent layers fed an ``initial_state`` by the graph, and
subclassed models without a graph. All model inputs are taken to be
sequences ``(batch, timesteps, ...)``.

Masked (padding) steps behave as in Keras: the states (and the last output,
kept as one more state ``state_<layer>_output``) pass through unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from keras import ops

__all__ = ["StepGraph", "StateSpec", "state_name"]

# Layers whose computation is independent per time step (on the feature axis).
_PER_STEP_LAYERS: tuple[type, ...] = tuple(
    getattr(keras.layers, n)
    for n in (
        "Dense",
        "EinsumDense",
        "Embedding",
        "Dropout",
        "SpatialDropout1D",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "ActivityRegularization",
        "Activation",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "PReLU",
        "Identity",
        "Masking",
        "Rescaling",
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "TimeDistributed",
    )
    if hasattr(keras.layers, n)
)
# Per-step layers with an axis argument: fine unless the axis is the time axis.
_AXIS_LAYERS: tuple[type, ...] = tuple(
    getattr(keras.layers, n)
    for n in (
        "LayerNormalization",
        "BatchNormalization",
        "UnitNormalization",
        "RMSNormalization",
        "Normalization",
        "Softmax",
        "Concatenate",
    )
    if hasattr(keras.layers, n)
)
# Element-wise keras.ops operations that may appear in a functional graph.
_ELEMENTWISE_OPS = frozenset(
    {
        "Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Negative", "Abs", "Absolute", "Exp",
        "Log", "Log1p", "Sqrt", "Square", "Tanh", "Sigmoid", "Relu", "Softplus", "Maximum", "Minimum",
        "Power", "Clip", "Cast", "Sign", "Silu", "Gelu", "Elu", "Selu", "Relu6", "HardSigmoid", "Where",
        "NotEqual", "Equal", "Greater", "GreaterEqual", "Less", "LessEqual", "LogicalAnd", "LogicalOr",
        "LogicalNot",
    }
)  # fmt: skip


# Reductions (e.g. the mask of a Masking layer: any(x != value, axis=-1)): fine over feature axes.
_REDUCTION_OPS = frozenset({"Any", "All", "Sum", "Mean", "Max", "Min", "Prod"})


def _get_mask(x):
    return getattr(x, "_keras_mask", None)


def _set_mask(x, mask):
    try:
        x._keras_mask = mask
    except AttributeError:  # a tensor type that takes no attributes: the mask is lost
        pass


def state_name(layer_path: str, index: int) -> str:
    """Name of a state input/output: ``state_<layer path>_<index>`` (identifier-safe)."""
    return f"state_{_safe(layer_path)}_{index}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name))


@dataclass
class StateSpec:
    """One recurrent state of the streaming form."""

    name: str  # signature name, e.g. ``state_lstm_0``
    layer: str  # the recurrent layer's name (path for nested models)
    index: int  # position among that layer's flattened states
    shape: tuple  # per-example shape (without batch)
    dtype: str
    cell: Any = field(default=None, repr=False, compare=False)  # the recurrent layer's cell


@dataclass
class _Context:
    """State bookkeeping during one walk of the graph."""

    states_in: dict[str, Any] | None  # None: use each layer's initial state
    batch_size: Any
    states_out: dict[str, Any] = field(default_factory=dict)
    specs: list[StateSpec] = field(default_factory=list)
    initial: dict[str, Any] = field(default_factory=dict)


def _functional_of(model, where: str):
    """The functional graph behind a model (``Sequential`` keeps one once built)."""
    if isinstance(model, keras.Sequential):
        fn = getattr(model, "_functional", None)
        if fn is None:
            raise ValueError(
                f"Sequential model {where!r} has no graph yet: give it a keras.Input(shape=(timesteps, "
                "features)) "
                "first layer (or build it) before export."
            )
        return fn
    if not hasattr(model, "_nodes_by_depth") or not getattr(model, "inputs", None):
        raise ValueError(
            f"model {where!r} ({type(model).__name__}) is a subclassed model without a layer graph; "
            "streaming export needs a Sequential or functional model."
        )
    return model


def _temporal_axes_ok(layer, rank: int) -> bool:
    """True when an axis-taking layer does not reduce or normalise over the time axis (1)."""
    axis = getattr(layer, "axis", -1)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    axes = [int(a) % rank for a in axes]
    return 1 not in axes and 0 not in axes


class StepGraph:
    """The one-step form of a built Keras model.

    Args:
        model: a built ``Sequential`` or functional Keras model whose inputs
            are sequences ``(batch, timesteps, ...)``.
        cell_steps: ``{cell class: step(cell, inputs, states) -> (output,
            new_states)}``: cells of these classes (exactly) run this
            function in place of their own call, e.g.
            :data:`~lstm_apps.export.integer_steps.INTEGER_STEPS`, the same
            step in ops that quantize to int16x8.

    Attributes:
        input_names: ``["x"]`` (or ``x_0, x_1, ...`` for several inputs).
        output_names: ``["y"]`` (or ``y_0, y_1, ...``).
        input_specs: per-step ``(shape without batch, dtype)`` of each input.
        states: the :class:`StateSpec` of every recurrent state, in graph order.
        output_temporal: for each output, whether the model returns it per
            time step (``return_sequences=True`` all the way) or once per
            sequence.

    Raises:
        ValueError: when a layer cannot run one step at a time (naming it).

    Example:

    ```python
    graph = StepGraph(model)
    states = graph.initial_state(batch_size=1)
    for t in range(x.shape[1]):
        y, states = graph.step({"x": x[:, t]}, states)
    ```
    """

    def __init__(self, model, cell_steps=None):
        if not isinstance(model, keras.Model):
            raise ValueError(f"model must be a keras.Model, received {type(model).__name__}.")
        if not model.built:
            raise ValueError(f"model {model.name!r} is not built: call it on data or give it an Input first.")
        self.model = model
        self.cell_steps = dict(cell_steps or {})
        fn = _functional_of(model, model.name)
        self._fn = fn
        self.input_names = ["x"] if len(fn.inputs) == 1 else [f"x_{i}" for i in range(len(fn.inputs))]
        self.output_names = ["y"] if len(fn.outputs) == 1 else [f"y_{i}" for i in range(len(fn.outputs))]
        self.input_specs = []
        for name, kt in zip(self.input_names, fn.inputs):
            shape = tuple(kt.shape)
            if len(shape) < 2:
                raise ValueError(
                    f"model input {name} has shape {shape}; streaming needs sequence inputs (batch, "
                    "timesteps, ...)."
                )
            dtype = keras.backend.standardize_dtype(kt.dtype)
            if dtype == "string":
                raise ValueError(
                    f"model input {name} is a string tensor (text preprocessing such as TextVectorization "
                    "inside "
                    "the model); TFLite models take numbers: export the part of the model after the "
                    "vectorization "
                    "(token ids in, e.g. keras.Model(vectorized_input, model.output))."
                )
            self.input_specs.append((tuple(shape[2:]), dtype))
        self.sequence_length = fn.inputs[0].shape[1]
        # Discovery pass (eager, batch 1): validates every layer, finds the states.
        ctx = _Context(states_in=None, batch_size=1)
        dummy = [np.zeros((1, *s), dtype=d) for s, d in self.input_specs]
        outs = self._walk(fn, [(ops.convert_to_tensor(v), True) for v in dummy], ctx, prefix="")
        self.states: list[StateSpec] = ctx.specs
        self.output_temporal = [t for _, t in outs]
        self.state_names = [s.name for s in self.states]
        if len(set(self.state_names)) != len(self.state_names):
            raise ValueError(
                f"duplicate state names {self.state_names}: give the recurrent layers unique names."
            )

    # -- public ---------------------------------------------------------------
    def initial_state(self, batch_size: int = 1) -> dict[str, Any]:
        """The states every recurrent layer starts a sequence with (its ``get_initial_state``)."""
        ctx = _Context(states_in=None, batch_size=batch_size)
        dummy = [ops.zeros((batch_size, *s), dtype=d) for s, d in self.input_specs]
        self._walk(self._fn, [(v, True) for v in dummy], ctx, prefix="")
        return dict(ctx.initial)

    def step(self, inputs, states: dict[str, Any]):
        """One time step.

        Args:
            inputs: dict ``{input_name: (batch, ...)}`` (or a single tensor
                for a one-input model).
            states: dict ``{state_name: tensor}`` as returned by
                :meth:`initial_state` or the previous step.

        Returns:
            ``(outputs, new_states)``: dict ``{output_name: tensor}`` and dict
            of states.
        """
        if not isinstance(inputs, dict):
            inputs = {self.input_names[0]: inputs}
        missing = [n for n in self.state_names if n not in states]
        if missing:
            raise ValueError(f"missing states {missing}; expected {self.state_names}.")
        x = [(inputs[n], True) for n in self.input_names]
        first = x[0][0]
        ctx = _Context(states_in=dict(states), batch_size=ops.shape(first)[0])
        outs = self._walk(self._fn, x, ctx, prefix="")
        return {n: v for n, (v, _) in zip(self.output_names, outs)}, ctx.states_out

    def run(self, inputs) -> list[np.ndarray]:
        """Run whole sequences step by step in Keras (eager); outputs per step.

        Returns a list (one per output) of arrays ``(batch, timesteps, ...)``.
        """
        xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        xs = [np.asarray(v) for v in xs]
        batch, steps = xs[0].shape[0], xs[0].shape[1]
        states = self.initial_state(batch)
        per_step: list[list[np.ndarray]] = [[] for _ in self.output_names]
        for t in range(steps):
            outs, states = self.step({n: v[:, t] for n, v in zip(self.input_names, xs)}, states)
            for k, n in enumerate(self.output_names):
                per_step[k].append(ops.convert_to_numpy(outs[n]))
        return [np.stack(p, axis=1) for p in per_step]

    # -- graph walk -----------------------------------------------------------
    def _walk(self, fn, inputs, ctx: _Context, prefix: str):
        """Evaluate the graph of ``fn`` on one step; values are ``(tensor, temporal)``."""
        values: dict[int, tuple[Any, bool]] = {}
        for kt, v in zip(fn.inputs, inputs):
            values[id(kt)] = v
        depth_keys = sorted(fn._nodes_by_depth.keys(), reverse=True)
        for depth in depth_keys:
            for node in fn._nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(x) not in values for x in node.input_tensors):
                    continue
                outputs, temporal = self._apply(node, values, ctx, prefix)
                flat = keras.tree.flatten(outputs)
                flags = temporal if isinstance(temporal, list) else [temporal] * len(flat)
                for x, y, t in zip(node.outputs, flat, flags):
                    values[id(x)] = (y, t)
        return [values[id(x)] for x in fn.outputs]

    def _apply(self, node, values, ctx: _Context, prefix: str):
        op = node.operation
        name = f"{prefix}{op.name}"
        in_kts = list(node.input_tensors)
        temporal = [values[id(x)][1] for x in in_kts]
        any_temporal = any(temporal)
        plain = {k: v for k, (v, _) in values.items()}

        if isinstance(op, keras.layers.Bidirectional):
            raise ValueError(
                f"cannot stream layer {name!r} (Bidirectional): it reads each sequence backwards from its "
                "end, "
                "so no output exists before the whole sequence is known. Export it with mode='sequence'."
            )
        if isinstance(op, keras.layers.RNN):
            return self._apply_rnn(op, node, values, ctx, name)
        if isinstance(op, keras.Model):
            sub = _functional_of(op, name)
            flat_in = [values[id(x)] for x in in_kts]
            outs = self._walk(sub, flat_in, ctx, prefix=f"{name}/")
            result = [v for v, _ in outs]
            flags = [t for _, t in outs]
            return (result[0] if len(result) == 1 else result), flags
        if not any_temporal:
            # No time axis left: the layer runs exactly as in the model.
            args, kwargs = node.arguments.fill_in(plain)
            return self._call(op, args, kwargs), False
        if not all(temporal):
            raise ValueError(
                f"cannot stream {type(op).__name__} {name!r}: it combines a per-step tensor with a "
                "per-sequence one "
                "(the output of a recurrent layer with return_sequences=False)."
            )
        if isinstance(op, keras.layers.Layer):
            if isinstance(op, _AXIS_LAYERS):
                rank = len(in_kts[0].shape)
                if not _temporal_axes_ok(op, rank):
                    raise ValueError(
                        f"cannot stream {type(op).__name__} {name!r}: its axis {getattr(op, 'axis', None)!r} "
                        "includes the time axis (1), so every output depends on other time steps."
                    )
            elif not isinstance(op, _PER_STEP_LAYERS):
                raise ValueError(
                    f"cannot stream layer {name!r} ({type(op).__name__}): streaming export supports "
                    "recurrent layers "
                    "(keras.layers.RNN subclasses) and layers acting on each time step alone "
                    "(Dense, Embedding, Dropout, Activation, normalisation over features, TimeDistributed, "
                    "merges); "
                    f"{type(op).__name__} on a sequence would need other time steps."
                )
        elif type(op).__name__ in _REDUCTION_OPS:
            axis = getattr(op, "axis", None)
            if axis is None or not _temporal_axes_ok(op, len(in_kts[0].shape)):
                raise ValueError(
                    f"cannot stream operation {name!r} ({type(op).__name__}, axis={axis!r}): it reduces "
                    "over the "
                    "time axis, so its result depends on other time steps."
                )
        elif type(op).__name__ not in _ELEMENTWISE_OPS:
            raise ValueError(
                f"cannot stream operation {name!r} ({type(op).__name__}) applied to a sequence: only "
                "element-wise "
                "operations are supported between layers."
            )
        # Per-step: run the layer on a length-1 sequence and drop the time axis.
        expanded = {}
        for k, (v, t) in values.items():
            if t:
                e = ops.expand_dims(v, 1)
                mask = _get_mask(v)
                if mask is not None:
                    _set_mask(e, ops.expand_dims(mask, 1))
                v = e
            expanded[k] = v
        args, kwargs = node.arguments.fill_in(expanded)
        out = self._call(op, args, kwargs)

        def squeeze(y):
            s = ops.squeeze(y, axis=1)
            mask = _get_mask(y)
            if mask is not None and len(mask.shape) >= 2:
                _set_mask(s, ops.squeeze(mask, axis=1))
            return s

        return keras.tree.map_structure(squeeze, out), True

    @staticmethod
    def _call(op, args, kwargs):
        kwargs = dict(kwargs)
        if isinstance(op, keras.layers.Layer) and getattr(op, "_call_has_training_arg", False):
            kwargs["training"] = False
        return op(*args, **kwargs)

    def _apply_rnn(self, layer, node, values, ctx: _Context, name: str):
        if getattr(layer, "go_backwards", False):
            raise ValueError(
                f"cannot stream recurrent layer {name!r}: go_backwards=True reads each sequence from its end."
            )
        call_args = list(node.arguments.args)
        call_kwargs = dict(node.arguments.kwargs)
        kt_seq = call_args[0] if call_args else call_kwargs.get("sequences", node.input_tensors[0])
        if call_kwargs.get("initial_state") is not None or len(call_args) > 1:
            raise ValueError(
                f"cannot stream recurrent layer {name!r}: it receives an initial_state from the graph (an "
                "encoder-decoder); streaming keeps the state of every recurrent layer as an explicit input "
                "instead. "
                "Export the encoder and the decoder as separate models."
            )
        # A mask (from Embedding(mask_zero=True) or Masking) marks padding steps: as in Keras, a masked
        # step leaves the states and the output unchanged (the previous output is one more state).
        x_t, temporal = values[id(kt_seq)]
        if not temporal:
            raise ValueError(
                f"recurrent layer {name!r} receives a tensor without a time axis; cannot stream it."
            )
        mask_t = _get_mask(x_t)
        initial = layer.get_initial_state(ctx.batch_size)
        flat_init = keras.tree.flatten(initial)
        names = [state_name(name, i) for i in range(len(flat_init))]
        if ctx.states_in is None:
            flat_states = flat_init
        else:
            flat_states = [ctx.states_in[n] for n in names]
        states = keras.tree.pack_sequence_as(initial, flat_states)
        kwargs = {}
        if getattr(layer.cell, "_call_has_training_arg", False):
            kwargs["training"] = False
        x_in = ops.copy(x_t) if mask_t is not None else x_t  # the cell itself takes no mask
        replacement = self.cell_steps.get(type(layer.cell))
        if replacement is not None:
            output, new_states = replacement(layer.cell, x_in, states)
        else:
            output, new_states = layer.cell(x_in, states, **kwargs)
        if not keras.tree.is_nested(new_states):
            new_states = [new_states]
        flat_new = keras.tree.flatten(new_states)
        if len(flat_new) != len(names):
            raise ValueError(
                f"recurrent layer {name!r}: its cell returned {len(flat_new)} states, expected {len(names)} "
                "(as many as get_initial_state gives)."
            )
        if mask_t is not None:
            out_name = state_name(name, "output")
            prev_out = ops.zeros_like(output) if ctx.states_in is None else ctx.states_in[out_name]
            keep = ops.cast(mask_t, "bool")

            def pick(new, old):
                m = ops.reshape(keep, (-1,) + (1,) * (len(new.shape) - 1))
                return ops.where(m, new, old)

            flat_new = [pick(n, o) for n, o in zip(flat_new, flat_states)]
            output = pick(output, prev_out)
            names = names + [out_name]
            flat_init = flat_init + [ops.zeros_like(output)]
            flat_new = flat_new + [output]
            if layer.return_sequences and getattr(layer, "zero_output_for_mask", False):
                output = pick(output, ops.zeros_like(output))
        if ctx.states_in is None:
            for i, (n, v) in enumerate(zip(names, flat_init)):
                ctx.specs.append(
                    StateSpec(
                        n, name, i, tuple(v.shape[1:]), keras.backend.standardize_dtype(v.dtype), layer.cell
                    )
                )
                ctx.initial[n] = v
        for n, v in zip(names, flat_new):
            ctx.states_out[n] = v
        flat_new = flat_new[: len(keras.tree.flatten(initial))]
        if mask_t is not None and layer.return_sequences:
            _set_mask(output, mask_t)  # as RNN.compute_mask: the sequence output keeps the input's mask
        seq_out = bool(layer.return_sequences)
        if layer.return_state:
            return [output, *flat_new], [seq_out] + [False] * len(flat_new)
        return output, seq_out
