"""Sentiment data: the review generator, the n-gram ceiling, loaders and the TF-IDF baseline."""

from __future__ import annotations

import urllib.error

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from lstm_apps.baselines.text import TfidfLogisticRegression
from lstm_apps.datasets import sentiment as S


def reference_label(text: str) -> int:
    """Independent labeller: the last clause holding a sentiment word decides,
    flipped when that clause holds a negator."""
    clauses = [c.split() for c in text.rstrip(" .").split(" , ")]
    opinion = [c for c in clauses if any(w in S.POSITIVE_WORDS or w in S.NEGATIVE_WORDS for w in c)]
    last = opinion[-1]
    adj = next(w for w in last if w in S.POSITIVE_WORDS or w in S.NEGATIVE_WORDS)
    polarity = 1 if adj in S.POSITIVE_WORDS else 0
    return 1 - polarity if any(w in S.NEGATORS for w in last) else polarity


def test_generator_is_seeded_and_labels_follow_the_final_clause():
    a = S.generate_reviews(400, seed=3)
    b = S.generate_reviews(400, seed=3)
    c = S.generate_reviews(400, seed=4)
    assert a.texts == b.texts and np.array_equal(a.labels, b.labels)
    assert a.texts != c.texts
    assert len(a) == 400
    assert 0.4 < a.labels.mean() < 0.6
    assert [reference_label(t) for t in a.texts] == a.labels.tolist()
    # every phenomenon appears
    joined = " ".join(a.texts)
    assert ", but " in joined and " not " in joined and " very " in joined
    lengths = [len(t.split()) for t in a.texts]
    assert max(lengths) > 50


def test_twins_share_every_1_2_gram_and_have_opposite_labels():
    data = S.generate_reviews(300, seed=1)
    counts = CountVectorizer(ngram_range=(1, 2)).fit_transform(data.texts).toarray()
    groups, sizes = np.unique(data.groups, return_counts=True)
    twins = groups[sizes == 2]
    assert len(twins) > 50
    for g in twins:
        i, j = np.flatnonzero(data.groups == g)
        assert data.texts[i] != data.texts[j]
        assert np.array_equal(counts[i], counts[j])
        assert data.labels[i] != data.labels[j]
    # a contrast twin has both polarities of words; single reviews have one clause
    assert all(", but " in data.texts[k] for k in np.flatnonzero(np.isin(data.groups, twins)))


def test_ngram_ceiling_golden_values():
    texts = ["good film", "good film", "bad film", "film bad"]
    assert S.ngram_ceiling(texts, [1, 0, 0, 0]) == pytest.approx(3 / 4)
    assert S.ngram_ceiling(texts, [1, 1, 0, 1]) == pytest.approx(1.0)
    # unigrams alone cannot separate "bad film" from "film bad"
    assert S.ngram_ceiling(texts, [1, 1, 0, 1], ngram_range=(1, 1)) == pytest.approx(3 / 4)
    with pytest.raises(ValueError, match="labels"):
        S.ngram_ceiling(texts, [1, 0])


def test_bag_of_ngrams_baseline_is_held_below_the_computed_ceiling():
    data = S.generate_reviews(1600, seed=0)
    train, val = S.train_val_split(data, 0.25, seed=0)
    assert not set(train.groups.tolist()) & set(val.groups.tolist())
    ceiling = S.ngram_ceiling(val.texts, val.labels)
    assert 0.55 < ceiling < 0.70  # about 1 - contrast_fraction / 2
    baseline = TfidfLogisticRegression().fit(train.texts, train.labels)
    acc = baseline.score(val.texts, val.labels)
    assert acc <= ceiling + 1e-12
    assert acc > 0.45
    # on the twins alone it is exactly at chance: one of each pair right
    contrast = np.array([", but " in t for t in val.texts])
    assert baseline.score(np.array(val.texts)[contrast], val.labels[contrast]) == pytest.approx(0.5)


