"""
Title: Next-nucleotide prediction on a real genome, in bits per base
Author: lstm-apps
Date created: 2026-11-22
Description: An LSTM reads E. coli K-12 and predicts the next base; bits/base on the held-out last 10 % against the best order-k Markov model.
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
import sys
import time
from pathlib import Path

import numpy as np

try:
    import lstm_apps  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras

from lstm_apps.baselines.markov import select_order
from lstm_apps.datasets.genome import (
    MASK,
    VOCAB_SIZE,
    default_genome_path,
    read_genome,
    window_dataset,
)
from lstm_apps.layers import recurrent
from lstm_apps.metrics import nats_to_bits
from lstm_apps.training import recipe_parser, start_run

"""
## Configuration
"""


def build_parser() -> argparse.ArgumentParser:
    parser = recipe_parser("nucleotide", __doc__, epochs=60, quick_epochs=2, cell="lstm", batch_size=128)
    g = parser.add_argument_group("nucleotide options")
    g.add_argument(
        "--genome", default=None, help="FASTA/GenBank file, plain or gzip (default: bundled E. coli K-12)"
    )
    g.add_argument(
        "--evaluate",
        default=None,
        metavar="FILE",
        help="also score this FASTA/GenBank file with the trained models",
    )
    g.add_argument(
        "--test-fraction", type=float, default=0.1, help="held-out tail of the sequence (default 0.1)"
    )
    g.add_argument(
        "--val-fraction",
        type=float,
        default=0.02,
        help="validation slice just before the test tail (default 0.02)",
    )
    g.add_argument("--window", type=int, default=128, help="training window length (default 128)")
    g.add_argument("--units", type=int, default=128, help="recurrent units per layer (default 128)")
    g.add_argument("--layers", type=int, default=1, help="stacked recurrent layers (default 1)")
    g.add_argument("--embed", type=int, default=16, help="base embedding size (default 16)")
    g.add_argument("--learning-rate", type=float, default=3e-3, help="Adam learning rate (default 3e-3)")
    g.add_argument(
        "--no-reverse-complement",
        dest="reverse_complement",
        action="store_false",
        help="train on the given strand only",
    )
    g.add_argument(
        "--train-minutes",
        type=float,
        default=None,
        help="stop training after this many wall-clock minutes (checked after every batch)",
    )
    g.add_argument(
        "--train-cpu-minutes",
        type=float,
        default=None,
        help="stop training after this many minutes of process CPU time (all threads)",
    )
    g.add_argument(
        "--patience",
        type=int,
        default=6,
        help="epochs without validation progress before stopping; the best weights are kept (default 6)",
    )
    g.add_argument(
        "--steps-per-epoch",
        type=int,
        default=150,
        help="batches per epoch, 0 for one pass over all windows (default 150, about 2.5 Mb)",
    )
    g.add_argument(
        "--eval-block", type=int, default=1024, help="bases scored per evaluation block (default 1024)"
    )
    g.add_argument(
        "--eval-warmup",
        type=int,
        default=256,
        help="bases of context fed before each scored block (default 256)",
    )
    g.add_argument("--max-order", type=int, default=12, help="highest Markov order tried (default 12)")
    g.add_argument(
        "--quick-bases",
        type=int,
        default=60_000,
        help="--quick uses only the first this-many bases (default 60000)",
    )
    return parser


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``minutes`` of wall-clock or ``cpu_minutes`` of process CPU time are spent.

    CPU time (``time.process_time``, all threads) is the fair measure on a
    shared machine; wall-clock time bounds how long a run may take.
    """

    def __init__(self, minutes=None, cpu_minutes=None):
        super().__init__()
        self.wall = None if minutes is None else 60.0 * float(minutes)
        self.cpu = None if cpu_minutes is None else 60.0 * float(cpu_minutes)
        self.stopped_by = ""
        self.wall_seconds = self.cpu_seconds = 0.0

    def on_train_begin(self, logs=None):
        self._w0, self._c0 = time.time(), time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        self.wall_seconds = time.time() - self._w0
        self.cpu_seconds = time.process_time() - self._c0
        if self.wall is not None and self.wall_seconds > self.wall:
            self.stopped_by = "wall"
        elif self.cpu is not None and self.cpu_seconds > self.cpu:
            self.stopped_by = "cpu"
        if self.stopped_by:
            self.model.stop_training = True


