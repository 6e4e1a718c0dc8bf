"""Visits of event logs, the next-action Markov baseline, and the telemetry/behaviour analysis, by hand."""

import gzip
import math

import numpy as np
import pytest

from lstm_apps.analysis import interaction as tel
from lstm_apps.baselines.next_action import (
    fit_next_action,
    next_action_accuracy,
    next_action_proba,
    select_next_action_model,
    visit_codes,
)
from lstm_apps.datasets import interaction as data

LOG = """case,activity,timestamp
c1,A_SUBMITTED,2011-10-01T10:00:00+02:00
c1,W_b,2011-10-01T12:00:00+02:00
c1,W_a,2011-10-01T11:00:00+02:00
c1,A_CANCELLED,2011-10-02T10:00:00+02:00
c2,W_a,2011-10-03T08:00:00Z
c3,A_SUBMITTED,2011-10-03T09:00:00Z
c2,W_a,2011-10-03T09:30:00Z
"""

XES = """<?xml version="1.0" encoding="UTF-8" ?>
<log xmlns="http://www.xes-standard.org/">
<trace><string key="concept:name" value="c1"/>
 <event><string key="concept:name" value="A_SUBMITTED"/>
  <date key="time:timestamp" value="2011-10-01T10:00:00+02:00"/></event>
 <event><string key="concept:name" value="W_a"/><string key="lifecycle:transition" value="START"/>
  <date key="time:timestamp" value="2011-10-01T10:30:00+02:00"/></event>
 <event><string key="concept:name" value="W_b"/><string key="lifecycle:transition" value="COMPLETE"/>
  <date key="time:timestamp" value="2011-10-01T12:00:00+02:00"/></event>
 <event><string key="concept:name" value="W_a"/><string key="lifecycle:transition" value="COMPLETE"/>
  <date key="time:timestamp" value="2011-10-01T11:00:00+02:00"/></event>
 <event><string key="concept:name" value="A_CANCELLED"/>
  <date key="time:timestamp" value="2011-10-02T10:00:00+02:00"/></event>
</trace>
<trace><string key="concept:name" value="c2"/>
 <event><string key="concept:name" value="W_a"/>
  <date key="time:timestamp" value="2011-10-03T08:00:00Z"/></event>
 <event><string key="concept:name" value="W_a"/>
  <date key="time:timestamp" value="2011-10-03T09:30:00Z"/></event>
</trace>
<trace><string key="concept:name" value="c3"/>
 <event><string key="concept:name" value="A_SUBMITTED"/>
  <date key="time:timestamp" value="2011-10-03T09:00:00Z"/></event>
</trace>
</log>
"""


def _check_tiny(log):
    assert log.actions == ("W_a", "W_b") and log.bad_activity == "A_CANCELLED"
    assert [v.case for v in log.visits] == ["c1", "c2"] and log.cases_without_actions == 1
    c1, c2 = log.visits
    assert c1.actions.tolist() == [0, 1] and c1.bad  # ordered by time, not by row
    assert c2.actions.tolist() == [0, 0] and not c2.bad
    np.testing.assert_allclose(c1.gaps_hours, [0.0, 1.0])
    np.testing.assert_allclose(c2.gaps_hours, [0.0, 1.5])
    assert c1.times[0] == 1317459600.0  # 2011-10-01T09:00:00Z
    assert c1.local_times[0] == 1317459600.0 + 7200  # 11:00 on the log's clock (+02:00)
    assert c2.local_times[0] == c2.times[0]  # written in UTC


def test_csv_and_xes_logs_give_the_same_visits(tmp_path):
    csv = tmp_path / "log.csv.gz"
    csv.write_bytes(gzip.compress(LOG.encode()))
    _check_tiny(data.load_visits(csv))
    xes = tmp_path / "log.xes"
    xes.write_text(XES)
    _check_tiny(data.load_visits(xes))  # the START event of W_a is skipped


