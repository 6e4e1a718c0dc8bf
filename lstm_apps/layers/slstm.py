"""The sLSTM of xLSTM (Beck, Hochreiter et al. 2024): exponential gating, a normaliser, a stabiliser
and memory mixing over heads with block-diagonal recurrent weights."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import initializers, ops

from lstm_apps.layers import kernels
from lstm_apps.layers._cell_rnn import CellRNN
from lstm_apps.layers._common import (
    add_option_weight,
    check_finite,
    check_positive_int,
    constructor_config,
    feature_dim,
    log_sigmoid,
    store_weight_options,
)

__all__ = ["SLSTM", "SLSTMCell"]

FORGET_ACTIVATIONS = ("sigmoid", "exp")


@keras.saving.register_keras_serializable(package="lstm_apps")
class SLSTMCell(keras.layers.Layer):
    """Cell of the sLSTM (scalar LSTM) of xLSTM (Beck, Hochreiter et al. 2024).

    With pre-activations ``[i~ | f~ | z~ | o~] = x_t W + r(h_{t-1}) + b``
    (``r`` the block-diagonal recurrent product below), per unit:

    ```
    log f_t = log sigmoid(f~_t)   (forget_activation="sigmoid")   or   f~_t   ("exp")
    m_t     = max(log f_t + m_{t-1}, i~_t)                  stabiliser
    i'_t    = exp(i~_t - m_t)                               stabilised exponential input gate
    f'_t    = exp(log f_t + m_{t-1} - m_t)                  stabilised forget gate
    z_t     = tanh(z~_t),   o_t = sigmoid(o~_t)
    c_t     = f'_t c_{t-1} + i'_t z_t                       cell state
    n_t     = f'_t n_{t-1} + i'_t                           normaliser
    h_t     = o_t * c_t / n_t
    ```

    The stabiliser changes no output: ``c_t`` and ``n_t`` are both scaled by
    ``exp(-m_t)``, so ``c_t / n_t`` is that of the unstabilised ``exp``
    gates, and ``exp`` never overflows. ``m_t`` makes the larger of ``f'_t``
    and ``i'_t`` equal to 1, so ``n_t >= 1`` from the first step on.

    All four states ``(h, c, n, m)`` start at 0. At a step whose ``n_{t-1}``
    is 0 (the first step from those states) the stabiliser is ``m_t = i~_t``,
    as in the reference implementation (NX-AI/xlstm, vanilla
    ``slstm_forward_pointwise``): ``i'_1 = 1``, ``n_1 = 1``, ``c_1 = z_1``
    and ``h_1 = o_1 z_1``, with no ``0 / 0`` even when ``exp(i~)`` would
    underflow. The reference tests the whole batch (``all(n == 0)``); this
    cell tests each element, which is the same from zero states and also
    right when only some sequences of a batch start afresh. There ``f'_1``
    is set to 0 (it multiplies ``c_0 = n_0 = 0``; the reference's
    ``exp(log f_1 - i~_1)`` overflows in float32 for a very negative
    ``i~_1`` and turns the step into ``inf * 0 = NaN``).

    Heads (memory mixing): the units form ``num_heads`` heads of
    ``head_dim = units // num_heads`` units; each head's gates see only that
    head's previous output, so the recurrent weights are block-diagonal.
    Only the blocks are stored.

    Weight layout: ``kernel`` ``(input_dim, 4 * units)`` and ``bias``
    ``(4 * units,)``, columns ``[i | f | z | o]`` (each ``units`` wide, heads
    in order within a gate). ``recurrent_kernel``: with one head
    ``(units, 4 * units)``, columns ``[i | f | z | o]``; with ``H > 1`` heads
    ``(H, head_dim, 4 * head_dim)``, where ``recurrent_kernel[k]`` maps head
    ``k``'s output to its own ``[i | f | z | o]`` pre-activations (each
    ``head_dim`` wide). That is ``4 * units**2 / H`` recurrent parameters,
    the non-zero entries of the equivalent ``(units, 4 * units)`` block-diagonal
    matrix, and ``4 * units * (input_dim + units / H + 1)`` in all.

    Args:
        units: number of units (the output size); a multiple of ``num_heads``.
        num_heads: heads of the block-diagonal recurrence (1: a full recurrent matrix).
        forget_activation: ``"sigmoid"`` (``f = sigmoid(f~)``, the reference's
            default) or ``"exp"`` (``f = exp(f~)``, exponential like the input gate).
        forget_bias: initial forget-gate bias, a finite number or one per unit
            (``units`` values, e.g. a spread of memory lengths over the units).
            The other biases start at 0.
        kernel_initializer, recurrent_initializer: initializers of the input
            and recurrent weights (with heads, ``"orthogonal"`` makes the
            ``(H * head_dim, 4 * head_dim)`` stack of blocks orthogonal).
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint: as in
            ``keras.layers.LSTMCell``.
        **kwargs: standard layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: a 2-D tensor ``(batch, input_dim)``, one time step.
        states: ``[h, c, n, m]``, each ``(batch, units)``.
        training: unused (no dropout); accepted for the cell contract.

    Gate telemetry (:meth:`gate_step`): ``"input_gate"`` (``i'_t``),
    ``"forget_gate"`` (``f'_t``), ``"output_gate"`` (``o_t``),
    ``"cell_state"`` (``c_t``) and ``"normalizer"`` (``n_t``); the step's
    output ``h_t`` is returned beside them. The gates are the stabilised
    ones that act on the states (``exp(i~)`` itself may overflow).

    Example:

    ```python
    cell = SLSTMCell(8, num_heads=2)
    y = keras.layers.RNN(cell, return_sequences=True)(np.zeros((2, 10, 3), "float32"))  # (2, 10, 8)
    ```
    """

    def __init__(
        self,
        units: int,
        num_heads: int = 1,
        forget_activation: str = "sigmoid",
        forget_bias: float | Sequence[float] = 1.0,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.num_heads = check_positive_int("num_heads", num_heads)
        if self.units % self.num_heads:
            raise ValueError(
                f"units must be divisible by num_heads, received units={units} and num_heads={num_heads}."
            )
        self.head_dim = self.units // self.num_heads
        if forget_activation not in FORGET_ACTIVATIONS:
            raise ValueError(
                f"forget_activation must be one of {FORGET_ACTIVATIONS}, "
                f"received forget_activation={forget_activation!r}."
            )
        self.forget_activation = forget_activation
        self.forget_bias = check_finite("forget_bias", forget_bias, length=self.units)
        store_weight_options(self, locals())
        self.state_size = [self.units] * 4
        self.output_size = self.units

    @property
    def recurrent_kernel_shape(self) -> tuple[int, ...]:
        """``(units, 4 * units)`` with one head, ``(num_heads, head_dim, 4 * head_dim)`` with more."""
        if self.num_heads == 1:
            return (self.units, 4 * self.units)
        return (self.num_heads, self.head_dim, 4 * self.head_dim)

    def initial_bias(self) -> np.ndarray:
        """The bias vector the cell starts with: 0 except the forget block (``forget_bias``)."""
        bias = np.zeros(4 * self.units, dtype="float32")
        bias[self.units : 2 * self.units] = self.forget_bias
        return bias

    def build(self, input_shape):
        self.kernel = add_option_weight(self, "kernel", (feature_dim(self, input_shape), 4 * self.units))
        self.recurrent_kernel = add_option_weight(
            self, "recurrent_kernel", self.recurrent_kernel_shape, options="recurrent"
        )
        initial_bias = initializers.Constant(self.initial_bias())
        self.bias = add_option_weight(self, "bias", (4 * self.units,), initializer=initial_bias)
        self.built = True

    # -- computation ---------------------------------------------------------
    def project_inputs(self, inputs):
        """``x W + b`` for inputs of shape ``(..., input_dim)`` (no recurrence)."""
        return ops.add(ops.matmul(inputs, self.kernel), self.bias)

    def recurrent_projection(self, h, recurrent_kernel=None):
        """``r(h)``: the block-diagonal recurrent product, ``(batch, 4 * units)`` in ``[i | f | z | o]``
        (with ``recurrent_kernel`` in place of the cell's own weights when given)."""
        recurrent_kernel = self.recurrent_kernel if recurrent_kernel is None else recurrent_kernel
        if self.num_heads == 1:
            return ops.matmul(h, recurrent_kernel)
        heads, d = self.num_heads, self.head_dim
        per_head = ops.transpose(ops.reshape(h, (-1, heads, d)), (1, 0, 2))  # (H, batch, d)
        r = ops.matmul(per_head, recurrent_kernel)  # (H, batch, 4 d), per head [i | f | z | o]
        r = ops.transpose(ops.reshape(r, (heads, -1, 4, d)), (1, 2, 0, 3))  # (batch, gate, H, d)
        return ops.reshape(r, (-1, 4 * self.units))

    def step_projected(self, projected, states, recurrent_kernel=None):
        """One step from ``x W + b``; returns ``(h, [h, c, n, m], gates)`` (``recurrent_kernel``:
        other weights than the cell's own, as the fused loop passes them)."""
        h_prev, c_prev, n_prev, m_prev = states
        pre = ops.add(projected, self.recurrent_projection(h_prev, recurrent_kernel))
        u = self.units
        i_raw, f_raw, z_raw, o_raw = (pre[:, k * u : (k + 1) * u] for k in range(4))
        log_f = log_sigmoid(f_raw) if self.forget_activation == "sigmoid" else f_raw
        log_f_plus_m = log_f + m_prev
        fresh = ops.equal(n_prev, 0.0)
        m = ops.where(fresh, i_raw, ops.maximum(log_f_plus_m, i_raw))
        i_gate = ops.exp(i_raw - m)
        # a fresh start has f' = 0 (it would multiply c = n = 0, and exp(log f - i~) may overflow); the
        # exponent is zeroed there first so that no inf reaches the gradient of the unused branch
        f_exponent = ops.where(fresh, ops.zeros_like(m), log_f_plus_m - m)
        f_gate = ops.where(fresh, ops.zeros_like(m), ops.exp(f_exponent))
        o_gate = ops.sigmoid(o_raw)
        c = f_gate * c_prev + i_gate * ops.tanh(z_raw)
        n = f_gate * n_prev + i_gate
        h = o_gate * (c / n)
        gates = {
            "input_gate": i_gate,
            "forget_gate": f_gate,
            "output_gate": o_gate,
            "cell_state": c,
            "normalizer": n,
        }
        return h, [h, c, n, m], gates

    def gate_step(self, inputs, states, training=False):
        """One step with its gates (the telemetry contract of :mod:`lstm_apps.telemetry`).

        Returns:
            ``(h, [h, c, n, m], gates)`` as :meth:`call` computes them;
            ``gates`` as the class docstring names them.
        """
        return self.step_projected(self.project_inputs(inputs), states)

    def call(self, inputs, states, training=False):
        h, new_states, _ = self.gate_step(inputs, states, training=training)
        return h, new_states

    def get_initial_state(self, batch_size=None):
        """``h = c = n = m = 0``."""
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype) for _ in range(4)]

    def get_config(self):
        return {**super().get_config(), **constructor_config(self)}


@keras.saving.register_keras_serializable(package="lstm_apps")
class SLSTM(CellRNN):
    """sLSTM layer of xLSTM (Beck, Hochreiter et al. 2024): an :class:`SLSTMCell` in ``keras.layers.RNN``.

    Exponential input gate with a normaliser ``n`` and a stabiliser ``m``,
    ``h_t = o_t c_t / n_t``, and memory mixing through block-diagonal
    recurrent weights over ``num_heads`` heads; its gates see the previous
    output, so it runs step by step (no parallel scan). See
    :class:`SLSTMCell` for the equations, the start from zero states and the
    weight layout. The cell's arguments are read-only properties of the layer
    (``layer.num_heads`` ...).

    Args:
        units: number of units; a multiple of ``num_heads``.
        num_heads, forget_activation, forget_bias, kernel_initializer,
        recurrent_initializer, *_regularizer, *_constraint: as in :class:`SLSTMCell`.
        return_sequences: return the whole output sequence, not only the last output.
        return_state: also return the final states ``h, c, n, m``.
        go_backwards: process the input sequence backwards.
        stateful: keep the last states of each batch for the next batch.
        unroll: unroll the time loop.
        zero_output_for_mask: output zeros at masked steps (with ``return_sequences``).
        fused: with the TensorFlow backend (and ``unroll=False``), run
            :func:`lstm_apps.layers.kernels.slstm` for inference: every
            step's input projection in one product and the recurrence in one
            XLA-compiled loop, with the same outputs (and gradients). Training
            calls (``training=True``) and ``False`` run the generic
            ``keras.layers.RNN`` loop, one small op at a time.
        **kwargs: standard layer arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: a 3-D tensor ``(batch, timesteps, features)``.
        mask: optional boolean ``(batch, timesteps)``; masked steps keep the
            previous states (and repeat the previous output).
        training: Python boolean (no dropout in this layer).
        initial_state: optional list ``[h0, c0, n0, m0]``.

    Example:

    ```python
    model = keras.Sequential([keras.Input((40, 1)), SLSTM(32, num_heads=4), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(np.random.rand(8, 40, 1), np.random.rand(8, 1), epochs=1, verbose=0)
    ```
    """

    cell_class = SLSTMCell
    cell_name = "slstm_cell"
    switches = {"fused": True}

    def uses_fused_loop(self) -> bool:
        """Whether calls run the fused loop (``fused``, TensorFlow backend, no ``unroll``)."""
        # the fused sLSTM loop is TensorFlow code (kernels.fast_path_supported() is also true on JAX)
        return self.fused and not self.unroll and kernels.lstm1997_tf.fast_path_supported()

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.uses_fused_loop() or training:  # the generic loop trains faster (see kernels.slstm)
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        return kernels.slstm(
            sequences,
            list(initial_state),
            cell.kernel,
            cell.bias,
            cell.recurrent_kernel,
            lambda projected, states, recurrent: cell.step_projected(projected, states, recurrent)[:2],
            (cell.units, cell.num_heads, cell.forget_activation),
            mask=mask,
            go_backwards=self.go_backwards,
            return_sequences=self.return_sequences,
            zero_output_for_mask=self.zero_output_for_mask,
        )
