"""The sequence form with LiteRT's fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op.

Keras 2 put each LSTM's time loop in a function marked
``api_implements="lstm_<id>"`` (with ``time_major`` and ``go_backwards``
attributes), and the TFLite converter's *prepare composite functions* pass
replaces such a function by one fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op.
Keras 3 no longer marks its loop, so its LSTMs convert to a ``WHILE`` loop.
:func:`build_fused_sequence_module` builds the model's sequence function
itself: it walks the layer graph, and every LSTM that can fuse runs as such a
marked function (arguments ``inputs, init_h, init_c, kernel,
recurrent_kernel, bias``; results ``last_output, outputs, h, c, runtime``,
of which only ``outputs`` is used: the converter's conditions); every other
layer runs as in the model.

What fuses: ``keras.layers.LSTM`` (and ``RNN(LSTMCell)``) with the default
``tanh`` / ``sigmoid`` activations, ``go_backwards`` included (the input is
reversed before the op); ``LSTM1997`` through its exact map to a standard
LSTM (``LSTM1997.to_keras_lstm``, state ``s / 2``); a ``Bidirectional`` of
those, as two fused ops. What does not, with the reason in the export's
``fusion`` report: masks (the op has no mask input), ``return_state`` and
``initial_state`` from the graph (the op keeps its states inside the file and
returns only the sequence), ``stateful`` layers, other activations, other
cells (GRU, SimpleRNN, gray-box cells: LiteRT has no fused op the converter
targets for them), non-float32 layers; these layers keep the model's own loop.

Two properties of the fused op a device user must know:

* its states are *variable tensors* of the file: they persist from one
  invocation to the next, so reset them before each new sequence
  (``Interpreter::ResetVariableTensors()`` in C++,
  ``interpreter.reset_all_variables()`` in Python;
  :class:`~lstm_apps.export.SequenceRunner` does);
* the converter writes ``cell_clip=10``; the export sets it to 0 (no
  clipping, as Keras) with :func:`~lstm_apps.export.ops.set_lstm_cell_clip`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from lstm_apps.export.streaming import _functional_of, _get_mask

__all__ = ["FUSED_OP", "FUSED", "lstm_fusion", "build_fused_sequence_module"]

#: The LiteRT builtin op a fused LSTM layer becomes.
FUSED_OP = "UNIDIRECTIONAL_SEQUENCE_LSTM"
#: The fusion report's value for a layer that became the fused op.
FUSED = "fused"
#: Why an int8 file keeps the 1997 layer out of the fused op.
INT8_LSTM1997 = (
    "int8: LiteRT's integer LSTM kernel computes the gates in 16-bit fixed point over a narrow range and "
    "keeps the cell state in 16 bits over a power-of-two range; the 1997 cell (forget gate pinned at 1 by "
    "a bias of 40, a carousel without bound) loses its memory there (the benchmark's 64-unit layer: "
    "parity 0.77 fused against 0.02 unrolled), so int8 files unroll its step graph"
)


def _tf():
    """TensorFlow, for the converter's modules; refused on another Keras backend (named)."""
    from lstm_apps.backends import require_tensorflow

    require_tensorflow("TFLite export (lstm_apps.export)")
    import tensorflow as tf

    return tf


@dataclass
class _LSTMForm:
    """A recurrent layer as a standard LSTM: weights in ``keras.layers.LSTM``'s layout."""

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    units: int
    go_backwards: bool
    return_sequences: bool


def _standard_lstm(layer) -> tuple[Any, str | None]:
    """``(the keras.layers.LSTM-shaped layer, None)``, or ``(None, why not)``."""
    from lstm_apps.layers import LSTM1997

    if isinstance(layer, LSTM1997):
        try:
            return layer.to_keras_lstm(), None
        except ValueError as exc:
            return None, f"LSTM1997.to_keras_lstm cannot map it ({exc})"
    cell = getattr(layer, "cell", None)
    if not (type(cell) is keras.layers.LSTMCell and type(layer) in (keras.layers.LSTM, keras.layers.RNN)):
        kind = type(cell).__name__ if cell is not None else type(layer).__name__
        return None, (
            f"{kind} has no fused LiteRT op the converter targets "
            "(it fuses keras.layers.LSTM-shaped cells only)"
        )
    return layer, None


