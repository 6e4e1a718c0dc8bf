"""Translation: number-words generator, pairs loaders, tokenizers, seq2seq models, decoding, metrics."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest

from lstm_apps.datasets import translation as tr
from lstm_apps.metrics import corpus_bleu, corpus_chrf, exact_match
from lstm_apps.seq2seq import (
    BOS,
    EOS,
    PAD,
    UNK,
    CharTokenizer,
    EnsembleLogProbs,
    FeatureSlice,
    LexicalModel,
    PairBatches,
    SmoothedSparseCategoricalCrossentropy,
    SubwordTokenizer,
    Translator,
    attention_weights,
    beam_search,
    build_seq2seq,
    choose_length_penalty,
    ensemble_models,
    greedy_decode,
    mbr_select,
    sample_decode,
    sentence_chrf_matrix,
    tokenizer_from_config,
)
from lstm_apps.seq2seq.batches import _pad  # the decoders' own helpers, for hand-made batches
from lstm_apps.seq2seq.decoding import _log_softmax

# ---------------------------------------------------------------------------
# Number words: hand-checked against German and American spelling rules
# ---------------------------------------------------------------------------
GERMAN = {
    0: "null",
    1: "eins",  # final "eins" ...
    2: "zwei",
    6: "sechs",
    7: "sieben",
    10: "zehn",
    11: "elf",
    12: "zwölf",
    13: "dreizehn",
    16: "sechzehn",  # not "sechszehn"
    17: "siebzehn",  # not "siebenzehn"
    20: "zwanzig",
    21: "einundzwanzig",  # ... but "ein" in compounds; units before tens
    30: "dreißig",  # ß, not "dreizig"
    31: "einunddreißig",
    60: "sechzig",
    66: "sechsundsechzig",
    70: "siebzig",
    77: "siebenundsiebzig",
    99: "neunundneunzig",
    100: "einhundert",
    101: "einhunderteins",
    111: "einhundertelf",
    116: "einhundertsechzehn",
    200: "zweihundert",
    321: "dreihunderteinundzwanzig",
    1000: "eintausend",
    1001: "eintausendeins",
    1016: "eintausendsechzehn",
    1100: "eintausendeinhundert",
    2017: "zweitausendsiebzehn",
    21000: "einundzwanzigtausend",
    100000: "einhunderttausend",
    101101: "einhunderteintausendeinhunderteins",
    170070: "einhundertsiebzigtausendsiebzig",
    999999: "neunhundertneunundneunzigtausendneunhundertneunundneunzig",
}

ENGLISH = {
    0: "zero",
    1: "one",
    15: "fifteen",
    21: "twenty-one",
    40: "forty",
    100: "one hundred",
    105: "one hundred five",
    115: "one hundred fifteen",
    321: "three hundred twenty-one",
    1001: "one thousand one",
    21000: "twenty-one thousand",
    101101: "one hundred one thousand one hundred one",
    999999: "nine hundred ninety-nine thousand nine hundred ninety-nine",
}


@pytest.mark.parametrize("n,word", sorted(GERMAN.items()))
def test_german_number_words(n, word):
    assert tr.german_number_words(n) == word


@pytest.mark.parametrize("n,words", sorted(ENGLISH.items()))
def test_english_number_words(n, words):
    assert tr.english_number_words(n) == words


def test_german_numbers_are_single_words_and_compose():
    rng = np.random.default_rng(1)
    for n in rng.integers(1000, 1_000_000, size=200).tolist():
        word = tr.german_number_words(n)
        assert " " not in word and "-" not in word
        thousands, rest = divmod(n, 1000)
        head = tr.german_number_words(thousands)
        head = head[:-1] if head.endswith("eins") else head  # "eins" -> "ein" before "tausend"
        assert word == head + "tausend" + (tr.german_number_words(rest) if rest else "")


@pytest.mark.parametrize("bad", [-1, 1_000_000, 2.5, "7", True])
def test_number_words_reject_bad_input(bad):
    with pytest.raises(ValueError, match="Expected an integer"):
        tr.german_number_words(bad)
    with pytest.raises(ValueError, match="Expected an integer"):
        tr.english_number_words(bad)


def test_number_pairs_seeded_distinct_and_spread():
    src, tgt, nums = tr.number_pairs(600, seed=3)
    src2, tgt2, nums2 = tr.number_pairs(600, seed=3)
    assert src == src2 and tgt == tgt2 and np.array_equal(nums, nums2)
    assert len(set(nums.tolist())) == 600
    assert tr.number_pairs(600, seed=4)[2].tolist() != nums.tolist()
    digits = np.array([len(str(n)) for n in nums])
    for d in range(1, 7):  # every magnitude present; 4..6 digits each about a sixth
        assert (digits == d).any()
    assert all(0.1 < np.mean(digits == d) < 0.25 for d in (4, 5, 6))
    assert all(
        t == tr.german_number_words(int(n)) and s == tr.english_number_words(int(n))
        for s, t, n in zip(src, tgt, nums)
    )
    _, _, other = tr.number_pairs(300, seed=9, exclude=nums)
    assert not set(other.tolist()) & set(nums.tolist())


def test_number_pairs_errors():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        tr.number_pairs(0)
    with pytest.raises(ValueError, match="max_digits"):
        tr.number_pairs(5, max_digits=7)
    with pytest.raises(ValueError, match="exceeds"):
        tr.number_pairs(95, max_digits=2, exclude=range(10))


# ---------------------------------------------------------------------------
# Pairs files and the Anki download
# ---------------------------------------------------------------------------
def test_load_pairs_two_and_three_columns(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text(
        "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\n"
        "\n"
        "Hi  there.\tSalut\t!\n"
        "Run!\tCours !\r\n",
        encoding="utf-8",
    )
    src, tgt = tr.load_pairs(path)
    assert src == ["Go.", "Hi there.", "Run!"]
    assert tgt == ["Va !", "Salut", "Cours !"]
    assert tr.load_pairs(path, max_pairs=2) == (src[:2], tgt[:2])


@pytest.mark.parametrize(
    "text,match",
    [
        ("a\tb\nno tab here\n", r"pairs.tsv:2: expected 'source<TAB>target"),
        ("a\tb\n\tleer\n", r"pairs.tsv:2: empty source"),
        ("a\t \n", r"pairs.tsv:1: empty target"),
        ("\n\n", "holds no sentence pairs"),
    ],
)
def test_load_pairs_malformed(tmp_path, text, match):
    path = tmp_path / "pairs.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        tr.load_pairs(path)


def test_load_pairs_missing_file_and_bad_max(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        tr.load_pairs(tmp_path / "nope.tsv")
    (tmp_path / "p.tsv").write_text("a\tb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="max_pairs"):
        tr.load_pairs(tmp_path / "p.tsv", max_pairs=0)


def test_load_anki_fra_uses_get_file_and_reads_fra_txt(tmp_path, monkeypatch):
    calls = []

    def fake_get_file(fname, origin, extract=False, cache_dir=None, **kw):
        calls.append((fname, origin, extract))
        folder = tmp_path / "fra-eng_extracted"
        folder.mkdir(exist_ok=True)
        with zipfile.ZipFile(tmp_path / "fra-eng.zip", "w") as zf:  # the real layout: a zip holding fra.txt
            zf.writestr("fra.txt", "Go.\tVa !\tCC-BY 2.0\nHello!\tBonjour !\tCC-BY 2.0\n")
        zipfile.ZipFile(tmp_path / "fra-eng.zip").extractall(folder)
        return str(folder)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    src, tgt = tr.load_anki_fra()
    assert calls == [("fra-eng.zip", tr.ANKI_FRA_URL, True)]
    assert (src, tgt) == (["Go.", "Hello!"], ["Va !", "Bonjour !"])
    assert tr.load_anki_fra(max_pairs=1) == (["Go."], ["Va !"])
    cache = (
        tmp_path / "not" / "yet"
    )  # a missing cache folder is created, so Keras does not fall back to /tmp/.keras
    tr.load_anki_fra(cache_dir=str(cache))
    assert cache.is_dir()


def test_load_anki_fra_offline_is_a_clear_value_error(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception(
            "URL fetch failure on http://storage.googleapis.com/...: None -- "
            "[Errno -3] Temporary failure in name resolution"
        )

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(ValueError, match="Could not download the Anki English–French corpus"):
        tr.load_anki_fra()


def test_load_anki_fra_archive_without_fra_txt(tmp_path, monkeypatch):
    (tmp_path / "x").mkdir()
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: str(tmp_path / "x"))
    with pytest.raises(ValueError, match="holds no fra.txt"):
        tr.load_anki_fra()


def test_split_pairs_is_a_seeded_partition():
    src = [f"s{i}" for i in range(50)]
    tgt = [f"t{i}" for i in range(50)]
    (a_s, a_t), (v_s, v_t) = tr.split_pairs(src, tgt, 0.2, seed=1)
    assert len(v_s) == 10 and len(a_s) == 40
    assert sorted(a_s + v_s) == sorted(src)
    assert all(s[1:] == t[1:] for s, t in zip(a_s + v_s, a_t + v_t))  # pairs stay together
    assert tr.split_pairs(src, tgt, 0.2, seed=1) == ((a_s, a_t), (v_s, v_t))
    with pytest.raises(ValueError, match="val_fraction"):
        tr.split_pairs(src, tgt, 1.5)
    with pytest.raises(ValueError, match="equal length"):
        tr.split_pairs(src, tgt[:3])


# ---------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------
def test_bpe_merges_match_hand_computed_example():
    # Sennrich et al.'s toy vocabulary: low x5, lower x2, newest x6, widest x3.
    texts = ["low"] * 5 + ["lower"] * 2 + ["newest"] * 6 + ["widest"] * 3
    tok = SubwordTokenizer.train(texts, vocab_size=4 + 11 + 5)  # specials + alphabet (with "▁") + 5 merges
    # counts: es 9 = st 9 (tie: "e" < "s"), then est 9, then lo = ow = ▁l 7 (tie: "l" < "o" < "▁"),
    # then low 7 (< ▁lo 7), then ▁low 7 (beats ▁n, ne, ew, west 6)
    assert tok.merges == [("e", "s"), ("es", "t"), ("l", "o"), ("lo", "w"), ("\u2581", "low")]
    assert tok.tokenize("lowest newer") == ["\u2581low", "est", "\u2581", "n", "e", "w", "e", "r"]
    assert tok.vocab_size == 20


def _reference_bpe_merges(texts, n_merges, min_frequency=2):
    """Sennrich et al.'s algorithm as written in their paper: recount every pair after each merge."""
    from collections import Counter

    from lstm_apps.seq2seq.tokenizers import _merge, _words

    vocab = Counter(tuple(w) for t in texts for w in _words(t))
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for word, freq in vocab.items():
            for p in zip(word, word[1:]):
                pairs[p] += freq
        if not pairs:
            break
        best, count = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if count < min_frequency:
            break
        merges.append(best)
        vocab = Counter({tuple(_merge(list(w), best, best[0] + best[1])): f for w, f in vocab.items()})
    return merges


