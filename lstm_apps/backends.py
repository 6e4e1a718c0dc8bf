"""The Keras backend this process runs, and a clear error for the features only TensorFlow has.

The layers (:mod:`lstm_apps.layers`) run on Keras's TensorFlow, JAX and
PyTorch backends, and the library's ``tf.data`` pipelines feed ``fit`` on
all three; TFLite export (:mod:`lstm_apps.export`, ``export_models``,
``lstm-apps export``, a recipe's ``--export``), ``tf.distribute`` strategies
(``--distribute``, the multi-worker harness) and the raw-string text
classifiers (:mod:`lstm_apps.text_models`: ``TextVectorization`` inside a
model) are TensorFlow's own, and their entry points call
:func:`require_tensorflow` first, which refuses them elsewhere with the
backend named.
"""

from __future__ import annotations

import os

__all__ = ["keras_backend", "require_tensorflow"]


def keras_backend() -> str:
    """The name of the Keras backend of this process (``"tensorflow"``, ``"jax"``, ``"torch"`` ...)."""
    import keras

    return keras.backend.backend()


def require_tensorflow(feature: str) -> None:
    """Raise a ``RuntimeError`` naming the backend unless Keras runs on TensorFlow.

    Args:
        feature: what needs TensorFlow, as the message should name it
            (``"TFLite export"``, ``"--distribute mirrored"`` ...).

    Raises:
        RuntimeError: Keras runs on another backend; the message names it
            and how to choose TensorFlow.

    Example:

    >>> require_tensorflow("TFLite export")  # silent with KERAS_BACKEND=tensorflow
    """
    backend = keras_backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"{feature} needs Keras's TensorFlow backend, but this process runs Keras on the {backend!r} "
            f"backend (KERAS_BACKEND={os.environ.get('KERAS_BACKEND')!r}); run it with "
            "KERAS_BACKEND=tensorflow."
        )
