"""The Keras models of the long-time-lag experiments, sized as the task's :class:`TaskConfig` says.

Masking (so padded steps carry the state unchanged) -> one recurrent layer ->
output units fed by the memory cells only, as in the paper (tasks with
``input_to_output``: and by the inputs, as through the paper's
input-to-output connections). LSTM1997 gets the paper's structure: memory
cell blocks sharing an input and an output gate, negative staggered
input-gate biases and truncated ("scissors") gradients; other kinds
(``lstm``, ``gru``, ``simple_rnn``) get as many units as it has memory cells.

Example:

```python
from lstm_apps.datasets import tasks
from lstm_apps.datasets.tasks.models import build_model

model = build_model("adding", "lstm1997", features=2, outputs=1, steps=110,
                    config=tasks.task_spec("adding").config)
```
"""

from __future__ import annotations

import keras

from lstm_apps.datasets.tasks.registry import TaskConfig, task_spec
from lstm_apps.layers import recurrent

__all__ = ["build_model"]


def build_model(
    task: str,
    cell: str,
    features: int,
    outputs: int,
    steps: int,
    config: TaskConfig,
    truncate: bool = True,
    learning_rate: float = 0.01,
    half_life_batches: int = 250,
) -> keras.Model:
    """A compiled model for ``task``.

    Args:
        task: the task's name (its output kind decides the head and loss:
            a linear unit and MSE for regression, softmax units and
            cross-entropy otherwise, at every step for next-symbol tasks).
        cell: the recurrent kind (``"lstm1997"``, ``"lstm"``, ``"gru"``,
            ``"simple_rnn"`` or one registered in :mod:`lstm_apps.layers`).
        features: input units.
        outputs: output units.
        steps: time steps of the (padded) input.
        config: the net: blocks, cells per block, gate biases, initializer.
        truncate: LSTM1997's truncated gradients (False: full BPTT).
        learning_rate: Adam's starting learning rate.
        half_life_batches: weight updates after which the learning rate halves.

    Returns:
        A compiled ``keras.Model`` whose recurrent layer is named ``"recurrent"``.
    """
    spec = task_spec(task)
    if not isinstance(config, TaskConfig):
        raise ValueError(f"config must be a TaskConfig, received {type(config).__name__}.")
    kwargs = dict(return_sequences=spec.output == "next_symbol", name="recurrent")
    if cell == "lstm1997":
        kwargs.update(
            cells_per_block=config.cells_per_block,
            input_gate_bias=config.input_gate_biases(),
            output_gate_bias=config.output_bias,
            truncate_gradients=truncate,
        )
        if config.init == "uniform":  # the paper's weights, uniform in [-0.1, 0.1]
            uniform = keras.initializers.RandomUniform(-0.1, 0.1)
            kwargs.update(kernel_initializer=uniform, recurrent_initializer=uniform)
    inputs = keras.Input((steps, features), name="sequence")
    h = keras.layers.Masking(0.0)(inputs)
    h = recurrent(cell, config.units, **kwargs)(h)
    if spec.input_to_output:
        # trivial predictions (long lag: a_i -> a_{i+1}) come straight from the input, as through the
        # paper's input-to-output connections; only the one across the lag needs the memory cell
        h = keras.layers.Concatenate()([h, inputs])
    if spec.output == "regression":
        out = keras.layers.Dense(outputs, name="output")(h)
        loss = "mse"
    else:
        out = keras.layers.Dense(outputs, activation="softmax", name="output")(h)
        loss = "categorical_crossentropy"
    model = keras.Model(inputs, out, name=f"{task}_{cell}")
    schedule = keras.optimizers.schedules.ExponentialDecay(learning_rate, max(1, half_life_batches), 0.5)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    return model
