"""Tests for lstm_apps.datasets.proteins and protein_properties: letters, readers, ORFs, split, batches,
and the prefix properties against Biopython."""

from collections import Counter

import numpy as np
import pytest
from Bio.Seq import Seq
from Bio.SeqUtils.ProtParam import ProteinAnalysis

from lstm_apps.datasets.genome import default_genome_path
from lstm_apps.datasets.protein_properties import (
    prefix_charge,
    prefix_composition,
    prefix_hydrophobicity,
    residue_charges,
    standardized_properties,
)
from lstm_apps.datasets.proteins import (
    AMINO_ACIDS,
    MASK,
    START,
    decode_protein,
    encode_protein,
    find_orfs,
    load_protein_split,
    protein_batches,
    read_proteins,
    split_indices,
)

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
CHLOROPLAST = "genomes/arabidopsis_chloroplast_NC_000932.gb"


def test_encode_letters_and_their_treatment():
    assert encode_protein(AMINO_ACIDS).tolist() == list(range(20))
    assert encode_protein("mkv").tolist() == encode_protein("MKV").tolist()
    assert decode_protein(encode_protein("MUO")) == "MCK"  # selenocysteine, pyrrolysine
    assert encode_protein("BZJX").tolist() == [MASK] * 4
    assert decode_protein(encode_protein("MK*")) == "MK"  # one final stop is dropped
    for bad, letter in (("MK*V", "'*'"), ("MK-V", "'-'"), ("MK1", "'1'"), ("MK V", "' '")):
        with pytest.raises(ValueError, match=f"f.fa record 'p1'.*{letter}"):
            encode_protein(bad, name="f.fa record 'p1'")
    with pytest.raises(ValueError, match="empty"):
        encode_protein("*")


def test_read_protein_fasta_counts_letters_and_drops_duplicates(tmp_path):
    path = tmp_path / "p.fasta"
    path.write_text(">a\nMKUVOL*\n>b\nMBZXK\n>c\nmkuvol\n>d\n" + UBIQUITIN + "\n")
    ps = read_proteins(path)
    assert [p.id for p in ps.proteins] == ["a", "b", "d"] and ps.sources == {"protein record": 3}
    assert ps.proteins[0].sequence == "MKCVKL" and ps.proteins[1].sequence == "MXXXK"
    assert ps.counts == {
        "U->C": 2,
        "O->K": 2,
        "masked": 3,
        "final_stops": 1,
        "duplicates": 1,
        "pseudo_skipped": 0,
    }
    assert ps.n_residues == 6 + 5 + len(UBIQUITIN)
    bad = tmp_path / "bad.fasta"
    bad.write_text(">ok\nMKV\n>weird\nMK#V\n")
    with pytest.raises(ValueError, match=r"bad.fasta record 'weird'.*\['#'\]"):
        read_proteins(bad)
    empty = tmp_path / "empty.fasta"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_proteins(empty)
    with pytest.raises(ValueError, match="does not exist"):
        read_proteins(tmp_path / "missing.fa")
    with pytest.raises(ValueError, match="kind must be"):
        read_proteins(path, kind="rna")


def _orf(codons: int) -> str:
    return "ATG" + "GCT" * (codons - 1) + "TAA"


def test_find_orfs_both_strands_lengths_and_translation():
    rng = np.random.default_rng(0)
    forward = _orf(120)
    reverse = str(Seq(_orf(150)).reverse_complement())
    dna = "CC" + forward + "A" + reverse + "T" + _orf(99) + "T" + "ATG" + "GCA" * 200  # last: no stop
    found = {(s, e, strand): protein for s, e, strand, protein in find_orfs(dna)}
    assert found[2, 2 + 363, 1] == "M" + "A" * 119
    assert len(found[2 + 363 + 1, 2 + 363 + 1 + 453, -1]) == 150
    short, open_end = 2 + 363 + 1 + 453 + 1, 2 + 363 + 1 + 453 + 1 + 300 + 1
    assert not any(s in (short, open_end) for s, _, _ in found)  # 99 codons; no stop codon
    assert (short, short + 300, 1) in {o[:3] for o in find_orfs(dna, min_codons=99)}
    # random DNA: every ORF is Biopython's table-11 translation of its slice, ATG to stop
    dna = "".join(rng.choice(list("ACGT"), 30_000))
    for start, end, strand, protein in find_orfs(dna, min_codons=30, overlap="all"):
        piece = Seq(dna[start:end]) if strand == 1 else Seq(dna[start:end]).reverse_complement()
        assert str(piece[:3]) == "ATG" and str(piece[-3:]) in ("TAA", "TAG", "TGA")
        assert protein == str(piece.translate(table=11, to_stop=True)) and "*" not in protein


