"""Training losses that Keras does not ship.

:class:`SmoothedSparseCategoricalCrossentropy`: sparse categorical
cross-entropy with label smoothing (the translation recipe's loss). It is
registered with Keras as ``"lstm_apps>SmoothedSparseCategoricalCrossentropy"``,
so a model compiled with it saves and loads as a ``.keras`` file.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["SmoothedSparseCategoricalCrossentropy"]


@keras.saving.register_keras_serializable(package="lstm_apps")
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy with label smoothing (Szegedy et al. 2016).

    The integer target ``y`` becomes the distribution
    ``(1 - label_smoothing) * one_hot(y) + label_smoothing / V`` over the
    ``V`` classes (the convention of
    ``keras.losses.CategoricalCrossentropy(label_smoothing=...)``) and the
    loss is its cross-entropy with the predicted distribution. Sennrich &
    Zhang (2019), "Revisiting Low-Resource Neural Machine Translation", use
    it (with word dropout, see :func:`build_seq2seq`) against overfitting on
    small corpora. ``keras.losses.SparseCategoricalCrossentropy`` takes no
    ``label_smoothing`` argument in Keras 3, hence this class; with
    ``label_smoothing=0`` the two agree. Keras masks on ``y_pred`` (the
    padding mask that a ``mask_zero=True`` target embedding carries to the
    logits), sample weights and the reduction are applied by
    ``keras.losses.Loss.__call__``, exactly as for the built-in losses.

    Args:
        from_logits: whether ``y_pred`` holds logits (``True``) or
            probabilities.
        label_smoothing: the probability mass spread uniformly over all
            classes, a float in ``[0, 1)``; 0 is the plain cross-entropy.
        reduction: as for every Keras loss (default
            ``"sum_over_batch_size"``).
        name: the loss's name.
        dtype: the dtype of the computation (default ``keras.backend.floatx()``).

    Example:

    >>> loss = SmoothedSparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    >>> round(float(loss(np.array([1]), np.log(np.array([[0.25, 0.75]])))), 4)
    0.3975
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction="sum_over_batch_size",
        name: str = "smoothed_sparse_categorical_crossentropy",
        dtype=None,
    ):
        if (
            isinstance(label_smoothing, bool)
            or not isinstance(label_smoothing, (int, float, np.integer, np.floating))
            or not 0.0 <= label_smoothing < 1.0
        ):
            raise ValueError(f"label_smoothing must be a float in [0, 1), received {label_smoothing!r}.")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        if self.from_logits:
            log_probs = ops.log_softmax(y_pred, axis=-1)
        else:  # as keras.ops.categorical_crossentropy does for probabilities
            probs = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
            log_probs = ops.log(ops.clip(probs, keras.backend.epsilon(), 1.0 - keras.backend.epsilon()))
        n_classes = ops.shape(y_pred)[-1]
        target = ops.one_hot(ops.cast(y_true, "int32"), n_classes, dtype=log_probs.dtype)
        if self.label_smoothing:
            target = target * (1.0 - self.label_smoothing) + self.label_smoothing / ops.cast(
                n_classes, log_probs.dtype
            )
        return -ops.sum(target * log_probs, axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }
