"""Price loaders: cleaning rules, returns, CSV, the arch S&P 500, and yfinance (faked) with its cache."""

import numpy as np
import pandas as pd
import pytest

from lstm_apps.datasets import prices, return_windows


def _series(values, start="2020-01-01", freq="B"):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=freq), name="p")


def _walk(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))


# -- cleaning ---------------------------------------------------------------


def test_clean_sorts_and_keeps_positive_prices():
    s = _series(_walk())
    shuffled = s.sample(frac=1.0, random_state=0)
    out = prices.clean_prices(shuffled)
    assert out.index.is_monotonic_increasing
    np.testing.assert_allclose(out.to_numpy(), s.to_numpy())
    assert out.index.name == "date"


def test_duplicate_dates_raise_or_keep_last():
    s = _series(_walk())
    dup = pd.concat([s, pd.Series([123.0], index=[s.index[5]])])
    with pytest.raises(ValueError, match="duplicate dates"):
        prices.clean_prices(dup)
    out = prices.clean_prices(dup, duplicates="last")
    assert len(out) == len(s) and out.loc[s.index[5]] == 123.0


def test_nan_prices_dropped_or_raise():
    v = _walk()
    v[[3, 10]] = np.nan
    s = _series(v)
    out = prices.clean_prices(s)
    assert len(out) == len(s) - 2 and np.isfinite(out).all()
    with pytest.raises(ValueError, match="2 NaN prices"):
        prices.clean_prices(s, nan="error")


@pytest.mark.parametrize("bad", [0.0, -5.0, np.inf])
def test_non_positive_prices_raise(bad):
    v = _walk()
    v[7] = bad
    with pytest.raises(ValueError, match="non-positive or infinite"):
        prices.clean_prices(_series(v))


def test_long_gap_raises_unless_allowed():
    s = _series(_walk())
    gappy = pd.concat([s.iloc[:30], s.iloc[30:].set_axis(s.index[30:] + pd.Timedelta(days=40))])
    with pytest.raises(ValueError, match="gap of 4[0-9] days"):
        prices.clean_prices(gappy)
    assert len(prices.clean_prices(gappy, max_gap_days=None)) == len(s)
    # weekends and holidays are ordinary gaps
    assert len(prices.clean_prices(s)) == len(s)


def test_too_short_and_bad_arguments():
    with pytest.raises(ValueError, match="at least 30"):
        prices.clean_prices(_series(_walk(10)))
    with pytest.raises(ValueError, match="pandas Series"):
        prices.clean_prices(_walk())
    with pytest.raises(ValueError, match="nan must be"):
        prices.clean_prices(_series(_walk()), nan="keep")


def test_returns_golden_values():
    s = _series([100.0, 110.0, 99.0] + list(_walk(40)))
    simple = prices.returns_from_prices(s)
    logr = prices.returns_from_prices(s, kind="log", scale=1.0)
    np.testing.assert_allclose(simple.to_numpy()[:2], [10.0, -10.0])
    np.testing.assert_allclose(logr.to_numpy()[:2], [np.log(1.1), np.log(0.9)])
    assert simple.index[0] == s.index[1] and len(simple) == len(s) - 1
    with pytest.raises(ValueError, match="kind must be"):
        prices.returns_from_prices(s, kind="pct")


# -- the bundled S&P 500 ----------------------------------------------------


def test_sp500_from_arch():
    p = prices.load_sp500()
    assert (
        len(p) == 5031
        and p.index[0] == pd.Timestamp("1999-01-04")
        and p.index[-1] == pd.Timestamp("2018-12-31")
    )
    r = prices.load_returns()
    assert len(r) == 5030
    raw = p.to_numpy()
    np.testing.assert_allclose(r.to_numpy(), 100 * (raw[1:] / raw[:-1] - 1))
    assert 1.0 < r.std() < 1.5  # the S&P 500's daily s.d. in percent
    sub = prices.load_returns(start="2015-01-01", end="2015-12-31")
    assert sub.index[0].year == 2015 and sub.index[-1].year == 2015


# -- CSV --------------------------------------------------------------------


def test_csv_autodetects_columns(tmp_path):
    s = _series(_walk())
    path = tmp_path / "p.csv"
    pd.DataFrame(
        {"Date": s.index.strftime("%Y-%m-%d"), "Open": s.to_numpy() * 0.9, "Adj Close": s.to_numpy()}
    ).to_csv(path, index=False)
    out = prices.read_price_csv(path)
    np.testing.assert_allclose(out.to_numpy(), s.to_numpy())
    r = prices.load_returns(csv=path)
    assert len(r) == len(s) - 1
    close = prices.read_price_csv(path, price_column="open")
    np.testing.assert_allclose(close.to_numpy(), s.to_numpy() * 0.9)


