"""DNA sequences for next-nucleotide models: read, encode, window, annotate.

Files are read through Biopython ``SeqIO`` (FASTA or GenBank, plain or
gzip-compressed; the format and the compression are sniffed from the
content, not trusted from the file name). Bases are encoded as small integers
in an ``int8`` array, so a multi-megabase genome costs one byte per base:

| letter(s)                                   | code            |
|---------------------------------------------|-----------------|
| ``A``, ``C``, ``G``, ``T`` (``U`` reads as T) | 0, 1, 2, 3     |
| ``N`` and the IUPAC ambiguity codes ``R Y S W K M B D H V`` | 4 (:data:`MASK`) |

Lower case (soft-masked repeats) reads like upper case. An ambiguous base is
never guessed: it becomes the mask token, which a model may see as input but
is never asked to predict (its training weight is 0 and it is left out of
every bits-per-base figure); :meth:`Genome.segments` instead splits the
sequence at ambiguous bases into runs of pure A/C/G/T. Records of a
multi-record file are joined with one mask token between them, so no window
predicts across a record boundary. Anything else (gap characters, digits,
amino-acid letters such as ``E F I L P Q``, an empty file, a truncated gzip
stream) raises a ``ValueError`` naming the file and what was found.

Training windows come from :func:`window_dataset`, a ``tf.data`` pipeline
that slices the ``int8`` array on the fly: no one-hot copy of the genome ever
exists (the model one-hot encodes or embeds each batch itself).

Example:

```python
genome = read_genome("data/ecoli_k12_w3110.fasta.gz")
train, test = split_fraction(genome.codes, 0.9)
ds = window_dataset(train, window=256, batch_size=64, reverse_complement=True)
x, y, w = next(iter(ds))     # (64, 256) int32 inputs, next-base targets, weights
```
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstm_apps.resources import data_file

__all__ = [
    "BASES",
    "MASK",
    "VOCAB_SIZE",
    "Feature",
    "GenomeRecord",
    "Genome",
    "encode",
    "decode",
    "reverse_complement",
    "read_genome",
    "split_fraction",
    "window_dataset",
    "default_genome_path",
    "GenomeSplit",
    "load_genome_split",
]

#: The four bases, in code order.
BASES = "ACGT"
#: Code of ``N``/IUPAC ambiguity codes (and of record separators).
MASK = 4
#: Number of input tokens (A, C, G, T, mask).
VOCAB_SIZE = 5

_AMBIGUOUS = "NRYSWKMBDHV"
_LOOKUP = np.full(256, -1, dtype=np.int8)
for _i, _b in enumerate(BASES):
    _LOOKUP[ord(_b)] = _i
    _LOOKUP[ord(_b.lower())] = _i
_LOOKUP[ord("U")] = _LOOKUP[ord("u")] = 3
for _b in _AMBIGUOUS:
    _LOOKUP[ord(_b)] = _LOOKUP[ord(_b.lower())] = MASK
_PROTEIN_ONLY = set("EFILPQZJOXefilpqzjox*")
_COMPLEMENT = np.array([3, 2, 1, 0, MASK], dtype=np.int8)


def default_genome_path() -> Path:
    """The bundled genome: ``data/ecoli_k12_w3110.fasta.gz`` of the checkout (or of the wheel)."""
    return data_file("ecoli_k12_w3110.fasta.gz")


def encode(sequence: str, *, name: str = "sequence") -> np.ndarray:
    """Encode a DNA string as ``int8`` codes (A=0, C=1, G=2, T=3, ambiguous=4).

    Args:
        sequence: the bases (any case; ``U`` reads as ``T``; ``N`` and the IUPAC
            ambiguity codes become :data:`MASK`).
        name: how error messages refer to the sequence.

    Returns:
        A 1-D ``int8`` array as long as ``sequence``.

    Raises:
        ValueError: for any other character (the message names the first ones
            and their positions, and says when the text looks like protein).

    Example:

    >>> encode("ACGTN").tolist()
    [0, 1, 2, 3, 4]
    """
    raw = np.frombuffer(str(sequence).encode("ascii", errors="replace"), dtype=np.uint8)
    codes = _LOOKUP[raw]
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        chars = sorted({chr(c) for c in raw[bad]})
        where = ", ".join(f"{repr(chr(raw[i]))} at {i}" for i in bad[:5])
        hint = ""
        if _PROTEIN_ONLY & set(chars):
            hint = " It looks like a protein sequence; a DNA sequence was expected."
        raise ValueError(
            f"{name}: expected a DNA sequence of A/C/G/T (and N or IUPAC ambiguity codes "
            f"{_AMBIGUOUS}), received {bad.size} other characters {chars} ({where}).{hint}"
        )
    return codes


def decode(codes: np.ndarray) -> str:
    """The string of ``codes`` (mask tokens print as ``N``)."""
    return "".join(np.array(list(BASES + "N"))[np.asarray(codes, dtype=np.int64)])


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of encoded bases (A<->T, C<->G, mask stays mask).

    Example:

    >>> decode(reverse_complement(encode("AACGN")))
    'NCGTT'
    """
    codes = np.asarray(codes)
    if codes.size and (codes.min() < 0 or codes.max() > MASK):
        raise ValueError(f"codes must lie in 0..{MASK}, received values in {codes.min()}..{codes.max()}.")
    return _COMPLEMENT[codes[::-1]]


