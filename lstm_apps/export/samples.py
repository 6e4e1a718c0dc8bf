"""A run folder's sample inputs: a few real input sequences kept beside the model.

``Run.save_model(model, sample_inputs=...)`` writes them as
``sample_inputs.npz`` (``x_0, x_1, ...``, one array per model input), so that
``lstm-apps export RUN_DIR --quantize int8`` calibrates and checks parity on
real data rather than random sequences.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lstm_apps import io as _io

__all__ = ["SAMPLE_FILE", "MAX_SAMPLES", "sample_file_name", "save_sample_inputs", "load_sample_inputs"]

SAMPLE_FILE = "sample_inputs.npz"
#: Sequences kept in a sample file at most.
MAX_SAMPLES = 64


def as_input_list(sample_inputs) -> list[np.ndarray]:
    """The inputs as a list of arrays (one per model input)."""
    xs = sample_inputs if isinstance(sample_inputs, (list, tuple)) else [sample_inputs]
    return [np.asarray(v) for v in xs]


def sample_file_name(model_stem: str) -> str:
    """``sample_inputs.npz`` for ``model.keras``, ``<stem>_sample_inputs.npz`` for another model file."""
    return SAMPLE_FILE if model_stem == "model" else f"{model_stem}_{SAMPLE_FILE}"


def _storable(v: np.ndarray) -> np.ndarray | None:
    """``v`` as an array ``np.load(allow_pickle=False)`` reads back: numbers, or text as unicode."""
    if v.dtype.kind in "biuf":
        return v
    if v.dtype.kind == "U":
        return v
    if v.dtype.kind in "OS" and all(isinstance(item, (str, bytes)) for item in v.ravel().tolist()):
        return np.vectorize(lambda t: t.decode("utf-8") if isinstance(t, bytes) else t, otypes=[str])(v)
    return None


def save_sample_inputs(path: str | os.PathLike, sample_inputs) -> bool:
    """Save sample inputs as ``.npz`` (``x_0, x_1, ...``), atomically.

    Numbers are kept as they are; text (strings or bytes, e.g. the raw
    reviews of a model holding its ``TextVectorization``) is kept as unicode
    arrays, so ``lstm-apps export`` can tokenize it with the model's own
    vocabulary.

    Args:
        path: the ``.npz`` file.
        sample_inputs: an array or a list of arrays (one per model input);
            the first :data:`MAX_SAMPLES` sequences are kept.

    Returns:
        ``True`` when written, ``False`` when an input is neither numbers nor
        text (e.g. Python objects), in which case nothing is written.

    Example:

    >>> save_sample_inputs(run.file("sample_inputs.npz"), x_val[:16])
    True
    """
    xs = [_storable(v) for v in as_input_list(sample_inputs)]
    if any(v is None for v in xs):
        return False
    with _io.atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{f"x_{i}": v[:MAX_SAMPLES] for i, v in enumerate(xs)})
    return True


def load_sample_inputs(path: str | os.PathLike) -> list[np.ndarray]:
    """The inputs saved by :func:`save_sample_inputs`, in order.

    Raises:
        ValueError: the file is not an ``.npz`` archive of arrays named
            ``x_0, x_1, ...`` (the file and what it holds are named).
    """
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(
                f"{str(path)!r} holds a single array, not an .npz archive of arrays x_0, x_1, ..."
            )
        with loaded as data:
            names = sorted(data.files)
            expected = [f"x_{i}" for i in range(len(names))]
            if sorted(expected) != names:
                raise ValueError(
                    f"{str(path)!r} must hold arrays named x_0, x_1, ... (one per model input), "
                    f"found {names}."
                )
            return [data[name] for name in expected]
    except (OSError, EOFError) as exc:
        raise ValueError(f"{str(path)!r} cannot be read as an .npz archive of arrays ({exc}).") from None
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        raise ValueError(f"{str(path)!r} cannot be read as an .npz archive of arrays ({exc}).") from None
