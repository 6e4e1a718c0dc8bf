"""A small causal Transformer: the model people reach for today, as a baseline for the recurrent cells.

:func:`causal_transformer` builds a decoder-only Transformer over feature
sequences ``(batch, steps, features)`` (one-hot symbols, say) that predicts at
every step from that step and the ones before: a ``Dense`` projection to
``d_model``, positions added (:class:`PositionEmbedding`: sinusoidal as in
Vaswani et al. 2017, or learned), ``layers`` pre-norm blocks
(:class:`TransformerBlock`: ``keras.layers.MultiHeadAttention`` then a
feed-forward net, each with a residual connection) and a ``Dense`` output.

With ``window=w`` each block's attention is banded (:func:`attention_mask`):
step ``i`` sees steps ``i - w + 1 .. i`` only, as in sliding-window attention
(Longformer, Mistral). One block then bridges at most ``w - 1`` steps and a
stack of ``L`` blocks ``L * (w - 1)`` (:func:`attention_reach`), and at
inference each block keeps the keys and values of the last ``w`` steps
(a constant KV cache), where full attention keeps all ``T``
(:func:`inference_memory`; a recurrent layer keeps its state).

:func:`transformer_parameter_count` is the exact parameter count of a
:func:`causal_transformer`, and :func:`match_size` picks the size of a model
(units, ``d_model``) whose parameter count is closest to a target, to compare
models at matched parameter counts.

Example:

```python
model = causal_transformer(4, 3, d_model=32, heads=2, layers=2, window=64)
model.compile("adam", "binary_crossentropy")
inference_memory(model, steps=1000)        # {"kv_cache": 2 * 2 * 32 * 64 floats, ...}
```
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import ops

__all__ = [
    "POSITIONS",
    "PositionEmbedding",
    "TransformerBlock",
    "attention_mask",
    "causal_transformer",
    "transformer_parameter_count",
    "match_size",
    "attention_reach",
    "inference_memory",
]

#: The kinds of position information :class:`PositionEmbedding` adds.
POSITIONS = ("sinusoidal", "learned")


def _check_positive(name, value, allow_none=False):
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, received {name}={value!r}.")
    return int(value)


def attention_mask(steps, window=None):
    """The causal (banded) attention mask: ``mask[i, j]`` is True when step ``i`` may attend to ``j``.

    Args:
        steps: the sequence length (an int or a scalar tensor).
        window: ``None`` for full causal attention (``j <= i``), else ``w``:
            ``i - w < j <= i`` (the ``w`` most recent steps, ``i`` included).

    Returns:
        A boolean tensor ``(steps, steps)``.

    Example:

    >>> ops.convert_to_numpy(attention_mask(4, window=2)).astype(int).tolist()
    [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    """
    _check_positive("window", window, allow_none=True)
    i = ops.expand_dims(ops.arange(steps), 1)
    j = ops.expand_dims(ops.arange(steps), 0)
    mask = ops.greater_equal(i, j)
    if window is not None:
        mask = ops.logical_and(mask, ops.less(i - j, window))
    return mask


@keras.saving.register_keras_serializable(package="lstm_apps")
class PositionEmbedding(keras.layers.Layer):
    """Adds position information to a sequence of ``d_model``-vectors.

    Args:
        kind: ``"sinusoidal"`` (fixed sines and cosines of geometric
            wavelengths, defined for any length) or ``"learned"`` (a trained
            vector per position up to ``max_length``; later positions share
            the last one's vector).
        max_length: the positions with a vector of their own (``"learned"`` only).
        **kwargs: standard layer arguments.

    Call arguments:
        inputs: ``(batch, steps, d_model)``.
    """

    def __init__(self, kind: str = "sinusoidal", max_length: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if kind not in POSITIONS:
            raise ValueError(f"kind must be one of {POSITIONS}, received kind={kind!r}.")
        if kind == "learned":
            _check_positive("max_length", max_length)
        self.kind = kind
        self.max_length = max_length

    def build(self, input_shape):
        self.d_model = int(input_shape[-1])
        if self.kind == "learned":
            self.table = self.add_weight(
                shape=(self.max_length, self.d_model), name="positions", initializer="random_normal"
            )
        self.built = True

    def call(self, inputs):
        steps = ops.shape(inputs)[1]
        if self.kind == "learned":
            positions = ops.minimum(ops.arange(steps), self.max_length - 1)
            return inputs + ops.expand_dims(ops.take(self.table, positions, axis=0), 0)
        half = (self.d_model + 1) // 2
        rates = np.exp(-np.log(10000.0) * np.arange(half) / half).astype("float32")
        angles = ops.expand_dims(ops.cast(ops.arange(steps), "float32"), 1) * ops.expand_dims(rates, 0)
        table = ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)[:, : self.d_model]
        return inputs + ops.cast(ops.expand_dims(table, 0), inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "max_length": self.max_length}


@keras.saving.register_keras_serializable(package="lstm_apps")
class TransformerBlock(keras.layers.Layer):
    """A pre-norm causal Transformer block: ``x + MHA(LN(x))``, then ``x + FFN(LN(x))``.

    Args:
        d_model: the width of the residual stream.
        heads: attention heads (``key_dim = d_model // heads``; must divide).
        ff_dim: the feed-forward net's hidden width.
        window: ``None`` (full causal attention) or ``w``: banded attention
            over the ``w`` most recent steps (see :func:`attention_mask`).
        dropout: dropout rate of attention weights and sublayer outputs.
        **kwargs: standard layer arguments.
    """

    def __init__(
        self, d_model: int, heads: int, ff_dim: int, window: int | None = None, dropout=0.0, **kwargs
    ):
        super().__init__(**kwargs)
        self.d_model = _check_positive("d_model", d_model)
        self.heads = _check_positive("heads", heads)
        self.ff_dim = _check_positive("ff_dim", ff_dim)
        self.window = _check_positive("window", window, allow_none=True)
        if self.d_model % self.heads:
            raise ValueError(f"heads must divide d_model, received d_model={d_model} and heads={heads}.")
        self.key_dim = self.d_model // self.heads
        self.dropout = float(dropout)
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-5)
        self.attention = keras.layers.MultiHeadAttention(self.heads, self.key_dim, dropout=self.dropout)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-5)
        self.ff1 = keras.layers.Dense(self.ff_dim, activation="relu")
        self.ff2 = keras.layers.Dense(self.d_model)
        self.drop = keras.layers.Dropout(self.dropout)

    def build(self, input_shape):
        self.norm1.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.norm2.build(input_shape)
        self.ff1.build(input_shape)
        self.ff2.build((*input_shape[:-1], self.ff_dim))
        self.built = True

    def call(self, x, training=False):
        batch, steps = ops.shape(x)[0], ops.shape(x)[1]
        mask = ops.broadcast_to(ops.expand_dims(attention_mask(steps, self.window), 0), (batch, steps, steps))
        h = self.norm1(x)
        x = x + self.drop(self.attention(h, h, attention_mask=mask, training=training), training=training)
        h = self.ff2(self.ff1(self.norm2(x)))
        return x + self.drop(h, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "d_model": self.d_model,
            "heads": self.heads,
            "ff_dim": self.ff_dim,
            "window": self.window,
            "dropout": self.dropout,
        }


def causal_transformer(
    input_dim: int,
    output_dim: int,
    d_model: int = 32,
    heads: int = 2,
    layers: int = 2,
    ff_dim: int | None = None,
    window: int | None = None,
    positions: str = "sinusoidal",
    max_length: int | None = None,
    output_activation: str | None = "sigmoid",
    dropout: float = 0.0,
    name: str = "transformer",
) -> keras.Model:
    """A decoder-only Transformer over feature sequences, one prediction per step.

    Args:
        input_dim: features per step (e.g. one-hot symbols).
        output_dim: outputs per step.
        d_model: width of the residual stream.
        heads: attention heads per block (must divide ``d_model``).
        layers: Transformer blocks.
        ff_dim: the feed-forward width (default ``4 * d_model``).
        window: ``None`` (full causal attention) or the attention window ``w``.
        positions: ``"sinusoidal"`` or ``"learned"`` (needs ``max_length``).
        max_length: positions with a learned vector of their own (learned
            positions only; later ones share the last one's, so set it to the
            longest sequence trained on).
        output_activation: of the output ``Dense`` (``"sigmoid"``, ``"softmax"``, ``None``).
        dropout: dropout rate in the blocks.
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model`` mapping ``(batch, steps, input_dim)`` to
        ``(batch, steps, output_dim)``.
    """
    _check_positive("input_dim", input_dim)
    _check_positive("output_dim", output_dim)
    _check_positive("layers", layers)
    ff_dim = 4 * d_model if ff_dim is None else ff_dim
    inputs = keras.Input((None, input_dim))
    x = keras.layers.Dense(d_model, name="embed")(inputs)
    x = PositionEmbedding(positions, max_length, name="positions")(x)
    for k in range(layers):
        x = TransformerBlock(d_model, heads, ff_dim, window=window, dropout=dropout, name=f"block_{k}")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    outputs = keras.layers.Dense(output_dim, activation=output_activation, name="out")(x)
    return keras.Model(inputs, outputs, name=name)


def transformer_parameter_count(
    input_dim: int,
    output_dim: int,
    d_model: int = 32,
    heads: int = 2,
    layers: int = 2,
    ff_dim: int | None = None,
    positions: str = "sinusoidal",
    max_length: int | None = None,
) -> int:
    """The number of weights of :func:`causal_transformer` with these arguments, without building it.

    Per block: attention ``4 (d^2 + d)`` (query, key, value, output projections
    with ``heads * key_dim = d``), two layer norms ``4 d``, the feed-forward net
    ``2 d f + f + d``; plus the input projection ``(input_dim + 1) d``, learned
    positions ``max_length * d``, the final norm ``2 d`` and the output
    ``(d + 1) output_dim``.

    Example:

    >>> transformer_parameter_count(4, 3, d_model=8, heads=2, layers=1, ff_dim=16)
    683
    """
    ff_dim = 4 * d_model if ff_dim is None else ff_dim
    d = d_model
    block = 4 * (d * d + d) + 4 * d + 2 * d * ff_dim + ff_dim + d
    table = max_length * d if positions == "learned" else 0
    return int((input_dim + 1) * d + table + layers * block + 2 * d + (d + 1) * output_dim)


def match_size(count: Callable[[int], int], target: int, low: int = 1, high: int = 4096) -> int:
    """The size whose parameter count is closest to ``target`` (``count`` increasing in size).

    Args:
        count: ``size -> number of parameters`` (e.g. building a model and
            calling ``count_params``, or a closed form).
        target: the parameter count to match.
        low, high: the sizes searched (bisection).

    Returns:
        The size (ties go to the smaller one).

    Example:

    >>> match_size(lambda u: 4 * u * (u + 5), target=4000)   # an LSTM of u units on 4 inputs
    29
    """
    _check_positive("target", target)
    if not 1 <= low <= high:
        raise ValueError(f"expected 1 <= low <= high, received low={low!r}, high={high!r}.")
    lo, hi = low, high
    while lo < hi:  # the smallest size whose count reaches the target
        mid = (lo + hi) // 2
        if count(mid) < target:
            lo = mid + 1
        else:
            hi = mid
    candidates = [s for s in (lo - 1, lo) if low <= s <= high]
    return min(candidates, key=lambda s: (abs(count(s) - target), s))


def attention_reach(model) -> int | None:
    """How many steps back a stack of :class:`TransformerBlock` can carry information, or None if unbounded.

    ``sum(w - 1)`` over the blocks (one block bridges ``w - 1`` steps; a
    block with full attention any number).
    """
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerBlock)]
    if not blocks:
        raise ValueError(f"model {model.name!r} has no TransformerBlock.")
    if any(b.window is None for b in blocks):
        return None
    return int(sum(b.window - 1 for b in blocks))


def _state_floats(cell) -> int:
    size = cell.state_size
    return int(sum(size) if isinstance(size, (list, tuple)) else size)


def inference_memory(model, steps: int) -> dict[str, int]:
    """The numbers a model must keep between steps to predict step ``steps`` of a stream, from its shapes.

    A recurrent layer (``keras.layers.RNN``) keeps its cell's states: their
    size, whatever ``steps`` is. A :class:`TransformerBlock` keeps the keys and
    values of every step it may attend to: ``2 * heads * key_dim`` numbers per
    cached step, ``min(steps, window)`` steps with a window, ``steps`` without.

    Args:
        model: a built Keras model.
        steps: the position in the stream (the sequence length so far).

    Returns:
        ``{"recurrent_state": ..., "kv_cache": ..., "total": ...}``, in numbers (floats).

    Example:

    >>> inference_memory(keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(8)]), 1000)["total"]
    16
    """
    steps = _check_positive("steps", steps)
    state = kv = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.RNN):
            state += _state_floats(layer.cell)
        elif isinstance(layer, TransformerBlock):
            cached = steps if layer.window is None else min(steps, layer.window)
            kv += 2 * layer.heads * layer.key_dim * cached
    if state == 0 and kv == 0:
        raise ValueError(f"model {model.name!r} has no recurrent layer and no TransformerBlock.")
    return {"recurrent_state": int(state), "kv_cache": int(kv), "total": int(state + kv)}
