"""Scoring a residue language model: bits per residue, Markov baselines, property probes, figures.

A residue model reads :data:`~lstm_apps.datasets.proteins.START` and then a
protein's residues, and at every position outputs 20 logits for the next
residue (a dict-output model's ``"next_residue"`` is used). Every residue
of a held-out protein is scored, the first one from the start token alone;
masked residues are never scored. The order-k Markov baseline scores the
same residues: each protein is padded on the left with ``k`` mask tokens
that the model reads as "before the start" (``mask_in_context``, see
:mod:`lstm_apps.baselines.markov`).

The probes ask whether the hidden state after residue ``t`` holds the net
charge and the mean hydrophobicity of the prefix ``1..t``
(:mod:`lstm_apps.datasets.protein_properties`): a ridge regression
(:func:`lstm_apps.probes.ridge_probe`) is fitted on positions of training
proteins and scored (R²) on positions of held-out proteins, for the trained
model, for an untrained copy of it and for the bag of residue counts of the
prefix (the linear ceiling).

Example:

```python
bits = per_residue_bits(model, split.test)
print(mean_bits(bits), "bits/residue")
metrics, probes = property_probes(model, split.train, split.test, untrained=untrained_copy(model))
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lstm_apps.baselines.markov import select_order_and_alpha
from lstm_apps.datasets.protein_properties import PROPERTIES, prefix_composition
from lstm_apps.datasets.proteins import MASK, START
from lstm_apps.metrics import nats_to_bits

__all__ = [
    "per_residue_bits",
    "mean_bits",
    "composition_entropy",
    "markov_stream",
    "fit_markov",
    "markov_bits",
    "bits_per_residue",
    "property_probes",
    "probe_traces",
    "plot_probe_traces",
]


def _codes(proteins) -> list[np.ndarray]:
    return [np.asarray(getattr(p, "codes", p)) for p in proteins]


def per_residue_bits(model, proteins, *, batch_size: int = 32) -> list[np.ndarray]:
    """The model's loss in bits on every residue of each protein (NaN where masked).

    Args:
        model: a Keras model mapping ``(batch, time)`` tokens to next-residue
            logits ``(batch, time, 20)`` (or a dict holding them as ``"next_residue"``).
        proteins: :class:`~lstm_apps.datasets.proteins.Protein` objects or code arrays.
        batch_size: proteins per ``predict`` call (sorted by length).

    Returns:
        One float64 array per protein, as long as the protein.
    """
    from scipy.special import log_softmax

    seqs = _codes(proteins)
    out = [None] * len(seqs)
    order = np.argsort([s.size for s in seqs], kind="stable")
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        length = max(seqs[j].size for j in idx)
        x = np.full((idx.size, length), MASK, dtype=np.int32)
        for r, j in enumerate(idx):
            x[r, 0] = START
            x[r, 1 : seqs[j].size] = seqs[j][:-1]
        logits = model.predict_on_batch(x)
        if isinstance(logits, Mapping):
            logits = logits["next_residue"]
        logp = log_softmax(np.asarray(logits, dtype=np.float64), axis=-1)
        for r, j in enumerate(idx):
            target = seqs[j].astype(np.int64)
            ok = target < MASK
            bits = np.full(target.size, np.nan)
            bits[ok] = nats_to_bits(-logp[r, np.flatnonzero(ok), target[ok]])
            out[j] = bits
    return out


def mean_bits(bits: Sequence[np.ndarray]) -> float:
    """Bits per residue over every scored residue of every protein."""
    return float(np.nanmean(np.concatenate([np.asarray(b, dtype=np.float64) for b in bits])))


def composition_entropy(proteins) -> float:
    """Entropy (bits) of the residue composition of ``proteins``: the order-0 figure (about 4.19)."""
    codes = np.concatenate(_codes(proteins))
    p = np.bincount(codes[codes < MASK], minlength=MASK) / np.count_nonzero(codes < MASK)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def markov_stream(proteins, pad: int) -> np.ndarray:
    """The proteins joined into one ``int8`` stream, each after ``pad`` mask tokens."""
    head = np.full(pad, MASK, dtype=np.int8)
    return np.concatenate([np.concatenate([head, c.astype(np.int8)]) for c in _codes(proteins)])


def fit_markov(train, val, orders=range(0, 4), alphas=(1.0, 0.1, 0.01), refit: bool = True):
    """Order-k Markov models of residues: order and pseudo-count chosen on ``val``.

    Args:
        train, val: proteins.
        orders: candidate orders.
        alphas: candidate pseudo-counts.
        refit: refit the chosen model on training plus validation proteins.

    Returns:
        ``(model, table)``: the :class:`~lstm_apps.baselines.markov.MarkovModel`
        and the validation table (``alpha``, ``order``, ``valid_bits_per_base``).
    """
    orders = list(orders)
    pad = max(orders)
    train_stream, val_stream = markov_stream(train, pad), markov_stream(val, pad)
    model, table = select_order_and_alpha(
        train_stream, val_stream, orders, alphas, alphabet_size=MASK, mask_in_context=True
    )
    if refit:
        model.fit(np.concatenate([train_stream, val_stream]))
    return model, table


def markov_bits(markov, proteins) -> list[np.ndarray]:
    """The Markov model's bits on every residue of each protein (NaN where masked)."""
    k = markov.order
    return [markov.per_base_bits(markov_stream([c], k), start=k) for c in _codes(proteins)]


