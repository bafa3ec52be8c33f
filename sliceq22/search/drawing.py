"""Drawing a trial's candidate: a reference or a sample of the space, checked, memo looked up.

Called by the study driver under the study's budget lock (see
:meth:`~sliceq22.search.driver.StudyDriver` and
:mod:`sliceq22.search.budgetlock`), so two drivers never both take the last
place of the budget, and a RUNNING trial without a stored candidate can only
belong to a driver that died inside the lock.
"""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sliceq22.errors import Sliceq22Error
from sliceq22.search import references, trialattrs
from sliceq22.search.config import StudyConfig
from sliceq22.search.constraints import check_candidate
from sliceq22.search.memo import CandidateIndex, candidate_key
from sliceq22.search.shipping import Shipped
from sliceq22.search.space import TransformEntry, sample_candidate
from sliceq22.search.trialattrs import REFERENCE


@dataclass(frozen=True)
class Drawn:
    """A trial's stored candidate.

    Attributes
    ----------
    label, family : str
        The transform entry's label (``reference:NAME`` for a reference) and family.
    params : dict
        Transform parameters.
    infeasible : str or None
        Why the candidate is refused before any audio is touched, or ``None``.
    memo : FrozenTrial or None
        An earlier trial that settled the same candidate (its result is reused).
    """

    label: str
    family: str
    params: dict[str, Any]
    infeasible: str | None = None
    memo: FrozenTrial | None = None

    def candidate(self) -> dict[str, Any]:
        """The ``sliceq22.candidate`` attribute: the candidate and the driver that drew it."""
        return {
            "label": self.label,
            "family": self.family,
            "transform_params": self.params,
            "driver_host": socket.gethostname(),
            "driver_pid": os.getpid(),
        }


def sample(trial: optuna.Trial, config: StudyConfig) -> tuple[str, str, dict[str, Any]]:
    """``(label, family, params)`` of an asked trial: its enqueued reference, or a sample."""
    label = trial.user_attrs.get(REFERENCE)
    if label is not None:
        ref = next((r for r in config.references if r.label == label), None)
        if ref is None:
            raise Sliceq22Error(f"trial {trial.number} names unknown reference {label!r}")
        references.draw_reference(trial, ref, config.transforms)
        return f"reference:{label}", ref.family, dict(ref.params)
    entry: TransformEntry
    entry, params = sample_candidate(trial, config.transforms)
    return entry.label, entry.family, params


def draw(
    study: optuna.Study,
    trial: optuna.Trial,
    config: StudyConfig,
    index: CandidateIndex,
    shipped: Shipped,
) -> Drawn | None:
    """Draw an asked trial's candidate and store it (with its infeasibility, if any).

    A candidate settled before is returned with ``memo`` set and is not
    stored here (:meth:`~sliceq22.search.outcomes.TrialOutcomes.memoise`
    stores it with ``memo_of``). Returns ``None`` when another driver
    finished the trial meanwhile.
    """
    label, family, params = sample(trial, config)
    earlier = index.memo(study, candidate_key(family, params))
    if earlier is not None:
        return Drawn(label, family, params, memo=earlier)
    reason = check_candidate(
        family,
        params,
        config.constraints,
        rate=shipped.rate,
        length=shipped.length,
        channels=shipped.channels,
        longest=shipped.longest,
        track_bytes=shipped.track_bytes,
        objective=config.objective.as_dict(),
    )
    drawn = Drawn(label, family, params, infeasible=reason)
    try:
        trialattrs.store_candidate(trial, drawn.candidate(), reason)
    except optuna.exceptions.UpdateFinishedTrialError:
        return None
    return drawn


def running_keys(study: optuna.Study, index: CandidateIndex) -> set[str]:
    """Candidate keys of the study's RUNNING trials (any driver's)."""
    keys = set()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        key = index.key_of(trial)
        if key is not None:
            keys.add(key)
    return keys


def space_settled(study: optuna.Study, index: CandidateIndex, points: set[str] | None) -> bool:
    """Whether every candidate of a finite space is settled or running, and nothing waits.

    Then a new draw could only repeat a candidate: asking stops, and the
    run ends once the running trials are told (a failed one that is
    retried waits again, and the run goes on).
    """
    if points is None:
        return False
    settled, waiting = index.settled(study)
    return not waiting and points <= settled | running_keys(study, index)


def grid_size(config: StudyConfig) -> int | None:
    """Points of a grid study's grid (``None`` for other samplers)."""
    from sliceq22.search.study import grid_space

    space = grid_space(config)
    return None if space is None else math.prod(len(v) for v in space.values())


def grid_room(study: optuna.Study, size: int) -> tuple[bool, bool]:
    """For a grid study of ``size`` points: ``(some point is neither finished nor running,
    every point is finished)``.

    Optuna's GridSampler hands out an already running point again when
    every point has started (it expects ``optimize`` to stop); asking then
    would evaluate a candidate twice. (Reads the sampler's ``grid_id``
    trial system attribute.)
    """
    finished, started = set(), set()
    for t in study.get_trials(deepcopy=False):
        grid_id = t.system_attrs.get("grid_id")
        if grid_id is None:
            continue
        if t.state.is_finished():
            finished.add(grid_id)
        elif t.state == TrialState.RUNNING:
            started.add(grid_id)
    return len(finished | started) < size, len(finished) >= size
