"""Daily price series and returns: Yahoo Finance (cached), CSV files, and the
S&P 500 series that ships inside the ``arch`` package.

Three sources, one cleaning step:

* :func:`download_prices`: any ticker and date range through ``yfinance``,
  cached on disk (``~/.cache/lstm_apps/prices/`` by default, or
  ``$LSTM_APPS_CACHE/prices``, or ``cache_dir=``) so a second run needs no
  network; offline and uncached it raises a ``ValueError`` saying so;
* :func:`read_price_csv`: a CSV with a date column and a close or
  adjusted-close column;
* :func:`load_sp500`: the S&P 500 daily closes 1999-01-04 to 2018-12-31
  shipped by ``arch`` (``arch.data.sp500``), the bundled default.

Every source passes through :func:`clean_prices`, which documents how bad
data is handled:

* rows are sorted by date; **duplicate dates** raise (pass
  ``duplicates="last"`` to keep the last row of each date);
* **NaN** prices (holidays in some feeds) are dropped (``nan="drop"``, the
  default) or raise (``nan="error"``);
* **non-positive** or infinite prices raise (a return needs two positive prices);
* **gaps**: daily data has weekends and holidays, so a return is taken
  between consecutive observations; a gap longer than ``max_gap_days``
  calendar days (default 10) raises, because a "daily" return spanning it
  would be a multi-week return (``max_gap_days=None`` accepts any gap);
* **too short** series (fewer than ``min_length`` prices, default 30) raise;
* **outliers**: a day whose price is more than twice or less than half the
  day before (a return above +100 % or below -50 %; a price typed ×100 gives
  +9,900 %) is warned about with its date and return (``outliers="error"``
  refuses it, ``outliers="accept"`` keeps it silently).

:func:`read_price_csv` reads every row or refuses it by file, line, column
and value: ``1,004.50`` and ``$1,004.50`` are 1004.5, an empty cell or
``null`` is a missing price, anything else (a decimal comma, a word, a row
with a field too many) is an error.

:func:`returns_from_prices` turns prices into simple or log returns, in
percent by default; :func:`load_returns` does all of it from one call.

Example:

```python
from lstm_apps.datasets import prices
r = prices.load_returns()                 # bundled S&P 500, percent returns
r = prices.load_returns(csv="prices.csv")  # any price file
r = prices.load_returns(ticker="SPY", start="2005-01-01")  # network, then cache
```
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_apps import io as _io

__all__ = [
    "default_cache_dir",
    "clean_prices",
    "returns_from_prices",
    "load_sp500",
    "read_price_csv",
    "download_prices",
    "load_returns",
    "parkinson_variance",
    "load_sp500_range_variance",
    "load_sp500_frame",
    "relative_log_volume",
    "load_sp500_volume_feature",
]

_DATE_NAMES = ("date", "datetime", "timestamp", "time", "day")
_PRICE_NAMES = (
    "adj close",
    "adj_close",
    "adjclose",
    "adjusted close",
    "adjusted_close",
    "close",
    "price",
    "last",
)


def default_cache_dir() -> Path:
    """Where downloaded prices are cached.

    ``$LSTM_APPS_CACHE/prices`` when that variable is set, otherwise
    ``~/.cache/lstm_apps/prices``.
    """
    root = os.environ.get("LSTM_APPS_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "lstm_apps"
    return base / "prices"


def clean_prices(
    prices,
    *,
    min_length: int = 30,
    max_gap_days: int | None = 10,
    nan: str = "drop",
    duplicates: str = "error",
    source: str = "prices",
    outliers: str = "warn",
    outlier_factor: float = 2.0,
) -> pd.Series:
    """Validate a daily price series and return it sorted, as float64.

    Args:
        prices: a ``pandas.Series`` indexed by dates (anything
            ``pandas.to_datetime`` parses).
        min_length: fewest prices accepted after cleaning.
        max_gap_days: longest accepted distance in calendar days between two
            consecutive observations (``None``: any).
        nan: ``"drop"`` (remove NaN prices) or ``"error"``.
        duplicates: ``"error"`` or ``"last"`` (keep the last row of a date).
        source: name of the data's origin, used in error messages.
        outliers: what to do with a day whose price is more than
            ``outlier_factor`` times, or less than ``1 / outlier_factor``
            times, the previous one (a return above +100 % or below -50 %
            for the default 2; a price typed ×100 gives +9,900 %):
            ``"warn"`` (``warnings.warn`` naming the dates and returns),
            ``"error"`` (a ``ValueError``) or ``"accept"``.
        outlier_factor: the largest day-to-day price ratio taken as
            ordinary (> 1).

    Returns:
        A sorted ``pandas.Series`` of positive float prices with a
        ``DatetimeIndex`` named ``"date"``.
    """
    if nan not in ("drop", "error"):
        raise ValueError(f"nan must be 'drop' or 'error', received {nan!r}.")
    if duplicates not in ("error", "last"):
        raise ValueError(f"duplicates must be 'error' or 'last', received {duplicates!r}.")
    if outliers not in ("warn", "error", "accept"):
        raise ValueError(f"outliers must be 'warn', 'error' or 'accept', received {outliers!r}.")
    if isinstance(outlier_factor, bool) or not (
        isinstance(outlier_factor, (int, float, np.integer, np.floating)) and outlier_factor > 1
    ):
        raise ValueError(f"outlier_factor must be a number above 1, received {outlier_factor!r}.")
    if not isinstance(prices, pd.Series):
        raise ValueError(f"prices must be a pandas Series indexed by date, received {type(prices).__name__}.")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(prices.index))
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{source}: the dates could not be parsed ({err}); expected dates like 2015-01-02."
        ) from None
    if getattr(index, "tz", None) is not None:
        index = index.tz_localize(None)
    index = index.normalize()
    values = pd.to_numeric(pd.Series(np.asarray(prices), index=index), errors="coerce").astype("float64")
    if index.hasnans:
        raise ValueError(
            f"{source}: {int(index.isna().sum())} rows have no date; expected a date on every row."
        )
    values = values.sort_index(kind="stable")
    dup = values.index.duplicated(keep="last")
    if dup.any():
        if duplicates == "error":
            first = values.index[dup][0].date()
            raise ValueError(
                f"{source}: {int(dup.sum())} duplicate dates (first: {first}); expected one price per date "
                "(pass duplicates='last' to keep the last row of each date)."
            )
        values = values[~dup]
    missing = values.isna()
    if missing.any():
        if nan == "error":
            raise ValueError(
                f"{source}: {int(missing.sum())} NaN prices (first on {values.index[missing][0].date()}); "
                "expected a number on every row (nan='drop' removes them)."
            )
        values = values[~missing]
    bad = ~np.isfinite(values.to_numpy()) | (values.to_numpy() <= 0)
    if bad.any():
        where = values.index[bad][0].date()
        raise ValueError(
            f"{source}: {int(bad.sum())} non-positive or infinite prices "
            f"(first: {values[bad].iloc[0]!r} on {where}); "
            "expected positive prices."
        )
    if len(values) < min_length:
        raise ValueError(f"{source}: {len(values)} prices after cleaning; expected at least {min_length}.")
    if max_gap_days is not None and len(values) > 1:
        gaps = np.diff(values.index.values).astype("timedelta64[D]").astype(int)
        worst = int(np.argmax(gaps))
        if gaps[worst] > max_gap_days:
            raise ValueError(
                f"{source}: a gap of {gaps[worst]} days between {values.index[worst].date()} and "
                f"{values.index[worst + 1].date()}; expected daily data with gaps of at most "
                f"{max_gap_days} days "
                "(pass max_gap_days=None to accept any gap; the return then spans it)."
            )
    if outliers != "accept" and len(values) > 1:
        _check_outliers(values, outliers, float(outlier_factor), source)
    values.index.name = "date"
    values.name = prices.name if prices.name is not None else "price"
    return values


def _check_outliers(values: pd.Series, outliers: str, factor: float, source: str) -> None:
    """Warn about (or refuse) days whose price jumps by more than ``factor`` from the day before."""
    v = values.to_numpy()
    ratio = v[1:] / v[:-1]
    jumps = np.flatnonzero((ratio > factor) | (ratio < 1.0 / factor))
    if not jumps.size:
        return
    days = [
        f"{values.index[i + 1].date()}: {100.0 * (ratio[i] - 1.0):+,.1f} % (from {v[i]:,.6g} on "
        f"{values.index[i].date()} to {v[i + 1]:,.6g})"
        for i in jumps[:3]
    ]
    more = f" and {jumps.size - 3} more" if jumps.size > 3 else ""
    message = (
        f"{source}: {jumps.size} daily return(s) beyond a price factor of {factor:g}: "
        f"{'; '.join(days)}{more}; expected daily moves within that factor. A mistyped price or an "
        "unadjusted split gives such a return; fix the data, or pass outliers='accept' to keep them "
        "(outliers='error' refuses them)."
    )
    if outliers == "error":
        raise ValueError(message)
    warnings.warn(message, UserWarning, stacklevel=3)


def returns_from_prices(prices: pd.Series, kind: str = "simple", scale: float = 100.0) -> pd.Series:
    """Daily returns between consecutive prices, ``scale`` times (percent by default).

    Args:
        prices: a cleaned price series (see :func:`clean_prices`).
        kind: ``"simple"`` (p_t / p_{t-1} − 1) or ``"log"`` (ln p_t − ln p_{t-1}).
        scale: multiplier (100: percent returns).

    Returns:
        A ``pandas.Series`` one shorter than ``prices``, named ``"return"``.
    """
    if kind == "simple":
        out = prices.pct_change()
    elif kind == "log":
        out = np.log(prices).diff()
    else:
        raise ValueError(f"kind must be 'simple' or 'log', received {kind!r}.")
    out = (out.iloc[1:] * float(scale)).rename("return")
    return out


def load_sp500_frame() -> pd.DataFrame:
    """The whole S&P 500 daily frame shipped with ``arch`` (``arch.data.sp500``), 1999-01-04 to 2018-12-31.

    The one reader of that data set: :func:`load_sp500`,
    :func:`load_sp500_range_variance` and :func:`load_sp500_volume_feature`
    take their columns from it.

    Returns:
        A ``pandas.DataFrame`` with the columns ``Open``, ``High``, ``Low``,
        ``Close``, ``Adj Close`` and ``Volume``, indexed by a ``DatetimeIndex``
        of midnight dates named ``"date"`` (5,031 rows).
    """
    from arch.data import sp500

    frame = sp500.load()
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index)).normalize().rename("date")
    return frame


def load_sp500(column: str = "Adj Close") -> pd.Series:
    """The S&P 500 daily closes shipped with ``arch`` (1999-01-04 to 2018-12-31).

    Args:
        column: ``"Adj Close"`` (default), ``"Close"``, ``"Open"``, ``"High"`` or ``"Low"``.

    Returns:
        A cleaned price series (5,031 days).
    """
    frame = load_sp500_frame()
    if column not in frame.columns:
        raise ValueError(f"column must be one of {list(frame.columns)}, received {column!r}.")
    return clean_prices(frame[column].rename("sp500"), source="arch.data.sp500")


def _pick(columns, wanted, preferred, what, path):
    lowered = {str(c).strip().lower(): c for c in columns}
    if wanted is not None:
        if wanted in columns:
            return wanted
        if str(wanted).strip().lower() in lowered:
            return lowered[str(wanted).strip().lower()]
        raise ValueError(f"{path}: no {what} column {wanted!r}; the columns are {list(columns)}.")
    for name in preferred:
        if name in lowered:
            return lowered[name]
    raise ValueError(
        f"{path}: found no {what} column among {list(columns)}; expected one named like {list(preferred)} "
        f"(or pass the column's name)."
    )


def _parse_dates(raw: list[str], lines: list[int], column, path) -> pd.DatetimeIndex:
    """Parse a date column, refusing (by line) a date that is missing or not in the column's format."""
    from lstm_apps.datasets._files import NA_MARKERS

    texts = pd.Series(raw, dtype=object).map(lambda v: None if v.strip() in NA_MARKERS else v)
    try:
        stamps = pd.to_datetime(texts, errors="coerce")
    except (ValueError, TypeError) as err:  # e.g. mixed time zones
        raise ValueError(
            f"{path}: column {column!r} could not be read as dates ({err}); expected dates like 2015-01-02."
        ) from None
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        what = "no date" if texts.iloc[i] is None else f"the date {raw[i]!r}, which could not be read"
        like = f"the first row's format ({raw[0].strip()!r})" if i > 0 else "a format like 2015-01-02"
        raise ValueError(
            f"{path}:{lines[i]}: column {column!r} holds {what} ({bad.size} such row(s)); "
            f"expected a date on every row, in {like}."
        )
    return pd.DatetimeIndex(stamps)


