"""--distribute: MirroredStrategy over 2 logical CPU devices matches single-device
training, and the model it saves loads anywhere (here: without any strategy)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

# Logical devices must be configured before TensorFlow initialises its
# runtime, so the training runs in a fresh interpreter.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    from lstm_apps.layers import LSTM1997
    from lstm_apps.training import make_strategy, recipe_parser, start_run

    out = sys.argv[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 12, 3)).astype("float32")
    y = x[:, :, :1].sum(axis=1)

    def build():
        model = keras.Sequential(
            [keras.Input((12, 3)), LSTM1997(8, cells_per_block=2), keras.layers.Dense(1)]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        return model

    keras.utils.set_random_seed(0)
    single = build()
    start = single.get_weights()
    single.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    # the harness path: --distribute mirrored -> run.strategy
    args = recipe_parser("distribute_test", epochs=2).parse_args(
        ["--distribute", "mirrored", "--runs-dir", os.path.join(out, "runs"), "--quick"])
    run = start_run("distribute_test", args)
    strategy = run.strategy
    with strategy.scope():
        mirrored = build()
    mirrored.set_weights(start)
    mirrored.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    path = run.save_model(mirrored)
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "pred.npy"), mirrored.predict(x, verbose=0))
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "strategy": type(strategy).__name__,
        "max_weight_diff": max(
            float(np.abs(a - b).max()) for a, b in zip(single.get_weights(), mirrored.get_weights())
        ),
        "max_weight_change": max(float(np.abs(a - b).max()) for a, b in zip(start, single.get_weights())),
        "model": str(path),
    }))
    """
)


def test_mirrored_two_cpu_devices_matches_single_device(tmp_path):
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["strategy"] == "MirroredStrategy" and result["replicas"] == 2
    assert result["max_weight_change"] > 1e-3  # training did move the weights ...
    assert result["max_weight_diff"] < 1e-5  # ... identically on 1 and on 2 devices

    # the model saved under the strategy loads without it (its layers registered, as the README says)
    import keras

    import lstm_apps.layers  # noqa: F401

    loaded = keras.models.load_model(result["model"])
    x = np.load(tmp_path / "x.npy")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), np.load(tmp_path / "pred.npy"), atol=1e-5)


def test_make_strategy_choices(monkeypatch):
    import tensorflow as tf

    from lstm_apps.training import make_strategy

    assert make_strategy("none") is tf.distribute.get_strategy()
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        make_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        make_strategy("multiworker")
    with pytest.raises(ValueError, match="received 'bogus'"):
        make_strategy("bogus")
