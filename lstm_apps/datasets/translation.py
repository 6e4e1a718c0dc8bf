"""Sentence pairs for translation: a number-words generator, pairs files, Anki corpora.

* :func:`english_number_words` / :func:`german_number_words` spell integers
  0..999,999 in English ("three hundred twenty-one") and German
  ("dreihunderteinundzwanzig"), and :func:`number_pairs` draws a seeded set of
  such pairs. Small as it is, the task has the structure that makes
  translation hard for a word-by-word model: German puts units before tens
  ("einundzwanzig", one-and-twenty), fuses every number below a million into
  one word, and changes spelling inside compounds ("eins" but "einhundert",
  "sechs" but "sechzehn", "sieben" but "siebzig", "drei" but "dreißig").
* :func:`load_pairs` reads tab-separated sentence pairs (the Anki /
  manythings.org format: ``source<TAB>target[<TAB>attribution]``).
* :func:`load_anki_fra` downloads the English–French Anki corpus used by the
  keras-io examples (cached by ``keras.utils.get_file``).
* :func:`split_pairs` makes a seeded train/validation split, and
  :func:`split_train_dev_val` a further early-stopping ("dev") split out of
  the training pairs.
* :func:`load_translation_pairs` reads whichever of these a recipe is given.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "ANKI_FRA_URL",
    "english_number_words",
    "german_number_words",
    "number_pairs",
    "load_pairs",
    "load_anki_fra",
    "split_pairs",
    "PairSplits",
    "split_train_dev_val",
    "DATASETS",
    "load_translation_pairs",
]

ANKI_FRA_URL = "http://storage.googleapis.com/download.tensorflow.org/data/fra-eng.zip"

MAX_NUMBER = 999_999

# -- English ---------------------------------------------------------------
_EN_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()

# -- German ----------------------------------------------------------------
# Units as they appear inside a compound ("ein" in einundzwanzig, einhundert).
_DE_UNITS = "_ ein zwei drei vier fünf sechs sieben acht neun".split()
_DE_TEENS = "zehn elf zwölf dreizehn vierzehn fünfzehn sechzehn siebzehn achtzehn neunzehn".split()
_DE_TENS = "_ _ zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig".split()


def _check_number(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"Expected an integer in [0, {MAX_NUMBER}], received {n!r}.")
    return int(n)


def _en_below_100(n: int) -> str:
    if n < 20:
        return _EN_ONES[n]
    tens, units = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_ONES[units]}" if units else "")


def _en_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = [f"{_EN_ONES[hundreds]} hundred"] if hundreds else []
    if rest:
        parts.append(_en_below_100(rest))
    return " ".join(parts)


def english_number_words(n: int) -> str:
    """Spell ``n`` (0..999,999) in American English words.

    Hyphenated tens ("twenty-one"), no "and" ("one hundred five"), "one
    hundred" and "one thousand" spelled out.

    Example:

    >>> english_number_words(321021)
    'three hundred twenty-one thousand twenty-one'
    """
    n = _check_number(n)
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    parts = [f"{_en_below_1000(thousands)} thousand"] if thousands else []
    if rest:
        parts.append(_en_below_1000(rest))
    return " ".join(parts)


def _de_below_100(n: int, final: bool) -> str:
    if n < 10:
        return "eins" if (n == 1 and final) else _DE_UNITS[n]
    if n < 20:
        return _DE_TEENS[n - 10]
    tens, units = divmod(n, 10)
    return (f"{_DE_UNITS[units]}und" if units else "") + _DE_TENS[tens]


def _de_below_1000(n: int, final: bool) -> str:
    hundreds, rest = divmod(n, 100)
    word = f"{_DE_UNITS[hundreds]}hundert" if hundreds else ""
    if rest:
        word += _de_below_100(rest, final)
    return word


def german_number_words(n: int) -> str:
    """Spell ``n`` (0..999,999) as one German number word.

    Rules: units precede tens joined by "und" ("einundzwanzig"); the whole
    number is one word; a final 1 is "eins" but "ein" inside a compound
    ("einhunderteins", "eintausend", "einunddreißig"); "sechzehn"/"sechzig",
    "siebzehn"/"siebzig", "dreißig"; "einhundert" and "eintausend" are
    written with their "ein" (as the English "one hundred").

    Example:

    >>> german_number_words(321)
    'dreihunderteinundzwanzig'
    """
    n = _check_number(n)
    if n == 0:
        return "null"
    thousands, rest = divmod(n, 1000)
    word = f"{_de_below_1000(thousands, final=False)}tausend" if thousands else ""
    if rest:
        word += _de_below_1000(rest, final=True)
    return word


def number_pairs(
    n: int, seed: int = 0, max_digits: int = 6, exclude: Sequence[int] = ()
) -> tuple[list[str], list[str], np.ndarray]:
    """Draw ``n`` distinct numbers and return (English, German, numbers).

    The number of digits is drawn uniformly from 1..``max_digits`` and the
    number uniformly among those with that many digits, so short and long
    numbers are equally common (there are only 10 one-digit numbers, so they
    repeat less than asked; the set is topped up with longer ones). Numbers
    in ``exclude`` are never drawn: pass the training numbers to make a
    disjoint test set.

    Args:
        n: number of pairs.
        seed: NumPy seed; the same seed gives the same pairs.
        max_digits: 1..6.
        exclude: numbers not to draw.

    Returns:
        ``(sources, targets, numbers)``: English phrases, German words and
        the integers (an int64 array).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive integer, received {n!r}.")
    if (
        isinstance(max_digits, bool)
        or not isinstance(max_digits, (int, np.integer))
        or not 1 <= max_digits <= 6
    ):
        raise ValueError(f"max_digits must be an integer in [1, 6], received {max_digits!r}.")
    excluded = {int(x) for x in exclude}
    available = 10**max_digits - len([x for x in excluded if x < 10**max_digits])
    if n > available:
        raise ValueError(
            f"n={n} exceeds the {available} numbers with at most {max_digits} digits not excluded."
        )
    rng = np.random.default_rng(seed)
    chosen: dict[int, None] = {}
    while len(chosen) < n:
        digits = rng.integers(1, max_digits + 1, size=2 * (n - len(chosen)) + 16)
        low = np.where(digits == 1, 0, 10 ** (digits - 1))
        values = rng.integers(low, 10**digits)
        for v in values.tolist():
            if v not in excluded and v not in chosen:
                chosen[v] = None
                if len(chosen) == n:
                    break
    numbers = np.fromiter(chosen, dtype="int64", count=n)
    return (
        [english_number_words(int(v)) for v in numbers],
        [german_number_words(int(v)) for v in numbers],
        numbers,
    )


