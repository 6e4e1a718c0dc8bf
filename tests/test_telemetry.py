"""lstm_apps.telemetry: one function, gate_trace, reads the gates of every recurrent layer.

Golden values come from NumPy recurrences written here from the layers' weights (Keras's LSTM,
GRU and SimpleRNN) and from the NumPy references of the package's cells (tests/reference_*.py).
"""

import keras
import numpy as np
import pytest
import reference_min_rnn
import reference_slstm
from reference_lstm1997 import Reference as Reference1997

from lstm_apps.layers import (
    LSTM1997,
    SLSTM,
    AdaptiveForgetCell,
    ForgettingCurveCell,
    LSTM1997Cell,
    MethylationCell,
    MinGRU,
    MinLSTM,
    forgetting_cell_reference,
    methylation_cell_reference,
    recurrent,
)
from lstm_apps.telemetry import gate_trace, layer_inputs, trace_gates, walk_layers

L = keras.layers


def _inputs(kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "methylation":
        return rng.uniform(0.0, 1.0, (2, 7, 1)).astype("float32")
    if kind == "forgetting":  # [dt, study, one event feature]
        x = rng.uniform(0.0, 3.0, (2, 7, 3)).astype("float32")
        x[..., 1] = rng.random((2, 7)) < 0.5
        return x
    return rng.normal(size=(2, 7, 3)).astype("float32")


CELLS = {
    "lstm1997": lambda: LSTM1997Cell(4, cells_per_block=2, forget_gate=True),
    "adaptive": lambda: AdaptiveForgetCell(3),
    "methylation": lambda: MethylationCell(3),
    "forgetting": lambda: ForgettingCurveCell(3),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_traced_output_is_the_cells_output(name):
    """The wrapper shares the cell's weights and initial state: its "output" is what
    keras.layers.RNN(cell) returns, and its states follow the cell's own recursion."""
    cell = CELLS[name]()
    x = _inputs("lstm" if name in ("lstm1997", "adaptive") else name)
    expected = np.asarray(keras.layers.RNN(cell, return_sequences=True)(x))
    trace = trace_gates(cell, x)
    assert next(iter(trace)) == "output"
    np.testing.assert_allclose(trace["output"], expected, atol=1e-6)
    assert "cell_state" in trace and all(v.shape[:2] == x.shape[:2] for v in trace.values())


def test_gray_box_gates_obey_their_equations():
    x = _inputs("methylation")
    trace = trace_gates(MethylationCell(3, mu_init=[0.9, 0.95, 0.99]), x)
    f, i, g, p = (trace[k] for k in ("forget_gate", "input_gate", "cell_input", "cell_state"))
    np.testing.assert_allclose(i, 1.0 - f, atol=1e-6)
    np.testing.assert_allclose(p[:, 1:], f[:, 1:] * p[:, :-1] + i[:, 1:] * g[:, 1:], atol=1e-6)

    x = _inputs("lstm")
    trace = trace_gates(AdaptiveForgetCell(3), x)
    np.testing.assert_allclose(
        trace["output"], trace["output_gate"] * np.tanh(trace["cell_state"]), atol=1e-6
    )

    x = _inputs("forgetting")
    cell = ForgettingCurveCell(3)
    trace = trace_gates(cell, x)
    tau = cell.physical_parameters()["tau"]
    np.testing.assert_allclose(trace["forget_gate"], np.exp(-x[..., :1] / tau), rtol=1e-5, atol=1e-7)
    studied = x[..., 1] == 1.0
    assert np.all(trace["input_gate"][~studied] == 0.0) and np.all(trace["input_gate"][studied] > 0.0)


def test_lstm1997_gates_repeat_per_block_and_follow_the_carousel():
    cell = LSTM1997Cell(4, cells_per_block=2)
    x = _inputs("lstm")
    trace = trace_gates(cell, x)
    assert list(trace) == ["output", "input_gate", "output_gate", "cell_state"]
    np.testing.assert_array_equal(trace["input_gate"][..., 0], trace["input_gate"][..., 1])
    squashed = 2.0 / (1.0 + np.exp(-trace["cell_state"])) - 1.0
    np.testing.assert_allclose(trace["output"], trace["output_gate"] * squashed, atol=1e-6)


def test_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="gate_step.*StackedRNNCells"):
        trace_gates(L.StackedRNNCells([L.GRUCell(2)]), np.zeros((1, 3, 2), "float32"))
    with pytest.raises(ValueError, match=r"\(batch, timesteps, features\), received shape \(3, 2\)"):
        trace_gates(MethylationCell(2), np.zeros((3, 2), "float32"))


def test_walk_layers_and_layer_inputs():
    inner = keras.Sequential([keras.Input((5, 2)), keras.layers.Dense(3, name="inner_dense")], name="inner")
    wrapped = keras.layers.TimeDistributed(keras.layers.Dense(2, name="wrapped"))
    model = keras.Sequential([keras.Input((5, 2)), inner, wrapped, keras.layers.LSTM(2, name="last")])
    names = [layer.name for layer in walk_layers(model)]
    assert {"inner", "inner_dense", "wrapped", "last"} <= set(names)
    x = np.ones((2, 5, 2), "float32")
    x[1, 3:] = 0.0
    fed, mask = layer_inputs(model, model.get_layer("last"), x)
    np.testing.assert_allclose(fed, wrapped(inner(x)), atol=1e-6)
    assert mask is None
    masked = keras.Sequential([keras.Input((5, 2)), keras.layers.Masking(0.0), keras.layers.LSTM(2)])
    fed, mask = layer_inputs(masked, masked.layers[-1], x)
    np.testing.assert_allclose(fed, x)
    np.testing.assert_array_equal(mask, np.any(x != 0, axis=-1))


# ---------------------------------------------------------------------------
# NumPy references written from the weights
# ---------------------------------------------------------------------------
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
}


