"""The Ding dictionary reader, its Debian download (network faked) and extra-pairs loading."""

from __future__ import annotations

import io
import tarfile

import keras
import pytest

from lstm_apps.datasets import dictionary as dc

# Lines in the real file's shape (taken from the format of trans-de-en 1.9).
DING = """\
# Version :: 1.9 2022-01-01
# Copyright (c) :: Frank Richter
Aal {m} [zool.] | Aale {pl} :: eel | eels
Herzinfarkt {m}; Myokardinfarkt {m} [med.] | Herzinfarkte {pl} :: heart attack [coll.]; myocardial infarction /MI/ | heart attacks
Jemen {m} (Kfz: /YE/) | Der Jemen ist ein Land mit verschiedensten Ethnien. :: Yemen | Yemen is a country with diverse ethnicities.
Stängel {m} | Ich bin fast vom Stängel (Stengel [alt]) gefallen. :: stalk | I nearly fell off my chair.
Hier, bitte! :: Here you are!
hier; da :: here; there; over here
Wissenschaft {f} | Wissenschaften {pl} :: science
Aal {m} [zool.] :: eel <eal>
"""  # noqa: E501 (real dictionary lines, kept whole)


@pytest.fixture()
def ding_file(tmp_path):
    path = tmp_path / "de-en"
    path.write_text(DING, encoding="utf-8")
    return path


def test_read_ding_pairs_sub_entries_and_synonyms(ding_file):
    en, de = dc.read_ding(ding_file)
    pairs = list(zip(en, de))
    # sub-entries pair in order; annotations ({m}, [med.], (glosses), /abbrev/, <variants>) are removed
    assert pairs[:5] == [
        ("eel", "Aal"),
        ("eels", "Aale"),
        ("heart attack", "Herzinfarkt"),
        ("myocardial infarction", "Myokardinfarkt"),
        ("heart attacks", "Herzinfarkte"),
    ]
    assert (
        "Yemen is a country with diverse ethnicities.",
        "Der Jemen ist ein Land mit verschiedensten Ethnien.",
    ) in pairs
    assert (
        "I nearly fell off my chair.",
        "Ich bin fast vom Stängel gefallen.",
    ) in pairs  # nested brackets go too
    # i-th synonym with i-th; the side with fewer repeats its first
    assert [p for p in pairs if p[1] in ("hier", "da")] == [
        ("here", "hier"),
        ("there", "da"),
        ("over here", "hier"),
    ]
    assert not any("Wissenschaft" in d for d in de)  # 2 German sub-entries, 1 English: misaligned, skipped
    assert pairs.count(("eel", "Aal")) == 1  # duplicates kept once
    assert not any(ch in s for s in en + de for ch in "{}[]()<>/")


def test_read_ding_excludes_whole_lines_of_held_out_sentences(ding_file):
    en, de = dc.read_ding(
        ding_file,
        exclude=[
            "Der Jemen ist ein Land mit verschiedensten Ethnien.",  # exact
            "Ich bin fast vom Stängel (Stengel) gefallen.",  # as the shared file writes it: [alt] removed
            "here you are",  # case and punctuation do not matter
        ],
    )
    assert "Yemen" not in en and "Jemen" not in de  # the headword of the sentence's line goes with it
    assert "stalk" not in en and "I nearly fell off my chair." not in en
    assert "Here you are!" not in en
    assert ("eel", "Aal") in zip(en, de)
    en_short, de_short = dc.read_ding(ding_file, max_words=2)
    assert max(len(s.split()) for s in en_short + de_short) <= 2 and "here" in en_short


