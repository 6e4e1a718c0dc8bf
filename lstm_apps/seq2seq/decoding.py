"""Decoding with the one-step decoder: greedy, beam search, sampling and minimum Bayes risk.

Every decoder takes the ``encoder`` and ``decoder_step`` models of
:class:`~lstm_apps.seq2seq.Seq2SeqParts` (or of
:func:`~lstm_apps.seq2seq.ensemble_models`) and a padded batch of source
ids, and returns target ids: :func:`greedy_decode`, :func:`beam_search`
(GNMT length penalty, Wu et al. 2016) and :func:`sample_decode` (epsilon
sampling), whose samples :func:`mbr_select` uses for minimum-Bayes-risk
decoding. :func:`choose_length_penalty` tunes a translator's beam search on
held-out pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from lstm_apps.metrics import corpus_chrf, sentence_chrf_matrix
from lstm_apps.seq2seq.tokenizers import BOS, EOS

if TYPE_CHECKING:
    from lstm_apps.seq2seq.translator import Translator

__all__ = [
    "greedy_decode",
    "beam_search",
    "sample_decode",
    "mbr_select",
    "DEFAULT_LENGTH_PENALTIES",
    "choose_length_penalty",
]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype("float64")
    m = logits.max(axis=-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))


def _encode(encoder, source_ids):
    outs = encoder.predict_on_batch(source_ids)
    return np.asarray(outs[0]), [np.asarray(s) for s in outs[1:]]


def _step(decoder_step, tokens, states, enc_out, source_ids, attention: bool):
    inputs = [tokens[:, None].astype("int32"), *states]
    if attention:
        inputs += [enc_out, source_ids]
    outs = decoder_step.predict_on_batch(inputs)
    return np.asarray(outs[0]), [np.asarray(s) for s in outs[1:]]


def greedy_decode(
    encoder, decoder_step, source_ids: np.ndarray, *, max_length: int, attention: bool = True
) -> list[list[int]]:
    """Decode a padded batch of source ids by taking the most likely token each step.

    Args:
        encoder, decoder_step: the models of :class:`Seq2SeqParts`.
        source_ids: int array ``(batch, source_len)``, 0-padded.
        max_length: most target tokens produced per sentence.
        attention: whether ``decoder_step`` takes the encoder outputs.

    Returns:
        One list of target ids per sentence (without ``<s>``/``</s>``).
    """
    source_ids = np.asarray(source_ids, dtype="int32")
    enc_out, states = _encode(encoder, source_ids)
    return _decode_rows(
        decoder_step,
        states,
        enc_out,
        source_ids,
        max_length,
        attention,
        lambda logits: logits.argmax(axis=-1),
    )


def _decode_rows(
    decoder_step, states, enc_out, source_ids, max_length: int, attention: bool, choose
) -> list[list[int]]:
    """Run the one-step decoder from ``<s>``, one token per row and step, until ``</s>``.

    ``choose(logits)`` picks each step's tokens from the step's logits.
    """
    rows = len(source_ids)
    tokens = np.full(rows, BOS, dtype="int32")
    done = np.zeros(rows, dtype=bool)
    result: list[list[int]] = [[] for _ in range(rows)]
    for _ in range(max_length):
        logits, states = _step(decoder_step, tokens, states, enc_out, source_ids, attention)
        tokens = np.asarray(choose(logits)).astype("int32")
        for i in np.flatnonzero(~done):
            if tokens[i] == EOS:
                done[i] = True
            else:
                result[i].append(int(tokens[i]))
        tokens[done] = EOS
        if done.all():
            break
    return result


def sample_decode(
    encoder,
    decoder_step,
    source_ids: np.ndarray,
    *,
    max_length: int,
    num_samples: int,
    epsilon: float = 0.02,
    seed: int | None = None,
    attention: bool = True,
) -> list[list[list[int]]]:
    """Draw ``num_samples`` translations of each sentence by epsilon sampling.

    Each step samples the next token from the decoder's distribution after
    dropping the tokens whose probability is below ``epsilon`` (the most
    likely token always stays) and renormalising: the truncation sampling of
    Hewitt, Manning & Liang (2022), which Freitag et al. (2023) found the
    best source of candidates for minimum-Bayes-risk decoding
    (:func:`mbr_select`).

    Args:
        encoder, decoder_step, source_ids, max_length, attention: as in
            :func:`greedy_decode`.
        num_samples: translations drawn per sentence.
        epsilon: probability floor in [0, 1); 0 samples from the full
            distribution.
        seed: seed of the NumPy generator (``None``: unseeded).

    Returns:
        For each sentence, ``num_samples`` lists of target ids.
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise ValueError(f"num_samples must be a positive integer, received {num_samples!r}.")
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, (int, float, np.floating))
        or not 0.0 <= epsilon < 1.0
    ):
        raise ValueError(f"epsilon must be a number in [0, 1), received {epsilon!r}.")
    rng = np.random.default_rng(seed)
    source_ids = np.asarray(source_ids, dtype="int32")
    n, batch = int(num_samples), len(source_ids)
    enc_out, states = _encode(encoder, source_ids)
    enc_out, src_rep = np.repeat(enc_out, n, axis=0), np.repeat(source_ids, n, axis=0)
    states = [np.repeat(s, n, axis=0) for s in states]

    def draw(logits):
        probs = np.exp(_log_softmax(logits))
        rows = np.arange(len(probs))
        best = probs.argmax(axis=-1)
        kept = np.where(probs >= epsilon, probs, 0.0)
        kept[rows, best] = probs[rows, best]  # the most likely token always stays
        cdf = kept.cumsum(axis=-1)
        u = rng.random(len(probs)) * cdf[:, -1]
        return np.minimum((cdf <= u[:, None]).sum(axis=-1), probs.shape[-1] - 1)

    result = _decode_rows(decoder_step, states, enc_out, src_rep, max_length, attention, draw)
    return [result[b * n : (b + 1) * n] for b in range(batch)]