def test_baseline_learns_plain_text_and_rejects_misuse():
    texts = ["a good film", "a great film", "a bad film", "an awful film"] * 10
    labels = [1, 1, 0, 0] * 10
    clf = TfidfLogisticRegression().fit(texts, labels)
    assert clf.score(texts, labels) == 1.0
    assert clf.predict_proba(["good"])[0] > 0.5 > clf.predict_proba(["awful"])[0]
    with pytest.raises(ValueError, match="not fitted"):
        TfidfLogisticRegression().predict(["x"])
    with pytest.raises(ValueError, match="two classes"):
        TfidfLogisticRegression().fit(["a", "b"], [1, 1])
    with pytest.raises(ValueError, match="ngram_range"):
        TfidfLogisticRegression(ngram_range=(2, 1))


def test_generator_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n=0"):
        S.generate_reviews(0)
    with pytest.raises(ValueError, match="contrast_fraction=1.5"):
        S.generate_reviews(10, contrast_fraction=1.5)
    with pytest.raises(ValueError, match="max_distractors=-1"):
        S.generate_reviews(10, max_distractors=-1)
    with pytest.raises(ValueError, match="val_fraction"):
        S.train_val_split(S.generate_reviews(10), 1.0)


def test_load_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('review,stars\n"great, really",pos\nawful,neg\n"fine, i guess",-1\nlovely,1\n')
    data = S.load_csv(path, text_column="review", label_column="stars")
    assert data.texts == ["great, really", "awful", "fine, i guess", "lovely"]
    assert data.labels.tolist() == [1, 0, 0, 1]
    with pytest.raises(ValueError, match=r"missing column\(s\) \['text'\].*'review', 'stars'"):
        S.load_csv(path, label_column="stars")
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\ngood,1\nmeh,3\n")
    with pytest.raises(ValueError, match="bad label '3' in row 1"):
        S.load_csv(bad)
    with pytest.raises(ValueError, match="does not exist"):
        S.load_csv(tmp_path / "absent.csv")


def test_load_folder_aclimdb_layout(tmp_path):
    for label, texts in (("pos", ["loved it", "superb<br />acting"]), ("neg", ["dull"])):
        (tmp_path / label).mkdir()
        for i, t in enumerate(texts):
            (tmp_path / label / f"{i}_7.txt").write_text(t)
    (tmp_path / "unsup").mkdir()
    data = S.load_folder(tmp_path)
    assert sorted(zip(data.texts, data.labels.tolist())) == [
        ("dull", 0),
        ("loved it", 1),
        ("superb acting", 1),
    ]
    with pytest.raises(ValueError, match="missing class folder 'neutral'"):
        S.load_folder(tmp_path, classes=("neg", "neutral"))


def test_load_labelled_reads_a_folder_of_class_folders_or_a_csv_file(tmp_path):
    folder = tmp_path / "reviews"
    for label, text in (("pos", "loved it"), ("neg", "dull")):
        (folder / label).mkdir(parents=True)
        (folder / label / "0.txt").write_text(text)
    data = S.load_labelled(folder)
    assert sorted(zip(data.texts, data.labels.tolist())) == [("dull", 0), ("loved it", 1)]
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngreat,pos\nawful,neg\n")
    data = S.load_labelled(path, text_column="review", label_column="stars")
    assert data.texts == ["great", "awful"] and data.labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match="does not exist"):
        S.load_labelled(tmp_path / "absent.csv")


def test_load_imdb_decodes_indices_with_faked_network(monkeypatch):
    import keras

    word_index = {"the": 1, "film": 2, "good": 3, "bad": 4}
    # keras shifts indices by 3: 1 = start, 2 = out of vocabulary
    x = np.array([[1, 4, 5, 6], [1, 4, 5, 7, 2]], dtype=object)
    y = np.array([1, 0])
    monkeypatch.setattr(keras.datasets.imdb, "load_data", lambda num_words=None: ((x, y), (x[:1], y[:1])))
    monkeypatch.setattr(keras.datasets.imdb, "get_word_index", lambda: word_index)
    data = S.load_imdb("train")
    assert data.texts == ["the film good", "the film bad [UNK]"]
    assert data.labels.tolist() == [1, 0]
    assert S.load_imdb("test").texts == ["the film good"]

    def offline(num_words=None):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(keras.datasets.imdb, "load_data", offline)
    with pytest.raises(ValueError, match="offline"):
        S.load_imdb()
    with pytest.raises(ValueError, match="split"):
        S.load_imdb("valid")


