"""Forgetting-curve baselines: classic retention formulas and spaced-repetition models.

Retention curves (for Ebbinghaus's 1885 table), each fitted by least squares
with :func:`fit_retention_curve`:

* ``exponential``: ``a · exp(−t / τ)`` (2 parameters);
* ``power_law``: ``a · t^(−c)``, t in days (2; Wixted & Ebbesen 1991);
* ``ebbinghaus``: his own ``b = 100 k / ((log10 t)^c + k)``, t in minutes (2);
* ``fsrs6``: the FSRS-6 curve ``a · (1 + factor · t / S)^(−w20)`` with
  ``factor = 0.9^(−1/w20) − 1`` (so ``R(S) = 0.9 a``), scaled by ``a`` since
  savings are not recall probabilities (3).

:func:`fit_cell_curve` fits a :class:`~lstm_apps.layers.ForgettingCurveCell`
to the same points. Review-log models, fitted on training reviews by log
loss: :class:`HalfLifeRegression` (Settles & Meeder 2016) and
:class:`FSRSModel` (FSRS-6 curve with FSRS's long-term stability and
difficulty updates). :func:`next_review_interval` schedules the next review
of a recall curve, and :func:`card_memory` follows a fitted cell's memory of
one card through its reviews and up to that next review.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from lstm_apps.metrics import aic_least_squares

__all__ = [
    "RETENTION_CURVES",
    "exponential_curve",
    "power_law_curve",
    "ebbinghaus_curve",
    "fsrs6_curve",
    "fsrs6_factor",
    "CurveFit",
    "fit_retention_curve",
    "fit_cell_curve",
    "HalfLifeRegression",
    "FSRSModel",
    "FSRS6_DEFAULT_PARAMETERS",
    "next_review_interval",
    "CardMemory",
    "card_memory",
]

MINUTES_PER_DAY = 1440.0


def exponential_curve(t_days, a, tau):
    """``a · exp(−t / τ)``."""
    return a * np.exp(-np.asarray(t_days, "float64") / tau)


def power_law_curve(t_days, a, c):
    """``a · t^(−c)`` with t in days."""
    return a * np.power(np.asarray(t_days, "float64"), -c)


def ebbinghaus_curve(t_days, k, c):
    """Ebbinghaus's (1885) savings formula ``100 k / ((log10 t)^c + k)``, t in minutes."""
    logt = np.log10(np.asarray(t_days, "float64") * MINUTES_PER_DAY)
    return 100.0 * k / (np.power(np.maximum(logt, 0.0), c) + k)


def fsrs6_factor(w20):
    """FSRS-6's ``factor = 0.9^(−1/w20) − 1``, which makes ``R(t = S) = 0.9``."""
    return 0.9 ** (-1.0 / w20) - 1.0


def fsrs6_curve(t_days, stability, w20, a=1.0):
    """FSRS-6 retrievability ``a · (1 + factor · t / S)^(−w20)``."""
    t = np.asarray(t_days, "float64")
    return a * np.power(1.0 + fsrs6_factor(w20) * t / stability, -w20)


@dataclass
class CurveFit:
    """A fitted retention curve: ``params``, ``n_params``, ``rmse``, ``aic`` and ``predict(t_days)``."""

    name: str
    params: dict
    n_params: int
    rmse: float
    aic: float
    predict: Callable = field(repr=False)
    model: object = field(default=None, repr=False)


def _best_least_squares(residual, starts, bounds=(-np.inf, np.inf), max_nfev=4000, jac="2-point"):
    best = None
    for x0 in starts:
        try:
            res = optimize.least_squares(
                residual, np.asarray(x0, "float64"), jac=jac, bounds=bounds, max_nfev=max_nfev, x_scale="jac"
            )
        except (ValueError, FloatingPointError):
            continue
        if np.all(np.isfinite(res.fun)) and (best is None or res.cost < best.cost):
            best = res
    if best is None:
        raise ValueError("no start of the least-squares fit converged to finite residuals.")
    return best


RETENTION_CURVES = ("exponential", "power_law", "ebbinghaus", "fsrs6")


