"""Strict JSON from numpy-bearing results: :func:`json_safe`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and NaN/inf as ``None`` (strict JSON).

    Dicts, lists and tuples are walked (tuples become lists); anything else is
    returned unchanged.

    Examples
    --------
    >>> json_safe({"sdr": np.float32(2.5), "n": np.int64(3), "bad": [float("nan"), 1.0]})
    {'sdr': 2.5, 'n': 3, 'bad': [None, 1.0]}
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