@dataclass(frozen=True)
class Feature:
    """One annotated feature, 0-based half-open ``[start, end)`` on the record."""

    type: str
    start: int
    end: int
    strand: int  # +1, -1, or 0 when unknown
    name: str = ""
    #: the exons/pieces ``(start, end)`` in biological order (one part when not joined)
    parts: tuple = ()

    def __post_init__(self):
        if not self.parts:
            object.__setattr__(self, "parts", ((self.start, self.end),))

    def shifted(self, offset: int) -> Feature:
        """The same feature ``offset`` bases further along."""
        parts = tuple((a + offset, b + offset) for a, b in self.parts)
        return Feature(self.type, self.start + offset, self.end + offset, self.strand, self.name, parts)

    @property
    def first_base(self) -> int:
        """Where transcription/translation starts (first part's start on +, its ``end - 1`` on −)."""
        a, b = self.parts[0]
        return b - 1 if self.strand == -1 else a

    @property
    def last_base(self) -> int:
        """Where it stops (last part's ``end - 1`` on +, its start on −)."""
        a, b = self.parts[-1]
        return a if self.strand == -1 else b - 1


@dataclass
class GenomeRecord:
    """One sequence record: identifier, description, codes and features."""

    id: str
    description: str
    codes: np.ndarray
    features: list[Feature] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.codes.size)

    def feature_mask(self, types: Sequence[str] = ("CDS",)) -> np.ndarray:
        """Boolean array: True where a base lies inside a feature of ``types`` (either strand)."""
        mask = np.zeros(self.codes.size, dtype=bool)
        for f in self.features:
            if f.type in types:
                for a, b in f.parts:
                    mask[max(a, 0) : min(b, mask.size)] = True
        return mask

    def feature_ends(self, types: Sequence[str] = ("CDS",)) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the first and the last base of every feature of ``types``."""
        feats = [f for f in self.features if f.type in types]
        starts = np.array([f.first_base for f in feats], dtype=np.int64)
        stops = np.array([f.last_base for f in feats], dtype=np.int64)
        return starts, stops


@dataclass
class Genome:
    """The records of one file, with all bases joined in :attr:`codes`.

    ``codes`` concatenates the records with one :data:`MASK` between
    neighbours; :attr:`offsets` gives where each record starts in it.
    """

    path: str
    format: str
    records: list[GenomeRecord]

    def __post_init__(self):
        parts, offsets, pos = [], [], 0
        for i, rec in enumerate(self.records):
            if i:
                parts.append(np.array([MASK], dtype=np.int8))
                pos += 1
            offsets.append(pos)
            parts.append(rec.codes)
            pos += rec.codes.size
        self.codes = np.concatenate(parts).astype(np.int8, copy=False)
        self.offsets = np.array(offsets, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.codes.size)

    @property
    def n_ambiguous(self) -> int:
        """Ambiguous bases (not counting record separators)."""
        return int(np.count_nonzero(self.codes == MASK)) - (len(self.records) - 1)

    @property
    def features(self) -> list[Feature]:
        """Every record's features, in :attr:`codes` coordinates."""
        out = []
        for off, rec in zip(self.offsets, self.records):
            out += [f.shifted(int(off)) for f in rec.features]
        return out

    def feature_mask(self, types: Sequence[str] = ("CDS",)) -> np.ndarray:
        """:meth:`GenomeRecord.feature_mask` over the joined :attr:`codes`."""
        return np.concatenate([np.concatenate([rec.feature_mask(types), [False]]) for rec in self.records])[
            : self.codes.size
        ]

    def feature_ends(self, types: Sequence[str] = ("CDS",)) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`GenomeRecord.feature_ends` over the joined :attr:`codes`."""
        starts, stops = [], []
        for off, rec in zip(self.offsets, self.records):
            s, e = rec.feature_ends(types)
            starts.append(s + off)
            stops.append(e + off)
        return np.concatenate(starts), np.concatenate(stops)

    def gc_content(self) -> float:
        """Fraction of G and C among the unambiguous bases."""
        known = self.codes[self.codes < MASK]
        return float(np.isin(known, (1, 2)).mean()) if known.size else float("nan")

    def segments(self, min_length: int = 1) -> list[np.ndarray]:
        """The sequence split at ambiguous bases and record boundaries.

        Returns views of :attr:`codes` holding only A/C/G/T, each at least
        ``min_length`` long (the alternative to the mask token).
        """
        cuts = np.flatnonzero(self.codes == MASK)
        bounds = np.concatenate([[-1], cuts, [self.codes.size]])
        return [
            self.codes[a + 1 : b] for a, b in zip(bounds[:-1], bounds[1:]) if b - a - 1 >= max(1, min_length)
        ]


def _open_text(path: Path):
    """``(text, encoding)`` of ``path``, gunzipped when it starts with the gzip magic."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise ValueError(
                f"{str(path)!r} is a damaged or truncated gzip file ({type(exc).__name__}: {exc}); "
                "expected a complete gzip-compressed FASTA/GenBank file."
            ) from None
    else:
        data = Path(path).read_bytes()
    try:
        return data.decode("utf-8"), "utf-8"  # ASCII, or UTF-8 in headers and annotations
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"  # decodes every byte; a non-ASCII base is refused by line


