"""Forgetting data: Ebbinghaus's 1885 savings table and spaced-repetition review logs.

* :func:`load_ebbinghaus`: the 7-point retention curve of 1885 (bundled in
  ``data/ebbinghaus_1885.csv``, its source in the file header);
* :func:`simulate_review_logs`: a seeded simulator of learners reviewing
  flashcards, whose memory follows the ACT-R spacing model of Pavlik &
  Anderson (2005) — so neither the gray-box cell nor the baselines is the
  true model;
* :func:`load_review_log`: a real review log in the common CSV form (card
  id, review time, rating 1–4 as in Anki: again, hard, good, easy);
* :func:`prepare_reviews` and :func:`review_sequences`: per-review features
  (elapsed days, review index, lapses) and padded per-card sequences with a
  time-ordered train/test split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_apps.resources import data_file

__all__ = [
    "EBBINGHAUS_PATH",
    "load_ebbinghaus",
    "simulate_review_logs",
    "load_review_log",
    "prepare_reviews",
    "review_sequences",
    "ReviewSequences",
]

EBBINGHAUS_PATH = data_file("ebbinghaus_1885.csv")
MINUTES_PER_DAY = 1440.0


def load_ebbinghaus(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Ebbinghaus's (1885) savings after seven delays.

    Returns:
        A DataFrame with ``delay`` (label), ``delay_minutes``, ``delay_days``
        and ``savings_percent`` (7 rows, 20 minutes to 31 days).

    Example:

    >>> load_ebbinghaus()["savings_percent"].tolist()[:2]
    [58.2, 44.2]
    """
    path = Path(path) if path is not None else EBBINGHAUS_PATH
    if not path.is_file():
        raise ValueError(
            f"Ebbinghaus table not found: received path {str(path)!r}; expected the bundled "
            "data/ebbinghaus_1885.csv."
        )
    from lstm_apps.datasets._files import csv_frame, read_csv_rows

    header, rows, lines = read_csv_rows(
        path, expected="a header line naming delay_minutes and savings_percent columns", comment="#"
    )
    frame = csv_frame(header, rows)
    missing = {"delay_minutes", "savings_percent"} - set(frame.columns)
    if missing:
        raise ValueError(
            f"{path} must have columns delay_minutes and savings_percent; missing {sorted(missing)}, "
            f"found {list(frame.columns)}."
        )
    for column in ("delay_minutes", "savings_percent"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype="float64")))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{path}:{lines[i]}: column {column!r} holds {rows[i][list(frame.columns).index(column)]!r}; "
                "expected a number on every row."
            )
    frame["delay_days"] = frame["delay_minutes"] / MINUTES_PER_DAY
    return frame


# ---------------------------------------------------------------------------
# Review-log simulator
# ---------------------------------------------------------------------------


def _activation(times, decays, t):
    """ACT-R activation ln sum_j (t - t_j)^(-d_j), with a 15-minute floor on the age."""
    if not times:
        return -np.inf
    age = np.maximum(t - np.asarray(times), 0.01)
    return float(np.log(np.sum(age ** (-np.asarray(decays)))))