def test_bpe_training_equals_the_recount_everything_reference():
    rng = np.random.default_rng(3)
    syllables = ["ein", "und", "zwan", "zig", "drei", "ßig", "hun", "dert", "tau", "send", "a", "e", "n"]
    texts = [
        " ".join("".join(rng.choice(syllables, size=rng.integers(1, 4))) for _ in range(rng.integers(1, 6)))
        for _ in range(300)
    ]
    tok = SubwordTokenizer.train(texts, vocab_size=200)
    reference = _reference_bpe_merges(texts, len(tok.merges) + 5)
    assert tok.merges == reference[: len(tok.merges)]
    assert len(tok.merges) > 100 and tok.vocab_size == 200  # stopped by the vocabulary size, not early


def test_bpe_round_trip_punctuation_and_unknowns():
    texts = [
        "Der Jemen ist ein Land.",
        "Wie heißt dieser Ort?",
        "Das wäre zu wünschen!",
        "Ein Land, ein Ort.",
    ]
    tok = SubwordTokenizer.train(texts * 3, vocab_size=60)
    for t in texts:
        assert tok.decode(tok.encode(t)) == t
    assert "." in tok.tokenize("Land.")  # punctuation is its own pre-token
    ids = tok.encode("Ort Ω")
    assert UNK in ids and tok.decode(ids) == "Ort \u2047"
    clone = tokenizer_from_config(tok.get_config())
    assert clone.encode("Wie ist dieser Ort?") == tok.encode("Wie ist dieser Ort?")
    assert tok.decode([tok.encode("Ort")[0], EOS, tok.encode("Land")[0]]) == "Ort"  # stops at </s>
    with pytest.raises(ValueError, match="vocab_size"):
        SubwordTokenizer.train(texts, vocab_size=3)
    with pytest.raises(ValueError, match="Unknown tokenizer kind"):
        tokenizer_from_config({"kind": "wordpiece"})


def test_char_tokenizer():
    tok = CharTokenizer.train(["abc", "cab"])
    assert tok.vocab_size == 4 + 3
    assert tok.decode(tok.encode("cab")) == "cab"
    assert tokenizer_from_config(tok.get_config()).encode("bca") == tok.encode("bca")


