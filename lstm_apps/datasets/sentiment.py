"""Sentiment data: a structured review generator and loaders for real review text.

Generator
---------
:func:`generate_reviews` writes short movie reviews with real structure, the
phenomena that defeat a bag of words:

* **sentiment words** (``good``, ``boring``, ...), each with a fixed polarity;
* **intensifiers** (``very``, ``really``, ...) between a negator and its
  adjective, so the negation is never the adjective's bigram neighbour;
* **negation scope**: ``not`` / ``never`` / ``hardly`` flips the polarity of
  the sentiment word of its own clause only;
* **contrast clauses**: ``A , but B`` where the *final* clause decides;
* **long distractor clauses**: neutral clauses before the opinion and after
  it ("i saw it on a rainy sunday with my sister"), so the decisive words sit
  far from the end of the review.

Every clause reads ``<subject> <verb> [negator] <intensifier> <adjective>
<tail>`` (the tail, e.g. "at times", is never empty, so the adjective's right
neighbour does not depend on where the clause stands). A contrast review is
generated together with its **twin**: the same review with the two clauses'
opinion cores (``[negator] intensifier adjective``) swapped. Both clauses of a
pair share their verb and tail, so the twin has exactly the same multiset of
words *and of word bigrams*, but the opposite label: "the acting was very good
at times , but the plot was really boring at times" (negative) versus "the
acting was really boring at times , but the plot was very good at times"
(positive). No classifier that sees only word 1–2-gram counts (TF-IDF +
logistic regression included) can tell the two apart, so on a set where twins
travel together it gets at most one of each pair right. :func:`ngram_ceiling`
computes that bound exactly on any labelled set: group the texts by their
n-gram count vector and count the majority label of each group. A reader of
the word order (an LSTM) is not bound by it.

The twins of a pair share a ``group`` id; :func:`train_val_split` keeps
groups together so the bound holds on the validation split too.

Loaders
-------
* :func:`load_csv`: a CSV file with a text column and a label column;
* :func:`load_folder`: one sub-folder of text files per class (the aclImdb
  layout: ``pos/`` and ``neg/``);
* :func:`load_labelled`: either of the two, by what the path is;
* :func:`load_imdb`: the IMDB reviews through ``keras.datasets.imdb``
  (downloaded once and cached by Keras), decoded back to text so the model
  still takes raw strings.

Labels are integers ``0`` (negative) and ``1`` (positive). ``-1`` (as in some
distributions of Pang & Lee's data) and the words ``neg``/``pos``,
``negative``/``positive`` are accepted and mapped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "SentimentData",
    "generate_reviews",
    "ngram_ceiling",
    "train_val_split",
    "load_csv",
    "load_folder",
    "load_labelled",
    "load_imdb",
    "load_unlabeled",
    "naive_bayes_log_ratios",
    "load_lexicon",
    "POSITIVE_WORDS",
    "NEGATIVE_WORDS",
    "NEGATORS",
    "INTENSIFIERS",
]


@dataclass
class SentimentData:
    """Labelled texts.

    Attributes:
        texts: list of ``str``.
        labels: ``int`` array of 0 (negative) / 1 (positive).
        groups: ``int`` array; texts sharing a group must stay in one split
            (generated twins). Defaults to one group per text.
        source: where the data came from (for ``config.json``).
    """

    texts: list[str]
    labels: np.ndarray
    groups: np.ndarray = field(default=None)  # type: ignore[assignment]
    source: str = ""

    def __post_init__(self):
        self.texts = [str(t) for t in self.texts]
        self.labels = np.asarray(self.labels, dtype="int32")
        if len(self.texts) != len(self.labels):
            raise ValueError(
                f"texts and labels differ in length: received {len(self.texts)} texts and "
                f"{len(self.labels)} labels."
            )
        if self.groups is None:
            self.groups = np.arange(len(self.texts))
        self.groups = np.asarray(self.groups)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index) -> SentimentData:
        index = np.asarray(index)
        return SentimentData(
            [self.texts[i] for i in index], self.labels[index], self.groups[index], self.source
        )


# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------

POSITIVE_WORDS = (
    "good", "great", "superb", "wonderful", "charming", "moving", "brilliant", "delightful",
    "gripping", "clever", "funny", "beautiful",
)  # fmt: skip
NEGATIVE_WORDS = (
    "bad", "boring", "dull", "awful", "clumsy", "tedious", "bland", "messy",
    "forgettable", "weak", "silly", "ugly",
)  # fmt: skip
NEGATORS = ("not", "never", "hardly")
INTENSIFIERS = ("very", "really", "truly", "quite", "rather", "remarkably", "deeply", "so")
_SUBJECTS = (
    "the acting", "the plot", "the script", "the music", "the ending", "the cast", "the direction",
    "the dialogue", "the camera work", "the pacing", "the story", "the lead actress", "the villain",
    "the soundtrack", "the first half", "the last hour", "the editing", "the humour",
)  # fmt: skip
_VERBS = ("was", "is", "felt", "seemed", "looked", "sounded")
_TAILS = (
    "at times", "for the most part", "in places", "overall", "to be honest", "if you ask me",
    "from start to finish", "throughout", "in the end", "on the whole", "most of the time",
)  # fmt: skip
_WHEN = (
    "last night", "on a rainy sunday", "on a long flight", "at the festival", "after work",
    "over the weekend", "at a matinee", "on opening night", "at home",
)  # fmt: skip
_WHO = ("my sister", "two friends", "my father", "the whole family", "a colleague", "my neighbour", "nobody")
_DISTRACTORS = (
    "i saw it {when} with {who}",
    "the film runs a little over two hours",
    "it is based on a novel from the seventies",
    "the story follows a family that moves to a small coastal town",
    "the cinema was half empty {when}",
    "{who} had recommended it to me",
    "the trailer had been out for months",
    "it was shot in black and white on location in the north",
    "the director made two documentaries before this one",
    "i watched it {when} with {who} and we talked about it on the way home",
    "the studio released it in the spring after a long delay",
    "the main character works as a night nurse in a city hospital",
)  # fmt: skip


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _core(rng, polarity: int, negated: bool) -> list[str]:
    """``[negator] intensifier adjective`` whose *effective* polarity is ``polarity``."""
    word_polarity = 1 - polarity if negated else polarity
    adj = _pick(rng, POSITIVE_WORDS if word_polarity == 1 else NEGATIVE_WORDS)
    words = [_pick(rng, NEGATORS)] if negated else []
    return words + [_pick(rng, INTENSIFIERS), adj]


def _clause(subject: str, verb: str, core: Sequence[str], tail: str) -> str:
    return " ".join(w for w in [subject, verb, *core, tail] if w)


def _distractor(rng) -> str:
    return _pick(rng, _DISTRACTORS).format(when=_pick(rng, _WHEN), who=_pick(rng, _WHO))


def generate_reviews(
    n: int = 4000,
    *,
    seed: int = 0,
    contrast_fraction: float = 0.6,
    negation_rate: float = 0.4,
    max_distractors: int = 3,
    trailing_distractor_rate: float = 0.5,
) -> SentimentData:
    """Generate ``n`` structured movie reviews (seeded, reproducible).

    Each review is ``[d_1 , ... , d_k ,] opinion [, and d]`` with ``k`` in
    ``0..max_distractors`` neutral distractor clauses before the opinion and,
    with probability ``trailing_distractor_rate``, one after it. The opinion
    is either a single clause (``simple``; the label is its effective
    polarity) or, with probability ``contrast_fraction``, a contrast
    ``A , but B`` of two clauses with opposite effective polarities whose
    label is B's. Each clause is negated with probability ``negation_rate``
    (a negated clause's adjective has the opposite polarity of the clause).
    Contrast reviews come in twin pairs with identical word 1–2-gram counts
    and opposite labels (see the module docstring); the pair shares a group
    id. The labels are balanced in expectation.

    Args:
        n: number of reviews (a contrast pair counts two).
        seed: seed of the NumPy generator.
        contrast_fraction: share of reviews that are contrast twins, in [0, 1].
        negation_rate: probability that a clause is negated, in [0, 1].
        max_distractors: most neutral clauses before the opinion (>= 0).
        trailing_distractor_rate: probability of a neutral clause after the
            opinion, in [0, 1].

    Returns:
        A :class:`SentimentData` with ``groups`` pairing the twins.

    Example:

    >>> data = generate_reviews(6, seed=1)
    >>> len(data.texts), sorted(set(data.labels.tolist())) <= [0, 1]
    (6, True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive integer, received n={n!r}.")
    for name, value in (
        ("contrast_fraction", contrast_fraction),
        ("negation_rate", negation_rate),
        ("trailing_distractor_rate", trailing_distractor_rate),
    ):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], received {name}={value!r}.")
    if (
        isinstance(max_distractors, bool)
        or not isinstance(max_distractors, (int, np.integer))
        or max_distractors < 0
    ):
        raise ValueError(
            f"max_distractors must be a non-negative integer, received max_distractors={max_distractors!r}."
        )
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    labels: list[int] = []
    groups: list[int] = []
    group = 0

    def wrap(opinion: str, before: list[str], after: str | None) -> str:
        parts = [*before, opinion]
        text = " , ".join(parts)
        if after:
            text += " , and " + after
        return text + " ."

    while len(texts) < n:
        before = [_distractor(rng) for _ in range(int(rng.integers(max_distractors + 1)))]
        after = _distractor(rng) if rng.random() < trailing_distractor_rate else None
        label = int(rng.integers(2))
        if n - len(texts) >= 2 and rng.random() < contrast_fraction:
            subj_a, subj_b = rng.choice(len(_SUBJECTS), size=2, replace=False)
            verb, tail = _pick(rng, _VERBS), _pick(rng, _TAILS)
            core_a = _core(rng, 1 - label, rng.random() < negation_rate)
            core_b = _core(rng, label, rng.random() < negation_rate)
            for first, second, y in ((core_a, core_b, label), (core_b, core_a, 1 - label)):
                opinion = (
                    _clause(_SUBJECTS[subj_a], verb, first, tail)
                    + " , but "
                    + _clause(_SUBJECTS[subj_b], verb, second, tail)
                )
                texts.append(wrap(opinion, before, after))
                labels.append(y)
                groups.append(group)
        else:
            core = _core(rng, label, rng.random() < negation_rate)
            opinion = _clause(_pick(rng, _SUBJECTS), _pick(rng, _VERBS), core, _pick(rng, _TAILS))
            texts.append(wrap(opinion, before, after))
            labels.append(label)
            groups.append(group)
        group += 1
    return SentimentData(
        texts, np.asarray(labels), np.asarray(groups), source=f"generated(n={n}, seed={seed})"
    )


def ngram_ceiling(texts: Sequence[str], labels, ngram_range: tuple[int, int] = (1, 2)) -> float:
    """Highest accuracy any word n-gram-count classifier can reach on ``texts``.

    Texts with the same n-gram count vector look identical to every such
    classifier (bag of words, TF-IDF, with any vocabulary and any model on
    top), so it must give them one label; the best it can do is each group's
    majority label. The bound uses scikit-learn's default word tokenisation
    (the same as :class:`~lstm_apps.baselines.TfidfLogisticRegression`).

    Args:
        texts: the texts.
        labels: their labels.
        ngram_range: the n-gram orders the classifier sees.

    Returns:
        The ceiling, a float in (0, 1].
    """
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    if len(texts) != len(labels) or len(texts) == 0:
        raise ValueError(
            f"need as many labels as texts (at least one), received {len(texts)} texts and {len(labels)} "
            "labels."
        )
    counts = CountVectorizer(ngram_range=tuple(ngram_range)).fit_transform(list(texts)).tocsr()
    counts.sort_indices()
    groups: dict[tuple, dict] = {}
    for i in range(counts.shape[0]):
        row = counts[i]
        key = (tuple(row.indices.tolist()), tuple(row.data.tolist()))
        tally = groups.setdefault(key, {})
        tally[labels[i]] = tally.get(labels[i], 0) + 1
    best = sum(max(t.values()) for t in groups.values())
    return best / len(labels)


def train_val_split(
    data: SentimentData, val_fraction: float = 0.2, seed: int = 0
) -> tuple[SentimentData, SentimentData]:
    """Split into train and validation, keeping each group in one split.

    Args:
        data: the labelled texts.
        val_fraction: share of groups that go to validation, in (0, 1).
        seed: shuffling seed.
    """
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, received {val_fraction!r}.")
    rng = np.random.default_rng(seed)
    unique = np.unique(data.groups)
    rng.shuffle(unique)
    n_val = max(1, int(round(val_fraction * len(unique))))
    if n_val >= len(unique):
        raise ValueError(
            f"need at least two groups to split, received {len(unique)} group(s) in {len(data)} texts."
        )
    val_groups = set(unique[:n_val].tolist())
    is_val = np.array([g in val_groups for g in data.groups.tolist()])
    return data.subset(np.flatnonzero(~is_val)), data.subset(np.flatnonzero(is_val))


# ---------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------

_LABEL_WORDS = {"0": 0, "1": 1, "-1": 0, "neg": 0, "pos": 1, "negative": 0, "positive": 1}


def _parse_labels(values, where: str, lines=None) -> np.ndarray:
    out = []
    for i, v in enumerate(values):
        key = str(v).strip().lower()
        if key.endswith(".0"):
            key = key[:-2]
        if key not in _LABEL_WORDS:
            at = f"{where}:{lines[i]}" if lines is not None else where
            raise ValueError(
                f"{at}: bad label {v!r} in row {i}; expected 0/1 (or -1/1, neg/pos, negative/positive)."
            )
        out.append(_LABEL_WORDS[key])
    labels = np.asarray(out, dtype="int32")
    return labels


def load_csv(
    path: str | os.PathLike, text_column: str = "text", label_column: str = "label"
) -> SentimentData:
    """Load a CSV file with a text column and a label column.

    Args:
        path: the CSV file (UTF-8, comma-separated; a text holding a comma
            is quoted).
        text_column: the column of review texts.
        label_column: the column of labels (0/1, -1/1, neg/pos, negative/positive).

    Raises:
        ValueError: the file is missing or empty, not UTF-8, a row has more
            or fewer fields than the header, a column is missing, a label is
            not one of the accepted values, or a text is empty (naming the
            file and line).
    """
    from lstm_apps.datasets._files import read_csv_rows

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"CSV file {str(path)!r} does not exist.")
    header, rows, lines = read_csv_rows(
        path, expected=f"a header line naming a {text_column!r} and a {label_column!r} column"
    )
    missing = [c for c in (text_column, label_column) if c not in header]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; the file has columns {header} "
            f"(choose them with text_column=/label_column=, or --text-column/--label-column)."
        )
    ti, li = header.index(text_column), header.index(label_column)
    texts = [row[ti] for row in rows]
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise ValueError(
            f"{path}:{lines[empty[0]]}: empty text in row(s) {empty[:5]}; every row needs a review text."
        )
    labels = _parse_labels([row[li] for row in rows], str(path), lines)
    return SentimentData(texts, labels, source=str(path))


