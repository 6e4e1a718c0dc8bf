"""The delayed copy task: K random symbols, D blanks, then reproduce the K symbols.

A memory-span probe in the line of the copy tasks of Hochreiter & Schmidhuber
(1997) and Arjovsky et al. (2016): the model reads ``K`` symbols drawn
uniformly from an alphabet of ``A``, then ``D`` blanks, then a *go* marker,
and must output the ``K`` symbols in order on the ``K`` steps after the
marker (its inputs there are blanks). Symbol ``j`` is read at step ``j`` and
recalled at step ``K + D + 1 + j``: every symbol must be carried across
``K + D + 1`` steps.

Inputs are one-hot over ``A + 2`` channels: ``[blank, go, symbol_1 ..
symbol_A]``. Targets are symbol indices ``0 .. A-1``, scored (weight 1) only
at the ``K`` recall steps; a model that has forgotten guesses, and scores the
chance accuracy ``1 / A``.

Example:

>>> b = delayed_copy(2, delay=3, symbols=2, alphabet=4, seed=0)
>>> b.x.shape, b.y.shape, int(b.weights.sum())    # T = 2K + D + 1 = 8 steps
((2, 8, 6), (2, 8), 4)
>>> bool((b.y[:, 6:] == b.symbols).all())           # the recall steps hold the symbols
True
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BLANK",
    "GO",
    "CopyBatch",
    "sequence_length",
    "delayed_copy",
    "copy_batches",
    "copy_accuracy",
    "chance_accuracy",
]

#: Input channel of the blank.
BLANK = 0
#: Input channel of the go marker.
GO = 1


def _positive(name, value, zero_ok=False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (0 if zero_ok else 1):
        expected = "a non-negative integer" if zero_ok else "a positive integer"
        raise ValueError(f"{name} must be {expected}, received {name}={value!r}.")
    return int(value)


@dataclass
class CopyBatch:
    """Delayed-copy sequences, all with the same delay.

    Attributes:
        x: one-hot inputs ``(n, steps, alphabet + 2)``, float32.
        y: target symbol indices ``(n, steps)``, int32 (0 where not scored).
        weights: ``(n, steps)`` float32, 1 at the recall steps, else 0.
        symbols: ``(n, K)`` the symbols to copy.
        delay: ``D``.
    """

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    symbols: np.ndarray
    delay: int

    def __len__(self) -> int:
        return len(self.x)


def sequence_length(delay: int, symbols: int) -> int:
    """``2 K + D + 1``: the symbols, the blanks, the go marker, the recall steps."""
    return 2 * _positive("symbols", symbols) + _positive("delay", delay, zero_ok=True) + 1


def delayed_copy(n: int, delay: int, symbols: int = 5, alphabet: int = 8, seed=None) -> CopyBatch:
    """``n`` sequences of the delayed copy task with delay ``D = delay``.

    Args:
        n: sequences.
        delay: ``D``, the blanks between the last symbol and the go marker.
        symbols: ``K``, the symbols to copy.
        alphabet: ``A``, the symbols they are drawn from.
        seed: an ``int`` or ``numpy.random.Generator``.

    Returns:
        A :class:`CopyBatch` of ``2K + D + 1`` steps.
    """
    n = _positive("n", n)
    k = _positive("symbols", symbols)
    a = _positive("alphabet", alphabet)
    if a < 2:
        raise ValueError(f"alphabet must hold at least 2 symbols, received alphabet={alphabet!r}.")
    steps = sequence_length(delay, k)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    drawn = rng.integers(0, a, size=(n, k))
    channels = np.full((n, steps), BLANK, dtype=np.int64)
    channels[:, :k] = drawn + 2
    channels[:, k + delay] = GO
    x = np.eye(a + 2, dtype="float32")[channels]
    y = np.zeros((n, steps), dtype="int32")
    weights = np.zeros((n, steps), dtype="float32")
    y[:, steps - k :] = drawn
    weights[:, steps - k :] = 1.0
    return CopyBatch(x, y, weights, drawn, int(delay))


def copy_batches(
    batch_size: int,
    max_delay: int,
    symbols: int = 5,
    alphabet: int = 8,
    min_delay: int = 0,
    seed=None,
    length_multiple: int = 1,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """An endless stream of fresh training batches ``(x, y, weights)``.

    Each batch has one delay drawn uniformly from ``min_delay .. max_delay``.
    Its steps are post-padded with all-zero inputs (weight 0) to a multiple of
    ``length_multiple``, so that a long stream holds few distinct shapes (a
    compiled time loop is traced once per shape); a causal model's outputs
    before the padding do not depend on it. The weights are ``steps / K`` at
    the recall steps, so that Keras's mean over all steps of a batch is the
    mean cross-entropy per recalled symbol. Feed the stream to ``model.fit``
    with ``steps_per_epoch``.
    """
    _positive("batch_size", batch_size)
    multiple = _positive("length_multiple", length_multiple)
    if not 0 <= _positive("min_delay", min_delay, zero_ok=True) <= _positive("max_delay", max_delay, True):
        raise ValueError(f"expected min_delay <= max_delay, received {min_delay!r} and {max_delay!r}.")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    while True:
        b = delayed_copy(batch_size, int(rng.integers(min_delay, max_delay + 1)), symbols, alphabet, rng)
        steps = b.x.shape[1]
        pad = -steps % multiple
        total = steps + pad
        x = np.pad(b.x, ((0, 0), (0, pad), (0, 0)))
        y = np.pad(b.y, ((0, 0), (0, pad)))
        weights = np.pad(b.weights, ((0, 0), (0, pad))) * np.float32(total / b.symbols.shape[1])
        yield x, y, weights


def copy_accuracy(probabilities, batch: CopyBatch) -> float:
    """Symbol-level accuracy at the recall steps: the share of symbols whose most probable output is right.

    Args:
        probabilities: the model's outputs ``(n, steps, alphabet)``.
        batch: the :class:`CopyBatch` they answer.

    Example:

    >>> b = delayed_copy(4, delay=2, symbols=3, alphabet=5, seed=1)
    >>> copy_accuracy(np.eye(5)[b.y], b)
    1.0
    """
    p = np.asarray(probabilities)
    if p.shape[:2] != batch.y.shape:
        raise ValueError(f"probabilities of shape {p.shape} do not answer targets of shape {batch.y.shape}.")
    right = (p.argmax(axis=-1) == batch.y) & (batch.weights > 0)
    return float(right.sum() / batch.weights.sum())


def chance_accuracy(alphabet: int) -> float:
    """``1 / A``: the accuracy of guessing uniformly (or of always guessing one symbol)."""
    return 1.0 / _positive("alphabet", alphabet)
