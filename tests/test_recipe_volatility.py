"""The volatility recipe: quick runs with metric ceilings, NumPy-checked baselines, CSV and ticker inputs."""

import json

import numpy as np
import pandas as pd
import pytest

from lstm_apps.cli import load_recipe

MODELS = ("cell", "lstm", "garch", "gjr_garch", "ewma", "rolling22")


def _recipe():
    return load_recipe("volatility")


def _sp500_slice(start="2011-01-01", end="2015-06-30"):
    from lstm_apps.datasets import prices

    return prices.load_sp500().loc[start:end]


def _numpy_baselines(r, split_pos, mu):
    """EWMA(0.94), rolling-22 and unconditional forecasts for days split_pos.., written out in NumPy."""
    e2 = (r - mu) ** 2
    h = e2[:22].mean()
    ewma = []
    for t in range(len(r)):
        if t >= split_pos:
            ewma.append(h)
        h = 0.94 * h + 0.06 * e2[t]
    roll = [e2[t - 22 : t].mean() for t in range(split_pos, len(r))]
    unc = np.full(len(r) - split_pos, e2[:split_pos].mean())
    return np.array(ewma), np.array(roll), unc


def _qlike(y, h):
    return float(np.mean(np.log(h) + y / h))


def test_quick_run_on_bundled_data(tmp_path):
    from arch import arch_model

    from lstm_apps.datasets import prices

    recipe = _recipe()
    metrics = recipe.main(["--quick", "--runs-dir", str(tmp_path)])
    for m in MODELS:
        assert np.isfinite(metrics[f"qlike_{m}"]) and np.isfinite(metrics[f"mse_{m}"]), m
    for key in (
        "dm_stat_cell_vs_garch",
        "dm_pvalue_cell_vs_garch",
        "a",
        "b",
        "half_life_calm_days",
        "half_life_shock_days",
    ):
        assert np.isfinite(metrics[key]), key
    assert 0.0 <= metrics["dm_pvalue_cell_vs_garch"] <= 1.0
    assert metrics["half_life_shock_days"] < metrics["half_life_calm_days"]

    # the same data, the baselines recomputed independently
    p = _sp500_slice("1999-01-01", "2015-06-30")
    keep = p.index[1:] >= pd.Timestamp("2011-01-01")  # the quick run's returns: 2011-01-03 .. 2015-06-30
    r = (100 * (p.to_numpy()[1:] / p.to_numpy()[:-1] - 1))[keep]
    dates = p.index[1:][keep]
    split_pos = int(dates.searchsorted(pd.Timestamp("2014-07-01")))
    assert metrics["forecast_days"] == len(r) - split_pos == 252
    res = arch_model(pd.Series(r[:split_pos]), mean="Constant", vol="GARCH", p=1, q=1).fit(disp="off")
    mu, om, al, be = (res.params[k] for k in ("mu", "omega", "alpha[1]", "beta[1]"))
    assert metrics["proxy_mean"] == pytest.approx(mu, rel=1e-4)
    y = (r[split_pos:] - mu) ** 2
    h, garch = np.mean((r[:split_pos] - mu) ** 2), []
    for t in range(len(r)):  # GARCH(1,1) recursion, warmed up over the estimation sample
        if t >= split_pos:
            garch.append(h)
        h = om + al * (r[t] - mu) ** 2 + be * h
    ewma, roll, unc = _numpy_baselines(r, split_pos, mu)
    assert metrics["qlike_garch"] == pytest.approx(_qlike(y, np.array(garch)), rel=1e-4)
    assert metrics["qlike_ewma"] == pytest.approx(_qlike(y, ewma), rel=1e-9)
    assert metrics["qlike_rolling22"] == pytest.approx(_qlike(y, roll), rel=1e-9)
    assert metrics["mse_ewma"] == pytest.approx(np.mean((y - ewma) ** 2), rel=1e-9)
    # metric ceiling: after a few seconds of training the cell beats the unconditional variance
    q_unc = _qlike(y, unc)
    assert metrics["qlike_unconditional"] == pytest.approx(q_unc, rel=1e-9)
    assert metrics["qlike_cell"] < q_unc
    rv = prices.load_sp500_range_variance().loc[dates].to_numpy()
    rng_proxy = rv[split_pos:] * np.mean((r[:split_pos] - mu) ** 2) / rv[:split_pos].mean()
    assert metrics["qlike_range_ewma"] == pytest.approx(_qlike(rng_proxy, ewma), rel=1e-9)

    run_dir = next((tmp_path / "volatility").iterdir())
    for name in (
        "model.keras",
        "model_lstm.keras",
        "forget_gate.png",
        "forecast_vs_proxy.png",
        "forecasts.csv",
        "results.md",
        "config.json",
    ):
        assert (run_dir / name).is_file(), name
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["qlike_cell"] == pytest.approx(metrics["qlike_cell"])
    assert "GARCH(1,1)" in (run_dir / "results.md").read_text()

    import keras

    model = keras.models.load_model(run_dir / "model.keras")
    assert model.get_layer("adaptive_rnn").cell.physical_parameters()["a"][0] == pytest.approx(
        metrics["a"], rel=1e-5
    )
    # --resume: each network's fits continue from their own backups (a finished fit has none
    # left, so it is trained again from the run's seed) and give the same table
    (run_dir / "metrics.json").unlink()
    again = recipe.main(["--quick", "--runs-dir", str(tmp_path), "--resume", str(run_dir)])
    for m in MODELS:
        assert again[f"qlike_{m}"] == pytest.approx(metrics[f"qlike_{m}"], rel=1e-9), m
    fc = pd.read_csv(run_dir / "forecasts.csv", index_col=0)
    assert (fc.drop(columns="proxy") > 0).all().all()


