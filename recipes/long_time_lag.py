"""
Title: The 1997 long-time-lag experiments, reproduced and beaten
Author: lstm-apps
Date created: 2026-11-22
Description: Hochreiter & Schmidhuber's (1997) long-time-lag tasks (Reber, long lags, adding, multiplication, temporal order) trained to the paper's success criteria and compared with its sequence counts.
"""

"""
## Introduction

Hochreiter & Schmidhuber (1997) introduced the LSTM with a battery of
artificial tasks that conventional recurrent nets could not learn, because
the error signal had to bridge a long time lag. This recipe trains on one of
them (or, with `--all`, on the whole suite), stops by the paper's own success
criterion, and prints the number of training sequences it took next to the
paper's figure.

| task (`--task`)    | section | paper's success criterion (ours in brackets where the paper leaves a choice) | paper: sequences |
|---|---|---|---|
| `reber`            | 5.1  | every next-symbol prediction of all 256 training and 256 test strings correct: the units of the legal next symbols are the most active ones | 8,440 (best LSTM row) |
| `long_lag` (p=100) | 5.2a | the final symbol of both sequences predicted correctly [every step's most active output is the right symbol and the final step's outputs are within 0.25] | 5,040 |
| `adding` T=100/500/1000 | 5.4 | stop when the average training error is below 0.01 and the 2000 most recent sequences are processed correctly (absolute error at the end < 0.04); test on 2560 fresh sequences | 74,000 / 209,000 / 853,000 |
| `multiplication` T=100 | 5.5 | at most n_seq = 140 (`--n-seq`, the paper also ran 13) of the 2000 most recent sequences with absolute error >= 0.04; test on 2560 | 482,000 (n_seq = 140) |
| `temporal_order_2` | 5.6a | average training error below 0.1 and the 2000 most recent sequences classified correctly (every output's final error < 0.3); test on 2560 | 31,390 |
| `temporal_order_3` | 5.6b | as 5.6a with 8 classes | 571,100 |

Differences from the paper, stated plainly:

* The paper trained with plain on-line gradient descent (one sequence per
  weight update, learning rates 0.1 to 0.5). We use Adam on mini-batches,
  with a learning rate that halves every `--lr-half-life` sequences. Beating
  the paper's sequence counts this way says that LSTM1997 + Adam is more
  sample-efficient than LSTM1997 + 1997 SGD, not that the cell improved.
* Training sequences are generated fresh and streamed (Reber: drawn from the
  fixed 256-string training set, as in the paper; the 256 test strings
  exclude the training strings, the paper's rule too). The criterion is checked
  every `--check-every` sequences on the `--window` (2000) most recent
  sequences of the stream, re-evaluated with the current weights, so the
  reported count is rounded up to a multiple of `--check-every`.
* Classification outputs are softmax units trained with cross-entropy
  (the paper used sigmoid units and squared error); the criteria are applied
  to the softmax outputs unchanged.

The 1997 layer keeps the paper's structure: memory cell blocks sharing an
input and an output gate, negative, staggered input-gate biases and
truncated ("scissors") gradients. Adding and multiplication draw the weights
uniformly from [-0.1, 0.1] as in the paper; the tasks with one-hot inputs
(Reber, long lag, temporal order) use Keras's default initializers instead:
with one-hot inputs each symbol owns a single row of +-0.1 weights, too small
a signal for Adam to break the symmetry between the sequences in our budget
(the long-lag task stayed at chance for 12,800 sequences with it, and was
learned within 3,000 with Glorot weights at p = 10).
`--no-truncate` turns on full BPTT and `--cell lstm|gru|simple_rnn` swaps in
Keras's own layers for comparison.

Two figures show *why* the carousel works: the input-gate activations over one
adding sequence (the gates open at the marked pairs), and the norm of the
gradient of the final output with respect to the input `T - t` steps earlier,
for a simple RNN and for the 1997 layer.

## Setup
"""

import math
import time
from collections import deque

import keras
import numpy as np

from lstm_apps.datasets import tasks as T_
from lstm_apps.layers import recurrent
from lstm_apps.training import recipe_parser, start_run

