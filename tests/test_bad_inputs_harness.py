"""The bad-input sweep, harness part: the recipe flags, run folders, ``lstm-apps export``, ``lstm_apps.io``.

Each case gives a bad input, the error it must raise and the words its message
must hold: the bad value, the flag or the file, and what was expected. Bad
files live in ``tests/data/bad/``. A flag refused by ``argparse`` exits with
status 2 and prints ``<prog>: error: argument --flag: ...``.
"""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from lstm_apps import io as lio
from lstm_apps.export.command import export_file
from lstm_apps.training import StopWhen, TimeBudget, export_models, make_strategy, recipe_parser, start_run
from lstm_apps.training.lock import RunLockedError

BAD = Path(__file__).resolve().parent / "data" / "bad"


def _parser():
    return recipe_parser("demo", "demo recipe", epochs=4)


# --------------------------------------------------------------------------
# recipe flags: refused by the parser, naming the flag and the value
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, words",
    [
        (["--epochs", "-1"], ["--epochs", "expected a positive integer", "'-1'"]),
        (["--epochs", "0"], ["--epochs", "expected a positive integer", "'0'"]),
        (["--epochs", "2.5"], ["--epochs", "'2.5'"]),
        (["--batch-size", "0"], ["--batch-size", "expected a positive integer", "'0'"]),
        (["--learning-rate", "0"], ["--learning-rate", "positive finite number", "'0'"]),
        (["--learning-rate", "nan"], ["--learning-rate", "'nan'"]),
        (["--max-minutes", "-1"], ["--max-minutes", "non-negative finite number", "'-1'"]),
        (["--max-cpu-minutes", "inf"], ["--max-cpu-minutes", "'inf'"]),
        (["--seed", "x"], ["--seed", "'x'"]),
        (["--cell", "transformer"], ["--cell", "'transformer'", "lstm1997"]),
        (["--verbose", "5"], ["--verbose", "5"]),
        (["--distribute", "tpu"], ["--distribute", "'tpu'", "mirrored"]),
        (["--resume", "--continue-from", "x"], ["--continue-from", "not allowed with argument --resume"]),
    ],
)
def test_bad_flags_exit_2_naming_flag_and_value(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "demo.py: error: argument" in err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"epochs": 0}, ["epochs", "positive integer", "'0'"]),
        ({"quick_epochs": -1}, ["quick_epochs", "'-1'"]),
        ({"batch_size": 0}, ["batch_size", "'0'"]),
        ({"learning_rate": float("nan")}, ["learning_rate", "'nan'"]),
        ({"seed": 1.5}, ["seed", "integer", "1.5"]),
        ({"cell": "nope"}, ["cell", "'nope'"]),
    ],
)
def test_bad_recipe_parser_defaults_are_value_errors(kwargs, words):
    with pytest.raises(ValueError) as info:
        recipe_parser("demo", **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


# --------------------------------------------------------------------------
# run folders: --runs-dir, --resume, --continue-from
# --------------------------------------------------------------------------
def _start(runs_dir, *argv):
    return start_run("demo", _parser().parse_args(["--runs-dir", str(runs_dir), *argv]))


def _bad_copy(tmp_path, name):
    """A copy of a bad run folder (nothing is ever written into tests/data)."""
    return Path(shutil.copytree(BAD / name, tmp_path / name))


@pytest.mark.parametrize(
    "case, error, words",
    [
        ("resume_missing", ValueError, ["--resume", "nope", "does not exist"]),
        ("resume_file", ValueError, ["--resume", "a_file", "is not a folder"]),
        ("resume_bad_config", ValueError, ["--resume", "config.json", "cannot read"]),
        ("resume_list_config", ValueError, ["--resume", "config.json", "JSON object"]),
        ("resume_no_config", ValueError, ["--resume", "has no config.json"]),
        ("resume_other_recipe", ValueError, ["--resume", "recipe 'other', not of 'demo'"]),
        ("resume_live", RunLockedError, ["--resume", "locked by process", "still running"]),
        ("continue_missing", ValueError, ["--continue-from", "nope", "does not exist"]),
        ("runs_dir_is_a_file", ValueError, ["--runs-dir", "a_file", "cannot create"]),
    ],
)
def test_bad_run_folders(tmp_path, case, error, words):
    runs = tmp_path / "runs"
    (tmp_path / "a_file").write_text("x")
    if case == "resume_missing":
        argv = ["--resume", str(tmp_path / "nope")]
    elif case == "resume_file":
        argv = ["--resume", str(tmp_path / "a_file")]
    elif case == "resume_bad_config":
        argv = ["--resume", str(_bad_copy(tmp_path, "bad_config_run"))]
    elif case == "resume_list_config":
        argv = ["--resume", str(_bad_copy(tmp_path, "list_config_run"))]
    elif case == "resume_no_config":
        (tmp_path / "empty").mkdir()
        argv = ["--resume", str(tmp_path / "empty")]
    elif case == "resume_other_recipe":
        folder = _bad_copy(tmp_path, "no_model_run")
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "recipe": "other"}))
        argv = ["--resume", str(folder)]
    elif case == "resume_live":
        import os
        import socket
        import subprocess
        import sys

        owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        folder = _bad_copy(tmp_path, "no_model_run")
        (folder / "run.lock").write_text(json.dumps({"pid": owner.pid, "host": socket.gethostname()}))
        try:
            with pytest.raises(error) as info:
                _start(runs, "--resume", str(folder))
        finally:
            owner.kill()
            owner.wait()
        assert str(owner.pid) in str(info.value) and os.getpid() != owner.pid
        for word in words:
            assert word in str(info.value), (word, str(info.value))
        return
    elif case == "continue_missing":
        argv = ["--epochs", "9", "--continue-from", str(tmp_path / "nope")]
    else:
        runs = tmp_path / "a_file"
        argv = []
    with pytest.raises(error) as info:
        _start(runs, *argv)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert not (runs / "demo").is_dir() or not any((runs / "demo").iterdir())  # no run folder was made