def _recurrence(step, x, states, mask=None, go_backwards=False, zero_output_for_mask=False):
    """Run ``step(x_t, states) -> (output, states, gates)`` with Keras's masking rule (a masked step
    keeps the states and repeats the previous output, zeros before the first unmasked step).

    Returns outputs and gates ``(batch, T, width)`` in the original time order."""
    n, steps, _ = x.shape
    mask = np.ones((n, steps), bool) if mask is None else np.asarray(mask, bool)
    outputs, gates, shown = None, {}, None
    for t in range(steps - 1, -1, -1) if go_backwards else range(steps):
        out, new_states, g = step(x[:, t].astype("float64"), states)
        keep = mask[:, t, None]
        states = [np.where(keep, new, old) for new, old in zip(new_states, states)]
        if outputs is None:
            outputs, shown = np.zeros((n, steps, out.shape[-1])), np.zeros_like(out)
        shown = np.where(keep, out, 0.0 if zero_output_for_mask else shown)
        outputs[:, t] = shown
        for name, v in g.items():
            gates.setdefault(name, np.zeros((n, steps, v.shape[-1])))[:, t] = v
    return outputs, gates


def _keras_lstm_reference(layer):
    cell = layer.cell
    kernel, rec, *rest = (np.asarray(w, "float64") for w in layer.get_weights())
    bias = rest[0] if rest else 0.0
    act, ract = ACTIVATIONS[cell.activation.__name__], ACTIVATIONS[cell.recurrent_activation.__name__]

    def step(x_t, states):
        h, c = states
        z_i, z_f, z_c, z_o = np.split(x_t @ kernel + h @ rec + bias, 4, axis=-1)
        i, f, g, o = ract(z_i), ract(z_f), act(z_c), ract(z_o)
        c = f * c + i * g
        h = o * act(c)
        gates = {"input_gate": i, "forget_gate": f, "cell_input": g, "output_gate": o, "cell_state": c}
        return h, [h, c], gates

    return step, 2


def _keras_gru_reference(layer):
    cell = layer.cell
    u = cell.units
    kernel, rec, *rest = (np.asarray(w, "float64") for w in layer.get_weights())
    bias = rest[0] if rest else np.zeros((2, 3 * u) if cell.reset_after else (3 * u,))
    b_in, b_rec = (bias[0], bias[1]) if cell.reset_after else (bias, np.zeros(3 * u))
    act, ract = ACTIVATIONS[cell.activation.__name__], ACTIVATIONS[cell.recurrent_activation.__name__]

    def step(x_t, states):
        (h,) = states
        xp = x_t @ kernel + b_in
        if cell.reset_after:
            hp = h @ rec + b_rec
            z = ract(xp[:, :u] + hp[:, :u])
            r = ract(xp[:, u : 2 * u] + hp[:, u : 2 * u])
            cand = act(xp[:, 2 * u :] + r * hp[:, 2 * u :])
        else:
            z = ract(xp[:, :u] + h @ rec[:, :u])
            r = ract(xp[:, u : 2 * u] + h @ rec[:, u : 2 * u])
            cand = act(xp[:, 2 * u :] + (r * h) @ rec[:, 2 * u :])
        h = z * h + (1.0 - z) * cand
        return h, [h], {"update_gate": z, "reset_gate": r, "candidate": cand}

    return step, 1


def _simple_rnn_reference(layer):
    kernel, rec, *rest = (np.asarray(w, "float64") for w in layer.get_weights())
    bias = rest[0] if rest else 0.0
    act = ACTIVATIONS[layer.cell.activation.__name__]

    def step(x_t, states):
        pre = x_t @ kernel + bias + states[0] @ rec
        return act(pre), [act(pre)], {"pre_activation": pre}

    return step, 1


REFERENCES = {L.LSTM: _keras_lstm_reference, L.GRU: _keras_gru_reference, L.SimpleRNN: _simple_rnn_reference}


def _reference(layer, x, mask=None):
    step, n_states = REFERENCES[type(layer)](layer)
    zeros = [np.zeros((x.shape[0], layer.cell.units)) for _ in range(n_states)]
    return _recurrence(
        step, x, zeros, mask, go_backwards=layer.go_backwards, zero_output_for_mask=layer.zero_output_for_mask
    )


def _randomise(layer, seed=0, scale=0.7):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=scale, size=w.shape).astype("float32") for w in layer.get_weights()])