"""
## Configuration

Per task: memory cell blocks x cells per block (the paper's for temporal
order, one cell for long lags; adding and multiplication use 4 blocks of 2 where
the paper had 2 blocks of 2, Reber 8 of 2 where it had 3 of 2 or 4 of 1:
887 weights against the paper's 264-276, because with 4 blocks of 2 only
about half of our seeds ever latched the outer T/P, a capacity-for-reliability
trade stated here rather than hidden),
staggered input-gate biases, the weight initialisation, Adam's starting
learning rate, the batch size, a default budget of training sequences and
how often the criterion is checked.
"""

TASK_CONFIG = {
    # blocks x cells_per_block memory cells; input-gate bias of block k: input_bias + k * bias_step
    "reber": dict(
        blocks=8,
        cells_per_block=2,
        input_bias=-1.0,
        bias_step=-0.5,
        lr=0.03,
        batch=16,
        budget=60_000,
        check_every=512,
        init="glorot",
    ),
    "long_lag": dict(
        blocks=1,
        cells_per_block=1,
        input_bias=-1.0,
        bias_step=0.0,
        lr=0.03,
        batch=16,
        budget=30_000,
        check_every=256,
        init="glorot",
    ),
    "adding": dict(
        blocks=4,
        cells_per_block=2,
        input_bias=-1.0,
        bias_step=-1.0,
        lr=0.03,
        batch=16,
        budget=100_000,
        check_every=1000,
        init="uniform",
    ),
    "multiplication": dict(
        blocks=4,
        cells_per_block=2,
        input_bias=-1.0,
        bias_step=-1.0,
        lr=0.03,
        batch=16,
        budget=150_000,
        check_every=1000,
        init="uniform",
    ),
    "temporal_order_2": dict(
        blocks=2,
        cells_per_block=2,
        input_bias=-1.0,
        bias_step=-1.0,
        lr=0.03,
        batch=16,
        budget=60_000,
        check_every=1000,
        init="glorot",
    ),
    "temporal_order_3": dict(
        blocks=3,
        cells_per_block=2,
        input_bias=-1.0,
        bias_step=-1.0,
        lr=0.03,
        batch=16,
        budget=200_000,
        check_every=1000,
        init="glorot",
    ),
}
#: --cell lstm|gru|simple_rnn get as many units as the task's LSTM1997 has memory cells.
TEST_SEQUENCES = 2560
QUICK = dict(budget=128, check_every=64, window=64, test=64, batch=16)


def build_parser():
    parser = recipe_parser("long_time_lag", __doc__, epochs=0, quick_epochs=2, batch_size=0)
    parser.set_defaults(epochs=None)
    for action in parser._actions:
        if action.dest == "epochs":
            action.help = "training chunks of --check-every sequences (default: the task's sequence budget)"
        if action.dest == "batch_size":
            action.help = "batch size (default per task, 16)"
    g = parser.add_argument_group("long-time-lag options")
    g.add_argument("--task", choices=T_.TASKS, default="adding", help="the paper's task (default adding)")
    g.add_argument(
        "--length",
        type=int,
        default=None,
        help="T for adding/multiplication (100, 500, 1000), p for long_lag (default 100)",
    )
    g.add_argument(
        "--no-truncate",
        action="store_true",
        help="LSTM1997 with full BPTT instead of the paper's truncated gradients",
    )
    g.add_argument(
        "--max-sequences", type=int, default=None, help="training budget in sequences (default per task)"
    )
    g.add_argument(
        "--max-minutes", type=float, default=10.0, help="wall-clock budget per training run (default 10)"
    )
    g.add_argument("--lr", type=float, default=None, help="Adam's starting learning rate (default per task)")
    g.add_argument(
        "--lr-half-life",
        type=int,
        default=15000,
        help="sequences after which the learning rate halves (default 15000)",
    )
    g.add_argument(
        "--check-every", type=int, default=None, help="sequences between success checks (default per task)"
    )
    g.add_argument(
        "--window",
        type=int,
        default=2000,
        help="most recent training sequences the criterion is checked on (paper: 2000)",
    )
    g.add_argument(
        "--n-seq",
        type=int,
        default=140,
        help="multiplication: wrong sequences allowed in the window (paper: 140 or 13)",
    )
    g.add_argument(
        "--test-sequences", type=int, default=TEST_SEQUENCES, help="fresh test sequences (paper: 2560)"
    )
    g.add_argument(
        "--blocks", type=int, default=None, help="LSTM1997 memory cell blocks (default per task, the paper's)"
    )
    g.add_argument("--cells-per-block", type=int, default=None, help="cells per block (default per task)")
    g.add_argument(
        "--input-gate-bias",
        type=float,
        default=None,
        help="input-gate bias of the first block (default per task, -1)",
    )
    g.add_argument(
        "--bias-step",
        type=float,
        default=None,
        help="added to the input-gate bias from one block to the next (default per task)",
    )
    g.add_argument(
        "--output-gate-bias", type=float, default=None, help="output-gate bias of every block (default -2)"
    )
    g.add_argument(
        "--all",
        action="store_true",
        help="run the whole suite (plus a simple RNN on adding) and write results.md",
    )
    return parser


