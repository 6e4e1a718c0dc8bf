"""Visits from a real event log: one case's actions, their times, and whether the case went wrong.

A *visit* is one case of a process from its first action to its last: the
sequence of actions (integer codes), the time of each, and a label saying
whether it went wrong. The bundled log is real, not simulated: the **BPI
Challenge 2012** log of a Dutch financial institute's loan and overdraft
application process (13,087 applications, October 2011 to March 2012; van
Dongen 2012, doi:10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f). It was
taken from the ``pm4py==2.2.32`` source distribution on PyPI
(``tests/input_data/bpic2012.xes.gz``; ``pip download --no-deps --no-binary
:all: pm4py==2.2.32``), a GPL-3 package that redistributes it, and stored as
``data/bpic2012_complete.csv.gz``: its 164,506 ``COMPLETE`` lifecycle events
(the ``SCHEDULE`` and ``START`` events left out) with the columns ``case``,
``activity`` and ``timestamp`` exactly as the XES file gives them.

By default the actions of a visit are the completions of the ``W_`` work
items (the 6 activities and 72,413 events of the "BPI'12 W" log of Tax et al.
2017, 9,658 cases), and a visit *goes wrong* when its case holds
``A_CANCELLED``: the application was abandoned (2,807 of them). Both are
options (``action_prefix``, ``bad_activity``), so any log with a case, an
activity and a timestamp per event can be read: a CSV with those three
columns (plain or gzip) or an XES file (``.xes`` or ``.xes.gz``, parsed with
the standard library's ElementTree; events whose ``lifecycle:transition`` is
not ``complete`` are skipped).

Example:

```python
log = load_visits()
split = split_visits(log.visits, val_fraction=0.1, test_fraction=0.2, seed=0)
print(log.actions, len(split.train), sum(v.bad for v in split.test))
```
"""

from __future__ import annotations

import gzip
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Visit",
    "VisitLog",
    "VisitSplit",
    "default_log_path",
    "read_event_log",
    "make_visits",
    "load_visits",
    "split_visits",
    "TIME_FEATURES",
    "time_features",
    "next_action_arrays",
    "visit_batches",
]

_COLUMNS = ("case", "activity", "timestamp")


def default_log_path() -> Path:
    """The bundled log: ``data/bpic2012_complete.csv.gz`` of the checkout."""
    return Path(__file__).resolve().parent.parent.parent / "data" / "bpic2012_complete.csv.gz"


@dataclass
class Visit:
    """One case: its actions (codes into :attr:`VisitLog.actions`), their times, and its label.

    Attributes:
        case: the case identifier of the log.
        actions: ``int64`` codes, in time order.
        times: seconds since the Unix epoch (float64), one per action, non-decreasing.
        bad: whether the case went wrong (holds the bad activity).
        local_times: the same instants on the log's own wall clock (its UTC
            offset added), for the hour of day and the weekday; ``None``: ``times``.
    """

    case: str
    actions: np.ndarray
    times: np.ndarray
    bad: bool
    local_times: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.actions.size)

    @property
    def gaps_hours(self) -> np.ndarray:
        """Hours since the previous action (0 for the first)."""
        return np.diff(self.times, prepend=self.times[:1]) / 3600.0


@dataclass
class VisitLog:
    """The visits of a log and what they were made from.

    Attributes:
        visits: the visits, in the order their cases first appear in the log.
        actions: the action names; code ``i`` is ``actions[i]``.
        path: the file read.
        bad_activity: the activity that marks a visit as gone wrong.
        cases_without_actions: cases dropped because none of their events is an action.
    """

    visits: list[Visit]
    actions: tuple[str, ...]
    path: str
    bad_activity: str
    cases_without_actions: int = 0

    @property
    def n_events(self) -> int:
        return sum(len(v) for v in self.visits)


@dataclass
class VisitSplit:
    """Training, validation and test visits (disjoint cases)."""

    train: list[Visit]
    val: list[Visit]
    test: list[Visit] = field(default_factory=list)


