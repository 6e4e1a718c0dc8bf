"""Raw-string recurrent text classifiers: spec, builder, predictions, evaluation, explanation.

* :class:`TextClassifierSpec` and :func:`build_text_classifier`:
  ``TextVectorization`` inside the model (so a saved ``.keras`` file takes raw
  strings) → embedding → a recurrent encoder of any kind of
  :func:`lstm_apps.layers.recurrent` (optionally bidirectional) → its last state
  or the mean of its states → dropout → P(positive). Optional one-column
  embeddings carry each word's polarity beside its vector, and ``wide=True``
  adds a linear function of the text's mean polarity to the logit (wide & deep).
* :func:`classifier_vocabulary`, :func:`make_vectorizer`: the vectorizer's vocabulary and layer.
* :func:`as_text_input`, :func:`predict_texts`, :func:`binary_accuracy`.
* :func:`average_members`: an ensemble as one model;
  :func:`compare_with_baseline`: accuracy beside a baseline and the n-gram ceiling.
* :func:`input_gate_activity` and :func:`explanation_figure`: what each word
  wrote into memory, and the running prediction over a text's prefixes.

The classifiers need Keras's TensorFlow backend: Keras runs a
``TextVectorization`` layer (TensorFlow string ops) inside a model on
TensorFlow only. The functions that build or run one raise a
``RuntimeError`` naming another backend before any work;
:func:`classifier_vocabulary`, :func:`make_vectorizer`, :func:`as_text_input`
and :func:`binary_accuracy` work on every backend.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from lstm_apps.datasets.sentiment import SentimentData
from lstm_apps.datasets.word_vectors import WordVectors
from lstm_apps.layers import LSTM1997, recurrent
from lstm_apps.telemetry import gate_trace

__all__ = [
    "TextClassifierSpec",
    "as_text_input",
    "predict_texts",
    "binary_accuracy",
    "classifier_vocabulary",
    "make_vectorizer",
    "build_text_classifier",
    "encoder_layers",
    "average_members",
    "compare_with_baseline",
    "input_gate_activity",
    "explanation_figure",
]

POOLINGS = ("last", "mean")


def _require_string_models(entry: str) -> None:
    """Refuse ``entry`` (a function's name) unless Keras runs on TensorFlow, naming the backend.

    Raises:
        RuntimeError: Keras runs on another backend, where a model cannot hold ``TextVectorization``.
    """
    from lstm_apps.backends import require_tensorflow

    require_tensorflow(f"{entry} (a model that reads raw strings through its TextVectorization layer)")


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
    """P(positive) of each text, shape ``(n,)`` (Keras's TensorFlow backend only)."""
    _require_string_models("predict_texts")
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

    >>> str(classifier_vocabulary(["good film", "good plot"], max_tokens=10)[0])
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

    Raises:
        RuntimeError: Keras runs on a backend other than TensorFlow (named).
    """
    _require_string_models("build_text_classifier")
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


def average_members(members: Sequence[keras.Model], name: str = "sentiment_ensemble") -> keras.Model:
    """One model taking raw strings whose P(positive) is the mean of the members' (TensorFlow only)."""
    _require_string_models("average_members")
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

    Raises:
        RuntimeError: Keras runs on a backend other than TensorFlow (named).
    """
    _require_string_models("compare_with_baseline")
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
def input_gate_activity(model: keras.Model, text: str) -> tuple[list[str], np.ndarray, str]:
    """Per-token input-gate activity of a classifier's forward recurrent layer for one text.

    Read from :func:`lstm_apps.telemetry.gate_trace`. LSTM1997 and Keras
    LSTM: the mean input gate; GRU: one minus the mean update gate (the share
    of the new candidate written into the state); other kinds (SimpleRNN, no
    gates): the mean absolute state change per token.

    Returns:
        ``(tokens, activity, what)``: the text's tokens, one activity per token
        and the name of the quantity.

    Raises:
        RuntimeError: Keras runs on a backend other than TensorFlow (named).
    """
    _require_string_models("input_gate_activity")
    vectorizer = model.get_layer("vectorizer")
    vocab = vectorizer.get_vocabulary()
    ids = np.asarray(vectorizer(as_text_input([text])))[0]
    ids = ids[ids != 0]
    tokens = [vocab[i] for i in ids]
    features = "word_features" if "word_features" in [layer.name for layer in model.layers] else "embedding"
    embedder = keras.Model(model.inputs, model.get_layer(features).output)
    emb = np.asarray(embedder.predict(as_text_input([text]), verbose=0))[:, : len(ids)]
    layer, _ = encoder_layers(model)
    trace = gate_trace(layer, emb)
    if isinstance(layer, LSTM1997):
        return tokens, trace["input_gate"][0].mean(axis=-1), "input gate (mean over cells)"
    if isinstance(layer, keras.layers.LSTM):
        return tokens, trace["input_gate"][0].mean(axis=-1), "input gate (mean over units)"
    if isinstance(layer, keras.layers.GRU):
        return tokens, (1.0 - trace["update_gate"][0]).mean(axis=-1), "1 - update gate (mean over units)"
    h = trace["output"][0]
    h_prev = np.vstack([np.zeros((1, h.shape[1]), h.dtype), h[:-1]])
    return tokens, np.abs(h - h_prev).mean(axis=-1), "mean |state change| (no gates)"


def explanation_figure(model: keras.Model, text: str, label: int):
    """Input-gate activity and running prediction, token by token, for one text.

    Returns:
        ``(figure, detail)``: a matplotlib figure and ``{"tokens", "activity",
        "running_prediction"}`` (the prediction on each prefix of the text).

    Raises:
        RuntimeError: Keras runs on a backend other than TensorFlow (named).
    """
    _require_string_models("explanation_figure")
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
