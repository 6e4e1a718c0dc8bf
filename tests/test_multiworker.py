"""--distribute multiworker: two worker processes on the loopback address train as one process does.

The slow tests start ``tests/multiworker_recipe.py`` as two workers (``TF_CONFIG`` on free ports
chosen at run time, CPU only) and alone, with the same seed and global batch, and compare the final
weights of every fit (arrays, a shuffled tf.data pipeline, an iterator of batches, a fit stopped by
the chief's time budget) within 1e-5; the chief alone writes the run folder, and a run interrupted
on both workers resumes from the chief's backup to the same weights; workers started with other
flags stop together; no recipe starts TensorFlow before ``start_run``. The fast tests check the
pieces that need no cluster.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "tests" / "multiworker_recipe.py"
FITS = ("arrays", "dataset", "iterator", "budget")
ATOL = 1e-5  # float32 training: the replicas' halves are summed in another order than one batch's


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _tf_configs(n: int) -> list[dict]:
    """``TF_CONFIG`` of each of ``n`` workers on free loopback ports."""
    hosts = [f"127.0.0.1:{port}" for port in _free_ports(n)]
    return [{"cluster": {"worker": hosts}, "task": {"type": "worker", "index": i}} for i in range(n)]


def _env(tf_config=None) -> dict:
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _start(out: Path, runs: Path, distribute: str, extra=(), tf_config=None) -> subprocess.Popen:
    argv = [sys.executable, str(RECIPE), "--out", str(out), "--runs-dir", str(runs), "--seed", "0"]
    argv += ["--distribute", distribute, "--max-minutes", "60", *extra]
    log = open(out.parent / f"{out.name}-{len(list(out.parent.glob(out.name + '-*.log')))}.log", "w")  # noqa: SIM115
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=_env(tf_config), cwd=ROOT)


def _workers(out: Path, runs: Path, extra=(), each=((), ())) -> list[subprocess.Popen]:
    """Two workers on free loopback ports, ``each[i]`` added to worker ``i``'s flags."""
    return [_start(out, runs, "multiworker", [*extra, *more], c) for c, more in zip(_tf_configs(2), each)]


def _wait(procs, out: Path, timeout=900) -> list[int]:
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
    return codes


def _logs(out: Path) -> str:
    return "\n".join(p.read_text()[-3000:] for p in sorted(out.parent.glob(out.name + "-*.log")))


