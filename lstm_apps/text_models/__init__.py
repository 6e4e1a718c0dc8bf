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

Modules (every public name is re-exported here): :mod:`~lstm_apps.text_models.model`
(spec, builder, predictions, evaluation, explanation) and
:mod:`~lstm_apps.text_models.training` (pretraining, seeding, training).
"""

from lstm_apps.text_models.model import (
    TextClassifierSpec,
    as_text_input,
    average_members,
    binary_accuracy,
    build_text_classifier,
    classifier_vocabulary,
    compare_with_baseline,
    encoder_layers,
    explanation_figure,
    input_gate_activity,
    make_vectorizer,
    predict_texts,
)
from lstm_apps.text_models.training import (
    best_epoch_count,
    pretrain_language_model,
    reverse_rows,
    seed_lexicon_column,
    seed_polarity_column,
    train_text_classifiers,
)

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
