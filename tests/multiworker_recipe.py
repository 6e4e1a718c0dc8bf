"""
Title: A harness check for several workers
Description: four small fits through Run.fit, run alone or as one of several workers.

Run by ``tests/test_multiworker.py`` as one process (``--distribute none``)
and as two workers on the loopback address (``--distribute multiworker``,
``TF_CONFIG`` set by the test), with the same seed and global batch. The
fits cover each kind of input and each decision the chief takes:

* ``arrays``: ``x, y`` arrays with validation arrays, unshuffled, and a
  ``StopWhen`` whose criterion fires after the second epoch on the chief
  only: the other worker must stop with it;
* ``dataset``: a seeded, reshuffled ``tf.data`` pipeline of global batches
  (``array_dataset``), validated on another;
* ``iterator``: a seeded Python generator of batches with ``steps_per_epoch``;
* ``budget``: arrays again, with a time budget spent on the chief only (its
  limit set to 0): every worker must stop after the first batch.

Each process writes ``<--out>/<task>.npz`` (every fit's final weights, the
last model's ``predict`` and ``predict_on_batch`` outputs) and
``<task>.json`` (its run folder, role, stop reasons, optimizer steps).
``--crash-at-epoch N`` raises at the start of epoch ``N`` of the first fit
(after its backup of epoch ``N - 1``), so the test can ``--resume``.
"""

import json
import os
from pathlib import Path

import keras
import numpy as np

from lstm_apps.layers import recurrent
from lstm_apps.training import StopWhen, non_negative_int, recipe_parser, run_recipe_main, start_run
from lstm_apps.training.distributed import array_dataset


def main(argv=None) -> dict:
    parser = recipe_parser(
        "multiworker_check", __doc__, epochs=3, quick_epochs=3, batch_size=16, cell="lstm", learning_rate=0.05
    )
    group = parser.add_argument_group("check options")
    group.add_argument("--out", required=True, help="folder of the weights and notes files")
    group.add_argument("--crash-at-epoch", type=non_negative_int, default=None)
    args = parser.parse_args(argv)
    run = start_run("multiworker_check", args)
    task = "single" if run.worker is None else f"worker{run.worker.index}"

    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(64, 6, 2)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    x_val = rng.normal(size=(32, 6, 2)).astype("float32")
    y_val = x_val.sum(axis=(1, 2))[:, None]

    def build():
        keras.utils.set_random_seed(args.seed)
        with run.strategy.scope():
            model = keras.Sequential([keras.Input((6, 2)), recurrent(args.cell, 4), keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.SGD(args.learning_rate), loss="mse")
        return model

    def batches():
        draw = np.random.default_rng(args.seed + 3)
        while True:
            rows = draw.integers(0, len(x), args.batch_size)
            yield x[rows], y[rows]

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == args.crash_at_epoch:
                raise ValueError(f"--crash-at-epoch {epoch}: a simulated interruption")

    notes = {"path": str(run.path), "is_chief": run.is_chief, "iterations": {}, "epochs": {}}
    weights = {}

    def record(name, model, history):
        weights.update({f"{name}_{i}": w for i, w in enumerate(model.get_weights())})
        notes["iterations"][name] = int(model.optimizer.iterations.numpy())
        notes["epochs"][name] = len(history.history["loss"])
        notes[f"{name}_loss"] = [float(v) for v in history.history["loss"]]

    stop = StopWhen(lambda epoch, logs, model: "enough" if epoch == 1 and run.is_chief else None)
    model = build()
    history = run.fit(
        model, x, y, batch_size=args.batch_size, shuffle=False, validation_data=(x_val, y_val),
        callbacks=[stop, Crash()], history_name="history_arrays",
    )  # fmt: skip
    record("arrays", model, history)
    notes["stop_reason"] = stop.reason

    model = build()
    train = array_dataset(x, y, batch_size=args.batch_size, shuffle=True, seed=7)
    held = array_dataset(x_val, y_val, batch_size=args.batch_size)
    history = run.fit(model, train, validation_data=held, epochs=2, history_name="history_dataset")
    record("dataset", model, history)

    model = build()
    history = run.fit(model, batches(), steps_per_epoch=4, epochs=2, history_name="history_iterator")
    record("iterator", model, history)

    if run.is_chief:
        run.budget.wall_limit = 0.0  # spent at once: the chief stops after the first batch
    model = build()
    history = run.fit(model, x, y, batch_size=args.batch_size, shuffle=False, history_name="history_budget")
    record("budget", model, history)
    notes["stopped_by"] = run.budget.stopped_by

    weights["predict"] = model.predict(x, verbose=0)  # the whole of x, in order, on every worker
    weights["predict_on_batch"] = model.predict_on_batch(x[:5])

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / f"{task}.npz", **weights)
    (out / f"{task}.json").write_text(json.dumps({**notes, "pid": os.getpid()}, indent=1))
    run.save_model(model, sample_inputs=x[:4])
    return run.finish({"loss": notes["arrays_loss"][-1]})


if __name__ == "__main__":
    run_recipe_main(main)
