"""Generators and success criteria of the 1997 long-time-lag tasks (lstm_apps.datasets.tasks)."""

import numpy as np
import pytest

from lstm_apps.datasets import tasks as T

# -- adding / multiplication ----------------------------------------------------------------------


@pytest.mark.parametrize("T_len", [100, 500])
def test_adding_statistics(T_len):
    b = T.adding_problem(400, T=T_len, seed=1)
    n = len(b)
    assert b.x.dtype == np.float32 and b.x.shape[2] == 2
    assert b.lengths.min() >= T_len and b.lengths.max() <= T_len + T_len // 10
    assert b.x.shape[1] == b.lengths.max()
    marks = b.x[..., 1]
    # exactly two marked pairs, one among the first ten, the other in the first half
    assert ((marks == 1.0).sum(axis=1) == 2).all()
    first, second = b.info["marks"][:, 0], b.info["marks"][:, 1]
    assert np.all(first < T_len // 2) and np.all(second < T_len // 2)
    assert np.all(b.info["marks"].min(axis=1) < 10)
    # first and final pair marked -1 unless marked; everything else 0; padding all zero
    for i in range(n):
        L = b.lengths[i]
        m = marks[i, :L]
        if m[0] != 1.0:
            assert m[0] == -1.0
        else:
            assert b.x[i, 0, 0] == 0.0  # X1 set to zero when the first pair is marked
        assert m[L - 1] == -1.0
        inner = np.delete(m, [0, L - 1, *b.info["marks"][i]])
        assert (inner == 0.0).all()
        assert (b.x[i, L:] == 0).all()
    v = b.x[..., 0][b.step_mask]
    assert v.min() >= -1.0 and v.max() <= 1.0 and v.std() > 0.5
    # target = 0.5 + (X1 + X2) / 4, in [0, 1]
    rows = np.arange(n)[:, None]
    x12 = b.x[rows, b.info["marks"], 0].sum(axis=1)
    np.testing.assert_allclose(b.y[:, 0], 0.5 + x12 / 4, atol=1e-6)
    assert b.y.min() >= 0.0 and b.y.max() <= 1.0


def test_adding_first_mark_uniform_over_first_ten():
    b = T.adding_problem(1500, T=100, seed=2)
    marks = b.x[..., 1] == 1.0
    first = marks.argmax(axis=1)
    in_ten = marks[:, :10].sum(axis=1)
    assert (in_ten >= 1).all()
    counts = np.bincount(first, minlength=10)[:10]
    assert counts.min() > 75  # ~150 expected each; the first-ten mark is uniform


def test_adding_seeded_and_reproducible():
    a, b, c = T.adding_problem(5, seed=7), T.adding_problem(5, seed=7), T.adding_problem(5, seed=8)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.x.shape != c.x.shape or not np.array_equal(a.x, c.x)
    rng = np.random.default_rng(0)
    d, e = T.adding_problem(3, seed=rng), T.adding_problem(3, seed=rng)
    assert not np.array_equal(d.y, e.y)  # a Generator advances


def test_multiplication_statistics():
    b = T.multiplication_problem(400, T=100, seed=3)
    v = b.x[..., 0][b.step_mask]
    assert v.min() >= 0.0 and v.max() <= 1.0
    rows = np.arange(len(b))[:, None]
    prod = b.x[rows, b.info["marks"], 0].prod(axis=1)
    np.testing.assert_allclose(b.y[:, 0], prod, atol=1e-6)
    assert ((b.x[..., 1] == 1.0).sum(axis=1) == 2).all()
    first_marked = b.x[:, 0, 1] == 1.0
    assert (b.x[first_marked, 0, 0] == 1.0).all()  # neutral factor when the first pair is marked
    assert 0.2 < b.y.mean() < 0.3  # E[X1 X2] = 1/4


def test_bad_arguments():
    with pytest.raises(ValueError, match="received 0"):
        T.adding_problem(0)
    with pytest.raises(ValueError, match="T"):
        T.adding_problem(4, T=5)
    with pytest.raises(ValueError, match="relevant"):
        T.temporal_order(4, relevant=4)
    with pytest.raises(ValueError, match="task must be one of"):
        T.make_task("parity", 4)
    with pytest.raises(ValueError, match="fixed lengths"):
        T.make_task("reber", 4, length=50)
    with pytest.raises(ValueError, match="seed"):
        T.adding_problem(4, seed="x")


# -- Reber --------------------------------------------------------------------------------------


def test_embedded_reber_strings_in_grammar():
    b = T.embedded_reber(300, seed=0)
    strings = b.info["strings"]
    assert all(T.is_embedded_reber(s) for s in strings)
    assert all(s[1] == s[-2] for s in strings)
    outer_t = np.mean([s[1] == "T" for s in strings])
    assert 0.4 < outer_t < 0.6
    assert b.lengths.tolist() == [len(s) - 1 for s in strings]
    # x is the string but its last symbol, y the string shifted by one
    for i, s in enumerate(strings[:20]):
        L = len(s) - 1
        assert "".join(T.REBER_SYMBOLS[k] for k in b.x[i, :L].argmax(-1)) == s[:-1]
        assert "".join(T.REBER_SYMBOLS[k] for k in b.y[i, :L].argmax(-1)) == s[1:]
        assert (b.x[i, L:] == 0).all()
    # the actual next symbol is always legal; the second-to-last step has exactly one legal symbol
    assert (b.info["legal"][b.y > 0.5]).all()
    for i, s in enumerate(strings[:20]):
        legal = b.info["legal"][i, len(s) - 3]
        assert legal.sum() == 1 and T.REBER_SYMBOLS[legal.argmax()] == s[1]


@pytest.mark.parametrize(
    "s,ok",
    [
        ("BTBTXSETE", True),
        ("BPBPVVEPE", True),
        ("BTBTXSEPE", False),
        ("BTBTXXETE", False),
        ("BTBPTVPXVVETE", True),
        ("BTBTSSXSE", False),
        ("TBTXSETE", False),
    ],
)
def test_reber_acceptor(s, ok):
    assert T.is_embedded_reber(s) is ok


def test_embedded_reber_test_strings_exclude_training_strings():
    train = T.embedded_reber(256, seed=0)
    test = T.embedded_reber(256, seed=1, exclude=train.info["strings"])
    assert not set(test.info["strings"]) & set(train.info["strings"])
    # without the rule, the short strings recur (about a third of a 256-string set)
    plain = T.embedded_reber(256, seed=1)
    assert len(set(plain.info["strings"]) & set(train.info["strings"])) > 20
    with pytest.raises(ValueError, match="strings"):
        T.embedded_reber(4, seed=0, exclude=[3])


def test_reber_legal_next_rejects_bad_string():
    with pytest.raises(ValueError, match="BTBTXSEPE"):
        T.embedded_reber_legal_next("BTBTXSEPE")


# -- long lag -----------------------------------------------------------------------------------


def test_long_lag_sequences():
    both = T.long_lag_sequences(100)
    assert both.x.shape == (2, 100, 101)
    seqs = np.concatenate([both.x.argmax(-1), both.y.argmax(-1)[:, -1:]], axis=1)
    assert seqs[0, 0] == seqs[0, -1] == 100 and seqs[1, 0] == seqs[1, -1] == 99  # y...y and x...x
    np.testing.assert_array_equal(seqs[0, 1:-1], np.arange(99))
    np.testing.assert_array_equal(seqs[0, 1:-1], seqs[1, 1:-1])
    b = T.long_lag(500, p=100, seed=0)
    assert 0.4 < b.info["which"].mean() < 0.6
    np.testing.assert_array_equal(b.x[b.info["which"] == 1][0], both.x[1])


# -- temporal order -----------------------------------------------------------------------------


@pytest.mark.parametrize("relevant", [2, 3])
def test_temporal_order_statistics(relevant):
    b = T.temporal_order(400, relevant=relevant, seed=4)
    sym = T.TEMPORAL_ORDER_SYMBOLS
    assert b.lengths.min() >= 100 and b.lengths.max() <= 110
    windows = {2: [(10, 20), (50, 60)], 3: [(10, 20), (33, 43), (66, 76)]}[relevant]
    for i in range(len(b)):
        L = b.lengths[i]
        s = "".join(sym[k] for k in b.x[i, :L].argmax(-1))
        assert s[0] == "E" and s[-1] == "B"
        xy = [t for t, c in enumerate(s) if c in "XY"]
        assert xy == list(b.info["positions"][i])
        for t, (lo, hi) in zip(xy, windows):
            assert lo <= t + 1 <= hi  # positions counted from 1
        assert set(s[1:-1]) - set("XY") <= set("abcd")
        label = int("".join("0" if s[t] == "X" else "1" for t in xy), 2)
        assert label == b.info["labels"][i] == b.y[i].argmax()
    counts = np.bincount(b.info["labels"], minlength=2**relevant)
    assert counts.min() > 400 / 2**relevant * 0.5


# -- success criteria ---------------------------------------------------------------------------


def test_adding_success_criterion():
    y = np.linspace(0, 1, 2000)
    good = y + 0.039 * np.sign(np.sin(np.arange(2000)))
    assert T.adding_success(good, y)
    one_bad = good.copy()
    one_bad[17] = y[17] + 0.041
    assert not T.adding_success(one_bad, y)
    assert T.regression_errors(one_bad, y)["error_count"] == 1
    assert not T.adding_success(np.full(2000, 0.5), y)


def test_multiplication_success_criterion():
    # the paper: training stops once FEWER than n_seq of the 2000 most recent sequences have errors
    # EXCEEDING 0.04
    y = np.zeros(2000)
    pred = np.zeros(2000)
    pred[:139] = 0.05
    pred[139:200] = 0.04  # not exceeding
    assert T.multiplication_success(pred, y, n_seq=140)
    pred[139] = 0.05
    assert not T.multiplication_success(pred, y, n_seq=140)
    assert not T.multiplication_success(pred[:20], y[:20], n_seq=13)


def test_temporal_order_success_criterion():
    b = T.temporal_order(50, seed=0)
    probs = 0.75 * b.y + 0.25 / 4
    assert T.temporal_order_success(probs, b.y)
    probs[3] = np.roll(probs[3], 1)  # one misclassified sequence
    assert not T.temporal_order_success(probs, b.y)
    soft = 0.6 * b.y + 0.1  # correct argmax but errors of 0.3 (not below 0.3)
    assert not T.temporal_order_success(soft, b.y)


def test_reber_success_criterion():
    b = T.embedded_reber(30, seed=5)
    legal = b.info["legal"]
    perfect = legal / np.maximum(legal.sum(-1, keepdims=True), 1)
    assert T.reber_success(perfect, legal, b.step_mask)
    # predicting only the actual next symbol misses the other legal one where there are two
    assert not T.reber_success(b.y, legal, b.step_mask)
    # forgetting the outer symbol: 50/50 between T and P at the second-to-last step
    wrong = perfect.copy()
    i, t = 0, b.lengths[0] - 2
    wrong[i, t] = 0
    wrong[i, t, [T.REBER_SYMBOLS.index("T"), T.REBER_SYMBOLS.index("P")]] = 0.5
    assert not T.reber_success(wrong, legal, b.step_mask)
    # padded steps are ignored
    noisy = perfect.copy()
    noisy[~b.step_mask] = np.random.default_rng(0).random((int((~b.step_mask).sum()), 7))
    assert T.reber_success(noisy, legal, b.step_mask)


def test_long_lag_success_criterion():
    # the paper: the maximal absolute error of ALL output units below 0.25, at every step
    both = T.long_lag_sequences(10)
    mask = both.step_mask
    assert T.long_lag_success(0.9 * both.y + 0.01, both.y, mask)
    early = 0.9 * both.y + 0.01
    early[0, 3, 0] = 0.26  # a wrong unit mid-sequence, though the argmax stays right
    assert not T.long_lag_success(early, both.y, mask)
    guess = both.y.copy()
    guess[:, -1] = 0
    guess[:, -1, [8, 9]] = [0.49, 0.51]  # always says y at the end: right for one sequence only
    assert not T.long_lag_success(guess, both.y, mask)
    unsure = both.y.copy()
    unsure[:, -1] *= 0.7  # right argmax but error 0.3 at the end
    assert not T.long_lag_success(unsure, both.y, mask)


def test_paper_sequences_table():
    assert T.PAPER_SEQUENCES["4-1"] == 74_000
    assert T.PAPER_SEQUENCES["4-3"] == 853_000
    assert T.PAPER_SEQUENCES["6a"] == 31_390
