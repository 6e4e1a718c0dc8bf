"""
Title: The 1997 long-time-lag experiments, reproduced and beaten
Author: lstm-apps
Date created: 2026-11-22
Description: The 1997 LSTM paper's long-time-lag tasks, trained to its stop rules and set against its figures.
"""

"""
## Introduction

Hochreiter & Schmidhuber (1997) introduced the LSTM with a battery of
artificial tasks that conventional recurrent nets could not learn, because
the error signal had to bridge a long time lag. This recipe trains on one of
them (or, with `--all`, on the whole suite), stops by the paper's own success
criterion, and prints the number of training sequences it took next to the
paper's figure.

The tasks (`--task`), their sections and the paper's success criteria (ours in
brackets where the paper leaves a choice), with the training sequences the
paper's LSTM needed:

* `reber` (5.1; 8,440, its best LSTM row): every next-symbol prediction of all
  256 training and 256 test strings correct: the units of the legal next
  symbols are the most active ones.
* `long_lag`, p = 100 (5.2a; 5,040): the final symbol of both sequences
  predicted correctly [every step's most active output is the right symbol
  and the final step's outputs are within 0.25].
* `adding`, T = 100/500/1000 (5.4; 74,000 / 209,000 / 853,000): the average
  training error below 0.01 and the 2000 most recent sequences processed
  correctly (absolute error at the end < 0.04); test on 2560 fresh sequences.
* `multiplication`, T = 100 (5.5; 482,000 with n_seq = 140): at most n_seq
  (`--n-seq`; the paper also ran 13) of the 2000 most recent sequences with
  absolute error >= 0.04; test on 2560.
* `temporal_order_2` (5.6a; 31,390): the average training error below 0.1 and
  the 2000 most recent sequences classified correctly (every output's final
  error < 0.3); test on 2560. `temporal_order_3` (5.6b; 571,100): the same
  with 8 classes.

Differences from the paper, stated plainly:

* The paper trained with plain on-line gradient descent (one sequence per
  weight update, learning rates 0.1 to 0.5). We use Adam on mini-batches,
  with a learning rate (`--learning-rate`) that halves every `--lr-half-life`
  sequences. Beating
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

Two figures show *why* the carousel works: the input-gate activations over one
adding sequence (the gates open at the marked pairs), and the norm of the
gradient of the final output with respect to the input `T - t` steps earlier,
for a simple RNN and for the 1997 layer.

## Setup
"""

import time

import keras

from lstm_apps.datasets import tasks
from lstm_apps.datasets.tasks import analysis, models
from lstm_apps.training import (
    StopWhen,
    non_negative_int,
    positive_int,
    recipe_parser,
    run_recipe_main,
    start_run,
)

"""
## Configuration

Every task's defaults live in the library's table `tasks.TASK_SPECS`: memory
cell blocks x cells per block (the paper's for temporal order, one cell for
long lags; adding and multiplication use 4 blocks of 2 where the paper had 2
blocks of 2, Reber 8 of 2 where it had 3 of 2 or 4 of 1: 887 weights against
the paper's 264-276, because with 4 blocks of 2 only about half of our seeds
ever latched the outer T/P, a capacity-for-reliability trade stated here
rather than hidden), staggered input-gate biases, the weight initialisation
(the paper's uniform [-0.1, 0.1] for adding and multiplication; Keras's
defaults for the one-hot tasks, where each symbol owns a single row of
+-0.1 weights, too small a signal for Adam to break the symmetry in our
budget), Adam's starting learning rate, the batch size, a budget of training
sequences and how often the criterion is checked. The flags below override
them; `--cell lstm|gru|simple_rnn` swaps in Keras's own layers with as many
units as the task's LSTM1997 has memory cells.
"""


#: The default time budget: minutes of training per task (a share of it for the --all suite's).
MINUTES_PER_TASK = 10.0