def paper_sequences(task, length):
    key = (task, length if task in ("adding", "multiplication", "long_lag") else None)
    if task in ("adding", "multiplication", "long_lag") and length is None:
        key = (task, 100)
    return T_.PAPER_SEQUENCES.get(key)


"""
## Data

A stream of freshly generated sequences, padded to the task's maximal
length so every batch has one shape. It remembers the `window` most recent
sequences for the success check and counts what it served.
"""


def max_length(task, length):
    if task in ("adding", "multiplication"):
        T = length or 100
        return T + T // 10
    if task == "long_lag":
        return length or 100
    if task.startswith("temporal_order"):
        return 110
    return None  # Reber: the longest string of the fixed sets


def pad(batch, steps):
    """Post-pad a TaskBatch's x (and sequence targets) to ``steps`` time steps."""
    n, L = batch.x.shape[:2]
    if L == steps:
        return batch
    if L > steps:
        raise ValueError(f"cannot pad a batch of {L} steps to {steps} steps.")
    x = np.zeros((n, steps, batch.x.shape[2]), "float32")
    x[:, :L] = batch.x
    y = batch.y
    info = dict(batch.info)
    if y.ndim == 3:
        y = np.zeros((n, steps, y.shape[2]), "float32")
        y[:, :L] = batch.y
        if "legal" in info:
            legal = np.zeros((n, steps, y.shape[2]), bool)
            legal[:, :L] = info["legal"]
            info["legal"] = legal
    return T_.TaskBatch(x, y, batch.lengths, info)


def concat(batches):
    info = {}
    for key in ("legal",):
        if key in batches[0].info:
            info[key] = np.concatenate([b.info[key] for b in batches])
    for key in ("marks", "values", "labels", "positions", "which"):
        if key in batches[0].info:
            info[key] = np.concatenate([b.info[key] for b in batches])
    return T_.TaskBatch(
        np.concatenate([b.x for b in batches]),
        np.concatenate([b.y for b in batches]),
        np.concatenate([b.lengths for b in batches]),
        info,
    )


def sequence_targets(task):
    return task in ("reber", "long_lag")


class Stream:
    """Endless training batches ``(x, y, sample_weight)``; keeps the most recent ones."""

    def __init__(self, task, length, batch_size, window, seed, steps=None, train_set=None):
        self.task, self.length, self.batch_size = task, length, batch_size
        self.rng = np.random.default_rng(seed)
        self.steps = steps
        self.train_set = train_set  # Reber: draw from the fixed training set
        self.recent = deque(maxlen=max(1, math.ceil(window / batch_size)))
        self.served = 0

    def next_batch(self):
        if self.train_set is not None:
            idx = self.rng.integers(len(self.train_set), size=self.batch_size)
            b = T_.TaskBatch(
                self.train_set.x[idx],
                self.train_set.y[idx],
                self.train_set.lengths[idx],
                {"legal": self.train_set.info["legal"][idx]},
            )
        else:
            b = pad(T_.make_task(self.task, self.batch_size, seed=self.rng, length=self.length), self.steps)
        self.recent.append(b)
        self.served += self.batch_size
        return b

    def __iter__(self):
        while True:
            b = self.next_batch()
            if sequence_targets(self.task):
                yield b.x, b.y, b.step_mask.astype("float32")
            else:
                yield b.x, b.y

    def window(self):
        return concat(list(self.recent))


