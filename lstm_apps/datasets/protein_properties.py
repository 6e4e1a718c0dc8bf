"""Physical properties of every prefix of a protein: net charge at a pH and mean hydrophobicity.

Both are Biopython's definitions, computed for all prefixes at once from
per-residue contributions (cumulative sums), so a protein of ``n`` residues
costs ``O(n)``:

* **net charge** (``Bio.SeqUtils.IsoelectricPoint``, Bjellqvist pK values):
  the partial charges ``1 / (1 + 10^(pH - pK))`` of K, R, H and the N-terminus
  minus ``1 / (1 + 10^(pK - pH))`` of D, E, C, Y and the C-terminus, with the
  terminal pK set by the first and the last residue of the prefix, as
  ``ProteinAnalysis(prefix).charge_at_pH(pH)`` computes it;
* **hydrophobicity**: the mean Kyte–Doolittle value
  (``Bio.SeqUtils.ProtParamData.kd``) of the prefix, i.e.
  ``ProteinAnalysis(prefix).gravy()``.

Masked residues (B, Z, J, X; see :mod:`lstm_apps.datasets.proteins`) carry
no charge and are left out of the hydrophobicity mean (0 until the first
known residue). :func:`prefix_composition` gives the bag of residue counts of
every prefix (counts and fractions), the features of the linear ceiling:
the charge is linear in the counts (up to the terminal pK), the mean
hydrophobicity linear in the fractions.

Example:

```python
codes = encode_protein("MKTAYIAKQR")
prefix_charge(codes)[-1]            # == ProteinAnalysis("MKTAYIAKQR").charge_at_pH(7.0)
prefix_hydrophobicity(codes)[-1]    # == ProteinAnalysis("MKTAYIAKQR").gravy()
```
"""

from __future__ import annotations

import numpy as np

from lstm_apps.datasets.proteins import AMINO_ACIDS, MASK

__all__ = [
    "residue_charges",
    "prefix_charge",
    "prefix_hydrophobicity",
    "prefix_composition",
    "standardized_properties",
    "PROPERTIES",
]

_N_CODES = MASK + 1


def _positive(pK, ph):
    return 1.0 / (10.0 ** (ph - pK) + 1.0)


def _negative(pK, ph):
    return 1.0 / (10.0 ** (pK - ph) + 1.0)


def _codes(codes) -> np.ndarray:
    arr = np.asarray(codes)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"codes must be a non-empty 1-D array of residue codes, received shape {arr.shape}.")
    if arr.min() < 0 or arr.max() > MASK:
        raise ValueError(f"codes must hold residue codes 0..{MASK}, received {arr.min()}..{arr.max()}.")
    return arr.astype(np.int64, copy=False)


def residue_charges(ph: float = 7.0) -> dict[str, np.ndarray]:
    """Per-code charge contributions at ``ph`` from Biopython's pK tables.

    Returns:
        ``{"side_chain", "n_terminus", "c_terminus"}``: arrays of length 21
        indexed by residue code (mask last), the side chain's charge of each
        residue, and the charge of the N-terminus (C-terminus) when that
        residue is the first (last) one of the chain.
    """
    from Bio.SeqUtils import IsoelectricPoint as iep

    letters = AMINO_ACIDS + "X"
    side = np.zeros(_N_CODES)
    for i, a in enumerate(letters):
        if a in iep.positive_pKs:
            side[i] += _positive(iep.positive_pKs[a], ph)
        if a in iep.negative_pKs:
            side[i] -= _negative(iep.negative_pKs[a], ph)
    n_term = np.array([_positive(iep.pKnterminal.get(a, iep.positive_pKs["Nterm"]), ph) for a in letters])
    c_term = np.array([-_negative(iep.pKcterminal.get(a, iep.negative_pKs["Cterm"]), ph) for a in letters])
    return {"side_chain": side, "n_terminus": n_term, "c_terminus": c_term}


def prefix_charge(codes, ph: float = 7.0) -> np.ndarray:
    """Net charge at ``ph`` of every prefix ``codes[:t]``, ``t = 1..n`` (Biopython's ``charge_at_pH``).

    Example:

    >>> from lstm_apps.datasets.proteins import encode_protein
    >>> round(float(prefix_charge(encode_protein("KKD"))[-1]), 3)
    0.762
    """
    codes = _codes(codes)
    table = residue_charges(ph)
    return np.cumsum(table["side_chain"][codes]) + table["n_terminus"][codes[0]] + table["c_terminus"][codes]


def prefix_hydrophobicity(codes) -> np.ndarray:
    """Mean Kyte–Doolittle hydrophobicity of every prefix (Biopython's ``gravy()``); masks left out.

    Example:

    >>> from lstm_apps.datasets.proteins import encode_protein
    >>> prefix_hydrophobicity(encode_protein("IR")).round(2).tolist()
    [4.5, 0.0]
    """
    from Bio.SeqUtils.ProtParamData import kd

    codes = _codes(codes)
    scale = np.array([kd[a] for a in AMINO_ACIDS] + [0.0])
    known = np.cumsum(codes < MASK)
    return np.cumsum(scale[codes]) / np.maximum(known, 1)


def prefix_composition(codes) -> np.ndarray:
    """The bag of residues of every prefix: 20 counts and 20 fractions per position, shape ``(n, 40)``.

    Example:

    >>> from lstm_apps.datasets.proteins import encode_protein
    >>> prefix_composition(encode_protein("AAC"))[-1, [0, 1, 20, 21]].round(3).tolist()
    [2.0, 1.0, 0.667, 0.333]
    """
    codes = _codes(codes)
    counts = np.cumsum(np.eye(_N_CODES)[codes][:, :MASK], axis=0)
    lengths = np.arange(1, codes.size + 1)[:, None]
    return np.concatenate([counts, counts / lengths], axis=1)


#: The probed properties, by name: ``codes -> value of every prefix``.
PROPERTIES = {"charge": prefix_charge, "hydrophobicity": prefix_hydrophobicity}


def standardized_properties(proteins) -> dict:
    """:data:`PROPERTIES` scaled to zero mean and unit variance over every prefix of ``proteins``.

    For auxiliary training targets (a charge grows with the prefix; a scaled
    target keeps its loss comparable to the others).

    Returns:
        ``{name: codes -> standardized values of every prefix}``; each
        function carries its ``mean`` and ``std`` as attributes.

    Example:

    >>> targets = standardized_properties(split.train)
    >>> targets["charge"](split.train[0].codes)[:3]
    """
    codes = [np.asarray(getattr(p, "codes", p)) for p in proteins]
    if not codes:
        raise ValueError("standardized_properties needs at least one protein, received none.")
    out = {}
    for name, fn in PROPERTIES.items():
        values = np.concatenate([fn(c) for c in codes])
        mean, std = float(values.mean()), float(values.std()) or 1.0

        def scaled(c, fn=fn, mean=mean, std=std):
            return (fn(c) - mean) / std

        scaled.mean, scaled.std = mean, std
        out[name] = scaled
    return out
