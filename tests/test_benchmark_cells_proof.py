"""The modern cells' benchmarks: counting's parity study and data_size (the benchmarks run outside CI).

Their summaries are checked on hand-made trials, the parameter counts against
the closed forms of the Keras LSTM and GRU, and each script once end to end
with a tiny configuration.
"""

import json

import numpy as np
import pytest
from conftest import ROOT

from lstm_apps.cli import load_recipe
from lstm_apps.layers import recurrent_kinds

counting = load_recipe("counting", folder="benchmarks")
data_size = load_recipe("data_size", folder="benchmarks")


def test_length_ranges():
    assert counting.length_ranges(40, 256) == [(1, 40), (41, 80), (81, 160), (161, 256)]
    assert counting.length_ranges(10, 10) == [(1, 10)]
    assert counting.length_ranges(10, 25) == [(1, 10), (11, 20), (21, 25)]


def _parity_trial(model, seed, accuracy):
    return {
        "task": "parity",
        "model": model,
        "seed": seed,
        "max_n_all_correct": 5,
        "test_max_n": len(accuracy),
        "train_max_n": 2,
        "counter_r2": 0.5,
        "accuracy_by_n": accuracy,
        "min_accuracy": min(accuracy),
        "train_strings_right": 1.0 if model == "slstm" else 0.25,
    }


def test_parity_summary_counts_the_seeds_at_the_goal_at_every_length():
    trials = [
        _parity_trial("slstm", 0, [1.0, 1.0, 0.99, 1.0, 1.0]),
        _parity_trial("slstm", 1, [1.0, 1.0, 1.0, 0.98, 1.0]),  # one length under 0.99: not at the goal
        _parity_trial("slstm", 2, [1.0] * 5),
        _parity_trial("min_gru", 0, [1.0, 0.5, 0.5, 0.5, 0.25]),
    ]
    summary = counting.summarize(trials)["parity"]
    slstm, min_gru = summary["slstm"], summary["min_gru"]
    assert slstm["seeds_at_goal_every_n"] == 2 and min_gru["seeds_at_goal_every_n"] == 0
    assert slstm["median_min_accuracy"] == 0.99 and slstm["min_accuracy"] == 0.98
    assert min_gru["median_train_strings_right"] == 0.25
    # ranges 1-2, 3-4, 5: the mean over the range, then over the seeds
    assert min_gru["accuracy_by_range"] == {"1-2": 0.75, "3-4": 0.5, "5-5": 0.25}
    assert slstm["accuracy_by_range"]["3-4"] == pytest.approx(np.mean([0.995, 0.99, 1.0]))
    old = counting.summarize([{k: v for k, v in trials[0].items() if "accuracy" not in k}])
    assert (
        "seeds_at_goal_every_n" not in old["parity"]["slstm"]
    )  # entries without accuracies stay as they were


@pytest.mark.slow  # two tiny parity trainings end to end (~1 minute on a shared CPU)
def test_parity_study_end_to_end(tmp_path):
    out = tmp_path / "counting.json"
    argv = ["--study", "parity", "--models", "min_gru", "methylation", "--seeds", "1", "--output", str(out)]
    tiny = ["--epochs", "1", "--test-max-n", "12", "--accuracy-strings", "3", "--train-strings", "50"]
    counting.main([*argv, "--note", "tiny", "--", *tiny, "--strings-per-epoch", "50"])
    entry = json.loads(out.read_text())["parity"]
    assert entry["settings"]["note"] == "tiny" and entry["settings"]["seeds"] == [0]
    assert entry["recipe_args"][: len(counting.PARITY_ARGS)] == counting.PARITY_ARGS
    trial = next(t for t in entry["trials"] if t["model"] == "min_gru")
    assert len(trial["accuracy_by_n"]) == 12 and trial["train_max_n"] == 40 and trial["test_max_n"] == 12
    assert trial["min_accuracy"] == min(trial["accuracy_by_n"]) and trial["accuracy_strings_per_n"] == 3
    assert "refused" in entry["summary"]["parity"]["methylation"]
    assert entry["summary"]["parity"]["min_gru"]["accuracy_by_range"].keys() == {"1-12"}


# -- data_size ---------------------------------------------------------------------------------------
def test_subsets_are_nested_per_seed_and_differ_between_seeds():
    pool = (np.arange(200), np.arange(200) % 2)
    small, large = data_size.subset(pool, 0.05, 3), data_size.subset(pool, 0.25, 3)
    assert len(small[0]) == 10 and len(large[0]) == 50
    assert set(small[0]) <= set(large[0])  # a seed's 5 % lies inside its 25 %
    np.testing.assert_array_equal(small[1], small[0] % 2)  # inputs and targets stay paired
    assert set(data_size.subset(pool, 0.05, 4)[0]) != set(small[0])
    assert len(data_size.subset(pool, 0.001, 0)[0]) == 2  # never fewer than two examples
    assert len(data_size.subset(pool, 1.0, 0)[0]) == 200


