"""The optional dependencies: what the ``recipes`` extra installs, and a clear error when it is missing.

The core install (``pip install lstm-apps``) is what :mod:`lstm_apps.layers` and
:mod:`lstm_apps.export` need: TensorFlow, Keras, NumPy and LiteRT. The recipes,
their harness (plots, history tables) and the domain modules (datasets,
baselines, metrics) also need the libraries of the ``recipes`` extra, listed in
:data:`RECIPE_LIBRARIES` (pyproject.toml lists the same distributions).
:func:`require_recipe_libraries` checks for all of them before a recipe run
starts (``start_run``), so a run never trains for minutes to fail at its first
plot; :func:`explain_missing` turns the ``ModuleNotFoundError`` of one of them
into a :class:`MissingExtraError` naming the extra to install.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = [
    "RECIPE_LIBRARIES",
    "RECIPES_INSTALL",
    "MissingExtraError",
    "missing_recipe_libraries",
    "require_recipe_libraries",
    "explain_missing",
]

#: import name -> distribution of every library of the ``recipes`` extra.
RECIPE_LIBRARIES = {
    "pandas": "pandas",
    "matplotlib": "matplotlib",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "statsmodels": "statsmodels",
    "arch": "arch",
    "yfinance": "yfinance",
    "sacrebleu": "sacrebleu",
    "vaderSentiment": "vaderSentiment",
    "Bio": "biopython",
}

#: the command that installs them.
RECIPES_INSTALL = 'pip install "lstm-apps[recipes]" (in a checkout: pip install -e ".[recipes]")'


class MissingExtraError(ImportError):
    """A library of the ``recipes`` extra is not installed; the message says how to install it."""


def missing_recipe_libraries() -> list[str]:
    """The distributions of :data:`RECIPE_LIBRARIES` that cannot be imported (none are imported).

    Returns:
        Their names (``["arch", "biopython"]``), in :data:`RECIPE_LIBRARIES` order; empty when all
        are installed.

    Example:

    >>> missing_recipe_libraries()
    []
    """
    return [dist for module, dist in RECIPE_LIBRARIES.items() if not _installed(module)]


def _installed(module: str) -> bool:
    # ``sys.modules[name] = None`` blocks an import (Python's own convention): count it as missing
    if module in sys.modules:
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None


def require_recipe_libraries(what: str = "the recipes") -> None:
    """Raise :class:`MissingExtraError` unless every library of the ``recipes`` extra is installed.

    Args:
        what: who needs them, for the message (``"recipe 'volatility'"``).

    Raises:
        MissingExtraError: the missing distributions and the install command are named.

    Example:

    >>> require_recipe_libraries("recipe 'counting'")  # returns None when all are installed
    """
    missing = missing_recipe_libraries()
    if missing:
        raise MissingExtraError(
            f"{what}: the recipes extra is not installed (missing: {', '.join(missing)}); "
            f"install it with {RECIPES_INSTALL}."
        )


def explain_missing(exc: BaseException, what: str = "this") -> MissingExtraError | None:
    """The :class:`MissingExtraError` for an import that failed for lack of a recipes library.

    Args:
        exc: the exception an import raised.
        what: who needed the library, for the message.

    Returns:
        A :class:`MissingExtraError` naming the library and the extra when
        ``exc`` is a ``ModuleNotFoundError`` of a module of
        :data:`RECIPE_LIBRARIES` (or of a submodule); ``None`` otherwise (raise
        ``exc`` itself then).

    Example:

    >>> try:
    ...     module = load_recipe("volatility")
    ... except ModuleNotFoundError as exc:
    ...     raise (explain_missing(exc, "recipe 'volatility'") or exc) from exc
    """
    if isinstance(exc, MissingExtraError):
        return exc
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.split(".")[0]
    if top not in RECIPE_LIBRARIES:
        return None
    return MissingExtraError(
        f"{what}: {RECIPE_LIBRARIES[top]} is not installed (import {exc.name!r} failed); it comes "
        f"with the recipes extra: {RECIPES_INSTALL}."
    )
