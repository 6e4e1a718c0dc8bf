"""The translation recipe end to end in --quick mode: --data/--test-data, --translate, --dataset anki-fra
offline, --ensemble with --resume, the low-resource options and weight averaging."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from lstm_apps.cli import load_recipe
from lstm_apps.datasets.translation import number_pairs
from lstm_apps.losses import SmoothedSparseCategoricalCrossentropy
from lstm_apps.seq2seq import LexicalModel, Translator

recipe = load_recipe("translation")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    metrics = recipe.main(["--quick", "--runs-dir", str(runs), "--seed", "0"])
    run_dir = next((runs / "translation").iterdir())
    return runs, run_dir, metrics


def test_quick_run_beats_copying_and_learns(quick_run):
    runs, run_dir, metrics = quick_run
    for key in (
        "val_chrf",
        "val_bleu",
        "val_chrf_copy",
        "val_exact_match",
        "val_chrf_greedy",
        "chrf_signature",
        "bleu_signature",
    ):
        assert key in metrics
    # copying English number phrases as "German" shares only a few letters ("hundert", "t", "n")
    assert 10.0 < metrics["val_chrf_copy"] < 30.0
    assert metrics["val_exact_match_copy"] == 0.0
    # floor: after a few seconds of training the model writes German number words
    assert metrics["val_chrf"] > metrics["val_chrf_copy"] + 5.0, metrics
    assert metrics["val_chrf"] <= 100.0 and 0.0 <= metrics["val_exact_match"] <= 1.0
    history = json.loads((run_dir / "history.json").read_text())
    assert history["loss"][-1] < 0.75 * history["loss"][0]  # the loss fell over the quick epochs
    assert "nc:6" in metrics["chrf_signature"] and "tok:13a" in metrics["bleu_signature"]
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert on_disk["val_chrf"] == pytest.approx(metrics["val_chrf"])
    for name in (
        "model.keras",
        "encoder.keras",
        "decoder_step.keras",
        "translator.json",
        "results.md",
        "samples.md",
        "attention.png",
        "config.json",
    ):
        assert (run_dir / name).is_file(), name
    assert "copy the source" in (run_dir / "results.md").read_text()
    keras.models.load_model(run_dir / "decoder_step.keras", compile=False)  # exportable on its own
    # --length-penalty auto: chosen on the dev split from the grid, saved with the translator, named in
    # the table
    tried = {k: v for k, v in metrics.items() if k.startswith("dev_chrf_length_penalty_")}
    assert set(tried) == {f"dev_chrf_length_penalty_{p}" for p in ("0.6", "1", "1.5", "2")}
    assert tried[f"dev_chrf_length_penalty_{metrics['length_penalty']:g}"] == max(tried.values())
    assert (
        json.loads((run_dir / "translator.json").read_text())["length_penalty"] == metrics["length_penalty"]
    )
    assert f"length penalty {metrics['length_penalty']:g}" in (run_dir / "results.md").read_text()


def test_translate_loads_the_latest_run(quick_run, capsys):
    runs, run_dir, _ = quick_run
    out = recipe.main(
        ["--runs-dir", str(runs), "--translate", "three hundred twenty-one", "--beam-width", "2"]
    )
    assert out["run"] == str(run_dir)
    assert isinstance(out["translation"], str) and out["translation"]
    assert out["translation"] in capsys.readouterr().out
    with pytest.raises(ValueError, match="no finished translation run"):
        recipe.main(["--runs-dir", str(runs / "elsewhere"), "--translate", "one"])
    fixed = recipe.main(
        [
            "--runs-dir",
            str(runs),
            "--translate",
            "three hundred twenty-one",
            "--beam-width",
            "2",
            "--length-penalty",
            "0",
        ]
    )
    assert isinstance(fixed["translation"], str)
    for bad in ("-1", "inf", "long"):
        with pytest.raises(SystemExit):
            recipe.main(["--runs-dir", str(runs), "--translate", "one", "--length-penalty", bad])


# slow: recipe runs on user files (107 s of a loaded run)
@pytest.mark.slow
def test_data_and_test_data_files(tmp_path):
    src, tgt, _ = number_pairs(300, seed=5)
    train = tmp_path / "train.tsv"
    train.write_text(
        "".join(f"{s}\t{t}\tCC-BY attribution\n" for s, t in zip(src[:240], tgt[:240])), encoding="utf-8"
    )
    test = tmp_path / "test.tsv"
    test.write_text("".join(f"{s}\t{t}\n" for s, t in zip(src[240:], tgt[240:])), encoding="utf-8")
    metrics = recipe.main(
        [
            "--quick",
            "--epochs",
            "1",
            "--data",
            str(train),
            "--test-data",
            str(test),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--tokens",
            "char",
            "--cell",
            "gru",
            "--attention",
            "bahdanau",
            "--beam-width",
            "1",
            "--export",
            "--length-penalty",
            "2",
            "--mbr-samples",
            "3",
        ]
    )
    assert metrics["length_penalty"] == 2.0 and not any(
        k.startswith("dev_chrf_length_penalty") for k in metrics
    )  # a given penalty is not tuned
    assert metrics["decoding"] == "mbr" and metrics["mbr_samples"] == 3 and "val_chrf_beam" in metrics
    results = (
        tmp_path
        / "runs"
        / "translation"
        / next((tmp_path / "runs" / "translation").iterdir()).name
        / "results.md"
    ).read_text()
    assert "MBR over greedy + 3 samples" in results and results.count("| test ") == 2
    with pytest.raises(SystemExit):
        recipe.main(["--quick", "--mbr-samples", "-1", "--runs-dir", str(tmp_path / "runs")])
    assert metrics["test_pairs"] == 60 and metrics["val_pairs"] == 24
    for key in ("test_chrf", "test_bleu", "test_chrf_copy", "test_exact_match"):
        assert key in metrics
    assert 10.0 < metrics["test_chrf_copy"] < 30.0
    # --export: the encoder and the one-step (streaming) decoder as LiteRT files, checked against Keras
    run_dir = next((tmp_path / "runs" / "translation").iterdir())
    for name in ("encoder", "decoder_step"):
        assert (run_dir / f"{name}.tflite").stat().st_size == metrics[f"export_{name}_size_bytes"] > 0
        assert metrics[f"export_{name}_parity_max_abs"] <= 1e-4
    assert "export_error" not in metrics


def test_train_pairs_subsets_training_but_keeps_the_held_out_splits(tmp_path):
    src, tgt, _ = number_pairs(240, seed=5)
    train = tmp_path / "train.tsv"
    train.write_text("".join(f"{s}\t{t}\n" for s, t in zip(src, tgt)), encoding="utf-8")
    common = [
        "--quick",
        "--epochs",
        "1",
        "--data",
        str(train),
        "--tokens",
        "char",
        "--beam-width",
        "1",
        "--length-penalty",
        "1",
        "--max-length",
        "200",
    ]
    metrics = recipe.main([*common, "--train-pairs", "50", "--runs-dir", str(tmp_path / "runs")])
    # 240 pairs: 24 validation, 10 dev, 206 training of which the first 50 are kept (--max-pairs 50
    # would leave 5 validation)
    assert metrics["train_pairs"] == 50 and metrics["val_pairs"] == 24
    config = json.loads((next((tmp_path / "runs" / "translation").iterdir()) / "config.json").read_text())
    assert config["train_pairs"] == 50
    for bad in ("0", "-3"):
        with pytest.raises(SystemExit):
            recipe.main([*common, "--train-pairs", bad, "--runs-dir", str(tmp_path / "runs")])


# slow: two recipe runs (210 s of a loaded run)
@pytest.mark.slow
def test_extra_data_trains_on_extra_pairs_but_never_on_held_out_ones(tmp_path):
    src, tgt, _ = number_pairs(350, seed=7)
    train = tmp_path / "train.tsv"
    train.write_text("".join(f"{s}\t{t}\n" for s, t in zip(src[:240], tgt[:240])), encoding="utf-8")
    test = tmp_path / "test.tsv"
    test.write_text("".join(f"{s}\t{t}\n" for s, t in zip(src[240:300], tgt[240:300])), encoding="utf-8")
    # the extra file repeats every training and test pair and adds 50 new ones
    extra = tmp_path / "extra.tsv"
    extra.write_text("".join(f"{s.upper()}\t{t}!\n" for s, t in zip(src, tgt)), encoding="utf-8")
    metrics = recipe.main(
        [
            "--quick",
            "--epochs",
            "1",
            "--data",
            str(train),
            "--test-data",
            str(test),
            "--extra-data",
            str(extra),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--beam-width",
            "1",
            "--max-length",
            "500",
        ]
    )  # (no pair is skipped for its length: upper-case letters are unknown to the sentences' subwords,
    # one token each)
    n_val = 24
    n_dev = (240 - n_val) // 20
    # the validation, dev and test pairs are dropped (case and punctuation do not hide them), and so are
    # the training pairs themselves: what is left is the 50 new pairs, all of them in every epoch
    assert metrics["train_pairs"] == 240 - n_val - n_dev
    assert metrics["extra_pairs"] == metrics["extra_pairs_per_epoch"] == 50
    run_dir = next((tmp_path / "runs" / "translation").iterdir())
    assert json.loads((run_dir / "config.json").read_text())["extra_data"] == str(extra)
    # the extra sources are upper-cased: their letters reach the vocabulary only with --subwords-from all
    assert not any(sym.isupper() for sym in Translator.load(run_dir).source_tokenizer.symbols)
    recipe.main(
        [
            "--quick",
            "--epochs",
            "1",
            "--data",
            str(train),
            "--extra-data",
            str(extra),
            "--subwords-from",
            "all",
            "--runs-dir",
            str(tmp_path / "runs2"),
            "--beam-width",
            "1",
            "--samples",
            "0",
        ]
    )
    run_dir = next((tmp_path / "runs2" / "translation").iterdir())
    assert any(sym.isupper() for sym in Translator.load(run_dir).source_tokenizer.symbols)
    with pytest.raises(SystemExit):
        recipe.main(
            [
                "--quick",
                "--extra-data",
                str(extra),
                "--extra-per-epoch",
                "-1",
                "--runs-dir",
                str(tmp_path / "runs"),
            ]
        )
    with pytest.raises(SystemExit):
        recipe.main(
            [
                "--quick",
                "--extra-data",
                str(extra),
                "--extra-min-words",
                "0",
                "--runs-dir",
                str(tmp_path / "runs"),
            ]
        )
    # the word filter: of the 50 new numbers, those spelled with at least 4 words on each side (German
    # has one)
    with pytest.raises(ValueError, match="holds no pairs.*filters"):
        recipe.main(
            [
                "--quick",
                "--data",
                str(train),
                "--extra-data",
                str(extra),
                "--extra-min-words",
                "4",
                "--runs-dir",
                str(tmp_path / "runs3"),
            ]
        )
    # sentences only: the sources end in no '.', '!' or '?', so only pairs added with both ends
    # punctuated stay
    extra.write_text(
        extra.read_text(encoding="utf-8") + "Good night.\tGute Nacht!\nsay hello\tHallo sagen.\n",
        encoding="utf-8",
    )
    metrics = recipe.main(
        [
            "--quick",
            "--epochs",
            "1",
            "--data",
            str(train),
            "--extra-data",
            str(extra),
            "--extra-sentences-only",
            "--runs-dir",
            str(tmp_path / "runs4"),
            "--beam-width",
            "1",
            "--samples",
            "0",
        ]
    )
    assert metrics["extra_pairs"] == 1
    run_dir = next((tmp_path / "runs4" / "translation").iterdir())
    assert json.loads((run_dir / "config.json").read_text())["extra_sentences_only"] is True


def test_anki_fra_offline_fails_clearly(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(ValueError, match="Could not download the Anki"):
        recipe.main(["--quick", "--dataset", "anki-fra", "--runs-dir", str(tmp_path)])


@pytest.mark.slow
def test_number_words_goal_99_percent_exact(tmp_path):
    """The issue's goal on the bundled data (minutes of CPU): ≥ 99 % of unseen numbers spelled exactly."""
    metrics = recipe.main(["--runs-dir", str(tmp_path), "--verbose", "0"])
    assert metrics["val_exact_match"] >= 0.99, metrics
    assert metrics["val_chrf"] > metrics["val_chrf_copy"] + 50.0


