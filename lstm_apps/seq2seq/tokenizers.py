"""Tokenizers of the translation models: byte-pair encoding and characters.

:class:`SubwordTokenizer` learns a byte-pair encoding (Sennrich, Haddow &
Birch 2016) from the training text; :class:`CharTokenizer` uses one token
per character. Both reserve ids 0..3 for ``<pad> <unk> <s> </s>``
(:data:`PAD`, :data:`UNK`, :data:`BOS`, :data:`EOS`), save as a plain
``get_config()`` dictionary and come back with :func:`tokenizer_from_config`.

Example:

```python
tok = SubwordTokenizer.train(["einundzwanzig", "zweiundzwanzig"] * 3, vocab_size=30)
tok.decode(tok.encode("einundzwanzig"))  # 'einundzwanzig'
```
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["PAD", "UNK", "BOS", "EOS", "CharTokenizer", "SubwordTokenizer", "tokenizer_from_config"]

PAD, UNK, BOS, EOS = 0, 1, 2, 3
_SPECIALS = ("<pad>", "<unk>", "<s>", "</s>")
_SPACE = "\u2581"  # "▁" marks the start of a word, as in SentencePiece


class _Tokenizer:
    """Shared parts: ids 0..3 are ``<pad> <unk> <s> </s>``."""

    kind = "base"

    def __init__(self, symbols: Sequence[str]):
        symbols = list(symbols)
        if tuple(symbols[:4]) != _SPECIALS:
            raise ValueError(f"A vocabulary must start with {_SPECIALS}, received {symbols[:4]!r}.")
        self.symbols = symbols
        self.index = {s: i for i, s in enumerate(symbols)}

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    def tokenize(self, text: str) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no ``<s>``/``</s>``); unknown symbols map to ``<unk>``."""
        return [self.index.get(s, UNK) for s in self.tokenize(text)]

    def encode_batch(self, texts: Iterable[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``, stopping at ``</s>`` and skipping ``<pad>``/``<s>``."""
        pieces = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i in (PAD, BOS):
                continue
            pieces.append("\u2047" if i == UNK else self.symbols[i])
        return self._join(pieces)

    def _join(self, pieces: list[str]) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"kind": self.kind, "symbols": self.symbols}


class CharTokenizer(_Tokenizer):
    """One token per character.

    Example:

    >>> tok = CharTokenizer.train(["abc", "cab"])
    >>> tok.decode(tok.encode("cab"))
    'cab'
    """

    kind = "char"

    @classmethod
    def train(cls, texts: Iterable[str]) -> CharTokenizer:
        chars = sorted({c for t in texts for c in t})
        return cls(list(_SPECIALS) + chars)

    def tokenize(self, text: str) -> list[str]:
        return list(text)

    def _join(self, pieces):
        return "".join(pieces)


_PIECE = re.compile(r"\w+|[^\w\s]")


def _words(text: str) -> list[str]:
    """Pre-tokens that merges never cross: ``"▁"`` + each word's leading run of
    letters/digits, then its punctuation marks on their own (``"Land."`` ->
    ``["▁Land", "."]``). Joining them and turning ``"▁"`` into spaces gives
    back the text."""
    out = []
    for word in text.split():
        pieces = _PIECE.findall(word)
        out.append(_SPACE + pieces[0])
        out.extend(pieces[1:])
    return out


class SubwordTokenizer(_Tokenizer):
    """Byte-pair encoding of Sennrich, Haddow & Birch (2016), "Neural Machine
    Translation of Rare Words with Subword Units".

    Training starts from characters (a word is ``"▁" + word``, so spaces are
    recoverable) and repeatedly merges the most frequent adjacent pair of
    symbols until the vocabulary reaches ``vocab_size`` or no pair occurs
    ``min_frequency`` times (ties go to the lexicographically smallest pair).
    Encoding applies the merges in the order they were learned. No subword
    library ships with the project's dependencies, so this is written out
    here (about 60 lines).

    Args:
        symbols: the vocabulary (specials first).
        merges: the learned merges, in order, as ``(left, right)`` pairs.

    Example:

    >>> tok = SubwordTokenizer.train(["einundzwanzig", "zweiundzwanzig"] * 3, vocab_size=30)
    >>> tok.decode(tok.encode("einundzwanzig"))
    'einundzwanzig'
    """

    kind = "subword"

    def __init__(self, symbols: Sequence[str], merges: Sequence[Sequence[str]]):
        super().__init__(symbols)
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: r for r, m in enumerate(self.merges)}
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 2000, min_frequency: int = 2) -> SubwordTokenizer:
        if (
            isinstance(vocab_size, bool)
            or not isinstance(vocab_size, (int, np.integer))
            or vocab_size <= len(_SPECIALS)
        ):
            raise ValueError(f"vocab_size must be an integer > {len(_SPECIALS)}, received {vocab_size!r}.")
        freq = Counter(w for t in texts for w in _words(t))
        if not freq:
            raise ValueError("Cannot learn a subword vocabulary from empty texts.")
        words = [list(w) for w in freq]
        counts = list(freq.values())
        alphabet = sorted({c for w in words for c in w})
        pair_count: dict[tuple[str, str], int] = defaultdict(int)
        where: dict[tuple[str, str], set[int]] = defaultdict(set)
        for i, (w, f) in enumerate(zip(words, counts)):
            for p in zip(w, w[1:]):
                pair_count[p] += f
                where[p].add(i)
        # A heap of (-count, pair) finds the most frequent pair (ties: the lexicographically
        # smallest, so training is reproducible); entries whose count changed since are skipped.
        heap = [(-c, p) for p, c in pair_count.items()]
        heapq.heapify(heap)
        merges: list[tuple[str, str]] = []
        while len(_SPECIALS) + len(alphabet) + len(merges) < vocab_size and heap:
            negative, best = heapq.heappop(heap)
            if pair_count.get(best) != -negative:
                continue  # stale
            if -negative < min_frequency:
                break
            merges.append(best)
            joined = best[0] + best[1]
            changed = set()
            for i in sorted(where.pop(best, ())):
                w, f = words[i], counts[i]
                for p in zip(w, w[1:]):
                    pair_count[p] -= f
                    changed.add(p)
                new = _merge(w, best, joined)
                for p in zip(new, new[1:]):
                    pair_count[p] += f
                    where[p].add(i)
                    changed.add(p)
                words[i] = new
            pair_count.pop(best, None)
            changed.discard(best)
            for p in changed:
                if pair_count.get(p, 0) <= 0:
                    pair_count.pop(p, None)
                else:
                    heapq.heappush(heap, (-pair_count[p], p))
        symbols = list(_SPECIALS) + alphabet + [a + b for a, b in merges]
        symbols = list(dict.fromkeys(symbols))  # a merge can recreate an existing symbol
        return cls(symbols, merges)

    def _segment(self, word: str) -> list[str]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        sym = list(word)
        while len(sym) > 1:
            ranked = [(self.ranks.get(p, len(self.ranks)), j) for j, p in enumerate(zip(sym, sym[1:]))]
            rank, _ = min(ranked)
            if rank == len(self.ranks):
                break
            pair = self.merges[rank]
            sym = _merge(sym, pair, pair[0] + pair[1])
        if len(self._cache) < 200_000:
            self._cache[word] = sym
        return sym

    def tokenize(self, text: str) -> list[str]:
        return [s for w in _words(text) for s in self._segment(w)]

    def _join(self, pieces):
        return "".join(pieces).replace(_SPACE, " ").strip()

    def get_config(self) -> dict:
        return {**super().get_config(), "merges": [list(m) for m in self.merges]}


def _merge(symbols: list[str], pair: tuple[str, str], joined: str) -> list[str]:
    out, j, n = [], 0, len(symbols)
    while j < n:
        if j < n - 1 and symbols[j] == pair[0] and symbols[j + 1] == pair[1]:
            out.append(joined)
            j += 2
        else:
            out.append(symbols[j])
            j += 1
    return out


def tokenizer_from_config(config: dict) -> _Tokenizer:
    """Rebuild a tokenizer from its ``get_config()``."""
    kind = config.get("kind")
    if kind == "char":
        return CharTokenizer(config["symbols"])
    if kind == "subword":
        return SubwordTokenizer(config["symbols"], config["merges"])
    raise ValueError(f"Unknown tokenizer kind {kind!r}; expected 'char' or 'subword'.")
