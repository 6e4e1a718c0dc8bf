"""Does gate telemetry flag the visits that go wrong? Features, AUCs and an offline prompt policy.

A next-action network reads a visit one action at a time; at every step its
gates open and close. This module turns those gates into *telemetry*
features and the visit itself into *behaviour* features, step by step, and
measures how well each set (and both together) tells the visits that go
wrong from the others on held-out visits.

* :func:`gate_traces`: per-step gates of a model's recurrent layer, any
  kind of the layer registry (:func:`lstm_apps.telemetry.gate_trace`).
* :func:`telemetry_features`: per step, for each gate, the mean over units
  now, its running mean, its change since the previous step, the largest
  change so far (the change point) and the steps since it.
* :func:`behaviour_features`: per step, the actions so far, the rate of
  repeated actions (the same action again), the rate of returns (an action
  done before, after another: rework), the time between actions (now, mean,
  largest), the time since the first action, the distinct actions so far,
  the share of each kind of action so far and the current action.
* :func:`fit_scorer` / :func:`step_scores`: a standardized logistic
  regression (scikit-learn) on the rows of every step of the training visits,
  each labelled with its visit's outcome; :func:`auc_at_step` and
  :func:`auc_all_steps` score it with ``roc_auc_score``.
* :func:`prompt_curve`, :func:`choose_threshold`, :func:`evaluate_prompts`:
  a policy that prompts a visit once, at the first step whose score reaches
  a threshold (chosen on validation visits for F1 within a prompt budget).
  A prompt *lands* when the visit goes wrong and the prompt comes before its
  last action (while the user is still there).

The change point is the step with the largest absolute change of the mean
gate (written here: one comparison per step; no library was needed).

Example:

```python
means = gate_means(gate_traces(model, "rnn", [tokens, times]))
tel = [telemetry_features({k: m[i, :n] for k, m in means.items()}) for i, n in enumerate(lengths)]
scorer = fit_scorer(tel_train, labels_train)
auc = auc_at_step(step_scores(scorer, tel_test), labels_test, step=5)
```
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "GATE_NAMES",
    "BEHAVIOUR_FEATURES",
    "gate_traces",
    "gate_means",
    "telemetry_features",
    "telemetry_feature_names",
    "behaviour_feature_names",
    "behaviour_features",
    "fit_scorer",
    "step_scores",
    "auc_at_step",
    "auc_all_steps",
    "prompt_curve",
    "choose_threshold",
    "evaluate_prompts",
    "plot_visit_gates",
]

#: gates read, in this order, where the cell has them
GATE_NAMES = ("forget_gate", "input_gate", "output_gate", "update_gate", "reset_gate")
#: the columns of :func:`behaviour_features`
BEHAVIOUR_FEATURES = (
    "log actions so far",
    "repeat rate",
    "return rate",
    "log gap now",
    "mean log gap",
    "max log gap",
    "log hours since first action",
    "distinct actions",
)
_PER_GATE = ("now", "running mean", "change", "largest change", "steps since largest change")


def gate_traces(model, layer, inputs) -> dict[str, np.ndarray]:
    """Per-step gates of one recurrent layer of a model, ``(batch, time, width)`` each.

    Args:
        model: a built Keras model.
        layer: the layer or its name.
        inputs: a batch for the model.

    Returns:
        :func:`lstm_apps.telemetry.gate_trace`'s dict, named by the cell
        (``"input_gate"``, ``"forget_gate"``, ``"output_gate"``; a GRU's
        ``"update_gate"``, ``"reset_gate"``; ``"output"``, ...).
    """
    from lstm_apps import telemetry

    if isinstance(layer, str):
        layer = model.get_layer(layer)
    return telemetry.gate_trace(model, inputs, layer=layer)


def gate_means(gates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The mean over units of each gate of :data:`GATE_NAMES` present: ``(batch, time)`` each."""
    means = {name: np.asarray(gates[name]).mean(axis=-1) for name in GATE_NAMES if name in gates}
    if not means:
        raise ValueError(f"no gate among {GATE_NAMES} in the trace, which holds {sorted(gates)}.")
    return means


def telemetry_feature_names(gate_names) -> list[str]:
    """The columns of :func:`telemetry_features` for these gates."""
    return [f"{g.replace('_gate', '')} {what}" for g in gate_names for what in _PER_GATE]


def _gate_step_features(series: np.ndarray) -> np.ndarray:
    """``(T, 5)``: now, running mean, |change|, largest |change| so far, steps since it."""
    t = np.arange(1, series.size + 1)
    change = np.abs(np.diff(series, prepend=series[:1]))
    largest = np.maximum.accumulate(change)
    # the step of the largest change so far (the first such step on ties)
    at = np.zeros(series.size, np.int64)
    for i in range(1, series.size):
        at[i] = i if change[i] > largest[i - 1] else at[i - 1]
    return np.stack([series, np.cumsum(series) / t, change, largest, t - 1 - at], axis=1)


