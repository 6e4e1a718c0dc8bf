"""The Keras models of the long-time-lag experiments: the paper's nets, and ours.

:func:`build_model` builds a run's model from its
:class:`~lstm_apps.datasets.tasks.settings.TaskSettings`:

* ``net_kind="paper"``, LSTM1997: the paper's net of the task
  (:data:`~lstm_apps.datasets.tasks.paper.PAPER_NETS`) at the paper's weight
  count: the fully connected hidden layer (gate activations fed back), the
  biases on the units the paper biased, its initial gate biases and weight
  interval, no output gate and g/h of 2a/2b where it says so; logistic
  output units fed by the memory cells (2a/2b: and by the inputs), trained
  on the paper's squared error ``1/2 sum (t - y)^2``
  (:class:`PaperSquaredError`);
* ``net_kind="ours"``: masking, LSTM1997 with the task's
  :class:`~lstm_apps.datasets.tasks.registry.TaskConfig` (memory cell blocks,
  staggered input-gate biases), and softmax outputs with cross-entropy
  (classification, next symbol) or a linear unit with MSE (regression).

Other kinds (``lstm``, ``gru``, ``simple_rnn``) get as many units as the
LSTM1997 net has memory cells and the net's head. The optimizer is Adam with
a learning rate that halves every ``half_life_batches`` updates, or the
paper's plain SGD at a constant learning rate. Symbol-id inputs (5.2b, 5.2c)
are one-hot encoded inside the model by :class:`SymbolInputs`.

Example:

```python
from lstm_apps.datasets import tasks
from lstm_apps.datasets.tasks.models import build_model

settings = tasks.task_settings("adding")
model = build_model("adding", "lstm1997", features=2, outputs=1, steps=110, settings=settings)
model.count_params()   # 93, the paper's
```
"""

from __future__ import annotations

import keras
from keras import ops

from lstm_apps.datasets.tasks.registry import task_spec
from lstm_apps.datasets.tasks.settings import TaskSettings
from lstm_apps.layers import recurrent

__all__ = [
    "build_model",
    "SymbolInputs",
    "PaperSquaredError",
    "CellRowsMask",
    "SequentialConstruction",
    "construction_callbacks",
    "paper_differences",
]


