"""lstm_apps.text_models: the raw-string classifier, its seeding, pretraining, training and explanation."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from lstm_apps.datasets.sentiment import SentimentData, generate_reviews, naive_bayes_log_ratios
from lstm_apps.datasets.word_vectors import WordVectors
from lstm_apps.text_models import (
    TextClassifierSpec,
    as_text_input,
    average_members,
    best_epoch_count,
    binary_accuracy,
    build_text_classifier,
    classifier_vocabulary,
    compare_with_baseline,
    encoder_layers,
    explanation_figure,
    input_gate_activity,
    make_vectorizer,
    predict_texts,
    pretrain_language_model,
    reverse_rows,
    seed_lexicon_column,
    seed_polarity_column,
    train_text_classifiers,
)

TEXTS = [
    "a superb film , but the ending is dull",
    "the plot was not very good",
    "the acting was truly superb",
    "the music was dull and the plot was dull",
]


class _Run:
    """The part of lstm_apps.training.Run that pretraining uses: ``fit`` and ``strategy``."""

    def __init__(self, epochs=2):
        import tensorflow as tf

        self.strategy = tf.distribute.get_strategy()
        self.epochs = epochs
        self.histories = []

    def fit(self, model, *args, history_name="history", **kwargs):
        self.histories.append(history_name)
        kwargs.setdefault("epochs", self.epochs)
        return model.fit(*args, verbose=0, **kwargs)


def _harness_run(tmp_path, *argv):
    """A real run of the recipe harness, in ``tmp_path``."""
    from lstm_apps.training import recipe_parser, start_run

    args = recipe_parser("text", "test", cell="lstm").parse_args(
        ["--quick", "--runs-dir", str(tmp_path), *argv]
    )
    return start_run("text", args)


def _classifier(spec, texts=TEXTS, name="sentiment"):
    keras.utils.set_random_seed(0)
    vectorizer = make_vectorizer(classifier_vocabulary(texts, spec.max_tokens), spec.max_length)
    return build_text_classifier(spec, vectorizer, name=name)


def _simple_reviews(n, seed):
    return generate_reviews(
        n,
        seed=seed,
        contrast_fraction=0.0,
        negation_rate=0.0,
        max_distractors=0,
        trailing_distractor_rate=0.0,
    )


def test_reverse_rows_reverses_the_tokens_and_keeps_the_padding_at_the_end():
    rng = np.random.default_rng(0)
    ids = np.zeros((20, 9), "int64")
    lengths = rng.integers(0, 10, 20)
    for row, n in zip(ids, lengths):
        row[:n] = rng.integers(1, 50, n)
    out = reverse_rows(ids)
    for row, n, original in zip(out, lengths, ids):
        np.testing.assert_array_equal(row[:n], original[:n][::-1])
        assert not row[n:].any()
    with pytest.raises(ValueError, match="2-D array"):
        reverse_rows(np.arange(4))


def test_spec_rejects_bad_values():
    with pytest.raises(ValueError, match="units must be a positive integer, received 0"):
        TextClassifierSpec(units=0)
    with pytest.raises(ValueError, match=r"dropout must lie in \[0, 1\), received 1.0"):
        TextClassifierSpec(dropout=1.0)
    with pytest.raises(ValueError, match="pooling must be one of"):
        TextClassifierSpec(pooling="max")
    with pytest.raises(ValueError, match="needs polarity_column=True"):
        TextClassifierSpec(wide=True)
    with pytest.raises(ValueError, match="max_length must be a positive integer"):
        TextClassifierSpec(max_length=0)
    assert TextClassifierSpec(max_length=None).max_length is None


def test_vocabulary_takes_the_training_words_by_frequency_then_the_vectors_top_words():
    texts = ["dull dull dull plot", "dull plot film"]
    assert classifier_vocabulary(texts, max_tokens=10) == ["dull", "plot", "film"]
    assert classifier_vocabulary(texts, max_tokens=4) == ["dull", "plot"]  # padding and [UNK] count
    words = ["the", "plot", "Upper", "don't", "two words", "superb", "dull", "gripping", "rare"]
    vectors = WordVectors(words, np.zeros((len(words), 2), "float32"))
    extended = classifier_vocabulary(texts, 10, vectors, vectors_vocabulary=8)
    # only lower-case words a standardized text can hold, never twice, and no further than the 8th word
    assert extended == ["dull", "plot", "film", "the", "superb", "gripping"]
    assert classifier_vocabulary(texts, 10, vectors, vectors_vocabulary=0) == ["dull", "plot", "film"]


def test_classifier_layers_columns_and_bidirectional_encoder():
    spec = TextClassifierSpec(units=4, embedding_dim=6, polarity_column=True, lexicon_column=True)
    model = _classifier(spec)
    assert model.get_layer("word_features").output.shape[-1] == 6 + 2
    assert predict_texts(model, TEXTS).shape == (4,)
    forward, backward = encoder_layers(model)
    assert forward.name == "encoder" and backward is None
    bi = _classifier(TextClassifierSpec(cell="gru", units=4, embedding_dim=6, bidirectional=True))
    forward, backward = encoder_layers(bi)
    assert isinstance(forward, keras.layers.GRU) and isinstance(backward, keras.layers.GRU)
    assert forward.go_backwards != backward.go_backwards


def test_mean_pooling_ignores_the_padding_of_a_batch():
    model = _classifier(TextClassifierSpec(units=4, embedding_dim=6, pooling="mean", dropout=0.0))
    text = TEXTS[1]
    alone = predict_texts(model, [text])[0]
    with_longer = predict_texts(model, [text, TEXTS[3] + " and the acting was dull"])[0]
    assert alone == pytest.approx(with_longer, rel=1e-5, abs=1e-6)


def test_polarity_and_lexicon_columns_are_seeded_from_the_data_and_the_lexicon():
    spec = TextClassifierSpec(units=4, embedding_dim=4, polarity_column=True, lexicon_column=True)
    data = _simple_reviews(60, seed=2)
    model = _classifier(spec, data.texts)
    column = seed_polarity_column(model, data)
    vectorizer = model.get_layer("vectorizer")
    ids = np.asarray(vectorizer(as_text_input(data.texts)))
    ratios = naive_bayes_log_ratios(ids, data.labels, vectorizer.vocabulary_size())
    expected = ratios / ratios[1:].std()
    np.testing.assert_allclose(column, expected, rtol=1e-5)
    np.testing.assert_allclose(model.get_layer("polarity").get_weights()[0][:, 0], expected, rtol=1e-5)
    vocab = vectorizer.get_vocabulary()
    assert column[vocab.index("superb")] > 0 > column[vocab.index("dull")]
    lexicon = {"superb": 0.9, "dull": -0.6, "absent": 1.0}
    coverage = seed_lexicon_column(model, lexicon)
    assert coverage == pytest.approx(2 / (len(vocab) - 2))
    scores = model.get_layer("lexicon").get_weights()[0][:, 0]
    assert scores[vocab.index("superb")] == pytest.approx(0.9) and scores[vocab.index("dull")] == -0.6
    assert np.count_nonzero(scores) == 2


def test_average_members_is_the_mean_of_the_members_probabilities():
    spec = TextClassifierSpec(units=4, embedding_dim=4)
    a = _classifier(spec, name="a")
    keras.utils.set_random_seed(1)
    b = build_text_classifier(spec, make_vectorizer(classifier_vocabulary(TEXTS, 100)), name="b")
    mean = average_members([a, b])
    expected = (predict_texts(a, TEXTS) + predict_texts(b, TEXTS)) / 2
    np.testing.assert_allclose(predict_texts(mean, TEXTS), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="at least two members"):
        average_members([a])


def test_binary_accuracy():
    assert binary_accuracy([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6]) == 0.5
    with pytest.raises(ValueError, match="differ in length"):
        binary_accuracy([1, 0], [0.5])


def _set_gate_bias(layer, gate_slice, value):
    kernel, recurrent, bias = layer.cell.get_weights()
    kernel[:, gate_slice] = 0.0
    recurrent[:, gate_slice] = 0.0
    bias[..., gate_slice] = value
    layer.cell.set_weights([kernel, recurrent, bias])


@pytest.mark.parametrize("bias, expected", [(30.0, 1.0), (-30.0, 0.0)])
def test_input_gate_activity_reads_the_lstm_input_gate(bias, expected):
    model = _classifier(TextClassifierSpec(units=4, embedding_dim=4))
    layer, _ = encoder_layers(model)
    _set_gate_bias(layer, slice(0, 4), bias)  # Keras LSTM gate order: input, forget, cell, output
    tokens, activity, what = input_gate_activity(model, TEXTS[0])
    assert tokens == TEXTS[0].replace(",", "").split() and what.startswith("input gate")
    np.testing.assert_allclose(activity, expected, atol=1e-6)


def test_input_gate_activity_of_gru_is_one_minus_the_update_gate_and_of_simple_rnn_the_state_change():
    gru = _classifier(TextClassifierSpec(cell="gru", units=4, embedding_dim=4))
    layer, _ = encoder_layers(gru)
    _set_gate_bias(layer, slice(0, 4), 30.0)  # update gate z = 1: nothing new is written
    _, activity, what = input_gate_activity(gru, TEXTS[1])
    assert what.startswith("1 - update gate")
    np.testing.assert_allclose(activity, 0.0, atol=1e-6)
    rnn = _classifier(TextClassifierSpec(cell="simple_rnn", units=4, embedding_dim=4, dropout=0.0))
    tokens, activity, what = input_gate_activity(rnn, TEXTS[1])
    states = keras.Model(rnn.inputs, rnn.get_layer("embedding").output)
    emb = np.asarray(states.predict(as_text_input([TEXTS[1]]), verbose=0))[0, : len(tokens)]
    kernel, recurrent, bias = encoder_layers(rnn)[0].cell.get_weights()
    h, changes = np.zeros(4), []
    for x in emb:  # the SimpleRNN recursion by hand
        new = np.tanh(x @ kernel + h @ recurrent + bias)
        changes.append(np.abs(new - h).mean())
        h = new
    assert what.startswith("mean |state change|")
    np.testing.assert_allclose(activity, changes, rtol=1e-4, atol=1e-6)


def test_explanation_figure_runs_the_prediction_over_every_prefix():
    model = _classifier(TextClassifierSpec(cell="lstm1997", units=4, embedding_dim=4))
    fig, detail = explanation_figure(model, TEXTS[2], 1)
    n = len(detail["tokens"])
    assert n == 5 and len(detail["activity"]) == n == len(detail["running_prediction"])
    assert all(0.0 <= a <= 1.0 for a in detail["activity"])
    assert detail["running_prediction"][-1] == pytest.approx(predict_texts(model, [TEXTS[2]])[0], rel=1e-5)
    assert detail["running_prediction"][0] == pytest.approx(predict_texts(model, ["the"])[0], rel=1e-5)
    fig.clf()


def test_language_model_pretraining_copies_the_learned_weights_into_the_classifier():
    data = _simple_reviews(40, seed=3)
    spec = TextClassifierSpec(units=4, embedding_dim=4, bidirectional=True)
    model = _classifier(spec, data.texts)
    forward, backward = encoder_layers(model)
    before = [w.copy() for w in forward.get_weights()], [w.copy() for w in backward.get_weights()]
    run = _Run()
    losses = pretrain_language_model(run, model, spec, data.texts, epochs=1, lm_vocab=20, suffix="_x")
    assert set(losses) == {"pretrain_forward_loss", "pretrain_backward_loss"}
    assert all(np.isfinite(v) and v > 0 for v in losses.values())
    assert run.histories == ["pretrain_forward_history_x", "pretrain_backward_history_x"]
    for layer, old in zip((forward, backward), before):
        assert not np.allclose(layer.get_weights()[0], old[0])
    with pytest.raises(ValueError, match="cannot pretrain a classifier with polarity"):
        pretrain_language_model(run, model, TextClassifierSpec(polarity_column=True), data.texts, epochs=1)


def test_best_epoch_count_is_where_the_monitor_first_peaked():
    assert best_epoch_count({"loss": [3, 2, 1, 1], "val_accuracy": [0.5, 0.7, 0.7, 0.6]}) == 2
    assert best_epoch_count({"loss": [3, 2, 1]}) == 3  # no monitor: every epoch
    assert best_epoch_count({"loss": [3, 2], "val_accuracy": [float("nan"), 0.5]}) == 2


def test_train_text_classifiers_early_stop_refit_and_name_the_members(tmp_path):
    from lstm_apps.datasets.sentiment import train_val_split

    train = _simple_reviews(80, seed=4)
    fit_set, monitor = train_val_split(train, 0.25, seed=1)
    spec = TextClassifierSpec(units=4, embedding_dim=4, polarity_column=True)
    run = _harness_run(tmp_path, "--epochs", "3")
    models, notes = train_text_classifiers(
        run, spec, train, fit_set, monitor, members=2, patience=1, refit=True, learning_rate=1e-2
    )
    assert [m.name for m in models] == ["sentiment", "sentiment_member_1"]
    for history in ("history", "history_member_1", "refit_history", "refit_history_member_1"):
        assert (run.path / f"{history}.json").is_file(), history
    for suffix in ("", "_member_1"):
        history = json.loads((run.path / f"history{suffix}.json").read_text())
        refit = json.loads((run.path / f"refit_history{suffix}.json").read_text())
        # the refit trains for as many epochs as it took the monitor slice's accuracy to peak
        assert notes[f"refit_epochs{suffix}"] == best_epoch_count(history) == len(refit["loss"])
    texts = ["a superb film", "a dull film"]
    assert not np.allclose(predict_texts(models[0], texts), predict_texts(models[1], texts))
    with pytest.raises(ValueError, match="refit=True needs a monitor slice"):
        train_text_classifiers(run, spec, train, refit=True)
    vectors = WordVectors(["superb"], np.ones((1, 3), "float32"), "tiny.txt")
    with pytest.raises(ValueError, match="embedding_dim 4 differs from the 3 dimensions"):
        train_text_classifiers(run, spec, train, word_vectors=vectors)


def test_train_text_classifiers_start_the_embedding_from_the_vectors(tmp_path):
    train = _simple_reviews(40, seed=5)
    words = ["superb", "dull", "zyzzyva"]
    vectors = WordVectors(words, np.arange(9, dtype="float32").reshape(3, 3), "tiny.txt")
    spec = TextClassifierSpec(units=4, embedding_dim=3, vectors_vocabulary=3, freeze_embedding=True)
    (model,), notes = train_text_classifiers(
        _harness_run(tmp_path, "--epochs", "1"), spec, train, word_vectors=vectors
    )
    vocab = model.get_layer("vectorizer").get_vocabulary()
    table = model.get_layer("embedding").get_weights()[0]
    assert "zyzzyva" in vocab and notes["vocabulary_size"] == len(vocab)
    for word in words:  # frozen: as read
        np.testing.assert_array_equal(table[vocab.index(word)], vectors[word])
    assert notes["word_vectors_vocabulary_coverage"] == pytest.approx(3 / (len(vocab) - 2))


class _Fixed:
    """A stand-in classifier and baseline returning fixed probabilities."""

    def __init__(self, probabilities):
        self.p = np.asarray(probabilities, dtype="float32")

    def predict(self, x, verbose=0, batch_size=None):
        return self.p[: len(x)].reshape(-1, 1)

    def predict_proba(self, texts):
        return self.p[: len(texts)]

    def score(self, texts, labels):
        return binary_accuracy(labels, self.predict_proba(texts))


def test_compare_with_baseline_scores_both_on_the_same_texts_with_the_ceiling():
    val = SentimentData(["good , but dull", "good , but dull", "good", "dull"], np.array([0, 1, 1, 0]))
    model, baseline = _Fixed([0.2, 0.8, 0.9, 0.6]), _Fixed([0.7, 0.7, 0.7, 0.3])
    metrics, rows, verdict = compare_with_baseline(model, baseline, val, model_name="lstm", by_clause=True)
    assert metrics["val_accuracy_model"] == 0.75 and metrics["val_accuracy_baseline"] == 0.75
    assert metrics["val_accuracy_model_contrast"] == 1.0 and metrics["val_accuracy_baseline_contrast"] == 0.5
    assert metrics["val_accuracy_model_single_clause"] == 0.5
    # the two contrast reviews hold the same 1-2-grams but opposite labels: one of them at best
    assert metrics["val_ngram_ceiling"] == 0.75
    assert [r["model"] for r in rows][-1] == "ceiling of any 1-2-gram-count classifier"
    assert verdict.startswith("The recurrent model ties") and "On contrast reviews: model 1.000" in verdict
    test = SentimentData(["good", "dull"], np.array([1, 1]))
    metrics, rows, verdict = compare_with_baseline(model, _Fixed([0.1, 0.1, 0.1, 0.1]), val, test)
    assert [(r["model"].split()[0], r["split"]) for r in rows[:4]] == [
        ("recurrent", "validation"),
        ("recurrent", "test"),
        ("TF-IDF", "validation"),
        ("TF-IDF", "test"),
    ]
    assert metrics["test_accuracy_model"] == 0.5 and metrics["n_test"] == 2
    assert verdict == "The recurrent model beats the TF-IDF baseline on the validation split by 25.0 points."
