"""Volatility baselines: GARCH(1,1) and GJR-GARCH (``arch``), EWMA and rolling variance; their evaluation.

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
y = (r.loc["2015-01-01":] - params["mu"]) ** 2            # the squared-return proxy
rows, metrics = vb.evaluate_forecasts(y, {"garch": h, "gjr_garch": h_gjr, "ewma": h_ewma})
```

:func:`evaluate_forecasts` scores any set of forecasts (a network's too,
from :func:`network_forecasts`) by QLIKE, MSE, the Mincer–Zarnowitz
regression and a Diebold–Mariano test against a reference model.
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
    "baseline_forecasts",
    "network_forecasts",
    "forget_gate_by_day",
    "range_proxy",
    "evaluate_forecasts",
    "plot_forecasts",
    "plot_gate_over_time",
    "MARKET_EPISODES",
]

#: Stress episodes of the S&P 500 shaded in :func:`plot_gate_over_time`.
MARKET_EPISODES = (
    ("2008-09-01", "2009-03-31", "2008 crisis"),
    ("2015-08-15", "2016-02-29", "2015-16 selloffs"),
)

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
    """The estimation sample's variance, forecast for every day after the split.

    The floor any model must beat.
    """
    returns = _check_returns(returns)
    split_pos = _split_position(returns, split)
    train = returns.iloc[:split_pos].to_numpy()
    mu = train.mean() if mean is None else float(mean)
    return pd.Series(
        np.full(len(returns) - split_pos, ((train - mu) ** 2).mean()),
        index=returns.index[split_pos:],
        name="unconditional",
    )


def network_forecasts(model, features: np.ndarray, days, seq_len: int, batch_size: int = 512) -> np.ndarray:
    """One-step forecasts of a sequence model for the given target days.

    The forecast for day t is the last output of the ``seq_len``-day window
    of ``features`` ending on day t−1, read from a zero state, exactly as
    :func:`lstm_apps.datasets.return_windows.training_windows` trains it.

    Args:
        model: a Keras model mapping ``(batch, time, channels)`` to ``(batch, time, 1)``.
        features: the inputs per day (:func:`lstm_apps.datasets.return_windows.network_inputs`).
        days: target days (positions, each at least 1).
        seq_len: window length in days.
        batch_size: windows per ``predict`` batch.

    Returns:
        A float array with one forecast per day, in the model's (standardised) units.
    """
    from lstm_apps.datasets.return_windows import windows_ending_at

    x = windows_ending_at(features, np.asarray(days) - 1, seq_len)
    return model.predict(x, batch_size=batch_size, verbose=0)[:, -1, 0]


def forget_gate_by_day(cell, features: np.ndarray, ends, seq_len: int, dates=None) -> pd.Series:
    """A gray-box cell's forget gate, averaged over its units, at the end of each window.

    For each end day ``e`` the cell reads the ``seq_len`` days of ``features``
    ending on ``e`` from a zero state (as :func:`network_forecasts` does) and
    the gate of its last step is kept (see
    :func:`lstm_apps.layers.forget_gate_trace`).

    Args:
        cell: the trained cell (e.g. ``model.get_layer("adaptive_rnn").cell``).
        features: the inputs per day.
        ends: the days whose gate is wanted.
        seq_len: window length in days.
        dates: the dates of all days (the result's index); positions when None.

    Returns:
        A ``pandas.Series`` of gate values in (0, 1), one per end day.
    """
    from lstm_apps.datasets.return_windows import windows_ending_at
    from lstm_apps.layers import forget_gate_trace

    ends = np.asarray(ends)
    trace = forget_gate_trace(cell, windows_ending_at(features, ends, seq_len))
    index = ends if dates is None else pd.Index(dates)[ends]
    return pd.Series(trace["forget_gate"][:, -1, :].mean(axis=1), index=index, name="forget_gate")


def range_proxy(range_variance: pd.Series, returns: pd.Series, split_pos: int, mean: float = 0.0):
    """A range-based variance proxy for the forecast days, scaled to the squared returns.

    A daily range variance (e.g. :func:`lstm_apps.datasets.prices.parkinson_variance`)
    misses overnight moves, so it is scaled so that its mean over the
    estimation sample (the first ``split_pos`` days) matches the mean of
    ``(r - mean)²`` there.

    Returns:
        ``(proxy, scale)``: the scaled proxy on the days from ``split_pos``
        on, named ``"range_proxy"``; or None when ``range_variance`` lacks
        any day of ``returns``.
    """
    rv = pd.Series(range_variance).reindex(returns.index)
    if rv.isna().any():
        return None
    r = returns.to_numpy(dtype="float64")
    scale = float(np.mean((r[:split_pos] - mean) ** 2) / rv.iloc[:split_pos].mean())
    return (rv.iloc[split_pos:] * scale).rename("range_proxy"), scale


def evaluate_forecasts(
    y: pd.Series,
    forecasts,
    y_range: pd.Series | None = None,
    labels=None,
    reference: str = "garch",
    reference_name: str = "GARCH",
    pairs=(),
) -> tuple[list[dict], dict[str, float]]:
    """Score variance forecasts against a proxy: QLIKE, MSE, Mincer–Zarnowitz and Diebold–Mariano.

    Args:
        y: the proxy on the forecast days (e.g. squared demeaned returns).
        forecasts: ``{key: forecasts}`` on the same days; must hold ``reference``.
        y_range: an optional second proxy (:func:`range_proxy`), scored by QLIKE.
        labels: ``{key: table label}`` (default: the keys).
        reference: the model every other one is tested against (Diebold–Mariano on QLIKE).
        reference_name: how the table's test column names it.
        pairs: further ``(a, b)`` keys tested against each other (metrics only).

    Returns:
        ``(rows, metrics)``: one table row per model, and flat metrics
        ``qlike_<key>``, ``mse_<key>``, ``mz_alpha_<key>``, ``mz_beta_<key>``,
        ``mz_r2_<key>``, ``mz_pvalue_<key>``, ``qlike_range_<key>`` (with
        ``y_range``), ``dm_stat_<key>_vs_<reference>`` and
        ``dm_pvalue_<key>_vs_<reference>`` (negative statistic: lower QLIKE
        than the reference), and ``dm_stat_<a>_vs_<b>``, ``dm_pvalue_<a>_vs_<b>``
        for each of ``pairs``.
    """
    from lstm_apps import metrics as M

    if reference not in forecasts:
        raise ValueError(f"forecasts must hold the reference {reference!r}, received {sorted(forecasts)}.")
    labels = labels or {}
    yv = np.asarray(y, dtype="float64")
    losses = {k: M.qlike_losses(yv, np.asarray(h)) for k, h in forecasts.items()}
    rows, metrics = [], {}
    for k, h in forecasts.items():
        h = np.asarray(h, dtype="float64")
        mz = M.mincer_zarnowitz(yv, h)
        q, mse = float(losses[k].mean()), M.variance_mse(yv, h)
        metrics.update(
            {
                f"qlike_{k}": q,
                f"mse_{k}": mse,
                f"mz_alpha_{k}": mz["alpha"],
                f"mz_beta_{k}": mz["beta"],
                f"mz_r2_{k}": mz["r2"],
                f"mz_pvalue_{k}": mz["wald_pvalue"],
            }
        )
        row = {
            "model": labels.get(k, k),
            "QLIKE": q,
            "MSE": mse,
            "MZ α": mz["alpha"],
            "MZ β": mz["beta"],
            "MZ R²": mz["r2"],
            "MZ p(α=0,β=1)": mz["wald_pvalue"],
        }
        if y_range is not None:
            row["QLIKE (range proxy)"] = metrics[f"qlike_range_{k}"] = M.qlike(np.asarray(y_range), h)
        if k != reference:
            dm = M.diebold_mariano(losses[k], losses[reference])
            row[f"DM vs {reference_name} (p)"] = f"{dm['stat']:+.2f} ({dm['pvalue']:.3f})"
            metrics[f"dm_stat_{k}_vs_{reference}"] = dm["stat"]
            metrics[f"dm_pvalue_{k}_vs_{reference}"] = dm["pvalue"]
        rows.append(row)
    for a, b in pairs:
        dm = M.diebold_mariano(losses[a], losses[b])
        metrics[f"dm_stat_{a}_vs_{b}"], metrics[f"dm_pvalue_{a}_vs_{b}"] = dm["stat"], dm["pvalue"]
    return rows, metrics


def baseline_forecasts(
    returns: pd.Series,
    split,
    window: str = "fixed",
    refit_every: int = 252,
    window_days: int = 2520,
    demean: str = "garch",
):
    """The field's baselines in one call: GARCH(1,1), GJR-GARCH, EWMA, rolling and unconditional variance.

    Args:
        returns: daily returns (percent).
        split: first forecast day.
        window, refit_every, window_days: the GARCH models' estimation scheme (module docstring).
        demean: the mean removed from returns for EWMA, rolling and
            unconditional variance (and for the proxy): ``"garch"``
            (GARCH(1,1)'s fitted constant mean; with a moving window, that of
            the fixed-window fit), ``"train"`` (the estimation sample's mean)
            or ``"none"``.

    Returns:
        ``(forecasts, mean, params)``: ``{"garch", "gjr_garch", "ewma",
        "rolling22", "unconditional"}`` forecasts, the mean removed, and
        ``{"garch_alpha", "garch_beta", "gjr_gamma"}`` of the last fits.
    """
    if demean not in ("garch", "train", "none"):
        raise ValueError(f"demean must be 'garch', 'train' or 'none', received {demean!r}.")
    returns = _check_returns(returns)
    split_pos = _split_position(returns, split)
    fc = {}
    fc["garch"], garch = garch_forecasts(returns, split, "garch", window, refit_every, window_days)
    fc["gjr_garch"], gjr = garch_forecasts(returns, split, "gjr_garch", window, refit_every, window_days)
    r = returns.to_numpy()
    mu = {"garch": garch["mu"], "train": float(r[:split_pos].mean()), "none": 0.0}[demean]
    if window != "fixed" and demean == "garch":
        mu = garch_forecasts(returns, split, "garch", "fixed")[1]["mu"]
    fc["ewma"] = ewma_forecasts(returns, split, 0.94, mean=mu)
    fc["rolling22"] = rolling_variance_forecasts(returns, split, 22, mean=mu)
    fc["unconditional"] = unconditional_variance_forecasts(returns, split, mean=mu)
    params = {"garch_alpha": garch["alpha[1]"], "garch_beta": garch["beta[1]"], "gjr_gamma": gjr["gamma[1]"]}
    return fc, mu, params


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def plot_forecasts(y: pd.Series, forecasts, labels=None, keys=("garch", "gjr_garch", "cell")):
    """Forecasts of the ``keys`` models against the proxy ``y`` over the forecast days (log scale)."""
    import matplotlib.pyplot as plt

    labels = labels or {}
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(y.index, y.to_numpy(), color="0.8", lw=0.6, label="proxy: squared demeaned return")
    for k, color in zip(keys, ("tab:blue", "tab:green", "tab:red", "tab:purple", "tab:orange")):
        ax.plot(forecasts[k].index, np.asarray(forecasts[k]), lw=1.0, color=color, label=labels.get(k, k))
    ax.set_yscale("log")
    ax.set_ylim(max(1e-3, float(np.quantile(y, 0.05))), None)
    ax.set_ylabel("variance (%²)")
    ax.set_title("One-step variance forecasts against the squared-return proxy")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def plot_gate_over_time(returns: pd.Series, gate: pd.Series, split, title: str, episodes=MARKET_EPISODES):
    """Returns (top) and a gate's value (bottom) over time, the split marked and stress ``episodes`` shaded.

    Args:
        returns: daily returns.
        gate: the gate per day (e.g. a forget gate's mean over units).
        split: the first forecast day (a dashed line).
        title: the figure's title.
        episodes: ``(start, end, label)`` date ranges shaded where they overlap the data.
    """
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
    ax1.plot(returns.index, returns.to_numpy(), lw=0.4, color="0.3")
    ax1.set_ylabel("return (%)")
    ax1.axvline(pd.Timestamp(split), color="k", ls="--", lw=0.8)
    ax2.plot(gate.index, gate.to_numpy(), lw=0.5, color="tab:red")
    ax2.axvline(pd.Timestamp(split), color="k", ls="--", lw=0.8, label="split")
    for lo, hi, label in episodes:
        lo, hi = pd.Timestamp(lo), pd.Timestamp(hi)
        if returns.index[0] <= hi and lo <= returns.index[-1]:
            ax1.axvspan(lo, hi, color="orange", alpha=0.2)
            ax2.axvspan(lo, hi, color="orange", alpha=0.2, label=label)
    ax2.set_ylabel("forget gate f_t (mean over units)")
    ax2.legend(loc="lower left", fontsize=8)
    ax1.set_title(title)
    return fig
