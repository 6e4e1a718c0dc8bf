"""Evaluation metrics shared by the recipes and benchmarks.

Each domain's metrics live in its own section below; all take NumPy arrays
and return Python floats.
"""

from __future__ import annotations

from collections.abc import Sequence

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
        raise ValueError(
            f"y_true must hold class codes 0..{y_prob.shape[-1] - 1}, "
            f"received {y_true.min()}..{y_true.max()}."
        )
    p = np.take_along_axis(y_prob, y_true[..., None].astype(np.int64), axis=-1)[..., 0]
    bits = -np.log2(np.clip(p, 1e-12, 1.0))
    w = np.ones_like(bits) if sample_weight is None else np.asarray(sample_weight, dtype="float64")
    if w.sum() <= 0:
        raise ValueError("sample_weight leaves no position to score (all weights are 0).")
    return float((bits * w).sum() / w.sum())


# ---------------------------------------------------------------------------
# Volatility
# ---------------------------------------------------------------------------


def _variance_pair(y, h):
    y = np.asarray(y, dtype="float64").reshape(-1)
    h = np.asarray(h, dtype="float64").reshape(-1)
    if y.shape != h.shape:
        raise ValueError(
            f"proxy and forecast must have the same length, received {y.shape[0]} and {h.shape[0]}."
        )
    if y.size == 0:
        raise ValueError("received empty proxy and forecast arrays; expected at least one day.")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(h))):
        raise ValueError("proxy and forecast must be finite, received NaN or infinite values.")
    if np.any(h <= 0):
        raise ValueError(f"variance forecasts must be > 0, received a minimum of {h.min()!r}.")
    return y, h


def qlike_losses(y, h) -> np.ndarray:
    """Per-day QLIKE losses ``log h + y/h`` (Patton 2011) of variance forecasts ``h``.

    ``y`` is the variance proxy the forecasts are scored against.
    """
    y, h = _variance_pair(y, h)
    return np.log(h) + y / h


def qlike(y, h) -> float:
    """Mean QLIKE ``mean(log h + y/h)``; ``y`` is a variance proxy (e.g. squared demeaned returns).

    Robust to noise in the proxy (Patton 2011) and, up to constants, the
    Gaussian negative log-likelihood. Lower is better.

    Example:

    >>> round(qlike([1.0, 4.0], [1.0, 4.0]), 4)   # (0 + 1 + log 4 + 1) / 2
    1.6931
    """
    return float(qlike_losses(y, h).mean())


def mse_losses(y, h) -> np.ndarray:
    """Per-day squared errors ``(y − h)^2`` of variance forecasts against a proxy."""
    y, h = _variance_pair(y, h)
    return (y - h) ** 2


def variance_mse(y, h) -> float:
    """Mean squared error of variance forecasts ``h`` against a proxy ``y``."""
    return float(mse_losses(y, h).mean())


def mincer_zarnowitz(y, h, hac_lags: int | None = None) -> dict[str, float]:
    """Mincer–Zarnowitz regression ``y = α + β·h + e`` (statsmodels OLS, HAC errors).

    An unbiased forecast has ``α = 0`` and ``β = 1``; ``wald_pvalue`` tests
    both jointly with Newey–West standard errors.

    Args:
        y: proxy (squared returns).
        h: variance forecasts.
        hac_lags: Newey–West lags (default ``floor(4 (T/100)^(2/9))``).

    Returns:
        ``{"alpha", "beta", "r2", "wald_pvalue"}`` (for a constant forecast
        ``beta`` and ``wald_pvalue`` are NaN: the slope is not identified).
    """
    import statsmodels.api as sm

    y, h = _variance_pair(y, h)
    if np.ptp(h) <= 1e-12 * max(1.0, abs(h[0])):
        # a constant forecast: the slope is undefined (NaN), the fit explains nothing
        return {"alpha": float(y.mean()), "beta": float("nan"), "r2": 0.0, "wald_pvalue": float("nan")}
    lags = int(np.floor(4 * (len(y) / 100.0) ** (2.0 / 9.0))) if hac_lags is None else int(hac_lags)
    res = sm.OLS(y, sm.add_constant(h, has_constant="add")).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    wald = res.wald_test((np.eye(2), np.array([0.0, 1.0])), scalar=True)
    return {
        "alpha": float(res.params[0]),
        "beta": float(res.params[1]),
        "r2": float(res.rsquared),
        "wald_pvalue": float(np.asarray(wald.pvalue).reshape(-1)[0]),
    }