"""
## Model

Masking (so padded steps carry the state unchanged) -> one recurrent layer
-> output units fed by the memory cells only, as in the paper (long_lag: and by
the inputs, so the trivial predictions need not pass through its one cell).
"""


def build_model(task, cell, n_in, n_out, steps, cfg, truncate=True, lr=0.01, half_life_batches=250):
    blocks, per_block = cfg["blocks"], cfg["cells_per_block"]
    units = blocks * per_block
    kwargs = dict(return_sequences=sequence_targets(task), name="recurrent")
    if cell == "lstm1997":
        kwargs.update(
            cells_per_block=per_block,
            input_gate_bias=[cfg["input_bias"] + k * cfg["bias_step"] for k in range(blocks)],
            output_gate_bias=cfg.get("output_bias", -2.0),
            truncate_gradients=truncate,
        )
        if cfg.get("init", "uniform") == "uniform":  # the paper's weights, uniform in [-0.1, 0.1]
            uniform = keras.initializers.RandomUniform(-0.1, 0.1)
            kwargs.update(kernel_initializer=uniform, recurrent_initializer=uniform)
    inputs = keras.Input((steps, n_in), name="sequence")
    h = keras.layers.Masking(0.0)(inputs)
    h = recurrent(cell, units, **kwargs)(h)
    if task == "long_lag":
        # the p - 1 trivial predictions (a_i -> a_{i+1}) come straight from the input, as through
        # the paper's input-to-output connections; only the last one needs the memory cell
        h = keras.layers.Concatenate()([h, inputs])
    if task in ("adding", "multiplication"):
        out = keras.layers.Dense(1, name="output")(h)
        loss = "mse"
    else:
        out = keras.layers.Dense(n_out, activation="softmax", name="output")(h)
        loss = "categorical_crossentropy"
    model = keras.Model(inputs, out, name=f"{task}_{cell}")
    schedule = keras.optimizers.schedules.ExponentialDecay(lr, max(1, half_life_batches), 0.5)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    return model


"""
## Train

`run.fit` on the stream, one "epoch" per `check_every` sequences; after each
the callback applies the paper's criterion and stops training when it holds
(or when the time budget is spent).
"""


def criterion(task, model, batch, n_seq=140):
    """(success, details) of the task's criterion on ``batch`` with the current weights."""
    pred = model.predict(batch.x, batch_size=256, verbose=0)
    if task == "adding":
        r = T_.regression_errors(pred, batch.y)
        return T_.adding_success(pred, batch.y), {"error": r["mse"], "wrong": r["error_count"]}
    if task == "multiplication":
        r = T_.regression_errors(pred, batch.y)
        return T_.multiplication_success(pred, batch.y, n_seq=n_seq), {
            "error": r["mse"],
            "wrong": r["error_count"],
        }
    if task.startswith("temporal_order"):
        r = T_.classification_errors(pred, batch.y)
        return T_.temporal_order_success(pred, batch.y), {"error": r["mse"], "wrong": r["error_count"]}
    if task == "reber":
        ok = T_.next_symbol_correct(pred, batch.info["legal"], batch.step_mask)
        return bool(ok.all()), {"wrong": int((~ok).sum())}
    ok = T_.next_symbol_correct(pred, batch.y > 0.5, batch.step_mask)
    return T_.long_lag_success(pred, batch.y, batch.step_mask), {"wrong": int((~ok).sum())}


class SuccessCheck(keras.callbacks.Callback):
    """After every chunk: the paper's criterion; stop when it holds or the time is up."""

    def __init__(self, task, check_set, per_epoch, deadline, n_seq, verbose):
        super().__init__()
        self.task, self.check_set, self.per_epoch = task, check_set, per_epoch
        self.deadline, self.n_seq, self.verbose = deadline, n_seq, verbose
        self.solved_at = None
        self.log = []

    def on_epoch_end(self, epoch, logs=None):
        batch = self.check_set()
        ok, details = criterion(self.task, self.model, batch, self.n_seq)
        seen = (epoch + 1) * self.per_epoch
        self.log.append({"sequences": seen, **details, "solved": ok})
        if logs is not None:
            for k, v in details.items():
                logs[f"window_{k}"] = float(v)
        if self.verbose:
            print(f"  {seen:>8,} sequences: {details} solved={ok}", flush=True)
        if ok:
            self.solved_at = seen
            self.model.stop_training = True
        elif time.time() > self.deadline:
            self.model.stop_training = True


