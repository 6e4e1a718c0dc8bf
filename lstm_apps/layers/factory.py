"""``recurrent(kind, units)``: one flag swaps the recurrent layer of a recipe."""

from __future__ import annotations

from collections.abc import Callable

import keras

__all__ = ["recurrent", "register_recurrent_kind", "recurrent_kinds"]

_KINDS: dict[str, Callable[..., keras.layers.Layer]] = {}


def register_recurrent_kind(kind: str, builder: Callable[..., keras.layers.Layer]) -> None:
    """Make ``recurrent(kind, units, **kwargs)`` call ``builder(units, **kwargs)``."""
    _KINDS[kind] = builder


def recurrent_kinds() -> tuple[str, ...]:
    """The kinds :func:`recurrent` accepts."""
    return tuple(_KINDS)


def recurrent(kind: str, units: int, **kwargs) -> keras.layers.Layer:
    """Return a ready recurrent layer of the given kind.

    Args:
        kind: ``"lstm1997"`` (:class:`~lstm_apps.layers.LSTM1997`), ``"lstm"``
            (``keras.layers.LSTM``), ``"gru"`` (``keras.layers.GRU``),
            ``"simple_rnn"`` (``keras.layers.SimpleRNN``), or a kind added
            with :func:`register_recurrent_kind`.
        units: number of units.
        **kwargs: passed to the layer (``return_sequences``, ``name``, ...).

    Example:

    >>> layer = recurrent("gru", 8, return_sequences=True)
    """
    if kind not in _KINDS:
        raise ValueError(f"Unknown recurrent kind {kind!r}; expected one of {sorted(_KINDS)}.")
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"units must be a positive integer, received {units!r}.")
    return _KINDS[kind](units, **kwargs)


register_recurrent_kind("lstm", lambda units, **kw: keras.layers.LSTM(units, **kw))
register_recurrent_kind("gru", lambda units, **kw: keras.layers.GRU(units, **kw))
register_recurrent_kind("simple_rnn", lambda units, **kw: keras.layers.SimpleRNN(units, **kw))
