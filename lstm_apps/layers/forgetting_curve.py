"""A gray-box cell for human forgetting: memory strength decaying over elapsed time."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from lstm_apps.layers import kernels
from lstm_apps.layers._common import check_positive_int, finite_array
from lstm_apps.layers.graybox import GrayBoxCell

__all__ = ["ForgettingCurveCell", "forgetting_cell_reference", "forgetting_cell_recall"]

_READOUTS = ("linear", "activation")
_EPS = 1e-3  # activation floor: ln(eps) is the log activation of a never-studied item


@keras.saving.register_keras_serializable(package="lstm_apps")
class ForgettingCurveCell(GrayBoxCell):
    """Multi-timescale forgetting cell after Ebbinghaus (1885) and Mozer et al. (2009).

    Ebbinghaus, *Über das Gedächtnis* (1885) measured how much of a learned
    list is kept ("savings") after delays from 20 minutes to 31 days; Mozer,
    Pashler et al., "Predicting the optimal spacing of study: a multiscale
    context model of memory" (NIPS 2009) explained the spacing effect with
    several memory traces that decay at their own rates. This cell is that
    model as an LSTM cell: the cell state is memory strength, the forget gate
    is the decay over the *elapsed time* since the previous event (irregular
    intervals are inputs, never resampled away), a study event opens the
    input gate and reinforces memory, and recall probability is read out.

    Each time step is one event (a study, a review or a test) of one item.
    Inputs per step: ``x[:, 0]`` = Δt, the time elapsed since the previous
    event (in the unit of ``tau``, e.g. days); ``x[:, 1]`` = ``study`` in
    [0, 1] (1 when the item is (re)studied at this event, 0 for a pure test);
    ``x[:, 2:]`` = event features (e.g. the one-hot rating of a review), which
    modulate how far the input gate opens. With ``K = units`` memory cells:

    ```
    f_k  = exp(-max(Δt, 0) / tau_k)              forget gate: decay over Δt
    s~_k = f_k * s_k                              memory strength just before the event
    p    = sigmoid(sum_k w_k s~_k + b)            output: recall probability (before
                                                  the event's outcome is seen);
                                                  readout="activation":
    p    = sigmoid(a ln(eps + sum_k w_k s~_k) + b) as ACT-R's log activation
    i_k  = study * sigmoid(e W_k + u_k p + c_k)   input gate: how far the event moves memory
    g_k  = sigmoid(e V_k + a_k)                   cell input: the level the event sets
                                                  (near 1 for a successful study; a lapse
                                                  may set it lower)
    s_k' = s~_k + i_k (g_k - s~_k)                new strength, in [0, 1]
    ```

    The update is an LSTM state update with the input gate tied to the
    forget gate on the decayed content: ``s' = (1 - i) f s + i g``. The
    reinforcement ``i (g - s~)`` is larger when memory has decayed more
    (spacing effect); a negative ``u_k`` makes a hard retrieval (low ``p``)
    reinforce more ("desirable difficulty"). The output at a step
    depends only on earlier events and Δt, so it predicts the outcome of the
    event without seeing it.

    Physical parameters (:meth:`physical_parameters`):

    * ``tau`` (K,): time constant of each memory cell, in the time unit of
      Δt (also reported as ``half_life`` = τ ln 2);
    * ``readout_weight`` (K,) > 0: how much each memory cell's strength adds
      to the log-odds of recall; ``readout_bias``: log-odds of recall with no
      memory left (the floor of the forgetting curve); with
      ``readout="activation"`` also ``readout_slope`` a > 0, the inverse of
      ACT-R's retrieval noise (recall is logistic in log activation);
    * ``retrieval_gain`` (K,): ``u_k``, the dependence of reinforcement on
      the recall probability at study time (negative = spacing benefit).

    Other weights: ``gate_kernel`` W (n_event_features, K), ``gate_bias`` c
    (K,), ``target_kernel`` V (n_event_features, K) and ``target_bias`` a (K,).
    Output: recall probability, shape ``(batch, 1)``. State: memory strength
    ``s``, shape ``(batch, K)``, zero (never studied) at the start.

    Args:
        units: number of memory cells K (time constants).
        tau_init: initial time constants: a number, one per cell, or
            ``None`` for a log-spaced ladder from 0.02 to 100 time units.
        gate_bias_init: initial input-gate bias (large = a study fully
            refreshes memory).
        target_bias_init: initial cell-input bias (large = a study sets
            memory to full strength).
        readout: ``"linear"`` (recall logistic in the summed strengths) or
            ``"activation"`` (logistic in their logarithm, like ACT-R).
        readout_bias_init: initial log-odds of recall with no memory left.
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: ``(batch, 2 + n_event_features)``: ``[Δt, study, features...]``.
        states: ``[s]`` with ``s`` of shape ``(batch, units)``.
        training: unused.

    Example:

    ```python
    cell = ForgettingCurveCell(3)
    layer = keras.layers.RNN(cell, return_sequences=True)
    # study at t=0, then a test 1.0 day later
    x = np.array([[[0.0, 1.0], [1.0, 0.0]]], "float32")
    p = layer(x)              # (1, 2, 1); p[:, 1] = recall after one day
    cell.physical_parameters()["tau"]
    ```
    """

    def __init__(
        self,
        units,
        tau_init=None,
        gate_bias_init=4.0,
        readout_bias_init=-2.0,
        target_bias_init=4.0,
        readout="linear",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        if tau_init is None:
            tau = np.geomspace(0.02, 100.0, self.units) if self.units > 1 else np.array([1.0])
        else:
            tau = (
                np.broadcast_to(np.asarray(tau_init, dtype="float64"), (self.units,))
                if np.ndim(tau_init) == 0
                else np.asarray(tau_init, dtype="float64")
            )
            if tau.shape != (self.units,) or np.any(tau <= 0) or not np.all(np.isfinite(tau)):
                raise ValueError(
                    f"tau_init must be a positive number or a list of {self.units} positive numbers, "
                    f"received {tau_init!r}."
                )
        self.tau_init = [float(v) for v in tau]
        self.gate_bias_init = float(finite_array("gate_bias_init", gate_bias_init))
        self.readout_bias_init = float(finite_array("readout_bias_init", readout_bias_init))
        self.target_bias_init = float(finite_array("target_bias_init", target_bias_init))
        if readout not in _READOUTS:
            raise ValueError(f"readout must be one of {_READOUTS}, received {readout!r}.")
        self.readout = readout
        self.state_size = self.units
        self.output_size = 1

    def build(self, input_shape):
        features = int(input_shape[-1])
        if features < 2:
            raise ValueError(
                "ForgettingCurveCell expects inputs [Δt, study, features...] with at least 2 features, "
                f"received input shape {tuple(input_shape)!r}."
            )
        self.n_event_features = features - 2
        k = self.units
        self.add_log_weight("tau", (k,), np.asarray(self.tau_init))
        self.add_positive_weight("readout_weight", (k,), 1.0)
        self.readout_bias = self.add_weight(
            name="readout_bias", shape=(1,), initializer=keras.initializers.Constant(self.readout_bias_init)
        )
        if self.readout == "activation":
            self.add_positive_weight("readout_slope", (1,), 1.0)
        self.retrieval_gain = self.add_weight(name="retrieval_gain", shape=(k,), initializer="zeros")
        self.gate_kernel = (
            self.add_weight(
                name="gate_kernel", shape=(self.n_event_features, k), initializer="glorot_uniform"
            )
            if self.n_event_features
            else None
        )
        self.gate_bias = self.add_weight(
            name="gate_bias", shape=(k,), initializer=keras.initializers.Constant(self.gate_bias_init)
        )
        self.target_kernel = (
            self.add_weight(name="target_kernel", shape=(self.n_event_features, k), initializer="zeros")
            if self.n_event_features
            else None
        )
        self.target_bias = self.add_weight(
            name="target_bias", shape=(k,), initializer=keras.initializers.Constant(self.target_bias_init)
        )
        self.built = True

    def gate_step(self, inputs, states, training=None):
        """One step with its gates, for :func:`lstm_apps.telemetry.trace_gates`.

        Returns:
            ``(p, [s'], gates)``, as :meth:`call` computes them; ``gates``
            maps ``"forget_gate"`` (the decay ``f_k`` over Δt),
            ``"input_gate"`` (``i_k``), ``"cell_input"`` (``g_k``; ``(units,)``
            without event features) and ``"cell_state"`` (the new strength
            ``s_k'``), each ``(batch, units)``.
        """
        s = states[0] if isinstance(states, (list, tuple)) else states
        dt = ops.maximum(inputs[:, 0:1], 0.0)
        study = ops.clip(inputs[:, 1:2], 0.0, 1.0)
        tau = self.bounded_value("tau")
        f = ops.exp(-dt / tau)
        s_dec = f * s
        w = self.bounded_value("readout_weight")
        total = ops.sum(s_dec * w, axis=-1, keepdims=True)
        if self.readout == "activation":
            total = self.bounded_value("readout_slope") * ops.log(total + _EPS)
        logit = total + self.readout_bias
        p = ops.sigmoid(logit)
        z = p * self.retrieval_gain + self.gate_bias
        if self.gate_kernel is not None:
            z = z + ops.matmul(inputs[:, 2:], self.gate_kernel)
        i = study * ops.sigmoid(z)
        zg = self.target_bias
        if self.target_kernel is not None:
            zg = zg + ops.matmul(inputs[:, 2:], self.target_kernel)
        g = ops.sigmoid(zg)
        s_new = s_dec + i * (g - s_dec)
        return p, [s_new], {"forget_gate": f, "input_gate": i, "cell_input": g, "cell_state": s_new}

    def call(self, inputs, states, training=None):
        p, new_states, _ = self.gate_step(inputs, states)
        return p, new_states

    def fused_loop(self, sequences, initial_state, **loop):
        """Whole sequences on :func:`lstm_apps.layers.kernels.forgetting_curve` (see :class:`GrayBoxRNN`)."""
        return kernels.forgetting_curve(
            sequences,
            initial_state,
            self.bounded_value("tau"),
            self.bounded_value("readout_weight"),
            self.readout_bias,
            self.retrieval_gain,
            self.gate_bias,
            self.target_bias,
            gate_kernel=self.gate_kernel,
            target_kernel=self.target_kernel,
            readout_slope=self.bounded_value("readout_slope") if self.readout == "activation" else None,
            **loop,
        )

    def physical_parameters(self):
        params = super().physical_parameters()
        params["half_life"] = params["tau"] * math.log(2.0)
        params["readout_bias"] = np.asarray(ops.convert_to_numpy(self.readout_bias))
        params["retrieval_gain"] = np.asarray(ops.convert_to_numpy(self.retrieval_gain))
        return params

    def numpy_parameters(self) -> dict[str, np.ndarray]:
        """Every effective weight as NumPy, in the form :func:`forgetting_cell_reference` takes."""
        k = self.units
        return {
            "tau": np.asarray(ops.convert_to_numpy(self.bounded_value("tau")), "float64"),
            "readout_weight": np.asarray(
                ops.convert_to_numpy(self.bounded_value("readout_weight")), "float64"
            ),
            "readout_bias": float(np.asarray(ops.convert_to_numpy(self.readout_bias))[0]),
            "retrieval_gain": np.asarray(ops.convert_to_numpy(self.retrieval_gain), "float64"),
            "gate_kernel": np.asarray(ops.convert_to_numpy(self.gate_kernel), "float64")
            if self.gate_kernel is not None
            else np.zeros((0, k)),
            "gate_bias": np.asarray(ops.convert_to_numpy(self.gate_bias), "float64"),
            "target_kernel": np.asarray(ops.convert_to_numpy(self.target_kernel), "float64")
            if self.target_kernel is not None
            else np.zeros((0, k)),
            "target_bias": np.asarray(ops.convert_to_numpy(self.target_bias), "float64"),
            "readout_slope": float(np.asarray(ops.convert_to_numpy(self.bounded_value("readout_slope")))[0])
            if self.readout == "activation"
            else None,
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            tau_init=list(self.tau_init),
            gate_bias_init=self.gate_bias_init,
            readout_bias_init=self.readout_bias_init,
            target_bias_init=self.target_bias_init,
            readout=self.readout,
        )
        return config


def forgetting_cell_recall(strength, params):
    """Recall probability read out from memory strengths ``(..., K)`` (NumPy).

    ``sigmoid(Σ_k w_k s_k + b)``, or ``sigmoid(a ln(eps + Σ_k w_k s_k) + b)``
    when ``params`` has a ``readout_slope`` a (``readout="activation"``): the
    one NumPy form of :class:`ForgettingCurveCell`'s readout, used by
    :func:`forgetting_cell_reference` and by
    :func:`lstm_apps.baselines.curves.fit_cell_curve`.
    """
    total = np.sum(np.asarray(strength, "float64") * np.asarray(params["readout_weight"], "float64"), axis=-1)
    if params.get("readout_slope") is not None:
        total = params["readout_slope"] * np.log(total + _EPS)
    return 1.0 / (1.0 + np.exp(-(total + params["readout_bias"])))


def forgetting_cell_reference(x, params, s0=None):
    """NumPy reference of :class:`ForgettingCurveCell` over whole sequences.

    Args:
        x: ``(batch, time, 2 + n_event_features)`` inputs ``[Δt, study, features...]``.
        params: the dict of :meth:`ForgettingCurveCell.numpy_parameters`
            (``tau``, ``readout_weight``, ``readout_bias``, ``retrieval_gain``,
            ``gate_kernel``, ``gate_bias``, ``target_kernel``, ``target_bias``).
        s0: initial memory strength ``(batch, K)``; zeros when None.

    Returns:
        ``(p, s_before, s_after)``: recall probability ``(batch, time)``, the
        memory strength just before each event (after decay) and just after
        it, each ``(batch, time, K)``.
    """
    x = np.asarray(x, dtype="float64")
    if x.ndim != 3 or x.shape[-1] < 2:
        raise ValueError(f"x must have shape (batch, time, 2 + features), received shape {x.shape!r}.")
    tau = np.asarray(params["tau"], "float64")
    k = tau.shape[0]
    kernel = np.asarray(params.get("gate_kernel", np.zeros((x.shape[-1] - 2, k))), "float64")
    s = np.zeros((x.shape[0], k)) if s0 is None else np.asarray(s0, "float64").copy()
    ps, before, after = [], [], []
    for t in range(x.shape[1]):
        dt = np.maximum(x[:, t, 0:1], 0.0)
        study = np.clip(x[:, t, 1:2], 0.0, 1.0)
        s_dec = np.exp(-dt / tau) * s
        p = forgetting_cell_recall(s_dec, params)
        z = p[:, None] * params["retrieval_gain"] + params["gate_bias"]
        if kernel.shape[0]:
            z = z + x[:, t, 2:] @ kernel
        i = study / (1.0 + np.exp(-z))
        zg = np.broadcast_to(
            np.asarray(params.get("target_bias", np.full(k, 50.0)), "float64"), (x.shape[0], k)
        )
        if kernel.shape[0] and "target_kernel" in params:
            zg = zg + x[:, t, 2:] @ np.asarray(params["target_kernel"], "float64")
        g = 1.0 / (1.0 + np.exp(-zg))
        s = s_dec + i * (g - s_dec)
        ps.append(p)
        before.append(s_dec)
        after.append(s)
    return np.stack(ps, 1), np.stack(before, 1), np.stack(after, 1)
