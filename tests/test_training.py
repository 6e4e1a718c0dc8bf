"""The recipe harness: flags and validators, run folders, history, resume, time budget, members, export."""

import argparse
import json

import keras
import numpy as np
import pytest

from lstm_apps import io as lio
from lstm_apps.layers import recurrent_kinds
from lstm_apps.training import (
    StopWhen,
    TimeBudget,
    existing_file,
    export_models,
    flatten_metrics,
    format_table,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    recipe_parser,
    run_recipe_main,
    start_run,
)
from lstm_apps.training import callbacks as training_callbacks


def _args(runs_dir, *extra):
    return recipe_parser("demo", "demo recipe", epochs=4, quick_epochs=1).parse_args(
        ["--runs-dir", str(runs_dir), *extra]
    )


def _data(n=32, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, 4)).astype("float32")
    return x, x.sum(1, keepdims=True)


def _model(optimizer="sgd"):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
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


# --------------------------------------------------------------------------
# flags and validators
# --------------------------------------------------------------------------
def test_parser_defaults_and_help(capsys):
    parser = recipe_parser("demo", "A demo.", epochs=7, cell="gru", learning_rate=0.01)
    args = parser.parse_args([])
    assert (args.seed, args.cell, args.quick, args.distribute, args.runs_dir) == (
        0,
        "gru",
        False,
        "none",
        "runs",
    )
    assert (args.learning_rate, args.max_minutes, args.max_cpu_minutes, args.debug) == (
        0.01,
        None,
        None,
        False,
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    out = capsys.readouterr().out
    for flag in (
        "--quick",
        "--seed",
        "--epochs",
        "--cell",
        "--learning-rate",
        "--runs-dir",
        "--resume",
        "--distribute",
        "--export",
        "--max-minutes",
        "--max-cpu-minutes",
        "--debug",
    ):
        assert flag in out
    assert "--lr " not in out
    with pytest.raises(SystemExit):
        parser.parse_args(["--cell", "transformer"])


def test_parser_leaves_defaults_to_the_recipe(capsys):
    parser = recipe_parser("demo", epochs=None, batch_size=None, learning_rate=None)
    args = parser.parse_args([])
    assert (args.epochs, args.batch_size, args.learning_rate) == (None, None, None)
    assert parser.parse_args(["--learning-rate", "0.1", "--batch-size", "8"]).learning_rate == 0.1
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    assert " ".join(capsys.readouterr().out.split()).count("(default: the recipe's choice)") == 3
    with pytest.raises(argparse.ArgumentTypeError, match="received '0'"):
        recipe_parser("demo", learning_rate=0)


def test_cell_choices_come_from_the_layer_registry():
    parser = recipe_parser("demo")
    cell_action = next(a for a in parser._actions if a.dest == "cell")
    assert list(cell_action.choices) == list(recurrent_kinds()) and cell_action.default == "lstm1997"
    narrow = recipe_parser("demo", cell="lstm", cells=("lstm", "gru"))
    assert narrow.parse_args(["--cell", "gru"]).cell == "gru"
    with pytest.raises(SystemExit):
        narrow.parse_args(["--cell", "lstm1997"])
    assert not hasattr(recipe_parser("demo", cell=None).parse_args([]), "cell")  # no --cell flag at all
    with pytest.raises(ValueError, match="received 'lstm1997'"):
        recipe_parser("demo", cells=("lstm", "gru"))


@pytest.mark.parametrize(
    "validator, good, bad, expected",
    [
        (positive_int, [("3", 3), ("1", 1)], ["0", "-2", "1.5", "x"], "a positive integer"),
        (non_negative_int, [("0", 0), ("7", 7)], ["-1", "2.5", ""], "a non-negative integer"),
        (positive_float, [("0.5", 0.5), ("1e-3", 1e-3)], ["0", "-1", "nan", "inf", "x"], "a positive finite"),
        (non_negative_float, [("0", 0.0), ("2.5", 2.5)], ["-0.1", "nan", "-inf"], "a non-negative finite"),
        (fraction, [("0", 0.0), ("0.25", 0.25)], ["1", "1.5", "-0.1", "nan"], "a fraction in [0, 1)"),
    ],
)
def test_validators_accept_good_values_and_name_bad_ones(validator, good, bad, expected):
    for text, value in good:
        assert validator(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError) as err:
            validator(text)
        message = str(err.value)
        assert message.startswith(f"expected {expected}") and message.endswith(f"received {text!r}")


def test_existing_file_and_argparse_messages(tmp_path, capsys):
    present = tmp_path / "data.txt"
    present.write_text("x")
    assert existing_file(str(present)) == present
    with pytest.raises(
        argparse.ArgumentTypeError, match="expected an existing file, received '.*absent.txt'"
    ):
        existing_file(str(tmp_path / "absent.txt"))
    with pytest.raises(argparse.ArgumentTypeError, match="expected an existing file"):
        existing_file(str(tmp_path))  # a folder is not a file
    parser = recipe_parser("demo")
    for flags, message in (
        (["--epochs", "0"], "argument --epochs: expected a positive integer, received '0'"),
        (["--batch-size", "-4"], "argument --batch-size: expected a positive integer, received '-4'"),
        (
            ["--learning-rate", "nan"],
            "argument --learning-rate: expected a positive finite number, received 'nan'",
        ),
        (
            ["--max-minutes", "-1"],
            "argument --max-minutes: expected a non-negative finite number, received '-1'",
        ),
    ):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(flags)
        assert exit_info.value.code == 2
        assert f"demo.py: error: {message}" in capsys.readouterr().err


# --------------------------------------------------------------------------
# run folders and artifacts
# --------------------------------------------------------------------------
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
    assert "train_seconds" not in metrics  # no fit, no training time to report
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
    with pytest.raises(ValueError, match="TF_CONFIG"):
        start_run("demo", _args(runs_dir, "--distribute", "multiworker"))
    assert not (runs_dir / "demo").exists()  # refused before any run folder is made


def test_save_model_keeps_numeric_sample_inputs(runs_dir):
    run = start_run("demo", _args(runs_dir))
    x, _ = _data(100)
    run.save_model(_model(), sample_inputs=x)
    from lstm_apps.export.samples import MAX_SAMPLES, load_sample_inputs

    (kept,) = load_sample_inputs(run.file("sample_inputs.npz"))
    np.testing.assert_array_equal(kept, x[:MAX_SAMPLES])
    run.save_model(_model(), name="other.keras", sample_inputs=[x[:3], x[:3]])
    assert len(load_sample_inputs(run.file("other_sample_inputs.npz"))) == 2
    run.save_model(_model(), name="text.keras", sample_inputs=np.array([["a b"]], dtype=object))
    (texts,) = load_sample_inputs(run.file("text_sample_inputs.npz"))  # text is kept, as unicode
    assert texts.dtype.kind == "U" and texts.tolist() == [["a b"]]
    run.save_model(_model(), name="objects.keras", sample_inputs=np.array([[{"a": 1}]], dtype=object))
    assert not run.file("objects_sample_inputs.npz").exists()  # Python objects are not
    assert not run.file("metrics.json").exists()  # no --export: nothing exported


# --------------------------------------------------------------------------
# fit: history after every epoch, resume
# --------------------------------------------------------------------------
def test_fit_resumes_after_interruption_and_keeps_the_whole_history(runs_dir):
    x, y = _data()
    run = start_run("demo", _args(runs_dir, "--epochs", "5", "--verbose", "0"))
    with pytest.raises(KeyboardInterrupt):
        run.fit(_model(), x, y, callbacks=[_Interrupt(at_epoch=2)])
    assert (run.path / "backup").exists() and not (run.path / "metrics.json").exists()
    before = json.loads((run.path / "history.json").read_text())  # written after every epoch
    assert len(before["loss"]) == 3

    resumed = start_run("demo", _args(runs_dir, "--epochs", "5", "--verbose", "0", "--resume"))
    assert resumed.path == run.path and resumed.resumed
    counter = _Count()
    model = _model()
    history = resumed.fit(model, x, y, callbacks=[counter])
    assert counter.epochs == [3, 4]  # epochs 0-2 were done before the interruption
    assert len(history.history["loss"]) == 5 and history.history["loss"][:3] == before["loss"]
    assert history.history["loss"][3] < before["loss"][2]  # it continued from the restored weights
    saved = json.loads((run.path / "history.json").read_text())
    assert saved == history.history
    assert len((run.path / "history.csv").read_text().splitlines()) == 1 + 5
    assert not (run.path / "backup").exists()  # removed once training completed
    assert (run.path / "history.png").stat().st_size > 0
    resumed.save_model(model)
    again = keras.models.load_model(run.path / "model.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    resumed.finish({})
    with pytest.raises(ValueError, match="no unfinished run"):
        start_run("demo", _args(runs_dir, "--resume"))
    with pytest.raises(ValueError, match="does not exist"):
        start_run("demo", _args(runs_dir, "--resume", str(runs_dir / "nope")))


def test_each_named_fit_backs_up_into_its_own_folder(runs_dir):
    x, y = _data(16, seed=1)
    run = start_run("demo", _args(runs_dir, "--epochs", "3", "--verbose", "0"))
    with pytest.raises(KeyboardInterrupt):
        run.fit(_model(), x, y, callbacks=[_Interrupt(at_epoch=0)], history_name="second")
    assert (run.path / "backup_second").exists() and not (run.path / "backup").exists()
    resumed = start_run("demo", _args(runs_dir, "--epochs", "3", "--verbose", "0", "--resume"))
    assert resumed.path == run.path
    counter = _Count()
    resumed.fit(_model(), x, y, callbacks=[counter])  # another model: starts fresh, not from "second"'s
    assert counter.epochs == [0, 1, 2]
    counter = _Count()
    history = resumed.fit(_model(), x, y, callbacks=[counter], history_name="second")
    assert counter.epochs == [1, 2] and len(history.history["loss"]) == 3
    assert len(json.loads((run.path / "second.json").read_text())["loss"]) == 3


def test_stop_when_stops_with_its_reason_and_its_logs_reach_the_history(runs_dir):
    x, y = _data()
    run = start_run("demo", _args(runs_dir, "--epochs", "6", "--verbose", "0"))
    calls = []

    def criterion(epoch, logs, model):
        calls.append(epoch)
        logs["window_epoch"] = float(epoch)
        return "solved" if epoch >= 3 else None

    stop = StopWhen(criterion, every=2)
    history = run.fit(_model(), x, y, callbacks=[stop])
    assert calls == [1, 3] and stop.reason == "solved" and stop.stopped_epoch == 3
    assert len(history.history["loss"]) == 4
    saved = json.loads((run.path / "history.json").read_text())
    assert saved["window_epoch"] == [1.0, 3.0] and len(saved["loss"]) == 4
    never = StopWhen(lambda epoch, logs, model: None)
    run.fit(_model(), x, y, epochs=2, callbacks=[never], history_name="never")
    assert never.reason is None and never.stopped_epoch is None
    for bad in (dict(criterion=None), dict(criterion=criterion, every=0)):
        with pytest.raises(ValueError, match="received"):
            StopWhen(**bad)


# --------------------------------------------------------------------------
# the time budget (fake clocks: no test depends on the machine's speed)
# --------------------------------------------------------------------------
class _FakeClocks:
    def __init__(self, monkeypatch, wall_step=10.0, cpu_step=4.0):
        self.wall = self.cpu = 0.0
        self.wall_step, self.cpu_step = wall_step, cpu_step
        monkeypatch.setattr(training_callbacks, "wall_clock", lambda: self.wall)
        monkeypatch.setattr(training_callbacks, "cpu_clock", lambda: self.cpu)

    def tick(self):
        self.wall += self.wall_step
        self.cpu += self.cpu_step


class _Ticker(keras.callbacks.Callback):
    """Every batch takes ``wall_step`` seconds of wall clock and ``cpu_step`` of CPU."""

    def __init__(self, clocks):
        super().__init__()
        self.clocks = clocks

    def on_train_batch_begin(self, batch, logs=None):
        self.clocks.tick()


class _FakeModel:
    stop_training = False


def _drive(budget, batches, clocks, epochs=1):
    """Run the budget's hooks like a fit of ``epochs`` x ``batches``; return the batches run."""
    model = _FakeModel()
    budget.set_model(model)
    budget.on_train_begin()
    done = 0
    for epoch in range(epochs):
        for b in range(batches):
            clocks.tick()
            budget.on_train_batch_end(b)
            done += 1
            if model.stop_training:
                budget.on_epoch_end(epoch)
                budget.on_train_end()
                return done
        budget.on_epoch_end(epoch)
    budget.on_train_end()
    return done


def test_time_budget_stops_on_wall_or_cpu_time(monkeypatch):
    clocks = _FakeClocks(monkeypatch, wall_step=10.0, cpu_step=4.0)
    wall = TimeBudget(max_minutes=1)  # 60 s: the 7th batch passes it
    assert _drive(wall, 100, clocks) == 7 and wall.stopped_by == "wall"
    assert (wall.wall_seconds, wall.cpu_seconds) == (70.0, 28.0) and wall.left_fraction() == 0.0
    cpu = TimeBudget(max_minutes=10, max_cpu_minutes=0.5)  # 30 s of CPU: the 8th batch passes it
    assert _drive(cpu, 100, clocks) == 8 and cpu.stopped_by == "cpu"
    free = TimeBudget()
    assert _drive(free, 5, clocks, epochs=2) == 10 and free.stopped_by is None
    assert free.wall_seconds == 100.0 and free.left_fraction() == 1.0 and not free.limited
    assert free.metrics() == {
        "train_seconds": 100.0,
        "train_cpu_seconds": 40.0,
        "stopped_by_time_budget": False,
    }
    with pytest.raises(ValueError, match="received -1"):
        TimeBudget(max_minutes=-1)
    with pytest.raises(ValueError, match="received nan"):
        TimeBudget(max_cpu_minutes=float("nan"))


def test_time_budget_is_summed_over_fits_and_shared_out(monkeypatch):
    clocks = _FakeClocks(monkeypatch, wall_step=10.0, cpu_step=1.0)
    budget = TimeBudget(max_minutes=2)  # 120 s for three members
    budget.share = 1 / 3  # member 0: a third of 120 s: stops after 50 s
    assert _drive(budget, 100, clocks) == 5 and budget.wall_seconds == 50.0
    assert budget.left_fraction() == pytest.approx(70 / 120)
    budget.share = 1 / 2  # member 1: half of the 70 s left: stops after 40 s more
    assert _drive(budget, 100, clocks) == 4 and budget.wall_seconds == 90.0
    budget.share = 1.0  # member 2: the rest
    assert _drive(budget, 100, clocks) == 4 and budget.wall_seconds == 130.0
    assert budget.stopped_by == "wall" and budget.fits == 3
    assert _drive(budget, 100, clocks) == 1  # nothing left: the next fit stops after one batch
    with pytest.raises(ValueError, match="share must be in"):
        budget.share = 0


def test_time_budget_ledger_carries_spent_time_across_processes(tmp_path, monkeypatch):
    clocks = _FakeClocks(monkeypatch, wall_step=10.0, cpu_step=4.0)
    ledger = tmp_path / "train_time.json"
    first = TimeBudget(max_minutes=1, ledger=ledger)
    assert _drive(first, 3, clocks) == 3
    assert json.loads(ledger.read_text()) == {"wall_seconds": 30.0, "cpu_seconds": 12.0, "stopped_by": None}
    second = TimeBudget(max_minutes=1, ledger=ledger)  # e.g. after --resume
    assert (second.wall_seconds, second.cpu_seconds) == (30.0, 12.0)
    assert _drive(second, 100, clocks) == 4 and second.stopped_by == "wall"  # 30 + 40 > 60
    assert TimeBudget(ledger=ledger).stopped_by == "wall"


def test_resumed_run_continues_the_time_budget_from_its_ledger(runs_dir, monkeypatch):
    clocks = _FakeClocks(monkeypatch, wall_step=10.0, cpu_step=4.0)
    x, y = _data()  # 4 batches of 8 an epoch: 40 s of fake wall clock
    flags = ("--epochs", "5", "--verbose", "0", "--max-minutes", "2")
    run = start_run("demo", _args(runs_dir, *flags))
    with pytest.raises(KeyboardInterrupt):
        run.fit(_model(), x, y, batch_size=8, callbacks=[_Ticker(clocks), _Interrupt(at_epoch=1)])
    ledger = run.file("train_time.json")
    assert json.loads(ledger.read_text())["wall_seconds"] == 80.0  # two epochs

    resumed = start_run("demo", _args(runs_dir, *flags, "--resume"))
    assert resumed.budget.wall_seconds == 80.0
    counter = _Count()
    history = resumed.fit(_model(), x, y, batch_size=8, callbacks=[_Ticker(clocks), counter])
    assert counter.epochs == [2, 3]  # 80 + 40 = 120 s is not over; the first batch of epoch 3 is
    assert len(history.history["loss"]) == 4 and resumed.budget.stopped_by == "wall"
    metrics = resumed.finish({"loss": history.history["loss"][-1]})
    assert (metrics["train_seconds"], metrics["train_cpu_seconds"]) == (130.0, 52.0)
    assert metrics["stopped_by_time_budget"] is True
    assert not ledger.exists()  # in metrics.json now
    assert json.loads(resumed.file("metrics.json").read_text())["train_seconds"] == 130.0


# --------------------------------------------------------------------------
# ensembles: fit_members
# --------------------------------------------------------------------------
@pytest.mark.filterwarnings("error:Skipping variable loading:UserWarning")  # the optimizer state loads too
def test_fit_members_resume_trains_only_the_interrupted_member(runs_dir):
    x, y = _data()
    flags = ("--epochs", "3", "--verbose", "0", "--seed", "5")
    built = {}

    def build(k):
        built[k] = _model(optimizer=keras.optimizers.Adam(0.01))
        return built[k]

    def data(k):
        return (x + k, y + 4 * k)

    run = start_run("demo", _args(runs_dir, *flags))
    with pytest.raises(KeyboardInterrupt):
        run.fit_members(2, build, data, callbacks=lambda k: [_Interrupt(at_epoch=1)] if k == 1 else [])
    kept = run.file("backup_members") / "member_0.weights.h5"
    assert kept.is_file() and not (run.file("backup_members") / "member_1.weights.h5").exists()
    assert run.file("backup_history_member_1").is_dir()
    member_0_weights = [w.copy() for w in built[0].get_weights()]
    member_0_moments = [v.numpy().copy() for v in built[0].optimizer.variables]
    first_init_1 = built[1]  # member 1 was built after set_seed(5 + 1)

    resumed = start_run("demo", _args(runs_dir, *flags, "--resume"))
    counters = {0: _Count(), 1: _Count()}
    members = resumed.fit_members(2, build, data, callbacks=lambda k: [counters[k]])
    assert counters[0].epochs == [] and counters[1].epochs == [2]  # member 0 is loaded, member 1 resumes
    (model_0, history_0), (model_1, history_1) = members
    for a, b in zip(model_0.get_weights(), member_0_weights):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model_0.optimizer.variables, member_0_moments):
        np.testing.assert_array_equal(a.numpy(), b)
    assert len(history_0["loss"]) == 3 and len(history_1["loss"]) == 3
    assert json.loads(resumed.file("history_member_1.json").read_text()) == history_1
    assert first_init_1 is not model_1 and not np.allclose(model_0.get_weights()[0], model_1.get_weights()[0])
    resumed.finish({})
    assert not resumed.file("backup_members").exists() and not resumed.file("train_time.json").exists()

    single = start_run("demo", _args(runs_dir, *flags))
    ((model, history),) = single.fit_members(1, build, data)
    assert len(history["loss"]) == 3 and not single.file("backup_members").exists()
    with pytest.raises(ValueError, match="received 0"):
        single.fit_members(0, build, data)


# --------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------
def _gru_model(features, units=3):
    return keras.Sequential([keras.Input((6, features)), keras.layers.GRU(units), keras.layers.Dense(2)])


def test_export_models_returns_metrics_and_run_records_them(runs_dir, tmp_path):
    keras.utils.set_random_seed(0)
    encoder, step = _gru_model(2), _gru_model(3)
    x2 = np.random.default_rng(0).normal(size=(4, 6, 2)).astype("float32")
    x3 = np.random.default_rng(1).normal(size=(4, 6, 3)).astype("float32")
    folder = tmp_path / "direct"
    metrics = export_models(folder, {"encoder": (encoder, x2), "decoder_step": (step, [x3])}, mode="sequence")
    assert set(metrics) == {
        "export_encoder_parity_max_abs",
        "export_encoder_size_bytes",
        "export_decoder_step_parity_max_abs",
        "export_decoder_step_size_bytes",
        "export_parity_max_abs",
    }
    assert metrics["export_encoder_size_bytes"] == (folder / "encoder.tflite").stat().st_size
    assert metrics["export_parity_max_abs"] == max(
        metrics["export_encoder_parity_max_abs"], metrics["export_decoder_step_parity_max_abs"]
    )
    assert metrics["export_parity_max_abs"] <= 1e-5
    assert sorted(p.name for p in folder.iterdir()) == ["decoder_step.tflite", "encoder.tflite"]

    run = start_run("demo", _args(runs_dir, "--export"))
    recorded = run.export({"encoder": (encoder, x2), "decoder_step": (step, None)}, mode="sequence")
    assert (
        "sample_inputs" in recorded["export_decoder_step_error"]
        and "decoder_step" in recorded["export_error"]
    )
    assert "export_parity_max_abs" not in recorded and recorded["export_encoder_parity_max_abs"] <= 1e-5
    saved = json.loads(run.file("metrics.json").read_text())
    assert {k: saved[k] for k in recorded} == recorded
    with pytest.raises(ValueError, match="mode must be one of"):
        export_models(folder, {"model": (encoder, x2)}, mode="stream")
    with pytest.raises(ValueError, match="non-empty mapping"):
        export_models(folder, {})


# --------------------------------------------------------------------------
# the recipe entry point
# --------------------------------------------------------------------------
TOY = '''"""
Title: Toy
Description: a recipe that refuses a bad --n.
"""


def main(argv=None):
    n = int(argv[argv.index("--n") + 1])
    if n <= 0:
        raise ValueError(f"--n must be positive, received {n}.")
    return {"n": n}
'''


def test_run_recipe_main_prints_one_line_errors(tmp_path, capsys):
    from lstm_apps.cli import load_recipe

    (tmp_path / "toy.py").write_text(TOY)
    toy = load_recipe("toy", folder=tmp_path)
    assert run_recipe_main(toy.main, ["--n", "3"]) == {"n": 3}
    with pytest.raises(SystemExit) as exit_info:
        run_recipe_main(toy.main, ["--n", "0"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "toy: error: --n must be positive, received 0.\n"
    with pytest.raises(ValueError, match="received 0"):  # --debug: the traceback
        run_recipe_main(toy.main, ["--n", "0", "--debug"])
