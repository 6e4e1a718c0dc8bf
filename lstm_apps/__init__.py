"""lstm-apps: Long Short-Term Memory networks made practical across domains.

Subpackages: :mod:`lstm_apps.layers` (the 1997 LSTM and gray-box cells),
:mod:`lstm_apps.datasets` (loaders and generators), :mod:`lstm_apps.baselines`
(the strongest simple model of each field), :mod:`lstm_apps.export`
(TFLite/LiteRT), plus :mod:`lstm_apps.training` (the recipe harness) and
:mod:`lstm_apps.metrics`.
"""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
