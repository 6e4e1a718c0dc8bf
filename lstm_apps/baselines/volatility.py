"""Volatility baselines: GARCH(1,1) and GJR-GARCH (``arch``), EWMA and rolling variance.

Every function returns one-step-ahead variance forecasts as a ``pandas.Series``
indexed by the day being forecast (the forecast for day t uses returns up
to day t−1 only), for every day on or after ``split`` (the first day after
the estimation sample, e.g. ``"2015-01-01"``).

Estimation windows (``window=``), for the models with parameters:

* ``"fixed"``: fit once on every day before ``split``, then filter forward
  with the parameters held fixed (the classic out-of-sample design);
* ``"expanding"``: refit every ``refit_every`` days on all days before the block;
* ``"rolling"``: refit every ``refit_every`` days on the last ``window_days``
  days before the block.

Example:

```python
from lstm_apps.datasets import prices
from lstm_apps.baselines import volatility as vb
r = prices.load_returns()
h, params = vb.garch_forecasts(r, "2015-01-01")  # GARCH(1,1), fitted through 2014
h_gjr, _ = vb.garch_forecasts(r, "2015-01-01", kind="gjr_garch")
h_ewma = vb.ewma_forecasts(r, "2015-01-01", mean=params["mu"])
```
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = [
    "WINDOWS",
    "garch_forecasts",
    "ewma_forecasts",
    "rolling_variance_forecasts",
    "unconditional_variance_forecasts",
    "estimation_blocks",
]

WINDOWS = ("fixed", "expanding", "rolling")
_KINDS = {"garch": dict(p=1, o=0, q=1), "gjr_garch": dict(p=1, o=1, q=1)}


def _check_returns(returns) -> pd.Series:
    if not isinstance(returns, pd.Series) or not isinstance(returns.index, pd.DatetimeIndex):
        raise ValueError(
            f"returns must be a pandas Series with a DatetimeIndex, received {type(returns).__name__}."
        )
    if not returns.index.is_monotonic_increasing or returns.index.has_duplicates:
        raise ValueError(
            "returns must be sorted by date with unique dates (see lstm_apps.datasets.prices.clean_prices)."
        )
    if not np.all(np.isfinite(returns.to_numpy(dtype="float64"))):
        raise ValueError("returns must be finite, received NaN or infinite values.")
    return returns.astype("float64")


def _split_position(returns: pd.Series, split) -> int:
    pos = int(returns.index.searchsorted(pd.Timestamp(split)))
    if pos < 30:
        raise ValueError(
            f"split {split!r} leaves {pos} days to estimate on; expected a split after at least 30 days "
            f"(the data start on {returns.index[0].date()})."
        )
    if pos >= len(returns):
        raise ValueError(
            f"split {split!r} leaves no day to forecast; the data end on {returns.index[-1].date()}."
        )
    return pos


def estimation_blocks(
    n: int, split_pos: int, window: str = "fixed", refit_every: int = 252, window_days: int = 2520
):
    """The refit schedule: a list of ``(fit_start, fit_end, block_start, block_end)`` positions.

    Each model is fitted on ``[fit_start, fit_end)`` and forecasts the days
    ``[block_start, block_end)``; ``fit_end == block_start``.
    """
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, received {window!r}.")
    if window == "fixed":
        return [(0, split_pos, split_pos, n)]
    if isinstance(refit_every, bool) or not isinstance(refit_every, (int, np.integer)) or refit_every <= 0:
        raise ValueError(f"refit_every must be a positive number of days, received {refit_every!r}.")
    if window == "rolling" and (not isinstance(window_days, (int, np.integer)) or window_days < 30):
        raise ValueError(f"window_days must be an integer of at least 30 days, received {window_days!r}.")
    blocks = []
    for start in range(split_pos, n, int(refit_every)):
        end = min(start + int(refit_every), n)
        fit_start = 0 if window == "expanding" else max(0, start - int(window_days))
        blocks.append((fit_start, start, start, end))
    return blocks


def garch_forecasts(
    returns: pd.Series,
    split,
    kind: str = "garch",
    window: str = "fixed",
    refit_every: int = 252,
    window_days: int = 2520,
    dist: str = "normal",
) -> tuple[pd.Series, dict[str, float]]:
    """One-step variance forecasts of GARCH(1,1) or GJR-GARCH(1,1,1) with a constant mean (``arch``).

    Args:
        returns: daily returns (percent scale suits ``arch``'s optimiser).
        split: first forecast day; parameters are estimated on the days before it.
        kind: ``"garch"`` or ``"gjr_garch"``.
        window, refit_every, window_days: the estimation scheme (module docstring).
        dist: ``arch`` error distribution (``"normal"``, ``"t"``, ...).

    Returns:
        ``(forecasts, params)``: the forecasts indexed by forecast day, and
        the parameters of the last fit (``mu``, ``omega``, ``alpha[1]``, ...).
    """
    from arch import arch_model

    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}, received {kind!r}.")
    returns = _check_returns(returns)
    split_pos = _split_position(returns, split)
    n = len(returns)
    parts, params = [], {}
    for fit_start, fit_end, b_start, b_end in estimation_blocks(
        n, split_pos, window, refit_every, window_days
    ):
        sample = returns.iloc[fit_start:b_end]
        model = arch_model(sample, mean="Constant", vol="GARCH", dist=dist, **_KINDS[kind])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(last_obs=returns.index[fit_end], disp="off", show_warning=False)
        # forecasts issued at day t (from block_start−1 to block_end−2) target day t+1
        fc = res.forecast(start=returns.index[b_start - 1], horizon=1, reindex=False).variance["h.1"]
        h = fc.to_numpy()[: b_end - b_start]
        parts.append(pd.Series(h, index=returns.index[b_start:b_end]))
        params = {k: float(v) for k, v in res.params.items()}
    out = pd.concat(parts).rename(kind)
    return out, params


def ewma_forecasts(
    returns: pd.Series, split, lam: float = 0.94, mean: float = 0.0, init_days: int = 22
) -> pd.Series:
    """RiskMetrics EWMA: ``h_{t+1} = λ·h_t + (1 − λ)·(r_t − mean)²``.

    The recursion starts from the mean square of the first ``init_days``
    returns and runs over the whole series, so the first forecast day has a
    warmed-up variance. ``λ = 0.94`` is RiskMetrics' daily value.
    """
    if not 0.0 < float(lam) < 1.0:
        raise ValueError(f"lam must lie in (0, 1), received {lam!r}.")
    returns = _check_returns(returns)
    split_pos = _split_position(returns, split)
    e2 = (returns.to_numpy() - float(mean)) ** 2
    h = np.empty(len(e2) + 1)
    h[0] = e2[: max(1, int(init_days))].mean()
    for t in range(len(e2)):
        h[t + 1] = lam * h[t] + (1.0 - lam) * e2[t]
    # h[t] is the forecast for day t (uses e2[:t])
    return pd.Series(h[split_pos : len(e2)], index=returns.index[split_pos:], name="ewma")


def rolling_variance_forecasts(returns: pd.Series, split, window: int = 22, mean: float = 0.0) -> pd.Series:
    """Mean of ``(r − mean)²`` over the ``window`` days before each forecast day (22: one trading month)."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window <= 0:
        raise ValueError(f"window must be a positive number of days, received {window!r}.")
    returns = _check_returns(returns)
    split_pos = _split_position(returns, split)
    if split_pos < window:
        raise ValueError(
            f"a {window}-day rolling variance needs {window} days before the split, received {split_pos}."
        )
    e2 = pd.Series((returns.to_numpy() - float(mean)) ** 2, index=returns.index)
    h = e2.rolling(window).mean().shift(1)
    return h.iloc[split_pos:].rename(f"rolling{window}")


def unconditional_variance_forecasts(returns: pd.Series, split, mean: float | None = None) -> pd.Series:
    """The estimation sample's variance, forecast for every day after the split (the floor any model must beat)."""
    returns = _check_returns(returns)
    split_pos = _split_position(returns, split)
    train = returns.iloc[:split_pos].to_numpy()
    mu = train.mean() if mean is None else float(mean)
    return pd.Series(
        np.full(len(returns) - split_pos, ((train - mu) ** 2).mean()),
        index=returns.index[split_pos:],
        name="unconditional",
    )
