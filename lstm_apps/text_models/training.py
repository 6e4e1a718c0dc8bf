"""Pretraining, word-polarity seeding and training of the raw-string text classifiers.

* :func:`pretrain_language_model`: next-word language-model pretraining of the
  embedding and the recurrent layer (Dai & Le 2015).
* :func:`seed_polarity_column` (the naive-Bayes log-count ratio, Wang & Manning
  2012), :func:`seed_lexicon_column` (a sentiment lexicon's score): fill the
  polarity columns.
* :func:`train_text_classifiers`: one classifier or an ensemble (vocabulary,
  pretrained vectors, pretraining, seeding, early stopping on a monitor
  slice, optional refit); :func:`best_epoch_count` reads the early-stopped epoch count.

Functions that train take a ``run``, the recipe harness's
:class:`lstm_apps.training.Run` (its ``fit``, ``fit_members`` and ``strategy``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np

from lstm_apps.datasets.sentiment import SentimentData, naive_bayes_log_ratios
from lstm_apps.datasets.word_vectors import WordVectors, embedding_matrix
from lstm_apps.layers import recurrent
from lstm_apps.text_models.model import (
    TextClassifierSpec,
    _require_string_models,
    as_text_input,
    build_text_classifier,
    classifier_vocabulary,
    encoder_layers,
    make_vectorizer,
)

__all__ = [
    "reverse_rows",
    "pretrain_language_model",
    "seed_polarity_column",
    "seed_lexicon_column",
    "best_epoch_count",
    "train_text_classifiers",
]


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

    Raises:
        RuntimeError: Keras runs on a backend other than TensorFlow (named), before any work.
    """
    _require_string_models("train_text_classifiers")
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