def test_parameter_counts_match_the_closed_forms():
    args = data_size.build_parser().parse_args(["--units", "6", "--vocabulary", "50", "--embedding", "4"])
    counts = data_size.parameter_counts(["lstm", "gru", "methylation"], args, ["ecoli", "sentences"])
    u = 6
    lstm = lambda d: 4 * (d * u + u * u + u)  # noqa: E731
    gru = lambda d: 3 * (d * u + u * u + 2 * u)  # noqa: E731  (reset_after: two bias vectors)
    for d, key in ((u, "square"), (5, "ecoli"), (4, "sentences")):
        assert counts["lstm"][key] == lstm(d) and counts["gru"][key] == gru(d)
        assert counts["gru"][f"{key}_ratio_to_lstm"] == pytest.approx(gru(d) / lstm(d))
    assert counts["lstm"]["ecoli_model"] == lstm(5) + u * 4 + 4  # the softmax over four bases
    assert counts["gru"]["sentences_model"] == 50 * 4 + gru(4) + u + 1  # embedding, GRU, sigmoid
    assert "MethylationCell" in counts["methylation"]["refused"]


def _trial(dataset, cell, fraction, seed, loss, train_loss=0.5):
    return {
        "dataset": dataset,
        "cell": cell,
        "fraction": fraction,
        "seed": seed,
        "train_examples": 10,
        "test_loss": loss,
        "gap": loss - train_loss,
    }


def test_data_size_summary():
    trials = [
        _trial("ecoli", "lstm", 0.01, 0, 1.99),
        _trial("ecoli", "lstm", 0.01, 1, 1.97),
        _trial("ecoli", "gru", 0.01, 0, 1.96),
        _trial("ecoli", "gru", 0.01, 1, 1.98),
        _trial("ecoli", "slstm", 0.01, 0, 1.95),
        _trial("ecoli", "gru", 1.0, 0, 1.90),
        {"dataset": "ecoli", "cell": "methylation", "fraction": 0.01, "seed": 0, "refused": "one feature"},
    ]
    summary = data_size.summarize(trials)["ecoli"]
    by_cell, by_fraction = summary["by_cell"], summary["by_fraction"]
    assert list(by_fraction) == ["0.01", "1"] and list(by_cell["gru"]) == ["0.01", "1"]
    assert by_cell["lstm"]["0.01"]["test_loss"]["mean"] == pytest.approx(1.98)
    assert by_cell["gru"]["0.01"]["gap"] == pytest.approx(np.mean([1.46, 1.48]))
    assert by_cell["gru"]["1"]["seeds"] == 1 and "1" not in by_cell["lstm"]
    row = by_fraction["0.01"]
    assert row["gru_minus_lstm"] == pytest.approx(np.mean([1.96 - 1.99, 1.98 - 1.97]))
    assert row["gru_better_seeds"] == 1 and row["paired_seeds"] == 2
    assert row["best_cell"] == "slstm" and "methylation" not in by_cell
    assert "gru_minus_lstm" not in by_fraction["1"]  # no LSTM trained on all the pool


@pytest.mark.slow  # every step of the benchmark with two cells, a few updates each (~1 minute)
def test_data_size_end_to_end(tmp_path, shared_data):
    out = tmp_path / "data_size.json"
    argv = ["--name", "tiny", "--output", str(out), "--seeds", "1", "--units", "4", "--max-updates", "4"]
    argv += ["--eval-every", "2", "--fractions", "0.5", "--ecoli-windows", "20", "--ecoli-eval-windows", "8"]
    argv += ["--window", "20", "--cells", "gru", "min_gru"]
    argv += ["--sentences", str(shared_data / "sentiment" / "movie_sentences.csv")]
    data_size.main(argv + ["--note", "tiny"])
    entry = json.loads(out.read_text())["tiny"]
    assert entry["settings"]["note"] == "tiny" and entry["settings"]["max_updates"] == 4
    assert set(entry["parameters"]) == set(recurrent_kinds())  # counted for every cell, trained or not
    assert {(t["dataset"], t["cell"]) for t in entry["trials"]} == {
        (d, c) for d in ("ecoli", "sentences") for c in ("gru", "min_gru")
    }
    ecoli = next(t for t in entry["trials"] if t["dataset"] == "ecoli")
    assert ecoli["train_examples"] == 10 and 1.0 < ecoli["test_loss"] < 3.0  # bits per base near 2
    assert ecoli["validate_every"] == 1 and entry["trials"][-1]["validate_every"] == 2  # a pass, at most 2
    assert entry["trials"][-1]["train_examples"] == round(0.5 * (3400 - 680 - 340))
    assert 0.0 <= entry["trials"][-1]["test_accuracy"] <= 1.0
    data_size.main(argv)  # the same name again: nothing left to train
    assert len(json.loads(out.read_text())["tiny"]["trials"]) == 4
    with pytest.raises(SystemExit, match="other settings"):
        data_size.main([*argv, "--units", "5"])


def test_committed_results_say_how_they_were_run():
    for name, script in (("data_size.json", "data_size"), ("counting.json", "counting")):
        path = ROOT / "benchmarks" / "results" / name
        if not path.is_file():
            continue
        for key, entry in json.loads(path.read_text()).items():
            assert all(c.startswith(f"python benchmarks/{script}.py") for c in entry["commands"]), key
            if name == "data_size.json" or key.startswith("parity"):
                assert entry["settings"]["seeds"] and "note" in entry["settings"], key
