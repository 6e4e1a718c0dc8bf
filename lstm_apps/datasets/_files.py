"""Reading text and CSV files so that nothing is dropped or mangled silently.

The dataset readers go through these helpers. A byte sequence that is not
UTF-8, an empty file, a row with more or fewer fields than its header, and a
number written for people (``1,004.50``, ``$1,004.50``) are either read
exactly or refused with a ``ValueError`` that names the file, the line (and
column or field) and what was expected.

Example:

```python
header, rows, lines = read_csv_rows("prices.csv", expected="a header line naming a date and a price column")
price = parse_number(rows[0][1])  # "$1,004.50" -> 1004.5
```
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "NA_MARKERS",
    "decoding_error",
    "read_text",
    "iter_text_lines",
    "read_csv_rows",
    "csv_frame",
    "parse_number",
]

# the strings pandas.read_csv reads as a missing value by default (its `na_values`), matched exactly
NA_MARKERS = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>"]
    + ["N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)

_CONVERT_HINT = "convert it first, e.g. `iconv -f latin1 -t utf-8 FILE > NEW`, or save it as UTF-8"


def decoding_error(
    path,
    data: bytes,
    err: UnicodeDecodeError,
    first_line: int = 1,
    what: str = "a UTF-8 text file",
    hint: str = _CONVERT_HINT,
) -> ValueError:
    """A ``ValueError`` for bytes of ``path`` that are not UTF-8, naming the line, the column and the bytes.

    Args:
        path: the file the bytes come from.
        data: the bytes that failed to decode (the whole file or one line).
        err: the ``UnicodeDecodeError`` raised by ``data.decode("utf-8")``.
        first_line: the line number of the first line in ``data``.
        what: what the file should be, as in "not {what}".
        hint: how to fix it.

    Returns:
        The error to raise (``raise decoding_error(...) from None``).
    """
    start = err.start
    line = first_line + data.count(b"\n", 0, start)
    line_start = data.rfind(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
    line_end = data.find(b"\n", start)
    context = data[max(line_start, start - 20) : min(start + 20, line_end if line_end >= 0 else len(data))]
    return ValueError(
        f"{path}:{line}:{column}: not {what} (the byte(s) {data[start : err.end]!r} in {context!r} are not "
        f"UTF-8, the encoding expected); {hint}."
    )


def read_text(path: str | os.PathLike, what: str = "a UTF-8 text file", hint: str = _CONVERT_HINT) -> str:
    """The whole of a UTF-8 text file (a leading byte-order mark is dropped).

    Args:
        path: the file.
        what, hint: see :func:`decoding_error`.

    Raises:
        ValueError: for bytes that are not UTF-8, naming the file, line, column and bytes.
    """
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        err = UnicodeDecodeError(err.encoding, data, err.start + bom, err.end + bom, err.reason)
        raise decoding_error(path, data, err, what=what, hint=hint) from None


def iter_text_lines(
    path: str | os.PathLike,
    opener: Callable = open,
    what: str = "a UTF-8 text file",
    hint: str = _CONVERT_HINT,
) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a UTF-8 text file, read lazily (for files of gigabytes).

    Args:
        path: the file.
        opener: ``open``, or ``gzip.open`` for a gzip-compressed file (called as
            ``opener(path, "rb")``).
        what, hint: see :func:`decoding_error`.

    Yields:
        The line number (from 1) and the decoded line with its line ending
        (``"\\r\\n"`` read as ``"\\n"``, as text mode does).

    Raises:
        ValueError: for bytes that are not UTF-8, naming the file, line, column and bytes.
    """
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if raw.endswith(b"\r\n"):
                raw = raw[:-2] + b"\n"
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise decoding_error(path, raw, err, first_line=number, what=what, hint=hint) from None


_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_CURRENCIES = ("US$", "$", "€", "£", "¥", "USD", "EUR", "GBP", "JPY", "CHF")


