"""Benchmark: every cell at equal units, its parameters and its held-out loss against the training-set size.

The founding documents say a GRU has about three quarters of an LSTM's
parameters at equal units and, being smaller, generalises better when data
are few. This benchmark measures both for every registered cell
(``lstm_apps.layers.recurrent_kinds()``) on two real data sets:

* ``ecoli``: next-base prediction on *E. coli* K-12 (the nucleotide recipe's
  bundled genome): windows of ``--window`` bases from the first 88 % of the
  genome (the training part of ``load_genome_split``), its 2 % validation slice
  for early stopping, and windows of its last 10 % held out; loss in bits per
  base. Inputs are one-hot bases.
* ``sentences``: sentiment of the 3,400 movie-review sentences of
  ``../shared/data/sentiment/movie_sentences.csv`` (Pang & Lee; read in place,
  never copied; the data set is skipped when the file is absent): a fixed 20 %
  held out, 10 % for early stopping, the rest the training pool; words through
  ``TextVectorization`` (vocabulary from the training subset only), a trained
  ``--embedding``-wide embedding; loss in nats (binary cross-entropy) and
  accuracy.

For each data set, cell, training fraction (``--fractions``: 1 %, 5 %, 25 %,
100 % of the pool) and seed, a model ``inputs -> recurrent(cell, --units) ->
Dense`` trains with Adam (``--learning-rate``, gradient norm clipped at 1) on
batches of ``--batch-size`` drawn from the subset, for at most
``--max-updates`` updates, validated after every pass over the subset (at most
every ``--eval-every`` updates: a subset of 24 sentences is validated after each
update, so early stopping can catch its first steps) and stopped after
``--patience`` validations without improvement; the best validation's
weights are scored on the held-out part and on the training subset (their
difference, the generalisation gap). The seed draws the subset, the
initialisation and the batches; the held-out and validation parts are the same
for every seed. The parameter counts are exact: ``count_params()`` of the built
layers, for each data set's inputs and for inputs as wide as the units.

Results go to ``benchmarks/results/data_size.json`` under ``--name``, with the
settings (seeds, sizes, updates, ``--note``) and the commands; a rerun of a name
appends the trials not yet there (same settings required) and recomputes the
summary: per data set, cell and fraction the held-out loss over seeds (mean,
std), the gap, and per fraction the GRU's loss minus the LSTM's (paired over
seeds) and the best cell.

Usage::

    nice -n 19 python benchmarks/data_size.py                      # 3 seeds, every cell (hours of CPU)
    nice -n 19 python benchmarks/data_size.py --name reduced --seeds 1 --units 16 --max-updates 150 \\
        --ecoli-windows 1000 --note "reduced: 1 seed, <= 150 updates"
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "data_size.json"
SHARED_DATA = Path(os.environ.get("LSTM_APPS_SHARED_DATA") or ROOT.parent / "shared" / "data")
SENTENCES = SHARED_DATA / "sentiment" / "movie_sentences.csv"
DATASETS = ("ecoli", "sentences")
#: Settings a rerun of a name must share (the trials must be comparable).
SETTING_KEYS = (
    "units", "fractions", "max_updates", "eval_every", "patience", "batch_size", "learning_rate",
    "window", "ecoli_windows", "ecoli_eval_windows", "embedding", "vocabulary", "sentence_length",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    from lstm_apps.training import positive_float, positive_int

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="default", help="the entry of the results file (default 'default')")
    p.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    p.add_argument("--cells", nargs="+", default=None, help="registered kinds (default: every one)")
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds seed .. seed + seeds - 1 (default 3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--units", type=positive_int, default=32, help="units of every cell (default 32)")
    p.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.05, 0.25, 1.0])
    p.add_argument("--max-updates", type=positive_int, default=3000, help="(default 3000)")
    p.add_argument("--eval-every", type=positive_int, default=100, help="most updates per validation")
    p.add_argument("--patience", type=positive_int, default=5, help="validations without gain (5)")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--learning-rate", type=positive_float, default=3e-3)
    p.add_argument("--window", type=positive_int, default=100, help="E. coli bases per window (100)")
    p.add_argument("--ecoli-windows", type=positive_int, default=8000, help="the E. coli pool (8000)")
    p.add_argument("--ecoli-eval-windows", type=positive_int, default=500, help="validation and held out")
    p.add_argument("--embedding", type=positive_int, default=32, help="word embedding width (32)")
    p.add_argument("--vocabulary", type=positive_int, default=10000, help="most frequent words kept")
    p.add_argument("--sentence-length", type=positive_int, default=50, help="words kept per sentence")
    p.add_argument("--sentences", default=str(SENTENCES), help="the movie sentences CSV")
    p.add_argument("--note", default="", help="a line for the settings (e.g. 'reduced: ...')")
    p.add_argument("--output", default=str(RESULTS), help="the results file (default %(default)s)")
    return p


# -- data ------------------------------------------------------------------------------------------
def ecoli_data(args) -> dict:
    """Pool, validation and held-out windows of E. coli: one-hot inputs, next-base targets."""
    from lstm_apps.datasets.genome import VOCAB_SIZE, load_genome_split

    split = load_genome_split(window=args.window)
    w = args.window

    def windows(codes, count, rng=None):
        starts = np.arange(0, len(codes) - w - 1, w)
        chosen = rng.choice(starts, size=min(count, len(starts)), replace=False) if rng else starts[:count]
        seg = np.stack([codes[s : s + w + 1] for s in np.sort(chosen)]).astype(np.int64)
        return np.eye(VOCAB_SIZE, dtype="float32")[seg[:, :-1]], np.minimum(seg[:, 1:], 3)

    rng = np.random.default_rng(0)  # the pool is the same for every seed
    codes = split.codes
    pool = windows(codes[: split.val_start], args.ecoli_windows, rng)
    val = windows(codes[split.val_start : split.test_start], args.ecoli_eval_windows)
    test = windows(codes[split.test_start :], args.ecoli_eval_windows, np.random.default_rng(1))
    return {"pool": pool, "val": val, "test": test, "features": VOCAB_SIZE, "outputs": 4}


def sentence_data(args) -> dict | None:
    """Pool, validation and held-out sentences (texts, labels), or None when the file is absent."""
    from lstm_apps.datasets.sentiment import load_csv

    path = Path(args.sentences)
    if not path.is_file():
        print(f"[data_size] {path} is absent: the sentences are skipped")
        return None
    data = load_csv(path)
    texts, labels = np.asarray(data.texts, dtype=object), np.asarray(data.labels, dtype="float32")
    order = np.random.default_rng(0).permutation(len(texts))  # the same split for every seed
    n_test, n_val = len(texts) // 5, len(texts) // 10
    part = lambda idx: (texts[idx], labels[idx])  # noqa: E731
    return {
        "pool": part(order[n_test + n_val :]),
        "val": part(order[n_test : n_test + n_val]),
        "test": part(order[:n_test]),
    }


def subset(pool, fraction: float, seed: int):
    """The first ``round(fraction * len)`` items (at least 2) of a seeded permutation of the pool."""
    x, y = pool
    take = max(2, int(round(fraction * len(x))))
    idx = np.random.default_rng([seed, 7]).permutation(len(x))[:take]
    return x[idx], y[idx]


# -- models ----------------------------------------------------------------------------------------
def build_model(dataset: str, cell: str, args, data=None, vectorizer=None):
    """``inputs -> recurrent(cell, units) -> Dense``: softmax over 4 bases, or one sigmoid for sentiment."""
    import keras

    from lstm_apps.layers import recurrent

    if dataset == "ecoli":
        inputs = keras.Input((None, 5))
        h = recurrent(cell, args.units, return_sequences=True, name="recurrent")(inputs)
        outputs = keras.layers.Dense(4, activation="softmax")(h)
        loss = "sparse_categorical_crossentropy"
    else:
        inputs = keras.Input((args.sentence_length,), dtype="int64")
        vocab = vectorizer.vocabulary_size() if vectorizer is not None else args.vocabulary
        h = keras.layers.Embedding(vocab, args.embedding, mask_zero=True)(inputs)
        h = recurrent(cell, args.units, name="recurrent")(h)
        outputs = keras.layers.Dense(1, activation="sigmoid")(h)
        loss = "binary_crossentropy"
    model = keras.Model(inputs, outputs)
    optimizer = keras.optimizers.Adam(args.learning_rate, clipnorm=1.0)
    model.compile(optimizer, loss, metrics=["accuracy"] if dataset == "sentences" else None)
    return model


def parameter_counts(cells, args, datasets) -> dict:
    """Exact weights of each cell's layer (and model) per data set, and for inputs as wide as the units."""
    import keras

    from lstm_apps.layers import recurrent

    out = {}
    for cell in cells:
        row = {}
        try:
            layer = recurrent(cell, args.units)
            layer.build((None, None, args.units))
            row["square"] = int(layer.count_params())  # inputs as wide as the units
            for dataset in datasets:
                model = build_model(dataset, cell, args)
                row[dataset] = int(model.get_layer("recurrent").count_params())
                row[f"{dataset}_model"] = int(model.count_params())
        except ValueError as exc:  # a cell made for one input feature
            row = {"refused": str(exc)}
        out[cell] = row
        keras.backend.clear_session()
    lstm = out.get("lstm", {})
    for row in out.values():
        for key in ("square", *datasets):
            if key in row and key in lstm:
                row[f"{key}_ratio_to_lstm"] = row[key] / lstm[key]
    return out


