"""Telling Optuna how a trial ended: completed, pruned, infeasible, failed, memoised.

:class:`TrialOutcomes` is the study driver's only way to finish a trial. It
keeps the counts a run reports (:class:`~sliceq22.search.run_records.RunSummary`)
and the streak of failures that stops a run. Every method tolerates a trial
that another driver finished meanwhile (taken for abandoned when its
heartbeat was late): the result is then dropped, not stored twice.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sliceq22 import TARGETS
from sliceq22.oracles.base import json_safe
from sliceq22.search import optuna_compat, trialattrs
from sliceq22.search import study as studies
from sliceq22.search.config import StudyConfig
from sliceq22.search.messages import TrackScored
from sliceq22.search.run_records import RunningTrial, RunSummary
from sliceq22.search.scoring import per_target_values, shared_value
from sliceq22.search.trialattrs import (
    CANDIDATE,
    FAILURE,
    INFEASIBLE,
    MEMO_OF,
    PRUNED,
    REFERENCE,
    RESULT,
    SCORES,
    trial_attrs,
)

#: What an interrupted trial's ``failure`` says (it is retried by the next run).
INTERRUPTED = "interrupted: the driver stopped"


def trial_result(run: RunningTrial, how: str) -> dict[str, Any]:
    """What is stored of an evaluation: scores aggregated over its tracks, timing, where it ran."""
    result: dict[str, Any] = {
        SCORES: per_target_values(run.tracks, how),
        "track_scores": {r.track: r.scores for r in run.tracks},
        "timing": {
            k: float(sum(r.timing.get(k, 0.0) for r in run.tracks))
            for k in ("forward", "inverse", "metric")
        },
        "seconds": time.time() - run.started,
        "tracks_evaluated": len(run.tracks),
        **run.worker,
    }
    excluded = sorted({f"{r.track}:{t}" for r in run.tracks for t in r.excluded})
    if excluded:
        result["excluded"] = excluded
    for name in sorted({n for r in run.tracks for n in r.companions}):
        # e.g. ``plain_scores``: MPI without the OLA view, aggregated like the scores
        scored = [TrackScored(r.track, r.companions.get(name, {})) for r in run.tracks]
        result[f"{name}_scores"] = per_target_values(scored, how)
    return result


def unscored_reasons(run: RunningTrial, values: dict[str, float]) -> dict[str, str]:
    """Why each target without a finite score has none (stored beside the ``null``)."""
    out = {}
    for t in TARGETS:
        if math.isfinite(values[t]):
            continue
        silent = sum(t in r.excluded for r in run.tracks)
        if silent == len(run.tracks):
            out[t] = "silent in every track"
        elif values[t] > 0:
            out[t] = "infinite score (exact reconstruction on every scored track)"
        else:
            out[t] = "no finite score on any track"
    return out


class TrialOutcomes:
    """Finishes a study's trials and counts what happened.

    Parameters
    ----------
    study : optuna.Study
        The study being run.
    config : StudyConfig
        Its study file (mode, aggregate, pruner, retries).
    summary : RunSummary
        Counted into as trials finish.
    """

    def __init__(self, study: optuna.Study, config: StudyConfig, summary: RunSummary) -> None:
        self.study = study
        self.config = config
        self.summary = summary
        #: Trials told by this run (the progress bar recounts when it moves).
        self.told = 0
        #: A GridSampler has every grid point finished: nothing more to ask.
        self.grid_exhausted = False
        #: Trials failed in a row in this run, and the last reason.
        self.fail_streak = 0
        self.last_failure = ""

    def tell(
        self,
        trial: optuna.Trial,
        values: float | list[float] | None = None,
        state: TrialState | None = None,
    ) -> FrozenTrial | None:
        """``study.tell``; ``None`` when the trial was already finished by someone else."""
        self.told += 1
        frozen, exhausted = optuna_compat.tell(self.study, trial, values, state)
        self.grid_exhausted = self.grid_exhausted or exhausted
        return frozen

    def reject(self, trial: optuna.Trial, reason: str | None = None) -> None:
        """Record an infeasible candidate (its ``reason`` stored unless already stored).

        It is told PRUNED (with its reason in the ``infeasible`` attribute) rather
        than FAIL because TPE ignores failed trials and would propose the same
        infeasible point again and again, while it ranks pruned ones below every
        complete trial and so learns to avoid the region. It does not count
        against the budget (:func:`sliceq22.search.study.finished_count`).
        """
        if reason is not None:
            try:
                trial.set_user_attr(INFEASIBLE, reason)
            except optuna.exceptions.UpdateFinishedTrialError:
                return
        if self.tell(trial, state=TrialState.PRUNED) is not None:
            self.summary.infeasible_now += 1

    def finish(self, run: RunningTrial) -> None:
        """Tell a trial whose evaluation ended; targets without a score are told the worst value.

        In per-target mode a target that no track scores (silent in every
        track) would fail every trial and leave the other targets without a
        best; it is told the worst value for the direction instead (Optuna
        has no "missing" objective value), its stored score is ``null`` and
        ``unscored`` says why. Stored JSON is standard: non-finite scores are
        ``null``.
        """
        result = trial_result(run, self.config.aggregate)
        told, failure = self._values(run, result)
        if failure is not None:
            result[FAILURE] = failure
        try:
            trialattrs.store_result(run.trial, json_safe(result))
        except optuna.exceptions.UpdateFinishedTrialError:
            return  # another driver failed it as abandoned and retried it
        if failure is not None:
            if self.tell(run.trial, state=TrialState.FAIL) is not None:
                self.summary.failed_now += 1
                self._count_failure(failure)
            return
        if self.tell(run.trial, told if len(told) > 1 else told[0]) is not None:
            self.summary.completed_now += 1
            self.fail_streak = 0

    def _values(self, run: RunningTrial, result: dict[str, Any]) -> tuple[list[float], str | None]:
        """The values to tell (per target or shared), and a failure when none is finite."""
        values = result[SCORES]
        unscored = unscored_reasons(run, values)
        if unscored:
            result["unscored"] = unscored
        maximize = self.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
        worst = -math.inf if maximize else math.inf
        if self.config.mode == "per-target":
            told = [values[t] if t not in unscored else worst for t in TARGETS]
            hopeless = len(unscored) == len(TARGETS)
        else:
            told = [shared_value({t: v for t, v in values.items() if t not in unscored})]
            hopeless = not math.isfinite(told[0])
        if not hopeless:
            return told, None
        reasons = "; ".join(f"{t}: {why}" for t, why in unscored.items())
        return told, f"no finite score for any target ({reasons})"

    def prune_if_due(self, run: RunningTrial, n_tracks: int, cancel: Callable[[], None]) -> bool:
        """Report the running value after a track (shared mode); prune the trial if due.

        Returns True when the trial was pruned (its evaluation cancelled).
        """
        if self.config.mode != "shared" or self.config.pruner.name == "none":
            return False
        if run.stage == "excerpt":
            return False  # the excerpt stage ends in its own decision (excerpt_done)
        # with a fidelity stage, step 0 is the excerpt value: the tracks follow it
        step = len(run.tracks) - (0 if self.config.fidelity else 1)
        run.trial.report(shared_value(per_target_values(run.tracks, self.config.aggregate)), step)
        if len(run.tracks) >= n_tracks or not run.trial.should_prune():
            return False
        cancel()
        pruner = self.config.pruner.name
        reason = f"pruned by the {pruner} pruner after {len(run.tracks)} of {n_tracks} tracks"
        try:
            result = {**trial_result(run, self.config.aggregate), PRUNED: reason}
            trialattrs.store_result(run.trial, json_safe(result))
        except optuna.exceptions.UpdateFinishedTrialError:
            return True
        if self.tell(run.trial, state=TrialState.PRUNED) is not None:
            self.summary.pruned_now += 1
            self.fail_streak = 0
        return True

    def excerpt_done(self, run: RunningTrial) -> bool:
        """The excerpt stage of ``run`` ended: store its scores, decide, and tell a candidate
        that is not promoted PRUNED. Returns whether it goes on to the full tracks."""
        from sliceq22.search import fidelity

        section = self.config.fidelity
        assert section is not None
        scores = per_target_values(run.tracks, self.config.aggregate)
        maximize = self.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
        shared = self.config.mode == "shared"
        promoted, reason = fidelity.promotion(
            scores,
            fidelity.earlier_excerpt_scores(self.study, run.trial.number),
            section,
            shared=shared,
            maximize=maximize,
            reference=run.trial.user_attrs.get(REFERENCE),
        )
        stage = {
            "excerpt_scores": scores,
            "excerpt_seconds": section.excerpt,
            "tracks": len(run.tracks),
            "promoted": promoted,
            "reason": reason,
        }
        try:
            run.trial.set_user_attr(fidelity.ATTR, json_safe(stage))
            if shared and math.isfinite(shared_value(scores)):
                run.trial.report(shared_value(scores), 0)  # TPE learns from unpromoted ones
            if promoted:
                return True
            result = {**trial_result(run, self.config.aggregate), PRUNED: f"not promoted: {reason}"}
            trialattrs.store_result(run.trial, json_safe(result))
        except optuna.exceptions.UpdateFinishedTrialError:
            return False
        if self.tell(run.trial, state=TrialState.PRUNED) is not None:
            self.summary.pruned_now += 1
            self.fail_streak = 0
        return False

    def _count_failure(self, reason: str) -> None:
        self.fail_streak += 1
        self.last_failure = reason

    def fail(self, trial: optuna.Trial, reason: str, *, retry: bool) -> None:
        """Fail a running trial with ``reason``; re-enqueue its candidate if ``retry``
        (bounded by the study's ``retries``)."""
        if optuna_compat.reread(self.study, trial).state.is_finished():
            return
        try:
            trial.set_user_attr(FAILURE, reason)
        except optuna.exceptions.UpdateFinishedTrialError:
            return
        frozen = self.tell(trial, state=TrialState.FAIL)
        if frozen is None:
            return
        self.summary.failed_now += 1
        self._count_failure(reason)
        if retry:
            studies.requeue(self.study, frozen, self.config.retries)

    def drop_unstarted(self, trial: optuna.Trial) -> None:
        """Fail (and requeue, if its candidate was stored) a trial stopped before it started.

        Best effort: with the storage gone the trial stays RUNNING, and the
        next run recovers it (:func:`sliceq22.search.study.recover_abandoned`).
        """
        try:
            frozen = optuna_compat.reread(self.study, trial)
            if frozen.state.is_finished():
                return
            optuna_compat.fail_quietly(self.study, trial, INTERRUPTED)
            if CANDIDATE in frozen.user_attrs:
                failed = optuna_compat.reread(self.study, trial)
                studies.requeue(self.study, failed, self.config.retries)
        except Exception:  # the storage may be what failed
            pass

    def memoise(self, trial: optuna.Trial, earlier: FrozenTrial, candidate: dict[str, Any]) -> str:
        """Tell ``trial`` the result of ``earlier``, which evaluated the same candidate.

        The objective and dataset of a study are fixed, so the stored result
        is what an evaluation would give; the trial records ``memo_of``.
        Returns the dispatch outcome: ``"memoised"``, ``"infeasible"`` or
        ``"lost"`` (another driver finished the trial meanwhile).
        """
        stored = trial_attrs(earlier)
        reason = stored.get(INFEASIBLE)
        try:
            trialattrs.store_candidate(trial, {**candidate, MEMO_OF: earlier.number}, reason)
            if reason is None:
                # The earlier result as stored (packed part and short scores), marked as reused.
                result = {
                    **earlier.user_attrs.get(RESULT, {}),
                    SCORES: stored.get(SCORES),
                    MEMO_OF: earlier.number,
                }
                trialattrs.store_result(trial, result)
        except optuna.exceptions.UpdateFinishedTrialError:
            return "lost"
        if reason is not None:
            self.reject(trial)
            return "infeasible"
        values = list(earlier.values)
        if self.tell(trial, values if len(values) > 1 else values[0]) is not None:
            self.summary.memoised_now += 1
            self.summary.completed_now += 1
        return "memoised"