def test_read_ding_errors(tmp_path, ding_file):
    with pytest.raises(ValueError, match="does not exist"):
        dc.read_ding(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.write_text("Aal {m} :: eel\nno separator here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad:2: expected a 'German :: English'"):
        dc.read_ding(bad)
    with pytest.raises(ValueError, match="holds no pairs"):
        dc.read_ding(
            ding_file,
            exclude=[
                line.split("::")[1].split("|")[0]
                for line in DING.splitlines()
                if "::" in line and not line.startswith("#")
            ],
        )
    with pytest.raises(ValueError, match="max_words"):
        dc.read_ding(ding_file, max_words=0)
    with pytest.raises(ValueError, match=r"min_words must be a positive integer or None, received 2\.5"):
        dc.read_ding(ding_file, min_words=2.5)
    with pytest.raises(ValueError, match=r"min_words \(3\) must not exceed max_words \(2\)"):
        dc.read_ding(ding_file, min_words=3, max_words=2)


def test_read_ding_keeps_phrases_or_sentences_on_request(ding_file):
    with open(ding_file, "a", encoding="utf-8") as fh:
        fh.write("jdm. gute Nacht sagen :: to say good night to sb.\n")
    sentences = [
        (
            "Yemen is a country with diverse ethnicities.",
            "Der Jemen ist ein Land mit verschiedensten Ethnien.",
        ),
        ("I nearly fell off my chair.", "Ich bin fast vom Stängel gefallen."),
        ("Here you are!", "Hier, bitte!"),
    ]
    phrase = (
        "to say good night to sb.",
        "jdm. gute Nacht sagen",
    )  # ends in an abbreviation's '.' on one side only
    assert list(zip(*dc.read_ding(ding_file, min_words=2))) == sentences + [phrase]
    assert list(zip(*dc.read_ding(ding_file, min_words=3))) == sentences[:2] + [phrase]
    assert list(zip(*dc.read_ding(ding_file, sentences_only=True))) == sentences
    assert list(zip(*dc.read_ding(ding_file, sentences_only=True, max_words=3))) == sentences[2:]


def _deb(path, member_text: str, compression: str = "xz", member: str = "./usr/share/trans/de-en"):
    """A minimal Debian package: ar archive of debian-binary, control.tar.xz, data.tar.<compression>."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode=f"w:{compression}") as tar:
        blob = member_text.encode("utf-8")
        info = tarfile.TarInfo(member)
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    members = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", b"x" * 7),
        (f"data.tar.{compression}", data.getvalue()),
    ]
    with open(path, "wb") as fh:
        fh.write(b"!<arch>\n")
        for name, body in members:
            fh.write(f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode("ascii"))
            fh.write(body + (b"\n" if len(body) % 2 else b""))
    return path


@pytest.mark.parametrize("compression", ["xz", "gz"])
def test_download_ding_fetches_checks_and_unpacks_once(tmp_path, monkeypatch, compression):
    calls = []
    deb = _deb(tmp_path / "trans-de-en_1.9-6_all.deb", DING, compression)

    def fake_get_file(fname, origin, file_hash=None, cache_dir=None, cache_subdir="datasets", **kw):
        calls.append((fname, origin, file_hash, cache_subdir))
        return str(deb)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    path = dc.download_ding(cache_dir=tmp_path / "cache")
    assert path.read_text(encoding="utf-8") == DING and path.parent == deb.parent
    assert calls == [("trans-de-en_1.9-6_all.deb", dc.DING_URL, dc.DING_SHA256, "lstm_apps")]
    assert (tmp_path / "cache").is_dir()  # created, so Keras does not fall back to /tmp/.keras
    deb.write_bytes(b"!<arch>\n")  # a second call reuses the unpacked file
    assert dc.download_ding() == path
    en, de = dc.read_ding("ding")
    assert ("eel", "Aal") in zip(en, de)
    assert [p.name for p in deb.parent.iterdir() if p.name.startswith(".unpacking")] == []


def test_download_ding_offline_and_bad_packages(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise Exception(
            "URL fetch failure on http://deb.debian.org/...: None -- [Errno -3] Temporary failure in name "
            "resolution"
        )

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(
        ValueError, match="Could not download the Ding dictionary.*apt-get download trans-de-en"
    ):
        dc.download_ding()
    not_deb = tmp_path / "a" / "trans-de-en_1.9-6_all.deb"
    not_deb.parent.mkdir()
    not_deb.write_bytes(b"<html>not found</html>")
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: str(not_deb))
    with pytest.raises(ValueError, match="not a Debian package"):
        dc.download_ding()
    not_deb.write_bytes(b"!<arch>\n" + b"debian-binary   " + b"x" * 44)  # a size field that is no number
    with pytest.raises(ValueError, match="malformed ar member header"):
        dc.download_ding()
    wrong = _deb(tmp_path / "trans-de-en_1.9-6_all.deb", DING, member="./usr/share/doc/README")
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: str(wrong))
    with pytest.raises(ValueError, match="holds no 'usr/share/trans/de-en'"):
        dc.download_ding()


def test_load_extra_pairs_reads_both_formats_and_drops_held_out(tmp_path, ding_file):
    tsv = tmp_path / "extra.tsv"
    tsv.write_text(
        "Good morning.\tGuten Morgen.\nHere you are!\tBitte schön!\nThank you.\tDanke.\tCC-BY\n",
        encoding="utf-8",
    )
    assert dc.load_extra_pairs(tsv) == (
        ["Good morning.", "Here you are!", "Thank you."],
        ["Guten Morgen.", "Bitte schön!", "Danke."],
    )
    # a held-out source or target, compared ignoring case and punctuation, drops the pair
    assert dc.load_extra_pairs(tsv, exclude=["here you are", "Danke"]) == (
        ["Good morning."],
        ["Guten Morgen."],
    )
    assert dc.load_extra_pairs(tsv, max_words=2) == (
        ["Good morning.", "Thank you."],
        ["Guten Morgen.", "Danke."],
    )
    assert dc.load_extra_pairs(ding_file) == dc.read_ding(
        ding_file
    )  # the Ding format is recognised by its '::'
    with pytest.raises(ValueError, match="holds no pairs"):
        dc.load_extra_pairs(tsv, exclude=["Good morning.", "Here you are!", "Thank you."])
    with pytest.raises(ValueError, match="max_words"):
        dc.load_extra_pairs(tsv, max_words=-1)
    quoted = tmp_path / "quoted.tsv"
    quoted.write_text('He said "No."\tEr sagte: „Nein.“\nsay no\tnein sagen\nNo!\tNein!\n', encoding="utf-8")
    assert dc.load_extra_pairs(quoted, sentences_only=True) == (
        ['He said "No."', "No!"],
        ["Er sagte: „Nein.“", "Nein!"],
    )
    assert dc.load_extra_pairs(quoted, min_words=2) == (
        ['He said "No."', "say no"],
        ["Er sagte: „Nein.“", "nein sagen"],
    )
    with pytest.raises(ValueError, match="holds no pairs.*filters"):
        dc.load_extra_pairs(quoted, min_words=5)


def test_load_extra_pairs_drops_pairs_already_trained_on(tmp_path, ding_file):
    tsv = tmp_path / "extra.tsv"
    tsv.write_text(
        "Good morning.\tGuten Morgen.\nGood morning.\tMoin!\nThank you.\tDanke.\n", encoding="utf-8"
    )
    # both sides must match (ignoring case, punctuation and annotations): another translation stays
    known = [("good morning", "Guten  Morgen!"), ("Thanks.", "Danke.")]
    assert dc.load_extra_pairs(tsv, known=known) == (["Good morning.", "Thank you."], ["Moin!", "Danke."])
    en, de = dc.load_extra_pairs(
        ding_file,
        known=[("I nearly fell off my chair.", "Ich bin fast vom Stängel (Stengel [alt]) gefallen.")],
    )
    assert "I nearly fell off my chair." not in en and ("eel", "Aal") in zip(en, de)
    with pytest.raises(ValueError, match="already among the 3 known training pairs"):
        dc.load_extra_pairs(
            tsv,
            known=[("Good morning.", "Guten Morgen."), ("Good morning.", "Moin!"), ("Thank you.", "Danke.")],
        )