def build_parser():
    parser = recipe_parser(
        "long_time_lag", __doc__, epochs=None, quick_epochs=2, batch_size=None, learning_rate=None
    )
    g = parser.add_argument_group(
        "long-time-lag options",
        "--epochs counts chunks of --check-every sequences (default: the task's budget of\n"
        f"sequences); --max-minutes defaults to {MINUTES_PER_TASK:g} minutes of training per task, the\n"
        "--all suite's divided by the tasks' shares (tasks.PAPER_SUITE).",
    )
    g.add_argument("--task", choices=tasks.TASKS, default="adding", help="the paper's task (default adding)")
    g.add_argument("--all", action="store_true", help="run the suite (plus a simple RNN on adding)")
    g.add_argument("--no-truncate", action="store_true", help="LSTM1997 with full BPTT (not truncated)")
    for flag, kind, default, about in (
        ("--length", positive_int, None, "T for adding/multiplication (100, 500, 1000), p for long_lag"),
        ("--max-sequences", positive_int, None, "budget of training sequences (default per task)"),
        ("--lr-half-life", positive_int, 15000, "training sequences per halving of the learning rate"),
        ("--check-every", positive_int, None, "sequences between checks of the stop rule (default per task)"),
        ("--window", positive_int, tasks.PAPER_WINDOW, "recent sequences the stop rule checks (paper: 2000)"),
        ("--n-seq", non_negative_int, 140, "multiplication: wrong sequences allowed (paper: 140 or 13)"),
        ("--test-sequences", positive_int, tasks.PAPER_TEST_SEQUENCES, "fresh test sequences (paper: 2560)"),
        ("--blocks", positive_int, None, "LSTM1997 memory cell blocks (default per task)"),
        ("--cells-per-block", positive_int, None, "memory cells per block (default per task)"),
        ("--input-gate-bias", float, None, "input-gate bias of the first block (default -1)"),
        ("--bias-step", float, None, "added to the input-gate bias from block to block (default per task)"),
        ("--output-gate-bias", float, None, "output-gate bias of every block (default -2)"),
    ):
        g.add_argument(flag, type=kind, default=default, help=about)
    return parser


"""
## Data

`tasks.task_settings` resolves a run's settings (the task's defaults, then
the flags); `tasks.task_data` sets up its data as the paper did: a stream of
fresh sequences padded to the task's maximal length (Reber: drawn from the
fixed training strings), the sequences the stop rule checks (the `--window`
most recent ones; Reber: both fixed sets; long lags: both sequences) and the
test set.
"""


NET_FLAGS = ("blocks", "cells_per_block", "input_gate_bias", "bias_step", "output_gate_bias")


def settings_for(args, task, max_sequences=None):
    return tasks.task_settings(
        task,
        quick=args.quick,
        epochs=args.epochs,
        max_sequences=max_sequences,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        **{k: getattr(args, k) for k in ("check_every", "window", "test_sequences", "lr_half_life")},
        **{k: getattr(args, k) for k in NET_FLAGS},
    )


"""
## Model

Masking -> one recurrent layer -> output units fed by the memory cells only,
as in the paper (long lag: and by the inputs, so the trivial predictions need
not pass through its one cell); Adam with a learning rate that halves every
`--lr-half-life` sequences.
"""


def make_model(run, args, task, cell, data, settings):
    keras.utils.set_random_seed(args.seed)
    with run.strategy.scope():
        return models.build_model(
            task,
            cell,
            data.features,
            data.outputs,
            data.steps,
            settings.config,
            truncate=not args.no_truncate,
            learning_rate=settings.learning_rate,
            half_life_batches=settings.half_life_batches,
        )


"""
## Train

`run.fit` on the stream, one epoch per `--check-every` sequences; after each,
`StopWhen` calls the paper's stop rule (`tasks.paper_stop_rule`), which checks
the criterion with the current weights on the most recent sequences trained
on. Training stops when it holds, when the sequence budget is spent or when the
run's time budget (`--max-minutes`) is.
"""


def train(run, args, task, cell, length, label, max_sequences=None, budget_share=1.0):
    settings = settings_for(args, task, max_sequences)
    data = tasks.task_data(task, settings, length=length, seed=args.seed)
    model = make_model(run, args, task, cell, data, settings)
    rule = tasks.paper_stop_rule(
        task, data.check_set, settings.sequences_per_epoch, verbose=run.verbose, n_seq=args.n_seq
    )
    print(
        f"[{label}] training on up to {settings.epochs * settings.sequences_per_epoch:,} sequences "
        f"({model.count_params()} weights)",
        flush=True,
    )
    spent = run.budget.wall_seconds
    history = run.fit(
        model,
        iter(data.stream),
        steps_per_epoch=settings.steps_per_epoch,
        epochs=settings.epochs,
        callbacks=[StopWhen(rule)],
        history_name=f"history_{label}",
        budget_share=budget_share,
    )
    trained = len(history.history.get("loss", [])) * settings.sequences_per_epoch
    seconds = round(run.budget.wall_seconds - spent, 1)
    return model, data, rule, {"sequences_trained": trained, "train_seconds": seconds}


"""
## Evaluate

The test set scored as the paper scores it, the sequence count next to the
paper's, and two figures for the adding problem: the input gates over one
sequence, and the vanishing gradient of a simple RNN against the 1997 layer's
constant error carousel.
"""


