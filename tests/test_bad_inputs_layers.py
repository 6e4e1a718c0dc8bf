"""The layer part of the bad-input sweep: every numeric option is checked when the layer is made.

Each case is an option value that was accepted silently (NaN, infinity) or
failed with a message naming neither the option nor what was expected
(``float('abc')``); the error must name the option and the received value.
"""

import math

import pytest

from lstm_apps.layers import (
    LSTM1997,
    SLSTM,
    AdaptiveForgetCell,
    ForgettingCurveCell,
    MethylationCell,
    MinGRU,
    MinLSTM,
)

NAN, INF = math.nan, math.inf

CASES = [
    (LSTM1997, {"input_gate_bias": NAN}, "input_gate_bias"),
    (LSTM1997, {"input_gate_bias": "abc"}, "input_gate_bias"),
    (LSTM1997, {"input_gate_bias": True}, "input_gate_bias"),
    (LSTM1997, {"output_gate_bias": INF}, "output_gate_bias"),
    (LSTM1997, {"cells_per_block": 2, "input_gate_bias": [-1.0, NAN]}, "input_gate_bias"),
    (LSTM1997, {"forget_gate": True, "forget_bias": -INF}, "forget_bias"),
    (LSTM1997, {"cell_input_bias": NAN}, "cell_input_bias"),
    (LSTM1997, {"cell_input_bias": "abc"}, "cell_input_bias"),
    (LSTM1997, {"cells_per_block": 0}, "cells_per_block"),
    (AdaptiveForgetCell, {"a_init": NAN}, "a_init"),
    (AdaptiveForgetCell, {"a_init": "x"}, "a_init"),
    (AdaptiveForgetCell, {"b_init": INF}, "b_init"),
    (ForgettingCurveCell, {"gate_bias_init": NAN}, "gate_bias_init"),
    (ForgettingCurveCell, {"readout_bias_init": "x"}, "readout_bias_init"),
    (ForgettingCurveCell, {"target_bias_init": INF}, "target_bias_init"),
    (ForgettingCurveCell, {"tau_init": NAN}, "tau_init"),
    (MethylationCell, {"mu_init": NAN}, "mu_init"),
    (MethylationCell, {"delta_init": NAN}, "delta_init"),
    (MethylationCell, {"inhibition_init": "x"}, "inhibition_init"),
    (MinGRU, {"units": 0}, "units"),
    (MinLSTM, {"units": -3}, "units"),
    (SLSTM, {"units": 6, "num_heads": 4}, "num_heads"),
    (SLSTM, {"forget_activation": "relu"}, "forget_activation"),
]


@pytest.mark.parametrize(("cls", "options", "named"), CASES, ids=lambda v: getattr(v, "__name__", None))
def test_bad_option_is_refused_naming_it(cls, options, named):
    kwargs = {"units": 4, **options}
    units = kwargs.pop("units")
    with pytest.raises(ValueError) as info:
        cls(units, **kwargs)
    message = str(info.value)
    assert named in message
    assert repr(options[named]).strip("'") in message or str(options[named]) in message


def test_good_options_still_build():
    LSTM1997(4, cells_per_block=2, input_gate_bias=[-1.0, -2.0], output_gate_bias=-2.0, cell_input_bias=0.5)
    AdaptiveForgetCell(4, a_init=2.0, b_init=0.5)
    ForgettingCurveCell(4, gate_bias_init=3.0)
    MethylationCell(3, mu_init=[0.9, 0.95, 0.97])
