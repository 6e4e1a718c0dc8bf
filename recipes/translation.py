"""
Title: Sequence-to-sequence translation with an encoder–decoder LSTM
Author: lstm-apps
Date created: 2026-11-22
Description: An LSTM encoder–decoder with attention translates sentence pairs (bundled: English number phrases to German number words), scored with sacrebleu BLEU/chrF against copying the source.
"""  # noqa: E501

"""
## Introduction

The encoder–decoder LSTM (Sutskever, Vinyals & Le 2014) made neural machine
translation work: an encoder LSTM reads the source sentence, its final
states initialise a decoder LSTM, and the decoder writes the translation
one token at a time. Attention over the encoder outputs (Bahdanau et al.
2015; Luong et al. 2015) lets the decoder look back at the source word it is
translating instead of squeezing the sentence into one state.

**Bundled data.** `number_pairs` spells seeded integers 0..999,999 in
English and German: "three hundred twenty-one" → "dreihunderteinundzwanzig".
Small as it is, the task has real translation structure: the word order
flips (German says units before tens, "ein-und-zwanzig"), words fuse (the
whole number is one German word) and spelling changes inside compounds
("eins" but "einhundert", "sieben" but "siebzig"). Validation numbers never
occur in training, so the model must learn the grammar; its metric is exact
match. **Your data**: `--data FILE` (tab-separated `source<TAB>target`
pairs, the Anki format), `--dataset anki-fra` (the keras-io English–French
corpus, downloaded once), `--test-data FILE` (scored apart), `--extra-data`
(dictionary pairs trained on, never scored); `--translate "a sentence"`
translates with the latest run.

**Baseline and metrics.** Corpus BLEU and chrF from `sacrebleu` (with their
signatures) against the simplest translation there is, copying the source
sentence, which already earns chrF points for names, numbers and cognates.

## Setup
"""

import sys

from lstm_apps.datasets.dictionary import load_extra_pairs
from lstm_apps.datasets.translation import DATASETS, load_pairs, load_translation_pairs, split_train_dev_val
from lstm_apps.seq2seq import ATTENTION_KINDS, PairBatches, Translator, build_seq2seq
from lstm_apps.training import (
    existing_file,
    fraction,
    non_negative_int,
    positive_int,
    recipe_parser,
    run_recipe_main,
    start_run,
)
from lstm_apps.translation import (
    TOKEN_KINDS,
    compile_seq2seq,
    encode_pairs,
    evaluate_translator,
    export_parts,
    length_penalty_arg,
    plot_attention,
    results_rows,
    set_length_penalty,
    train_tokenizers,
    training_callbacks,
    translate_with_run,
    verdict,
)

"""
## Configuration

The shared flags (`--cell`, `--epochs`, `--learning-rate`, `--max-minutes`,
`--resume`, `--export`...) come from `recipe_parser`; `--quick` raises the
default learning rate 3e-3 to 1e-2. The translation flags are grouped by
what they change: the data, the model, its training, and decoding.
"""

RECIPE = "translation"
LEARNING_RATE = 3e-3
CELLS = ("lstm", "lstm1997", "gru", "simple_rnn")


