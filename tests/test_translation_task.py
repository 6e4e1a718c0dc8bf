"""The translation task's library: splits, scores, the results table, export inputs, --translate."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import sacrebleu

from lstm_apps.datasets.translation import (
    load_translation_pairs,
    number_pairs,
    split_pairs,
    split_train_dev_val,
)
from lstm_apps.metrics import corpus_bleu, corpus_chrf, translation_scores, translation_signatures
from lstm_apps.seq2seq import BOS, Translator, build_seq2seq
from lstm_apps.translation import (
    compile_seq2seq,
    encode_pairs,
    evaluate_translator,
    export_parts,
    latest_translator_dir,
    length_penalty_arg,
    plot_attention,
    results_rows,
    set_length_penalty,
    train_tokenizers,
    training_callbacks,
    translate_with_run,
    verdict,
)

SOURCES = ["twenty-one", "three hundred", "seven", "forty-two"]
REFERENCES = ["einundzwanzig", "dreihundert", "sieben", "zweiundvierzig"]


# -- scores -------------------------------------------------------------------------------------------


def test_translation_scores_equal_sacrebleu_for_the_system_and_for_copying_the_source():
    hyps = ["einundzwanzig", "dreihundertsieben", "sieben", "zweiundzwanzig"]
    scores = translation_scores(hyps, REFERENCES, SOURCES, prefix="val")
    assert list(scores) == [
        "val_chrf",
        "val_bleu",
        "val_exact_match",
        "val_chrf_copy",
        "val_bleu_copy",
        "val_exact_match_copy",
    ]
    assert scores["val_chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [REFERENCES]).score)
    assert scores["val_bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [REFERENCES]).score)
    assert scores["val_chrf_copy"] == pytest.approx(sacrebleu.corpus_chrf(SOURCES, [REFERENCES]).score)
    assert scores["val_exact_match"] == 0.5 and scores["val_exact_match_copy"] == 0.0
    assert translation_scores(hyps, REFERENCES) == {
        "chrf": scores["val_chrf"],
        "bleu": scores["val_bleu"],
        "exact_match": 0.5,
    }
    with pytest.raises(ValueError, match="equally many"):
        translation_scores(hyps, REFERENCES, SOURCES[:2])


def test_translation_signatures_are_those_of_the_scores():
    signatures = translation_signatures()
    assert signatures == {
        "bleu_signature": corpus_bleu(SOURCES, REFERENCES)[1],
        "chrf_signature": corpus_chrf(SOURCES, REFERENCES)[1],
    }
    assert "nrefs:1" in signatures["bleu_signature"] and "nc:6" in signatures["chrf_signature"]


# -- data ---------------------------------------------------------------------------------------------


def test_split_train_dev_val_is_the_validation_split_and_a_dev_slice_of_the_training_pairs():
    sources = [f"s{i}" for i in range(300)]
    targets = [f"t{i}" for i in range(300)]
    splits = split_train_dev_val(sources, targets, val_fraction=0.1, seed=3)
    (train_src, train_tgt), val = split_pairs(sources, targets, 0.1, seed=3)
    assert splits.val == val and len(val[0]) == 30
    assert splits.dev == (train_src[:13], train_tgt[:13])  # 270 // 20
    assert splits.train == (train_src[13:], train_tgt[13:])
    assert sorted(splits.train[0] + splits.dev[0] + splits.val[0]) == sorted(sources)
    # a learning curve: fewer training pairs, the same dev and validation pairs
    fewer = split_train_dev_val(sources, targets, val_fraction=0.1, seed=3, train_pairs=50)
    assert fewer.train == (splits.train[0][:50], splits.train[1][:50])
    assert fewer.dev == splits.dev and fewer.val == splits.val
    assert split_train_dev_val(sources * 100, targets * 100, max_dev=7).dev[0].__len__() == 7
    assert len(split_train_dev_val(sources[:10], targets[:10]).dev[0]) == 1  # at least one
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="train_pairs must be a positive integer"):
            split_train_dev_val(sources, targets, train_pairs=bad)


def test_load_translation_pairs_reads_a_file_or_a_bundled_dataset(tmp_path):
    sources, targets, name = load_translation_pairs(num_pairs=20, seed=4)
    assert (sources, targets) == tuple(number_pairs(20, seed=4)[:2]) and "number words" in name
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("hello\thallo\ngood night\tgute Nacht\tCC-BY\n", encoding="utf-8")
    assert load_translation_pairs(pairs, "anki-fra") == (
        ["hello", "good night"],
        ["hallo", "gute Nacht"],
        "pairs.tsv",
    )  # a file wins over the dataset
    assert load_translation_pairs(pairs, max_pairs=1)[:2] == (["hello"], ["hallo"])
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_translation_pairs(dataset="wmt")


def test_tokenizers_and_encode_pairs_skip_empty_and_long_pairs():
    src_tok, tgt_tok = train_tokenizers("char", ["ab", "ba"], ["xyz"])
    assert src_tok.symbols[4:] == ["a", "b"] and tgt_tok.vocab_size == 7
    sub_src, _ = train_tokenizers("subword", ["ab ab ab"], ["x"], vocab_size=7)
    assert sub_src.vocab_size <= 7
    with pytest.raises(ValueError, match="kind must be one of"):
        train_tokenizers("word", ["a"], ["b"])
    x, y = encode_pairs(src_tok, tgt_tok, ["ab", "", "abab", "b"], ["x", "y", "xy", "zzzz"], max_length=3)
    assert x == [src_tok.encode("ab")] and y == [tgt_tok.encode("x")]  # empty, too long, too long
    x, _ = encode_pairs(src_tok, tgt_tok, ["ab", "abab"], ["x", "x"])
    assert len(x) == 2  # no limit
    with pytest.raises(ValueError, match="equal length"):
        encode_pairs(src_tok, tgt_tok, ["ab"], [])
    with pytest.raises(ValueError, match="max_length must be a positive integer"):
        encode_pairs(src_tok, tgt_tok, ["ab"], ["x"], max_length=0)


# -- evaluation ---------------------------------------------------------------------------------------


class _Dictionary:
    """A translator that looks sentences up, with outputs that depend on the decoding."""

    def __init__(self, table, length_penalty=1.0):
        self.table, self.length_penalty, self.calls = table, length_penalty, []

    def translate(self, sources, beam_width=1, length_penalty=None, **kwargs):
        self.calls.append((beam_width, length_penalty))
        return [self.table[beam_width].get(s, s) for s in sources]

    def mbr_rerank(self, sources, translations, mbr_samples, seed=0):
        self.calls.append(("mbr", mbr_samples, seed))
        return [t.upper() if mbr_samples else t for t in translations]


def test_evaluate_translator_scores_every_decoding_and_the_first_member():
    greedy = dict(zip(SOURCES, ["einundzwanzig", "drei", "sieben", "zwei"]))
    beam = dict(zip(SOURCES, REFERENCES))
    translator = _Dictionary({1: greedy, 4: beam}, length_penalty=1.5)
    member = _Dictionary({4: greedy})
    hyps, metrics, seconds = evaluate_translator(
        translator, SOURCES, REFERENCES, beam_width=4, member=member, prefix="val"
    )
    assert hyps == REFERENCES and seconds >= 0.0
    assert metrics["val_exact_match"] == metrics["val_exact_match_beam"] == 1.0
    assert metrics["val_exact_match_greedy"] == metrics["val_exact_match_member_0"] == 0.5
    assert metrics["val_chrf_greedy"] == pytest.approx(corpus_chrf(list(greedy.values()), REFERENCES)[0])
    assert metrics["val_exact_match_copy"] == 0.0 and "val_chrf_greedy_copy" not in metrics
    assert member.calls == [(4, 1.5)]  # the member decodes with the ensemble's length penalty
    assert {k: metrics[k] for k in ("decoding", "beam_width", "mbr_samples", "length_penalty")} == {
        "decoding": "beam",
        "beam_width": 4,
        "mbr_samples": 0,
        "length_penalty": 1.5,
    }
    assert metrics["chrf_signature"] == translation_signatures()["chrf_signature"]
    hyps, metrics, _ = evaluate_translator(
        translator, SOURCES, REFERENCES, beam_width=4, mbr_samples=3, seed=7
    )
    assert hyps == [r.upper() for r in REFERENCES] and metrics["val_exact_match"] == 0.0
    assert translator.calls[-1] == ("mbr", 3, 7) and "val_chrf_member_0" not in metrics
    assert metrics["decoding"] == "mbr"
    _, metrics, _ = evaluate_translator(translator, SOURCES, REFERENCES, beam_width=1)
    assert metrics["val_chrf_beam"] == metrics["val_chrf_greedy"]  # greedy is the "beam" of width 1
    assert metrics["decoding"] == "greedy"
    # a test split: only the reported translations, and no greedy pass to make them
    translator.calls.clear()
    _, metrics, _ = evaluate_translator(
        translator, SOURCES, REFERENCES, beam_width=4, member=member, prefix="test", compare=False
    )
    assert translator.calls == [(4, None), ("mbr", 0, 0)] and len(member.calls) == 1
    assert sorted(k for k in metrics if k.startswith("test_")) == sorted(
        f"test_{k}{s}" for k in ("chrf", "bleu", "exact_match") for s in ("", "_copy")
    )


class _Penalized:
    """Translations that get longer with the length penalty: chrF peaks where they match the references."""

    length_penalty = 0.6

    def translate(self, sources, beam_width=1, length_penalty=None, **kwargs):
        return [r[: int(4 * length_penalty) + 2] for r in REFERENCES]


def test_set_length_penalty_sets_a_given_one_or_tunes_it_on_the_dev_split():
    translator = _Penalized()
    assert set_length_penalty(translator, 1.5, SOURCES, REFERENCES) == {} and translator.length_penalty == 1.5
    tried = set_length_penalty(translator, "auto", SOURCES, REFERENCES, beam_width=4)
    assert list(tried) == [f"dev_chrf_length_penalty_{p}" for p in ("0.6", "1", "1.5", "2")]
    assert translator.length_penalty == 2.0 and tried["dev_chrf_length_penalty_2"] == max(tried.values())
    translator.length_penalty = 0.6
    assert set_length_penalty(translator, "auto", SOURCES, REFERENCES, beam_width=1) == {}
    assert translator.length_penalty == 0.6  # greedy decoding: nothing to tune
    with pytest.raises(argparse.ArgumentTypeError, match="finite number >= 0"):
        set_length_penalty(translator, -1.0, SOURCES, REFERENCES)


def test_compile_seq2seq_and_training_callbacks():
    import keras

    from lstm_apps.losses import SmoothedSparseCategoricalCrossentropy

    parts = build_seq2seq(9, 11, cell="lstm", units=8, embed_dim=4)
    compile_seq2seq(parts.model, 0.01)
    assert isinstance(parts.model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert parts.model.optimizer.clipnorm == 1.0 and not parts.model.optimizer.use_ema
    assert float(parts.model.optimizer.learning_rate) == pytest.approx(0.01)
    compile_seq2seq(parts.model, 0.01, label_smoothing=0.1, ema=0.999)
    assert isinstance(parts.model.loss, SmoothedSparseCategoricalCrossentropy)
    assert parts.model.loss.label_smoothing == 0.1
    assert parts.model.optimizer.use_ema and parts.model.optimizer.ema_momentum == 0.999
    for bad in ({"label_smoothing": 1.0}, {"ema": -0.1}, {"ema": True}):
        with pytest.raises(ValueError, match=r"must be a number in \[0, 1\)"):
            compile_seq2seq(parts.model, **bad)
    plain = training_callbacks(patience=5)
    assert [type(c).__name__ for c in plain] == ["EarlyStopping", "ReduceLROnPlateau"]
    assert plain[0].patience == 5 and plain[0].restore_best_weights and plain[1].patience == 2
    averaged = training_callbacks(patience=1, ema=0.99)
    assert type(averaged[0]).__name__ == "SwapEMAWeights" and averaged[2].patience == 1
    assert training_callbacks()[0] is not training_callbacks()[0]  # fresh ones for every fit
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        training_callbacks(patience=0)


def _metrics(**extra):
    keys = ("chrf", "bleu", "exact_match")
    out = {
        f"val_{k}{s}": i for i, (k, s) in enumerate((k, s) for s in ("", "_beam", "_greedy") for k in keys)
    }
    out.update({f"val_{k}_member_0": 10.0 for k in keys} | {f"val_{k}_copy": -1.0 for k in keys})
    return {**out, "length_penalty": 1.5, **extra}


def test_results_rows_name_each_decoding_and_the_baseline():
    rows = results_rows(_metrics(), beam_width=4)
    assert [r["system"] for r in rows] == [
        "LSTM seq2seq, beam 4 (length penalty 1.5)",
        "LSTM seq2seq, greedy",
        "copy the source (baseline)",
    ]
    assert rows[0] == {
        "split": "validation",
        "system": rows[0]["system"],
        "chrF": 0,
        "BLEU": 1,
        "exact match": 2,
    }
    assert rows[1]["chrF"] == 6 and rows[2]["chrF"] == -1.0
    test = {"test_chrf": 50.0, "test_bleu": 5.0, "test_exact_match": 0.1} | {
        f"test_{k}_copy": 1.0 for k in ("chrf", "bleu", "exact_match")
    }
    rows = results_rows(_metrics(**test), beam_width=4, mbr_samples=8, ensemble=2)
    assert [(r["split"], r["system"]) for r in rows] == [
        ("validation", "LSTM seq2seq, ensemble of 2, MBR over beam + 8 samples"),
        ("validation", "LSTM seq2seq, ensemble of 2, beam 4 (length penalty 1.5)"),
        ("validation", "LSTM seq2seq, ensemble of 2, greedy"),
        ("validation", "its first member alone, beam 4"),
        ("validation", "copy the source (baseline)"),
        ("test", "LSTM seq2seq, ensemble of 2, MBR over beam + 8 samples"),
        ("test", "copy the source (baseline)"),
    ]
    assert rows[1]["chrF"] == 3 and rows[3]["chrF"] == 10.0 and rows[5]["chrF"] == 50.0
    greedy = results_rows(_metrics(), beam_width=1, mbr_samples=2)
    assert [r["system"] for r in greedy][0] == "LSTM seq2seq, MBR over greedy + 2 samples"
    assert len(greedy) == 3  # no separate beam row: the beam output is the greedy one


def test_verdict_names_the_gain_and_a_wrong_translation():
    metrics = {"val_chrf": 60.0, "val_chrf_copy": 20.0, "val_exact_match": 0.75}
    text = verdict(metrics, SOURCES[:2], REFERENCES[:2], ["einundzwanzig", "drei"], exact=True)
    assert text.startswith("The model beats copying the source by 40.0 chrF points")
    assert "75.0 % of unseen numbers" in text and "'three hundred' → 'drei'" in text
    text = verdict({**metrics, "val_chrf": 10.0}, SOURCES[:1], REFERENCES[:1], REFERENCES[:1])
    assert "does NOT beat copying the source (chrF -10.0)" in text and "errs" not in text


# -- a real model: attention plot, export inputs, translating with a saved run -------------------------


@pytest.fixture(scope="module")
def tiny():
    src_tok, tgt_tok = train_tokenizers("char", SOURCES, REFERENCES)
    parts = build_seq2seq(src_tok.vocab_size, tgt_tok.vocab_size, cell="lstm", units=8, embed_dim=4)
    translator = Translator(parts.encoder, parts.decoder_step, src_tok, tgt_tok, max_length_offset=3)
    return parts, translator


def test_plot_attention_labels_rows_with_generated_and_columns_with_source_tokens(tiny):
    parts, translator = tiny
    fig = plot_attention(
        parts, translator.source_tokenizer, translator.target_tokenizer, "seven", "sieben", "t"
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list("seven")
    assert [t.get_text() for t in ax.get_yticklabels()] == [*"sieben", "</s>"]
    assert ax.images[0].get_array().shape == (7, 5) and ax.get_title() == "t"


@pytest.mark.parametrize("attention", ["luong", "none"])
def test_export_parts_feed_the_one_step_decoder_as_decoding_does(attention):
    src_tok, tgt_tok = train_tokenizers("char", SOURCES, REFERENCES)
    parts = build_seq2seq(
        src_tok.vocab_size, tgt_tok.vocab_size, cell="lstm", units=8, embed_dim=4, attention=attention
    )
    translator = Translator(parts.encoder, parts.decoder_step, src_tok, tgt_tok, attention=attention)
    source = np.asarray([src_tok.encode("seven") + [0], src_tok.encode("twenty-one")[:6]], "int32")
    target = np.asarray([[BOS, 5, 6], [BOS, 7, 0]], "int32")
    models = export_parts(translator, source, target)
    assert list(models) == ["encoder", "decoder_step"]
    assert models["encoder"][0] is parts.encoder and np.array_equal(models["encoder"][1][0], source)
    step_model, step_inputs = models["decoder_step"]
    encoded = parts.encoder.predict(source, verbose=0)
    assert step_model is parts.decoder_step and np.array_equal(step_inputs[0], target[:, :1])
    assert len(step_inputs) == (5 if attention != "none" else 3)  # token, h, c (, encoder outputs, source)
    np.testing.assert_allclose(step_inputs[1], encoded[1])
    logits = step_model.predict(step_inputs, verbose=0)[0]
    # the first step of teacher forcing reads the same token and states: the same logits
    np.testing.assert_allclose(logits, parts.model.predict([source, target], verbose=0)[:, 0], atol=1e-5)
    with pytest.raises(ValueError, match=r"\(batch, time\) arrays"):
        export_parts(translator, source[0], target)


def test_translate_with_the_latest_run_or_a_given_one(tiny, tmp_path):
    _, translator = tiny
    with pytest.raises(ValueError, match="no finished translation run"):
        latest_translator_dir(tmp_path)
    for name in ("2026-01-01_000000", "2026-01-02_000000"):
        translator.save(tmp_path / "translation" / name)
    (tmp_path / "translation" / "2026-01-03_000000").mkdir()  # unfinished: no translator
    latest = tmp_path / "translation" / "2026-01-02_000000"
    assert latest_translator_dir(tmp_path) == latest
    out = translate_with_run("seven", runs_dir=tmp_path, beam_width=2)
    assert out == {
        "source": "seven",
        "translation": translator.translate("seven", beam_width=2),
        "run": str(latest),
    }
    first = tmp_path / "translation" / "2026-01-01_000000"
    assert translate_with_run("seven", first, length_penalty=0.0)["run"] == str(first)


def test_length_penalty_arg():
    assert length_penalty_arg("auto") == "auto" and length_penalty_arg("0") == 0.0
    assert length_penalty_arg("1.5") == 1.5
    for bad in ("-1", "inf", "nan", "long"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected 'auto' or a finite number >= 0"):
            length_penalty_arg(bad)