def telemetry_features(means: dict[str, np.ndarray]) -> np.ndarray:
    """Per-step telemetry features of one visit.

    Args:
        means: gate name -> ``(T,)`` mean over units at each of the visit's
            steps (one visit's part of :func:`gate_means`, padding cut off).

    Returns:
        A ``(T, 5 * n_gates)`` array; columns :func:`telemetry_feature_names`
        of the gates, in the order of ``means``.

    Example:

    >>> telemetry_features({"forget_gate": np.array([0.5, 0.7, 0.6])})[:, 2:].round(2).tolist()
    [[0.0, 0.0, 0.0], [0.2, 0.2, 0.0], [0.1, 0.2, 1.0]]
    """
    if not means:
        raise ValueError("telemetry_features needs at least one gate, received none.")
    return np.concatenate([_gate_step_features(np.asarray(m, np.float64)) for m in means.values()], axis=1)


def behaviour_feature_names(action_names) -> list[str]:
    """The columns of :func:`behaviour_features` for these action names."""
    return [
        *BEHAVIOUR_FEATURES,
        *(f"share of {a} so far" for a in action_names),
        *(f"action now is {a}" for a in action_names),
    ]


def behaviour_features(actions, times, n_actions: int) -> np.ndarray:
    """``(T, 8 + 2 n_actions)`` behaviour features of one visit at each step.

    The columns (:func:`behaviour_feature_names`): :data:`BEHAVIOUR_FEATURES`,
    then the share of each action among the actions so far, then the current
    action (one-hot): what an application's own log gives without a model.

    Args:
        actions: the visit's action codes (``0..n_actions-1``).
        times: the time of each action in seconds.
        n_actions: the number of action codes.

    Example:

    >>> behaviour_features([0, 0, 1, 0], [0, 3600, 3600, 7200], 2)[:, 1:3].tolist()  # repeat, return rates
    [[0.0, 0.0], [0.5, 0.0], [0.3333333333333333, 0.0], [0.25, 0.25]]
    """
    actions, times = np.asarray(actions), np.asarray(times, dtype=np.float64)
    if actions.ndim != 1 or actions.size == 0 or times.shape != actions.shape:
        raise ValueError(
            f"actions and times must be equal-length non-empty 1-D arrays, received shapes "
            f"{actions.shape} and {times.shape}."
        )
    if actions.min() < 0 or actions.max() >= n_actions:
        raise ValueError(
            f"action codes must lie in 0..{n_actions - 1}, received {actions.min()}..{actions.max()}."
        )
    t = np.arange(1, actions.size + 1)
    repeat = np.r_[False, actions[1:] == actions[:-1]]
    seen, ret, distinct = set(), np.zeros(actions.size, bool), np.zeros(actions.size)
    for i, a in enumerate(actions.tolist()):
        ret[i] = a in seen and not repeat[i]
        seen.add(a)
        distinct[i] = len(seen)
    gap = np.log1p(np.diff(times, prepend=times[:1]) / 3600.0)
    elapsed = np.log1p((times - times[0]) / 3600.0)
    onehot = np.eye(n_actions)[actions]
    summary = np.stack(
        [
            np.log(t),
            np.cumsum(repeat) / t,
            np.cumsum(ret) / t,
            gap,
            np.cumsum(gap) / t,
            np.maximum.accumulate(gap),
            elapsed,
            distinct,
        ],
        axis=1,
    )
    return np.concatenate([summary, np.cumsum(onehot, axis=0) / t[:, None], onehot], axis=1)


def _rows(features, labels):
    x = np.concatenate(features)
    y = np.concatenate([np.full(len(f), bool(b)) for f, b in zip(features, labels)])
    return x, y


def fit_scorer(features, labels, seed: int = 0):
    """A standardized logistic regression on every step's row, labelled with its visit's outcome.

    Args:
        features: one ``(T_i, d)`` array per training visit.
        labels: each visit's outcome (True: went wrong).
        seed: the solver's random state.

    Returns:
        A fitted scikit-learn pipeline (``predict_proba``).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _rows(features, labels)
    if y.all() or not y.any():
        raise ValueError(
            f"fit_scorer needs visits of both outcomes, received {int(y.sum())} of {y.size} rows."
        )
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed)).fit(x, y)


def step_scores(scorer, features) -> list[np.ndarray]:
    """The scorer's probability that the visit goes wrong, at each step of each visit."""
    return [scorer.predict_proba(f)[:, 1] for f in features]


def auc_at_step(scores, labels, step: int) -> float:
    """ROC AUC of the score at step ``step`` (1-based) over the visits that reach it."""
    from sklearn.metrics import roc_auc_score

    pairs = [(s[step - 1], bool(b)) for s, b in zip(scores, labels) if len(s) >= step]
    y = np.array([b for _, b in pairs])
    if y.size == 0 or y.all() or not y.any():
        raise ValueError(
            f"AUC at step {step} needs visits of both outcomes that reach it; {y.size} reach it."
        )
    return float(roc_auc_score(y, [s for s, _ in pairs]))


def auc_all_steps(scores, labels) -> float:
    """ROC AUC over every step of every visit (each step labelled with its visit's outcome)."""
    from sklearn.metrics import roc_auc_score

    x, y = _rows([np.asarray(s)[:, None] for s in scores], labels)
    return float(roc_auc_score(y, x[:, 0]))


