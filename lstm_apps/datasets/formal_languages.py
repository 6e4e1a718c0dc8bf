"""Formal languages for next-symbol prediction: aⁿbⁿ, aⁿbⁿcⁿ, Dyck-1 and parity.

The setting of Gers & Schmidhuber (2001), "LSTM recurrent networks learn simple
context-free and context-sensitive languages": a string is fed one symbol at a
time, starting with the start symbol ``S``, and after each symbol the network
predicts the *set* of symbols that may legally come next, the end symbol ``T``
included: one sigmoid output per symbol, trained towards a multi-hot target.

========  =====================  ==========================  ====================
language  strings of size n      legal next symbols          scored positions
========  =====================  ==========================  ====================
anbn      aⁿbⁿ (n >= 1)          a,b while reading a's;      deterministic ones
                                 then b ... b, T
anbncn    aⁿbⁿcⁿ (n >= 1)        the same, then c ... c, T   deterministic ones
dyck1     a balanced bracket     ``(``; ``)`` while depth    every position
          word of depth n        > 0; T at depth 0
parity    n bits, an even        0, 1; T after an even       every position
          number of 1s           number of 1s
========  =====================  ==========================  ====================

For aⁿbⁿ and aⁿbⁿcⁿ the positions scored are those where exactly one symbol is
legal (the *deterministic* ones: after ``S``, every b after the first, the c's
and the end symbol ``T``); a network that counts predicts them all. (On the
a's the legal set is always {a, b}: predicting it needs no count.) For Dyck-1
and parity no position has a single legal successor, but the whole legal *set*
is a function of the prefix (whether ``)`` or ``T`` may come), so every
position is scored, as Suzgun et al. (2019) score Dyck languages.

A string counts as right when at every scored position the outputs thresholded
at 0.5 are exactly the legal set; :func:`max_n_all_correct` is the largest
``N`` with every test string of size ``n <= N`` right, and
:func:`accuracy_by_size` the fraction of many test strings right at each size.

Example:

>>> batch = encode("anbn", [tokens("anbn", 2)])
>>> batch.x.shape, batch.y.shape      # S a a b b: 5 steps, inputs S,a,b; outputs a,b,T
((1, 5, 3), (1, 5, 3))
>>> batch.y[0].astype(int).tolist()   # after S: a; after a: a or b; after b: b; after bb: T
[[1, 0, 0], [1, 1, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]]
>>> batch.scored[0].tolist()
[True, False, False, True, True]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LANGUAGES",
    "Language",
    "FormalBatch",
    "language",
    "tokens",
    "legal_next",
    "running_counts",
    "encode",
    "training_set",
    "test_strings",
    "strings_correct",
    "max_n_from_correct",
    "max_n_all_correct",
    "accuracy_by_size",
]


@dataclass(frozen=True)
class Language:
    """A formal language of this module.

    Attributes:
        name: ``"anbn"``, ``"anbncn"``, ``"dyck1"`` or ``"parity"``.
        letters: the symbols of its strings.
        scored: ``"deterministic"`` (positions with exactly one legal next
            symbol) or ``"all"``.
        size: what ``n`` counts.
        description: one line.
    """

    name: str
    letters: tuple[str, ...]
    scored: str
    size: str
    description: str

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input symbols (one-hot channels): ``S`` and the letters."""
        return ("S", *self.letters)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The output symbols (sigmoid units): the letters and ``T``."""
        return (*self.letters, "T")


_LANGUAGES = {
    "anbn": Language("anbn", ("a", "b"), "deterministic", "n", "aⁿbⁿ, n >= 1 (context-free)"),
    "anbncn": Language("anbncn", ("a", "b", "c"), "deterministic", "n", "aⁿbⁿcⁿ (context-sensitive)"),
    "dyck1": Language("dyck1", ("(", ")"), "all", "nesting depth", "balanced brackets, one kind"),
    "parity": Language("parity", ("0", "1"), "all", "length", "bit strings with an even number of 1s"),
}
#: The languages, by name.
LANGUAGES = tuple(_LANGUAGES)


def language(name: str) -> Language:
    """The :class:`Language` called ``name`` (a ``ValueError`` names the choices)."""
    if name not in _LANGUAGES:
        raise ValueError(f"Unknown language {name!r}; expected one of {list(LANGUAGES)}.")
    return _LANGUAGES[name]


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, received {n!r}.")
    return int(n)


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _dyck_word(depth: int, rng: np.random.Generator) -> np.ndarray:
    """A random Dyck-1 word (0 = open, 1 = close) whose maximal depth is exactly ``depth``.

    A walk up from 0 that opens with probability 3/4 (never below 0) until it
    reaches ``depth``, then a walk down that closes with probability 3/4
    (never above ``depth``) until it is back at 0: about ``4 * depth`` letters.
    """
    moves, d = [], 0
    for target, up_p in ((depth, 0.75), (0, 0.25)):
        while d != target:
            up = d == 0 or (d < depth and rng.random() < up_p)
            moves.append(0 if up else 1)
            d += 1 if up else -1
    return np.asarray(moves, dtype=np.int64)


def tokens(name: str, n: int, seed=None) -> np.ndarray:
    """The letters of one string of size ``n`` as indices into ``language(name).letters``.

    Args:
        name: the language.
        n: its size: ``n`` for aⁿbⁿ and aⁿbⁿcⁿ (the only string of that size),
            the nesting depth for Dyck-1 (a random word reaching exactly that
            depth, about ``4n`` letters), the length for parity (random bits,
            the last one making the number of 1s even).
        seed: an ``int`` or ``numpy.random.Generator`` for the random languages.

    Returns:
        A 1-D ``int64`` array (``S`` and ``T`` are not included).

    Example:

    >>> tokens("anbncn", 2).tolist()
    [0, 0, 1, 1, 2, 2]
    """
    lang, n = language(name), _check_n(n)
    if name in ("anbn", "anbncn"):
        return np.repeat(np.arange(len(lang.letters)), n)
    rng = _rng(seed)
    if name == "dyck1":
        return _dyck_word(n, rng)
    bits = rng.integers(0, 2, size=n)
    bits[-1] = bits[:-1].sum() % 2  # the last bit makes the number of 1s even
    return bits


def legal_next(name: str, letters: np.ndarray) -> np.ndarray:
    """The legal next symbols after ``S`` and after each letter of one string.

    Args:
        name: the language.
        letters: the string's letters (indices, as :func:`tokens` returns).

    Returns:
        A ``(len(letters) + 1, len(outputs))`` boolean array: row ``t`` is the
        set of symbols that may follow the first ``t`` letters (``outputs`` =
        the letters and ``T``).
    """
    lang = language(name)
    x = np.asarray(letters, dtype=np.int64)
    k, length = len(lang.letters), len(x)
    legal = np.zeros((length + 1, k + 1), dtype=bool)
    end = k  # column of T
    if name in ("anbn", "anbncn"):
        n = length // k
        if length % k or not np.array_equal(x, np.repeat(np.arange(k), n)):
            raise ValueError(f"letters are not a string of {name}: {x.tolist()}")
        legal[0, 0] = True  # after S: a
        legal[1 : n + 1, :2] = True  # after each a: a or b
        for j in range(1, k):  # after the i-th b (c): the next b (c), or the first c (T)
            rows = np.arange(j * n + 1, (j + 1) * n + 1)
            legal[rows[:-1], j] = True
            legal[rows[-1], j + 1 if j + 1 < k else end] = True
        return legal
    if name == "dyck1":
        depth = np.concatenate([[0], np.cumsum(np.where(x == 0, 1, -1))])
        if depth.min() < 0:
            raise ValueError(f"letters close a bracket that was never opened: {x.tolist()}")
        legal[:, 0] = True
        legal[:, 1] = depth > 0
        legal[:, end] = depth == 0
        return legal
    ones = np.concatenate([[0], np.cumsum(x == 1)])
    legal[:, :2] = True
    legal[:, end] = ones % 2 == 0
    return legal


def running_counts(name: str, letters: np.ndarray) -> dict[str, np.ndarray]:
    """The counts a counter cell could track, after ``S`` and after each letter.

    Returns:
        ``{"a-b": ...}`` for aⁿbⁿ (a's read minus b's read); ``{"a-b", "b-c",
        "a-c"}`` for aⁿbⁿcⁿ; ``{"depth"}`` for Dyck-1; ``{"parity"}`` (1s read,
        mod 2) for parity: each a float array of ``len(letters) + 1`` values.

    Example:

    >>> running_counts("anbn", tokens("anbn", 2))["a-b"].tolist()
    [0.0, 1.0, 2.0, 1.0, 0.0]
    """
    lang = language(name)
    x = np.asarray(letters, dtype=np.int64)
    seen = {s: np.concatenate([[0.0], np.cumsum(x == i, dtype=float)]) for i, s in enumerate(lang.letters)}
    if name == "anbn":
        return {"a-b": seen["a"] - seen["b"]}
    if name == "anbncn":
        return {"a-b": seen["a"] - seen["b"], "b-c": seen["b"] - seen["c"], "a-c": seen["a"] - seen["c"]}
    if name == "dyck1":
        return {"depth": seen["("] - seen[")"]}
    return {"parity": seen["1"] % 2}


@dataclass
class FormalBatch:
    """Strings of one language, encoded for next-symbol prediction and post-padded.

    Attributes:
        x: one-hot inputs ``(batch, steps, len(inputs))``, float32: ``S`` and
            the letters; padding is all zeros.
        y: multi-hot targets ``(batch, steps, len(outputs))``, float32: the
            legal next symbols after each input.
        valid: ``(batch, steps)`` bool, the real (unpadded) steps.
        scored: ``(batch, steps)`` bool, the steps the criterion checks.
        sizes: ``(batch,)`` the size ``n`` of each string.
        name: the language.
    """

    x: np.ndarray
    y: np.ndarray
    valid: np.ndarray
    scored: np.ndarray
    sizes: np.ndarray
    name: str

    def __len__(self) -> int:
        return len(self.x)


def encode(name: str, strings: Sequence[np.ndarray], sizes: Sequence[int] | None = None) -> FormalBatch:
    """Encode strings (letter indices) as a :class:`FormalBatch`.

    Args:
        name: the language.
        strings: each string's letters, as :func:`tokens` returns.
        sizes: each string's size ``n`` (default: its number of letters
            divided by the number of letters of the language for aⁿbⁿ and
            aⁿbⁿcⁿ, else its length).

    Returns:
        The batch, padded to the longest string plus one step (for ``S``).
    """
    lang = language(name)
    if not len(strings):
        raise ValueError("strings is empty; expected at least one string.")
    k = len(lang.letters)
    steps = max(len(s) for s in strings) + 1
    batch = len(strings)
    x = np.zeros((batch, steps, k + 1), dtype="float32")
    y = np.zeros((batch, steps, k + 1), dtype="float32")
    valid = np.zeros((batch, steps), dtype=bool)
    scored = np.zeros((batch, steps), dtype=bool)
    for i, s in enumerate(strings):
        s = np.asarray(s, dtype=np.int64)
        legal = legal_next(name, s)
        length = len(s) + 1
        x[i, 0, 0] = 1.0
        x[i, np.arange(1, length), s + 1] = 1.0
        y[i, :length] = legal
        valid[i, :length] = True
        scored[i, :length] = legal.sum(axis=1) == 1 if lang.scored == "deterministic" else True
    if sizes is None:
        fixed = name in ("anbn", "anbncn")
        sizes = [len(s) // k if fixed else len(s) for s in strings]
    return FormalBatch(x, y, valid, scored, np.asarray(sizes, dtype=np.int64), name)


def training_set(name: str, max_n: int = 10, size: int = 1000, seed=0) -> FormalBatch:
    """The strings trained on: sizes ``1 .. max_n``.

    aⁿbⁿ and aⁿbⁿcⁿ have one string per size, so the set is those ``max_n``
    strings (as in Gers & Schmidhuber 2001); for Dyck-1 and parity it is
    ``size`` random strings with sizes drawn uniformly from ``1 .. max_n``.

    Example:

    >>> len(training_set("anbn", 10)), training_set("anbn", 10).x.shape[1]
    (10, 21)
    """
    max_n = _check_n(max_n)
    if name in ("anbn", "anbncn"):
        ns = list(range(1, max_n + 1))
        return encode(name, [tokens(name, n) for n in ns], ns)
    _check_n(size)
    rng = _rng(seed)
    ns = rng.integers(1, max_n + 1, size=size)
    return encode(name, [tokens(name, int(n), rng) for n in ns], ns)


def test_strings(name: str, ns: Sequence[int], seed=0, per_n: int = 1) -> FormalBatch:
    """``per_n`` test strings for each size in ``ns`` (the ``per_n`` of a size next to each other).

    A random language's ``k``-th string of size ``n`` is drawn from its own
    generator, seeded with ``(seed, n)`` for ``k = 0`` and ``(seed, n, k)``
    after, so it is the same whatever other sizes (or how many per size) are
    asked for. aⁿbⁿ and aⁿbⁿcⁿ have one string per size: ``per_n`` copies of it.
    """
    ns = [_check_n(n) for n in ns]
    per_n = _check_n(per_n)
    key = lambda n, k: [int(seed), n] if k == 0 else [int(seed), n, k]  # noqa: E731
    sizes = [n for n in ns for _ in range(per_n)]
    strings = [tokens(name, n, np.random.default_rng(key(n, k))) for n in ns for k in range(per_n)]
    return encode(name, strings, sizes)


def strings_correct(outputs, batch: FormalBatch, threshold: float = 0.5) -> np.ndarray:
    """Whether each string is right: at every scored step the thresholded outputs are the legal set.

    Args:
        outputs: the model's sigmoid outputs ``(batch, steps, len(outputs))``
            (at least as many steps as the batch's real ones).
        batch: the :class:`FormalBatch` they answer.
        threshold: an output above it counts as "predicted legal".

    Returns:
        A ``(batch,)`` boolean array.
    """
    out = np.asarray(outputs)
    if out.shape[0] != len(batch) or out.shape[2] != batch.y.shape[2] or out.shape[1] < batch.y.shape[1]:
        raise ValueError(
            f"outputs of shape {out.shape} do not answer a batch of targets of shape {batch.y.shape}."
        )
    steps = batch.y.shape[1]
    agree = ((out[:, :steps] > threshold) == (batch.y > 0.5)).all(axis=-1)
    return (agree | ~batch.scored).all(axis=1)


def max_n_from_correct(sizes: Sequence[int], correct: Sequence[bool]) -> int:
    """The largest ``N`` such that every string of size ``n <= N`` was right (0 if none).

    Sizes must run ``1, 2, 3, ...`` without a gap up to where testing stopped.

    Example:

    >>> max_n_from_correct([1, 2, 3, 4], [True, True, False, True])
    2
    """
    sizes = np.asarray(sizes)
    correct = np.asarray(correct, dtype=bool)
    order = np.argsort(sizes, kind="stable")
    sizes, correct = sizes[order], correct[order]
    if len(sizes) and not np.array_equal(sizes, np.arange(1, len(sizes) + 1)):
        raise ValueError(f"sizes must be 1, 2, 3, ... without gaps, received {sizes.tolist()[:20]}...")
    wrong = np.flatnonzero(~correct)
    return int(wrong[0]) if len(wrong) else int(len(sizes))


def _expected_steps(name: str, n: int) -> int:
    """About how many steps a test string of size ``n`` takes (Dyck-1 words are random: about 4n + 1)."""
    per_n = {"anbn": 2, "anbncn": 3, "dyck1": 4, "parity": 1}[language(name).name]
    return per_n * n + 1


def max_n_all_correct(
    predict: Callable[[np.ndarray], np.ndarray],
    name: str,
    max_n: int = 1000,
    seed=0,
    max_tokens: int = 2**17,
    stop_at_first_error: bool = True,
) -> dict:
    """Test every size ``n = 1 .. max_n`` and return the largest ``N`` with all ``n <= N`` right.

    Strings are evaluated in order of size, in chunks of at most ``max_tokens``
    padded steps; with ``stop_at_first_error`` testing ends with the chunk
    holding the first wrong string (nothing after it can change the answer).

    Args:
        predict: ``x -> outputs`` (e.g. ``lambda x: model.predict(x, verbose=0)``),
            sigmoid outputs of shape ``(batch, steps, len(outputs))``.
        name: the language.
        max_n: the largest size tested.
        seed: the seed of the random languages' test strings (see :func:`test_strings`).
        max_tokens: padded steps per call of ``predict`` (a chunk holds at least one string).
        stop_at_first_error: stop at the chunk with the first wrong string.

    Returns:
        ``{"max_n_all_correct": N, "tested_up_to": largest size tested,
        "strings_right": how many of the tested strings were right}``.

    Example:

    ```python
    result = max_n_all_correct(lambda x: model.predict(x, verbose=0), "anbn", max_n=1000)
    result["max_n_all_correct"]     # e.g. 1000 for a counter that generalises all the way
    ```
    """
    max_n = _check_n(max_n)
    _check_n(max_tokens)
    sizes, correct, n = [], [], 1
    while n <= max_n:
        chunk = [n]
        while chunk[-1] < max_n:
            longest = chunk[-1] + 1
            steps = _expected_steps(name, longest)
            if steps * (len(chunk) + 1) > max_tokens:
                break
            chunk.append(longest)
        batch = test_strings(name, chunk, seed=seed)
        right = strings_correct(predict(batch.x), batch)
        sizes += chunk
        correct += right.tolist()
        n = chunk[-1] + 1
        if stop_at_first_error and not right.all():
            break
    return {
        "max_n_all_correct": max_n_from_correct(sizes, correct),
        "tested_up_to": int(sizes[-1]),
        "strings_right": int(np.sum(correct)),
    }


def accuracy_by_size(
    predict: Callable[[np.ndarray], np.ndarray],
    name: str,
    max_n: int,
    per_n: int = 100,
    seed=0,
    min_n: int = 1,
    max_tokens: int = 2**17,
) -> dict:
    """The fraction of test strings right at every size ``n = min_n .. max_n``.

    Unlike :func:`max_n_all_correct` nothing stops at the first wrong string:
    every size gets ``per_n`` strings (:func:`test_strings`), each right or
    wrong by :func:`strings_correct` (for Dyck-1 and parity: every step's legal
    set, so a parity string of length ``n`` is right when the running parity
    is right after each of its ``n + 1`` prefixes). The proof task of Delétang
    et al. (2023) and xLSTM (Beck et al. 2024) asks for this accuracy at every
    length beyond the training lengths.

    Args:
        predict: ``x -> outputs``, sigmoid outputs ``(batch, steps, len(outputs))``.
        name: the language.
        max_n: the largest size tested.
        per_n: strings per size (aⁿbⁿ and aⁿbⁿcⁿ have one string per size:
            it is tested once, so their accuracies are 0 or 1).
        seed: the test strings' seed.
        min_n: the smallest size tested.
        max_tokens: padded steps per call of ``predict`` (a call holds at
            least the strings of one size).

    Returns:
        ``{"sizes": [min_n .. max_n], "accuracy": the fraction right at each
        size, "strings_per_size": per_n (1 for aⁿbⁿ, aⁿbⁿcⁿ), "min_accuracy",
        "worst_size": the smallest size with the lowest accuracy}``.

    Example:

    ```python
    result = accuracy_by_size(lambda x: model.predict(x, verbose=0), "parity", max_n=256)
    min(result["accuracy"]) >= 0.99   # the proof task's criterion
    ```
    """
    max_n, min_n = _check_n(max_n), _check_n(min_n)
    _check_n(max_tokens)
    if min_n > max_n:
        raise ValueError(f"min_n must be at most max_n, received min_n={min_n} and max_n={max_n}.")
    per_n = 1 if language(name).scored == "deterministic" else _check_n(per_n)
    sizes, accuracy, n = [], [], min_n
    while n <= max_n:
        chunk = [n]
        while (
            chunk[-1] < max_n
            and _expected_steps(name, chunk[-1] + 1) * per_n * (len(chunk) + 1) <= max_tokens
        ):
            chunk.append(chunk[-1] + 1)
        batch = test_strings(name, chunk, seed=seed, per_n=per_n)
        right = strings_correct(predict(batch.x), batch).reshape(len(chunk), per_n)
        sizes += chunk
        accuracy += right.mean(axis=1).tolist()
        n = chunk[-1] + 1
    acc = np.asarray(accuracy)
    return {
        "sizes": sizes,
        "accuracy": [float(a) for a in acc],
        "strings_per_size": per_n,
        "min_accuracy": float(acc.min()),
        "worst_size": int(sizes[int(np.argmin(acc))]),
    }