def test_the_bad_activity_is_never_an_action(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(LOG)
    log = data.load_visits(path, action_prefix="")
    assert log.actions == ("A_SUBMITTED", "W_a", "W_b") and log.cases_without_actions == 0
    assert [v.actions.tolist() for v in log.visits] == [[0, 1, 2], [1, 1], [0]]
    assert [v.bad for v in log.visits] == [True, False, False]


def test_bundled_log_is_bpi_challenge_2012():
    log = data.load_visits()
    # Tax et al. 2017's BPI'12 W: 9,658 cases, 72,413 events, 6 activities; 2,807 cancelled applications
    assert len(log.visits) == 9658 and log.n_events == 72413 and len(log.actions) == 6
    assert sum(v.bad for v in log.visits) == 2807
    assert log.cases_without_actions == 13087 - 9658
    assert all(np.all(np.diff(v.times) >= 0) for v in log.visits)


@pytest.mark.parametrize(
    "text,kwargs,match",
    [
        ("case,activity\nc1,W_a\n", {}, r"no column \['timestamp'\]"),
        ("case,activity,timestamp\nc1,W_a,yesterday\n", {}, "'yesterday' does not parse"),
        ("case,activity,timestamp\nc1,W_a,\n", {}, "has no timestamp"),
        (LOG, {"bad_activity": "A_DECLINED"}, "'A_DECLINED' never occurs"),
        (LOG, {"action_prefix": "O_"}, "starts with action_prefix 'O_'"),
    ],
)
def test_bad_logs_are_refused(tmp_path, text, kwargs, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        data.load_visits(path, **kwargs)


def test_split_is_disjoint_seeded_and_checked():
    visits = [data.Visit(str(i), np.array([0]), np.array([0.0]), False) for i in range(20)]
    split = data.split_visits(visits, 0.1, 0.2, seed=3)
    assert (len(split.train), len(split.val), len(split.test)) == (14, 2, 4)
    cases = [v.case for part in (split.train, split.val, split.test) for v in part]
    assert sorted(cases, key=int) == [str(i) for i in range(20)]
    assert [v.case for v in data.split_visits(visits, 0.1, 0.2, seed=3).test] == [v.case for v in split.test]
    with pytest.raises(ValueError, match="must leave visits to train on"):
        data.split_visits(visits, 0.5, 0.5)


def _visit(case, actions, hours):
    return data.Visit(case, np.array(actions), np.array(hours, float) * 3600.0, False)


def test_next_action_arrays_by_hand():
    v = _visit("a", [1, 0, 1], [0, 1, 4])
    tokens, times, targets, weights = data.next_action_arrays([v, _visit("b", [2], [0])], 3, 4)
    assert tokens.tolist() == [[2, 1, 2, 0], [3, 0, 0, 0]]
    assert targets.tolist() == [[0, 1, 3, 0], [3, 0, 0, 0]]  # 3 = end
    assert weights.tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]
    np.testing.assert_allclose(times[0, :3, 0], np.log1p([0, 1, 3]) / 5, rtol=1e-6)
    np.testing.assert_allclose(times[0, :3, 1], np.log1p([0, 1, 4]) / 5, rtol=1e-6)
    # hours 0, 1, 4 of Thursday 1 January 1970 (UTC, no local times given)
    np.testing.assert_allclose(times[0, :3, 2], np.sin(2 * np.pi * np.array([0, 1, 4]) / 24), atol=1e-6)
    np.testing.assert_allclose(times[0, :3, 4], 0.5)


def test_visit_batches_sorted_padded_and_indexed():
    visits = [_visit(str(i), [0] * n, range(n)) for i, n in enumerate([3, 12, 1, 20, 5])]
    ds = data.visit_batches(visits, 1, batch_size=2)
    assert len(ds) == 3
    lengths = [ds[b][0]["actions"].shape[1] for b in range(3)]
    assert lengths == [24, 8, 16]  # the longest batch first, then the shortest
    for b in range(3):
        x, y, w = ds[b]
        assert [len(visits[i]) for i in ds.index[b]] == w.sum(axis=1).tolist()
    assert sorted(i for b in range(3) for i in ds.index[b]) == list(range(5))
    zero = data.visit_batches(visits, 1, batch_size=2, time_inputs=False)[0][0]["hours"]
    assert not zero.any()


# -- the Markov next-action baseline -------------------------------------------------------


def test_markov_next_action_probabilities_by_hand():
    seqs = [np.array([0, 1]), np.array([0, 1]), np.array([1, 0])]
    model = fit_next_action(seqs, n_actions=2, order=1, alpha=1.0)
    assert visit_codes([0, 1], 2, 1).tolist() == [3, 0, 1, 2]
    # after 0: 0->1 twice, 0->end once; after 1: 1->end twice, 1->0 once; add-one over {0, 1, end}
    proba = next_action_proba(model, [0, 1], 2)
    np.testing.assert_allclose(proba, [[1 / 6, 3 / 6, 2 / 6], [2 / 6, 1 / 6, 3 / 6]])
    assert next_action_accuracy(model, [[0, 1]], 2) == 1.0
    assert next_action_accuracy(model, [[1, 0]], 2) == 0.0
    # [0, 1, 0]: after 0 -> 1 right; after 1 -> end, wrong (0); after 0 -> 1, wrong (end)
    assert next_action_accuracy(model, [[0, 1, 0]], 2) == pytest.approx(1 / 3)
    assert next_action_accuracy(model, [[0, 1, 0]], 2, targets="actions") == 0.5
    assert next_action_accuracy(model, [[0, 1, 0], [0, 1]], 2, targets="end") == 0.5


def test_markov_order_two_knows_the_start_and_is_chosen():
    # 0 0 1: after the first 0 comes 0, after the second comes 1; only a start-aware order 2 sees it
    train = [np.array([0, 0, 1])] * 5
    model, table = select_next_action_model(train, train, 2, orders=range(3), alphas=(1.0,))
    assert model.order == 2 and [r["order"] for r in table] == [0, 1, 2]
    accuracy = {r["order"]: r["val_accuracy"] for r in table}
    assert accuracy[2] == 1.0 and accuracy[1] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="action codes must lie in 0..1"):
        fit_next_action([np.array([0, 2])], 2, 1)


