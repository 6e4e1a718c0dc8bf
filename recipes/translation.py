"""
Title: Sequence-to-sequence translation with an encoder–decoder LSTM
Author: lstm-apps
Date created: 2026-11-22
Description: An LSTM encoder–decoder with attention translates sentence pairs (bundled: English number phrases to German number words), scored with sacrebleu BLEU/chrF against copying the source.
"""  # noqa: E501

"""
## Introduction

The encoder–decoder LSTM (Sutskever, Vinyals & Le 2014) is the architecture
that made neural machine translation work: an encoder LSTM reads the source
sentence, its final states initialise a decoder LSTM, and the decoder writes
the translation one token at a time. Attention over the encoder outputs
(Bahdanau et al. 2015; Luong et al. 2015) lets the decoder look back at the
source word it is translating instead of squeezing the sentence into one
state.

**Bundled data.** `lstm_apps.datasets.translation.number_pairs` spells seeded
integers 0..999,999 in English and in German: "three hundred twenty-one" →
"dreihunderteinundzwanzig". Small as it is, the task has real translation
structure: the word order flips (German says units before tens,
"ein-und-zwanzig", one-and-twenty), words fuse (the whole number is one
German word) and spelling changes inside compounds ("eins" but
"einhundert", "sechs" but "sechzehn", "sieben" but "siebzig"). Validation
numbers never occur in training, so the model must have learned the
grammar. Its metric is exact match.

**Your data.** `--data FILE` trains on tab-separated sentence pairs (the
Anki / manythings.org format `source<TAB>target[<TAB>attribution]`),
`--dataset anki-fra` downloads the English–French corpus of the keras-io
examples once (cached), `--test-data FILE` scores a separate pairs file, and
`--extra-data` adds dictionary pairs that are trained on but never scored.
`--translate "some sentence"` loads the latest run and translates.

**Baseline and metrics.** Corpus BLEU and chrF from `sacrebleu` (with their
signatures) against the simplest translation there is, copying the source
sentence, which already earns chrF points for names, numbers and cognates.

## Setup
"""

import shutil
import sys
import time
from pathlib import Path

import keras

from lstm_apps.datasets.dictionary import load_extra_pairs
from lstm_apps.datasets.translation import DATASETS, load_pairs, load_translation_pairs, split_train_dev_val
from lstm_apps.io import read_json, save_keras_weights, write_json
from lstm_apps.losses import SmoothedSparseCategoricalCrossentropy
from lstm_apps.metrics import translation_scores, translation_signatures
from lstm_apps.seq2seq import ATTENTION_KINDS, PairBatches, Translator, build_seq2seq, choose_length_penalty
from lstm_apps.training import recipe_parser, start_run
from lstm_apps.translation import (
    TOKEN_KINDS,
    encode_pairs,
    evaluate_translator,
    export_parts,
    length_penalty_arg,
    plot_attention,
    results_rows,
    train_tokenizers,
    translate_with_run,
    verdict,
)

"""
## Configuration

The shared flags (`--cell`, `--epochs`, `--quick`, `--resume`, `--export`...)
come from `recipe_parser`; the translation flags are grouped by what they
change: the data, the model, its training, and decoding.
"""

RECIPE = "translation"


