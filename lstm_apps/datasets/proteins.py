"""Proteins for residue language models: read, encode, find open reading frames, split, batch.

Files are read through Biopython ``SeqIO`` (FASTA or GenBank, plain or
gzip-compressed, sniffed from the content as in
:mod:`lstm_apps.datasets.genome`). What a file yields:

| file                                   | proteins                                                  |
|----------------------------------------|-----------------------------------------------------------|
| GenBank record with ``CDS`` features   | each CDS's ``/translation`` qualifier; without one, the   |
|                                        | feature's DNA translated (its ``/transl_table``, default  |
|                                        | 11) up to the first stop; ``/pseudo`` CDSs are skipped     |
| GenBank record without CDS, DNA FASTA  | open reading frames (:func:`find_orfs`): ATG to stop, at  |
|                                        | least ``min_codons`` codons, both strands, table 11       |
| protein FASTA                          | each record                                                |

A FASTA record counts as DNA when at least 90 % of its letters are
A/C/G/T/U/N (``kind="auto"``; ``kind="protein"`` or ``"dna"`` decides for
every record). Identical proteins are kept once (the first), so the same
sequence (e.g. the copies of an insertion element's transposase) never lands
in both the training and the test part.

Residues are encoded as ``int8`` codes:

| letter(s)                                  | code / treatment                                    |
|--------------------------------------------|-----------------------------------------------------|
| the 20 amino acids ``ACDEFGHIKLMNPQRSTVWY`` | 0..19 in that order                                 |
| ``U`` (selenocysteine), ``O`` (pyrrolysine) | read as ``C`` and ``K``, their parent amino acids   |
| ``B`` (D/N), ``Z`` (E/Q), ``J`` (I/L), ``X`` | 20 (:data:`MASK`): read, never predicted or scored  |
| one ``*`` at the end (a translated stop)    | dropped                                              |

Lower case reads as upper case. Every replacement, mask and dropped stop is
counted in :attr:`ProteinSet.counts`. Anything else (an internal ``*``, a gap
``-``, a digit) raises a ``ValueError`` naming the file, the record, the
letter and its position. Models read :data:`START` before the first residue.

Example:

```python
split = load_protein_split()               # the E. coli K-12 ORFs, 80/10/10 by protein
print(len(split.train), split.proteins.counts)
batches = protein_batches(split.train, batch_size=32, shuffle=True)
x, y, w = batches[0]                       # START + residues, next residues, weights
```
"""

from __future__ import annotations

import io
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstm_apps.datasets.genome import _open_text, _sniff_format, default_genome_path

__all__ = [
    "AMINO_ACIDS",
    "MASK",
    "START",
    "VOCAB_SIZE",
    "Protein",
    "ProteinSet",
    "ProteinSplit",
    "encode_protein",
    "decode_protein",
    "find_orfs",
    "read_proteins",
    "split_indices",
    "load_protein_split",
    "protein_batches",
]

#: The 20 amino acids, in code order.
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: Code of an ambiguous residue (B, Z, J, X); also pads batches.
MASK = 20
#: The start-of-protein token that models read before the first residue.
START = 21
#: Input tokens: 20 amino acids, mask, start.
VOCAB_SIZE = 22
#: Rare amino acids read as their parent amino acid.
REPLACED = {"U": "C", "O": "K"}
#: Ambiguity letters read as :data:`MASK`.
AMBIGUOUS = "BZJX"

_LOOKUP = np.full(256, -1, dtype=np.int8)
for _i, _a in enumerate(AMINO_ACIDS):
    _LOOKUP[ord(_a)] = _LOOKUP[ord(_a.lower())] = _i
for _a, _b in REPLACED.items():
    _LOOKUP[ord(_a)] = _LOOKUP[ord(_a.lower())] = AMINO_ACIDS.index(_b)
for _a in AMBIGUOUS:
    _LOOKUP[ord(_a)] = _LOOKUP[ord(_a.lower())] = MASK
_DNA_BYTES = np.frombuffer(b"ACGTUN", dtype=np.uint8)


