"""Packaging: the core install and the ``recipes`` extra, and recipes run from an installed wheel.

The core install (``pip install lstm-apps``) must serve :mod:`lstm_apps.layers`
and :mod:`lstm_apps.export` without any library of the ``recipes`` extra; a
recipe run without them stops at once with the install command. A wheel
carries the recipe scripts and their bundled data.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT
from test_imports import import_graph, module_paths

from lstm_apps.extras import RECIPE_LIBRARIES

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: import name -> distribution of the core dependencies.
CORE_LIBRARIES = {
    "tensorflow": "tensorflow",
    "keras": "keras",
    "numpy": "numpy",
    "ai_edge_litert": "ai-edge-litert",
}


def _names(requirements) -> set[str]:
    return {re.match(r"[A-Za-z0-9_.\-]+(\[[^\]]*\])?", r).group(0).lower() for r in requirements}


def _third_party_imports(paths) -> dict[str, set[str]]:
    """``{top-level module: files importing it}`` over ``paths``, imports at any depth, stdlib left out."""
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("lstm_apps", "__future__"):
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_extras_match_pyproject():
    project = PYPROJECT["project"]
    core = _names(project["dependencies"])
    assert core == {d.lower() for d in CORE_LIBRARIES.values()}
    extras = project["optional-dependencies"]
    assert _names(extras["recipes"]) == {d.lower() for d in RECIPE_LIBRARIES.values()}
    assert "lstm-apps[recipes]" in _names(extras["test"])  # the test extra runs the whole suite


def test_every_imported_library_is_declared():
    # the backends extra (jax, torch) is imported only on its own Keras backend
    backends = _names(PYPROJECT["project"]["optional-dependencies"]["backends"])
    declared = set(CORE_LIBRARIES) | set(RECIPE_LIBRARIES) | backends
    imports = _third_party_imports([*(ROOT / "lstm_apps").rglob("*.py"), *(ROOT / "recipes").glob("*.py")])
    undeclared = {name: sorted(files) for name, files in imports.items() if name not in declared}
    assert not undeclared, f"imported but in no dependency list of pyproject.toml: {undeclared}"


#: recipes-extra libraries a module of the core may import in a function the core never calls.
CORE_EXEMPT = {
    "lstm_apps/io.py": {"matplotlib"},  # save_figure: plots are the recipes'
    "lstm_apps/layers/kernels/lstm1997_jax.py": {"jax"},  # imported only on the JAX backend
}


def test_the_layers_and_export_import_only_core_libraries():
    """Every module :mod:`lstm_apps.layers` or an export module reaches, at any depth, uses core libraries."""
    graph, paths = import_graph(), module_paths(ROOT, "lstm_apps")
    todo, reached = ["lstm_apps.layers", *(m for m in paths if m.startswith("lstm_apps.export"))], set()
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph.get(module, ()))
    assert {"lstm_apps.layers.lstm1997", "lstm_apps.export.tflite"} <= reached
    imports = _third_party_imports([paths[m] for m in reached])
    domain = {
        name: sorted(f for f in files if name not in CORE_EXEMPT.get(f, ()))
        for name, files in imports.items()
        if name not in CORE_LIBRARIES
    }
    assert not {k: v for k, v in domain.items() if v}, f"the core imports recipes-extra libraries: {domain}"


# A core install simulated in a fresh process: ``sys.modules[name] = None`` makes every import of a
# library of the recipes extra fail as if it were not installed, so any import of one by lstm_apps
# fails the script. (Looking at sys.modules after ``import lstm_apps.layers`` would not do: where they
# are installed, Keras and TensorFlow import pandas, scikit-learn, scipy and matplotlib themselves.)
CORE_ONLY = """
import json, sys
from lstm_apps.extras import RECIPE_LIBRARIES
for name in RECIPE_LIBRARIES:
    sys.modules[name] = None

import numpy as np
import keras
import lstm_apps, lstm_apps.layers, lstm_apps.export, lstm_apps.cli
from lstm_apps.layers import LSTM1997, recurrent

layers = [LSTM1997(4, return_sequences=True), recurrent("lstm", 3), keras.layers.Dense(1)]
model = keras.Sequential([keras.Input((5, 2)), *layers])
y = model.predict(np.ones((2, 5, 2), "float32"), verbose=0)