def mbr_select(candidates: Sequence[str], pseudo_references: Sequence[str]) -> str:
    """Minimum-Bayes-risk choice: the candidate with the best mean chrF against the pseudo-references.

    Kumar & Byrne (2004); Eikema & Aziz (2020) for neural translation: rather
    than the single most probable output, pick the candidate that agrees
    most, in the metric, with translations sampled from the model (the
    pseudo-references, e.g. from :func:`sample_decode`). The utility is
    sacrebleu's sentence chrF. Repeated strings are scored once and weighted
    by their count; ties go to the earliest candidate.

    Returns:
        The chosen candidate.
    """
    candidates, references = [str(c) for c in candidates], Counter(str(r) for r in pseudo_references)
    if not candidates or not references:
        raise ValueError(
            "mbr_select needs at least one candidate and one pseudo-reference, "
            f"received {len(candidates)} and {sum(references.values())}."
        )
    unique = list(dict.fromkeys(candidates))
    scores = sentence_chrf_matrix(unique, list(references))
    expected = scores @ np.array(list(references.values()), dtype="float64")
    return unique[int(np.argmax(expected))]


def beam_search(
    encoder,
    decoder_step,
    source_ids: np.ndarray,
    *,
    max_length: int,
    beam_width: int = 4,
    length_penalty: float = 0.6,
    attention: bool = True,
) -> list[list[int]]:
    """Beam search over a padded batch of source ids (all sentences at once).

    Each sentence keeps ``beam_width`` partial translations; every step
    extends each by every token, keeps the ``beam_width`` best by summed
    log-probability, and sets aside those that end in ``</s>``. Finished
    hypotheses (only endings ranked within the beam width count) are ranked
    by log-probability divided by the GNMT length penalty
    ``((5 + length) / 6) ** length_penalty`` (Wu et al. 2016). A sentence
    stops once it has ``beam_width`` finished hypotheses and the best of them
    scores at least the best live beam (normalised at its current length),
    or at ``max_length``.

    Returns:
        One list of target ids per sentence (the best hypothesis).
    """
    if isinstance(beam_width, bool) or not isinstance(beam_width, (int, np.integer)) or beam_width <= 0:
        raise ValueError(f"beam_width must be a positive integer, received {beam_width!r}.")
    source_ids = np.asarray(source_ids, dtype="int32")
    k = int(beam_width)
    batch = len(source_ids)
    enc_out, states = _encode(encoder, source_ids)
    enc_out = np.repeat(enc_out, k, axis=0)
    src_rep = np.repeat(source_ids, k, axis=0)
    states = [np.repeat(s, k, axis=0) for s in states]
    scores = np.full((batch, k), -np.inf)
    scores[:, 0] = 0.0  # all beams start identical: keep one
    history = np.zeros((batch, k, 0), dtype="int32")
    tokens = np.full(batch * k, BOS, dtype="int32")
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
    active = np.ones(batch, dtype=bool)
    penalty = lambda n: ((5.0 + n) / 6.0) ** length_penalty  # noqa: E731
    for t in range(max_length):
        logits, states = _step(decoder_step, tokens, states, enc_out, src_rep, attention)
        logp = _log_softmax(logits).reshape(batch, k, -1)
        vocab = logp.shape[-1]
        cand = (scores[:, :, None] + logp).reshape(batch, -1)
        n_top = min(2 * k, cand.shape[1])
        top = np.argpartition(-cand, n_top - 1, axis=1)[:, :n_top]
        new_scores = np.full((batch, k), -np.inf)
        origin = np.zeros((batch, k), dtype="int64")
        new_tokens = np.full((batch, k), EOS, dtype="int32")
        for b in range(batch):
            if not active[b]:
                continue
            order = top[b][np.argsort(-cand[b, top[b]], kind="stable")]
            filled = 0
            for rank, flat in enumerate(order):
                score = cand[b, flat]
                if not np.isfinite(score):
                    break
                beam, tok = divmod(int(flat), vocab)
                if tok == EOS:
                    if rank < k:  # an ending ranked below the beam width is not a contender
                        finished[b].append((score / penalty(t + 1), history[b, beam].tolist()))
                    continue
                new_scores[b, filled] = score
                origin[b, filled] = beam
                new_tokens[b, filled] = tok
                filled += 1
                if filled == k:
                    break
            if filled == 0:
                active[b] = False
            elif len(finished[b]) >= k:
                # no live beam can still beat the best finished one (the heuristic of Wu et al.)
                best_done = max(f[0] for f in finished[b])
                active[b] = best_done < new_scores[b, 0] / penalty(t + 1)
        gather = (np.arange(batch)[:, None] * k + origin).reshape(-1)
        states = [s[gather] for s in states]
        history = np.concatenate([history[np.arange(batch)[:, None], origin], new_tokens[:, :, None]], axis=2)
        scores = new_scores
        tokens = new_tokens.reshape(-1)
        if not active.any():
            break
    best: list[list[int]] = []
    for b in range(batch):
        pool = list(finished[b])
        if not pool:  # ran out of length: fall back to the live beams
            pool = [
                (scores[b, j] / penalty(history.shape[2]), history[b, j].tolist())
                for j in range(k)
                if np.isfinite(scores[b, j])
            ]
        best.append(max(pool, key=lambda item: item[0])[1] if pool else [])
    return best