def encode_protein(sequence: str, *, name: str = "sequence") -> np.ndarray:
    """Encode a protein string as ``int8`` codes (see the module docstring's table).

    Args:
        sequence: the residues; one trailing ``*`` is dropped.
        name: how error messages refer to the sequence (e.g. file and record).

    Returns:
        A 1-D ``int8`` array of codes 0..20.

    Raises:
        ValueError: for an empty sequence or any other character (the message
            names ``name``, the letters and their first positions).

    Example:

    >>> encode_protein("MKUX*").tolist()
    [10, 8, 1, 20]
    """
    text = str(sequence)
    if text.endswith("*"):
        text = text[:-1]
    if not text:
        raise ValueError(f"{name}: the protein sequence is empty; expected at least one residue.")
    raw = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)
    codes = _LOOKUP[raw]
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        letters = sorted({chr(c) for c in raw[bad]})
        where = ", ".join(f"{chr(raw[i])!r} at {i}" for i in bad[:5])
        raise ValueError(
            f"{name}: expected amino-acid letters {AMINO_ACIDS} (U, O read as C, K; B, Z, J, X masked; "
            f"one final '*'), received {bad.size} other character(s) {letters} ({where})."
        )
    return codes


def decode_protein(codes) -> str:
    """The string of ``codes`` (mask tokens print as ``X``).

    >>> decode_protein(encode_protein("MKB"))
    'MKX'
    """
    return "".join(np.array(list(AMINO_ACIDS + "X"))[np.asarray(codes, dtype=np.int64)])


@dataclass(frozen=True)
class Protein:
    """One protein: identifier, ``int8`` codes and where it came from.

    Attributes:
        id: record id, CDS name or ``"<record>:<start>-<end>(<strand>)"`` for an ORF.
        codes: residue codes (0..20).
        source: ``"protein record"``, ``"CDS translation"``, ``"CDS"`` or ``"ORF"``.
    """

    id: str
    codes: np.ndarray
    source: str

    def __len__(self) -> int:
        return int(self.codes.size)

    @property
    def sequence(self) -> str:
        return decode_protein(self.codes)


@dataclass
class ProteinSet:
    """The proteins of one file and what reading them did.

    Attributes:
        path: the file.
        format: ``"fasta"``, ``"genbank"``, ...
        proteins: the distinct proteins, in file order.
        counts: ``{"U->C", "O->K", "masked", "final_stops", "duplicates", "pseudo_skipped"}``.
    """

    path: str
    format: str
    proteins: list[Protein]
    counts: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.proteins)

    @property
    def n_residues(self) -> int:
        return int(sum(len(p) for p in self.proteins))

    @property
    def sources(self) -> dict[str, int]:
        """How many proteins came from each kind of source."""
        return dict(Counter(p.source for p in self.proteins))

    def codes(self) -> list[np.ndarray]:
        return [p.codes for p in self.proteins]


def _dna_codes(dna: str) -> np.ndarray:
    from lstm_apps.datasets.genome import encode

    return encode(dna.upper().replace("U", "T"), name="ORF search")


def find_orfs(dna, *, min_codons: int = 100, table: int = 11, overlap: str = "longest") -> list[tuple]:
    """Open reading frames of a DNA sequence on both strands, translated with Biopython.

    An ORF runs from the first ``ATG`` after a stop codon (or after the
    sequence start) to the next stop codon of the same frame; stop codons come
    from Biopython's codon table ``table`` (11: bacteria, archaea, plastids).
    ORFs that reach the sequence end without a stop are left out, and so are
    those with fewer than ``min_codons`` codons (the stop not counted). Each
    is translated with ``Seq.translate(table=table, to_stop=True)``. With
    ``overlap="longest"`` the ORFs are taken longest first and one is kept
    only while less than half of its bases lie in ORFs already kept: most
    shorter ORFs inside a gene on another frame or strand (its "shadows") are
    not genes, since bacterial genes seldom overlap by more than a few bases;
    ``overlap="all"`` keeps every ORF.

    Args:
        dna: the sequence (str or ``Bio.Seq``; A/C/G/T, N and IUPAC codes read as unknown).
        min_codons: fewest codons of a kept ORF.
        table: NCBI translation table number.
        overlap: ``"longest"`` or ``"all"``.

    Returns:
        ``[(start, end, strand, protein)]`` sorted by ``start``: ``[start, end)``
        covers the ORF with its stop codon on the forward strand, ``strand``
        is +1 or -1, ``protein`` the translation (without ``*``).

    Example:

    >>> find_orfs("CC" + "ATG" + "GCT" * 120 + "TAA" + "GG")[0][:3]
    (2, 368, 1)
    """
    from Bio.Data import CodonTable
    from Bio.Seq import Seq

    if overlap not in ("longest", "all"):
        raise ValueError(f"overlap must be 'longest' or 'all', received {overlap!r}.")
    if isinstance(min_codons, bool) or not isinstance(min_codons, (int, np.integer)) or min_codons < 1:
        raise ValueError(f"min_codons must be a positive integer, received {min_codons!r}.")
    if table not in CodonTable.unambiguous_dna_by_id:
        raise ValueError(f"table must be an NCBI translation table number, received {table!r}.")
    text = str(dna).upper()
    codes = _dna_codes(text)
    n = codes.size
    digits = {b: i for i, b in enumerate("ACGT")}

    def index_of(codon):
        return digits[codon[0]] * 16 + digits[codon[1]] * 4 + digits[codon[2]]

    stops = [index_of(c) for c in CodonTable.unambiguous_dna_by_id[table].stop_codons]
    atg = index_of("ATG")
    found = []
    for strand in (1, -1):
        seq = codes if strand == 1 else np.where(codes[::-1] < 4, 3 - codes[::-1], 4)
        for frame in range(3):
            m = (n - frame) // 3
            if m == 0:
                continue
            triplets = seq[frame : frame + 3 * m].reshape(m, 3).astype(np.int64)
            index = np.where((triplets < 4).all(axis=1), triplets @ np.array([16, 4, 1]), -1)
            stop_at = np.flatnonzero(np.isin(index, stops))
            atg_at = np.flatnonzero(index == atg)
            if not atg_at.size:
                continue
            # the first ATG after the previous stop, for every stop codon
            first = np.searchsorted(atg_at, np.concatenate([[0], stop_at[:-1] + 1]))
            begin = atg_at[np.minimum(first, atg_at.size - 1)]
            ok = (first < atg_at.size) & (begin < stop_at) & (stop_at - begin >= min_codons)
            for b, e in zip(begin[ok], stop_at[ok]):
                a, z = frame + 3 * int(b), frame + 3 * int(e) + 3  # on this strand, stop included
                start, end = (a, z) if strand == 1 else (n - z, n - a)
                found.append((start, end, strand))
    if overlap == "longest":
        found.sort(key=lambda o: (-(o[1] - o[0]), o[0], o[2]))
        covered = np.zeros(n, dtype=bool)
        kept = []
        for start, end, strand in found:
            if covered[start:end].mean() < 0.5:
                kept.append((start, end, strand))
                covered[start:end] = True
        found = kept
    out = []
    for start, end, strand in sorted(found):
        piece = Seq(text[start:end])
        if strand == -1:
            piece = piece.reverse_complement()
        protein = str(piece.translate(table=table, to_stop=True))
        if len(protein) != (end - start) // 3 - 1:  # pragma: no cover - a bug, not bad input
            raise RuntimeError(f"ORF [{start}, {end}) translated to {len(protein)} residues.")
        out.append((start, end, strand, protein))
    return out


def _looks_like_dna(seq: str) -> bool:
    """At least 90 % of the letters are A/C/G/T/U/N (any case)."""
    raw = np.frombuffer(seq.upper().encode("ascii", errors="replace"), dtype=np.uint8)
    letters = raw[(raw >= ord("A")) & (raw <= ord("Z"))]
    return bool(letters.size) and np.isin(letters, _DNA_BYTES).sum() >= 0.9 * letters.size


