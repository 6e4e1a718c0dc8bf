"""The translation task around :mod:`lstm_apps.seq2seq`: tokens in, scores and tables out.

What the translation recipe and its benchmarks share, apart from the model:

* :func:`train_tokenizers` and :func:`encode_pairs` turn sentence pairs into
  the id sequences :class:`~lstm_apps.seq2seq.PairBatches` batches;
* :func:`evaluate_translator` translates a held-out split greedily, with beam
  search and (optionally) minimum-Bayes-risk reranking, and scores every
  output and the copy-the-source baseline with sacrebleu;
  :func:`results_rows` and :func:`verdict` turn those scores into the
  results table and one sentence;
* :func:`plot_attention` draws the attention of one translation;
* :func:`export_parts` names the encoder and the one-step decoder of a
  translator with sample inputs, ready for ``run.export(..., mode="sequence")``;
* :func:`latest_translator_dir` and :func:`translate_with_run` translate with
  a finished run (the recipe's ``--translate``); :func:`length_penalty_arg`
  parses ``--length-penalty``.

Example:

```python
src_tok, tgt_tok = train_tokenizers("subword", sources, targets, vocab_size=2000)
train_x, train_y = encode_pairs(src_tok, tgt_tok, sources, targets, max_length=60)
...
hypotheses, metrics, seconds = evaluate_translator(translator, val_src, val_tgt, beam_width=4)
print(format_table(results_rows(metrics, beam_width=4)))
```
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lstm_apps.metrics import translation_scores

__all__ = [
    "TOKEN_KINDS",
    "train_tokenizers",
    "encode_pairs",
    "evaluate_translator",
    "results_rows",
    "verdict",
    "plot_attention",
    "export_parts",
    "latest_translator_dir",
    "translate_with_run",
    "length_penalty_arg",
]

TOKEN_KINDS = ("subword", "char")


def train_tokenizers(kind: str, sources: Sequence[str], targets: Sequence[str], vocab_size: int = 2000):
    """A source and a target tokenizer learned from sentences.

    Args:
        kind: ``"subword"`` (byte-pair encoding,
            :class:`~lstm_apps.seq2seq.SubwordTokenizer`) or ``"char"``
            (:class:`~lstm_apps.seq2seq.CharTokenizer`).
        sources, targets: the sentences each vocabulary is learned from.
        vocab_size: subword vocabulary size per language (ignored by ``"char"``).

    Returns:
        ``(source_tokenizer, target_tokenizer)``.

    Example:

    >>> src_tok, tgt_tok = train_tokenizers("char", ["ab"], ["cd"])
    >>> src_tok.encode("ba"), tgt_tok.vocab_size
    ([5, 4], 6)
    """
    from lstm_apps.seq2seq import CharTokenizer, SubwordTokenizer

    if kind == "char":
        return CharTokenizer.train(sources), CharTokenizer.train(targets)
    if kind == "subword":
        return (
            SubwordTokenizer.train(sources, vocab_size=vocab_size),
            SubwordTokenizer.train(targets, vocab_size=vocab_size),
        )
    raise ValueError(f"kind must be one of {TOKEN_KINDS}, received {kind!r}.")


def encode_pairs(source_tokenizer, target_tokenizer, sources, targets, max_length: int | None = None):
    """Token ids of sentence pairs, leaving out pairs with an empty side or one longer than ``max_length``.

    Args:
        source_tokenizer, target_tokenizer: tokenizers with ``encode_batch``.
        sources, targets: the sentence pairs.
        max_length: the most tokens a side may have (``None``: no limit).

    Returns:
        ``(source_ids, target_ids)``: lists of id lists, the kept pairs in
        their order.
    """
    if len(sources) != len(targets):
        raise ValueError(
            f"sources and targets must have equal length, received {len(sources)} and {len(targets)}."
        )
    if max_length is not None and (
        isinstance(max_length, bool) or int(max_length) != max_length or max_length < 1
    ):
        raise ValueError(f"max_length must be a positive integer or None, received {max_length!r}.")
    limit = math.inf if max_length is None else max_length
    xs, ys = source_tokenizer.encode_batch(sources), target_tokenizer.encode_batch(targets)
    keep = [i for i, (a, b) in enumerate(zip(xs, ys)) if 0 < len(a) <= limit and 0 < len(b) <= limit]
    return [xs[i] for i in keep], [ys[i] for i in keep]


def evaluate_translator(
    translator,
    sources: Sequence[str],
    references: Sequence[str],
    *,
    beam_width: int = 4,
    mbr_samples: int = 0,
    seed: int | None = 0,
    member=None,
    prefix: str = "val",
):
    """Translate a held-out split and score every decoding against the references and the source.

    The reported translations are the beam-search output (greedy with
    ``beam_width=1``), reranked by minimum Bayes risk over ``mbr_samples``
    sampled translations when that is above 0
    (:meth:`~lstm_apps.seq2seq.Translator.mbr_rerank`). They are scored with
    :func:`~lstm_apps.metrics.translation_scores`, copying the source
    included, and so are the greedy and the beam outputs on their own
    (``*_greedy``, ``*_beam``) and, for an ensemble, its first ``member``
    alone with the same beam width and length penalty (``*_member_0``).

    Args:
        translator: a :class:`~lstm_apps.seq2seq.Translator`.
        sources, references: the held-out pairs.
        beam_width: beam width (1 = greedy).
        mbr_samples: sampled translations of minimum-Bayes-risk decoding (0: off).
        seed: the sampling seed.
        member: a single translator to compare with (an ensemble's first member).
        prefix: prefix of the metric names.

    Returns:
        ``(hypotheses, metrics, decode_seconds)``: the reported translations,
        the scores, and the seconds that greedy, beam and MBR decoding took.
    """
    start = time.time()
    greedy = translator.translate(sources, beam_width=1)
    beam = translator.translate(sources, beam_width=beam_width) if beam_width > 1 else greedy
    hypotheses = translator.mbr_rerank(sources, beam, mbr_samples, seed=seed)  # beam's output when 0
    seconds = time.time() - start
    metrics = translation_scores(hypotheses, references, sources, prefix=prefix)
    compared = {"greedy": greedy, "beam": beam}
    if member is not None:
        compared["member_0"] = member.translate(
            sources, beam_width=beam_width, length_penalty=translator.length_penalty
        )
    for name, outputs in compared.items():
        scores = translation_scores(outputs, references, prefix=prefix)
        metrics.update({f"{key}_{name}": value for key, value in scores.items()})
    return hypotheses, metrics, seconds


def _row(metrics: dict, split: str, prefix: str, system: str, suffix: str = "") -> dict:
    return {
        "split": split,
        "system": system,
        "chrF": metrics[f"{prefix}_chrf{suffix}"],
        "BLEU": metrics[f"{prefix}_bleu{suffix}"],
        "exact match": metrics[f"{prefix}_exact_match{suffix}"],
    }


def results_rows(metrics: dict, *, beam_width: int, mbr_samples: int = 0, ensemble: int = 1) -> list[dict]:
    """The results table of a translation run: each decoding's chrF, BLEU and exact match.

    Args:
        metrics: scores of :func:`evaluate_translator` (``val_*``; ``test_*``
            too when a test split was scored) and the ``length_penalty`` used.
        beam_width, mbr_samples, ensemble: how the reported translations were made.

    Returns:
        Rows (``split``, ``system``, ``chrF``, ``BLEU``, ``exact match``): the
        reported system, the beam output when MBR reranked it, greedy
        decoding, an ensemble's first member alone, copying the source; then
        the reported system and copying the source on the test split.
    """
    system = "LSTM seq2seq" if ensemble == 1 else f"LSTM seq2seq, ensemble of {ensemble}"
    if beam_width > 1:
        beam_name = f"{system}, beam {beam_width} (length penalty {metrics['length_penalty']:g})"
    else:
        beam_name = f"{system}, greedy"
    search = "beam" if beam_width > 1 else "greedy"
    reported = f"{system}, MBR over {search} + {mbr_samples} samples" if mbr_samples else beam_name
    rows = [_row(metrics, "validation", "val", reported)]
    if mbr_samples and beam_width > 1:
        rows.append(_row(metrics, "validation", "val", beam_name, "_beam"))
    rows.append(_row(metrics, "validation", "val", f"{system}, greedy", "_greedy"))
    if ensemble > 1:
        alone = f"beam {beam_width}" if beam_width > 1 else "greedy"
        rows.append(_row(metrics, "validation", "val", f"its first member alone, {alone}", "_member_0"))
    rows.append(_row(metrics, "validation", "val", "copy the source (baseline)", "_copy"))
    if "test_chrf" in metrics:
        rows.append(_row(metrics, "test", "test", reported))
        rows.append(_row(metrics, "test", "test", "copy the source (baseline)", "_copy"))
    return rows


def verdict(metrics: dict, sources, references, hypotheses, exact: bool = False) -> str:
    """One sentence on the validation scores: the gain over copying the source and a wrong translation.

    Args:
        metrics: with ``val_chrf``, ``val_chrf_copy`` (and ``val_exact_match``).
        sources, references, hypotheses: the validation pairs and translations.
        exact: also say how many translations are exactly right (for data
            with one right answer, like number words).
    """
    gain = metrics["val_chrf"] - metrics["val_chrf_copy"]
    if gain > 0:
        text = f"The model beats copying the source by {gain:.1f} chrF points on held-out pairs"
    else:
        text = f"The model does NOT beat copying the source (chrF {gain:+.1f}): train longer or on more pairs"
    if exact:
        text += f"; it spells {100 * metrics['val_exact_match']:.1f} % of unseen numbers exactly right"
    wrong = [(s, r, h) for s, r, h in zip(sources, references, hypotheses) if h != r]
    if wrong:
        s, r, h = wrong[0]
        text += f". It still errs, e.g. {s!r} → {h!r} (reference {r!r})"
    return text + "."


def plot_attention(parts, source_tokenizer, target_tokenizer, source: str, translation: str, title=None):
    """A heat map of the attention of each generated token over the source tokens.

    Args:
        parts: :class:`~lstm_apps.seq2seq.Seq2SeqParts` built with attention.
        source_tokenizer, target_tokenizer: the model's tokenizers.
        source: a source sentence.
        translation: its translation by the model (the decoder reads it back).
        title: the figure's title.

    Returns:
        A Matplotlib figure (rows: generated tokens and ``</s>``; columns:
        source tokens).
    """
    import matplotlib.pyplot as plt

    from lstm_apps.seq2seq import attention_weights

    src_ids = source_tokenizer.encode(source)
    out_ids = target_tokenizer.encode(translation)
    weights = attention_weights(parts, src_ids, out_ids)
    fig, ax = plt.subplots(figsize=(0.5 * len(src_ids) + 2, 0.35 * (len(out_ids) + 1) + 1.5))
    ax.imshow(weights, cmap="viridis", aspect="auto")
    ax.set_xticks(
        range(len(src_ids)), [source_tokenizer.symbols[i] for i in src_ids], rotation=60, ha="right"
    )
    ax.set_yticks(range(len(out_ids) + 1), [target_tokenizer.symbols[i] for i in out_ids] + ["</s>"])
    ax.set_xlabel("source token")
    ax.set_ylabel("generated token")
    if title:
        ax.set_title(title)
    return fig


def export_parts(translator, source_ids, target_ids) -> dict:
    """The translator's encoder and one-step decoder with sample inputs, for a LiteRT export.

    The encoder takes the source ids; the one-step decoder takes the first
    target token and the encoder's final states (and, with attention, the
    encoder outputs and the source ids), as the decoding loop calls it.

    Args:
        translator: a :class:`~lstm_apps.seq2seq.Translator` (an ensemble's too).
        source_ids: a padded batch of source ids, ``(batch, time)``.
        target_ids: a padded batch of decoder inputs (``<s>`` first), ``(batch, time)``.

    Returns:
        ``{"encoder": (model, inputs), "decoder_step": (model, inputs)}``.
    """
    source_ids, target_ids = np.asarray(source_ids), np.asarray(target_ids)
    if source_ids.ndim != 2 or target_ids.ndim != 2 or len(source_ids) != len(target_ids):
        raise ValueError(
            "source_ids and target_ids must be (batch, time) arrays of one batch size, "
            f"received shapes {source_ids.shape} and {target_ids.shape}."
        )
    encoded = translator.encoder.predict(source_ids, verbose=0)
    step_inputs = [target_ids[:, :1], *encoded[1:]]
    if translator.attention != "none":
        step_inputs += [encoded[0], source_ids]
    return {
        "encoder": (translator.encoder, [source_ids]),
        "decoder_step": (translator.decoder_step, step_inputs),
    }


def latest_translator_dir(runs_dir: str | os.PathLike, recipe: str = "translation") -> Path:
    """The newest run folder ``<runs_dir>/<recipe>/*`` that holds a saved translator."""
    parent = Path(runs_dir) / recipe
    found = (
        sorted(p for p in parent.glob("*") if (p / "translator.json").is_file()) if parent.is_dir() else []
    )
    if not found:
        raise ValueError(
            f"--translate: no finished translation run under {str(parent)!r}; "
            f"train one first (python recipes/{recipe}.py)."
        )
    return found[-1]


def translate_with_run(
    text: str,
    run_dir: str | os.PathLike | None = None,
    *,
    runs_dir: str | os.PathLike = "runs",
    beam_width: int = 4,
    length_penalty: float | None = None,
    mbr_samples: int = 0,
    seed: int | None = 0,
) -> dict:
    """Translate ``text`` with a saved translator.

    Args:
        text: the source sentence.
        run_dir: the run folder; ``None`` takes :func:`latest_translator_dir` of ``runs_dir``.
        runs_dir: where to look for the latest run.
        beam_width, mbr_samples, seed: decoding as in :meth:`~lstm_apps.seq2seq.Translator.translate`.
        length_penalty: ``None`` uses the one the run chose.

    Returns:
        ``{"source": text, "translation": ..., "run": run folder}``.
    """
    from lstm_apps.seq2seq import Translator

    folder = Path(run_dir) if run_dir else latest_translator_dir(runs_dir)
    translator = Translator.load(folder)
    output = translator.translate(
        text, beam_width=beam_width, length_penalty=length_penalty, mbr_samples=mbr_samples, seed=seed
    )
    return {"source": text, "translation": output, "run": str(folder)}


def length_penalty_arg(text: str):
    """``argparse`` type of ``--length-penalty``: ``"auto"`` or a finite number >= 0.

    Example:

    >>> length_penalty_arg("auto"), length_penalty_arg("1.5")
    ('auto', 1.5)
    """
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a finite number >= 0, received {text!r}")
    return value
