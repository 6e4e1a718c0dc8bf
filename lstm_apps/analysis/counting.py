"""Does a trained recurrent net count? Cell-state traces, counter fits and phase detectors.

A net that recognises aⁿbⁿ by counting keeps, in some memory cell, a value
that goes up by a fixed step on each a and down on each b (Gers &
Schmidhuber 2001). :func:`state_traces` runs every recurrent layer of a model
over a string and returns its outputs and memory states step by step;
:func:`best_linear_unit` finds the unit whose state is best fitted by a line
of a target (the running count of :func:`~lstm_apps.datasets.formal_languages.running_counts`,
or the phase indicator of :func:`phase_indicator`) and its R²;
:func:`counter_analysis` does both for every layer, and :func:`plot_counter`
draws the states over the string and the fitted line.

Example:

```python
report = counter_analysis(model, "anbn", n=200)
report["layers"][-1]["counter"]["r2"]     # ~1.0 for a counting LSTM
fig = plot_counter(report)
```
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from lstm_apps.datasets import formal_languages as fl

__all__ = [
    "recurrent_layers",
    "state_traces",
    "linear_fit",
    "best_linear_unit",
    "phase_indicator",
    "counter_analysis",
    "plot_counter",
]


def _state_sizes(cell) -> list[int]:
    size = cell.state_size
    return [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)]


class _StateCell(keras.layers.Layer):
    """Wraps a built cell (sharing its weights): each step outputs ``[output, *states]``."""

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.state_size = cell.state_size
        self.sizes = _state_sizes(cell)
        self.out_size = int(getattr(cell, "output_size", None) or self.sizes[0])
        self.output_size = self.out_size + sum(self.sizes)

    def build(self, input_shape):
        self.built = True

    def get_initial_state(self, batch_size=None):
        get = getattr(self.cell, "get_initial_state", None)
        if get is None:
            return [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in self.sizes]
        states = get(batch_size=batch_size)
        return list(states) if isinstance(states, (list, tuple)) else [states]

    def call(self, inputs, states, training=False):
        nested = isinstance(self.cell.state_size, (list, tuple))
        output, new = self.cell.call(inputs, list(states) if nested else states[0], training=False)
        new = list(new) if isinstance(new, (list, tuple)) else [new]
        return ops.concatenate([output, *new], axis=-1), new


def recurrent_layers(model) -> list[keras.layers.RNN]:
    """The ``keras.layers.RNN`` layers of a model (Keras LSTM/GRU/SimpleRNN, LSTM1997, ...), in order."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]


def state_traces(model, x) -> list[dict[str, np.ndarray]]:
    """Run every recurrent layer of ``model`` over ``x`` and return its steps.

    Args:
        model: a built Keras model whose recurrent layers are ``keras.layers.RNN``
            instances reading their inputs forwards.
        x: a batch of the *model's* inputs; each layer's own inputs are computed.

    Returns:
        One dict per recurrent layer: ``"name"``; ``"output"`` ``(batch, steps,
        units)``, what the layer passes on (``h``); ``"state"`` ``(batch,
        steps, units)``, the memory: the cell's last state (the cell state
        ``c`` of an LSTM, ``s`` of the 1997 layer; ``h`` of a GRU or a simple
        RNN); ``"states"``, every state of the cell in its order.
    """
    layers = recurrent_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no recurrent (keras.layers.RNN) layer.")
    x = np.asarray(x, dtype="float32")
    feeder = keras.Model(model.inputs, [layer.input for layer in layers])
    inputs = feeder.predict(x, verbose=0)
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    traces = []
    for layer, layer_inputs in zip(layers, inputs):
        if layer.go_backwards:
            raise ValueError(f"layer {layer.name!r} reads backwards; expected forward recurrent layers.")
        wrapper = _StateCell(layer.cell, dtype=layer.dtype_policy)
        out = ops.convert_to_numpy(keras.layers.RNN(wrapper, return_sequences=True)(layer_inputs))
        states, pos = [], wrapper.out_size
        for size in wrapper.sizes:
            states.append(out[..., pos : pos + size])
            pos += size
        traces.append(
            {
                "name": layer.name,
                "output": out[..., : wrapper.out_size],
                "state": states[-1],
                "states": states,
            }
        )
    return traces


def linear_fit(values, target) -> tuple[float, float, float]:
    """Least-squares line ``values ~ slope * target + intercept`` and its R².

    Returns:
        ``(slope, intercept, r2)``; R² = 1 - SS_res / SS_tot of ``values``
        (0 for constant ``values`` or ``target``).

    Example:

    >>> linear_fit([1.0, 3.0, 5.0], [0, 1, 2])
    (2.0, 1.0, 1.0)
    """
    v = np.asarray(values, dtype="float64")
    t = np.asarray(target, dtype="float64")
    if v.shape != t.shape or v.ndim != 1 or len(v) < 2:
        raise ValueError(
            f"values and target must be 1-D of the same length >= 2, received {v.shape} and {t.shape}."
        )
    tc, vc = t - t.mean(), v - v.mean()
    sst, stt = float(vc @ vc), float(tc @ tc)
    if sst == 0.0 or stt == 0.0:
        return 0.0, float(v.mean()), 0.0
    slope = float(tc @ vc) / stt
    intercept = float(v.mean() - slope * t.mean())
    residual = vc - slope * tc
    return slope, intercept, float(1.0 - (residual @ residual) / sst)


