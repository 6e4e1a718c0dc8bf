"""Render the results tables of README.md and docs/ from benchmarks/results/.

A figure lives in one place: the results file a benchmark wrote. The Markdown
pages quote it through marked blocks, and this script rewrites the content of
every block from the file, so a table can never drift from its numbers:

```markdown
<!-- results: sentiment.json at=glove col="LSTM={model.mean:.3f}" col="seeds won={model_wins}" -->
(this part is generated: everything between the two markers is replaced)
<!-- /results -->
```

Usage::

    python benchmarks/render_docs.py            # rewrite every stale block (atomically)
    python benchmarks/render_docs.py --check    # exit 1 and list the blocks that differ

By default it reads ``README.md`` and ``docs/**/*.md``; pass paths to choose.

The spec
--------
``<!-- results: FILE OPTION... -->``, options separated by spaces and quoted
like shell words when they hold spaces (the comment may span several lines):

- ``FILE``: a file under ``benchmarks/results/``. A ``.json`` file is read as
  JSON; a ``.md`` file as the list of its Markdown tables, each a list of rows
  keyed by the header (cells that read as numbers or ``True``/``False`` become
  numbers and booleans, ``—`` and empty cells ``None``).
- ``at=PATH``: the part of the file the table is drawn from (default: all of it).
- ``row=KEY`` or ``row=KEY=LABEL``, repeated: the rows, in order; ``KEY`` is a
  path below ``at`` (a dict key or a list index). Without ``row=``: every item
  of ``at`` (the values of a dict, the items of a list).
- ``col=HEADER=TEMPLATE``, repeated: the columns. Without ``col=``: every field
  of the first row, printed as it is.
- ``header="H1 | H2"`` with ``line="T1 | T2"``, repeated, instead of ``row``
  and ``col``: one table row per ``line``, its cells formatted against ``at``;
  for tables whose rows hold different fields (or come from several files).

A ``PATH`` is dotted (``model.mean``, ``results.0.val_chrf``); a key that holds
dots itself (``ema_0.999``) is matched whole. A ``TEMPLATE`` is text with
``{PATH}`` or ``{PATH:FORMAT}`` fields, ``FORMAT`` a Python format spec
(``.3f``, ``+.1f``, ``,``, ``.1%``); ``{@key}`` and ``{@label}`` give the row's
key and label, ``{OTHER.json#PATH}`` reads another results file, and ``{{``
``}}`` are literal braces. ``None`` prints as ``—``, booleans as yes/no; a
path that does not exist is an error naming it, unless it ends in ``?``
(``{length_penalty?:.1f}``: ``—`` where a row lacks the field).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BLOCK = re.compile(r"(<!-- results:(?P<spec>.*?)-->)(?P<body>.*?)(<!-- /results -->)", re.S)
MISSING = "—"


@dataclass
class Block:
    """One marked block of a page: where it is, its spec, and what it holds now."""

    path: Path
    line: int
    spec: str
    body: str
    rendered: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: <!-- results:{self.spec}-->"


def load_results(name: str, results_dir: Path, cache: dict | None = None) -> Any:
    """Read ``results_dir/name``: JSON as JSON, Markdown as its list of tables."""
    cache = {} if cache is None else cache
    if name not in cache:
        path = (results_dir / name).resolve()
        if not path.is_file():
            raise ValueError(f"results file {name!r} not found in {results_dir}")
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            cache[name] = json.loads(text)
        elif path.suffix == ".md":
            cache[name] = markdown_tables(text)
        else:
            raise ValueError(f"results file {name!r}: expected a .json or .md file")
    return cache[name]


def _cell_value(cell: str) -> Any:
    if cell in ("", MISSING):
        return None
    if cell in ("True", "False"):
        return cell == "True"
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            pass
    return cell


def markdown_tables(text: str) -> list[list[dict]]:
    """Every pipe table of a Markdown text, as lists of rows keyed by the header."""
    tables, lines = [], []
    for line in [*text.splitlines(), ""]:
        if line.strip().startswith("|"):
            lines.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if len(lines) >= 2:
            header = lines[0]
            tables.append([dict(zip(header, map(_cell_value, row))) for row in lines[2:]])
        lines = []
    return tables


def resolve(obj: Any, path: str, where: str = "") -> Any:
    """Follow a dotted ``path`` into ``obj``; a key with dots in it is matched whole."""
    if path == "":
        return obj
    parts = path.split(".")
    if isinstance(obj, dict):
        for n in range(len(parts), 0, -1):
            key = ".".join(parts[:n])
            if key in obj:
                return resolve(obj[key], ".".join(parts[n:]), f"{where}.{key}".lstrip("."))
        known = ", ".join(map(str, list(obj)[:30]))
        raise ValueError(f"no key {path!r} at {where or 'the top'}; it has: {known}")
    if isinstance(obj, list):
        try:
            item = obj[int(parts[0])]
        except (ValueError, IndexError):
            raise ValueError(
                f"{parts[0]!r} at {where or 'the top'} is not an index of a list of {len(obj)}"
            ) from None
        return resolve(item, ".".join(parts[1:]), f"{where}.{parts[0]}".lstrip("."))
    raise ValueError(f"cannot look up {path!r} in {type(obj).__name__} at {where or 'the top'}")


class _Formatter(string.Formatter):
    def __init__(self, record, key, label, results_dir, cache):
        self.record, self.key, self.label = record, key, label
        self.results_dir, self.cache = results_dir, cache

    def get_field(self, field_name, args, kwargs):
        if field_name == "@key":
            return self.key, field_name
        if field_name == "@label":
            return self.label, field_name
        optional = field_name.endswith("?")
        path = field_name.removesuffix("?")
        record, where = self.record, ""
        if "#" in path:
            where, path = path.split("#", 1)
            record = load_results(where, self.results_dir, self.cache)
        try:
            return resolve(record, path, where), field_name
        except ValueError:
            if optional:
                return None, field_name
            raise

    def format_field(self, value, format_spec):
        if value is None:
            return MISSING
        if isinstance(value, bool):
            return "yes" if value else "no"
        return format(value, format_spec).replace("|", r"\|")


def fill(template: str, record, results_dir: Path, cache: dict, key=None, label=None) -> str:
    """Format one template against a record (a ``|`` in a value is escaped for the table)."""
    return _Formatter(record, key, label, results_dir, cache).format(template)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _split_cells(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", text)]


def render_spec(spec: str, results_dir: Path = RESULTS, cache: dict | None = None) -> str:
    """The Markdown table a block's spec (the text after ``results:``) stands for."""
    cache = {} if cache is None else cache
    try:
        words = shlex.split(spec)
    except ValueError as err:
        raise ValueError(f"cannot parse the spec {spec.strip()!r}: {err}") from None
    if not words:
        raise ValueError("empty results spec: expected a file name, e.g. 'sentiment.json'")
    source, options = words[0], words[1:]
    at, rows, cols, header, lines = "", [], [], None, []
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or name not in ("at", "row", "col", "header", "line"):
            raise ValueError(
                f"unknown option {option!r} in {spec.strip()!r}: expected at=, row=, col=, header=, line="
            )
        if name == "at":
            at = value
        elif name == "row":
            key, _, label = value.partition("=")
            rows.append((key, label or None))
        elif name == "col":
            title, sep, template = value.partition("=")
            if not sep:
                raise ValueError(f"col={value!r}: expected col=HEADER=TEMPLATE")
            cols.append((title, template))
        elif name == "header":
            header = _split_cells(value)
        else:
            lines.append(value)
    base = resolve(load_results(source, results_dir, cache), at, source)
    if lines or header:
        if not (lines and header) or rows or cols:
            raise ValueError(f"{spec.strip()!r}: header= goes with line= (and neither with row= or col=)")
        body = [[fill(t, base, results_dir, cache) for t in _split_cells(line)] for line in lines]
        for cells in body:
            if len(cells) != len(header):
                raise ValueError(
                    f"a line= of {spec.strip()!r} has {len(cells)} cells, the header {len(header)}"
                )
        return _table(header, body)
    if rows:
        records = [(key, label, resolve(base, key, f"{source}:{at}")) for key, label in rows]
    elif isinstance(base, dict):
        records = [(key, None, value) for key, value in base.items()]
    elif isinstance(base, list):
        records = [(str(i), None, value) for i, value in enumerate(base)]
    else:
        raise ValueError(f"{source} at {at!r} is a {type(base).__name__}, not a dict or list of rows")
    if not records:
        raise ValueError(f"{spec.strip()!r} selects no rows")
    if not cols:
        first = records[0][2]
        if not isinstance(first, dict):
            raise ValueError(f"{spec.strip()!r}: rows are not records, so give col=HEADER=TEMPLATE")
        cols = [(field, "{" + field + "}") for field in first]
    body = [[fill(t, rec, results_dir, cache, key, label) for _, t in cols] for key, label, rec in records]
    return _table([title for title, _ in cols], body)


