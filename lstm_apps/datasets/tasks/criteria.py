"""The success criteria and stop rules of the 1997 long-time-lag tasks, as plain NumPy functions.

Three layers, each usable on synthetic predictions:

* the paper's criteria on predictions (:func:`adding_success`,
  :func:`temporal_order_success`, :func:`reber_success`, ...);
* the per-task *checks* ``check(pred, batch) -> (solved, details)`` the stop
  rule applies to the most recent training sequences (:func:`adding_check`,
  ...), and :func:`test_errors`, the scores on a test set;
* :class:`PaperStopRule`, a criterion function ``(epoch, logs, model)`` for
  the harness's ``StopWhen`` callback that predicts a check set with the
  current weights and stops training once the paper's criterion holds.

Example:

>>> import numpy as np
>>> y = np.linspace(0.0, 1.0, 2000)
>>> adding_success(y + 0.03, y), adding_success(y + 0.05, y)
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lstm_apps.datasets.tasks.generators import TaskBatch, tail

#: The most recent training sequences of the paper's stop rules (as ``registry.PAPER_WINDOW``).
_PAPER_WINDOW = 2000

__all__ = [
    "regression_errors",
    "adding_success",
    "multiplication_success",
    "classification_errors",
    "temporal_order_success",
    "next_symbol_correct",
    "reber_success",
    "long_lag_success",
    "long_lag_random_success",
    "very_long_lag_success",
    "two_sequence_errors",
    "TWO_SEQUENCE_RULES",
    "adding_check",
    "multiplication_check",
    "temporal_order_check",
    "reber_check",
    "long_lag_check",
    "long_lag_random_check",
    "very_long_lag_check",
    "two_sequence_check",
    "long_lag_errors",
    "final_step_errors",
    "test_errors",
    "PaperStopRule",
]


def regression_errors(pred, target, tol: float = 0.04) -> dict[str, Any]:
    """Absolute errors at the sequence end.

    Returns:
        ``abs_error`` (per sequence), ``error_count`` (errors >= ``tol``),
        ``max_abs_error`` and ``mse``.
    """
    pred = np.asarray(pred, dtype="float64").reshape(-1)
    target = np.asarray(target, dtype="float64").reshape(-1)
    if pred.shape != target.shape:
        raise ValueError(
            "pred and target must hold one value per sequence; "
            f"received {pred.size} and {target.size} values."
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
    """The paper's stop rule for multiplication (5.5): fewer than ``n_seq`` (140 or 13) of the
    2000 most recent training sequences with an absolute error exceeding ``tol`` (0.04)."""
    return _exceeding(pred, target, tol) < n_seq


def _exceeding(pred, target, tol):
    err = regression_errors(pred, target, tol)["abs_error"]
    return int((err > tol).sum())


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
    """Embedded Reber (5.1): every symbol of every string predicted correctly.

    See :func:`next_symbol_correct`.
    """
    return bool(next_symbol_correct(prob, legal, step_mask).all())


def long_lag_success(prob, target, step_mask, tol: float = 0.25) -> bool:
    """Noise-free long lags (5.2a): the maximal absolute error of all output units below ``tol`` (0.25).

    At every real step of every sequence: the paper's "during 10,000
    successive, randomly chosen input sequences, the maximal absolute error
    of all output units is always below 0.25". Its sequences are the two of
    :func:`~lstm_apps.datasets.tasks.generators.long_lag_sequences`, so
    checking both checks any 10,000 of them.
    """
    return bool((_step_errors(prob, target, step_mask) < tol).all())


def _step_errors(prob, target, step_mask):
    """``(n,)``: each sequence's largest absolute output error over its real steps."""
    prob = np.asarray(prob, dtype="float64")
    target = np.asarray(target, dtype="float64")
    step_mask = np.asarray(step_mask, dtype=bool)
    if prob.shape != target.shape or prob.shape[:2] != step_mask.shape:
        raise ValueError(
            f"prob, target and step_mask shapes disagree: {prob.shape}, {target.shape}, {step_mask.shape}."
        )
    return np.where(step_mask[..., None], np.abs(prob - target), 0.0).max(axis=(1, 2))


def _final_errors(prob, target, lengths):
    """``(n,)``: each sequence's largest absolute output error at its last real step."""
    prob = np.asarray(prob, dtype="float64")
    target = np.asarray(target, dtype="float64")
    rows = np.arange(prob.shape[0])
    last = np.asarray(lengths, dtype=int) - 1
    return np.abs(prob[rows, last] - target[rows, last]).max(axis=-1)


