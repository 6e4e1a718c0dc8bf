"""Goal runs of the long-time-lag recipe (Hochreiter & Schmidhuber 1997 experiments).

Each goal is one run of ``recipes/long_time_lag.py`` with its own budget; the
summary (the recipe's metrics side by side with the goal) is printed and
written to ``<runs-dir>/long_time_lag_goals.md``. Run it once, in the
background, on an otherwise idle machine if you want meaningful wall times:

```
nice -n 10 python benchmarks/long_time_lag.py                 # all goals but the long T=1000 run
nice -n 10 python benchmarks/long_time_lag.py --only adding1000 --minutes 60
```

Goals (issue 3): adding T=100 solved with <= 30,000 sequences within 10
minutes on 2 cores; temporal order 5.6a with fewer sequences than the paper
(31,390); embedded Reber with every test string correct; a simple RNN failing
the adding problem where the 1997 layer succeeds; T=1000 adding as a long run
that reports the figure it reached.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lstm_apps import io as _io
from lstm_apps.cli import load_recipe
from lstm_apps.datasets.tasks import success_rates
from lstm_apps.training import format_table, non_negative_float, positive_int

GOALS = {
    "adding100": (
        ["--task", "adding", "--max-sequences", "30000", "--max-minutes", "10"],
        "solved with <= 30,000 sequences in <= 10 min",
    ),
    "temporal_order_2": (
        ["--task", "temporal_order_2", "--max-sequences", "31390", "--max-minutes", "20"],
        "solved with < 31,390 sequences",
    ),
    "reber": (["--task", "reber", "--max-minutes", "20"], "every test string predicted correctly"),
    "adding100_simple_rnn": (
        ["--task", "adding", "--cell", "simple_rnn", "--max-sequences", "30000", "--max-minutes", "10"],
        "fails where LSTM1997 succeeds",
    ),
    "adding1000": (
        ["--task", "adding", "--length", "1000", "--max-sequences", "853000"],
        "long run: the figure it reached",
    ),
}
DEFAULT = ["adding100", "temporal_order_2", "reber", "adding100_simple_rnn"]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=list(GOALS), default=DEFAULT, help="goals to run")
    parser.add_argument("--runs-dir", default="runs", help="parent of the run folders (default runs/)")
    parser.add_argument(
        "--minutes", type=non_negative_float, default=None, help="override every goal's time budget"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--trials",
        type=positive_int,
        default=1,
        help="run each goal with seeds seed..seed+trials-1 and report the success rate, "
        "as the paper's tables do (default 1)",
    )
    args = parser.parse_args(argv)
    recipe = load_recipe("long_time_lag")

    rows = []
    for name, seed in ((n, args.seed + k) for n in args.only for k in range(args.trials)):
        flags, goal = GOALS[name]
        flags = list(flags) + ["--runs-dir", args.runs_dir, "--seed", str(seed), "--verbose", "2"]
        if args.minutes is not None:
            flags += ["--max-minutes", str(args.minutes)]
        t0 = time.time()
        m = recipe.main(flags)
        rows.append(
            {
                "goal run": name,
                "seed": seed,
                "goal": goal,
                "solved": m["solved"],
                "sequences_to_success": m["sequences_to_success"],
                "sequences_trained": m["sequences_trained"],
                "paper_sequences": m["paper_sequences"],
                "test wrong": f"{m['test_error_count']}/{m['test_sequences']}",
                "test_max_abs_error": m["test_max_abs_error"],
                "train_seconds": m["train_seconds"],
                "wall_seconds": round(time.time() - t0, 1),
            }
        )
        table = format_table(rows) + "\n\n" + format_table(success_rates(rows))
        print("\n" + table, flush=True)
        _io.write_text(
            Path(args.runs_dir) / "long_time_lag_goals.md", "## Long-time-lag goal runs\n\n" + table + "\n"
        )
    return rows


if __name__ == "__main__":
    main()