# ---------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------
def test_pair_batches_teacher_forcing_layout():
    src = [[5, 6, 7], [8], [9, 9, 9, 9, 9], [5, 5]]
    tgt = [[4, 4], [7, 8, 9], [6], [5, 6, 7, 8, 9, 10]]
    batches = PairBatches(src, tgt, batch_size=3, seed=0, pad_multiple=4)
    assert len(batches) == 2
    seen = []
    for (s, t_in), t_out, w in batches:
        assert s.shape[1] % 4 == 0 and t_in.shape == t_out.shape == w.shape and t_in.shape[1] % 4 == 0
        for row_s, row_in, row_out, row_w in zip(s, t_in, t_out, w):
            y = row_out[row_w > 0].tolist()
            assert y[-1] == EOS and row_in[0] == BOS
            assert row_in[1 : len(y)].tolist() == y[:-1]  # target_in is target_out shifted right
            assert np.all(row_out[len(y) :] == PAD)
            seen.append((row_s[row_s > 0].tolist(), y[:-1]))
    assert sorted(seen) == sorted(zip(src, tgt))  # every pair exactly once per epoch
    ds = batches.dataset()
    assert int(ds.cardinality()) == 2
    assert sum(1 for _ in ds) == 2
    with pytest.raises(ValueError, match="equal length"):
        PairBatches(src, tgt[:2])


def test_pair_batches_mix_every_sentence_with_the_next_extra_pairs():
    src = [[5, 6, 7], [8], [9, 9, 9], [5, 5]]
    tgt = [[4, 4], [7, 8], [6], [5, 6]]
    extra_src = [[10 + i] for i in range(10)]
    extra_tgt = [[20 + i, 21 + i] for i in range(10)]
    batches = PairBatches(
        src,
        tgt,
        batch_size=3,
        seed=1,
        extra_source_ids=extra_src,
        extra_target_ids=extra_tgt,
        extra_per_epoch=4,
    )
    assert batches.extra_per_epoch == 4 and len(batches) == 3  # ceil((4 + 4) / 3), the same every epoch
    extra_seen = []
    for _ in range(5):
        pairs = [
            (row_s[row_s > 0].tolist(), row_out[row_w > 0].tolist()[:-1])
            for (s, _), t_out, w in batches
            for row_s, row_out, row_w in zip(s, t_out, w)
        ]
        assert len(pairs) == 8
        assert sorted(p for p in pairs if p[0][0] < 10) == sorted(
            zip(src, tgt)
        )  # every sentence pair, every epoch
        extra = [p for p in pairs if p[0][0] >= 10]
        assert len(extra) == 4 and all(
            t == [20 + s[0] - 10, 21 + s[0] - 10] for s, t in extra
        )  # pairs stay aligned
        extra_seen.append(sorted(s[0] for s, _ in extra))
    # epochs walk through a shuffle: the first 10 extra pairs drawn (epochs 1, 2 and half of 3) are all
    # different
    first_pass = extra_seen[0] + extra_seen[1]
    assert len(set(first_pass)) == 8
    assert len(set(range(10, 20)) - set(first_pass) - set(extra_seen[2])) == 0
    assert int(batches.dataset().cardinality()) == 3
    # by default an epoch holds as many extra pairs as sentence pairs
    assert PairBatches(src, tgt, extra_source_ids=extra_src, extra_target_ids=extra_tgt).extra_per_epoch == 4
    assert (
        PairBatches(src, tgt, extra_source_ids=extra_src[:2], extra_target_ids=extra_tgt[:2]).extra_per_epoch
        == 2
    )
    with pytest.raises(ValueError, match="extra_source_ids and extra_target_ids"):
        PairBatches(src, tgt, extra_source_ids=extra_src, extra_target_ids=extra_tgt[:3])
    with pytest.raises(ValueError, match="extra_per_epoch"):
        PairBatches(src, tgt, extra_source_ids=extra_src, extra_target_ids=extra_tgt, extra_per_epoch=-1)


# ---------------------------------------------------------------------------
# Model: the one-step decoder equals the teacher-forced model
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cell,attention,n_states,bidirectional,lexical,tied",
    [
        ("lstm1997", "luong", 2, False, False, False),
        ("lstm", "bahdanau", 2, False, False, False),
        ("gru", "luong", 1, False, False, False),
        ("simple_rnn", "none", 1, False, False, False),
        ("lstm1997", "luong", 2, True, False, False),
        ("lstm", "bahdanau", 2, True, False, False),
        ("gru", "none", 1, True, False, False),
        ("lstm", "luong", 2, True, True, False),
        ("gru", "bahdanau", 1, False, True, True),
        ("lstm", "none", 2, False, False, True),
    ],
)
def test_step_decoder_matches_teacher_forcing(cell, attention, n_states, bidirectional, lexical, tied):
    keras.utils.set_random_seed(0)
    parts = build_seq2seq(
        11,
        13,
        cell=cell,
        units=8,
        embed_dim=6,
        attention=attention,
        bidirectional_encoder=bidirectional,
        lexical_model=lexical,
        tie_embeddings=tied,
    )
    assert parts.n_states == n_states
    assert len(parts.encoder.outputs) == 1 + n_states
    assert all(
        tuple(out.shape)[-1] == 8 for out in parts.encoder.outputs
    )  # both directions together: `units` features
    rng = np.random.default_rng(0)
    src = rng.integers(4, 11, size=(3, 6)).astype("int32")
    src[0, 4:] = PAD  # a padded sentence: attention and encoder must ignore the padding
    tgt_in = np.concatenate([np.full((3, 1), BOS), rng.integers(4, 13, size=(3, 4))], axis=1).astype("int32")
    full = np.asarray(parts.model.predict_on_batch([src, tgt_in]))
    enc_out, *states = parts.encoder.predict_on_batch(src)
    for t in range(tgt_in.shape[1]):
        inputs = [tgt_in[:, t : t + 1], *states] + ([enc_out, src] if attention != "none" else [])
        logits, *states = parts.decoder_step.predict_on_batch(inputs)
        np.testing.assert_allclose(logits, full[:, t], atol=1e-5)
    # the padded sentence gives the same logits as its unpadded version
    short = np.asarray(parts.model.predict_on_batch([src[:1, :4], tgt_in[:1]]))
    np.testing.assert_allclose(short[0], full[0], atol=1e-5)


def test_attention_weights_are_distributions_over_real_tokens():
    keras.utils.set_random_seed(0)
    parts = build_seq2seq(11, 13, cell="gru", units=8, embed_dim=6, attention="bahdanau")
    w = attention_weights(parts, [5, 6, 7], [4, 5])
    assert w.shape == (3, 3)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="attention='none'"):
        attention_weights(build_seq2seq(11, 13, cell="gru", units=4, attention="none"), [5], [4])


def test_build_seq2seq_rejects_bad_arguments():
    with pytest.raises(ValueError, match="attention must be one of"):
        build_seq2seq(10, 10, attention="dot")
    with pytest.raises(ValueError, match="units must be a positive integer, received 0"):
        build_seq2seq(10, 10, units=0)
    with pytest.raises(ValueError, match="Unknown recurrent kind"):
        build_seq2seq(10, 10, cell="transformer")
    with pytest.raises(ValueError, match="units must be even with bidirectional_encoder=True.*received 7"):
        build_seq2seq(10, 10, units=7, bidirectional_encoder=True)