def train_task(
    run,
    task,
    cell,
    length=None,
    truncate=True,
    max_sequences=None,
    max_minutes=10.0,
    lr=None,
    lr_half_life=15000,
    check_every=None,
    window=2000,
    n_seq=140,
    test_sequences=TEST_SEQUENCES,
    batch_size=None,
    quick=False,
    seed=0,
    label=None,
    verbose=0,
    epochs=None,
    arch=None,
):
    """Train one task until the paper's criterion holds or the budget is spent; evaluate on fresh sequences."""
    cfg = dict(TASK_CONFIG[task])
    cfg.update({k: v for k, v in (arch or {}).items() if v is not None})
    batch_size = batch_size or cfg["batch"]
    check_every = check_every or cfg["check_every"]
    budget = max_sequences or cfg["budget"]
    if quick:
        batch_size, check_every, window = QUICK["batch"], QUICK["check_every"], QUICK["window"]
        budget = max_sequences or QUICK["budget"]
        test_sequences = min(test_sequences, QUICK["test"])
    label = label or f"{task}{'' if length is None else length}_{cell}"
    steps_per_epoch = max(1, check_every // batch_size)
    per_epoch = steps_per_epoch * batch_size
    if epochs is None or max_sequences:
        epochs = max(1, math.ceil(budget / per_epoch))
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)

    # fixed sets: Reber's 256 + 256 strings (padded alike); the two long-lag sequences
    train_set = test_set = None
    if task == "reber":
        n = QUICK["test"] if quick else 256
        train_set = T_.embedded_reber(n, seed=rng)
        test_set = T_.embedded_reber(n, seed=rng, exclude=train_set.info["strings"])  # the paper's rule
        steps = max(train_set.x.shape[1], test_set.x.shape[1])
        train_set, test_set = pad(train_set, steps), pad(test_set, steps)
    else:
        steps = max_length(task, length)
    stream = Stream(task, length, batch_size, window, rng, steps=steps, train_set=train_set)
    sample = stream.next_batch()
    stream.recent.clear()
    stream.served = 0
    if task == "reber":
        check_set = lambda: concat([train_set, test_set])  # noqa: E731
    elif task == "long_lag":
        both = T_.long_lag_sequences(length or 100)
        check_set = lambda: both  # noqa: E731
    else:
        check_set = stream.window

    with run.strategy.scope():
        model = build_model(
            task,
            cell,
            sample.x.shape[-1],
            sample.y.shape[-1],
            steps,
            cfg,
            truncate=truncate,
            lr=lr or cfg["lr"],
            half_life_batches=lr_half_life // batch_size,
        )
    check = SuccessCheck(task, check_set, per_epoch, time.time() + 60 * max_minutes, n_seq, verbose)
    print(
        f"[{label}] training on up to {epochs * per_epoch:,} sequences / {max_minutes:g} min "
        f"({model.count_params()} weights)",
        flush=True,
    )
    t0 = time.time()
    history = run.fit(
        model,
        iter(stream),
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        callbacks=[check],
        history_name=f"history_{label}",
        verbose=verbose,
    )
    train_seconds = time.time() - t0
    trained = len(history.history.get("loss", [])) * per_epoch

    # evaluate on fresh sequences (Reber: the fixed test set; long lag: both sequences)
    if task == "reber":
        test = test_set
    elif task == "long_lag":
        test = T_.long_lag_sequences(length or 100)
    else:
        test = pad(
            T_.make_task(task, test_sequences, seed=np.random.default_rng(seed + 10_000), length=length),
            steps,
        )
    pred = model.predict(test.x, batch_size=256, verbose=0)
    if task in ("adding", "multiplication"):
        r = T_.regression_errors(pred, test.y)
        test_max, test_wrong, test_mse = r["max_abs_error"], r["error_count"], r["mse"]
    elif task.startswith("temporal_order"):
        r = T_.classification_errors(pred, test.y)
        test_max, test_wrong, test_mse = r["worst"], r["error_count"], r["mse"]
    else:
        legal = test.info["legal"] if task == "reber" else test.y > 0.5
        ok = T_.next_symbol_correct(pred, legal, test.step_mask)
        m = test.step_mask[..., None]
        test_max = float(np.abs(np.where(m, pred - test.y, 0.0)).max())
        test_wrong, test_mse = int((~ok).sum()), None
    paper = paper_sequences(task, length)
    result = {
        "task": task,
        "length": length if task in ("adding", "multiplication", "long_lag") else None,
        "cell": cell + ("" if truncate or cell != "lstm1997" else " (full BPTT)"),
        "solved": check.solved_at is not None,
        "sequences_to_success": check.solved_at,
        "sequences_trained": trained,
        "paper_sequences": paper,
        "test_sequences": int(len(test)),
        "test_error_count": int(test_wrong),
        "test_max_abs_error": float(test_max),
        "test_mse": test_mse,
        "train_seconds": round(train_seconds, 1),
        "weights": int(model.count_params()),
    }
    return model, result, check.log, test.x[:8]


