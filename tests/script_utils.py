"""Import a recipe or benchmark script (they are files, not modules of the package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_script(relative_path: str):
    """The module of ``ROOT / relative_path``, executed afresh (e.g. ``"recipes/sentiment.py"``)."""
    path = ROOT / relative_path
    name = "script_" + path.with_suffix("").as_posix().replace("/", "_").replace(".", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
