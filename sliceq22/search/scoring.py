"""How per-track, per-target scores become a trial's values."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from sliceq22 import TARGETS
from sliceq22.oracles.base import aggregate
from sliceq22.search.messages import TrackScored


def score_of(scores: dict[str, Any], target: str) -> float:
    """A stored score as a float: NaN when it is missing or stored as ``null`` (no score)."""
    value = scores.get(target)
    return float(value) if isinstance(value, int | float) else math.nan


def aggregate_tracks(values: Iterable[float], how: str) -> float:
    """:func:`~sliceq22.oracles.base.aggregate` of the finite values (NaN if none is).

    A track without a score (silent target: NaN) or with an exact
    reconstruction (+inf) says nothing about how candidates compare.
    """
    return aggregate([v for v in values if v is not None and math.isfinite(v)], how)


def per_target_values(tracks: Iterable[TrackScored], how: str) -> dict[str, float]:
    """Aggregate over tracks of each target's score."""
    tracks = list(tracks)
    return {t: aggregate_tracks([score_of(r.scores, t) for r in tracks], how) for t in TARGETS}


def shared_value(per_target: dict[str, float]) -> float:
    """Mean over targets of the per-target aggregates (targets with no score are left out)."""
    finite = [v for v in per_target.values() if isinstance(v, int | float) and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan
