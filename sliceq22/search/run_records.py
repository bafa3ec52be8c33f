"""What a study driver keeps of one run: its running trials and its summary."""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import optuna

from sliceq22.search.messages import TrackScored


@dataclass
class RunningTrial:
    """Book-keeping of one candidate being evaluated.

    Attributes
    ----------
    trial : optuna.Trial
        The asked trial.
    label, family : str
        The candidate's transform entry label and family.
    params : dict
        The candidate's transform parameters.
    handle : hashable
        The evaluator's handle of its evaluation.
    started : float
        When it started (UNIX seconds), reset when the worker says it started.
    tracks : list of TrackScored
        The tracks scored so far, in order.
    worker : dict
        Where it runs (``worker_host``, ``worker_pid``, ``worker_node``).
    fraction : float
        How far the track being evaluated is (its last progress message), for the bar only.
    stage : {"full", "excerpt"}
        Which tracks the evaluation scores: the study's, or the fidelity excerpts first
        (:mod:`sliceq22.search.fidelity`).
    """

    trial: optuna.Trial
    label: str
    family: str
    params: dict[str, Any]
    handle: Hashable
    started: float = field(default_factory=time.time)
    tracks: list[TrackScored] = field(default_factory=list)
    worker: dict[str, Any] = field(default_factory=dict)
    fraction: float = 0.0
    stage: str = "full"


@dataclass
class RunSummary:
    """What one ``run`` did."""

    study_name: str
    budget: int
    finished: int
    completed_now: int = 0
    pruned_now: int = 0
    failed_now: int = 0
    infeasible_now: int = 0
    recovered: list[int] = field(default_factory=list)
    seconds: float = 0.0
    grid_exhausted: bool = False
    #: Every candidate of a finite search space is settled: how many there are.
    space_exhausted: int | None = None
    #: Trials told the stored result of an earlier trial with the same candidate.
    memoised_now: int = 0
    #: Targets that no track can score (silent in every track), with the reason.
    unscorable: dict[str, str] = field(default_factory=dict)
