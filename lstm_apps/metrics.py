"""Evaluation metrics shared by the recipes and benchmarks.

Each domain's metrics live in its own section below; all take NumPy arrays
and return Python floats.
"""

from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------------------
# Genomics
# ---------------------------------------------------------------------------


def nats_to_bits(nats):
    """Convert a cross-entropy in nats (Keras's loss) to bits: ``nats / ln 2``.

    Example:

    >>> round(nats_to_bits(np.log(4.0)), 6)   # a uniform guess over A/C/G/T
    2.0
    """
    out = np.asarray(nats, dtype="float64") / np.log(2.0)
    return float(out) if out.ndim == 0 else out


def bits_per_base(y_true, y_prob, sample_weight=None) -> float:
    """Mean ``-log2 p(true base)`` over the weighted positions: bits per base.

    Args:
        y_true: integer base codes (0..3), any shape.
        y_prob: predicted probabilities, shape ``y_true.shape + (4,)``.
        sample_weight: optional weights (0 leaves a position out, e.g. masked bases).

    Returns:
        Bits per base (2.0 for a uniform guess; a perfect model scores 0).
    """
    y_true = np.asarray(y_true)
    y_prob = np.asarray(y_prob, dtype="float64")
    if y_prob.shape != y_true.shape + (y_prob.shape[-1],):
        raise ValueError(f"y_prob must have shape {y_true.shape + ('n_classes',)}, received {y_prob.shape}.")
    if y_true.size and (y_true.min() < 0 or y_true.max() >= y_prob.shape[-1]):
        raise ValueError(f"y_true must hold class codes 0..{y_prob.shape[-1] - 1}, received {y_true.min()}..{y_true.max()}.")
    p = np.take_along_axis(y_prob, y_true[..., None].astype(np.int64), axis=-1)[..., 0]
    bits = -np.log2(np.clip(p, 1e-12, 1.0))
    w = np.ones_like(bits) if sample_weight is None else np.asarray(sample_weight, dtype="float64")
    if w.sum() <= 0:
        raise ValueError("sample_weight leaves no position to score (all weights are 0).")
    return float((bits * w).sum() / w.sum())

# ---------------------------------------------------------------------------
# Translation (sacrebleu)
# ---------------------------------------------------------------------------


def _check_corpus(hypotheses, references):
    hyps, refs = [str(h) for h in hypotheses], [str(r) for r in references]
    if len(hyps) != len(refs) or not hyps:
        raise ValueError(
            f"Expected equally many hypotheses and references (at least one), received {len(hyps)} and {len(refs)}."
        )
    return hyps, refs


def corpus_bleu(hypotheses, references) -> tuple[float, str]:
    """Corpus BLEU (Papineni et al. 2002) with sacrebleu's defaults (13a tokenizer, exp smoothing).

    Args:
        hypotheses: list of system outputs.
        references: list of reference translations (one per hypothesis).

    Returns:
        ``(score, signature)``: BLEU in [0, 100] and sacrebleu's signature
        string (report it with the score so it can be reproduced).

    Example:

    >>> corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"])[0]
    100.0
    """
    from sacrebleu.metrics import BLEU

    hyps, refs = _check_corpus(hypotheses, references)
    metric = BLEU()
    return float(metric.corpus_score(hyps, [refs]).score), str(metric.get_signature())


def corpus_chrf(hypotheses, references) -> tuple[float, str]:
    """Corpus chrF (Popović 2015; character 6-grams, beta 2) with sacrebleu's defaults.

    Returns:
        ``(score, signature)``: chrF in [0, 100] and sacrebleu's signature.

    Example:

    >>> round(corpus_chrf(["einundzwanzig"], ["einundzwanzig"])[0], 1)
    100.0
    """
    from sacrebleu.metrics import CHRF

    hyps, refs = _check_corpus(hypotheses, references)
    metric = CHRF()
    return float(metric.corpus_score(hyps, [refs]).score), str(metric.get_signature())


def exact_match(hypotheses, references) -> float:
    """Fraction of hypotheses identical to their reference (after stripping outer whitespace)."""
    hyps, refs = _check_corpus(hypotheses, references)
    return float(np.mean([h.strip() == r.strip() for h, r in zip(hyps, refs)]))