def best_linear_unit(states, target) -> dict:
    """The unit whose trace is best fitted by a line of ``target``.

    Args:
        states: ``(steps, units)`` one string's states.
        target: ``(steps,)`` the running count (or phase) at each step.

    Returns:
        ``{"unit", "slope", "intercept", "r2", "r2_per_unit"}``.
    """
    s = np.asarray(states, dtype="float64")
    if s.ndim != 2:
        raise ValueError(f"states must be (steps, units), received shape {s.shape}.")
    fits = [linear_fit(s[:, j], target) for j in range(s.shape[1])]
    r2 = np.asarray([f[2] for f in fits])
    best = int(np.argmax(r2))
    return {
        "unit": best,
        "slope": fits[best][0],
        "intercept": fits[best][1],
        "r2": float(r2[best]),
        "r2_per_unit": r2.tolist(),
    }


def phase_indicator(name: str, letters) -> np.ndarray:
    """Which block of letters is being read, after ``S`` and after each letter.

    0 while reading ``S`` and the a's, 1 from the first b on (aⁿbⁿcⁿ: 2 from the
    first c on): what a phase detector tells the counter. Only for aⁿbⁿ and aⁿbⁿcⁿ.

    Example:

    >>> phase_indicator("anbn", [0, 0, 1, 1]).tolist()
    [0.0, 0.0, 0.0, 1.0, 1.0]
    """
    if name not in ("anbn", "anbncn"):
        raise ValueError(f"phase_indicator is defined for anbn and anbncn, received {name!r}.")
    x = np.asarray(letters, dtype="float64")
    return np.concatenate([[0.0], x])


def counter_analysis(model, name: str, n: int, seed=0) -> dict:
    """Trace one test string of size ``n`` and fit every recurrent layer's counter (and phase) unit.

    Args:
        model: the trained next-symbol model (inputs one-hot as
            :func:`~lstm_apps.datasets.formal_languages.encode` makes them).
        name: the language.
        n: the size of the string traced.
        seed: the test strings' seed (for the random languages).

    Returns:
        ``{"name", "n", "letters", "counts" (the running counts),
        "count_name" (the one fitted), "phase" (or None), "layers": [{"name",
        "state", "output", "counter": best_linear_unit of the memory states
        against the count, "phase": best_linear_unit of the outputs against
        the phase (or None)}]}``. For aⁿbⁿcⁿ the count fitted is whichever of
        ``a-b``, ``b-c``, ``a-c`` a unit fits best.
    """
    batch = fl.test_strings(name, [n], seed=seed)
    letters = fl.tokens(name, n, np.random.default_rng([int(seed), n]))
    counts = fl.running_counts(name, letters)
    phase = phase_indicator(name, letters) if name in ("anbn", "anbncn") else None
    layers = []
    for trace in state_traces(model, batch.x):
        state, output = trace["state"][0], trace["output"][0]
        fits = {key: best_linear_unit(state, c) for key, c in counts.items()}
        key = max(fits, key=lambda k: fits[k]["r2"])
        layers.append(
            {
                "name": trace["name"],
                "state": state,
                "output": output,
                "count_name": key,
                "counter": fits[key],
                "phase": None if phase is None else best_linear_unit(output, phase),
            }
        )
    return {"name": name, "n": int(n), "letters": letters, "counts": counts, "phase": phase, "layers": layers}


def plot_counter(report: dict, symbols_shown: int = 60):
    """The memory states over the string (one panel per layer) and the best counter's fit.

    Args:
        report: what :func:`counter_analysis` returns.
        symbols_shown: the string's letters are written under the time axis when
            it is at most this long.

    Returns:
        A Matplotlib figure.
    """
    import matplotlib.pyplot as plt

    layers = report["layers"]
    fig, axes = plt.subplots(len(layers), 2, figsize=(11, 3.2 * len(layers)), squeeze=False)
    letters = fl.language(report["name"]).inputs
    text = "S" + "".join(letters[i + 1] for i in report["letters"])
    for row, layer in zip(axes, layers):
        fit, count = layer["counter"], report["counts"][layer["count_name"]]
        ax = row[0]
        ax.plot(layer["state"], lw=0.8, alpha=0.5)
        ax.plot(layer["state"][:, fit["unit"]], lw=2.0, color="black", label=f"unit {fit['unit']} (counter)")
        ax.set_title(f"{layer['name']}: memory states over {report['name']}, n = {report['n']}")
        ax.set_xlabel("step" if len(text) > symbols_shown else "input: " + text)
        ax.legend(fontsize=8, loc="upper left")
        if layer["phase"] is not None:  # the phase detector, on its own scale
            p = layer["phase"]
            twin = ax.twinx()
            twin.plot(layer["output"][:, p["unit"]], lw=1.5, ls="--", color="tab:red")
            twin.set_ylabel(f"output {p['unit']}: phase (R² {p['r2']:.3f})", color="tab:red")
        ax = row[1]
        ax.scatter(count, layer["state"][:, fit["unit"]], s=6)
        grid = np.linspace(count.min(), count.max(), 2)
        ax.plot(grid, fit["slope"] * grid + fit["intercept"], color="black", lw=1)
        ax.set_xlabel(f"running count ({layer['count_name']})")
        ax.set_ylabel(f"state of unit {fit['unit']}")
        ax.set_title(f"linear fit: R² = {fit['r2']:.4f}, slope {fit['slope']:.3g}")
    fig.tight_layout()
    return fig
