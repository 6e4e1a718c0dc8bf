"""Scoring a next-base model on a genome: evaluation blocks, bits per base, loss near genes, a coding probe.

A next-base model (tokens of :mod:`lstm_apps.datasets.genome` in, four
logits per position out) is scored on a region ``[start, stop)`` in blocks:
each block of ``block`` predicted bases is preceded by ``warmup`` bases of
context read from a zero state, so every base is predicted from at least
``warmup`` bases before it (the mask token pads before the sequence start).
Positions whose target is a mask token score NaN and are left out of every
mean.

Example:

```python
split = load_genome_split()
bits = per_base_bits(model, split.codes, split.test_start, len(split), block=1024, warmup=256)
print(np.nanmean(bits), "bits/base")
```
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lstm_apps.datasets.genome import MASK, GenomeSplit
from lstm_apps.metrics import nats_to_bits

__all__ = [
    "eval_blocks",
    "predict_log_probs",
    "per_base_bits",
    "score_sequence",
    "plot_loss_along",
    "near_mask",
    "mean_bits_near_genes",
    "gene_start_profile",
    "plot_gene_start_profile",
    "context_windows",
    "coding_probe",
]


def _check_region(codes, start, stop, block, warmup):
    for name, v in (("block", block), ("warmup", warmup)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if name == "block" else 0):
            expected = "a positive integer" if name == "block" else "a non-negative integer"
            raise ValueError(f"{name} must be {expected}, received {v!r}.")
    if not 0 <= start < stop:
        raise ValueError(f"region [{start}, {stop}) must be non-empty and start at 0 or later.")


def eval_blocks(codes: np.ndarray, start: int, stop: int, block: int, warmup: int):
    """Inputs predicting positions ``start..stop-1`` in blocks with ``warmup`` bases of context.

    Row ``r`` holds ``codes[b - 1 - warmup : b + block - 1]`` (padded with
    the mask token before the sequence start and after its end) for
    ``b = start + r * block``; its outputs ``warmup..warmup+block-1`` predict
    ``codes[b : b + block]``.

    Args:
        codes: 1-D base codes (0..4).
        start, stop: the region to predict.
        block: bases predicted per row.
        warmup: bases of context read before the first predicted one.

    Returns:
        ``(x, starts)``: ``int32`` inputs of shape ``(rows, warmup + block)``
        and the first predicted position of each row.

    Example:

    >>> x, starts = eval_blocks(np.array([0, 1, 2, 3], np.int8), 1, 4, block=2, warmup=1)
    >>> x.tolist(), starts.tolist()
    ([[4, 0, 1], [1, 2, 3]], [1, 3])
    """
    codes = np.asarray(codes)
    _check_region(codes, start, stop, block, warmup)
    starts = np.arange(start, stop, block)
    idx = starts[:, None] - 1 - warmup + np.arange(warmup + block)[None, :]
    valid = (idx >= 0) & (idx < codes.size)
    x = np.where(valid, codes[np.clip(idx, 0, codes.size - 1)], MASK).astype(np.int32)
    return x, starts


def predict_log_probs(model, codes, start, stop, *, block=1024, warmup=256, batch_size=64) -> np.ndarray:
    """Log-probabilities (nats, float64) of the four bases at positions ``start..stop-1``.

    Args:
        model: a Keras model mapping ``(batch, time)`` tokens to ``(batch, time, 4)`` logits.
        codes, start, stop, block, warmup: see :func:`eval_blocks`.
        batch_size: rows per ``model.predict`` batch.

    Returns:
        An array of shape ``(stop - start, 4)``.
    """
    from scipy.special import log_softmax

    if stop > np.asarray(codes).size:
        raise ValueError(f"region [{start}, {stop}) must lie within the {np.asarray(codes).size} bases.")
    x, _ = eval_blocks(codes, start, stop, block, warmup)
    logits = model.predict(x, batch_size=batch_size, verbose=0)[:, warmup:, :]
    logp = log_softmax(logits.astype(np.float64), axis=-1)
    return logp.reshape(-1, 4)[: stop - start]


def per_base_bits(model, codes, start, stop, *, block=1024, warmup=256) -> np.ndarray:
    """The model's loss in bits on every base of ``[start, stop)``; NaN where the base is masked.

    Returns:
        A float64 array of length ``stop - start`` (its ``np.nanmean`` is bits per base).
    """
    logp = predict_log_probs(model, codes, start, stop, block=block, warmup=warmup)
    target = np.asarray(codes)[start:stop].astype(np.int64)
    ok = target < 4
    bits = np.full(target.size, np.nan)
    bits[ok] = nats_to_bits(-logp[ok, target[ok]])
    return bits


def score_sequence(model, markov, codes, *, block=1024, warmup=256):
    """Per-base bits of a next-base network and of a Markov model on every base of ``codes`` after the first.

    For scoring a whole other file with trained models: the network reads
    each block with up to ``warmup`` bases of context (none before the
    start), the Markov model (:class:`~lstm_apps.baselines.markov.MarkovModel`)
    its usual ``order`` bases, mask-padded before the start.

    Returns:
        ``(network_bits, markov_bits)``, two arrays of length ``len(codes) - 1``
        (NaN where a base is not scored).
    """
    codes = np.asarray(codes)
    network = per_base_bits(model, codes, 1, codes.size, block=block, warmup=warmup)
    padded = np.concatenate([np.full(markov.order, MASK, np.int8), codes])
    return network, markov.per_base_bits(padded, start=markov.order)[1:]


def plot_loss_along(bits: Mapping[str, np.ndarray], start: int, coding=None, max_window: int = 2000):
    """A figure of each model's per-base loss along a region (rolling mean), coding regions shaded.

    Args:
        bits: per-base bits of the region ``[start, start + len)`` for each model, by label.
        start: the sequence position of the first base.
        coding: optional boolean mask over the region ("inside a CDS"), drawn as grey bands.
        max_window: the widest rolling window; the window is a fiftieth of the region, at least 1.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    m = len(next(iter(bits.values())))
    win = max(1, min(max_window, m // 50))
    pos = np.arange(start, start + m)
    fig, ax = plt.subplots(figsize=(10, 3.5))
    for label, b in bits.items():
        smooth = pd.Series(b).rolling(win, center=True, min_periods=max(1, win // 2)).mean()
        ax.plot(pos, smooth.to_numpy(), lw=0.8, label=label)
    if coding is not None:
        ax.fill_between(pos, 0, 1, where=coding, transform=ax.get_xaxis_transform(), color="0.9", label="CDS")
    ax.set_xlabel("position (bp)")
    ax.set_ylabel(f"bits/base ({win}-bp mean)")
    ax.set_title("Loss along the held-out region")
    ax.legend(loc="upper right")
    return fig


def near_mask(n: int, points, radius: int, offset: int = 0) -> np.ndarray:
    """Boolean mask of length ``n``: True within ``radius`` bases of any of ``points``.

    ``points`` are positions in the coordinates where the mask starts at
    ``offset`` (index ``i`` of the mask is position ``offset + i``); points
    outside the mask still mark the bases within reach.

    Example:

    >>> near_mask(8, [12], radius=1, offset=10).astype(int).tolist()
    [0, 1, 1, 1, 0, 0, 0, 0]
    """
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be a non-negative integer, received {radius!r}.")
    mask = np.zeros(n, dtype=bool)
    for p in np.asarray(points, dtype=np.int64).reshape(-1):
        a, b = p - offset - radius, p - offset + radius + 1
        if b > 0 and a < n:
            mask[max(a, 0) : min(b, n)] = True
    return mask


def mean_bits_near_genes(
    bits: np.ndarray, gene_starts, gene_stops, start: int, radius: int = 30
) -> dict[str, float]:
    """Mean bits per base within ``radius`` of gene starts, of gene stops, and elsewhere.

    Args:
        bits: per-base bits of the region beginning at ``start`` (NaN = not scored).
        gene_starts, gene_stops: first and last bases of the genes (sequence coordinates).
        start: the sequence position of ``bits[0]``.
        radius: bases on each side counted as "near".

    Returns:
        ``{"gene_start", "gene_stop", "elsewhere"}`` means (NaN when a group is empty).
    """
    bits = np.asarray(bits, dtype=np.float64)
    stop = start + bits.size

    def inside(p):
        p = np.asarray(p, dtype=np.int64)
        return p[(p >= start) & (p < stop)]

    near_start = near_mask(bits.size, inside(gene_starts), radius, offset=start)
    near_stop = near_mask(bits.size, inside(gene_stops), radius, offset=start)
    groups = {"gene_start": near_start, "gene_stop": near_stop, "elsewhere": ~(near_start | near_stop)}
    return {k: float(np.nanmean(bits[m])) if m.any() else float("nan") for k, m in groups.items()}


def gene_start_profile(
    features, bits: Mapping[str, np.ndarray], start: int, stop: int, reach: int = 90, feature_type="CDS"
):
    """Mean loss at each offset from the starts of the genes lying in ``[start, stop)``, strand-aware.

    Offsets count along the gene's own strand (negative: upstream). Genes
    whose ``±reach`` window leaves the region are skipped.

    Args:
        features: :class:`~lstm_apps.datasets.genome.Feature` objects (``Genome.features``).
        bits: per-base bits of the region for each model, by label.
        start, stop: the region ``bits`` cover.
        reach: bases on each side of the start.
        feature_type: the feature type counted as a gene.

    Returns:
        ``(offsets, profiles, count)``: the offsets ``-reach..reach``, the mean
        bits at each offset by label, and the number of genes averaged; None
        when no gene fits.
    """
    offsets = np.arange(-reach, reach + 1)
    rows = {label: [] for label in bits}
    count = 0
    for f in features:
        if f.type != feature_type or f.strand not in (1, -1):
            continue
        pos = f.first_base + f.strand * offsets
        if pos.min() < start or pos.max() >= stop:
            continue
        count += 1
        for label, b in bits.items():
            rows[label].append(np.asarray(b)[pos - start])
    if not count:
        return None
    return offsets, {label: np.nanmean(r, axis=0) for label, r in rows.items()}, count


def plot_gene_start_profile(offsets, profiles: Mapping[str, np.ndarray], count: int):
    """A Matplotlib figure of :func:`gene_start_profile`'s curves."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label, curve in profiles.items():
        ax.plot(offsets, curve, label=label)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("bases from the CDS start (on the gene's strand)")
    ax.set_ylabel("mean bits/base")
    ax.set_title(f"Loss around {count} gene starts in the test region")
    ax.legend()
    return fig


def context_windows(codes: np.ndarray, positions, warmup: int) -> np.ndarray:
    """The ``warmup + 1`` bases ending at each position (mask-padded on the left), as ``int32`` rows.

    Example:

    >>> context_windows(np.array([0, 1, 2, 3], np.int8), [0, 3], warmup=2).tolist()
    [[4, 4, 0], [1, 2, 3]]
    """
    codes = np.asarray(codes)
    positions = np.asarray(positions, dtype=np.int64).reshape(-1)
    if positions.size and (positions.min() < 0 or positions.max() >= codes.size):
        raise ValueError(
            f"positions must lie in 0..{codes.size - 1}, received {positions.min()}..{positions.max()}."
        )
    idx = positions[:, None] + np.arange(-warmup, 1)[None, :]
    return np.where(idx >= 0, codes[np.clip(idx, 0, None)], MASK).astype(np.int32)


def coding_probe(
    model, split: GenomeSplit, *, warmup: int = 256, seed: int = 0, max_samples: int = 6000, layer=None
) -> dict:
    """A linear probe on the model's hidden states for "this base lies inside a coding region".

    Positions are sampled from the training part (the ``20 * max_samples``
    bases before the validation slice) and from the test part; each is read
    with ``warmup`` bases of context, and :func:`lstm_apps.probes.linear_probe`
    fits a logistic regression on the states at the position.

    Args:
        model: the next-base model.
        split: a :class:`~lstm_apps.datasets.genome.GenomeSplit` with ``coding``.
        warmup: bases of context before each probed position.
        seed: sampling seed.
        max_samples: most positions sampled per part.
        layer: the recurrent layer probed (default: the last one).

    Returns:
        ``probe_train_samples``, ``probe_test_samples``,
        ``probe_majority_accuracy`` and ``probe_accuracy``.
    """
    from lstm_apps.probes import linear_probe

    if split.coding is None:
        raise ValueError(
            f"{split.genome.path}: has no annotated features; a coding probe needs a GenBank file."
        )
    val_start, test_start, n = split.val_start, split.test_start, len(split)
    rng = np.random.default_rng(seed)
    lo = max(0, val_start - 20 * max_samples)
    train_pos = np.sort(
        rng.choice(np.arange(lo, val_start), size=min(max_samples, val_start - lo), replace=False)
    )
    test_pos = np.sort(
        rng.choice(np.arange(test_start, n), size=min(max_samples, n - test_start), replace=False)
    )
    out = linear_probe(
        model,
        context_windows(split.codes, train_pos, warmup),
        split.coding[train_pos],
        context_windows(split.codes, test_pos, warmup),
        split.coding[test_pos],
        layer=layer,
    )
    return {f"probe_{k}": v for k, v in out.items()}
