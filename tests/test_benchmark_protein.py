"""The protein benchmark: its goal checks, its summary and its committed results (it runs outside CI)."""

import json

import pytest
from conftest import ROOT

from lstm_apps.cli import load_recipe

bench = load_recipe("protein", folder="benchmarks")


def _metrics(lstm=4.08, markov=4.12, charge=(0.3, 0.2), hydro=(0.6, 0.5), other=None):
    m = {
        "test_bits_per_residue_lstm": lstm,
        "test_bits_per_residue_markov": markov,
        "probe_r2_charge": charge[0],
        "probe_r2_charge_untrained": charge[1],
        "probe_r2_hydrophobicity": hydro[0],
        "probe_r2_hydrophobicity_untrained": hydro[1],
    }
    if other:
        m["evaluate_bits_per_residue_lstm"], m["evaluate_bits_per_residue_markov"] = other
    return m


def test_goal_checks():
    assert all(bench.goal_checks(_metrics()).values()) and len(bench.goal_checks(_metrics())) == 3
    checks = bench.goal_checks(_metrics(charge=(0.1, 0.2), other=(4.2, 4.1)))
    assert checks == {
        "lstm_below_markov_held_out": True,
        "probe_charge_above_untrained": False,
        "probe_hydrophobicity_above_untrained": True,
        "lstm_below_markov_other_organism": False,
    }
    assert not bench.goal_checks(_metrics(lstm=4.2))["lstm_below_markov_held_out"]


def test_summarise_over_seeds():
    runs = [_metrics(lstm=v) for v in (4.0, 4.1, 4.2)]
    summary = bench.summarise(runs)
    assert summary["test_bits_per_residue_lstm"]["mean"] == pytest.approx(4.1)
    assert (
        summary["test_bits_per_residue_lstm"]["min"] == 4.0
        and summary["test_bits_per_residue_lstm"]["max"] == 4.2
    )
    assert "multitask_probe_r2_charge" not in summary  # only metrics the runs have


def test_committed_results_are_consistent():
    result = json.loads((ROOT / "benchmarks" / "results" / "protein.json").read_text())
    assert result["command"].startswith("python benchmarks/protein.py")
    for run in result["runs"]:
        assert run["goal"] == bench.goal_checks(run)
    assert result["goal_met"] == all(all(r["goal"].values()) for r in result["runs"])
    assert result["seeds"] == [r["seed"] for r in result["runs"]]
