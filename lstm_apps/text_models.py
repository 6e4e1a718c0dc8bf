"""Recurrent text classifiers that take raw strings: build, seed, pretrain, train, explain.

The sentiment recipe's model, as reusable parts:

* :class:`TextClassifierSpec` and :func:`build_text_classifier`:
  ``TextVectorization`` inside the model (so a saved ``.keras`` file takes raw
  strings) → embedding → a recurrent encoder of any kind of
  :func:`lstm_apps.layers.recurrent` (optionally bidirectional) → its last state
  or the mean of its states → dropout → P(positive). Optional one-column
  embeddings carry each word's polarity beside its vector (``polarity``: the
  naive-Bayes log-count ratio, Wang & Manning 2012; ``lexicon``: a sentiment
  lexicon's score), and ``wide=True`` adds a linear function of the text's mean
  polarity to the logit (wide & deep).
* :func:`classifier_vocabulary`: the training texts' words, optionally extended
  by the most frequent words of pretrained vectors, so a word the labelled
  texts never contain still reaches the model with its vector.
* :func:`pretrain_language_model`: next-word language-model pretraining of the
  embedding and the recurrent layer (Dai & Le 2015).
* :func:`seed_polarity_column`, :func:`seed_lexicon_column`: fill the polarity
  columns.
* :func:`train_text_classifiers`: one classifier or an ensemble (vocabulary,
  pretrained vectors, pretraining, seeding, early stopping on a monitor
  slice, optional refit); :func:`average_members` joins them into one model.
* :func:`input_gate_activity` and :func:`explanation_figure`: what each word
  wrote into memory, and the running prediction over a text's prefixes.

Functions that train take a ``run``, the recipe harness's
:class:`lstm_apps.training.Run` (its ``fit``, ``fit_members`` and ``strategy``).

Example:

```python
spec = TextClassifierSpec(cell="lstm", units=32, embedding_dim=32)
vectorizer = make_vectorizer(classifier_vocabulary(texts, spec.max_tokens), spec.max_length)
model = build_text_classifier(spec, vectorizer)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(as_text_input(texts), labels.astype("float32"), epochs=3)
probabilities = predict_texts(model, ["not very good , but fun"])
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from lstm_apps.datasets.sentiment import SentimentData, naive_bayes_log_ratios
from lstm_apps.datasets.word_vectors import WordVectors, embedding_matrix
from lstm_apps.layers import LSTM1997, recurrent

__all__ = [
    "TextClassifierSpec",
    "as_text_input",
    "predict_texts",
    "binary_accuracy",
    "classifier_vocabulary",
    "make_vectorizer",
    "build_text_classifier",
    "encoder_layers",
    "reverse_rows",
    "pretrain_language_model",
    "seed_polarity_column",
    "seed_lexicon_column",
    "best_epoch_count",
    "train_text_classifiers",
    "average_members",
    "compare_with_baseline",
    "input_gate_activity",
    "explanation_figure",
]

POOLINGS = ("last", "mean")


@dataclass
class TextClassifierSpec:
    """The shape of a raw-string text classifier.

    Args:
        cell: recurrent kind of :func:`lstm_apps.layers.recurrent`.
        units: recurrent units.
        embedding_dim: word embedding size (the vectors' size with pretrained vectors).
        dropout: spatial dropout on the embeddings and dropout on the encoding, in ``[0, 1)``.
        bidirectional: wrap the recurrent layer in ``keras.layers.Bidirectional``.
        pooling: ``"last"`` (the last state) or ``"mean"`` (the mean of the states over the tokens).
        polarity_column: one more embedding column per word (layer ``polarity``), for
            :func:`seed_polarity_column`; exempt from the spatial dropout.
        lexicon_column: one more embedding column per word (layer ``lexicon``), for
            :func:`seed_lexicon_column`; exempt from the spatial dropout.
        wide: add to the encoder's logit a linear function of the text's mean polarity
            (needs ``polarity_column``).
        max_tokens: vocabulary taken from the training texts, padding and ``[UNK]`` included.
        max_length: pad/truncate every text to this many tokens (``None``: padded per batch).
        vectors_vocabulary: with pretrained vectors, add the file's this many most frequent words.
        freeze_embedding: with pretrained vectors, keep the embedding fixed.

    Example:

    >>> TextClassifierSpec(units=8, embedding_dim=8).pooling
    'last'
    """

    cell: str = "lstm"
    units: int = 64
    embedding_dim: int = 64
    dropout: float = 0.3
    bidirectional: bool = False
    pooling: str = "last"
    polarity_column: bool = False
    lexicon_column: bool = False
    wide: bool = False
    max_tokens: int = 10000
    max_length: int | None = None
    vectors_vocabulary: int = 0
    freeze_embedding: bool = False

    def __post_init__(self):
        for name in ("units", "embedding_dim", "max_tokens", "max_length"):
            value = getattr(self, name)
            if value is None and name == "max_length":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, received {value!r}.")
        if isinstance(self.vectors_vocabulary, bool) or self.vectors_vocabulary < 0:
            raise ValueError(f"vectors_vocabulary must be >= 0, received {self.vectors_vocabulary!r}.")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), received {self.dropout!r}.")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, received {self.pooling!r}.")
        if self.wide and not self.polarity_column:
            raise ValueError("wide=True reads the word-polarity column: it needs polarity_column=True.")


# ---------------------------------------------------------------------------
# Inputs, predictions, accuracy
# ---------------------------------------------------------------------------
def as_text_input(texts: Sequence[str]):
    """A ``(n, 1)`` string tensor, the classifier's input."""
    import tensorflow as tf

    return tf.constant(np.asarray(list(texts), dtype=object).reshape(-1, 1), dtype=tf.string)


def predict_texts(model: keras.Model, texts: Sequence[str]) -> np.ndarray:
    """P(positive) of each text, shape ``(n,)``."""
    return np.asarray(model.predict(as_text_input(texts), verbose=0, batch_size=256)).reshape(-1)


def binary_accuracy(labels, probabilities) -> float:
    """Share of texts whose probability falls on the side of 0.5 of their 0/1 label."""
    labels, probabilities = np.asarray(labels).reshape(-1), np.asarray(probabilities).reshape(-1)
    if labels.shape != probabilities.shape:
        raise ValueError(
            f"labels and probabilities differ in length: received {len(labels)} and {len(probabilities)}."
        )
    return float(np.mean((probabilities > 0.5).astype(int) == labels))


# ---------------------------------------------------------------------------
# Vocabulary and model
# ---------------------------------------------------------------------------
# what TextVectorization's default standardize strips, plus whitespace: no standardized token holds one
_NOT_A_TOKEN = re.compile(r"[\s!\"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']")


def classifier_vocabulary(
    texts: Sequence[str],
    max_tokens: int,
    word_vectors: WordVectors | None = None,
    vectors_vocabulary: int = 0,
) -> list[str]:
    """The vectorizer's vocabulary (without padding and ``[UNK]``).

    Args:
        texts: the labelled training texts.
        max_tokens: vocabulary from the texts, by frequency, padding and ``[UNK]`` included.
        word_vectors: pretrained vectors whose words may extend the vocabulary.
        vectors_vocabulary: then add the vectors' this many most frequent words not yet in it,
            keeping only words a standardized text can contain (lower case, no stripped
            punctuation, no whitespace).

    Returns:
        The words, training words first.

    Example:

    >>> classifier_vocabulary(["good film", "good plot"], max_tokens=10)[0]
    'good'
    """
    probe = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="int")
    probe.adapt(np.asarray(list(texts)))
    vocab = probe.get_vocabulary()[2:]  # without the padding "" and "[UNK]"
    if word_vectors is not None and vectors_vocabulary:
        have = set(vocab)
        for word in word_vectors.words[:vectors_vocabulary]:
            if word not in have and word == word.lower() and not _NOT_A_TOKEN.search(word):
                have.add(word)
                vocab.append(word)
    return vocab


def make_vectorizer(
    vocabulary: Sequence[str], max_length: int | None = None
) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` layer named ``vectorizer`` with a fixed vocabulary."""
    return keras.layers.TextVectorization(
        output_mode="int",
        output_sequence_length=max_length,
        vocabulary=list(vocabulary),
        name="vectorizer",
    )


def build_text_classifier(
    spec: TextClassifierSpec, vectorizer: keras.layers.TextVectorization, name: str = "sentiment"
) -> keras.Model:
    """Raw strings → token ids → embedding → recurrent encoder → P(positive).

    Args:
        spec: the model's shape.
        vectorizer: maps the ``(n, 1)`` strings to token ids (0 = padding).
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model`` with layers ``embedding``, ``encoder`` (or
        ``bidirectional``), ``head`` and, as asked, ``polarity``, ``lexicon``,
        ``word_features``, ``deep_logit``, ``wide_logit``.
    """
    vocab_size = vectorizer.vocabulary_size()
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    ids = vectorizer(inputs)
    x = keras.layers.Embedding(vocab_size, spec.embedding_dim, mask_zero=True, name="embedding")(ids)
    x = keras.layers.SpatialDropout1D(spec.dropout, name="embedding_dropout")(x)
    # one more column per word each, kept out of the spatial dropout (which would blank it for whole texts)
    extra = []
    polarity = None
    if spec.polarity_column:
        polarity = keras.layers.Embedding(vocab_size, 1, mask_zero=True, name="polarity")(ids)
        extra.append(polarity)
    if spec.lexicon_column:
        extra.append(keras.layers.Embedding(vocab_size, 1, mask_zero=True, name="lexicon")(ids))
    if extra:
        x = keras.layers.Concatenate(name="word_features")([x, *extra])
    layer = recurrent(spec.cell, spec.units, return_sequences=spec.pooling != "last", name="encoder")
    if spec.bidirectional:
        layer = keras.layers.Bidirectional(layer, name="bidirectional")
    x = layer(x)
    if spec.pooling == "mean":
        x = keras.layers.GlobalAveragePooling1D(name="pooling")(x)  # honours the padding mask
    x = keras.layers.Dropout(spec.dropout, name="dropout")(x)
    if not spec.wide:
        outputs = keras.layers.Dense(1, activation="sigmoid", name="head")(x)
        return keras.Model(inputs, outputs, name=name)
    # wide & deep: the encoder's logit plus a linear function of the text's mean word polarity
    deep = keras.layers.Dense(1, name="deep_logit")(x)
    mean_polarity = keras.layers.GlobalAveragePooling1D(name="mean_polarity")(polarity)  # masked mean
    wide = keras.layers.Dense(1, name="wide_logit")(mean_polarity)
    outputs = keras.layers.Activation("sigmoid", name="head")(keras.layers.Add(name="logit")([deep, wide]))
    return keras.Model(inputs, outputs, name=name)


def encoder_layers(model: keras.Model) -> tuple[keras.layers.Layer, keras.layers.Layer | None]:
    """The forward recurrent layer of a classifier and its backward one (``None`` when unidirectional)."""
    names = [layer.name for layer in model.layers]
    if "bidirectional" in names:
        bi = model.get_layer("bidirectional")
        return bi.forward_layer, bi.backward_layer
    return model.get_layer("encoder"), None


# ---------------------------------------------------------------------------
# Pretraining and seeding
# ---------------------------------------------------------------------------
def reverse_rows(ids) -> np.ndarray:
    """Reverse the tokens of each row of right-padded ids, keeping the padding (0) at the end.

    Example:

    >>> reverse_rows(np.array([[3, 4, 5, 0]])).tolist()
    [[5, 4, 3, 0]]
    """
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise ValueError(f"ids must be a 2-D array (texts x tokens), received shape {ids.shape}.")
    out = np.zeros_like(ids)
    for i, row in enumerate(ids):
        n = int(np.count_nonzero(row))
        out[i, :n] = row[:n][::-1]
    return out


def pretrain_language_model(
    run,
    model: keras.Model,
    spec: TextClassifierSpec,
    texts: Sequence[str],
    *,
    epochs: int,
    lm_vocab: int = 2000,
    learning_rate: float = 2e-3,
    batch_size: int = 32,
    suffix: str = "",
) -> dict:
    """Next-word language-model pretraining of a classifier's embedding and recurrent layer.

    A copy of the embedding and of the recurrent layer (``return_sequences``)
    learns P(w_t+1 | w_1..t) on ``texts``; the learned weights are then copied
    into the classifier (Dai & Le 2015). A bidirectional encoder's backward
    layer is pretrained the same way on reversed texts (its embedding is not
    copied back: the forward model's is).

    Args:
        run: has ``fit(model, *args, history_name=..., **kwargs)`` and ``strategy``.
        model: a classifier of :func:`build_text_classifier` without polarity columns.
        spec: its spec.
        texts: unlabeled texts.
        epochs: pretraining epochs.
        lm_vocab: the words the model predicts (the most frequent); rarer ones count as ``[UNK]``.
        learning_rate: Adam learning rate.
        batch_size: batch size.
        suffix: appended to the history names (``pretrain_<direction>_history<suffix>``).

    Returns:
        ``{"pretrain_forward_loss": ..., ["pretrain_backward_loss": ...]}``, the last epoch's losses.
    """
    if spec.polarity_column or spec.lexicon_column:
        raise ValueError(
            "language-model pretraining reads the plain embedding: it cannot pretrain a classifier with "
            "polarity or lexicon columns."
        )
    if epochs <= 0 or lm_vocab <= 0:
        raise ValueError(f"epochs and lm_vocab must be positive, received {epochs!r} and {lm_vocab!r}.")
    vectorizer = model.get_layer("vectorizer")
    ids = np.asarray(vectorizer(as_text_input(texts)))
    vocab = vectorizer.vocabulary_size()
    lm_vocab = min(vocab, lm_vocab)  # the vocabulary is sorted by frequency; rarer targets become [UNK] (1)
    forward, backward = encoder_layers(model)
    results = {}
    for direction, target_layer in (("forward", forward), ("backward", backward)):
        if target_layer is None:
            continue
        seq = ids if direction == "forward" else reverse_rows(ids)
        seq = seq[np.count_nonzero(seq, axis=1) >= 2]
        x, y = seq[:, :-1], np.where(seq[:, 1:] >= lm_vocab, 1, seq[:, 1:])
        weights = (y != 0).astype("float32")
        with run.strategy.scope():
            inp = keras.Input(shape=(None,), dtype="int32")
            emb = keras.layers.Embedding(
                vocab,
                spec.embedding_dim,
                mask_zero=True,
                name="lm_embedding",
                trainable=not spec.freeze_embedding,
            )
            rnn = recurrent(spec.cell, spec.units, return_sequences=True, name=f"lm_{direction}")
            h = keras.layers.Dropout(spec.dropout)(rnn(emb(inp)))
            logits = keras.layers.Dense(lm_vocab, name="lm_head")(h)
            lm = keras.Model(inp, logits, name=f"language_model_{direction}")
            # starts where the classifier's embedding does (pretrained vectors, if any)
            emb.set_weights(model.get_layer("embedding").get_weights())
            lm.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                weighted_metrics=[],
            )
        history = run.fit(
            lm,
            x,
            y,
            sample_weight=weights,
            epochs=epochs,
            batch_size=batch_size,
            history_name=f"pretrain_{direction}_history{suffix}",
        )
        results[f"pretrain_{direction}_loss"] = float(history.history["loss"][-1])
        if direction == "forward":
            model.get_layer("embedding").set_weights(emb.get_weights())
        target_layer.set_weights(rnn.get_weights())
    return results


def seed_polarity_column(model: keras.Model, labelled: SentimentData) -> np.ndarray:
    """Fill the ``polarity`` embedding with each word's naive-Bayes log-count ratio.

    The ratios (:func:`lstm_apps.datasets.sentiment.naive_bayes_log_ratios`)
    come from ``labelled``, the texts the classifier is fitted on (never the
    validation or early-stopping texts), scaled to unit standard deviation over
    the vocabulary. The column stays trainable.

    Returns:
        The assigned ``(vocabulary_size,)`` column.
    """
    vectorizer = model.get_layer("vectorizer")
    ids = np.asarray(vectorizer(as_text_input(labelled.texts)))
    r = naive_bayes_log_ratios(ids, labelled.labels, vectorizer.vocabulary_size())
    r = r / max(float(r[1:].std()), 1e-6)
    model.get_layer("polarity").embeddings.assign(r[:, None])
    return r


def seed_lexicon_column(model: keras.Model, lexicon: Mapping[str, float]) -> float:
    """Fill the ``lexicon`` embedding with each vocabulary word's lexicon score (0 if absent).

    Returns:
        The share of the vocabulary (padding and ``[UNK]`` left out) the lexicon covers.
    """
    vocab = model.get_layer("vectorizer").get_vocabulary()
    scores = np.array([[lexicon.get(w, 0.0)] for w in vocab], dtype="float32")
    model.get_layer("lexicon").embeddings.assign(scores)
    return float(np.mean([w in lexicon for w in vocab[2:]])) if len(vocab) > 2 else 0.0


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------
def _compile(run, model: keras.Model, learning_rate: float) -> None:
    with run.strategy.scope():
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"]
        )


def best_epoch_count(history: Mapping[str, Sequence[float]], monitor: str = "val_accuracy") -> int:
    """The number of epochs after which ``monitor`` peaked (its first maximum), as early stopping keeps.

    Falls back to the number of epochs run when ``monitor`` is missing or never finite.

    Example:

    >>> best_epoch_count({"loss": [3, 2, 1, 1], "val_accuracy": [0.5, 0.7, 0.7, 0.6]})
    2
    """
    values = np.asarray(history.get(monitor, []), dtype="float64")
    if values.size and np.isfinite(values).any():
        return int(np.nanargmax(np.where(np.isfinite(values), values, np.nan))) + 1
    return len(next(iter(history.values()), []))


def _prepare_member(
    run,
    spec: TextClassifierSpec,
    train: SentimentData,
    fit_set: SentimentData,
    *,
    word_vectors,
    lexicon,
    unlabeled,
    pretrain_epochs: int,
    lm_vocab: int,
    learning_rate: float,
    batch_size: int,
    seed: int,
    member: int,
    name: str,
    notes: dict,
):
    """Member ``member`` compiled and ready to fit, and its weights before the polarity column is seeded."""
    suffix = f"_member_{member}" if member else ""
    with run.strategy.scope():
        # each member has its own vectorizer (the same vocabulary): a Keras model file cannot hold one
        # lookup layer shared by nested models
        vocabulary = classifier_vocabulary(
            train.texts, spec.max_tokens, word_vectors, spec.vectors_vocabulary
        )
        model = build_text_classifier(spec, make_vectorizer(vocabulary, spec.max_length), name=name + suffix)
    vectorizer = model.get_layer("vectorizer")
    if word_vectors is not None:
        matrix, found = embedding_matrix(
            vectorizer.get_vocabulary(), word_vectors, seed=seed + member, reserved=2
        )
        model.get_layer("embedding").embeddings.assign(matrix)
        model.get_layer("embedding").trainable = not spec.freeze_embedding
        notes[f"word_vectors_vocabulary_coverage{suffix}"] = found
        notes[f"vocabulary_size{suffix}"] = vectorizer.vocabulary_size()
    if pretrain_epochs > 0:
        losses = pretrain_language_model(
            run,
            model,
            spec,
            list(unlabeled if unlabeled is not None else train.texts),
            epochs=pretrain_epochs,
            lm_vocab=lm_vocab,
            learning_rate=learning_rate,
            batch_size=batch_size,
            suffix=suffix,
        )
        notes.update({f"{k}{suffix}": v for k, v in losses.items()})
    if lexicon is not None:
        notes["lexicon_vocabulary_coverage"] = seed_lexicon_column(model, lexicon)
    start_weights = model.get_weights()  # after pretraining: the refit starts here too
    if spec.polarity_column:
        seed_polarity_column(model, fit_set)
    _compile(run, model, learning_rate)
    return model, start_weights


def train_text_classifiers(
    run,
    spec: TextClassifierSpec,
    train: SentimentData,
    fit_set: SentimentData | None = None,
    monitor: SentimentData | None = None,
    *,
    members: int = 1,
    word_vectors: WordVectors | None = None,
    lexicon: Mapping[str, float] | None = None,
    unlabeled: Sequence[str] | None = None,
    pretrain_epochs: int = 0,
    lm_vocab: int = 2000,
    learning_rate: float = 2e-3,
    batch_size: int = 32,
    patience: int = 3,
    refit: bool = False,
    seed: int = 0,
    name: str = "sentiment",
) -> tuple[list[keras.Model], dict]:
    """Build, (pretrain,) seed and train one classifier or an ensemble of them.

    Each member's vocabulary comes from ``train`` (plus, with ``word_vectors``
    and ``spec.vectors_vocabulary``, the vectors' most frequent words); its
    embedding starts from ``word_vectors`` when given. The members train one
    after another with ``run.fit_members`` (member ``k > 0`` after
    ``set_seed(seed + k)``, resumable with ``--resume``). With ``monitor``,
    early stopping watches its accuracy (``patience`` epochs) and keeps the
    best weights; ``refit=True`` then trains each member again, from the same
    start, on the whole of ``train`` for the epoch count early stopping chose.

    Args:
        run: the harness's :class:`~lstm_apps.training.Run` (``fit_members``, ``fit``, ``strategy``).
        spec: the model's shape (``embedding_dim`` must match ``word_vectors``).
        train: the labelled training split.
        fit_set: the texts fitted on (default ``train``); ``monitor`` is held out of them.
        monitor: the early-stopping slice, or ``None``.
        members: the number of classifiers (different initialisations and shuffling, the same split).
        word_vectors: pretrained vectors for the embedding.
        lexicon: ``{word: score}`` for the ``lexicon`` column.
        unlabeled: texts for ``pretrain_epochs`` of language-model pretraining.
        pretrain_epochs, lm_vocab: see :func:`pretrain_language_model`.
        learning_rate, batch_size: Adam learning rate and batch size.
        patience: early-stopping patience in epochs.
        refit: retrain on ``train`` for the early-stopped epoch count (needs ``monitor``).
        seed: seed of the random rows of words the vectors lack (plus the member's index).
        name: the model's name; member ``k > 0`` is ``<name>_member_<k>`` and writes
            ``history_member_<k>``.

    Returns:
        ``(models, notes)``: the trained members and their notes for ``metrics.json``
        (``vocabulary_size``, ``word_vectors_vocabulary_coverage``, ``pretrain_*_loss``,
        ``refit_epochs``, suffixed ``_member_<k>`` for member ``k > 0``;
        ``lexicon_vocabulary_coverage``).
    """
    if word_vectors is not None and word_vectors.dim != spec.embedding_dim:
        raise ValueError(
            f"embedding_dim {spec.embedding_dim} differs from the {word_vectors.dim} dimensions of the "
            f"word vectors {word_vectors.source!r}."
        )
    if refit and monitor is None:
        raise ValueError("refit=True needs a monitor slice: early stopping chooses the epoch count.")
    if (lexicon is not None) != spec.lexicon_column:
        raise ValueError("a lexicon is needed exactly when spec.lexicon_column is True.")
    fit_set = train if fit_set is None else fit_set
    notes: dict = {}
    start_weights: dict[int, list] = {}

    def build(k: int) -> keras.Model:
        model, start_weights[k] = _prepare_member(
            run, spec, train, fit_set, word_vectors=word_vectors, lexicon=lexicon, unlabeled=unlabeled,
            pretrain_epochs=pretrain_epochs, lm_vocab=lm_vocab, learning_rate=learning_rate,
            batch_size=batch_size, seed=seed, member=k, name=name, notes=notes,
        )  # fmt: skip
        return model

    def callbacks(k: int) -> list:
        if monitor is None:
            return []
        return [
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy", patience=patience, restore_best_weights=True
            )
        ]

    fit_kwargs = {}
    if monitor is not None:
        fit_kwargs["validation_data"] = (as_text_input(monitor.texts), monitor.labels.astype("float32"))
    x, y = as_text_input(fit_set.texts), fit_set.labels.astype("float32")
    trained = run.fit_members(
        members,
        build,
        lambda k: (x, y),
        callbacks=callbacks,
        batch_size=batch_size,
        shuffle=True,
        **fit_kwargs,
    )
    if refit:
        # the monitor slice chose the epoch count; now every training text is used, from the same start
        for k, (model, history) in enumerate(trained):
            suffix = f"_member_{k}" if k else ""
            epochs = best_epoch_count(history)
            model.set_weights(start_weights[k])
            if spec.polarity_column:
                seed_polarity_column(model, train)
            _compile(run, model, learning_rate)
            run.fit(
                model,
                as_text_input(train.texts),
                train.labels.astype("float32"),
                batch_size=batch_size,
                epochs=epochs,
                shuffle=True,
                history_name=f"refit_history{suffix}",
            )
            notes[f"refit_epochs{suffix}"] = epochs
    return [model for model, _ in trained], notes


def average_members(members: Sequence[keras.Model], name: str = "sentiment_ensemble") -> keras.Model:
    """One model taking raw strings whose P(positive) is the mean of the members'."""
    if len(members) < 2:
        raise ValueError(f"average_members needs at least two members, received {len(members)}.")
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    outputs = keras.layers.Average(name="ensemble_mean")([m(inputs) for m in members])
    return keras.Model(inputs, outputs, name=name)


# ---------------------------------------------------------------------------
# Evaluation against a baseline
# ---------------------------------------------------------------------------
def compare_with_baseline(
    model: keras.Model,
    baseline,
    val: SentimentData,
    test: SentimentData | None = None,
    *,
    model_name: str = "recurrent model",
    baseline_name: str = "TF-IDF 1-2-grams + LR (baseline)",
    by_clause: bool = False,
) -> tuple[dict, list[dict], str]:
    """Accuracy of a classifier and a baseline on the same held-out texts, with the n-gram ceiling.

    Args:
        model: a raw-string classifier (P(positive) per text).
        baseline: has ``predict_proba(texts)`` (P(positive)) and ``score(texts, labels)``, e.g.
            :class:`lstm_apps.baselines.text.TfidfLogisticRegression`.
        val: the validation split.
        test: a separate labelled set, or ``None``.
        model_name, baseline_name: their names in the table.
        by_clause: also score contrast reviews (``", but "``) and single-clause ones apart
            (the generated reviews' two kinds).

    Returns:
        ``(metrics, rows, verdict)``: ``val_accuracy_model``, ``val_accuracy_baseline``,
        ``val_ngram_ceiling`` (:func:`lstm_apps.datasets.sentiment.ngram_ceiling`), with
        ``by_clause`` ``val_accuracy_{model,baseline}_{contrast,single_clause}``, with ``test``
        ``test_accuracy_{model,baseline}`` and ``n_test``; the results table's rows (the ceiling
        only when below 1: real sentences seldom share their n-gram counts, and a ceiling of 1
        says nothing); and a one-paragraph verdict.
    """
    from lstm_apps.datasets.sentiment import ngram_ceiling

    p_val, b_val = predict_texts(model, val.texts), baseline.predict_proba(val.texts)
    metrics = {
        "val_accuracy_model": binary_accuracy(val.labels, p_val),
        "val_accuracy_baseline": binary_accuracy(val.labels, b_val),
        "val_ngram_ceiling": ngram_ceiling(val.texts, val.labels),
    }
    rows = [
        {"model": model_name, "split": "validation", "accuracy": metrics["val_accuracy_model"]},
        {"model": baseline_name, "split": "validation", "accuracy": metrics["val_accuracy_baseline"]},
    ]
    if test is not None:
        metrics["test_accuracy_model"] = binary_accuracy(test.labels, predict_texts(model, test.texts))
        metrics["test_accuracy_baseline"] = baseline.score(test.texts, test.labels)
        metrics["n_test"] = len(test)
        rows.insert(1, {"model": model_name, "split": "test", "accuracy": metrics["test_accuracy_model"]})
        rows.append({"model": baseline_name, "split": "test", "accuracy": metrics["test_accuracy_baseline"]})
    if metrics["val_ngram_ceiling"] < 1.0:
        rows.append(
            {
                "model": "ceiling of any 1-2-gram-count classifier",
                "split": "validation",
                "accuracy": metrics["val_ngram_ceiling"],
            }
        )
    gap = metrics["val_accuracy_model"] - metrics["val_accuracy_baseline"]
    if round(gap * 100, 1) == 0:
        verdict = "The recurrent model ties with the TF-IDF baseline on the validation split."
    else:
        verdict = (
            f"The recurrent model {'beats' if gap > 0 else 'trails'} the TF-IDF baseline on the "
            f"validation split by {abs(gap) * 100:.1f} points."
        )
    if by_clause:
        contrast = np.array([", but " in t for t in val.texts])
        for part, mask in (("contrast", contrast), ("single_clause", ~contrast)):
            if mask.any():
                metrics[f"val_accuracy_model_{part}"] = binary_accuracy(val.labels[mask], p_val[mask])
                metrics[f"val_accuracy_baseline_{part}"] = binary_accuracy(val.labels[mask], b_val[mask])
        get = lambda key: metrics.get(key, float("nan"))  # noqa: E731
        verdict += (
            f" On contrast reviews: model {get('val_accuracy_model_contrast'):.3f}, baseline "
            f"{get('val_accuracy_baseline_contrast'):.3f} (twins defeat any bag of 1-2-grams); "
            f"on single-clause reviews: model {get('val_accuracy_model_single_clause'):.3f}, "
            f"baseline {get('val_accuracy_baseline_single_clause'):.3f}."
        )
    return metrics, rows, verdict


# ---------------------------------------------------------------------------
# Explanation
# ---------------------------------------------------------------------------
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def input_gate_activity(model: keras.Model, text: str) -> tuple[list[str], np.ndarray, str]:
    """Per-token input-gate activity of a classifier's forward recurrent layer for one text.

    LSTM1997: the mean input gate from its gate telemetry; Keras LSTM: the mean
    input gate recomputed from its weights; GRU: one minus the mean update gate
    (the share of the new candidate written into the state); SimpleRNN (no
    gates): the mean absolute state change per token.

    Returns:
        ``(tokens, activity, what)``: the text's tokens, one activity per token
        and the name of the quantity.
    """
    vectorizer = model.get_layer("vectorizer")
    vocab = vectorizer.get_vocabulary()
    ids = np.asarray(vectorizer(as_text_input([text])))[0]
    ids = ids[ids != 0]
    tokens = [vocab[i] for i in ids]
    features = "word_features" if "word_features" in [layer.name for layer in model.layers] else "embedding"
    embedder = keras.Model(model.inputs, model.get_layer(features).output)
    emb = np.asarray(embedder.predict(as_text_input([text]), verbose=0))[:, : len(ids)]
    layer, _ = encoder_layers(model)
    if isinstance(layer, LSTM1997):
        gates = layer.gate_activations(emb)["input_gate"][0]
        return tokens, gates.mean(axis=-1), "input gate (mean over cells)"
    cell = layer.cell
    h = np.asarray(keras.layers.RNN(cell, return_sequences=True)(emb))[0]
    h_prev = np.vstack([np.zeros((1, h.shape[1]), h.dtype), h[:-1]])
    u = h.shape[1]
    if isinstance(layer, keras.layers.LSTM):
        kernel, rec, bias = (np.asarray(w) for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
        i = _sigmoid(emb[0] @ kernel[:, :u] + h_prev @ rec[:, :u] + bias[:u])
        return tokens, i.mean(axis=-1), "input gate (mean over units)"
    if isinstance(layer, keras.layers.GRU):
        kernel, rec, bias = (np.asarray(w) for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
        b_in, b_rec = (bias[0], bias[1]) if bias.ndim == 2 else (bias, np.zeros_like(bias))
        z = _sigmoid(emb[0] @ kernel[:, :u] + b_in[:u] + h_prev @ rec[:, :u] + b_rec[:u])
        return tokens, (1.0 - z).mean(axis=-1), "1 - update gate (mean over units)"
    return tokens, np.abs(h - h_prev).mean(axis=-1), "mean |state change| (no gates)"


def explanation_figure(model: keras.Model, text: str, label: int):
    """Input-gate activity and running prediction, token by token, for one text.

    Returns:
        ``(figure, detail)``: a matplotlib figure and ``{"tokens", "activity",
        "running_prediction"}`` (the prediction on each prefix of the text).
    """
    import matplotlib.pyplot as plt

    tokens, activity, activity_name = input_gate_activity(model, text)
    running = predict_texts(model, [" ".join(tokens[: t + 1]) for t in range(len(tokens))])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8, 0.32 * len(tokens)), 5.5), sharex=True)
    pos = np.arange(len(tokens))
    ax1.bar(pos, activity, color="tab:blue")
    ax1.set_ylabel(activity_name, fontsize=8)
    ax1.set_title(
        f"one validation review (label {'positive' if label else 'negative'}): "
        "what each word wrote, and where the decision moved"
    )
    ax2.plot(pos, running, marker="o", color="tab:red")
    ax2.axhline(0.5, color="gray", lw=0.8, ls="--")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("P(positive) after each word")
    ax2.set_xticks(pos)
    ax2.set_xticklabels(tokens, rotation=70, fontsize=8)
    fig.tight_layout()
    return fig, {"tokens": tokens, "activity": activity.tolist(), "running_prediction": running.tolist()}