_WS = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _WS.sub(" ", text).strip()


def load_pairs(path: str | os.PathLike, max_pairs: int | None = None) -> tuple[list[str], list[str]]:
    """Read tab-separated sentence pairs.

    One pair a line: ``source<TAB>target``, optionally followed by more
    tab-separated columns that are ignored (the Anki / manythings.org files
    carry an attribution in a third column). Blank lines are skipped; runs of
    whitespace inside a sentence become one space.

    Args:
        path: UTF-8 text file.
        max_pairs: keep only the first ``max_pairs`` pairs.

    Returns:
        ``(sources, targets)``, two lists of strings of equal length.

    Raises:
        ValueError: for a missing file, bytes that are not UTF-8, a line
            without a tab, or an empty source or target, naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"Pairs file {str(path)!r} does not exist "
            "(expected a tab-separated file of source<TAB>target lines)."
        )
    if max_pairs is not None and (
        isinstance(max_pairs, bool) or not isinstance(max_pairs, (int, np.integer)) or max_pairs <= 0
    ):
        raise ValueError(f"max_pairs must be a positive integer or None, received {max_pairs!r}.")
    from lstm_apps.datasets._files import iter_text_lines

    sources, targets = [], []
    with contextlib.closing(iter_text_lines(path, what="a UTF-8 file of sentence pairs")) as lines:
        for lineno, line in lines:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) < 2:
                raise ValueError(
                    f"{path}:{lineno}: expected 'source<TAB>target[<TAB>ignored]', "
                    f"received a line without a tab: {line[:80]!r}."
                )
            src, tgt = _clean(cols[0]), _clean(cols[1])
            if not src or not tgt:
                raise ValueError(
                    f"{path}:{lineno}: empty {'source' if not src else 'target'} sentence in {line[:80]!r}."
                )
            sources.append(src)
            targets.append(tgt)
            if max_pairs is not None and len(sources) >= max_pairs:
                break
    if not sources:
        raise ValueError(f"Pairs file {str(path)!r} holds no sentence pairs.")
    return sources, targets


def load_anki_fra(max_pairs: int | None = None, cache_dir: str | None = None) -> tuple[list[str], list[str]]:
    """The English–French Anki corpus of the keras-io examples.

    Downloads ``fra-eng.zip`` from :data:`ANKI_FRA_URL` once with
    ``keras.utils.get_file`` (cached under ``~/.keras/datasets`` or
    ``cache_dir``) and reads its ``fra.txt`` with :func:`load_pairs`.

    Raises:
        ValueError: when the file cannot be downloaded (offline) or the
            archive holds no ``fra.txt``.
    """
    import keras

    if cache_dir is not None:  # Keras falls back to /tmp/.keras when the folder is missing
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    try:
        got = keras.utils.get_file("fra-eng.zip", origin=ANKI_FRA_URL, extract=True, cache_dir=cache_dir)
    except Exception as exc:  # urllib errors are re-raised by Keras as plain Exceptions
        raise ValueError(
            f"Could not download the Anki English–French corpus from {ANKI_FRA_URL} ({exc}). "
            "Check the network connection, or download it elsewhere and pass its fra.txt with --data."
        ) from exc
    got = Path(got)
    if got.is_file() and got.name == "fra.txt":
        found = [got]
    else:
        root = got if got.is_dir() else got.parent
        found = sorted(root.rglob("fra.txt"))
    if not found:
        raise ValueError(f"The downloaded archive at {str(got)!r} holds no fra.txt.")
    return load_pairs(found[0], max_pairs=max_pairs)


def split_pairs(sources: Sequence[str], targets: Sequence[str], val_fraction: float = 0.1, seed: int = 0):
    """Shuffle pairs with ``seed`` and split off ``val_fraction`` for validation.

    Returns:
        ``((train_sources, train_targets), (val_sources, val_targets))``.
    """
    if len(sources) != len(targets):
        raise ValueError(
            f"sources and targets must have equal length, received {len(sources)} and {len(targets)}."
        )
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), received {val_fraction!r}.")
    n = len(sources)
    n_val = max(1, int(round(n * val_fraction)))
    if n - n_val < 1:
        raise ValueError(f"Too few pairs to split: {n} pairs with val_fraction={val_fraction}.")
    order = np.random.default_rng(seed).permutation(n)
    val, train = order[:n_val], order[n_val:]
    pick = lambda idx, seq: [seq[i] for i in idx]  # noqa: E731
    return (pick(train, sources), pick(train, targets)), (pick(val, sources), pick(val, targets))


class PairSplits(NamedTuple):
    """Training, dev (early stopping) and validation pairs, each ``(sources, targets)``."""

    train: tuple[list[str], list[str]]
    dev: tuple[list[str], list[str]]
    val: tuple[list[str], list[str]]


def split_train_dev_val(
    sources: Sequence[str],
    targets: Sequence[str],
    val_fraction: float = 0.1,
    seed: int = 0,
    train_pairs: int | None = None,
    max_dev: int = 1000,
) -> PairSplits:
    """Seeded training, dev and validation splits: the validation split stays untouched until scored.

    :func:`split_pairs` splits off ``val_fraction`` for validation; the first
    twentieth of the remaining pairs (at least 1, at most ``max_dev``) becomes
    the dev split that early stopping and decoding choices watch. With
    ``train_pairs`` only the first N training pairs are kept: the dev and
    validation splits do not change, so runs with different N (a learning
    curve) are scored on the same pairs.

    Args:
        sources, targets: the pairs.
        val_fraction: held-out validation fraction, in (0, 1).
        seed: the shuffling seed.
        train_pairs: keep only the first N training pairs (``None``: all).
        max_dev: the most dev pairs.

    Returns:
        A :class:`PairSplits`.

    Example:

    >>> s = split_train_dev_val([str(i) for i in range(100)], [str(i) for i in range(100)], train_pairs=50)
    >>> len(s.train[0]), len(s.dev[0]), len(s.val[0])
    (50, 4, 10)
    """
    for name, value in (("train_pairs", train_pairs), ("max_dev", max_dev)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
        ):
            raise ValueError(f"{name} must be a positive integer, received {value!r}.")
    (train_src, train_tgt), val = split_pairs(sources, targets, val_fraction, seed=seed)
    n_dev = min(max_dev, max(1, len(train_src) // 20))
    dev = (train_src[:n_dev], train_tgt[:n_dev])
    train_src, train_tgt = train_src[n_dev:], train_tgt[n_dev:]
    if train_pairs is not None:
        train_src, train_tgt = train_src[:train_pairs], train_tgt[:train_pairs]
    return PairSplits((train_src, train_tgt), dev, val)


DATASETS = ("numbers", "anki-fra")


def load_translation_pairs(
    data: str | os.PathLike | None = None,
    dataset: str = "numbers",
    *,
    max_pairs: int | None = None,
    num_pairs: int = 12000,
    seed: int = 0,
) -> tuple[list[str], list[str], str]:
    """The sentence pairs of a pairs file, or of a bundled dataset.

    Args:
        data: a tab-separated pairs file (:func:`load_pairs`); it wins over ``dataset``.
        dataset: ``"numbers"`` (:func:`number_pairs`, English → German number
            words) or ``"anki-fra"`` (:func:`load_anki_fra`, English → French).
        max_pairs: read only the first N pairs of a file or of ``"anki-fra"``.
        num_pairs: number-word pairs to draw.
        seed: the seed of the number words.

    Returns:
        ``(sources, targets, name)``, ``name`` describing the data for tables.
    """
    if data:
        sources, targets = load_pairs(data, max_pairs=max_pairs)
        return sources, targets, Path(data).name
    if dataset == "anki-fra":
        sources, targets = load_anki_fra(max_pairs=max_pairs)
        return sources, targets, "anki-fra"
    if dataset == "numbers":
        sources, targets, _ = number_pairs(num_pairs, seed=seed)
        return sources, targets, "number words (English → German)"
    raise ValueError(f"dataset must be one of {DATASETS}, received {dataset!r}.")