# slow: two recipe runs (30 s of a loaded run); the per-member resume it relies on is the harness's,
# tested in test_training.py::test_fit_members_resume_trains_only_the_interrupted_member
@pytest.mark.slow
def test_resume_continues_the_interrupted_network_from_its_backup(tmp_path, monkeypatch):
    """An interruption in the plain net's second epoch: --resume trains the cell again from the
    run's seed (its finished fit left no backup) and continues the plain net from its own backup."""
    import keras

    recipe = _recipe()
    made = []

    class InterruptingEarlyStopping(keras.callbacks.EarlyStopping):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            made.append(self)

        def on_epoch_end(self, epoch, logs=None):
            if len(made) == 2 and epoch == 1:  # the plain net's fit, after two epochs
                raise KeyboardInterrupt("simulated interruption")
            super().on_epoch_end(epoch, logs)

    flags = ["--quick", "--epochs", "3", "--units", "2", "--runs-dir", str(tmp_path)]
    with monkeypatch.context() as m:
        m.setattr(keras.callbacks, "EarlyStopping", InterruptingEarlyStopping)
        with pytest.raises(KeyboardInterrupt):
            recipe.main(flags)
    run_dir = next((tmp_path / "volatility").iterdir())
    assert (run_dir / "backup_history_lstm").is_dir() and not (run_dir / "backup_history_cell").exists()
    cell_before = json.loads((run_dir / "history_cell.json").read_text())
    metrics = recipe.main(flags + ["--resume", str(run_dir)])
    assert json.loads((run_dir / "history_cell.json").read_text()) == cell_before  # the same fit again
    assert len(json.loads((run_dir / "history_lstm.json").read_text())["loss"]) == 3
    assert not (run_dir / "backup_history_lstm").exists()
    assert all(np.isfinite(metrics[f"qlike_{m}"]) for m in MODELS)


