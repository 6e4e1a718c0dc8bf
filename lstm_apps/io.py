"""Atomic file writes: every artifact is written to a temporary file beside its
destination and renamed into place, so an interrupted run never leaves a
half-written ``metrics.json`` or ``model.keras`` behind.

Files get the permissions the process's umask allows (``0o666 & ~umask``, as
``open`` would give them: ``0o644`` with the usual umask ``022``), not the
``0o600`` of a bare ``tempfile.mkstemp``. :func:`load_keras_model` loads a
``.keras`` file made by this package in any process (it imports the modules
that register the package's layers first).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
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
    "load_keras_model",
    "current_umask",
]


def current_umask() -> int:
    """The process's file-mode creation mask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary name keeps the destination's suffix (Keras insists that a
    model file ends in ``.keras`` and a weights file in ``.weights.h5``). On
    an exception the temporary file is removed and ``path`` is left
    untouched. The file gets the mode a plain ``open`` would give it
    (``0o666 & ~umask``).
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
        if tmp_path.is_file():  # mkstemp made it 0o600 whatever the umask
            os.chmod(tmp_path, 0o666 & ~current_umask())
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


def _lstm_apps_modules(config: Any) -> set[str]:
    """The ``lstm_apps.*`` modules named by the ``"module"`` entries of a Keras config."""
    found: set[str] = set()
    if isinstance(config, dict):
        module = config.get("module")
        if isinstance(module, str) and (module == "lstm_apps" or module.startswith("lstm_apps.")):
            found.add(module)
        for value in config.values():
            found |= _lstm_apps_modules(value)
    elif isinstance(config, list):
        for value in config:
            found |= _lstm_apps_modules(value)
    return found


def load_keras_model(path: str | os.PathLike, **kwargs):
    """Load a ``.keras`` file saved by this package, in any process.

    Keras resolves a custom layer only through its registry, which is filled
    when the layer's module is imported, and it imports modules by name only
    for its own packages (``keras``, ``keras_hub``...). So in a process that has
    not imported ``lstm_apps.layers`` a plain ``keras.models.load_model`` fails.
    This function imports every ``lstm_apps`` module the file's
    ``config.json`` names (and ``lstm_apps.layers``, ``lstm_apps.losses``),
    then calls ``keras.models.load_model``.

    Args:
        path: the ``.keras`` file.
        **kwargs: passed to ``keras.models.load_model`` (``compile=False``...).

    Returns:
        The Keras model.

    Raises:
        ValueError: the file does not exist, is not a ``.keras`` archive, or
            names a class that cannot be found (the class and the file are
            named).
        lstm_apps.extras.MissingExtraError: a module the file needs imports a
            library of the ``recipes`` extra that is not installed.

    Example:

    >>> from lstm_apps.io import load_keras_model
    >>> model = load_keras_model("runs/adding/20250101-120000/model.keras")
    """
    import importlib
    import zipfile

    import keras

    from lstm_apps.extras import explain_missing

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file {str(path)!r} does not exist.")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a .keras model archive (a zip holding config.json): {exc}"
        ) from None
    for module in sorted(_lstm_apps_modules(config) | {"lstm_apps.layers", "lstm_apps.losses"}):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            explained = explain_missing(exc, f"loading {str(path)!r} (module {module})")
            if explained is not None:
                raise explained from exc
            raise ValueError(
                f"{str(path)!r} needs the module {module!r}, which cannot be imported "
                f"({exc}); is it from another version of lstm-apps?"
            ) from None
    try:
        return keras.models.load_model(path, **kwargs)
    except TypeError as exc:
        text = str(exc)
        missing = re.findall(r"Could not locate (?:class|function) '([^']+)'", text)
        if not missing:
            raise
        raise ValueError(
            f"{str(path)!r} uses {', '.join(sorted(set(missing)))}, which no imported module registers "
            "with keras.saving.register_keras_serializable; import the module defining it before "
            "loading."
        ) from exc