def test_lexical_model_golden_values_and_errors():
    rng = np.random.default_rng(0)
    layer = LexicalModel(5)
    logits = rng.normal(size=(2, 3, 5)).astype("float32")
    weights = rng.dirichlet(np.ones(4), size=(2, 3)).astype("float32")  # (batch, target_len, source_len)
    emb = rng.normal(size=(2, 4, 6)).astype("float32")
    out = np.asarray(layer([logits, weights, emb]))
    w_hidden, w_out = (np.asarray(v, "float64") for v in (layer.hidden_kernel, layer.output_kernel))
    f = np.tanh(np.einsum("bts,bse->bte", weights.astype("float64"), emb))
    expected = logits + (np.tanh(f @ w_hidden) + f) @ w_out
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape([(2, 3, 5), (2, 3, 4), (2, 4, 6)]) == (2, 3, 5)
    clone = LexicalModel.from_config(layer.get_config())
    assert clone.target_vocab == 5
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match=rf"target_vocab must be a positive integer, received {bad!r}"):
            LexicalModel(bad)
    with pytest.raises(ValueError, match="LexicalModel expects"):
        LexicalModel(5)([logits, weights[:, 0], emb])
    with pytest.raises(ValueError, match="LexicalModel expects"):
        LexicalModel(4)([logits, weights, emb])  # logits of another vocabulary
    with pytest.raises(ValueError, match="lexical_model=True needs attention"):
        build_seq2seq(10, 10, attention="none", lexical_model=True)


def test_lexical_model_adds_logits_from_the_attended_source_embeddings():
    keras.utils.set_random_seed(0)
    parts = build_seq2seq(11, 13, cell="lstm", units=8, embed_dim=6, attention="luong", lexical_model=True)
    src, tgt = [5, 6, 7], [4, 5]
    full = np.asarray(
        parts.model.predict_on_batch([np.array([src], "int32"), np.array([[BOS, *tgt]], "int32")])
    )[0]
    # the lexical term by hand: the model's attention weights average the model's own source embeddings
    weights = attention_weights(parts, src, tgt)  # (3 target steps, 3 source tokens)
    emb = np.asarray(parts.model.get_layer("source_embedding").embeddings)[src]
    lexical = parts.model.get_layer("lexical_model")
    f = np.tanh(weights @ emb)
    by_hand = (np.tanh(f @ np.asarray(lexical.hidden_kernel)) + f) @ np.asarray(lexical.output_kernel)
    # with the lexical output kernel zeroed, only the decoder's own logits remain
    lexical.output_kernel.assign(np.zeros((6, 13), "float32"))
    plain = np.asarray(
        parts.model.predict_on_batch([np.array([src], "int32"), np.array([[BOS, *tgt]], "int32")])
    )[0]
    np.testing.assert_allclose(full - plain, by_hand, atol=1e-5)
    assert np.abs(by_hand).max() > 1e-3


@pytest.mark.parametrize(
    "options",
    [{}, {"lexical_model": True}, {"tie_embeddings": True}, {"lexical_model": True, "tie_embeddings": True}],
)
def test_logits_keep_the_target_padding_mask_so_the_loss_averages_over_real_tokens(options):
    keras.utils.set_random_seed(0)
    parts = build_seq2seq(11, 13, cell="lstm", units=8, embed_dim=6, attention="luong", **options)
    src = np.array([[5, 6, 7, 0], [5, 6, 0, 0]], "int32")
    tgt_in = np.array([[BOS, 4, 5, 0], [BOS, 0, 0, 0]], "int32")
    tgt_out = np.array([[4, 5, EOS, 0], [EOS, 0, 0, 0]], "int32")
    logits = parts.model([src, tgt_in])
    np.testing.assert_array_equal(np.asarray(logits._keras_mask), tgt_in != PAD)
    # Keras's loss then averages over the 4 real tokens, not all 8 positions
    per_token = np.asarray(
        keras.losses.sparse_categorical_crossentropy(tgt_out, np.asarray(logits), from_logits=True)
    )
    loss = SmoothedSparseCategoricalCrossentropy(from_logits=True)(tgt_out, logits)
    np.testing.assert_allclose(float(loss), per_token[tgt_in != PAD].mean(), rtol=1e-5)


def test_tied_embeddings_score_outputs_with_the_target_embedding_matrix():
    keras.utils.set_random_seed(0)
    parts = build_seq2seq(11, 13, cell="lstm", units=8, embed_dim=6, attention="luong", tie_embeddings=True)
    names = {layer.name for layer in parts.model.layers}
    assert "logits" not in names and "output_projection" in names
    untied = build_seq2seq(11, 13, cell="lstm", units=8, embed_dim=6, attention="luong")
    # the (units, vocab) output kernel and bias give way to a (units, embed_dim) projection
    assert untied.model.count_params() - parts.model.count_params() == (8 * 13 + 13) - (8 * 6 + 6)
    src, tgt_in = np.array([[5, 6, 7]], "int32"), np.array([[BOS, 4]], "int32")
    before = np.asarray(parts.model.predict_on_batch([src, tgt_in]))
    # token 9 is read nowhere in this pair, yet its output score moves with its embedding row, and only its
    # own
    embedding = parts.model.get_layer("target_embedding").embeddings
    table = np.asarray(embedding)
    table[9] += 1.0
    embedding.assign(table)
    after = np.asarray(parts.model.predict_on_batch([src, tgt_in]))
    changed = ~np.isclose(after, before, atol=1e-7).all(axis=(0, 1))
    assert changed.tolist() == [i == 9 for i in range(13)]


def test_bidirectional_encoder_reads_the_source_both_ways():
    keras.utils.set_random_seed(0)
    parts = build_seq2seq(
        11, 13, cell="lstm", units=8, embed_dim=6, attention="luong", bidirectional_encoder=True
    )
    bi = parts.encoder.get_layer("encoder")
    assert (
        isinstance(bi, keras.layers.Bidirectional) and bi.forward_layer.units == bi.backward_layer.units == 4
    )
    src = np.array([[5, 6, 7, 8, 0, 0]], "int32")
    enc_out, h, c = parts.encoder.predict_on_batch(src)
    # forward half: the first output depends only on the first token; backward half: the last real output
    # only on the last
    changed_last = src.copy()
    changed_last[0, 3] = 9
    out2, h2, c2 = parts.encoder.predict_on_batch(changed_last)
    np.testing.assert_allclose(out2[0, 0, :4], enc_out[0, 0, :4], atol=1e-6)
    assert not np.allclose(
        out2[0, 0, 4:], enc_out[0, 0, 4:]
    )  # the backward direction saw the change at step 0
    assert not np.allclose(h2[:, :4], h[:, :4]) and not np.allclose(h2[:, 4:], h[:, 4:])
    # final states: forward state after the last real token, backward state after reading back to the first
    np.testing.assert_allclose(h[:, :4], enc_out[:, 3, :4], atol=1e-6)
    np.testing.assert_allclose(h[:, 4:], enc_out[:, 0, 4:], atol=1e-6)


