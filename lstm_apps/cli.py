"""The ``lstm-apps`` command: list and run the recipes (of a checkout or of an installed wheel).

```
lstm-apps recipes                 # list the recipes with their descriptions
lstm-apps run NAME [ARGS ...]     # run recipes/NAME.py with ARGS (e.g. --quick)
lstm-apps export RUN_DIR_OR_MODEL.keras --mode streaming --quantize int8 -o model.tflite
```
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

from lstm_apps.extras import MissingExtraError, explain_missing
from lstm_apps.resources import CHECKOUT_DIR, bundled_dir

__all__ = ["main", "recipes_dir", "checkout_root", "list_recipes", "load_recipe", "register_command"]

_EXTRA_COMMANDS: dict = {}


def register_command(name: str, add_parser, handler) -> None:
    """Add a subcommand: ``add_parser(subparsers)`` builds it, ``handler(args)`` runs it."""
    _EXTRA_COMMANDS[name] = (add_parser, handler)


def recipes_dir() -> Path:
    """The recipe scripts: the checkout's ``recipes/``, or the copy a wheel installed.

    ``$LSTM_APPS_RECIPES`` overrides both (see :func:`lstm_apps.resources.bundled_dir`).
    """
    env = os.environ.get("LSTM_APPS_RECIPES")
    path = Path(env) if env else bundled_dir("recipes")
    if not path.is_dir():
        raise ValueError(
            f"recipes folder {str(path)!r} not found: install lstm-apps (pip install lstm-apps, or "
            "pip install -e . in a checkout) or set LSTM_APPS_RECIPES to the folder of the recipe scripts."
        )
    return path


def _description(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^Description:\s*(.+)$", text, re.M)
    if m:
        return m.group(1).strip()
    m = re.search(r'"""\s*(.+)', text)
    return m.group(1).strip() if m else ""


def list_recipes() -> dict[str, str]:
    """Map each recipe name to its one-line description."""
    return {p.stem: _description(p) for p in sorted(recipes_dir().glob("*.py")) if not p.name.startswith("_")}


def checkout_root() -> Path:
    """The checkout holding ``lstm_apps/``, ``recipes/`` and ``benchmarks/`` (a wheel: ``site-packages``)."""
    return CHECKOUT_DIR


def load_recipe(name: str, folder: str | os.PathLike | None = None):
    """Import ``recipes/<name>.py`` (or ``<folder>/<name>.py``) as a module, executed afresh.

    The one way tests and benchmarks load a recipe (or a benchmark script):
    no ``sys.path`` changes, no ``import <recipe>``. The module is registered
    in ``sys.modules`` as ``lstm_apps_recipe_<name>`` (``lstm_apps_script_<folder>_<name>``
    for another folder) while and after it runs, so dataclasses, pickling and
    ``inspect`` work in it; a second call replaces it with a fresh one.

    Args:
        name: the script's stem (``"translation"``).
        folder: ``None`` for the recipes folder (:func:`recipes_dir`), else a
            folder, relative ones against the checkout (``"benchmarks"``).

    Returns:
        The module.

    Raises:
        ValueError: no such script (the available ones are named).
        lstm_apps.extras.MissingExtraError: the script imports a library of
            the ``recipes`` extra that is not installed (the install command
            is named).

    Example:

    >>> recipe = load_recipe("translation")
    >>> metrics = recipe.main(["--quick", "--runs-dir", "/tmp/runs"])
    >>> bench = load_recipe("cells", folder="benchmarks")
    """
    if folder is None:
        available = list_recipes()
        if name not in available:
            raise ValueError(f"unknown recipe {name!r}; available: {', '.join(available) or 'none'}.")
        path = recipes_dir() / f"{name}.py"
        module_name = f"lstm_apps_recipe_{name}"
    else:
        base = Path(folder)
        base = base if base.is_absolute() else checkout_root() / base
        path = base / f"{name}.py"
        if not path.is_file():
            available = sorted(p.stem for p in base.glob("*.py")) if base.is_dir() else []
            raise ValueError(
                f"no script {name!r} in {str(base)!r}; available: {', '.join(available) or 'none'}."
            )
        module_name = "lstm_apps_script_" + re.sub(r"\W", "_", f"{base.name}_{name}")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(module_name, None)
        explained = explain_missing(exc, f"recipe {name!r}" if folder is None else f"script {str(path)!r}")
        if explained is not None and explained is not exc:
            raise explained from exc
        raise
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="lstm-apps", description="LSTM recipes, layers and export.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("recipes", help="list the recipes")
    run_p = sub.add_parser("run", help="run a recipe: lstm-apps run NAME [recipe args]")
    run_p.add_argument("name")
    run_p.add_argument("recipe_args", nargs=argparse.REMAINDER)
    from lstm_apps.export import command as _export_command  # light: TensorFlow loads only when it runs

    _EXTRA_COMMANDS.setdefault("export", (_export_command.add_parser, _export_command.handle))
    for _, (add_parser, _) in _EXTRA_COMMANDS.items():
        add_parser(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "recipes":
            recipes = list_recipes()
            width = max((len(n) for n in recipes), default=0)
            for name, desc in recipes.items():
                print(f"{name.ljust(width)}  {desc}")
            return 0
        if args.command == "run":
            from lstm_apps.training.run import failures_recorded

            module = load_recipe(args.name)
            with failures_recorded():  # a run that fails says why in its failed.json
                result = module.main(args.recipe_args)
            if isinstance(result, dict):
                print(
                    json.dumps(
                        {
                            k: v
                            for k, v in result.items()
                            if isinstance(v, (int, float, str, bool, type(None)))
                        },
                        indent=2,
                    )
                )
            return 0
        return _EXTRA_COMMANDS[args.command][1](args) or 0
    except (ValueError, MissingExtraError) as exc:
        print(f"lstm-apps: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