def _parse_prices(raw: list[str], lines: list[int], column, path) -> np.ndarray:
    """Parse a price column: thousands separators and currency signs are read, a missing value is NaN."""
    from lstm_apps.datasets._files import NA_MARKERS, parse_number

    values = np.empty(len(raw), "float64")
    for i, text in enumerate(raw):
        if text.strip() in NA_MARKERS:
            values[i] = np.nan
            continue
        try:
            values[i] = parse_number(text)
        except ValueError as why:
            raise ValueError(
                f"{path}:{lines[i]}: column {column!r} holds {text!r}, not a price ({why}); "
                "expected a number like 1004.50 (a thousands separator and a currency sign, as in "
                "$1,004.50, are read) or an empty cell for a missing price."
            ) from None
    return values


def read_price_csv(
    path, date_column: str | None = None, price_column: str | None = None, **clean_kwargs
) -> pd.Series:
    """Read daily prices from a CSV file with a date and a price column.

    Every row is read or refused by name: a price written ``1,004.50`` or
    ``$1,004.50`` (quoted, as CSV needs) is 1004.5; an empty cell or a
    missing-value marker (``NaN``, ``null``, ``N/A``, as in pandas) is a
    missing price (see ``nan`` of :func:`clean_prices`); any other text, a
    decimal comma, a date that cannot be read and a row with more or fewer
    fields than the header raise a ``ValueError`` naming the file, the line,
    the column and the value.

    Args:
        path: the CSV file (UTF-8).
        date_column: the date column; by default the first named ``Date``,
            ``Datetime``, ``Timestamp``, ``Time`` or ``Day`` (any case).
        price_column: the price column; by default ``Adj Close`` (or
            ``adj_close``, ``Adjusted Close``), else ``Close``, ``Price``, ``Last``.
        **clean_kwargs: passed to :func:`clean_prices`.

    Returns:
        A cleaned price series.

    Example:

    ```python
    closes = read_price_csv("SPY.csv")  # Date,Open,High,Low,Close,Adj Close,Volume
    ```
    """
    from lstm_apps.datasets._files import read_csv_rows

    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"price file {str(path)!r} does not exist; expected a CSV with a date and a close column."
        )
    header, rows, lines = read_csv_rows(
        path, expected="a header line naming a date and a price column, then one row per day"
    )
    if not rows:
        raise ValueError(f"{path}: holds a header {header!r} but no rows; expected one row per day.")
    dcol = _pick(header, date_column, _DATE_NAMES, "date", path)
    pcol = _pick(header, price_column, _PRICE_NAMES, "price", path)
    di, pi = header.index(dcol), header.index(pcol)
    dates = _parse_dates([r[di] for r in rows], lines, dcol, path)
    values = _parse_prices([r[pi] for r in rows], lines, pcol, path)
    series = pd.Series(values, index=dates, name=str(pcol))
    return clean_prices(series, source=str(path), **clean_kwargs)


