"""Windows of daily series for recurrent variance models.

The inputs the volatility recipe's networks read: the window of the last
``seq_len`` scaled returns (and optional extra channels such as relative
volume) ending at each forecast origin, and the training/validation windows
with their next-day targets.

Example:

>>> from lstm_apps.datasets import return_windows
>>> return_windows.windows_ending_at(np.arange(1.0, 5.0), np.array([3]), 2).tolist()
[[3.0, 4.0]]
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "windows_ending_at",
    "network_inputs",
    "training_windows",
    "train_validation_windows",
]


def windows_ending_at(x: np.ndarray, ends, seq_len: int) -> np.ndarray:
    """Stack the windows ``x[e - seq_len + 1 : e + 1]`` for every end ``e`` (left-padded with zeros).

    Example:

    >>> windows_ending_at(np.arange(1.0, 5.0), np.array([0, 3]), 3).tolist()
    [[0.0, 0.0, 1.0], [2.0, 3.0, 4.0]]
    """
    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len <= 0:
        raise ValueError(f"seq_len must be a positive integer, received {seq_len!r}.")
    x = np.asarray(x)
    ends = np.asarray(ends, dtype=np.int64)
    if ends.size and (ends.min() < 0 or ends.max() >= len(x)):
        raise ValueError(f"window ends must lie in 0..{len(x) - 1}, received {ends.min()}..{ends.max()}.")
    pad = np.concatenate([np.zeros((seq_len - 1,) + x.shape[1:], x.dtype), x])
    idx = ends[:, None] + np.arange(seq_len)[None, :]
    return pad[idx]


def network_inputs(z: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """A network's input channels per day: the standardised return ``z``, then any ``extra`` channels.

    Returns:
        A float32 array of shape ``(days, 1 + extra channels)``.
    """
    z = np.asarray(z)
    cols = [z[:, None]] + ([np.asarray(extra).reshape(len(z), -1)] if extra is not None else [])
    return np.concatenate(cols, axis=1).astype("float32")


def training_windows(
    z: np.ndarray,
    lo: int,
    hi: int,
    seq_len: int,
    burn_in: int,
    stride: int,
    features: np.ndarray | None = None,
):
    """Windows whose next-day targets ``z²`` on days ``lo..hi-1`` are scored after a burn-in.

    Input day t predicts target day t+1; the window ending at input day e
    covers targets e−seq_len+2 .. e+1. Windows end every ``stride`` days,
    the last one on day ``hi - 2``. The first ``burn_in`` steps of every
    window, and targets outside ``lo..hi-1``, get weight 0.

    Args:
        z: standardised returns, one per day.
        lo, hi: the target days scored.
        seq_len: window length in days.
        burn_in: unscored steps at the start of each window (they warm up the state).
        stride: days between window ends.
        features: the inputs per day (default :func:`network_inputs` of ``z``).

    Returns:
        ``(x, y, w, target_day)``: inputs ``(windows, seq_len, channels)``,
        targets and weights ``(windows, seq_len[, 1])``, and each step's target day.
    """
    if not 0 <= burn_in < seq_len:
        raise ValueError(f"burn_in must lie in 0..seq_len - 1 = {seq_len - 1}, received {burn_in!r}.")
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride <= 0:
        raise ValueError(f"stride must be a positive number of days, received {stride!r}.")
    z = np.asarray(z)
    first_end = max(lo - 1 + burn_in, seq_len - 1)
    ends = np.arange(hi - 2, first_end - 1, -stride)[::-1]
    if len(ends) == 0:
        raise ValueError(
            f"no training window fits days {lo}..{hi}; use a shorter --seq-len/--burn-in or more data."
        )
    x = windows_ending_at(network_inputs(z) if features is None else features, ends, seq_len)
    tgt = windows_ending_at((z**2)[:, None].astype("float32"), ends + 1, seq_len)
    target_day = ends[:, None] + 1 - (seq_len - 1) + np.arange(seq_len)[None, :]
    w = np.ones(x.shape[:2], "float32")
    w[:, :burn_in] = 0.0
    w[(target_day < lo) | (target_day >= hi)] = 0.0
    return x, tgt, w, target_day


def train_validation_windows(
    z: np.ndarray,
    lo: int,
    hi: int,
    *,
    seq_len: int,
    burn_in: int,
    stride: int,
    val_days: int = 0,
    features: np.ndarray | None = None,
):
    """:func:`training_windows` for days ``lo..hi-1``, with those ending in the last ``val_days`` held out.

    A held-out window scores only its targets inside the last ``val_days``
    days (earlier steps keep it warm but weigh 0). When no window, or every
    window, ends in that stretch, nothing is held out.

    Returns:
        ``((x, y, w), validation)``: the training arrays, and ``(x, y, w)`` of
        the held-out windows or None.
    """
    x, y, w, target_day = training_windows(z, lo, hi, seq_len, burn_in, stride, features)
    val_from = hi - val_days
    is_val = target_day[:, -1] >= val_from
    if val_days <= 0 or not is_val.any() or is_val.all():
        return (x, y, w), None
    wv = w[is_val].copy()
    wv[target_day[is_val] < val_from] = 0.0  # score only the held-out stretch
    return (x[~is_val], y[~is_val], w[~is_val]), (x[is_val], y[is_val], wv)