def prompt_curve(scores, labels, thresholds) -> dict[str, np.ndarray]:
    """Prompts, landed prompts and bad visits reached at each threshold.

    A visit is prompted once, at the first step whose score reaches the
    threshold, any step counting (the policy cannot know which action is
    the last). The prompt lands when the visit went wrong and the prompt
    came before its last action.

    Returns:
        ``{"threshold", "prompts", "landed", "bad", "precision", "recall"}``
        (precision 0 where nothing is prompted).
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    peak = np.array([np.max(s) for s in scores])
    peak_before_end = np.array([np.max(s[:-1]) if len(s) > 1 else -np.inf for s in scores])
    bad = np.asarray(labels, bool)
    prompts = (peak[None, :] >= thresholds[:, None]).sum(axis=1)
    landed = ((peak_before_end[None, :] >= thresholds[:, None]) & bad[None, :]).sum(axis=1)
    precision = np.where(prompts > 0, landed / np.maximum(prompts, 1), 0.0)
    recall = landed / max(int(bad.sum()), 1)
    return {
        "threshold": thresholds,
        "prompts": prompts,
        "landed": landed,
        "bad": np.full(thresholds.size, int(bad.sum())),
        "precision": precision,
        "recall": recall,
    }


def choose_threshold(scores, labels, max_prompt_share: float = 1.0) -> float:
    """The threshold of highest F1 of landed prompts on these (validation) visits.

    Args:
        scores: per-step scores of each visit.
        labels: each visit's outcome.
        max_prompt_share: the largest share of visits the policy may prompt
            (a prompt budget); thresholds above it are not considered.

    Returns:
        The threshold (the higher on ties); the highest score (prompting only
        the visits that reach it) when no threshold keeps within the budget.
    """
    if not 0 < max_prompt_share <= 1:
        raise ValueError(f"max_prompt_share must be in (0, 1], received {max_prompt_share!r}.")
    candidates = np.unique(np.concatenate([np.asarray(s) for s in scores]))
    if candidates.size > 2000:
        candidates = np.unique(np.quantile(candidates, np.linspace(0, 1, 2001)))
    curve = prompt_curve(scores, labels, candidates)
    p, r = curve["precision"], curve["recall"]
    f1 = np.where(p + r > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)
    f1[curve["prompts"] > max_prompt_share * len(scores)] = -1.0
    return float(candidates[np.flatnonzero(f1 == f1.max())[-1]])


def evaluate_prompts(scores, labels, threshold: float) -> dict[str, float]:
    """``prompts``, ``landed``, ``bad_visits``, ``precision`` and ``recall`` at ``threshold``."""
    c = prompt_curve(scores, labels, [threshold])
    return {
        "prompts": int(c["prompts"][0]),
        "landed": int(c["landed"][0]),
        "bad_visits": int(c["bad"][0]),
        "precision": float(c["precision"][0]),
        "recall": float(c["recall"][0]),
    }


def plot_visit_gates(means: dict[str, np.ndarray], actions, gaps_hours, risk=None, threshold=None, title=""):
    """One visit's mean gates per step, its actions (and hours since the previous one) underneath.

    Args:
        means: gate name -> ``(T,)`` mean over units (one visit's :func:`gate_means`).
        actions: the ``T`` action names.
        gaps_hours: hours since the previous action, ``(T,)``.
        risk: optional ``(T,)`` telemetry score, drawn with ``threshold``.
        title: the figure title.

    Returns:
        A Matplotlib figure.
    """
    import matplotlib.pyplot as plt

    T = len(actions)
    rows = 2 if risk is None else 3
    fig, axes = plt.subplots(rows, 1, figsize=(max(8, 0.55 * T), 2.4 * rows), sharex=True)
    steps = np.arange(1, T + 1)
    for name, m in means.items():
        axes[0].plot(steps, m, marker="o", label=name.replace("_", " "))
        cp = int(np.argmax(np.abs(np.diff(m, prepend=m[:1]))))
        if cp > 0:
            axes[0].axvline(cp + 1, color=axes[0].lines[-1].get_color(), ls=":", lw=1)
    axes[0].set_ylabel("mean over units")
    axes[0].legend(loc="best", fontsize=8)
    axes[0].set_title(title)
    axes[-1].bar(steps, np.log1p(gaps_hours), color="0.7")
    axes[-1].set_ylabel("log1p(hours since\nprevious action)")
    axes[-1].set_xticks(steps, [f"{a}" for a in actions], rotation=60, ha="right", fontsize=8)
    if risk is not None:
        axes[1].plot(steps, risk, color="C3", marker=".", label="telemetry score")
        if threshold is not None:
            axes[1].axhline(threshold, color="k", ls="--", lw=1, label="prompt threshold")
            hit = np.flatnonzero(np.asarray(risk) >= threshold)
            if hit.size:
                axes[1].plot(hit[0] + 1, risk[hit[0]], "k*", ms=12, label="prompt")
        axes[1].set_ylabel("P(goes wrong)")
        axes[1].legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig
