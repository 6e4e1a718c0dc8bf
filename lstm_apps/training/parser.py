"""The flags every recipe shares, and ``argparse`` validators for a recipe's own flags.

:func:`recipe_parser` returns an ``ArgumentParser`` with one group, "common
recipe options"; a recipe adds its own group for its domain flags and gives
them one of the validators below as ``type=``, so that a bad value is refused
with the flag's name, the value and what was expected::

    nucleotide.py: error: argument --window: expected a positive integer, received '0'
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "recipe_parser",
    "positive_int",
    "non_negative_int",
    "positive_float",
    "non_negative_float",
    "fraction",
    "existing_file",
    "DISTRIBUTE_CHOICES",
]

DISTRIBUTE_CHOICES = ("none", "mirrored", "multiworker")


class BadDefaultError(ValueError, argparse.ArgumentTypeError):
    """A bad default given to :func:`recipe_parser` (a ``ValueError``, and the validators' error type)."""


def _int(text, expected: str) -> int:
    try:
        if isinstance(text, bool):
            raise ValueError
        value = int(text) if not isinstance(text, float) or text.is_integer() else None
        if value is None:
            raise ValueError
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {expected}, received {str(text)!r}") from None
    return value


def _float(text, expected: str) -> float:
    try:
        if isinstance(text, bool):
            raise ValueError
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {expected}, received {str(text)!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, received {str(text)!r}")
    return value


def positive_int(text) -> int:
    """``argparse`` type: an integer ``>= 1``.

    Args:
        text: the flag's value as given on the command line.

    Returns:
        The integer.

    Raises:
        argparse.ArgumentTypeError: "expected a positive integer, received '0'".

    Example:

    >>> parser.add_argument("--window", type=positive_int, default=64)
    """
    value = _int(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {str(text)!r}")
    return value


def non_negative_int(text) -> int:
    """``argparse`` type: an integer ``>= 0`` (see :func:`positive_int`)."""
    value = _int(text, "a non-negative integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, received {str(text)!r}")
    return value


def positive_float(text) -> float:
    """``argparse`` type: a finite number ``> 0`` (NaN and infinities are refused)."""
    value = _float(text, "a positive finite number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, received {str(text)!r}")
    return value


def non_negative_float(text) -> float:
    """``argparse`` type: a finite number ``>= 0`` (NaN and infinities are refused)."""
    value = _float(text, "a non-negative finite number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative finite number, received {str(text)!r}")
    return value


def fraction(text) -> float:
    """``argparse`` type: a number ``x`` with ``0 <= x < 1`` (a dropout rate, a split share)."""
    value = _float(text, "a fraction in [0, 1)")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), received {str(text)!r}")
    return value


def existing_file(text) -> Path:
    """``argparse`` type: the path of an existing file, returned as a ``Path``."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"expected an existing file, received {str(text)!r}")
    return path


def recipe_parser(
    recipe: str,
    description: str | None = None,
    *,
    epochs: int | None = 10,
    quick_epochs: int = 1,
    cell: str | None = "lstm1997",
    cells: Sequence[str] | None = None,
    batch_size: int | None = 32,
    seed: int = 0,
    learning_rate: float | None = 1e-3,
) -> argparse.ArgumentParser:
    """Return an ``ArgumentParser`` holding the flags shared by every recipe.

    The group "common recipe options" holds ``--quick``, ``--seed``,
    ``--epochs``, ``--batch-size``, ``--cell``, ``--learning-rate``,
    ``--runs-dir``, ``--resume [RUN_DIR]``, ``--continue-from RUN_DIR``,
    ``--verbose``, ``--distribute``,
    ``--export``, ``--max-minutes``, ``--max-cpu-minutes`` and ``--debug``.
    ``--max-minutes``/``--max-cpu-minutes`` bound the training time of the run
    (wall clock / process CPU), summed over all of its ``run.fit`` calls and
    carried across ``--resume``; a recipe that wants a default limit sets it
    with ``parser.set_defaults(max_minutes=...)``.

    Args:
        recipe: the recipe's name (the run folder's parent, the program name).
        description: shown by ``--help``; recipes pass their module docstring.
        epochs: default ``--epochs``; ``None``: the recipe decides (e.g. from
            a budget of training sequences).
        quick_epochs: epochs used by ``--quick`` unless ``--epochs`` is given.
        cell: default ``--cell``; ``None`` leaves the ``--cell`` flag out (for a
            recipe whose model is not built from the layer registry).
        cells: allowed ``--cell`` values; default every kind of the layer
            registry (:func:`lstm_apps.layers.recurrent_kinds`).
        batch_size: default ``--batch-size``; ``None``: the recipe's choice (e.g. per task).
        seed: default ``--seed``.
        learning_rate: default ``--learning-rate``; ``None``: the recipe's
            choice (e.g. per task).

    Returns:
        The parser; ``parse_args`` gives the namespace :func:`start_run` takes.

    Example:

    >>> parser = recipe_parser("demo", __doc__, epochs=20, cell="lstm")
    >>> group = parser.add_argument_group("demo options")
    >>> group.add_argument("--units", type=positive_int, default=32)
    >>> args = parser.parse_args(["--quick"])
    """
    if cell is not None:
        if cells is None:
            from lstm_apps.layers import recurrent_kinds

            cells = recurrent_kinds()
        cells = list(cells)
        if cell not in cells:
            raise ValueError(f"cell must be one of {cells}, received {cell!r}.")
    for name, value, check in (
        ("epochs", epochs, positive_int),
        ("quick_epochs", quick_epochs, positive_int),
        ("batch_size", batch_size, positive_int),
        ("learning_rate", learning_rate, positive_float),
    ):
        if value is None and name != "quick_epochs":
            continue  # the recipe's choice
        try:
            check(value)
        except argparse.ArgumentTypeError as exc:
            raise BadDefaultError(f"recipe_parser: {name} {exc}.") from None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BadDefaultError(f"recipe_parser: seed must be an integer, received {seed!r}.")
    parser = argparse.ArgumentParser(
        prog=f"{recipe}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(recipe=recipe, _default_epochs=epochs, _quick_epochs=quick_epochs)
    g = parser.add_argument_group("common recipe options")
    g.add_argument(
        "--quick",
        action="store_true",
        help="a seconds-long run on a small slice (for tests and smoke checks)",
    )
    g.add_argument("--seed", type=int, default=seed, help="random seed (default %(default)s)")
    g.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help=f"training epochs (default {epochs}; {quick_epochs} with --quick)"
        if epochs is not None
        else "training epochs (default: the recipe's choice)",
    )
    g.add_argument(
        "--batch-size",
        type=positive_int,
        default=batch_size,
        help="batch size (default %(default)s)"
        if batch_size is not None
        else "batch size (default: the recipe's choice)",
    )
    if cell is not None:
        g.add_argument("--cell", choices=cells, default=cell, help="recurrent cell (default %(default)s)")
    g.add_argument(
        "--learning-rate",
        type=positive_float,
        default=learning_rate,
        help="the optimizer's learning rate (default %(default)g)"
        if learning_rate is not None
        else "the optimizer's learning rate (default: the recipe's choice)",
    )
    g.add_argument("--runs-dir", default="runs", help="parent folder of the run folders (default runs/)")
    again = g.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="RUN_DIR",
        help="continue an interrupted run in its folder (RUN_DIR, or the latest interrupted one of this "
        "recipe whose process is gone); give the run's own flags again. A finished run is refused",
    )
    again.add_argument(
        "--continue-from",
        default=None,
        metavar="RUN_DIR",
        help="train a finished run further, into a new folder that names it: each fit restarts from "
        "the run's last state and trains up to --epochs (the total); give the run's own flags again",
    )
    g.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="Keras verbosity (default 1, 0 with --quick)",
    )
    g.add_argument(
        "--distribute",
        choices=DISTRIBUTE_CHOICES,
        default="none",
        help="none; mirrored (tf.distribute.MirroredStrategy over local devices); "
        "multiworker (MultiWorkerMirroredStrategy configured from TF_CONFIG)",
    )
    g.add_argument(
        "--export",
        action="store_true",
        help="also write the LiteRT (.tflite) form of the trained model (lstm_apps.export) and its "
        "parity against Keras into metrics.json",
    )
    g.add_argument(
        "--max-minutes",
        type=non_negative_float,
        default=None,
        metavar="MINUTES",
        help="stop training once this many wall-clock minutes of training are spent, summed over the "
        "run's fits and across --resume (default %(default)s; None = no limit)",
    )
    g.add_argument(
        "--max-cpu-minutes",
        type=non_negative_float,
        default=None,
        metavar="MINUTES",
        help="the same for the process's CPU time, all threads (default %(default)s; None = no limit)",
    )
    g.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error instead of one line"
    )
    return parser
