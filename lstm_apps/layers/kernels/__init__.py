"""Backend kernels of the layers: functions of weights and tensors, never of a layer.

* :mod:`~lstm_apps.layers.kernels.lstm1997_tf`: the fast time loop of the 1997
  LSTM (TensorFlow), with its hand-written backward pass;
* :mod:`~lstm_apps.layers.kernels.lstm1997_jax`: the same loop on JAX
  (``jax.lax.scan``, the backward pass as a ``jax.custom_vjp``);
* :mod:`~lstm_apps.layers.kernels.lstm1997_math`: the cell's step and its
  analytic derivatives in TensorFlow ops;
* :mod:`~lstm_apps.layers.kernels.graybox_tf`: fused loops of the gray-box
  cells (the adaptive-forget cell on the 1997 kernel, the methylation cell on
  the linear recurrence, the forgetting cell's elementwise loop compiled with XLA)
  and of the sLSTM (its stabilised exponential gates in the same compiled loop);
* :mod:`~lstm_apps.layers.kernels.linear_tf`: ``h_t = a_t h_{t-1} + b_t`` as one
  compiled loop with a hand-written backward pass (minGRU, minLSTM, methylation);
* :mod:`~lstm_apps.layers.kernels.sharding`: one independent loop per CPU core,
  the count fixed when traced or picked when run;
* :mod:`~lstm_apps.layers.kernels.scan`: a chunked scan over time and cached
  compiled functions.

:func:`lstm1997` and :func:`fast_path_supported` pick the kernel of the Keras
backend, as ``keras.layers.LSTM`` calls ``keras.backend.lstm``; PyTorch has
none (the layer runs the generic ``keras.layers.RNN`` loop there). Nothing
here imports a layer module, and neither TensorFlow nor JAX is imported
before a kernel runs.
"""

from lstm_apps.layers.kernels import lstm1997_jax, lstm1997_tf
from lstm_apps.layers.kernels.graybox_tf import adaptive_forget, forgetting_curve, methylation, slstm
from lstm_apps.layers.kernels.linear_tf import (
    gated_linear_rnn,
    linear_recurrence,
    linear_rnn,
    sequential_loop_preferred,
)

__all__ = [
    "adaptive_forget",
    "fast_path_supported",
    "forgetting_curve",
    "gated_linear_rnn",
    "linear_recurrence",
    "linear_rnn",
    "lstm1997",
    "methylation",
    "sequential_loop_preferred",
    "slstm",
]


def fast_path_supported() -> bool:
    """True when the Keras backend has a fast 1997 kernel (TensorFlow or JAX)."""
    return lstm1997_tf.fast_path_supported() or lstm1997_jax.fast_path_supported()


def lstm1997(*args, **kwargs):
    """The fast 1997 loop of the current Keras backend (see :func:`lstm1997_tf.lstm1997`).

    Raises:
        ValueError: on a backend without one (PyTorch), naming it.
    """
    if lstm1997_jax.fast_path_supported():
        return lstm1997_jax.lstm1997(*args, **kwargs)
    if lstm1997_tf.fast_path_supported():
        return lstm1997_tf.lstm1997(*args, **kwargs)
    import keras

    raise ValueError(
        f"the fast LSTM1997 loop runs on the TensorFlow and JAX backends, not on Keras's "
        f"{keras.backend.backend()!r} backend: use LSTM1997(..., fast_path=False) there."
    )
