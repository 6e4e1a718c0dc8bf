"""The task table, settings, streams, stop rules and reports of lstm_apps.datasets.tasks."""

import math

import numpy as np
import pytest

from lstm_apps.datasets import tasks as T

# -- the table ----------------------------------------------------------------------------------


def test_table_holds_every_task_with_its_paper_figures():
    assert (
        T.TASKS
        == tuple(T.TASK_SPECS)
        == (
            "reber",
            "long_lag",
            "long_lag_random",
            "very_long_lag",
            "two_sequence",
            "adding",
            "multiplication",
            "temporal_order_2",
            "temporal_order_3",
        )
    )
    assert T.paper_sequences("adding") == T.paper_sequences("adding", 100) == 74_000
    assert T.paper_sequences("adding", 500) == 209_000
    assert T.paper_sequences("adding", 250) is None  # the paper ran no such length
    assert T.paper_sequences("multiplication") == 482_000
    assert T.paper_sequences("multiplication", n_seq=13) == 1_273_000
    assert T.paper_sequences("reber") == 8_440
    assert T.paper_sequences("very_long_lag", lag=1000, distractors=50) == 203_000
    assert T.paper_sequences("two_sequence", 1000, variant="b", relevant=1) == 485_080
    assert T.PAPER_SEQUENCES == {row.id: row.sequences for row in T.PAPER_ROWS}


def test_paper_rows_cover_tables_1_to_9():
    ids = [row.id for row in T.PAPER_ROWS]
    assert len(ids) == len(set(ids)) == 31
    assert {row.table for row in T.PAPER_ROWS} == set(range(1, 10))
    assert [r.id for r in T.paper_rows("very_long_lag")] == [f"2c-{k}" for k in range(1, 10)]
    for row in T.PAPER_ROWS:
        spec = T.task_spec(row.task)
        assert set(row.params) <= set(spec.params), row.id
        assert T.paper_row(row.task, row.params, row.blocks, row.cells_per_block, row.learning_rate) is row
        assert row.paper["test_sequences"] in (512, 2560)
    reber = {r.id: r for r in T.paper_rows("reber")}
    assert [reber[k].success for k in ("1-1", "1-2", "1-3", "1-4", "1-5")] == [1.0, 1.0, 0.97, 0.97, 1.0]
    assert T.paper_row("reber").id == "1-5" and T.paper_row("reber", blocks=4, cells_per_block=1).id == "1-4"
    assert T.paper_row("reber", blocks=3, cells_per_block=2, learning_rate=0.2).id == "1-3"
    assert T.paper_row("two_sequence", {"length": 100, "variant": "a", "relevant": 3}).paper["st1"] == 27_380
    assert T.paper_row("two_sequence", {"length": 100, "variant": "c", "relevant": 3}).learning_rate == 0.1


def test_paper_nets_follow_table_10():
    nets = T.PAPER_NETS
    assert nets["long_lag"].output_gate is False and nets["long_lag"].recurrent_connections == "none"
    assert (nets["long_lag"].cell_activation, nets["long_lag"].output_activation) == ("sigmoid", "linear")
    assert nets["very_long_lag"].use_bias is False and nets["very_long_lag"].learning_rate == 0.01
    assert nets["reber"].use_bias == "gates" and nets["reber"].output_gate_bias == (-1.0, -2.0, -3.0)
    assert nets["reber"].resized(4, 1).output_gate_bias == (-1.0, -2.0, -3.0, -4.0)
    assert nets["two_sequence"].input_gate_bias == (-1.0, -3.0, -5.0)
    assert nets["adding"].input_gate_bias == (-3.0, -6.0) and nets["adding"].output_gate_bias is None
    assert nets["temporal_order_3"].input_gate_bias == (-2.0, -4.0, -6.0)
    assert all(n.recurrent_connections == "cells_and_gates" for k, n in nets.items() if "long_lag" not in k)
    assert {n.init for k, n in nets.items() if k in ("reber", "long_lag", "very_long_lag")} == {0.2}


def test_each_spec_generates_checks_and_pads_consistently():
    for name, spec in T.TASK_SPECS.items():
        b = T.make_task(name, 3, seed=1)
        steps = spec.steps()
        if steps is not None:
            assert b.x.shape[1] <= steps
            long = T.make_task(name, 200, seed=2)
            assert long.lengths.max() <= steps
        assert spec.output in ("regression", "classification", "next_symbol")
        assert spec.config.units == spec.config.blocks * spec.config.cells_per_block


