"""Tests for lstm_apps.datasets.genome_scoring: blocks, bits per base, loss near genes, the coding probe."""

import numpy as np
import pytest

from lstm_apps.datasets.genome import MASK, Feature, Genome, GenomeRecord, GenomeSplit
from lstm_apps.datasets.genome_scoring import (
    coding_probe,
    context_windows,
    eval_blocks,
    gene_start_profile,
    mean_bits_near_genes,
    near_mask,
    per_base_bits,
    plot_gene_start_profile,
    plot_loss_along,
    score_sequence,
)


class _Uniform:
    def predict(self, x, batch_size=None, verbose=0):
        return np.zeros(x.shape + (4,), "float32")


class _BetsOnA:
    """Logit 5 for A and 0 for C, G, T at every position."""

    def predict(self, x, batch_size=None, verbose=0):
        logits = np.zeros(x.shape + (4,), "float32")
        logits[..., 0] = 5.0
        return logits


def test_eval_blocks_line_up_with_targets():
    codes = np.random.default_rng(0).integers(0, 4, 1000).astype(np.int8)
    start, stop, block, warm = 300, 1000, 128, 50
    x, starts = eval_blocks(codes, start, stop, block, warm)
    assert x.shape == (len(starts), warm + block) and x.dtype == np.int32
    for r, b in enumerate(starts):
        for j in range(block):
            # output warm + j has read codes[..b+j-1] and predicts codes[b+j]
            if b + j < codes.size:
                assert x[r, warm + j] == codes[b + j - 1]
    # before the sequence start the context is padded with the mask token
    x0, _ = eval_blocks(codes, 1, 50, 32, 8)
    assert (x0[0, :8] == MASK).all() and x0[0, 8] == codes[0]
    with pytest.raises(ValueError, match="block must be a positive integer, received 0"):
        eval_blocks(codes, 0, 10, 0, 4)
    with pytest.raises(ValueError, match=r"region \[10, 10\) must be non-empty"):
        eval_blocks(codes, 10, 10, 8, 4)
    tail, _ = eval_blocks(codes, 996, 1004, 8, 2)  # past the end: the mask token
    assert tail[0, :7].tolist() == codes[993:1000].tolist() and (tail[0, 7:] == MASK).all()
    with pytest.raises(ValueError, match=r"region \[10, 2000\) must lie within the 1000 bases"):
        per_base_bits(_Uniform(), codes, 10, 2000, block=8, warmup=4)


def test_uniform_model_scores_two_bits_and_masked_bases_none():
    codes = np.random.default_rng(1).integers(0, 4, 3000).astype(np.int8)
    codes[500] = MASK  # a masked base is not scored
    bits = per_base_bits(_Uniform(), codes, 100, 3000, block=256, warmup=32)
    assert bits.shape == (2900,) and np.isnan(bits[400]) and np.isnan(bits).sum() == 1
    np.testing.assert_allclose(np.nanmean(bits), 2.0)


def test_per_base_bits_against_numpy_softmax():
    codes = np.random.default_rng(2).integers(0, 4, 700).astype(np.int8)
    bits = per_base_bits(_BetsOnA(), codes, 50, 700, block=64, warmup=16)
    p_a = np.exp(5.0) / (np.exp(5.0) + 3.0)
    expected = np.where(codes[50:700] == 0, -np.log2(p_a), -np.log2((1 - p_a) / 3))
    np.testing.assert_allclose(bits, expected, rtol=1e-6)


def test_score_sequence_scores_every_base_after_the_first():
    from lstm_apps.baselines.markov import MarkovModel

    codes = np.random.default_rng(3).integers(0, 4, 900).astype(np.int8)
    codes[300] = MASK
    markov = MarkovModel(2).fit(codes[:600])
    net, mk = score_sequence(_Uniform(), markov, codes, block=128, warmup=16)
    assert net.shape == mk.shape == (899,)
    np.testing.assert_allclose(np.nanmean(net), 2.0)
    # position i + 1 of codes; the Markov model needs its 2 bases of context (none masked)
    expected = markov.per_base_bits(codes, start=2)
    np.testing.assert_allclose(mk[1:], expected)
    assert np.isnan(mk[0])  # base 1 has one base of context: not scored by an order-2 model
    assert np.isnan(net[299]) and np.isnan(mk[299])  # the masked base


