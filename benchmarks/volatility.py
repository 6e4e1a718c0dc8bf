"""Goal runs of the volatility recipe: does the adaptive cell beat GARCH(1,1) on 2015–2018?

Runs ``recipes/volatility.py`` on the bundled S&P 500 once per seed (default
0, 1, 2), so that the networks' seed-to-seed spread is visible next to the
deterministic baselines, and writes ``<runs-dir>/volatility_goal.md`` and
``.json``: every seed's QLIKE/MSE of the cell, the plain LSTM, GARCH(1,1)
and GJR-GARCH, the cell-vs-GARCH Diebold–Mariano statistic and p-value, the
learned a and b, and the goal (cell QLIKE below GARCH's) met or not per seed.

The reference it checks (``shared/data/README.md``): GARCH(1,1) fitted
through 2014 scores QLIKE 0.412 and MSE 2.887 on 2015–2018.

Each seed trains two networks for minutes on 2 CPU cores; run it in the
background on a quiet machine:

```bash
nice -n 10 python benchmarks/volatility.py --seeds 0 1 2
python benchmarks/volatility.py --quick --seeds 0      # seconds, a smoke check
```
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

KEYS = (
    "qlike_cell",
    "qlike_lstm",
    "qlike_garch",
    "qlike_gjr_garch",
    "mse_cell",
    "mse_garch",
    "dm_stat_cell_vs_garch",
    "dm_pvalue_cell_vs_garch",
    "a",
    "b",
    "half_life_calm_days",
    "half_life_shock_days",
)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="further recipe flags after --")
    args = parser.parse_args(argv)
    from lstm_apps.cli import load_recipe

    recipe = load_recipe("volatility")
    extra = [a for a in args.extra if a != "--"]
    rows = []
    for seed in args.seeds:
        flags = (
            ["--seed", str(seed), "--runs-dir", args.runs_dir, "--verbose", "0"]
            + (["--quick"] if args.quick else [])
            + extra
        )
        m = recipe.main(flags)
        row = {"seed": seed, **{k: m.get(k) for k in KEYS}}
        row["goal_met"] = bool(m["qlike_cell"] < m["qlike_garch"])
        rows.append(row)
    from lstm_apps.io import write_json, write_text
    from lstm_apps.training import format_table

    out = Path(args.runs_dir)
    table = format_table(rows)
    text = "# Volatility goal: adaptive cell QLIKE below GARCH(1,1) on the forecast years\n\n" + table + "\n"
    write_text(out / "volatility_goal.md", text)
    write_json(out / "volatility_goal.json", rows)
    print(text)
    return rows


if __name__ == "__main__":
    main()