def test_csv_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        prices.read_price_csv(tmp_path / "missing.csv")
    path = tmp_path / "q.csv"
    pd.DataFrame({"when": ["2020-01-01"], "value": [1.0]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="no date column"):
        prices.read_price_csv(path)
    with pytest.raises(ValueError, match="no price column 'close'"):
        prices.read_price_csv(path, date_column="when", price_column="close")
    with pytest.raises(ValueError, match="either csv= or ticker="):
        prices.load_returns(csv=path, ticker="SPY")


# -- yfinance, faked --------------------------------------------------------


def _yf_frame(n=80):
    s = _series(_walk(n), start="2005-01-03")
    cols = pd.MultiIndex.from_product([["Adj Close", "Close", "Volume"], ["SPY"]], names=["Price", "Ticker"])
    data = np.column_stack([s.to_numpy(), s.to_numpy() * 1.01, np.full(n, 1e6)])
    return pd.DataFrame(data, index=s.index.rename("Date"), columns=cols), s


def test_yfinance_download_is_cached(monkeypatch, tmp_path):
    import yfinance

    frame, s = _yf_frame()
    calls = []

    def fake_download(ticker, **kwargs):
        calls.append((ticker, kwargs))
        return frame

    monkeypatch.setattr(yfinance, "download", fake_download)
    first = prices.download_prices("SPY", "2005-01-01", None, cache_dir=tmp_path)
    assert len(calls) == 1 and calls[0][0] == "SPY" and calls[0][1]["start"] == "2005-01-01"
    np.testing.assert_allclose(first.to_numpy(), s.to_numpy())  # Adj Close preferred over Close
    assert list(tmp_path.glob("SPY_2005-01-01_none.csv"))

    def offline(ticker, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(yfinance, "download", offline)
    second = prices.download_prices("SPY", "2005-01-01", None, cache_dir=tmp_path)  # from the cache
    np.testing.assert_allclose(second.to_numpy(), first.to_numpy(), rtol=1e-9)
    assert (second.index == first.index).all()
    r = prices.load_returns(ticker="SPY", start="2005-01-01", cache_dir=tmp_path)
    assert len(r) == len(s) - 1
    with pytest.raises(ValueError, match="offline.*no cached copy"):
        prices.download_prices("SPY", "2005-01-01", None, cache_dir=tmp_path, refresh=True)
    with pytest.raises(ValueError, match="ConnectionError"):
        prices.download_prices("QQQ", "2005-01-01", cache_dir=tmp_path)


def test_yfinance_empty_answer_and_cache_env(monkeypatch, tmp_path):
    import yfinance

    monkeypatch.setattr(yfinance, "download", lambda ticker, **kw: pd.DataFrame())
    monkeypatch.setenv("LSTM_APPS_CACHE", str(tmp_path / "c"))
    assert prices.default_cache_dir() == tmp_path / "c" / "prices"
    with pytest.raises(ValueError, match="'NOPE'.*offline or the ticker unknown"):
        prices.download_prices("NOPE")
    with pytest.raises(ValueError, match="non-empty string"):
        prices.download_prices("  ")


def test_parkinson_range_variance():
    idx = pd.date_range("2020-01-01", periods=2, freq="B")
    v = prices.parkinson_variance(pd.Series([101.0, 100.0], idx), pd.Series([99.0, 100.0], idx))
    np.testing.assert_allclose(v.to_numpy(), [np.log(101 / 99) ** 2 / (4 * np.log(2)) * 1e4, 0.0])
    with pytest.raises(ValueError, match="high >= low"):
        prices.parkinson_variance(pd.Series([1.0, 1.0], idx), pd.Series([2.0, 1.0], idx))
    sp = prices.load_sp500_range_variance()
    assert len(sp) == 5031 and (sp > 0).all()


# -- the whole S&P 500 frame and its volume ---------------------------------


def test_sp500_frame_is_the_one_reader():
    frame = prices.load_sp500_frame()
    assert list(frame.columns) == ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    assert (
        len(frame) == 5031 and frame.index.name == "date" and (frame.index == frame.index.normalize()).all()
    )
    np.testing.assert_array_equal(prices.load_sp500("Close").to_numpy(), frame["Close"].to_numpy())
    rv = prices.load_sp500_range_variance()
    expected = np.log(frame["High"] / frame["Low"]) ** 2 / (4 * np.log(2)) * 1e4
    np.testing.assert_allclose(rv.to_numpy(), expected.to_numpy())
    assert rv.index.equals(frame.index)


def test_relative_log_volume_against_numpy():
    v = pd.Series([10.0, 20.0, 30.0, 60.0, 15.0], index=pd.date_range("2020-01-01", periods=5))
    out = prices.relative_log_volume(v, window=2).to_numpy()
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2:], np.log([30 / 15, 60 / 25, 15 / 45]))
    with pytest.raises(ValueError, match="window must be a positive number of days, received 0"):
        prices.relative_log_volume(v, window=0)
    with pytest.raises(ValueError, match="volume must be positive"):
        prices.relative_log_volume(v - 20.0)


