"""Why the constant error carousel works: input-gate traces and the vanishing gradient.

* :func:`input_gate_trace`: the LSTM1997 input gates over one adding-problem
  sequence (they open at the marked pairs), :func:`gate_selectivity` and
  :func:`plot_input_gates`;
* :func:`gradient_norms`: ``||d y_T / d x_t||`` for every step ``t``
  (:func:`input_gradient`: on the TensorFlow, JAX and PyTorch backends);
  :func:`vanishing_gradient` measures it for a simple RNN and the 1997 layer
  (and optionally a trained model), :func:`gradient_ratios` condenses it and
  :func:`plot_vanishing_gradient` draws it against the lag ``T - t``.

Example:

```python
norms = vanishing_gradient(T=100, seed=0)
gradient_ratios(norms)   # {"simple_rnn_init": ~1e-8, "lstm1997_init": ~0.9}
```
"""

from __future__ import annotations

import keras
import numpy as np

from lstm_apps.datasets.tasks.generators import adding_problem
from lstm_apps.layers import recurrent

__all__ = [
    "input_gate_trace",
    "gate_selectivity",
    "plot_input_gates",
    "input_gradient",
    "gradient_norms",
    "vanishing_gradient",
    "gradient_ratios",
    "plot_vanishing_gradient",
]


