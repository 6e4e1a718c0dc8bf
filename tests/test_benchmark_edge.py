"""The edge benchmark's flags: its drift table takes every cell kind of the layer registry."""

import pytest

from lstm_apps.cli import load_recipe
from lstm_apps.layers import recurrent_kinds

bench = load_recipe("edge", folder="benchmarks")


def test_drift_cells_are_every_registered_kind():
    args = bench.parse_args([])
    assert args.drift_cells == list(recurrent_kinds())
    assert {"slstm", "min_gru", "min_lstm", "lstm1997"} <= set(args.drift_cells)
    assert args.cells == ["lstm1997", "lstm", "gru"]
    assert args.long_cells == args.drift_cells  # 10,000 steps: every kind of the drift table
    assert args.state_clip == [40.0, "saturation"]
    assert bench.parse_args(["--drift-cells", "lstm", "--state-clip", "20"]).long_cells == ["lstm"]
    assert bench.parse_args(["--state-clip", "20", "saturation"]).state_clip == [20.0, "saturation"]


@pytest.mark.parametrize(
    "argv", [["--drift-cells", "no_such_cell"], ["--state-clip", "-1"], ["--state-clip", "clip"]]
)
def test_bad_flags_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    err = capsys.readouterr().err
    assert argv[0] in err and argv[-1] in err


def test_markdown_tables_show_the_clip():
    report = {
        "drift": [
            {
                "cell": "lstm1997",
                "quantize": "int8",
                "state_clip": "saturation",
                "drift_1000": 0.1234,
                "drift_10000": None,
            },
            {"cell": "slstm", "quantize": "int8", "state_clip": None, "error": "boom"},
        ]
    }
    text = bench.markdown_tables(report)
    assert "| lstm1997 | int8 | saturation | 0.12 | — |" in text
    assert "| slstm | int8 | None | error | boom |" in text