def _check_against_reference(layer, x, mask=None, trace=None):
    """The trace's output is the layer's own output; every traced gate is the reference's."""
    trace = gate_trace(layer, x, mask=mask) if trace is None else trace
    kwargs = {} if mask is None else {"mask": mask}
    own = np.asarray(layer(x, **kwargs))
    if layer.go_backwards:
        own = own[:, ::-1]
    np.testing.assert_allclose(trace["output"], own, atol=1e-5)
    ref_out, ref_gates = _reference(layer, x, mask)
    np.testing.assert_allclose(trace["output"], ref_out, atol=1e-5)
    assert set(trace) - {"output", "mask"} == set(ref_gates)
    keep = np.ones(x.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    for name, ref in ref_gates.items():
        np.testing.assert_allclose(trace[name][keep], ref[keep], atol=1e-5, err_msg=name)
    return trace


KERAS_LAYERS = {
    "lstm": lambda: L.LSTM(3, return_sequences=True),
    "lstm_hard_sigmoid_no_bias": lambda: L.LSTM(
        3, return_sequences=True, recurrent_activation="hard_sigmoid", use_bias=False
    ),
    "lstm_relu_impl1_backwards": lambda: L.LSTM(
        3, return_sequences=True, activation="relu", implementation=1, go_backwards=True
    ),
    "gru_reset_after": lambda: L.GRU(3, return_sequences=True, reset_after=True),
    "gru_reset_before": lambda: L.GRU(3, return_sequences=True, reset_after=False),
    "gru_reset_before_no_bias": lambda: L.GRU(3, return_sequences=True, reset_after=False, use_bias=False),
    "gru_reset_after_no_bias_sigmoid": lambda: L.GRU(
        3, return_sequences=True, reset_after=True, use_bias=False, activation="sigmoid"
    ),
    "gru_hard_sigmoid_backwards": lambda: L.GRU(
        3, return_sequences=True, recurrent_activation="hard_sigmoid", go_backwards=True
    ),
    "simple_rnn": lambda: L.SimpleRNN(3, return_sequences=True),
    "simple_rnn_relu_no_bias": lambda: L.SimpleRNN(
        3, return_sequences=True, activation="relu", use_bias=False
    ),
}


@pytest.mark.parametrize("name", sorted(KERAS_LAYERS))
def test_keras_layers_match_numpy_recurrences(name):
    """Keras's LSTM, GRU (both reset_after settings) and SimpleRNN, with their activation,
    recurrent_activation and use_bias options: output = the layer's, gates = the reference's."""
    layer = KERAS_LAYERS[name]()
    x = _inputs("lstm", seed=1)
    layer(x)
    _randomise(layer, seed=2)
    trace = _check_against_reference(layer, x)
    assert "mask" not in trace and next(iter(trace)) == "output"


def test_keras_lstm_cell_state_is_the_layers_state():
    layer = L.LSTM(3, return_sequences=True, return_state=True)
    x = _inputs("lstm", seed=3)
    _, h, c = layer(x)
    trace = gate_trace(layer, x)
    np.testing.assert_allclose(trace["output"][:, -1], h, atol=1e-6)
    np.testing.assert_allclose(trace["cell_state"][:, -1], c, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_masked_steps_carry_the_state_and_are_marked(kind, zero_output_for_mask):
    """Right- and left-padded sequences: gates equal the reference at the computed steps, the
    output equals the layer's at every step, the states are carried over the masked steps."""
    layer = (L.LSTM if kind == "lstm" else L.GRU)(
        3, return_sequences=True, zero_output_for_mask=zero_output_for_mask
    )
    x = _inputs("lstm", seed=4)
    mask = np.ones(x.shape[:2], bool)
    mask[0, 4:] = False
    mask[1, :2] = False
    layer(x)
    _randomise(layer, seed=5)
    trace = _check_against_reference(layer, x, mask)
    np.testing.assert_array_equal(trace["mask"], mask)
    if kind == "lstm" and not zero_output_for_mask:
        np.testing.assert_allclose(trace["cell_state"][0, 4:], trace["cell_state"][0, 3:4].repeat(3, 0))


def test_model_with_embedding_mask_zero():
    """The inputs of the recurrent layer are computed by the model (Embedding), with its mask."""
    model = keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            L.Embedding(20, 4, mask_zero=True, name="embedding"),
            L.LSTM(3, return_sequences=True, name="encoder"),
            L.Dense(1),
        ]
    )
    _randomise(model.get_layer("encoder"), seed=6)
    tokens = np.array([[3, 5, 7, 2, 0, 0], [1, 4, 9, 9, 8, 6]])
    trace = gate_trace(model, tokens)
    np.testing.assert_array_equal(trace["mask"], tokens != 0)
    embedded = np.asarray(model.get_layer("embedding")(tokens))
    encoder = model.get_layer("encoder")
    _check_against_reference(encoder, embedded, tokens != 0, trace=trace)
    # the same layer by name, by index and as a layer object
    for pick in ("encoder", 0, -1, encoder):
        np.testing.assert_array_equal(
            gate_trace(model, tokens, layer=pick)["forget_gate"], trace["forget_gate"]
        )


