"""Order-k Markov (n-gram) next-action models of visits, the baseline of predictive process monitoring.

An order-k model predicts a visit's next action from its last k actions with
the counts of :class:`~lstm_apps.baselines.markov.MarkovModel` (additive
smoothing). A visit of actions ``a_1 .. a_T`` is read as ``k`` "before the
start" tokens, then ``a_1 .. a_T``, then *end*: the end of the visit is one
more symbol to predict (code ``n_actions``). Each of the ``T`` targets
``a_2 .. a_T, end`` is predicted, the first action is not, which is how the
network of the recipe is scored too. Early in a visit the context holds the
start tokens, so an order-3 model knows it is at the visit's second action.
The order and pseudo-count are chosen by next-action accuracy on validation
visits.

Example:

```python
model, table = select_next_action_model(train_seqs, val_seqs, n_actions=6, orders=range(6))
print(model.order, next_action_accuracy(model, test_seqs))
```
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from lstm_apps.baselines.markov import MarkovModel

__all__ = [
    "visit_codes",
    "fit_next_action",
    "next_action_proba",
    "next_action_accuracy",
    "select_next_action_model",
]


def _check_seq(seq, n_actions: int) -> np.ndarray:
    seq = np.asarray(seq)
    if seq.ndim != 1 or seq.size == 0:
        raise ValueError(
            f"a visit must be a non-empty 1-D array of action codes, received shape {seq.shape}."
        )
    if seq.min() < 0 or seq.max() >= n_actions:
        raise ValueError(f"action codes must lie in 0..{n_actions - 1}, received {seq.min()}..{seq.max()}.")
    return seq.astype(np.int64)


def visit_codes(seq, n_actions: int, order: int) -> np.ndarray:
    """``order`` start tokens (code ``n_actions + 1``), the actions, then *end* (code ``n_actions``)."""
    seq = _check_seq(seq, n_actions)
    return np.concatenate([np.full(order, n_actions + 1), seq, [n_actions]])


def fit_next_action(seqs: Sequence, n_actions: int, order: int, alpha: float = 1.0) -> MarkovModel:
    """Count the (order+1)-grams of every visit (start tokens and *end* included).

    Args:
        seqs: visits, each a 1-D array of action codes ``0..n_actions-1``.
        n_actions: the number of actions.
        order: context length ``k``.
        alpha: additive smoothing pseudo-count.

    Returns:
        A fitted :class:`MarkovModel` over ``n_actions + 1`` symbols (the
        actions and *end*), its mask token read as "before the start".
    """
    if not len(seqs):
        raise ValueError("fit_next_action needs at least one visit, received none.")
    codes = np.concatenate([visit_codes(s, n_actions, order) for s in seqs])
    return MarkovModel(order, alpha=alpha, alphabet_size=n_actions + 1, mask_in_context=True).fit(codes)


def next_action_proba(model: MarkovModel, seq, n_actions: int) -> np.ndarray:
    """``(T, n_actions + 1)`` probabilities of ``a_2 .. a_T, end`` given the actions before each."""
    codes = visit_codes(seq, n_actions, model.order)
    return model.predict_proba(codes, start=model.order + 1)


def next_action_accuracy(model: MarkovModel, seqs: Sequence, n_actions: int, targets: str = "all") -> float:
    """Share of a visit's targets ``a_2 .. a_T, end`` that are the model's most probable symbol.

    Ties go to the lowest code (``numpy.argmax``).

    Args:
        model: a fitted model (:func:`fit_next_action`).
        seqs: visits, each a 1-D array of action codes.
        n_actions: the number of actions.
        targets: ``"all"``; ``"actions"`` (the *end* targets left out; the
            model may still predict *end*); ``"end"`` (only the *end* targets).
    """
    if targets not in ("all", "actions", "end"):
        raise ValueError(f"targets must be 'all', 'actions' or 'end', received {targets!r}.")
    keep = {"all": slice(None), "actions": slice(0, -1), "end": slice(-1, None)}[targets]
    right = total = 0
    for seq in seqs:
        proba = next_action_proba(model, seq, n_actions)
        target = np.append(np.asarray(seq)[1:], n_actions)
        right += int((proba.argmax(axis=1) == target)[keep].sum())
        total += target[keep].size
    if total == 0:
        raise ValueError("next_action_accuracy needs at least one target, received none.")
    return right / total


def select_next_action_model(
    train: Sequence,
    val: Sequence,
    n_actions: int,
    orders: Iterable[int] = range(0, 6),
    alphas: Iterable[float] = (1.0, 0.1, 0.01),
) -> tuple[MarkovModel, list[dict]]:
    """Fit one model per order and pseudo-count on ``train``; keep the most accurate on ``val``.

    On a tie the lower order wins, then the earlier ``alpha``.

    Returns:
        ``(best_model, table)``, ``table`` listing ``{"order", "alpha", "val_accuracy"}``.
    """
    orders, alphas = list(orders), list(alphas)
    if not orders or not alphas:
        raise ValueError(f"orders and alphas must be non-empty, received {orders} and {alphas}.")
    best, best_acc, table = None, -math.inf, []
    for order in orders:
        for alpha in alphas:
            model = fit_next_action(train, n_actions, order, alpha)
            acc = next_action_accuracy(model, val, n_actions)
            table.append({"order": int(order), "alpha": float(alpha), "val_accuracy": acc})
            if acc > best_acc:
                best, best_acc = model, acc
    return best, table