def test_params_lengths_and_bad_tasks():
    assert T.task_spec("adding").resolve() == {"length": 100}
    assert T.task_params("long_lag", length=10) == {"length": 10}
    assert T.task_params("multiplication", n_seq=13) == {"length": 100, "n_seq": 13}
    assert T.task_params("two_sequence", variant="b", lag=None) == {
        "length": 100,
        "variant": "b",
        "relevant": 3,
    }
    assert T.max_length("adding", 1000) == 1100 and T.max_length("long_lag") == 100
    assert T.max_length("temporal_order_3") == 110 and T.max_length("reber") is None
    assert T.max_length("very_long_lag", lag=1000) is None  # lengths vary without bound
    assert T.make_task("adding", 2, seed=0, length=200).x.shape[1] >= 200
    with pytest.raises(ValueError, match="fixed lengths; --length applies to long_lag, long_lag_random, "):
        T.make_task("temporal_order_2", 2, length=50)
    with pytest.raises(ValueError, match="no parameter 'lag'; --lag applies to very_long_lag"):
        T.task_params("adding", lag=10)
    with pytest.raises(ValueError, match="unknown task parameter 'depth'"):
        T.task_params("adding", depth=3)
    with pytest.raises(ValueError, match="'parity'"):
        T.task_spec("parity")


def test_config_validates_and_staggers_biases():
    config = T.TaskConfig(3, 2, input_bias=-1.0, bias_step=-0.5)
    assert config.units == 6 and config.input_gate_biases() == [-1.0, -1.5, -2.0]
    with pytest.raises(ValueError, match="blocks.*0"):
        T.TaskConfig(0, 2)
    with pytest.raises(ValueError, match="init.*'normal'"):
        T.TaskConfig(1, 1, init="normal")


# -- settings -----------------------------------------------------------------------------------


def test_settings_from_the_task_defaults():
    paper = T.task_settings("adding")  # the paper's on-line SGD
    assert (paper.optimizer, paper.batch_size, paper.learning_rate, paper.sequences_per_epoch) == (
        "sgd",
        1,
        0.5,
        1000,
    )
    s = T.task_settings("adding", optimizer="adam")
    assert (s.batch_size, s.check_every, s.window, s.test_sequences) == (16, 1000, 2000, 2560)
    assert s.steps_per_epoch == 62 and s.sequences_per_epoch == 992  # whole batches
    assert s.epochs == math.ceil(100_000 / 992)
    assert s.learning_rate == 0.03 and s.half_life_batches == 15_000 // 16
    assert s.config == T.task_spec("adding").config and s.fixed_set_size is None
    assert (s.net_kind, s.net) == ("paper", T.PAPER_NETS["adding"])
    assert T.task_settings("reber").fixed_set_size == 256 and T.task_settings("reber").test_sequences == 256
    assert T.task_settings("very_long_lag").test_sequences == 10_000


def test_settings_of_the_papers_sgd_and_net_overrides():
    s = T.task_settings("adding", optimizer="sgd")
    assert (s.batch_size, s.learning_rate, s.half_life_batches) == (1, 0.5, None)
    assert T.task_settings("two_sequence", optimizer="sgd", params={"variant": "c"}).learning_rate == 0.1
    assert T.task_settings("very_long_lag", optimizer="sgd", learning_rate=0.1).learning_rate == 0.1
    r = T.task_settings("reber", blocks=4, cells_per_block=1, optimizer="sgd")
    assert r.net.output_gate_bias == (-1.0, -2.0, -3.0, -4.0) and r.learning_rate == 0.5  # row 1-4
    abuse = T.task_settings("adding", input_gate_bias=0.0, bias_step=0.0)
    assert abuse.net.input_gate_bias == (0.0, 0.0)
    assert T.task_settings("adding", input_gate_bias=-1.0).net.input_gate_bias == (-1.0, -4.0)  # its step
    assert T.task_settings("reber", output_gate=False).net.output_gate is False
    with pytest.raises(ValueError, match="net.*'big'"):
        T.task_settings("adding", net="big")
    with pytest.raises(ValueError, match="optimizer.*'rmsprop'"):
        T.task_settings("adding", optimizer="rmsprop")