def _weights(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return dict(data)


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for fit in FITS:
        keys = [k for k in a if k.startswith(fit + "_")]
        assert keys, fit
        diff = max(float(np.abs(a[k] - b[k]).max()) for k in keys)
        assert diff < ATOL, f"{fit}: the weights differ by {diff}"
    for name, rows in (("predict", 64), ("predict_on_batch", 5)):  # one copy of the outputs, in order
        assert a[name].shape == b[name].shape == (rows, 1), name
        np.testing.assert_allclose(a[name], b[name], atol=ATOL)


@pytest.mark.slow  # two workers and a single process: 1.5 min on a busy 2-core machine
def test_two_workers_train_as_one_process(tmp_path):
    single_out, multi_out = tmp_path / "single", tmp_path / "multi"
    single_out.mkdir()
    multi_out.mkdir()
    procs = [_start(single_out, tmp_path / "runs_single", "none"), *_workers(multi_out, tmp_path / "runs")]
    codes = _wait(procs, multi_out)
    assert codes == [0, 0, 0], _logs(single_out) + _logs(multi_out)

    single = _weights(single_out / "single.npz")
    chief, other = _weights(multi_out / "worker0.npz"), _weights(multi_out / "worker1.npz")
    _assert_same_weights(chief, other)
    _assert_same_weights(single, chief)
    start = {k: v for k, v in single.items()}  # training moved the weights: a fit that did nothing fails
    assert all(np.abs(v).max() > 0 for v in start.values())

    notes = {name: json.loads((multi_out / f"{name}.json").read_text()) for name in ("worker0", "worker1")}
    alone = json.loads((single_out / "single.json").read_text())
    for name, note in notes.items():
        # the StopWhen that fired on the chief only stopped both after 2 of 3 epochs ...
        assert note["epochs"]["arrays"] == alone["epochs"]["arrays"] == 2, name
        assert note["stop_reason"] == "enough", name
        # ... and the chief's spent budget stopped both after one step of the last fit
        assert note["iterations"]["budget"] == alone["iterations"]["budget"] == 1, name
        assert note["stopped_by"] == "wall", name
        assert note["iterations"] == alone["iterations"], name
        np.testing.assert_allclose(note["arrays_loss"], alone["arrays_loss"], rtol=1e-5)

    # only the chief wrote a run folder; the other worker's temporary folder is gone
    assert notes["worker0"]["is_chief"] and not notes["worker1"]["is_chief"]
    (folder,) = (tmp_path / "runs" / "multiworker_check").iterdir()
    assert Path(notes["worker0"]["path"]) == folder
    assert not Path(notes["worker1"]["path"]).exists()
    assert not (folder / "run.lock").exists() and (folder / "model.keras").is_file()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["stopped_by_time_budget"] is True
    history = json.loads((folder / "history_arrays.json").read_text())
    np.testing.assert_allclose(history["loss"], alone["arrays_loss"], rtol=1e-5)
    assert len(history["val_loss"]) == 2


@pytest.mark.slow  # two pairs of workers and a single process: 2-4.5 min on a busy 2-core machine
def test_two_workers_resume_from_the_chiefs_backup(tmp_path):
    single_out, multi_out = tmp_path / "single", tmp_path / "multi"
    single_out.mkdir()
    multi_out.mkdir()
    runs = tmp_path / "runs"
    procs = [
        _start(single_out, tmp_path / "runs_single", "none"),
        *_workers(multi_out, runs, ["--crash-at-epoch", "1"]),
    ]
    codes = _wait(procs, multi_out)
    assert codes == [0, 2, 2], _logs(single_out) + _logs(multi_out)
    (folder,) = (runs / "multiworker_check").iterdir()
    assert (folder / "failed.json").is_file() and (folder / "backup_history_arrays").is_dir()
    assert not list(multi_out.glob("*.npz"))

    codes = _wait(_workers(multi_out, runs, ["--resume"]), multi_out)
    assert codes == [0, 0], _logs(multi_out)
    single = _weights(single_out / "single.npz")
    _assert_same_weights(single, _weights(multi_out / "worker0.npz"))
    _assert_same_weights(single, _weights(multi_out / "worker1.npz"))
    assert [p.name for p in (runs / "multiworker_check").iterdir()] == [folder.name]
    history = json.loads((folder / "history_arrays.json").read_text())
    assert len(history["loss"]) == 2  # epoch 1 from before the interruption, epoch 2 after it
    assert json.loads((folder / "config.json").read_text())["resumed"] is True


@pytest.mark.slow  # two workers that stop before training: under 2 min on a busy 2-core machine
def test_workers_started_with_other_flags_stop_together(tmp_path):
    out = tmp_path / "multi"
    out.mkdir()
    codes = _wait(_workers(out, tmp_path / "runs", each=((), ("--learning-rate", "0.1"))), out)
    assert codes == [2, 2], _logs(out)
    logs = _logs(out)
    assert "--learning-rate: 0.05 on the chief, 0.1 here" in logs and "same command" in logs
    assert not list((tmp_path / "runs" / "multiworker_check").iterdir())  # no run took place


# --------------------------------------------------------------------------
# Fast: the pieces that need no cluster
# --------------------------------------------------------------------------
def _batches(dataset) -> list[np.ndarray]:
    return [np.asarray(b[0]) for b in dataset]


def test_array_dataset_is_seeded_and_batched_globally():
    from lstm_apps.training.distributed import array_dataset

    x = np.arange(10, dtype="float32")[:, None]
    y = 2 * x
    plain = _batches(array_dataset(x, y, batch_size=4))
    assert [b.ravel().tolist() for b in plain] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    one = array_dataset(x, y, batch_size=4, shuffle=True, seed=3)
    two = array_dataset(x, y, batch_size=4, shuffle=True, seed=3)
    first, again = _batches(one), _batches(two)
    for a, b in zip(first, again, strict=True):  # another pipeline with the seed: the same batches
        np.testing.assert_array_equal(a, b)
    assert sorted(np.concatenate(first).ravel().tolist()) == list(range(10))
    second = np.concatenate(_batches(one)).ravel()
    assert second.tolist() != np.concatenate(first).ravel().tolist()  # a new order every pass
    x_b, y_b, w_b = next(iter(array_dataset({"a": x}, y, np.ones(10), batch_size=3)))
    assert set(x_b) == {"a"} and w_b.shape == (3,)
    np.testing.assert_array_equal(np.asarray(y_b), 2 * np.asarray(x_b["a"]))
    with pytest.raises(ValueError, match="equal lengths"):
        array_dataset(x, y[:5], batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        array_dataset(x, y, batch_size=0)


def test_generator_dataset_reads_pydatasets_and_iterators():
    import keras

    from lstm_apps.training.distributed import generator_dataset

    class Counting(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.ends = 0

        def __len__(self):
            return 3

        def on_epoch_end(self):
            self.ends += 1

        def __getitem__(self, i):
            steps = 2 + i  # sequences of another length in every batch
            return np.full((2, steps, 5), 10 * self.ends + i, "float32"), np.zeros((2, 1), "float32")

    source = Counting()
    dataset = generator_dataset(source)
    first = [float(np.asarray(x)[0, 0, 0]) for x, _ in dataset]
    second = [float(np.asarray(x)[0, 0, 0]) for x, _ in dataset]
    assert first == [0, 1, 2] and second == [10, 11, 12] and source.ends == 1  # on_epoch_end between passes
    assert dataset.element_spec[0].shape.as_list() == [None, None, 5]

    stream = iter([(np.ones((2, 3), "int32"), np.zeros(2, "float32"))] * 3)
    items = list(generator_dataset(stream))
    assert len(items) == 3 and items[0][0].dtype.name == "int32"
    with pytest.raises(ValueError, match="empty"):
        generator_dataset(iter([]))
    with pytest.raises(ValueError, match="PyDataset or an iterator"):
        generator_dataset([1, 2])


def test_distribute_fit_inputs_refusals_and_single_process_roles():
    import keras
    import tensorflow as tf

    from lstm_apps.training.distributed import Agreement, distribute_fit_inputs, is_multi_worker, worker_role

    strategy = tf.distribute.get_strategy()
    assert worker_role(strategy) is None and not is_multi_worker(strategy)
    with pytest.raises(ValueError, match="multi-worker strategy"):
        Agreement(strategy)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    x, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    with pytest.raises(ValueError, match="sample_weight instead"):
        distribute_fit_inputs(strategy, model, (x, y), {"class_weight": {0: 1.0}}, seed=0)
    with pytest.raises(ValueError, match="validation_data"):
        distribute_fit_inputs(strategy, model, (iter([(x, y)]),), {"validation_split": 0.5}, seed=0)
    with pytest.raises(ValueError, match="takes arrays"):
        distribute_fit_inputs(strategy, model, ([[1, 2]],), {}, seed=0)
    kwargs = distribute_fit_inputs(strategy, model, (x, y), {"validation_split": 0.25, "epochs": 2}, seed=0)
    assert kwargs["epochs"] == 2 and set(kwargs) == {"x", "validation_data", "epochs", "shuffle"}
    assert sum(int(b[0].shape[0]) for b in kwargs["validation_data"]) == 1  # the last quarter, held out


def test_multiworker_strategy_after_tensorflow_started_is_a_clear_error(monkeypatch):
    import tensorflow as tf

    from lstm_apps.training import make_strategy

    _ = tf.constant(1.0) + 1.0  # TensorFlow has run an operation: too late to configure collectives
    monkeypatch.setenv("TF_CONFIG", json.dumps(_tf_configs(2)[0]))
    with pytest.raises(ValueError, match="before TensorFlow runs its first operation"):
        make_strategy("multiworker")


# Every recipe must leave TensorFlow unstarted until start_run, which creates the multi-worker
# strategy first; run in a fresh interpreter (this one has started TensorFlow).
NO_TF_BEFORE_START_RUN = """
import runpy, sys
from pathlib import Path
from tensorflow.python.eager import context

import lstm_apps.training.run as harness


class Reached(Exception):
    pass


def start_run(recipe, args, extra_config=None):
    raise Reached(recipe)


started = []
for path in sorted(Path("recipes").glob("*.py")):
    module = runpy.run_path(str(path), run_name="recipe_under_test")
    module["main"].__globals__["start_run"] = start_run
    try:
        module["main"](["--quick"])
    except Reached:
        pass
    if context.context()._context_handle is not None:
        started.append(path.stem)
        break
print("STARTED", started)
"""


@pytest.mark.slow  # imports every recipe in a fresh interpreter: about 12 s of CPU, 25 s on a busy machine
def test_recipes_start_no_tensorflow_before_start_run():
    proc = subprocess.run(
        [sys.executable, "-c", NO_TF_BEFORE_START_RUN],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "STARTED []" in proc.stdout, proc.stdout[-2000:]