def _check_mbr_samples(value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"mbr_samples must be an integer >= 0, received {value!r}.")


def _check_length_penalty(value) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"length_penalty must be a finite number >= 0, received {value!r}.")
    return float(value)


DEFAULT_LENGTH_PENALTIES = (0.6, 1.0, 1.5, 2.0)


def choose_length_penalty(
    translator: Translator,
    sources: Sequence[str],
    references: Sequence[str],
    *,
    beam_width: int,
    candidates: Sequence[float] = DEFAULT_LENGTH_PENALTIES,
) -> tuple[float, dict[float, float]]:
    """Pick the beam-search length penalty with the best chrF on held-out pairs.

    Beam search ranks finished translations by log-probability, which favours
    short ones; the GNMT penalty ``((5 + length) / 6) ** alpha`` (Wu et al.
    2016) offsets that, and the best ``alpha`` depends on the model and the
    data. Translate ``sources`` with each candidate and keep the one whose
    corpus chrF against ``references`` is highest (the smallest on a tie).
    Use pairs that are not the ones the translator is finally scored on
    (the recipe uses its early-stopping dev split).

    Returns:
        ``(best_penalty, {penalty: chrF})``.
    """
    grid = sorted({_check_length_penalty(c) for c in candidates})
    if not grid:
        raise ValueError("candidates must hold at least one length penalty.")
    scores = {
        lp: corpus_chrf(translator.translate(sources, beam_width=beam_width, length_penalty=lp), references)[
            0
        ]
        for lp in grid
    }
    best = max(grid, key=lambda lp: (scores[lp], -lp))
    return best, scores