def make_parser():
    parser = recipe_parser(RECIPE, __doc__, epochs=40, quick_epochs=3, cell="lstm", batch_size=64)
    g = parser.add_argument_group("data")
    g.add_argument(
        "--data", metavar="FILE", help="tab-separated pairs file (source<TAB>target[<TAB>ignored])"
    )
    g.add_argument("--dataset", choices=DATASETS, default="numbers", help="bundled data without --data")
    g.add_argument("--test-data", metavar="FILE", help="a separate pairs file scored after training (test_*)")
    g.add_argument(
        "--max-pairs", type=int, metavar="N", help="read only the first N pairs of --data / anki-fra"
    )
    g.add_argument(
        "--num-pairs", type=int, default=12000, help="number-words pairs (default 12000; 1200 with --quick)"
    )
    g.add_argument(
        "--train-pairs", type=int, metavar="N", help="train on the first N training pairs (learning curves)"
    )
    g.add_argument(
        "--val-fraction", type=float, default=0.1, help="held-out validation fraction (default 0.1)"
    )
    g.add_argument(
        "--extra-data",
        metavar="FILE",
        help="extra training pairs: a Ding dictionary ('ding' downloads trans-de-en) or a pairs file",
    )
    g.add_argument(
        "--extra-per-epoch",
        type=int,
        metavar="N",
        help="extra pairs an epoch (default: as many as the training pairs)",
    )
    g.add_argument(
        "--extra-min-words", type=int, metavar="N", help="keep extra pairs of at least N words a side"
    )
    g.add_argument("--extra-sentences-only", action="store_true", help="keep extra pairs ending in . ! or ?")
    g.add_argument(
        "--subwords-from",
        choices=("sentences", "all"),
        default="sentences",
        help="learn subwords from the training sentences (default) or the extra pairs too",
    )
    g = parser.add_argument_group("model")
    g.add_argument(
        "--tokens", choices=TOKEN_KINDS, default="subword", help="subword (BPE) or character tokens"
    )
    g.add_argument(
        "--vocab-size", type=int, help="subwords per language (default 64 on number words, else 2000)"
    )
    g.add_argument(
        "--max-length", type=int, default=60, help="skip training pairs with more tokens (default 60)"
    )
    g.add_argument(
        "--units", type=int, help="recurrent units (default 128 on number words, else 256; 32 --quick)"
    )
    g.add_argument("--embed-dim", type=int, help="embedding size (default units // 2)")
    g.add_argument("--bidirectional-encoder", action="store_true", help="read the source both ways")
    g.add_argument("--attention", choices=ATTENTION_KINDS, default="luong", help="attention (default luong)")
    g.add_argument("--tie-embeddings", action="store_true", help="score outputs with the target embeddings")
    g.add_argument("--lexical-model", action="store_true", help="add lexical-model logits (needs attention)")
    g.add_argument("--dropout", type=float, help="dropout (default 0 on number words, else 0.3)")
    g.add_argument("--word-dropout", type=float, default=0.0, metavar="P", help="whole-token dropout, [0, 1)")
    g = parser.add_argument_group("training")
    g.add_argument("--learning-rate", type=float, help="Adam learning rate (default 3e-3; 1e-2 with --quick)")
    g.add_argument(
        "--label-smoothing", type=float, default=0.0, metavar="EPS", help="label smoothing, [0, 1)"
    )
    g.add_argument(
        "--ema", type=float, default=0.0, metavar="MOMENTUM", help="weight averaging momentum, [0, 1)"
    )
    g.add_argument("--ensemble", type=int, default=1, metavar="N", help="train N models, decode with all")
    g.add_argument("--patience", type=int, default=4, help="early-stopping patience in epochs (default 4)")
    g.add_argument("--max-minutes", type=float, help="stop training after this many minutes (time budget)")
    g = parser.add_argument_group("decoding")
    g.add_argument("--beam-width", type=int, default=4, help="beam width (1 = greedy; default 4)")
    g.add_argument(
        "--length-penalty",
        type=length_penalty_arg,
        default="auto",
        metavar="ALPHA",
        help="beam-search length penalty >= 0, or 'auto': the best of 0.6, 1, 1.5, 2 on the dev split",
    )
    g.add_argument(
        "--mbr-samples", type=int, default=0, metavar="N", help="minimum-Bayes-risk samples (0: off)"
    )
    g.add_argument("--samples", type=int, default=8, help="sample translations printed (default 8)")
    g.add_argument("--translate", metavar="TEXT", help="translate TEXT with the latest run (or --from-run)")
    g.add_argument("--from-run", metavar="RUN_DIR", help="the run folder --translate uses")
    return parser


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``minutes`` have passed (checked after every batch)."""

    def __init__(self, minutes):
        super().__init__()
        self.deadline = time.time() + 60.0 * minutes
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None):
        if time.time() > self.deadline:
            self.model.stop_training = True
            self.stopped = True


class TrainClock(keras.callbacks.Callback):
    """Training seconds spent in this run, kept across ``--resume``.

    After every epoch the total goes to ``path`` (JSON); a resumed run
    starts from it, so an interruption does not restart `--max-minutes`.
    Time spent in an epoch that was interrupted is not counted (the backup
    repeats that epoch).
    """

    def __init__(self, path, resumed=False):
        super().__init__()
        self.path = Path(path)
        spent = read_json(self.path)["seconds"] if resumed and self.path.is_file() else 0.0
        self.start = time.time() - float(spent)

    def seconds(self) -> float:
        return time.time() - self.start

    def save(self):
        write_json(self.path, {"seconds": round(self.seconds(), 3)})

    def on_epoch_end(self, epoch, logs=None):
        self.save()


def export_tflite(run, models) -> dict:
    """LiteRT files of the named models and their parity against Keras (until the harness exports)."""
    from lstm_apps.export import to_tflite

    out = {}
    for name, (model, inputs) in models.items():
        result = to_tflite(model, run.file(f"{name}.tflite"), mode="sequence", representative_data=inputs)
        out[f"export_{name}_parity_max_abs"] = result.parity_max_abs
        out[f"export_{name}_size_bytes"] = result.size_bytes
    out["export_parity_max_abs"] = max(out[f"export_{name}_parity_max_abs"] for name in models)
    return out


def main(argv=None) -> dict:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.translate is not None:
        penalty = None if args.length_penalty == "auto" else args.length_penalty  # auto: the run's own
        out = translate_with_run(
            args.translate, args.from_run, runs_dir=args.runs_dir, beam_width=args.beam_width,
            length_penalty=penalty, mbr_samples=args.mbr_samples, seed=args.seed,
        )  # fmt: skip
        print(out["translation"])
        print(f"[{RECIPE}] translated with {out['run']}", file=sys.stderr)
        return out
    if args.extra_per_epoch is not None and args.extra_per_epoch < 0:
        parser.error(f"--extra-per-epoch must be non-negative, received {args.extra_per_epoch}")
    if args.extra_min_words is not None and args.extra_min_words <= 0:
        parser.error(f"--extra-min-words must be positive, received {args.extra_min_words}")
    if args.mbr_samples < 0:
        parser.error(f"--mbr-samples must be non-negative, received {args.mbr_samples}")
    for name in ("num_pairs", "max_length", "beam_width", "patience", "ensemble"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, received {getattr(args, name)}")
    if args.train_pairs is not None and args.train_pairs <= 0:
        parser.error(f"--train-pairs must be positive, received {args.train_pairs}")
    for name in ("label_smoothing", "word_dropout", "ema"):
        if not 0.0 <= getattr(args, name) < 1.0:
            parser.error(f"--{name.replace('_', '-')} must be in [0, 1), received {getattr(args, name)}")
    numbers = args.data is None and args.dataset == "numbers"
    units = args.units or (32 if args.quick else 128 if numbers else 256)
    if args.lexical_model and args.attention == "none":
        parser.error(
            "--lexical-model needs attention (--attention luong or bahdanau), received --attention none"
        )
    if args.bidirectional_encoder and units % 2:
        parser.error(
            f"--units must be even with --bidirectional-encoder (units // 2 a direction), received {units}"
        )
    config = {
        "units": units,
        "embed_dim": args.embed_dim or max(16, units // 2),
        "vocab_size": args.vocab_size or (64 if numbers else 2000),
        "dropout": args.dropout if args.dropout is not None else (0.0 if numbers else 0.3),
        "learning_rate": args.learning_rate or (1e-2 if args.quick else 3e-3),
    }
    run = start_run(RECIPE, args, extra_config=config)

    """
    ## Data

    Pairs are shuffled with the seed and split into training and a held-out
    validation split; early stopping, and the choice of the beam-search
    length penalty, watch a further slice of the training pairs (the "dev"
    split). `--train-pairs N` keeps the first N training pairs and the same
    dev and validation splits (a learning curve). On number words the splits
    hold different numbers.
    """
    num_pairs = 1200 if args.quick and args.num_pairs == 12000 else args.num_pairs
    sources, targets, data_name = load_translation_pairs(
        args.data, args.dataset, max_pairs=args.max_pairs, num_pairs=num_pairs, seed=args.seed
    )
    if args.quick and not numbers:
        sources, targets = sources[:2000], targets[:2000]
    splits = split_train_dev_val(sources, targets, args.val_fraction, args.seed, train_pairs=args.train_pairs)
    (train_src, train_tgt), (dev_src, dev_tgt), (val_src, val_tgt) = splits
    test_src, test_tgt = load_pairs(args.test_data) if args.test_data else ([], [])

    """
    `--extra-data` adds training pairs from a Ding-format German–English
    dictionary (`German :: English` lines; `ding` downloads Debian's
    `trans-de-en`, about 640,000 word and phrase pairs) or a pairs file.
    Every dictionary line that holds a dev, validation or test sentence is
    dropped whole (the Ding sentences were taken from the dictionary), and
    so are extra pairs that repeat a training pair. `--extra-sentences-only`
    keeps the dictionary's example sentences, `--extra-min-words N` its
    phrases of at least N words a side. Each epoch mixes all training
    sentences with the next `--extra-per-epoch` extra pairs. Subwords are
    learned from the training sentences unless `--subwords-from all`.
    """
    extra_src, extra_tgt = [], []
    if args.extra_data:
        extra_src, extra_tgt = load_extra_pairs(
            args.extra_data, exclude=val_src + val_tgt + dev_src + dev_tgt + test_src + test_tgt,
            min_words=args.extra_min_words, sentences_only=args.extra_sentences_only,
            known=zip(train_src, train_tgt),
        )  # fmt: skip
        if args.quick:
            extra_src, extra_tgt = extra_src[:4000], extra_tgt[:4000]
    everything = args.subwords_from == "all"
    src_tok, tgt_tok = train_tokenizers(
        args.tokens,
        train_src + extra_src if everything else train_src,
        train_tgt + extra_tgt if everything else train_tgt,
        vocab_size=run.config["vocab_size"],
    )
    train_x, train_y = encode_pairs(src_tok, tgt_tok, train_src, train_tgt, args.max_length)
    extra_x, extra_y = encode_pairs(src_tok, tgt_tok, extra_src, extra_tgt, args.max_length)

    def batches(seed):
        return PairBatches(
            train_x, train_y, batch_size=args.batch_size, seed=seed, extra_source_ids=extra_x,
            extra_target_ids=extra_y, extra_per_epoch=args.extra_per_epoch,
        )  # fmt: skip

    train_batches = batches(args.seed)
    dev_ids = (src_tok.encode_batch(dev_src), tgt_tok.encode_batch(dev_tgt))
    dev_batches = PairBatches(*dev_ids, batch_size=args.batch_size, shuffle=False)
    extra_note = (
        f", {len(extra_x)} extra pairs ({train_batches.extra_per_epoch} an epoch)" if extra_src else ""
    )
    print(
        f"[{RECIPE}] {data_name}: {len(train_x)} training pairs ({len(train_src) - len(train_x)} longer than "
        f"{args.max_length} tokens skipped){extra_note}, {len(dev_src)} dev, {len(val_src)} validation; "
        f"{args.tokens} vocabularies {src_tok.vocab_size} / {tgt_tok.vocab_size}",
        file=sys.stderr,
    )

    """
    ## Model

    Subword (byte-pair encoding) or character tokens (`--tokens`), an
    embedding, an encoder of the `--cell` kind (LSTMs hand over two states,
    GRU and SimpleRNN one; `--bidirectional-encoder` reads the source both
    ways, half the units each), a decoder of the same kind that starts from
    the encoder's final states and, with `--attention luong` (dot-product
    scores) or `bahdanau` (additive scores), combines its output with a
    context vector over all encoder outputs. The low-resource options of
    Sennrich & Zhang (2019) are all off by default: `--word-dropout P` zeroes
    whole token embeddings in training, `--label-smoothing EPS` trains on
    smoothed targets (so the reported losses are smoothed too),
    `--lexical-model` adds logits computed straight from the attended source
    embeddings (Nguyen & Chiang 2018), `--tie-embeddings` scores output tokens
    with the target embedding matrix (Press & Wolf 2017).
    """

    def build_member():
        with run.strategy.scope():
            parts = build_seq2seq(
                src_tok.vocab_size, tgt_tok.vocab_size, cell=args.cell, units=units,
                embed_dim=run.config["embed_dim"], attention=args.attention, dropout=run.config["dropout"],
                word_dropout=args.word_dropout, bidirectional_encoder=args.bidirectional_encoder,
                lexical_model=args.lexical_model, tie_embeddings=args.tie_embeddings,
            )  # fmt: skip
            if args.label_smoothing:
                loss = SmoothedSparseCategoricalCrossentropy(
                    from_logits=True, label_smoothing=args.label_smoothing
                )
            else:
                loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            optimizer = keras.optimizers.Adam(
                run.config["learning_rate"],
                clipnorm=1.0,
                use_ema=bool(args.ema),
                ema_momentum=args.ema or 0.99,
            )
            parts.model.compile(
                optimizer=optimizer, loss=loss, weighted_metrics=["sparse_categorical_accuracy"]
            )
        return parts

    """
    ## Train

    Teacher forcing: the decoder reads the reference shifted by one token.
    Early stopping on the dev loss (improvements under 0.001 do not count)
    keeps the best weights; `--max-minutes` caps the time spent training,
    counted across `--resume`. `--ema M` makes Adam keep an exponential
    moving average of the weights (momentum `M`, e.g. 0.999), which
    `SwapEMAWeights` puts in place for every dev evaluation, so early
    stopping judges, and keeps, the averaged weights.

    `--ensemble N` trains N models on the same split and vocabularies, each
    from its own seed (initial weights, dropout and batch order); each gets
    an equal share of what is left of the time budget, and a finished one is
    kept so `--resume` does not train it again.
    """
    members, histories, stopped_by_budget = [], [], False
    clock = TrainClock(run.file("train_seconds.json"), resumed=run.resumed)
    for k in range(args.ensemble):
        if k:  # member 0 keeps the run's seed, so a one-model run is unchanged
            keras.utils.set_random_seed(args.seed + k)
        member_batches = batches(args.seed + k) if k else train_batches
        parts = build_member()
        history_name = "history" if k == 0 else f"history_member_{k}"
        finished = run.file("backup_members") / f"member_{k}.weights.h5"
        if finished.is_file():  # trained before an interruption (--resume)
            parts.model.optimizer.build(parts.model.trainable_variables)  # so its state loads too
            parts.model.load_weights(finished)
            history_file = run.file(f"{history_name}.json")
            histories.append(read_json(history_file) if history_file.is_file() else {})
            members.append(parts)
            continue
        callbacks = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if args.ema else []
        callbacks += [
            clock,
            keras.callbacks.EarlyStopping(
                monitor="val_loss", min_delta=1e-3, patience=args.patience, restore_best_weights=True
            ),
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=max(1, args.patience // 2), min_lr=1e-5
            ),
        ]
        budget = None
        if args.max_minutes:
            left = args.max_minutes - clock.seconds() / 60.0
            budget = TimeBudget(max(left, 0.0) / (args.ensemble - k))
            callbacks.append(budget)
        history = run.fit(
            parts.model, member_batches.dataset(), validation_data=dev_batches.dataset(),
            callbacks=callbacks, shuffle=False, history_name=history_name,
        )  # fmt: skip
        stopped_by_budget |= bool(budget and budget.stopped)
        histories.append(history.history)
        members.append(parts)
        if args.ensemble > 1:
            save_keras_weights(parts.model, finished)
            clock.save()
    train_seconds = clock.seconds()

    """
    ## Evaluate

    The members translate together (`Translator.ensemble` averages their
    next-token probabilities). Beam search (`--beam-width`) ranks finished
    translations by log-probability over a length penalty; with
    `--length-penalty auto` its exponent is the one that translates the dev
    split best (chrF), so the validation split stays untouched until it is
    scored. `--mbr-samples N` reports a minimum-Bayes-risk choice (Eikema &
    Aziz 2020): of the beam output and N translations the model samples, the
    one that agrees best (chrF) with the samples. Every decoding, an
    ensemble's first member alone and copying the source are scored with
    sacrebleu on the validation split (and on `--test-data`).
    """
    singles = [
        Translator(m.encoder, m.decoder_step, src_tok, tgt_tok, attention=args.attention) for m in members
    ]
    translator = Translator.ensemble(singles) if len(singles) > 1 else singles[0]
    dev_chrf = {}
    if args.length_penalty != "auto":
        translator.length_penalty = args.length_penalty
    elif args.beam_width > 1:
        translator.length_penalty, dev_chrf = choose_length_penalty(
            translator, dev_src, dev_tgt, beam_width=args.beam_width
        )
    hyps, metrics, decode_seconds = evaluate_translator(
        translator, val_src, val_tgt, beam_width=args.beam_width, mbr_samples=args.mbr_samples,
        seed=args.seed, member=singles[0] if len(singles) > 1 else None,
    )  # fmt: skip
    metrics.update(translation_signatures())
    metrics.update(
        {
            "decoding": "mbr" if args.mbr_samples else "beam" if args.beam_width > 1 else "greedy",
            "mbr_samples": args.mbr_samples,
            "beam_width": args.beam_width,
            "length_penalty": translator.length_penalty,
            **{f"dev_chrf_length_penalty_{k:g}": v for k, v in dev_chrf.items()},
            "train_pairs": len(train_x),
            "extra_pairs": len(extra_x),
            "extra_pairs_per_epoch": train_batches.extra_per_epoch,
            "val_pairs": len(val_src),
            "ensemble": args.ensemble,
            "epochs_trained": len(histories[0].get("loss", [])),
        }
    )
    if args.ensemble > 1:
        metrics.update(
            {f"epochs_trained_member_{k}": len(h.get("loss", [])) for k, h in enumerate(histories)}
        )
    metrics.update(
        {
            "train_seconds": round(train_seconds, 1),
            "decode_seconds": round(decode_seconds, 1),
            "stopped_by_time_budget": stopped_by_budget,
        }
    )
    if args.test_data:
        test_hyps = translator.translate(
            test_src, beam_width=args.beam_width, mbr_samples=args.mbr_samples, seed=args.seed
        )
        metrics.update(
            {**translation_scores(test_hyps, test_tgt, test_src, prefix="test"), "test_pairs": len(test_src)}
        )
    rows = results_rows(
        metrics, beam_width=args.beam_width, mbr_samples=args.mbr_samples, ensemble=args.ensemble
    )
    run.print_table(rows, title=f"Translation quality on {data_name} (sacrebleu; higher is better)")
    print(f"BLEU signature: {metrics['bleu_signature']}\nchrF signature: {metrics['chrf_signature']}")
    samples = [
        {"source": s, "reference": r, "translation": h, "exact": "yes" if h == r else "no"}
        for s, r, h in list(zip(val_src, val_tgt, hyps))[: args.samples]
    ]
    run.print_table(samples, title="Sample validation translations", save_as="samples.md")
    print(verdict(metrics, val_src, val_tgt, hyps, exact=numbers))

    """
    `attention.png` shows where the decoder looks while it writes one
    translation: on number words, a short number with hyphenated tens
    ("twenty-one"), where German flips the word order.
    """
    if args.attention != "none" and val_src:
        flips = [i for i in range(len(val_src)) if "-" in val_src[i]] if numbers else []
        i = min(flips, key=lambda i: abs(len(val_src[i]) - 28)) if flips else 0
        title = f"{args.attention} attention: {val_src[i][:40]}"
        run.save_figure(
            plot_attention(members[0], src_tok, tgt_tok, val_src[i], hyps[i], title), "attention.png"
        )

    """
    ## Export

    `model.keras` is the teacher-forcing training model (an ensemble's first
    member); `encoder.keras` and `decoder_step.keras` (one decoder step:
    token and states in, logits and states out), the whole ensemble's, are
    what inference needs, with the tokenizers in `translator.json`. With
    `--export` those two become LiteRT files, `decoder_step.tflite` in the
    streaming form a device calls once per generated token, each checked
    against Keras.
    """
    sample = train_batches.batch(0)[0]
    run.save_model(members[0].model, sample_inputs=[sample[0][:4], sample[1][:4]], export=False)
    translator.save(run.path)
    run.file("train_seconds.json").unlink(missing_ok=True)  # in metrics.json now
    shutil.rmtree(
        run.file("backup_members"), ignore_errors=True
    )  # inside encoder.keras / decoder_step.keras now
    if args.export:
        metrics.update(export_tflite(run, export_parts(translator, sample[0][:4], sample[1][:4])))
    metrics = run.finish(metrics)

    """
    ## Conclusion

    On the bundled number words the encoder–decoder learns the German grammar
    of numbers from a few thousand examples and spells unseen numbers almost
    always exactly, while copying the English scores no exact match at all;
    `attention.png` shows the decoder reading the units before the tens.
    On real sentence pairs (English–German dictionary sentences) it clearly
    beats copying the source, and regularisation (dropout, word dropout,
    label smoothing), a bidirectional encoder, the lexical model, dictionary
    phrases of three words or more, ensembling and MBR decoding each add to
    that; tied embeddings, weight averaging and the dictionary's single words
    did not help. It stays well below a modern system: a learning curve shows
    that more sentence pairs, not longer training, is what it lacks. Figures,
    settings and the learning curve are in `docs/recipes/translation.md`.
    """
    return metrics


if __name__ == "__main__":
    main()
