"""
Title: A tiny recipe for the harness tests
Description: sums of short noisy sequences, learned by a small recurrent net in seconds.

It uses only the public harness (``recipe_parser``, ``start_run``, ``run.fit``,
``run.save_model``, ``run.finish``, ``run_recipe_main``), so the tests can run
it as a real process: kill it mid-training and resume it, make it fail before
training, export its folder. ``--sleep`` sleeps after each epoch (a slow run
to kill); ``--fail`` raises a ``ValueError`` before or during training.
"""

import time

import keras
import numpy as np

from lstm_apps.layers import recurrent
from lstm_apps.training import non_negative_float, recipe_parser, run_recipe_main, start_run


def main(argv=None) -> dict:
    parser = recipe_parser("tiny", __doc__, epochs=6, quick_epochs=2, batch_size=16)
    group = parser.add_argument_group("tiny options")
    group.add_argument("--sleep", type=non_negative_float, default=0.0, help="seconds to sleep per epoch")
    group.add_argument("--fail", choices=("none", "before", "during"), default="none")
    args = parser.parse_args(argv)
    run = start_run("tiny", args)
    if args.fail == "before":
        raise ValueError("--fail before: the data file 'tiny.csv' is empty (expected rows of numbers)")

    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(64, 5, 2)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    model = keras.Sequential([keras.Input((5, 2)), recurrent(args.cell, 4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="mse")

    class SlowEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if args.fail == "during" and epoch == 1:
                raise ValueError("--fail during: a NaN loss at epoch 2 (expected finite values)")
            time.sleep(args.sleep)

    history = run.fit(model, x, y, batch_size=args.batch_size, callbacks=[SlowEpochs()])
    run.save_model(model, sample_inputs=x[:16])
    return run.finish(
        {"loss": float(history.history["loss"][-1]), "epochs_trained": len(history.history["loss"])}
    )


if __name__ == "__main__":
    run_recipe_main(main)
