"""The 1997 LSTM cell as a built-in ``keras.layers.LSTM``: the weight map.

:func:`keras_lstm_weights` turns the weights of an
:class:`~lstm_apps.layers.LSTM1997Cell` into those of a ``keras.layers.LSTM``
with identical outputs; :func:`~lstm_apps.layers.lstm1997.to_keras_lstm`
(also ``LSTM1997.to_keras_lstm()``) builds that layer. This module reads the
cell's weights and options only and imports no layer module.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PINNED_FORGET_BIAS", "keras_lstm_weights"]

#: forget-gate bias of the mapped layer when the 1997 cell has none: sigmoid(40) is
#: exactly 1.0 in float32 (and float16/bfloat16), so the carousel is not touched
PINNED_FORGET_BIAS = 40.0


def keras_lstm_weights(cell) -> list[np.ndarray]:
    """``[kernel, recurrent_kernel, bias]`` of a ``keras.layers.LSTM`` equal to ``cell``.

    Keras's LSTM computes ``c_t = f c_{t-1} + i tanh(z_c)`` and
    ``h_t = o tanh(c_t)`` with blocks ``[i, f, c, o]``. With the paper's
    squash, ``4 sigmoid(x) - 2 = 2 tanh(x / 2)`` and ``2 sigmoid(s) - 1 =
    tanh(s / 2)``, so the 1997 cell is that LSTM on the halved state
    ``c = s / 2`` with the cell-input columns halved:
    ``c_t = f c_{t-1} + y_in tanh(net_c / 2)`` and ``h_t = y_out tanh(c_t)``.
    Without a forget gate ``f`` is pinned at exactly 1 (zero weights, bias
    :data:`PINNED_FORGET_BIAS`). With ``squash="tanh"`` nothing is halved.
    Gates shared by a block of cells are repeated for each of its cells.
    Missing biases and recurrent weights map to zeros, a missing output gate
    to one pinned open (as the forget gate). The paper's other options
    (``cell_activation``/``output_activation`` other than one squash, gate
    activations fed back) have no ``keras.layers.LSTM`` form: ``ValueError``.

    Args:
        cell: a built :class:`~lstm_apps.layers.LSTM1997Cell`.

    Returns:
        A list of three NumPy arrays in ``keras.layers.LSTM``'s layout.
    """
    if not getattr(cell, "built", False) or not hasattr(cell, "kernel"):
        raise ValueError(
            "the LSTM1997 cell must be built (call the layer on data first), "
            f"received an unbuilt {type(cell).__name__}."
        )
    g, h = getattr(cell, "cell_activation", cell.squash), getattr(cell, "output_activation", cell.squash)
    if g != h or g not in ("paper", "tanh"):
        raise ValueError(
            "keras.layers.LSTM computes g and h with one squash ('paper' or 'tanh'), received "
            f"cell_activation={g!r} and output_activation={h!r}."
        )
    if getattr(cell, "gate_feedback", False):
        raise ValueError(
            "keras.layers.LSTM feeds back the cell outputs only, received "
            "recurrent_connections='cells_and_gates' (gate activations fed back)."
        )
    half = 0.5 if g == "paper" else 1.0
    units = cell.units
    width = sum(cell.block_widths)
    bias = cell.full_bias() if hasattr(cell, "full_bias") else cell.bias
    recurrent = cell.recurrent_kernel
    out = []
    for weight in (
        cell.kernel,
        np.zeros((units, width)) if recurrent is None else recurrent,
        np.zeros((width,)) if bias is None else bias,
    ):
        w = np.asarray(weight.numpy() if hasattr(weight, "numpy") else weight, dtype="float32")
        parts = dict(zip(cell.gate_names, np.split(w, np.cumsum(cell.block_widths)[:-1], axis=-1)))
        if "output" not in parts:  # no output gate: one held open (h = y_out * h(s) with y_out = 1)
            shape = w.shape[:-1] + (cell.n_blocks,)
            parts["output"] = np.full(shape, PINNED_FORGET_BIAS if w.ndim == 1 else 0.0, "float32")

        def expand(v):  # per block -> per cell
            return np.repeat(v, cell.cells_per_block, axis=-1)

        if cell.forget_gate:
            forget = expand(parts["forget"])
        elif w.ndim == 1:
            forget = np.full((units,), PINNED_FORGET_BIAS, dtype="float32")
        else:
            forget = np.zeros(w.shape[:-1] + (units,), dtype="float32")
        out.append(
            np.concatenate(
                [expand(parts["input"]), forget, half * parts["cell"], expand(parts["output"])], axis=-1
            )
        )
    return out
