"""
Title: Volatility forecasting with an adaptive-memory LSTM cell, against GARCH
Author: lstm-apps
Date created: 2026-11-22
Description: One-step S&P 500 variance forecasts 2015-2018: an LSTM whose forget gate shuts on large returns vs GARCH(1,1), GJR-GARCH, EWMA, rolling variance; QLIKE, MSE, Mincer-Zarnowitz, Diebold-Mariano.
"""

"""
## Introduction

Risk managers forecast tomorrow's variance of returns every day, and the
model they trust is GARCH(1,1): tomorrow's variance is a constant plus a
fraction of today's squared surprise plus a fraction of today's variance.
A recurrent network only earns its place if it beats that model **out of
sample**, by the losses and tests forecasters already use:

* **QLIKE** = mean(log h + y/h), with y the squared demeaned return: the
  loss that ranks variance forecasts consistently even though y is a noisy
  proxy (Patton 2011), and, up to constants, the Gaussian negative
  log-likelihood;
* **MSE** = mean((y − h)²), dominated by the few crash days;
* the **Mincer–Zarnowitz** regression y = α + β·h (an unbiased forecast has
  α = 0, β = 1);
* the **Diebold–Mariano** test of equal QLIKE between the cell and GARCH;
* on the bundled index, which has daily highs and lows but no intraday
  data, QLIKE is also reported against the Parkinson range variance
  (ln(H/L))²/(4 ln 2), a less noisy proxy; it misses overnight moves, so it
  is scaled to the squared returns' mean over the estimation sample.

The network here is `lstm_apps.layers.AdaptiveForgetCell`, a gray-box LSTM
whose forget gate's pre-activation is a − b·|r_t| (plus learned terms): in
calm markets the gate stays near σ(a) and the cell remembers a long calm
regime; a large return shuts the gate and the cell forgets the calm at once.
Its learned a and b read as memory half-lives, in days, for a calm and a
shocked market. The cell is trained with the Gaussian negative
log-likelihood of returns (the QLIKE form), and its variance is the
exponential of a linear read-out, so it is always positive.

On the bundled data (the S&P 500 series shipped with `arch`, 1999–2018),
every model is estimated on the days through the split (default
2014-12-31) and forecasts each day of 2015–2018 from the days before it.
`--window expanding|rolling` re-estimates every `--refit-every` days
(the networks are fine-tuned from their previous weights).
`--data prices.csv` or `--ticker SPY --start 2005-01-01` run the same
comparison on any price series.

## Setup
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

try:
    import lstm_apps  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras

from lstm_apps import metrics as M
from lstm_apps.baselines import volatility as vb
from lstm_apps.datasets import prices
from lstm_apps.io import atomic_path, save_keras_model
from lstm_apps.layers import AdaptiveForgetCell, forget_gate_trace, memory_half_life, recurrent, variance_nll
from lstm_apps.training import recipe_parser, start_run

"""
## Configuration
"""

MODELS = ("cell", "lstm", "garch", "gjr_garch", "ewma", "rolling22")
LABELS = {
    "cell": "adaptive-forget cell",
    "lstm": "plain recurrent net",
    "garch": "GARCH(1,1)",
    "gjr_garch": "GJR-GARCH(1,1,1)",
    "ewma": "EWMA λ=0.94",
    "rolling22": "rolling 22-day variance",
    "unconditional": "unconditional variance",
}


def build_parser() -> argparse.ArgumentParser:
    parser = recipe_parser(
        "volatility",
        __doc__,
        epochs=60,
        quick_epochs=4,
        cell="lstm",
        cells=("lstm", "gru", "lstm1997", "simple_rnn"),
        batch_size=32,
    )
    g = parser.add_argument_group(
        "volatility options (--cell picks the plain recurrent net compared with the adaptive cell)"
    )
    src = g.add_mutually_exclusive_group()
    src.add_argument(
        "--data",
        default=None,
        metavar="CSV",
        help="price file with a date and a close/adj close column (default: the S&P 500 shipped with arch)",
    )
    src.add_argument(
        "--ticker", default=None, help="Yahoo Finance symbol, downloaded once with yfinance and cached"
    )
    g.add_argument("--start", default=None, help="first date to use (for --ticker: the download's start)")
    g.add_argument("--end", default=None, help="last date to use")
    g.add_argument(
        "--cache-dir",
        default=None,
        help="yfinance cache folder (default ~/.cache/lstm_apps/prices or $LSTM_APPS_CACHE/prices)",
    )
    g.add_argument(
        "--split",
        default="2014-12-31",
        help="last day of the estimation sample; later days are forecast (default 2014-12-31)",
    )
    g.add_argument(
        "--window",
        choices=vb.WINDOWS,
        default="fixed",
        help="estimation window: fixed (fit once), expanding or rolling (refit every --refit-every days)",
    )
    g.add_argument(
        "--refit-every",
        type=int,
        default=252,
        help="days between re-estimations for expanding/rolling (default 252)",
    )
    g.add_argument(
        "--window-years",
        type=float,
        default=10.0,
        help="length of the rolling window in years of 252 days (default 10)",
    )
    g.add_argument(
        "--refit-epochs", type=int, default=5, help="fine-tuning epochs per refit of the networks (default 5)"
    )
    g.add_argument(
        "--demean",
        choices=("garch", "train", "none"),
        default="garch",
        help="mean removed from returns for the proxy y: GARCH(1,1)'s fitted constant mean (default), the estimation sample's mean, or none",
    )
    g.add_argument(
        "--volume",
        action="store_true",
        help="fuse an extra input channel: the day's log volume relative to its 22-day mean (bundled data only)",
    )
    g.add_argument(
        "--a-init",
        type=float,
        default=1.0,
        help="initial a of the adaptive cell (default 1.0: a 2-day calm half-life, chosen on validation)",
    )
    g.add_argument(
        "--b-init",
        type=float,
        default=0.5,
        help="initial b of the adaptive cell, per s.d. of returns (default 0.5)",
    )
    g.add_argument("--units", type=int, default=8, help="units of both recurrent nets (default 8)")
    g.add_argument(
        "--seq-len", type=int, default=256, help="training/forecast window length in days (default 256)"
    )
    g.add_argument(
        "--burn-in",
        type=int,
        default=64,
        help="days at the start of each window that are not scored (default 64)",
    )
    g.add_argument("--stride", type=int, default=8, help="days between training windows (default 8)")
    g.add_argument(
        "--val-days",
        type=int,
        default=504,
        help="last days of the estimation sample used for early stopping (default 504)",
    )
    g.add_argument("--patience", type=int, default=10, help="early-stopping patience in epochs (default 10)")
    g.add_argument("--learning-rate", type=float, default=3e-3, help="Adam learning rate (default 3e-3)")
    return parser


"""
## Data