def test_bidirectional_names_and_time_order():
    """forward_*/backward_* arrays, both in the original time order: side by side they are the
    Bidirectional's output; the backward gates are the reference run backwards."""
    bi = L.Bidirectional(L.GRU(3, return_sequences=True, reset_after=False), name="bi")
    model = keras.Sequential(
        [keras.Input((7, 3)), L.Masking(0.0), bi, L.LSTM(2, return_sequences=True, name="top")]
    )
    for sub in (bi.forward_layer, bi.backward_layer):
        _randomise(sub, seed=7)
    x = _inputs("lstm", seed=8)
    x[0, 5:] = 0.0
    mask = np.any(x != 0, axis=-1)
    trace = gate_trace(model, x)
    assert list(trace) == [
        *(f"forward_{k}" for k in ("output", "update_gate", "reset_gate", "candidate")),
        *(f"backward_{k}" for k in ("output", "update_gate", "reset_gate", "candidate")),
        "mask",
    ]
    np.testing.assert_allclose(
        np.concatenate([trace["forward_output"], trace["backward_output"]], axis=-1),
        bi(x, mask=mask),
        atol=1e-5,
    )
    for prefix, sub in (("forward_", bi.forward_layer), ("backward_", bi.backward_layer)):
        part = {k[len(prefix) :]: v for k, v in trace.items() if k.startswith(prefix)}
        _check_against_reference(sub, x, mask, trace={**part, "mask": trace["mask"]})
    # one direction alone, by the name of the wrapped layer
    backward = gate_trace(model, x, layer=bi.backward_layer.name)
    np.testing.assert_array_equal(backward["reset_gate"], trace["backward_reset_gate"])
    # the next recurrent layer is fed the Bidirectional's output
    top = gate_trace(model, x, layer="top")
    np.testing.assert_allclose(top["output"], model(x), atol=1e-5)


def test_nested_model_and_dense_before_the_layer():
    inner = keras.Sequential([keras.Input((7, 4)), L.SimpleRNN(3, return_sequences=True, name="deep")])
    model = keras.Sequential([keras.Input((7, 3)), L.Dense(4, name="proj"), inner, L.Dense(1)])
    x = _inputs("lstm", seed=9)
    trace = gate_trace(model, x)
    np.testing.assert_allclose(trace["output"], inner(model.get_layer("proj")(x)), atol=1e-6)


# ---------------------------------------------------------------------------
# the package's cells against their NumPy references
# ---------------------------------------------------------------------------
OPTIONS_1997 = [
    {},
    {"cells_per_block": 2, "forget_gate": True},
    {"squash": "tanh", "truncate_gradients": False, "fast_path": False},
    {"cells_per_block": 2, "go_backwards": True},
]


@pytest.mark.parametrize("options", OPTIONS_1997, ids=str)
def test_lstm1997_matches_reference(options):
    layer = LSTM1997(4, return_sequences=True, **options)
    x = _inputs("lstm", seed=10)
    layer(x)
    _randomise(layer, seed=11, scale=0.6)
    trace = gate_trace(layer, x)
    cell = layer.cell
    ref = Reference1997(*layer.get_weights(), cell.units, cell.cells_per_block, cell.forget_gate, cell.squash)
    xr = x[:, ::-1] if layer.go_backwards else x
    ref_h, ref_gates = ref.forward(xr)
    if layer.go_backwards:  # gate_trace: the original time order
        ref_h, ref_gates = (
            ref_h[:, ::-1],
            {k: None if v is None else v[:, ::-1] for k, v in ref_gates.items()},
        )
    np.testing.assert_allclose(trace["output"], ref_h, atol=1e-5)
    own = np.asarray(layer(x))
    np.testing.assert_allclose(trace["output"], own[:, ::-1] if layer.go_backwards else own, atol=1e-5)
    for name, ref_gate in ref_gates.items():
        if ref_gate is None:
            assert name not in trace
        else:
            np.testing.assert_allclose(trace[name], ref_gate, atol=1e-5, err_msg=name)
    # the thin wrapper keeps its order: the order the layer processed the steps
    wrapped = layer.gate_activations(x)
    np.testing.assert_array_equal(
        wrapped["input_gate"], trace["input_gate"][:, ::-1] if layer.go_backwards else trace["input_gate"]
    )


