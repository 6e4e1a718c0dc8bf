""":class:`CellRNN`, the ``keras.layers.RNN`` base of the layers built around one cell class
(:class:`~lstm_apps.layers.LSTM1997`, :class:`~lstm_apps.layers.SLSTM`,
:class:`~lstm_apps.layers.MinGRU`, :class:`~lstm_apps.layers.MinLSTM`)."""

from __future__ import annotations

import inspect
from typing import ClassVar

import keras

from lstm_apps.layers._common import check_bool

__all__ = ["CellRNN", "RNN_ARGUMENTS"]

#: The ``keras.layers.RNN`` arguments a :class:`CellRNN` names in its signature, in this order.
RNN_ARGUMENTS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "zero_output_for_mask",
)

_NAMED = inspect.Parameter.POSITIONAL_OR_KEYWORD


class CellRNN(keras.layers.RNN):
    """A ``keras.layers.RNN`` around one cell class, taking the cell's arguments as its own (not registered).

    A subclass names its cell class and its own switches; what every such
    layer shares is written here once:

    * the constructor: the cell's named arguments (in the cell's order, with
      its defaults), then the ``keras.layers.RNN`` arguments of
      ``rnn_arguments``, then ``**kwargs`` (``name``, ``dtype``, ...); the
      layer's boolean ``switches`` stand after the argument ``switches_after``
      (after the RNN arguments when it is ``None``). ``inspect.signature``
      shows the whole list and positional calls bind as to a written-out
      ``__init__``. The cell is built from its arguments with the layer's
      ``dtype`` and ``trainable`` and the name ``cell_name``;
    * every cell argument, and each name of ``cell_properties``, as a
      read-only property of the layer that reads the cell's attribute (as
      ``keras.layers.LSTM`` has ``layer.units``);
    * the check that inputs are 3-D (a ``ValueError`` naming the shape);
    * ``get_config``: the RNN's config without ``"cell"``, the cell's without
      its ``name``, ``trainable`` and ``dtype``, and the switches; so
      ``from_config`` (``cls(**config)``) and ``.keras`` files round-trip.

    Class attributes of a subclass:
        cell_class: the cell's class; its constructor's named arguments are the layer's.
        cell_name: the cell's name inside the layer.
        switches: the layer's own boolean options and their defaults, in
            signature order; each is stored on the layer as
            :meth:`check_switch` returns it.
        switches_after: the cell argument the switches follow (``None``:
            after the RNN arguments).
        rnn_arguments: the ``keras.layers.RNN`` arguments named in the
            signature (those of ``RNN_ARGUMENTS`` not named pass through ``**kwargs``).
        cell_properties: cell attributes forwarded besides its arguments.

    Example:

    ```python
    @keras.saving.register_keras_serializable(package="lstm_apps")
    class SLSTM(CellRNN):
        cell_class = SLSTMCell
        cell_name = "slstm_cell"
        switches = {"fused": True}

    layer = SLSTM(8, 2, return_sequences=True)   # units=8, num_heads=2 (SLSTMCell's order)
    layer.num_heads                              # 2, read from layer.cell
    ```
    """

    cell_class: ClassVar[type[keras.layers.Layer]]
    cell_name: ClassVar[str]
    switches: ClassVar[dict[str, bool]] = {}
    switches_after: ClassVar[str | None] = None
    rnn_arguments: ClassVar[tuple[str, ...]] = RNN_ARGUMENTS
    cell_properties: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "cell_class" not in cls.__dict__:  # a base of several layers (min_rnn's _MinRNN)
            return
        cell_arguments = [
            p
            for p in list(inspect.signature(cls.cell_class.__init__).parameters.values())[1:]
            if p.kind is _NAMED
        ]
        signature = _signature(cls, cell_arguments)

        def __init__(self, *args, **kwargs):
            self._init_from(signature.bind(self, *args, **kwargs))

        __init__.__signature__ = signature
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        __init__.__module__ = cls.__module__
        cls.__init__ = __init__
        for name in (*(p.name for p in cell_arguments), *cls.cell_properties):
            if name not in cls.__dict__:
                setattr(cls, name, _cell_property(name))

    def _init_from(self, bound: inspect.BoundArguments) -> None:
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        del arguments["self"]
        kwargs = arguments.pop("kwargs")
        for name in self.switches:
            setattr(self, name, self.check_switch(name, arguments.pop(name)))
        rnn = {name: arguments.pop(name) for name in self.rnn_arguments}
        cell = self.cell_class(
            **arguments,
            dtype=kwargs.get("dtype", None),
            trainable=kwargs.get("trainable", True),
            name=self.cell_name,
        )
        super().__init__(cell, **rnn, **kwargs)

    @staticmethod
    def check_switch(name: str, value) -> bool:
        """A switch's value as a bool; anything but True or False is a ``ValueError`` naming it."""
        return check_bool(name, value)

    def _check_rank(self, shape):
        if shape is None or len(shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects 3-D inputs (batch, timesteps, features), "
                f"received a tensor of shape {tuple(shape) if shape is not None else None}."
            )

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_rank(sequences_shape)
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        self._check_rank(sequences.shape)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def get_config(self):
        config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            config.pop(key, None)
        base = super().get_config()
        base.pop("cell", None)
        return {**base, **config, **{name: getattr(self, name) for name in self.switches}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _signature(cls: type[CellRNN], cell_arguments: list[inspect.Parameter]) -> inspect.Signature:
    """``(self, <cell arguments>, <RNN arguments>, **kwargs)`` with the switches in their place."""
    switches = [inspect.Parameter(n, _NAMED, default=d, annotation="bool") for n, d in cls.switches.items()]
    rnn = [inspect.Parameter(n, _NAMED, default=False, annotation="bool") for n in cls.rnn_arguments]
    if cls.switches_after is None:
        named = cell_arguments + rnn + switches
    else:
        names = [p.name for p in cell_arguments]
        if cls.switches_after not in names:
            raise ValueError(
                f"{cls.__name__}.switches_after must name an argument of {cls.cell_class.__name__} "
                f"({names}), received {cls.switches_after!r}."
            )
        at = names.index(cls.switches_after) + 1
        named = cell_arguments[:at] + switches + cell_arguments[at:] + rnn
    var_keyword = inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)
    return inspect.Signature([inspect.Parameter("self", _NAMED), *named, var_keyword])


def _cell_property(name: str) -> property:
    return property(
        lambda self: getattr(self.cell, name),
        doc=f"The cell's ``{name}`` (read-only; the cell's docstring says what it means).",
    )