# --------------------------------------------------------------------------
# lstm-apps export
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export_model")
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.LSTM(3), keras.layers.Dense(1)])
    return lio.save_keras_model(model, folder / "model.keras")


@pytest.mark.parametrize(
    "case, kwargs, words",
    [
        (
            "missing_source",
            {"source": "nowhere.keras"},
            ["nowhere.keras", "run folder or an existing .keras"],
        ),
        ("txt_source", {"source": BAD / "sequences.csv"}, ["sequences.csv", ".keras"]),
        ("no_model_run", {"source": BAD / "no_model_run"}, ["no_model_run", "has no model.keras"]),
        ("missing_data", {"data": "nowhere.npy"}, ["--data", "nowhere.npy", "does not exist"]),
        ("csv_data", {"data": BAD / "sequences.csv"}, ["--data", "sequences.csv", ".npy or .npz"]),
        ("corrupt_npz", {"data": BAD / "corrupt.npz"}, ["--data", "corrupt.npz", "cannot be read"]),
        ("flat_npy", {"data": BAD / "flat.npy"}, ["--data", "flat.npy", "(batch, timesteps, ...)", "(5,)"]),
        ("empty_npz", {"data": BAD / "empty.npz"}, ["--data", "empty.npz", "non-empty batch"]),
        (
            "int8_no_data",
            {"quantize": "int8"},
            ["int8", "sample_inputs.npz", "--data", "--calibration random"],
        ),
        ("data_and_random", {"data": BAD / "flat.npy", "calibration": "random"}, ["--data", "exclude"]),
        ("bad_calibration", {"calibration": "noise"}, ["calibration", "'noise'", "real"]),
    ],
)
def test_bad_export_inputs(model_file, case, kwargs, words):
    kwargs = {"source": model_file, **kwargs}
    with pytest.raises(ValueError) as info:
        export_file(**kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert not list(model_file.parent.glob("*.tflite"))  # nothing half done


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--timesteps", "0"], ["--timesteps", "'0'"]),
        (["--mode", "batch"], ["--mode", "'batch'"]),
        (["--quantize", "int4"], ["--quantize", "'int4'"]),
        (["--calibration", "noise"], ["--calibration", "'noise'"]),
    ],
)
def test_bad_export_flags(model_file, argv, words, capsys):
    from lstm_apps import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["export", str(model_file), *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err, (word, err)


def test_export_cli_reports_a_bad_file_on_one_line(capsys):
    from lstm_apps import cli

    assert cli.main(["export", str(BAD / "not_a_model.keras")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lstm-apps: error: ") and "not_a_model.keras" in err and "\n" not in err


# --------------------------------------------------------------------------
# lstm_apps.io, callbacks, the export step
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: lio.load_keras_model(BAD / "not_a_model.keras"), ValueError, ["not_a_model.keras", "zip"]),
        (
            lambda: lio.load_keras_model(BAD / "nowhere.keras"),
            ValueError,
            ["nowhere.keras", "does not exist"],
        ),
        (lambda: lio.save_keras_model(None, "model.h5"), ValueError, ["model.h5", ".keras"]),
        (lambda: lio.save_keras_weights(None, "w.h5"), ValueError, ["w.h5", ".weights.h5"]),
        (lambda: TimeBudget(max_minutes=-1), ValueError, ["max_minutes", "-1"]),
        (lambda: TimeBudget(max_cpu_minutes=float("nan")), ValueError, ["max_cpu_minutes", "nan"]),
        (lambda: setattr(TimeBudget(), "share", 0), ValueError, ["share", "(0, 1]", "0"]),
        (lambda: StopWhen("solved"), ValueError, ["criterion", "callable", "'solved'"]),
        (lambda: StopWhen(print, every=0), ValueError, ["every", "positive integer", "0"]),
        (lambda: export_models("/tmp", {}), ValueError, ["models", "non-empty", "{}"]),
        (lambda: export_models("/tmp", {"m": None}), ValueError, ["models['m']", "(model, sample_inputs)"]),
        (lambda: export_models("/tmp", {"m": (None, None)}, mode="batch"), ValueError, ["mode", "'batch'"]),
        (lambda: make_strategy("tpu"), ValueError, ["distribute", "'tpu'"]),
    ],
)
def test_bad_library_inputs(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_bad_tf_config_names_the_variable_and_value(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match=r"TF_CONFIG must be JSON, received '\{not json'"):
        make_strategy("multiworker")


def test_fit_members_refuses_a_bad_count(tmp_path):
    run = start_run("demo", _parser().parse_args(["--runs-dir", str(tmp_path)]))
    for n in (0, True, 1.5):
        with pytest.raises(ValueError, match=rf"n must be a positive integer, received {n!r}"):
            run.fit_members(n, None, None)
    run.finish({})


def test_unknown_recipe_names_the_available_ones(capsys):
    from lstm_apps import cli

    assert cli.main(["run", "no_such_recipe"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe 'no_such_recipe'; available:" in err


@pytest.mark.parametrize(
    "name, words",
    [
        ("corrupt.npz", ["corrupt.npz", "cannot be read as an .npz archive"]),
        ("flat.npy", ["flat.npy", "a single array, not an .npz archive"]),
        ("other_names.npz", ["other_names.npz", "x_0, x_1", "['arr_0']"]),
    ],
)
def test_sample_inputs_from_a_bad_file_name_it(tmp_path, name, words):
    from lstm_apps.export.samples import load_sample_inputs

    path = BAD / name
    if name == "other_names.npz":
        path = tmp_path / name
        np.savez(path, np.zeros((2, 3, 1)))  # np.savez names a positional array arr_0
    with pytest.raises(ValueError) as info:
        load_sample_inputs(path)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