def test_near_mask_against_a_loop():
    n, offset, radius = 200, 1000, 7
    points = np.array([990, 1003, 1100, 1196, 1300])
    mask = near_mask(n, points, radius, offset=offset)
    expected = np.array([any(abs(offset + i - p) <= radius for p in points) for i in range(n)])
    np.testing.assert_array_equal(mask, expected)
    with pytest.raises(ValueError, match="radius must be a non-negative integer, received -1"):
        near_mask(n, points, -1)


def test_mean_bits_near_genes():
    bits = np.arange(100, dtype=float)
    bits[52] = np.nan
    out = mean_bits_near_genes(bits, gene_starts=[1010, 5000], gene_stops=[1050], start=1000, radius=2)
    assert out["gene_start"] == pytest.approx(np.mean([8, 9, 10, 11, 12]))
    assert out["gene_stop"] == pytest.approx(np.mean([48, 49, 50, 51]))  # 52 is NaN
    rest = np.setdiff1d(np.arange(100), [8, 9, 10, 11, 12, 48, 49, 50, 51, 52])
    assert out["elsewhere"] == pytest.approx(rest.mean())
    none = mean_bits_near_genes(bits, [], [], start=1000)
    assert np.isnan(none["gene_start"]) and none["elsewhere"] == pytest.approx(np.nanmean(bits))


def test_gene_start_profile_is_strand_aware():
    start, stop = 1000, 1400
    bits = np.arange(start, stop, dtype=float)  # bits equal the position
    features = [
        Feature("CDS", 1100, 1200, 1),  # first base 1100
        Feature("CDS", 1250, 1300, -1),  # first base 1299, read backwards
        Feature("CDS", 1005, 1050, 1),  # its window leaves the region: skipped
        Feature("gene", 1100, 1200, 1),  # not a CDS
    ]
    offsets, profiles, count = gene_start_profile(features, {"m": bits}, start, stop, reach=10)
    assert count == 2 and offsets.tolist() == list(range(-10, 11))
    np.testing.assert_allclose(profiles["m"], ((1100 + offsets) + (1299 - offsets)) / 2)
    assert gene_start_profile(features[2:], {"m": bits}, start, stop, reach=10) is None
    assert plot_gene_start_profile(offsets, profiles, count).axes[0].get_title().startswith("Loss around 2")
    fig = plot_loss_along({"m": bits}, start, coding=np.arange(400) < 100)
    assert fig.axes[0].get_ylabel() == "bits/base (8-bp mean)"


def test_context_windows():
    codes = np.array([0, 1, 2, 3, 0], np.int8)
    np.testing.assert_array_equal(context_windows(codes, [0, 4], 2), [[4, 4, 0], [2, 3, 0]])
    with pytest.raises(ValueError, match="positions must lie in 0..4"):
        context_windows(codes, [5], 2)


def test_coding_probe_reads_a_coding_signal():
    """Coding stretches use only A/C, the rest only G/T: an embedding-and-LSTM network's
    states (even untrained) separate them, and the probe must beat the majority class."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = 8000
    coding = (np.arange(n) // 200) % 3 == 0  # a third of the bases, in 200-bp stretches
    codes = np.where(coding, rng.integers(0, 2, n), rng.integers(2, 4, n)).astype(np.int8)
    rec = GenomeRecord("toy", "toy", codes, [])
    split = GenomeSplit(Genome("toy.fa", "fasta", [rec]), codes, 6000, 7000, coding)
    inp = keras.Input((None,), dtype="int32")
    h = keras.layers.LSTM(8, return_sequences=True)(keras.layers.Embedding(5, 4)(inp))
    model = keras.Model(inp, keras.layers.Dense(4)(h))
    out = coding_probe(model, split, warmup=8, seed=0, max_samples=300)
    assert out["probe_train_samples"] == 300 and out["probe_test_samples"] == 300
    assert 0.55 < out["probe_majority_accuracy"] < 0.8
    assert out["probe_accuracy"] > 0.95
    no_annotation = GenomeSplit(split.genome, codes, 6000, 7000)
    with pytest.raises(ValueError, match="no annotated features"):
        coding_probe(model, no_annotation)
