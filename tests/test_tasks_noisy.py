"""The noisy long-time-lag tasks (5.2b, 5.2c, 5.3): generators, success criteria, stop rules."""

import numpy as np
import pytest

from lstm_apps.datasets import tasks as T

# -- 5.2b ---------------------------------------------------------------------------------------


def test_long_lag_random_sequences():
    p = 20
    b = T.long_lag_random(400, p=p, seed=0)
    assert b.symbolic and b.x.shape == (400, p) and b.features == p + 1 and b.y.shape == (400, p, p + 1)
    seqs = np.concatenate([b.x - 1, b.y.argmax(-1)[:, -1:]], axis=1)  # the whole sequences
    first = np.where(b.info["which"] == 0, p, p - 1)  # y-sequences start (and end) with y = unit p
    np.testing.assert_array_equal(seqs[:, 0], first)
    np.testing.assert_array_equal(seqs[:, -1], first)
    middle = seqs[:, 1:-1]
    assert middle.min() == 0 and middle.max() == p - 2  # random symbols a_1 .. a_{p-1}
    assert len({tuple(m) for m in middle}) == 400  # no local regularities: all different
    np.testing.assert_array_equal(b.y.argmax(-1)[:, :-1], b.x[:, 1:] - 1)  # targets: the next symbols
    hot = b.one_hot_x()
    assert hot.shape == (400, p, p + 1) and (hot.sum(-1) == 1).all()
    assert 0.4 < b.info["which"].mean() < 0.6


def test_long_lag_random_success_looks_at_the_end_only():
    b = T.long_lag_random(10, p=8, seed=1)
    out = np.full(b.y.shape, 0.5)  # the middle is unpredictable: anything goes there
    out[:, -1] = 0.9 * b.y[:, -1] + 0.01
    assert T.long_lag_random_success(out, b.y, b.lengths)
    out[3, -1, b.y[3, -1].argmax()] = 0.74
    ok, details = T.long_lag_random_check(out, b)
    assert not ok and details["wrong"] == 1 and details["error"] == pytest.approx(0.26)


# -- 5.2c ---------------------------------------------------------------------------------------


def test_very_long_lag_sequences():
    q, p = 30, 10
    b = T.very_long_lag(2000, lag=q, distractors=p, seed=2)
    e, sym_b, x, y = p, p + 1, p + 2, p + 3
    ids = b.x - 1  # symbol indices, -1 at the padding
    assert b.features == p + 4 and b.y.shape == (2000, 2)
    np.testing.assert_array_equal(b.lengths, q + b.info["extra"] + 3)
    assert b.lengths.min() >= q + 3  # the minimal time lag is q + 1
    for i in range(50):
        seq = ids[i, : b.lengths[i]]
        assert seq[0] == sym_b and seq[-1] == e and seq[1] in (x, y)
        assert ((0 <= seq[2:-1]) & (seq[2:-1] < p)).all()  # distractors only in between
        assert (ids[i, b.lengths[i] :] == -1).all()
        assert b.y[i].argmax() == seq[1] - x  # the target repeats the second element
    # k is geometric: the trigger follows each further element with probability 1/10 (mean 9)
    assert 8.3 < b.info["extra"].mean() < 9.7 and (b.info["extra"] == 0).mean() == pytest.approx(
        0.1, abs=0.02
    )
    counts = np.bincount(ids[:, 2:][ids[:, 2:] >= 0], minlength=p + 4)
    assert counts[e] == 2000 and counts[:p].min() > 0.8 * counts[:p].mean()


def test_very_long_lag_success():
    b = T.very_long_lag(20, lag=5, distractors=5, seed=3)
    out = 0.85 * b.y + 0.05
    assert T.very_long_lag_success(out, b.y)
    out[0] = [0.5, 0.5]
    ok, details = T.very_long_lag_check(out, b)
    assert not ok and details["wrong"] == 1 and details["error"] == pytest.approx(0.5)


# -- 5.3 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["a", "b", "c"])
def test_two_sequence_statistics(variant):
    b = T.two_sequence(3000, T=100, relevant=3, variant=variant, seed=4)
    assert b.x.shape[2] == 1 and b.lengths.min() >= 100 and b.lengths.max() <= 110
    sign = np.where(b.info["labels"] == 0, 1.0, -1.0)
    head = b.x[:, :3, 0]
    noise = [b.x[i, 3 : b.lengths[i], 0] for i in range(len(b))]
    noise = np.concatenate(noise)
    assert abs(noise.mean()) < 0.01 and noise.var() == pytest.approx(0.2, rel=0.03)
    if variant == "b":  # the information-conveying elements are noisy too
        assert (head - sign[:, None]).var() == pytest.approx(0.2, rel=0.1)
    else:
        np.testing.assert_array_equal(head, np.repeat(sign[:, None], 3, axis=1))
    clean = b.info["clean_target"]
    if variant == "c":
        np.testing.assert_array_equal(clean, np.where(b.info["labels"] == 0, 0.2, 0.8))
        assert (b.y[:, 0] - clean).var() == pytest.approx(0.1, rel=0.1)
    else:
        np.testing.assert_array_equal(clean, 1.0 - b.info["labels"])
        np.testing.assert_array_equal(b.y[:, 0], clean)


