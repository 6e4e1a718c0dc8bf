import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ``../shared/data`` beside the checkout, or the folder named by LSTM_APPS_SHARED_DATA (for worktrees)
SHARED_DATA = Path(os.environ.get("LSTM_APPS_SHARED_DATA") or ROOT.parent / "shared" / "data")
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def shared_data():
    """``../shared/data`` beside the checkout; skips the test when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"
