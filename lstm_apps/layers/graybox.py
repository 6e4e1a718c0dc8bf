"""Base class for gray-box recurrent cells whose gates mean something physical."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from lstm_apps.layers import kernels
from lstm_apps.layers._common import check_bool

__all__ = ["GrayBoxCell", "GrayBoxRNN", "bounded", "inverse_bounded"]


def bounded(raw, low: float, high: float):
    """Map an unconstrained tensor into ``(low, high)`` with a sigmoid."""
    return low + (high - low) * ops.sigmoid(raw)


def inverse_bounded(value, low: float, high: float) -> np.ndarray:
    """The raw value that :func:`bounded` maps to ``value`` (NumPy)."""
    value = np.asarray(value, dtype="float64")
    if np.any(value <= low) or np.any(value >= high):
        raise ValueError(f"value must lie strictly inside ({low}, {high}), received {value!r}.")
    frac = (value - low) / (high - low)
    return np.log(frac) - np.log1p(-frac)


def _inverse_softplus(value: np.ndarray) -> np.ndarray:
    """The raw value whose softplus is ``value`` (> 0); above 30 softplus is the identity."""
    return np.where(value > 30, value, np.log(np.expm1(np.minimum(value, 30))))


@keras.saving.register_keras_serializable(package="lstm_apps")
class GrayBoxCell(keras.layers.Layer):
    """Gray-box recurrent cell: gates constrained to carry a physical meaning.

    A gray-box cell is an LSTM-like cell in which some gates are not free
    functions of the input but are tied to the parameters of a mechanistic
    model (a decay rate, a maintenance efficiency, a volatility regime). The
    trained values of those parameters are readable by name after training
    with :meth:`physical_parameters`, in the units of the science.

    The base class provides constrained weights: :meth:`add_bounded_weight`
    stores an unconstrained variable and maps it through a sigmoid into
    ``(low, high)``, so an optimizer can never push a rate outside its
    physical range; :meth:`add_positive_weight` does the same through a
    softplus, and :meth:`add_log_weight` through an exponential (for time
    constants spanning orders of magnitude). :meth:`set_physical_value`
    assigns an effective value (e.g. from a least-squares fit). Weights
    created with ``physical=True`` are reported by :meth:`physical_parameters`.

    A subclass implements:

    * ``__init__(..., **kwargs)``: its hyper-parameters, then sets
      ``self.state_size`` and ``self.output_size`` (the Keras cell contract);
    * ``build(input_shape)``: creates its weights with ``add_weight`` /
      :meth:`add_bounded_weight` / :meth:`add_positive_weight`;
    * ``call(inputs, states, training=None)``: one step, returning
      ``(output, new_states)`` with ``keras.ops`` only;
    * optionally ``gate_step(inputs, states, training=None)``: the same step
      returning ``(output, new_states, gates)`` with ``gates`` a dict of
      named per-step tensors (``"forget_gate"``, ``"cell_state"``, ...), so
      :func:`lstm_apps.telemetry.trace_gates` can record them (then ``call``
      is ``gate_step`` without the gates, and the two cannot disagree);
    * ``get_config()``: its constructor arguments (call ``super().get_config()``);
    * optionally ``physical_parameters()`` to add derived quantities (a
      half-life, an equilibrium) to the named parameters;
    * optionally ``fused_loop(sequences, initial_state, **loop)``: the same
      recurrence over whole sequences, handing its effective weights to a
      kernel of :mod:`lstm_apps.layers.kernels` (``loop`` holds ``mask``,
      ``go_backwards``, ``return_sequences``, ``zero_output_for_mask`` and
      ``training``); :class:`GrayBoxRNN` runs it instead of stepping the cell;
    * the update equations and the meaning of every physical parameter in its
      docstring.

    Run a gray-box cell inside :class:`GrayBoxRNN` (a ``keras.layers.RNN``
    that takes the cell's fused loop when it has one) or ``keras.layers.RNN``
    like any Keras cell.

    Args:
        **kwargs: standard ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: a 2-D tensor ``(batch, features)``, one time step.
        states: the list of state tensors.
        training: Python boolean, training or inference mode.

    Example:

    ```python
    cell = lstm_apps.layers.MethylationCell(4)
    layer = GrayBoxRNN(cell, return_sequences=True)
    y = layer(np.zeros((2, 10, 1), "float32"))
    cell.physical_parameters()  # {'mu': array(...), 'delta': array(...), ...}
    ```
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._physical: dict[str, tuple[Any, float, float, str]] = {}

    # -- constrained weights -------------------------------------------------
    def add_bounded_weight(
        self,
        name: str,
        shape,
        low: float,
        high: float,
        initial_value: float | np.ndarray,
        physical: bool = True,
        trainable: bool = True,
    ):
        """Create a weight whose effective value lies in ``(low, high)``.

        Returns the raw (unconstrained) variable; read the effective value
        with :meth:`bounded_value`. ``initial_value`` is the effective value
        (scalar or array of ``shape``).
        """
        raw = inverse_bounded(initial_value, low, high)
        return self._add_raw_weight(name, shape, raw, "bounded", physical, trainable, low=low, high=high)

    def add_positive_weight(
        self,
        name: str,
        shape,
        initial_value: float | np.ndarray,
        physical: bool = True,
        trainable: bool = True,
    ):
        """Create a weight whose effective value is positive (softplus of a raw variable)."""
        value = np.asarray(initial_value, dtype="float64")
        if np.any(value <= 0):
            raise ValueError(
                f"initial value of positive weight {name!r} must be > 0, received {initial_value!r}."
            )
        return self._add_raw_weight(name, shape, _inverse_softplus(value), "positive", physical, trainable)

    def add_log_weight(
        self,
        name: str,
        shape,
        initial_value: float | np.ndarray,
        physical: bool = True,
        trainable: bool = True,
    ):
        """Create a positive weight stored as its logarithm (effective value ``exp(raw)``).

        Suited to time constants and rates that span orders of magnitude
        (minutes to months): a gradient step changes them by a factor, not
        by an amount. ``initial_value`` is the effective value (> 0).
        """
        value = np.asarray(initial_value, dtype="float64")
        if np.any(value <= 0) or not np.all(np.isfinite(value)):
            raise ValueError(
                f"initial value of log-scale weight {name!r} must be finite and > 0, "
                f"received {initial_value!r}."
            )
        return self._add_raw_weight(name, shape, np.log(value), "log", physical, trainable)

    def _add_raw_weight(self, name, shape, raw, kind, physical, trainable, low=0.0, high=float("inf")):
        """The variable ``{name}_raw``, starting at ``raw`` broadcast to ``shape``, registered as ``name``."""
        var = self.add_weight(
            name=f"{name}_raw",
            shape=shape,
            initializer=keras.initializers.Constant(np.broadcast_to(raw, shape).astype("float32")),
            trainable=trainable,
        )
        self._physical[name] = (var, float(low), float(high), kind if physical else f"{kind}_hidden")
        return var

    def _constrained(self, name: str) -> tuple[Any, float, float, str]:
        """``(raw variable, low, high, kind)`` of the constrained weight ``name``."""
        if name not in self._physical:
            raise ValueError(
                f"{type(self).__name__} has no constrained weight {name!r}; it has {sorted(self._physical)}."
            )
        return self._physical[name]

    def set_physical_value(self, name: str, value) -> None:
        """Assign the effective value of a constrained weight (inverse of :meth:`bounded_value`)."""
        var, low, high, kind = self._constrained(name)
        value = np.broadcast_to(np.asarray(value, dtype="float64"), tuple(var.shape))
        if kind.startswith(("positive", "log")) and np.any(value <= 0):
            raise ValueError(f"{name!r} must be > 0, received {value!r}.")
        if kind.startswith("positive"):
            raw = _inverse_softplus(value)
        elif kind.startswith("log"):
            raw = np.log(value)
        else:
            raw = inverse_bounded(value, low, high)
        var.assign(raw.astype("float32"))

    def bounded_value(self, name: str):
        """The effective (constrained) value of a weight made by ``add_*_weight``, as a tensor."""
        var, low, high, kind = self._constrained(name)
        if kind.startswith("positive"):
            return ops.softplus(var)
        if kind.startswith("log"):
            return ops.exp(var)
        return bounded(var, low, high)

    def physical_parameters(self) -> dict[str, np.ndarray]:
        """The named physical parameters, as NumPy arrays, after training."""
        if not self.built:
            raise ValueError(
                f"{type(self).__name__} is not built yet: call it on data (or build it) before "
                "reading its parameters."
            )
        return {
            name: np.asarray(ops.convert_to_numpy(self.bounded_value(name)))
            for name, (_, _, _, kind) in self._physical.items()
            if not kind.endswith("_hidden")
        }

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package="lstm_apps")
class GrayBoxRNN(keras.layers.RNN):
    """``keras.layers.RNN`` for gray-box cells, running the cell's fused loop when it has one.

    The generic loop steps the cell's Python ``call`` once per time step; a
    cell with ``fused_loop`` (every gray-box cell of this package) computes
    its input-dependent terms for all steps at once and runs only the
    recurrence in a compiled loop (:mod:`lstm_apps.layers.kernels.graybox_tf`),
    with the same outputs and gradients. ``fused=False``, ``unroll=True`` or
    another backend than TensorFlow take the generic loop.

    Args:
        cell: a cell (a :class:`GrayBoxCell`, or any Keras cell: without
            ``fused_loop`` it runs the generic loop).
        fused: use the cell's fused loop when it has one.
        **kwargs: ``keras.layers.RNN`` arguments (``return_sequences``,
            ``return_state``, ``go_backwards``, ``stateful``, ``unroll``,
            ``zero_output_for_mask``, ``name`` ...).

    Example:

    ```python
    layer = GrayBoxRNN(MethylationCell(4), return_sequences=True)
    p = layer(np.zeros((2, 30, 1), "float32"))   # (2, 30, 4), the fused loop
    ```
    """

    def __init__(self, cell, fused: bool = True, **kwargs):
        self.fused = check_bool("fused", fused)
        super().__init__(cell, **kwargs)

    def uses_fused_loop(self) -> bool:
        """Whether calls run the cell's fused loop (``fused``, TensorFlow backend, no ``unroll``)."""
        return (
            self.fused
            and not self.unroll
            and callable(getattr(self.cell, "fused_loop", None))
            and kernels.lstm1997_tf.fast_path_supported()  # the fused gray-box loops are TensorFlow code
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.uses_fused_loop():
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        last_output, outputs, states = self.cell.fused_loop(
            sequences,
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state],
            mask=mask,
            go_backwards=self.go_backwards,
            return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask,
            training=bool(training),
        )
        if outputs is None:  # the kernel built no sequence: keras.layers.RNN expects (batch, 1, ...)
            outputs = ops.expand_dims(last_output, 1)
        return last_output, outputs, states

    def get_config(self):
        return {**super().get_config(), "fused": self.fused}
