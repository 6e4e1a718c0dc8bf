"""Small helpers shared by the modern cells (:mod:`min_rnn`, :mod:`slstm`): option checks and a
softplus that stays finite after TFLite conversion."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from keras import ops

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
