"""Quick runs of recipes/protein.py (seconds of training; bounds that a broken pipeline fails)."""

import json
import math

import pytest

from lstm_apps.cli import load_recipe

protein = load_recipe("protein")

UNIFORM = math.log2(20)


def _run_dir(runs_dir):
    (path,) = list((runs_dir / "protein").iterdir())
    return path


def test_quick_run_on_bundled_ecoli(runs_dir):
    metrics = protein.main(["--quick", "--runs-dir", str(runs_dir)])
    run = _run_dir(runs_dir)
    saved = json.loads((run / "metrics.json").read_text())
    for key in (
        "test_bits_per_residue_lstm",
        "test_bits_per_residue_markov",
        "test_bits_per_residue_composition",
        "probe_r2_charge",
        "probe_r2_charge_untrained",
        "probe_r2_charge_counts",
        "probe_r2_hydrophobicity",
        "probe_r2_hydrophobicity_untrained",
        "probe_r2_hydrophobicity_counts",
    ):
        assert key in saved and saved[key] == metrics[key], key
    # proteins sit near their composition entropy (~4.19 bits); a broken model is at or above
    # the uniform guess, a broken Markov model or composition far from 4.1-4.2
    assert 4.1 < metrics["composition_entropy_bits"] < 4.22
    assert 4.1 < metrics["test_bits_per_residue_composition"] < 4.25
    assert 4.0 < metrics["test_bits_per_residue_markov"] < metrics["test_bits_per_residue_composition"]
    assert 4.0 < metrics["test_bits_per_residue_lstm"] < UNIFORM - 0.05
    assert metrics["markov_order"] in (0, 1, 2) and metrics["test_proteins"] == 30
    # both properties are linear in the residue counts: the ceiling is (almost) exact
    assert metrics["probe_r2_charge_counts"] > 0.99 and metrics["probe_r2_hydrophobicity_counts"] > 0.99
    for key in ("probe_r2_charge", "probe_r2_hydrophobicity", "probe_r2_hydrophobicity_untrained"):
        assert -0.5 < metrics[key] < 0.99, key
    assert metrics["probe_test_samples"] == 30 * 20
    for name in ("model.keras", "probe_along_protein.png", "history.json", "results.md", "config.json"):
        assert (run / name).exists(), name
    table = (run / "results.md").read_text()
    assert "Markov order" in table and "uniform guess" in table and "residue counts" in table


# slow: a multitask run plus --evaluate (130 s of a loaded run)
@pytest.mark.slow
def test_quick_multitask_gru_and_evaluate(runs_dir, shared_data):
    other = shared_data / "genomes" / "arabidopsis_chloroplast_NC_000932.gb"
    argv = ["--quick", "--runs-dir", str(runs_dir), "--cell", "gru", "--multitask", "--evaluate", str(other)]
    metrics = protein.main(argv)
    assert metrics["multitask_epochs_trained"] == metrics["epochs_trained"] == 1
    assert 4.0 < metrics["test_bits_per_residue_multitask"] < UNIFORM
    for key in ("multitask_probe_r2_charge", "multitask_probe_r2_hydrophobicity"):
        assert -0.5 < metrics[key] < 0.99, key
    assert metrics["evaluate_proteins"] == 79  # the chloroplast's distinct CDS translations
    for key in ("lstm", "multitask", "markov", "composition"):
        assert 4.0 < metrics[f"evaluate_bits_per_residue_{key}"] < UNIFORM + 0.1, key
    run = _run_dir(runs_dir)
    assert (run / "history_multitask.json").exists()
    assert "multitask" in (run / "results.md").read_text()


@pytest.mark.parametrize(
    "flag,content,match",
    [
        ("--data", ">p1\nMKV-LLA\n", r"record 'p1'.*\['-'\]"),
        ("--evaluate", "", "empty"),
        ("--evaluate", ">p1\nMKV\n>p2\nMK*VA\n", r"record 'p2'.*\['\*'\]"),
    ],
)
def test_bad_files_fail_before_training(tmp_path, runs_dir, flag, content, match):
    bad = tmp_path / "bad.fasta"
    bad.write_text(content)
    with pytest.raises(ValueError, match=match):
        protein.main(["--quick", "--runs-dir", str(runs_dir), flag, str(bad)])
    assert not (runs_dir / "protein").exists()


@pytest.mark.slow
def test_full_ecoli_lstm_beats_markov_and_probes_beat_untrained(runs_dir):
    """The issue's goal for one seed (about an hour of CPU): see benchmarks/protein.py."""
    metrics = protein.main(["--runs-dir", str(runs_dir), "--max-cpu-minutes", "60"])
    assert metrics["test_bits_per_residue_lstm"] < metrics["test_bits_per_residue_markov"]
    assert metrics["probe_r2_charge"] > metrics["probe_r2_charge_untrained"]
    assert metrics["probe_r2_hydrophobicity"] > metrics["probe_r2_hydrophobicity_untrained"]