def diebold_mariano(losses_a, losses_b, hac_lags: int | None = None) -> dict[str, float]:
    """Diebold–Mariano test of equal predictive accuracy (statsmodels OLS with HAC errors).

    The loss differential ``d_t = L_a,t − L_b,t`` is regressed on a constant
    with Newey–West standard errors; the t-statistic of the constant is the DM
    statistic (asymptotically standard normal). A negative statistic means
    model ``a`` has the lower loss; ``pvalue`` is two-sided.

    Args:
        losses_a, losses_b: per-day losses of the two forecasts (e.g. :func:`qlike_losses`).
        hac_lags: Newey–West lags (default ``floor(4 (T/100)^(2/9))``).

    Returns:
        ``{"stat", "pvalue", "mean_diff"}``.
    """
    import statsmodels.api as sm
    from scipy import stats

    a = np.asarray(losses_a, dtype="float64").reshape(-1)
    b = np.asarray(losses_b, dtype="float64").reshape(-1)
    if a.shape != b.shape or a.size < 3:
        raise ValueError(
            "losses must be two equal-length arrays of at least 3 days, "
            f"received lengths {a.size} and {b.size}."
        )
    d = a - b
    if np.allclose(d, 0.0):
        return {"stat": 0.0, "pvalue": 1.0, "mean_diff": 0.0}
    lags = int(np.floor(4 * (len(d) / 100.0) ** (2.0 / 9.0))) if hac_lags is None else int(hac_lags)
    res = sm.OLS(d, np.ones_like(d)).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    stat = float(res.tvalues[0])
    return {"stat": stat, "pvalue": float(2.0 * stats.norm.sf(abs(stat))), "mean_diff": float(d.mean())}


def gate_half_lives(a: float, b: float, abs_returns, shock_quantile: float = 0.99) -> dict[str, float]:
    """Memory half-lives, in days, of a forget gate ``sigmoid(a − b·|z|)`` on a calm day and after a shock.

    The calm day has the median ``|z|`` of ``abs_returns``, the shock its
    ``shock_quantile`` quantile (``z``: standardised returns); the half-life
    of a gate held at ``f`` is ``ln 0.5 / ln f`` (see
    :func:`lstm_apps.layers.memory_half_life`).

    Returns:
        ``{"half_life_calm_days", "half_life_shock_days", "calm_abs_return_sd",
        "shock_abs_return_sd"}``.

    Example:

    >>> round(gate_half_lives(0.0, 0.0, [1.0])["half_life_calm_days"], 3)   # a gate of 0.5
    1.0
    """
    from lstm_apps.layers import memory_half_life

    z = np.abs(np.asarray(abs_returns, dtype="float64")).reshape(-1)
    if z.size == 0 or not np.all(np.isfinite(z)):
        raise ValueError(f"abs_returns must be a non-empty array of finite values, received {z.size} values.")
    if not 0.5 < shock_quantile < 1.0:
        raise ValueError(f"shock_quantile must lie in (0.5, 1), received {shock_quantile!r}.")
    calm, shock = float(np.median(z)), float(np.quantile(z, shock_quantile))
    return {
        "half_life_calm_days": float(memory_half_life(a - b * calm)),
        "half_life_shock_days": float(memory_half_life(a - b * shock)),
        "calm_abs_return_sd": calm,
        "shock_abs_return_sd": shock,
    }


# ---------------------------------------------------------------------------
# Memory and forgetting (spaced repetition, the 1885 retention curve)
# ---------------------------------------------------------------------------


