"""Tests for lstm_apps.datasets.genome: reading, encoding, errors, windows."""

import gzip

import numpy as np
import pytest
from Bio.Seq import Seq
from Bio.SeqFeature import CompoundLocation, FeatureLocation, SeqFeature
from Bio.SeqIO import write as seqio_write
from Bio.SeqRecord import SeqRecord

from lstm_apps.datasets.genome import (
    MASK,
    decode,
    default_genome_path,
    encode,
    load_genome_split,
    read_genome,
    reverse_complement,
    split_fraction,
    window_dataset,
)


def _fasta(tmp_path, text, name="x.fasta", gz=False):
    path = tmp_path / (name + (".gz" if gz else ""))
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


# -- encoding ---------------------------------------------------------------


def test_encode_bases_case_rna_and_ambiguity_codes():
    assert encode("ACGT").tolist() == [0, 1, 2, 3]
    assert encode("acgtu").tolist() == [0, 1, 2, 3, 3]
    # N and every IUPAC ambiguity code become the mask token
    assert encode("NRYSWKMBDHVn").tolist() == [MASK] * 12
    assert encode("ACGT").dtype == np.int8


@pytest.mark.parametrize("bad", ["ACG-T", "ACGT1", "AC GT", "ACG.T"])
def test_encode_rejects_other_characters(bad):
    with pytest.raises(ValueError, match="expected a DNA sequence"):
        encode(bad)


def test_encode_names_protein():
    with pytest.raises(ValueError, match="protein"):
        encode("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ")


def test_decode_and_reverse_complement():
    codes = encode("AACGTN")
    assert decode(codes) == "AACGTN"
    assert decode(reverse_complement(codes)) == "NACGTT"
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 500).astype(np.int8)
    np.testing.assert_array_equal(reverse_complement(reverse_complement(x)), x)
    with pytest.raises(ValueError, match="0..4"):
        reverse_complement(np.array([0, 7]))


# -- reading ----------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_read_fasta_plain_and_gzip_multirecord(tmp_path, gz):
    path = _fasta(tmp_path, ">a first\nACGTAC\nGT\n>b second\nttnna\n", gz=gz)
    g = read_genome(path)
    assert g.format == "fasta"
    assert [r.id for r in g.records] == ["a", "b"]
    assert decode(g.records[0].codes) == "ACGTACGT"
    # records joined with one mask token; offsets point at each record
    assert decode(g.codes) == "ACGTACGT" + "N" + "TTNNA"
    assert g.offsets.tolist() == [0, 9]
    assert g.n_ambiguous == 2
    segs = g.segments()
    assert [decode(s) for s in segs] == ["ACGTACGT", "TT", "A"]
    assert [decode(s) for s in g.segments(min_length=3)] == ["ACGTACGT"]


def test_read_genbank_features(tmp_path):
    seq = "ATG" + "GCA" * 20 + "TAA" + "C" * 30 + "TTA" + "GGC" * 10 + "CAT" + "A" * 11
    rec = SeqRecord(Seq(seq), id="toy1", name="toy1", description="toy record")
    rec.annotations["molecule_type"] = "DNA"
    rec.features = [
        SeqFeature(FeatureLocation(0, 66, strand=1), type="CDS", qualifiers={"gene": ["geneA"]}),
        SeqFeature(FeatureLocation(96, 132, strand=-1), type="CDS", qualifiers={"gene": ["geneB"]}),
        SeqFeature(
            CompoundLocation([FeatureLocation(134, 137, strand=1), FeatureLocation(138, 141, strand=1)]),
            type="CDS",
        ),
    ]
    path = tmp_path / "toy.gb"
    seqio_write(rec, path, "genbank")
    g = read_genome(path)
    assert g.format == "genbank" and len(g) == len(seq)
    assert [f.name for f in g.features] == ["geneA", "geneB", ""]
    mask = g.feature_mask(("CDS",))
    assert mask[:66].all() and not mask[66:96].any() and mask[96:132].all()
    assert mask[134:137].all() and not mask[137] and mask[138:141].all() and not mask[141:].any()
    starts, stops = g.feature_ends(("CDS",))
    # + strand starts at its first base, - strand at its last
    assert starts.tolist() == [0, 131, 134]
    assert stops.tolist() == [65, 96, 140]


def test_empty_file(tmp_path):
    path = tmp_path / "empty.fasta"
    path.write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_genome(path)


def test_fasta_without_bases(tmp_path):
    path = _fasta(tmp_path, ">only a header\n")
    with pytest.raises(ValueError, match="no bases"):
        read_genome(path)


def test_protein_fasta(tmp_path):
    path = _fasta(tmp_path, ">sp|P69905|HBA_HUMAN\nMVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHF\n")
    with pytest.raises(ValueError, match="protein"):
        read_genome(path)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(b">x\n" + b"ACGT" * 5000)
    path = tmp_path / "cut.fasta.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        read_genome(path)


