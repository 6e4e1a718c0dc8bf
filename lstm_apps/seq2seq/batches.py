"""Length-bucketed, padded teacher-forcing batches: :class:`PairBatches`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstm_apps.seq2seq.tokenizers import BOS, EOS, PAD

__all__ = ["PairBatches"]


def _pad(seqs: Sequence[Sequence[int]], multiple: int = 1, min_len: int = 1) -> np.ndarray:
    n = max(min_len, max((len(s) for s in seqs), default=0))
    n = -(-n // multiple) * multiple
    out = np.zeros((len(seqs), n), dtype="int32")
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return out


class PairBatches:
    """Length-bucketed teacher-forcing batches of id sequences.

    Pairs are sorted by length (with a little seeded noise), cut into
    batches of similar lengths, and each batch is padded only to its own
    longest sequence (rounded up to a multiple of ``pad_multiple``, which
    bounds how many shapes the training function sees). The batch order is
    reshuffled every epoch. Pass :meth:`dataset` (a ``tf.data.Dataset``
    whose every pass is one epoch) to ``model.fit``.

    Extra pairs (a dictionary, say) can be far more numerous than the
    sentence pairs: every epoch then mixes all sentence pairs with the next
    ``extra_per_epoch`` extra pairs of a seeded shuffle, so the sentences
    keep their weight and successive epochs walk through all extra pairs.

    Each batch is ``((source, target_in), target_out, weights)`` with
    ``target_in = <s> y``, ``target_out = y </s>`` and ``weights`` 1 on real
    target tokens, 0 on padding.

    Args:
        source_ids, target_ids: the pairs, lists of id lists.
        batch_size: pairs per batch.
        shuffle: shuffle the batch order every epoch (and add noise to the
            length sort); ``False`` for fixed dev/validation batches.
        seed: NumPy seed.
        pad_multiple: batches are padded to a multiple of this length.
        extra_source_ids, extra_target_ids: extra training pairs.
        extra_per_epoch: how many extra pairs each epoch holds (default
            ``len(source_ids)``, at most all of them).
    """

    def __init__(
        self,
        source_ids,
        target_ids,
        batch_size: int = 64,
        shuffle: bool = True,
        seed: int = 0,
        pad_multiple: int = 4,
        extra_source_ids=(),
        extra_target_ids=(),
        extra_per_epoch: int | None = None,
    ):
        if len(source_ids) != len(target_ids):
            raise ValueError(
                "source_ids and target_ids must have equal length, "
                f"received {len(source_ids)} and {len(target_ids)}."
            )
        if not len(source_ids):
            raise ValueError("PairBatches needs at least one pair, received none.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}.")
        if len(extra_source_ids) != len(extra_target_ids):
            raise ValueError(
                "extra_source_ids and extra_target_ids must have equal length, "
                f"received {len(extra_source_ids)} and {len(extra_target_ids)}."
            )
        if extra_per_epoch is not None and (
            isinstance(extra_per_epoch, bool)
            or not isinstance(extra_per_epoch, (int, np.integer))
            or extra_per_epoch < 0
        ):
            raise ValueError(
                f"extra_per_epoch must be a non-negative integer or None, received {extra_per_epoch!r}."
            )
        self.batch_size = int(batch_size)
        self.source_ids = [list(s) for s in source_ids]
        self.target_ids = [list(t) for t in target_ids]
        self.n_main = len(self.source_ids)
        self.source_ids += [list(s) for s in extra_source_ids]
        self.target_ids += [list(t) for t in extra_target_ids]
        n_extra = len(self.source_ids) - self.n_main
        self.extra_per_epoch = min(n_extra, self.n_main if extra_per_epoch is None else int(extra_per_epoch))
        self.shuffle = shuffle
        self.pad_multiple = pad_multiple
        self.rng = np.random.default_rng(seed)
        self.lengths = np.array(
            [len(s) + len(t) for s, t in zip(self.source_ids, self.target_ids)], dtype="float64"
        )
        self._extra_order = self.n_main + self.rng.permutation(n_extra) if n_extra else np.arange(0)
        self._extra_next = 0
        self._epochs_started = 0
        self.batches = self._bucket(self._epoch_pairs())

    def _bucket(self, pairs: np.ndarray) -> list[np.ndarray]:
        noise = self.rng.uniform(0, 2, size=len(pairs)) if self.shuffle else 0.0
        order = pairs[np.argsort(self.lengths[pairs] + noise, kind="stable")]
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def _epoch_pairs(self) -> np.ndarray:
        """All sentence pairs and the next ``extra_per_epoch`` extra pairs."""
        picked = []
        need = self.extra_per_epoch
        while need:
            if self._extra_next == len(self._extra_order):
                self.rng.shuffle(self._extra_order)
                self._extra_next = 0
            take = self._extra_order[
                self._extra_next : self._extra_next + need
            ].copy()  # the shuffle below is in place
            self._extra_next += len(take)
            need -= len(take)
            picked.append(take)
        return np.concatenate([np.arange(self.n_main), *picked]) if picked else np.arange(self.n_main)

    def __len__(self):
        return len(self.batches)

    def batch(self, index: int):
        """The ``index``-th batch (in length order) of the current epoch."""
        idx = self.batches[index]
        src = _pad([self.source_ids[i] for i in idx], self.pad_multiple)
        tgt_in = _pad([[BOS] + self.target_ids[i] for i in idx], self.pad_multiple)
        tgt_out = _pad([self.target_ids[i] + [EOS] for i in idx], self.pad_multiple)  # same lengths as tgt_in
        return (src, tgt_in), tgt_out, (tgt_out != PAD).astype("float32")

    def __iter__(self):
        if self._epochs_started and self.extra_per_epoch:  # a new epoch draws the next extra pairs
            self.batches = self._bucket(self._epoch_pairs())
        self._epochs_started += 1
        order = np.arange(len(self.batches))
        if self.shuffle:
            self.rng.shuffle(order)
        for i in order:
            yield self.batch(int(i))

    def dataset(self):
        """A ``tf.data.Dataset`` of the batches, reshuffled every pass (``fit`` takes it on every backend)."""
        import tensorflow as tf

        ids = tf.TensorSpec((None, None), tf.int32)
        signature = ((ids, ids), ids, tf.TensorSpec((None, None), tf.float32))
        ds = tf.data.Dataset.from_generator(self.__iter__, output_signature=signature)
        return ds.apply(tf.data.experimental.assert_cardinality(len(self.batches))).prefetch(2)
