"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): gates from ``x_t`` alone.

Neither cell's gates see the previous state, so a whole sequence is one
linear recurrence ``h_t = a_t * h_{t-1} + b_t`` whose coefficients are known
before the loop, and training runs as a parallel scan (``parallel=True``,
:func:`linear_scan`); ``parallel=False`` runs the same cell step by step in
``keras.layers.RNN``. Both paths compute the same outputs. With TensorFlow on
a CPU, ``parallel=True`` runs :func:`lstm_apps.layers.kernels.gated_linear_rnn`
instead: the gates of every step in one XLA function, then the recurrence as
one compiled loop; there two cores gain nothing from the scan's ``log T``
depth and lose its ``log T`` passes over the data (the scan trained slower
than Keras's LSTM in ``benchmarks/cells.py``).
"""

from __future__ import annotations

import keras
from keras import ops

from lstm_apps.layers import kernels
from lstm_apps.layers._cell_rnn import CellRNN
from lstm_apps.layers._common import (
    add_option_weight,
    check_positive_int,
    constructor_config,
    feature_dim,
    log_sigmoid,
    store_weight_options,
)

__all__ = [
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "candidate_activation",
    "linear_scan",
]


def candidate_activation(v):
    """The paper's ``g``: ``v + 0.5`` for ``v >= 0``, ``sigmoid(v)`` below.

    Continuous at 0 (both sides give 0.5) and positive everywhere, so the
    candidate has a logarithm and grows only linearly.
    """
    return ops.where(v >= 0, v + 0.5, ops.sigmoid(v))


def _compose(earlier, later):
    """Two segments of ``h_t = a_t h_{t-1} + b_t`` as one: ``(A1, B1) . (A2, B2) = (A1 A2, A2 B1 + B2)``."""
    a1, b1 = earlier
    a2, b2 = later
    return a1 * a2, a2 * b1 + b2


def _blelloch(a, b):
    """Inclusive scan of ``(a_t, b_t)`` along axis 1 of static length: ``O(T)`` work, ``O(log T)`` depth.

    Adjacent steps are composed in pairs (an odd length gets one identity
    step), the pairs are scanned recursively, and the even steps are filled
    in from the scanned pairs before them.
    """
    steps = a.shape[1]
    if steps == 1:
        return a, b
    if steps % 2:
        a = ops.concatenate([a, ops.ones_like(a[:, :1])], axis=1)
        b = ops.concatenate([b, ops.zeros_like(b[:, :1])], axis=1)
    half = (steps + 1) // 2
    shape = ops.shape(a)
    a = ops.reshape(a, (shape[0], half, 2, shape[2]))
    b = ops.reshape(b, (shape[0], half, 2, shape[2]))
    first, second = (a[:, :, 0], b[:, :, 0]), (a[:, :, 1], b[:, :, 1])
    odd_a, odd_b = _blelloch(*_compose(first, second))  # the state after steps 1, 3, 5, ...
    before_a = ops.concatenate([ops.ones_like(odd_a[:, :1]), odd_a[:, :-1]], axis=1)
    before_b = ops.concatenate([ops.zeros_like(odd_b[:, :1]), odd_b[:, :-1]], axis=1)
    even_a, even_b = _compose((before_a, before_b), first)  # the state after steps 0, 2, 4, ...
    a = ops.reshape(ops.stack([even_a, odd_a], axis=2), (shape[0], 2 * half, shape[2]))
    b = ops.reshape(ops.stack([even_b, odd_b], axis=2), (shape[0], 2 * half, shape[2]))
    return a[:, :steps], b[:, :steps]


def _doubling(a, b):
    """Inclusive scan of ``(a_t, b_t)`` along axis 1 of unknown length (Hillis-Steele, in a while loop).

    Round ``r`` composes every step's segment with the ``2**r`` steps before
    it: ``O(T log T)`` work, used only when the length is not static.
    """
    steps = ops.shape(a)[1]

    def shifted(v, k, fill):
        shape = ops.shape(v)
        head = ops.full((shape[0], k, shape[2]), fill, dtype=v.dtype)
        return ops.concatenate([head, ops.slice(v, (0, 0, 0), (shape[0], steps - k, shape[2]))], axis=1)

    def body(k, a, b):
        a, b = _compose((shifted(a, k, 1.0), shifted(b, k, 0.0)), (a, b))
        return k * 2, a, b

    _, a, b = ops.while_loop(lambda k, a, b: k < steps, body, (ops.convert_to_tensor(1, dtype="int32"), a, b))
    return a, b


def linear_scan(a, b, h0=None):
    """All states of ``h_t = a_t * h_{t-1} + b_t`` at once (a parallel scan, ``keras.ops`` only).

    The paper computes the scan in log space with cumulative sums,
    ``log h_t = a*_t + logcumsumexp_k(log b_k - a*_k)``, ``a*_t = sum_{k<=t}
    log a_k``: there the cumulative products would underflow and dividing by
    them overflow. In float32 the difference ``a*_t - a*_k`` of two long
    cumulative sums still loses about ``eps * |a*_t|`` (1e-4 relative after
    1000 steps of ordinary gates). This scan composes segments instead,
    ``(A1, B1) . (A2, B2) = (A1 A2, A2 B1 + B2)``, which for the min cells
    (``0 < a_t <= 1``, ``b_t >= 0``, states convex combinations of the
    candidates) is stable in linear space: no cancellation, no division, no
    overflow, products that underflow only where the true value is below
    1e-38. It stays within a few float32 ulps of the step-by-step loop and
    costs a quarter of a log-space composition (no ``exp``/``log``).

    A static length runs a work-efficient (Blelloch) scan: ``O(T)`` work and
    ``O(log T)`` depth; an unknown length (a graph traced with ``None``
    timesteps) a doubling scan in ``keras.ops.while_loop``, ``O(T log T)``.
    The initial state enters as ``h_t = A_t h_0 + B_t``, so it may have any
    sign.

    Args:
        a: ``a_t``, shape ``(batch, timesteps, units)``.
        b: ``b_t``, the same shape; a step with ``a = 1, b = 0`` keeps the
            state (a masked step).
        h0: optional ``(batch, units)`` initial state (zeros when ``None``).

    Returns:
        ``h`` with the shape of ``a``: the state after every step.

    Example:

    >>> import numpy as np
    >>> a = np.full((1, 3, 1), 0.5, "float32")
    >>> b = np.ones((1, 3, 1), "float32")
    >>> np.asarray(linear_scan(a, b))[0, :, 0]  # 1, 0.5 + 1, 0.75 + 1
    array([1.  , 1.5 , 1.75], dtype=float32)
    """
    a, b = ops.convert_to_tensor(a), ops.convert_to_tensor(b)
    if a.shape[1] is not None:
        cum_a, h = _blelloch(a, b)
    else:
        cum_a, h = _doubling(a, b)
    if h0 is not None:
        h = h + cum_a * ops.expand_dims(h0, 1)
    return h


class _MinCell(keras.layers.Layer):
    """Shared machinery of :class:`MinGRUCell` and :class:`MinLSTMCell` (not registered)."""

    #: column blocks of ``kernel`` and ``bias``, in order
    blocks: tuple[str, ...] = ()

    def __init__(
        self,
        units: int,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        store_weight_options(self, locals())
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        width = len(self.blocks) * self.units
        self.kernel = add_option_weight(self, "kernel", (feature_dim(self, input_shape), width))
        self.bias = add_option_weight(self, "bias", (width,))
        self.built = True

    def project_inputs(self, inputs):
        """``x W + b`` for inputs of shape ``(..., input_dim)``: every pre-activation of a step."""
        return ops.add(ops.matmul(inputs, self.kernel), self.bias)

    def split(self, projected):
        """The pre-activation blocks of ``projected``, by name (see ``blocks``)."""
        u = self.units
        return {name: projected[..., k * u : (k + 1) * u] for k, name in enumerate(self.blocks)}

    def coefficients(self, projected):
        """``(a, b, gates)`` of the step ``h_t = a h_{t-1} + b`` from the pre-activations ``x W + b``.

        Works on one step ``(batch, width)`` or a whole sequence ``(batch,
        timesteps, width)``: the parallel scan and the step loop share it.
        """
        raise NotImplementedError

    def gate_step(self, inputs, states, training=False):
        """One step with its gates (the telemetry contract of :mod:`lstm_apps.telemetry`).

        Returns:
            ``(h, [h], gates)``: ``h`` as :meth:`call` computes it and a dict
            of ``(batch, units)`` tensors named as the class docstring says.
        """
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        a, b, gates = self.coefficients(self.project_inputs(inputs))
        h = a * h_prev + b
        return h, [h], gates

    def call(self, inputs, states, training=False):
        h, new_states, _ = self.gate_step(inputs, states, training=training)
        return h, new_states

    def get_initial_state(self, batch_size=None):
        """``h_0 = 0`` exactly."""
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {**super().get_config(), **constructor_config(self)}


# the arguments of both min cells (those of _MinCell) and their call
_CELL_DOC = """

    Args:
        units: size of the state (and output).
        kernel_initializer, bias_initializer: initializers of ``kernel`` and ``bias``.
        kernel_regularizer, bias_regularizer, kernel_constraint,
        bias_constraint: as in Keras's cells (``keras.layers.GRUCell``, ``keras.layers.LSTMCell``).
        **kwargs: standard layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: a 2-D tensor ``(batch, input_dim)``, one time step.
        states: ``[h]``, ``(batch, units)``.
        training: unused (no dropout); accepted for the cell contract.
"""


@keras.saving.register_keras_serializable(package="lstm_apps")
class MinGRUCell(_MinCell):
    __doc__ = (
        """Cell of the minimal GRU (minGRU) of Feng et al. (2024), "Were RNNs All We Needed?".

    The update gate and the candidate are functions of the input alone (no
    reset gate, no ``h_{t-1}`` inside), with the paper's positive candidate
    activation ``g``:

    ```
    z_t   = sigmoid(x_t W_z + b_z)                 update gate
    h~_t  = g(x_t W_h + b_h)                       candidate, g(v) = v + 0.5 (v >= 0), sigmoid(v) (v < 0)
    h_t   = (1 - z_t) * h_{t-1} + z_t * h~_t
    ```

    so ``h_t = a_t h_{t-1} + b_t`` with ``a_t = 1 - z_t`` (computed as
    ``sigmoid(-k_z)``, exact also where ``z_t`` is close to 1) and
    ``b_t = z_t h~_t``, which :class:`MinGRU` (``parallel=True``) scans over
    a whole sequence at once (:func:`linear_scan`). The initial state is
    ``h_0 = 0``.

    Weight layout: ``kernel`` ``(input_dim, 2 * units)`` and ``bias``
    ``(2 * units,)``, columns ``[z | h~]``; no recurrent weights, so
    ``2 * units * (input_dim + 1)`` parameters."""
        + _CELL_DOC
        + """
    Gate telemetry (:meth:`gate_step`): ``"update_gate"`` (``z_t``) and
    ``"candidate"`` (``h~_t``); the step's output ``h_t`` is returned beside them.

    Example:

    ```python
    cell = MinGRUCell(8)
    y = keras.layers.RNN(cell, return_sequences=True)(np.zeros((2, 10, 3), "float32"))  # (2, 10, 8)
    ```
    """
    )

    blocks = ("update", "candidate")

    def coefficients(self, projected):
        p = self.split(projected)
        z = ops.sigmoid(p["update"])
        candidate = candidate_activation(p["candidate"])
        # 1 - z as sigmoid(-k) keeps its precision when z is close to 1
        return ops.sigmoid(-p["update"]), z * candidate, {"update_gate": z, "candidate": candidate}


@keras.saving.register_keras_serializable(package="lstm_apps")
class MinLSTMCell(_MinCell):
    __doc__ = (
        """Cell of the minimal LSTM (minLSTM) of Feng et al. (2024), "Were RNNs All We Needed?".

    Forget and input gates from the input alone, normalised to sum to one
    (the paper's time-independent scale), with the positive candidate
    activation ``g``:

    ```
    f_t   = sigmoid(x_t W_f + b_f),  i_t = sigmoid(x_t W_i + b_i)
    f'_t  = f_t / (f_t + i_t),       i'_t = i_t / (f_t + i_t)
    h~_t  = g(x_t W_h + b_h)         g(v) = v + 0.5 (v >= 0), sigmoid(v) (v < 0)
    h_t   = f'_t * h_{t-1} + i'_t * h~_t
    ```

    The normalised gates are computed from logarithms, ``d = log f - log i =
    log sigmoid(k_f) - log sigmoid(k_i)`` (each ``-softplus(-k)``, stable),
    ``f' = sigmoid(d)``, ``i' = sigmoid(-d)``, so two vanishing gates still
    give ``f' + i' = 1`` and never ``0 / 0``. :class:`MinLSTM`
    (``parallel=True``) scans ``h_t = a_t h_{t-1} + b_t`` with ``a_t = f'_t``
    and ``b_t = i'_t h~_t`` over a whole sequence at once
    (:func:`linear_scan`). The initial state is ``h_0 = 0``.

    Weight layout: ``kernel`` ``(input_dim, 3 * units)`` and ``bias``
    ``(3 * units,)``, columns ``[f | i | h~]``; ``3 * units * (input_dim + 1)``
    parameters."""
        + _CELL_DOC
        + """
    Gate telemetry (:meth:`gate_step`): ``"forget_gate"`` and
    ``"input_gate"`` (the normalised ``f'_t`` and ``i'_t`` that act on the
    state) and ``"candidate"`` (``h~_t``); the step's output ``h_t`` is
    returned beside them.

    Example:

    ```python
    cell = MinLSTMCell(8)
    y = keras.layers.RNN(cell)(np.zeros((2, 10, 3), "float32"))  # (2, 8)
    ```
    """
    )

    blocks = ("forget", "input", "candidate")

    def _log_ratio(self, p):
        # d = log f - log i
        return log_sigmoid(p["forget"]) - log_sigmoid(p["input"])

    def coefficients(self, projected):
        p = self.split(projected)
        d = self._log_ratio(p)
        forget, inp = ops.sigmoid(d), ops.sigmoid(-d)
        candidate = candidate_activation(p["candidate"])
        gates = {"forget_gate": forget, "input_gate": inp, "candidate": candidate}
        return forget, inp * candidate, gates


class _MinRNN(CellRNN):
    """A :class:`~lstm_apps.layers._cell_rnn.CellRNN` of a min cell whose time loop may be a parallel scan
    (not registered)."""

    switches = {"parallel": True}
    switches_after = "units"

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.parallel:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        h0 = initial_state[0] if isinstance(initial_state, (list, tuple)) else initial_state
        dtype = self.compute_dtype
        scan_dtype = "float32" if dtype in ("float16", "bfloat16") else dtype
        if kernels.sequential_loop_preferred():  # a CPU: one compiled loop beats the scan there
            cell = self.cell
            last, outputs, states = kernels.gated_linear_rnn(
                sequences,
                h0,
                cell.kernel,
                cell.bias,
                lambda projected: cell.coefficients(projected)[:2],
                (type(cell).__name__, cell.units),
                scan_dtype=scan_dtype,
                mask=mask,
                go_backwards=self.go_backwards,
                return_sequences=self.return_sequences,
                zero_output_for_mask=self.zero_output_for_mask,
            )
            return ops.cast(last, dtype), ops.cast(outputs, dtype), [ops.cast(states[0], dtype)]
        if self.go_backwards:  # as keras.layers.RNN: outputs stay in processing order
            sequences = ops.flip(sequences, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        # under a mixed-precision policy the gates and the scan run in float32
        projected = ops.cast(self.cell.project_inputs(sequences), scan_dtype)
        a, b, _ = self.cell.coefficients(projected)
        keep = None
        if mask is not None:  # a masked step keeps the state: a = 1, b = 0
            keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
            a = ops.where(keep, a, ops.ones_like(a))
            b = ops.where(keep, b, ops.zeros_like(b))
        h = ops.cast(linear_scan(a, b, ops.cast(h0, scan_dtype)), dtype)
        outputs = h
        if keep is not None:
            # keras.layers.RNN outputs zeros at masked steps (zero_output_for_mask) or repeats the
            # previous output, which is zeros before the first unmasked step (not h_0).
            if self.zero_output_for_mask:
                shown = keep
            else:
                shown = ops.cumsum(ops.cast(keep, "int32"), axis=1) > 0
            outputs = ops.where(shown, h, ops.zeros_like(h))
        last_output = outputs[:, -1]
        if not self.return_sequences:
            outputs = ops.expand_dims(last_output, 1)
        return last_output, outputs, [h[:, -1]]


_LAYER_DOC = """ The cell's arguments are read-only properties of the layer
    (``layer.units`` ...).

    Args:
        units: size of the state (and output).
        parallel: ``True`` runs a sequence as one parallel scan
            (:func:`linear_scan`, ``keras.ops`` only: ``O(log T)`` depth,
            for training on long sequences); ``False`` runs the cell step
            by step in ``keras.layers.RNN`` (``unroll`` applies only here).
            Both give the same outputs (within float32 rounding, <= 1e-5
            after 1000 steps) and the same states, and streaming export
            always runs the cell one step at a time.
        kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint: as in the cell.
        return_sequences: return the whole output sequence, not only the last output.
        return_state: also return the final state ``h``.
        go_backwards: process the input sequence backwards (outputs in
            processing order, as ``keras.layers.RNN``).
        stateful: keep the last state of each batch for the next batch.
        unroll: unroll the step-by-step loop (``parallel=False`` only).
        zero_output_for_mask: output zeros at masked steps (with ``return_sequences``).
        **kwargs: standard layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: a 3-D tensor ``(batch, timesteps, features)``.
        mask: optional boolean ``(batch, timesteps)``; a masked step keeps
            the previous state and, as ``keras.layers.RNN`` does, outputs the
            previous output (zeros before the first unmasked step).
        training: Python boolean (no dropout in this layer).
        initial_state: optional list ``[h0]`` (any sign; the default is ``h_0 = 0``).
"""


@keras.saving.register_keras_serializable(package="lstm_apps")
class MinGRU(_MinRNN):
    cell_class = MinGRUCell
    cell_name = "min_gru_cell"
    __doc__ = (
        """Minimal GRU layer (minGRU, Feng et al. 2024): a :class:`MinGRUCell` trained as a parallel scan.

    ``h_t = (1 - z_t) h_{t-1} + z_t g(x_t W_h + b_h)`` with
    ``z_t = sigmoid(x_t W_z + b_z)``: see :class:`MinGRUCell` for the
    equations and the weight layout (``kernel`` ``(input_dim, 2 * units)``,
    columns ``[z | h~]``, and ``bias``)."""
        + _LAYER_DOC
        + """
    Example:

    ```python
    model = keras.Sequential([keras.Input((1000, 3)), MinGRU(32), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(np.random.rand(8, 1000, 3), np.random.rand(8, 1), epochs=1, verbose=0)
    ```
    """
    )


@keras.saving.register_keras_serializable(package="lstm_apps")
class MinLSTM(_MinRNN):
    cell_class = MinLSTMCell
    cell_name = "min_lstm_cell"
    __doc__ = (
        """Minimal LSTM layer (minLSTM, Feng et al. 2024): a :class:`MinLSTMCell` trained as a parallel scan.

    ``h_t = f'_t h_{t-1} + i'_t g(x_t W_h + b_h)`` with the normalised gates
    ``f' = f / (f + i)``, ``i' = i / (f + i)`` of ``f_t, i_t = sigmoid(x_t W + b)``:
    see :class:`MinLSTMCell` for the equations and the weight layout
    (``kernel`` ``(input_dim, 3 * units)``, columns ``[f | i | h~]``, and ``bias``)."""
        + _LAYER_DOC
        + """
    Example:

    ```python
    layer = MinLSTM(16, return_sequences=True, parallel=False)   # the step-by-step loop
    y = layer(np.zeros((2, 50, 3), "float32"))                    # (2, 50, 16)
    ```
    """
    )
