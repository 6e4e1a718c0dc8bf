"""
Title: Next-nucleotide prediction on a real genome, in bits per base
Author: lstm-apps
Date created: 2026-11-22
Description: An LSTM predicts the next base of E. coli K-12; bits/base against the best order-k Markov model.
"""

"""
## Introduction

A genome is a long text over four letters. A model that predicts each base from
the ones before it is judged by one number: the cross-entropy on held-out
sequence in **bits per base**. Two bits is a uniform guess; DNA compressors
reach about 1.6–1.9 bits/base, and the classic baseline, an order-k Markov
model with additive smoothing, reaches about 1.936 bits/base on the last 10 %
of *E. coli* K-12 with k = 6 (longer contexts are too sparse to count).

This recipe trains a recurrent network, self-supervised, on the first 90 % of
a genome (the last slice of it held back for validation), and scores the last
10 % with both models. Training windows are streamed from an `int8` copy of
the genome with `tf.data` (`lstm_apps.datasets.genome.window_dataset`), so no
one-hot copy of the 4.6 megabases ever exists, and the reverse-complement
strand doubles the training data. Every window starts from a zero state; at
test time each scored block gets `--eval-warmup` bases of preceding context.

With a GenBank file (annotated genes) it also asks what the network learned:
its mean loss near gene starts and stops against elsewhere, and a linear probe
(logistic regression on its hidden states) for "this base lies inside a coding
region", against the majority-class baseline.

`--evaluate other.fasta` scores another file with the trained network and the
Markov model.

## Setup
"""

import argparse
from pathlib import Path

import keras
import numpy as np

from lstm_apps.baselines.markov import select_model
from lstm_apps.datasets import genome_scoring as scoring
from lstm_apps.datasets.genome import VOCAB_SIZE, load_genome_split, read_genome, window_dataset
from lstm_apps.layers import recurrent
from lstm_apps.training import (
    existing_file,
    fraction,
    non_negative_int,
    positive_int,
    recipe_parser,
    run_recipe_main,
    start_run,
)

"""
## Configuration

The defaults are the benchmarked configuration: one LSTM layer of 128 units
on 128-base windows, 150 batches of 128 windows an epoch, early stopping on
the validation slice. `--quick` trains for seconds on the first 60 kb.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = recipe_parser(
        "nucleotide", __doc__, epochs=60, quick_epochs=2, cell="lstm", batch_size=128, learning_rate=3e-3
    )
    g = parser.add_argument_group("nucleotide options")
    g.add_argument(
        "--genome", type=existing_file, help="FASTA/GenBank file, plain or gzip (default: E. coli)"
    )
    g.add_argument(
        "--evaluate", type=existing_file, metavar="FILE", help="also score this FASTA/GenBank file"
    )
    g.add_argument("--test-fraction", type=fraction, default=0.1, help="held-out tail (default 0.1)")
    g.add_argument("--val-fraction", type=fraction, default=0.02, help="validation slice before it (0.02)")
    g.add_argument("--window", type=positive_int, default=128, help="training window length (default 128)")
    g.add_argument("--units", type=positive_int, default=128, help="recurrent units per layer (default 128)")
    g.add_argument("--layers", type=positive_int, default=1, help="stacked recurrent layers (default 1)")
    g.add_argument("--embed", type=positive_int, default=16, help="base embedding size (default 16)")
    g.add_argument(
        "--no-reverse-complement",
        dest="reverse_complement",
        action="store_false",
        help="train on the given strand only",
    )
    g.add_argument("--patience", type=positive_int, default=6, help="early-stopping patience (default 6)")
    g.add_argument(
        "--steps-per-epoch", type=non_negative_int, default=150, help="batches per epoch, 0: one pass (150)"
    )
    g.add_argument("--eval-block", type=positive_int, default=1024, help="bases scored per block (1024)")
    g.add_argument("--eval-warmup", type=non_negative_int, default=256, help="context before a block (256)")
    g.add_argument("--max-order", type=non_negative_int, default=12, help="highest Markov order (default 12)")
    g.add_argument("--quick-bases", type=positive_int, default=60_000, help="bases used by --quick (60000)")
    return parser


def quick_settings(args):
    """`--quick`: one pass over small windows of a small network, shorter evaluation blocks."""
    args.steps_per_epoch = 0
    args.batch_size = min(args.batch_size, 64)
    args.window = min(args.window, 64)
    args.units = min(args.units, 32)
    args.max_order = min(args.max_order, 6)
    args.eval_block = min(args.eval_block, 512)
    args.eval_warmup = min(args.eval_warmup, 64)


"""
## Data

