"""What a report needs from a stored study, read once: trials by kind, best settings, times.

Everything here is plain data (numbers, strings, dicts) so the figure and page
builders never touch Optuna objects. The best settings come from
:func:`sliceq22.search.export.export_best`, so the report's table is the
``sliceq22 export`` document, not a second computation of it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sliceq22 import TARGETS
from sliceq22.search.config import StudyConfig
from sliceq22.search.export import export_best
from sliceq22.search.scoring import score_of, shared_value
from sliceq22.search.space import TRANSFORM_PARAM, ParamRange, TransformEntry
from sliceq22.search.study import ATTR_DATASET, ATTR_VERSIONS, budget_of
from sliceq22.search.tables import overview
from sliceq22.search.trialattrs import FAILURE, INFEASIBLE, REFERENCE, trial_attrs


@dataclass(frozen=True)
class SearchedParam:
    """One searched parameter of one transform entry.

    Attributes
    ----------
    entry : str
        The entry's label (``"nsgcq-framewise"``).
    name : str
        The transform's parameter name (``"binsPerOctave"``).
    key : str
        The Optuna parameter name (``"nsgcq-framewise.binsPerOctave"``).
    kind : str
        ``"categorical"``, ``"int"`` or ``"float"``.
    log : bool
        Searched on a log scale.
    """

    entry: str
    name: str
    key: str
    kind: str
    log: bool = False


@dataclass(frozen=True)
class FailureGroup:
    """Failed or infeasible trials whose reasons differ only in numbers."""

    kind: str  # "infeasible" | "failed"
    pattern: str
    example: str
    trials: tuple[int, ...]


@dataclass
class StudyReport:
    """A study, read out for a report.

    Attributes
    ----------
    name, description, mode : str
        From the study file.
    maximize : bool
        Whether higher scores are better.
    objective_label : str
        ``"mpi sdr-global"``: what the scores are.
    unit : str
        The objective's unit (:attr:`sliceq22.oracles.Objective.unit`), ``"dB"`` for ``mpi``.
    export : dict
        The ``sliceq22 export`` document (:func:`export_best`).
    counts : dict[str, int]
        Trials by state, infeasible apart from failed.
    budget, finished : int
        The study's budget and the finished (complete + pruned) trials.
    complete : list[FrozenTrial]
        Complete trials with scores, in trial order (references included).
    pruned : list[FrozenTrial]
        Trials pruned after some tracks (partial scores); infeasible candidates are not among them.
    params : list[SearchedParam]
        Searched parameters of every entry, in study-file order.
    entries : list[str]
        Entry labels in study-file order.
    failures : list[FailureGroup]
        Failed and infeasible trials grouped by reason, biggest group first.
    times : dict[str, float]
        ``wall_s`` (first start to last finish), ``trial_s`` (sum of trial
        durations), ``evaluation_s`` (sum of worker evaluation time).
    dataset : Any
        The stored dataset fingerprint.
    versions : dict
        Package versions stored with the study.
    """

    name: str
    description: str
    mode: str
    maximize: bool
    objective_label: str
    unit: str
    export: dict[str, Any]
    counts: dict[str, int]
    budget: int
    finished: int
    complete: list[FrozenTrial]
    pruned: list[FrozenTrial]
    params: list[SearchedParam]
    entries: list[str]
    failures: list[FailureGroup]
    times: dict[str, float]
    dataset: Any
    versions: dict[str, Any]
    config: StudyConfig
    study_file: str = ""
    trials_by_number: dict[int, FrozenTrial] = field(default_factory=dict)

    @property
    def searched(self) -> list[FrozenTrial]:
        """Complete trials that were sampled (references left out)."""
        return [t for t in self.complete if REFERENCE not in trial_attrs(t)]

    def score(self, trial: FrozenTrial, target: str) -> float:
        """A trial's aggregate score for ``target`` (a TARGETS name or ``"shared"``)."""
        scores = trial_attrs(trial).get("scores") or {}
        if target == "shared":
            return shared_value({t: score_of(scores, t) for t in TARGETS})
        return score_of(scores, target)

    def entry_trials(self, entry: str) -> list[FrozenTrial]:
        """Complete sampled trials of one transform entry (by its label)."""
        return [t for t in self.searched if trial_attrs(t).get("label") == entry]

    def columns(self) -> list[str]:
        """Score columns a figure shows: the four targets, then ``shared`` in shared mode."""
        return [*TARGETS, "shared"] if self.mode == "shared" else list(TARGETS)

    def reference_trials(self) -> dict[str, FrozenTrial]:
        """The reference trials of the export document, by label."""
        return {
            label: self.trials_by_number[ref["trial"]]
            for label, ref in self.export["reference"].items()
        }


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def group_failures(trials: list[FrozenTrial]) -> list[FailureGroup]:
    """Group failed and infeasible trials by their reason with the numbers blanked out.

    ``"hop 1024 must be at most n_fft/2 = 256"`` and ``"hop 512 must be at most
    n_fft/2 = 128"`` are one group: the same rule, different values.
    """
    groups: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for t in trials:
        # Infeasible candidates are recorded with their reason (told PRUNED or FAIL, depending
        # on the runner's version); every other failure is a FAIL with a "failure" reason.
        if INFEASIBLE in trial_attrs(t):
            kind, reason = "infeasible", str(trial_attrs(t)[INFEASIBLE])
        elif t.state != TrialState.FAIL:
            continue
        else:
            kind, reason = (
                "failed",
                str(trial_attrs(t).get(FAILURE, "unknown (no reason recorded)")),
            )
        groups[(kind, _NUMBER.sub("#", reason))].append((t.number, reason))
    out = [
        FailureGroup(kind, pattern, members[0][1], tuple(n for n, _ in members))
        for (kind, pattern), members in groups.items()
    ]
    return sorted(out, key=lambda g: (-len(g.trials), g.kind, g.pattern))