def load_folder(
    path: str | os.PathLike, classes: Sequence[str] = ("neg", "pos"), pattern: str = "*.txt"
) -> SentimentData:
    """Load one sub-folder of text files per class (the aclImdb layout).

    Args:
        path: the folder holding ``neg/`` and ``pos/`` (e.g. ``aclImdb/train``).
        classes: sub-folder names in label order (label 0 first).
        pattern: file glob inside each class folder.

    Raises:
        ValueError: the folder or a class folder is missing or holds no
            file, or a file is not UTF-8 (naming the file and line).
    """
    from lstm_apps.datasets._files import read_text

    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"review folder {str(path)!r} does not exist.")
    texts, labels = [], []
    for label, name in enumerate(classes):
        sub = path / name
        if not sub.is_dir():
            found = sorted(p.name for p in path.iterdir() if p.is_dir())
            raise ValueError(
                f"{path}: missing class folder {name!r} (expected {list(classes)}, found {found})."
            )
        files = sorted(sub.glob(pattern))
        if not files:
            raise ValueError(f"{sub}: no files matching {pattern!r}.")
        for f in files:
            texts.append(read_text(f, what="a UTF-8 review file").replace("<br />", " ").strip())
            labels.append(label)
    return SentimentData(texts, np.asarray(labels), source=str(path))