def _cache_file(ticker: str, start, end, cache_dir) -> Path:
    def part(x):
        return "none" if x is None else pd.Timestamp(x).strftime("%Y-%m-%d")

    safe = re.sub(r"[^A-Za-z0-9._-]", "_", ticker)
    return Path(cache_dir) / f"{safe}_{part(start)}_{part(end)}.csv"


def _frame_to_series(frame: pd.DataFrame, ticker: str) -> pd.Series:
    if isinstance(frame.columns, pd.MultiIndex):
        # yfinance >= 0.2.48 returns (field, ticker) columns even for one ticker
        levels = [list(map(str, frame.columns.get_level_values(i))) for i in range(frame.columns.nlevels)]
        field_level = next(
            (i for i, lv in enumerate(levels) if any(v in ("Close", "Adj Close") for v in lv)), 0
        )
        frame = frame.copy()
        frame.columns = frame.columns.get_level_values(field_level)
        frame = frame.loc[:, ~frame.columns.duplicated()]
    for name in ("Adj Close", "Close"):
        if name in frame.columns:
            return pd.Series(
                frame[name].to_numpy(dtype="float64"), index=pd.to_datetime(frame.index), name=ticker
            )
    raise ValueError(
        f"yfinance returned no 'Adj Close' or 'Close' column for {ticker!r}; "
        f"it returned {list(frame.columns)}."
    )


