"""
Title: Forgetting curves with a gray-box LSTM cell: Ebbinghaus 1885 and spaced repetition
Author: lstm-apps
Date created: 2026-11-22
Description: A multi-timescale forgetting cell fitted to Ebbinghaus's 1885 savings table (vs his formula, power law, FSRS-6) and trained on review logs (vs half-life regression and FSRS).
"""  # noqa: E501

"""
## Introduction

In 1885 Hermann Ebbinghaus learned lists of nonsense syllables and measured
how much of the learning time he saved when relearning them after delays
from 20 minutes to 31 days: the first forgetting curve. Today spaced
repetition software (Anki, Duolingo) predicts, for every flashcard, the
probability that it will be recalled after the time elapsed since its last
review, and schedules the next review when that probability falls to 90 %.

`ForgettingCurveCell` is an LSTM cell whose parts mean something in that
science: its state is memory strength (one value per memory cell), its
forget gate is the decay `exp(-Δt/τ_k)` over the *elapsed time* (an input,
so irregular intervals are not resampled away), a study event opens its
input gate and reinforces memory, and its output is the recall probability.
Several memory cells with their own learned time constants τ_k give
multi-timescale forgetting (Mozer et al. 2009).

Part 1 fits the cell with 1, 2 and 3 time constants to the seven points of
1885 and compares, by RMSE and AIC, with a single exponential, a power law,
Ebbinghaus's own formula `b = 100k/((log t)^c + k)` and the FSRS-6 curve.
Part 2 trains the cell on review logs (a seeded simulator of learners whose
memory follows the ACT-R spacing model of Pavlik & Anderson 2005, or a real
log with `--log file.csv`) and compares log loss, AUC and RMSE over bins
(computed as the open-spaced-repetition benchmark does) with half-life
regression (Settles & Meeder 2016) and an FSRS-style model fitted to the
same training reviews, on a time-ordered split.

## Setup
"""

import keras
import numpy as np

from lstm_apps.baselines.curves import (
    RETENTION_CURVES,
    FSRSModel,
    HalfLifeRegression,
    card_memory,
    fit_cell_curve,
    fit_retention_curve,
)
from lstm_apps.datasets.forgetting import (
    load_ebbinghaus,
    load_review_log,
    prepare_reviews,
    review_sequences,
    simulate_review_logs,
)
from lstm_apps.layers import ForgettingCurveCell
from lstm_apps.metrics import log_loss, recall_scores
from lstm_apps.training import (
    existing_file,
    fraction,
    positive_int,
    recipe_parser,
    run_recipe_main,
    start_run,
)

"""
## Configuration

The shared flags come from `recipe_parser` (`--learning-rate` defaults to
0.03 here). The model under test is always the gray-box
`ForgettingCurveCell`, whose parts are the quantities of memory science, so
the recipe has no `--cell` flag; its own flags set the cell's size, the
review log and the baselines' fits.
"""


