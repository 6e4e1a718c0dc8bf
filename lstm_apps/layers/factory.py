"""``recurrent(kind, units)``: one flag swaps the recurrent layer of a recipe.

This module is the one list of kinds: it imports the layer modules and
registers each kind below; the layer modules know nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from lstm_apps.layers.adaptive_forget import AdaptiveForgetCell
from lstm_apps.layers.forgetting_curve import ForgettingCurveCell
from lstm_apps.layers.graybox import GrayBoxRNN
from lstm_apps.layers.lstm1997 import LSTM1997
from lstm_apps.layers.methylation import MethylationCell
from lstm_apps.layers.min_rnn import MinGRU, MinLSTM
from lstm_apps.layers.slstm import SLSTM

__all__ = ["recurrent", "register_recurrent_kind", "recurrent_kinds"]

_KINDS: dict[str, Callable[..., keras.layers.Layer]] = {}


def register_recurrent_kind(kind: str, builder: Callable[..., keras.layers.Layer]) -> None:
    """Make ``recurrent(kind, units, **kwargs)`` call ``builder(units, **kwargs)``.

    Args:
        kind: the name ``recurrent`` (and a recipe's ``--cell`` flag) accepts;
            registering an existing kind replaces its builder.
        builder: ``builder(units, **kwargs)`` returning a Keras recurrent layer.

    Example:

    ```python
    register_recurrent_kind("wide_gru", lambda units, **kw: keras.layers.GRU(2 * units, **kw))
    layer = recurrent("wide_gru", 8)  # a GRU of 16 units
    ```
    """
    _KINDS[kind] = builder


def recurrent_kinds() -> tuple[str, ...]:
    """The kinds :func:`recurrent` accepts, in the order they were registered."""
    return tuple(_KINDS)


def recurrent(kind: str, units: int, **kwargs) -> keras.layers.Layer:
    """Return a ready recurrent layer of the given kind.

    Args:
        kind: ``"lstm"`` (``keras.layers.LSTM``), ``"gru"``
            (``keras.layers.GRU``), ``"simple_rnn"``
            (``keras.layers.SimpleRNN``), ``"lstm1997"``
            (:class:`~lstm_apps.layers.LSTM1997`), a gray-box cell in a
            :class:`~lstm_apps.layers.GrayBoxRNN` (its fused loop): ``"adaptive_forget"``
            (:class:`~lstm_apps.layers.AdaptiveForgetCell`),
            ``"forgetting_curve"``
            (:class:`~lstm_apps.layers.ForgettingCurveCell`),
            ``"methylation"`` (:class:`~lstm_apps.layers.MethylationCell`),
            the modern cells ``"min_gru"`` (:class:`~lstm_apps.layers.MinGRU`),
            ``"min_lstm"`` (:class:`~lstm_apps.layers.MinLSTM`) and ``"slstm"``
            (:class:`~lstm_apps.layers.SLSTM`), or a kind added with :func:`register_recurrent_kind`.
        units: number of units.
        **kwargs: passed to the layer (``return_sequences``, ``name``, ...).
            For a gray-box kind they go to the ``GrayBoxRNN``, except
            the cell's own options of ``"adaptive_forget"``
            (``return_index``, ``shared_forget``, ``a_init``, ``b_init``,
            ``recurrent_forget``, ``kernel_initializer``,
            ``recurrent_initializer``), which go to its cell.

    Returns:
        A Keras recurrent layer (not yet built).

    Example:

    >>> layer = recurrent("gru", 8, return_sequences=True)
    """
    if kind not in _KINDS:
        raise ValueError(f"Unknown recurrent kind {kind!r}; expected one of {sorted(_KINDS)}.")
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"units must be a positive integer, received {units!r}.")
    return _KINDS[kind](units, **kwargs)


def _cell_in_rnn(cell_class, cell_args=()):
    """A builder of ``GrayBoxRNN(cell_class(units, **cell options), **rnn options)``,
    the keyword arguments named in ``cell_args`` going to the cell."""

    def build(units, **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cell_args}
        return GrayBoxRNN(cell_class(units, **cell_kwargs), **kwargs)

    return build


_ADAPTIVE_FORGET_CELL_ARGS = (
    "return_index",
    "shared_forget",
    "a_init",
    "b_init",
    "recurrent_forget",
    "kernel_initializer",
    "recurrent_initializer",
)

register_recurrent_kind("lstm", lambda units, **kw: keras.layers.LSTM(units, **kw))
register_recurrent_kind("gru", lambda units, **kw: keras.layers.GRU(units, **kw))
register_recurrent_kind("simple_rnn", lambda units, **kw: keras.layers.SimpleRNN(units, **kw))
register_recurrent_kind("lstm1997", lambda units, **kw: LSTM1997(units, **kw))
register_recurrent_kind("adaptive_forget", _cell_in_rnn(AdaptiveForgetCell, _ADAPTIVE_FORGET_CELL_ARGS))
register_recurrent_kind("forgetting_curve", _cell_in_rnn(ForgettingCurveCell))
register_recurrent_kind("methylation", _cell_in_rnn(MethylationCell))
register_recurrent_kind("min_gru", lambda units, **kw: MinGRU(units, **kw))
register_recurrent_kind("min_lstm", lambda units, **kw: MinLSTM(units, **kw))
register_recurrent_kind("slstm", lambda units, **kw: SLSTM(units, **kw))
