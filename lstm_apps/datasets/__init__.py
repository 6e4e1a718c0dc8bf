"""Loaders and generators of the recipes' data, one module per domain.

Submodules are imported when first used (``lstm_apps.datasets.genome``, or
``from lstm_apps.datasets import genome``), so a core module importing one of
them (:mod:`lstm_apps.layers.methylation` imports :mod:`.methylation`) does
not load the others and the libraries of the ``recipes`` extra they need.
"""

import importlib

_SUBMODULES = (
    "dictionary",  # read_ding, download_ding, load_extra_pairs
    "forgetting",  # load_ebbinghaus, simulate_review_logs, load_review_log, ...
    "genome",  # read_genome, window_dataset, ...
    "methylation",  # simulate_methylation, corrected_fraction
    "prices",  # load_returns, download_prices, read_price_csv, load_sp500, ...
    "proteins",  # read_proteins, find_orfs, load_protein_split, protein_batches
    "sentiment",  # generate_reviews, ngram_ceiling, load_csv, load_folder, load_imdb
    "tasks",  # adding_problem, embedded_reber, temporal_order, ... the 1997 tasks
    "translation",  # number_pairs, load_pairs, load_anki_fra, ...
    "word_vectors",  # load_word_vectors, embedding_matrix, download_glove_100d
)

__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
