"""Atomic file writes: every artifact is written to a temporary file beside its
destination and renamed into place, so an interrupted run never leaves a
half-written ``metrics.json`` or ``model.keras`` behind."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "atomic_path",
    "write_text",
    "write_json",
    "read_json",
    "to_jsonable",
    "save_figure",
    "save_keras_model",
    "save_keras_weights",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary name keeps the destination's suffix (Keras insists that a
    model file ends in ``.keras`` and a weights file in ``.weights.h5``). On
    an exception the temporary file is removed and ``path`` is left
    untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = (
        ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    )  # Keras insists on the whole of it
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name[: len(path.name) - len(suffix)]}.", suffix=f".tmp{suffix}", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def to_jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays, paths and non-finite floats to JSON values.

    NaN and infinities become ``None`` (JSON has no such numbers).
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "numpy"):  # a tensor
        return to_jsonable(np.asarray(value))
    return value


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a Matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


def save_keras_model(model, path: str | os.PathLike) -> Path:
    """Save a Keras model to a ``.keras`` file atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Model path must end in '.keras', received {str(path)!r}.")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def save_keras_weights(model, path: str | os.PathLike) -> Path:
    """Save a Keras model's weights to a ``.weights.h5`` file atomically."""
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise ValueError(f"Weights path must end in '.weights.h5', received {str(path)!r}.")
    with atomic_path(path) as tmp:
        model.save_weights(tmp, overwrite=True)
    return path