# ---------------------------------------------------------------------------
# Low-resource regularisation (Sennrich & Zhang 2019): label smoothing, word dropout
# ---------------------------------------------------------------------------
def _smoothed_ce_numpy(labels, logits, eps):
    """Per-token smoothed cross-entropy, written out in float64."""
    logits = np.asarray(logits, "float64")
    logp = logits - logits.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    vocab = logits.shape[-1]
    target = (1.0 - eps) * np.eye(vocab)[np.asarray(labels)] + eps / vocab
    return -(target * logp).sum(-1)


def test_smoothed_loss_golden_values():
    # by hand: p = (0.25, 0.75), y = 1, eps = 0.2 -> q = (0.1, 0.9); -(0.1 ln 0.25 + 0.9 ln 0.75) = 0.397543
    loss = SmoothedSparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    assert float(loss(np.array([1]), np.log(np.array([[0.25, 0.75]])))) == pytest.approx(0.3975433, abs=1e-6)
    probs_loss = SmoothedSparseCategoricalCrossentropy(from_logits=False, label_smoothing=0.2)
    assert float(probs_loss(np.array([1]), np.array([[0.25, 0.75]]))) == pytest.approx(0.3975433, abs=1e-6)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 5)).astype("float32") * 3
    labels = rng.integers(0, 5, size=(2, 3))
    for eps in (0.0, 0.1, 0.5):
        expected = _smoothed_ce_numpy(labels, logits, eps)
        per_token = SmoothedSparseCategoricalCrossentropy(
            from_logits=True, label_smoothing=eps, reduction=None
        )(labels, logits)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(per_token), expected, rtol=1e-5)
        mean = SmoothedSparseCategoricalCrossentropy(from_logits=True, label_smoothing=eps)(labels, logits)
        assert float(mean) == pytest.approx(expected.mean(), rel=1e-5)
        # the same convention as Keras's dense cross-entropy with label smoothing
        dense = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=eps)(
            np.eye(5)[labels], logits
        )
        assert float(mean) == pytest.approx(float(dense), rel=1e-5)
    # labels given with a trailing axis of 1 are accepted, as by Keras's sparse loss
    assert float(mean) == pytest.approx(
        float(
            SmoothedSparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.5)(
                labels[..., None], logits
            )
        ),
        rel=1e-6,
    )


def _padded_teacher_forcing_batch():
    keras.utils.set_random_seed(0)
    parts = build_seq2seq(11, 13, cell="gru", units=8, embed_dim=6, attention="luong")
    parts.model.get_layer("logits").bias.assign(
        np.eye(13, dtype="float32")[4] * 8.0
    )  # peaked: every token bets on id 4
    src = np.array([[5, 6, 7, 8], [9, 5, 0, 0], [4, 0, 0, 0]], "int32")
    tgt_in = np.array([[BOS, 4, 5, 6, 7], [BOS, 8, 0, 0, 0], [BOS, 9, 10, 0, 0]], "int32")
    tgt_out = np.array([[4, 5, 6, 7, EOS], [8, EOS, 0, 0, 0], [9, 10, EOS, 0, 0]], "int32")
    logits = parts.model([src, tgt_in])  # eager call: the logits carry the target padding mask
    return logits, tgt_out


def test_smoothed_loss_without_smoothing_equals_keras_loss_on_padded_batch():
    logits, tgt_out = _padded_teacher_forcing_batch()
    weights = (tgt_out != PAD).astype("float32")
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    ours = SmoothedSparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.0)
    for kwargs in ({}, {"sample_weight": weights}):
        assert float(ours(tgt_out, logits, **kwargs)) == pytest.approx(
            float(keras_loss(tgt_out, logits, **kwargs)), rel=1e-6, abs=1e-7
        )
    keras_sum = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    ours_sum = SmoothedSparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    assert float(ours_sum(tgt_out, logits)) == pytest.approx(float(keras_sum(tgt_out, logits)), rel=1e-6)


def test_smoothed_loss_ignores_padding_through_the_mask():
    logits, tgt_out = _padded_teacher_forcing_batch()
    real = tgt_out != PAD
    per_token = _smoothed_ce_numpy(tgt_out, keras.ops.convert_to_numpy(logits), 0.1)
    expected = per_token[real].mean()  # mean over the 11 real target tokens only
    loss = SmoothedSparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    assert float(loss(tgt_out, logits)) == pytest.approx(expected, rel=1e-5)
    junk = np.where(real, tgt_out, 4)  # whatever sits in the padded positions does not matter ...
    assert float(loss(junk, logits)) == pytest.approx(float(loss(tgt_out, logits)), rel=1e-6)
    bare = keras.ops.convert_to_numpy(logits)  # ... while without the mask every position counts
    unmasked = _smoothed_ce_numpy(junk, bare, 0.1).mean()
    assert float(loss(junk, bare)) == pytest.approx(unmasked, rel=1e-5)
    assert unmasked < 0.8 * expected  # the padded positions, predicted well, would pull the mean down


def test_smoothed_loss_config_and_bad_values():
    loss = SmoothedSparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1, name="ls")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(clone, SmoothedSparseCategoricalCrossentropy)
    assert (
        clone.get_config()
        == loss.get_config()
        == {"name": "ls", "reduction": "sum_over_batch_size", "from_logits": True, "label_smoothing": 0.1}
    )
    for bad in (1.0, -0.1, 1.5, True, "0.1"):
        with pytest.raises(
            ValueError, match=rf"label_smoothing must be a float in \[0, 1\), received {bad!r}"
        ):
            SmoothedSparseCategoricalCrossentropy(label_smoothing=bad)


def test_word_dropout_zeroes_whole_tokens_in_training_and_is_identity_at_inference():
    keras.utils.set_random_seed(0)
    parts = build_seq2seq(11, 13, cell="lstm", units=8, embed_dim=6, attention="luong", word_dropout=0.5)
    names = [layer.name for layer in parts.model.layers]
    assert "source_word_dropout" in names and "target_word_dropout" in names
    assert "source_word_dropout" in [layer.name for layer in parts.encoder.layers]
    rng = np.random.default_rng(0)
    src = rng.integers(4, 11, size=(16, 12)).astype("int32")
    src[0, 7:] = PAD
    embedded = parts.model.get_layer("source_embedding")(src)
    mask = parts.model.get_layer("source_embedding").compute_mask(src)
    drop = parts.model.get_layer("source_word_dropout")
    e = keras.ops.convert_to_numpy(embedded)
    out = keras.ops.convert_to_numpy(drop(embedded, training=True))
    dropped = np.all(out == 0.0, axis=-1)
    np.testing.assert_allclose(
        out[~dropped], 2.0 * e[~dropped], rtol=1e-6
    )  # kept tokens: whole vector, scaled by 1 / (1 - 0.5)
    assert 0.3 < dropped.mean() < 0.7  # about half of the tokens go, each one entirely
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(drop(embedded, training=False)), e)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(drop.compute_mask(embedded, mask)), src != PAD
    )  # the mask is untouched
    # whole model: random in training, deterministic at inference and equal to the one-step decoder
    tgt_in = np.concatenate([np.full((16, 1), BOS), rng.integers(4, 13, size=(16, 3))], axis=1).astype(
        "int32"
    )
    infer = np.asarray(parts.model([src, tgt_in], training=False))
    np.testing.assert_array_equal(np.asarray(parts.model([src, tgt_in], training=False)), infer)
    assert not np.allclose(np.asarray(parts.model([src, tgt_in], training=True)), infer)
    enc_out, *states = parts.encoder.predict_on_batch(src)
    for t in range(tgt_in.shape[1]):
        logits, *states = parts.decoder_step.predict_on_batch([tgt_in[:, t : t + 1], *states, enc_out, src])
        np.testing.assert_allclose(logits, infer[:, t], atol=1e-5)
    for bad in (1.0, -0.2, True):
        with pytest.raises(ValueError, match=rf"word_dropout must be a float in \[0, 1\), received {bad!r}"):
            build_seq2seq(10, 10, word_dropout=bad)
    plain = build_seq2seq(11, 13, cell="lstm", units=8, embed_dim=6)
    assert not any(
        "word_dropout" in layer.name for layer in plain.model.layers
    )  # off by default: the model is unchanged