# slow: two recipe runs on other inputs (79 s of a loaded run); the loaders keep their own fast tests
@pytest.mark.slow
def test_ticker_and_csv_inputs(tmp_path, monkeypatch):
    """``--ticker`` through a faked yfinance (then from the cache, offline), and ``--data prices.csv``."""
    import yfinance

    p = _sp500_slice("2012-01-01", "2014-12-31")
    frame = pd.DataFrame({"Adj Close": p.to_numpy(), "Close": p.to_numpy()}, index=p.index)
    calls = []

    def fake_download(ticker, **kwargs):
        calls.append((ticker, kwargs.get("start")))
        return frame

    monkeypatch.setattr(yfinance, "download", fake_download)
    recipe = _recipe()
    common = ["--quick", "--epochs", "1", "--split", "2014-06-30", "--units", "2"]
    metrics = recipe.main(
        common
        + [
            "--ticker",
            "SPY",
            "--start",
            "2012-01-01",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--runs-dir",
            str(tmp_path / "a"),
        ]
    )
    assert calls == [("SPY", "2012-01-01")]
    n_fc = int((p.index > pd.Timestamp("2014-06-30")).sum())
    assert metrics["forecast_days"] == n_fc
    assert all(np.isfinite(metrics[f"qlike_{m}"]) for m in MODELS)

    # CSV input: the same prices give the same baselines
    csv = tmp_path / "prices.csv"
    pd.DataFrame({"Date": p.index.strftime("%Y-%m-%d"), "Adj Close": p.to_numpy()}).to_csv(csv, index=False)
    m2 = recipe.main(common + ["--data", str(csv), "--runs-dir", str(tmp_path / "b")])
    assert m2["forecast_days"] == n_fc
    for m in ("garch", "gjr_garch", "ewma", "rolling22"):
        assert m2[f"qlike_{m}"] == pytest.approx(metrics[f"qlike_{m}"], rel=1e-6), m


def test_bad_split_is_a_clear_error(tmp_path):
    recipe = _recipe()
    csv = tmp_path / "x.csv"
    csv.write_text("Date,Close\n2020-01-02,1.0\n")
    with pytest.raises(ValueError, match="--volume needs the bundled"):
        recipe.main(["--quick", "--volume", "--data", str(csv), "--runs-dir", str(tmp_path)])
    with pytest.raises(SystemExit):  # argparse: not an existing file
        recipe.main(["--quick", "--data", str(tmp_path / "missing.csv"), "--runs-dir", str(tmp_path)])
    with pytest.raises(ValueError, match="--split 2030-01-01"):
        recipe.main(
            ["--quick", "--split", "2030-01-01", "--start", "2014-01-01", "--runs-dir", str(tmp_path)]
        )


@pytest.mark.slow
def test_full_run_reproduces_the_garch_reference(tmp_path):
    """The default run (minutes): GARCH(1,1) QLIKE 0.412 / MSE 2.89 on 2015-2018 (shared/data/README.md)."""
    metrics = _recipe().main(["--runs-dir", str(tmp_path), "--verbose", "0"])
    assert metrics["forecast_days"] == 1006
    assert metrics["qlike_garch"] == pytest.approx(0.412, abs=0.001)
    assert metrics["mse_garch"] == pytest.approx(2.887, abs=0.01)
    assert metrics["qlike_cell"] < 0.941  # the unconditional variance


def test_volume_channel_is_fused_into_the_cell():
    """``--volume``: a second input channel, known at the close of day t, reaches the cell's gates."""
    from lstm_apps.baselines import volatility as vb
    from lstm_apps.datasets import prices, return_windows

    recipe = _recipe()
    r = prices.load_returns().loc["2010-01-01":"2010-12-31"]
    v = prices.load_sp500_volume_feature(r.index, 200)
    z = ((r - r.mean()) / r.std()).to_numpy()
    feats = return_windows.network_inputs(z, v)
    model = recipe.build_model("cell", 3, 1e-3, 0, n_features=2)
    h1 = vb.network_forecasts(model, feats, np.arange(100, 110), 32)
    feats2 = feats.copy()
    feats2[:, 1] += 1.0
    h2 = vb.network_forecasts(model, feats2, np.arange(100, 110), 32)
    assert (h1 > 0).all() and not np.allclose(h1, h2)
