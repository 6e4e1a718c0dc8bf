"""Backend kernels of the layers: functions of weights and tensors, never of a layer.

* :mod:`~lstm_apps.layers.kernels.lstm1997_tf`: the fast time loop of the 1997
  LSTM (TensorFlow), with its hand-written backward pass;
* :mod:`~lstm_apps.layers.kernels.lstm1997_math`: the cell's step and its
  analytic derivatives in TensorFlow ops;
* :mod:`~lstm_apps.layers.kernels.sharding`: one independent loop per CPU core;
* :mod:`~lstm_apps.layers.kernels.scan`: a chunked scan over time and cached
  compiled functions.

Nothing here imports a layer module: the layers call the kernels, as
``keras.layers.LSTM`` calls ``keras.backend.lstm``.
"""

from lstm_apps.layers.kernels.lstm1997_tf import fast_path_supported, lstm1997

__all__ = ["fast_path_supported", "lstm1997"]
