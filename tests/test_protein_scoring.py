"""Tests for lstm_apps.datasets.protein_scoring: bits per residue, Markov baselines, property probes."""

import keras
import numpy as np
import pytest
from scipy.stats import entropy

from lstm_apps.baselines.markov import MarkovModel
from lstm_apps.datasets import protein_scoring as scoring
from lstm_apps.datasets.protein_properties import prefix_charge, residue_charges
from lstm_apps.datasets.proteins import MASK, START, VOCAB_SIZE, encode_protein
from lstm_apps.probes import untrained_copy


class _Recorder:
    """Fake model: logit 5 on the residue it just read (or on M after the start token); keeps its inputs."""

    def __init__(self, as_dict=False):
        self.inputs, self.as_dict = [], as_dict

    def predict_on_batch(self, x):
        self.inputs.append(x.copy())
        logits = np.zeros(x.shape + (20,), "float32")
        read = np.where(x == START, 10, x)  # 10 = M
        ok = read < 20
        logits[np.nonzero(ok) + (read[ok],)] = 5.0
        return {"next_residue": logits, "charge": np.zeros(x.shape + (1,))} if self.as_dict else logits


def _bits_if(hit):
    p_hit = np.exp(5.0) / (np.exp(5.0) + 19)
    return -np.log2(p_hit) if hit else -np.log2((1 - p_hit) / 19)


def test_per_residue_bits_reads_start_then_residues_and_skips_masks():
    proteins = [encode_protein(s) for s in ("MMMK", "MX", "MKKKKKKA")]
    model = _Recorder()
    bits = scoring.per_residue_bits(model, proteins, batch_size=2)
    assert [b.size for b in bits] == [4, 2, 8]
    # "repeat the last residue" is right for M M M, K K K..., wrong at each change
    np.testing.assert_allclose(bits[0], [_bits_if(True)] * 3 + [_bits_if(False)])
    assert np.isnan(bits[1][1]) and bits[1][0] == pytest.approx(_bits_if(True))  # X is never scored
    np.testing.assert_allclose(bits[2], [_bits_if(h) for h in (1, 0, 1, 1, 1, 1, 1, 0)])
    first = model.inputs[0]  # sorted by length: MX and MMMK together, padded with MASK
    assert first[:, 0].tolist() == [START, START] and first[0, 2:].tolist() == [MASK, MASK]
    dict_bits = scoring.per_residue_bits(_Recorder(as_dict=True), proteins)
    for a, b in zip(bits, dict_bits):
        np.testing.assert_array_equal(a, b)
    assert scoring.mean_bits(bits) == pytest.approx(np.nanmean(np.concatenate(bits)))


def test_markov_baselines_score_every_residue_from_the_start():
    rng = np.random.default_rng(0)

    # residues follow M, then alternate K/E with 10 % noise: order 1 captures it
    def protein(n):
        out = [10]
        for _ in range(n - 1):
            out.append(rng.integers(0, 20) if rng.random() < 0.1 else (3 if out[-1] == 8 else 8))
        return np.array(out, np.int8)

    train = [protein(rng.integers(20, 60)) for _ in range(300)]
    val = [protein(rng.integers(20, 60)) for _ in range(50)]
    test = [protein(rng.integers(20, 60)) for _ in range(50)]
    markov, table = scoring.fit_markov(train, val, range(0, 3), alphas=(1.0, 0.1))
    assert markov.order >= 1 and markov.mask_in_context and markov.alphabet_size == 20
    assert len(table) == 6
    bits = scoring.markov_bits(markov, test)
    assert all(np.isfinite(b).all() and b.size == t.size for b, t in zip(bits, test))
    assert bits[0][0] < 0.5  # the first residue is M, known from the start context
    composition, _ = scoring.fit_markov(train, val, [0])
    assert scoring.mean_bits(bits) < 0.6 * scoring.mean_bits(scoring.markov_bits(composition, test))
    both = scoring.bits_per_residue({"markov": markov, "recorder": _Recorder()}, test)
    assert both["markov"] == pytest.approx(scoring.mean_bits(bits))
    assert both["recorder"] > 2.0  # repeating the last residue is wrong on an alternating chain
    stream = scoring.markov_stream([np.array([1, 2], np.int8)], pad=2)
    assert stream.tolist() == [MASK, MASK, 1, 2]
    assert isinstance(markov, MarkovModel)


def test_composition_entropy():
    proteins = [encode_protein("MKKAAAX"), encode_protein("MKWW")]
    counts = np.bincount(np.concatenate([encode_protein("MKKAAA"), encode_protein("MKWW")]), minlength=20)
    assert scoring.composition_entropy(proteins) == pytest.approx(entropy(counts, base=2))


def _charge_counter():
    """A network whose state is the running sum of the side-chain charges: it encodes the prefix's charge."""
    tokens = keras.Input((None,), dtype="int32")
    side = np.concatenate([residue_charges(7.0)["side_chain"], [0.0]])[:, None]  # START reads as 0
    h = keras.layers.Embedding(VOCAB_SIZE, 1, weights=[side], name="embed")(tokens)
    h = keras.layers.SimpleRNN(
        1,
        activation="linear",
        return_sequences=True,
        kernel_initializer="ones",
        recurrent_initializer="ones",
        bias_initializer="zeros",
        name="rnn",
    )(h)
    return keras.Model(tokens, keras.layers.Dense(20, name="next_residue")(h))


def test_property_probes_find_a_counted_charge_and_the_controls():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    proteins = [rng.integers(0, 20, rng.integers(30, 120)).astype(np.int8) for _ in range(120)]
    model = _charge_counter()
    states = scoring._features(model, None, proteins[:1], None)["lstm"][0]
    side_sum = prefix_charge(proteins[0]) - prefix_charge(proteins[0][:1])[0]  # termini aside
    assert np.corrcoef(states[:, 0], side_sum)[0, 1] > 0.99
    metrics, probes = scoring.property_probes(
        model,
        proteins[:80],
        proteins[80:],
        untrained=untrained_copy(model, 3),
        max_proteins=50,
        per_protein=15,
    )
    assert metrics["probe_r2_charge"] > 0.95  # the state is the charge (up to the termini)
    assert metrics["probe_r2_charge_counts"] > 0.99 and metrics["probe_r2_hydrophobicity_counts"] > 0.99
    assert metrics["probe_r2_charge_untrained"] < metrics["probe_r2_charge"]
    assert metrics["probe_r2_hydrophobicity"] < 0.5  # one number holds charge, not hydrophobicity
    assert metrics["probe_train_samples"] == 50 * 15 and metrics["probe_test_samples"] == 40 * 15
    assert set(probes) == {
        (p, f) for p in ("charge", "hydrophobicity") for f in ("lstm", "untrained", "counts")
    }
    traces = scoring.probe_traces(proteins[85], model, probes, untrained=untrained_copy(model, 3))
    assert set(traces["charge"]) == {"truth", "lstm", "untrained", "counts"}
    assert all(v.shape == (proteins[85].size,) for v in traces["hydrophobicity"].values())
    np.testing.assert_allclose(traces["charge"]["lstm"], traces["charge"]["truth"], atol=0.5)
    fig = scoring.plot_probe_traces(traces, "toy")
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="needs test proteins"):
        scoring.property_probes(model, proteins[:5], [])
