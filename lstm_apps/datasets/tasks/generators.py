"""Sequence generators of the long-time-lag tasks of Hochreiter & Schmidhuber (1997).

Each generator has the paper's definition and is seeded (an ``int`` seed or a
``numpy.random.Generator``; every call with the same seed returns the same
sequences).

============================== =======  =========================================
task                           section  generator
============================== =======  =========================================
embedded Reber grammar         5.1      :func:`embedded_reber`
noise-free long lags, p=100    5.2a     :func:`long_lag`
adding problem, T=100/500/1000 5.4      :func:`adding_problem`
multiplication problem         5.5      :func:`multiplication_problem`
temporal order, 2 symbols      5.6a     :func:`temporal_order` (``relevant=2``)
temporal order, 3 symbols      5.6b     :func:`temporal_order` (``relevant=3``)
============================== =======  =========================================

Every generator returns a :class:`TaskBatch`: ``x`` of shape
``(n, max_length, features)`` (``float32``, sequences of different lengths are
*post-padded with all-zero vectors*, so a ``keras.layers.Masking(0.0)`` in
front of the recurrent layer skips the padding), targets ``y``, the true
``lengths`` and task-specific ``info`` (marked positions, legal next symbols,
...).

Example:

>>> b = adding_problem(4, T=100, seed=0)
>>> b.x.shape[0], b.x.shape[2], b.y.shape
(4, 2, (4, 1))
>>> bool(((b.x[..., 1] == 1.0).sum(axis=1) == 2).all())   # exactly two marks
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "TaskBatch",
    "REBER_SYMBOLS",
    "REBER_TRANSITIONS",
    "reber_string",
    "embedded_reber_string",
    "is_embedded_reber",
    "embedded_reber_legal_next",
    "embedded_reber",
    "long_lag",
    "long_lag_sequences",
    "adding_problem",
    "multiplication_problem",
    "temporal_order",
    "TEMPORAL_ORDER_SYMBOLS",
    "TEMPORAL_ORDER_CLASSES",
    "pad",
    "concat",
    "tail",
]


@dataclass
class TaskBatch:
    """A batch of task sequences.

    Attributes:
        x: inputs ``(n, max_length, features)``, float32, post-padded with
            zeros; or, for tasks with many local input units (5.2b, 5.2c),
            ``(n, max_length)`` int32 *symbol ids*: symbol ``i`` is ``i + 1``,
            padding is 0, and ``info["symbols"]`` holds the number of input
            units (the model one-hot encodes them: ``features``).
        y: targets: ``(n, 1)`` (adding, multiplication), ``(n, classes)``
            one-hot (temporal order) or ``(n, max_length, symbols)`` one-hot
            next symbols (Reber, long lag; zero rows at padding).
        lengths: ``(n,)`` number of real (unpadded) time steps per sequence.
        info: task-specific arrays (see each generator).
    """

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def symbolic(self) -> bool:
        """Whether ``x`` holds symbol ids (``(n, steps)``) rather than input vectors."""
        return self.x.ndim == 2

    @property
    def features(self) -> int:
        """Input units per step (the one-hot depth of symbol ids)."""
        return int(self.info["symbols"]) if self.symbolic else int(self.x.shape[2])

    def one_hot_x(self) -> np.ndarray:
        """``x`` as input vectors ``(n, steps, features)`` (``x`` itself unless symbolic)."""
        if not self.symbolic:
            return self.x
        return np.eye(self.features + 1, dtype="float32")[self.x][..., 1:]

    @property
    def step_mask(self) -> np.ndarray:
        """Boolean ``(n, max_length)``: True at real (unpadded) steps."""
        return np.arange(self.x.shape[1])[None, :] < self.lengths[:, None]


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"seed must be an int, None or a numpy.random.Generator, received {seed!r}.")
    return np.random.default_rng(seed)


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n (number of sequences) must be a positive integer, received {n!r}.")
    return int(n)


# -- 5.1 embedded Reber grammar ----------------------------------------------------------------

#: Symbol order of the one-hot encoding (the paper's B, T, P, S, X, V, E).
REBER_SYMBOLS = "BTPSXVE"

#: The Reber automaton (Reber 1967, as drawn by Cleeremans et al. 1989):
#: state -> {symbol: next state}. State 0 follows B; "end" is followed by E.
REBER_TRANSITIONS: dict[int, dict[str, int | str]] = {
    0: {"T": 1, "P": 2},
    1: {"S": 1, "X": 3},
    2: {"T": 2, "V": 4},
    3: {"X": 2, "S": "end"},
    4: {"P": 3, "V": "end"},
}


def reber_string(rng) -> str:
    """One string of the (plain) Reber grammar, ``B...E``; each branch has probability 1/2."""
    rng = _rng(rng)
    out, state = ["B"], 0
    while state != "end":
        options = REBER_TRANSITIONS[state]
        sym = list(options)[int(rng.integers(2))]
        out.append(sym)
        state = options[sym]
    out.append("E")
    return "".join(out)


def embedded_reber_string(rng) -> str:
    """One embedded Reber string ``B (T|P) <Reber string> (same T|P) E``."""
    rng = _rng(rng)
    outer = "TP"[int(rng.integers(2))]
    return "B" + outer + reber_string(rng) + outer + "E"


def _reber_legal(inner: str):
    """Legal-next sets after each symbol of a plain Reber string, or None if not in the grammar."""
    if len(inner) < 2 or inner[0] != "B" or inner[-1] != "E":
        return None
    legal = [{"T", "P"}]  # after B
    state: int | str = 0
    for sym in inner[1:-1]:
        if state == "end" or sym not in REBER_TRANSITIONS[state]:
            return None
        state = REBER_TRANSITIONS[state][sym]
        legal.append({"E"} if state == "end" else set(REBER_TRANSITIONS[state]))
    if state != "end":
        return None
    return legal


def is_embedded_reber(s: str) -> bool:
    """True if ``s`` is a string of the embedded Reber grammar."""
    return embedded_reber_legal_next(s, strict=False) is not None


def embedded_reber_legal_next(s: str, strict: bool = True):
    """For each symbol of an embedded Reber string but the last, the set of legal next symbols.

    Args:
        s: the string, e.g. ``"BTBTXSETE"``.
        strict: raise ``ValueError`` if ``s`` is not in the grammar (else return None).

    Returns:
        A list of ``len(s) - 1`` sets of symbols.
    """
    ok = (
        isinstance(s, str) and len(s) >= 6 and s[0] == "B" and s[1] in "TP" and s[-1] == "E" and s[-2] == s[1]
    )
    inner_legal = _reber_legal(s[2:-2]) if ok else None
    if inner_legal is None:
        if strict:
            raise ValueError(
                f"expected a string of the embedded Reber grammar (e.g. 'BTBTXSETE'), received {s!r}."
            )
        return None
    # after B: T or P; after the outer T/P: B; inner; after the inner E: the outer symbol; then E.
    return [{"T", "P"}, {"B"}, *inner_legal, {s[1]}, {"E"}]


def _one_hot(indices: np.ndarray, depth: int) -> np.ndarray:
    return np.eye(depth, dtype="float32")[indices]


def embedded_reber(n: int, seed=None, exclude=()) -> TaskBatch:
    """Embedded Reber grammar, section 5.1: predict the next symbol.

    Inputs are the one-hot symbols (order :data:`REBER_SYMBOLS`) of each
    string but its last; the target at each step is the next symbol. The
    grammar is non-deterministic, so the paper's criterion is that the
    output units of *all legal* next symbols are the most active ones
    (:func:`reber_success`); ``info["legal"]`` holds them as a boolean
    ``(n, max_length, 7)`` array. The hard part is the second-to-last
    symbol, which repeats the outer T/P seen 6 to >20 steps earlier.

    Args:
        n: number of strings.
        seed: integer seed or ``numpy.random.Generator``.
        exclude: strings that must not be drawn. The paper's test strings
            leave out the strings already in the training set: pass the
            training strings here.

    Returns:
        :class:`TaskBatch` with ``info["strings"]`` (the strings) and
        ``info["legal"]``. The paper used 256 training and 256 test strings.
    """
    n = _check_n(n)
    rng = _rng(seed)
    excluded = set(exclude)
    bad = [s for s in excluded if not isinstance(s, str)]
    if bad:
        raise ValueError(f"exclude must hold strings, received {bad[0]!r}.")
    strings = []
    while len(strings) < n:
        s = embedded_reber_string(rng)
        if s not in excluded:
            strings.append(s)
    lengths = np.array([len(s) - 1 for s in strings])
    L = int(lengths.max())
    d = len(REBER_SYMBOLS)
    x = np.zeros((n, L, d), "float32")
    y = np.zeros((n, L, d), "float32")
    legal = np.zeros((n, L, d), bool)
    for i, s in enumerate(strings):
        idx = np.array([REBER_SYMBOLS.index(c) for c in s])
        x[i, : len(s) - 1] = _one_hot(idx[:-1], d)
        y[i, : len(s) - 1] = _one_hot(idx[1:], d)
        for t, options in enumerate(embedded_reber_legal_next(s)):
            legal[i, t, [REBER_SYMBOLS.index(c) for c in options]] = True
    return TaskBatch(x, y, lengths, {"strings": strings, "legal": legal})


# -- 5.2a noise-free long time lags -------------------------------------------------------------


def long_lag_sequences(p: int = 100) -> TaskBatch:
    """The two sequences of task 5.2a: ``(y, a_1..a_{p-1}, y)`` then ``(x, a_1..a_{p-1}, x)``.

    Symbols (local, ``p + 1`` input units): ``a_1..a_{p-1}`` are units
    ``0..p-2``, ``x`` is unit ``p - 1`` and ``y`` unit ``p``. The net sees
    the first ``p`` symbols and predicts the next one at each step; only the
    last prediction needs memory, across the minimal time lag ``p``.
    """
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 2:
        raise ValueError(f"p (the time lag) must be an integer >= 2, received {p!r}.")
    p = int(p)
    d = p + 1
    middle = np.arange(p - 1)
    seqs = np.stack([np.r_[p, middle, p], np.r_[p - 1, middle, p - 1]])  # y-sequence, x-sequence
    x = _one_hot(seqs[:, :-1], d)
    y = _one_hot(seqs[:, 1:], d)
    return TaskBatch(x, y, np.full(2, p), {"first": np.array(["y", "x"]), "p": p})


def long_lag(n: int, p: int = 100, seed=None) -> TaskBatch:
    """Noise-free long time lags, section 5.2a: ``n`` sequences, each of the two with probability 1/2.

    See :func:`long_lag_sequences` for the encoding. ``info["which"]`` is 0
    for the y-sequence and 1 for the x-sequence. The paper used p = 100.
    """
    n = _check_n(n)
    rng = _rng(seed)
    both = long_lag_sequences(p)
    which = rng.integers(2, size=n)
    return TaskBatch(both.x[which], both.y[which], both.lengths[which], {"which": which, "p": both.info["p"]})


# -- 5.4 adding and 5.5 multiplication ----------------------------------------------------------


def _check_T(T):
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 20:
        raise ValueError(f"T (minimal sequence length) must be an integer >= 20, received {T!r}.")
    return int(T)


def _marked_pairs(n, T, rng, low, high, first_marked_value):
    T = _check_T(T)
    lengths = rng.integers(T, T + T // 10 + 1, size=n)  # an integer between T and T + T/10
    L = int(lengths.max())
    x = np.zeros((n, L, 2), "float32")
    marks = np.zeros((n, 2), int)
    values = np.zeros((n, 2), "float64")
    for i, length in enumerate(lengths):
        v = rng.uniform(low, high, size=length)
        m = np.zeros(length)
        m[0] = m[length - 1] = -1.0
        i1 = int(rng.integers(10))  # one of the first ten pairs
        unmarked = [j for j in range(T // 2) if j != i1][
            : T // 2 - 1
        ]  # the first T/2 - 1 still unmarked pairs
        i2 = int(unmarked[int(rng.integers(len(unmarked)))])
        m[i1] = m[i2] = 1.0
        if m[0] == 1.0:  # "X1 is set to [neutral] in the rare case where the first pair got marked"
            v[0] = first_marked_value
        x[i, :length, 0] = v
        x[i, :length, 1] = m
        marks[i] = sorted((i1, i2))
        values[i] = x[i, sorted((i1, i2)), 0]
    return x, lengths, marks, values


def adding_problem(n: int, T: int = 100, seed=None) -> TaskBatch:
    """The adding problem, section 5.4.

    Each step is a pair (value, marker): values uniform in [-1, 1]; markers
    1.0 at exactly two pairs, -1.0 at the first and the final pair (unless
    marked), 0.0 elsewhere. Lengths are random integers in ``[T, T + T/10]``.
    The first mark is one of the first ten pairs (value ``X1``), the second
    one of the first ``T/2 - 1`` still unmarked pairs (``X2``); if the first
    pair is marked its value is set to 0. The target, given only at the
    sequence end, is ``0.5 + (X1 + X2) / 4`` in [0, 1]; a sequence is
    processed correctly if the absolute error there is below 0.04.

    Returns:
        :class:`TaskBatch` with ``y`` ``(n, 1)``, ``info["marks"]`` (the two
        marked positions, sorted) and ``info["values"]`` (their values).
    """
    n = _check_n(n)
    x, lengths, marks, values = _marked_pairs(n, T, _rng(seed), -1.0, 1.0, 0.0)
    y = (0.5 + values.sum(axis=1) / 4.0).astype("float32")[:, None]
    return TaskBatch(x, y, lengths, {"marks": marks, "values": values, "T": int(T)})


def multiplication_problem(n: int, T: int = 100, seed=None) -> TaskBatch:
    """The multiplication problem, section 5.5.

    As :func:`adding_problem`, but values are uniform in [0, 1], the value of
    a marked first pair is set to 1.0 (the neutral factor), and the target
    is the product ``X1 * X2``. The paper stops training once at most
    ``n_seq`` (140, or 13) of the 2000 most recent training sequences have
    an absolute error of 0.04 or more.
    """
    n = _check_n(n)
    x, lengths, marks, values = _marked_pairs(n, T, _rng(seed), 0.0, 1.0, 1.0)
    y = values.prod(axis=1).astype("float32")[:, None]
    return TaskBatch(x, y, lengths, {"marks": marks, "values": values, "T": int(T)})


# -- 5.6 temporal order -------------------------------------------------------------------------

#: One-hot order of the temporal-order symbols.
TEMPORAL_ORDER_SYMBOLS = "abcdXYBE"
_ORDER_WINDOWS = {2: ((10, 20), (50, 60)), 3: ((10, 20), (33, 43), (66, 76))}
#: Class names: 5.6a XX->Q, XY->R, YX->S, YY->U; 5.6b XXX->Q ... YYY->C.
TEMPORAL_ORDER_CLASSES = {2: "QRSU", 3: "QRSUVABC"}


def temporal_order(n: int, relevant: int = 2, seed=None) -> TaskBatch:
    """Temporal order, sections 5.6a (``relevant=2``) and 5.6b (``relevant=3``).

    A sequence of random length 100..110 starts with ``E``, ends with the
    trigger symbol ``B`` and otherwise holds random symbols from
    ``{a, b, c, d}``, except at ``relevant`` positions that hold ``X`` or
    ``Y``: ``t1`` in 10..20 and ``t2`` in 50..60 (5.6a), or ``t1`` in
    10..20, ``t2`` in 33..43, ``t3`` in 66..76 (5.6b), positions counted
    from 1. The class (4 or 8, one-hot target at the sequence end) is the
    order of the X/Y symbols read as a binary number with X = 0, Y = 1:
    XX -> Q, XY -> R, YX -> S, YY -> U (5.6a). A sequence is classified
    correctly if the final absolute error of every output unit is below 0.3.

    Returns:
        :class:`TaskBatch` with ``y`` ``(n, 2**relevant)``,
        ``info["positions"]`` (0-based indices of the relevant symbols),
        ``info["labels"]`` (class indices).
    """
    n = _check_n(n)
    if relevant not in _ORDER_WINDOWS:
        raise ValueError(f"relevant must be 2 (task 5.6a) or 3 (task 5.6b), received {relevant!r}.")
    rng = _rng(seed)
    d = len(TEMPORAL_ORDER_SYMBOLS)
    lengths = rng.integers(100, 111, size=n)
    L = int(lengths.max())
    x = np.zeros((n, L, d), "float32")
    labels = np.zeros(n, int)
    positions = np.zeros((n, relevant), int)
    for i, length in enumerate(lengths):
        seq = rng.integers(4, size=length)  # a, b, c, d
        seq[0], seq[-1] = TEMPORAL_ORDER_SYMBOLS.index("E"), TEMPORAL_ORDER_SYMBOLS.index("B")
        bits = rng.integers(2, size=relevant)
        for k, (lo, hi) in enumerate(_ORDER_WINDOWS[relevant]):
            pos = int(rng.integers(lo, hi + 1)) - 1
            positions[i, k] = pos
            seq[pos] = TEMPORAL_ORDER_SYMBOLS.index("XY"[bits[k]])
        labels[i] = int("".join(map(str, bits)), 2)
        x[i, :length] = _one_hot(seq, d)
    y = _one_hot(labels, 2**relevant)
    return TaskBatch(x, y, lengths, {"labels": labels, "positions": positions})


# -- batching -----------------------------------------------------------------------------------

#: ``info`` entries with a time axis (``(n, steps, ...)``), padded along with ``x``.
_STEP_INFO = ("legal",)


def pad(batch: TaskBatch, steps: int) -> TaskBatch:
    """Post-pad a batch to ``steps`` time steps with zeros.

    ``x``, sequence targets ``y`` (``(n, steps, symbols)``) and
    ``info["legal"]`` grow; targets given once per sequence stay as they are.

    Args:
        batch: the sequences.
        steps: the padded length, at least the batch's.

    Returns:
        A :class:`TaskBatch` (``batch`` itself when it already has ``steps`` steps).

    Example:

    >>> pad(adding_problem(2, T=20, seed=0), 30).x.shape
    (2, 30, 2)
    """
    n, length = batch.x.shape[:2]
    if length == steps:
        return batch
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or length > steps:
        raise ValueError(f"cannot pad a batch of {length} steps to {steps!r} steps.")
    x = np.zeros((n, steps, *batch.x.shape[2:]), batch.x.dtype)
    x[:, :length] = batch.x
    y = batch.y
    info = dict(batch.info)
    if y.ndim == 3:
        y = np.zeros((n, steps, y.shape[2]), "float32")
        y[:, :length] = batch.y
        for key in _STEP_INFO:
            if key in info:
                grown = np.zeros((n, steps, *info[key].shape[2:]), info[key].dtype)
                grown[:, :length] = info[key]
                info[key] = grown
    return TaskBatch(x, y, batch.lengths, info)


def concat(batches) -> TaskBatch:
    """Join batches of the same number of steps into one.

    ``info`` entries with one row per sequence (arrays and lists) are joined;
    entries equal in every batch (e.g. ``T``) are kept; others are dropped.

    Args:
        batches: :class:`TaskBatch` objects with equal ``x.shape[1:]``.

    Returns:
        A :class:`TaskBatch` with every sequence, in order.
    """
    batches = list(batches)
    if not batches:
        raise ValueError("concat needs at least one batch, received none.")
    shapes = {b.x.shape[1:] for b in batches}
    if len(shapes) > 1:
        raise ValueError(f"batches must have equal steps and features; received shapes {sorted(shapes)}.")
    info = {}
    for key, first in batches[0].info.items():
        values = [b.info.get(key) for b in batches]
        if all(isinstance(v, np.ndarray) and v.ndim and len(v) == len(b) for v, b in zip(values, batches)):
            info[key] = np.concatenate(values)
        elif all(isinstance(v, list) and len(v) == len(b) for v, b in zip(values, batches)):
            info[key] = [item for v in values for item in v]
        elif all(np.isscalar(v) and v == first for v in values):
            info[key] = first
    return TaskBatch(
        np.concatenate([b.x for b in batches]),
        np.concatenate([b.y for b in batches]),
        np.concatenate([b.lengths for b in batches]),
        info,
    )


def tail(batch: TaskBatch, n: int) -> TaskBatch:
    """The last ``n`` sequences of a batch (all of them when it has fewer).

    ``info`` entries with one row per sequence are cut with them; others are kept.

    Example:

    >>> len(tail(adding_problem(10, T=20, seed=0), 3))
    3
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"n must be a positive integer, received {n!r}.")
    if n >= len(batch):
        return batch
    rows = len(batch)
    info = {
        k: v[-n:] if isinstance(v, (np.ndarray, list)) and np.ndim(v) and len(v) == rows else v
        for k, v in batch.info.items()
    }
    return TaskBatch(batch.x[-n:], batch.y[-n:], batch.lengths[-n:], info)
