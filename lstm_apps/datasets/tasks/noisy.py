"""The noisy long-time-lag tasks of Hochreiter & Schmidhuber (1997): 5.2b, 5.2c and 5.3.

============================================ =======  ============================
task                                         section  generator
============================================ =======  ============================
no local regularities, p = 100               5.2b     :func:`long_lag_random`
very long time lags, distractors (q, p)      5.2c     :func:`very_long_lag`
2-sequence problem, variants a, b, c         5.3      :func:`two_sequence`
============================================ =======  ============================

As in :mod:`~lstm_apps.datasets.tasks.generators`, every generator is seeded
and returns a :class:`~lstm_apps.datasets.tasks.generators.TaskBatch`
post-padded with all-zero input vectors.

Example:

>>> b = very_long_lag(3, lag=50, distractors=50, seed=0)
>>> b.features, b.y.shape, bool((b.lengths >= 53).all())
(54, (3, 2), True)
>>> two_sequence(2, T=100, relevant=3, variant="c", seed=0).info["clean_target"].tolist()[0] in (0.2, 0.8)
True
"""

from __future__ import annotations

import numpy as np

from lstm_apps.datasets.tasks.generators import TaskBatch, _check_n, _one_hot, _rng

__all__ = [
    "long_lag_random",
    "very_long_lag",
    "VERY_LONG_LAG_END_PROBABILITY",
    "two_sequence",
    "TWO_SEQUENCE_VARIANTS",
    "TWO_SEQUENCE_NOISE_VARIANCE",
    "TWO_SEQUENCE_TARGET_NOISE_VARIANCE",
]

#: 5.2c: after the prefix, each further element is the trigger ``e`` with this probability.
VERY_LONG_LAG_END_PROBABILITY = 0.1
#: 5.3: the variants of the 2-sequence problem.
TWO_SEQUENCE_VARIANTS = ("a", "b", "c")
#: 5.3: variance of the Gaussian noise on the input line (mean 0).
TWO_SEQUENCE_NOISE_VARIANCE = 0.2
#: 5.3c: variance of the Gaussian noise on the targets (mean 0).
TWO_SEQUENCE_TARGET_NOISE_VARIANCE = 0.1


