"""A bilingual dictionary as extra training pairs: the Ding German–English dictionary.

A translation model trained on a few thousand sentence pairs never sees most
of the words a new sentence holds: on the 15,000 Ding example sentences, one
held-out German word in ten never occurs in the training targets. A
dictionary lists those words, and adding its entries to the training pairs
is a common way to give a low-resource neural translator a vocabulary
(e.g. Kothur, Knowles & Koehn 2018, "Document-level adaptation for neural
machine translation", train on dictionary entries of novel words). On the
Ding sentences the whole dictionary did not raise chrF (see the README's
translation section): most entries are one or two words, and word pairs
teach neither sentence structure nor a rare word's use in context. Its
phrases and sentences of at least three words a side (``min_words=3``)
raised it by 2.3 points.

* :func:`read_ding` reads a dictionary in the Ding format (Frank Richter's
  *Ding* program; the TU Chemnitz German–English dictionary): one entry a
  line, ``German :: English``, related sub-entries separated by `` | `` on
  both sides in the same order, synonyms within a sub-entry by ``; ``, and
  annotations that are not part of a translation: ``{f}``, ``{pl}`` (gender,
  part of speech), ``[med.]`` (field), ``(glosses)``, ``<spelling
  variants>``, `` /abbreviations/``. It returns English→German pairs.
* :func:`load_extra_pairs` reads either a Ding dictionary or a
  tab-separated pairs file and drops held-out sentences from both.
* :func:`download_ding` fetches the dictionary as Debian packages it
  (``trans-de-en`` 1.9-6, GPL-2+, from deb.debian.org) once, checks its
  SHA-256 and unpacks the dictionary file; ``"ding"`` in place of a path
  does this.

Held-out sentences must not leak into training: the dictionary holds example
sentences too (the Ding pairs in ``../shared/data/translation`` were taken
from it). Pass them as ``exclude`` and every entry line holding one of them
is dropped whole, with the headwords the sentence illustrates.

Example:

```python
sources, targets = read_ding("ding", exclude=validation_sources + validation_targets)
```
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["DING_URL", "DING_SHA256", "download_ding", "read_ding", "load_extra_pairs"]

# Debian's package of the Ding dictionary (bookworm): /usr/share/trans/de-en
DING_URL = "http://deb.debian.org/debian/pool/main/d/ding/trans-de-en_1.9-6_all.deb"
DING_SHA256 = "45f6b4cf1c434776fba6811d7bc522efabb5425c43ba8afd0e289bf9e2e53df4"
_DING_MEMBER = "usr/share/trans/de-en"

_ANNOTATION = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)|<[^<>]*>|(?<!\S)/[^/\s]+/(?!\S)")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
_NOT_WORD = re.compile(r"\W+")


def _normal(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _strip_annotations(text: str) -> str:
    previous = None
    while previous != text:  # nested brackets: "(im EKG (selten))"
        previous, text = text, _ANNOTATION.sub(" ", text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", _normal(text))


def _keys(text: str) -> tuple[str, str]:
    """Match keys of a sentence, with and without annotations: lower case, letters and digits only."""
    return _NOT_WORD.sub("", text.lower()), _NOT_WORD.sub("", _strip_annotations(text).lower())


def _banned(exclude: Iterable[str]) -> set[str]:
    """The match keys of the sentences that must not be trained on."""
    return {key for sentence in exclude for key in _keys(sentence)} - {""}


def _deb_member(deb: Path, member: str) -> bytes:
    """One file of a Debian package: an ``ar`` archive holding ``data.tar.*``."""
    with open(deb, "rb") as fh:
        if fh.read(8) != b"!<arch>\n":
            raise ValueError(f"{str(deb)!r} is not a Debian package (no ar header).")
        while True:
            header = fh.read(60)
            if len(header) < 60:
                raise ValueError(f"{str(deb)!r} holds no data.tar archive.")
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            try:
                size = int(header[48:58].decode("ascii").strip())
            except (UnicodeDecodeError, ValueError):
                raise ValueError(
                    f"{str(deb)!r} is not a valid Debian package (malformed ar member header "
                    f"{header[:16]!r})."
                ) from None
            body = fh.read(size)
            fh.read(size % 2)  # members are 2-byte aligned
            if name.startswith("data.tar"):
                break
    mode = {"data.tar.xz": "r:xz", "data.tar.gz": "r:gz", "data.tar.bz2": "r:bz2", "data.tar": "r:"}.get(name)
    if mode is None:
        raise ValueError(f"{str(deb)!r}: cannot read {name!r} (expected data.tar.xz, .gz, .bz2 or plain).")
    with tarfile.open(fileobj=io.BytesIO(body), mode=mode) as tar:
        for info in tar.getmembers():
            if info.name.lstrip("./") == member and info.isfile():
                return tar.extractfile(info).read()
    raise ValueError(f"{str(deb)!r} holds no {member!r}.")


def download_ding(cache_dir: str | os.PathLike | None = None) -> Path:
    """Download the Ding dictionary once and return the path of its ``de-en`` file.

    ``keras.utils.get_file`` fetches Debian's ``trans-de-en`` package from
    :data:`DING_URL` into ``~/.keras/lstm_apps`` (or ``cache_dir``) and checks
    its SHA-256; the dictionary file is unpacked beside it (written to a
    temporary file and renamed, so concurrent runs never read a half-written
    file).

    Raises:
        ValueError: when the package cannot be downloaded (offline) or does
            not hold the dictionary.
    """
    from lstm_apps.datasets._download import fetch_pinned

    deb = fetch_pinned(
        "trans-de-en_1.9-6_all.deb",
        DING_URL,
        DING_SHA256,
        cache_dir,
        "the Ding dictionary",
        "install it elsewhere (`apt-get download trans-de-en && dpkg-deb -x trans-de-en_*.deb ding`) and "
        "pass ding/usr/share/trans/de-en.",
    )
    target = deb.with_name("ding-1.9-de-en.txt")
    if not target.is_file():
        data = _deb_member(deb, _DING_MEMBER)
        fd, tmp = tempfile.mkstemp(prefix=".unpacking-", dir=deb.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


def _check_word_limits(min_words, max_words) -> None:
    for name, value in (("min_words", min_words), ("max_words", max_words)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"{name} must be a positive integer or None, received {value!r}.")
    if min_words is not None and max_words is not None and min_words > max_words:
        raise ValueError(
            f"min_words ({min_words}) must not exceed max_words ({max_words}): no pair could be kept."
        )


_SENTENCE_END = re.compile(r"[.!?][\"'“”‘’»«)]*$")  # closing quotes and brackets may follow


def _keep_pair(english: str, german: str, min_words, max_words, sentences_only: bool) -> bool:
    """Whether a pair passes the length and sentence filters (words counted on each side)."""
    lengths = (len(english.split()), len(german.split()))
    if max_words is not None and max(lengths) > max_words:
        return False
    if min_words is not None and min(lengths) < min_words:
        return False
    return not sentences_only or bool(
        _SENTENCE_END.search(english.strip()) and _SENTENCE_END.search(german.strip())
    )


def read_ding(
    path: str | os.PathLike,
    exclude: Iterable[str] = (),
    max_words: int | None = None,
    min_words: int | None = None,
    sentences_only: bool = False,
) -> tuple[list[str], list[str]]:
    """English→German pairs from a Ding-format dictionary.

    Every sub-entry gives pairs: its i-th English synonym with its i-th
    German synonym (the first one where a side has fewer), annotations
    removed. Duplicate pairs are kept once, in file order. A line whose two
    sides hold different numbers of ``|`` sub-entries gives no pair (which
    sub-entries belong together cannot be told).

    Args:
        path: a ``German :: English`` dictionary file (UTF-8; lines starting
            with ``#`` are comments), or ``"ding"`` to use
            :func:`download_ding`.
        exclude: sentences that must not be trained on (held-out sources and
            targets). A line holding any of them as a sub-entry or a
            synonym is dropped whole; the match ignores case, punctuation,
            spacing and annotations ("Here you are!" also drops a line
            holding "here you are [coll.]").
        max_words: keep only pairs with at most this many words on each side.
        min_words: keep only pairs with at least this many words on each side
            (phrases and sentences rather than single words).
        sentences_only: keep only pairs whose both sides end like a sentence
            (``.``, ``!`` or ``?``, closing quotes allowed): the dictionary's
            example sentences, the extra data closest to sentence pairs.

    Returns:
        ``(english, german)``, two lists of equal length.

    Raises:
        ValueError: for a missing file, bytes that are not UTF-8 or a line
            without ``::`` (naming the line), or a file holding no pairs.
    """
    if str(path) == "ding":
        path = download_ding()
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"Dictionary file {str(path)!r} does not exist (expected a Ding-format 'German :: English' "
            "file, or 'ding')."
        )
    _check_word_limits(min_words, max_words)
    from lstm_apps.datasets._files import iter_text_lines

    banned = _banned(exclude)
    seen: dict[tuple[str, str], None] = {}
    with contextlib.closing(iter_text_lines(path, what="a UTF-8 dictionary file")) as lines:
        for lineno, line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "::" not in line:
                raise ValueError(
                    f"{path}:{lineno}: expected a 'German :: English' dictionary line, received "
                    f"{line[:80]!r}."
                )
            german, english = (part.strip() for part in line.split("::", 1))
            de_subs, en_subs = german.split("|"), english.split("|")
            pieces = [p for sub in de_subs + en_subs for p in [sub, *sub.split(";")]]
            if banned and any(key in banned for p in pieces for key in _keys(p)):
                continue
            if len(de_subs) != len(en_subs):  # misaligned sub-entries: nothing can be paired safely
                continue
            for de_sub, en_sub in zip(de_subs, en_subs):
                de = [w for w in (_strip_annotations(s) for s in de_sub.split(";")) if w]
                en = [w for w in (_strip_annotations(s) for s in en_sub.split(";")) if w]
                for i in range(min(len(de), len(en)) and max(len(de), len(en))):
                    pair = (en[i] if i < len(en) else en[0], de[i] if i < len(de) else de[0])
                    if not _keep_pair(*pair, min_words, max_words, sentences_only):
                        continue
                    seen.setdefault(pair, None)
    if not seen:
        raise ValueError(
            f"Dictionary file {str(path)!r} holds no pairs (after excluding held-out sentences and applying "
            "the word and sentence filters)."
        )
    english_side = [e for e, _ in seen]
    german_side = [d for _, d in seen]
    return english_side, german_side


def _is_ding(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip() and not line.startswith("#"):
                return "::" in line and "\t" not in line
    return False


def load_extra_pairs(
    path: str | os.PathLike,
    exclude: Iterable[str] = (),
    max_words: int | None = None,
    min_words: int | None = None,
    sentences_only: bool = False,
    known: Iterable[tuple[str, str]] = (),
) -> tuple[list[str], list[str]]:
    """Extra English→German training pairs from a dictionary or a pairs file.

    ``"ding"`` or a file whose first entry line holds ``::`` and no tab is
    read with :func:`read_ding`; anything else as tab-separated pairs
    (:func:`lstm_apps.datasets.translation.load_pairs`), dropping every pair
    whose source or target is one of ``exclude`` (compared ignoring case,
    punctuation and spacing). ``max_words``, ``min_words`` and
    ``sentences_only`` filter the pairs as in :func:`read_ding`.

    ``known`` are ``(source, target)`` pairs already trained on (the
    training sentences; the Ding sentences file repeats about 10,000 of the
    dictionary's example sentences). An extra pair matching one of them on
    both sides, compared like ``exclude``, is dropped, so the extra data adds
    pairs instead of weighting training sentences twice.

    Returns:
        ``(sources, targets)``.
    """
    from lstm_apps.datasets.translation import load_pairs

    if str(path) == "ding" or (Path(path).is_file() and _is_ding(Path(path))):
        sources, targets = read_ding(
            path, exclude=exclude, max_words=max_words, min_words=min_words, sentences_only=sentences_only
        )
    else:
        _check_word_limits(min_words, max_words)
        sources, targets = load_pairs(path)
        banned = _banned(exclude)
        keep = [
            i
            for i, (s, t) in enumerate(zip(sources, targets))
            if not (banned & {*_keys(s), *_keys(t)})
            and _keep_pair(s, t, min_words, max_words, sentences_only)
        ]
        if not keep:
            raise ValueError(
                f"Pairs file {str(path)!r} holds no pairs (after excluding held-out sentences and applying "
                "the word and sentence filters)."
            )
        sources, targets = [sources[i] for i in keep], [targets[i] for i in keep]
    seen = {(_keys(s)[1], _keys(t)[1]) for s, t in known}
    if seen:
        keep = [i for i, (s, t) in enumerate(zip(sources, targets)) if (_keys(s)[1], _keys(t)[1]) not in seen]
        if not keep:
            raise ValueError(
                f"Every pair of {str(path)!r} is already among the {len(seen)} known training pairs: there "
                "is nothing extra to add."
            )
        sources, targets = [sources[i] for i in keep], [targets[i] for i in keep]
    return sources, targets