def test_not_a_sequence_file_and_missing(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello world\n")
    with pytest.raises(ValueError, match="neither FASTA"):
        read_genome(path)
    with pytest.raises(ValueError, match="does not exist"):
        read_genome(tmp_path / "nope.fa")


def test_split_fraction():
    a, b = split_fraction(np.arange(100), 0.9)
    assert len(a) == 90 and b[0] == 90
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_fraction(np.arange(10), 1.0)


# -- windows ----------------------------------------------------------------


def test_windows_are_next_base_pairs_with_masked_targets():
    codes = encode("ACGTNACGTACGGTTAACC")
    ds = window_dataset(codes, 5, shift=3, batch_size=100)
    x, y, w = (t.numpy() for t in next(iter(ds)))
    n_windows = (len(codes) - 5 - 1) // 3 + 1
    assert x.shape == y.shape == w.shape == (n_windows, 5)
    for j in range(n_windows):
        np.testing.assert_array_equal(x[j], codes[3 * j : 3 * j + 5])
        target = codes[3 * j + 1 : 3 * j + 6]
        np.testing.assert_array_equal(w[j], (target != MASK).astype("float32"))
        np.testing.assert_array_equal(y[j][target != MASK], target[target != MASK])
    assert y.max() <= 3 and w.min() == 0.0


def test_windows_reverse_complement_shuffle_and_random_offset():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, 400).astype(np.int8)
    rc = reverse_complement(codes)
    fwd = {tuple(codes[i : i + 9]) for i in range(len(codes) - 9)}
    rev = {tuple(rc[i : i + 9]) for i in range(len(rc) - 9)}
    ds = window_dataset(
        codes, 8, batch_size=1000, shuffle=True, reverse_complement=True, random_offset=True, seed=3
    )
    epochs = []
    for _ in range(2):
        x, y, _ = (t.numpy() for t in next(iter(ds)))
        assert x.shape[0] == 2 * ((400 - 8 - 1) // 8 + 1)
        seqs = [tuple(np.concatenate([a, b[-1:]])) for a, b in zip(x, y)]
        n_fwd = sum(s in fwd for s in seqs)
        n_rev = sum(s in rev for s in seqs)
        assert n_fwd >= x.shape[0] // 2 - 1 and n_rev >= x.shape[0] // 2 - 1
        assert all(s in fwd or s in rev for s in seqs)
        epochs.append(x)
    # a new epoch brings a new order (and usually new window borders)
    assert not np.array_equal(epochs[0], epochs[1])


def test_window_dataset_errors():
    with pytest.raises(ValueError, match="window"):
        window_dataset(np.zeros(10, np.int8), 0)
    with pytest.raises(ValueError, match="at least"):
        window_dataset(np.zeros(10, np.int8), 10)


# -- train / validation / test split ----------------------------------------


def test_load_genome_split_of_a_genbank_file(tmp_path):
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 3000))
    rec = SeqRecord(Seq(seq), id="toy", name="toy", description="toy")
    rec.annotations["molecule_type"] = "DNA"
    rec.features = [
        SeqFeature(FeatureLocation(100, 400, strand=1), type="CDS"),
        SeqFeature(FeatureLocation(2700, 2900, strand=-1), type="CDS"),
        SeqFeature(FeatureLocation(1000, 1100, strand=1), type="rRNA"),
    ]
    path = tmp_path / "toy.gb"
    seqio_write(rec, path, "genbank")
    split = load_genome_split(path, test_fraction=0.2, val_fraction=0.1, window=64)
    assert (split.val_start, split.test_start, len(split)) == (2100, 2400, 3000)
    assert decode(split.codes) == seq
    expected = np.zeros(3000, bool)
    expected[100:400] = expected[2700:2900] = True  # CDS only: the rRNA is not marked
    np.testing.assert_array_equal(split.coding, expected)
    assert split.gene_starts.tolist() == [100, 2899] and split.gene_stops.tolist() == [399, 2700]
    short = load_genome_split(path, test_fraction=0.2, val_fraction=0.1, window=64, max_bases=1000)
    assert len(short) == 1000 and short.coding.size == 1000 and short.test_start == 800
    with pytest.raises(ValueError, match="too few for window 900"):
        load_genome_split(path, window=900, max_bases=1000)
    with pytest.raises(ValueError, match=r"test_fraction must lie in \(0, 0.5\), received 0.6"):
        load_genome_split(path, test_fraction=0.6)


def test_load_genome_split_of_a_fasta_file_has_no_annotation(tmp_path):
    path = _fasta(tmp_path, ">x\n" + "ACGT" * 2500 + "\n")
    split = load_genome_split(path, window=32)
    assert split.coding is None and split.gene_starts is None and split.gene_stops is None
    assert (split.val_start, split.test_start) == (8800, 9000)


# -- the real genomes -------------------------------------------------------


def test_bundled_ecoli():
    g = read_genome(default_genome_path())
    assert default_genome_path().name.endswith(".fasta.gz")
    assert len(g) == 4_646_332 and g.n_ambiguous == 0
    assert g.records[0].id == "NC_007779.1"
    assert abs(g.gc_content() - 0.508) < 0.001
    split = load_genome_split(max_bases=60_000)  # the bundled genome, as nucleotide --quick uses it
    assert (split.val_start, split.test_start, len(split)) == (52_800, 54_000, 60_000)
    np.testing.assert_array_equal(split.codes, g.codes[:60_000])


def test_shared_genomes(shared_data):
    lam = read_genome(shared_data / "genomes" / "lambda_phage.fasta.gz")
    assert len(lam) == 48_502 and lam.format == "fasta"
    cp = read_genome(shared_data / "genomes" / "arabidopsis_chloroplast_NC_000932.gb")
    assert cp.format == "genbank" and len(cp) == 154_478
    types = [f.type for f in cp.features]
    assert len(types) == 258 and types.count("CDS") == 85 and types.count("gene") == 129
    assert 0.4 < cp.feature_mask(("CDS",)).mean() < 0.6
