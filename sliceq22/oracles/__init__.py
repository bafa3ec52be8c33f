"""Objectives: how good a transform is for demixing, per target and track.

An objective is looked up by name (:func:`get_objective`) and scores one track
at a time (:meth:`Objective.evaluate_track`); :func:`iter_candidate` yields the
per-track results of one candidate so a search can prune after any track.
New objectives register with :func:`register_objective` (or an entry in
:data:`OBJECTIVES`, imported on first use).

Examples
--------
>>> objective = get_objective("mpi", metric="sdr-bss")
>>> objective.direction, objective.options["mixture"]
('maximize', 'sum')
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import Any

from sliceq22.data.track import Track
from sliceq22.errors import ParameterError
from sliceq22.oracles.base import (
    AGGREGATES,
    Objective,
    Progress,
    TrackResult,
    aggregate,
    aggregate_results,
    require_feasible,
)
from sliceq22.oracles.metrics import (
    METRICS,
    get_metric,
    sdr_bss,
    sdr_bss_frames,
    sdr_global,
)
from sliceq22.transforms.base import Transform

#: objective name -> "module:Class" (imported on first use) or the class itself.
OBJECTIVES: dict[str, str | type[Objective]] = {
    "mpi": "sliceq22.oracles.mpi:MpiObjective",
    "ibm": "sliceq22.oracles.masks:IbmObjective",
    "irm": "sliceq22.oracles.masks:IrmObjective",
    "wiener": "sliceq22.oracles.wiener:WienerObjective",
    "mwf": "sliceq22.oracles.mwf:MwfObjective",
    "renyi": "sliceq22.oracles.ridge:RenyiObjective",
    "hoyer": "sliceq22.oracles.ridge:HoyerObjective",
    "tonal-ridge": "sliceq22.oracles.ridge:TonalRidgeObjective",
    "contrast": "sliceq22.oracles.contrast:ContrastObjective",
}


def register_objective(name: str, cls: str | type[Objective]) -> None:
    """Make ``get_objective(name)`` build ``cls`` (a class or ``"module:Class"``)."""
    OBJECTIVES[name] = cls


def objective_class(name: str) -> type[Objective]:
    """Return the class registered as ``name``, or raise :class:`ParameterError`."""
    target = OBJECTIVES.get(name)
    if target is None:
        raise ParameterError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}")
    if isinstance(target, str):
        module_name, class_name = target.split(":")
        target = getattr(importlib.import_module(module_name), class_name)
    return target


def get_objective(name: str, **options: Any) -> Objective:
    """Build the objective ``name`` with ``options`` (``None`` values take the defaults).

    Raises
    ------
    ParameterError
        Unknown objective, unknown option, or a bad option value (an unknown
        metric names the known ones).
    """
    return objective_class(name)(**options)


def iter_candidate(
    transform: Transform, tracks: Iterable[Track], objective: Objective
) -> Iterator[TrackResult]:
    """Yield one :class:`TrackResult` per track, in order.

    The transform's feasibility probe runs first: an unusable setting raises
    :class:`~sliceq22.errors.InfeasibleError` before any track is touched.
    """
    require_feasible(transform)
    for track in tracks:
        yield objective.evaluate_track(transform, track)


def evaluate_candidate(
    transform: Transform, tracks: Iterable[Track], objective: Objective
) -> list[TrackResult]:
    """All per-track results of one candidate (see :func:`iter_candidate`)."""
    return list(iter_candidate(transform, tracks, objective))


__all__ = [
    "AGGREGATES",
    "METRICS",
    "OBJECTIVES",
    "Progress",
    "Objective",
    "TrackResult",
    "aggregate",
    "aggregate_results",
    "evaluate_candidate",
    "get_metric",
    "get_objective",
    "iter_candidate",
    "objective_class",
    "register_objective",
    "require_feasible",
    "sdr_bss",
    "sdr_bss_frames",
    "sdr_global",
]