Percent returns r_t; the proxy y_t = (r_t − μ)². The networks see the
standardised return z_t = (r_t − μ)/σ (μ, σ from the estimation sample) and
predict the standardised variance of z_{t+1}; their forecasts are scaled
back by σ². Each training window of `--seq-len` days starts from a zero
state; its first `--burn-in` days warm the state up and are not scored.
The forecast for day t is the last output of the window ending on day t−1,
exactly as in training.
"""


def volume_channel(dates: pd.DatetimeIndex, split_pos: int) -> np.ndarray:
    """Standardised log(volume / mean volume of the previous 22 days) of the bundled S&P 500, per return day."""
    from arch.data import sp500

    vol = sp500.load()["Volume"].astype("float64")
    vol.index = pd.DatetimeIndex(pd.to_datetime(vol.index)).normalize()
    rel = np.log(vol / vol.rolling(22).mean().shift(1)).reindex(dates)
    rel = rel.fillna(0.0).to_numpy()
    m, s = rel[:split_pos].mean(), rel[:split_pos].std()
    return (rel - m) / s


def load_data(args) -> pd.Series:
    if args.ticker:
        return prices.load_returns(
            ticker=args.ticker, start=args.start, end=args.end, cache_dir=args.cache_dir
        )
    returns = prices.load_returns(csv=args.data, start=args.start, end=args.end)
    if args.quick and args.data is None and args.start is None:
        # a seconds-long run: 2011-2015, split at mid-2014
        returns = returns.loc["2011-01-01":"2015-06-30"]
    return returns


def windows(x: np.ndarray, ends: np.ndarray, seq_len: int) -> np.ndarray:
    """Stack the windows ``x[e - seq_len + 1 : e + 1]`` for every end ``e`` (left-padded with zeros)."""
    pad = np.concatenate([np.zeros((seq_len - 1,) + x.shape[1:], x.dtype), x])
    idx = ends[:, None] + np.arange(seq_len)[None, :]
    return pad[idx]


def inputs_of(z: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """The networks' input channels per day: the standardised return, then any extra channels."""
    cols = [z[:, None]] + ([extra.reshape(len(z), -1)] if extra is not None else [])
    return np.concatenate(cols, axis=1).astype("float32")