def download_prices(
    ticker: str,
    start=None,
    end=None,
    *,
    cache_dir=None,
    refresh: bool = False,
    **clean_kwargs,
) -> pd.Series:
    """Daily adjusted closes of ``ticker`` from Yahoo Finance, cached on disk.

    The first call downloads with ``yfinance.download`` and writes
    ``<cache_dir>/<ticker>_<start>_<end>.csv`` atomically; later calls with
    the same arguments read that file and need no network (``refresh=True``
    downloads again). With ``end=None`` the cache holds the prices up to the
    day of the first download until refreshed.

    Args:
        ticker: a Yahoo symbol, e.g. ``"SPY"`` or ``"^GSPC"``.
        start, end: dates (``"2005-01-01"``); ``end`` is exclusive as in yfinance.
        cache_dir: cache folder (default :func:`default_cache_dir`).
        refresh: ignore the cache and download again.
        **clean_kwargs: passed to :func:`clean_prices`.

    Returns:
        A cleaned price series ("Adj Close", or "Close" when the feed has no
        adjusted close).

    Raises:
        ValueError: offline (or an unknown ticker) with nothing cached.
    """
    if not isinstance(ticker, str) or not ticker.strip():
        raise ValueError(f"ticker must be a non-empty string like 'SPY', received {ticker!r}.")
    ticker = ticker.strip()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = _cache_file(ticker, start, end, cache_dir)
    if path.is_file() and not refresh:
        return read_price_csv(path, "date", "price", **clean_kwargs).rename(ticker)
    try:
        import yfinance
    except ImportError as err:  # pragma: no cover - yfinance is a dependency
        raise ValueError(f"yfinance is not installed ({err}) and {path} is not cached.") from None
    error = None
    try:
        frame = yfinance.download(
            ticker,
            start=None if start is None else pd.Timestamp(start).strftime("%Y-%m-%d"),
            end=None if end is None else pd.Timestamp(end).strftime("%Y-%m-%d"),
            auto_adjust=False,
            progress=False,
            actions=False,
            threads=False,
        )
    except Exception as err:  # noqa: BLE001 - yfinance raises many network error types
        frame, error = None, err
    if frame is None or len(frame) == 0:
        why = f" ({type(error).__name__}: {error})" if error is not None else ""
        raise ValueError(
            f"could not download prices for ticker {ticker!r} from {start} to {end}{why}: the machine may be "
            f"offline or the ticker unknown, and no cached copy exists at {path}. "
            "Connect once to fill the cache, or use a CSV file (read_price_csv / --data)."
        )
    series = _frame_to_series(frame, ticker)
    cleaned = clean_prices(series, source=f"yfinance {ticker}", **clean_kwargs)
    text = pd.DataFrame({"date": cleaned.index.strftime("%Y-%m-%d"), "price": cleaned.to_numpy()}).to_csv(
        index=False, float_format="%.10g"
    )
    _io.write_text(path, text)
    return cleaned