from lstm_apps.extras import MissingExtraError, missing_recipe_libraries
from lstm_apps.training import recipe_parser, start_run
try:
    start_run("demo", recipe_parser("demo").parse_args(["--quick", "--runs-dir", sys.argv[1]]))
    refused = ""
except MissingExtraError as exc:
    refused = str(exc)
code = lstm_apps.cli.main(["run", "volatility", "--quick", "--runs-dir", sys.argv[1]])
print(json.dumps({"shape": list(y.shape), "missing": missing_recipe_libraries(), "refused": refused,
                  "run_code": code, "recipes": sorted(lstm_apps.cli.list_recipes())}))
"""


def _python(script, *args, cwd):
    proc = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def test_layers_and_cli_work_without_the_recipes_extra(tmp_path):
    result, stderr = _python(CORE_ONLY, tmp_path / "runs", cwd=tmp_path)
    assert result["shape"] == [2, 1]
    assert result["recipes"] == sorted(p.stem for p in (ROOT / "recipes").glob("*.py"))
    assert result["missing"] == list(RECIPE_LIBRARIES.values())
    assert 'pip install "lstm-apps[recipes]"' in result["refused"]
    assert not (tmp_path / "runs").exists()  # refused before anything was written
    assert result["run_code"] == 2
    assert "lstm-apps[recipes]" in stderr and "recipe 'volatility'" in stderr


def _venv_run(venv_dir, *command, cwd):
    """Run a command of the virtual environment, away from the checkout (no PYTHONPATH, cwd elsewhere)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LSTM_APPS_RECIPES")}
    env["PATH"] = f"{venv_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        [str(venv_dir / "bin" / command[0]), *command[1:]], capture_output=True, text=True, cwd=cwd, env=env
    )
    assert proc.returncode == 0, f"{command}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


# builds a wheel, installs it in a fresh virtual environment, trains a --quick recipe (1-3 minutes)
@pytest.mark.slow
def test_a_wheel_lists_and_runs_the_recipes_on_their_bundled_data(tmp_path):
    source = tmp_path / "source"  # a copy: building in the checkout would leave build/ and *.egg-info there
    for name in ("pyproject.toml", "setup.py", "README.md"):
        source.mkdir(exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for name in ("lstm_apps", "recipes", "data"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # The installed setuptools builds it when there is one (no download); otherwise pip fetches it.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", *isolation, "-w", str(dist)]
    subprocess.run(build, check=True, capture_output=True)
    (wheel,) = dist.glob("lstm_apps-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    recipes = sorted(p.stem for p in (ROOT / "recipes").glob("*.py"))
    assert {f"lstm_apps/_recipes/{r}.py" for r in recipes} <= names
    assert {f"lstm_apps/_data/{p.name}" for p in (ROOT / "data").iterdir()} <= names
    # A fresh environment that sees this interpreter's packages (--system-site-packages), so the
    # dependencies (TensorFlow alone is over 1 GB) are found installed, not downloaded: the install is
    # offline (--no-index) and pip still checks that the wheel's requirements, recipes extra included,
    # are met. The wheel's lstm_apps shadows any other install of it (the environment's own
    # site-packages come first); WHERE checks that.
    venv_dir = tmp_path / "venv"
    venv.create(venv_dir, system_site_packages=True, with_pip=True)
    _venv_run(venv_dir, "python", "-m", "pip", "install", "--no-index", f"{wheel}[recipes]", cwd=tmp_path)
    where = _venv_run(venv_dir, "python", "-c", WHERE, cwd=tmp_path)
    package, genome = json.loads(where.strip().splitlines()[-1])
    assert Path(package).is_relative_to(venv_dir) and Path(genome).is_relative_to(venv_dir)
    listed = _venv_run(venv_dir, "lstm-apps", "recipes", cwd=tmp_path)
    assert sorted(line.split()[0] for line in listed.splitlines() if line.strip()) == recipes
    _venv_run(venv_dir, "lstm-apps", "run", "nucleotide", "--quick", "--runs-dir", "runs", cwd=tmp_path)
    (metrics,) = (tmp_path / "runs" / "nucleotide").glob("*/metrics.json")
    assert json.loads(metrics.read_text())["test_bits_per_base_lstm"] > 0


WHERE = """
import json, lstm_apps
from lstm_apps.datasets.genome import default_genome_path
assert default_genome_path().is_file(), default_genome_path()
print(json.dumps([lstm_apps.__file__, str(default_genome_path())]))
"""