def _read_xes(path: Path):
    import pandas as pd

    ns = "{http://www.xes-standard.org/}"
    opener = gzip.open if path.name.endswith(".gz") else open
    rows = []
    try:
        with opener(path, "rb") as handle:
            for _, element in ET.iterparse(handle, events=("end",)):
                if element.tag != ns + "trace":
                    continue
                attrs = {c.get("key"): c.get("value") for c in element if c.tag != ns + "event"}
                case = attrs.get("concept:name")
                for event in element.findall(ns + "event"):
                    a = {c.get("key"): c.get("value") for c in event}
                    if a.get("lifecycle:transition", "complete").lower() != "complete":
                        continue
                    rows.append((case, a.get("concept:name"), a.get("time:timestamp")))
                element.clear()
    except (ET.ParseError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not readable as an XES event log ({err}).") from None
    return pd.DataFrame(rows, columns=list(_COLUMNS))


def read_event_log(path=None):
    """The events of a log as a ``pandas.DataFrame`` with ``case``, ``activity`` and ``timestamp``.

    Args:
        path: a CSV file (plain or ``.gz``) with columns ``case``,
            ``activity``, ``timestamp`` (ISO 8601, any offset), or an XES file
            (``.xes``, ``.xes.gz``); default :func:`default_log_path`.

    Returns:
        The events in file order; ``case`` and ``activity`` as strings,
        ``timestamp`` as UTC ``datetime64``, ``local`` the wall-clock time the
        log wrote (its offset dropped), naive ``datetime64``.

    Raises:
        ValueError: naming the file for a missing column, an empty log, a
            missing case, activity or timestamp, or a timestamp that does not parse.
    """
    import pandas as pd

    path = Path(default_log_path() if path is None else path)
    if not path.is_file():
        raise ValueError(f"event log {path} does not exist; expected a CSV or XES file.")
    if path.name.endswith((".xes", ".xes.gz")):
        frame = _read_xes(path)
    else:
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as err:
            raise ValueError(f"{path}: not readable as a CSV event log ({err}).") from None
        missing = [c for c in _COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{path}: no column {missing}; expected the columns {list(_COLUMNS)}, "
                f"received {list(frame.columns)}."
            )
        frame = frame[list(_COLUMNS)]
    if frame.empty:
        raise ValueError(f"{path}: the log holds no events; expected one row per event.")
    for column in _COLUMNS:
        blank = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if blank.any():
            raise ValueError(f"{path}: event {int(np.argmax(blank.to_numpy()))} has no {column}.")
    stamps = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601", errors="coerce")
    if stamps.isna().any():
        bad = frame["timestamp"][stamps.isna()].iloc[0]
        raise ValueError(
            f"{path}: timestamp {bad!r} does not parse; expected ISO 8601 (2011-10-01T00:38:44)."
        )
    wall = frame["timestamp"].astype(str).str.replace(r"(Z|[+-]\d\d:?\d\d)$", "", regex=True)
    local = pd.to_datetime(wall, format="ISO8601", errors="coerce")
    return pd.DataFrame(
        {
            "case": frame["case"].astype(str),
            "activity": frame["activity"].astype(str),
            "timestamp": stamps,
            "local": local.fillna(stamps.dt.tz_localize(None)),
        }
    )


def make_visits(
    frame, action_prefix: str = "W_", bad_activity: str = "A_CANCELLED", path: str = ""
) -> VisitLog:
    """Group a log's events into visits.

    Args:
        frame: events as :func:`read_event_log` returns them.
        action_prefix: the activities whose names start with it are a visit's
            actions ("" for every activity but the bad one).
        bad_activity: a case holding this activity went wrong; it is never an action.
        path: the file's name, kept in the result.

    Returns:
        A :class:`VisitLog`; within a case, actions are ordered by time (ties
        keep the log's order), action codes by name.
    """
    if bad_activity not in set(frame["activity"]):
        raise ValueError(
            f"bad_activity {bad_activity!r} never occurs in {path or 'the log'}; expected one of its "
            f"activities, e.g. {sorted(set(frame['activity']))[:12]}."
        )
    activity = frame["activity"].to_numpy()
    # the bad activity is the label, never an action (the model must not read its own answer)
    is_action = frame["activity"].str.startswith(action_prefix).to_numpy() & (activity != bad_activity)
    names = tuple(sorted(set(activity[is_action])))
    if not names:
        raise ValueError(f"no activity of {path or 'the log'} starts with action_prefix {action_prefix!r}.")
    case_ids, case_index = np.unique(frame["case"].to_numpy(), return_inverse=True)
    first_seen = np.full(case_ids.size, len(frame))
    np.minimum.at(first_seen, case_index, np.arange(len(frame)))
    rank = np.argsort(np.argsort(first_seen, kind="stable"), kind="stable")  # cases in log order
    bad_cases = np.zeros(case_ids.size, bool)
    bad_cases[case_index[activity == bad_activity]] = True
    import pandas as pd

    def since_epoch(stamps, epoch):  # seconds, whatever the resolution pandas chose for the datetimes
        return ((stamps - epoch) / pd.Timedelta(seconds=1)).to_numpy(np.float64)

    seconds = since_epoch(frame["timestamp"], pd.Timestamp(0, tz="UTC"))
    local = frame["local"] if "local" in frame else frame["timestamp"].dt.tz_localize(None)
    local = since_epoch(local, pd.Timestamp(0))
    codes = np.searchsorted(np.array(names), activity[is_action]).astype(np.int64)
    rows = np.flatnonzero(is_action)
    order = np.lexsort((np.arange(rows.size), seconds[rows], rank[case_index[rows]]))
    cases, codes, times, local = (
        case_index[rows][order],
        codes[order],
        seconds[rows][order],
        local[rows][order],
    )
    starts = np.flatnonzero(np.r_[True, cases[1:] != cases[:-1]])
    visits = [
        Visit(str(case_ids[cases[a]]), codes[a:b], times[a:b], bool(bad_cases[cases[a]]), local[a:b])
        for a, b in zip(starts, np.r_[starts[1:], cases.size])
    ]
    dropped = int(case_ids.size - starts.size)
    return VisitLog(visits, names, str(path), bad_activity, dropped)


def load_visits(path=None, action_prefix: str = "W_", bad_activity: str = "A_CANCELLED") -> VisitLog:
    """:func:`read_event_log` then :func:`make_visits` (default: the bundled BPI Challenge 2012 log)."""
    path = Path(default_log_path() if path is None else path)
    return make_visits(read_event_log(path), action_prefix, bad_activity, path=str(path))


def split_visits(visits, val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0) -> VisitSplit:
    """A seeded random split of visits by case.

    Args:
        visits: the visits.
        val_fraction, test_fraction: shares of the visits (rounded down, at least one each).
        seed: seed of the permutation.

    Returns:
        A :class:`VisitSplit`; each part keeps the visits' original order.
    """
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be in (0, 1), received {value!r}.")
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction + test_fraction must leave visits to train on, received "
            f"{val_fraction} + {test_fraction}."
        )
    n = len(visits)
    n_val, n_test = max(1, math.floor(n * val_fraction)), max(1, math.floor(n * test_fraction))
    if n - n_val - n_test < 1:
        raise ValueError(f"{n} visits are too few to split into training, validation and test visits.")
    order = np.random.default_rng(seed).permutation(n)
    val, test = set(order[:n_val].tolist()), set(order[n_val : n_val + n_test].tolist())
    parts = ([], [], [])
    for i, visit in enumerate(visits):
        parts[1 if i in val else 2 if i in test else 0].append(visit)
    return VisitSplit(*parts)