@pytest.mark.filterwarnings(
    "error:Skipping variable loading:UserWarning"
)  # a kept member loads whole, optimizer included
# slow: an ensemble run and its resume (128 s of a loaded run)
@pytest.mark.slow
def test_ensemble_trains_members_on_one_split_and_resumes_without_retraining_them(tmp_path, monkeypatch):
    base = [
        "--quick",
        "--epochs",
        "2",
        "--num-pairs",
        "300",
        "--beam-width",
        "2",
        "--samples",
        "1",
        "--runs-dir",
        str(tmp_path),
        "--ensemble",
        "2",
        "--max-minutes",
        "60",
    ]
    fits = []
    real_fit = keras.Model.fit

    def interrupted_fit(self, *args, **kwargs):
        fits.append(self.name)
        if len(fits) == 2:
            raise KeyboardInterrupt("the second member is interrupted")
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", interrupted_fit)
    with pytest.raises(KeyboardInterrupt):
        recipe.main(base)
    run_dir = next((tmp_path / "translation").iterdir())
    assert (run_dir / "backup_members" / "member_0.weights.h5").is_file()  # the finished member is kept
    ledger = run_dir / "train_time.json"  # the harness's time ledger
    assert json.loads(ledger.read_text())["wall_seconds"] > 0.0  # the training time spent so far
    # pretend the first member took the whole hour: the resumed member stops after its first batch
    ledger.write_text(json.dumps({"wall_seconds": 3600.0, "cpu_seconds": 1.0, "stopped_by": None}))
    fits.clear()
    monkeypatch.setattr(
        keras.Model, "fit", lambda self, *a, **k: (fits.append(self.name), real_fit(self, *a, **k))[1]
    )
    metrics = recipe.main(base + ["--resume", str(run_dir)])
    assert len(fits) == 1  # only the interrupted member trains again
    assert metrics["ensemble"] == 2 and metrics["epochs_trained_member_0"] == metrics["epochs_trained"] == 2
    assert (
        metrics["epochs_trained_member_1"] == 1 and (run_dir / "history_member_1.json").is_file()
    )  # stopped by the budget
    assert metrics["stopped_by_time_budget"] and metrics["train_seconds"] >= 3600.0 and not ledger.exists()
    for key in ("val_chrf", "val_chrf_beam", "val_chrf_greedy", "val_chrf_member_0"):
        assert 0.0 <= metrics[key] <= 100.0
    assert not (run_dir / "backup_members").exists()
    # the saved translator is the ensemble: two members' states pass through its one-step decoder
    translator = Translator.load(run_dir)
    assert len(translator.decoder_step.outputs) == 1 + 2 * 2
    assert "ensemble of 2" in (run_dir / "results.md").read_text()
    with pytest.raises(SystemExit):
        recipe.main(base[:-3] + ["0"])


