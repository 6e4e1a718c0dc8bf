"""The mechanistic oracle for methylation dynamics: the recursion fitted by least squares.

:func:`fit_recursion` fits, site by site, the exact model the simulator uses
(``p' = μ (1 − κ dose) p + δ (1 − p)``, starting at the drug-free equilibrium)
to observed methylation fractions with ``scipy.optimize.least_squares``.
Knowing the true model form makes it the best one can hope for: the gray-box
cell should come close to it, a black-box LSTM cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from lstm_apps.layers.methylation import DELTA_RANGE, MU_RANGE, methylation_cell_reference

__all__ = ["RecursionFit", "fit_recursion", "predict_recursion"]


@dataclass
class RecursionFit:
    """Per-site least-squares estimates ``mu``, ``delta``, ``inhibition`` (each ``(K,)``)."""

    mu: np.ndarray
    delta: np.ndarray
    inhibition: np.ndarray

    def predict(self, dose) -> np.ndarray:
        """Methylation fractions ``(S, T, K)`` for a dose schedule ``(S, T[, 1])``."""
        return predict_recursion(dose, self.mu, self.delta, self.inhibition)


def predict_recursion(dose, mu, delta, inhibition) -> np.ndarray:
    """Run the recursion from the drug-free equilibrium.

    See :func:`~lstm_apps.layers.methylation_cell_reference`.
    """
    return methylation_cell_reference(dose, mu, delta, inhibition)


def fit_recursion(
    dose, observed, weights=None, starts=((0.975, 0.08, 0.5), (0.99, 0.03, 0.3), (0.95, 0.15, 0.8))
) -> RecursionFit:
    """Fit μ, δ, κ of every site by (weighted) least squares on observed fractions.

    Args:
        dose: ``(S, T)`` or ``(S, T, 1)`` drug doses.
        observed: ``(S, T, K)`` observed methylation fractions (NaN = missing).
        weights: optional ``(S, T, K)`` weights (e.g. read counts); the
            residuals are multiplied by their square roots.
        starts: starting points (μ, δ, κ) tried for every site; the best
            fit is kept.

    Returns:
        A :class:`RecursionFit`.
    """
    dose = np.asarray(dose, "float64")
    if dose.ndim == 3:
        dose = dose[..., 0]
    obs = np.asarray(observed, "float64")
    if obs.ndim != 3 or obs.shape[:2] != dose.shape:
        raise ValueError(
            f"observed must have shape (S, T, K) matching dose {dose.shape}, received {obs.shape}."
        )
    w = np.ones_like(obs) if weights is None else np.asarray(weights, "float64")
    if w.shape != obs.shape:
        raise ValueError(f"weights must have the shape of observed {obs.shape}, received {w.shape}.")
    eps = 1e-6
    lower = [MU_RANGE[0] + eps, DELTA_RANGE[0] + eps, eps]
    upper = [MU_RANGE[1] - eps, DELTA_RANGE[1] - eps, 1 - eps]
    k = obs.shape[2]
    out = np.zeros((k, 3))
    for site in range(k):
        y = obs[:, :, site]
        ok = np.isfinite(y)
        sw = np.sqrt(w[:, :, site][ok])

        def residual(theta, ok=ok, y=y, sw=sw):
            mu, delta, kappa = theta
            pred = methylation_cell_reference(dose, np.array([mu]), np.array([delta]), np.array([kappa]))[
                :, :, 0
            ]
            return (pred[ok] - y[ok]) * sw

        best = None
        for x0 in starts:
            res = optimize.least_squares(
                residual, np.clip(x0, lower, upper), bounds=(lower, upper), x_scale=[0.01, 0.01, 0.1]
            )
            if best is None or res.cost < best.cost:
                best = res
        out[site] = best.x
    return RecursionFit(mu=out[:, 0], delta=out[:, 1], inhibition=out[:, 2])