def load_returns(
    source: str | None = None,
    *,
    csv=None,
    ticker: str | None = None,
    start=None,
    end=None,
    kind: str = "simple",
    scale: float = 100.0,
    cache_dir=None,
    **clean_kwargs,
) -> pd.Series:
    """Daily returns (percent by default) from one of the three sources.

    Exactly one of ``csv`` and ``ticker`` may be given; with neither, the
    bundled S&P 500 (``source="sp500"``) is used. ``start``/``end`` restrict
    the dates (for a ticker they are the download range).

    Args:
        source: ``"sp500"`` (default) or a CSV path (same as ``csv=``).
        csv: a CSV price file (see :func:`read_price_csv`).
        ticker: a Yahoo symbol (see :func:`download_prices`).
        start, end: date range.
        kind, scale: see :func:`returns_from_prices`.
        cache_dir: yfinance cache folder.
        **clean_kwargs: passed to :func:`clean_prices`.

    Returns:
        A ``pandas.Series`` of returns named ``"return"``, indexed by date.
    """
    if source is not None and source != "sp500":
        if csv is not None:
            raise ValueError(
                f"give the CSV either as source or as csv=, received both {source!r} and {csv!r}."
            )
        csv = source
    if csv is not None and ticker is not None:
        raise ValueError(f"give either csv= or ticker=, received csv={str(csv)!r} and ticker={ticker!r}.")
    if ticker is not None:
        prices = download_prices(ticker, start, end, cache_dir=cache_dir, **clean_kwargs)
    else:
        prices = read_price_csv(csv, **clean_kwargs) if csv is not None else load_sp500()
        if start is not None or end is not None:
            prices = prices.loc[
                slice(
                    None if start is None else pd.Timestamp(start), None if end is None else pd.Timestamp(end)
                )
            ]
            clean_prices(
                prices,
                source="the selected date range",
                min_length=clean_kwargs.get("min_length", 30),
                max_gap_days=None,
                outliers="accept",  # checked on the whole series already
            )
    return returns_from_prices(prices, kind=kind, scale=scale)