def fit_retention_curve(name: str, t_days, y_percent) -> CurveFit:
    """Fit one classic retention curve by least squares (multi-start).

    Args:
        name: one of :data:`RETENTION_CURVES`.
        t_days: delays in days.
        y_percent: retention (savings) in percent.

    Returns:
        A :class:`CurveFit`; ``aic`` counts the curve's parameters plus the
        error variance (:func:`lstm_apps.metrics.aic_least_squares`).
    """
    t = np.asarray(t_days, "float64")
    y = np.asarray(y_percent, "float64")
    if t.shape != y.shape or t.ndim != 1 or t.size < 3:
        raise ValueError(
            f"t_days and y_percent must be 1-D of equal length >= 3, received shapes {t.shape} and {y.shape}."
        )
    if np.any(t <= 0):
        raise ValueError(f"delays must be > 0, received {t.tolist()}.")
    with np.errstate(all="ignore"):
        if name == "exponential":
            res = _best_least_squares(
                lambda p: exponential_curve(t, p[0], math.exp(p[1])) - y,
                [[y.max(), math.log(s)] for s in (0.01, 0.1, 1, 10, 100)],
            )
            params = {"a": res.x[0], "tau_days": math.exp(res.x[1])}
            predict = lambda tt: exponential_curve(tt, params["a"], params["tau_days"])  # noqa: E731
        elif name == "power_law":
            res = _best_least_squares(
                lambda p: power_law_curve(t, p[0], p[1]) - y, [[y.mean(), c] for c in (0.05, 0.2, 0.5)]
            )
            params = {"a": res.x[0], "c": res.x[1]}
            predict = lambda tt: power_law_curve(tt, params["a"], params["c"])  # noqa: E731
        elif name == "ebbinghaus":
            res = _best_least_squares(
                lambda p: ebbinghaus_curve(t, p[0], p[1]) - y,
                [[k, c] for k in (0.5, 1.84, 5.0) for c in (0.8, 1.25, 2.0)],
                bounds=([1e-6, 1e-3], [1e3, 10]),
            )
            params = {"k": res.x[0], "c": res.x[1]}
            predict = lambda tt: ebbinghaus_curve(tt, params["k"], params["c"])  # noqa: E731
        elif name == "fsrs6":
            starts = [
                [math.log(s), w, a]
                for s in (1e-3, 0.1, 1.0, 10.0)
                for w in (0.1, 0.3, 0.6)
                for a in (60.0, 100.0)
            ]
            res = _best_least_squares(
                lambda p: fsrs6_curve(t, math.exp(p[0]), p[1], p[2]) - y,
                starts,
                bounds=([-30, 0.01, 1.0], [15, 5.0, 1e4]),
            )
            params = {"stability_days": math.exp(res.x[0]), "w20": res.x[1], "a": res.x[2]}
            predict = lambda tt: fsrs6_curve(tt, params["stability_days"], params["w20"], params["a"])  # noqa: E731
        else:
            raise ValueError(f"unknown retention curve {name!r}; expected one of {RETENTION_CURVES}.")
    resid = predict(t) - y
    params = {k: float(v) for k, v in params.items()}
    return CurveFit(
        name,
        params,
        len(params),
        float(np.sqrt(np.mean(resid**2))),
        aic_least_squares(resid, len(params)),
        predict,
    )


