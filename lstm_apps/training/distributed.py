"""Training across machines (``--distribute multiworker``): roles, agreement, and one sharded pipeline.

Every worker runs the same recipe: the same code, the same flags, the same
seed (set ``TF_CONFIG`` on each with its own index). ``MultiWorkerMirroredStrategy``
keeps the replicas' weights equal by all-reducing every gradient, so the
workers must also *do* the same things in the same order, or a collective
waits for a worker that never comes. The harness keeps them in step:

* **Roles** (:func:`worker_role`): the chief is the ``chief`` task, or worker
  0 when the cluster has none (TensorFlow's rule). Only the chief writes the
  run folder (``config.json``, histories, plots, ``metrics.json``, the lock,
  the time ledger, the backups); every other worker runs the same code but
  writes into a temporary folder that is deleted when the run ends: the
  multi-worker checkpoint pattern of TensorFlow's guide (all workers save, so
  that saving never waits on a collective; the non-chief copies go to
  temporary folders).
* **One pipeline, sharded by data** (:func:`distribute_fit_inputs`):
  ``Run.fit``'s arrays (``x``, ``y``, ``sample_weight``) become one
  ``tf.data`` pipeline of *global* batches (:func:`array_dataset`: seeded
  shuffle, the same on every worker), a ``keras.utils.PyDataset`` or a
  Python iterator of batches becomes one through
  :func:`generator_dataset`, and a ``tf.data.Dataset`` is taken as it is;
  each gets ``AutoShardPolicy.DATA`` set explicitly and goes through
  ``strategy.experimental_distribute_dataset``, which splits every global
  batch into one slice per replica. ``--batch-size`` is therefore the
  **global** batch: each of ``W`` workers (one replica each) trains on
  ``batch_size / W`` examples per step, and the weights follow the same path
  as a single process trained with that batch (the mean loss of a batch is
  the mean of the replicas' means, which equals the batch mean when the
  replicas' slices are equal: a batch size divisible by the number of
  replicas; a last, smaller batch is split as evenly as TensorFlow can).
  Data sharding needs every worker's pipeline to yield the same batches:
  arrays and seeded datasets do; a generator must be seeded.
* **Decisions from the chief** (:class:`Agreement`): a worker that stops
  training alone leaves the others waiting in the next all-reduce forever.
  So the time budget (``TimeBudget``, after every batch when a limit is
  set, and its spent seconds after every epoch), every ``StopWhen`` reason
  and, at the end of every epoch, ``model.stop_training`` (early stopping...)
  are the chief's, broadcast to all workers by one small all-reduce. Every
  worker still evaluates its criteria (they may run ``model.predict``, itself
  a collective); only the chief's answer counts. A run's clock is the
  chief's.
* **Resume**: ``BackupAndRestore`` follows TensorFlow's multi-worker rule:
  every worker backs up (the chief into the run folder, the others into
  their temporary folders) and a resumed run restores all workers from the
  chief's backup, which the other workers copy at the start, so the run
  folder must be on a file system every worker can read (as TensorFlow
  requires of ``backup_dir``). The chief chooses the folder (``--resume``
  without a folder picks the latest interrupted run) and tells the others.

Three defects of Keras 3 with ``MultiWorkerMirroredStrategy`` (keras-team/keras
#20585; TensorFlow's own multi-worker tutorial fails the same way) are
repaired by :func:`install_keras_fixes`, which :func:`make_strategy
<lstm_apps.training.make_strategy>` calls: ``fit`` and ``evaluate`` reduce a
whole input batch across workers to learn its shapes (``ValueError: Attempt
to convert a value (PerReplica:{...}) with an unsupported type``), and the
step's metrics are averaged over axis 0 of scalars; and ``predict_on_batch``
returns one copy of its outputs per worker, stacked. Written by hand because
no library repairs them; single-process training is untouched.

Example:

```python
# on each machine, with its own "index":
# TF_CONFIG='{"cluster": {"worker": ["host1:23456", "host2:23456"]}, "task": {"type": "worker", "index": 0}}'
args = recipe_parser("demo").parse_args(["--distribute", "multiworker"])
run = start_run("demo", args)  # creates the strategy first: before any TensorFlow op
with run.strategy.scope():
    model = build_model()
run.fit(model, x, y, batch_size=64)  # 64 examples per step in all, 32 on each of 2 workers
```
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import json
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_apps.training.keras_fixes import install_keras_fixes, is_multi_worker

__all__ = [
    "WorkerRole",
    "worker_role",
    "is_multi_worker",
    "Agreement",
    "array_dataset",
    "generator_dataset",
    "distribute_fit_inputs",
    "chief_stops",
    "open_on_workers",
    "install_keras_fixes",
    "WORKER_FREE_FLAGS",
]


#: Flags whose values may differ between the workers of a run: where and how visibly each works.
#: Every other flag (the seed, the data, ``--max-minutes``...) must be the chief's; ``--resume``
#: is the chief's choice (the others follow it).
WORKER_FREE_FLAGS = frozenset({"runs_dir", "verbose", "debug", "resume"})


@dataclass(frozen=True)
class WorkerRole:
    """This process's place in a multi-worker cluster.

    Attributes:
        index: the worker's position among all workers (the chief is 0).
        count: the number of workers (the chief included).
        is_chief: whether this worker writes the run folder.
        task: the ``TF_CONFIG`` task, e.g. ``"worker:1"``.
    """

    index: int
    count: int
    is_chief: bool
    task: str


def worker_role(strategy) -> WorkerRole | None:
    """This worker's :class:`WorkerRole` under ``strategy``; ``None`` when it is not multi-worker.

    The chief is the ``chief`` task of ``TF_CONFIG`` if there is one, else worker 0
    (``tf.distribute``'s rule).
    """
    if not is_multi_worker(strategy):
        return None
    resolver = strategy.cluster_resolver
    cluster = resolver.cluster_spec().as_dict()
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    chiefs = len(cluster.get("chief", []))
    count = chiefs + len(cluster.get("worker", []))
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not chiefs)
    index = task_id if task_type == "chief" else chiefs + task_id
    return WorkerRole(index=index, count=count, is_chief=is_chief, task=f"{task_type}:{task_id}")


class Agreement:
    """Broadcasts from the chief to every worker (one all-reduce each), so that all decide alike.

    Every worker must call the same methods in the same order (they are
    collectives); each returns the chief's value on every worker.

    Args:
        strategy: a multi-worker ``MultiWorkerMirroredStrategy``.

    Raises:
        RuntimeError: Keras runs on a backend other than TensorFlow (named).
        ValueError: ``strategy`` is not multi-worker.

    Example:

    >>> agree = Agreement(run.strategy)
    >>> stop = agree.flag(budget_spent)  # the chief's flag, on every worker
    """

    def __init__(self, strategy):
        from lstm_apps.backends import require_tensorflow

        require_tensorflow("--distribute multiworker (Agreement, a tf.distribute all-reduce)")
        import tensorflow as tf

        role = worker_role(strategy)
        if role is None:
            raise ValueError(f"Agreement needs a multi-worker strategy, received {type(strategy).__name__}.")
        self.strategy = strategy
        self.role = role
        local = max(1, len(strategy.extended.worker_devices))
        chief = tf.constant(role.is_chief)

        def total(values, only_chief):
            ctx = tf.distribute.get_replica_context()
            first = tf.equal(ctx.replica_id_in_sync_group % local, 0)  # one replica per worker counts
            mine = tf.logical_and(first, tf.logical_or(chief, tf.logical_not(only_chief)))
            return ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.where(mine, values, tf.zeros_like(values)))

        self._sum = tf.function(lambda v, c: strategy.run(total, args=(v, c)), reduce_retracing=True)

    def _reduce(self, values, only_chief: bool) -> np.ndarray:
        import tensorflow as tf

        vector = tf.constant(np.asarray(values, dtype="float64").reshape(-1))
        out = self._sum(vector, tf.constant(only_chief))
        return np.asarray(self.strategy.experimental_local_results(out)[0])

    def values(self, values) -> np.ndarray:
        """The chief's float64 vector ``values`` (the same length on every worker)."""
        return self._reduce(values, True)

    def any(self, flag) -> bool:
        """Whether ``flag`` is true on any worker (a barrier: every worker waits for all)."""
        return bool(self._reduce([1.0 if flag else 0.0], False)[0] > 0)

    def flag(self, value) -> bool:
        """The chief's truth value of ``value``."""
        return bool(self.values([1.0 if value else 0.0])[0])

    def object(self, value) -> Any:
        """The chief's ``value`` (JSON-able; others become their ``str``), by two broadcasts."""
        payload = json.dumps(value, default=str).encode("utf-8") if self.role.is_chief else b""
        size = int(self.values([len(payload)])[0])
        padded = 1 << max(4, (size - 1).bit_length())  # few distinct shapes to trace
        data = np.zeros(padded)
        data[: len(payload)] = np.frombuffer(payload, dtype=np.uint8)
        received = self.values(data)[:size].astype(np.uint8).tobytes()
        return json.loads(received.decode("utf-8"))


def chief_stops(agreement: Agreement):
    """A Keras callback (put it last) that makes ``model.stop_training`` the chief's after every epoch.

    Early stopping and the like decide from the epoch's logs, which the
    workers share; this keeps a decision taken on one worker only from
    ending its epochs alone.
    """
    import keras

    class _ChiefStops(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = agreement.flag(self.model.stop_training)

    return _ChiefStops()


def open_on_workers(recipe: str, args, strategy):
    """The run folder of every worker: the chief's run folder, a temporary one for each other worker.

    The chief opens the run folder (:func:`~lstm_apps.training.folders.open_run_folder`)
    and tells the others which folder it is, or why it could not open it (then every
    worker raises it). Each other worker makes a temporary folder; when resuming
    it copies the chief's folder into it (backups, histories, the time ledger), and
    with ``--continue-from`` it reads the parent run too, so the folders must be
    on a file system every worker reads. A worker started with other flags than the
    chief's (but those of :data:`WORKER_FREE_FLAGS`) stops them all.
    No worker goes on before all are ready.

    Returns:
        ``(opened, role, agreement)``: the :class:`~lstm_apps.training.folders.OpenedFolder`,
        this worker's :class:`WorkerRole` and the :class:`Agreement` (both ``None`` for a
        cluster of one worker).

    Raises:
        ValueError: the chief could not open the run folder, a worker could not read it, or
            the workers' flags differ.
    """
    from lstm_apps import io as _io
    from lstm_apps.training.folders import FINAL_STATE_DIR, OpenedFolder, open_run_folder
    from lstm_apps.training.lock import FAILED_FILE, LOCK_FILE

    role = worker_role(strategy)
    if role is None:
        return open_run_folder(recipe, args), None, None
    agreement = Agreement(strategy)
    problem = None
    config = _io.to_jsonable({k: v for k, v in vars(args).items() if not k.startswith("_")})
    if role.is_chief:
        try:
            opened = open_run_folder(recipe, args)
        except Exception as exc:
            agreement.object({"error": str(exc)})
            raise
        agreement.object({"path": str(opened.path), "resumed": opened.resumed, "config": config})
    else:
        told = agreement.object(None)
        if "error" in told:
            raise ValueError(f"{told['error']} (the chief could not open the run folder)")
        differences = [
            f"--{key.replace('_', '-')}: {told['config'].get(key)!r} on the chief, {config.get(key)!r} here"
            for key in sorted({*told["config"], *config} - WORKER_FREE_FLAGS)
            if told["config"].get(key) != config.get(key)
        ]
        if differences:
            problem = (
                f"worker {role.index} was started with other flags than the chief "
                f"({'; '.join(differences)}): start every worker with the same command."
            )
        path = Path(tempfile.mkdtemp(prefix=f"{recipe}-worker{role.index}-"))
        opened = OpenedFolder(path, resumed=told["resumed"])
        chief_path = Path(told["path"])
        try:
            if problem is None and opened.resumed:
                skip = shutil.ignore_patterns(LOCK_FILE, FAILED_FILE)
                shutil.copytree(chief_path, path, dirs_exist_ok=True, ignore=skip)
                opened.stored = _io.read_json(path / "config.json")
            elif problem is None and getattr(args, "continue_from", None):
                source = Path(args.continue_from)
                opened.parent_config = _io.read_json(source / "config.json")
                if not (source / FINAL_STATE_DIR).is_dir():
                    raise OSError(f"{source / FINAL_STATE_DIR} is not a folder")
        except (OSError, ValueError) as exc:
            problem = (
                f"worker {role.index} cannot read the run it continues ({exc}): with --distribute "
                "multiworker the run folders must be on a file system every worker reads."
            )
    if agreement.any(problem is not None):
        if opened.lock is not None:
            opened.lock.release()
        if not role.is_chief:
            shutil.rmtree(opened.path, ignore_errors=True)
        elif not opened.resumed:  # the chief's fresh folder, still empty: no run took place
            with contextlib.suppress(OSError):
                opened.path.rmdir()
        raise ValueError(problem or "another worker cannot take part in the run (see its error).")
    return opened, role, agreement


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------
def _with_data_sharding(dataset):
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _tuple_structure(value):
    """Lists become tuples (``tf.data`` reads a list as one tensor); dicts keep their keys."""
    if isinstance(value, list | tuple):
        return tuple(_tuple_structure(v) for v in value)
    if isinstance(value, Mapping):
        return {k: _tuple_structure(v) for k, v in value.items()}
    return value


def _is_array(value) -> bool:
    import tensorflow as tf

    return isinstance(value, np.ndarray | tf.Tensor) or type(value).__module__.startswith("pandas")


def _arrays(structure) -> bool:
    """Whether every leaf of ``structure`` is an array (``None`` leaves allowed)."""
    import keras

    leaves = [v for v in keras.tree.flatten(_tuple_structure(structure)) if v is not None]
    return bool(leaves) and all(_is_array(v) for v in leaves)


def array_dataset(x, y=None, sample_weight=None, *, batch_size: int = 32, shuffle: bool = False, seed=0):
    """A ``tf.data.Dataset`` of global batches ``(x, y[, sample_weight])`` from in-memory arrays.

    The examples are shuffled (``shuffle``) into a new order every pass,
    from ``seed``, so every worker that builds it sees the same batches;
    the last batch may be smaller. ``x`` and ``y`` may be nested (tuples,
    dicts) like Keras's.

    Args:
        x, y, sample_weight: arrays of equal length (``y``, ``sample_weight`` optional).
        batch_size: examples per (global) batch.
        shuffle: a fresh seeded order every pass over the data.
        seed: the shuffling seed.

    Returns:
        The dataset (its batches stacked along axis 0); ``fit`` takes it on every
        Keras backend (JAX and PyTorch read ``tf.data`` too).

    Example:

    >>> ds = array_dataset(x, y, batch_size=64, shuffle=True, seed=0)
    """
    import keras
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}.")
    parts = tuple(p for p in (x, y, sample_weight) if p is not None)
    structure = _tuple_structure(parts if len(parts) > 1 else parts[0])
    tensors = keras.tree.map_structure(
        lambda a: tf.constant(np.asarray(a)) if not isinstance(a, tf.Tensor) else a, structure
    )
    lengths = {int(t.shape[0]) for t in keras.tree.flatten(tensors)}
    if len(lengths) != 1:
        raise ValueError(f"x, y and sample_weight must have equal lengths, received {sorted(lengths)}.")
    (n,) = lengths
    indices = tf.data.Dataset.range(n)
    if shuffle:
        indices = indices.shuffle(n, seed=int(seed), reshuffle_each_iteration=True)
    batches = indices.batch(int(batch_size)).map(
        lambda i: keras.tree.map_structure(lambda t: tf.gather(t, i), tensors)
    )
    return batches.prefetch(tf.data.AUTOTUNE)


def _relaxed_spec(value):
    """A ``tf.TensorSpec`` with every size unknown but the last of rank-3+ arrays (the features)."""
    import tensorflow as tf

    array = np.asarray(value)
    dtype = tf.string if array.dtype.kind in "OUS" else tf.as_dtype(array.dtype)
    shape = [None] * array.ndim
    if array.ndim >= 3:
        shape[-1] = array.shape[-1]
    return tf.TensorSpec(shape, dtype)


def generator_dataset(source):
    """A ``tf.data.Dataset`` of the batches of a ``keras.utils.PyDataset`` or of a Python iterator.

    A ``PyDataset`` gives one pass per epoch (``source[0] ... source[len-1]``;
    an endless one, no ``len``, keeps counting) and its ``on_epoch_end`` is
    called before every pass after the first, so a reshuffle happens at the
    same point on every worker. An iterator (a generator of batches) is read
    on, across passes, the way Keras reads it with ``steps_per_epoch``. Every
    size is left unknown but the feature size of rank-3+ arrays, so batches
    may vary in length. The first batch is read once to learn the structure.

    TensorFlow backend only: on JAX and PyTorch, ``fit`` first reads a pass of
    the dataset to build the model's metrics and optimizer (TensorFlow reads
    the element spec instead), and batches of an iterator read in that pass
    would never be trained on; give ``fit`` the ``PyDataset`` or iterator
    itself there.

    Args:
        source: the ``PyDataset`` or iterator; each item a batch ``(x, y[, w])``.

    Returns:
        The dataset.

    Raises:
        RuntimeError: Keras runs on a backend other than TensorFlow (named).
        ValueError: ``source`` is neither, or an empty iterator.

    Example:

    >>> ds = generator_dataset(iter(copy_batches(32, 100, seed=0)))
    """
    import keras
    import tensorflow as tf

    from lstm_apps.backends import require_tensorflow

    require_tensorflow("generator_dataset (the multi-worker harness's pipeline of an iterator)")

    if isinstance(source, keras.utils.PyDataset):
        size = getattr(source, "num_batches", None)
        passes = itertools.count()

        def items():
            if next(passes):
                source.on_epoch_end()
            if hasattr(source, "on_epoch_begin"):
                source.on_epoch_begin()
            for i in range(size) if size is not None else itertools.count():
                yield _tuple_structure(source[i])

        first = _tuple_structure(source[0])
    elif hasattr(source, "__next__"):
        try:
            first = _tuple_structure(next(source))
        except StopIteration:
            raise ValueError("the iterator of batches given to fit is empty.") from None
        waiting = [first]

        def items():
            while True:
                if waiting:
                    yield waiting.pop()
                    continue
                try:
                    item = next(source)
                except StopIteration:
                    return
                yield _tuple_structure(item)
    else:
        raise ValueError(
            "generator_dataset needs a keras.utils.PyDataset or an iterator of batches, received "
            f"{type(source).__name__}."
        )
    signature = keras.tree.map_structure(_relaxed_spec, first)
    return tf.data.Dataset.from_generator(items, output_signature=signature)


def _as_dataset(x, y, sample_weight, *, batch_size, shuffle, seed, what: str):
    """The global-batch ``tf.data.Dataset`` (or an already distributed one) for one input of fit."""
    import keras
    import tensorflow as tf

    if _arrays((x, y, sample_weight)):
        return array_dataset(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if y is not None or sample_weight is not None:
        raise ValueError(
            f"{what}: y and sample_weight go with arrays only; a {type(x).__name__} holds its own targets "
            "and weights."
        )
    if isinstance(x, tf.data.Dataset):
        return x
    if isinstance(x, tf.distribute.DistributedDataset):
        return x
    if isinstance(x, keras.utils.PyDataset) or hasattr(x, "__next__"):
        return generator_dataset(x)
    raise ValueError(
        f"{what} under --distribute multiworker takes arrays, a tf.data.Dataset, a keras.utils.PyDataset "
        f"or an iterator of batches; received {type(x).__name__}."
    )


def _distribute(strategy, dataset):
    import tensorflow as tf

    if isinstance(dataset, tf.distribute.DistributedDataset):
        return dataset  # distributed by the caller: its own sharding stands
    return strategy.experimental_distribute_dataset(_with_data_sharding(dataset))


def distribute_fit_inputs(strategy, model, args: tuple, kwargs: dict, seed) -> dict:
    """``model.fit``'s arguments with the training and validation data as distributed datasets.

    See the module docstring. ``batch_size`` (default 32, as Keras's) is the
    global batch; ``shuffle`` (default ``True``, as Keras's) shuffles arrays
    from ``seed``; ``validation_split`` holds out the last examples before
    shuffling, as Keras does; ``validation_batch_size`` defaults to
    ``batch_size``.

    Args:
        strategy: the multi-worker strategy.
        model: the model whose ``fit`` takes the arguments (for their names).
        args, kwargs: ``fit``'s positional and keyword arguments.
        seed: the shuffling seed of arrays (the same on every worker): an integer or a
            sequence of them (mixed by ``numpy.random.SeedSequence``).

    Returns:
        The keyword arguments for ``model.fit``.

    Raises:
        ValueError: ``class_weight`` (give ``sample_weight`` instead), or data of another kind.
        RuntimeError: Keras runs on a backend other than TensorFlow (named).
    """
    from lstm_apps.backends import require_tensorflow

    require_tensorflow("--distribute multiworker (distribute_fit_inputs, tf.distribute datasets)")
    bound = dict(inspect.signature(model.fit).bind_partial(*args, **kwargs).arguments)
    seed = int(np.random.SeedSequence(seed).generate_state(1)[0] % 2**31)
    if bound.pop("class_weight", None) is not None:
        raise ValueError(
            "class_weight is not supported under --distribute multiworker: pass the weights of the "
            "examples as sample_weight instead."
        )
    x = bound.pop("x", None)
    y = bound.pop("y", None)
    sample_weight = bound.pop("sample_weight", None)
    batch_size = bound.pop("batch_size", None) or 32
    shuffle = bool(bound.pop("shuffle", True))
    split = float(bound.pop("validation_split", 0.0) or 0.0)
    validation = bound.get("validation_data")
    if split and _arrays((x, y, sample_weight)):
        import keras

        parts = keras.tree.map_structure(
            lambda a: None if a is None else np.asarray(a), _tuple_structure((x, y, sample_weight))
        )
        n = len(next(a for a in keras.tree.flatten(parts) if a is not None))
        cut = int(n * (1.0 - split))
        x, y, sample_weight = keras.tree.map_structure(lambda a: None if a is None else a[:cut], parts)
        tail = keras.tree.map_structure(lambda a: None if a is None else a[cut:], parts)
        if validation is None:
            validation = tail
    elif split:
        raise ValueError(
            f"validation_split={split} needs arrays (Keras's rule); give validation_data for a "
            f"{type(x).__name__}."
        )
    if _arrays((x, y, sample_weight)):
        replicas = strategy.num_replicas_in_sync
        if batch_size % replicas:
            warnings.warn(
                f"batch_size {batch_size} does not split evenly over {replicas} replicas: each replica's "
                "mean loss counts alike, so the step differs slightly from one process's.",
                stacklevel=3,
            )
    train = _as_dataset(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, seed=seed, what="fit")
    bound["x"] = _distribute(strategy, train)
    bound["shuffle"] = False  # the pipeline shuffles (Keras would only warn that a dataset is not shuffled)
    if validation is not None:
        batch = bound.pop("validation_batch_size", None) or batch_size
        if isinstance(validation, tuple | list) and 2 <= len(validation) <= 3:
            vx, vy, vw = (*validation, None)[:3]
        else:
            vx, vy, vw = validation, None, None
        held = _as_dataset(vx, vy, vw, batch_size=batch, shuffle=False, seed=seed, what="validation_data")
        bound["validation_data"] = _distribute(strategy, held)
    return bound
