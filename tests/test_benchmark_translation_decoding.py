"""The decoding benchmark rebuilds a run's validation split and reproduces the recipe's own scores."""

from __future__ import annotations

import json

import pytest

from lstm_apps.cli import load_recipe
from lstm_apps.datasets.translation import number_pairs


def test_decoding_benchmark_reproduces_the_recipe_scores(tmp_path):
    src, tgt, _ = number_pairs(300, seed=4)
    data = tmp_path / "pairs.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in zip(src, tgt)), encoding="utf-8")
    recipe = load_recipe("translation")
    metrics = recipe.main(
        [
            "--quick",
            "--epochs",
            "2",
            "--data",
            str(data),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--beam-width",
            "2",
            "--mbr-samples",
            "3",
            "--samples",
            "1",
        ]
    )
    run_dir = next((tmp_path / "runs" / "translation").iterdir())
    bench = load_recipe("translation_decoding", folder="benchmarks")
    out = tmp_path / "decoding.json"
    lp = metrics["length_penalty"]
    result = bench.main(
        [
            "--run",
            str(run_dir),
            "--beam-width",
            "2",
            "--penalties",
            str(lp),
            "--mbr-samples",
            "3",
            "--out",
            str(out),
        ]
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["val_pairs"] == metrics["val_pairs"] and result["saved_length_penalty"] == lp
    greedy, beam, mbr = result["results"]
    # the same model, split and seed: the recipe's greedy, beam and MBR scores come back exactly
    assert greedy["val_chrf"] == pytest.approx(metrics["val_chrf_greedy"])
    assert beam["val_chrf"] == pytest.approx(metrics["val_chrf_beam"]) and beam["length_penalty"] == lp
    assert mbr["val_chrf"] == pytest.approx(metrics["val_chrf"]) and mbr["mbr_samples"] == 3
    assert greedy["decode_time_vs_greedy"] == 1.0 and greedy["chrf_minus_greedy"] == 0.0
    with pytest.raises(ValueError, match="config.json"):
        bench.main(["--run", str(tmp_path / "nowhere")])
    with pytest.raises(ValueError, match="--data"):
        bench.validation_split({"data": None, "dataset": "numbers"})