def input_gate_trace(model, length: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Input-gate activations of a model's ``"recurrent"`` LSTM1997 layer over one adding sequence.

    Args:
        model: a model from :func:`~lstm_apps.datasets.tasks.models.build_model`
            whose recurrent layer (right after ``Masking``) is an LSTM1997.
        length: T of the sequence (default 100).
        seed: the sequence's seed.

    Returns:
        ``(gates, marks)``: ``(steps, cells)`` input-gate activations (a
        block's cells repeat its gate) and the two marked positions.
    """
    b = adding_problem(1, T=length or 100, seed=seed)
    n = int(b.lengths[0])
    layer = model.get_layer("recurrent")
    if not hasattr(layer, "gate_activations"):
        raise ValueError(f"the model's recurrent layer must be an LSTM1997, received {type(layer).__name__}.")
    # the layer right after Masking sees the raw inputs, so its own telemetry applies
    gates = layer.gate_activations(b.x[:, :n])
    return np.asarray(gates["input_gate"][0, :n]), b.info["marks"][0]


def gate_selectivity(gates, marks) -> tuple[int, float, float]:
    """How sharply the input gates open at the marked steps, for the most selective cell.

    Args:
        gates: ``(steps, cells)`` gate activations.
        marks: the marked steps.

    Returns:
        ``(cell, mean at the marks, mean elsewhere)`` for the cell with the
        largest difference.
    """
    gates = np.asarray(gates)  # kept in its dtype: the means are those of the layer's own floats
    marks = np.asarray(marks, dtype=int)
    if gates.ndim != 2 or marks.size == 0 or marks.min() < 0 or marks.max() >= len(gates):
        raise ValueError(
            "gates must be (steps, cells) and marks steps of it; "
            f"received {gates.shape} and {marks.tolist()}."
        )
    at_marks, elsewhere = gates[marks].mean(axis=0), np.delete(gates, marks, axis=0).mean(axis=0)
    best = int(np.argmax(at_marks - elsewhere))
    return best, float(at_marks[best]), float(elsewhere[best])


def plot_input_gates(gates, marks, cells_per_block: int = 1):
    """A figure of one input gate per block against time, with the marked steps dashed."""
    import matplotlib.pyplot as plt

    gates = np.asarray(gates)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for k in range(0, gates.shape[1], cells_per_block):
        ax.plot(np.arange(len(gates)), gates[:, k], label=f"block {k // cells_per_block + 1}")
    for pos in marks:
        ax.axvline(pos, color="k", ls="--", lw=0.8)
    ax.set_xlabel("time step (dashed: the two marked pairs)")
    ax.set_ylabel("input gate y_in")
    ax.set_title("LSTM1997 input gates over one adding-problem sequence")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def input_gradient(model, x) -> np.ndarray:
    """``d sum(model(x)) / d x`` (inference mode) on Keras's TensorFlow, JAX or PyTorch backend.

    Keras has no backend-neutral gradient, so each backend's own is taken:
    ``tf.GradientTape``, ``jax.grad`` of the model's ``stateless_call``,
    ``torch.autograd.grad``.

    Args:
        model: a Keras model (or layer) with one output.
        x: its input, a float array.

    Returns:
        A float32 NumPy array shaped like ``x``.

    Raises:
        RuntimeError: Keras runs on a backend without gradients (named).

    Example:

    >>> model = keras.Sequential([keras.Input((5, 2)), keras.layers.SimpleRNN(3)])
    >>> input_gradient(model, np.ones((4, 5, 2))).shape
    (4, 5, 2)
    """
    x = np.asarray(x, dtype="float32")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf.reduce_sum(model(xt, training=False))
        return np.asarray(tape.gradient(y, xt))
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def total(xj):
            y, _ = model.stateless_call(trainable, non_trainable, xj, training=False)
            return jnp.sum(y)

        return np.asarray(jax.grad(total)(jnp.asarray(x)))
    if backend == "torch":
        import torch

        xt = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(model(xt, training=False).sum(), xt)
        return g.detach().cpu().numpy()
    raise RuntimeError(
        f"input gradients need Keras's TensorFlow, JAX or PyTorch backend, but this process runs Keras on "
        f"the {backend!r} backend."
    )


def gradient_norms(model, x) -> np.ndarray:
    """Mean over the batch of ``||d sum(y) / d x_t||`` for every step ``t``.

    Works on Keras's TensorFlow, JAX and PyTorch backends (:func:`input_gradient`).

    Args:
        model: a model with one output per sequence.
        x: ``(batch, steps, features)`` inputs.

    Returns:
        ``(steps,)`` gradient norms.
    """
    g = input_gradient(model, x)
    return np.linalg.norm(g, axis=-1).mean(axis=0)


def vanishing_gradient(T: int = 100, seed: int = 0, trained=None, batch: int = 16) -> dict[str, np.ndarray]:
    """Gradient norms of the final output w.r.t. every input step, on adding-problem sequences.

    Builds a simple RNN and an LSTM1997 (4 blocks of 2 cells, input-gate
    biases -3, -6, -9, -12, the paper's uniform weights) of 8 units with
    fresh weights, seeded by ``seed``.

    Args:
        T: the sequences' minimal length; the first ``T`` steps are used.
        seed: seeds the models' weights and the sequences.
        trained: optionally a trained model (inputs of ``T`` steps or more,
            padded with zeros) measured as ``"lstm1997 (trained on adding)"``.
        batch: sequences the norms are averaged over.

    Returns:
        ``{name: (T,) norms}``, ``name`` one of ``"simple_rnn (initial
        weights)"``, ``"lstm1997 (initial weights)"`` and the trained one.
    """
    keras.utils.set_random_seed(seed)
    x = adding_problem(batch, T=T, seed=seed).x[:, :T]
    models = {}
    for kind in ("simple_rnn", "lstm1997"):
        inp = keras.Input((T, 2))
        kw = {}
        if kind == "lstm1997":
            u = keras.initializers.RandomUniform(-0.1, 0.1)
            kw = dict(
                cells_per_block=2,
                input_gate_bias=[-3.0, -6.0, -9.0, -12.0],
                kernel_initializer=u,
                recurrent_initializer=u,
            )
        out = keras.layers.Dense(1)(recurrent(kind, 8, **kw)(inp))
        models[f"{kind} (initial weights)"] = keras.Model(inp, out)
    if trained is not None:
        models["lstm1997 (trained on adding)"] = trained
    norms = {}
    for name, m in models.items():
        steps = m.input_shape[1]
        xin = x if steps in (None, T) else np.pad(x, ((0, 0), (0, steps - T), (0, 0)))
        norms[name] = gradient_norms(m, xin)[:T]
    return norms


def gradient_ratios(norms) -> dict[str, float]:
    """``|dy/dx_1| / |dy/dx_T|`` per model: how much gradient survives the whole sequence.

    Keys are ``<kind>_init`` or ``<kind>_trained`` from :func:`vanishing_gradient`'s names.
    """
    out = {}
    for name, g in norms.items():
        key = name.split(" ")[0] + ("_trained" if "trained" in name else "_init")
        out[key] = float(g[0] / max(g[-1], 1e-30))
    return out


def plot_vanishing_gradient(norms):
    """A figure of each model's gradient norm against the lag ``T - t`` (log scale)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, g in norms.items():
        lag = len(g) - 1 - np.arange(len(g))
        ax.semilogy(lag, np.maximum(g, 1e-30), label=name)
    ax.set_xlabel("T - t (steps between input and output)")
    ax.set_ylabel("|| d y_T / d x_t ||")
    ax.set_title("Vanishing gradient: simple RNN vs. the constant error carousel")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
