"""Confirmation: a study's top candidates re-scored on held-out tracks.

The best of many noisy trials is biased upwards: part of its lead over the
others is luck on the study's own tracks. Re-scoring the top ``k``
candidates (and the references) on tracks the search never saw shows how much
of the gain survives. The result is stored on the study (user attribute
:data:`ATTR_CONFIRMATION`, standard JSON) and carried by ``sliceq22 export``,
``show`` and the report beside the search scores.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from sliceq22 import TARGETS
from sliceq22.data.spec import DatasetSpec
from sliceq22.errors import Sliceq22Error
from sliceq22.jsonsafe import json_safe
from sliceq22.search import study as studies
from sliceq22.search.config import StudyConfig
from sliceq22.search.evaluator import EvaluationEnded, EvaluationFailed, Evaluator, WorkerLost
from sliceq22.search.export import CONFIRMATION, complete_trials, reference_trials
from sliceq22.search.messages import Infeasible, TrackScored
from sliceq22.search.run_tracks import require_scorable_tracks
from sliceq22.search.scoring import per_target_values, shared_value
from sliceq22.search.trialattrs import REFERENCE, trial_attrs

#: Study user attribute holding the last confirmation.
ATTR_CONFIRMATION = CONFIRMATION


def top_candidates(study: optuna.Study, config: StudyConfig, k: int) -> list[FrozenTrial]:
    """The ``k`` best complete trials (shared), or the ``k`` best of each target (per-target),
    references left out; distinct candidates, best first."""
    maximize = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    sign = 1.0 if maximize else -1.0
    trials = [t for t in complete_trials(study) if REFERENCE not in trial_attrs(t)]

    def score(trial: FrozenTrial, target: str | None) -> float:
        scores = trial_attrs(trial)["scores"]
        value = shared_value(scores) if target is None else scores.get(target)
        ok = isinstance(value, int | float) and math.isfinite(value)
        return sign * float(value) if ok else -math.inf

    chosen: dict[int, FrozenTrial] = {}
    for target in [None] if config.mode == "shared" else list(TARGETS):
        for trial in sorted(trials, key=lambda t: score(t, target), reverse=True)[:k]:
            chosen.setdefault(trial.number, trial)
    return list(chosen.values())


def _held_out_names(study: optuna.Study, held_out: DatasetSpec) -> None:
    """Refuse held-out tracks that the study was searched on (they would confirm nothing);
    the names come from the dataset's plan, without reading audio."""
    from sliceq22.data.load import prepare

    names = [plan.name for plan in prepare(held_out).plans]
    stored = study.user_attrs.get(studies.ATTR_DATASET) or {}
    searched = {str(e.get("name")) for e in stored.get("tracks", []) if isinstance(e, dict)}
    shared = sorted(searched & set(names))
    if shared:
        raise Sliceq22Error(
            f"held-out tracks must be new to the study; {', '.join(shared)} "
            f"{'was' if len(shared) == 1 else 'were'} searched on: choose other tracks "
            "(another split, --track, or another folder)"
        )


def _evaluate(
    evaluator: Evaluator, handle: Hashable, how: str
) -> tuple[dict[str, float], dict[str, Any], str | None]:
    """Take one evaluation's messages to its end: (aggregates, per-track scores, failure)."""
    tracks: list[TrackScored] = []
    while True:
        try:
            message = evaluator.receive(handle)
        except EvaluationEnded:
            break
        except (WorkerLost, EvaluationFailed) as exc:
            return {}, {}, str(exc)
        if isinstance(message, Infeasible):
            return {}, {}, f"infeasible: {message.reason}"
        if isinstance(message, TrackScored):
            tracks.append(message)
    return per_target_values(tracks, how), {r.track: r.scores for r in tracks}, None


def confirm(
    study: optuna.Study,
    config: StudyConfig,
    held_out: DatasetSpec,
    k: int,
    evaluator: Evaluator,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Re-score the top ``k`` candidates and the references on ``held_out``; store and return it.

    Parameters
    ----------
    study, config : optuna.Study, StudyConfig
        A stored study and its study file (objective, aggregate, mode).
    held_out : DatasetSpec
        Tracks the study was not searched on (refused otherwise).
    k : int
        Candidates per target (per-target mode) or in all (shared), ≥ 1.
    evaluator : Evaluator
        Where to evaluate (in-process or Ray), already started.
    progress : callable, optional
        Called with one line per candidate scored.

    Returns
    -------
    dict
        ``{"top": k, "dataset": str, "tracks": [...], "candidates": [{"trial", "label",
        "family", "params", "reference", "search": {target: score}, "held_out":
        {target: score}, "held_out_tracks": {track: {target: score}}, "failure"?}]}``.
    """
    if k < 1:
        raise Sliceq22Error(f"--top {k}: must be at least 1")
    chosen = top_candidates(study, config, k) + list(reference_trials(study).values())
    if not chosen:
        raise Sliceq22Error(f"study {study.study_name!r} has no complete trial to confirm")
    _held_out_names(study, held_out)  # before any audio is read
    shipped = evaluator.ship(
        held_out, via="auto", mixture=config.objective.mixture, progress=progress is not None
    )
    require_scorable_tracks(shipped, held_out)  # silent held-out tracks would confirm nothing
    started = time.time()
    candidates = []
    for trial in chosen:
        attrs = trial_attrs(trial)
        handle = evaluator.submit(
            attrs["family"],
            attrs["transform_params"],
            shipped.rate,
            shipped.handles,
            config.objective.as_dict(),
        )
        values, per_track, failure = _evaluate(evaluator, handle, config.aggregate)
        entry: dict[str, Any] = {
            "trial": trial.number,
            "label": attrs.get("label"),
            "family": attrs["family"],
            "params": attrs["transform_params"],
            "reference": attrs.get(REFERENCE),
            "search": attrs["scores"],
            "held_out": values,
            "held_out_tracks": per_track,
        }
        if failure is not None:
            entry["failure"] = failure
        candidates.append(entry)
        if progress is not None:
            progress(f"trial {trial.number} ({attrs.get('label')}) re-scored")
    result = json_safe(
        {
            "top": k,
            "dataset": held_out.describe(),
            "tracks": shipped.names,
            "seconds": time.time() - started,
            "candidates": candidates,
        }
    )
    study.set_user_attr(ATTR_CONFIRMATION, result)
    return result