def parse_number(text: str) -> float:
    """Read a number as a person may write it in a table: ``1004.5``, ``1,004.50``, ``$1,004.50``, ``-€3``.

    Accepted: an optional sign, an optional currency sign or code
    (``$ US$ € £ ¥ USD EUR GBP JPY CHF``, before or after the number), and
    either a plain decimal number (``float`` syntax) or one whose comma
    separates groups of three digits. A decimal comma (``1004,50``,
    ``1.004,50``) is not guessed at.

    Raises:
        ValueError: with the reason when ``text`` is none of these.

    Example:

    >>> parse_number("$1,004.50"), parse_number("-2.5e3"), parse_number("1004 EUR")
    (1004.5, -2500.0, 1004.0)
    """
    s = str(text).strip()
    sign = ""
    if s[:1] in "+-" and s:
        sign, s = s[0], s[1:].strip()
    for cur in _CURRENCIES:
        if s.startswith(cur):
            s = s[len(cur) :].strip()
            break
        if s.endswith(cur):
            s = s[: -len(cur)].strip()
            break
    if s[:1] in "+-" and s and not sign:
        sign, s = s[0], s[1:].strip()
    if "," in s:
        if not _THOUSANDS.fullmatch(s):
            raise ValueError(
                "a comma that does not separate groups of three digits (a decimal comma is not read)"
            )
        s = s.replace(",", "")
    if not s or s[:1] in "+-":
        raise ValueError("not a number")
    try:
        value = float(sign + s)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _looks_like_split_number(fields: list[str]) -> bool:
    """Whether joining two neighbouring fields with a comma gives a number with a thousands separator."""
    return any(_THOUSANDS.fullmatch(f"{a.strip()},{b.strip()}") for a, b in zip(fields, fields[1:]))


def read_csv_rows(
    path: str | os.PathLike, *, expected: str, comment: str | None = None
) -> tuple[list[str], list[list[str]], list[int]]:
    """The header and rows of a comma-separated UTF-8 file, with the line each row starts on.

    Blank lines (and, with ``comment``, lines starting with it) are skipped,
    as ``pandas.read_csv`` does; a quoted field may span lines.

    Args:
        path: the CSV file.
        expected: what the file should hold, for the error messages (e.g.
            ``"a header line naming a date and a price column"``).
        comment: a character that starts a comment line (``"#"``), or None.

    Returns:
        ``(header, rows, lines)``: the column names, the rows (lists of
        strings as long as the header) and each row's line number.

    Raises:
        ValueError: naming the file for an empty file, and the file and line
            for bytes that are not UTF-8, a malformed quote, or a row with
            more or fewer fields than the header.
    """
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    previous = 0  # the line the previous record ended on
    try:
        for fields in reader:
            start, previous = previous + 1, reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if comment is not None and fields[0].lstrip().startswith(comment):
                continue
            if header is None:
                header = [f.strip() for f in fields]
                header_line = start
                continue
            if len(fields) != len(header):
                hint = ""
                if len(fields) > len(header) and _looks_like_split_number(fields):
                    hint = " (a number written with a thousands separator, like 1,004.50, must be quoted)"
                raise ValueError(
                    f"{path}:{start}: {len(fields)} fields {fields[:8]!r}; expected {len(header)} like the "
                    f"header on line {header_line} {header!r}{hint}."
                )
            rows.append(fields)
            lines.append(start)
    except csv.Error as err:
        raise ValueError(
            f"{path}:{reader.line_num}: not readable as CSV ({err}); expected {expected}."
        ) from None
    if header is None:
        raise ValueError(f"{path}: the file is empty; expected {expected}.")
    return header, rows, lines


def csv_frame(header: list[str], rows: list[list[str]]):
    """A ``pandas.DataFrame`` of :func:`read_csv_rows`' rows, typed as ``pandas.read_csv`` would.

    A missing-value marker (:data:`NA_MARKERS`, e.g. an empty cell) is NaN;
    a column whose other cells are all numbers is numeric (int64 when it can
    be), any other column keeps its text.
    """
    import pandas as pd

    names: list[str] = []
    for name in header:  # a repeated name gets ".1", ".2" as in pandas.read_csv
        unique, k = name, 0
        while unique in names:
            k += 1
            unique = f"{name}.{k}"
        names.append(unique)
    columns = {}
    for j, name in enumerate(names):
        cells = pd.Series([None if row[j].strip() in NA_MARKERS else row[j] for row in rows], dtype=object)
        try:
            columns[name] = pd.to_numeric(cells.str.strip())
        except (ValueError, TypeError):
            columns[name] = cells.astype("str").where(cells.notna())
    return pd.DataFrame(columns, columns=names)
