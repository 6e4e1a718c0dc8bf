"""Order-k Markov models of DNA, the classic baseline for next-base prediction.

An order-k model predicts base ``x_i`` from the ``k`` bases before it:

```
P(x_i = b | context c) = (n(c, b) + alpha) / (n(c) + 4 alpha)
```

with ``n(c, b)`` the count of the (k+1)-mer ``c b`` in the training sequence
and additive (Lidstone; Laplace when ``alpha = 1``) smoothing. Counting is
vectorised: every position gets the integer code of the k-mer ending there
(a rolling base-4 number built with ``k`` whole-array operations), and the
codes are tallied with ``np.bincount`` (orders up to 10) or ``np.unique``
(sparse, higher orders). Mask tokens (``N``/ambiguous bases, code 4) never
enter a count and positions whose target or context holds one are not scored.

Example:

```python
from lstm_apps.baselines.markov import MarkovModel, select_order
best, table = select_order(train_codes, valid_codes, orders=range(0, 13))
print(best.order, best.bits_per_base(test_codes))
```
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["MarkovModel", "kmer_codes", "select_order", "select_model"]

_DENSE_MAX_ORDER = 10  # 4**11 int64 counts = 32 MiB


def _as_codes(codes, name="codes") -> np.ndarray:
    arr = np.asarray(codes)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of base codes, received shape {arr.shape}.")
    if arr.size and (arr.min() < 0 or arr.max() > 4):
        raise ValueError(
            f"{name} must hold base codes 0..3 (and 4 for masked bases), "
            f"received values {arr.min()}..{arr.max()}."
        )
    return arr.astype(np.int64, copy=False)


def kmer_codes(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Base-4 codes of every k-mer and whether it is free of mask tokens.

    Returns ``(kmers, valid)``, both of length ``len(codes) - k + 1``, where
    ``kmers[i]`` encodes ``codes[i : i + k]`` (first base most significant).

    Example:

    >>> kmer_codes(np.array([0, 1, 2, 3]), 2)[0].tolist()   # AC, CG, GT
    [1, 6, 11]
    """
    codes = _as_codes(codes)
    n = codes.size - k + 1
    if k < 0:
        raise ValueError(f"k must be >= 0, received {k}.")
    if n <= 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    kmers = np.zeros(n, dtype=np.int64)
    valid = np.ones(n, dtype=bool)
    for j in range(k):
        part = codes[j : j + n]
        valid &= part < 4
        kmers = kmers * 4 + np.minimum(part, 3)
    return kmers, valid


class MarkovModel:
    """Order-k Markov model over A/C/G/T with additive smoothing.

    Args:
        order: context length ``k`` (0: base frequencies only).
        alpha: additive smoothing pseudo-count (> 0).
        both_strands: also count the reverse-complement strand.

    Example:

    >>> m = MarkovModel(order=1).fit(np.array([0, 1] * 50))
    >>> round(m.bits_per_base(np.array([0, 1] * 10)), 2) < 0.2
    True
    """

    def __init__(self, order: int = 6, alpha: float = 1.0, both_strands: bool = False):
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 0 or order > 31:
            raise ValueError(f"order must be an integer in 0..31, received {order!r}.")
        if not (isinstance(alpha, (int, float, np.floating)) and alpha > 0):
            raise ValueError(f"alpha must be a positive number, received {alpha!r}.")
        self.order = int(order)
        self.alpha = float(alpha)
        self.both_strands = bool(both_strands)
        self._keys = None
        self._counts = None
        self.n_train = 0

    # -- training -------------------------------------------------------
    def fit(self, codes: np.ndarray) -> MarkovModel:
        """Count the (k+1)-mers of ``codes`` (and its reverse complement when ``both_strands``)."""
        codes = _as_codes(codes)
        seqs = [codes]
        if self.both_strands:
            rc = np.where(codes[::-1] < 4, 3 - codes[::-1], 4)
            seqs.append(rc)
        k1 = self.order + 1
        all_kmers = []
        for seq in seqs:
            kmers, valid = kmer_codes(seq, k1)
            all_kmers.append(kmers[valid])
        kmers = np.concatenate(all_kmers)
        if kmers.size == 0:
            raise ValueError(
                f"need at least {k1} consecutive unmasked bases to fit an order-{self.order} model, "
                f"received {codes.size} bases."
            )
        self.n_train = int(kmers.size)
        if self.order <= _DENSE_MAX_ORDER:
            self._counts = np.bincount(kmers, minlength=4**k1).reshape(-1, 4)
            self._keys = None
        else:
            keys, counts = np.unique(kmers, return_counts=True)
            self._keys, self._counts = keys, counts
        return self

    def _check_fitted(self):
        if self._counts is None:
            raise ValueError("this MarkovModel is not fitted yet; call fit(train_codes) first.")

    def _lookup(self, kmers: np.ndarray) -> np.ndarray:
        """Counts of the given (k+1)-mer codes."""
        if self._keys is None:
            return self._counts.reshape(-1)[kmers]
        idx = np.searchsorted(self._keys, kmers)
        idx = np.minimum(idx, self._keys.size - 1)
        return np.where(self._keys[idx] == kmers, self._counts[idx], 0)

    # -- prediction -----------------------------------------------------
    def predict_proba(self, codes: np.ndarray, start: int | None = None) -> np.ndarray:
        """Next-base probabilities for positions ``start..len(codes)-1``.

        Position ``i`` is predicted from ``codes[i-k:i]``; ``start`` defaults
        to ``k`` (the first position with a full context). Returns an array
        of shape ``(len(codes) - start, 4)``; rows whose context holds a mask
        token are NaN.
        """
        self._check_fitted()
        codes = _as_codes(codes)
        k = self.order
        start = k if start is None else int(start)
        if start < k:
            raise ValueError(
                f"start must be >= order ({k}) so every scored base has a full context, received {start}."
            )
        n = codes.size - start
        if n <= 0:
            return np.zeros((0, 4))
        ctx, valid = (
            kmer_codes(codes[start - k : codes.size - 1], k)
            if k
            else (np.zeros(n, np.int64), np.ones(n, bool))
        )
        ctx, valid = ctx[:n], valid[:n]
        joint = (ctx[:, None] * 4 + np.arange(4)[None, :]).reshape(-1)
        counts = self._lookup(joint).reshape(n, 4).astype(np.float64)
        probs = (counts + self.alpha) / (counts.sum(axis=1, keepdims=True) + 4 * self.alpha)
        probs[~valid] = np.nan
        return probs

    def per_base_bits(self, codes: np.ndarray, start: int | None = None) -> np.ndarray:
        """``-log2 P(x_i | context)`` for positions ``start..``; NaN where unscored (masked)."""
        codes = _as_codes(codes)
        start = self.order if start is None else int(start)
        probs = self.predict_proba(codes, start)
        target = codes[start:]
        ok = (target < 4) & np.isfinite(probs[:, 0])
        out = np.full(target.size, np.nan)
        out[ok] = -np.log2(probs[ok, target[ok]])
        return out

    def bits_per_base(self, codes: np.ndarray, start: int | None = None) -> float:
        """Mean bits per base over the scored positions (see :meth:`per_base_bits`)."""
        bits = self.per_base_bits(codes, start)
        if not np.isfinite(bits).any():
            raise ValueError("no scorable positions (sequence shorter than the order, or all masked).")
        return float(np.nanmean(bits))

    def get_config(self) -> dict:
        return {"order": self.order, "alpha": self.alpha, "both_strands": self.both_strands}

    def __repr__(self) -> str:
        return f"MarkovModel(order={self.order}, alpha={self.alpha}, both_strands={self.both_strands})"