def build_parser():
    parser = recipe_parser(
        "forgetting_curve",
        __doc__,
        epochs=150,
        quick_epochs=15,
        cell=None,
        batch_size=128,
        learning_rate=0.03,
    )
    g = parser.add_argument_group("forgetting_curve options")
    g.add_argument("--units", type=positive_int, default=4, help="memory cells of the review-log model (4)")
    g.add_argument(
        "--max-cell-units", type=positive_int, default=3, help="fit 1885 with 1..N time constants (3)"
    )
    g.add_argument("--log", type=existing_file, help="a review log CSV (card_id, review_time, rating 1-4)")
    g.add_argument(
        "--time-unit",
        default="auto",
        choices=("auto", "days", "hours", "seconds", "milliseconds", "datetime"),
        help="unit of a numeric review_time column (default auto)",
    )
    g.add_argument(
        "--learners", type=positive_int, default=20, help="simulated learners (20; 3 with --quick)"
    )
    g.add_argument(
        "--cards", type=positive_int, default=50, help="cards a simulated learner (50; 30 --quick)"
    )
    g.add_argument(
        "--test-fraction", type=fraction, default=0.2, help="latest share of reviews held out (0.2)"
    )
    g.add_argument(
        "--readout",
        default="activation",
        choices=("activation", "linear"),
        help="recall read out from log activation (ACT-R-like, default) or from summed strength",
    )
    g.add_argument(
        "--fsrs-maxiter", type=positive_int, default=80, help="FSRS fit iterations (80; 10 --quick)"
    )
    return parser


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.learners, args.cards = min(args.learners, 3), min(args.cards, 30)
        args.fsrs_maxiter = min(args.fsrs_maxiter, 10)
    run = start_run("forgetting_curve", args)
    import matplotlib.pyplot as plt

    metrics = {}

    """
    ## Data

    Ebbinghaus's 1885 table: the savings (% of learning time saved when
    relearning) after seven delays from 20 minutes to 31 days.
    """
    table = load_ebbinghaus()
    t_days = table["delay_days"].to_numpy()
    savings = table["savings_percent"].to_numpy()

    """
    Review logs: each card's reviews form one sequence; the cell's input at a
    review is `[days since the card's previous review, study = 1, one-hot
    rating]`. The latest `--test-fraction` of reviews (by time) is the test
    set; first reviews (learning, no prediction) are not scored.
    """
    if args.log:
        log = load_review_log(args.log, time_unit=args.time_unit)
        source = args.log
    else:
        log = simulate_review_logs(args.learners, args.cards, seed=args.seed)
        source = f"simulated ({args.learners} learners x {args.cards} cards, ACT-R spacing model)"
    reviews = prepare_reviews(log)
    seq = review_sequences(reviews, test_fraction=args.test_fraction)
    train, test = seq.train_weight > 0, seq.test_weight > 0
    print(
        f"Review log: {source}: {len(reviews)} reviews of {seq.x.shape[0]} cards; {int(train.sum())} train / "
        f"{int(test.sum())} test reviews (split at day {seq.cutoff:.1f})."
    )
    test_rows = reviews.iloc[seq.row[test]]
    train_rows = reviews.iloc[seq.row[train]]

    """
    ## Model

    On the 1885 table the cell sees each delay as two events: a study at time
    0 (input gate fully open) and a test after the delay, at which it reads
    out recall. Its free parameters are the K time constants, K readout
    weights and one readout bias (2K + 1); `fit_cell_curve` builds it for
    K = 1..`--max-cell-units`. On review logs its output at a review is
    computed before the rating is seen, so it is a genuine prediction;
    recall is read out, as in ACT-R, from the logarithm of the summed memory
    strengths (`--readout linear` for the plain sum). Its time constants
    start spread from half a day to 300 days.
    """

    def build_review_model():
        with run.strategy.scope():
            cell = ForgettingCurveCell(
                args.units, tau_init=np.geomspace(0.5, 300.0, args.units), gate_bias_init=0.0,
                target_bias_init=1.0, readout_bias_init=1.0 if args.readout == "activation" else -1.0,
                readout=args.readout,
            )  # fmt: skip
            rnn = keras.layers.RNN(cell, return_sequences=True, name="memory")
            model = keras.Sequential([keras.Input((None, seq.x.shape[-1])), rnn])
            optimizer = keras.optimizers.Adam(args.learning_rate)
            model.compile(optimizer=optimizer, loss="binary_crossentropy", weighted_metrics=[])
        return model, cell

    """
    ## Train

    Every curve of the 1885 table is fitted by least squares: the cell with
    1, 2 and 3 time constants (multi-start), a single exponential, a power
    law, Ebbinghaus's own formula `b = 100k/((log t)^c + k)` and the FSRS-6
    curve. On review logs the cell is trained by log loss on the training
    reviews, and so are its baselines: half-life regression (Settles & Meeder
    2016) and an FSRS-style model.
    """
    fits = {}
    for k in range(1, args.max_cell_units + 1):
        starts = 12 if args.quick else 40
        fits[f"cell_{k}"] = fit_cell_curve(t_days, savings, k, n_starts=starts, seed=args.seed)
    for name in RETENTION_CURVES:
        fits[name] = fit_retention_curve(name, t_days, savings)

    model, cell = build_review_model()
    y = seq.y[..., None]
    run.fit(model, seq.x, y, sample_weight=seq.train_weight, batch_size=args.batch_size, shuffle=True)
    hlr = HalfLifeRegression().fit(
        train_rows["elapsed_days"], train_rows["n_correct"], train_rows["n_wrong"], train_rows["y"]
    )
    fsrs = FSRSModel(maxiter=args.fsrs_maxiter).fit(seq.elapsed, seq.rating, seq.y, seq.train_weight)

    """
    ## Evaluate

    The 1885 curves by RMSE and by AIC = n ln(RSS/n) + 2(k + 1), which counts
    the error variance as a parameter.
    """
    rows = []
    for name, fit in fits.items():
        metrics[f"rmse_{name}"] = fit.rmse
        metrics[f"aic_{name}"] = fit.aic
        rows.append({"model": name, "parameters": fit.n_params, "RMSE (pp)": fit.rmse, "AIC": fit.aic})
    run.print_table(rows, title="Ebbinghaus 1885 savings: 7 points, least squares", save_as="curves.md")
    best = min((n for n in fits if n.startswith("cell_")), key=lambda n: fits[n].aic)
    ebb = fits["ebbinghaus"]
    beats = fits[best].rmse < ebb.rmse and fits[best].aic < ebb.aic
    weak = (
        " With n = 7, AICc (small-sample AIC) is undefined for 5 or more parameters, so this is a weak win."
    )
    print(
        f"Best cell by AIC: {best} (RMSE {fits[best].rmse:.2f} pp, AIC {fits[best].aic:.2f}) vs Ebbinghaus's "
        f"formula (RMSE {ebb.rmse:.2f} pp, AIC {ebb.aic:.2f}): "
        + ("the cell wins on both." + weak if beats else "the cell does NOT beat his formula on both.")
    )
    print(f"{best} time constants (days): {np.round(fits[best].params['tau'], 4).tolist()}")
    metrics["cell_beats_ebbinghaus"] = int(beats)
    run.save_json("curve_parameters.json", {n: {"n_params": f.n_params, **f.params} for n, f in fits.items()})

    grid = np.geomspace(t_days.min() / 3, t_days.max() * 2, 200)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(t_days * 1440, savings, color="k", zorder=5, label="Ebbinghaus 1885")
    for name, fit in fits.items():
        cell_fit = name.startswith("cell")
        ax.plot(
            grid * 1440, fit.predict(grid), lw=2 if cell_fit else 1, ls="-" if cell_fit else "--",
            label=f"{name} (RMSE {fit.rmse:.2f})",
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("delay (minutes, log scale)")
    ax.set_ylabel("savings (%)")
    ax.set_title("The 1885 forgetting curve and every fitted curve")
    ax.legend(fontsize=7)
    run.save_figure(fig, "ebbinghaus_fits.png")

    """
    On the review logs' test split: log loss, AUC and RMSE over bins
    (computed as the open-spaced-repetition benchmark does), against the two
    baselines, a constant (the training recall rate) and, on simulated logs,
    the simulator's own recall probabilities (the oracle).
    """
    p_cell = np.asarray(model.predict(seq.x, verbose=0))[..., 0]
    preds = {
        "cell": p_cell[test],
        "hlr": hlr.predict(test_rows["elapsed_days"], test_rows["n_correct"], test_rows["n_wrong"]),
        "fsrs": fsrs.predict(seq.elapsed, seq.rating)[test],
    }
    if "p_true" in test_rows:
        preds["oracle"] = test_rows["p_true"].to_numpy()
    y_test = seq.y[test]
    bins = (test_rows["elapsed_days"], test_rows["review_index"], test_rows["lapses"])
    columns = {"logloss": "log loss", "auc": "AUC", "rmse_bins": "RMSE(bins)"}
    rows = []
    for name, p in preds.items():
        scores = recall_scores(y_test, p, *bins)
        metrics.update({f"{key}_{name}": value for key, value in scores.items()})
        rows.append({"model": name, **{columns[key]: value for key, value in scores.items()}})
    metrics["recall_rate_test"] = float(y_test.mean())
    metrics["logloss_constant"] = log_loss(y_test, np.full_like(y_test, seq.y[train].mean()))
    constant = {"log loss": metrics["logloss_constant"], "AUC": 0.5, "RMSE(bins)": None}
    rows.append({"model": "constant (train recall rate)", **constant})
    run.print_table(
        rows,
        title="Review logs, time-ordered test split (lower log loss / RMSE(bins), higher AUC is better)",
        save_as="reviews.md",
    )
    base = min(("hlr", "fsrs"), key=lambda n: metrics[f"logloss_{n}"])
    verdict = "wins" if metrics["logloss_cell"] < metrics[f"logloss_{base}"] else "loses"
    print(
        f"The cell {verdict} on log loss against the stronger baseline ({base}): "
        f"{metrics['logloss_cell']:.4f} vs {metrics[f'logloss_{base}']:.4f}."
    )
    params = cell.physical_parameters()
    tau, weights = np.round(params["tau"], 3).tolist(), np.round(params["readout_weight"], 3).tolist()
    print("Learned time constants (days):", tau, " readout weights:", weights)
    for k, v in enumerate(params["tau"]):
        metrics[f"review_tau_{k + 1}_days"] = float(v)

    """
    One card's memory strength through its reviews, and the next review date
    at which the predicted recall falls to 90 %.
    """
    lengths = (seq.rating > 0).sum(1)
    card = int(np.argmax(np.where(lengths <= 12, lengths, 0)))
    n = int(lengths[card])
    memory = card_memory(cell.numpy_parameters(), seq.x[card, :n], target=0.9)
    metrics["next_review_days_example_card"] = interval = memory.next_review_days
    run.save_figure(memory.plot(seq.rating[card, :n]), "card_memory.png")
    print(
        f"Example card: {n} reviews; next review when predicted recall falls to 90 %: "
        f"{interval:.2f} days after the last one."
    )

    """
    ## Export
    """
    run.save_model(model, sample_inputs=seq.x[:4])

    """
    ## Conclusion

    On the 1885 table the cell with two or three time constants fits better
    than Ebbinghaus's two-parameter formula by RMSE and by AIC, and its
    parameters read as the time constants of fast and slow forgetting. With
    only seven points, though, AIC's penalty is mild: a small-sample AICc
    would not allow 5 to 7 parameters at all, so the 1885 table cannot
    really tell these curves apart.

    On the simulated review logs the cell beats half-life regression but
    loses to the FSRS-style model: FSRS's stability and difficulty updates
    capture this spacing-effect memory better than a few decaying traces do.
    The printed tables and verdicts say where it stands on your data;
    figures and measured results are in `docs/recipes/forgetting_curve.md`.
    """
    return run.finish(metrics)


if __name__ == "__main__":
    run_recipe_main(main)
