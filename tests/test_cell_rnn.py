"""The shared layer base (``layers/_cell_rnn.py``) and cell helpers (``layers/_common.py``) keep the
layers' public surface: the signatures, positional calls, forwarded properties and config keys the
layers had when each wrote them out (the lists below are those written-out signatures)."""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest

from lstm_apps.layers import LSTM1997, SLSTM, LSTM1997Cell, MinGRU, MinLSTM, SLSTMCell
from lstm_apps.layers._common import add_option_weight, constructor_config, store_weight_options

RNN = ["return_sequences", "return_state", "go_backwards", "stateful", "unroll"]
LSTM1997_CELL = [
    "units", "cells_per_block", "input_gate_bias", "output_gate_bias", "forget_gate", "forget_bias", "squash",
    "truncate_gradients", "kernel_initializer", "recurrent_initializer", "cell_input_bias",
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "output_gate", "cell_activation", "output_activation",
    "use_bias", "recurrent_connections", "bias_initializer",
]  # fmt: skip
SLSTM_CELL = [
    "units", "num_heads", "forget_activation", "forget_bias", "kernel_initializer", "recurrent_initializer",
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint",
]  # fmt: skip
MIN_CELL = [
    "units", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
    "kernel_constraint", "bias_constraint",
]  # fmt: skip
# the layers' signatures as written out before the base class (``**kwargs`` last)
SIGNATURES = {
    LSTM1997: [*LSTM1997_CELL, *RNN, "fast_path", "kwargs"],
    SLSTM: [*SLSTM_CELL, *RNN, "zero_output_for_mask", "fused", "kwargs"],
    MinGRU: ["units", "parallel", *MIN_CELL[1:], *RNN, "zero_output_for_mask", "kwargs"],
    MinLSTM: ["units", "parallel", *MIN_CELL[1:], *RNN, "zero_output_for_mask", "kwargs"],
}
CELL_ARGUMENTS = {LSTM1997: LSTM1997_CELL, SLSTM: SLSTM_CELL, MinGRU: MIN_CELL, MinLSTM: MIN_CELL}
SWITCHES = {LSTM1997: "fast_path", SLSTM: "fused", MinGRU: "parallel", MinLSTM: "parallel"}
LAYERS = list(SIGNATURES)


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_signature_is_the_written_out_one(cls):
    signature = inspect.signature(cls)
    assert list(signature.parameters) == SIGNATURES[cls]
    assert list(inspect.signature(cls.__init__).parameters) == ["self", *SIGNATURES[cls]]
    assert signature.parameters["kwargs"].kind is inspect.Parameter.VAR_KEYWORD
    assert signature.parameters["units"].default is inspect.Parameter.empty
    assert signature.parameters[SWITCHES[cls]].default is True
    assert all(signature.parameters[name].default is False for name in RNN)


def test_defaults_are_the_cells():
    defaults = {name: p.default for name, p in inspect.signature(LSTM1997).parameters.items()}
    assert defaults["input_gate_bias"] == -1.0 and defaults["output_gate_bias"] == -2.0
    assert defaults["squash"] == "paper" and defaults["recurrent_initializer"] == "orthogonal"
    assert inspect.signature(SLSTM).parameters["forget_activation"].default == "sigmoid"


def test_positional_arguments_bind_in_signature_order():
    assert LSTM1997(4, 2).cells_per_block == 2
    assert SLSTM(4, 2).num_heads == 2 and SLSTM(4, 2).cell.head_dim == 2
    assert MinGRU(4, False).parallel is False and MinLSTM(4).parallel is True
    with pytest.raises(TypeError):
        LSTM1997(4, units=4)
    with pytest.raises(TypeError):
        SLSTM()


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_every_cell_argument_is_a_read_only_property(cls):
    layer = cls(4, kernel_initializer="zeros", name="probe")
    for name in CELL_ARGUMENTS[cls]:
        assert getattr(layer, name) is getattr(layer.cell, name), name
        with pytest.raises(AttributeError):
            setattr(layer, name, object())  # not None: Keras skips setting an attribute to its own value
    assert isinstance(layer.kernel_initializer, keras.initializers.Zeros)
    assert layer.name == "probe" and layer.cell.name == layer.cell_name