def fit_cell_curve(t_days, y_percent, units: int, n_starts: int = 40, seed: int = 0) -> CurveFit:
    """Fit a :class:`~lstm_apps.layers.ForgettingCurveCell` with ``units`` time constants to a curve.

    Each delay is the 2-step sequence "study at 0, test after t": the study
    opens the input gate fully (gate bias fixed at 15, so ``s = 1``), the
    test reads out ``100 · sigmoid(Σ w_k e^(−t/τ_k) + b)``. The ``2·units + 1``
    free parameters (``tau``, ``readout_weight``, ``readout_bias``) are fitted
    (the gate and cell-input biases are held at 15, i.e. a full study)
    by multi-start least squares on the cell's NumPy reference, written into
    the Keras cell, and the reported residuals are the Keras cell's own.

    Returns:
        A :class:`CurveFit` whose ``model`` is the Keras model (input
        ``(batch, 2, 2)``) and whose ``params`` hold the cell's
        :meth:`~lstm_apps.layers.ForgettingCurveCell.physical_parameters`.
    """
    import keras

    from lstm_apps.layers.forgetting_curve import (
        ForgettingCurveCell,
        forgetting_cell_recall,
        forgetting_cell_reference,
    )

    t = np.asarray(t_days, "float64")
    y = np.asarray(y_percent, "float64")
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"units must be a positive integer, received {units!r}.")
    gate_bias = 15.0

    def inputs(tt):
        tt = np.asarray(tt, "float64").ravel()
        x = np.zeros((tt.size, 2, 2))
        x[:, 0, 1] = 1.0
        x[:, 1, 0] = tt
        return x

    x = inputs(t)

    def unpack(p):
        return {
            "tau": np.exp(p[:units]),
            "readout_weight": np.exp(p[units : 2 * units]),
            "readout_bias": p[2 * units],
            "retrieval_gain": np.zeros(units),
            "gate_bias": np.full(units, gate_bias),
            "target_bias": np.full(units, gate_bias),
        }

    i_study = 1.0 / (1.0 + math.exp(-gate_bias))  # input gate and cell input both sigmoid(15)
    i_study = i_study * i_study

    def parts(p):
        # the cell's two steps in closed form: s = i_study after the study, decayed by exp(-t/tau),
        # then the cell's own readout
        tau, w = np.exp(p[:units]), np.exp(p[units : 2 * units])
        strength = i_study * np.exp(-t[:, None] / tau[None, :])
        sig = forgetting_cell_recall(strength, {"readout_weight": w, "readout_bias": p[2 * units]})
        return tau, strength * w[None, :], sig

    def residual(p):
        return 100.0 * parts(p)[2] - y

    def jacobian(p):
        tau, terms, sig = parts(p)
        dz = np.concatenate([terms * t[:, None] / tau[None, :], terms, np.ones((t.size, 1))], axis=1)
        return (100.0 * sig * (1 - sig))[:, None] * dz

    rng = np.random.default_rng(seed)
    lo, hi = math.log(t.min() / 10), math.log(t.max() * 30)
    starts = []
    for _ in range(n_starts):
        log_tau = np.sort(rng.uniform(lo, hi, units))
        starts.append(np.r_[log_tau, np.log(rng.uniform(0.2, 3.0, units)), rng.uniform(-2.5, 0.0)])
    bounds = ([lo - 3] * units + [-8] * units + [-20], [hi] * units + [4] * units + [5])
    with np.errstate(all="ignore"):
        res = _best_least_squares(residual, starts, bounds=bounds, max_nfev=500, jac=jacobian)
    p = unpack(res.x)
    order = np.argsort(p["tau"])
    cell = ForgettingCurveCell(
        units,
        tau_init=p["tau"][order],
        gate_bias_init=gate_bias,
        readout_bias_init=float(p["readout_bias"]),
        target_bias_init=gate_bias,
    )
    model = keras.Sequential([keras.Input((2, 2)), keras.layers.RNN(cell, return_sequences=True)])
    cell.set_physical_value("readout_weight", p["readout_weight"][order])

    def predict(tt):
        return 100.0 * np.asarray(model.predict(inputs(tt).astype("float32"), verbose=0))[:, 1, 0].astype(
            "float64"
        )

    resid = predict(t) - y
    ref = 100.0 * forgetting_cell_reference(x, cell.numpy_parameters())[0][:, 1] - y
    if not np.allclose(resid, ref, atol=1e-2):
        raise RuntimeError(f"Keras cell and NumPy reference disagree on the fitted curve: {resid} vs {ref}")
    n_params = 2 * units + 1
    params = {k: np.asarray(v).tolist() for k, v in cell.physical_parameters().items()}
    return CurveFit(
        f"cell_{units}",
        params,
        n_params,
        float(np.sqrt(np.mean(resid**2))),
        aic_least_squares(resid, n_params),
        predict,
        model,
    )


# ---------------------------------------------------------------------------
# Review-log models
# ---------------------------------------------------------------------------


def _log_loss(y, p, w):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p))) / max(np.sum(w), 1e-12))