def _non_ascii_in_sequence(text: str, encoding: str, fmt: str, path: Path) -> ValueError | None:
    """The error naming the first line (outside FASTA headers) that holds a character that is not ASCII."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.isascii() or (fmt == "fasta" and line.startswith(">")):
            continue
        column = next(i for i, ch in enumerate(line) if not ch.isascii())
        context, raw = line[max(0, column - 20) : column + 20], line[column].encode(encoding)
        return ValueError(
            f"{path}:{number}:{column + 1}: the byte(s) {raw!r} in {context!r} are not ASCII; expected a "
            f"DNA sequence of A/C/G/T (and N or IUPAC ambiguity codes {_AMBIGUOUS})."
        )
    return None


def _sniff_format(text: str, path: Path) -> str:
    head = text.lstrip()[:200]
    if head.startswith(">"):
        return "fasta"
    if head.startswith("LOCUS"):
        return "genbank"
    if head.startswith("ID "):
        return "embl"
    if not head:
        raise ValueError(
            f"{str(path)!r} is empty; expected a FASTA or GenBank file with at least one sequence."
        )
    raise ValueError(
        f"{str(path)!r} is neither FASTA (first line '>id ...') nor GenBank ('LOCUS ...'); "
        f"it starts with {head[:40]!r}."
    )


def _features(record) -> list[Feature]:
    out = []
    for f in record.features:
        if f.type == "source" or f.location is None:
            continue
        name = ""
        for key in ("gene", "locus_tag", "product"):
            if key in f.qualifiers:
                name = str(f.qualifiers[key][0])
                break
        strand = f.location.strand if f.location.strand in (1, -1) else 0
        parts = tuple((int(p.start), int(p.end)) for p in f.location.parts)
        out.append(Feature(str(f.type), int(f.location.start), int(f.location.end), int(strand), name, parts))
    return out


def read_genome(path: str | os.PathLike, format: str | None = None) -> Genome:
    """Read a FASTA or GenBank file (plain or gzip) into a :class:`Genome`.

    Args:
        path: the file. Gzip compression is recognised by its magic bytes.
        format: ``"fasta"``, ``"genbank"`` or ``"embl"`` (any ``SeqIO``
            format); sniffed from the first line when None.

    Returns:
        A :class:`Genome` whose records carry ``int8`` codes and, for
        GenBank/EMBL input, their features (``gene``, ``CDS``, ``rRNA``, ...).

    Raises:
        ValueError: for a missing, empty or truncated file, an unknown format,
            a record without bases, or characters that are not DNA (see
            :func:`encode`).
    """
    from Bio import SeqIO
    from Bio.Seq import UndefinedSequenceError

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"genome file {str(path)!r} does not exist.")
    text, encoding = _open_text(path)
    fmt = format or _sniff_format(text, path)
    records = []
    try:
        for rec in SeqIO.parse(io.StringIO(text), fmt):
            try:
                seq = str(rec.seq)
            except UndefinedSequenceError:
                raise ValueError(
                    f"{str(path)!r}: record {rec.id!r} has no sequence data (annotation only)."
                ) from None
            if not seq:
                raise ValueError(
                    f"{str(path)!r}: record {rec.id!r} has no bases; expected a non-empty DNA sequence."
                )
            codes = encode(seq, name=f"{path.name} record {rec.id!r}")
            feats = _features(rec) if fmt != "fasta" else []
            records.append(GenomeRecord(rec.id, rec.description, codes, feats))
    except ValueError as exc:
        if isinstance(exc, UnicodeError):  # Biopython reads the bases as ASCII
            located = _non_ascii_in_sequence(text, encoding, fmt, path)
            if located is not None:
                raise located from None
        if str(path) in str(exc) or path.name in str(exc):
            raise
        raise ValueError(f"{str(path)!r} could not be parsed as {fmt}: {exc}") from None
    if not records:
        raise ValueError(f"{str(path)!r} holds no {fmt} records; expected at least one DNA sequence.")
    return Genome(str(path), fmt, records)


def split_fraction(codes: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split ``codes`` at ``fraction`` of its length: (first part, rest).

    Example:

    >>> a, b = split_fraction(np.arange(10), 0.9); len(a), len(b)
    (9, 1)
    """
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"fraction must lie strictly between 0 and 1, received {fraction!r}.")
    cut = int(round(len(codes) * float(fraction)))
    return codes[:cut], codes[cut:]


