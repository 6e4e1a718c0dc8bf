"""Where the recipe scripts and their bundled data are, in a checkout and in an installed wheel.

In a checkout (or an editable install) they are the checkout's ``recipes/``
and ``data/`` folders, the files users read and run. A wheel carries copies of
both as ``lstm_apps/_recipes`` and ``lstm_apps/_data`` (``setup.py`` maps the
folders there when the wheel is built), so ``lstm-apps recipes``,
``lstm-apps run NAME`` and the loaders of bundled data work from any install.
The packaged copy is preferred when it exists: in a checkout it never does, and
in ``site-packages`` a stray ``data/`` folder beside the package is not ours.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGE_DIR", "CHECKOUT_DIR", "bundled_dir", "data_file"]

#: the ``lstm_apps`` package folder.
PACKAGE_DIR = Path(__file__).resolve().parent
#: the folder holding ``lstm_apps/``: the checkout root, or ``site-packages`` for a wheel.
CHECKOUT_DIR = PACKAGE_DIR.parent

_KINDS = ("recipes", "data")


def bundled_dir(kind: str) -> Path:
    """The folder of the recipe scripts (``"recipes"``) or of the bundled data (``"data"``).

    Args:
        kind: ``"recipes"`` or ``"data"``.

    Returns:
        ``lstm_apps/_<kind>`` where a wheel installed it, else the checkout's
        ``<kind>/`` folder (which may not exist: callers say what is missing).

    Raises:
        ValueError: ``kind`` is neither ``"recipes"`` nor ``"data"``.

    Example:

    >>> sorted(p.name for p in bundled_dir("data").iterdir())
    ['ebbinghaus_1885.csv', 'ecoli_k12_w3110.fasta.gz']
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
    packaged = PACKAGE_DIR / f"_{kind}"
    return packaged if packaged.is_dir() else CHECKOUT_DIR / kind


def data_file(name: str) -> Path:
    """A file of the bundled data (``data/<name>`` of a checkout, ``lstm_apps/_data/<name>`` of a wheel).

    Args:
        name: the file's name, e.g. ``"ebbinghaus_1885.csv"``.

    Returns:
        Its path (existence is checked by the loader that reads it).

    Example:

    >>> data_file("ecoli_k12_w3110.fasta.gz").is_file()
    True
    """
    return bundled_dir("data") / name