class HalfLifeRegression:
    """Half-life regression (Settles & Meeder, ACL 2016), the Duolingo model.

    ``p = 2^(−Δt / h)`` with half-life ``h = 2^(θ · x)`` days and features
    ``x = [1, √(1 + n_correct), √(1 + n_wrong)]`` (the form the
    open-spaced-repetition benchmark uses); ``h`` clipped to 15 minutes – 9
    months as in the paper. θ is fitted by minimising log loss (plus a small
    L2 penalty ``l2``) with L-BFGS.

    Example:

    ```python
    hlr = HalfLifeRegression().fit(elapsed, n_correct, n_wrong, y)
    p = hlr.predict(elapsed, n_correct, n_wrong)
    ```
    """

    def __init__(self, l2: float = 1e-3):
        self.l2 = float(l2)
        self.theta = np.zeros(3)

    @staticmethod
    def features(n_correct, n_wrong):
        n_correct = np.asarray(n_correct, "float64")
        return np.stack(
            [np.ones_like(n_correct), np.sqrt(1 + n_correct), np.sqrt(1 + np.asarray(n_wrong, "float64"))], -1
        )

    def half_life(self, n_correct, n_wrong):
        """Half-life in days for the given history counts."""
        return np.clip(np.power(2.0, self.features(n_correct, n_wrong) @ self.theta), 15 / 1440, 274.0)

    def predict(self, elapsed_days, n_correct, n_wrong):
        """Recall probability after ``elapsed_days``."""
        return np.power(2.0, -np.asarray(elapsed_days, "float64") / self.half_life(n_correct, n_wrong))

    def fit(self, elapsed_days, n_correct, n_wrong, y, sample_weight=None):
        y = np.asarray(y, "float64")
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, "float64")
        if y.size == 0 or w.sum() <= 0:
            raise ValueError("HalfLifeRegression.fit needs at least one weighted review.")

        def loss(theta):
            self.theta = theta
            return _log_loss(y, self.predict(elapsed_days, n_correct, n_wrong), w) + self.l2 * float(
                theta[1:] @ theta[1:]
            )

        best = None
        for start in ([1.0, 1.0, -0.5], [0.0, 2.0, -1.0], [-2.0, 3.0, -1.0]):
            res = optimize.minimize(loss, np.array(start), method="L-BFGS-B")
            if best is None or res.fun < best.fun:
                best = res
        res = best
        self.theta = res.x
        self.train_loss_ = float(res.fun)
        return self


#: FSRS-6 default parameters w0..w20 (open-spaced-repetition, py-fsrs 6).
FSRS6_DEFAULT_PARAMETERS = np.array(
    [
        0.212,
        1.2931,
        2.3065,
        8.2956,
        6.4133,
        0.8334,
        3.0194,
        0.001,
        1.8722,
        0.1666,
        0.796,
        1.4835,
        0.0614,
        0.2629,
        1.6483,
        0.6014,
        1.8729,
        0.5425,
        0.0912,
        0.0658,
        0.1542,
    ]
)
_FSRS_BOUNDS = [(0.001, 100.0)] * 4 + [
    (1.0, 10.0), (0.001, 4.0), (0.001, 4.0), (0.001, 0.75), (0.0, 4.5), (0.0, 0.8), (0.001, 3.5),
    (0.001, 5.0), (0.001, 0.25), (0.001, 0.9), (0.0, 4.0), (0.0, 1.0), (1.0, 6.0),
    (0.0, 2.0), (0.0, 2.0), (0.0, 0.8), (0.1, 0.8),
]  # fmt: skip
_FSRS_FITTED = [i for i in range(21) if i not in (17, 18, 19)]  # short-term (same-day) terms held at defaults