def test_load_unlabeled(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("hello there .\thallo .\n\nhow are you ?\twie geht es ?\n")
    assert S.load_unlabeled(path) == ["hello there .\thallo .", "how are you ?\twie geht es ?"]
    assert S.load_unlabeled(path, column=1) == ["hallo .", "wie geht es ?"]


def test_movie_sentences_load(shared_data):
    path = shared_data / "sentiment" / "movie_sentences.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    data = S.load_csv(path)
    assert len(data) == 3400
    assert 0.45 < data.labels.mean() < 0.55
    # real sentences are nearly all distinct as bags of 1-2-grams
    assert S.ngram_ceiling(data.texts, data.labels) > 0.99


def test_naive_bayes_log_ratios_golden_values():
    # texts (ids): pos [2, 3, 3], pos [2, 5], neg [2, 4]; 0 = padding; occurrences are binarised
    ids = np.array([[2, 3, 3], [2, 5, 0], [2, 4, 0]])
    r = S.naive_bayes_log_ratios(ids, [1, 1, 0], vocab_size=6, alpha=1.0)
    # positive counts per id 0..5: [0, 0, 2, 1, 0, 1] + 1 -> sum 10; negative: [0, 0, 1, 0, 1, 0] + 1 -> sum 8
    p = np.array([1, 1, 3, 2, 1, 2]) / 10
    q = np.array([1, 1, 2, 1, 2, 1]) / 8
    expected = np.log(p / q)
    expected[0] = 0.0
    np.testing.assert_allclose(r, expected, rtol=1e-6)
    assert r[3] > 0 > r[4]
    # the same figures from a plain per-document count, written differently
    docs = [set(row[row > 0]) for row in ids]
    pos = np.array([sum(w in d for d, y in zip(docs, [1, 1, 0]) if y) for w in range(6)]) + 1.0
    assert pos[1:].tolist() == (p * 10)[1:].tolist()


def test_naive_bayes_log_ratios_reject_bad_input():
    with pytest.raises(ValueError, match="2-D integer"):
        S.naive_bayes_log_ratios(np.zeros(3, int), [1, 0, 1], 4)
    with pytest.raises(ValueError, match="labels"):
        S.naive_bayes_log_ratios(np.ones((2, 2), int), [1, 2], 4)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        S.naive_bayes_log_ratios(np.full((2, 2), 7), [1, 0], 4)
    with pytest.raises(ValueError, match="alpha"):
        S.naive_bayes_log_ratios(np.ones((2, 2), int), [1, 0], 4, alpha=0)


def test_load_lexicon_vader_and_files(tmp_path):
    vader = S.load_lexicon("vader")
    assert len(vader) > 7000 and max(abs(v) for v in vader.values()) == pytest.approx(1.0)
    assert vader["good"] > 0 > vader["awful"] and vader["good"] < vader["excellent"]
    path = tmp_path / "lex.txt"
    path.write_text("# my words\nGreat\t3\textra\nmeh\t-1.5\n\n")
    assert S.load_lexicon(path) == {"great": 1.0, "meh": -0.5}
    bad = tmp_path / "bad.txt"
    bad.write_text("great\tvery\n")
    with pytest.raises(ValueError, match=r"bad.txt:1: expected 'word<TAB>score'"):
        S.load_lexicon(bad)
    with pytest.raises(ValueError, match="does not exist"):
        S.load_lexicon(tmp_path / "missing.txt")
