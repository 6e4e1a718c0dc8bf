"""
Title: Counting: aⁿbⁿ, aⁿbⁿcⁿ, brackets and parity, far beyond the lengths trained on
Author: lstm-apps
Date created: 2026-12-03
Description: Counter languages (aⁿbⁿ, aⁿbⁿcⁿ, Dyck-1, parity) learned from n <= 10, tested to n = 1000.
"""

"""
## Introduction

A recurrent net can recognise aⁿbⁿ by counting: one memory cell goes up by a
fixed step on every a and down on every b, and the string may end when it is
back at zero. Gers & Schmidhuber (2001) trained LSTMs on the strings with
n <= 10 only and found nets that predicted every string correctly up to n in
the hundreds, the best to n = 1000; the counter sat in a cell state, the
carousel holding it without loss. The same idea tells where a closing brace
must come, hundreds of lines after its opening one.

This recipe trains one model (`--cell`: every recurrent kind of the layer
registry, or `transformer`, a small causal Transformer) on next-symbol
prediction (`--task`):

* `anbn`, `anbncn`: after each symbol, the set of legal next symbols (the end
  symbol T included), as sigmoid outputs; a string is right when every
  deterministic symbol is predicted (every b after the first, the c's, T).
* `dyck1` (one kind of bracket; n = the nesting depth) and `parity` (bit
  strings with an even number of 1s; n = the length): whether `)` (or T) may
  come is known at every step, and every step is scored.

It reports `max_n_all_correct_<model>`, the largest N such that every test
string of size n <= N is right, and shows the counter: the memory states over
one long string and the line that fits the most count-like cell against the
running count, with its R² (`--layers 2`: the first layer as a phase detector).

## Setup
"""

import keras
import numpy as np

from lstm_apps.analysis import counting
from lstm_apps.baselines.transformer import POSITIONS, causal_transformer
from lstm_apps.datasets import formal_languages as fl
from lstm_apps.layers import recurrent, recurrent_kinds
from lstm_apps.training import (
    non_negative_int,
    positive_float,
    positive_int,
    recipe_parser,
    run_recipe_main,
    start_run,
)

"""
## Configuration

Defaults per task (units, learning rate, batch size, epochs) are the best we
measured (the Transformer's learning rate is its own); each flag overrides
them. An epoch is the training set repeated to at least `--strings-per-epoch`
strings.
"""

MODELS = (*recurrent_kinds(), "transformer")
TASK_DEFAULTS = {
    "anbn": {"units": 4, "learning_rate": 0.05, "batch_size": 10, "epochs": 20},
    "anbncn": {"units": 4, "learning_rate": 0.05, "batch_size": 10, "epochs": 20},
    "dyck1": {"units": 4, "learning_rate": 0.05, "batch_size": 32, "epochs": 40},
    "parity": {"units": 4, "learning_rate": 0.05, "batch_size": 32, "epochs": 40},
}
#: The Transformer's learning rate: at the recurrent cells' 0.05 it did not learn the training strings.
TRANSFORMER_LEARNING_RATE = 3e-3


def build_parser():
    parser = recipe_parser(
        "counting", __doc__, epochs=None, quick_epochs=3, cells=MODELS, batch_size=None, learning_rate=None
    )
    g = parser.add_argument_group("counting options")
    g.add_argument("--task", choices=fl.LANGUAGES, default="anbn", help="the language (default anbn)")
    g.add_argument(
        "--train-max-n", type=positive_int, default=10, help="train on sizes n <= this (default 10)"
    )
    g.add_argument(
        "--test-max-n", type=positive_int, default=1000, help="test every n up to this (default 1000)"
    )
    g.add_argument("--layers", type=positive_int, default=1, help="stacked recurrent layers (default 1)")
    g.add_argument("--units", type=positive_int, default=None, help="units per layer (default per task)")
    g.add_argument("--strings-per-epoch", type=positive_int, default=1000, help="(default 1000)")
    g.add_argument(
        "--accuracy-strings",
        type=non_negative_int,
        default=0,
        help="also test this many strings of every size <= --test-max-n, accuracy per size (default 0: off)",
    )
    g.add_argument("--truncate", action="store_true", help="lstm1997: the paper's truncated gradients")
    g.add_argument(
        "--forget-activation", choices=("sigmoid", "exp"), default="sigmoid", help="slstm's forget gate"
    )
    g.add_argument("--clipnorm", type=positive_float, default=1.0, help="gradient norm clip (default 1)")
    g.add_argument("--train-strings", type=positive_int, default=1000, help="dyck1/parity training strings")
    g.add_argument(
        "--trace-n", type=positive_int, default=200, help="size of the string traced (default 200)"
    )
    g.add_argument("--d-model", type=positive_int, default=16, help="Transformer width (default 16)")
    g.add_argument("--heads", type=positive_int, default=2, help="Transformer heads (default 2)")
    g.add_argument("--positions", choices=POSITIONS, default="sinusoidal", help="Transformer positions")
    return parser