def lstm_fusion(layer, quantize: str | None = None) -> tuple[_LSTMForm | None, str | None]:
    """Whether a recurrent layer can become one fused LSTM op, judged from its configuration.

    Args:
        layer: a built ``keras.layers.RNN`` (``LSTM``, ``LSTM1997``, ``GRU``...).
        quantize: the file's quantization: ``"int8"`` keeps the 1997 layer
            out of the fused op (see :data:`INT8_LSTM1997`).

    Returns:
        ``(form, None)`` with the standard-LSTM weights, or ``(None, reason)``.
        Masks and ``initial_state`` are judged where the layer is called.
    """
    lstm, reason = _standard_lstm(layer)
    if reason:
        return None, reason
    if quantize == "int8" and lstm is not layer:
        return None, INT8_LSTM1997
    cell = lstm.cell
    if (
        cell.activation is not keras.activations.tanh
        or cell.recurrent_activation is not keras.activations.sigmoid
    ):
        return None, (
            "the fused op computes tanh / sigmoid; this layer uses activation="
            f"{getattr(cell.activation, '__name__', cell.activation)!r}, recurrent_activation="
            f"{getattr(cell.recurrent_activation, '__name__', cell.recurrent_activation)!r}"
        )
    if layer.return_state:
        return None, (
            "return_state=True: the fused op keeps its final states inside the file (variable tensors) and "
            "returns only the output sequence"
        )
    if getattr(layer, "stateful", False):
        return None, "stateful=True: the states carried between calls are the streaming form's job"
    if keras.backend.standardize_dtype(layer.compute_dtype) != "float32":
        return None, f"the layer computes in {layer.compute_dtype}; the fused op is converted from float32"
    if not cell.built:
        return None, "the layer is not built"
    kernel = np.asarray(cell.kernel.numpy(), "float32")
    recurrent = np.asarray(cell.recurrent_kernel.numpy(), "float32")
    units = int(cell.units)
    bias = np.asarray(cell.bias.numpy(), "float32") if cell.use_bias else np.zeros((4 * units,), "float32")
    form = _LSTMForm(kernel, recurrent, bias, units, bool(layer.go_backwards), bool(layer.return_sequences))
    return form, None


def _composite_lstm(form: _LSTMForm):
    """A ``tf.function`` the converter replaces by one ``UNIDIRECTIONAL_SEQUENCE_LSTM``.

    Its body (a standard LSTM loop) only runs if the converter does not fuse;
    the attributes and the argument / result order are what the converter's
    Keras-LSTM fusion looks for.
    """
    tf = _tf()
    attributes = {"api_implements": f"lstm_{uuid.uuid4().hex}", "time_major": False, "go_backwards": False}

    def standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias):
        def step(carry, x_t):
            h, c = carry
            z = tf.matmul(x_t, kernel) + tf.matmul(h, recurrent_kernel) + bias
            i, f, g, o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            return tf.sigmoid(o) * tf.tanh(c), c

        hs, cs = tf.scan(step, tf.transpose(inputs, [1, 0, 2]), initializer=(init_h, init_c))
        outputs = tf.transpose(hs, [1, 0, 2])
        return outputs[:, -1], outputs, hs[-1], cs[-1], tf.constant(0.0)

    return tf.function(standard_lstm, experimental_attributes=attributes, autograph=False)


def _run_fused(form: _LSTMForm, x):
    tf = _tf()
    batch = x.shape[0]
    if batch is None:
        raise ValueError("the fused LSTM needs a static batch size")
    if form.go_backwards:
        x = tf.reverse(x, axis=[1])
    zeros_h = tf.zeros([batch, form.units], x.dtype)
    zeros_c = tf.zeros([batch, form.units], x.dtype)
    _, outputs, _, _, _ = _composite_lstm(form)(
        x,
        zeros_h,
        zeros_c,
        tf.constant(form.kernel),
        tf.constant(form.recurrent_kernel),
        tf.constant(form.bias),
    )
    return outputs if form.return_sequences else outputs[:, -1]


@dataclass
class FusionReport:
    """Per recurrent layer: ``"fused"`` or why it is not; and how many fused ops to expect."""

    layers: dict[str, str] = field(default_factory=dict)
    expected_ops: int = 0

    @property
    def all_fused(self) -> bool:
        return bool(self.layers) and all(v == FUSED for v in self.layers.values())

    @property
    def any_fused(self) -> bool:
        return self.expected_ops > 0


def _plan(model, quantize=None) -> dict[int, tuple[_LSTMForm | None, str | None]]:
    """:func:`lstm_fusion` of every recurrent layer (nested ones too), by ``id``.

    Read before tracing: inside the export's frozen scope the weights are
    graph constants, not arrays.
    """
    plan = {}

    def visit(layer):
        if isinstance(layer, keras.layers.Bidirectional):
            for sub in (layer.forward_layer, layer.backward_layer):
                plan[id(sub)] = lstm_fusion(sub, quantize)
        elif isinstance(layer, keras.layers.RNN):
            plan[id(layer)] = lstm_fusion(layer, quantize)
        for sub in getattr(layer, "layers", []) or []:
            visit(sub)

    for layer in model.layers:
        visit(layer)
    return plan