def simulate_review_logs(
    n_learners: int = 20,
    cards_per_learner: int = 50,
    horizon_days: float = 365.0,
    seed: int = 0,
    decay_scale: float = 0.3,
    decay_floor: float = 0.18,
    threshold: float = -0.7,
    noise: float = 0.35,
    difficulty_sd: float = 0.5,
    ability_sd: float = 0.3,
    lateness_sd: float = 0.45,
    leech_lapses: int = 8,
) -> pd.DataFrame:
    """Simulate learners reviewing flashcards, with a spacing effect.

    Memory follows the ACT-R model of Pavlik & Anderson (2005, "Practice and
    forgetting effects on vocabulary memory: an activation-based model of the
    spacing effect"), with time in days: each review j leaves a trace that
    decays as a power of its age with its own rate
    ``d_j = decay_scale · exp(m_j) + decay_floor``, where ``m_j`` is the
    activation at the moment of that review — studying while memory is still
    strong (massed practice) yields a trace that fades fast: the spacing
    effect. Activation ``m(t) = ln Σ_j (t − t_j)^(−d_j)``; recall probability
    ``σ((m + ability − difficulty − threshold) / noise)``.

    Each card is learned on a random day, then rescheduled Anki-style
    (interval × 2.5 after *good*, × 1.2 after *hard*, × 3.5 after *easy*,
    back to 1 day after *again*), and the learner is randomly early or late
    (log-normal factor with sd ``lateness_sd``) so the elapsed times vary.
    Ratings: 1 (again) when recall fails; otherwise 2, 3 or 4 with the easy
    share growing with recall probability. A card failed ``leech_lapses``
    times is suspended (Anki's leech rule).

    Args:
        n_learners, cards_per_learner: size of the log.
        horizon_days: the log ends after this many days.
        seed: NumPy seed; the same seed gives the same log.
        decay_scale, decay_floor, threshold, noise: the ACT-R parameters.
        difficulty_sd, ability_sd: spread of card difficulty and learner ability.
        lateness_sd: spread of the review-time noise (log scale).
        leech_lapses: lapses after which a card is suspended.

    Returns:
        A DataFrame with ``learner_id``, ``card_id``, ``review_time`` (days
        from the log's start), ``rating`` (1–4) and ``p_true`` (the simulator's
        recall probability, for reference; a real log does not have it),
        sorted by time.
    """
    for name, value in (("n_learners", n_learners), ("cards_per_learner", cards_per_learner)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, received {value!r}.")
    if not horizon_days > 1:
        raise ValueError(f"horizon_days must be > 1, received {horizon_days!r}.")
    rng = np.random.default_rng(seed)
    rows = []
    for learner in range(n_learners):
        ability = rng.normal(0, ability_sd)
        for c in range(cards_per_learner):
            card_id = learner * cards_per_learner + c
            difficulty = rng.normal(0, difficulty_sd)
            t = rng.uniform(0, 0.75 * horizon_days)
            times, decays = [], []
            interval = 1.0
            first = True
            lapses = 0
            while t < horizon_days:
                m = _activation(times, decays, t)
                if first:
                    p = 0.0  # first sight of the card: learning, not a test
                    rating = int(rng.choice([1, 2, 3, 4], p=[0.3, 0.2, 0.4, 0.1]))
                else:
                    p = 1.0 / (1.0 + np.exp(-(m + ability - difficulty - threshold) / noise))
                    if rng.random() >= p:
                        rating = 1
                    else:
                        easy = 0.05 + 0.3 * p**4
                        rating = int(rng.choice([2, 3, 4], p=[0.15, 0.85 - easy, easy]))
                rows.append((learner, card_id, t, rating, p))
                # the review itself is a presentation with a spacing-dependent decay
                decays.append(decay_scale * (np.exp(m) if np.isfinite(m) else 0.0) + decay_floor)
                times.append(t)
                lapses += int(not first and rating == 1)
                if lapses >= leech_lapses:
                    break  # a leech: Anki suspends the card
                if first or rating == 1:
                    interval = 1.0
                else:
                    interval = interval * {2: 1.2, 3: 2.5, 4: 3.5}[rating]
                first = False
                t = t + max(interval * rng.lognormal(0.0, lateness_sd), 0.02)
    frame = pd.DataFrame(rows, columns=["learner_id", "card_id", "review_time", "rating", "p_true"])
    return frame.sort_values(["review_time", "card_id"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Real logs
# ---------------------------------------------------------------------------

_CARD_COLUMNS = ("card_id", "cid", "card")
_TIME_COLUMNS = ("review_time", "review_date", "timestamp", "time")
_RATING_COLUMNS = ("rating", "ease", "grade")
_TIME_UNITS = ("auto", "days", "hours", "seconds", "milliseconds", "datetime")


def _pick(frame: pd.DataFrame, names, what: str, path) -> str:
    for name in names:
        if name in frame.columns:
            return name
    raise ValueError(
        f"review log {path} has no {what} column: expected one of {list(names)}, found columns "
        f"{list(frame.columns)}."
    )


_DAYS_PER_UNIT = {"days": 1.0, "hours": 1 / 24, "seconds": 1 / 86400, "milliseconds": 1 / 86_400_000}


def _first_bad(mask, lines) -> tuple[int, int]:
    """(row, file line) of the first True of ``mask``."""
    i = int(np.flatnonzero(np.asarray(mask))[0])
    return i, lines[i]


def load_review_log(
    path: str | os.PathLike, time_unit: str = "auto", max_span_days: float | None = 36525.0
) -> pd.DataFrame:
    """Load a review log in the common CSV form: card id, review time, rating.

    Column names accepted: card ``card_id`` / ``cid`` / ``card``; time
    ``review_time`` / ``review_date`` / ``timestamp`` / ``time``; rating
    ``rating`` / ``ease`` / ``grade`` (1 again, 2 hard, 3 good, 4 easy).
    Other columns (e.g. ``learner_id``) are kept. Lines starting with ``#``
    are comments.

    Args:
        path: the CSV file (UTF-8).
        time_unit: unit of a numeric time column: ``"days"``, ``"hours"``,
            ``"seconds"``, ``"milliseconds"`` (Anki's revlog ids), or
            ``"datetime"`` for text dates; ``"auto"`` parses text as dates
            and reads numbers as days, or as Unix-epoch milliseconds when
            they exceed 1e11, or as Unix-epoch seconds when they exceed 1e8
            (10^8 days would be 270,000 years).
        max_span_days: the longest time the log may span, in days (default
            100 years); a longer span means the time unit is wrong (seconds
            read as days give thousands of years) or a date is mistyped, and
            raises a ``ValueError`` naming the column and the likely unit.
            ``None`` accepts any span.

    Returns:
        A DataFrame with ``card_id``, ``review_time`` (days since the first
        review in the log) and ``rating`` (int 1–4), sorted by time.

    Raises:
        ValueError: for a missing, empty, ragged or non-UTF-8 file, a missing
            column, and (naming the line) a missing card id or time, a time
            that cannot be read, a span beyond ``max_span_days`` or a rating
            outside 1–4.

    Example:

    ```python
    log = load_review_log("revlog.csv", time_unit="milliseconds")  # Anki's revlog export
    ```
    """
    from lstm_apps.datasets._files import csv_frame, read_csv_rows

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"review log not found: received path {str(path)!r}.")
    if time_unit not in _TIME_UNITS:
        raise ValueError(f"time_unit must be one of {_TIME_UNITS}, received {time_unit!r}.")
    if max_span_days is not None and not (
        isinstance(max_span_days, (int, float, np.integer, np.floating))
        and not isinstance(max_span_days, bool)
        and max_span_days > 0
    ):
        raise ValueError(
            f"max_span_days must be a positive number of days or None, received {max_span_days!r}."
        )
    header, rows, lines = read_csv_rows(
        path, expected="a header line naming a card id, a review time and a rating column", comment="#"
    )
    if not rows:
        raise ValueError(
            f"review log {path} holds no rows; expected one row per review under the header {header}."
        )
    frame = csv_frame(header, rows)
    card = _pick(frame, _CARD_COLUMNS, "card id", path)
    tcol = _pick(frame, _TIME_COLUMNS, "review time", path)
    rcol = _pick(frame, _RATING_COLUMNS, "rating", path)
    for column in (card, tcol):
        if frame[column].isna().any():
            _, line = _first_bad(frame[column].isna(), lines)
            raise ValueError(
                f"review log {path}:{line}: column {column!r} is empty; expected a value on every row."
            )
    out = frame.rename(columns={card: "card_id", tcol: "review_time", rcol: "rating"})
    raw = out["review_time"]
    numeric = pd.api.types.is_numeric_dtype(raw)
    unit = time_unit
    if unit == "auto":
        if numeric:
            unit = "milliseconds" if raw.max() > 1e11 else "seconds" if raw.max() > 1e8 else "days"
        else:
            unit = "datetime"
    if unit == "datetime":
        try:
            stamps = pd.to_datetime(raw, errors="coerce")
        except (ValueError, TypeError) as err:  # e.g. mixed time zones
            raise ValueError(
                f"review log {path}: column {tcol!r} is not parseable as dates (first value "
                f"{raw.iloc[0]!r}): {err}"
            ) from None
        if stamps.isna().any():
            i, line = _first_bad(stamps.isna(), lines)
            raise ValueError(
                f"review log {path}:{line}: column {tcol!r} holds {raw.iloc[i]!r}, which is not a date "
                f"in the format of the first row ({raw.iloc[0]!r}); expected dates like 2024-01-31 08:00 "
                "on every row."
            )
        days = (stamps - stamps.min()).dt.total_seconds() / 86400.0
    else:
        if not numeric:
            raise ValueError(
                f"review log {path}: time_unit={time_unit!r} needs a numeric column {tcol!r}, received "
                f"values like {raw.iloc[0]!r}."
            )
        days = (raw - raw.min()) * _DAYS_PER_UNIT[unit]
    span = float(days.max())
    if max_span_days is not None and span > max_span_days:
        if unit == "datetime":
            i, line = _first_bad(days.to_numpy() == span, lines)
            j, first = _first_bad(days.to_numpy() == 0.0, lines)
            why = f"from {raw.iloc[j]!r} (line {first}) to {raw.iloc[i]!r} (line {line}); a mistyped year?"
        else:
            raw_span = float(raw.max() - raw.min())
            likely = [  # the units of log timestamps, most common first
                u
                for u in ("seconds", "milliseconds", "hours", "days")
                if u != unit and raw_span * _DAYS_PER_UNIT[u] <= max_span_days
            ]
            why = (
                f"the values are more likely in {likely[0]} (pass time_unit={likely[0]!r}: a span of "
                f"{raw_span * _DAYS_PER_UNIT[likely[0]]:,.1f} days)"
                if likely
                else "no time unit gives a plausible span"
            )
        raise ValueError(
            f"review log {path}: column {tcol!r} read as {unit} spans {span:,.0f} days ({span / 365.25:,.0f} "
            f"years); expected at most {max_span_days:,.0f} days: {why}" + ("" if why.endswith("?") else ".")
        )
    out["review_time"] = days.astype("float64")
    ratings = pd.to_numeric(out["rating"], errors="coerce")
    bad = ~ratings.isin([1, 2, 3, 4])
    if bad.any():
        i, line = _first_bad(bad, lines)
        raise ValueError(
            f"review log {path}:{line}: column {rcol!r}: ratings must be 1, 2, 3 or 4 "
            f"(again/hard/good/easy); received {rows[i][list(frame.columns).index(rcol)]!r} in row {i}."
        )
    out["rating"] = ratings.astype(int)
    return out.sort_values(["review_time", "card_id"], kind="stable").reset_index(drop=True)


def prepare_reviews(log: pd.DataFrame) -> pd.DataFrame:
    """Add per-review history features to a log (card_id, review_time, rating).

    Added columns: ``y`` (1 when recalled, rating > 1), ``elapsed_days``
    (since the card's previous review; NaN on its first), ``review_index``
    (1 for the first review of a card), ``lapses``, ``n_correct`` and
    ``n_wrong`` (failed and successful reviews of the card *before* this one,
    first reviews excluded), sorted by card and time.
    """
    missing = {"card_id", "review_time", "rating"} - set(log.columns)
    if missing:
        raise ValueError(f"log must have columns card_id, review_time, rating; missing {sorted(missing)}.")
    df = log.sort_values(["card_id", "review_time"], kind="stable").reset_index(drop=True).copy()
    df["y"] = (df["rating"] > 1).astype(int)
    g = df.groupby("card_id", sort=False)
    df["review_index"] = g.cumcount() + 1
    df["elapsed_days"] = g["review_time"].diff()
    scored = (df["review_index"] > 1).astype(int)
    fail = ((df["y"] == 0) & (scored == 1)).astype(int)
    ok = ((df["y"] == 1) & (scored == 1)).astype(int)
    df["lapses"] = fail.groupby(df["card_id"]).cumsum() - fail
    df["n_wrong"] = df["lapses"]
    df["n_correct"] = ok.groupby(df["card_id"]).cumsum() - ok
    return df


class ReviewSequences:
    """Per-card padded arrays of a prepared log (see :func:`review_sequences`).

    Attributes:
        x: ``(cards, T, 6)`` cell inputs ``[Δt days, study=1, one-hot rating 1..4]``.
        y: ``(cards, T)`` outcomes; ``elapsed``, ``rating``: ``(cards, T)``.
        train_weight, test_weight: ``(cards, T)`` 0/1 masks (first reviews and
            padding are 0 in both).
        row: ``(cards, T)`` index into the prepared DataFrame (−1 = padding).
        frame: the prepared DataFrame; ``cutoff``: the split time.
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)


def review_sequences(
    prepared: pd.DataFrame, test_fraction: float = 0.2, max_len: int | None = None
) -> ReviewSequences:
    """Padded per-card sequences with a time-ordered train/test split.

    Reviews at or after the ``1 − test_fraction`` quantile of review time
    (first reviews excluded from the quantile) are test reviews; every model
    still sees a card's earlier history when predicting them, as a deployed
    scheduler would.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), received {test_fraction!r}.")
    scored = prepared["review_index"] > 1
    if scored.sum() < 2:
        raise ValueError("the log needs at least two repeat reviews (a card reviewed twice) to split.")
    cutoff = float(np.quantile(prepared.loc[scored, "review_time"], 1 - test_fraction))
    lengths = prepared.groupby("card_id", sort=False).size()
    T = int(lengths.max()) if max_len is None else int(max_len)
    cards = lengths.index.to_numpy()
    n = len(cards)
    x = np.zeros((n, T, 6), "float32")
    y = np.zeros((n, T), "float32")
    elapsed = np.zeros((n, T), "float32")
    rating = np.zeros((n, T), "int64")
    train_w = np.zeros((n, T), "float32")
    test_w = np.zeros((n, T), "float32")
    row = -np.ones((n, T), "int64")
    card_pos = {c: i for i, c in enumerate(cards)}
    ci = prepared["card_id"].map(card_pos).to_numpy()
    ti = prepared["review_index"].to_numpy() - 1
    keep = ti < T
    ci, ti = ci[keep], ti[keep]
    sub = prepared[keep]
    dt = np.nan_to_num(sub["elapsed_days"].to_numpy(), nan=0.0)
    r = sub["rating"].to_numpy()
    x[ci, ti, 0] = dt
    x[ci, ti, 1] = 1.0
    x[ci, ti, 1 + r] = 1.0
    y[ci, ti] = sub["y"].to_numpy()
    elapsed[ci, ti] = dt
    rating[ci, ti] = r
    is_scored = sub["review_index"].to_numpy() > 1
    is_test = sub["review_time"].to_numpy() >= cutoff
    train_w[ci, ti] = (is_scored & ~is_test).astype("float32")
    test_w[ci, ti] = (is_scored & is_test).astype("float32")
    row[ci, ti] = np.flatnonzero(keep)
    return ReviewSequences(
        x=x,
        y=y,
        elapsed=elapsed,
        rating=rating,
        train_weight=train_w,
        test_weight=test_w,
        row=row,
        frame=prepared,
        cutoff=cutoff,
    )
