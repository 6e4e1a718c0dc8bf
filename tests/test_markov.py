"""Tests for lstm_apps.baselines.markov against a plain-Python reference."""

from collections import Counter

import numpy as np
import pytest

from lstm_apps.baselines import markov as markov_module
from lstm_apps.baselines.markov import MarkovModel, kmer_codes, select_model, select_order
from lstm_apps.datasets.genome import default_genome_path, read_genome, reverse_complement, split_fraction


def reference_bits(train, test, k, alpha):
    """Per-base bits of an order-k model with additive smoothing, one base at a time."""
    joint, ctx = Counter(), Counter()
    for i in range(k, len(train)):
        c = tuple(train[i - k : i])
        if 4 in c or train[i] == 4:
            continue
        joint[c + (train[i],)] += 1
        ctx[c] += 1
    out = []
    for i in range(k, len(test)):
        c = tuple(test[i - k : i])
        if 4 in c or test[i] == 4:
            out.append(np.nan)
            continue
        p = (joint[c + (test[i],)] + alpha) / (ctx[c] + 4 * alpha)
        out.append(-np.log2(p))
    return np.array(out)


def test_kmer_codes_golden():
    kmers, valid = kmer_codes(np.array([0, 1, 2, 3, 4, 0]), 2)
    assert kmers[:3].tolist() == [0 * 4 + 1, 1 * 4 + 2, 2 * 4 + 3]
    assert valid.tolist() == [True, True, True, False, False]
    assert kmer_codes(np.array([1, 2]), 0)[0].tolist() == [0, 0, 0]


@pytest.mark.parametrize("k,alpha", [(0, 1.0), (2, 0.5), (3, 1.0)])
def test_matches_reference_with_masks(k, alpha):
    rng = np.random.default_rng(k)
    train = rng.choice(5, size=3000, p=[0.3, 0.2, 0.2, 0.27, 0.03]).astype(np.int8)
    test = rng.choice(5, size=400, p=[0.25, 0.25, 0.2, 0.27, 0.03]).astype(np.int8)
    model = MarkovModel(k, alpha=alpha).fit(train)
    got = model.per_base_bits(test)
    want = reference_bits(train.tolist(), test.tolist(), k, alpha)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-12)
    probs = model.predict_proba(test)
    ok = ~np.isnan(probs[:, 0])
    np.testing.assert_allclose(probs[ok].sum(axis=1), 1.0)


def test_sparse_counts_match_dense(monkeypatch):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 4, 20000).astype(np.int8)
    test = rng.integers(0, 4, 2000).astype(np.int8)
    dense = MarkovModel(4).fit(train).per_base_bits(test)
    monkeypatch.setattr(markov_module, "_DENSE_MAX_ORDER", 2)
    sparse_model = MarkovModel(4).fit(train)
    assert sparse_model._keys is not None  # really took the sparse path
    np.testing.assert_allclose(sparse_model.per_base_bits(test), dense)


def test_both_strands_counts_reverse_complement():
    rng = np.random.default_rng(2)
    seq = rng.integers(0, 4, 500).astype(np.int8)
    test = rng.integers(0, 4, 300).astype(np.int8)
    both = MarkovModel(2, both_strands=True).fit(seq)
    manual = reference_bits(
        np.concatenate([seq, [4], reverse_complement(seq)]).tolist(), test.tolist(), 2, 1.0
    )
    np.testing.assert_allclose(both.per_base_bits(test), manual)


def test_order_zero_uniform_and_learnable_chain():
    rng = np.random.default_rng(3)
    uniform = rng.integers(0, 4, 50000).astype(np.int8)
    assert abs(MarkovModel(0).fit(uniform[:40000]).bits_per_base(uniform[40000:]) - 2.0) < 0.01
    # an order-2 chain: the next base is a fixed function of the last two, 10 % noise
    n = 30000
    seq = np.zeros(n, np.int8)
    seq[:2] = [0, 1]
    table = rng.integers(0, 4, (4, 4))
    noise = rng.random(n) < 0.1
    rand = rng.integers(0, 4, n)
    for i in range(2, n):  # data generation only
        seq[i] = rand[i] if noise[i] else table[seq[i - 2], seq[i - 1]]
    best, tab = select_order(seq[:20000], seq[20000:25000], orders=range(0, 6))
    assert best.order == 2
    assert [r["order"] for r in tab] == list(range(6))
    # entropy of 90 % + 10 %/4 on one symbol: about 0.57 bits
    assert best.bits_per_base(seq[25000:]) < 0.7


def test_select_model_tries_both_strand_options():
    rng = np.random.default_rng(3)
    # a strand-asymmetric chain (the cycle A A C with 20 % noise): counting the reverse
    # strand (G T T) only blurs the low orders, so one strand wins
    cycle = np.tile(np.array([0, 0, 1], np.int8), 4000)
    seq = np.where(rng.random(cycle.size) < 0.2, rng.integers(0, 4, cycle.size), cycle).astype(np.int8)
    train, valid = seq[:9000], seq[9000:]
    best, table = select_model(train, valid, orders=range(0, 4))
    assert [(r["both_strands"], r["order"]) for r in table] == [
        (b, k) for b in (False, True) for k in range(4)
    ]
    for both in (False, True):
        _, rows = select_order(train, valid, range(0, 4), both_strands=both)
        mine = [r["valid_bits_per_base"] for r in table if r["both_strands"] == both]
        assert mine == [r["valid_bits_per_base"] for r in rows]
    winner = min(table, key=lambda r: r["valid_bits_per_base"])
    assert best.both_strands is False and (best.order, best.both_strands) == (winner["order"], False)
    assert table[0]["valid_bits_per_base"] < table[4]["valid_bits_per_base"]  # order 0: one strand better
    only_both, _ = select_model(train, valid, orders=range(0, 4), strand_options=(True,))
    assert only_both.both_strands is True
    with pytest.raises(ValueError, match="strand_options must name at least one option"):
        select_model(train, valid, strand_options=())


def test_errors():
    with pytest.raises(ValueError, match="order"):
        MarkovModel(-1)
    with pytest.raises(ValueError, match="alpha"):
        MarkovModel(2, alpha=0)
    with pytest.raises(ValueError, match="not fitted"):
        MarkovModel(2).bits_per_base(np.zeros(10, np.int8))
    with pytest.raises(ValueError, match="0..3"):
        MarkovModel(1).fit(np.array([0, 1, 9]))
    with pytest.raises(ValueError, match="consecutive unmasked"):
        MarkovModel(3).fit(np.array([0, 4, 1, 4, 2]))
    with pytest.raises(ValueError, match="start must be"):
        MarkovModel(3).fit(np.zeros(20, np.int8)).per_base_bits(np.zeros(10, np.int8), start=1)


def test_reproduces_reference_figures_on_ecoli():
    """shared/data/README.md: order 6 -> 1.936, order 0 -> 2.000, order 12 -> 1.994 bits/base."""
    codes = read_genome(default_genome_path()).codes
    train, _ = split_fraction(codes, 0.9)
    start = train.size
    for k, want in ((0, 2.000), (6, 1.936), (12, 1.994)):
        got = MarkovModel(k).fit(train).bits_per_base(codes, start=start)
        assert abs(got - want) < 0.0015, (k, got)