# -- telemetry and behaviour features ------------------------------------------------------


def test_telemetry_features_by_hand():
    f = tel.telemetry_features(
        {"forget_gate": np.array([0.5, 0.7, 0.6]), "input_gate": np.array([0.1, 0.1, 0.4])}
    )
    assert f.shape == (3, 10)
    np.testing.assert_allclose(
        f[:, :5], [[0.5, 0.5, 0, 0, 0], [0.7, 0.6, 0.2, 0.2, 0], [0.6, 0.6, 0.1, 0.2, 1]]
    )
    np.testing.assert_allclose(f[:, 5:], [[0.1, 0.1, 0, 0, 0], [0.1, 0.1, 0, 0, 1], [0.4, 0.2, 0.3, 0.3, 0]])
    assert tel.telemetry_feature_names(["forget_gate"])[3] == "forget largest change"


def test_behaviour_features_by_hand():
    f = tel.behaviour_features([0, 0, 1, 0], [0, 3600, 3600, 3 * 3600], n_actions=2)
    assert f.shape == (4, 8 + 4) and len(tel.behaviour_feature_names(["a", "b"])) == 12
    np.testing.assert_allclose(f[:, 0], np.log([1, 2, 3, 4]))
    np.testing.assert_allclose(f[:, 3], np.log1p([0, 1, 0, 2]))  # gap now
    np.testing.assert_allclose(f[:, 5], np.log1p([0, 1, 1, 2]))  # largest gap so far
    np.testing.assert_allclose(f[:, 6], np.log1p([0, 1, 1, 3]))  # since the first action
    np.testing.assert_allclose(f[:, 7], [1, 1, 2, 2])  # distinct actions
    np.testing.assert_allclose(f[:, 8:10], [[1, 0], [1, 0], [2 / 3, 1 / 3], [3 / 4, 1 / 4]])
    np.testing.assert_allclose(f[:, 10:], [[1, 0], [1, 0], [0, 1], [1, 0]])
    with pytest.raises(ValueError, match="action codes must lie in 0..1"):
        tel.behaviour_features([0, 2], [0, 1], n_actions=2)


def test_auc_at_a_step_and_over_all_steps():
    scores = [np.array([0.2, 0.2]), np.array([0.9, 0.5]), np.array([0.1, 0.9, 0.4]), np.array([0.3])]
    labels = [True, False, True, True]
    # step 2: positives 0.2 and 0.9, negative 0.5 -> 1 of 2 pairs ordered right; the short visit left out
    assert tel.auc_at_step(scores, labels, 2) == 0.5
    # all steps: 6 positive rows against 2 negative rows, a tie counting one half
    pos, neg = [0.2, 0.2, 0.1, 0.9, 0.4, 0.3], [0.9, 0.5]
    want = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg])
    assert tel.auc_all_steps(scores, labels) == pytest.approx(want)
    with pytest.raises(ValueError, match="both outcomes"):
        tel.auc_at_step(scores, labels, 3)


