"""Tests for lstm_apps.baselines.volatility and the volatility metrics: NumPy references, errors."""

import numpy as np
import pandas as pd
import pytest

from lstm_apps.baselines import volatility as vb


def _returns(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.Series(rng.standard_t(6, n), index=pd.bdate_range("2018-01-01", periods=n), name="return")


def test_volatility_metrics_against_numpy():
    from lstm_apps import metrics as M

    rng = np.random.default_rng(0)
    h = rng.uniform(0.5, 2.0, 300)
    y = h * rng.chisquare(1, 300)
    assert M.qlike(y, h) == pytest.approx(np.mean(np.log(h) + y / h))
    assert M.variance_mse(y, h) == pytest.approx(np.mean((y - h) ** 2))
    mz = M.mincer_zarnowitz(0.5 + 2.0 * h, h)
    assert (
        mz["alpha"] == pytest.approx(0.5)
        and mz["beta"] == pytest.approx(2.0)
        and mz["r2"] == pytest.approx(1.0)
    )
    assert np.isnan(M.mincer_zarnowitz(y, np.ones(300))["beta"])
    la, lb = M.qlike_losses(y, h), M.qlike_losses(y, 1.3 * h)
    d = la - lb
    dm = M.diebold_mariano(la, lb, hac_lags=0)
    assert dm["stat"] == pytest.approx(d.mean() / np.sqrt(d.var() / len(d)), rel=1e-6)
    assert dm["stat"] < 0 and dm["pvalue"] < 0.05  # the true variance beats a 30 % overstatement
    assert M.diebold_mariano(la, la)["pvalue"] == 1.0
    with pytest.raises(ValueError, match="must be > 0"):
        M.qlike(y, -h)
    with pytest.raises(ValueError, match="same length"):
        M.qlike(y, h[:-1])


def test_estimation_blocks_and_baseline_errors():

    assert vb.estimation_blocks(100, 60) == [(0, 60, 60, 100)]
    assert vb.estimation_blocks(100, 60, "expanding", 15) == [
        (0, 60, 60, 75),
        (0, 75, 75, 90),
        (0, 90, 90, 100),
    ]
    assert vb.estimation_blocks(100, 60, "rolling", 20, 40) == [(20, 60, 60, 80), (40, 80, 80, 100)]
    with pytest.raises(ValueError, match="window must be one of"):
        vb.estimation_blocks(100, 60, "sliding")
    r = pd.Series(np.random.default_rng(0).normal(size=50), index=pd.bdate_range("2020-01-01", periods=50))
    with pytest.raises(ValueError, match="leaves no day to forecast"):
        vb.ewma_forecasts(r, "2021-01-01")
    with pytest.raises(ValueError, match="lam must lie in"):
        vb.ewma_forecasts(r, "2020-02-15", lam=1.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        vb.garch_forecasts(r, "2020-02-15", kind="egarch")


def test_baseline_forecasts_match_the_single_baselines():
    r = _returns()
    split = r.index[300]
    fc, mu, params = vb.baseline_forecasts(r, split)
    h, garch = vb.garch_forecasts(r, split)
    assert mu == garch["mu"] and params["garch_alpha"] == garch["alpha[1]"]
    pd.testing.assert_series_equal(fc["garch"], h)
    pd.testing.assert_series_equal(fc["ewma"], vb.ewma_forecasts(r, split, 0.94, mean=mu))
    pd.testing.assert_series_equal(fc["rolling22"], vb.rolling_variance_forecasts(r, split, 22, mean=mu))
    assert list(fc) == ["garch", "gjr_garch", "ewma", "rolling22", "unconditional"]
    e2 = (r.to_numpy()[:300] - r.to_numpy()[:300].mean()) ** 2
    fc_train, mu_train, _ = vb.baseline_forecasts(r, split, demean="train")
    assert mu_train == pytest.approx(r.to_numpy()[:300].mean())
    np.testing.assert_allclose(fc_train["unconditional"].to_numpy(), e2.mean())
    with pytest.raises(ValueError, match="demean must be 'garch', 'train' or 'none', received 'median'"):
        vb.baseline_forecasts(r, split, demean="median")


def test_network_forecasts_read_the_window_ending_the_day_before():
    class LastInput:
        def predict(self, x, batch_size=None, verbose=0):
            return x[..., :1] ** 2  # "variance" = square of the input at each step

    feats = np.arange(1.0, 51.0, dtype="float32")[:, None]
    h = vb.network_forecasts(LastInput(), feats, np.array([5, 20, 49]), seq_len=8)
    np.testing.assert_allclose(h, [5.0**2, 20.0**2, 49.0**2])  # day t: input of day t-1 (value t)


def test_range_proxy_is_scaled_to_the_squared_returns():
    r = _returns(100)
    rv = pd.Series(np.linspace(1.0, 2.0, 100), index=r.index)
    proxy, scale = vb.range_proxy(rv, r, 60, mean=0.1)
    e2 = (r.to_numpy()[:60] - 0.1) ** 2
    assert scale == pytest.approx(e2.mean() / rv.to_numpy()[:60].mean())
    np.testing.assert_allclose(proxy.to_numpy(), rv.to_numpy()[60:] * scale)
    assert proxy.name == "range_proxy" and proxy.index.equals(r.index[60:])
    assert vb.range_proxy(rv.iloc[1:], r, 60) is None  # a day without a range


def test_evaluate_forecasts_against_numpy():
    from lstm_apps import metrics as M

    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2020-01-01", periods=300)
    h = pd.Series(rng.uniform(0.5, 2.0, 300), index=idx)
    y = h * rng.chisquare(1, 300)
    forecasts = {"good": h, "garch": 1.3 * h}
    rows, metrics = vb.evaluate_forecasts(y, forecasts, y_range=h, labels={"good": "the truth"})
    assert [row["model"] for row in rows] == ["the truth", "garch"]
    assert metrics["qlike_good"] == pytest.approx(np.mean(np.log(h) + y / h))
    assert metrics["mse_garch"] == pytest.approx(np.mean((y - 1.3 * h) ** 2))
    assert metrics["qlike_range_good"] == pytest.approx(np.mean(np.log(h) + 1.0))
    dm = M.diebold_mariano(M.qlike_losses(y, h), M.qlike_losses(y, 1.3 * h))
    assert metrics["dm_stat_good_vs_garch"] == dm["stat"] < 0
    assert rows[0]["DM vs GARCH (p)"] == f"{dm['stat']:+.2f} ({dm['pvalue']:.3f})"
    assert "dm_stat_garch_vs_garch" not in metrics and "DM vs GARCH (p)" not in rows[1]
    with pytest.raises(ValueError, match="must hold the reference 'garch'"):
        vb.evaluate_forecasts(y, {"good": h})


def test_figures():
    r = _returns(300)
    fc, _, _ = vb.baseline_forecasts(r, r.index[200])
    y = (r.iloc[200:] - r.mean()) ** 2
    fig = vb.plot_forecasts(y, fc, {"garch": "GARCH(1,1)"}, keys=("garch", "ewma"))
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][1] == "GARCH(1,1)"
    gate = pd.Series(np.linspace(0.2, 0.9, 300), index=r.index)
    fig = vb.plot_gate_over_time(r, gate, r.index[200], "gate", episodes=[("2018-03-01", "2018-04-01", "x")])
    assert fig.axes[0].get_title() == "gate" and "x" in [
        t.get_text() for t in fig.axes[1].get_legend().get_texts()
    ]


def test_evaluate_forecasts_tests_extra_pairs():
    from lstm_apps import metrics as M

    rng = np.random.default_rng(1)
    h = pd.Series(rng.uniform(0.5, 2.0, 200), index=pd.bdate_range("2020-01-01", periods=200))
    y = h * rng.chisquare(1, 200)
    fc = {"a": h, "b": 0.8 * h, "garch": 1.2 * h}
    _, metrics = vb.evaluate_forecasts(y, fc, pairs=[("a", "b")])
    dm = M.diebold_mariano(M.qlike_losses(y, h), M.qlike_losses(y, 0.8 * h))
    assert metrics["dm_stat_a_vs_b"] == dm["stat"] and metrics["dm_pvalue_a_vs_b"] == dm["pvalue"]


def test_gate_half_lives_against_numpy():
    from lstm_apps.metrics import gate_half_lives

    z = np.random.default_rng(2).standard_t(5, 2000)
    out = gate_half_lives(2.0, 0.4, z)
    calm, shock = np.median(np.abs(z)), np.quantile(np.abs(z), 0.99)
    for key, level in (("half_life_calm_days", calm), ("half_life_shock_days", shock)):
        gate = 1.0 / (1.0 + np.exp(-(2.0 - 0.4 * level)))
        assert out[key] == pytest.approx(np.log(0.5) / np.log(gate))
    assert (
        out["calm_abs_return_sd"] == pytest.approx(calm)
        and out["half_life_shock_days"] < out["half_life_calm_days"]
    )
    with pytest.raises(ValueError, match="shock_quantile must lie in"):
        gate_half_lives(2.0, 0.4, z, shock_quantile=0.3)


def test_forget_gate_by_day_reads_the_last_step_of_each_window():
    import keras

    from lstm_apps.layers import AdaptiveForgetCell, forget_gate_trace

    keras.utils.set_random_seed(0)
    cell = AdaptiveForgetCell(3, a_init=1.0, b_init=0.5)
    keras.layers.RNN(cell, return_sequences=True)(np.zeros((1, 4, 1), "float32"))  # builds the cell
    z = np.random.default_rng(0).normal(size=(60, 1)).astype("float32")
    dates = pd.bdate_range("2020-01-01", periods=60)
    gate = vb.forget_gate_by_day(cell, z, np.array([10, 30, 59]), 16, dates)
    assert gate.index.equals(dates[[10, 30, 59]]) and ((gate > 0) & (gate < 1)).all()
    window = np.concatenate([np.zeros((5, 1), "float32"), z[:11]])[None]  # days 0..10, zero-padded to 16
    expected = forget_gate_trace(cell, window)["forget_gate"][0, -1].mean()
    assert gate.iloc[0] == pytest.approx(float(expected), rel=1e-6)
    # calm days keep the gate nearer σ(a) than a shock day does
    shocked = z.copy()
    shocked[59] = 8.0
    assert vb.forget_gate_by_day(cell, shocked, np.array([59]), 16).iloc[0] < gate.iloc[2]