def training_windows(
    z: np.ndarray,
    lo: int,
    hi: int,
    seq_len: int,
    burn_in: int,
    stride: int,
    features: np.ndarray | None = None,
):
    """Windows whose targets (days ``lo..hi-1``) are scored after the burn-in.

    Input day t predicts target day t+1; the window ending at input day e
    covers targets e−seq_len+2 .. e+1.
    """
    first_end = max(lo - 1 + burn_in, seq_len - 1)
    ends = np.arange(hi - 2, first_end - 1, -stride)[::-1]
    if len(ends) == 0:
        raise ValueError(
            f"no training window fits days {lo}..{hi}; use a shorter --seq-len/--burn-in or more data."
        )
    x = windows(inputs_of(z) if features is None else features, ends, seq_len)
    tgt = windows((z**2)[:, None].astype("float32"), ends + 1, seq_len)
    target_day = ends[:, None] + 1 - (seq_len - 1) + np.arange(seq_len)[None, :]
    w = np.ones(x.shape[:2], "float32")
    w[:, :burn_in] = 0.0
    w[(target_day < lo) | (target_day >= hi)] = 0.0
    return x, tgt, w, target_day


"""
## Model

Both networks: returns → recurrent layer → Dense(1) → exp, giving a positive
variance for the next day. The adaptive cell starts with a = 1 (a calm
half-life of 2 days, which the data lengthen; on the validation years this
start beat a = 3) and b = 0.5 per standard deviation of returns.
"""


def build_model(
    kind: str, units: int, lr: float, seed: int, a_init: float = 1.0, b_init: float = 0.5, n_features: int = 1
) -> keras.Model:
    inp = keras.Input((None, n_features), name="standardised_return")
    if kind == "cell":
        cell = AdaptiveForgetCell(units, a_init=a_init, b_init=b_init, name="adaptive_forget")
        rnn = keras.layers.RNN(cell, return_sequences=True, name="adaptive_rnn")
    else:
        rnn = recurrent(kind, units, return_sequences=True, name=f"{kind}_rnn")
    h = rnn(inp)
    log_var = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.GlorotUniform(seed), name="log_variance"
    )(h)
    var = keras.layers.Activation("exponential", name="variance")(log_var)
    model = keras.Model(inp, var, name=f"volatility_{kind}")
    model.compile(optimizer=keras.optimizers.Adam(lr, clipnorm=1.0), loss=variance_nll)
    return model


"""
## Train
"""


def fit_network(run, model, z, feats, lo, hi, args, epochs, tag):
    """Train on targets ``lo..hi-1``; windows ending in the last ``--val-days`` are held out for early stopping."""
    x, y, w, target_day = training_windows(z, lo, hi, args.seq_len, args.burn_in, args.stride, feats)
    val_from = hi - args.val_days
    is_val = target_day[:, -1] >= val_from
    callbacks, val_data = [], None
    if args.val_days > 0 and is_val.any() and not is_val.all():
        wv = w[is_val].copy()
        wv[target_day[is_val] < val_from] = 0.0  # score only the held-out stretch
        val_data = (x[is_val], y[is_val], wv)
        x, y, w = x[~is_val], y[~is_val], w[~is_val]
        callbacks.append(
            keras.callbacks.EarlyStopping(
                patience=args.patience, restore_best_weights=True, monitor="val_loss"
            )
        )
    return run.fit(
        model,
        x,
        y,
        sample_weight=w,
        validation_data=val_data,
        epochs=epochs,
        batch_size=args.batch_size,
        shuffle=True,
        callbacks=callbacks,
        history_name=f"history_{tag}",
    )


