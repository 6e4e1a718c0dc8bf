"""Import a recipe or benchmark script: a thin shim over ``lstm_apps.cli.load_recipe``.

Kept only until every test calls ``load_recipe`` itself; do not use it in new tests.
"""

from __future__ import annotations

from pathlib import Path

from lstm_apps.cli import load_recipe


def load_script(relative_path: str):
    """The module of ``relative_path`` in the checkout, executed afresh (e.g. ``"recipes/sentiment.py"``)."""
    path = Path(relative_path)
    folder = None if path.parent.as_posix() == "recipes" else path.parent.as_posix()
    return load_recipe(path.stem, folder=folder)