def long_lag_random_success(prob, target, lengths, tol: float = 0.25) -> bool:
    """No local regularities (5.2b): the maximal absolute error of all outputs below ``tol`` at the end.

    Only the final symbol (x or y) is predictable, so the paper's criterion
    looks at the sequence end only.
    """
    return bool((_final_errors(prob, target, lengths) < tol).all())


def very_long_lag_success(prob, target, tol: float = 0.2) -> bool:
    """Very long time lags (5.2c): the error of both output units below ``tol`` (0.2) for every sequence."""
    return classification_errors(prob, target, tol)["error_count"] == 0


#: The 2-sequence problem's stop rules (5.3) per variant: ``(tolerance of a correct output,
#: misclassified sequences ST1 allows, mean absolute error ST2 needs)``. Variant c compares the
#: output with the noise-free target and has one rule (ST1 and ST2 at once).
TWO_SEQUENCE_RULES = {"a": (0.2, 0, 0.01), "b": (0.2, 5, 0.04), "c": (0.1, 0, 0.015)}


def two_sequence_errors(pred, batch: TaskBatch) -> dict[str, Any]:
    """Misclassified sequences and the mean absolute error of a 2-sequence batch (5.3).

    Variants a and b: an output is correct when its absolute error at the
    sequence end is below 0.2. Variant c: when it is within 0.1 of the
    noise-free target (0.2 or 0.8), and the error is measured against it.

    Returns:
        ``{"error_count", "max_abs_error", "mse", "mae"}``.
    """
    tol = TWO_SEQUENCE_RULES[batch.info["variant"]][0]
    target = batch.info["clean_target"]
    err = regression_errors(pred, target, tol)
    wrong = err["abs_error"] > tol if batch.info["variant"] == "c" else err["abs_error"] >= tol
    return {
        "error_count": int(wrong.sum()),
        "max_abs_error": err["max_abs_error"],
        "mse": err["mse"],
        "mae": float(err["abs_error"].mean()),
    }


# -- the stop rules' checks on the most recent training sequences ------------------------------


def adding_check(pred, batch: TaskBatch) -> tuple[bool, dict[str, Any]]:
    """The adding problem's stop rule (5.4) on ``batch``: see :func:`adding_success`.

    Returns:
        ``(solved, {"error": mse, "wrong": sequences with absolute error >= 0.04})``.
    """
    r = regression_errors(pred, batch.y)
    return adding_success(pred, batch.y), {"error": r["mse"], "wrong": r["error_count"]}


def multiplication_check(pred, batch: TaskBatch, n_seq: int = 140) -> tuple[bool, dict[str, Any]]:
    """The multiplication problem's stop rule (5.5) on ``batch``: see :func:`multiplication_success`.

    ``n_seq`` counts wrong sequences among 2000; a window of another size
    (a quick run's) allows the same share: ``n_seq * len(batch) / 2000``.

    Returns:
        ``(solved, {"error": mse, "wrong": sequences with absolute error > 0.04})``.
    """
    r = regression_errors(pred, batch.y)
    n_seq = n_seq * len(batch) / _PAPER_WINDOW
    return multiplication_success(pred, batch.y, n_seq=n_seq), {
        "error": r["mse"],
        "wrong": _exceeding(pred, batch.y, 0.04),
    }


def temporal_order_check(prob, batch: TaskBatch) -> tuple[bool, dict[str, Any]]:
    """The temporal-order stop rule (5.6) on ``batch``: see :func:`temporal_order_success`.

    Returns:
        ``(solved, {"error": mse, "wrong": misclassified sequences})``.
    """
    r = classification_errors(prob, batch.y)
    return temporal_order_success(prob, batch.y), {"error": r["mse"], "wrong": r["error_count"]}


def reber_check(prob, batch: TaskBatch) -> tuple[bool, dict[str, Any]]:
    """The embedded Reber stop rule (5.1): every string of ``batch`` predicted correctly.

    ``batch.info["legal"]`` holds the legal next symbols (see :func:`next_symbol_correct`).

    Returns:
        ``(solved, {"wrong": strings with a wrong prediction})``.
    """
    ok = next_symbol_correct(prob, batch.info["legal"], batch.step_mask)
    return bool(ok.all()), {"wrong": int((~ok).sum())}


def long_lag_check(prob, batch: TaskBatch) -> tuple[bool, dict[str, Any]]:
    """The noise-free long-lag rule (5.2a) on ``batch``: see :func:`long_lag_success`.

    Returns:
        ``(solved, {"wrong": sequences with an output error >= 0.25, "error": the largest error})``.
    """
    err = _step_errors(prob, batch.y, batch.step_mask)
    return bool((err < 0.25).all()), {"wrong": int((err >= 0.25).sum()), "error": float(err.max())}