def test_settings_quick_overrides_and_budget():
    q = T.task_settings("reber", quick=True, batch_size=64, window=500, test_sequences=1000, optimizer="adam")
    assert (q.batch_size, q.check_every, q.window, q.test_sequences) == (16, 64, 64, 64)
    assert q.epochs == 2 and q.max_sequences == 128 and q.fixed_set_size == 64 and q.quick
    assert T.task_settings("adding", quick=True).batch_size == 1
    assert T.task_settings("adding", epochs=3).epochs == 3
    assert T.task_settings("adding", epochs=3, max_sequences=5000, optimizer="adam").epochs == math.ceil(
        5000 / 992
    )
    s = T.task_settings(
        "adding", blocks=2, cells_per_block=3, input_gate_bias=-2.0, output_gate_bias=-1.0, learning_rate=0.1
    )
    assert (s.config.blocks, s.config.cells_per_block, s.config.input_bias, s.config.output_bias) == (
        2,
        3,
        -2.0,
        -1.0,
    )
    assert s.config.bias_step == -1.0 and s.learning_rate == 0.1
    assert s.net.units == 6 and s.net.output_gate_bias == (-1.0, -1.0)
    with pytest.raises(ValueError, match="batch_size.*-4"):
        T.task_settings("adding", batch_size=-4)
    with pytest.raises(ValueError, match="window.*0"):
        T.task_settings("adding", window=0)