def forecast_network(model, feats, days: np.ndarray, seq_len: int) -> np.ndarray:
    """Standardised variance forecasts for the given target days (``feats``: :func:`inputs_of`)."""
    x = windows(feats, days - 1, seq_len)
    return model.predict(x, batch_size=512, verbose=0)[:, -1, 0]


"""
## Evaluate
"""


def evaluate(y: pd.Series, forecasts: dict, y_range: pd.Series | None = None) -> tuple[list, dict]:
    losses = {k: M.qlike_losses(y.to_numpy(), h.to_numpy()) for k, h in forecasts.items()}
    rows, metrics = [], {}
    for k, h in forecasts.items():
        mz = M.mincer_zarnowitz(y.to_numpy(), h.to_numpy())
        q, mse = float(losses[k].mean()), M.variance_mse(y.to_numpy(), h.to_numpy())
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
            "model": LABELS.get(k, k),
            "QLIKE": q,
            "MSE": mse,
            "MZ α": mz["alpha"],
            "MZ β": mz["beta"],
            "MZ R²": mz["r2"],
            "MZ p(α=0,β=1)": mz["wald_pvalue"],
        }
        if y_range is not None:
            row["QLIKE (range proxy)"] = metrics[f"qlike_range_{k}"] = M.qlike(
                y_range.to_numpy(), h.to_numpy()
            )
        if k != "garch":
            dm = M.diebold_mariano(losses[k], losses["garch"])
            row["DM vs GARCH (p)"] = f"{dm['stat']:+.2f} ({dm['pvalue']:.3f})"
            metrics[f"dm_stat_{k}_vs_garch"] = dm["stat"]
            metrics[f"dm_pvalue_{k}_vs_garch"] = dm["pvalue"]
        rows.append(row)
    return rows, metrics