def test_two_sequence_stop_rules():
    a = T.two_sequence(256, variant="a", seed=5)
    target = a.info["clean_target"][:, None]
    # ST1 (nothing misclassified) without ST2 (mean absolute error below 0.01)
    ok, d = T.two_sequence_check(target + 0.1, a)
    assert not ok and d["st1"] and d["wrong"] == 0 and d["error"] == pytest.approx(0.1)
    ok, d = T.two_sequence_check(target + 0.005, a)
    assert ok and d["st1"]
    off = target + 0.005
    off[0] += 0.2  # one misclassified sequence
    assert T.two_sequence_check(off, a)[1]["st1"] is False
    # 3b: ST1 allows 5 misclassified sequences, ST2 needs a mean absolute error below 0.04
    b = T.two_sequence(256, variant="b", seed=5)
    out = b.info["clean_target"][:, None] + 0.01
    out[:5] += 0.5
    ok, d = T.two_sequence_check(out, b)
    assert d["st1"] and d["wrong"] == 5 and ok == (d["error"] < 0.04)
    out[5] += 0.5
    assert not T.two_sequence_check(out, b)[1]["st1"]
    # 3c: against the noise-free targets, within 0.1, mean difference below 0.015
    c = T.two_sequence(256, variant="c", seed=6)
    clean = c.info["clean_target"][:, None]
    assert T.two_sequence_check(clean + 0.01, c)[0]
    assert not T.two_sequence_check(c.y, c)[0]  # the noisy targets themselves are far from the means
    assert T.two_sequence_errors(clean + 0.11, c)["error_count"] == 256


def test_bad_arguments_of_the_noisy_tasks():
    with pytest.raises(ValueError, match="variant.*'d'"):
        T.two_sequence(2, variant="d")
    with pytest.raises(ValueError, match="relevant.*0"):
        T.two_sequence(2, relevant=0)
    with pytest.raises(ValueError, match="lag.*0"):
        T.very_long_lag(2, lag=0)
    with pytest.raises(ValueError, match="p.*1"):
        T.long_lag_random(2, p=1)


# -- the stop rule's confirmation and milestones -----------------------------------------------


class _Model:
    def __init__(self, fn):
        self.fn = fn

    def predict(self, x, batch_size=None, verbose=0):
        return self.fn(x)


def test_stop_rule_confirms_on_fresh_sequences_and_records_milestones():
    b = T.very_long_lag(50, lag=5, distractors=5, seed=7)
    confirmed = []

    def confirm(model):
        confirmed.append(True)
        return len(confirmed) > 1, {"checked": 10_000, "wrong": 0 if len(confirmed) > 1 else 3}

    rule = T.paper_stop_rule("very_long_lag", lambda n: b, 100, confirm=confirm)
    perfect = _Model(lambda x: b.y)
    assert (
        rule(0, {}, _Model(lambda x: np.full_like(b.y, 0.5))) is None and not confirmed
    )  # check fails first
    assert rule(1, {}, perfect) is None and rule.log[-1]["confirm_wrong"] == 3  # the confirmation fails
    assert rule(2, {}, perfect) and rule.solved_at == 300
    two = T.two_sequence(64, variant="a", seed=8)
    st1_only = _Model(lambda x: two.info["clean_target"][:, None] + 0.1)
    rule = T.paper_stop_rule("two_sequence", lambda n: two, 100)
    rule(0, None, _Model(lambda x: np.zeros((64, 1)) + 0.5))
    rule(1, None, st1_only)
    rule(2, None, _Model(lambda x: two.info["clean_target"][:, None]))
    assert rule.reached == {"st1": 200} and rule.solved_at == 300


def test_task_data_confirms_and_scores_in_chunks(monkeypatch):
    from lstm_apps.datasets.tasks import streams

    monkeypatch.setattr(streams, "CHUNK_SEQUENCES", 7)
    s = T.task_settings("very_long_lag", quick=True, optimizer="adam")
    data = T.task_data("very_long_lag", s, seed=0, lag=5, distractors=5)
    assert data.symbolic and data.steps is None and data.test_size == 64
    chunks = list(data.test_chunks())
    assert [len(c) for c in chunks] == [7] * 9 + [1] and all(c.x.shape[1] % 32 == 0 for c in chunks)
    np.testing.assert_array_equal(next(iter(data.test_chunks())).x, chunks[0].x)  # the same every call
    oracle = _Model(lambda x: np.eye(2)[(x[:, 1] - 1 - 7)])  # reads the second element: p + 2 is x
    ok, details = data.confirm(oracle)
    assert ok and details == {"checked": 64, "wrong": 0}
    scores = T.score_model(oracle, "very_long_lag", data.test_chunks())
    assert scores["error_count"] == 0 and scores["sequences"] == 64 and scores["max_abs_error"] == 0.0
    half = _Model(lambda x: np.full((len(x), 2), 0.5))
    assert data.confirm(half)[0] is False
    assert T.score_model(half, "very_long_lag", data.test_chunks())["error_count"] == 64
    x, y = next(iter(data.stream))
    assert x.dtype == np.int32 and x.shape[1] % 32 == 0 and y.shape == (16, 2)


def test_stop_rule_waits_for_a_full_window_and_scales_n_seq_with_it():
    b = T.adding_problem(50, seed=9)
    rule = T.paper_stop_rule("adding", lambda n: b, 1000, min_sequences=2500)
    good = _Model(lambda x: b.y)
    assert rule(0, None, good) is None and rule(1, None, good) is None  # 1000, 2000: no full window yet
    assert rule(2, None, good) and rule.solved_at == 3000 and [e["solved"] for e in rule.log] == [0, 0, 1]
    m = T.multiplication_problem(64, seed=10)
    out = m.y.copy()
    out[:5] += 0.05  # 5 of 64 wrong: fewer than 140, but not fewer than 140 per 2000 (4.48 of 64)
    assert not T.multiplication_check(out, m, n_seq=140)[0]
    assert T.multiplication_check(out, m, n_seq=200)[0]  # 6.4 of 64 allowed
    s = T.task_settings("adding", quick=True)
    assert T.task_data("adding", s, seed=0).min_sequences == 64
    assert T.task_data("reber", T.task_settings("reber", quick=True), seed=0).min_sequences == 0