def test_recipe_quick_with_label_smoothing_word_dropout_bidirectional_encoder_and_lexical_model(runs_dir):
    base = [
        "--quick",
        "--epochs",
        "1",
        "--num-pairs",
        "300",
        "--beam-width",
        "1",
        "--samples",
        "1",
        "--runs-dir",
        str(runs_dir),
    ]
    metrics = recipe.main(
        base
        + [
            "--label-smoothing",
            "0.1",
            "--word-dropout",
            "0.2",
            "--bidirectional-encoder",
            "--lexical-model",
            "--tie-embeddings",
        ]
    )
    assert 0.0 <= metrics["val_chrf"] <= 100.0
    run_dir = next((runs_dir / "translation").iterdir())
    config = json.loads((run_dir / "config.json").read_text())
    assert (
        config["label_smoothing"] == 0.1
        and config["word_dropout"] == 0.2
        and config["bidirectional_encoder"] is True
    )
    assert config["lexical_model"] is True and config["tie_embeddings"] is True
    assert isinstance(
        keras.models.load_model(run_dir / "encoder.keras").get_layer("encoder"), keras.layers.Bidirectional
    )
    assert isinstance(
        keras.models.load_model(run_dir / "decoder_step.keras").get_layer("lexical_model"), LexicalModel
    )
    model = keras.models.load_model(
        run_dir / "model.keras"
    )  # compiled: the registered smoothed loss comes back
    assert isinstance(model.loss, SmoothedSparseCategoricalCrossentropy) and model.loss.label_smoothing == 0.1
    assert {"source_word_dropout", "target_word_dropout"} <= {layer.name for layer in model.layers}
    assert isinstance(
        Translator.load(run_dir).translate("one hundred"), str
    )  # the saved inference parts still load
    for flag in ("--label-smoothing", "--word-dropout"):
        with pytest.raises(SystemExit):
            recipe.main(base + [flag, "1.0"])
    with pytest.raises(SystemExit):
        recipe.main(base + ["--bidirectional-encoder", "--units", "33"])


