"""Analyses of trained models: what their memory cells compute.

* :mod:`lstm_apps.analysis.counting`: cell-state traces, counter and phase-detector fits.
* :mod:`lstm_apps.analysis.interaction`: gate telemetry and behaviour features of visits, their
  AUCs for visits that go wrong, an offline prompt policy.
"""

from lstm_apps.analysis import (
    counting,  # noqa: F401  (state_traces, counter_analysis, plot_counter)
    interaction,  # noqa: F401  (telemetry_features, behaviour_features, ...)
)
