"""Sequence files with LiteRT's fused UNIDIRECTIONAL_SEQUENCE_LSTM op, and the op list of a file.

What fuses (keras.layers.LSTM, LSTM1997 through its map to a standard LSTM, go_backwards, both halves
of a Bidirectional) must hold the fused op and no WHILE loop, and match Keras within 1e-5; what
cannot fuse (other cells, masks, return_state) keeps the model's loop and says why. Every
conversion takes a few seconds, so each test converts one small model.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import lstm_apps.layers as L
from lstm_apps.export import SequenceRunner, file_ops, op_flags, to_tflite
from lstm_apps.export.fused import INT8_LSTM1997, lstm_fusion
from lstm_apps.export.ops import set_lstm_cell_clip

FUSED = "UNIDIRECTIONAL_SEQUENCE_LSTM"
FLOAT_TOL = 1e-5
T = 12


def _sequential(layer, features=3, steps=T):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((steps, features)), layer, keras.layers.Dense(2)])


def _x(n=6, steps=T, features=3, seed=0, scale=1.0):
    return (scale * np.random.default_rng(seed).normal(size=(n, steps, features))).astype("float32")


def _export(model, tmp_path, x, **kw):
    return to_tflite(model, tmp_path / "seq.tflite", mode="sequence", parity_inputs=x, **kw)


def _assert_fused(result, count=1):
    assert result.sequence_loop == "fused", result
    assert result.ops.get(FUSED) == count, result.ops
    assert "WHILE" not in result.ops and result.op_flags == [], result.ops
    assert set(result.fusion.values()) == {"fused"}, result.fusion


def test_keras_lstm_becomes_one_fused_op(tmp_path):
    model = _sequential(keras.layers.LSTM(8, return_sequences=True))
    x = _x()
    result = _export(model, tmp_path, x)
    _assert_fused(result)
    assert result.parity_max_abs <= FLOAT_TOL
    # the op's states are variable tensors: the runner resets them, so a second call gives the same
    runner = SequenceRunner(result.path)
    first, second = runner.predict(x), runner.predict(x)
    np.testing.assert_array_equal(first, second)
    # the file really carries its state between invocations when nobody resets it
    runner._run(x=x[:1])
    carried = np.array(runner._run(x=x[:1])["y"])
    assert np.max(np.abs(carried - first[:1])) > 1e-3


@pytest.mark.parametrize(
    "options",
    [
        dict(units=8, cells_per_block=2),  # paper squash, last output only
        dict(units=6, squash="tanh", forget_gate=True, return_sequences=True),
    ],
    ids=["paper,blocks=2", "tanh,forget_gate"],
)
def test_lstm1997_fuses_through_its_standard_lstm_map(tmp_path, options):
    opts = dict(options)
    model = _sequential(L.LSTM1997(opts.pop("units"), **opts))
    result = _export(model, tmp_path, _x())
    _assert_fused(result)
    assert result.parity_max_abs <= FLOAT_TOL


def test_go_backwards_and_bidirectional_fuse(tmp_path):
    x = _x()
    back = _export(_sequential(keras.layers.LSTM(8, go_backwards=True, return_sequences=True)), tmp_path, x)
    _assert_fused(back)
    assert "REVERSE_V2" in back.ops and back.parity_max_abs <= FLOAT_TOL
    bidi = keras.layers.Bidirectional(L.LSTM1997(5, return_sequences=True), merge_mode="sum")
    result = _export(_sequential(bidi), tmp_path, x)
    _assert_fused(result, count=2)  # one op per direction
    assert result.parity_max_abs <= FLOAT_TOL


def test_long_carousel_needs_the_cell_clip_off(tmp_path):
    # 20 steps up then 40 down drive the 1997 carousel s to ~36 and back through 0; as a standard LSTM
    # its state is s / 2 ~ 18, beyond the cell_clip of 10 the converter writes. The export turns the
    # clip off, so the file matches Keras; with the clip back on, the state turns back too early.
    units = 4
    layer = L.LSTM1997(units, return_sequences=True)
    model = keras.Sequential([keras.Input((60, 1)), layer])
    _, recurrent, _ = layer.cell.get_weights()
    gates = lambda i, c, o: np.concatenate([np.full(units, v, "float32") for v in (i, c, o)])  # noqa: E731
    layer.cell.set_weights([gates(0.0, 3.0, 0.0)[None], 0 * recurrent, gates(5.0, 0.0, 5.0)])
    x = np.concatenate([np.ones((2, 20, 1)), -np.ones((2, 40, 1))], axis=1).astype("float32")
    result = _export(model, tmp_path, x)
    _assert_fused(result)
    assert result.parity_max_abs <= FLOAT_TOL
    clipped, changed = set_lstm_cell_clip(result.path.read_bytes(), 10.0)
    assert changed == 1
    ref = model.predict(x, verbose=0)
    assert np.max(np.abs(SequenceRunner(clipped).predict(x) - ref)) > 0.5


def test_what_cannot_fuse_keeps_its_loop_and_says_why(tmp_path):
    keras.utils.set_random_seed(0)
    tokens = keras.Input((T,), dtype="int32")
    h = keras.layers.Embedding(20, 4, mask_zero=True)(tokens)
    h = keras.layers.LSTM(6, return_sequences=True, name="masked")(h)
    h = keras.layers.GRU(5, name="gru")(h)
    model = keras.Model(tokens, keras.layers.Dense(2)(h))
    ids = np.random.default_rng(0).integers(1, 20, size=(4, T)).astype("int32")
    ids[:, -3:] = 0  # padding
    result = _export(model, tmp_path, ids)
    assert result.parity_max_abs <= FLOAT_TOL
    assert "mask" in result.fusion["masked"]
    assert "GRUCell" in result.fusion["gru"]
    assert FUSED not in result.ops and "WHILE" in result.ops
    assert result.op_flags == ["control_flow"]


def test_return_state_is_not_fused(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((T, 3))
    seq, h, c = keras.layers.LSTM(6, return_sequences=True, return_state=True, name="enc")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(2)(seq), h + c])
    result = _export(model, tmp_path, _x())
    assert "return_state" in result.fusion["enc"]
    assert result.parity_max_abs <= FLOAT_TOL
    unfused = _export(_sequential(keras.layers.LSTM(8, return_sequences=True)), tmp_path, _x(), fuse=False)
    assert unfused.sequence_loop == "keras" and "WHILE" in unfused.ops and FUSED not in unfused.ops


def test_int8_sequence_is_fused_int16x8_says_why_not(tmp_path):
    model = _sequential(keras.layers.LSTM(8, return_sequences=True, name="lstm"))
    x = _x(16)
    int8 = to_tflite(model, tmp_path / "i8.tflite", mode="sequence", quantize="int8", representative_data=x)
    _assert_fused(int8)
    assert int8.parity_max_abs <= 0.05
    int16 = to_tflite(
        model, tmp_path / "i16.tflite", mode="sequence", quantize="int16x8", representative_data=x
    )
    assert int16.sequence_loop == "unrolled" and FUSED not in int16.ops and "WHILE" not in int16.ops
    assert int16.fusion["lstm"].startswith("not fused: int16x8")  # the converter's own words follow
    assert "16x8" in int16.fusion["lstm"] and "UNIDIRECTIONAL_SEQUENCE_LSTM" in int16.fusion["lstm"]
    assert int16.parity_max_abs <= 0.01


def test_int8_keeps_the_1997_layer_out_of_the_fused_op():
    layer = L.LSTM1997(4, return_sequences=True)
    _sequential(layer)
    form, reason = lstm_fusion(layer)
    assert reason is None and form.units == 4 and form.kernel.shape == (3, 16)
    assert lstm_fusion(layer, "int8") == (None, INT8_LSTM1997)
    assert lstm_fusion(layer, "dynamic")[1] is None
    lstm = keras.layers.LSTM(4)
    _sequential(lstm)
    assert lstm_fusion(lstm, "int8")[1] is None  # a Keras LSTM keeps the fused int8 kernel
    gru = keras.layers.GRU(4)
    _sequential(gru)
    assert "GRUCell" in lstm_fusion(gru)[1]


def test_file_ops_and_flags(tmp_path):
    result = _export(_sequential(keras.layers.LSTM(4)), tmp_path, _x())
    assert file_ops(result.path) == result.ops == {"FULLY_CONNECTED": 1, "STRIDED_SLICE": 1, FUSED: 1}
    assert op_flags(["ADD", "FLEX:TensorListReserve", "WHILE"]) == ["flex", "control_flow"]
    assert op_flags({"CUSTOM:MyOp": 1}) == ["custom"]
    assert op_flags(result.ops) == []
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        file_ops(b"\x00" * 64)
    with pytest.raises(ValueError, match="does not exist"):
        file_ops(tmp_path / "missing.tflite")
