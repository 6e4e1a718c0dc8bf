"""The long-time-lag tasks of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory".

Generators with the paper's definitions, each seeded (an ``int`` seed or a
``numpy.random.Generator``; every call with the same seed returns the same
sequences), and the paper's success criteria as plain NumPy functions so they
can be checked on synthetic predictions.

============================  =======  =========================================
task                          section  generator
============================  =======  =========================================
embedded Reber grammar        5.1      :func:`embedded_reber`
noise-free long lags, p=100   5.2a     :func:`long_lag`
adding problem, T=100/500/1000 5.4     :func:`adding_problem`
multiplication problem        5.5      :func:`multiplication_problem`
temporal order, 2 symbols     5.6a     :func:`temporal_order` (``relevant=2``)
temporal order, 3 symbols     5.6b     :func:`temporal_order` (``relevant=3``)
============================  =======  =========================================

Every generator returns a :class:`TaskBatch`: ``x`` of shape
``(n, max_length, features)`` (``float32``, sequences of different lengths are
*post-padded with all-zero vectors*, so a ``keras.layers.Masking(0.0)`` in
front of the recurrent layer skips the padding), targets ``y``, the true
``lengths`` and task-specific ``info`` (marked positions, legal next symbols,
...). :data:`PAPER_SEQUENCES` holds the number of training sequences the 1997
paper's LSTM needed, the figures our recipe compares against.

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
    "PAPER_SEQUENCES",
    "TASKS",
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
    "make_task",
    "regression_errors",
    "adding_success",
    "multiplication_success",
    "classification_errors",
    "temporal_order_success",
    "next_symbol_correct",
    "reber_success",
    "long_lag_success",
]

#: Training sequences the paper's LSTM needed to reach its success criterion
#: (Hochreiter & Schmidhuber 1997, tables 1, 2, 7, 8, 9; Reber: the best of
#: the LSTM rows of table 1; multiplication: the n_seq = 140 row).
PAPER_SEQUENCES: dict[tuple[str, int | None], int] = {
    ("reber", None): 8_440,
    ("long_lag", 100): 5_040,
    ("adding", 100): 74_000,
    ("adding", 500): 209_000,
    ("adding", 1000): 853_000,
    ("multiplication", 100): 482_000,
    ("temporal_order_2", None): 31_390,
    ("temporal_order_3", None): 571_100,
}

#: The task names :func:`make_task` accepts.
TASKS = ("reber", "long_lag", "adding", "multiplication", "temporal_order_2", "temporal_order_3")


@dataclass
class TaskBatch:
    """A batch of task sequences.

    Attributes:
        x: inputs ``(n, max_length, features)``, float32, post-padded with zeros.
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
    """The two sequences of task 5.2a in a fixed order: ``(y, a_1..a_{p-1}, y)`` then ``(x, a_1..a_{p-1}, x)``.

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


def make_task(task: str, n: int, seed=None, length: int | None = None) -> TaskBatch:
    """Generate ``n`` sequences of ``task`` (one of :data:`TASKS`).

    ``length`` is T for adding/multiplication (default 100) and p for
    long_lag (default 100); other tasks have fixed lengths and reject it.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, received {task!r}.")
    if task in ("adding", "multiplication"):
        gen = adding_problem if task == "adding" else multiplication_problem
        return gen(n, T=100 if length is None else length, seed=seed)
    if task == "long_lag":
        return long_lag(n, p=100 if length is None else length, seed=seed)
    if length is not None:
        raise ValueError(
            f"task {task!r} has the paper's fixed lengths; --length applies to adding, multiplication and long_lag, received length={length!r}."
        )
    if task == "reber":
        return embedded_reber(n, seed=seed)
    return temporal_order(n, relevant=int(task[-1]), seed=seed)


# -- success criteria ---------------------------------------------------------------------------


def regression_errors(pred, target, tol: float = 0.04) -> dict[str, Any]:
    """Absolute errors at the sequence end: ``abs_error``, ``error_count`` (>= tol), ``max_abs_error``, ``mse``."""
    pred = np.asarray(pred, dtype="float64").reshape(-1)
    target = np.asarray(target, dtype="float64").reshape(-1)
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target must hold one value per sequence; received {pred.size} and {target.size} values."
        )
    err = np.abs(pred - target)
    return {
        "abs_error": err,
        "error_count": int((err >= tol).sum()),
        "max_abs_error": float(err.max()),
        "mse": float(np.mean(err**2)),
    }