def log_loss(y_true, p_pred, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy (nats) of recall probabilities ``p_pred`` for outcomes ``y_true`` in {0, 1}.

    Example:

    >>> round(log_loss([1, 0], [0.5, 0.5]), 6)
    0.693147
    """
    y = np.asarray(y_true, dtype="float64").ravel()
    p = np.clip(np.asarray(p_pred, dtype="float64").ravel(), eps, 1 - eps)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(
            f"y_true and p_pred must be non-empty and of equal size, received sizes {y.size} and {p.size}."
        )
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def auc(y_true, p_pred) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``); NaN when only one class occurs."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true).ravel()
    if np.unique(y).size < 2:
        return float("nan")
    return float(roc_auc_score(y, np.asarray(p_pred, dtype="float64").ravel()))


def rmse_bins(y_true, p_pred, elapsed_days, review_index, lapses) -> float:
    """RMSE over bins, as the open-spaced-repetition ``srs-benchmark`` computes it.

    Reviews are grouped by three log-spaced bins, of the elapsed days
    (``2.48·3.62^⌊log_3.62 Δt⌋``), of the review's index in its card's history
    (``1.99·1.89^⌊log_1.89 i⌋``) and of the card's lapse count so far
    (``1.65·1.73^⌊log_1.73 l⌋``, 0 kept apart); within a bin the mean outcome
    and the mean prediction are compared, and the squared differences are
    averaged with the bins' review counts as weights.

    Args:
        y_true: outcomes (1 = recalled).
        p_pred: predicted recall probabilities.
        elapsed_days: days since the card's previous review (> 0).
        review_index: 1-based index of the review in its card's history.
        lapses: number of failed reviews of the card before this one.
    """
    y = np.asarray(y_true, dtype="float64").ravel()
    p = np.asarray(p_pred, dtype="float64").ravel()
    dt = np.asarray(elapsed_days, dtype="float64").ravel()
    i = np.asarray(review_index, dtype="float64").ravel()
    lapse = np.asarray(lapses, dtype="float64").ravel()
    if not (y.size == p.size == dt.size == i.size == lapse.size) or y.size == 0:
        raise ValueError(
            "all arguments must be non-empty and of equal size, "
            f"received sizes {[a.size for a in (y, p, dt, i, lapse)]}."
        )
    if np.any(i < 1):
        raise ValueError(f"review_index must be >= 1, received minimum {i.min()}.")
    b_dt = np.round(2.48 * np.power(3.62, np.floor(np.log(np.maximum(dt, 1e-6)) / np.log(3.62))), 2)
    b_i = np.round(1.99 * np.power(1.89, np.floor(np.log(i) / np.log(1.89))), 0)
    with np.errstate(divide="ignore"):
        b_l = np.where(
            lapse > 0,
            np.round(1.65 * np.power(1.73, np.floor(np.log(np.maximum(lapse, 1)) / np.log(1.73))), 0),
            0.0,
        )
    keys = np.stack([b_dt, b_i, b_l], axis=1)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    y_mean = np.bincount(inverse, weights=y) / counts
    p_mean = np.bincount(inverse, weights=p) / counts
    return float(np.sqrt(np.sum(counts * (y_mean - p_mean) ** 2) / counts.sum()))


def recall_scores(y_true, p_pred, elapsed_days, review_index, lapses) -> dict[str, float]:
    """The three scores of the open-spaced-repetition benchmark for recall predictions.

    Args:
        y_true: outcomes (1 = recalled).
        p_pred: predicted recall probabilities.
        elapsed_days, review_index, lapses: each review's days since the
            card's previous review, index in the card's history and lapses so
            far (see :func:`rmse_bins`).

    Returns:
        ``{"logloss": log_loss, "auc": auc, "rmse_bins": rmse_bins}``.

    Example:

    >>> scores = recall_scores([1, 0], [0.5, 0.5], [1.0, 1.0], [2, 2], [0, 0])
    >>> round(scores["logloss"], 6), scores["auc"], scores["rmse_bins"]
    (0.693147, 0.5, 0.0)
    """
    return {
        "logloss": log_loss(y_true, p_pred),
        "auc": auc(y_true, p_pred),
        "rmse_bins": rmse_bins(y_true, p_pred, elapsed_days, review_index, lapses),
    }


def aic_least_squares(residuals, n_params: int) -> float:
    """Akaike information criterion of a least-squares fit with Gaussian errors.

    ``AIC = n ln(RSS / n) + 2 (k + 1)``: ``k`` fitted curve parameters plus
    one for the error variance. Lower is better; only differences between
    models fitted to the same data mean anything.
    """
    r = np.asarray(residuals, dtype="float64").ravel()
    if r.size == 0:
        raise ValueError("residuals must be non-empty.")
    if isinstance(n_params, bool) or int(n_params) != n_params or n_params < 0:
        raise ValueError(f"n_params must be a non-negative integer, received {n_params!r}.")
    rss = max(float(np.sum(r**2)), 1e-300)
    return float(r.size * np.log(rss / r.size) + 2 * (int(n_params) + 1))


# ---------------------------------------------------------------------------
# Gray-box parameter recovery (methylation rates against the simulated truth)
# ---------------------------------------------------------------------------


def mean_relative_error(estimate, truth) -> float:
    """Mean of ``|estimate - truth| / |truth|`` over the entries (e.g. one rate per CpG site).

    Example:

    >>> round(mean_relative_error([0.99, 0.055], [1.0, 0.05]), 3)
    0.055
    """
    est, true = np.asarray(estimate, dtype="float64"), np.asarray(truth, dtype="float64")
    if est.shape != true.shape or est.size == 0:
        raise ValueError(f"estimate and truth need one shape, received {est.shape} and {true.shape}.")
    if np.any(true == 0):
        raise ValueError("truth holds a zero: the relative error is undefined there.")
    return float(np.mean(np.abs(est - true) / np.abs(true)))


# ---------------------------------------------------------------------------
# Translation (sacrebleu)
# ---------------------------------------------------------------------------


def _check_corpus(hypotheses, references):
    hyps, refs = [str(h) for h in hypotheses], [str(r) for r in references]
    if len(hyps) != len(refs) or not hyps:
        raise ValueError(
            "Expected equally many hypotheses and references (at least one), "
            f"received {len(hyps)} and {len(refs)}."
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

    >>> round(corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"])[0], 6)
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


def translation_signatures() -> dict[str, str]:
    """sacrebleu's signatures of :func:`corpus_bleu` and :func:`corpus_chrf`, to report with their scores.

    sacrebleu writes a signature only after scoring (it names the number of
    references), so they come from scoring one pair, with one reference as
    every score of this module.

    Returns:
        ``{"bleu_signature": ..., "chrf_signature": ...}``.

    Example:

    >>> "nc:6" in translation_signatures()["chrf_signature"]
    True
    """
    return {"bleu_signature": corpus_bleu(["a"], ["a"])[1], "chrf_signature": corpus_chrf(["a"], ["a"])[1]}


def translation_scores(hypotheses, references, sources=None, prefix: str | None = None) -> dict[str, float]:
    """chrF, BLEU and exact match of a system; with ``sources``, also of copying the source.

    Copying the source sentence is the simplest translation there is and
    already earns chrF points for names, numbers and cognates: a system is
    worth its training only above it.

    Args:
        hypotheses: the system's translations.
        references: one reference per hypothesis.
        sources: the source sentences, scored as a translation of their own
            (the ``*_copy`` keys); ``None`` leaves the baseline out.
        prefix: prepended to every key with an underscore (e.g. ``"val"``).

    Returns:
        ``{"chrf", "bleu", "exact_match"}`` (and ``"chrf_copy"``,
        ``"bleu_copy"``, ``"exact_match_copy"``), each key prefixed.

    Example:

    >>> scores = translation_scores(["einundzwanzig"], ["einundzwanzig"], ["twenty-one"], prefix="val")
    >>> scores["val_exact_match"], scores["val_exact_match_copy"]
    (1.0, 0.0)
    """
    systems = {"": hypotheses} if sources is None else {"": hypotheses, "_copy": sources}
    head = f"{prefix}_" if prefix else ""
    out = {}
    for suffix, outputs in systems.items():
        out[f"{head}chrf{suffix}"] = corpus_chrf(outputs, references)[0]
        out[f"{head}bleu{suffix}"] = corpus_bleu(outputs, references)[0]
        out[f"{head}exact_match{suffix}"] = exact_match(outputs, references)
    return out


def _has_chrf_helpers(chrf) -> bool:
    """Whether this sacrebleu ``CHRF`` has the helpers :func:`sentence_chrf_matrix` reuses."""
    return all(
        hasattr(chrf, name)
        for name in (
            "_preprocess_segment",
            "_extract_reference_info",
            "_get_match_statistics",
            "_compute_f_score",
        )
    )


def sentence_chrf_matrix(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """Sentence chrF of every hypothesis against every reference, as sacrebleu scores it.

    Equal to ``[[CHRF().sentence_score(h, [r]).score for r in references]
    for h in hypotheses]``, but each string's character n-grams are counted
    once rather than once per pair (sacrebleu's own n-gram extraction, match
    counting and F-score), which is what makes minimum-Bayes-risk decoding
    with dozens of samples affordable: the pairs grow with the square of the
    samples. Should a sacrebleu release drop those helpers, it falls back to
    ``sentence_score`` pair by pair.

    Returns:
        A ``(len(hypotheses), len(references))`` float array of scores in [0, 100].
    """
    from sacrebleu.metrics import CHRF

    chrf = CHRF()
    hypotheses, references = [str(h) for h in hypotheses], [str(r) for r in references]
    if not _has_chrf_helpers(chrf):
        return np.array(
            [[chrf.sentence_score(h, [r]).score for r in references] for h in hypotheses], dtype="float64"
        ).reshape(len(hypotheses), len(references))

    def ngrams(text):
        return chrf._extract_reference_info([chrf._preprocess_segment(text)])["ref_ngrams"][0]

    ref_ngrams = [ngrams(r) for r in references]
    out = np.empty((len(hypotheses), len(references)), dtype="float64")
    for i, hyp in enumerate(hypotheses):
        hyp_ngrams = ngrams(hyp)
        for j, ref in enumerate(ref_ngrams):
            stats = []
            for h, r in zip(hyp_ngrams, ref):
                stats.extend(chrf._get_match_statistics(h, r))
            out[i, j] = chrf._compute_f_score(stats)
    return out


# ---------------------------------------------------------------------------
# Paired comparison over seeds (benchmarks: a model against its baseline on the same splits)
# ---------------------------------------------------------------------------


def spread(values, ddof: int = 1) -> dict[str, float]:
    """Mean, standard deviation (0 for one value), minimum and maximum.

    Args:
        values: the numbers (any shape, flattened); at least one.
        ddof: ``1`` (default) for the sample standard deviation, ``0`` for
            the population's (``numpy.std``'s default).

    Returns:
        ``{"mean", "std", "min", "max"}`` as floats.

    Example:

    >>> spread([0.7, 0.8])["mean"]
    0.75
    >>> spread([1.0, 3.0], ddof=0)["std"]
    1.0
    """
    if ddof not in (0, 1):
        raise ValueError(f"spread's ddof must be 0 (population) or 1 (sample), received {ddof!r}.")
    v = np.asarray(values, dtype="float64").reshape(-1)
    if v.size == 0:
        raise ValueError("spread needs at least one value, received none.")
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=ddof)) if len(v) > 1 else 0.0,
        "min": float(v.min()),
        "max": float(v.max()),
    }


def paired_tests(scores_a, scores_b) -> dict:
    """Is score ``a`` different from score ``b`` measured on the same splits (one pair per seed)?

    The paired t-test on the differences and the two-sided exact sign test
    (binomial, tied pairs left out), both from scipy.

    Returns:
        ``paired_t_test_p`` (NaN for fewer than two pairs or constant
        differences), ``sign_test_p`` (NaN when every pair ties), ``wins`` (a
        above b), ``losses`` and ``ties``.
    """
    from scipy import stats

    a, b = np.asarray(scores_a, dtype="float64"), np.asarray(scores_b, dtype="float64")
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"need two equally long 1-D score lists, received shapes {a.shape} and {b.shape}.")
    diff = a - b
    wins, losses = int(np.sum(diff > 0)), int(np.sum(diff < 0))
    t_p = float(stats.ttest_rel(a, b).pvalue) if len(diff) > 1 and np.ptp(diff) > 0 else float("nan")
    sign_p = float(stats.binomtest(wins, wins + losses).pvalue) if wins + losses else float("nan")
    return {
        "paired_t_test_p": t_p,
        "sign_test_p": sign_p,
        "wins": wins,
        "losses": losses,
        "ties": len(diff) - wins - losses,
    }