# ---------------------------------------------------------------------------
# Decoding with a hand-made model whose probabilities are known
# ---------------------------------------------------------------------------
A, B = 4, 5
_NEXT = {  # next-token probabilities given the last token
    BOS: {A: 0.6, B: 0.4},
    A: {EOS: 0.4, A: 0.3, B: 0.3},
    B: {EOS: 0.9, A: 0.05, B: 0.05},
}


class _FakeEncoder:
    def predict_on_batch(self, src):
        return [np.zeros((len(src), 1, 1), "float32"), np.zeros((len(src), 1), "float32")]


class _FakeStep:
    def predict_on_batch(self, inputs):
        tokens, state = inputs[0][:, 0], inputs[1]
        logits = np.full((len(tokens), 6), -30.0)
        for i, tok in enumerate(tokens):
            for nxt, p in _NEXT.get(int(tok), {EOS: 1.0}).items():
                logits[i, nxt] = np.log(p)
        return [logits, state]


def test_greedy_and_beam_search_on_known_probabilities():
    src = np.ones((2, 3), "int32")
    greedy = greedy_decode(_FakeEncoder(), _FakeStep(), src, max_length=5, attention=False)
    assert greedy == [[A], [A]]  # A (0.6) then </s> (0.4): p = 0.24
    beam = beam_search(
        _FakeEncoder(), _FakeStep(), src, max_length=5, beam_width=2, length_penalty=0.0, attention=False
    )
    assert beam == [[B], [B]]  # B (0.4) then </s> (0.9): p = 0.36 beats the greedy path
    assert (
        beam_search(
            _FakeEncoder(), _FakeStep(), src, max_length=5, beam_width=1, length_penalty=0.0, attention=False
        )
        == greedy
    )
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(_FakeEncoder(), _FakeStep(), src, max_length=5, beam_width=0)


def test_sample_decode_draws_from_the_truncated_distribution():
    src = np.ones((2, 3), "int32")
    drawn = sample_decode(
        _FakeEncoder(), _FakeStep(), src, max_length=5, num_samples=2000, epsilon=0.0, seed=0, attention=False
    )
    assert len(drawn) == 2 and all(len(d) == 2000 for d in drawn)
    for samples in drawn:
        first = np.array([s[0] for s in samples])
        assert abs(np.mean(first == A) - 0.6) < 0.04  # p(A | <s>) = 0.6
        after_b = [s for s in samples if s[0] == B]
        assert abs(np.mean([len(s) == 1 for s in after_b]) - 0.9) < 0.04  # p(</s> | B) = 0.9
        assert {t for s in samples for t in s} == {A, B}  # never a token the model gives ~e-30
    # epsilon 0.5 keeps only tokens at least that likely (and always the most likely): greedy
    greedy = greedy_decode(_FakeEncoder(), _FakeStep(), src, max_length=5, attention=False)
    truncated = sample_decode(
        _FakeEncoder(), _FakeStep(), src, max_length=5, num_samples=20, epsilon=0.5, seed=1, attention=False
    )
    assert all(s == greedy[0] for d in truncated for s in d)
    # seeded: the same seed draws the same translations
    again = sample_decode(
        _FakeEncoder(), _FakeStep(), src, max_length=5, num_samples=30, epsilon=0.0, seed=3, attention=False
    )
    assert again == sample_decode(
        _FakeEncoder(), _FakeStep(), src, max_length=5, num_samples=30, epsilon=0.0, seed=3, attention=False
    )
    for bad in (
        {"num_samples": 0},
        {"num_samples": True},
        {"num_samples": 2, "epsilon": 1.0},
        {"num_samples": 2, "epsilon": -0.1},
    ):
        with pytest.raises(ValueError):
            sample_decode(_FakeEncoder(), _FakeStep(), src, max_length=5, attention=False, **bad)


def test_mbr_select_picks_the_consensus_by_expected_chrf():
    refs = ["Das ist gut.", "Das ist gut.", "Das ist sehr gut.", "Es ist schlecht."]
    assert mbr_select(["Es ist schlecht.", "Das ist gut."], refs) == "Das ist gut."
    # the expected utility is the count-weighted sum of sentence chrF, computed by sacrebleu
    from sacrebleu.metrics import CHRF

    chrf = CHRF()
    cands = ["Das ist sehr gut.", "Das ist gut.", "Es ist gut."]
    expected = [sum(chrf.sentence_score(c, [r]).score for r in refs) for c in cands]
    assert mbr_select(cands, refs) == cands[int(np.argmax(expected))]
    assert mbr_select(["eins", "eins"], ["zwei"]) == "eins"  # a tie goes to the first
    assert mbr_select(["zwei", "eins"], ["eins", "zwei"]) == "zwei"
    for bad in (([], ["x"]), (["x"], [])):
        with pytest.raises(ValueError, match="mbr_select"):
            mbr_select(*bad)


def test_sentence_chrf_matrix_equals_sacrebleu_sentence_scores():
    from sacrebleu.metrics import CHRF

    texts = [
        "Das ist gut.",
        "Das ist sehr gut.",
        "Es ist schlecht.",
        "",
        "a",
        "Ihr ist übel.",
        "Ihr  ist übel !",
        "Straße, Größe; Mäßigung?",
        "gut gut gut gut",
        "Er hat 3 Äpfel und 12 Birnen gekauft.",
        "x" * 40,
    ]
    chrf = CHRF()
    expected = np.array([[chrf.sentence_score(h, [r]).score for r in texts] for h in texts])
    got = sentence_chrf_matrix(texts, texts)
    assert got.shape == (len(texts), len(texts))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert sentence_chrf_matrix(["Das ist gut."], ["Das ist gut."])[0, 0] == 100.0
    assert sentence_chrf_matrix([], ["x"]).shape == (0, 1)


def test_sentence_chrf_matrix_falls_back_to_sentence_score_without_sacrebleus_helpers(monkeypatch):
    import lstm_apps.metrics as metrics

    texts = ["Das ist gut.", "Es ist schlecht.", ""]
    fast = sentence_chrf_matrix(texts, texts[:2])
    from sacrebleu.metrics import CHRF

    calls = []
    original = CHRF.sentence_score
    monkeypatch.setattr(
        CHRF, "sentence_score", lambda self, h, refs: calls.append(h) or original(self, h, refs)
    )
    monkeypatch.setattr(metrics, "_has_chrf_helpers", lambda chrf: False)
    np.testing.assert_allclose(sentence_chrf_matrix(texts, texts[:2]), fast, rtol=0, atol=1e-9)
    assert len(calls) == 6  # one sentence_score per pair
    assert sentence_chrf_matrix([], ["x"]).shape == (0, 1)


class _CountingStep:
    """A model that wants four A's then </s> (p = 0.97 each); every step also offers junk endings."""

    def predict_on_batch(self, inputs):
        tokens, count = inputs[0][:, 0], inputs[1]
        logits = np.full((len(tokens), 7), -30.0)
        for i, (tok, n) in enumerate(zip(tokens, count[:, 0])):
            if tok in (BOS, A):
                probs = (
                    {A: 0.97, B: 0.01, 6: 0.01, EOS: 0.01}
                    if n < 4
                    else {EOS: 0.97, A: 0.01, B: 0.01, 6: 0.01}
                )
            else:
                probs = {EOS: 0.5, B: 0.25, 6: 0.25}
            for nxt, p in probs.items():
                logits[i, nxt] = np.log(p)
        return [logits, count + 1]


@pytest.mark.parametrize("beam_width", [1, 2, 4, 6])
@pytest.mark.parametrize("length_penalty", [0.0, 0.6])
def test_beam_search_is_not_stopped_by_junk_endings(beam_width, length_penalty):
    src = np.ones((3, 2), "int32")
    out = beam_search(
        _FakeEncoder(),
        _CountingStep(),
        src,
        max_length=8,
        beam_width=beam_width,
        length_penalty=length_penalty,
        attention=False,
    )
    assert out == [[A, A, A, A]] * 3


def test_translator_save_load_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    src_texts = ["one", "two", "twenty-one", "one hundred"]
    tgt_texts = ["eins", "zwei", "einundzwanzig", "einhundert"]
    st, tt = SubwordTokenizer.train(src_texts, 30), CharTokenizer.train(tgt_texts)
    parts = build_seq2seq(
        st.vocab_size,
        tt.vocab_size,
        cell="lstm1997",
        units=8,
        embed_dim=8,
        attention="luong",
        bidirectional_encoder=True,
    )
    translator = Translator(
        parts.encoder,
        parts.decoder_step,
        st,
        tt,
        attention="luong",
        max_length_ratio=1.0,
        max_length_offset=4,
    )
    before_greedy = translator.translate(src_texts)
    before_beam = translator.translate(src_texts, beam_width=3)
    assert isinstance(translator.translate("one"), str) and len(before_greedy) == 4
    translator.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {"encoder.keras", "decoder_step.keras", "translator.json"}
    loaded = Translator.load(tmp_path)
    assert loaded.translate(src_texts) == before_greedy
    assert loaded.translate(src_texts, beam_width=3) == before_beam
    with pytest.raises(ValueError, match="not a saved translator"):
        Translator.load(tmp_path / "empty")
    # the length penalty is a saved setting; a translator saved before it existed gets the old default
    translator.length_penalty = 1.5
    translator.save(tmp_path)
    assert Translator.load(tmp_path).length_penalty == 1.5
    assert Translator.load(tmp_path).translate(src_texts, beam_width=3) == translator.translate(
        src_texts, beam_width=3, length_penalty=1.5
    )
    meta = json.loads((tmp_path / "translator.json").read_text())
    del meta["length_penalty"]
    (tmp_path / "translator.json").write_text(json.dumps(meta))
    assert Translator.load(tmp_path).length_penalty == 0.6
    # minimum-Bayes-risk decoding: seeded, and always one of its candidates
    mbr = translator.translate(src_texts, beam_width=3, mbr_samples=5, seed=7)
    assert mbr == translator.translate(src_texts, beam_width=3, mbr_samples=5, seed=7)
    one = np.array([st.encode("twenty-one")])
    drawn = sample_decode(
        parts.encoder, parts.decoder_step, one, max_length=one.shape[1] + 4, num_samples=5, seed=7
    )  # the translator's max length
    candidates = {translator.translate("twenty-one", beam_width=3), *(tt.decode(d) for d in drawn[0])}
    assert translator.translate("twenty-one", beam_width=3, mbr_samples=5, seed=7) in candidates
    with pytest.raises(ValueError, match="mbr_samples"):
        translator.translate(src_texts, mbr_samples=-1)
    # reranking translations already made gives the same choice; 0 samples keeps them
    beam3 = translator.translate(src_texts, beam_width=3)
    assert translator.mbr_rerank(src_texts, beam3, 5, seed=7) == mbr
    assert translator.mbr_rerank(src_texts, beam3, 0) == beam3
    with pytest.raises(ValueError, match="one translation per sentence"):
        translator.mbr_rerank(src_texts, beam3[:2], 5)
    for bad in (-0.1, float("nan"), "1", True):
        with pytest.raises(ValueError, match="length_penalty"):
            Translator(parts.encoder, parts.decoder_step, st, tt, length_penalty=bad)
        with pytest.raises(ValueError, match="length_penalty"):
            translator.translate(src_texts, beam_width=2, length_penalty=bad)


def _members(st, tt, attention="luong"):
    """Three translators of different sizes and cells over the same vocabularies."""
    members = []
    for seed, options in (
        (0, {"units": 16}),
        (1, {"units": 8, "bidirectional_encoder": True, "lexical_model": attention != "none"}),
        (2, {"units": 12, "cell": "gru"}),
    ):
        keras.utils.set_random_seed(seed)
        parts = build_seq2seq(st.vocab_size, tt.vocab_size, embed_dim=8, attention=attention, **options)
        members.append(
            Translator(
                parts.encoder,
                parts.decoder_step,
                st,
                tt,
                attention=attention,
                max_length_ratio=1.0,
                max_length_offset=4,
            )
        )
    return members