"""
## Evaluate

Two plots: the input gates over one adding sequence, and the vanishing
gradient of a simple RNN against the 1997 layer's constant error carousel.
"""


def plot_input_gates(model, length, seed):
    import matplotlib.pyplot as plt

    b = T_.adding_problem(1, T=length or 100, seed=seed)
    n = int(b.lengths[0])
    layer = model.get_layer("recurrent")
    # the layer right after Masking sees the raw inputs, so its own telemetry applies
    gates = layer.gate_activations(b.x[:, :n])
    g = gates["input_gate"][0, :n]
    per = layer.cells_per_block
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for k in range(0, g.shape[1], per):
        ax.plot(np.arange(n), g[:, k], label=f"block {k // per + 1}")
    for pos in b.info["marks"][0]:
        ax.axvline(pos, color="k", ls="--", lw=0.8)
    ax.set_xlabel("time step (dashed: the two marked pairs)")
    ax.set_ylabel("input gate y_in")
    ax.set_title("LSTM1997 input gates over one adding-problem sequence")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, g, b.info["marks"][0]


def gradient_norms(model, x):
    """Mean over the batch of ||d output_T / d x_t|| for every step t."""
    import tensorflow as tf

    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.reduce_sum(model(xt, training=False))
    g = tape.gradient(y, xt).numpy()
    return np.linalg.norm(g, axis=-1).mean(axis=0)


def plot_vanishing_gradient(T=100, seed=0, trained=None):
    """Norm of the gradient of the final output w.r.t. the input at step t, against T - t."""
    import matplotlib.pyplot as plt

    keras.utils.set_random_seed(seed)
    b = T_.adding_problem(16, T=T, seed=seed)
    x = b.x[:, :T]
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
    fig, ax = plt.subplots(figsize=(7, 4))
    norms = {}
    for name, m in models.items():
        xin = x if m.input_shape[1] in (None, T) else np.pad(x, ((0, 0), (0, m.input_shape[1] - T), (0, 0)))
        g = gradient_norms(m, xin)[:T]
        norms[name] = g
        lag = T - 1 - np.arange(T)
        ax.semilogy(lag, np.maximum(g, 1e-30), label=name)
    ax.set_xlabel("T - t (steps between input and output)")
    ax.set_ylabel("|| d y_T / d x_t ||")
    ax.set_title("Vanishing gradient: simple RNN vs. the constant error carousel")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, norms


def comparison_rows(result):
    paper = result["paper_sequences"]
    got = result["sequences_to_success"]
    rows = [
        {
            "model": f"{result['cell']} + Adam (this run)",
            "solved": "yes" if result["solved"] else "NO (budget spent)",
            "sequences": got if got is not None else f"> {result['sequences_trained']:,}",
            "test wrong": f"{result['test_error_count']}/{result['test_sequences']}",
            "test max |err|": result["test_max_abs_error"],
            "train s": result["train_seconds"],
        },
        {
            "model": "LSTM 1997 paper (SGD), baseline",
            "solved": "yes",
            "sequences": paper,
            "test wrong": "—",
            "test max |err|": None,
            "train s": None,
        },
    ]
    return rows