def test_find_orfs_longest_drops_shadow_orfs():
    shadow = str(Seq("ATG" + "GCC" * 120 + "TAG").reverse_complement())  # 121 codons, other strand
    gene = "ATG" + "GCT" * 10 + shadow + "GCT" * 60 + "TAA"  # 193 codons around it, in frame
    everything = find_orfs("CC" + gene + "CC", overlap="all")
    assert [(s, e, strand) for s, e, strand, _ in everything] == [(2, 2 + len(gene), 1), (35, 35 + 366, -1)]
    assert find_orfs("CC" + gene + "CC", overlap="longest") == everything[:1]
    with pytest.raises(ValueError, match="overlap must be"):
        find_orfs(gene, overlap="none")
    with pytest.raises(ValueError, match="min_codons"):
        find_orfs(gene, min_codons=0)


def test_bundled_ecoli_orfs():
    ps = read_proteins(default_genome_path())
    assert ps.sources == {"ORF": len(ps)}
    # the K-12 genome has about 4,000 protein genes of >= 100 codons; the shadows are gone
    assert 3700 < len(ps) < 4100 and ps.counts["duplicates"] > 10  # IS-element copies
    lengths = np.array([len(p) for p in ps.proteins])
    assert lengths.min() >= 100 and 250 < np.median(lengths) < 350
    assert all(p.codes[0] == AMINO_ACIDS.index("M") for p in ps.proteins)
    assert len({p.codes.tobytes() for p in ps.proteins}) == len(ps)


def test_chloroplast_genbank_translations_and_orfs(shared_data):
    from Bio import SeqIO

    path = shared_data / CHLOROPLAST
    ps = read_proteins(path)
    rec = SeqIO.read(path, "genbank")
    translations = [f.qualifiers["translation"][0] for f in rec.features if f.type == "CDS"]
    assert ps.sources == {"CDS translation": len(ps)}
    assert [p.sequence for p in ps.proteins] == list(dict.fromkeys(translations))
    assert ps.counts["duplicates"] == len(translations) - len(ps)
    # the ORF finder recovers every annotated one-exon gene of >= 100 codons, by its stop codon
    orfs = find_orfs(rec.seq)
    stops = {(strand, end if strand == 1 else start) for start, end, strand, _ in orfs}
    genes = [
        f
        for f in rec.features
        if f.type == "CDS" and len(f.location.parts) == 1 and len(f.qualifiers["translation"][0]) >= 100
    ]
    assert len(genes) > 40
    for f in genes:
        loc = f.location
        assert (loc.strand, int(loc.end) if loc.strand == 1 else int(loc.start)) in stops
    assert len(read_proteins(path, kind="dna").proteins) == len(ps)  # CDS features win in GenBank


def test_genbank_without_translations_and_pseudo(tmp_path):
    from Bio import SeqIO
    from Bio.SeqFeature import FeatureLocation, SeqFeature
    from Bio.SeqRecord import SeqRecord

    dna = "GG" + _orf(40) + "CC" + str(Seq(_orf(60)).reverse_complement()) + "AA" + _orf(30)
    rec = SeqRecord(Seq(dna), id="toy", annotations={"molecule_type": "DNA"})
    rec.features = [
        SeqFeature(FeatureLocation(2, 2 + 123, 1), type="CDS", qualifiers={"locus_tag": ["g1"]}),
        SeqFeature(FeatureLocation(127, 127 + 183, -1), type="CDS", qualifiers={"locus_tag": ["g2"]}),
        SeqFeature(FeatureLocation(312, 312 + 93, 1), type="CDS", qualifiers={"pseudo": [""]}),
    ]
    path = tmp_path / "toy.gb"
    SeqIO.write(rec, path, "genbank")
    ps = read_proteins(path)
    assert [p.id for p in ps.proteins] == ["toy:g1", "toy:g2"]
    assert ps.sources == {"CDS": 2} and ps.counts["pseudo_skipped"] == 1
    assert [len(p) for p in ps.proteins] == [40, 60]
    fasta = tmp_path / "toy.fa"
    fasta.write_text(">toy\n" + dna + "\n")
    assert [len(p) for p in read_proteins(fasta, min_codons=30).proteins] == [40, 60, 30]  # DNA: ORFs
    assert read_proteins(fasta, kind="protein").proteins[0].sequence == dna  # told it is protein