def _searched_params(entries: tuple[TransformEntry, ...]) -> list[SearchedParam]:
    out: list[SearchedParam] = []
    for entry in entries:
        for rng in entry.ranges:
            if rng.kind == "fixed":
                continue
            out.append(_param(entry.label, rng))
    return out


def _param(label: str, rng: ParamRange) -> SearchedParam:
    return SearchedParam(label, rng.name, f"{label}.{rng.name}", rng.kind, bool(rng.log))


def _times(trials: list[FrozenTrial]) -> dict[str, float]:
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    ends = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    durations = [
        (t.datetime_complete - t.datetime_start).total_seconds()
        for t in trials
        if t.datetime_start is not None and t.datetime_complete is not None
    ]
    return {
        "wall_s": (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0,
        "trial_s": float(sum(durations)),
        "evaluation_s": float(sum(float(trial_attrs(t).get("seconds", 0.0)) for t in trials)),
    }


def collect(study: optuna.Study, config: StudyConfig) -> StudyReport:
    """Read everything a report shows from ``study`` (loaded with :func:`load_existing`)."""
    trials = study.get_trials(deepcopy=False)
    info = overview(study, budget_of(study, config))
    complete = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE and isinstance(trial_attrs(t).get("scores"), dict)
    ]
    pruned = [
        t for t in trials if t.state == TrialState.PRUNED and INFEASIBLE not in trial_attrs(t)
    ]
    label = config.objective.describe()
    entries = [e.label for e in config.transforms]
    params = _searched_params(config.transforms)
    if len(entries) > 1:
        params.insert(0, SearchedParam("", TRANSFORM_PARAM, TRANSFORM_PARAM, "categorical"))
    return StudyReport(
        name=study.study_name,
        description=config.description,
        mode=config.mode,
        maximize=study.directions[0] == optuna.study.StudyDirection.MAXIMIZE,
        objective_label=label,
        unit=config.objective.unit,
        export=export_best(study, config),
        counts=dict(info["counts"]),
        budget=int(info["budget"]),
        finished=int(info["finished"]),
        complete=complete,
        pruned=pruned,
        params=params,
        entries=entries,
        failures=group_failures(trials),
        times=_times(trials),
        dataset=study.user_attrs.get(ATTR_DATASET),
        versions=dict(study.user_attrs.get(ATTR_VERSIONS) or {}),
        config=config,
        study_file=config.source_text,
        trials_by_number={t.number: t for t in trials},
    )