def load_labelled(
    path: str | os.PathLike, text_column: str = "text", label_column: str = "label"
) -> SentimentData:
    """Labelled texts from a CSV file (:func:`load_csv`) or a folder of class folders (:func:`load_folder`).

    Args:
        path: a CSV file, or a folder holding ``neg/`` and ``pos/``.
        text_column: the CSV's text column.
        label_column: the CSV's label column.
    """
    if Path(path).is_dir():
        return load_folder(path)
    return load_csv(path, text_column=text_column, label_column=label_column)


def load_imdb(
    split: str = "train", num_words: int | None = 20000, max_reviews: int | None = None, seed: int = 0
) -> SentimentData:
    """The IMDB movie reviews (Maas et al. 2011) through ``keras.datasets.imdb``.

    Keras downloads ``imdb.npz`` once and caches it under ``~/.keras/datasets``;
    the word indices are decoded back to text with ``imdb.get_word_index()``
    (also cached) so the model still takes raw strings. Words beyond
    ``num_words`` become ``[UNK]``.

    Args:
        split: ``"train"`` or ``"test"``.
        num_words: keep the most frequent words (``None``: all).
        max_reviews: keep a random subset of this many reviews.
        seed: seed of that subset.

    Raises:
        ValueError: bad arguments, or the download failed (offline).
    """
    import keras

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', received {split!r}.")
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=num_words)
        word_index = keras.datasets.imdb.get_word_index()
    except Exception as exc:  # network errors come as many types (URLError, OSError, HTTPError, ...)
        raise ValueError(
            "could not load the IMDB reviews through keras.datasets.imdb (the first use downloads "
            f"and caches them under ~/.keras/datasets; are you offline?): {type(exc).__name__}: {exc}"
        ) from exc
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    # load_data shifts indices by index_from=3: 0 pad, 1 start, 2 out of vocabulary.
    inverse = {i + 3: w for w, i in word_index.items()}
    inverse.update({0: "", 1: "", 2: "[UNK]"})
    index = np.arange(len(x))
    if max_reviews is not None:
        if max_reviews <= 0:
            raise ValueError(f"max_reviews must be positive, received {max_reviews!r}.")
        index = np.sort(np.random.default_rng(seed).permutation(len(x))[:max_reviews])
    texts = [" ".join(w for w in (inverse.get(int(i), "[UNK]") for i in x[k]) if w) for k in index]
    return SentimentData(texts, np.asarray(y)[index], source=f"keras.datasets.imdb[{split}]")


