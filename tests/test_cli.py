"""The ``lstm-apps`` command line."""

import subprocess
import sys

from conftest import ROOT

from lstm_apps import cli

TOY = '''"""
Title: Toy
Author: tests
Description: a toy recipe that echoes its arguments.
"""
import json


def main(argv=None):
    print("argv=" + json.dumps(argv))
    return {"n_args": len(argv or [])}
'''


def test_recipes_and_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "toy.py").write_text(TOY)
    monkeypatch.setenv("LSTM_APPS_RECIPES", str(tmp_path))
    assert cli.main(["recipes"]) == 0
    assert "toy  a toy recipe that echoes its arguments." in capsys.readouterr().out
    assert cli.main(["run", "toy", "--quick", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert 'argv=["--quick", "--seed", "3"]' in out and '"n_args": 3' in out
    assert cli.main(["run", "nope"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err


def test_missing_recipes_folder_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LSTM_APPS_RECIPES", str(tmp_path / "absent"))
    assert cli.main(["recipes"]) == 2
    assert "recipes folder" in capsys.readouterr().err


def test_checkout_recipes_are_listed_by_the_installed_command():
    out = subprocess.run(
        [sys.executable, "-m", "lstm_apps.cli", "recipes"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert names == {p.stem for p in (ROOT / "recipes").glob("*.py") if not p.name.startswith("_")}
    assert names  # the checkout ships recipes


SCRIPT = '''"""A benchmark-like script with a dataclass (needs its module in sys.modules)."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Point:
    x: int = 0


def where():
    return Point(3)
'''


def test_load_recipe_loads_recipes_and_other_scripts_afresh(tmp_path, monkeypatch):
    import sys

    import pytest

    (tmp_path / "toy.py").write_text(TOY)
    monkeypatch.setenv("LSTM_APPS_RECIPES", str(tmp_path))
    toy = cli.load_recipe("toy")
    assert toy.main(["--quick"]) == {"n_args": 1} and sys.modules["lstm_apps_recipe_toy"] is toy
    assert cli.load_recipe("toy") is not toy  # executed afresh
    scripts = tmp_path / "bench"
    scripts.mkdir()
    (scripts / "points.py").write_text(SCRIPT)
    points = cli.load_recipe("points", folder=scripts)
    assert points.where().x == 3 and sys.modules[points.__name__] is points
    with pytest.raises(ValueError, match="no script 'nope' .* available: points"):
        cli.load_recipe("nope", folder=scripts)
    monkeypatch.delenv("LSTM_APPS_RECIPES")
    assert cli.load_recipe("cells", folder="benchmarks").__file__ == str(ROOT / "benchmarks" / "cells.py")