def bits_per_residue(models: Mapping[str, object], proteins) -> dict[str, float]:
    """Mean bits per residue on ``proteins`` of each model, by name.

    Args:
        models: networks (scored by :func:`per_residue_bits`) and
            :class:`~lstm_apps.baselines.markov.MarkovModel` objects (scored by
            :func:`markov_bits`), by name.
        proteins: the proteins scored.

    Returns:
        ``{name: bits per residue}``.

    Example:

    >>> bits_per_residue({"lstm": model, "markov": markov}, split.test)
    """
    from lstm_apps.baselines.markov import MarkovModel

    score = {True: markov_bits, False: per_residue_bits}
    return {name: mean_bits(score[isinstance(m, MarkovModel)](m, proteins)) for name, m in models.items()}


def _positions(rng, n, per_protein):
    return np.sort(rng.choice(n, size=min(n, per_protein), replace=False))


def _features(model, untrained, codes, layer):
    """Features of every prefix of each protein: trained states, untrained states, residue counts."""
    from lstm_apps.probes import sequence_states

    inputs = [np.concatenate([[START], c]) for c in codes]
    feats = {"lstm": [s[1:] for s in sequence_states(model, inputs, layer=layer, pad=MASK)]}
    if untrained is not None:
        name = getattr(layer, "name", layer)
        feats["untrained"] = [s[1:] for s in sequence_states(untrained, inputs, layer=name, pad=MASK)]
    feats["counts"] = [prefix_composition(c) for c in codes]
    return feats