def load_unlabeled(path: str | os.PathLike, column: int | str | None = None) -> list[str]:
    """Unlabeled text for language-model pretraining: one text a line.

    With ``column`` a tab-separated file is read and that column kept (an
    index, e.g. ``0`` for the English side of a ``src<TAB>tgt`` file), or a
    CSV's column by name. Blank lines and empty texts are skipped.

    Raises:
        ValueError: the file is missing or not UTF-8, a non-blank line lacks
            the column, or the CSV is empty, ragged or lacks the column
            (naming the file and line).
    """
    from lstm_apps.datasets._files import read_csv_rows, read_text

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"unlabeled text file {str(path)!r} does not exist.")
    if isinstance(column, str):
        header, rows, _ = read_csv_rows(path, expected=f"a header line naming a {column!r} column")
        if column not in header:
            raise ValueError(f"{path}: missing column {column!r}; the file has columns {header}.")
        i = header.index(column)
        return [row[i] for row in rows if row[i].strip()]
    lines = read_text(path, what="a UTF-8 text file").splitlines()
    if column is not None:
        picked = []
        for number, line in enumerate(lines, start=1):
            fields = line.split("\t")
            if len(fields) > column:
                picked.append(fields[column])
            elif line.strip():
                raise ValueError(
                    f"{path}:{number}: {len(fields)} tab-separated field(s) {line[:60]!r}; expected at least "
                    f"{column + 1} (column={column})."
                )
        lines = picked
    return [line for line in lines if line.strip()]