def _positive(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, received {value!r}.")
    return int(value)


def long_lag_random(n: int, p: int = 100, seed=None) -> TaskBatch:
    """No local regularities, section 5.2b: ``(y, a_i1..a_i(p-1), y)`` or ``(x, ..., x)``.

    As :func:`~lstm_apps.datasets.tasks.generators.long_lag` (same ``p + 1``
    local input units: ``a_1..a_{p-1}`` are units ``0..p-2``, ``x`` unit
    ``p - 1``, ``y`` unit ``p``), but the ``p - 1`` middle symbols are drawn
    uniformly from ``a_1..a_{p-1}``, so only the final ``x`` or ``y`` is
    predictable. Every next symbol is a target; the paper's criterion looks
    at the final one only (:func:`~lstm_apps.datasets.tasks.criteria.long_lag_random_success`).

    Args:
        n: number of sequences.
        p: the time lag (p = 100 in the paper).
        seed: integer seed or ``numpy.random.Generator``.

    Returns:
        :class:`TaskBatch`: ``x`` symbol ids ``(n, p)`` of ``p + 1`` symbols, ``y`` the next symbols
        ``(n, p, p + 1)``, ``info["which"]`` (0: the y-sequence, 1: the x-sequence).
    """
    n = _check_n(n)
    p = _positive("p (the time lag)", p, 2)
    rng = _rng(seed)
    which = rng.integers(2, size=n)
    first = np.where(which == 0, p, p - 1)
    middle = rng.integers(p - 1, size=(n, p - 1))
    seqs = np.concatenate([first[:, None], middle, first[:, None]], axis=1)
    info = {"which": which, "p": p, "symbols": p + 1}
    return TaskBatch((seqs[:, :-1] + 1).astype("int32"), _one_hot(seqs[:, 1:], p + 1), np.full(n, p), info)


def very_long_lag(n: int, lag: int = 100, distractors: int = 100, seed=None) -> TaskBatch:
    """Very long time lags with distractors, section 5.2c.

    ``p + 4`` local input units (``p = distractors``): ``a_1..a_p`` are units
    ``0..p-1``, then ``e`` (``p``), ``b`` (``p + 1``), ``x`` (``p + 2``) and
    ``y`` (``p + 3``). A sequence is ``(b, y, a_i1 .. a_i(q+k), e, y)`` or the
    same with ``x``: a prefix ``b, x|y`` and ``q = lag`` random distractors,
    then further distractors, each followed by the trigger ``e`` with
    probability 1/10 (so ``k`` is geometric, mean 9, and the expected length
    ``q + 13``; the paper writes ``q + 14``), then the second element again.
    The net sees every element but the last and predicts the last, after the
    trigger: its two output units are ``[x, y]``; the minimal time lag is
    ``q + 1``.

    Args:
        n: number of sequences.
        lag: ``q``, the distractors every sequence has at least.
        distractors: ``p``, the distractor symbols.
        seed: integer seed or ``numpy.random.Generator``.

    Returns:
        :class:`TaskBatch`: ``x`` symbol ids ``(n, max_length)`` of ``p + 4`` symbols (lengths
        ``q + k + 3``), ``y`` ``(n, 2)`` one-hot ``[x, y]``,
        ``info["which"]`` (0: x, 1: y), ``info["extra"]`` (``k``).
    """
    n = _check_n(n)
    q = _positive("lag (q)", lag)
    p = _positive("distractors (p)", distractors)
    rng = _rng(seed)
    e, b, x_sym = p, p + 1, p + 2
    which = rng.integers(2, size=n)
    extra = rng.geometric(VERY_LONG_LAG_END_PROBABILITY, size=n) - 1  # distractors before the trigger
    lengths = q + extra + 3  # b, x|y, q + k distractors, e
    x = np.zeros((n, int(lengths.max())), "int32")  # symbol ids, 0 = padding
    for i in range(n):
        seq = np.empty(lengths[i], int)
        seq[0], seq[1], seq[-1] = b, x_sym + which[i], e
        seq[2:-1] = rng.integers(p, size=q + extra[i])
        x[i, : lengths[i]] = seq + 1
    info = {"which": which, "extra": extra, "q": q, "p": p, "symbols": p + 4}
    return TaskBatch(x, _one_hot(which, 2), lengths, info)


def two_sequence(n: int, T: int = 100, relevant: int = 3, variant: str = "a", seed=None) -> TaskBatch:
    """Bengio et al.'s 2-sequence problem and its harder variants, section 5.3.

    One input line; two classes of probability 1/2. The first ``relevant``
    (the paper's N: 1 or 3) elements are 1.0 for class 1 and -1.0 for class
    2; the others are Gaussian noise (mean 0, variance 0.2). Lengths are
    random integers in ``[T, T + T/10]``. Variant ``"a"`` (3a): target 1.0
    for class 1, 0.0 for class 2. ``"b"`` (3b): as a, with the same noise
    added to the information-conveying elements. ``"c"`` (3c): as a, but
    targets 0.2 (class 1) and 0.8 (class 2) with Gaussian noise (mean 0,
    variance 0.1) on them; the net must learn the conditional expectation,
    the noise-free target.

    Args:
        n: number of sequences.
        T: the minimal length.
        relevant: information-conveying elements at the start (N).
        variant: ``"a"``, ``"b"`` or ``"c"``.
        seed: integer seed or ``numpy.random.Generator``.

    Returns:
        :class:`TaskBatch`: ``x`` ``(n, max_length, 1)``, ``y`` ``(n, 1)``
        (noisy for c), ``info["labels"]`` (0: class 1, 1: class 2),
        ``info["clean_target"]`` (the noise-free target).
    """
    n = _check_n(n)
    T = _positive("T (the minimal length)", T, 2)
    relevant = _positive("relevant (N)", relevant)
    if relevant > T:
        raise ValueError(f"relevant (N) must be at most T={T}, received {relevant}.")
    if variant not in TWO_SEQUENCE_VARIANTS:
        raise ValueError(f"variant must be one of {TWO_SEQUENCE_VARIANTS}, received {variant!r}.")
    rng = _rng(seed)
    labels = rng.integers(2, size=n)
    lengths = rng.integers(T, T + T // 10 + 1, size=n)
    std = np.sqrt(TWO_SEQUENCE_NOISE_VARIANCE)
    x = np.zeros((n, int(lengths.max()), 1), "float32")
    for i in range(n):
        values = rng.normal(0.0, std, size=lengths[i])
        sign = 1.0 if labels[i] == 0 else -1.0
        values[:relevant] = sign + (values[:relevant] if variant == "b" else 0.0)
        x[i, : lengths[i], 0] = values
    if variant == "c":
        clean = np.where(labels == 0, 0.2, 0.8)
        y = clean + rng.normal(0.0, np.sqrt(TWO_SEQUENCE_TARGET_NOISE_VARIANCE), size=n)
    else:
        clean = np.where(labels == 0, 1.0, 0.0)
        y = clean
    info = {"labels": labels, "clean_target": clean, "T": T, "relevant": relevant, "variant": variant}
    return TaskBatch(x, y.astype("float32")[:, None], lengths, info)
