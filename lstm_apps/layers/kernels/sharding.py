"""Batch sharding of the kernels: one independent time loop per CPU core.

Sequences of a batch do not interact, so a large batch on a CPU can run as
several loops side by side (on TensorFlow's inter-op threads) with the same
results; :func:`auto_shards` picks their number, :func:`shard_sizes` splits a
batch evenly and :func:`sharded` runs a loop function on the pieces.
"""

from __future__ import annotations

import os

from lstm_apps.layers.kernels.scan import tf_module

__all__ = ["SHARD_MIN_BATCH", "auto_shards", "shard_sizes", "sharded"]

#: ``shards="auto"`` splits a batch of at least this many sequences into one
#: independent loop per CPU core, with at least half this many sequences each
#: (the loops run side by side on TensorFlow's inter-op threads); smaller
#: batches, and batches whose size is unknown when the function is traced,
#: run as one loop
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


def auto_shards(batch):
    """Loops a batch is split into by ``shards="auto"`` (1 on a GPU or for small batches)."""
    if batch is None or batch < SHARD_MIN_BATCH or tf_module().config.list_logical_devices("GPU"):
        return 1
    return max(1, min(_cpu_cores(), batch // (SHARD_MIN_BATCH // 2)))


def shard_sizes(batch, shards):
    """Sizes of ``shards`` near-equal parts of a batch (the first ones one larger), or
    ``None`` when the batch runs as one loop (one shard, or a batch unknown or too small)."""
    if shards == 1 or batch is None or batch < shards:
        return None
    return [batch // shards + (1 if i < batch % shards else 0) for i in range(shards)]


def sharded(fwd, shards, args, extra):
    """``fwd`` on ``shards`` parts of the batch (axis 1 of ``proj`` and the mask, 0 of the
    states), outputs joined again: independent loops TensorFlow runs side by side."""
    tf = tf_module()
    sizes = shard_sizes(args[0].shape[1], shards)
    if sizes is None:
        return fwd(*args, *extra)
    proj, kernel, h0, s0 = args
    pieces = [tf.split(proj, sizes, axis=1), tf.split(h0, sizes, axis=0), tf.split(s0, sizes, axis=0)]
    pieces += [tf.split(m, sizes, axis=1) for m in extra]
    outs = [fwd(p, kernel, h, s, *rest) for p, h, s, *rest in zip(*pieces)]
    return [tf.concat(list(col), axis=1) for col in zip(*outs)]
