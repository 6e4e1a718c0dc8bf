"""The delayed copy task (lstm_apps.datasets.delayed_copy): layout, stream and accuracy."""

import numpy as np
import pytest

from lstm_apps.datasets import delayed_copy as dc


def test_layout():
    k, d, a = 3, 5, 6
    b = dc.delayed_copy(4, delay=d, symbols=k, alphabet=a, seed=0)
    steps = dc.sequence_length(d, k)
    assert steps == 2 * k + d + 1 and b.x.shape == (4, steps, a + 2) and b.delay == d
    channels = b.x.argmax(-1)
    assert (b.x.sum(-1) == 1).all()  # one-hot everywhere, no padding
    np.testing.assert_array_equal(channels[:, :k], b.symbols + 2)  # the symbols first
    assert (channels[:, k : k + d] == dc.BLANK).all()  # the delay
    assert (channels[:, k + d] == dc.GO).all()  # the go marker
    assert (channels[:, k + d + 1 :] == dc.BLANK).all()  # blanks while recalling
    np.testing.assert_array_equal(b.y[:, -k:], b.symbols)  # recall symbol j, K + D + 1 steps later
    assert b.weights[:, -k:].all() and not b.weights[:, :-k].any()


def test_seeded_and_uniform():
    a = dc.delayed_copy(5, 7, seed=3)
    np.testing.assert_array_equal(a.x, dc.delayed_copy(5, 7, seed=3).x)
    assert not np.array_equal(a.symbols, dc.delayed_copy(5, 7, seed=4).symbols)
    counts = np.bincount(dc.delayed_copy(4000, 0, symbols=5, alphabet=8, seed=0).symbols.ravel(), minlength=8)
    assert counts.min() > 0.9 * 2500 and counts.max() < 1.1 * 2500


def test_stream():
    stream = dc.copy_batches(6, max_delay=9, min_delay=4, symbols=2, alphabet=3, seed=0)
    delays = set()
    for _ in range(40):
        x, y, w = next(stream)
        assert x.shape[0] == y.shape[0] == w.shape[0] == 6
        steps = x.shape[1]
        assert (w > 0).sum() == 12 and np.allclose(w[w > 0], steps / 2)  # mean over steps = mean per symbol
        delays.add(steps - 5)
    assert delays == set(range(4, 10))
    padded = dc.copy_batches(3, max_delay=30, symbols=2, alphabet=3, seed=0, length_multiple=16)
    shapes = set()
    for _ in range(30):
        x, y, w = next(padded)
        shapes.add(x.shape[1])
        real = x.any(-1)  # padding: all-zero inputs, weight 0, after the recall steps
        last = real.sum(1)
        assert (real.argmin(1)[last < x.shape[1]] == last[last < x.shape[1]]).all()
        assert not w[~real].any() and (w > 0).sum() == 6
        np.testing.assert_array_equal(y[:, last[0] - 2 : last[0]], x[:, :2].argmax(-1) - 2)
    assert shapes <= {16, 32, 48}
    with pytest.raises(ValueError, match="min_delay <= max_delay"):
        next(dc.copy_batches(6, max_delay=2, min_delay=3))


def test_accuracy_against_a_loop():
    b = dc.delayed_copy(6, delay=4, symbols=3, alphabet=5, seed=1)
    assert dc.copy_accuracy(np.eye(5)[b.y], b) == 1.0
    rng = np.random.default_rng(0)
    p = rng.random((6, b.x.shape[1], 5))
    right = sum(
        p[i, t].argmax() == b.y[i, t] for i in range(6) for t in range(b.x.shape[1]) if b.weights[i, t] > 0
    )
    assert dc.copy_accuracy(p, b) == pytest.approx(right / 18)
    always_zero = np.zeros_like(p)
    always_zero[..., 0] = 1.0
    assert dc.copy_accuracy(always_zero, b) == pytest.approx((b.symbols == 0).mean())
    assert dc.chance_accuracy(8) == 0.125
    with pytest.raises(ValueError, match="do not answer"):
        dc.copy_accuracy(p[:, :3], b)


def test_bad_arguments():
    for kwargs, match in (
        ({"n": 0, "delay": 3}, "n must be a positive integer"),
        ({"n": 2, "delay": -1}, "delay must be a non-negative integer"),
        ({"n": 2, "delay": 3, "alphabet": 1}, "at least 2 symbols"),
        ({"n": 2, "delay": 3, "symbols": 0}, "symbols must be a positive integer"),
    ):
        with pytest.raises(ValueError, match=match):
            dc.delayed_copy(**kwargs)
