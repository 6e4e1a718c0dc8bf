"""Repairs of Keras 3's multi-worker ``fit``, ``evaluate`` and ``predict_on_batch`` (see
:mod:`lstm_apps.training.distributed`), kept apart so that the run-folder code can install
them without importing the multi-worker harness."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["install_keras_fixes", "is_multi_worker"]


def is_multi_worker(strategy) -> bool:
    """Whether ``strategy`` is a ``MultiWorkerMirroredStrategy`` spanning more than one worker."""
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    return bool(strategy.extended._in_multi_worker_mode())


# ---------------------------------------------------------------------------
# Keras repairs
# ---------------------------------------------------------------------------
_ORIGINALS: dict[str, Callable] = {}


def _local_spec(spec):
    """The spec of one replica's part of a distributed dataset's element."""
    components = getattr(spec, "_value_specs", None)
    return components[0] if components else spec


def install_keras_fixes() -> None:
    """Repair Keras 3's multi-worker ``fit``/``evaluate`` (see the module docstring); idempotent.

    Both replacements hand every strategy but a multi-worker one to Keras's own code.

    Raises:
        RuntimeError: Keras runs on a backend other than TensorFlow (named): the
            repairs are of its TensorFlow trainer.
    """
    from lstm_apps.backends import require_tensorflow

    require_tensorflow("--distribute multiworker (the repairs of Keras's TensorFlow trainer)")
    if _ORIGINALS:
        return
    import keras
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    reduce = tf_trainer.reduce_per_replica

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is None or not is_multi_worker(self.distribute_strategy):
            return build(self, iterator=iterator, data_batch=data_batch)
        # the shapes are all the build needs: take them from the element spec instead of
        # reducing a whole batch across workers (and consuming it)
        dataset = getattr(iterator, "_distributed_dataset", None) or iterator.data_adapter.get_tf_dataset()
        spec = tf.nest.map_structure(_local_spec, dataset.element_spec)
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=spec)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and is_multi_worker(strategy):
            # a step's metrics are scalars: the mean over replicas, not over an axis 0 they lack
            return keras.tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return reduce(values, strategy, reduction)

    def predict_on_batch(self, x):
        if not is_multi_worker(self.distribute_strategy):
            return on_batch(self, x)
        # a batch that is not distributed reaches every replica whole, and Keras would gather the
        # replicas' equal outputs into one array per worker: compute it here once, with no collective
        local = self.__dict__.get("_lstm_apps_local_predict")
        if local is None:
            local = tf.function(lambda data: self.predict_step(data), reduce_retracing=True)
            self.__dict__["_lstm_apps_local_predict"] = local
        return keras.tree.map_structure(tf_trainer.convert_to_np_if_not_ragged, local((x,)))

    on_batch = tf_trainer.TensorFlowTrainer.predict_on_batch
    _ORIGINALS.update(maybe_symbolic_build=build, reduce_per_replica=reduce, predict_on_batch=on_batch)
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer.predict_on_batch = predict_on_batch
