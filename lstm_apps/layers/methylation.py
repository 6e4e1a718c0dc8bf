"""A gray-box cell for DNA methylation maintenance across cell divisions."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from lstm_apps.datasets.methylation import methylation_equilibrium, methylation_recursion
from lstm_apps.layers import kernels
from lstm_apps.layers._common import finite_array
from lstm_apps.layers.graybox import GrayBoxCell

__all__ = ["MethylationCell", "methylation_cell_reference", "MU_RANGE", "DELTA_RANGE"]

#: Physical ranges of the maintenance efficiency μ and the de novo rate δ.
MU_RANGE = (0.5, 1.0)
DELTA_RANGE = (0.0, 0.5)
_INITIAL_STATES = ("equilibrium", "zeros")


@keras.saving.register_keras_serializable(package="lstm_apps")
class MethylationCell(GrayBoxCell):
    """Methylation-maintenance cell after Otto & Walbot (1990) and Genereux et al. (2005).

    The classic model of a CpG site's methylation across cell divisions
    (Otto & Walbot, *Genetics* 1990; Genereux, Miner, Bergstrom & Laird,
    *PNAS* 2005) is the recursion ``p' = μ p + δ (1 − p)``: a methylated
    site keeps its mark through replication with maintenance efficiency μ
    (DNMT1), an unmethylated one gains it de novo with rate δ (DNMT3A/B).
    It is an LSTM cell with tied gates: per site k, with ``dose`` the
    demethylating drug's strength in the division (e.g. decitabine, which
    traps DNMT1):

    ```
    μ_t  = μ_k (1 − κ_k · dose_t)         maintenance during the division
    f_t  = μ_t − δ_k                      forget gate: methylation kept
    i_t  = 1 − f_t                        input gate, tied to the forget gate
    g_t  = δ_k / (1 − μ_t + δ_k)          cell input: the equilibrium level
    p_t  = f_t p_{t−1} + i_t g_t          = μ_t p + δ_k (1 − p): an EMA, in [0, 1]
    ```

    The state (and output) is the methylation fraction of each site. The
    same recursion in NumPy, which the simulator
    :func:`~lstm_apps.datasets.methylation.simulate_methylation` draws its
    data with, is :func:`~lstm_apps.datasets.methylation.methylation_recursion`
    (here :func:`methylation_cell_reference`); the tests check this cell
    against it.

    Physical parameters (:meth:`physical_parameters`): ``mu`` (maintenance
    efficiency, in (0.5, 1)), ``delta`` (de novo rate, in (0, 0.5)),
    ``inhibition`` κ (fraction of maintenance a full drug dose removes, in
    (0, 1)), and the derived ``equilibrium`` δ / (1 − μ + δ) and
    ``forget`` f = μ − δ (per-division memory of the methylation state;
    ``recovery_divisions`` = 1 / (1 − f) is the time constant of recovery).

    Args:
        units: number of CpG sites (each with its own μ, δ, κ).
        mu_init, delta_init, inhibition_init: initial values (numbers or one
            per site).
        initial_state: ``"equilibrium"`` (sites start at their drug-free
            steady state, the usual culture before treatment) or ``"zeros"``.
        **kwargs: ``keras.layers.Layer`` arguments.

    Call arguments:
        inputs: ``(batch, 1)``, the drug dose in [0, 1] for this division.
        states: ``[p]``, methylation fractions ``(batch, units)``.
        training: unused.

    Example:

    ```python
    cell = MethylationCell(4)
    layer = keras.layers.RNN(cell, return_sequences=True)
    dose = np.zeros((2, 30, 1), "float32"); dose[:, :5] = 1.0   # 5 treated divisions
    p = layer(dose)                        # (2, 30, 4) methylation fractions
    cell.physical_parameters()["mu"]
    ```
    """

    def __init__(
        self, units, mu_init=0.97, delta_init=0.05, inhibition_init=0.5, initial_state="equilibrium", **kwargs
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"units must be a positive integer, received units={units!r}.")
        self.units = int(units)
        self.mu_init = self._per_site("mu_init", mu_init, MU_RANGE)
        self.delta_init = self._per_site("delta_init", delta_init, DELTA_RANGE)
        self.inhibition_init = self._per_site("inhibition_init", inhibition_init, (0.0, 1.0))
        if initial_state not in _INITIAL_STATES:
            raise ValueError(f"initial_state must be one of {_INITIAL_STATES}, received {initial_state!r}.")
        self.initial_state = initial_state
        self.state_size = self.units
        self.output_size = self.units

    def _per_site(self, name, value, bounds):
        arr = finite_array(name, value)
        if arr.ndim == 0:
            arr = np.full(self.units, float(arr))
        if arr.shape != (self.units,):
            raise ValueError(
                f"{name} must be a number or a list of {self.units} values (one per site), "
                f"received {value!r}."
            )
        lo, hi = bounds
        if not np.all((arr > lo) & (arr < hi)):
            raise ValueError(f"{name} must lie strictly inside {bounds}, received {value!r}.")
        return [float(v) for v in arr]

    def build(self, input_shape):
        if int(input_shape[-1]) != 1:
            raise ValueError(
                "MethylationCell expects one input feature (the drug dose), "
                f"received input shape {tuple(input_shape)!r}."
            )
        k = self.units
        self.add_bounded_weight("mu", (k,), *MU_RANGE, np.asarray(self.mu_init))
        self.add_bounded_weight("delta", (k,), *DELTA_RANGE, np.asarray(self.delta_init))
        self.add_bounded_weight("inhibition", (k,), 0.0, 1.0, np.asarray(self.inhibition_init))
        self.built = True

    def equilibrium(self):
        """Drug-free steady state δ / (1 − μ + δ) per site, as a tensor."""
        mu, delta = self.bounded_value("mu"), self.bounded_value("delta")
        return delta / (1.0 - mu + delta)

    def get_initial_state(self, batch_size=None):
        if self.initial_state == "zeros":
            return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]
        return [ops.ones((batch_size, 1), dtype=self.compute_dtype) * ops.expand_dims(self.equilibrium(), 0)]

    def gate_step(self, inputs, states, training=None):
        """One step with its gates, for :func:`lstm_apps.telemetry.trace_gates`.

        Returns:
            ``(p, [p], gates)``, ``p`` as :meth:`call` computes it; ``gates``
            maps ``"forget_gate"`` (``f_t``), ``"input_gate"`` (``i_t``),
            ``"cell_input"`` (``g_t``) and ``"cell_state"`` (``p_t``), each
            ``(batch, units)``.
        """
        p = states[0] if isinstance(states, (list, tuple)) else states
        dose = ops.clip(inputs[:, 0:1], 0.0, 1.0)
        mu = self.bounded_value("mu") * (1.0 - self.bounded_value("inhibition") * dose)
        delta = self.bounded_value("delta")
        f = mu - delta
        i = 1.0 - f
        g = delta / (1.0 - mu + delta)
        p_new = f * p + i * g
        return p_new, [p_new], {"forget_gate": f, "input_gate": i, "cell_input": g, "cell_state": p_new}

    def call(self, inputs, states, training=None):
        p_new, new_states, _ = self.gate_step(inputs, states)
        return p_new, new_states

    def fused_loop(self, sequences, initial_state, **loop):
        """Whole sequences on :func:`lstm_apps.layers.kernels.methylation` (see :class:`GrayBoxRNN`)."""
        return kernels.methylation(
            sequences,
            initial_state,
            self.bounded_value("mu"),
            self.bounded_value("delta"),
            self.bounded_value("inhibition"),
            **loop,
        )

    def physical_parameters(self):
        params = super().physical_parameters()
        mu, delta = params["mu"], params["delta"]
        params["equilibrium"] = methylation_equilibrium(mu, delta)
        params["forget"] = mu - delta
        params["recovery_divisions"] = 1.0 / (1.0 - mu + delta)
        return params

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            mu_init=list(self.mu_init),
            delta_init=list(self.delta_init),
            inhibition_init=list(self.inhibition_init),
            initial_state=self.initial_state,
        )
        return config


#: NumPy reference of :class:`MethylationCell`: the simulator's recursion, written once.
methylation_cell_reference = methylation_recursion