def test_lstm1997_stateful_reads_the_carried_state():
    layer = LSTM1997(3, return_sequences=True, stateful=True)
    x = _inputs("lstm", seed=12)
    layer(x)
    trace = gate_trace(layer, x)  # starts from the state the first call left
    np.testing.assert_allclose(trace["output"], layer(x), atol=1e-6)


@pytest.mark.parametrize("kind", ["min_gru", "min_lstm"])
@pytest.mark.parametrize("parallel", [True, False])
def test_min_cells_match_reference_with_mask_and_go_backwards(kind, parallel):
    layer = (MinGRU if kind == "min_gru" else MinLSTM)(
        4, return_sequences=True, parallel=parallel, go_backwards=not parallel
    )
    x = _inputs("lstm", seed=13)
    mask = np.ones(x.shape[:2], bool)
    mask[0, 5:] = False
    layer(x)
    _randomise(layer, seed=14)
    trace = gate_trace(layer, x, mask=mask)
    kernel, bias = layer.get_weights()
    ref_out, _, ref_gates = reference_min_rnn.forward(
        kind, x, kernel, bias, 4, mask=mask, go_backwards=layer.go_backwards
    )
    own = np.asarray(layer(x, mask=mask))
    if layer.go_backwards:  # the reference and the layer: processing order
        ref_out, own = ref_out[:, ::-1], own[:, ::-1]
        ref_gates = {k: v[:, ::-1] for k, v in ref_gates.items()}
    np.testing.assert_allclose(trace["output"], own, atol=1e-5)
    np.testing.assert_allclose(trace["output"], ref_out, atol=1e-5)
    assert set(trace) == {"output", "mask", *ref_gates}
    for name, ref in ref_gates.items():
        np.testing.assert_allclose(trace[name][mask], ref[mask], atol=1e-5, err_msg=name)


@pytest.mark.parametrize("options", [{}, {"num_heads": 2, "forget_activation": "exp"}], ids=str)
def test_slstm_matches_reference(options):
    layer = SLSTM(4, return_sequences=True, **options)
    x = _inputs("lstm", seed=15)
    mask = np.ones(x.shape[:2], bool)
    mask[1, 4:] = False
    layer(x)
    _randomise(layer, seed=16, scale=0.5)
    trace = gate_trace(layer, x, mask=mask)
    kernel, rec, bias = layer.get_weights()
    ref_out, _, ref_gates = reference_slstm.forward(
        x,
        kernel,
        rec,
        bias,
        4,
        num_heads=layer.num_heads,
        forget_activation=layer.cell.forget_activation,
        mask=mask,
    )
    np.testing.assert_allclose(trace["output"], layer(x, mask=mask), atol=1e-5)
    np.testing.assert_allclose(trace["output"], ref_out, atol=1e-5)
    assert set(trace) == {"output", "mask", *ref_gates}
    for name, ref in ref_gates.items():
        np.testing.assert_allclose(trace[name][mask], ref[mask], atol=1e-5, rtol=1e-5, err_msg=name)