def test_sp500_volume_feature_is_standardised_on_the_estimation_days():
    r = prices.load_returns().loc["2010-01-01":"2010-12-31"]
    v = prices.load_sp500_volume_feature(r.index, 200)
    assert v.shape == (len(r),) and np.isfinite(v).all()
    assert abs(v[:200].mean()) < 1e-9 and v[:200].std() == pytest.approx(1.0)
    vol = prices.load_sp500_frame()["Volume"].astype(float)
    raw = np.log(vol / vol.rolling(22).mean().shift(1)).loc[r.index].to_numpy()
    np.testing.assert_allclose(v, (raw - raw[:200].mean()) / raw[:200].std())
    with pytest.raises(ValueError, match="fit_days must be an integer of at least 2"):
        prices.load_sp500_volume_feature(r.index, 1)


# -- windows for recurrent variance models ----------------------------------


def test_windows_align_inputs_with_next_day_targets():
    z = np.arange(1.0, 41.0)
    x, y, w, day = return_windows.training_windows(z, 1, 40, seq_len=8, burn_in=2, stride=4)
    # input day t (value t+1) predicts target day t+1 (value (t+2)^2)
    np.testing.assert_allclose(y[..., 0], (x[..., 0] + 1) ** 2)
    np.testing.assert_allclose(day, x[..., 0])  # target day index == input value (t+1)
    assert (w[:, :2] == 0).all() and day.max() == 39
    feats = return_windows.network_inputs(z, np.stack([-z, 2 * z], axis=1))
    assert feats.shape == (40, 3) and feats.dtype == np.float32
    x3, *_ = return_windows.training_windows(z, 1, 40, seq_len=8, burn_in=2, stride=4, features=feats)
    np.testing.assert_allclose(x3[..., 0], x[..., 0])
    np.testing.assert_allclose(x3[..., 2], 2 * x[..., 0])
    fx = return_windows.windows_ending_at(z[:, None], np.array([9, 20]), 5)
    np.testing.assert_allclose(fx[:, -1, 0], [10.0, 21.0])
    np.testing.assert_allclose(return_windows.windows_ending_at(z, np.array([1]), 4)[0], [0.0, 0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="burn_in must lie in 0..seq_len - 1 = 7, received 8"):
        return_windows.training_windows(z, 1, 40, seq_len=8, burn_in=8, stride=4)
    with pytest.raises(ValueError, match="no training window fits days 1..5"):
        return_windows.training_windows(z, 1, 5, seq_len=8, burn_in=2, stride=4)
    with pytest.raises(ValueError, match="window ends must lie in 0..39"):
        return_windows.windows_ending_at(z, np.array([40]), 4)


def test_train_validation_windows_hold_out_the_last_days():
    z = np.arange(1.0, 101.0)
    (x, y, w), val = return_windows.train_validation_windows(
        z, 1, 100, seq_len=10, burn_in=2, stride=3, val_days=20
    )
    _, _, w_all, day = return_windows.training_windows(z, 1, 100, 10, 2, 3)
    held = day[:, -1] >= 80
    assert len(x) == (~held).sum() and len(val[0]) == held.sum() > 0
    assert day[~held][:, -1].max() < 80
    # a held-out window scores only days of the last 20, after its burn-in
    expected = w_all[held] * (day[held] >= 80)
    np.testing.assert_array_equal(val[2], expected)
    np.testing.assert_array_equal(w, w_all[~held])
    assert return_windows.train_validation_windows(z, 1, 100, seq_len=10, burn_in=2, stride=3)[1] is None