def test_lstm1997_forwards_n_blocks_and_keeps_a_truthy_fast_path():
    layer = LSTM1997(6, cells_per_block=3, fast_path=1)
    assert layer.n_blocks == 2 and layer.fast_path is True
    assert LSTM1997(4, fast_path=0).fast_path is False


@pytest.mark.parametrize("cls", [SLSTM, MinGRU], ids=lambda c: c.__name__)
def test_other_switches_refuse_a_non_bool(cls):
    with pytest.raises(ValueError, match=f"{SWITCHES[cls]} must be True or False, received"):
        cls(4, **{SWITCHES[cls]: 1})


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_config_keys_and_round_trip(cls):
    layer = cls(4, kernel_regularizer="l2", return_sequences=True, zero_output_for_mask=True, name="x")
    config = layer.get_config()
    expected = set(SIGNATURES[cls]) - {"kwargs"} | {"name", "trainable", "dtype", "zero_output_for_mask"}
    assert set(config) == expected
    assert config[SWITCHES[cls]] is True and config["zero_output_for_mask"] is True
    assert config["kernel_regularizer"] == keras.regularizers.serialize(layer.cell.kernel_regularizer)
    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert isinstance(clone.kernel_regularizer, keras.regularizers.L2) and clone.zero_output_for_mask


def test_rank_check_names_the_layer():
    with pytest.raises(ValueError, match="SLSTM expects 3-D inputs"):
        SLSTM(4)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="MinLSTM expects 3-D inputs"):
        MinLSTM(4)(np.zeros((2, 3), "float32"))


@pytest.mark.parametrize(
    ("make", "arguments"),
    [
        (lambda: LSTM1997Cell(4, recurrent_constraint="non_neg"), LSTM1997_CELL),
        (lambda: SLSTMCell(4, 2), SLSTM_CELL),
    ],
    ids=["LSTM1997Cell", "SLSTMCell"],
)
def test_cell_config_is_its_arguments(make, arguments):
    cell = make()
    config = cell.get_config()
    assert set(config) == set(arguments) | {"name", "trainable", "dtype"}
    assert config["recurrent_initializer"] == keras.initializers.serialize(cell.recurrent_initializer)
    assert config["units"] == 4
    assert type(cell).from_config(config).get_config() == config


def test_cell_weights_take_their_options():
    cell = LSTM1997Cell(4, kernel_constraint="non_neg", recurrent_regularizer="l1", bias_initializer="ones")
    cell.build((None, 3))
    assert isinstance(cell.kernel.constraint, keras.constraints.NonNeg)
    assert isinstance(cell.recurrent_kernel.regularizer, keras.regularizers.L1)
    assert cell.kernel.shape == (3, cell.width)
    with pytest.raises(ValueError, match="SLSTMCell needs a known feature dimension"):
        SLSTMCell(4).build((None, None))


class _Probe(keras.layers.Layer):
    def __init__(
        self,
        units,
        kernel_initializer="ones",
        kernel_regularizer=None,
        kernel_constraint=None,
        scale=2.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale
        store_weight_options(self, locals())

    def build(self, input_shape):
        self.kernel = add_option_weight(self, "kernel", (input_shape[-1], self.units))
        self.bias = add_option_weight(self, "bias", (self.units,), options="kernel", initializer="zeros")


def test_helpers_store_use_and_write_the_options():
    probe = _Probe(3, kernel_regularizer="l2")
    assert isinstance(probe.kernel_initializer, keras.initializers.Ones)
    assert isinstance(probe.kernel_regularizer, keras.regularizers.L2)
    assert not hasattr(probe, "scale_initializer")
    probe.build((None, 2))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(probe.kernel), np.ones((2, 3)))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(probe.bias), np.zeros(3))
    assert isinstance(probe.bias.regularizer, keras.regularizers.L2)
    config = constructor_config(probe)
    assert list(config) == ["units", "kernel_initializer", "kernel_regularizer", "kernel_constraint", "scale"]
    assert config["units"] == 3 and config["scale"] == 2.0
    assert config["kernel_regularizer"] == keras.regularizers.serialize(probe.kernel_regularizer)
