"""Nothing lost, nothing silently mixed: locks, --resume/--continue-from, failures, permissions, export data.

Several tests run ``tests/tiny_recipe.py`` as a real process (killed with
SIGKILL mid-training, failing before training) and resume or export its
folder.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from lstm_apps import io as lio
from lstm_apps.cli import load_recipe
from lstm_apps.training import recipe_parser, run_recipe_main, start_run
from lstm_apps.training.lock import LOCK_FILE, RunLock, RunLockedError, read_lock, run_state
from lstm_apps.training.run import FINAL_STATE_DIR

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TINY = TESTS / "tiny_recipe.py"


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return env


def _tiny():
    return load_recipe("tiny_recipe", folder=TESTS)


def _args(runs_dir, *extra):
    return recipe_parser("demo", "demo recipe", epochs=4, quick_epochs=1).parse_args(
        ["--runs-dir", str(runs_dir), *extra]
    )


def _data(n=32, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, 4)).astype("float32")
    return x, x.sum(1, keepdims=True)


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _sleeper():
    """A live process that is not this one (the owner of a lock)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def _lock_as(folder: Path, pid: int, host: str | None = None):
    (folder / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname()}))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --------------------------------------------------------------------------
# permissions: what the umask allows, not mkstemp's 0600
# --------------------------------------------------------------------------
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_artifacts_get_the_mode_the_umask_allows(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        assert lio.current_umask() == umask
        files = [
            lio.write_json(tmp_path / "metrics.json", {"a": 1}),
            lio.write_text(tmp_path / "results.md", "x"),
            lio.save_keras_model(_model(), tmp_path / "model.keras"),
            lio.save_keras_weights(_model(), tmp_path / "m.weights.h5"),
        ]
        from lstm_apps.export.samples import save_sample_inputs

        save_sample_inputs(tmp_path / "sample_inputs.npz", np.zeros((2, 3, 1), "float32"))
        files.append(tmp_path / "sample_inputs.npz")
        lock = RunLock.acquire(tmp_path)
        files.append(lock.path)
        for path in files:
            assert path.stat().st_mode & 0o777 == expected, (path.name, oct(path.stat().st_mode))
    finally:
        os.umask(old)


# --------------------------------------------------------------------------
# the lock: held while the run trains, released on finish and failure
# --------------------------------------------------------------------------
def test_run_holds_a_lock_naming_its_process_until_it_finishes(runs_dir):
    run = start_run("demo", _args(runs_dir))
    info = read_lock(run.path)
    assert info["pid"] == os.getpid() and info["host"] == socket.gethostname() and info["started"]
    assert run_state(run.path) == "interrupted"  # this very process holds it: not "running" for itself
    run.finish({"loss": 1.0})
    assert not run.file(LOCK_FILE).exists() and run_state(run.path) == "finished"


def test_resume_refuses_a_folder_whose_owner_is_alive_and_skips_it_without_a_folder(runs_dir):
    x, y = _data()
    run = start_run("demo", _args(runs_dir, "--epochs", "3", "--verbose", "0"))
    with pytest.raises(KeyboardInterrupt):
        run.fit(_model(), x, y, callbacks=[_Interrupt(at_epoch=0)])
    owner = _sleeper()
    try:
        _lock_as(run.path, owner.pid)
        assert run_state(run.path) == "running"
        with pytest.raises(RunLockedError, match=rf"locked by process {owner.pid} on host .*still running"):
            start_run("demo", _args(runs_dir, "--epochs", "3", "--verbose", "0", "--resume", str(run.path)))
        with pytest.raises(ValueError, match=rf"no unfinished run.*still in progress: .*process {owner.pid}"):
            start_run("demo", _args(runs_dir, "--epochs", "3", "--verbose", "0", "--resume"))
        with pytest.raises(RunLockedError, match=str(owner.pid)):
            RunLock.acquire(run.path)
        _lock_as(run.path, owner.pid, host="another-host")  # cannot be checked from here: alive
        assert run_state(run.path) == "running"
    finally:
        owner.kill()
        owner.wait()
    _lock_as(run.path, owner.pid)  # its process is gone: a stale lock, taken over
    assert run_state(run.path) == "interrupted"
    resumed = start_run("demo", _args(runs_dir, "--epochs", "3", "--verbose", "0", "--resume"))
    assert resumed.path == run.path and read_lock(run.path)["pid"] == os.getpid()
    resumed.fit(_model(), x, y)
    resumed.finish({})
    assert not resumed.file(LOCK_FILE).exists()


def test_a_half_written_lock_is_stale_and_a_dead_pid_is_taken_over(tmp_path):
    (tmp_path / LOCK_FILE).write_text('{"pid": ')
    assert run_state(tmp_path) == "interrupted"
    lock = RunLock.acquire(tmp_path)
    assert read_lock(tmp_path)["token"] == lock.token
    _lock_as(tmp_path, _dead_pid())
    assert not lock.held()
    lock.release()  # not its lock any more: left alone
    assert (tmp_path / LOCK_FILE).exists()
    again = RunLock.acquire(tmp_path)
    assert again.held() and [p.name for p in tmp_path.iterdir()] == [LOCK_FILE]
    again.release()
    assert not (tmp_path / LOCK_FILE).exists()


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated interruption")


# --------------------------------------------------------------------------
# --resume: never over a finished run, never with other flags
# --------------------------------------------------------------------------
def test_resume_refuses_a_finished_run_and_names_the_way_to_continue_it(runs_dir):
    x, y = _data()
    run = start_run("demo", _args(runs_dir, "--epochs", "2", "--verbose", "0"))
    run.fit(_model(), x, y)
    run.finish({"loss": 1.0})
    before = run.file("metrics.json").read_text()
    with pytest.raises(ValueError, match=rf"--resume: run folder '{run.path}' has finished.*--continue-from"):
        start_run("demo", _args(runs_dir, "--epochs", "2", "--verbose", "0", "--resume", str(run.path)))
    with pytest.raises(ValueError, match="no unfinished run"):
        start_run("demo", _args(runs_dir, "--epochs", "2", "--resume"))
    assert run.file("metrics.json").read_text() == before  # untouched
    run.file("metrics.json").unlink()  # (what was finished is not any more: resumable again)
    assert run_state(run.path) == "interrupted"


def test_resume_refuses_flags_that_change_the_result_and_names_them(runs_dir):
    x, y = _data()
    run = start_run("demo", _args(runs_dir, "--epochs", "3", "--verbose", "0", "--seed", "0"))
    with pytest.raises(KeyboardInterrupt):
        run.fit(_model(), x, y, callbacks=[_Interrupt(at_epoch=0)])
    config = run.file("config.json").read_text()
    bad = ["--epochs", "3", "--seed", "7", "--learning-rate", "0.01", "--resume", str(run.path)]
    with pytest.raises(ValueError, match=r"--seed: 0 in the run, 7 now; --learning-rate: 0\.001 in the run"):
        start_run("demo", _args(runs_dir, *bad))
    with pytest.raises(ValueError, match=r"--epochs: 3 in the run, 4 now"):  # the default is not the run's
        start_run("demo", _args(runs_dir, "--resume", str(run.path)))
    assert run.file("config.json").read_text() == config
    # flags that do not change the result may differ; config.json then records them
    resumed = start_run(
        "demo", _args(runs_dir, "--epochs", "3", "--verbose", "2", "--max-minutes", "5", "--resume")
    )
    assert resumed.path == run.path
    saved = json.loads(run.file("config.json").read_text())
    assert saved["resumed"] is True and saved["max_minutes"] == 5.0 and saved["seed"] == 0
    with pytest.raises(SystemExit):  # argparse: not allowed with each other
        _args(runs_dir, "--resume", "--continue-from", str(run.path))


def test_continue_from_trains_a_finished_run_further_in_a_new_folder(runs_dir):
    x, y = _data()
    run = start_run("demo", _args(runs_dir, "--epochs", "2", "--verbose", "0"))
    model = _model()
    run.fit(model, x, y)
    run.save_model(model)
    parent_metrics = run.finish({"loss": float(model.evaluate(x, y, verbose=0))})
    assert (run.path / FINAL_STATE_DIR / "history" / "latest.weights.h5").is_file()
    parent_history = json.loads(run.file("history.json").read_text())

    with pytest.raises(ValueError, match=r"--epochs above 2 \(received 2\)"):
        start_run("demo", _args(runs_dir, "--epochs", "2", "--continue-from", str(run.path)))
    with pytest.raises(ValueError, match=r"--continue-from: .*--seed: 0 in the run, 3 now"):
        start_run("demo", _args(runs_dir, "--epochs", "5", "--seed", "3", "--continue-from", str(run.path)))
    with pytest.raises(ValueError, match="does not exist"):
        start_run("demo", _args(runs_dir, "--epochs", "5", "--continue-from", str(runs_dir / "nope")))

    child = start_run(
        "demo", _args(runs_dir, "--epochs", "5", "--verbose", "0", "--continue-from", str(run.path))
    )
    assert child.path != run.path and child.path.parent == run.path.parent
    config = json.loads(child.file("config.json").read_text())
    assert config["continued_from"] == str(run.path.resolve()) and config["parent_epochs"] == 2
    counter = _Count()
    fresh = _model()
    history = child.fit(fresh, x, y, callbacks=[counter])
    assert counter.epochs == [2, 3, 4]  # the parent's 2 epochs are not trained again
    assert len(history.history["loss"]) == 5 and history.history["loss"][:2] == parent_history["loss"]
    assert history.history["loss"][2] < parent_history["loss"][1]  # from the parent's weights, not afresh
    metrics = child.finish({})
    assert metrics["train_seconds"] >= parent_metrics["train_seconds"]
    assert metrics["wall_seconds"] >= parent_metrics["wall_seconds"]
    assert json.loads(run.file("metrics.json").read_text()) == parent_metrics  # the parent is untouched

    unfinished = start_run("demo", _args(runs_dir, "--epochs", "2", "--verbose", "0"))
    with pytest.raises(ValueError, match=r"has not finished \(interrupted\).*--resume"):
        start_run("demo", _args(runs_dir, "--epochs", "5", "--continue-from", str(unfinished.path)))
    unfinished.finish({})
    with pytest.raises(ValueError, match="keeps no final training state"):
        start_run("demo", _args(runs_dir, "--epochs", "5", "--continue-from", str(unfinished.path)))


class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_a_fit_with_nothing_left_to_train_keeps_its_history(runs_dir):
    """A continued fit whose backup already holds every epoch trains none and keeps the whole history."""
    x, y = _data()
    run = start_run("demo", _args(runs_dir, "--epochs", "2", "--verbose", "0"))
    run.fit(_model(), x, y)
    run.finish({})
    child = start_run(
        "demo", _args(runs_dir, "--epochs", "3", "--verbose", "0", "--continue-from", str(run.path))
    )
    history = child.fit(_model(), x, y, epochs=2)  # a recipe may fix a fit's epochs itself
    assert len(history.history["loss"]) == 2
    assert json.loads(child.file("history.json").read_text()) == history.history


# --------------------------------------------------------------------------
# failures: failed.json, the lock released, one line for a ValueError
# --------------------------------------------------------------------------
def test_a_failure_after_start_run_is_recorded_and_releases_the_lock(tmp_path, capsys):
    tiny = _tiny()
    argv = ["--quick", "--runs-dir", str(tmp_path), "--fail", "before"]
    with pytest.raises(SystemExit) as exit_info:
        run_recipe_main(tiny.main, argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "tiny_recipe: error: --fail before: the data file 'tiny.csv' is empty" in err
    assert "Traceback" not in err
    (folder,) = (tmp_path / "tiny").iterdir()
    failed = json.loads((folder / "failed.json").read_text())
    assert failed["error"] == "ValueError" and "tiny.csv" in failed["message"] and failed["time"]
    assert not (folder / LOCK_FILE).exists() and run_state(folder) == "failed"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "failed.json"]
    with pytest.raises(ValueError, match="tiny.csv"):  # --debug: the exception itself (its traceback)
        run_recipe_main(tiny.main, [*argv, "--debug"])
    assert len(list((tmp_path / "tiny").iterdir())) == 2


def test_a_run_that_failed_during_training_resumes_from_its_backup(tmp_path, capsys):
    tiny = _tiny()
    argv = ["--quick", "--epochs", "4", "--runs-dir", str(tmp_path)]
    with pytest.raises(SystemExit):
        run_recipe_main(tiny.main, [*argv, "--fail", "during"])
    (folder,) = (tmp_path / "tiny").iterdir()
    assert run_state(folder) == "failed" and (folder / "backup").is_dir()
    assert json.loads((folder / "failed.json").read_text())["message"].startswith("--fail during")
    with pytest.raises(ValueError, match=r"--fail: 'during' in the run, 'none' now"):
        tiny.main([*argv, "--resume"])  # the failing flag is part of the run's config
    # resumed with its own flags it continues from its backup (past the epoch that failed)
    metrics = tiny.main([*argv, "--fail", "during", "--resume"])
    assert metrics["epochs_trained"] == 4 and not (folder / "failed.json").exists()
    assert run_state(folder) == "finished"


def test_lstm_apps_run_records_a_failure_too(tmp_path, monkeypatch, capsys):
    from lstm_apps import cli

    monkeypatch.setenv("LSTM_APPS_RECIPES", str(TESTS))
    code = cli.main(["run", "tiny_recipe", "--quick", "--runs-dir", str(tmp_path), "--fail", "before"])
    assert code == 2 and "lstm-apps: error: --fail before" in capsys.readouterr().err
    (folder,) = (tmp_path / "tiny").iterdir()
    assert (folder / "failed.json").is_file() and not (folder / LOCK_FILE).exists()


def test_recipe_script_prints_one_line_for_a_value_error(tmp_path):
    command = [sys.executable, str(TINY), "--quick", "--runs-dir", str(tmp_path), "--fail", "before"]
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if "error:" in line]
    assert lines == [
        "tiny_recipe: error: --fail before: the data file 'tiny.csv' is empty (expected rows of numbers)"
    ]
    assert "Traceback" not in done.stderr
    bad = subprocess.run(
        [sys.executable, str(TINY), "--epochs", "0"], env=_env(), capture_output=True, text=True, timeout=600
    )
    assert (
        bad.returncode == 2 and "argument --epochs: expected a positive integer, received '0'" in bad.stderr
    )


