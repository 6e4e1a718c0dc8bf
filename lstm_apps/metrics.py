"""Evaluation metrics shared by the recipes and benchmarks.

Each domain's metrics live in its own section below; all take NumPy arrays
and return Python floats.
"""

from __future__ import annotations

import numpy as np