@pytest.mark.parametrize("attention", ["luong", "none"])
def test_ensemble_averages_the_members_next_token_probabilities(tmp_path, attention):
    src_texts = ["one", "two", "twenty-one", "one hundred"]
    tgt_texts = ["eins", "zwei", "einundzwanzig", "einhundert"]
    st, tt = SubwordTokenizer.train(src_texts, 30), CharTokenizer.train(tgt_texts)
    members = _members(st, tt, attention)
    ensemble = Translator.ensemble(members)
    src = _pad([st.encode(t) for t in src_texts])
    outs = [m.encoder.predict_on_batch(src) for m in members]
    enc = ensemble.encoder.predict_on_batch(src)
    # the ensemble encoder: the members' encoder outputs side by side, then every member's states in order
    np.testing.assert_allclose(enc[0], np.concatenate([o[0] for o in outs], axis=-1), atol=1e-6)
    assert [e.shape for e in enc[1:]] == [s.shape for o in outs for s in o[1:]]
    tokens = np.array([[BOS], [5], [6], [BOS]], dtype="int32")
    extra = (lambda o: [o[0], src]) if attention != "none" else (lambda o: [])
    member_logits, member_states = [], []
    for m, o in zip(members, outs):
        logits, *states = m.decoder_step.predict_on_batch([tokens, *o[1:], *extra(o)])
        member_logits.append(logits)
        member_states += states
    log_probs, *states = ensemble.decoder_step.predict_on_batch([tokens, *enc[1:], *extra(enc)])
    probs = [np.exp(_log_softmax(x)) for x in member_logits]
    np.testing.assert_allclose(
        np.exp(log_probs), np.mean(probs, axis=0), atol=1e-5
    )  # the mean probability, by NumPy
    np.testing.assert_allclose(np.exp(log_probs).sum(axis=-1), 1.0, atol=1e-5)
    for got, want in zip(states, member_states):
        np.testing.assert_allclose(got, want, atol=1e-5)
    # decoding works unchanged; greedy decoding picks the argmax of the mean probability at every step
    greedy = ensemble.translate(src_texts)
    assert len(greedy) == 4 and isinstance(ensemble.translate("one", beam_width=3, mbr_samples=3), str)
    ensemble.save(tmp_path)
    loaded = Translator.load(tmp_path)
    assert loaded.translate(src_texts) == greedy
    assert loaded.translate(src_texts, beam_width=3) == ensemble.translate(src_texts, beam_width=3)
    # a one-member ensemble translates like its member
    assert Translator.ensemble(members[:1]).translate(src_texts, beam_width=3) == members[0].translate(
        src_texts, beam_width=3
    )


def test_ensemble_rejects_members_that_do_not_fit():
    st, tt = SubwordTokenizer.train(["one", "two"], 20), CharTokenizer.train(["eins", "zwei"])
    members = _members(st, tt)
    with pytest.raises(ValueError, match="at least one translator"):
        Translator.ensemble([])
    other = Translator(members[1].encoder, members[1].decoder_step, st, CharTokenizer.train(["drei"]))
    with pytest.raises(ValueError, match="member 1 has a different target tokenizer"):
        Translator.ensemble([members[0], other])
    plain = _members(st, tt, attention="none")
    with pytest.raises(ValueError, match="uses attention 'none', member 0 'luong'"):
        Translator.ensemble([members[0], plain[0]])
    with pytest.raises(ValueError, match="one decoder step per encoder"):
        ensemble_models([m.encoder for m in members], [members[0].decoder_step])
    with pytest.raises(ValueError, match="does not fit attention='none'"):
        ensemble_models([members[0].encoder], [members[0].decoder_step], attention="none")
    bigger = build_seq2seq(st.vocab_size, tt.vocab_size + 1, units=8, embed_dim=8)
    with pytest.raises(
        ValueError, match=r"share the target vocabulary, received vocabulary sizes \[\d+, \d+\]"
    ):
        ensemble_models([members[0].encoder, bigger.encoder], [members[0].decoder_step, bigger.decoder_step])
    with pytest.raises(ValueError, match="attention must be one of"):
        ensemble_models([members[0].encoder], [members[0].decoder_step], attention="dot")


def test_ensemble_layers_golden_values_and_config():
    a, b = (
        np.log([[0.5, 0.5]]),
        np.log([[0.9, 0.1]]) + 3.0,
    )  # logits: a constant shift does not change a softmax
    np.testing.assert_allclose(np.exp(np.asarray(EnsembleLogProbs()([a, b]))), [[0.7, 0.3]], atol=1e-6)
    with pytest.raises(ValueError, match="non-empty list"):
        EnsembleLogProbs()(a)
    x = np.arange(8.0).reshape(1, 2, 4)
    assert np.asarray(FeatureSlice(1, 3)(x)).tolist() == [[[1.0, 2.0], [5.0, 6.0]]]
    layer = FeatureSlice.from_config(FeatureSlice(2, 4, name="s").get_config())
    assert (layer.start, layer.stop, layer.name) == (2, 4, "s")
    for start, stop in ((2, 2), (-1, 3), (True, 3)):
        with pytest.raises(ValueError, match="0 <= start < stop"):
            FeatureSlice(start, stop)


class _PenaltyEcho:
    """A translator whose output depends only on the length penalty it is given."""

    def __init__(self, outputs):
        self.outputs, self.calls = outputs, []

    def translate(self, sources, beam_width=1, length_penalty=None):
        self.calls.append((beam_width, length_penalty))
        return [self.outputs[length_penalty]] * len(sources)


def test_choose_length_penalty_keeps_the_best_chrf_and_the_smallest_on_a_tie():
    refs = ["Das ist ein langer Satz."] * 3
    echo = _PenaltyEcho(
        {
            0.6: "Das ist",
            1.0: "Das ist ein langer",
            1.5: "Das ist ein langer Satz.",
            2.0: "Das ist ein langer Satz.",
        }
    )
    best, scores = choose_length_penalty(echo, ["x"] * 3, refs, beam_width=4)
    assert best == 1.5 and set(scores) == {0.6, 1.0, 1.5, 2.0}
    assert scores[0.6] < scores[1.0] < scores[1.5] == scores[2.0] == pytest.approx(100.0)
    assert sorted(echo.calls) == [(4, 0.6), (4, 1.0), (4, 1.5), (4, 2.0)]
    best, scores = choose_length_penalty(echo, ["x"] * 3, refs, beam_width=2, candidates=[1.0, 0.6, 1.0])
    assert best == 1.0 and list(scores) == [0.6, 1.0]
    for bad in ([], [-1.0]):
        with pytest.raises(ValueError):
            choose_length_penalty(echo, ["x"], refs[:1], beam_width=2, candidates=bad)


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------
def test_sacrebleu_metrics():
    import sacrebleu

    hyps = ["Der Jemen ist ein Land.", "Wie heißt der Ort?"]
    refs = ["Der Jemen ist ein Land mit Ethnien.", "Wie heißt dieser Ort?"]
    bleu, bleu_sig = corpus_bleu(hyps, refs)
    chrf, chrf_sig = corpus_chrf(hyps, refs)
    assert bleu == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert chrf == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert 0 < bleu < 100 and 0 < chrf < 100
    assert "tok:13a" in bleu_sig and "nc:6" in chrf_sig
    assert corpus_chrf(refs, refs)[0] == pytest.approx(100.0)
    assert exact_match(["a", "b ", "c"], ["a", "b", "d"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="equally many"):
        corpus_bleu(["a"], ["a", "b"])