def naive_bayes_log_ratios(token_ids, labels, vocab_size: int, alpha: float = 1.0) -> np.ndarray:
    """Naive-Bayes log-count ratio of every token id (Wang & Manning 2012).

    ``r_w = log((p_w / |p|_1) / (q_w / |q|_1))`` with ``p = alpha + sum of the
    binarised occurrences of w in positive texts`` and ``q`` the same over the
    negative texts: positive for words that signal the positive class, negative
    for the other, near 0 for uninformative ones. It is the feature weighting
    of NBSVM; here it can seed one column of a word embedding, so a recurrent
    model starts from each word's polarity in the training split and spends
    its few labelled examples on how order changes it.

    Args:
        token_ids: ``(n, length)`` integer ids, 0 = padding (ignored).
        labels: ``(n,)`` labels 0/1.
        vocab_size: number of ids (ids must lie in ``[0, vocab_size)``).
        alpha: additive smoothing (> 0).

    Returns:
        ``(vocab_size,)`` float32 ratios; id 0 (padding) gets 0.

    Example:

    >>> r = naive_bayes_log_ratios([[2, 3], [2, 4]], [1, 0], vocab_size=5)
    >>> bool(r[3] > 0 > r[4]) and abs(float(r[2])) < 1e-6
    True
    """
    ids = np.asarray(token_ids)
    y = np.asarray(labels).reshape(-1)
    if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"token_ids must be a 2-D integer array (texts x tokens), received shape {ids.shape} of "
            f"{ids.dtype}."
        )
    if len(y) != len(ids) or not np.isin(y, (0, 1)).all():
        raise ValueError(
            f"labels must be {len(ids)} values in {{0, 1}}, received {len(y)} values "
            f"{np.unique(y)[:5].tolist()}."
        )
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"token ids must lie in [0, {vocab_size}), received ids from {ids.min()} to {ids.max()}."
        )
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, received {alpha!r}.")
    # each (text, id) pair once: the occurrences are binarised
    keys = np.unique(
        np.repeat(np.arange(len(ids), dtype=np.int64), ids.shape[1]) * vocab_size + ids.reshape(-1)
    )
    text, word = np.divmod(keys, vocab_size)
    text, word = text[word != 0], word[word != 0]
    counts = np.stack([np.bincount(word[y[text] == cls], minlength=vocab_size) for cls in (0, 1)]).astype(
        "float64"
    )
    p, q = counts[1] + alpha, counts[0] + alpha
    r = np.log(p / p.sum()) - np.log(q / q.sum())
    r[0] = 0.0
    return r.astype("float32")