def resolve(args):
    """Fill the per-task defaults; --quick shortens training, testing and the trace."""
    if args.cell == "transformer" and args.learning_rate is None:
        args.learning_rate = TRANSFORMER_LEARNING_RATE
    for key, value in TASK_DEFAULTS[args.task].items():
        if key != "epochs" and getattr(args, key) is None:
            setattr(args, key, value)
    if args.quick:
        args.test_max_n, args.trace_n = min(args.test_max_n, 60), min(args.trace_n, 30)
        args.train_strings = min(args.train_strings, 200)
        args.accuracy_strings = min(args.accuracy_strings, 10)
    return args


"""
## Data

The training set holds the strings of sizes 1 to `--train-max-n`: for aⁿbⁿ
and aⁿbⁿcⁿ the 10 strings themselves, as in the paper; for Dyck-1 and parity
`--train-strings` random ones. Inputs are one-hot symbols (S first), targets
the multi-hot sets of legal next symbols; padding steps weigh nothing.
"""


def training_data(args):
    train = fl.training_set(args.task, args.train_max_n, size=args.train_strings, seed=args.seed)
    reps = -(-args.strings_per_epoch // len(train))  # ceil
    tile = lambda a: np.concatenate([a] * reps)  # noqa: E731
    return train, (tile(train.x), tile(train.y), tile(train.valid.astype("float32")))


"""
## Model

Recurrent layers of the chosen kind (`--layers`, `--units`), then one sigmoid
unit per symbol; or a causal Transformer (`--d-model`, `--heads`, 2 blocks,
`--positions`). Binary cross-entropy per symbol, Adam with the gradient norm
clipped (`--clipnorm`). The 1997 layer trains with full backpropagation
through time: with the paper's truncated gradients (`--truncate`) it learned
the training strings as reliably but its counter drifted sooner (its a and b
steps matched less exactly), so its strings went wrong at smaller n.
"""


def build_model(args, train):
    features = train.x.shape[-1]
    if args.cell == "transformer":
        model = causal_transformer(
            features, features, args.d_model, args.heads, layers=2,
            positions=args.positions, max_length=train.x.shape[1],
        )  # fmt: skip
    else:
        inputs = keras.Input((None, features))
        h = inputs
        options = {
            "lstm1997": {"truncate_gradients": args.truncate},
            "slstm": {"forget_activation": args.forget_activation},
        }.get(args.cell, {})
        for k in range(args.layers):
            h = recurrent(
                args.cell, args.units, return_sequences=True, name=f"{args.cell}_{k + 1}", **options
            )(h)
        model = keras.Model(inputs, keras.layers.Dense(features, activation="sigmoid", name="next")(h))
    model.compile(keras.optimizers.Adam(args.learning_rate, clipnorm=args.clipnorm), "binary_crossentropy")
    return model


"""
## Train

`run.fit` on the tiled training set; the run's time budget (`--max-minutes`)
can cut it short.
"""


def train(run, args, model, data):
    x, y, weights = data
    epochs = run.epochs or TASK_DEFAULTS[args.task]["epochs"]  # --epochs, --quick, else the task's
    return run.fit(
        model, x, y, sample_weight=weights, batch_size=args.batch_size, epochs=epochs, shuffle=True
    )


"""
## Evaluate

Every size n = 1 .. `--test-max-n`, in order, until the first wrong string
(`fl.max_n_all_correct`); then the counter analysis of one string of size
`--trace-n`: in each recurrent layer the memory cell best fitted by a line of
the running count (its R²), and the output best fitted by the phase (which
block of letters is being read). The table puts the anchors beside this run.

With `--accuracy-strings K`, K random strings of every size 1 ..
`--test-max-n` are tested as well, without stopping at the first wrong one
(`fl.accuracy_by_size`): `accuracy_by_n`, `min_accuracy`, `worst_n`. The
parity proof of Delétang et al. (2023) and xLSTM (train on lengths <= 40,
test to 256) asks for an accuracy of 0.99 at every length:
`--task parity --train-max-n 40 --test-max-n 256 --accuracy-strings 100`.
"""

ANCHORS = [
    ("Gers & Schmidhuber 2001", "LSTM, forget gates, peepholes", "anbn", "10", "1000 (best run)"),
    ("Gers & Schmidhuber 2001", "LSTM, forget gates, peepholes", "anbncn", "10", "first to learn it"),
    ("Pérez-Ortiz et al. 2003", "LSTM, Kalman-filter training", "anbncn", "10", ">= 1000"),
    ("Weiss et al. 2018", "LSTM vs GRU", "anbn, anbncn", "—", "LSTMs count, GRUs do not"),
    ("Beck et al. 2024 (xLSTM)", "sLSTM", "parity", "40", "solved (tested to 256)"),
    ("Grazzi et al. 2025", "linear RNN, gates in [0, 1]", "parity", "—", "cannot solve it (proof)"),
    (
        "Delétang et al. 2023",
        "LSTM vs Transformer",
        "counters, parity",
        "—",
        "LSTM generalises, Transformer fails",
    ),
]


def evaluate(run, args, model, train):
    predict = lambda x: model.predict(x, verbose=0, batch_size=len(x))  # noqa: E731
    budget = 2**14 if args.cell == "transformer" else 2**17  # attention holds T² per string
    result = fl.max_n_all_correct(predict, args.task, args.test_max_n, seed=args.seed + 1, max_tokens=budget)
    right = float(fl.strings_correct(predict(train.x), train).mean())
    metrics = {
        f"max_n_all_correct_{args.cell}": result["max_n_all_correct"],
        "tested_up_to": result["tested_up_to"],
        "train_strings_right": right,
    }
    if args.accuracy_strings:  # every size, many strings each, no stop at the first wrong one
        by_size = fl.accuracy_by_size(
            predict, args.task, args.test_max_n, args.accuracy_strings, seed=args.seed + 2, max_tokens=budget
        )
        metrics.update(
            accuracy_by_n=by_size["accuracy"],
            min_accuracy=by_size["min_accuracy"],
            worst_n=by_size["worst_size"],
            accuracy_strings_per_n=by_size["strings_per_size"],
        )
        print(f"accuracy per size: lowest {by_size['min_accuracy']:.3f} at n = {by_size['worst_size']}")
    if args.cell != "transformer":
        report = counting.counter_analysis(model, args.task, args.trace_n, seed=args.seed + 1)
        run.save_figure(counting.plot_counter(report), "counter.png")
        for k, layer in enumerate(report["layers"], start=1):
            metrics[f"counter_r2_layer{k}"] = layer["counter"]["r2"]
            if layer["phase"] is not None:
                metrics[f"phase_r2_layer{k}"] = layer["phase"]["r2"]
        metrics[f"counter_r2_{args.cell}"] = max(layer["counter"]["r2"] for layer in report["layers"])
    recurrent_model = args.cell != "transformer"
    ours = {
        "source": "this run",
        "model": f"{args.cell} x{args.layers}" if recurrent_model else "transformer",
        "task": args.task,
        "trained on n <=": args.train_max_n,
        "max n all correct": f"{result['max_n_all_correct']} (tested to {result['tested_up_to']})",
        "counter R²": f"{metrics[f'counter_r2_{args.cell}']:.4f}" if recurrent_model else "—",
    }
    if args.accuracy_strings:
        ours["lowest accuracy per n"] = f"{metrics['min_accuracy']:.3f} (n = {metrics['worst_n']})"
    rows = [ours] + [dict(zip(ours, (*anchor, "—", "—"))) for anchor in ANCHORS]
    run.print_table(rows, title=f"{args.task}: generalisation beyond the training sizes")
    return metrics


"""
## Export

The trained model is saved with a few test strings as sample inputs; with
`--export` its streaming `.tflite` form too (one symbol in, the legal next
symbols out, the counter in the carried state).
"""


def main(argv=None) -> dict:
    args = resolve(build_parser().parse_args(argv))
    run = start_run("counting", args)
    train_set, data = training_data(args)
    with run.strategy.scope():
        model = build_model(args, train_set)
    print(f"[counting] {args.cell} on {args.task}: {model.count_params()} weights, {len(train_set)} strings")
    train(run, args, model, data)
    metrics = evaluate(run, args, model, train_set)
    metrics["weights"] = int(model.count_params())
    run.save_model(model, sample_inputs=fl.test_strings(args.task, [1, 2, 3, 4]).x)
    reached = metrics[f"max_n_all_correct_{args.cell}"]
    print(f"\nmax n all correct: {reached} (trained on n <= {args.train_max_n})")
    return run.finish(metrics)


"""
## Conclusion

The 1997 layer learns to count from ten strings: its cell state tracks the
running count along a straight line, and the count carries it far beyond the
sizes it was trained on, though not yet to n = 1000 in most seeds. A GRU, a
simple RNN and the minimal cells, whose state is a bounded mix at every step,
stop at about the training sizes; the Transformer learns the training strings
and fails at the first longer one. Figures over seeds and cells:
`docs/recipes/counting.md`.
"""

if __name__ == "__main__":
    run_recipe_main(main)