# --------------------------------------------------------------------------
# a real run killed with SIGKILL and resumed
# --------------------------------------------------------------------------
def _wait_for(predicate, proc, timeout=600.0, what="a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the run ended (status {proc.returncode}) before {what}:\n{err[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _backed_up_epochs(folder: Path) -> int:
    try:
        return json.loads((folder / "backup" / "training_metadata.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def test_a_killed_run_resumes_with_its_whole_history_and_time(tmp_path):
    sleep, epochs = 1.5, 6
    flags = ["--epochs", str(epochs), "--verbose", "0", "--sleep", str(sleep), "--runs-dir", str(tmp_path)]
    proc = subprocess.Popen(
        [sys.executable, str(TINY), *flags],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        parent = tmp_path / "tiny"
        _wait_for(lambda: parent.is_dir() and any(parent.iterdir()), proc, what="the run folder")
        (folder,) = parent.iterdir()
        _wait_for(lambda: _backed_up_epochs(folder) >= 2, proc, what="the 2nd epoch's backup")
        # while it trains: another --resume neither takes its folder nor waits for it
        assert read_lock(folder)["pid"] == proc.pid and run_state(folder) == "running"
        tiny = _tiny()
        with pytest.raises(ValueError, match=rf"still in progress: .*process {proc.pid}"):
            tiny.main([*flags, "--resume"])
        with pytest.raises(RunLockedError, match=rf"locked by process {proc.pid}"):
            tiny.main([*flags, "--resume", str(folder)])
        assert proc.poll() is None, "the run ended before it could be killed"
        ledger = json.loads((folder / "train_time.json").read_text())
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    at_kill = _backed_up_epochs(folder)  # the resumed run starts there
    killed_history = json.loads((folder / "history.json").read_text())
    assert at_kill >= 2 and len(killed_history["loss"]) >= at_kill and run_state(folder) == "interrupted"
    assert ledger["wall_seconds"] >= sleep  # the first epoch's sleep was inside training time

    metrics = tiny.main([*flags, "--resume"])  # the lock of the killed process is stale: taken over
    history = json.loads((folder / "history.json").read_text())
    assert metrics["epochs_trained"] == epochs and len(history["loss"]) == epochs
    assert history["loss"][:2] == killed_history["loss"][:2]  # the epochs before the kill are kept
    assert metrics["train_seconds"] >= ledger["wall_seconds"] + (epochs - at_kill) * sleep * 0.99
    assert metrics["wall_seconds"] >= metrics["train_seconds"] * 0.99
    assert len((folder / "history.csv").read_text().splitlines()) == 1 + epochs
    for name in (
        "config.json",
        "metrics.json",
        "model.keras",
        "sample_inputs.npz",
        "history.png",
        "history.json",
    ):
        assert (folder / name).is_file(), name
    assert (folder / FINAL_STATE_DIR / "history" / "latest.weights.h5").is_file()
    for name in (LOCK_FILE, "backup", "train_time.json", "failed.json"):
        assert not (folder / name).exists(), name
    assert json.loads((folder / "config.json").read_text())["resumed"] is True
    assert run_state(folder) == "finished"
    with pytest.raises(ValueError, match="has finished"):
        tiny.main([*flags, "--resume", str(folder)])


# --------------------------------------------------------------------------
# lstm-apps export: the run's own data, or a clear refusal
# --------------------------------------------------------------------------
def test_export_calibrates_on_the_runs_own_sample_inputs(tmp_path, capsys):
    from lstm_apps import cli
    from lstm_apps.export.command import export_file

    metrics = _tiny().main(["--quick", "--cell", "lstm", "--runs-dir", str(tmp_path)])
    assert "export_parity_max_abs" not in metrics  # made without --export
    (folder,) = (tmp_path / "tiny").iterdir()
    assert (folder / "sample_inputs.npz").is_file()
    report = export_file(folder, quantize="int8", output=tmp_path / "a.tflite")
    assert report["data_source"] == "sample_inputs" and report["data"] == str(folder / "sample_inputs.npz")
    assert report["parity_inputs"][1:] == [5, 2]  # sequences of the run's own shape
    capsys.readouterr()
    assert cli.main(["export", str(folder), "--quantize", "int8", "-o", str(tmp_path / "b.tflite")]) == 0
    assert f"data:      {folder / 'sample_inputs.npz'}" in capsys.readouterr().out

    (folder / "sample_inputs.npz").unlink()
    with pytest.raises(
        ValueError, match=r"no real input sequences to calibrate the int8 export.*--calibration random"
    ):
        export_file(folder, quantize="int8", output=tmp_path / "c.tflite")
    assert not (tmp_path / "c.tflite").exists()
    assert cli.main(["export", str(folder), "--quantize", "int8", "-o", str(tmp_path / "c.tflite")]) == 2
    assert "sample_inputs.npz' does not exist" in capsys.readouterr().err
    report = export_file(folder, quantize="int8", calibration="random", output=tmp_path / "d.tflite")
    assert report["data_source"] == "random" and "--calibration random" in report["data"]
    report = export_file(folder, output=tmp_path / "e.tflite")  # float32: parity only, said to be on noise
    assert report["data_source"] == "random" and "noise" in report["data"]
    np.save(tmp_path / "x.npy", np.zeros((4, 5, 2), "float32"))
    report = export_file(folder, quantize="int8", data=tmp_path / "x.npy", output=tmp_path / "f.tflite")
    assert report["data_source"] == "file" and report["data"] == str(tmp_path / "x.npy")
    with pytest.raises(ValueError, match="exclude each other"):
        export_file(folder, data=tmp_path / "x.npy", calibration="random")


def test_export_of_a_text_model_uses_the_runs_own_texts(tmp_path):
    from lstm_apps.export.command import export_file

    texts = np.array([["a good film"], ["a bad film"], ["good good"], ["bad"]], dtype=object)
    vectorizer = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=6)
    vectorizer.adapt(texts)
    text_in = keras.Input((1,), dtype="string")
    hidden = keras.layers.GRU(3)(keras.layers.Embedding(20, 4)(vectorizer(text_in)))
    model = keras.Model(text_in, keras.layers.Dense(1)(hidden))
    run = start_run("demo", _args(tmp_path))
    run.save_model(model, sample_inputs=texts)
    run.finish({})
    report = export_file(run.path, output=tmp_path / "text.tflite")
    assert report["data_source"] == "sample_inputs" and report["input"] == "token_ids"
    assert "tokenized by the model's TextVectorization" in report["data"]
    assert report["parity_max_abs"] <= 1e-4


# --------------------------------------------------------------------------
# loading a .keras file in a process that has not imported lstm_apps.layers
# --------------------------------------------------------------------------
_LOAD = """
import sys, numpy as np
import keras
from lstm_apps.io import load_keras_model
assert "lstm_apps.layers" not in sys.modules
try:
    keras.models.load_model(sys.argv[1])
    print("keras-alone: loaded")
except Exception as exc:
    print("keras-alone: " + type(exc).__name__)
model = load_keras_model(sys.argv[1])
value = float(np.asarray(model(np.ones((1, 5, 2), "float32")))[0, 0])
print("ours:", type(model.layers[0]).__module__, value)
"""


def test_load_keras_model_in_a_process_that_has_not_imported_the_layers(tmp_path):
    keras.utils.set_random_seed(0)
    from lstm_apps.layers import LSTM1997

    model = keras.Sequential([keras.Input((5, 2)), LSTM1997(3), keras.layers.Dense(1)])
    path = lio.save_keras_model(model, tmp_path / "model.keras")
    expected = float(np.asarray(model(np.ones((1, 5, 2), "float32")))[0, 0])
    done = subprocess.run(
        [sys.executable, "-c", _LOAD, str(path)], env=_env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    # Keras alone cannot: it imports modules by name only for its own packages (keras, keras_hub...)
    assert lines["keras-alone"] == "TypeError"
    module, value = lines["ours"].split()
    assert module == "lstm_apps.layers.lstm1997" and float(value) == pytest.approx(expected, rel=1e-5)


def test_load_keras_model_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"'.*nope\.keras' does not exist"):
        lio.load_keras_model(tmp_path / "nope.keras")
    (tmp_path / "text.keras").write_text("not a zip")
    with pytest.raises(ValueError, match=r"text\.keras' is not a \.keras model archive"):
        lio.load_keras_model(tmp_path / "text.keras")
    import zipfile

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.save(tmp_path / "good.keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as src:
        config = json.loads(src.read("config.json"))
        members = {name: src.read(name) for name in src.namelist()}
    config["config"]["layers"][1].update(module="lstm_apps.nowhere", registered_name="lstm_apps>Nowhere")
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "future.keras", "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    with pytest.raises(ValueError, match=r"future\.keras' needs the module 'lstm_apps\.nowhere'"):
        lio.load_keras_model(tmp_path / "future.keras")


def test_continue_from_needs_epochs_when_the_recipe_chooses_them(runs_dir):
    parser = recipe_parser("demo", "demo recipe", epochs=None)
    x, y = _data()
    run = start_run(
        "demo", parser.parse_args(["--runs-dir", str(runs_dir), "--epochs", "1", "--verbose", "0"])
    )
    run.fit(_model(), x, y)
    run.finish({})
    with pytest.raises(ValueError, match=r"--continue-from .* needs --epochs: the total number of epochs"):
        start_run("demo", parser.parse_args(["--runs-dir", str(runs_dir), "--continue-from", str(run.path)]))
