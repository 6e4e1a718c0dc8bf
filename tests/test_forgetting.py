"""ForgettingCurveCell, forgetting data, curve/review baselines, memory metrics."""

import math
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from layer_test_utils import check_recurrent_layer

from lstm_apps.baselines.curves import (
    FSRS6_DEFAULT_PARAMETERS,
    FSRSModel,
    HalfLifeRegression,
    fit_cell_curve,
    fit_retention_curve,
    fsrs6_curve,
    next_review_interval,
)
from lstm_apps.datasets.forgetting import (
    load_ebbinghaus,
    load_review_log,
    prepare_reviews,
    review_sequences,
    simulate_review_logs,
)
from lstm_apps.layers import ForgettingCurveCell, forgetting_cell_reference, recurrent
from lstm_apps.metrics import aic_least_squares, auc, log_loss, rmse_bins

ROOT = Path(__file__).resolve().parent.parent


# -- the cell -----------------------------------------------------------------


@pytest.mark.parametrize("readout", ["linear", "activation"])
def test_cell_contract(tmp_path, readout):
    k, feats = 3, 4
    n = k + k + 1 + k + (feats - 2) * k + k + (feats - 2) * k + k  # tau, w, b, u, W, c, V, a
    n += readout == "activation"  # the readout slope
    check_recurrent_layer(
        lambda: ForgettingCurveCell(k, readout=readout),
        input_shape=(3, 7, feats),
        expected_output_shape=(3, 1),
        expected_weight_count=n,
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("readout", ["linear", "activation"])
def test_cell_matches_numpy_reference(readout):
    rng = np.random.default_rng(3)
    x = np.abs(rng.normal(size=(4, 9, 6))).astype("float32")
    x[..., 1] = rng.integers(0, 2, (4, 9))
    cell = ForgettingCurveCell(3, readout=readout)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(x)
    for v in cell.weights:
        v.assign(np.asarray(v) + rng.normal(size=v.shape).astype("float32") * 0.5)
    out = np.asarray(layer(x))[..., 0]
    ref = forgetting_cell_reference(x, cell.numpy_parameters())[0]
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_cell_equations_by_hand():
    """Study at 0, test after Δt: p = σ(w·i·g·exp(−Δt/τ) + b)."""
    cell = ForgettingCurveCell(
        1, tau_init=2.0, gate_bias_init=1.0, target_bias_init=2.0, readout_bias_init=-1.0
    )
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = np.array([[[0.0, 1.0], [3.0, 0.0]]], "float32")
    p = np.asarray(layer(x))[0, :, 0]
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    w = 1.0  # readout weights start at 1
    assert p[0] == pytest.approx(sig(-1.0), abs=1e-6)  # nothing learned yet
    s = sig(1.0 + 0.0 * p[0]) * sig(2.0)
    assert p[1] == pytest.approx(sig(w * s * math.exp(-3.0 / 2.0) - 1.0), abs=1e-6)
    params = cell.physical_parameters()
    assert params["half_life"][0] == pytest.approx(2.0 * math.log(2), rel=1e-5)


def test_irregular_intervals_are_inputs_not_steps():
    """Waiting Δt1 then Δt2 without study equals waiting Δt1 + Δt2 (exponential decay)."""
    cell = ForgettingCurveCell(3)
    layer = keras.layers.RNN(cell, return_sequences=True)
    one = np.array([[[0, 1, 0, 0, 1, 0], [0.7, 1, 0, 1, 0, 0], [5.0, 0, 0, 0, 0, 0]]], "float32")
    two = np.array(
        [[[0, 1, 0, 0, 1, 0], [0.7, 1, 0, 1, 0, 0], [2.0, 0, 0, 0, 0, 0], [3.0, 0, 0, 0, 0, 0]]], "float32"
    )
    p1, p2 = np.asarray(layer(one))[0, -1, 0], np.asarray(layer(two))[0, -1, 0]
    assert p1 == pytest.approx(p2, abs=1e-6)
    # and memory decays: a longer wait gives lower recall
    longer = one.copy()
    longer[0, -1, 0] = 50.0
    assert np.asarray(layer(longer))[0, -1, 0] < p1


def test_cell_bad_arguments():
    with pytest.raises(ValueError, match="units must be a positive integer"):
        ForgettingCurveCell(0)
    with pytest.raises(ValueError, match="tau_init"):
        ForgettingCurveCell(2, tau_init=[1.0, -1.0])
    with pytest.raises(ValueError, match="readout must be one of"):
        ForgettingCurveCell(2, readout="softmax")
    with pytest.raises(ValueError, match="at least 2 features"):
        keras.layers.RNN(ForgettingCurveCell(2))(np.zeros((1, 3, 1), "float32"))


def test_factory_kind():
    layer = recurrent("forgetting_curve", 2, return_sequences=True)
    assert np.asarray(layer(np.zeros((2, 4, 3), "float32"))).shape == (2, 4, 1)


# -- Ebbinghaus 1885 ------------------------------------------------------------


def test_ebbinghaus_table():
    t = load_ebbinghaus()
    assert t["savings_percent"].tolist() == [58.2, 44.2, 35.8, 33.7, 27.8, 25.4, 21.1]
    assert t["delay_minutes"].tolist() == [20, 60, 528, 1440, 2880, 8640, 44640]
    assert "Ebbinghaus" in (ROOT / "data" / "ebbinghaus_1885.csv").read_text().splitlines()[0]


def test_curve_fits_and_cell_beats_ebbinghaus():
    t = load_ebbinghaus()
    days, y = t["delay_days"].to_numpy(), t["savings_percent"].to_numpy()
    ebb = fit_retention_curve("ebbinghaus", days, y)
    assert 1.6 < ebb.rmse < 1.9  # his formula, refitted, leaves ≈ 1.7 pp
    assert ebb.params["k"] == pytest.approx(1.84, abs=0.2) and ebb.params["c"] == pytest.approx(1.25, abs=0.1)
    expo = fit_retention_curve("exponential", days, y)
    assert expo.rmse > 5  # one exponential cannot bend like the data
    fs = fit_retention_curve("fsrs6", days, y)
    assert fs.n_params == 3 and fs.rmse < 3
    cell2 = fit_cell_curve(days, y, 2, n_starts=15)
    assert cell2.n_params == 5
    assert cell2.rmse < ebb.rmse and cell2.aic < ebb.aic
    tau = np.asarray(cell2.params["tau"])
    assert tau[0] < 0.2 < 1.0 < tau[1]  # a fast (minutes-hours) and a slow (days) memory
    with pytest.raises(ValueError, match="unknown retention curve"):
        fit_retention_curve("cubic", days, y)


# -- metrics --------------------------------------------------------------------


def test_memory_metrics():
    rng = np.random.default_rng(0)
    n = 500
    y = rng.integers(0, 2, n)
    p = np.clip(rng.random(n), 0.01, 0.99)
    assert log_loss([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert auc(y, y) == 1.0
    assert math.isnan(auc(np.ones(4), np.ones(4) * 0.3))
    dt, i, lapse = rng.random(n) * 40 + 0.01, rng.integers(1, 12, n), rng.integers(0, 4, n)
    df = pd.DataFrame({"y": y, "p": p, "dt": dt, "i": i, "l": lapse})
    df["bdt"] = np.round(2.48 * 3.62 ** np.floor(np.log(df.dt) / np.log(3.62)), 2)
    df["bi"] = np.round(1.99 * 1.89 ** np.floor(np.log(df.i) / np.log(1.89)), 0)
    df["bl"] = [round(1.65 * 1.73 ** math.floor(math.log(v) / math.log(1.73))) if v else 0 for v in df.l]
    g = df.groupby(["bdt", "bi", "bl"]).agg(y=("y", "mean"), p=("p", "mean"), n=("y", "size"))
    expected = math.sqrt(np.sum(g.n * (g.y - g.p) ** 2) / g.n.sum())
    assert rmse_bins(y, p, dt, i, lapse) == pytest.approx(expected, rel=1e-9)
    r = np.array([1.0, -1.0, 2.0])
    assert aic_least_squares(r, 2) == pytest.approx(3 * math.log(6 / 3) + 6)


# -- review logs -------------------------------------------------------------------


def test_simulator_is_seeded_and_plausible():
    a = simulate_review_logs(2, 10, seed=5)
    b = simulate_review_logs(2, 10, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(simulate_review_logs(2, 10, seed=6))
    assert set(a.columns) >= {"card_id", "review_time", "rating", "learner_id"}
    assert a["rating"].isin([1, 2, 3, 4]).all() and a["review_time"].is_monotonic_increasing
    big = prepare_reviews(simulate_review_logs(6, 40, seed=0))
    scored = big[big.review_index > 1]
    assert 0.7 < scored.y.mean() < 0.95
    # forgetting: recall after long gaps is lower than after short ones
    short = scored[scored.elapsed_days < 2].y.mean()
    long = scored[scored.elapsed_days > 30].y.mean()
    assert long < short


def test_prepare_reviews_history_features():
    log = pd.DataFrame(
        {"card_id": [7, 7, 7, 7, 9], "review_time": [0.0, 1.0, 3.0, 10.0, 2.0], "rating": [3, 1, 3, 4, 2]}
    )
    df = prepare_reviews(log)
    c7 = df[df.card_id == 7]
    assert c7.review_index.tolist() == [1, 2, 3, 4]
    assert c7.elapsed_days.tolist()[1:] == [1.0, 2.0, 7.0]
    assert c7.lapses.tolist() == [0, 0, 1, 1]
    assert c7.n_correct.tolist() == [0, 0, 0, 1]
    seq = review_sequences(df, test_fraction=0.34)
    assert seq.x.shape == (2, 4, 6)
    assert seq.train_weight.sum() + seq.test_weight.sum() == 3  # first reviews are never scored
    assert seq.x[0, 1].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]  # Δt, study, one-hot rating 1


def test_load_review_log(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("cid,timestamp,ease\n1,2024-01-01 08:00,3\n1,2024-01-03 08:00,1\n2,2024-01-02 20:00,4\n")
    log = load_review_log(path)
    assert log.columns[:3].tolist() == ["card_id", "review_time", "rating"]
    assert log.review_time.tolist() == [0.0, 1.5, 2.0]
    bad = tmp_path / "bad.csv"
    bad.write_text("card_id,when,rating\n1,0,3\n")
    with pytest.raises(ValueError, match="no review time column"):
        load_review_log(bad)
    bad.write_text("card_id,review_time,rating\n1,0,5\n")
    with pytest.raises(ValueError, match="ratings must be 1, 2, 3 or 4"):
        load_review_log(bad)
    with pytest.raises(ValueError, match="not found"):
        load_review_log(tmp_path / "missing.csv")


def test_fsrs_and_hlr_baselines():
    # FSRS-6 curve: R(S, S) = 0.9 for any decay
    for w20 in (0.1, 0.1542, 0.5):
        assert fsrs6_curve(4.0, 4.0, w20) == pytest.approx(0.9)
    elapsed = np.array([[0.0, 2.3065, 1.0]])
    rating = np.array([[3, 3, 0]])
    fs = FSRSModel()
    p = fs.predict(elapsed, rating)
    assert p[0, 1] == pytest.approx(0.9)  # first 'good' gives S = w2 days
    assert fs.stability(elapsed, rating)[0, 1] > FSRS6_DEFAULT_PARAMETERS[2]  # a success raises stability
    assert next_review_interval(lambda t: np.exp(-np.asarray(t) / 10.0), 0.9) == pytest.approx(
        -10 * math.log(0.9), rel=1e-6
    )
    hlr = HalfLifeRegression()
    hlr.theta = np.array([1.0, 0.0, 0.0])
    assert hlr.predict(2.0, 0, 0) == pytest.approx(0.5)  # half-life 2 days
    seq_df = prepare_reviews(simulate_review_logs(3, 20, seed=1))
    scored = seq_df[seq_df.review_index > 1]
    hlr.fit(scored.elapsed_days, scored.n_correct, scored.n_wrong, scored.y)
    assert log_loss(scored.y, hlr.predict(scored.elapsed_days, scored.n_correct, scored.n_wrong)) < 0.6