`load_genome_split` reads the genome (Biopython; ambiguous bases become a
mask token that is never predicted) and cuts it into training, validation
and test parts; from a GenBank file it also marks the coding regions.
"""


def load_data(args):
    split = load_genome_split(
        args.genome,
        test_fraction=args.test_fraction,
        val_fraction=args.val_fraction,
        window=args.window,
        max_bases=args.quick_bases if args.quick else None,
    )
    genome, n, v, t = split.genome, len(split), split.val_start, split.test_start
    print(
        f"{Path(genome.path).name}: {len(genome)} bases in {len(genome.records)} record(s), "
        f"GC {genome.gc_content():.3f}, {genome.n_ambiguous} ambiguous; "
        f"using {n}: train [0, {v}), validation [{v}, {t}), test [{t}, {n})"
    )
    return split


"""
## Model

Embedding of the five tokens (A, C, G, T, mask) → recurrent layer(s) returning
the whole sequence → a softmax over the four bases at every position. The loss
is the cross-entropy in nats; divided by ln 2 it is bits per base.

The baseline is the order-k Markov model with the order and the strand option
(count one strand or both) chosen on the validation slice, then refitted on
training plus validation.
"""


def build_model(args):
    tokens = keras.Input((None,), dtype="int32", name="bases")
    h = keras.layers.Embedding(VOCAB_SIZE, args.embed, name="embed")(tokens)
    for i in range(args.layers):
        h = recurrent(args.cell, args.units, return_sequences=True, name=f"rnn_{i}")(h)
    logits = keras.layers.Dense(4, name="next_base")(h)
    model = keras.Model(tokens, logits, name="nucleotide_lm")
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[],
    )
    return model


def fit_markov(split, args):
    codes, v, t = split.codes, split.val_start, split.test_start
    markov, table = select_model(codes[:v], codes[v:t], range(args.max_order + 1), context=codes[:v])
    best_val = min(row["valid_bits_per_base"] for row in table)
    markov.fit(codes[:t])
    print(
        f"Markov: best order {markov.order} ({'both strands' if markov.both_strands else 'one strand'}) on "
        f"validation ({best_val:.4f} bits/base)"
    )
    return markov, best_val


"""
## Train

Windows start at random offsets every epoch, half a window apart, from both
strands; the learning rate halves when the validation loss stalls, and
training stops early with the best weights restored.
"""


def train(run, split, args):
    codes, val_start, test_start = split.codes, split.val_start, split.test_start
    train_ds = window_dataset(
        codes[:val_start],
        args.window,
        shift=args.window // 2,
        batch_size=args.batch_size,
        shuffle=True,
        seed=args.seed,
        reverse_complement=args.reverse_complement,
        random_offset=True,
        repeat=bool(args.steps_per_epoch),
        drop_remainder=True,
    )
    val_ds = window_dataset(codes[val_start - 1 : test_start], args.window, batch_size=args.batch_size)
    with run.strategy.scope():
        model = build_model(args)
    model.summary(print_fn=lambda s, **kw: None if args.quick else print(s))
    history = run.fit(
        model,
        train_ds,
        validation_data=val_ds,
        steps_per_epoch=args.steps_per_epoch or None,
        shuffle=False,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau(
                "val_loss", factor=0.5, patience=max(1, args.patience // 2), min_lr=1e-4, verbose=0
            ),
            keras.callbacks.EarlyStopping("val_loss", patience=args.patience, restore_best_weights=True),
        ],
    )
    return model, {"epochs_trained": len(history.history.get("loss", []))}


"""
## Evaluate