def long_lag_random_check(prob, batch: TaskBatch) -> tuple[bool, dict[str, Any]]:
    """The 5.2b rule on ``batch``: see :func:`long_lag_random_success`.

    Returns:
        ``(solved, {"wrong": sequences with a final error >= 0.25, "error": the largest one})``.
    """
    err = _final_errors(prob, batch.y, batch.lengths)
    return bool((err < 0.25).all()), {"wrong": int((err >= 0.25).sum()), "error": float(err.max())}


def very_long_lag_check(prob, batch: TaskBatch) -> tuple[bool, dict[str, Any]]:
    """The 5.2c rule on ``batch``: see :func:`very_long_lag_success`.

    Returns:
        ``(solved, {"wrong": sequences with an output error >= 0.2, "error": the largest one})``.
    """
    r = classification_errors(prob, batch.y, 0.2)
    return r["error_count"] == 0, {"wrong": r["error_count"], "error": r["worst"]}


def two_sequence_check(pred, batch: TaskBatch) -> tuple[bool, dict[str, Any]]:
    """The 2-sequence stop rules (5.3) on a fresh test set of 256 sequences.

    ST1: no sequence misclassified (3a, 3c) or fewer than 6 (3b); ST2: ST1 and
    the mean absolute test error below 0.01 (3a), 0.04 (3b) or, against the
    noise-free target, 0.015 (3c, whose single rule this is). Training stops at ST2.

    Returns:
        ``(ST2 holds, {"st1": ST1 holds, "wrong": misclassified, "error": mean absolute error})``.
    """
    _, allowed, max_mae = TWO_SEQUENCE_RULES[batch.info["variant"]]
    r = two_sequence_errors(pred, batch)
    st1 = r["error_count"] <= allowed
    return st1 and r["mae"] < max_mae, {"st1": st1, "wrong": r["error_count"], "error": r["mae"]}


def long_lag_errors(pred, batch: TaskBatch) -> dict[str, Any]:
    """Test scores of 5.2a: sequences with an output error >= 0.25 at some step."""
    err = _step_errors(pred, batch.y, batch.step_mask)
    return {"error_count": int((err >= 0.25).sum()), "max_abs_error": float(err.max()), "mse": None}


def final_step_errors(pred, batch: TaskBatch, tol: float = 0.25) -> dict[str, Any]:
    """Test scores at the end of a next-symbol task (5.2b): sequences with a final error >= ``tol``."""
    err = _final_errors(pred, batch.y, batch.lengths)
    return {"error_count": int((err >= tol).sum()), "max_abs_error": float(err.max()), "mse": None}


def test_errors(output: str, pred, batch: TaskBatch) -> dict[str, Any]:
    """Scores of predictions on a test set, as the paper reports them.

    Args:
        output: the task's kind of output: ``"regression"`` (a value at the
            sequence end, wrong when the absolute error is >= 0.04),
            ``"classification"`` (a one-hot class at the end, wrong when some
            unit's error is >= 0.3) or ``"next_symbol"`` (a prediction at every
            step; legal symbols from ``batch.info["legal"]`` where present,
            else the one-hot targets).
        pred: the model's outputs for ``batch.x``.
        batch: the test sequences.

    Returns:
        ``{"error_count", "max_abs_error", "mse"}``; ``mse`` is None for
        next-symbol tasks.
    """
    if output == "regression":
        r = regression_errors(pred, batch.y)
        return {"error_count": r["error_count"], "max_abs_error": r["max_abs_error"], "mse": r["mse"]}
    if output == "classification":
        r = classification_errors(pred, batch.y)
        return {"error_count": r["error_count"], "max_abs_error": r["worst"], "mse": r["mse"]}
    if output == "next_symbol":
        legal = batch.info["legal"] if "legal" in batch.info else batch.y > 0.5
        ok = next_symbol_correct(pred, legal, batch.step_mask)
        mask = batch.step_mask[..., None]
        worst = float(np.abs(np.where(mask, np.asarray(pred) - batch.y, 0.0)).max())
        return {"error_count": int((~ok).sum()), "max_abs_error": worst, "mse": None}
    raise ValueError(f"output must be 'regression', 'classification' or 'next_symbol', received {output!r}.")