# -- one trial -------------------------------------------------------------------------------------
def train_and_score(dataset, cell, fraction, seed, args, data) -> dict:
    """Train one model on a subset of the pool; its held-out and training losses at the best validation."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    x, y = subset(data["pool"], fraction, seed)
    (xv, yv), (xt, yt) = data["val"], data["test"]
    vectorizer = None
    if dataset == "sentences":
        vectorizer = keras.layers.TextVectorization(
            max_tokens=args.vocabulary, output_sequence_length=args.sentence_length
        )
        vectorizer.adapt(list(x))
        ids = lambda texts: np.asarray(vectorizer(np.asarray(list(texts))), dtype="int64")  # noqa: E731
        x, xv, xt = ids(x), ids(xv), ids(xt)
    model = build_model(dataset, cell, args, vectorizer=vectorizer)
    stream = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).repeat()
    stop = keras.callbacks.EarlyStopping(patience=args.patience, restore_best_weights=True)
    every = min(args.eval_every, -(-len(x) // args.batch_size))  # every pass over a small subset
    t0 = time.process_time()
    history = model.fit(
        stream.batch(args.batch_size),
        steps_per_epoch=every,
        epochs=-(-args.max_updates // every),
        shuffle=False,  # the stream shuffles
        validation_data=(xv, yv),
        validation_batch_size=256,
        callbacks=[stop],
        verbose=0,
    )
    scale = 1.0 / np.log(2.0) if dataset == "ecoli" else 1.0  # bits per base, nats per sentence

    def score(xs, ys):
        result = model.evaluate(xs, ys, batch_size=256, verbose=0, return_dict=True)
        return result["loss"] * scale, result.get("accuracy")

    train_loss, train_acc = score(x[:2000], y[:2000])
    test_loss, test_acc = score(xt, yt)
    val = history.history["val_loss"]
    trial = {
        "dataset": dataset,
        "cell": cell,
        "fraction": fraction,
        "seed": seed,
        "train_examples": int(len(x)),
        "test_loss": float(test_loss),
        "train_loss": float(train_loss),
        "gap": float(test_loss - train_loss),
        "best_val_loss": float(min(val) * scale),
        "validate_every": int(every),
        "updates": int(len(val) * every),
        "best_updates": int((int(np.argmin(val)) + 1) * every),
        "cpu_seconds": round(time.process_time() - t0, 1),
    }
    if test_acc is not None:
        trial.update(test_accuracy=float(test_acc), train_accuracy=float(train_acc))
    keras.backend.clear_session()
    return trial


# -- summary ---------------------------------------------------------------------------------------
def summarize(trials: list[dict]) -> dict:
    """Per data set: each cell's held-out loss and gap over seeds by fraction, and per fraction the best
    cell and the GRU's loss minus the LSTM's (paired by seed).

    Returns:
        ``{dataset: {"by_cell": {cell: {fraction: {"seeds", "train_examples", "test_loss" (spread),
        "gap", ["test_accuracy"]}}}, "by_fraction": {fraction: {"train_examples", "best_cell",
        ["gru_minus_lstm", "gru_better_seeds", "paired_seeds"]}}}}``, fractions as ``f"{f:g}"``.
    """
    from lstm_apps.metrics import spread

    grouped: dict = {}
    for t in sorted((t for t in trials if "refused" not in t), key=lambda t: t["fraction"]):
        key = f"{t['fraction']:g}"
        grouped.setdefault(t["dataset"], {}).setdefault(key, {}).setdefault(t["cell"], []).append(t)
    summary: dict = {}
    for dataset, fractions in grouped.items():
        by_cell, by_fraction = {}, {}
        for fraction, cells in fractions.items():
            for cell, rows in cells.items():
                row = {
                    "seeds": len(rows),
                    "train_examples": rows[0]["train_examples"],
                    "test_loss": spread([r["test_loss"] for r in rows]),
                    "gap": float(np.mean([r["gap"] for r in rows])),
                }
                if "test_accuracy" in rows[0]:
                    row["test_accuracy"] = float(np.mean([r["test_accuracy"] for r in rows]))
                by_cell.setdefault(cell, {})[fraction] = row
            means = {c: by_cell[c][fraction]["test_loss"]["mean"] for c in cells}
            row = {"train_examples": next(iter(cells.values()))[0]["train_examples"]}
            row["best_cell"] = min(means, key=means.get)
            lstm = {r["seed"]: r["test_loss"] for r in cells.get("lstm", [])}
            diffs = [r["test_loss"] - lstm[r["seed"]] for r in cells.get("gru", []) if r["seed"] in lstm]
            if diffs:
                row["gru_minus_lstm"] = float(np.mean(diffs))
                row["gru_better_seeds"] = int(np.sum(np.asarray(diffs) < 0))
                row["paired_seeds"] = len(diffs)
            by_fraction[fraction] = row
        summary[dataset] = {"by_cell": by_cell, "by_fraction": by_fraction}
    return summary


def main(argv=None) -> dict:
    from lstm_apps import io as _io
    from lstm_apps.layers import recurrent_kinds

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    cells = args.cells or list(recurrent_kinds())
    unknown = sorted(set(cells) - set(recurrent_kinds()))
    if unknown or any(not 0.0 < f <= 1.0 for f in args.fractions):
        raise SystemExit(f"unknown cells {unknown} or a fraction outside (0, 1]: {args.fractions}")
    output = Path(args.output)
    results = _io.read_json(output) if output.is_file() else {}
    settings = {k: getattr(args, k) for k in SETTING_KEYS}
    entry = results.get(args.name) or {"settings": settings, "commands": [], "trials": []}
    if {k: entry["settings"].get(k) for k in SETTING_KEYS} != settings:
        raise SystemExit(
            f"entry {args.name!r} was run with other settings {entry['settings']}; use another --name"
        )
    entry["commands"].append("python benchmarks/data_size.py " + shlex.join(argv))
    loaders = {"ecoli": ecoli_data, "sentences": sentence_data}
    data = {d: loaders[d](args) for d in args.datasets}
    data = {d: v for d, v in data.items() if v is not None}
    entry["parameters"] = parameter_counts(list(recurrent_kinds()), args, list(data))  # every cell, always
    done = {(t["dataset"], t["cell"], t["fraction"], t["seed"]) for t in entry["trials"]}
    refused = {c: row["refused"] for c, row in entry["parameters"].items() if "refused" in row}

    def save():
        seeds = sorted({t["seed"] for t in entry["trials"]})
        entry["settings"] = {
            **settings,
            "seeds": seeds,
            "note": args.note or entry["settings"].get("note", ""),
        }
        entry["summary"] = summarize(entry["trials"])
        entry["date"] = _dt.date.today().isoformat()
        results[args.name] = entry
        _io.write_json(output, results)

    for dataset in data:
        for fraction in args.fractions:
            for cell in cells:
                for seed in range(args.seed, args.seed + args.seeds):
                    if (dataset, cell, fraction, seed) in done:
                        continue
                    if cell in refused:
                        trial = {"dataset": dataset, "cell": cell, "fraction": fraction, "seed": seed}
                        trial["refused"] = refused[cell]
                    else:
                        trial = train_and_score(dataset, cell, fraction, seed, args, data[dataset])
                    entry["trials"].append(trial)
                    print(trial, flush=True)
                    save()
    save()
    return entry


if __name__ == "__main__":
    main()