Both models score every base of the held-out tail; the table adds the
uniform guess (2 bits/base). With annotation, the losses near gene starts and
stops and the coding-region probe follow.
"""


def evaluate(run, model, markov, best_val, split, args):
    codes, val_start, test_start, n = split.codes, split.val_start, split.test_start, len(split)
    scoring_args = dict(block=args.eval_block, warmup=args.eval_warmup)
    lstm_bits = scoring.per_base_bits(model, codes, test_start, n, **scoring_args)
    markov_bits = markov.per_base_bits(codes, start=test_start)
    val_bits = scoring.per_base_bits(model, codes, val_start, test_start, **scoring_args)
    lstm_bpb, markov_bpb = float(np.nanmean(lstm_bits)), float(np.nanmean(markov_bits))
    metrics = {
        "test_bits_per_base_lstm": lstm_bpb,
        "test_bits_per_base_markov": markov_bpb,
        "markov_order": markov.order,
        "markov_both_strands": int(markov.both_strands),
        "valid_bits_per_base_lstm": float(np.nanmean(val_bits)),
        "valid_bits_per_base_markov": best_val,
        "lstm_minus_markov_bits": lstm_bpb - markov_bpb,
        "test_bases": int(np.isfinite(lstm_bits).sum()),
        "train_bases": int(val_start),
    }
    markov_name = f"Markov order {markov.order}" + (" (both strands)" if markov.both_strands else "")
    rows = [
        {"model": "uniform guess", "test bits/base": 2.0},
        {"model": markov_name, "test bits/base": markov_bpb},
        {"model": f"{args.cell} {args.layers}x{args.units}", "test bits/base": lstm_bpb},
    ]
    bits = {args.cell: lstm_bits, f"Markov k={markov.order}": markov_bits}
    coding = None if split.coding is None else split.coding[test_start:n]
    run.save_figure(scoring.plot_loss_along(bits, test_start, coding), "test_loss_along_genome.png")

    if split.coding is not None and split.gene_starts is not None and split.coding[test_start:].any():
        for label, model_bits in (("lstm", lstm_bits), ("markov", markov_bits)):
            near = scoring.mean_bits_near_genes(model_bits, split.gene_starts, split.gene_stops, test_start)
            metrics.update({f"test_bits_near_{k}_{label}": near[k] for k in ("gene_start", "gene_stop")})
            metrics[f"test_bits_elsewhere_{label}"] = near["elsewhere"]
        profile = scoring.gene_start_profile(split.genome.features, bits, test_start, n)
        if profile is not None:
            run.save_figure(scoring.plot_gene_start_profile(*profile), "loss_around_gene_starts.png")
        metrics.update(scoring.coding_probe(model, split, warmup=args.eval_warmup, seed=args.seed))
        probe = f"probe 'inside CDS' ({args.cell} states)"
        rows.append({"model": probe, "test bits/base": None, "accuracy": metrics["probe_accuracy"]})
        rows.append({"model": "probe majority baseline", "accuracy": metrics["probe_majority_accuracy"]})
    return metrics, rows


def evaluate_other(model, markov, other, args):
    """Scores of the `--evaluate` file: every base after the first, by both models."""
    o_lstm, o_markov = scoring.score_sequence(
        model, markov, other.codes, block=args.eval_block, warmup=args.eval_warmup
    )
    metrics = {
        "evaluate_bits_per_base_lstm": float(np.nanmean(o_lstm)),
        "evaluate_bits_per_base_markov": float(np.nanmean(o_markov)),
        "evaluate_markov_order": markov.order,
        "evaluate_bases": int(np.isfinite(o_lstm).sum()),
    }
    name = Path(args.evaluate).name
    rows = [
        {"model": f"{name}: {m}", "test bits/base": metrics[f"evaluate_bits_per_base_{k}"]}
        for m, k in (("Markov", "markov"), (args.cell, "lstm"))
    ]
    return metrics, rows


"""
## Export

The network is saved with two real evaluation blocks as sample inputs, so
`--export` can check the streaming TFLite model against Keras on them.
"""


def export(run, model, split, args):
    start, block = split.test_start, args.eval_block
    x, _ = scoring.eval_blocks(split.codes, start, start + 2 * block, block, args.eval_warmup)
    run.save_model(model, sample_inputs=x[:2])


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    if args.quick:
        quick_settings(args)
    split = load_data(args)  # bad files and fractions fail before the run starts
    other = read_genome(args.evaluate) if args.evaluate else None
    run = start_run("nucleotide", args)
    markov, best_val = fit_markov(split, args)
    model, training = train(run, split, args)
    metrics, rows = evaluate(run, model, markov, best_val, split, args)
    metrics.update(training)
    if other is not None:
        other_metrics, other_rows = evaluate_other(model, markov, other, args)
        metrics.update(other_metrics)
        rows += other_rows
    title = f"Bits per base on the last {args.test_fraction:.0%} of {Path(split.genome.path).name}"
    run.print_table(rows, title=title + " (lower is better)")
    lstm_bpb, markov_bpb = metrics["test_bits_per_base_lstm"], metrics["test_bits_per_base_markov"]
    verdict = "WINS" if lstm_bpb < markov_bpb else "LOSES"
    print(f"The {args.cell} {verdict}: {lstm_bpb:.4f} vs {markov_bpb:.4f} bits/base for the Markov model.")
    export(run, model, split, args)
    return run.finish(metrics)


"""
## Conclusion

On the bundled *E. coli* K-12 genome the best Markov model chosen on
validation counts both strands and reaches about the reference 1.936
bits/base on the held-out tail; the default LSTM, trained for about twenty
CPU-minutes, scores clearly fewer bits per base and stays ahead along
almost all of the held-out region. Both models sit near 2 bits/base on a
few stretches. A `--quick` run trains for seconds on a 60-kb slice: it shows
the pipeline working, and the Markov model usually wins there. Figures and
the benchmarked numbers: `docs/recipes/nucleotide.md`.
"""

if __name__ == "__main__":
    run_recipe_main(main)
