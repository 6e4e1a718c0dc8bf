"""Recurrent layers: the faithful 1997 LSTM, the factory, and gray-box cells.

Every cell follows the Keras cell contract and is registered for ``.keras``
serialization under the package name ``lstm_apps``.

* :mod:`~lstm_apps.layers.lstm1997`: :class:`LSTM1997` (its cell
  :class:`LSTM1997Cell` is in :mod:`~lstm_apps.layers.lstm1997_cell`, its fast
  loop in :mod:`lstm_apps.layers.kernels`, functions of weights and tensors)
  and ``to_keras_lstm`` (weight map in :mod:`~lstm_apps.layers.keras_lstm`);
* :mod:`~lstm_apps.layers.graybox`: :class:`GrayBoxCell`, the base of the
  cells whose gates mean something physical: :class:`AdaptiveForgetCell`,
  :class:`ForgettingCurveCell`, :class:`MethylationCell`, and
  :class:`GrayBoxRNN`, the ``keras.layers.RNN`` that runs their fused loops;
* :mod:`~lstm_apps.layers.factory`: the one list of kinds of :func:`recurrent`;
* gate telemetry (:meth:`LSTM1997.gate_activations`, :func:`gate_activations`,
  :func:`forget_gate_trace`) runs through :mod:`lstm_apps.telemetry`.
"""

from lstm_apps.layers.adaptive_forget import AdaptiveForgetCell, forget_gate_trace, variance_nll
from lstm_apps.layers.factory import recurrent, recurrent_kinds, register_recurrent_kind
from lstm_apps.layers.forgetting_curve import (
    ForgettingCurveCell,
    forgetting_cell_recall,
    forgetting_cell_reference,
)
from lstm_apps.layers.graybox import GrayBoxCell, GrayBoxRNN
from lstm_apps.layers.lstm1997 import LSTM1997, LSTM1997Cell, gate_activations, memory_half_life
from lstm_apps.layers.methylation import MethylationCell, methylation_cell_reference
from lstm_apps.layers.min_rnn import MinGRU, MinGRUCell, MinLSTM, MinLSTMCell, linear_scan
from lstm_apps.layers.slstm import SLSTM, SLSTMCell

__all__ = [
    "AdaptiveForgetCell",
    "forget_gate_trace",
    "variance_nll",
    "LSTM1997",
    "LSTM1997Cell",
    "GrayBoxCell",
    "GrayBoxRNN",
    "ForgettingCurveCell",
    "forgetting_cell_reference",
    "forgetting_cell_recall",
    "MethylationCell",
    "methylation_cell_reference",
    "gate_activations",
    "memory_half_life",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "linear_scan",
    "SLSTM",
    "SLSTMCell",
    "recurrent",
    "recurrent_kinds",
    "register_recurrent_kind",
]
