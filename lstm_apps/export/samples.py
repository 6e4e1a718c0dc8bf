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


def save_sample_inputs(path: str | os.PathLike, sample_inputs) -> bool:
    """Save numeric sample inputs as ``.npz`` (``x_0, x_1, ...``), atomically.

    Args:
        path: the ``.npz`` file.
        sample_inputs: an array or a list of arrays (one per model input);
            the first :data:`MAX_SAMPLES` sequences are kept.

    Returns:
        ``True`` when written, ``False`` when an input is not numeric (e.g.
        raw strings), in which case nothing is written.

    Example:

    >>> save_sample_inputs(run.file("sample_inputs.npz"), x_val[:16])
    True
    """
    xs = as_input_list(sample_inputs)
    if any(v.dtype.kind not in "biuf" for v in xs):
        return False
    with _io.atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{f"x_{i}": v[:MAX_SAMPLES] for i, v in enumerate(xs)})
    return True


def load_sample_inputs(path: str | os.PathLike) -> list[np.ndarray]:
    """The inputs saved by :func:`save_sample_inputs`, in order."""
    with np.load(path, allow_pickle=False) as data:
        return [data[f"x_{i}"] for i in range(len(data.files))]