def test_split_indices_and_load_protein_split():
    train, val, test = split_indices(100, 0.1, 0.2, seed=3)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(100))
    again = split_indices(100, 0.1, 0.2, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))
    assert not np.array_equal(split_indices(100, 0.1, 0.2, seed=4)[2], test)
    with pytest.raises(ValueError, match="val_fraction must lie in"):
        split_indices(10, 0.5, 0.1)
    with pytest.raises(ValueError, match="too few"):
        split_indices(2, 0.1, 0.1)
    split = load_protein_split(max_proteins=200, seed=1)
    assert (len(split.train), len(split.val), len(split.test)) == (160, 20, 20)
    ids = [{p.id for p in part} for part in (split.train, split.val, split.test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])  # split by protein


def test_protein_batches_shift_pad_and_targets():
    proteins = [encode_protein(s) for s in ("MKV", "MKVLA", "MX", "MKVLAGG", "MAAAA")]
    batches = protein_batches(proteins, batch_size=2)
    assert len(batches) == 3
    seen = []
    for b in range(len(batches)):
        x, y, w = batches[b]
        assert x.shape == y.shape == w.shape and (x[:, 0] == START).all()
        for row in range(x.shape[0]):
            seen.append(int(w[row].sum()))
            n = int((x[row] != MASK).sum())  # no X is read here: only padding is MASK
            np.testing.assert_array_equal(x[row, 1:n], y[row, : n - 1])  # inputs: targets shifted right
            assert (w[row, n:] == 0).all()
    assert sorted(seen) == [1, 3, 5, 5, 7]  # the X of "MX" is never a target
    shuffled = protein_batches(proteins, batch_size=2, shuffle=True, seed=0)
    firsts = set()
    for _ in range(6):
        firsts.add(shuffled[0][0].shape[1])
        shuffled.on_epoch_end()
    assert len(firsts) > 1  # the batch order changes between epochs
    x, y, w = protein_batches(proteins[:1], targets={"charge": prefix_charge})[0]
    np.testing.assert_allclose(y["charge"][0, :, 0], [0.0, *prefix_charge(proteins[0])[:2]], rtol=1e-6)
    assert y["next_residue"].tolist() == [encode_protein("MKV").tolist()]


PEPTIDES = [UBIQUITIN, "DDEEKRHCY", "PETER", "ACDEFGHIKLMNPQRSTVWY", "EKD", "M"]


@pytest.mark.parametrize("ph", [7.0, 4.5])
def test_prefix_charge_matches_biopython_on_every_prefix(ph):
    for seq in PEPTIDES:
        got = prefix_charge(encode_protein(seq), ph=ph)
        want = [ProteinAnalysis(seq[:t]).charge_at_pH(ph) for t in range(1, len(seq) + 1)]
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    table = residue_charges(7.0)
    assert table["side_chain"][AMINO_ACIDS.index("K")] > 0.99 > 0 > table["side_chain"][2]  # K, D
    # a masked residue carries no charge, as Biopython counts only the 20 letters
    np.testing.assert_allclose(
        prefix_charge(encode_protein("MKXD"))[-1], ProteinAnalysis("MKXD").charge_at_pH(7)
    )


def test_prefix_hydrophobicity_and_composition():
    for seq in PEPTIDES:
        got = prefix_hydrophobicity(encode_protein(seq))
        want = [ProteinAnalysis(seq[:t]).gravy() for t in range(1, len(seq) + 1)]
        np.testing.assert_allclose(got, want, rtol=1e-12)
        comp = prefix_composition(encode_protein(seq))
        for t in (1, len(seq) // 2 + 1, len(seq)):
            counts = Counter(seq[:t])
            assert comp[t - 1, :20].tolist() == [counts[a] for a in AMINO_ACIDS]
            np.testing.assert_allclose(comp[t - 1, 20:], comp[t - 1, :20] / t)
    # masked residues are left out of the mean
    np.testing.assert_allclose(prefix_hydrophobicity(encode_protein("IXR")), [4.5, 4.5, 0.0])
    with pytest.raises(ValueError, match="residue codes 0..20"):
        prefix_charge(np.array([0, 25]))
    with pytest.raises(ValueError, match="non-empty"):
        prefix_hydrophobicity(np.array([], np.int8))


def test_standardized_properties():
    proteins = [encode_protein(s) for s in PEPTIDES]
    targets = standardized_properties(proteins)
    for name, fn in targets.items():
        values = np.concatenate([fn(c) for c in proteins])
        assert abs(values.mean()) < 1e-9 and abs(values.std() - 1) < 1e-9, name
    with pytest.raises(ValueError, match="at least one protein"):
        standardized_properties([])