def test_budget_shares_give_each_run_its_weight():
    weights = [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    shares = T.budget_shares(weights)
    left, spent = 1.0, []
    for share in shares:  # every run spends all it may
        spent.append(left * share)
        left -= spent[-1]
    np.testing.assert_allclose(spent, np.array(weights) / sum(weights))
    assert shares[-1] == 1.0
    with pytest.raises(ValueError, match="positive.*0.0"):
        T.budget_shares([1.0, 0.0])


def test_suite_lengths():
    entries = {(e.task, e.cell): e for e in T.PAPER_SUITE}
    assert entries[("adding", "lstm1997")].length_for(500) == 100  # its own
    assert entries[("long_lag", "lstm1997")].length_for(50) == 50  # the run's
    assert entries[("reber", "lstm1997")].length_for(50) is None  # fixed lengths
    assert T.budget_shares([e.minutes_share for e in T.PAPER_SUITE])[0] == pytest.approx(1 / 6)


# -- batching and streams -----------------------------------------------------------------------


def test_pad_and_concat():
    r = T.embedded_reber(5, seed=0)
    p = T.pad(r, r.x.shape[1] + 4)
    assert p.x.shape[1] == p.y.shape[1] == p.info["legal"].shape[1] == r.x.shape[1] + 4
    assert not p.x[:, -4:].any() and not p.info["legal"][:, -4:].any()
    np.testing.assert_array_equal(p.step_mask[:, : r.x.shape[1]], r.step_mask)
    assert T.pad(r, r.x.shape[1]) is r
    with pytest.raises(ValueError, match="cannot pad"):
        T.pad(r, 3)
    a, b = T.adding_problem(3, T=20, seed=0), T.adding_problem(2, T=20, seed=1)
    a, b = T.pad(a, 22), T.pad(b, 22)
    both = T.concat([a, b])
    assert len(both) == 5 and both.info["marks"].shape == (5, 2) and both.info["T"] == 20
    np.testing.assert_array_equal(both.y[3:], b.y)
    joined = T.concat([p, p])
    assert joined.info["strings"] == r.info["strings"] * 2
    with pytest.raises(ValueError, match="equal steps"):
        T.concat([T.pad(a, 25), b])
    with pytest.raises(ValueError, match="at least one"):
        T.concat([])


def test_stream_serves_padded_batches_and_keeps_a_window():
    stream = T.TaskStream("adding", None, batch_size=8, window=20, seed=0, steps=110)
    it = iter(stream)
    ys = []
    for _ in range(5):
        x, y = next(it)
        assert x.shape == (8, 110, 2) and y.shape == (8, 1)
        ys.append(y)
    assert stream.served == 40
    np.testing.assert_array_equal(stream.window(16).y, np.concatenate(ys[:2]))  # fewer than the window
    # trained on 32 sequences while the pipeline prefetched one more batch: the window ends at 32
    np.testing.assert_array_equal(stream.window(32).y, np.concatenate(ys[1:4]))
    window = stream.window()
    assert len(window) == 24  # 20 rounded up to whole batches: the 3 most recent
    np.testing.assert_array_equal(window.y, np.concatenate(ys[2:]))
    with pytest.raises(ValueError, match="no batch among the first 0 sequences"):
        stream.window(0)
    reber = T.TaskStream("reber", None, 4, 8, seed=0, train_set=T.embedded_reber(10, seed=0))
    x, y, w = next(iter(reber))
    np.testing.assert_array_equal(w, reber.window().step_mask.astype("float32"))
    with pytest.raises(ValueError, match="no batch"):
        T.TaskStream("adding", None, 8, 20).window()
    with pytest.raises(ValueError, match="batch_size.*0"):
        T.TaskStream("adding", None, 0, 20)


def test_task_data_follows_the_paper():
    s = T.task_settings("adding", quick=True)
    data = T.task_data("adding", s, seed=3)
    assert (data.steps, data.features, data.outputs) == (110, 2, 1)
    expected = T.pad(T.make_task("adding", 64, seed=np.random.default_rng(10_003)), 110)
    np.testing.assert_array_equal(data.test.x, expected.x)
    assert data.stream.served == 0  # the shape sample is not training data
    x, y = next(iter(data.stream))
    np.testing.assert_array_equal(data.check_set(16).y, y)

    r = T.task_data("reber", T.task_settings("reber", quick=True), seed=0)
    assert len(r.test) == 64 and len(r.check_set()) == 128
    train_strings = set(r.check_set().info["strings"][:64])
    assert not train_strings & set(r.test.info["strings"])  # the paper's rule
    assert r.stream.train_set is not None and r.steps == r.test.x.shape[1]

    lag = T.task_data("long_lag", T.task_settings("long_lag", quick=True), length=10, seed=0)
    np.testing.assert_array_equal(lag.check_set().x, lag.test.x)
    assert len(lag.test) == lag.test_size == 2 and lag.steps == 10 and lag.confirm is None
    fresh = T.task_data("two_sequence", T.task_settings("two_sequence", quick=True), seed=0)
    first, second = fresh.check_set(16), fresh.check_set(32)
    assert len(first) == 64 and not np.array_equal(first.x, second.x)  # 5.3: a fresh test set per check
    with pytest.raises(ValueError, match="seed.*'x'"):
        T.task_data("adding", s, seed="x")


# -- stop rules ---------------------------------------------------------------------------------


class _FakeModel:
    """Predicts given outputs; stands in for a Keras model in the stop rule."""

    def __init__(self, outputs):
        self.outputs = outputs

    def predict(self, x, batch_size=None, verbose=0):
        return self.outputs


def _rule(task, batch, outputs, logs=None, **options):
    rule = T.paper_stop_rule(task, lambda sequences: batch, sequences_per_epoch=1000, **options)
    return rule, rule(2, logs, _FakeModel(outputs))


def test_stop_rule_adding():
    b = T.adding_problem(200, seed=0)
    logs = {}
    good, reason = _rule("adding", b, b.y + 0.03, logs, n_seq=13)  # n_seq is multiplication's
    assert good.solved_at == 3000 and "3,000" in reason
    assert logs["window_wrong"] == 0.0 and logs["window_error"] == pytest.approx(0.03**2, rel=1e-5)
    bad_out = b.y + 0.03
    bad_out[5] += 0.02  # one sequence off by 0.05
    bad, reason = _rule("adding", b, bad_out)
    assert reason is None and bad.solved_at is None
    assert bad.log == [
        {
            "sequences": 3000,
            "error": pytest.approx(float(np.mean((bad_out - b.y) ** 2))),
            "wrong": 1,
            "checked": 200,
            "solved": False,
        }
    ]


def test_stop_rule_checks_the_most_recent_sequences_first():
    b = T.adding_problem(1000, seed=3)
    seen = []

    class Counting(_FakeModel):
        def predict(self, x, batch_size=None, verbose=0):
            seen.append(len(x))
            return self.outputs[-len(x) :]

    early = b.y.copy()
    early[10] += 0.5  # wrong, but not among the last 256
    rule = T.paper_stop_rule("adding", lambda n: b, 1000)
    assert rule(0, None, Counting(early)) is None and seen == [256, 1000] and rule.log[-1]["checked"] == 1000
    late = b.y.copy()
    late[-1] += 0.5
    rule(1, None, Counting(late))
    assert seen[2:] == [256] and rule.log[-1]["checked"] == 256 and rule.log[-1]["wrong"] == 1
    assert rule(2, None, Counting(b.y)) and seen[3:] == [256, 1000]
    mult = T.paper_stop_rule("multiplication", lambda n: b, 1000)  # counts wrong ones: checks them all
    seen.clear()
    mult(0, None, Counting(b.y))
    assert seen == [1000]


def test_stop_rule_multiplication_takes_n_seq():
    b = T.multiplication_problem(2000, seed=0)  # the paper's window
    out = b.y.copy()
    out[:20] += 0.05
    assert _rule("multiplication", b, out, n_seq=21)[0].solved_at == 3000  # fewer than n_seq wrong
    assert _rule("multiplication", b, out, n_seq=20)[0].solved_at is None


def test_stop_rule_reber_long_lag_and_temporal_order():
    r = T.embedded_reber(20, seed=1)
    legal = r.info["legal"]
    perfect = legal / np.maximum(legal.sum(-1, keepdims=True), 1)
    assert _rule("reber", r, perfect)[0].solved_at == 3000
    assert _rule("reber", r, r.y)[0].solved_at is None  # ignores the second legal symbol
    t = T.temporal_order(30, seed=2)
    assert _rule("temporal_order_2", t, 0.8 * t.y + 0.05)[0].solved_at == 3000
    assert _rule("temporal_order_2", t, np.full_like(t.y, 0.25))[0].solved_at is None
    both = T.long_lag_sequences(10)
    assert _rule("long_lag", both, 0.9 * both.y + 0.01)[0].solved_at == 3000
    coin = both.y.copy()
    coin[:, -1, 8:10] = 0.5
    rule, _ = _rule("long_lag", both, coin)
    assert rule.solved_at is None and rule.log[-1]["wrong"] == 2  # x/y tie: both off by 0.5 at the end


def test_stop_rule_checks_the_sequences_trained_in_this_process():
    b = T.adding_problem(10, seed=0)
    asked = []
    rule = T.PaperStopRule(T.adding_check, lambda n: asked.append(n) or b, sequences_per_epoch=64)
    for epoch in (4, 5, 6):  # a run resumed after 4 epochs: its stream started afresh
        rule(epoch, None, _FakeModel(b.y + 0.5))
    assert asked == [64, 128, 192] and [e["sequences"] for e in rule.log] == [320, 384, 448]


def test_stop_rule_rejects_bad_epoch_size():
    with pytest.raises(ValueError, match="sequences_per_epoch.*0"):
        T.PaperStopRule(T.adding_check, lambda: None, 0)


def test_test_errors():
    b = T.adding_problem(50, seed=0)
    pred = b.y + np.where(np.arange(50)[:, None] < 3, 0.1, 0.01)
    e = T.test_errors("regression", pred, b)
    assert e["error_count"] == 3 and e["max_abs_error"] == pytest.approx(0.1)
    t = T.temporal_order(10, seed=0)
    e = T.test_errors("classification", 0.5 * t.y + 0.1, t)
    assert e["error_count"] == 10 and e["max_abs_error"] == pytest.approx(0.4)
    r = T.pad(T.embedded_reber(6, seed=0), 40)
    legal = r.info["legal"]
    e = T.test_errors("next_symbol", legal / np.maximum(legal.sum(-1, keepdims=True), 1), r)
    assert e["error_count"] == 0 and e["mse"] is None and e["max_abs_error"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="'ranking'"):
        T.test_errors("ranking", pred, b)


# -- reports ------------------------------------------------------------------------------------


def _result(task, cell, solved_at, paper, wrong=0):
    return {
        "task": task,
        "length": None,
        "cell": cell,
        "solved": solved_at is not None,
        "sequences_to_success": solved_at,
        "sequences_trained": solved_at or 5000,
        "paper_sequences": paper,
        "test_sequences": 64,
        "test_error_count": wrong,
        "test_max_abs_error": 0.1 * (wrong + 1),
        "train_seconds": 1.0,
    }


def test_verdicts_and_comparison():
    assert T.verdict(_result("adding", "lstm1997", 14_000, 74_000)).startswith("Solved after 14,000")
    assert "MORE than the paper's 8,440" in T.verdict(_result("reber", "lstm1997", 9_000, 8_440))
    assert "within 5,000 sequences" in T.verdict(_result("adding", "gru", None, 74_000))
    mine, paper = T.comparison_rows(_result("adding", "lstm1997", None, 74_000, wrong=3))
    assert mine["sequences"] == "> 5,000" and mine["test wrong"] == "3/64" and paper["sequences"] == 74_000


def test_suite_metrics_and_conclusion():
    results = {
        "adding100_lstm1997": _result("adding", "lstm1997", 14_000, 74_000, wrong=1),
        "adding100_simple_rnn": _result("adding", "simple_rnn", None, 74_000, wrong=50),
        "reber_lstm1997": _result("reber", "lstm1997", None, 8_440, wrong=2),
    }
    m = T.suite_metrics(results)
    assert (m["solved"], m["tasks_solved"], m["tasks"], m["test_error_count"]) == (False, 1, 2, 3)
    assert m["test_max_abs_error"] == pytest.approx(0.3)  # the simple RNN is not an LSTM1997 task
    assert m["adding100_simple_rnn_test_error_count"] == 50 and m["reber_lstm1997_solved"] is False
    text = T.suite_conclusion(results)
    assert "paper on adding (lstm1997);" in text and "adding (simple_rnn), reber (lstm1997)" in text
    with pytest.raises(ValueError, match="lstm1997"):
        T.suite_metrics({"x": results["adding100_simple_rnn"]})