class FSRSModel:
    """An FSRS-style review model: the FSRS-6 curve with FSRS's long-term memory-state updates.

    State per card: stability ``S`` (days until recall falls to 90 %) and
    difficulty ``D`` in [1, 10]. First review with rating G: ``S = w[G−1]``,
    ``D = w4 − e^(w5 (G−1)) + 1``. At a later review after ``t`` days,
    ``R = (1 + factor · t / S)^(−w20)`` is the prediction, then with the
    rating: ``D ← w7 D0(4) + (1 − w7)(D − w6 (G − 3)(10 − D)/9)``; success:
    ``S ← S (1 + e^w8 (11 − D) S^(−w9) (e^(w10 (1−R)) − 1) · w15[G=2] · w16[G=4])``;
    lapse: ``S ← min(w11 D^(−w12) ((S+1)^w13 − 1) e^(w14 (1−R)), S / e^(w17 w18))``.
    Same-day (short-term) terms are not modelled; w17–w19 stay at their
    defaults. The other 18 parameters are fitted to the training reviews by
    log loss with bounded L-BFGS (finite-difference gradients), starting from
    FSRS-6's defaults.

    Example:

    ```python
    fsrs = FSRSModel().fit(elapsed, rating, y, train_weight)   # (cards, T) arrays
    p = fsrs.predict(elapsed, rating)                           # (cards, T)
    ```
    """

    def __init__(self, parameters=None, maxiter: int = 60):
        self.w = np.array(FSRS6_DEFAULT_PARAMETERS if parameters is None else parameters, dtype="float64")
        if self.w.shape != (21,):
            raise ValueError(f"FSRS-6 has 21 parameters, received {self.w.shape[0]}.")
        self.maxiter = int(maxiter)

    @staticmethod
    def _forward(w, elapsed, rating, return_state=False):
        elapsed = np.asarray(elapsed, "float64")
        rating = np.asarray(rating)
        n, T = elapsed.shape
        p = np.full((n, T), np.nan)
        stab = np.zeros((n, T))
        g = np.clip(rating, 1, 4)
        d0 = lambda G: np.clip(w[4] - np.exp(w[5] * (G - 1)) + 1, 1, 10)  # noqa: E731
        S = np.maximum(w[np.clip(g[:, 0], 1, 4) - 1], 0.001)
        D = d0(g[:, 0])
        stab[:, 0] = S
        factor = fsrs6_factor(w[20])
        for t in range(1, T):
            valid = rating[:, t] > 0
            G = g[:, t]
            R = np.power(1 + factor * elapsed[:, t] / S, -w[20])
            p[:, t] = R
            D_new = D - w[6] * (G - 3) * (10 - D) / 9
            D_new = np.clip(w[7] * d0(4) + (1 - w[7]) * D_new, 1, 10)
            hard = np.where(G == 2, w[15], 1.0)
            easy = np.where(G == 4, w[16], 1.0)
            s_recall = S * (
                1
                + np.exp(w[8])
                * (11 - D_new)
                * np.power(S, -w[9])
                * (np.exp(w[10] * (1 - R)) - 1)
                * hard
                * easy
            )
            s_forget = np.minimum(
                w[11] * np.power(D_new, -w[12]) * (np.power(S + 1, w[13]) - 1) * np.exp(w[14] * (1 - R)),
                S / np.exp(w[17] * w[18]),
            )
            S_new = np.clip(np.where(G > 1, s_recall, s_forget), 0.001, 36500)
            S = np.where(valid, S_new, S)
            D = np.where(valid, D_new, D)
            stab[:, t] = S
        return (p, stab) if return_state else p

    def predict(self, elapsed, rating):
        """Recall probability at every review but each card's first (NaN there), ``(cards, T)``."""
        return self._forward(self.w, elapsed, rating)

    def stability(self, elapsed, rating):
        """Stability (days) after each review, ``(cards, T)``."""
        return self._forward(self.w, elapsed, rating, return_state=True)[1]

    def fit(self, elapsed, rating, y, sample_weight):
        y = np.asarray(y, "float64")
        wts = np.asarray(sample_weight, "float64")
        if wts.sum() <= 0:
            raise ValueError("FSRSModel.fit needs at least one weighted review (sample_weight sums to 0).")
        base = self.w.copy()

        def loss(theta):
            w = base.copy()
            w[_FSRS_FITTED] = theta
            with np.errstate(all="ignore"):
                p = self._forward(w, elapsed, rating)
            p = np.where(np.isfinite(p), p, 0.5)
            return _log_loss(y, p, wts)

        res = optimize.minimize(
            loss,
            base[_FSRS_FITTED],
            method="L-BFGS-B",
            bounds=[_FSRS_BOUNDS[i] for i in _FSRS_FITTED],
            options={"maxiter": self.maxiter},
        )
        self.w[_FSRS_FITTED] = res.x
        self.train_loss_ = float(res.fun)
        return self


def next_review_interval(recall_at, target: float = 0.9, t_max: float = 3650.0) -> float:
    """Days until a recall curve falls to ``target`` (bisection on a log grid).

    Args:
        recall_at: callable mapping an array of days to recall probabilities
            (non-increasing).
        target: the recall probability at which to review (0.9 in FSRS).
        t_max: horizon; returns ``inf`` when recall stays above ``target``.
    """
    if not 0 < target < 1:
        raise ValueError(f"target must lie in (0, 1), received {target!r}.")
    grid = np.geomspace(1e-4, t_max, 400)
    r = np.asarray(recall_at(grid), "float64")
    below = np.flatnonzero(r <= target)
    if below.size == 0:
        return float("inf")
    j = int(below[0])
    if j == 0:
        return 0.0
    lo, hi = grid[j - 1], grid[j]
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        if float(np.asarray(recall_at(np.array([mid])))[0]) <= target:
            hi = mid
        else:
            lo = mid
    return float(math.sqrt(lo * hi))


