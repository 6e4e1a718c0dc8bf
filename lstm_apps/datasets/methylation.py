"""Simulated DNA methylation of CpG sites across cell divisions, read by bisulfite sequencing.

Each site follows the maintenance / de novo recursion of Otto & Walbot (1990)
and Genereux et al. (2005), ``p' = μ_t p + δ (1 − p)``, with site-specific
maintenance efficiency μ (measured ≈ 0.96–0.99 for DNMT1 maintenance) and
de novo rate δ (≈ 0.02–0.17), and a demethylating drug (decitabine-like)
that removes a site-specific share κ of maintenance while it is given:
``μ_t = μ (1 − κ · dose_t)``. Sequencing draws a Poisson number of reads per
site (mean ``coverage``); each read reports methylation with the bisulfite
conversion error ``ε`` (an unmethylated C that escapes conversion reads as
methylated): ``P(read methylated) = p + ε (1 − p)``.

Scenarios (``scenario=``):

* ``"recovery"``: each culture is treated for a few divisions at its own dose,
  then recovers drug-free towards the steady state δ / (1 − μ + δ);
* ``"retreatment"``: as ``recovery``, with a second course of the drug at
  ``retreat_at`` (by default in the second half of the series, so a model
  trained on the first half must extrapolate to a new treatment);
* ``"cycles"``: clinical-style cycles, ``treat_divisions`` on every ``period``;
* ``"steady"``: no drug (only the equilibrium is identifiable, not μ and δ apart).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MethylationData",
    "simulate_methylation",
    "corrected_fraction",
    "methylation_equilibrium",
    "methylation_recursion",
    "SCENARIOS",
]

SCENARIOS = ("recovery", "retreatment", "cycles", "steady")


@dataclass
class MethylationData:
    """Arrays of one simulated experiment (``S`` cultures, ``T`` divisions, ``K`` sites).

    Attributes:
        dose: ``(S, T, 1)`` drug dose per division, in [0, 1].
        p_true: ``(S, T, K)`` true methylation fraction after each division.
        methylated_reads, total_reads: ``(S, T, K)`` bisulfite read counts.
        observed: ``(S, T, K)`` conversion-corrected methylation fraction
            (:func:`corrected_fraction`; NaN where a site got no read).
        mu, delta, inhibition: ``(K,)`` true parameters; ``p0``: ``(K,)`` the
            starting (drug-free equilibrium) fractions.
        coverage, conversion_error, scenario: the simulation settings.
    """

    dose: np.ndarray
    p_true: np.ndarray
    methylated_reads: np.ndarray
    total_reads: np.ndarray
    observed: np.ndarray
    mu: np.ndarray
    delta: np.ndarray
    inhibition: np.ndarray
    p0: np.ndarray
    coverage: float
    conversion_error: float
    scenario: str

    @property
    def equilibrium(self) -> np.ndarray:
        return methylation_equilibrium(self.mu, self.delta)


def corrected_fraction(methylated_reads, total_reads, conversion_error: float) -> np.ndarray:
    """Methylation fraction corrected for incomplete bisulfite conversion.

    ``(m / n − ε) / (1 − ε)`` clipped to [0, 1]; NaN where ``n = 0``.
    """
    if not 0 <= conversion_error < 1:
        raise ValueError(f"conversion_error must lie in [0, 1), received {conversion_error!r}.")
    m = np.asarray(methylated_reads, "float64")
    n = np.asarray(total_reads, "float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n > 0, m / np.maximum(n, 1), np.nan)
    return np.clip((frac - conversion_error) / (1 - conversion_error), 0.0, 1.0)


def methylation_equilibrium(mu, delta):
    """Drug-free steady state ``δ / (1 − μ + δ)`` of :func:`methylation_recursion` (NumPy)."""
    return delta / (1 - mu + delta)


def methylation_recursion(dose, mu, delta, inhibition, p0=None) -> np.ndarray:
    """The maintenance / de novo recursion ``p' = μ_t p + δ (1 − p)``, ``μ_t = μ (1 − κ · dose_t)``.

    The one NumPy form of the methylation model: :func:`simulate_methylation`
    draws its true fractions with it, and it is the reference of the gray-box
    :class:`~lstm_apps.layers.MethylationCell` (exported there as
    ``methylation_cell_reference``), whose Keras step computes the same update.

    Args:
        dose: ``(batch, time)`` or ``(batch, time, 1)`` drug doses in [0, 1].
        mu, delta, inhibition: per-site arrays ``(sites,)``: maintenance
            efficiency μ, de novo rate δ and the share κ of maintenance a
            full dose removes.
        p0: initial fractions ``(batch, sites)``; the drug-free equilibrium
            ``δ / (1 − μ + δ)`` when None.

    Returns:
        ``(batch, time, sites)`` methylation fractions after each division.

    Example:

    >>> methylation_recursion(np.zeros((1, 2)), np.array([0.75]), np.array([0.25]), np.array([0.5]))[0, :, 0]
    array([0.5, 0.5])
    """
    dose = np.asarray(dose, "float64")
    if dose.ndim == 3:
        dose = dose[..., 0]
    if dose.ndim != 2:
        raise ValueError(f"dose must have shape (batch, time) or (batch, time, 1), received {dose.shape!r}.")
    mu, delta, inhibition = (np.asarray(a, "float64") for a in (mu, delta, inhibition))
    p = (
        np.broadcast_to(methylation_equilibrium(mu, delta), (dose.shape[0], mu.shape[0])).copy()
        if p0 is None
        else np.asarray(p0, "float64").copy()
    )
    out = []
    for t in range(dose.shape[1]):
        mu_t = mu * (1 - inhibition * np.clip(dose[:, t : t + 1], 0, 1))
        p = mu_t * p + delta * (1 - p)
        out.append(p)
    return np.stack(out, 1)


def _dose_schedule(scenario, n_cultures, n_divisions, rng, treat_divisions, retreat_at, period):
    dose = np.zeros((n_cultures, n_divisions, 1))
    levels = rng.uniform(0.4, 1.0, n_cultures)
    if scenario == "steady":
        return dose
    if scenario == "cycles":
        for s in range(n_cultures):
            offset = int(rng.integers(0, period))
            for start in range(offset, n_divisions, period):
                dose[s, start : start + treat_divisions, 0] = levels[s]
        return dose
    for s in range(n_cultures):
        length = int(rng.integers(max(1, treat_divisions - 2), treat_divisions + 3))
        start = int(rng.integers(0, 3))
        dose[s, start : start + length, 0] = levels[s]
        if scenario == "retreatment":
            again = retreat_at + int(rng.integers(-2, 3))
            dose[s, again : again + length, 0] = levels[s] * rng.uniform(0.7, 1.0)
    return dose


def simulate_methylation(
    n_sites: int = 40,
    n_cultures: int = 8,
    n_divisions: int = 60,
    coverage: float = 30.0,
    conversion_error: float = 0.005,
    scenario: str = "recovery",
    seed: int = 0,
    mu_range=(0.96, 0.99),
    delta_range=(0.02, 0.17),
    inhibition_range=(0.3, 0.8),
    treat_divisions: int = 5,
    retreat_at: int | None = None,
    period: int = 15,
) -> MethylationData:
    """Simulate CpG sites across divisions of several cultures, read by bisulfite sequencing.

    Args:
        n_sites: CpG sites K, each with μ, δ, κ drawn uniformly from the ranges.
        n_cultures: independent cultures S (each with its own drug schedule).
        n_divisions: divisions T.
        coverage: mean reads per site per measurement (Poisson).
        conversion_error: ε, the chance an unmethylated C reads as methylated.
        scenario: one of :data:`SCENARIOS`.
        seed: NumPy seed.
        mu_range, delta_range, inhibition_range: ranges of μ, δ and κ.
        treat_divisions: length of a treatment course (± 2 across cultures).
        retreat_at: division of the second course (``"retreatment"``;
            default ``0.6 · n_divisions``).
        period: cycle length (``"cycles"``).

    Returns:
        A :class:`MethylationData`.
    """
    for name, value in (("n_sites", n_sites), ("n_cultures", n_cultures), ("n_divisions", n_divisions)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, received {value!r}.")
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, received {scenario!r}.")
    if not coverage > 0:
        raise ValueError(f"coverage must be > 0, received {coverage!r}.")
    if not 0 <= conversion_error < 0.5:
        raise ValueError(f"conversion_error must lie in [0, 0.5), received {conversion_error!r}.")
    lo, hi = mu_range
    if not 0.5 < lo <= hi < 1:
        raise ValueError(f"mu_range must lie inside (0.5, 1), received {mu_range!r}.")
    if not 0 < delta_range[0] <= delta_range[1] < 0.5:
        raise ValueError(f"delta_range must lie inside (0, 0.5), received {delta_range!r}.")
    rng = np.random.default_rng(seed)
    mu = rng.uniform(*mu_range, n_sites)
    delta = rng.uniform(*delta_range, n_sites)
    kappa = rng.uniform(*inhibition_range, n_sites)
    retreat = int(0.6 * n_divisions) if retreat_at is None else int(retreat_at)
    dose = _dose_schedule(scenario, n_cultures, n_divisions, rng, treat_divisions, retreat, period)
    p0 = methylation_equilibrium(mu, delta)
    p_true = methylation_recursion(dose, mu, delta, kappa)  # from the drug-free equilibrium p0
    total = rng.poisson(coverage, size=p_true.shape)
    p_read = p_true + conversion_error * (1 - p_true)
    meth = rng.binomial(total, p_read)
    observed = corrected_fraction(meth, total, conversion_error)
    return MethylationData(
        dose=dose.astype("float32"),
        p_true=p_true,
        methylated_reads=meth,
        total_reads=total,
        observed=observed,
        mu=mu,
        delta=delta,
        inhibition=kappa,
        p0=p0,
        coverage=float(coverage),
        conversion_error=float(conversion_error),
        scenario=scenario,
    )
