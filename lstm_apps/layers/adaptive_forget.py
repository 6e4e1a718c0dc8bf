"""An LSTM cell whose forget gate shuts on large returns, for volatility forecasting."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from lstm_apps import telemetry
from lstm_apps.layers import kernels
from lstm_apps.layers._common import finite_array
from lstm_apps.layers.graybox import GrayBoxCell
from lstm_apps.layers.lstm1997 import memory_half_life

__all__ = ["AdaptiveForgetCell", "forget_gate_trace", "variance_nll"]


@keras.saving.register_keras_serializable(package="lstm_apps")
class AdaptiveForgetCell(GrayBoxCell):
    """Adaptive-memory LSTM cell (Gers et al. 2000 forget gate, driven by |return|).

    A gray-box LSTM cell for financial returns in the spirit of
    Hochreiter & Schmidhuber (1997) with the forget gate of Gers, Schmidhuber
    & Cummins (2000), where the forget gate's pre-activation is tied to the
    size of today's return: ``a − b·|r_t|`` plus learned terms. In calm
    markets (small ``|r_t|``) the gate stays near ``σ(a)`` and the cell keeps
    a long memory of the volatility regime; a large return drives the gate
    towards zero and the cell forgets the calm regime at once, as a trader
    would. It generalises the exponentially weighted moving average
    (RiskMetrics) with a memory that adapts to the news.

    Update equations, with ``x_t`` the input (the return ``r_t`` in column
    ``return_index``, any extra channels such as volume or sentiment in the
    other columns) and ``u_t = [x_t, |r_t|]``:

    ```
    f_t = σ(a − b·|r_t| + W_f x_t + U_f h_{t−1})        forget gate
    i_t = σ(W_i u_t + U_i h_{t−1} + b_i)               input gate
    g_t = tanh(W_c u_t + U_c h_{t−1} + b_c)            cell input
    o_t = σ(W_o u_t + U_o h_{t−1} + b_o)               output gate
    s_t = f_t·s_{t−1} + i_t·g_t                        cell state (the regime memory)
    h_t = o_t·tanh(s_t)
    ```

    Physical parameters (read them with :meth:`physical_parameters`):

    * ``a`` (bounded to (−12, 12)): the forget gate's pre-activation on a
      day with a zero return; ``memory_half_life(a)`` is the calm market's
      memory in days.
    * ``b`` (positive, softplus): how much each unit of ``|r_t|`` shuts the
      gate; ``memory_half_life(a − b·|r|)`` is the memory after a move of
      size ``|r|`` (see :meth:`half_life`).

    ``W_f`` and ``U_f`` (the learned terms) start at zero, so an untrained
    cell's gate is exactly ``σ(a − b·|r_t|)``; training may add asymmetry
    (``W_f`` sees the signed return) and persistence (``U_f``). Extra input
    channels are fused into every gate. Returns should be scaled to unit
    variance (divide by the training sample's standard deviation) so that
    ``b`` reads as "per standard deviation".

    Args:
        units: positive integer, the number of memory cells.
        return_index: the input column holding the return (default 0).
        shared_forget: one ``(a, b)`` pair for all units (default, so the
            cell has one memory half-life to report) or one pair per unit.
        a_init: initial ``a`` (default 3.0: a calm half-life of about 14 days);
            with ``shared_forget=False`` also a list of one value per unit,
            e.g. spread out to start the units on different time scales.
        b_init: initial ``b`` (default 0.5), positive; a number or (per
            unit) a list.
        recurrent_forget: include the learned term ``U_f h_{t−1}`` (default True).
        kernel_initializer: for ``W_i, W_c, W_o`` (default ``"glorot_uniform"``).
        recurrent_initializer: for ``U_i, U_c, U_o`` (default ``"orthogonal"``).
        **kwargs: standard layer arguments.

    Call arguments:
        inputs: ``(batch, features)``, one time step.
        states: ``[h_{t−1}, s_{t−1}]``, each ``(batch, units)``.
        training: unused.

    Example:

    ```python
    import numpy as np, keras
    from lstm_apps.layers import AdaptiveForgetCell, forget_gate_trace
    layer = keras.layers.RNN(AdaptiveForgetCell(8), return_sequences=True)
    r = np.random.default_rng(0).standard_normal((2, 100, 1)).astype("float32")
    h = layer(r)                                   # (2, 100, 8)
    cell = layer.cell
    cell.physical_parameters()["a"], cell.half_life(0.0), cell.half_life(4.0)
    forget_gate_trace(layer, r)["forget_gate"].shape   # (2, 100, 8)
    ```
    """

    def __init__(
        self,
        units: int,
        return_index: int = 0,
        shared_forget: bool = True,
        a_init: float = 3.0,
        b_init: float = 0.5,
        recurrent_forget: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"units must be a positive integer, received units={units!r}.")
        if (
            isinstance(return_index, bool)
            or not isinstance(return_index, (int, np.integer))
            or return_index < 0
        ):
            raise ValueError(
                f"return_index must be a non-negative integer, received return_index={return_index!r}."
            )
        a_arr = finite_array("a_init", a_init).reshape(-1)
        b_arr = finite_array("b_init", b_init).reshape(-1)
        n_pairs = 1 if shared_forget else int(units) if isinstance(units, (int, np.integer)) else 1
        for name, arr, value in (("a_init", a_arr, a_init), ("b_init", b_arr, b_init)):
            if arr.size not in (1, n_pairs):
                per_unit = "" if shared_forget else f" or a list of {n_pairs} numbers (one per unit)"
                raise ValueError(f"{name} must be a number{per_unit}, received {name}={value!r}.")
        if not np.all((a_arr > -12.0) & (a_arr < 12.0)):
            raise ValueError(f"a_init must lie in (-12, 12), received a_init={a_init!r}.")
        if not np.all(b_arr > 0.0):
            raise ValueError(f"b_init must be > 0, received b_init={b_init!r}.")
        self.units = int(units)
        self.return_index = int(return_index)
        self.shared_forget = bool(shared_forget)
        self.a_init = float(a_arr[0]) if a_arr.size == 1 else [float(v) for v in a_arr]
        self.b_init = float(b_arr[0]) if b_arr.size == 1 else [float(v) for v in b_arr]
        self.recurrent_forget = bool(recurrent_forget)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"AdaptiveForgetCell needs a known feature dimension, received input shape {input_shape}."
            )
        if self.return_index >= input_dim:
            raise ValueError(
                f"return_index={self.return_index} is outside the input's {input_dim} feature columns; "
                f"expected an index below {input_dim}."
            )
        u = self.units
        self.kernel = self.add_weight(
            name="kernel", shape=(input_dim + 1, 3 * u), initializer=self.kernel_initializer
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(u, 3 * u), initializer=self.recurrent_initializer
        )
        self.bias = self.add_weight(name="bias", shape=(3 * u,), initializer="zeros")
        self.forget_kernel = self.add_weight(name="forget_kernel", shape=(input_dim, u), initializer="zeros")
        if self.recurrent_forget:
            self.forget_recurrent_kernel = self.add_weight(
                name="forget_recurrent_kernel", shape=(u, u), initializer="zeros"
            )
        shape = (1,) if self.shared_forget else (u,)
        self.a_raw = self.add_bounded_weight(
            "a", shape, -12.0, 12.0, np.asarray(self.a_init, dtype="float64")
        )
        self.b_raw = self.add_positive_weight("b", shape, np.asarray(self.b_init, dtype="float64"))
        self.built = True

    def gate_step(self, inputs, states, training=None):
        """One step with its gates, for :func:`lstm_apps.telemetry.trace_gates`.

        Returns:
            ``(h, [h, s], gates)``, ``h`` and ``s`` as :meth:`call` computes
            them; ``gates`` maps ``"input_gate"``, ``"forget_gate"``,
            ``"output_gate"`` (``i_t``, ``f_t``, ``o_t``) and ``"cell_state"``
            (``s_t``), each ``(batch, units)``.
        """
        h_prev, s_prev = states[0], states[1]
        r = inputs[:, self.return_index : self.return_index + 1]
        mag = ops.abs(r)
        a = self.bounded_value("a")
        b = self.bounded_value("b")
        f_pre = a - b * mag + ops.matmul(inputs, self.forget_kernel)
        if self.recurrent_forget:
            f_pre = f_pre + ops.matmul(h_prev, self.forget_recurrent_kernel)
        f = ops.sigmoid(f_pre)
        z = ops.matmul(ops.concatenate([inputs, mag], axis=-1), self.kernel)
        z = z + ops.matmul(h_prev, self.recurrent_kernel) + self.bias
        u = self.units
        i = ops.sigmoid(z[:, :u])
        g = ops.tanh(z[:, u : 2 * u])
        o = ops.sigmoid(z[:, 2 * u :])
        s = f * s_prev + i * g
        h = o * ops.tanh(s)
        return h, [h, s], {"input_gate": i, "forget_gate": f, "output_gate": o, "cell_state": s}

    def call(self, inputs, states, training=None):
        h, new_states, _ = self.gate_step(inputs, states)
        return h, new_states

    def fused_loop(self, sequences, initial_state, **loop):
        """Whole sequences on :func:`lstm_apps.layers.kernels.adaptive_forget` (see :class:`GrayBoxRNN`)."""
        return kernels.adaptive_forget(
            sequences,
            initial_state,
            self.kernel,
            self.recurrent_kernel,
            self.bias,
            self.forget_kernel,
            self.forget_recurrent_kernel if self.recurrent_forget else None,
            self.bounded_value("a"),
            self.bounded_value("b"),
            return_index=self.return_index,
            **loop,
        )

    # -- reading the physics ------------------------------------------------
    def half_life(self, abs_return) -> np.ndarray | float:
        """Memory half-life in steps implied by ``a − b·|r|`` for a return of size ``abs_return``.

        The learned terms (``W_f``, ``U_f``) are left out; see
        :func:`forget_gate_trace` for the gate the cell actually used.
        """
        p = GrayBoxCell.physical_parameters(self)
        out = memory_half_life(p["a"] - p["b"] * np.abs(np.asarray(abs_return, dtype="float64"))[..., None])
        out = np.asarray(out)
        return float(out.reshape(-1)[0]) if out.size == 1 else out

    def physical_parameters(self) -> dict[str, np.ndarray]:
        """``a``, ``b`` and ``half_life_calm`` (at ``|r| = 0``), as NumPy arrays."""
        p = super().physical_parameters()
        p["half_life_calm"] = np.asarray(memory_half_life(p["a"]))
        return p

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "return_index": self.return_index,
                "shared_forget": self.shared_forget,
                "a_init": self.a_init,
                "b_init": self.b_init,
                "recurrent_forget": self.recurrent_forget,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            }
        )
        return config


def _find_cell(layer):
    if isinstance(layer, AdaptiveForgetCell):
        return layer
    cell = getattr(layer, "cell", None)
    if isinstance(cell, AdaptiveForgetCell):
        return cell
    for sub in getattr(layer, "layers", []) or []:
        try:
            return _find_cell(sub)
        except ValueError:
            continue
    raise ValueError(
        f"found no AdaptiveForgetCell in {getattr(layer, 'name', layer)!r}; pass its RNN layer, "
        "the cell, or a model holding one."
    )


def forget_gate_trace(layer, inputs, initial_state=None) -> dict[str, np.ndarray]:
    """Per-step forget gate, cell state and output of an :class:`AdaptiveForgetCell`.

    :func:`lstm_apps.telemetry.gate_trace` of the cell, three of its arrays.

    Args:
        layer: the cell, the ``keras.layers.RNN`` holding it, or a model
            whose first such cell is used. The cell must see ``inputs``
            directly (its inputs are the model's inputs).
        inputs: ``(batch, timesteps, features)``.
        initial_state: optional ``[h0, s0]``.

    Returns:
        A dict of NumPy arrays, each ``(batch, timesteps, units)``:
        ``"forget_gate"`` (one column per unit; with a shared ``(a, b)`` the
        columns differ only through the learned terms), ``"cell_state"`` and
        ``"output"``.
    """
    cell = _find_cell(layer)
    trace = telemetry.gate_trace(cell, np.asarray(inputs, dtype="float32"), initial_state=initial_state)
    return {name: trace[name] for name in ("output", "forget_gate", "cell_state")}


@keras.saving.register_keras_serializable(package="lstm_apps")
def variance_nll(y_true, y_pred):
    """Gaussian negative log-likelihood of returns with predicted variance (QLIKE form).

    ``y_true`` is the squared (demeaned) return, ``y_pred`` the predicted
    variance ``h > 0``; the loss is ``mean(log h + y/h)``, which is twice the
    Gaussian negative log-likelihood minus ``log 2π``, and equals QLIKE.
    """
    y_pred = ops.maximum(ops.cast(y_pred, "float32"), 1e-8)
    y_true = ops.cast(y_true, "float32")
    return ops.mean(ops.log(y_pred) + y_true / y_pred, axis=-1)