def _record_proteins(rec, fmt, kind, min_codons, overlap, counts) -> list[tuple[str, str, str]]:
    """``(id, sequence, source)`` of one SeqIO record."""
    from Bio.Seq import UndefinedSequenceError

    def sequence():
        try:
            return str(rec.seq)
        except UndefinedSequenceError:
            return None

    out = []
    cds = [f for f in rec.features if f.type == "CDS"] if fmt != "fasta" else []
    if cds:
        for k, f in enumerate(cds):
            q = f.qualifiers
            name = next((str(q[key][0]) for key in ("locus_tag", "protein_id", "gene") if key in q), None)
            name = f"{rec.id}:{name or f'CDS{k + 1}'}"
            if "translation" in q:
                out.append((name, str(q["translation"][0]), "CDS translation"))
            elif "pseudo" in q or "pseudogene" in q:
                counts["pseudo_skipped"] += 1
            elif sequence() is not None:
                table = int(q.get("transl_table", [11])[0])
                protein = f.extract(rec.seq).translate(table=table, to_stop=True)
                out.append((name, str(protein), "CDS"))
        return out
    seq = sequence()
    if seq is None:
        raise ValueError(f"record {rec.id!r} has no sequence data and no CDS translations.")
    if kind == "dna" or (kind == "auto" and (fmt != "fasta" or _looks_like_dna(seq))):
        for start, end, strand, protein in find_orfs(seq, min_codons=min_codons, overlap=overlap):
            out.append((f"{rec.id}:{start}-{end}({'+' if strand == 1 else '-'})", protein, "ORF"))
        return out
    return [(rec.id, seq, "protein record")]


def read_proteins(
    path: str | os.PathLike,
    *,
    kind: str = "auto",
    min_codons: int = 100,
    overlap: str = "longest",
    format: str | None = None,
) -> ProteinSet:
    """Read the proteins of a FASTA or GenBank file (plain or gzip) into a :class:`ProteinSet`.

    Args:
        path: the file.
        kind: ``"auto"`` (GenBank CDSs, else ORFs of DNA records, else the
            records as proteins), ``"protein"`` (FASTA records are proteins)
            or ``"dna"`` (records are DNA: their ORFs).
        min_codons, overlap: ORF settings (:func:`find_orfs`).
        format: a ``SeqIO`` format; sniffed from the first line when None.

    Returns:
        The distinct proteins and the letter counts (see the module docstring).

    Raises:
        ValueError: for a missing, empty or unreadable file, a letter outside
            the table (naming the file, the record and the letter), or a file
            that yields no protein.

    Example:

    >>> chloroplast = read_proteins("../shared/data/genomes/arabidopsis_chloroplast_NC_000932.gb")
    >>> chloroplast.sources
    {'CDS translation': 79}
    """
    from Bio import SeqIO

    if kind not in ("auto", "protein", "dna"):
        raise ValueError(f"kind must be 'auto', 'protein' or 'dna', received {kind!r}.")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"protein file {str(path)!r} does not exist.")
    text, _ = _open_text(path)
    fmt = format or _sniff_format(text, path)
    counts = Counter(
        {k: 0 for k in ("U->C", "O->K", "masked", "final_stops", "duplicates", "pseudo_skipped")}
    )
    proteins, seen = [], set()
    try:
        records = list(SeqIO.parse(io.StringIO(text), fmt))
    except ValueError as exc:
        raise ValueError(f"{str(path)!r} could not be parsed as {fmt}: {exc}") from None
    for rec in records:
        try:
            found = _record_proteins(rec, fmt, kind, min_codons, overlap, counts)
        except ValueError as exc:
            raise ValueError(f"{str(path)!r}: {exc}") from None
        for pid, seq, source in found:
            upper = seq.upper()
            codes = encode_protein(seq, name=f"{path.name} record {pid!r}")
            counts["U->C"] += upper.count("U")
            counts["O->K"] += upper.count("O")
            counts["masked"] += sum(upper.count(a) for a in AMBIGUOUS)
            counts["final_stops"] += int(upper.endswith("*"))
            key = codes.tobytes()
            if key in seen:
                counts["duplicates"] += 1
                continue
            seen.add(key)
            proteins.append(Protein(pid, codes, source))
    if not proteins:
        raise ValueError(
            f"{str(path)!r} yields no protein: expected protein records, GenBank CDS features or DNA with "
            f"open reading frames of at least {min_codons} codons."
        )
    return ProteinSet(str(path), fmt, proteins, dict(counts))


def split_indices(n: int, val_fraction: float, test_fraction: float, seed: int = 0):
    """Shuffle ``range(n)`` with ``seed`` and cut it into train, validation and test index arrays.

    Each part holds ``round(fraction * n)`` items (at least one); training keeps the rest.

    Example:

    >>> [len(p) for p in split_indices(10, 0.2, 0.1)]
    [7, 2, 1]
    """
    for name, v in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < v < 0.5:
            raise ValueError(f"{name} must lie in (0, 0.5), received {v}.")
    n_val, n_test = max(1, round(val_fraction * n)), max(1, round(test_fraction * n))
    if n - n_val - n_test < 1:
        raise ValueError(f"{n} proteins are too few to split into training, validation and test parts.")
    order = np.random.default_rng(seed).permutation(n)
    return order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]