def evaluate(model, args, task, cell, length, data, rule, trained):
    spec = tasks.task_spec(task)
    errors = tasks.test_errors(spec.output, model.predict(data.test.x, batch_size=256, verbose=0), data.test)
    return {
        "task": task,
        "length": length,
        "cell": cell + (" (full BPTT)" if cell == "lstm1997" and args.no_truncate else ""),
        "solved": rule.solved_at is not None,
        "sequences_to_success": rule.solved_at,
        "sequences_trained": trained["sequences_trained"],
        "paper_sequences": spec.paper_figure(length),
        "test_sequences": len(data.test),
        "test_error_count": errors["error_count"],
        "test_max_abs_error": errors["max_abs_error"],
        "test_mse": errors["mse"],
        "train_seconds": trained["train_seconds"],
        "weights": int(model.count_params()),
    }


def carousel_figures(run, args, model):
    metrics = {}
    if args.cell == "lstm1997":
        gates, marks = analysis.input_gate_trace(model, args.length, args.seed + 20_000)
        per_block = model.get_layer("recurrent").cells_per_block
        run.save_figure(analysis.plot_input_gates(gates, marks, per_block), "input_gates.png")
        best, at_marks, elsewhere = analysis.gate_selectivity(gates, marks)
        metrics.update(input_gate_at_marks=at_marks, input_gate_elsewhere=elsewhere)
        print(f"Most selective input gate (cell {best}): {at_marks:.3f} at the marks, {elsewhere:.3f} else.")
    T = args.length or 100
    trained = model if args.cell == "lstm1997" and T <= 200 else None
    norms = analysis.vanishing_gradient(T=min(T, 200), seed=args.seed, trained=trained)
    run.save_figure(analysis.plot_vanishing_gradient(norms), "vanishing_gradient.png")
    metrics.update({f"grad_ratio_{k}": v for k, v in analysis.gradient_ratios(norms).items()})
    return metrics


"""
## Export

Each trained model is saved as a `.keras` file in the run folder (one per task
with `--all`), with sample test inputs for `--export`.
"""


def run_one(run, args, task, cell, length, max_sequences=None, budget_share=1.0):
    label = f"{task}{'' if length is None else length}_{cell}"
    model, data, rule, trained = train(run, args, task, cell, length, label, max_sequences, budget_share)
    result = evaluate(model, args, task, cell, length, data, rule, trained)
    run.save_json(f"criterion_log_{label}.json", rule.log)
    run.save_model(
        model, f"model_{label}.keras" if args.all else "model.keras", sample_inputs=data.test.x[:8]
    )
    print(tasks.verdict(result), flush=True)
    return model, result, label


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    if not args.all:
        tasks.task_spec(args.task).length(args.length)  # the paper's fixed lengths refuse --length
    suite = tasks.PAPER_SUITE if args.all else [tasks.SuiteEntry(args.task, args.cell, args.length)]
    if args.max_minutes is None:
        args.max_minutes = MINUTES_PER_TASK * sum(entry.minutes_share for entry in suite)
    run = start_run("long_time_lag", args)
    started = time.time()
    if not args.all:
        model, result, _ = run_one(run, args, args.task, args.cell, args.length, args.max_sequences)
        run.print_table(tasks.comparison_rows(result), title=f"{args.task}: this run vs. the 1997 paper")
        metrics = {k: v for k, v in result.items() if k not in ("task", "cell")}
        if args.task == "adding":
            metrics.update(carousel_figures(run, args, model))
        print("\nConclusion: " + tasks.verdict(result))
    else:
        results = {}
        for entry, share in zip(suite, tasks.budget_shares([e.minutes_share for e in suite])):
            budget = (None if args.quick else entry.max_sequences) or args.max_sequences
            length = entry.length_for(args.length)
            _, result, label = run_one(run, args, entry.task, entry.cell, length, budget, share)
            results[label] = result
        rows = [{k: r[k] for k in tasks.SUITE_COLUMNS} for r in results.values()]
        run.print_table(rows, title="Long-time-lag suite (Hochreiter & Schmidhuber 1997)")
        metrics = tasks.suite_metrics(results)
        print("\nConclusion: " + tasks.suite_conclusion(results))
    metrics["wall_seconds"] = round(time.time() - started, 1)
    return run.finish(metrics)


"""
## Conclusion

With Adam on mini-batches, the 1997 layer reaches the paper's criteria on the
adding problem (T = 100), both temporal-order tasks and the embedded Reber
grammar with fewer training sequences than the paper's on-line SGD; the credit
goes to the optimiser as much as to the layer. A simple RNN never learns the
adding problem: its gradient decays geometrically with the lag
(`vanishing_gradient.png`) where the carousel keeps it constant. The losses,
reported as such: Reber needs a larger net than the paper's and still fails
some seeds; the long-lag task 5.2a stays at a coin flip on its final symbol;
multiplication and adding at T = 1000 need budgets far beyond minutes.
Measured figures and the suite's table: `docs/recipes/long_time_lag.md`.
"""

if __name__ == "__main__":
    run_recipe_main(main)