def load_lexicon(path: str | os.PathLike | None = None) -> dict[str, float]:
    """A word-polarity lexicon: ``{word: score in [-1, 1]}``.

    Args:
        path: a text file with one entry a line, ``word<TAB>score`` (further
            tab-separated columns are ignored: the VADER layout). ``None`` or
            ``"vader"`` reads the VADER lexicon (Hutto & Gilbert 2014, MIT
            licence; 7,500 words, emoticons and slang rated by humans from -4 to
            +4) shipped inside the ``vaderSentiment`` package.

    Returns:
        Lower-cased words mapped to their score divided by the largest
        absolute score of the file.

    Example:

    >>> lexicon = load_lexicon()
    >>> lexicon["good"] > 0 > lexicon["bad"]
    True
    """
    if path is None or str(path) == "vader":
        try:
            import vaderSentiment
        except ImportError as err:  # pragma: no cover - a declared dependency
            raise ValueError(
                "the VADER lexicon needs the vaderSentiment package: pip install vaderSentiment"
            ) from err
        path = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"lexicon file {str(path)!r} does not exist (expected lines 'word<TAB>score').")
    from lstm_apps.datasets._files import read_text

    scores: dict[str, float] = {}
    for number, line in enumerate(read_text(path, what="a UTF-8 lexicon file").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        try:
            value = float(parts[1])
        except (IndexError, ValueError):
            raise ValueError(f"{path}:{number}: expected 'word<TAB>score', received {line[:60]!r}.") from None
        if not np.isfinite(value):
            raise ValueError(f"{path}:{number}: the score of {parts[0]!r} is not finite ({parts[1]!r}).")
        scores[parts[0].strip().lower()] = value
    if not scores:
        raise ValueError(f"lexicon file {str(path)!r} holds no entries (expected lines 'word<TAB>score').")
    top = max(abs(v) for v in scores.values()) or 1.0
    return {w: v / top for w, v in scores.items()}