def adding_success(pred, target, max_mse: float = 0.01, tol: float = 0.04) -> bool:
    """The paper's stop rule for the adding problem (5.4), applied to the 2000 most recent training sequences.

    True when the average (squared) training error is below ``max_mse``
    (0.01) and every sequence is processed correctly (absolute error at the
    end below ``tol`` = 0.04).
    """
    r = regression_errors(pred, target, tol)
    return r["mse"] < max_mse and r["error_count"] == 0


def multiplication_success(pred, target, n_seq: int = 140, tol: float = 0.04) -> bool:
    """The paper's stop rule for multiplication (5.5): at most ``n_seq`` (140 or 13) of the
    2000 most recent training sequences with absolute error >= ``tol``."""
    return regression_errors(pred, target, tol)["error_count"] <= n_seq


def classification_errors(prob, target, tol: float = 0.3) -> dict[str, Any]:
    """Per-sequence final errors of a one-hot classification.

    Returns ``max_abs_error`` per sequence (over output units), ``error_count``
    (sequences with some unit's error >= tol), ``mse`` (mean over sequences
    of the squared error summed over output units) and ``worst`` (the largest
    unit error of all).
    """
    prob = np.asarray(prob, dtype="float64")
    target = np.asarray(target, dtype="float64")
    if prob.shape != target.shape or prob.ndim != 2:
        raise ValueError(
            f"prob and target must both be (sequences, classes); received {prob.shape} and {target.shape}."
        )
    err = np.abs(prob - target)
    per_seq = err.max(axis=1)
    return {
        "max_abs_error": per_seq,
        "error_count": int((per_seq >= tol).sum()),
        "mse": float((err**2).sum(axis=1).mean()),
        "worst": float(per_seq.max()),
    }


def temporal_order_success(prob, target, max_error: float = 0.1, tol: float = 0.3) -> bool:
    """The paper's stop rule for temporal order (5.6): average training error below 0.1 and
    all of the 2000 most recent sequences classified correctly (every output's final error < 0.3)."""
    r = classification_errors(prob, target, tol)
    return r["mse"] < max_error and r["error_count"] == 0


def next_symbol_correct(prob, legal, step_mask) -> np.ndarray:
    """Per-sequence correctness of next-symbol predictions.

    A step is correct when the output units of the ``k`` legal next symbols
    are the ``k`` most active ones (the paper's criterion, 5.1); a sequence
    is correct when all its real steps are.

    Args:
        prob: ``(n, steps, symbols)`` outputs.
        legal: boolean ``(n, steps, symbols)``, True for every legal next symbol.
        step_mask: boolean ``(n, steps)``, True at real steps.

    Returns:
        Boolean ``(n,)``.
    """
    prob = np.asarray(prob, dtype="float64")
    legal = np.asarray(legal, dtype=bool)
    step_mask = np.asarray(step_mask, dtype=bool)
    if prob.shape != legal.shape or prob.shape[:2] != step_mask.shape:
        raise ValueError(
            f"prob, legal and step_mask shapes disagree: {prob.shape}, {legal.shape}, {step_mask.shape}."
        )
    k = legal.sum(axis=-1, keepdims=True)
    # the k-th largest output of each step must be a legal one and exceed every illegal output
    min_legal = np.where(legal, prob, np.inf).min(axis=-1)
    max_illegal = np.where(legal, -np.inf, prob).max(axis=-1)
    ok = (min_legal > max_illegal) | (k[..., 0] == 0)
    return np.where(step_mask, ok, True).all(axis=1)


def reber_success(prob, legal, step_mask) -> bool:
    """Embedded Reber (5.1): every symbol of every string predicted correctly (see :func:`next_symbol_correct`)."""
    return bool(next_symbol_correct(prob, legal, step_mask).all())


def long_lag_success(prob, target, step_mask, tol: float = 0.25) -> bool:
    """Noise-free long lags (5.2a): every next symbol of both sequences predicted correctly.

    Every real step's most active output must be the target symbol, and at
    the final step (the one that needs the memory) every output unit's
    absolute error must be below ``tol`` (0.25), so a network that merely
    guesses x or y with probability 1/2 does not pass.
    """
    prob = np.asarray(prob, dtype="float64")
    target = np.asarray(target, dtype="float64")
    step_mask = np.asarray(step_mask, dtype=bool)
    legal = target > 0.5
    if not next_symbol_correct(prob, legal, step_mask).all():
        return False
    last = step_mask.sum(axis=1) - 1
    rows = np.arange(prob.shape[0])
    return bool((np.abs(prob[rows, last] - target[rows, last]) < tol).all())