def verdict(result):
    paper, got = result["paper_sequences"], result["sequences_to_success"]
    if got is None:
        return (
            f"NOT solved: {result['task']} with {result['cell']} did not reach the paper's criterion within "
            f"{result['sequences_trained']:,} sequences / the time budget (paper: {paper:,})."
        )
    if paper and got <= paper:
        return f"Solved after {got:,} sequences: {paper / got:.1f}x fewer than the paper's {paper:,} (Adam vs. 1997 SGD)."
    return f"Solved after {got:,} sequences: MORE than the paper's {paper:,}; the paper's LSTM wins here."


"""
## Export

Each trained model is saved as a `.keras` file in the run folder.
"""

# The suite of --all; the tasks whose paper figure is beyond a short budget get half of --max-minutes.
SUITE = [
    dict(task="adding", cell="lstm1997", length=100),
    dict(task="adding", cell="simple_rnn", length=100, max_sequences=30_000),
    dict(task="temporal_order_2", cell="lstm1997"),
    dict(task="long_lag", cell="lstm1997"),
    dict(task="reber", cell="lstm1997"),
    dict(task="multiplication", cell="lstm1997", length=100, minutes_factor=0.5),
    dict(task="temporal_order_3", cell="lstm1997", minutes_factor=0.5),
]


def run_one(run, args, spec, figures=True):
    task, cell = spec["task"], spec["cell"]
    length = spec.get("length", args.length)
    if task not in ("adding", "multiplication", "long_lag"):
        length = None
    label = f"{task}{'' if length is None else length}_{cell}"
    model, result, log, sample_x = train_task(
        run,
        task,
        cell,
        length=length,
        truncate=not args.no_truncate,
        max_sequences=spec.get("max_sequences", args.max_sequences),
        max_minutes=args.max_minutes * spec.get("minutes_factor", 1.0),
        lr=args.lr,
        lr_half_life=args.lr_half_life,
        check_every=args.check_every,
        window=args.window,
        n_seq=args.n_seq,
        test_sequences=args.test_sequences,
        batch_size=args.batch_size or None,
        quick=args.quick,
        seed=args.seed,
        label=label,
        verbose=run.verbose,
        epochs=args.epochs,
        arch={
            "blocks": args.blocks,
            "cells_per_block": args.cells_per_block,
            "input_bias": args.input_gate_bias,
            "bias_step": args.bias_step,
            "output_bias": args.output_gate_bias,
        },
    )
    run.save_json(f"criterion_log_{label}.json", log)
    # one task: the run's model.keras; the --all suite keeps one model per task
    run.save_model(model, f"model_{label}.keras" if args.all else "model.keras", sample_inputs=sample_x)
    print(verdict(result), flush=True)
    return model, result