class _SequenceWalk:
    """Evaluate a functional graph on whole sequences, fusing the LSTMs that can fuse."""

    def __init__(self, plan):
        self.plan = plan
        self.report = FusionReport()

    def walk(self, fn, inputs, prefix: str):
        values = {id(kt): v for kt, v in zip(fn.inputs, inputs)}
        for depth in sorted(fn._nodes_by_depth.keys(), reverse=True):
            for node in fn._nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(x) not in values for x in node.input_tensors):
                    continue
                outputs = self._apply(node, values, prefix)
                for x, y in zip(node.outputs, keras.tree.flatten(outputs)):
                    values[id(x)] = y
        return [values[id(x)] for x in fn.outputs]

    @staticmethod
    def _call(op, node, values):
        args, kwargs = node.arguments.fill_in(values)
        if isinstance(op, keras.layers.Layer) and getattr(op, "_call_has_training_arg", False):
            kwargs["training"] = False
        return op(*args, **kwargs)

    def _apply(self, node, values, prefix: str):
        op = node.operation
        name = f"{prefix}{op.name}"
        if isinstance(op, keras.Model):
            try:
                sub = _functional_of(op, name)
            except ValueError as exc:
                self.report.layers[name] = f"not walked: {exc}"
                return self._call(op, node, values)
            outs = self.walk(sub, [values[id(x)] for x in node.input_tensors], prefix=f"{name}/")
            return outs[0] if len(outs) == 1 else outs
        if isinstance(op, keras.layers.Bidirectional):
            return self._bidirectional(op, node, values, name)
        if isinstance(op, keras.layers.RNN):
            return self._rnn(op, node, values, name)
        return self._call(op, node, values)

    def _graph_reason(self, node, values) -> str | None:
        """Why the call itself prevents fusion (a mask or an initial state from the graph), else None."""
        args = list(node.arguments.args)
        kwargs = dict(node.arguments.kwargs)
        if kwargs.get("initial_state") is not None or len(args) > 1:
            return (
                "it receives an initial_state from the graph: the fused op's states are variable tensors "
                "inside the file, not inputs"
            )
        if kwargs.get("mask") is not None:
            return "it is called with a mask: the fused op has no mask input"
        x = values[id(node.input_tensors[0])]
        if _get_mask(x) is not None:
            return (
                "it receives a mask (Embedding(mask_zero=True) or Masking upstream): the fused op has no "
                "mask input, so padding steps would update the state"
            )
        return None

    def _rnn(self, layer, node, values, name):
        form, reason = self.plan[id(layer)]
        reason = reason or self._graph_reason(node, values)
        if reason:
            self.report.layers[name] = reason
            return self._call(layer, node, values)
        self.report.layers[name] = FUSED
        self.report.expected_ops += 1
        return _run_fused(form, values[id(node.input_tensors[0])])

    def _bidirectional(self, layer, node, values, name):
        tf = _tf()
        forward, reason_f = self.plan[id(layer.forward_layer)]
        backward, reason_b = self.plan[id(layer.backward_layer)]
        reason = None
        if reason_f or reason_b:
            reason = f"its {'forward' if reason_f else 'backward'} layer cannot fuse: {reason_f or reason_b}"
        elif layer.return_state:
            reason = "return_state=True: the fused ops return only the output sequences"
        elif layer.merge_mode not in ("concat", "sum", "ave", "mul"):
            reason = f"merge_mode={layer.merge_mode!r} (two outputs) is exported as in Keras"
        reason = reason or self._graph_reason(node, values)
        if reason:
            self.report.layers[name] = reason
            return self._call(layer, node, values)
        x = values[id(node.input_tensors[0])]
        y = _run_fused(forward, x)
        y_rev = _run_fused(backward, x)
        if layer.return_sequences:
            y_rev = tf.reverse(y_rev, axis=[1])
        self.report.layers[name] = FUSED
        self.report.expected_ops += 2
        if layer.merge_mode == "concat":
            return tf.concat([y, y_rev], axis=-1)
        if layer.merge_mode == "sum":
            return y + y_rev
        if layer.merge_mode == "ave":
            return (y + y_rev) / 2
        return y * y_rev


def build_fused_sequence_module(
    model, batch_size: int, frozen_scope, input_names, output_names, quantize: str | None = None
):
    """The sequence function of ``model`` with its fusable LSTMs as composite functions.

    Args:
        model: the Keras model (``Sequential`` or functional).
        batch_size: the file's fixed batch (the fused op needs a static one).
        frozen_scope: a function opening a scope that reads the model's
            variables as constants.
        input_names, output_names: the signature's names.
        quantize: the file's quantization (:func:`lstm_fusion`).

    Returns:
        ``(tf.Module, {signature: concrete function}, FusionReport)``.

    Raises:
        ValueError: a subclassed model (no layer graph to walk).
    """
    tf = _tf()
    fn = _functional_of(model, model.name)
    specs = {
        n: tf.TensorSpec(
            [batch_size, *kt.shape[1:]], tf.as_dtype(keras.backend.standardize_dtype(kt.dtype)), n
        )
        for n, kt in zip(input_names, fn.inputs)
    }
    walker = _SequenceWalk(_plan(model, quantize))

    def sequence(inputs):
        walker.report = FusionReport()
        with frozen_scope():
            ys = walker.walk(fn, [inputs[n] for n in input_names], prefix="")
        return {n: tf.identity(y, name=n) for n, y in zip(output_names, ys)}

    module = tf.Module()
    module.sequence = tf.function(sequence, input_signature=[specs], autograph=False)
    concrete = module.sequence.get_concrete_function()
    return module, concrete, walker.report
