"""Analyses of trained models: what their memory cells compute.

* :mod:`lstm_apps.analysis.counting`: cell-state traces, counter and phase-detector fits.
"""

from lstm_apps.analysis import counting  # noqa: F401  (state_traces, counter_analysis, plot_counter)