#: columns of :func:`time_features`
TIME_FEATURES = ("log gap", "log since first", "sin hour", "cos hour", "weekday")


def time_features(visit: Visit) -> np.ndarray:
    """``(len, 5)`` inputs beside each action (columns :data:`TIME_FEATURES`).

    ``log1p`` of the hours since the previous action and since the first,
    each divided by 5 (so they lie within about 0..2); the hour of day on the
    log's wall clock as a point on the circle (sine, cosine); the weekday
    (Monday 0 to Sunday 1). Tax et al. (2017) fed their LSTM the same kinds of
    time (since the previous event, since the case start, since midnight, the
    weekday).

    Example:

    >>> v = Visit("c", np.array([0, 1]), np.array([0.0, 7200.0]), False)  # Thu 1 Jan 1970, 0:00 and 2:00
    >>> time_features(v).astype(float).round(3).tolist()
    [[0.0, 0.0, 0.0, 1.0, 0.5], [0.22, 0.22, 0.5, 0.866, 0.5]]
    """
    local = visit.times if visit.local_times is None else visit.local_times
    hours = (local / 3600.0) % 24.0
    weekday = (np.floor(local / 86400.0) + 3) % 7  # 1970-01-01 was a Thursday (3)
    return np.stack(
        [
            np.log1p(visit.gaps_hours) / 5.0,
            np.log1p((visit.times - visit.times[0]) / 3600.0) / 5.0,
            np.sin(2 * np.pi * hours / 24.0),
            np.cos(2 * np.pi * hours / 24.0),
            weekday / 6.0,
        ],
        axis=1,
    ).astype(np.float32)


