"""The translation task around :mod:`lstm_apps.seq2seq`: tokens in, scores and tables out.

What the translation recipe and its benchmarks share, apart from the model:

* :func:`train_tokenizers` and :func:`encode_pairs` turn sentence pairs into
  the id sequences :class:`~lstm_apps.seq2seq.PairBatches` batches;
* :func:`compile_seq2seq` and :func:`training_callbacks` set up the training
  of a :func:`~lstm_apps.seq2seq.build_seq2seq` model (Adam with gradient
  clipping, label smoothing and weight averaging; early stopping on a dev
  split);
* :func:`set_length_penalty` sets (or tunes on a dev split) beam search's
  length penalty, and :func:`evaluate_translator` translates a held-out split greedily, with beam
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

from lstm_apps.metrics import translation_scores, translation_signatures

__all__ = [
    "TOKEN_KINDS",
    "train_tokenizers",
    "encode_pairs",
    "compile_seq2seq",
    "training_callbacks",
    "set_length_penalty",
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


def compile_seq2seq(model, learning_rate: float = 3e-3, label_smoothing: float = 0.0, ema: float = 0.0):
    """Compile a teacher-forcing model of :func:`~lstm_apps.seq2seq.build_seq2seq` for training.

    Adam with gradient clipping (norm 1) minimises the cross-entropy of the
    next target token, averaged over real (not padding) tokens, with
    ``sparse_categorical_accuracy`` as its metric. Two of the low-resource
    options of Sennrich & Zhang (2019):

    * ``label_smoothing`` EPS trains on targets that keep ``1 - EPS`` on the
      reference token and spread EPS over the vocabulary
      (:class:`~lstm_apps.losses.SmoothedSparseCategoricalCrossentropy`; the
      reported losses are then smoothed too);
    * ``ema`` M makes Adam keep an exponential moving average of the weights
      with momentum M (Polyak averaging; pair it with
      ``keras.callbacks.SwapEMAWeights``, see :func:`training_callbacks`).

    Args:
        model: the Keras training model (``Seq2SeqParts.model``).
        learning_rate: Adam's learning rate.
        label_smoothing: in ``[0, 1)``; 0 is the plain cross-entropy.
        ema: weight-averaging momentum in ``[0, 1)``; 0 is off.

    Returns:
        ``model``, compiled.
    """
    import keras

    from lstm_apps.losses import SmoothedSparseCategoricalCrossentropy

    for name, value in (("label_smoothing", label_smoothing), ("ema", ema)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be a number in [0, 1), received {value!r}.")
    if label_smoothing:
        loss = SmoothedSparseCategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(
        learning_rate, clipnorm=1.0, use_ema=bool(ema), ema_momentum=ema or 0.99
    )
    model.compile(optimizer=optimizer, loss=loss, weighted_metrics=["sparse_categorical_accuracy"])
    return model


def training_callbacks(patience: int = 4, ema: float = 0.0) -> list:
    """Early stopping and learning-rate decay on the dev loss, for one training run of a translator.

    ``EarlyStopping`` keeps the weights of the best dev loss (improvements
    under 0.001 do not count) after ``patience`` epochs without one;
    ``ReduceLROnPlateau`` halves the learning rate after ``patience // 2``
    (at least 1), down to 1e-5. With ``ema`` the first callback is
    ``SwapEMAWeights``: the averaged weights are in place for every dev
    evaluation and at each epoch's end, so early stopping judges, and keeps,
    them.

    Args:
        patience: early-stopping patience in epochs (>= 1).
        ema: the weight-averaging momentum of :func:`compile_seq2seq` (0: off).

    Returns:
        Fresh Keras callbacks (a list; make new ones for every fit).
    """
    import keras

    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise ValueError(f"patience must be a positive integer, received {patience!r}.")
    callbacks = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if ema else []
    return callbacks + [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", min_delta=1e-3, patience=patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=max(1, patience // 2), min_lr=1e-5
        ),
    ]


def set_length_penalty(translator, length_penalty, sources, references, beam_width: int = 4) -> dict:
    """Set the translator's beam-search length penalty: a given one, or the best on a dev split.

    Args:
        translator: a :class:`~lstm_apps.seq2seq.Translator`.
        length_penalty: a number >= 0, or ``"auto"``: the candidate of
            :func:`~lstm_apps.seq2seq.choose_length_penalty` (0.6, 1, 1.5, 2)
            whose translations of ``sources`` have the best chrF against
            ``references``. Greedy decoding (``beam_width=1``) has no length
            penalty to tune; ``"auto"`` then keeps the translator's.
        sources, references: the dev pairs ``"auto"`` tunes on (not the pairs
            the translator is finally scored on).
        beam_width: the beam width the penalty is tuned for.

    Returns:
        ``{"dev_chrf_length_penalty_<penalty>": chrF}`` of every candidate
        tried (empty when none was).
    """
    from lstm_apps.seq2seq import choose_length_penalty

    if length_penalty != "auto":
        translator.length_penalty = length_penalty_arg(str(length_penalty))
        return {}
    if beam_width <= 1:
        return {}
    translator.length_penalty, scores = choose_length_penalty(
        translator, sources, references, beam_width=beam_width
    )
    return {f"dev_chrf_length_penalty_{penalty:g}": chrf for penalty, chrf in scores.items()}


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
    compare: bool = True,
):
    """Translate a held-out split and score every decoding against the references and the source.

    The reported translations are the beam-search output (greedy with
    ``beam_width=1``), reranked by minimum Bayes risk over ``mbr_samples``
    sampled translations when that is above 0
    (:meth:`~lstm_apps.seq2seq.Translator.mbr_rerank`). They are scored with
    :func:`~lstm_apps.metrics.translation_scores`, copying the source
    included, and (with ``compare``) so are the greedy and the beam outputs
    on their own (``*_greedy``, ``*_beam``) and, for an ensemble, its first
    ``member`` alone with the same beam width and length penalty
    (``*_member_0``). The scores are followed by sacrebleu's signatures and
    how the reported translations were made (``decoding``: ``"greedy"``,
    ``"beam"`` or ``"mbr"``; ``mbr_samples``, ``beam_width``,
    ``length_penalty``).

    Args:
        translator: a :class:`~lstm_apps.seq2seq.Translator`.
        sources, references: the held-out pairs.
        beam_width: beam width (1 = greedy).
        mbr_samples: sampled translations of minimum-Bayes-risk decoding (0: off).
        seed: the sampling seed.
        member: a single translator to compare with (an ensemble's first member).
        prefix: prefix of the score names.
        compare: also score greedy decoding, beam search and ``member`` alone.

    Returns:
        ``(hypotheses, metrics, decode_seconds)``: the reported translations,
        the scores, and the seconds that greedy, beam and MBR decoding took.
    """
    start = time.time()
    greedy = translator.translate(sources, beam_width=1) if compare or beam_width == 1 else None
    beam = translator.translate(sources, beam_width=beam_width) if beam_width > 1 else greedy
    hypotheses = translator.mbr_rerank(sources, beam, mbr_samples, seed=seed)  # beam's output when 0
    seconds = time.time() - start
    metrics = translation_scores(hypotheses, references, sources, prefix=prefix)
    compared = {"greedy": greedy, "beam": beam} if compare else {}
    if member is not None and compare:
        compared["member_0"] = member.translate(
            sources, beam_width=beam_width, length_penalty=translator.length_penalty
        )
    for name, outputs in compared.items():
        scores = translation_scores(outputs, references, prefix=prefix)
        metrics.update({f"{key}_{name}": value for key, value in scores.items()})
    metrics.update(translation_signatures())
    metrics["decoding"] = "mbr" if mbr_samples else "beam" if beam_width > 1 else "greedy"
    metrics.update(mbr_samples=mbr_samples, beam_width=beam_width, length_penalty=translator.length_penalty)
    return hypotheses, metrics, seconds


def _row(metrics: dict, split: str, prefix: str, system: str, suffix: str = "") -> dict:
    return {
        "split": split,
        "system": system,
        "chrF": metrics[f"{prefix}_chrf{suffix}"],
        "BLEU": metrics[f"{prefix}_bleu{suffix}"],
        "exact match": metrics[f"{prefix}_exact_match{suffix}"],
    }


def results_rows(metrics: dict, beam_width: int, mbr_samples: int = 0, ensemble: int = 1) -> list[dict]:
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