def test_scorer_learns_a_separable_signal():
    rng = np.random.default_rng(0)
    labels = [bool(i % 2) for i in range(60)]
    feats = [rng.normal(size=(5, 3)) + 2.0 * b for b in labels]
    scorer = tel.fit_scorer(feats, labels)
    assert tel.auc_at_step(tel.step_scores(scorer, feats), labels, 3) > 0.95
    with pytest.raises(ValueError, match="both outcomes"):
        tel.fit_scorer(feats[:1], labels[:1])


def test_prompt_policy_by_hand():
    scores = [np.array([0.1, 0.9, 0.2]), np.array([0.2, 0.95]), np.array([0.6]), np.array([0.3, 0.4])]
    labels = [True, True, False, False]
    # at 0.5: visits 1, 2, 3 prompted; only visit 1 is bad and prompted before its last action
    assert tel.evaluate_prompts(scores, labels, 0.5) == {
        "prompts": 3,
        "landed": 1,
        "bad_visits": 2,
        "precision": 1 / 3,
        "recall": 0.5,
    }
    # F1: 0.1 and 0.2 both prompt all 4 visits and land 2 (2/3); the higher wins the tie
    assert tel.choose_threshold(scores, labels) == 0.2
    # with at most half the visits prompted: 0.9 (2 prompts, 1 landed: F1 1/2) beats 0.95 (F1 0)
    assert tel.choose_threshold(scores, labels, max_prompt_share=0.5) == 0.9
    curve = tel.prompt_curve(scores, labels, [0.9, 0.95, 1.0])
    assert curve["prompts"].tolist() == [2, 1, 0] and curve["landed"].tolist() == [1, 0, 0]
    assert curve["precision"].tolist() == [0.5, 0.0, 0.0]


def test_gate_traces_of_the_1997_layer_with_forget_gate():
    import keras

    from lstm_apps.layers import recurrent

    tokens = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(4, 3, mask_zero=True)(tokens)
    h = recurrent("lstm1997", 5, forget_gate=True, return_sequences=True, name="rnn")(h)
    model = keras.Model(tokens, keras.layers.Dense(2)(h))
    x = np.array([[1, 2, 3, 0], [3, 3, 0, 0]], "int32")
    gates = tel.gate_traces(model, "rnn", x)
    assert {"input_gate", "forget_gate", "output_gate"} <= set(gates)
    assert gates["forget_gate"].shape == (2, 4, 5)
    emb = keras.ops.convert_to_numpy(model.layers[1](x))
    direct = model.get_layer("rnn").gate_activations(emb)
    np.testing.assert_allclose(
        gates["forget_gate"][0, :3], direct["forget_gate"][0, :3], rtol=1e-5, atol=1e-6
    )
    means = tel.gate_means(gates)
    assert list(means)[:3] == ["forget_gate", "input_gate", "output_gate"]
    assert math.isclose(
        float(means["input_gate"][1, 0]), float(gates["input_gate"][1, 0].mean()), rel_tol=1e-6
    )


@pytest.mark.parametrize(
    "kind,names",
    [("lstm", ("forget_gate", "input_gate", "output_gate")), ("gru", ("update_gate", "reset_gate"))],
)
def test_gate_means_of_keras_layers(kind, names):
    import keras

    from lstm_apps.layers import recurrent

    tokens = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(4, 3, mask_zero=True)(tokens)
    h = recurrent(kind, 5, return_sequences=True, name="rnn")(h)
    model = keras.Model(tokens, keras.layers.Dense(2)(h))
    means = tel.gate_means(tel.gate_traces(model, "rnn", np.array([[1, 2, 3, 0]], "int32")))
    assert tuple(means) == names and means[names[0]].shape == (1, 4)
    assert all(((0 <= m) & (m <= 1)).all() for m in means.values())  # sigmoid gates
    assert tel.telemetry_features({k: m[0, :3] for k, m in means.items()}).shape == (3, 5 * len(names))