def select_order(
    train: np.ndarray,
    valid: np.ndarray,
    orders: Iterable[int] = range(0, 13),
    alpha: float = 1.0,
    both_strands: bool = False,
    context: np.ndarray | None = None,
) -> tuple[MarkovModel, list[dict]]:
    """Fit one model per order on ``train``; keep the one best on ``valid``.

    Args:
        train: training codes.
        valid: validation codes.
        orders: candidate orders.
        alpha: smoothing pseudo-count.
        both_strands: count the reverse-complement strand too.
        context: bases preceding ``valid`` (e.g. the end of ``train``), so its
            first bases are scored with full contexts; defaults to ``train``.

    Returns:
        ``(best_model, table)`` where ``table`` lists ``{"order", "valid_bits_per_base"}``.
    """
    orders = list(orders)
    if not orders:
        raise ValueError("orders must name at least one order, received an empty list.")
    context = train if context is None else context
    best, best_bits, table = None, math.inf, []
    valid = _as_codes(valid)
    for k in orders:
        model = MarkovModel(k, alpha=alpha, both_strands=both_strands).fit(train)
        prefix = _as_codes(context)[max(0, len(context) - k) :] if k else np.zeros(0, np.int64)
        if prefix.size < k:
            raise ValueError(f"context must hold at least {k} bases for order {k}, received {prefix.size}.")
        bits = model.bits_per_base(np.concatenate([prefix, valid]), start=prefix.size)
        table.append({"order": k, "valid_bits_per_base": bits})
        if bits < best_bits:
            best, best_bits = model, bits
    return best, table


def select_model(
    train: np.ndarray,
    valid: np.ndarray,
    orders: Iterable[int] = range(0, 13),
    alpha: float = 1.0,
    context: np.ndarray | None = None,
    strand_options: Iterable[bool] = (False, True),
) -> tuple[MarkovModel, list[dict]]:
    """:func:`select_order` for each strand option; keep the model best on ``valid``.

    On a tie the earlier option wins (by default: counting one strand).

    Returns:
        ``(best_model, table)`` where ``table`` lists ``{"both_strands",
        "order", "valid_bits_per_base"}`` for every option and order
        (``best_model.both_strands`` tells which option won).

    Example:

    ```python
    best, table = select_model(codes[:val_start], codes[val_start:test_start], range(0, 13))
    ```
    """
    options = list(strand_options)
    if not options:
        raise ValueError("strand_options must name at least one option, received an empty list.")
    best, best_bits, table = None, math.inf, []
    for both in options:
        model, rows = select_order(train, valid, orders, alpha=alpha, both_strands=both, context=context)
        table += [{"both_strands": bool(both), **row} for row in rows]
        bits = min(row["valid_bits_per_base"] for row in rows)
        if bits < best_bits:
            best, best_bits = model, bits
    return best, table