@dataclass
class CardMemory:
    """A :class:`~lstm_apps.layers.ForgettingCurveCell`'s memory of one card (see :func:`card_memory`).

    Attributes:
        days: the time grid, days since the card's first study, ``(n_points,)``.
        strength: memory strength of each memory cell on the grid, ``(n_points, units)``.
        recall: predicted recall probability on the grid, ``(n_points,)``.
        review_days: the day of each review, ``(n_reviews,)``.
        next_review_days: days after the last review until recall falls to the
            target (``inf`` when it never does within 10 years).
        tau: the memory cells' time constants (days).
        target: the recall probability at which the next review is due.
    """

    days: np.ndarray
    strength: np.ndarray
    recall: np.ndarray
    review_days: np.ndarray
    next_review_days: float
    tau: np.ndarray
    target: float = 0.9

    def plot(self, ratings=None):
        """Two panels: each memory cell's strength, and the recall with the reviews and the next one.

        Args:
            ratings: the rating of each review (1 = lapse, drawn red; others
                green); ``None`` draws every review gray.

        Returns:
            A Matplotlib figure.
        """
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
        for k, tau in enumerate(self.tau):
            ax1.plot(self.days, self.strength[:, k], label=f"memory cell {k + 1} (τ = {tau:.3g} d)")
        ax2.plot(self.days, self.recall, color="k", label="predicted recall")
        colors = ["gray"] * len(self.review_days) if ratings is None else [
            "tab:red" if r == 1 else "tab:green" for r in ratings
        ]  # fmt: skip
        for t, color in zip(self.review_days, colors):
            ax2.axvline(t, color=color, lw=0.8, alpha=0.7)
        if np.isfinite(self.next_review_days):
            label = f"next review: +{self.next_review_days:.1f} d (recall {100 * self.target:g} %)"
            ax2.axvline(self.review_days[-1] + self.next_review_days, color="tab:blue", ls="--", label=label)
        ax2.axhline(self.target, color="gray", ls=":")
        ax1.set_ylabel("memory strength s_k")
        ax1.legend(fontsize=7)
        ax2.set_ylabel("recall probability")
        ax2.set_xlabel("days since the card was first studied (green: recalled, red: lapse)")
        ax2.legend(fontsize=7)
        ax1.set_title("One card's memory through its reviews")
        return fig


def card_memory(params, x, target: float = 0.9, n_points: int = 800) -> CardMemory:
    """Follow a forgetting cell's memory of one card through its reviews, to its next review.

    Between reviews each memory strength decays as ``s_k e^(−Δt/τ_k)`` from
    its value just after the last review (the cell's NumPy reference,
    :func:`~lstm_apps.layers.forgetting_cell_reference`). The next review is
    due when the predicted recall falls to ``target``
    (:func:`next_review_interval`); the grid runs from the first study to
    half that interval past it (30 days past the last review when recall
    never falls that low).

    Args:
        params: the cell's :meth:`~lstm_apps.layers.ForgettingCurveCell.numpy_parameters`.
        x: the card's cell inputs ``(n_reviews, 2 + features)``: days since the
            previous review, study, the event features.
        target: the recall probability at which the next review is due.
        n_points: points of the time grid.

    Returns:
        A :class:`CardMemory`.
    """
    from lstm_apps.layers import forgetting_cell_recall, forgetting_cell_reference

    x = np.asarray(x, "float64")
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 2:
        raise ValueError(f"x must have shape (n_reviews >= 1, 2 + features), received shape {x.shape!r}.")
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2, received {n_points!r}.")
    _, _, s_after = forgetting_cell_reference(x[None], params)
    s_after = s_after[0]
    review_days = np.cumsum(x[:, 0])
    tau = np.asarray(params["tau"], "float64")

    def recall_after_last(dt):
        decay = np.exp(-np.asarray(dt, "float64")[:, None] / tau[None, :])
        return forgetting_cell_recall(s_after[-1][None, :] * decay, params)

    interval = next_review_interval(recall_after_last, target)
    horizon = review_days[-1] + (interval * 1.5 if np.isfinite(interval) and interval > 0 else 30.0)
    days = np.linspace(0, horizon, n_points)
    last = np.searchsorted(review_days, days, side="right") - 1  # the last review at or before each day
    since = days - review_days[np.maximum(last, 0)]
    strength = s_after[np.maximum(last, 0)] * np.exp(-since[:, None] / tau[None, :])
    strength[last < 0] = 0.0  # before the first study nothing is remembered
    recall = forgetting_cell_recall(strength, params)
    return CardMemory(days, strength, recall, review_days, interval, tau, target)
