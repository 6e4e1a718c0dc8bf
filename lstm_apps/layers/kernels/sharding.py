"""Batch sharding of the kernels: one independent time loop per CPU core.

Sequences of a batch do not interact, so a large batch on a CPU can run as
several loops side by side (on TensorFlow's inter-op threads) with the same
results. A kernel splits its batch-major inputs along the batch (contiguous
pieces), runs the forward and backward passes of each piece apart, and joins
only the outputs. :func:`auto_shards` picks the number of loops,
:func:`split_sizes` the sizes of the pieces, and :func:`dispatch` runs a
kernel with a shard count fixed when the function is traced or, when the
batch size is unknown then (``keras.Input((T, F))``, ``fit``, ``predict``),
chosen when it runs: every candidate count is traced as a branch of one
``tf.switch_case`` and the batch size picks the branch.
"""

from __future__ import annotations

import os

from lstm_apps.layers.kernels.scan import tf_module

__all__ = ["SHARD_MIN_BATCH", "auto_shards", "candidates", "dispatch", "max_shards", "split_sizes"]

#: ``shards="auto"`` splits a batch of at least this many sequences into one
#: independent loop per CPU core, with at least half this many sequences each
#: (the loops run side by side on TensorFlow's inter-op threads); smaller
#: batches run as one loop. A batch size unknown when the function is traced
#: is read when it runs (:func:`dispatch`).
SHARD_MIN_BATCH = 128


def _cpu_cores():
    tf = tf_module()
    threads = tf.config.threading.get_inter_op_parallelism_threads()
    if threads:
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def max_shards():
    """The most loops ``shards="auto"`` uses: one per CPU core, 1 when a GPU is visible."""
    if tf_module().config.list_logical_devices("GPU"):
        return 1
    return max(1, _cpu_cores())


def _auto_rule(batch, cores):
    """Loops for ``batch`` sequences (a number or a scalar tensor) with ``cores`` cores."""
    tf = tf_module()
    if isinstance(batch, int):
        return 1 if batch < SHARD_MIN_BATCH else max(1, min(cores, batch // (SHARD_MIN_BATCH // 2)))
    wanted = tf.minimum(cores, batch // (SHARD_MIN_BATCH // 2))
    return tf.where(batch < SHARD_MIN_BATCH, 1, tf.maximum(wanted, 1))


def auto_shards(batch):
    """Loops a batch is split into by ``shards="auto"`` (1 on a GPU or for small batches).

    ``batch=None`` (unknown when traced) gives the most loops a batch may get,
    :func:`max_shards`; :func:`dispatch` then picks the count at run time.
    """
    cores = max_shards()
    if batch is None:
        return cores
    return _auto_rule(int(batch), cores)


def candidates(shards, auto):
    """The shard counts traced for a batch of unknown size: powers of two up to ``shards``
    and ``shards`` itself with ``auto``, else 1 and ``shards``."""
    if shards == 1:
        return [1]
    if not auto:
        return [1, shards]
    counts, k = {1, shards}, 2
    while k < shards:
        counts.add(k)
        k *= 2
    return sorted(counts)


def split_sizes(batch, shards):
    """Sizes of ``shards`` near-equal parts of a batch (the first ones one larger).

    ``batch`` is a number (sizes as a list, or ``None`` when the batch runs as
    one loop: one shard, or fewer sequences than shards) or a scalar tensor
    (sizes as a tensor; the caller makes sure that ``batch >= shards``).
    """
    if shards == 1:
        return None
    if isinstance(batch, int):
        if batch < shards:
            return None
        return [batch // shards + (1 if i < batch % shards else 0) for i in range(shards)]
    tf = tf_module()
    extra = tf.cast(tf.range(shards) < batch % shards, batch.dtype)
    return batch // shards + extra


def dispatch(run, batch, static_batch, shards, auto):
    """``run(n)`` with the shard count ``n`` for this batch.

    Args:
        run: ``run(n) -> tensors``, the kernel on ``n`` shards (it splits its
            inputs with :func:`split_sizes`).
        batch: the batch size as a scalar tensor.
        static_batch: the batch size when known at trace time, else ``None``.
        shards: the shard count: the one to use (``static_batch`` known), or
            the most to use (unknown).
        auto: ``shards`` came from ``"auto"``: at run time a batch gets the
            count of :func:`auto_shards` (rounded down to a candidate);
            otherwise ``shards`` when the batch has that many sequences, else 1.

    Returns:
        What ``run`` returns. With an unknown batch size and more than one
        candidate, every candidate is traced as a branch of a
        ``tf.switch_case`` (gradients flow through the branch taken).
    """
    if static_batch is not None:
        return run(shards if split_sizes(int(static_batch), shards) is not None else 1)
    options = candidates(shards, auto)
    if len(options) == 1:
        return run(options[0])
    tf = tf_module()
    batch = tf.cast(batch, tf.int32)
    target = _auto_rule(batch, shards) if auto else tf.where(batch >= shards, shards, 1)
    index = tf.add_n([tf.cast(target >= n, tf.int32) for n in options[1:]])
    return tf.switch_case(index, [lambda n=n: run(n) for n in options])