def parkinson_variance(high, low, scale: float = 100.0) -> pd.Series:
    """Parkinson (1980) range-based daily variance, ``(ln(H/L))² / (4 ln 2)``, times ``scale²``.

    A variance proxy far less noisy than the squared return when only daily
    high and low prices exist (no intraday data); in percent² by default.

    Args:
        high, low: daily high and low prices (``pandas.Series`` on the same dates).
        scale: 100 gives percent² (matching percent returns).
    """
    high = pd.Series(high, dtype="float64")
    low = pd.Series(low, dtype="float64")
    if not high.index.equals(low.index):
        raise ValueError("high and low must share their dates.")
    if (high <= 0).any() or (low <= 0).any() or (high < low).any():
        raise ValueError("high and low must be positive with high >= low on every day.")
    out = (np.log(high / low) ** 2) / (4.0 * np.log(2.0)) * float(scale) ** 2
    return out.rename("parkinson_variance")


def load_sp500_range_variance() -> pd.Series:
    """Parkinson range variance (percent²) of the bundled S&P 500 (``arch.data.sp500``), by date."""
    frame = load_sp500_frame()
    return parkinson_variance(frame["High"], frame["Low"])


def relative_log_volume(volume: pd.Series, window: int = 22) -> pd.Series:
    """``log(volume_t / mean volume of the previous window days)``: a day's activity, known at its close.

    The first ``window`` days have no full history and are NaN.

    Example:

    >>> v = pd.Series([1.0, 1.0, 4.0], index=pd.date_range("2020-01-01", periods=3))
    >>> relative_log_volume(v, window=2).round(4).tolist()
    [nan, nan, 1.3863]
    """
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window <= 0:
        raise ValueError(f"window must be a positive number of days, received {window!r}.")
    volume = pd.Series(volume, dtype="float64")
    if (volume <= 0).any():
        raise ValueError(f"volume must be positive on every day, received a minimum of {volume.min()!r}.")
    return np.log(volume / volume.rolling(window).mean().shift(1))


def load_sp500_volume_feature(dates, fit_days: int, window: int = 22) -> np.ndarray:
    """The bundled S&P 500's :func:`relative_log_volume` on ``dates``, standardised on the first ``fit_days``.

    Days without a value (the first ``window`` of the data, or dates not in
    it) get 0 before standardising. Mean and standard deviation come from
    ``dates[:fit_days]`` only (the estimation sample), so nothing leaks from
    the forecast period.

    Args:
        dates: the days wanted (e.g. the index of the return series).
        fit_days: how many of the first ``dates`` set the mean and scale.
        window: days of the rolling mean volume.

    Returns:
        A float64 array as long as ``dates``.
    """
    if isinstance(fit_days, bool) or not isinstance(fit_days, (int, np.integer)) or fit_days < 2:
        raise ValueError(f"fit_days must be an integer of at least 2, received {fit_days!r}.")
    vol = load_sp500_frame()["Volume"].astype("float64")
    rel = relative_log_volume(vol, window).reindex(pd.DatetimeIndex(dates))
    rel = rel.fillna(0.0).to_numpy()
    m, s = rel[:fit_days].mean(), rel[:fit_days].std()
    return (rel - m) / s