def main(argv=None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.length is not None and args.task not in ("adding", "multiplication", "long_lag") and not args.all:
        parser.error(f"--length applies to adding, multiplication and long_lag, not --task {args.task}")
    run = start_run("long_time_lag", args)
    started = time.time()

    if args.all:
        rows, results = [], {}
        for spec in SUITE:
            spec = dict(spec)
            if args.quick:
                spec.pop("max_sequences", None)
            model, result = run_one(run, args, spec)
            results[f"{spec['task']}{spec.get('length') or ''}_{spec['cell']}"] = result
            rows.append(
                {
                    k: result[k]
                    for k in (
                        "task",
                        "length",
                        "cell",
                        "solved",
                        "sequences_to_success",
                        "paper_sequences",
                        "test_error_count",
                        "test_sequences",
                        "test_max_abs_error",
                        "train_seconds",
                    )
                }
            )
        table = run.print_table(rows, title="Long-time-lag suite (Hochreiter & Schmidhuber 1997)")
        lstm_rows = [r for r in results.values() if r["cell"].startswith("lstm1997")]
        metrics = {
            "solved": all(r["solved"] for r in lstm_rows),
            "sequences_to_success": None,
            "paper_sequences": None,
            "test_max_abs_error": max(r["test_max_abs_error"] for r in lstm_rows),
            "test_error_count": sum(r["test_error_count"] for r in lstm_rows),
            "tasks_solved": sum(r["solved"] for r in lstm_rows),
            "tasks": len(lstm_rows),
        }
        for name, r in results.items():
            for k in (
                "solved",
                "sequences_to_success",
                "paper_sequences",
                "test_error_count",
                "test_max_abs_error",
                "train_seconds",
            ):
                metrics[f"{name}_{k}"] = r[k]
        run.save_text(
            "results.md", "## Long-time-lag suite (Hochreiter & Schmidhuber 1997)\n\n" + table + "\n"
        )
    else:
        model, result = run_one(run, args, {"task": args.task, "cell": args.cell, "length": args.length})
        run.print_table(comparison_rows(result), title=f"{args.task}: this run vs. the 1997 paper")
        metrics = {k: v for k, v in result.items() if k not in ("task", "cell")}
        if args.task == "adding" and args.cell == "lstm1997":
            fig, g, marks = plot_input_gates(model, args.length, args.seed + 20_000)
            run.save_figure(fig, "input_gates.png")
            # how sharply the gates open at the marks, for the most selective block
            at_marks, elsewhere = g[marks].mean(axis=0), np.delete(g, marks, axis=0).mean(axis=0)
            best = int(np.argmax(at_marks - elsewhere))
            metrics["input_gate_at_marks"] = float(at_marks[best])
            metrics["input_gate_elsewhere"] = float(elsewhere[best])
            print(
                f"Most selective input gate (cell {best}): {at_marks[best]:.3f} at the marked pairs, "
                f"{elsewhere[best]:.3f} elsewhere."
            )
        if args.task == "adding":
            T = args.length or 100
            fig, norms = plot_vanishing_gradient(
                T=min(T, 200), seed=args.seed, trained=model if args.cell == "lstm1997" and T <= 200 else None
            )
            run.save_figure(fig, "vanishing_gradient.png")
            for name, g in norms.items():
                key = name.split(" ")[0] + ("_trained" if "trained" in name else "_init")
                metrics[f"grad_ratio_{key}"] = float(g[0] / max(g[-1], 1e-30))  # |dy/dx_1| / |dy/dx_T|

    metrics["wall_seconds"] = round(time.time() - started, 1)
    metrics = run.finish(metrics)
    if args.all:
        won = [
            r
            for r in results.values()
            if r["solved"] and r["sequences_to_success"] <= (r["paper_sequences"] or 0)
        ]
        lost = [r for r in results.values() if not r["solved"]]
        print(
            "\nConclusion: fewer sequences than the 1997 paper on "
            + (", ".join(f"{r['task']} ({r['cell']})" for r in won) or "no task")
            + "; NOT solved within the budget: "
            + (", ".join(f"{r['task']} ({r['cell']})" for r in lost) or "none")
            + "."
        )
    else:
        print("\nConclusion: " + verdict(result))
    return metrics


"""
## Conclusion

Measured with `--all` (seed 0, 2 shared CPU cores; README quotes the table):

* **Wins** against the paper's sequence counts: the adding problem T = 100
  (13,888 sequences vs. 74,000, 1/2560 test sequences wrong), temporal order
  5.6a (4,960 vs. 31,390) and 5.6b (21,824 vs. 571,100), embedded Reber
  (7,168 vs. 8,440, all 256 test strings right). The credit goes to Adam on
  mini-batches as much as to the layer.
* **The simple RNN loses** the adding problem outright (chance-level error
  after 30,752 sequences): its gradient decays geometrically with the lag
  (`vanishing_gradient.png`), the 1997 layer's carousel keeps it constant.
* **Losses**, reported as such: Reber needs 8 blocks of 2 cells (the paper's
  size latched the outer symbol in only half of our seeds) and still fails 2
  seeds of 10 (`benchmarks/long_time_lag.py --trials 10`); the long-lag task
  5.2a stays at a coin flip on its final symbol; multiplication (paper:
  482,000 sequences) and adding T = 1000 (853,000) need budgets far beyond the
  minutes given here.
"""

if __name__ == "__main__":
    main()