"""
## Data
"""


def load(args):
    path = Path(args.genome) if args.genome else default_genome_path()
    genome = read_genome(path)
    codes = genome.codes
    coding = genome.feature_mask(("CDS",)) if genome.features else None
    starts = stops = None
    if genome.features:
        starts, stops = genome.feature_ends(("CDS",))
    if args.quick:
        codes = codes[: args.quick_bases]
        if coding is not None:
            coding = coding[: codes.size]
    n = codes.size
    for name in ("test_fraction", "val_fraction"):
        v = getattr(args, name)
        if not 0.0 < v < 0.5:
            raise ValueError(f"--{name.replace('_', '-')} must lie in (0, 0.5), received {v}.")
    test_start = int(round(n * (1 - args.test_fraction)))
    val_start = int(round(n * (1 - args.test_fraction - args.val_fraction)))
    if val_start < args.window + 1 or test_start - val_start < 100 or n - test_start < 100:
        raise ValueError(f"{path}: {n} bases are too few for window {args.window} with these fractions.")
    return genome, codes, coding, starts, stops, val_start, test_start


"""
## Model

Embedding of the five tokens (A, C, G, T, mask) → recurrent layer(s) returning
the whole sequence → a softmax over the four bases at every position. The loss
is the cross-entropy in nats; divided by ln 2 it is bits per base.
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


def hidden_model(model):
    """The same network, returning the last recurrent layer's states."""
    last = [l for l in model.layers if l.name.startswith("rnn_")][-1]
    return keras.Model(model.inputs, last.output)


def blocks(codes, start, stop, block, warmup):
    """Inputs predicting positions ``start..stop-1`` in blocks with ``warmup`` context.

    Row ``r`` holds ``codes[b - 1 - warmup : b + block - 1]`` (left-padded with
    the mask token before the sequence start) for ``b = start + r * block``;
    its outputs ``warmup..warmup+block-1`` predict ``codes[b : b + block]``.
    """
    starts = np.arange(start, stop, block)
    idx = starts[:, None] - 1 - warmup + np.arange(warmup + block)[None, :]
    valid = (idx >= 0) & (idx < codes.size)
    x = np.where(valid, codes[np.clip(idx, 0, codes.size - 1)], MASK).astype(np.int32)
    return x, starts


def predict_log_probs(model, codes, start, stop, block, warmup, batch_size=64):
    """Log-probabilities (nats) of the four bases at positions ``start..stop-1``."""
    x, starts = blocks(codes, start, stop, block, warmup)
    logits = model.predict(x, batch_size=batch_size, verbose=0)[:, warmup:, :]
    logp = _log_softmax(logits.astype(np.float64))
    return logp.reshape(-1, 4)[: stop - start]


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def per_base_bits_lstm(model, codes, start, stop, block, warmup):
    logp = predict_log_probs(model, codes, start, stop, block, warmup)
    target = codes[start:stop].astype(np.int64)
    ok = target < 4
    bits = np.full(target.size, np.nan)
    bits[ok] = nats_to_bits(-logp[ok, target[ok]])
    return bits


"""
## Train
"""


def near_mask(n, points, radius, offset=0):
    mask = np.zeros(n, dtype=bool)
    for p in points:
        a, b = p - offset - radius, p - offset + radius + 1
        if b > 0 and a < n:
            mask[max(a, 0) : min(b, n)] = True
    return mask