@dataclass
class ProteinSplit:
    """Proteins split by protein: ``train``, ``val`` and ``test`` lists of :class:`Protein`."""

    proteins: ProteinSet
    train: list[Protein]
    val: list[Protein]
    test: list[Protein]


def load_protein_split(
    path: str | os.PathLike | None = None,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    max_proteins: int | None = None,
    min_codons: int = 100,
) -> ProteinSplit:
    """Read proteins and split them, by protein, into training, validation and test parts.

    Args:
        path: FASTA/GenBank file (default: the ORFs of the bundled *E. coli*
            K-12 genome, :func:`~lstm_apps.datasets.genome.default_genome_path`).
        val_fraction, test_fraction: parts of the proteins, each in (0, 0.5).
        seed: the shuffling seed of the split.
        max_proteins: use only this many proteins, drawn at random (None: all).
        min_codons: fewest codons of an ORF (:func:`find_orfs`).

    Returns:
        A :class:`ProteinSplit`.

    Example:

    >>> split = load_protein_split(max_proteins=200)
    >>> len(split.train), len(split.val), len(split.test)
    (160, 20, 20)
    """
    proteins = read_proteins(path or default_genome_path(), min_codons=min_codons)
    chosen = list(proteins.proteins)
    if max_proteins is not None and max_proteins < len(chosen):
        keep = np.sort(np.random.default_rng(seed + 1).choice(len(chosen), max_proteins, replace=False))
        chosen = [chosen[i] for i in keep]
    train, val, test = split_indices(len(chosen), val_fraction, test_fraction, seed)
    return ProteinSplit(proteins, *([chosen[i] for i in part] for part in (train, val, test)))


def _pad(rows, length, value):
    out = np.full((len(rows), length), value, dtype=np.int32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def protein_batches(
    proteins,
    batch_size: int = 32,
    *,
    shuffle: bool = False,
    seed: int = 0,
    targets=None,
):
    """A ``keras.utils.PyDataset`` of next-residue batches, proteins of similar length together.

    Batch ``b`` holds ``(x, y, w)``: ``x`` is :data:`START` followed by every
    residue but the last (``int32``, padded with :data:`MASK`), ``y`` the
    residues (masked and padded targets become 0) and ``w`` 1.0 where a real
    residue is predicted, else 0. Proteins are sorted by length and cut into
    batches, so padding stays small; with ``shuffle`` the order of the
    batches changes every epoch.

    Args:
        proteins: :class:`Protein` objects or code arrays.
        batch_size: proteins per batch.
        shuffle: shuffle the batches each epoch (seeded).
        seed: shuffling seed.
        targets: optional ``name -> function(codes) -> per-prefix values`` (one
            value per residue, for prefixes of length 1..n): ``y`` becomes a
            dict with ``"next_residue"`` and, for each name, the value of the
            prefix read so far at every input position (0 at the start token).

    Returns:
        The dataset (``len()`` batches, ``[b]`` indexing).
    """
    import keras

    codes = [np.asarray(getattr(p, "codes", p)) for p in proteins]
    if not codes:
        raise ValueError("protein_batches needs at least one protein, received none.")
    order = np.argsort([c.size for c in codes], kind="stable")
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]

    class _Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(len(groups))
            if shuffle:
                self.rng.shuffle(self.order)

        def __len__(self):
            return len(groups)

        def __getitem__(self, index):
            rows = [codes[i] for i in groups[self.order[index]]]
            length = max(r.size for r in rows)
            x = _pad([np.concatenate([[START], r[:-1]]) for r in rows], length, MASK)
            y = _pad(rows, length, MASK)
            w = (y < MASK).astype("float32")
            y = np.where(y < MASK, y, 0)
            if not targets:
                return x, y, w
            out = {"next_residue": y}
            for name, fn in targets.items():
                values = np.zeros((len(rows), length), "float32")
                for i, r in enumerate(rows):
                    values[i, 1 : r.size] = fn(r)[: r.size - 1]
                out[name] = values[..., None]
            return x, out, w

        def on_epoch_end(self):
            if shuffle:
                self.rng.shuffle(self.order)

    return _Batches()