def main(argv=None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        if args.split == parser.get_default("split") and args.data is None and args.ticker is None:
            args.split = "2014-06-30"
        if args.batch_size == parser.get_default("batch_size"):
            args.batch_size = 8  # few epochs on few windows: more, smaller steps
        args.seq_len, args.burn_in, args.stride, args.units, args.val_days = (
            min(args.seq_len, 64),
            min(args.burn_in, 16),
            max(args.stride, 8),
            min(args.units, 4),
            min(args.val_days, 126),
        )
    if args.volume and (args.data is not None or args.ticker is not None):
        raise ValueError(
            "--volume needs the bundled S&P 500 (it has a volume column); received --data/--ticker."
        )
    if args.burn_in >= args.seq_len:
        raise ValueError(
            f"--burn-in must be shorter than --seq-len, received {args.burn_in} and {args.seq_len}."
        )
    run = start_run("volatility", args)
    t0 = time.time()

    # Data
    returns = load_data(args)
    first_day = pd.Timestamp(args.split) + pd.Timedelta(days=1)
    split_pos = int(returns.index.searchsorted(first_day))
    if split_pos < args.seq_len + args.val_days // 2 or split_pos >= len(returns) - 10:
        raise ValueError(
            f"--split {args.split} leaves {split_pos} estimation days and {len(returns) - split_pos} forecast days; "
            f"expected at least {args.seq_len + args.val_days // 2} and 10 (data: {returns.index[0].date()} to {returns.index[-1].date()})."
        )
    n = len(returns)
    r = returns.to_numpy()
    window_days = int(round(args.window_years * 252))
    blocks = vb.estimation_blocks(n, split_pos, args.window, args.refit_every, window_days)
    print(
        f"{n} daily returns {returns.index[0].date()}..{returns.index[-1].date()}; estimation through {returns.index[split_pos - 1].date()}, "
        f"{n - split_pos} forecast days, window={args.window} ({len(blocks)} estimation block(s))"
    )

    # Baselines
    forecasts = {}
    forecasts["garch"], garch_params = vb.garch_forecasts(
        returns, first_day, "garch", args.window, args.refit_every, window_days
    )
    forecasts["gjr_garch"], gjr_params = vb.garch_forecasts(
        returns, first_day, "gjr_garch", args.window, args.refit_every, window_days
    )
    train_mean = float(r[:split_pos].mean())
    mu = {"garch": garch_params["mu"], "train": train_mean, "none": 0.0}[args.demean]
    if args.window != "fixed" and args.demean == "garch":
        _, p0 = vb.garch_forecasts(returns, first_day, "garch", "fixed")
        mu = p0["mu"]
    forecasts["ewma"] = vb.ewma_forecasts(returns, first_day, 0.94, mean=mu)
    forecasts["rolling22"] = vb.rolling_variance_forecasts(returns, first_day, 22, mean=mu)
    unconditional = vb.unconditional_variance_forecasts(returns, first_day, mean=mu)
    y = pd.Series((r[split_pos:] - mu) ** 2, index=returns.index[split_pos:], name="proxy")

    # Networks (standardised with the first estimation sample's mean and scale)
    sigma = float(np.sqrt(np.mean((r[:split_pos] - mu) ** 2)))
    z = ((r - mu) / sigma).astype("float64")
    extra = None
    if args.volume:
        extra = volume_channel(returns.index, split_pos)
        print(
            "extra input channel: log volume relative to its 22-day mean (standardised), fused into the cell's gates"
        )
    feats = inputs_of(z, extra)
    models, net_fc = {}, {}
    for kind in ("cell", args.cell):
        key = "cell" if kind == "cell" else "lstm"
        done_model, done_fc = run.file(f"trained_{key}.keras"), run.file(f"forecasts_{key}.npy")
        if run.resumed and done_model.exists() and done_fc.exists():
            # --resume: this network finished before the interruption
            models[key] = keras.models.load_model(done_model)
            net_fc[key] = pd.Series(np.load(done_fc), index=returns.index[split_pos:], name=key)
            print(f"[volatility] resumed: {key} network and its forecasts loaded from {done_model.name}")
            continue
        keras.utils.set_random_seed(args.seed)
        with run.strategy.scope():
            model = build_model(
                kind, args.units, args.learning_rate, args.seed, args.a_init, args.b_init, feats.shape[1]
            )
        parts = []
        for bi, (fit_lo, fit_hi, b_lo, b_hi) in enumerate(blocks):
            epochs = run.epochs if bi == 0 else args.refit_epochs
            if bi > 0:
                model.optimizer.learning_rate.assign(args.learning_rate / 3)
            fit_network(
                run,
                model,
                z,
                feats,
                fit_lo + 1,
                fit_hi,
                args,
                epochs,
                f"{key}" if bi == 0 else f"{key}_refit{bi}",
            )
            parts.append(forecast_network(model, feats, np.arange(b_lo, b_hi), args.seq_len))
        models[key] = model
        net_fc[key] = pd.Series(np.concatenate(parts) * sigma**2, index=returns.index[split_pos:], name=key)
        # checkpoint the finished network, so --resume after a later interruption skips it
        save_keras_model(model, done_model)
        with atomic_path(done_fc) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, net_fc[key].to_numpy())
    forecasts = {"cell": net_fc["cell"], "lstm": net_fc["lstm"], **forecasts}

    # the bundled index also has daily highs and lows: a less noisy range proxy
    y_range = None
    if args.data is None and args.ticker is None:
        rv = prices.load_sp500_range_variance().reindex(returns.index)
        if not rv.isna().any():
            # scaled so that its estimation-sample mean matches the squared returns' (it misses overnight moves)
            scale = float(np.mean((r[:split_pos] - mu) ** 2) / rv.iloc[:split_pos].mean())
            y_range = (rv.iloc[split_pos:] * scale).rename("range_proxy")
            metrics_extra = {"range_proxy_scale": scale}
    rows, metrics = evaluate(y, {**forecasts, "unconditional": unconditional}, y_range)
    if y_range is not None:
        metrics.update(metrics_extra)
    q_cell, q_garch = metrics["qlike_cell"], metrics["qlike_garch"]
    dm = M.diebold_mariano(M.qlike_losses(y, forecasts["cell"]), M.qlike_losses(y, forecasts["garch"]))
    metrics["dm_stat_cell_vs_garch"], metrics["dm_pvalue_cell_vs_garch"] = dm["stat"], dm["pvalue"]

    # The cell's physics: a, b and the half-lives they imply
    cell = models["cell"].get_layer("adaptive_rnn").cell
    phys = cell.physical_parameters()
    a, b = float(phys["a"][0]), float(phys["b"][0])
    calm_abs = float(np.median(np.abs(z[:split_pos])))
    shock_abs = float(np.quantile(np.abs(z[:split_pos]), 0.99))
    hl_calm, hl_shock = float(memory_half_life(a - b * calm_abs)), float(memory_half_life(a - b * shock_abs))
    metrics.update(
        {
            "a": a,
            "b": b,
            "half_life_calm_days": hl_calm,
            "half_life_shock_days": hl_shock,
            "calm_abs_return_sd": calm_abs,
            "shock_abs_return_sd": shock_abs,
            "garch_alpha": garch_params["alpha[1]"],
            "garch_beta": garch_params["beta[1]"],
            "gjr_gamma": gjr_params["gamma[1]"],
            "forecast_days": int(n - split_pos),
            "estimation_days": int(split_pos),
            "proxy_mean": mu,
        }
    )

    title = (
        f"One-step variance forecasts, {returns.index[split_pos].date()} to {returns.index[-1].date()} "
        f"({n - split_pos} days; lower QLIKE/MSE is better; DM < 0: lower QLIKE than GARCH)"
    )
    run.print_table(rows, title=title)
    verdict = "beats" if q_cell < q_garch else "does not beat"
    sig = "significant" if dm["pvalue"] < 0.05 else "not significant"
    print(
        f"\nThe adaptive cell {verdict} GARCH(1,1) on QLIKE ({q_cell:.4f} vs {q_garch:.4f}); "
        f"Diebold-Mariano stat {dm['stat']:+.2f}, p = {dm['pvalue']:.3f} ({sig} at 5 %)."
    )
    for k in ("gjr_garch", "lstm"):
        dmk = M.diebold_mariano(M.qlike_losses(y, forecasts["cell"]), M.qlike_losses(y, forecasts[k]))
        metrics[f"dm_stat_cell_vs_{k}"], metrics[f"dm_pvalue_cell_vs_{k}"] = dmk["stat"], dmk["pvalue"]
        print(
            f"Against {LABELS[k]} ({args.cell if k == 'lstm' else 'arch'}): cell QLIKE {q_cell:.4f} vs {metrics[f'qlike_{k}']:.4f} "
            f"({'lower' if q_cell < metrics[f'qlike_{k}'] else 'higher'}; DM {dmk['stat']:+.2f}, p = {dmk['pvalue']:.3f})."
        )
    best = min(MODELS, key=lambda k: metrics[f"qlike_{k}"])
    print(
        f"Lowest QLIKE: {LABELS[best]} ({metrics[f'qlike_{best}']:.4f}). "
        f"MSE: cell {metrics['mse_cell']:.3f} vs GARCH {metrics['mse_garch']:.3f} ({'lower' if metrics['mse_cell'] < metrics['mse_garch'] else 'higher'})."
    )
    print(
        f"Learned forget gate: a = {a:.3f}, b = {b:.3f} per s.d.; memory half-life {hl_calm:.1f} days in a calm market "
        f"(|r| = {calm_abs:.2f} s.d., the median) and {hl_shock:.2f} days after a shock (|r| = {shock_abs:.2f} s.d., the 99th percentile)."
    )

    # Plots: forecasts vs proxy over the test period; the forget gate over the whole sample
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(y.index, y.to_numpy(), color="0.8", lw=0.6, label="proxy: squared demeaned return")
    for k, color in (("garch", "tab:blue"), ("gjr_garch", "tab:green"), ("cell", "tab:red")):
        ax.plot(forecasts[k].index, forecasts[k].to_numpy(), lw=1.0, color=color, label=LABELS[k])
    ax.set_yscale("log")
    ax.set_ylim(max(1e-3, float(np.quantile(y, 0.05))), None)
    ax.set_ylabel("variance (%²)")
    ax.set_title("One-step variance forecasts against the squared-return proxy")
    ax.legend(loc="upper left", fontsize=8)
    run.save_figure(fig, "forecast_vs_proxy.png")

    all_days = np.arange(1, n)
    trace = forget_gate_trace(cell, windows(feats, all_days - 1, args.seq_len))
    gate = trace["forget_gate"][:, -1, :].mean(axis=1)
    gate = pd.Series(gate, index=returns.index[all_days - 1])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
    ax1.plot(returns.index, r, lw=0.4, color="0.3")
    ax1.set_ylabel("return (%)")
    ax1.axvline(returns.index[split_pos], color="k", ls="--", lw=0.8)
    ax2.plot(gate.index, gate.to_numpy(), lw=0.5, color="tab:red")
    ax2.axvline(returns.index[split_pos], color="k", ls="--", lw=0.8, label="split")
    for lo, hi, lab in (
        ("2008-09-01", "2009-03-31", "2008 crisis"),
        ("2015-08-15", "2016-02-29", "2015-16 selloffs"),
    ):
        if returns.index[0] <= pd.Timestamp(hi) and pd.Timestamp(lo) <= returns.index[-1]:
            for ax in (ax1, ax2):
                ax.axvspan(
                    pd.Timestamp(lo),
                    pd.Timestamp(hi),
                    color="orange",
                    alpha=0.2,
                    label=lab if ax is ax2 else None,
                )
    ax2.set_ylabel("forget gate f_t (mean over units)")
    ax2.legend(loc="lower left", fontsize=8)
    ax1.set_title(f"Adaptive forget gate over the whole sample (a = {a:.2f}, b = {b:.2f})")
    run.save_figure(fig, "forget_gate.png")
    metrics["forget_gate_median"] = float(gate.median())
    metrics["forget_gate_min"] = float(gate.min())

    pd.DataFrame({"proxy": y, **{k: v for k, v in forecasts.items()}}).to_csv(run.file("forecasts.csv"))

    """
    ## Export
    """
    run.save_model(
        models["cell"], sample_inputs=windows(feats, np.arange(split_pos, split_pos + 2), args.seq_len)
    )
    save_keras_model(
        models["lstm"], run.file("model_lstm.keras")
    )  # the comparison net; --export covers the cell
    metrics["train_seconds"] = round(time.time() - t0, 1)
    return run.finish(metrics)