def window_dataset(
    codes: np.ndarray,
    window: int,
    *,
    shift: int | None = None,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    reverse_complement: bool = False,
    random_offset: bool = False,
    drop_remainder: bool = False,
    repeat: bool = False,
):
    """Stream next-base training windows from ``codes`` with ``tf.data``.

    Window ``j`` starts at ``j * shift`` and yields ``(x, y, w)``: the
    ``window`` bases from there (``int32`` tokens 0..4), the bases one step
    later (targets; mask tokens become 0) and weights that are 0 where the
    target is a mask token, 1 elsewhere. Only the ``int8`` array is held in
    memory; windows are sliced from it per batch.

    Args:
        codes: 1-D ``int8`` codes (e.g. ``Genome.codes`` or a slice of it).
        window: bases per example (the model's unrolled length).
        shift: step between window starts (default ``window``: no overlap).
        batch_size: examples per batch.
        shuffle: shuffle the windows (every epoch).
        seed: shuffling seed.
        reverse_complement: also yield the windows of the reverse-complement
            strand (doubling the examples).
        random_offset: shift all windows by a fresh random offset in
            ``[0, shift)`` every epoch, so window borders move.
        drop_remainder: drop the last incomplete batch.
        repeat: repeat forever (use with ``steps_per_epoch``).

    Returns:
        A ``tf.data.Dataset`` of ``(x, y, w)`` batches; ``model.fit`` takes it on
        every Keras backend (JAX and PyTorch read ``tf.data`` too).
    """
    import tensorflow as tf

    codes = np.ascontiguousarray(codes, dtype=np.int8)
    if codes.ndim != 1:
        raise ValueError(f"codes must be 1-D, received shape {codes.shape}.")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window <= 0:
        raise ValueError(f"window must be a positive integer, received {window!r}.")
    shift = int(window if shift is None else shift)
    if shift <= 0:
        raise ValueError(f"shift must be a positive integer, received {shift!r}.")
    if codes.size < window + 1:
        raise ValueError(f"need at least window + 1 = {window + 1} bases, received {codes.size}.")
    n_strands = 2 if reverse_complement else 1
    strands = np.stack([codes] + ([reverse_complement_codes(codes)] if reverse_complement else []))
    span = codes.size - window - 1  # the last valid start
    n_windows = span // shift + 1
    window = int(window)
    tensor = tf.constant(strands)

    # Window starts (strand, start) are tiny scalars: shuffle those, then slice.
    starts = tf.data.Dataset.range(n_windows * n_strands).map(
        lambda j: (j % n_strands, (j // n_strands) * shift)
    )
    if random_offset:
        offset = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
        starts = offset.flat_map(
            lambda r: starts.map(lambda s, b: (s, tf.minimum(b + tf.math.floormod(r, shift), span)))
        ).apply(tf.data.experimental.assert_cardinality(n_windows * n_strands))
    if shuffle:
        starts = starts.shuffle(n_windows * n_strands, seed=seed, reshuffle_each_iteration=True)
    ds = starts.map(lambda s, b: tf.cast(tensor[s, b : b + window + 1], tf.int32))

    def to_example(seg):
        x = seg[:-1]
        y = seg[1:]
        w = tf.cast(tf.not_equal(y, MASK), tf.float32)
        y = tf.where(tf.equal(y, MASK), tf.zeros_like(y), y)
        return x, y, w

    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


reverse_complement_codes = reverse_complement


@dataclass
class GenomeSplit:
    """A genome cut for a next-base model: train ``[0, val_start)``, validation, test ``[test_start, n)``.

    Attributes:
        genome: the :class:`Genome` read from the file.
        codes: the bases used (``genome.codes``, or its first ``max_bases``).
        val_start, test_start: where the validation slice and the held-out tail start.
        coding: boolean mask "inside a feature of ``feature_types``" over ``codes``,
            or None when the file has no annotation.
        gene_starts, gene_stops: first and last base of every such feature
            (``genome.codes`` coordinates), or None without annotation.
    """

    genome: Genome
    codes: np.ndarray
    val_start: int
    test_start: int
    coding: np.ndarray | None = None
    gene_starts: np.ndarray | None = None
    gene_stops: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.codes.size)


def load_genome_split(
    path: str | os.PathLike | None = None,
    *,
    test_fraction: float = 0.1,
    val_fraction: float = 0.02,
    window: int = 128,
    max_bases: int | None = None,
    feature_types: Sequence[str] = ("CDS",),
) -> GenomeSplit:
    """Read a genome and cut it into training, validation and test parts.

    The test part is the last ``test_fraction`` of the bases, the validation
    slice the ``val_fraction`` just before it, and training gets the rest.

    Args:
        path: FASTA/GenBank file, plain or gzip (default: the bundled
            *E. coli* K-12, :func:`default_genome_path`).
        test_fraction: held-out tail, in (0, 0.5).
        val_fraction: validation slice before the tail, in (0, 0.5).
        window: training window length; the training part must be longer.
        max_bases: use only the first this-many bases (None: all).
        feature_types: annotated feature types marked in ``coding``.

    Returns:
        A :class:`GenomeSplit`.

    Raises:
        ValueError: for a fraction outside (0, 0.5), or too few bases for
            ``window`` and the fractions (each part needs at least 100 bases).

    Example:

    >>> split = load_genome_split(max_bases=60_000)
    >>> split.val_start, split.test_start, len(split)
    (52800, 54000, 60000)
    """
    path = Path(path) if path is not None else default_genome_path()
    genome = read_genome(path)
    codes = genome.codes
    coding = genome.feature_mask(tuple(feature_types)) if genome.features else None
    starts = stops = None
    if genome.features:
        starts, stops = genome.feature_ends(tuple(feature_types))
    if max_bases is not None:
        codes = codes[:max_bases]
        if coding is not None:
            coding = coding[: codes.size]
    n = codes.size
    for name, v in (("test_fraction", test_fraction), ("val_fraction", val_fraction)):
        if not 0.0 < v < 0.5:
            raise ValueError(f"{name} must lie in (0, 0.5), received {v}.")
    test_start = int(round(n * (1 - test_fraction)))
    val_start = int(round(n * (1 - test_fraction - val_fraction)))
    if val_start < window + 1 or test_start - val_start < 100 or n - test_start < 100:
        raise ValueError(f"{path}: {n} bases are too few for window {window} with these fractions.")
    return GenomeSplit(genome, codes, val_start, test_start, coding, starts, stops)