def test_gray_box_layers_match_their_references():
    """The factory's gray-box kinds (a cell in keras.layers.RNN) trace like any layer."""
    methylation = recurrent("methylation", 3, return_sequences=True)
    dose = _inputs("methylation", seed=17)
    trace = gate_trace(methylation, dose)
    params = methylation.cell.physical_parameters()
    ref = methylation_cell_reference(dose, params["mu"], params["delta"], params["inhibition"])
    np.testing.assert_allclose(trace["output"], ref, atol=1e-5)
    np.testing.assert_allclose(trace["cell_state"], ref, atol=1e-5)

    forgetting = recurrent("forgetting_curve", 3, return_sequences=True)
    x = _inputs("forgetting", seed=18)
    trace = gate_trace(forgetting, x)
    p, _, s_after = forgetting_cell_reference(x, forgetting.cell.numpy_parameters())
    np.testing.assert_allclose(trace["output"][..., 0], p, atol=1e-5)
    np.testing.assert_allclose(trace["cell_state"], s_after, atol=1e-5)

    adaptive = recurrent("adaptive_forget", 3, return_sequences=True)
    x = _inputs("lstm", seed=19)
    trace = gate_trace(adaptive, x)
    assert list(trace) == ["output", "input_gate", "forget_gate", "output_gate", "cell_state"]
    np.testing.assert_allclose(trace["output"], adaptive(x), atol=1e-6)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
class _OpaqueCell(L.Layer):
    """A valid Keras cell without gate_step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = 2
        self.output_size = 2

    def call(self, inputs, states):
        return inputs[:, :2] + states[0], [inputs[:, :2] + states[0]]


def test_errors_name_the_layers():
    x = _inputs("lstm")
    with pytest.raises(ValueError, match="Dense 'dense_x', which has no recurrence"):
        gate_trace(L.Dense(2, name="dense_x"), x)
    with pytest.raises(ValueError, match="_OpaqueCell.*no gate_step"):
        gate_trace(L.RNN(_OpaqueCell(), name="opaque"), x)
    dense_only = keras.Sequential([keras.Input((7, 3)), L.Dense(2, name="only")], name="flat")
    with pytest.raises(ValueError, match=r"model 'flat' has no recurrent layer.*\['only'\]"):
        gate_trace(dense_only, x)

    model = keras.Sequential(
        [
            keras.Input((7, 3)),
            L.Dense(3, name="proj"),
            L.GRU(2, return_sequences=True, name="g"),
            L.LSTM(2, name="l"),
        ],
        name="two",
    )
    choices = r"0: 'g' \(GRU\), 1: 'l' \(LSTM\)"
    with pytest.raises(
        ValueError, match=f"'proj' of model 'two' is a Dense, which has no recurrence.*{choices}"
    ):
        gate_trace(model, x, layer="proj")
    with pytest.raises(ValueError, match=f"model 'two' has no layer 'nope'.*{choices}"):
        gate_trace(model, x, layer="nope")
    with pytest.raises(ValueError, match=f"layer=2 is out of range.*{choices}"):
        gate_trace(model, x, layer=2)
    with pytest.raises(ValueError, match="received 1.5 of type float"):
        gate_trace(model, x, layer=1.5)
    with pytest.raises(ValueError, match="has no layer 'outsider'"):
        gate_trace(model, x, layer=L.LSTM(2, name="outsider"))
    with pytest.raises(ValueError, match="layer= picks a layer of a model"):
        gate_trace(model.get_layer("g"), x, layer=0)
    with pytest.raises(ValueError, match="a model computes the mask"):
        gate_trace(model, x, mask=np.ones((2, 7), bool))
    with pytest.raises(ValueError, match=r"\(batch, timesteps, features\), received shape \(7, 3\)"):
        gate_trace(model.get_layer("g"), x[0])

    twins = keras.Sequential(
        [
            keras.Input((7, 3)),
            keras.Sequential([keras.Input((7, 3)), L.GRU(3, return_sequences=True, name="rnn")], name="a"),
            keras.Sequential([keras.Input((7, 3)), L.GRU(3, return_sequences=True, name="rnn")], name="b"),
        ]
    )
    with pytest.raises(ValueError, match="layer='rnn' is ambiguous: 2 recurrent layers"):
        gate_trace(twins, x, layer="rnn")
    second = gate_trace(twins, x, layer=1)  # by index: the second nested model's GRU
    np.testing.assert_allclose(second["output"], twins(x), atol=1e-6)