def next_action_arrays(visits, n_actions: int, max_length: int | None = None):
    """Padded arrays for next-action prediction, the end of the visit being one more action.

    Step ``t`` reads action ``t`` (code + 1; 0 pads) and its time features, and
    predicts action ``t + 1``; after the last action it predicts *end*
    (code ``n_actions``). So a visit of ``T`` actions gives ``T`` targets.

    Args:
        visits: the visits.
        n_actions: the number of action codes.
        max_length: keep at most the first ``max_length`` actions of a visit
            (default: the longest visit).

    Returns:
        ``(tokens, times, targets, weights)``: ``(n, L)`` int32, ``(n, L, 5)``
        float32 (:func:`time_features`), ``(n, L)`` int32 and ``(n, L)`` float32 (1 on real steps).
    """
    if not visits:
        raise ValueError("next_action_arrays needs at least one visit, received none.")
    length = max(len(v) for v in visits) if max_length is None else int(max_length)
    n = len(visits)
    tokens = np.zeros((n, length), np.int32)
    times = np.zeros((n, length, len(TIME_FEATURES)), np.float32)
    targets = np.zeros((n, length), np.int32)
    weights = np.zeros((n, length), np.float32)
    for i, v in enumerate(visits):
        t = min(len(v), length)
        tokens[i, :t] = v.actions[:t] + 1
        times[i, :t] = time_features(v)[:t]
        targets[i, :t] = np.append(v.actions[1:], n_actions)[:t]
        weights[i, :t] = 1.0
    return tokens, times, targets, weights


def visit_batches(
    visits, n_actions: int, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0, time_inputs=True
):
    """A ``keras.utils.PyDataset`` of next-action batches, visits of similar length together.

    Batch ``b`` is ``({"actions": tokens, "hours": times}, targets, weights)``
    of :func:`next_action_arrays`, padded to the batch's longest visit rounded up
    to a multiple of 8 (few compiled shapes). Visits are sorted by length and
    cut into batches, so padding stays small. The first batch is the longest
    and the second the shortest (Keras takes the input shapes from the first
    batches, so the time axis stays free); with ``shuffle`` the order of the
    batches changes after every epoch. ``dataset.index[b]`` holds the positions (in
    ``visits``) of batch ``b``'s visits.

    Args:
        visits: the visits.
        n_actions: the number of action codes.
        batch_size: visits per batch.
        shuffle: shuffle the batches each epoch (seeded).
        seed: shuffling seed.
        time_inputs: feed the time features; ``False`` feeds zeros in their place.

    Returns:
        The dataset (``len()`` batches, ``[b]`` indexing).
    """
    import keras

    if not visits:
        raise ValueError("visit_batches needs at least one visit, received none.")
    order = np.argsort([len(v) for v in visits], kind="stable")
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]

    class _Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            # the longest batch, then the shortest: Keras reads the input shapes off the first two
            # batches, and a time axis that differs there is left free (None)
            self.order = np.r_[len(groups) - 1, np.arange(len(groups) - 1)]

        def on_epoch_end(self):
            if shuffle:
                self.rng.shuffle(self.order)

        @property
        def index(self):
            return [groups[o] for o in self.order]

        def __len__(self):
            return len(groups)

        def __getitem__(self, b):
            rows = [visits[i] for i in groups[self.order[b]]]
            length = -(-max(len(v) for v in rows) // 8) * 8
            tokens, times, targets, weights = next_action_arrays(rows, n_actions, length)
            inputs = {"actions": tokens, "hours": times if time_inputs else np.zeros_like(times)}
            return inputs, targets, weights

    return _Batches()