# slow: a recipe run for one option (132 s of a loaded run)
@pytest.mark.slow
def test_recipe_quick_with_weight_averaging(tmp_path):
    base = ["--quick", "--epochs", "1", "--num-pairs", "300", "--beam-width", "1", "--samples", "1"]
    recipe.main(base + ["--runs-dir", str(tmp_path / "plain")])
    recipe.main(base + ["--runs-dir", str(tmp_path / "avg"), "--ema", "0.999"])
    run_dir = next((tmp_path / "avg" / "translation").iterdir())
    assert json.loads((run_dir / "config.json").read_text())["ema"] == 0.999
    # the dev loss is the averaged weights': Keras starts the average at the weights after the first step, and
    # with momentum 0.999 the few steps after it barely move it, so the loss stays near log(64 tokens) = 4.16
    # while the trained weights' loss falls
    plain_dir = next((tmp_path / "plain" / "translation").iterdir())
    plain_loss = json.loads((plain_dir / "history.json").read_text())["val_loss"][0]
    avg_loss = json.loads((run_dir / "history.json").read_text())["val_loss"][0]
    assert avg_loss > plain_loss + 0.5 and avg_loss > 0.95 * np.log(64), (avg_loss, plain_loss)
    assert isinstance(Translator.load(run_dir).translate("one hundred"), str)
    for bad in (["--ema", "1.0"], ["--ema", "-0.1"], ["--lexical-model", "--attention", "none"]):
        with pytest.raises(SystemExit):
            recipe.main(base + ["--runs-dir", str(tmp_path / "bad")] + bad)
