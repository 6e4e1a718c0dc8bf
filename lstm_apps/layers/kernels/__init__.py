"""Backend kernels of the layers: functions of weights and tensors, never of a layer.

* :mod:`~lstm_apps.layers.kernels.lstm1997_tf`: the fast time loop of the 1997
  LSTM (TensorFlow), with its hand-written backward pass;
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

Nothing here imports a layer module: the layers call the kernels, as
``keras.layers.LSTM`` calls ``keras.backend.lstm``.
"""

from lstm_apps.layers.kernels.graybox_tf import adaptive_forget, forgetting_curve, methylation, slstm
from lstm_apps.layers.kernels.linear_tf import (
    gated_linear_rnn,
    linear_recurrence,
    linear_rnn,
    sequential_loop_preferred,
)
from lstm_apps.layers.kernels.lstm1997_tf import fast_path_supported, lstm1997

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