@keras.saving.register_keras_serializable(package="lstm_apps")
class SymbolInputs(keras.layers.Layer):
    """Symbol ids to one-hot input vectors: id ``i + 1`` is input unit ``i``, id 0 the (masked) padding.

    Args:
        symbols: input units.
        **kwargs: standard layer arguments.
    """

    def __init__(self, symbols: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(symbols, bool) or not isinstance(symbols, int) or symbols < 1:
            raise ValueError(f"symbols must be a positive integer, received {symbols!r}.")
        self.symbols = symbols

    def call(self, ids):
        return ops.one_hot(ops.cast(ids, "int32") - 1, self.symbols)

    def compute_mask(self, ids, mask=None):
        return ops.greater(ids, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.symbols)

    def get_config(self):
        return {**super().get_config(), "symbols": self.symbols}


@keras.saving.register_keras_serializable(package="lstm_apps")
class PaperSquaredError(keras.losses.Loss):
    """The paper's error: ``1/2 sum_k (t_k - y_k)^2``, summed over output units, steps and sequences.

    With one sequence per update (the paper's on-line learning) its gradient
    is the paper's, so the paper's learning rates apply unchanged.
    """

    def __init__(self, name: str = "paper_squared_error", reduction: str = "sum", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        return 0.5 * ops.sum(ops.square(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package="lstm_apps")
class CellRowsMask(keras.constraints.Constraint):
    """Zeroes the first ``rows`` rows of a kernel (the memory cells' output weights) until opened.

    The output layer's kernel constraint under the paper's sequential
    construction: while closed, every update is followed by zeroing the rows
    fed by the memory cells, so the output units learn without them and, with
    no error reaching the cells, the cells' own weights do not change. Keras's
    optimizers apply constraints after each update, inside the compiled step.

    Args:
        rows: the leading kernel rows that belong to the memory cells.
        open: start open (the cells already added; a loaded model's mask is open).
    """

    def __init__(self, rows: int, open: bool = True):
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            raise ValueError(f"rows must be a positive integer, received {rows!r}.")
        self.rows = rows
        self.gate = keras.Variable(1.0 if open else 0.0, trainable=False, name="cell_rows_open")

    @property
    def is_open(self) -> bool:
        """Whether the memory cells' rows are trained."""
        return bool(float(self.gate.numpy()) > 0.5)

    def __call__(self, w):
        keep = ops.concatenate(
            [
                ops.ones((self.rows,), w.dtype) * ops.cast(self.gate, w.dtype),
                ops.ones((w.shape[0] - self.rows,), w.dtype),
            ]
        )
        return w * keep[:, None]

    def get_config(self):
        return {"rows": self.rows, "open": True}


class SequentialConstruction(keras.callbacks.Callback):
    """The paper's sequential network construction: the memory cell added once the error stops decreasing.

    Hochreiter & Schmidhuber (1997, section 4, "abuse problem"; Experiment
    2): a net whose cells are there from the start may use them as bias units;
    "a memory cell and the corresponding gate units are added to the network
    whenever the error stops decreasing". Phase one trains with the cells'
    output weights held at zero (:class:`CellRowsMask`), so the cells
    contribute nothing and their weights get no error; after the first epoch
    (``--check-every`` sequences) whose mean training loss is not below
    ``(1 - tol)`` times the best so far, the cells' output weights get back
    their initial random values and everything trains. Keras has no such
    schedule, hence this callback.

    Args:
        mask: the output kernel's :class:`CellRowsMask`.
        kernel: the output kernel variable.
        tol: the relative decrease that still counts as decreasing.
        verbose: print when the cells are added.
    """

    def __init__(self, mask: CellRowsMask, kernel, tol: float = 1e-3, verbose: int = 1):
        super().__init__()
        self.mask, self.kernel, self.tol, self.verbose = mask, kernel, float(tol), verbose
        self.best = float("inf")
        self.added_at_epoch = None
        self._initial = None

    def on_train_begin(self, logs=None):
        if self.mask.is_open:
            return
        self._initial = self.kernel.numpy()[: self.mask.rows].copy()
        self.kernel.assign(self.mask(self.kernel))

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if self.mask.is_open or loss is None:
            return
        if loss < self.best * (1.0 - self.tol):
            self.best = float(loss)
            return
        w = self.kernel.numpy()
        w[: self.mask.rows] = self._initial
        self.kernel.assign(w)
        self.mask.gate.assign(1.0)
        self.added_at_epoch = epoch + 1
        if self.verbose:
            print(f"Memory cells added after epoch {epoch + 1} (loss {loss:.4g}, best {self.best:.4g}).")


def construction_callbacks(model: keras.Model, verbose: int = 1) -> list[keras.callbacks.Callback]:
    """``[SequentialConstruction]`` for a model built with a closed :class:`CellRowsMask`, else ``[]``."""
    try:
        out = model.get_layer("output")
    except ValueError:
        return []
    mask = getattr(out, "kernel_constraint", None)
    if not isinstance(mask, CellRowsMask) or mask.is_open:
        return []
    return [SequentialConstruction(mask, out.kernel, verbose=verbose)]


def _optimizer(settings: TaskSettings):
    if settings.optimizer == "sgd":
        return keras.optimizers.SGD(settings.learning_rate)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        settings.learning_rate, max(1, settings.half_life_batches or 1), 0.5
    )
    return keras.optimizers.Adam(schedule)


def build_model(
    task: str,
    cell: str,
    features: int,
    outputs: int,
    steps: int | None,
    settings: TaskSettings,
    truncate: bool = True,
    symbolic: bool = False,
    jit_compile: bool | None = None,
) -> keras.Model:
    """A compiled model for a run of ``task``.

    Args:
        task: the task's name (its output kind decides the head of our net).
        cell: the recurrent kind (``"lstm1997"``, ``"lstm"``, ``"gru"``,
            ``"simple_rnn"`` or one registered in :mod:`lstm_apps.layers`).
        features: input units.
        outputs: output units.
        steps: time steps of the (padded) input (None: any).
        settings: the run's settings: the net (``net_kind``, ``net``,
            ``config``), optimizer and learning rate.
        truncate: LSTM1997's truncated gradients (False: full BPTT).
        symbolic: inputs are symbol ids (:class:`SymbolInputs`).
        jit_compile: compile the train step with XLA; None: unless the
            recurrent layer runs LSTM1997's fast loop (which compiles its own
            parts). XLA pays off over hundreds of batches: a seconds-long
            run is faster without it.

    Returns:
        A compiled ``keras.Model`` whose recurrent layer is named ``"recurrent"``.
    """
    spec = task_spec(task)
    if not isinstance(settings, TaskSettings):
        raise ValueError(f"settings must be a TaskSettings, received {type(settings).__name__}.")
    paper = settings.net_kind == "paper"
    net, config = settings.net, settings.config
    kwargs = dict(return_sequences=spec.output == "next_symbol", name="recurrent")
    units = net.units if paper else config.units
    if cell == "lstm1997":
        kwargs.update(truncate_gradients=truncate, cells_per_block=(net if paper else config).cells_per_block)
        if paper:
            kwargs.update(net.layer_kwargs())
        else:
            kwargs.update(input_gate_bias=config.input_gate_biases(), output_gate_bias=config.output_bias)
            if config.init == "uniform":  # the paper's weights, uniform in [-0.1, 0.1]
                uniform = keras.initializers.RandomUniform(-0.1, 0.1)
                kwargs.update(kernel_initializer=uniform, recurrent_initializer=uniform)
    if symbolic:
        inputs = keras.Input((steps,), dtype="int32", name="sequence")
        x = SymbolInputs(features, name="one_hot")(inputs)
        h = x
    else:
        inputs = keras.Input((steps, features), name="sequence")
        x = inputs
        h = keras.layers.Masking(0.0)(inputs)
    h = recurrent(cell, units, **kwargs)(h)
    if net.input_to_output if paper else spec.input_to_output:
        # trivial predictions (long lag: a_i -> a_{i+1}) come straight from the input, as through the
        # paper's input-to-output connections; only the one across the lag needs the memory cell
        h = keras.layers.Concatenate()([h, x])
    if paper:  # logistic output units, their weights (and biases) drawn like every other weight
        uniform = keras.initializers.RandomUniform(-net.init, net.init)
        staged = net.sequential_construction and cell == "lstm1997"  # the cells added later
        out = keras.layers.Dense(
            outputs, "sigmoid", use_bias=net.output_bias, name="output",
            kernel_initializer=uniform, bias_initializer=uniform,
            kernel_constraint=CellRowsMask(units, open=False) if staged else None,
        )(h)  # fmt: skip
        loss = PaperSquaredError()
    elif spec.output == "regression":
        out = keras.layers.Dense(outputs, name="output")(h)
        loss = "mse"
    else:
        out = keras.layers.Dense(outputs, activation="softmax", name="output")(h)
        loss = "categorical_crossentropy"
    model = keras.Model(inputs, out, name=f"{task}_{cell}")
    layer = model.get_layer("recurrent")
    # the generic loop of a small net is dominated by per-step overheads: XLA compiles the whole train
    # step (about 10x faster on a CPU); the fast LSTM1997 loop compiles its own parts
    if jit_compile is None:
        jit_compile = not getattr(layer, "uses_fast_path", lambda: False)()
    model.compile(optimizer=_optimizer(settings), loss=loss, jit_compile=bool(jit_compile))
    return model


def paper_differences(settings: TaskSettings, cell: str = "lstm1997", task: str | None = None) -> list[str]:
    """Where a run departs from the paper's experiment, in words (for the run's output).

    Args:
        settings: the run's settings.
        cell: the recurrent kind.
        task: the task's name (its own differences, e.g. 5.2a's late memory cell).

    Returns:
        One sentence per difference (the optimizer, the initialisation, the net, the checks).
    """
    out = []
    if cell != "lstm1997":
        out.append(f"the recurrent layer is {cell}, not the paper's LSTM")
    if settings.net_kind == "ours":
        c = settings.config
        out.append(
            f"our net ({c.blocks} blocks of {c.cells_per_block}, hidden layer fed back by the cells only, "
            f"{'Keras default' if c.init == 'glorot' else 'uniform [-0.1, 0.1]'} weights), not the paper's"
        )
    else:
        out.append(
            "the paper's net, its weight count and initial biases; weights drawn by Keras's RandomUniform "
            f"in [-{settings.net.init}, {settings.net.init}] (other random numbers than the paper's)"
        )
    if settings.optimizer == "adam":
        out.append(
            f"Adam on batches of {settings.batch_size} at {settings.learning_rate:g} (halving every "
            f"{settings.half_life_batches * settings.batch_size:,} sequences), not the paper's on-line SGD "
            f"(one sequence per update at {settings.net.learning_rate:g})"
        )
    elif settings.batch_size != 1:
        out.append(f"SGD on batches of {settings.batch_size}, not one sequence per update")
    if settings.net_kind == "paper" and settings.net.sequential_construction and cell == "lstm1997":
        out.append(
            "the memory cell is added (its output weights unmasked) after the first check whose mean "
            "training error is not 0.1% below the best so far; the paper added it once the error had "
            "stopped decreasing without saying how it judged that"
        )
    out.append(
        f"the stop rule is checked every {settings.sequences_per_epoch:,} sequences with the current "
        "weights (the paper judged each sequence as it trained on it), so counts are rounded up to that"
    )
    return out