class PaperStopRule:
    """The paper's stop rule as a criterion function for the harness's ``StopWhen`` callback.

    After every epoch (``sequences_per_epoch`` training sequences) it predicts
    the sequences of ``check_set`` with the current weights, applies
    ``check`` and returns a reason to stop once the criterion holds (None
    otherwise). Each check is kept in :attr:`log`, and its details go into
    the epoch's logs as ``window_<name>`` (so they reach the history).

    Args:
        check: ``check(pred, batch) -> (solved, details)``, e.g. :func:`adding_check`.
        check_set: ``check_set(sequences)`` returns the :class:`TaskBatch` to
            check, given the sequences trained on in this process (the most
            recent of them, e.g. ``TaskStream.window``, or a task's fixed sets).
            Call the rule after every epoch: it counts the epochs it has seen.
        sequences_per_epoch: training sequences per epoch.
        verbose: print every check.
        precheck: check the last ``precheck`` sequences first and stop there
            when one of them is wrong (details ``"checked"``: how many were).
            Exact for the rules that need every sequence right (adding,
            temporal order, 5.2b/5.2c), and several times cheaper while
            training is far from success; None checks every one.
        min_sequences: the criterion cannot hold before this many sequences
            were trained in this process (the paper's "2000 most recent
            sequences" exist only after 2000 of them); it is checked and logged.
        confirm: ``confirm(model) -> (solved, details)``, called only when
            ``check`` holds, e.g. the paper's "10,000 successive, randomly
            chosen sequences" of 5.2b/5.2c (a cheap check on the recent
            training sequences first, then the 10,000); its details are
            logged as ``confirm_<name>``.

    Attributes:
        solved_at: training sequences after which the criterion held, or None.
        reached: for each boolean detail (e.g. the 2-sequence problem's
            ``"st1"``), the training sequences after which it first held.
        log: one dict per check: ``sequences``, the details, ``solved``.

    Example:

    ```python
    rule = PaperStopRule(adding_check, stream.window, sequences_per_epoch=1024)
    run.fit(model, data, callbacks=[StopWhen(rule)])
    rule.solved_at
    ```
    """

    def __init__(
        self,
        check: Callable[[Any, TaskBatch], tuple[bool, Mapping[str, Any]]],
        check_set: Callable[[int], TaskBatch],
        sequences_per_epoch: int,
        verbose: int = 0,
        confirm: Callable[[Any], tuple[bool, Mapping[str, Any]]] | None = None,
        min_sequences: int = 0,
        precheck: int | None = None,
    ):
        if isinstance(sequences_per_epoch, bool) or not isinstance(sequences_per_epoch, (int, np.integer)):
            raise ValueError(
                f"sequences_per_epoch must be a positive integer, received {sequences_per_epoch!r}."
            )
        if sequences_per_epoch <= 0:
            raise ValueError(
                f"sequences_per_epoch must be a positive integer, received {sequences_per_epoch!r}."
            )
        self.check, self.check_set = check, check_set
        self.sequences_per_epoch, self.verbose = int(sequences_per_epoch), verbose
        self.confirm = confirm
        self.min_sequences = int(min_sequences)
        self.precheck = precheck
        self.solved_at: int | None = None
        self.reached: dict[str, int] = {}
        self.log: list[dict[str, Any]] = []
        self._first_epoch: int | None = None

    def _check(self, model, batch):
        pred = model.predict(batch.x, batch_size=256, verbose=0)
        ok, details = self.check(pred, batch)
        return ok, {**details, "checked": len(batch)}

    def __call__(self, epoch: int, logs: dict | None, model) -> str | None:
        if self._first_epoch is None:  # a resumed run starts at a later epoch, with a fresh stream
            self._first_epoch = epoch
        trained = (epoch - self._first_epoch + 1) * self.sequences_per_epoch
        batch = self.check_set(trained)
        ok, details = self._check(model, tail(batch, self.precheck) if self.precheck else batch)
        if self.precheck and len(batch) > self.precheck and not details.get("wrong"):
            ok, details = self._check(model, batch)
        ok = ok and trained >= self.min_sequences
        if logs is not None:  # the check's own details, the same every epoch
            for k, v in details.items():
                logs[f"window_{k}"] = float(v)
        if ok and self.confirm is not None:
            ok, more = self.confirm(model)
            details.update({f"confirm_{k}": v for k, v in more.items()})
        seen = (epoch + 1) * self.sequences_per_epoch
        for key, value in details.items():
            if isinstance(value, (bool, np.bool_)) and value and key not in self.reached:
                self.reached[key] = seen
        self.log.append({"sequences": seen, **details, "solved": bool(ok)})
        if self.verbose:
            print(f"  {seen:>8,} sequences: {dict(details)} solved={bool(ok)}", flush=True)
        if not ok:
            return None
        self.solved_at = seen
        return f"the paper's criterion holds after {seen:,} sequences"