def render_text(
    text: str, path: Path | str = "<text>", results_dir: Path = RESULTS
) -> tuple[str, list[Block]]:
    """Rerender every block of a page; returns the new text and the blocks (with old and new bodies)."""
    blocks, cache = [], {}

    def replace(match):
        spec = match.group("spec")
        line = text.count("\n", 0, match.start()) + 1
        try:
            table = render_spec(spec, results_dir, cache)
        except ValueError as err:
            raise ValueError(f"{path}:{line}: {err}") from None
        body = "\n\n" + table + "\n\n"
        blocks.append(Block(Path(path), line, spec, match.group("body"), body))
        return match.group(1) + body + match.group(4)

    return BLOCK.sub(replace, text), blocks


def default_pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("**/*.md"))]


def stale_blocks(paths, results_dir: Path = RESULTS) -> list[Block]:
    """The blocks whose committed content differs from what their results file renders."""
    stale = []
    for path in paths:
        _, blocks = render_text(Path(path).read_text(encoding="utf-8"), path, results_dir)
        stale += [b for b in blocks if b.body != b.rendered]
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "pages", nargs="*", type=Path, help="Markdown files (default: README.md, docs/**/*.md)"
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a block is stale")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the results folder")
    args = parser.parse_args(argv)
    pages = args.pages or default_pages()
    try:
        if args.check:
            stale = stale_blocks(pages, args.results)
            for block in stale:
                print(f"stale: {block}")
            if stale:
                print(f"{len(stale)} block(s) differ: run python benchmarks/render_docs.py")
            return 1 if stale else 0
        from lstm_apps.io import write_text

        for path in pages:
            old = path.read_text(encoding="utf-8")
            new, blocks = render_text(old, path, args.results)
            if new != old:
                write_text(path, new)
                print(f"{path}: {sum(b.body != b.rendered for b in blocks)} block(s) rewritten")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
