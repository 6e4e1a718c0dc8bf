"""The bad-input sweep of the dataset loaders: nothing dropped or mangled silently.

Each case is a small bad file (under ``tests/data/bad/``, or written to
``tmp_path`` when it must hold bytes that are not UTF-8), the loader call,
and what must happen: the value read exactly, or a ``ValueError`` (or a
warning) whose message names the file, the line or column, the bad value and
what was expected. Every case was silent or unclear before the loaders were
hardened (issue "Nothing silently wrong, nothing lost").
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_apps.datasets import dictionary, forgetting, genome, prices, sentiment, translation, word_vectors

BAD = Path(__file__).parent / "data" / "bad"


def _refused(call, *parts):
    """Run ``call``; it must raise a ValueError whose message holds every one of ``parts``."""
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    for part in parts:
        assert part in message, f"{part!r} is not in the message {message!r}"
    return message


# -- prices -------------------------------------------------------------------


def test_thousands_separators_are_read_not_dropped():
    path = BAD / "prices_thousands.csv"  # three rows write "1,008.68" (quoted, as CSV needs)
    series = prices.read_price_csv(path)
    assert len(series) == 40  # every row, none lost
    assert series.loc["2015-01-12"] == pytest.approx(1008.68)
    returns = prices.load_returns(csv=path)
    assert len(returns) == 39 and returns.abs().max() < 5.0  # no return spans a gap


def test_currency_signs_are_read():
    series = prices.read_price_csv(BAD / "prices_currency.csv")  # "$1,008.68", "$991.25"
    assert len(series) == 40
    assert series.loc["2015-01-12"] == pytest.approx(1008.68)
    assert series.iloc[0] == pytest.approx(991.25)


@pytest.mark.parametrize(
    "name, parts",
    [
        ("prices_decimal_comma.csv", [":19:", "'Close'", "'940,61'", "expected a number like 1004.50"]),
        ("prices_word.csv", [":25:", "'Close'", "'n.a.'", "expected a number"]),
        ("prices_bad_date.csv", [":32:", "'Date'", "'2015-02-30'", "expected a date"]),
        ("prices_short_row.csv", [":10:", "1 fields", "'2015-01-14'", "expected 2"]),
        (
            "prices_unquoted_thousands.csv",
            [":10:", "3 fields", "'011.13'", "expected 2", "thousands separator", "must be quoted"],
        ),
        ("prices_empty.csv", ["is empty", "expected a header line naming a date and a price column"]),
    ],
)
def test_unreadable_price_rows_are_refused_by_name(name, parts):
    _refused(lambda: prices.read_price_csv(BAD / name), name, *parts)


def test_price_typo_x100_is_warned_about_with_date_and_return():
    path = BAD / "prices_typo_x100.csv"  # 954.39, then 95316.11 (typed x100), then 966.28
    with pytest.warns(UserWarning) as caught:
        returns = prices.load_returns(csv=path)
    message = " ".join(str(w.message) for w in caught)
    for part in ("prices_typo_x100.csv", "2015-01-30", "+9,887.1 %", "2015-02-02", "-99.0 %", "expected"):
        assert part in message, f"{part!r} is not in the warning {message!r}"
    assert returns.max() > 9000  # warned about, not altered
    _refused(lambda: prices.load_returns(csv=path, outliers="error"), "2015-01-30", "+9,887.1 %")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(prices.load_returns(csv=path, outliers="accept")) == 39


# -- word vectors ---------------------------------------------------------------


def test_word_vector_line_with_a_value_too_many_is_refused():
    _refused(
        lambda: word_vectors.load_word_vectors(BAD / "vectors_extra_value.txt"),
        "vectors_extra_value.txt:2",
        "'cat' has 4 values",
        "expected 3",
    )


def test_word_vectors_must_match_the_word2vec_header():
    _refused(
        lambda: word_vectors.load_word_vectors(BAD / "vectors_header_dim.txt"),
        "vectors_header_dim.txt:2",
        "'the' has 4 values",
        "expected 3",
        "header",
    )


def test_wink_json_entry_without_its_values_is_refused():
    _refused(
        lambda: word_vectors.load_word_vectors(BAD / "vectors_short_entry.json"),
        "vectors_short_entry.json",
        "entry 1",
        "'cat' holds 4 values",
        "expected 3",
    )


def test_word_vectors_not_utf8_name_line_and_bytes(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_bytes(b"the 0.1 0.2\ncaf\xe9 0.3 0.4\n")  # Latin-1
    _refused(lambda: word_vectors.load_word_vectors(path), "vectors.txt:2:4", r"b'\xe9'", "UTF-8")


# -- sentiment ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, parts",
    [
        ("sentiment_empty.csv", ["is empty", "expected a header line naming a 'text' and a 'label' column"]),
        ("sentiment_ragged.csv", [":3:", "3 fields", "' a lot'", "expected 2"]),
        ("sentiment_short_row.csv", [":3:", "1 fields", "'dull and long'", "expected 2"]),
    ],
)
def test_empty_and_ragged_sentiment_csv_are_refused_by_name(name, parts):
    _refused(lambda: sentiment.load_csv(BAD / name), name, *parts)


def test_sentiment_csv_not_utf8_names_line_and_bytes(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes("text,label\ngood,1\nun film très ennuyeux,0\n".encode("latin-1"))
    _refused(lambda: sentiment.load_csv(path), "reviews.csv:3:11", r"b'\xe8'", "UTF-8")


def test_review_folder_not_utf8_is_refused_not_replaced(tmp_path):
    for label in ("neg", "pos"):
        (tmp_path / label).mkdir()
    (tmp_path / "pos" / "1.txt").write_text("loved it", encoding="utf-8")
    (tmp_path / "neg" / "2.txt").write_bytes("dull\nun film très ennuyeux".encode("latin-1"))
    _refused(lambda: sentiment.load_folder(tmp_path), "2.txt:2:11", r"b'\xe8'", "UTF-8")


def test_lexicon_not_utf8_names_line_and_bytes(tmp_path):
    path = tmp_path / "lexicon.txt"
    path.write_bytes("good\t1.9\nmauvais\t-1.5\ntrès\t0.5\n".encode("latin-1"))
    _refused(lambda: sentiment.load_lexicon(path), "lexicon.txt:3:3", r"b'\xe8'", "UTF-8")


def test_unlabeled_text_keeps_every_line_or_refuses(tmp_path):
    name = "unlabeled_missing_column.tsv"
    _refused(
        lambda: sentiment.load_unlabeled(BAD / name, column=1),
        f"{name}:2",
        "'no tab on this line'",
        "expected at least 2",
    )
    path = tmp_path / "lines.txt"
    path.write_bytes("first line\nsecond l\xefne\n".encode("latin-1"))
    _refused(lambda: sentiment.load_unlabeled(path), "lines.txt:2:9", r"b'\xef'", "UTF-8")


# -- translation pairs and dictionary -----------------------------------------------


def test_pairs_file_not_utf8_names_line_and_bytes(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes("Hello.\tBonjour.\nThank you.\tMerci.\nThe summer.\tL'été.\n".encode("latin-1"))
    _refused(lambda: translation.load_pairs(path), "pairs.tsv:3:15", r"b'\xe9'", "UTF-8")


def test_dictionary_not_utf8_names_line_and_bytes(tmp_path):
    path = tmp_path / "de-en.txt"
    path.write_bytes("# Ding\nHaus {n} :: house\nStraße {f} :: street\n".encode("latin-1"))
    _refused(lambda: dictionary.read_ding(path), "de-en.txt:3:5", r"b'\xdf'", "UTF-8")


# -- forgetting-curve review logs ---------------------------------------------------


def test_unix_second_timestamps_are_not_read_as_days():
    log = forgetting.load_review_log(BAD / "reviews_unix_seconds.csv")  # auto: epoch seconds
    assert log.review_time.max() == pytest.approx(9.0833, abs=1e-3)  # 9 days 2 hours, not 784,800 days
    _refused(
        lambda: forgetting.load_review_log(BAD / "reviews_unix_seconds.csv", time_unit="days"),
        "reviews_unix_seconds.csv",
        "column 'timestamp'",
        "784,800 days",
        "expected at most 36,525 days",
        "time_unit='seconds'",
    )


def test_relative_seconds_read_as_days_name_column_and_likely_unit():
    _refused(
        lambda: forgetting.load_review_log(BAD / "reviews_relative_seconds.csv"),
        "reviews_relative_seconds.csv",
        "column 'time'",
        "2,149 years",
        "expected at most",
        "more likely in seconds",
    )


@pytest.mark.parametrize(
    "name, parts",
    [
        ("reviews_empty.csv", ["is empty", "expected a header line naming a card id"]),
        (
            "reviews_missing_time.csv",
            [":4:", "column 'review_time' is empty", "expected a value on every row"],
        ),
        ("reviews_ragged.csv", [":3:", "4 fields", "'extra'", "expected 3"]),
        ("reviews_year_typo.csv", ["column 'review_date'", "'2204-01-02' (line 4)", "expected at most"]),
    ],
)
def test_bad_review_logs_are_refused_by_name(name, parts):
    _refused(lambda: forgetting.load_review_log(BAD / name), name, *parts)


def test_review_log_bad_rating_names_the_line(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("card_id,review_time,rating\n1,0,3\n1,2,good\n")
    _refused(
        lambda: forgetting.load_review_log(path), "log.csv:3", "'rating'", "'good'", "must be 1, 2, 3 or 4"
    )


def test_forgetting_table_with_a_word_for_a_number_is_refused():
    _refused(
        lambda: forgetting.load_ebbinghaus(BAD / "ebbinghaus_bad_value.csv"),
        "ebbinghaus_bad_value.csv:4",
        "'delay_minutes'",
        "'sixty'",
        "expected a number",
    )


# -- genomes --------------------------------------------------------------------------


def test_fasta_with_a_non_ascii_base_names_line_and_bytes(tmp_path):
    path = tmp_path / "seq.fa"
    path.write_bytes(b">seq1 caf\xc3\xa9\nACGTACGT\nACG\xe9TTA\n")
    _refused(lambda: genome.read_genome(path), "seq.fa:3:4", r"b'\xe9'", "expected a DNA sequence")
    path.write_bytes(b">seq1 caf\xc3\xa9\nACGTACGT\n")  # UTF-8 in a header is kept as written
    assert genome.read_genome(path).records[0].description == "seq1 café"


# -- what still loads ----------------------------------------------------------------


def test_good_files_still_load(tmp_path):
    """Quoted commas, CRLF line ends, a byte-order mark and 'null' prices are read as before."""
    reviews = tmp_path / "reviews.csv"
    reviews.write_bytes('\ufefftext,label\r\n"great, really",pos\r\n\r\nawful,neg\r\n'.encode())
    data = sentiment.load_csv(reviews)
    assert data.texts == ["great, really", "awful"] and data.labels.tolist() == [1, 0]
    dates = pd.bdate_range("2020-01-01", periods=35).strftime("%Y-%m-%d")
    rows = [f"{d},{'null' if i == 5 else 100 + i}" for i, d in enumerate(dates)]
    path = tmp_path / "p.csv"
    path.write_text("Date,Adj Close\n" + "\n".join(rows) + "\n")
    series = prices.read_price_csv(path)
    assert len(series) == 34 and np.isfinite(series).all()  # the missing price is dropped, as documented
    vectors = tmp_path / "v.json"
    vectors.write_text(json.dumps({"dimensions": 2, "words": ["a"], "vectors": {"a": [1, 2, 2.2, 0]}}))
    assert word_vectors.load_word_vectors(vectors).vectors.tolist() == [[1.0, 2.0]]
