"""Download a file whose SHA-256 is pinned, into ``~/.keras/lstm_apps`` (or ``cache_dir``)."""

from __future__ import annotations

import os
from pathlib import Path


def fetch_pinned(
    fname: str, origin: str, sha256: str, cache_dir: str | os.PathLike | None, what: str, offline_hint: str
) -> Path:
    """``keras.utils.get_file`` with a checked hash; a failed download is a ``ValueError``.

    Args:
        fname, origin, sha256: the cached file name, its URL and its SHA-256.
        cache_dir: the cache folder (created when missing, since Keras
            otherwise falls back to ``/tmp/.keras``); ``None`` for Keras's
            default ``~/.keras``.
        what: what is downloaded, for the error message.
        offline_hint: how to get the file without this machine's network.
    """
    import keras

    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    try:
        return Path(
            keras.utils.get_file(
                fname,
                origin=origin,
                file_hash=sha256,
                cache_dir=None if cache_dir is None else str(cache_dir),
                cache_subdir="lstm_apps",
            )
        )
    except Exception as exc:  # urllib errors are re-raised by Keras as plain Exceptions
        raise ValueError(
            f"Could not download {what} from {origin} ({exc}). Check the network connection, or "
            f"{offline_hint}"
        ) from exc
