"""How per-track, per-target scores become a trial's values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sliceq22 import TARGETS


def score_of(scores: dict[str, Any], target: str) -> float:
    """A stored score as a float: NaN when it is missing or stored as ``null`` (no score)."""
    value = scores.get(target)
    return float(value) if isinstance(value, int | float) else math.nan


def aggregate_tracks(values: list[float], how: str) -> float:
    """Median or mean over tracks, ignoring NaN (excluded/silent); NaN if nothing is left."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return math.nan
    return float(np.median(finite) if how == "median" else np.mean(finite))


def per_target_values(tracks: list[dict[str, Any]], how: str) -> dict[str, float]:
    """Aggregate over tracks of each target's score."""
    return {t: aggregate_tracks([score_of(r["scores"], t) for r in tracks], how) for t in TARGETS}


def shared_value(per_target: dict[str, float]) -> float:
    """Mean over targets of the per-target aggregates (targets with no score are left out)."""
    finite = [v for v in per_target.values() if isinstance(v, int | float) and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan
