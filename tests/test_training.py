"""The recipe harness: flags, run folders, atomic artifacts, history, resume."""

import json

import keras
import numpy as np
import pytest

from lstm_apps import io as lio
from lstm_apps.training import flatten_metrics, format_table, recipe_parser, start_run


def _args(runs_dir, *extra):
    return recipe_parser("demo", "demo recipe", epochs=4, quick_epochs=1).parse_args(
        ["--runs-dir", str(runs_dir), *extra]
    )


def test_parser_defaults_and_help(capsys):
    parser = recipe_parser("demo", "A demo.", epochs=7, cell="gru")
    args = parser.parse_args([])
    assert (args.seed, args.cell, args.quick, args.distribute, args.runs_dir) == (
        0,
        "gru",
        False,
        "none",
        "runs",
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    out = capsys.readouterr().out
    for flag in ("--quick", "--seed", "--epochs", "--cell", "--runs-dir", "--resume", "--distribute"):
        assert flag in out
    with pytest.raises(SystemExit):
        parser.parse_args(["--cell", "transformer"])


def test_run_folder_is_fresh_and_never_overwritten(runs_dir):
    a = start_run("demo", _args(runs_dir, "--quick"))
    b = start_run("demo", _args(runs_dir, "--quick"))  # same second: a suffix, not the same folder
    assert a.path != b.path and a.path.parent == b.path.parent == runs_dir / "demo"
    config = json.loads((a.path / "config.json").read_text())
    assert config["quick"] is True and config["epochs"] == 1 and config["seed"] == 0
    assert a.verbose == 0
    full = start_run("demo", _args(runs_dir))
    assert full.epochs == 4 and full.verbose == 1


def test_seed_makes_runs_reproducible(runs_dir):
    start_run("demo", _args(runs_dir, "--seed", "3"))
    first = np.random.random(3), keras.random.uniform((3,)).numpy()
    start_run("demo", _args(runs_dir, "--seed", "3"))
    second = np.random.random(3), keras.random.uniform((3,)).numpy()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_metrics_are_flat_json_and_merge(runs_dir):
    run = start_run("demo", _args(runs_dir))
    run.save_metrics({"a": np.float32(1.5), "nested": {"b": np.int64(2), "c": float("nan")}})
    run.finish({"d": [1, 2]})
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["a"] == 1.5 and metrics["nested_b"] == 2 and metrics["nested_c"] is None
    assert metrics["d"] == [1, 2] and metrics["wall_seconds"] >= 0
    assert flatten_metrics({"x": {"y": {"z": 1}}}) == {"x_y_z": 1}


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "metrics.json"
    lio.write_json(target, {"ok": 1})
    with pytest.raises(RuntimeError):
        with lio.atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("interrupted")
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left
    with pytest.raises(ValueError, match=r"model\.h5'"):
        lio.save_keras_model(None, tmp_path / "model.h5")


def test_save_keras_weights_is_atomic_and_round_trips(tmp_path):
    model = _model()
    path = lio.save_keras_weights(model, tmp_path / "member_0.weights.h5")
    assert [p.name for p in tmp_path.iterdir()] == ["member_0.weights.h5"]  # the temporary file was renamed
    other = _model()
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"must end in '\.weights\.h5', received '.*member\.h5'"):
        lio.save_keras_weights(model, tmp_path / "member.h5")


def _model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated interruption")


class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_fit_saves_history_and_model_and_resumes_after_interruption(runs_dir):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = x.sum(1, keepdims=True)
    run = start_run("demo", _args(runs_dir, "--epochs", "5", "--verbose", "0"))
    with pytest.raises(KeyboardInterrupt):
        run.fit(_model(), x, y, callbacks=[_Interrupt(at_epoch=2)])
    assert (run.path / "backup").exists() and not (run.path / "metrics.json").exists()

    resumed = start_run("demo", _args(runs_dir, "--epochs", "5", "--verbose", "0", "--resume"))
    assert resumed.path == run.path and resumed.resumed
    counter = _Count()
    model = _model()
    history = resumed.fit(model, x, y, callbacks=[counter])
    assert counter.epochs == [3, 4]  # epochs 0-2 were done before the interruption
    assert len(history.history["loss"]) == 2
    assert not (run.path / "backup").exists()  # removed once training completed
    for name in ("history.json", "history.csv", "history.png"):
        assert (run.path / name).stat().st_size > 0
    resumed.save_model(model)
    again = keras.models.load_model(run.path / "model.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    resumed.finish({})
    with pytest.raises(ValueError, match="no unfinished run"):
        start_run("demo", _args(runs_dir, "--resume"))
    with pytest.raises(ValueError, match="does not exist"):
        start_run("demo", _args(runs_dir, "--resume", str(runs_dir / "nope")))


def test_print_table_includes_rows_and_is_saved(runs_dir, capsys):
    run = start_run("demo", _args(runs_dir))
    table = run.print_table(
        [{"model": "lstm", "loss": 0.123456}, {"model": "baseline", "loss": None}], title="Results"
    )
    out = capsys.readouterr().out
    assert "| lstm" in out and "0.1235" in out and "—" in out
    assert (run.path / "results.md").read_text().startswith("## Results")
    assert format_table([]) == ""
    assert table.splitlines()[1].startswith("|---")


def test_multiworker_without_tf_config_is_a_clear_error(runs_dir, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    run = start_run("demo", _args(runs_dir, "--distribute", "multiworker"))
    with pytest.raises(ValueError, match="TF_CONFIG"):
        run.strategy


def test_each_named_fit_backs_up_into_its_own_folder(runs_dir):
    x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    y = x.sum(1, keepdims=True)
    run = start_run("demo", _args(runs_dir, "--epochs", "3", "--verbose", "0"))
    with pytest.raises(KeyboardInterrupt):
        run.fit(_model(), x, y, callbacks=[_Interrupt(at_epoch=0)], history_name="second")
    assert (run.path / "backup_second").exists() and not (run.path / "backup").exists()
    resumed = start_run("demo", _args(runs_dir, "--epochs", "3", "--verbose", "0", "--resume"))
    assert resumed.path == run.path
    counter = _Count()
    resumed.fit(
        _model(), x, y, callbacks=[counter]
    )  # another model: starts fresh, not from "second"'s checkpoint
    assert counter.epochs == [0, 1, 2]
    counter = _Count()
    resumed.fit(_model(), x, y, callbacks=[counter], history_name="second")
    assert counter.epochs == [1, 2]
    assert (run.path / "second.json").exists()