def property_probes(
    model,
    train,
    test,
    *,
    untrained=None,
    max_proteins: int = 400,
    per_protein: int = 20,
    seed: int = 0,
    layer=None,
):
    """Ridge probes from the hidden state after each residue to the properties of the prefix read.

    Up to ``max_proteins`` proteins of each part are drawn, and up to
    ``per_protein`` positions of each; the state at position ``t`` (after
    reading residues ``1..t``) is paired with the prefix's net charge at pH 7
    and mean Kyte–Doolittle hydrophobicity. The same probe is fitted on the
    states of ``untrained`` (when given) and on the prefix's residue counts
    and fractions (:func:`~lstm_apps.datasets.protein_properties.prefix_composition`).

    Args:
        model: the residue model.
        train, test: proteins for fitting and for scoring the probes.
        untrained: an untrained copy of the model (:func:`lstm_apps.probes.untrained_copy`), or None.
        max_proteins, per_protein: sampling sizes.
        seed: sampling seed.
        layer: the recurrent layer probed (default: the last one).

    Returns:
        ``(metrics, probes)``: ``probe_r2_<property>`` (trained states),
        ``probe_r2_<property>_untrained``, ``probe_r2_<property>_counts``,
        ``probe_train_samples``, ``probe_test_samples``; and the fitted probes
        by ``(property, features)`` for :func:`probe_traces`.
    """
    from lstm_apps.probes import ridge_probe

    rng = np.random.default_rng(seed)
    parts = {}
    for part, proteins in (("train", _codes(train)), ("test", _codes(test))):
        if not proteins:
            raise ValueError(f"property_probes needs {part} proteins, received none.")
        chosen = rng.choice(len(proteins), size=min(max_proteins, len(proteins)), replace=False)
        codes = [proteins[i] for i in np.sort(chosen)]
        where = [_positions(rng, c.size, per_protein) for c in codes]
        feats = _features(model, untrained, codes, layer)
        x = {k: np.concatenate([f[w] for f, w in zip(v, where)]) for k, v in feats.items()}
        y = {p: np.concatenate([fn(c)[w] for c, w in zip(codes, where)]) for p, fn in PROPERTIES.items()}
        parts[part] = (x, y)
    (x_train, y_train), (x_test, y_test) = parts["train"], parts["test"]
    metrics, probes = {}, {}
    for prop in PROPERTIES:
        for feat in x_train:
            out = ridge_probe(x_train[feat], y_train[prop], x_test[feat], y_test[prop])
            metrics[f"probe_r2_{prop}" + ("" if feat == "lstm" else f"_{feat}")] = out["r2"]
            probes[prop, feat] = out["probe"]
    metrics["probe_train_samples"] = int(y_train["charge"].size)
    metrics["probe_test_samples"] = int(y_test["charge"].size)
    return metrics, probes


def probe_traces(protein, model, probes, *, untrained=None, layer=None) -> dict[str, dict[str, np.ndarray]]:
    """Each property of every prefix of one protein beside the fitted probes' predictions.

    Returns:
        ``{property: {"truth": ..., "lstm": ..., "untrained": ..., "counts": ...}}``
        (the features of ``probes``), arrays as long as the protein.
    """
    codes = _codes([protein])[0]
    feats = {k: v[0] for k, v in _features(model, untrained, [codes], layer).items()}
    out = {}
    for prop, fn in PROPERTIES.items():
        out[prop] = {"truth": fn(codes)}
        for (p, feat), probe in probes.items():
            if p == prop and feat in feats:
                out[prop][feat] = probe.predict(feats[feat])
    return out


def plot_probe_traces(traces: Mapping[str, Mapping[str, np.ndarray]], title: str = ""):
    """A figure with one panel per property: the truth along the protein and each probe's prediction."""
    import matplotlib.pyplot as plt

    labels = {
        "truth": "truth (Biopython)",
        "lstm": "probe on trained states",
        "untrained": "probe on untrained states",
        "counts": "probe on residue counts",
        "multitask": "probe on multitask states",
    }
    units = {"charge": "net charge at pH 7", "hydrophobicity": "mean Kyte-Doolittle"}
    fig, axes = plt.subplots(len(traces), 1, figsize=(9, 3 * len(traces)), sharex=True, squeeze=False)
    for ax, (prop, curves) in zip(axes[:, 0], traces.items()):
        for key, values in curves.items():
            style = {"color": "black", "lw": 2} if key == "truth" else {"lw": 1}
            ax.plot(np.arange(1, len(values) + 1), values, label=labels.get(key, key), **style)
        ax.set_ylabel(units.get(prop, prop))
        ax.legend(fontsize=8, loc="best")
    axes[-1, 0].set_xlabel("prefix length (residues read)")
    axes[0, 0].set_title(title or "Probes along one held-out protein")
    fig.tight_layout()
    return fig