def make_parser():
    parser = recipe_parser(
        RECIPE, __doc__, epochs=40, quick_epochs=3, cell="lstm", cells=CELLS, batch_size=64,
        learning_rate=LEARNING_RATE,
    )  # fmt: skip
    data = parser.add_argument_group("data").add_argument
    data("--data", type=existing_file, metavar="FILE", help="pairs file (source<TAB>target[<TAB>...])")
    data("--dataset", choices=DATASETS, default="numbers", help="bundled data without --data (numbers)")
    data("--test-data", type=existing_file, metavar="FILE", help="a pairs file scored apart (test_*)")
    data("--max-pairs", type=positive_int, metavar="N", help="read only the first N pairs of the data")
    data("--num-pairs", type=positive_int, default=12000, help="number words (12000; 1200 with --quick)")
    data("--train-pairs", type=positive_int, metavar="N", help="train on the first N training pairs only")
    data("--val-fraction", type=fraction, default=0.1, help="held-out validation fraction (0.1)")
    data("--extra-data", metavar="FILE", help="extra pairs: a Ding dictionary ('ding') or a pairs file")
    data("--extra-per-epoch", type=non_negative_int, metavar="N", help="extra pairs an epoch")
    data("--extra-min-words", type=positive_int, metavar="N", help="keep extra pairs of >= N words a side")
    data("--extra-sentences-only", action="store_true", help="keep extra pairs ending in . ! or ? only")
    data("--subwords-from", choices=("sentences", "all"), default="sentences", help="subword training text")
    model = parser.add_argument_group("model").add_argument
    model("--tokens", choices=TOKEN_KINDS, default="subword", help="subword (BPE) or character tokens")
    model("--vocab-size", type=positive_int, help="subwords a language (64 on number words, else 2000)")
    model("--max-length", type=positive_int, default=60, help="skip longer training pairs (60 tokens)")
    model("--units", type=positive_int, help="recurrent units (128 on number words, else 256; 32 --quick)")
    model("--embed-dim", type=positive_int, help="embedding size (default units // 2)")
    model("--bidirectional-encoder", action="store_true", help="read the source both ways")
    model("--attention", choices=ATTENTION_KINDS, default="luong", help="attention (default luong)")
    model("--tie-embeddings", action="store_true", help="score output tokens with the target embeddings")
    model("--lexical-model", action="store_true", help="add a lexical model's logits (needs attention)")
    model("--dropout", type=fraction, help="dropout (0 on number words, else 0.3)")
    model("--word-dropout", type=fraction, default=0.0, metavar="P", help="whole-token dropout (0)")
    train = parser.add_argument_group("training").add_argument
    train("--label-smoothing", type=fraction, default=0.0, metavar="EPS", help="label smoothing (0)")
    train("--ema", type=fraction, default=0.0, metavar="M", help="weight-averaging momentum (0: off)")
    train("--ensemble", type=positive_int, default=1, metavar="N", help="train N models, decode with all")
    train("--patience", type=positive_int, default=4, help="early-stopping patience (4 epochs)")
    decode = parser.add_argument_group("decoding").add_argument
    decode("--beam-width", type=positive_int, default=4, help="beam width (1 = greedy; default 4)")
    decode("--length-penalty", type=length_penalty_arg, default="auto", help="number >= 0 or auto")
    decode("--mbr-samples", type=non_negative_int, default=0, metavar="N", help="MBR samples (0: off)")
    decode("--samples", type=non_negative_int, default=8, help="sample translations printed (8)")
    decode("--translate", metavar="TEXT", help="translate TEXT with the latest run (or --from-run)")
    decode("--from-run", metavar="RUN_DIR", help="the run folder --translate uses")
    return parser


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
    numbers = args.data is None and args.dataset == "numbers"
    units = args.units or (32 if args.quick else 128 if numbers else 256)
    if args.lexical_model and args.attention == "none":
        parser.error("--lexical-model needs attention (luong or bahdanau), received --attention none")
    if args.bidirectional_encoder and units % 2:
        parser.error(f"--units must be even with --bidirectional-encoder, received {units}")
    if args.quick and args.learning_rate == LEARNING_RATE:
        args.learning_rate = 1e-2
    run = start_run(
        RECIPE, args, extra_config={
            "units": units, "embed_dim": args.embed_dim or max(16, units // 2),
            "vocab_size": args.vocab_size or (64 if numbers else 2000),
            "dropout": args.dropout if args.dropout is not None else (0.0 if numbers else 0.3),
        },
    )  # fmt: skip

    """
    ## Data

    Pairs are shuffled with the seed and split into training and a held-out
    validation split; early stopping and the choice of beam search's length
    penalty watch a further slice of the training pairs (the "dev" split).
    `--train-pairs N` keeps the first N training pairs and the same dev and
    validation splits (a learning curve).
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
    dictionary (`ding` downloads Debian's `trans-de-en`, 640,000 word and
    phrase pairs) or a pairs file. Every dictionary line that holds a dev,
    validation or test sentence is dropped whole, and so are extra pairs
    that repeat a training pair. Each epoch mixes all training sentences with
    the next `--extra-per-epoch` extra pairs. Subwords are learned from the
    training sentences (and the extra pairs with `--subwords-from all`).
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
        args.tokens, train_src + extra_src if everything else train_src,
        train_tgt + extra_tgt if everything else train_tgt, vocab_size=run.config["vocab_size"],
    )  # fmt: skip
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
    print(
        f"[{RECIPE}] {data_name}: {len(train_x)} training pairs ({len(train_src) - len(train_x)} longer than "
        f"{args.max_length} tokens skipped), {len(extra_x)} extra, {len(dev_src)} dev, {len(val_src)} "
        f"validation; {args.tokens} vocabularies {src_tok.vocab_size} / {tgt_tok.vocab_size}",
        file=sys.stderr,
    )

    """
    ## Model

    An embedding, an encoder of the `--cell` kind (`--bidirectional-encoder`
    reads the source both ways, half the units each), and a decoder of the
    same kind that starts from the encoder's final states and, with
    `--attention luong` (dot-product) or `bahdanau` (additive), combines its
    output with a context vector over all encoder outputs. The low-resource
    options of Sennrich & Zhang (2019), all off by default: `--word-dropout`,
    `--label-smoothing`, `--lexical-model` (logits straight from the attended
    source embeddings, Nguyen & Chiang 2018), `--tie-embeddings` (Press &
    Wolf 2017); `--ema` makes Adam keep a moving average of the weights.
    """
    members = []

    def build_member(k):
        with run.strategy.scope():
            parts = build_seq2seq(
                src_tok.vocab_size, tgt_tok.vocab_size, cell=args.cell, units=units,
                embed_dim=run.config["embed_dim"], attention=args.attention, dropout=run.config["dropout"],
                word_dropout=args.word_dropout, bidirectional_encoder=args.bidirectional_encoder,
                lexical_model=args.lexical_model, tie_embeddings=args.tie_embeddings,
            )  # fmt: skip
            compile_seq2seq(parts.model, args.learning_rate, args.label_smoothing, args.ema)
        members.append(parts)
        return parts.model

    """
    ## Train

    Teacher forcing: the decoder reads the reference shifted by one token.
    Early stopping on the dev loss keeps the best weights (the averaged ones
    with `--ema`). `--ensemble N` trains N models on the same split and
    vocabularies, each from its own seed (initial weights, dropout and batch
    order); `run.fit_members` gives each an equal share of what is left of
    the time budget and keeps the finished ones across `--resume`.
    """
    trained = run.fit_members(
        args.ensemble, build_member, lambda k: (batches(args.seed + k) if k else train_batches).dataset(),
        validation_data=dev_batches.dataset(), shuffle=False,
        callbacks=lambda k: training_callbacks(args.patience, args.ema),  # fresh ones for each member
    )  # fmt: skip
    epochs = [len(history.get("loss", [])) for _, history in trained]

    """
    ## Evaluate

    The members translate together, their next-token probabilities averaged.
    Beam search ranks translations by log-probability over a length penalty
    whose exponent, with `--length-penalty auto`, is the one of 0.6, 1, 1.5
    and 2 that translates the dev split best (chrF). `--mbr-samples N`
    reports a minimum-Bayes-risk choice (Eikema & Aziz 2020): of the beam
    output and N sampled translations, the one that agrees best (chrF) with
    the samples. Every decoding, an ensemble's first member alone and copying
    the source are scored on the validation split (and on `--test-data`).
    """
    singles = [Translator(m.encoder, m.decoder_step, src_tok, tgt_tok, args.attention) for m in members]
    translator = Translator.ensemble(singles) if len(singles) > 1 else singles[0]
    dev_chrf = set_length_penalty(translator, args.length_penalty, dev_src, dev_tgt, args.beam_width)
    decoding = {"beam_width": args.beam_width, "mbr_samples": args.mbr_samples, "seed": args.seed}
    member = singles[0] if len(singles) > 1 else None
    hyps, metrics, seconds = evaluate_translator(translator, val_src, val_tgt, member=member, **decoding)
    per_member = {f"epochs_trained_member_{k}": n for k, n in enumerate(epochs)} if len(epochs) > 1 else {}
    metrics.update(
        dev_chrf, train_pairs=len(train_x), extra_pairs=len(extra_x),
        extra_pairs_per_epoch=train_batches.extra_per_epoch, val_pairs=len(val_src), ensemble=args.ensemble,
        epochs_trained=epochs[0], **per_member,
    )  # fmt: skip
    metrics["decode_seconds"] = round(seconds, 1)
    if args.test_data:
        test = evaluate_translator(translator, test_src, test_tgt, prefix="test", compare=False, **decoding)[
            1
        ]
        metrics.update({k: v for k, v in test.items() if k.startswith("test_")}, test_pairs=len(test_src))
    rows = results_rows(metrics, args.beam_width, args.mbr_samples, args.ensemble)
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
    member); `encoder.keras` and `decoder_step.keras` (one step: token and
    states in, logits and states out), the whole ensemble's, are what
    inference needs, with the tokenizers in `translator.json`. `--export`
    makes LiteRT files of those two, each checked against Keras:
    `decoder_step.tflite` is called once per generated token on a device.
    """
    source, target = (part[:4] for part in train_batches.batch(0)[0])
    run.save_model(members[0].model, sample_inputs=[source, target], export=False)
    translator.save(run.path)
    if args.export:
        run.export(export_parts(translator, source, target), mode="sequence")
    metrics = run.finish(metrics)

    """
    ## Conclusion

    On the bundled number words the encoder–decoder learns the German grammar
    of numbers from a few thousand examples and spells unseen numbers almost
    always exactly, while copying the English scores no exact match at all;
    `attention.png` shows the decoder reading the units before the tens. On
    real sentence pairs (English–German dictionary sentences) it clearly
    beats copying the source; regularisation, a bidirectional encoder, the
    lexical model, the dictionary's phrases, ensembling and MBR decoding each
    add to that, while tied embeddings, weight averaging and the dictionary's
    single words did not help. It stays well below a modern system: its
    learning curve says more sentence pairs, not longer training, is what it
    lacks. Figures and settings are in `docs/recipes/translation.md`.
    """
    return metrics


if __name__ == "__main__":
    run_recipe_main(main)
