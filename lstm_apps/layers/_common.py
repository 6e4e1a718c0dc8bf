"""Small helpers shared by the cells (:mod:`lstm1997_cell`, :mod:`min_rnn`, :mod:`slstm` ...): option
checks, the Keras weight options (initializers, regularizers, constraints) stored, used and written
to a config in one way, and a softplus that stays finite after TFLite conversion."""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence

import numpy as np
from keras import constraints, initializers, ops, regularizers

#: Above this a float32 ``log1p(exp(x))`` equals ``x`` to the last bit.
_SOFTPLUS_LINEAR = 20.0


def check_positive_int(name: str, value) -> int:
    """``value`` as an ``int``, or a ``ValueError`` naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, received {name}={value!r}.")
    return int(value)


def check_bool(name: str, value) -> bool:
    """``value`` when it is a bool, else a ``ValueError`` naming the option."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, received {name}={value!r}.")
    return bool(value)


def check_finite(name: str, value, length: int | None = None) -> float | list[float]:
    """A finite number, or (with ``length``) one finite number per unit.

    Returns a float for a number and a list of floats for a sequence; anything
    else (NaN, infinities, strings, a sequence of the wrong length) is a
    ``ValueError`` naming the option.
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be a finite number, received {name}={value!r}.")
        return float(value)
    if length is None or isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        expected = "a finite number" if length is None else f"a finite number or a list of {length}"
        raise ValueError(f"{name} must be {expected}, received {name}={value!r}.")
    try:
        values = [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numbers, received {name}={value!r}.") from None
    if len(values) != length:
        raise ValueError(
            f"{name} must be a number or a list of one value per unit ({length}), "
            f"received a list of length {len(values)}."
        )
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} must hold finite numbers, received {name}={value!r}.")
    return values


def finite_array(name: str, value) -> np.ndarray:
    """``value`` (a number or a sequence of numbers) as a float64 array of finite values.

    Strings, booleans, NaN and infinities are a ``ValueError`` naming the option.
    """
    flat = np.asarray(value, dtype=object).reshape(-1)
    if any(isinstance(v, (str, bytes, bool, np.bool_)) for v in flat):
        raise ValueError(
            f"{name} must be a finite number or a list of finite numbers, received {name}={value!r}."
        )
    try:
        arr = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a finite number or a list of finite numbers, received {name}={value!r}."
        ) from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, received {name}={value!r}.")
    return arr


#: How Keras makes and writes each kind of weight option, by the ending of its name.
_WEIGHT_OPTIONS = {"_initializer": initializers, "_regularizer": regularizers, "_constraint": constraints}


def _weight_option_module(name: str):
    return next((module for end, module in _WEIGHT_OPTIONS.items() if name.endswith(end)), None)


def store_weight_options(layer, arguments: dict) -> None:
    """Store the weight options among a constructor's arguments on ``layer``, as Keras objects.

    Every ``*_initializer``, ``*_regularizer`` and ``*_constraint`` of
    ``arguments`` becomes the attribute of that name, made by
    ``keras.initializers.get`` (``regularizers.get``, ``constraints.get``);
    other arguments are left alone.

    Args:
        layer: the cell being constructed.
        arguments: its constructor's arguments by name (``locals()`` in ``__init__``).

    Example:

    ```python
    def __init__(self, units, kernel_initializer="glorot_uniform", kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        store_weight_options(self, locals())   # self.kernel_initializer, self.kernel_regularizer
    ```
    """
    for name, value in arguments.items():
        module = _weight_option_module(name)
        if module is not None:
            setattr(layer, name, module.get(value))


def constructor_config(layer) -> dict:
    """The constructor arguments of ``layer``'s class, read back from its attributes of the same names.

    For cells that store every named constructor argument under its own
    name; the weight options are serialized as Keras serializes them, so
    ``type(layer)(**config)`` builds the same cell (a ``get_config`` is
    ``{**super().get_config(), **constructor_config(self)}``).

    Returns:
        A dict in the constructor's order, ``**kwargs`` (``name``, ``dtype``, ...) left out.
    """
    parameters = list(inspect.signature(type(layer).__init__).parameters.values())[1:]
    config = {}
    for parameter in parameters:
        if parameter.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            continue
        name = parameter.name
        module = _weight_option_module(name)
        value = getattr(layer, name)
        config[name] = value if module is None else module.serialize(value)
    return config


def add_option_weight(layer, name: str, shape, options: str | None = None, initializer=None):
    """``layer.add_weight`` with the layer's weight options for it.

    Args:
        layer: the cell being built.
        name: the weight's name (``"kernel"``, ``"recurrent_kernel"``, ``"bias"``).
        shape: the weight's shape.
        options: the prefix of its options: the weight takes
            ``layer.<options>_initializer``, ``_regularizer`` and
            ``_constraint``; ``None`` is ``name`` (``"recurrent"`` for a
            ``recurrent_kernel``, as Keras names its options).
        initializer: an initializer in place of ``layer.<options>_initializer``.

    Returns:
        The new variable.
    """
    options = name if options is None else options
    return layer.add_weight(
        shape=shape,
        name=name,
        initializer=getattr(layer, f"{options}_initializer") if initializer is None else initializer,
        regularizer=getattr(layer, f"{options}_regularizer"),
        constraint=getattr(layer, f"{options}_constraint"),
    )


def feature_dim(layer, input_shape) -> int:
    """The last dimension of a cell's ``input_shape``, or a ``ValueError`` when it is unknown."""
    input_dim = input_shape[-1]
    if input_dim is None:
        raise ValueError(
            f"{type(layer).__name__} needs a known feature dimension, received input_shape={input_shape}."
        )
    return input_dim


def softplus(x):
    """``log(1 + exp(x))``, finite for every finite ``x`` once converted to TFLite.

    TFLite lowers ``softplus`` to ``log(exp(x) + 1)``, which overflows above
    ``x = 88`` in float32; this form is linear above 20 and never
    exponentiates a large number. Its gradient is exact everywhere (a
    ``maximum``/``abs`` form would give a wrong one at ``x = 0``).
    """
    capped = ops.minimum(x, _SOFTPLUS_LINEAR)
    return ops.where(x > _SOFTPLUS_LINEAR, x, ops.log1p(ops.exp(capped)))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for every finite ``x``."""
    return -softplus(-x)