def main(argv=None) -> dict:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.steps_per_epoch = 0
        args.batch_size = min(args.batch_size, 64)
        args.window = min(args.window, 64)
        args.units = min(args.units, 32)
        args.max_order = min(args.max_order, 6)
        args.eval_block = min(args.eval_block, 512)
        args.eval_warmup = min(args.eval_warmup, 64)
    other = read_genome(args.evaluate) if args.evaluate else None  # bad files fail before training
    run = start_run("nucleotide", args)
    genome, codes, coding, gstarts, gstops, val_start, test_start = load(args)
    n = codes.size
    print(
        f"{Path(genome.path).name}: {len(genome)} bases in {len(genome.records)} record(s), "
        f"GC {genome.gc_content():.3f}, {genome.n_ambiguous} ambiguous; "
        f"using {n}: train [0, {val_start}), validation [{val_start}, {test_start}), test [{test_start}, {n})"
    )

    # Markov baseline: order and strand option chosen on the validation slice,
    # then refitted on train + validation (the whole first part) for the test.
    t0 = time.time()
    candidates = []
    for both in (False, True):
        model_m, table = select_order(
            codes[:val_start],
            codes[val_start:test_start],
            range(0, args.max_order + 1),
            both_strands=both,
            context=codes[:val_start],
        )
        candidates.append((min(r["valid_bits_per_base"] for r in table), both, model_m, table))
    best_val, markov_both, markov, markov_table = min(candidates, key=lambda c: c[0])
    markov.fit(codes[:test_start])
    markov_test_bits = markov.per_base_bits(codes, start=test_start)
    print(
        f"Markov: best order {markov.order} ({'both strands' if markov_both else 'one strand'}) "
        f"on validation ({best_val:.4f} bits/base); test {np.nanmean(markov_test_bits):.4f} bits/base "
        f"[{time.time() - t0:.1f} s]"
    )

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
    budget = TimeBudget(args.train_minutes, args.train_cpu_minutes)
    t0 = time.time()
    history = run.fit(
        model,
        train_ds,
        validation_data=val_ds,
        steps_per_epoch=args.steps_per_epoch or None,
        shuffle=False,
        callbacks=[
            budget,
            keras.callbacks.ReduceLROnPlateau(
                "val_loss", factor=0.5, patience=max(1, args.patience // 2), min_lr=1e-4, verbose=0
            ),
            keras.callbacks.EarlyStopping("val_loss", patience=args.patience, restore_best_weights=True),
        ],
    )
    train_seconds = time.time() - t0
    epochs_done = len(history.history.get("loss", []))

    """
    ## Evaluate
    """
    lstm_test_bits = per_base_bits_lstm(model, codes, test_start, n, args.eval_block, args.eval_warmup)
    lstm_bpb = float(np.nanmean(lstm_test_bits))
    markov_bpb = float(np.nanmean(markov_test_bits))
    val_bits = per_base_bits_lstm(model, codes, val_start, test_start, args.eval_block, args.eval_warmup)
    metrics = {
        "test_bits_per_base_lstm": lstm_bpb,
        "test_bits_per_base_markov": markov_bpb,
        "markov_order": markov.order,
        "markov_both_strands": int(markov_both),
        "valid_bits_per_base_lstm": float(np.nanmean(val_bits)),
        "valid_bits_per_base_markov": best_val,
        "lstm_minus_markov_bits": lstm_bpb - markov_bpb,
        "test_bases": int(np.isfinite(lstm_test_bits).sum()),
        "train_bases": int(val_start),
        "train_seconds": train_seconds,
        "train_cpu_seconds": budget.cpu_seconds,
        "epochs_trained": epochs_done,
        "stopped_by_wall_budget": int(budget.stopped_by == "wall"),
        "stopped_by_cpu_budget": int(budget.stopped_by == "cpu"),
    }
    rows = [
        {"model": "uniform guess", "test bits/base": 2.0},
        {
            "model": f"Markov order {markov.order}" + (" (both strands)" if markov_both else ""),
            "test bits/base": markov_bpb,
        },
        {"model": f"{args.cell} {args.layers}x{args.units}", "test bits/base": lstm_bpb},
    ]

    # Per-position loss along the test region (smoothed), both models.
    import matplotlib.pyplot as plt
    import pandas as pd

    win = max(1, min(2000, (n - test_start) // 50))
    pos = np.arange(test_start, n)
    fig, ax = plt.subplots(figsize=(10, 3.5))
    for bits, label in ((lstm_test_bits, args.cell), (markov_test_bits, f"Markov k={markov.order}")):
        smooth = pd.Series(bits).rolling(win, center=True, min_periods=max(1, win // 2)).mean()
        ax.plot(pos, smooth.to_numpy(), lw=0.8, label=label)
    if coding is not None:
        ax.fill_between(
            pos,
            0,
            1,
            where=coding[test_start:n],
            transform=ax.get_xaxis_transform(),
            color="0.9",
            label="CDS",
        )
    ax.set_xlabel("position (bp)")
    ax.set_ylabel(f"bits/base ({win}-bp mean)")
    ax.set_title("Loss along the held-out region")
    ax.legend(loc="upper right")
    run.save_figure(fig, "test_loss_along_genome.png")

    # What the network learned: gene starts/stops and a coding-region probe.
    if coding is not None and gstarts is not None and coding[test_start:].any():
        radius = 30
        m = n - test_start
        in_test = lambda p: p[(p >= test_start) & (p < n)]  # noqa: E731
        near_start = near_mask(m, in_test(gstarts), radius, offset=test_start)
        near_stop = near_mask(m, in_test(gstops), radius, offset=test_start)
        elsewhere = ~(near_start | near_stop)
        for name, mask in (("gene_start", near_start), ("gene_stop", near_stop), ("elsewhere", elsewhere)):
            metrics[f"test_bits_near_{name}_lstm" if name != "elsewhere" else "test_bits_elsewhere_lstm"] = (
                float(np.nanmean(lstm_test_bits[mask])) if mask.any() else float("nan")
            )
            metrics[
                f"test_bits_near_{name}_markov" if name != "elsewhere" else "test_bits_elsewhere_markov"
            ] = float(np.nanmean(markov_test_bits[mask])) if mask.any() else float("nan")
        fig = gene_start_profile(
            genome, lstm_test_bits, markov_test_bits, test_start, n, args.cell, markov.order
        )
        if fig is not None:
            run.save_figure(fig, "loss_around_gene_starts.png")
        metrics.update(coding_probe(model, codes, coding, val_start, test_start, n, args))
        rows.append(
            {
                "model": f"probe 'inside CDS' ({args.cell} states)",
                "test bits/base": None,
                "accuracy": metrics["probe_accuracy"],
            }
        )
        rows.append(
            {
                "model": "probe majority baseline",
                "test bits/base": None,
                "accuracy": metrics["probe_majority_accuracy"],
            }
        )
        print(
            f"Mean LSTM loss ±{radius} bp of CDS starts {metrics['test_bits_near_gene_start_lstm']:.3f}, "
            f"stops {metrics['test_bits_near_gene_stop_lstm']:.3f}, elsewhere {metrics['test_bits_elsewhere_lstm']:.3f} bits/base"
        )

    if args.evaluate:
        oc = other.codes
        o_lstm = per_base_bits_lstm(model, oc, 1, oc.size, args.eval_block, args.eval_warmup)
        o_markov = markov.per_base_bits(
            np.concatenate([np.full(markov.order, MASK, np.int8), oc]), start=markov.order
        )[1:]
        metrics["evaluate_bits_per_base_lstm"] = float(np.nanmean(o_lstm))
        metrics["evaluate_bits_per_base_markov"] = float(np.nanmean(o_markov))
        metrics["evaluate_markov_order"] = markov.order
        metrics["evaluate_bases"] = int(np.isfinite(o_lstm).sum())
        rows.append(
            {
                "model": f"{Path(args.evaluate).name}: Markov",
                "test bits/base": metrics["evaluate_bits_per_base_markov"],
            }
        )
        rows.append(
            {
                "model": f"{Path(args.evaluate).name}: {args.cell}",
                "test bits/base": metrics["evaluate_bits_per_base_lstm"],
            }
        )

    run.print_table(
        rows,
        title=f"Bits per base on the last {args.test_fraction:.0%} of {Path(genome.path).name} (lower is better)",
    )
    diff = lstm_bpb - markov_bpb
    verdict = (
        f"The {args.cell} WINS: {lstm_bpb:.4f} vs {markov_bpb:.4f} bits/base ({-diff:.4f} better than the Markov model)."
        if diff < 0
        else f"The {args.cell} LOSES: {lstm_bpb:.4f} vs {markov_bpb:.4f} bits/base ({diff:.4f} worse than the Markov model)"
        + (" — a --quick run is far too short to learn much." if args.quick else "; train longer or larger.")
    )
    print(verdict)

    """
    ## Export
    """
    run.save_model(
        model,
        sample_inputs=blocks(
            codes, test_start, test_start + 2 * args.eval_block, args.eval_block, args.eval_warmup
        )[0][:2],
    )
    return run.finish(metrics)


def gene_start_profile(genome, lstm_bits, markov_bits, test_start, n, cell, order, reach=90):
    """Mean loss at each offset from the CDS starts in the test region (strand-aware)."""
    import matplotlib.pyplot as plt

    offsets = np.arange(-reach, reach + 1)
    rows_l, rows_m = [], []
    for f in genome.features:
        if f.type != "CDS" or f.strand not in (1, -1):
            continue
        pos = f.first_base + f.strand * offsets
        if pos.min() < test_start or pos.max() >= n:
            continue
        rows_l.append(lstm_bits[pos - test_start])
        rows_m.append(markov_bits[pos - test_start])
    if not rows_l:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(offsets, np.nanmean(rows_l, axis=0), label=cell)
    ax.plot(offsets, np.nanmean(rows_m, axis=0), label=f"Markov k={order}")
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("bases from the CDS start (on the gene's strand)")
    ax.set_ylabel("mean bits/base")
    ax.set_title(f"Loss around {len(rows_l)} gene starts in the test region")
    ax.legend()
    return fig


def coding_probe(model, codes, coding, val_start, test_start, n, args, max_samples=6000):
    """Logistic regression on hidden states for 'inside a coding region'.

    Trained on positions sampled from the training part, scored on positions
    sampled from the test part; compared with always guessing the majority
    class of the probe's training labels.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(args.seed)
    lo = max(0, val_start - 20 * max_samples)
    train_pos = np.sort(
        rng.choice(np.arange(lo, val_start), size=min(max_samples, val_start - lo), replace=False)
    )
    test_pos = np.sort(
        rng.choice(np.arange(test_start, n), size=min(max_samples, n - test_start), replace=False)
    )
    # contiguous spans keep hidden_states cheap: evaluate in chunks around the samples
    h_train = _states_at(model, codes, train_pos, args)
    h_test = _states_at(model, codes, test_pos, args)
    y_train, y_test = coding[train_pos], coding[test_pos]
    out = {"probe_train_samples": int(train_pos.size), "probe_test_samples": int(test_pos.size)}
    majority = bool(y_train.mean() >= 0.5)
    out["probe_majority_accuracy"] = float((y_test == majority).mean())
    if y_train.min() == y_train.max():
        out["probe_accuracy"] = out["probe_majority_accuracy"]
        return out
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
    probe.fit(h_train, y_train)
    out["probe_accuracy"] = float(probe.score(h_test, y_test))
    return out


def _states_at(model, codes, positions, args):
    hm = hidden_model(model)
    warm = args.eval_warmup
    x = np.stack([_context(codes, p, warm) for p in positions])
    h = hm.predict(x, batch_size=256, verbose=0)
    return h[:, -1, :]


def _context(codes, p, warm):
    """The ``warm + 1`` bases ending at ``p`` (mask-padded on the left)."""
    idx = np.arange(p - warm, p + 1)
    return np.where(idx >= 0, codes[np.clip(idx, 0, None)], MASK).astype(np.int32)


"""
## Conclusion

On the bundled *E. coli* K-12 genome the best order-k Markov model chosen on
validation (order 7, counting both strands) scores 1.933 bits/base on the
held-out last 10 % (the one-strand order 6 of the reference: 1.936). With the
defaults here (one Keras LSTM layer of 128 units, 128-base windows, early
stopping after 53 epochs of 150 batches, 22 CPU-minutes of training), the LSTM
scored **1.843 bits/base**: 0.09 bits/base better, and ahead along almost all
of the held-out region (`benchmarks/results/nucleotide.json`). Where it does
not win: a few stretches where both models sit near 2 bits/base, and any
`--quick` run, which trains for seconds on a 60-kb slice and only shows the
pipeline working (the Markov model usually wins there). Your own run's printed
table says which happened.
"""

if __name__ == "__main__":
    main()