"""
## Conclusion

Run on the bundled S&P 500 with the defaults (seed 0), the adaptive cell
forecasts 2015–2018 with QLIKE 0.368 against GARCH(1,1)'s 0.412 (the
reference value) and MSE 2.73 against 2.89, so it meets the goal, but the
Diebold–Mariano test does not call the QLIKE difference significant
(statistic −1.37, p = 0.17). It ties GJR-GARCH (0.371; p = 0.90), the
classical model that lets falling prices raise variance more than rising
ones, and it **loses** to a plain Keras LSTM trained the same way (0.355;
p = 0.27 for the difference), so on this index the gray-box gate buys
readability, not accuracy. The 2015–2018 period holds only a few large
shocks, so MSE is decided by a handful of days (August 2015, February 2018)
and ranks models differently from QLIKE.

The learned a ≈ 1.96 and b ≈ 0.38 per standard deviation say what the cell
remembers: its memory of the volatility regime halves in about 4.5 days on
a median day and in about 1.6 days after a 99th-percentile move. The
forget-gate plot shows the gate falling to about 0.3 in the autumn of 2008
and dipping in the August 2015 and early-2016 selloffs. One seed is one
draw: `benchmarks/volatility.py --seeds 0 1 2` measures the spread.
"""

if __name__ == "__main__":
    main()
