"""The study driver: Optuna's ask/tell loop feeding Ray workers.

One driver per study run is the only process that writes to the storage. It
asks Optuna for a candidate, rejects infeasible ones before any audio is
touched, starts a Ray streaming task per feasible candidate, reports each
track's scores as they arrive (pruning a bad candidate and cancelling its
task), and tells Optuna the result. Worker deaths fail the trial with a reason
and re-enqueue its parameters (bounded); a killed driver's RUNNING trials are
recovered the same way by the next run.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import optuna
from optuna.trial import TrialState

from sliceq22 import TARGETS
from sliceq22.errors import Sliceq22Error
from sliceq22.interrupt import raise_if_terminated, sigterm_as_interrupt
from sliceq22.search import raystart, references, trialattrs
from sliceq22.search import study as studies
from sliceq22.search.budgetlock import BudgetLock
from sliceq22.search.config import StudyConfig
from sliceq22.search.constraints import check_candidate
from sliceq22.search.memo import CandidateIndex, candidate_key, space_points
from sliceq22.search.resilient import DEFAULT_PATIENCE_S, PatientStorage
from sliceq22.search.scoring import per_target_values, shared_value
from sliceq22.search.space import TransformEntry, sample_candidate
from sliceq22.search.storage import mask_url
from sliceq22.search.trialattrs import CANDIDATE, RESULT, WORKER, trial_attrs
from sliceq22.search.worker import WORKER_ENV, remote_evaluate

#: Consecutive infeasible candidates after which the search space is judged hopeless.
MAX_INFEASIBLE_STREAK = 200
#: Consecutive failed trials after which a run stops: something fails every
#: candidate (the dataset, the workers' memory), and retrying would never end.
MAX_FAILURE_STREAK = 10
#: Seconds between heartbeats written for running trials (and checks for abandoned ones).
HEARTBEAT_S = 10.0
#: Seconds between looks at the storage while only other drivers' trials run.
POLL_S = 2.0


@dataclass
class RunningTrial:
    """Book-keeping of one candidate being evaluated."""

    trial: optuna.Trial
    label: str
    family: str
    params: dict[str, Any]
    generator: Any
    started: float = field(default_factory=time.time)
    tracks: list[dict[str, Any]] = field(default_factory=list)
    worker: dict[str, Any] = field(default_factory=dict)
    #: How far the track being evaluated is (its last progress message), for the bar only.
    fraction: float = 0.0


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


class StudyDriver:
    """Run a study to its budget.

    Parameters
    ----------
    config : StudyConfig
        The validated study file.
    storage : optuna.storages.BaseStorage
        Opened storage (:func:`sliceq22.search.storage.open_storage`).
    workers : int, optional
        Parallel evaluations; default one per CPU Ray reports.
    ray_address : str, optional
        Existing Ray cluster to join; default a local Ray runtime.
    budget : int, optional
        Total finished trials wanted (overrides the study file, counts those stored).
    progress : bool
        Show progress bars on stderr.
    queue_ahead : int
        Candidates started beyond the number of workers. Ray queues them, so a
        worker that finishes picks up the next one at once instead of idling
        while the driver records the result and asks for a new candidate.
    stale_after_s : float
        Heartbeat age after which another driver's running trial is taken as
        abandoned, failed and retried.
    patience_s : float
        How long to wait out a lost database connection before stopping
        cleanly (:class:`~sliceq22.search.resilient.PatientStorage`).
    notify : callable, optional
        Called with a one-line message when something worth a user's notice
        happens that is not an error (a lost database being waited for).
    tracks_via : {"auto", "object-store", "dataset"}
        How the tracks reach the workers (:mod:`sliceq22.search.shipping`).
    """

    def __init__(
        self,
        config: StudyConfig,
        storage: optuna.storages.BaseStorage,
        *,
        workers: int | None = None,
        ray_address: str | None = None,
        budget: int | None = None,
        progress: bool = True,
        queue_ahead: int = 1,
        stale_after_s: float = studies.STALE_AFTER_S,
        patience_s: float = DEFAULT_PATIENCE_S,
        notify: Callable[[str], None] | None = None,
        tracks_via: str = "auto",
    ) -> None:
        self.config = config
        self.notify = notify
        self._told_outage = 0  # the outage last reported (PatientStorage.outages counts them)
        if isinstance(storage, optuna.storages.RDBStorage):
            label = mask_url(storage.engine.url.render_as_string(hide_password=False))
            # PatientStorage defines BaseStorage's abstract methods in a loop at import time,
            # which a static checker cannot see.
            storage = PatientStorage(  # type: ignore[abstract]
                optuna.storages.get_storage(storage),
                label=label,
                patience_s=patience_s,
                on_wait=self._on_storage_wait,
            )
        self.storage = storage
        self.workers = workers
        self.tracks_via = tracks_via
        self.ray_address = raystart.resolve_address(ray_address)  # refuses ray:// before any write
        self.budget_override = budget
        self.progress = progress
        self.queue_ahead = max(0, int(queue_ahead))
        self.stale_after_s = float(stale_after_s)
        self.running: dict[Any, RunningTrial] = {}
        self._last_beat = time.time()
        self.grid_exhausted = False
        self.told = 0
        self.index = CandidateIndex()
        #: Keys of every candidate of a finite space (None: endless), set by :meth:`run`.
        self.points: set[str] | None = None
        self.space_exhausted = False
        self.unscorable: dict[str, str] = {}
        #: Trials failed in a row in this run, and the last reason.
        self.fail_streak = 0
        self.last_failure = ""
        self.lock = BudgetLock(
            _engine_of(storage), config.name, getattr(storage, "patiently", None)
        )

    def _on_storage_wait(self, waited: float, detail: str) -> None:
        """Say once per outage (one that lasts over a second, not a blip) that the database is
        waited for."""
        if waited < 1.0 or self.notify is None:
            return
        storage = cast(PatientStorage, self.storage)  # only a PatientStorage calls this
        if self._told_outage != storage.outages:
            self._told_outage = storage.outages
            self.notify(
                f"lost the study storage {storage.label} ({detail}); retrying for up to "
                f"{storage.patience_s:.0f} s"
            )

    # ------------------------------------------------------------------ set-up
    def _start_ray(self) -> int:
        import ray

        workers = raystart.start_ray(self.ray_address, self.workers, WORKER_ENV, self.notify)
        if workers < int(ray.cluster_resources().get("CPU", 1)):
            # Ray would run a queued-ahead task on a free CPU at once: more
            # parallel evaluations than asked for.
            self.queue_ahead = 0
        return workers

    def _load_tracks(self, study: optuna.Study | None) -> list[Any]:
        """Read every track once (fingerprint) and ship it to the workers (:mod:`.shipping`).

        Writes nothing: the fingerprint is compared with a stored study's here
        and stored by :meth:`run` once everything has been checked.

        Raises
        ------
        Sliceq22Error
            The dataset differs from the study's, a track is too short to
            score, or every target is silent in every track.
        """
        from sliceq22.oracles.base import require_scorable_length
        from sliceq22.search.shipping import ship_tracks

        shipped = ship_tracks(
            self.config.dataset,
            via=self.tracks_via,
            progress=self.progress,
            mixture=str(self.config.objective.get("mixture", "sum")),
        )
        fingerprint = shipped.fingerprint
        stored = None if study is None else study.user_attrs.get(studies.ATTR_DATASET)
        if stored is not None and stored != studies.as_stored(fingerprint):
            raise Sliceq22Error(
                f"study {self.config.name!r}: the dataset differs from the one the study was run "
                "on "
                "(track names, excerpts or content changed); rename the study to start a new one"
            )
        shortest = shipped.names[0] if len(shipped.names) == 1 else "the shortest"
        require_scorable_length(shortest, shipped.length, shipped.rate)
        never = [t for t in TARGETS if len(shipped.silent_in.get(t, ())) == len(shipped.names)]
        if len(never) == len(TARGETS):
            raise Sliceq22Error(
                f"every target is silent in every track of {self.config.dataset.describe()}: "
                "nothing can be scored; check the dataset (sliceq22 data info)"
            )
        self.unscorable = {t: "silent in every track" for t in never}
        self.rate = shipped.rate
        self.length = shipped.length
        self.channels = shipped.channels
        self.track_names = shipped.names
        self.shipped = shipped
        return shipped.handles

    def _enqueue_references(self, study: optuna.Study) -> None:
        with self.lock.held():  # two drivers starting together must not both enqueue them
            references.enqueue_references(study, self.config.references, self.config.transforms)

    # ------------------------------------------------------------------ trials
    def _candidate(self, trial: optuna.Trial) -> tuple[str, str, dict[str, Any]]:
        label = trial.user_attrs.get("reference")
        if label is not None:
            ref = next((r for r in self.config.references if r.label == label), None)
            if ref is None:
                raise Sliceq22Error(f"trial {trial.number} names unknown reference {label!r}")
            references.draw_reference(trial, ref, self.config.transforms)
            return f"reference:{label}", ref.family, dict(ref.params)
        entry: TransformEntry
        entry, params = sample_candidate(trial, self.config.transforms)
        return entry.label, entry.family, params

    def _dispatch(
        self,
        study: optuna.Study,
        evaluate: Any,
        track_refs: list[Any],
        summary: RunSummary,
        budget: int,
    ) -> str:
        """Ask for one candidate and start it.

        The budget check, Optuna's ``ask``, drawing the candidate and storing it
        (with this driver's host and pid) all happen under the study's lock:
        two drivers cannot both take the last place, and a RUNNING trial
        without a stored candidate, seen by a lock holder, can only belong to
        a driver that died inside the lock (see :meth:`_recover`).

        Returns ``"started"``, ``"infeasible"`` (recorded, not started),
        ``"memoised"`` (the candidate was evaluated before: told that result),
        ``"full"`` (the budget has no room left), ``"exhausted"`` (every
        candidate of a finite space is settled) or ``"lost"`` (another driver
        took the trial over while the database was unreachable).
        """
        with self.lock.held():
            finished, running = studies.budget_usage(study)
            if finished + running >= budget or not self._grid_has_room(study):
                return "full"
            if self._space_settled(study):
                return "exhausted"
            trial = study.ask()
            try:
                drawn = self._draw(study, trial, summary)
            except BaseException:
                self._drop_unstarted(study, trial)
                raise
        if isinstance(drawn, str):
            return drawn
        label, family, params, reason = drawn
        try:
            if reason is not None:
                self._tell(study, trial, state=TrialState.PRUNED)
                summary.infeasible_now += 1
                return "infeasible"
            generator = evaluate.remote(
                family, params, self.rate, track_refs, self.config.objective
            )
            self.running[generator] = RunningTrial(trial, label, family, params, generator)
        except BaseException:
            # Stopped (Ctrl-C, SIGTERM) between storing the candidate and starting it:
            # nothing else knows of the trial, so it is failed and requeued here.
            if not any(run.trial is trial for run in self.running.values()):
                self._drop_unstarted(study, trial)
            raise
        return "started"

    def _draw(
        self, study: optuna.Study, trial: optuna.Trial, summary: RunSummary
    ) -> str | tuple[str, str, dict[str, Any], str | None]:
        """Draw and store the candidate of an asked trial (under the lock, see :meth:`_dispatch`).

        Returns ``(label, family, params, infeasible reason or None)``, or the
        outcome ``"memoised"`` or ``"lost"`` when nothing is left to start.
        """
        label, family, params = self._candidate(trial)
        earlier = self.index.memo(study, candidate_key(family, params))
        if earlier is not None:
            return self._memoise(study, trial, earlier, label, family, params, summary)
        reason = check_candidate(
            family,
            params,
            self.config.constraints,
            rate=self.rate,
            length=self.length,
            channels=self.channels,
            longest=self.shipped.longest,
            track_bytes=self.shipped.track_bytes,
        )
        try:
            trialattrs.store_candidate(
                trial,
                {
                    "label": label,
                    "family": family,
                    "transform_params": params,
                    "driver_host": socket.gethostname(),
                    "driver_pid": os.getpid(),
                },
                reason,
            )
        except optuna.exceptions.UpdateFinishedTrialError:
            return "lost"
        return label, family, params, reason

    def _drop_unstarted(self, study: optuna.Study, trial: optuna.Trial) -> None:
        """Fail (and requeue, if its candidate was stored) a trial stopped before it started.

        Best effort: with the storage gone the trial stays RUNNING, and the
        next run recovers it (:func:`sliceq22.search.study.recover_abandoned`).
        """
        try:
            frozen = study._storage.get_trial(trial._trial_id)
            if frozen.state.is_finished():
                return
            study._storage.set_trial_user_attr(
                trial._trial_id, "failure", "interrupted: the driver stopped"
            )
            study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            if CANDIDATE in frozen.user_attrs:
                failed = study._storage.get_trial(trial._trial_id)
                studies.requeue(study, failed, self.config.retries)
        except Exception:  # the storage may be what failed
            pass

    def _space_settled(self, study: optuna.Study) -> bool:
        """Whether every candidate of a finite space is settled or running, and nothing waits.

        Then a new draw could only repeat a candidate: asking stops, and the
        run ends once the running trials are told (a failed one that is
        retried waits again, and the run goes on).
        """
        if self.points is None:
            return False
        settled, waiting = self.index.settled(study)
        self.space_exhausted = not waiting and self.points <= settled | self._running_keys(study)
        return self.space_exhausted

    def _running_keys(self, study: optuna.Study) -> set[str]:
        """Candidate keys of the study's RUNNING trials (any driver's)."""
        keys = set()
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            key = self.index.key_of(trial)
            if key is not None:
                keys.add(key)
        return keys

    def _memoise(
        self,
        study: optuna.Study,
        trial: optuna.Trial,
        earlier: optuna.trial.FrozenTrial,
        label: str,
        family: str,
        params: dict[str, Any],
        summary: RunSummary,
    ) -> str:
        """Tell ``trial`` the result of ``earlier``, which evaluated the same candidate.

        The objective and dataset of a study are fixed, so the stored result
        is what an evaluation would give; the trial records ``memo_of``.
        Returns the :meth:`_dispatch` outcome (``"memoised"`` or ``"infeasible"``).
        """
        candidate = {
            "label": label,
            "family": family,
            "transform_params": params,
            "driver_host": socket.gethostname(),
            "driver_pid": os.getpid(),
            "memo_of": earlier.number,
        }
        stored = trial_attrs(earlier)
        reason = stored.get("infeasible")
        try:
            trialattrs.store_candidate(trial, candidate, reason)
            if reason is None:
                # The earlier result as stored (packed part and short scores), marked as reused.
                result = {
                    **earlier.user_attrs.get(RESULT, {}),
                    "scores": stored.get("scores"),
                    "memo_of": earlier.number,
                }
                trialattrs.store_result(trial, result)
        except optuna.exceptions.UpdateFinishedTrialError:
            return "lost"
        if reason is not None:
            self._tell(study, trial, state=TrialState.PRUNED)
            summary.infeasible_now += 1
            return "infeasible"
        values = list(earlier.values)
        if self._tell(study, trial, values if len(values) > 1 else values[0]):
            summary.memoised_now += 1
            summary.completed_now += 1
        return "memoised"

    def _grid_has_room(self, study: optuna.Study) -> bool:
        """For a grid study: whether some grid point is neither finished nor running.

        Optuna's GridSampler hands out an already running point again when
        every point has started (it expects ``optimize`` to stop); asking then
        would evaluate a candidate twice. When every point has finished, the
        grid is exhausted. (Reads the sampler's ``grid_id`` trial attribute.)
        """
        sampler = study.sampler
        if not isinstance(sampler, optuna.samplers.GridSampler):
            return True
        size = len(sampler._all_grids)
        finished, started = set(), set()
        for t in study.get_trials(deepcopy=False):
            grid_id = t.system_attrs.get("grid_id")
            if grid_id is None:
                continue
            if t.state.is_finished():
                finished.add(grid_id)
            elif t.state == TrialState.RUNNING:
                started.add(grid_id)
        if len(finished) >= size:
            self.grid_exhausted = True
        return len(finished | started) < size

    def _recover(self, study: optuna.Study) -> list[int]:
        """Fail and retry other drivers' abandoned trials (under the lock, see
        :meth:`_dispatch`)."""
        own = {run.trial.number for run in self.running.values()}
        with self.lock.held():
            return studies.recover_abandoned(
                study, self.config.retries, own=own, stale_after_s=self.stale_after_s, locked=True
            )

    def _tell(
        self,
        study: optuna.Study,
        trial: optuna.Trial,
        values: Any = None,
        state: TrialState | None = None,
    ) -> bool:
        """``study.tell``; False when the trial was already finished by someone else.

        Optuna's GridSampler calls ``study.stop()`` from ``tell`` once every grid
        point is taken, which raises outside ``optimize``; the trial is stored
        by then, so the exhausted grid is a reason to stop asking, not an error.
        A trial another driver took for abandoned (its heartbeat was late) is
        already failed and retried; this result is then dropped, not stored twice.
        """
        self.told += 1
        try:
            study.tell(trial, values, state=state)
        except optuna.exceptions.UpdateFinishedTrialError:
            return False
        except RuntimeError as exc:
            if "Study.stop" not in str(exc):
                raise
            self.grid_exhausted = True
        except KeyError as exc:
            # GridSampler.after_trial looks up the grid point of the told trial,
            # which an enqueued (reference) trial does not have; the state was
            # stored before (Optuna stores it in a ``finally``).
            if exc.args != ("grid_id",):
                raise
        return True

    def _reject(
        self, study: optuna.Study, trial: optuna.Trial, reason: str, summary: RunSummary
    ) -> None:
        """Record an infeasible candidate.

        It is told PRUNED (with its reason in the ``infeasible`` attribute) rather
        than FAIL because TPE ignores failed trials and would propose the same
        infeasible point again and again, while it ranks pruned ones below every
        complete trial and so learns to avoid the region. It does not count
        against the budget (:func:`sliceq22.search.study.finished_count`).
        """
        try:
            trial.set_user_attr("infeasible", reason)
        except optuna.exceptions.UpdateFinishedTrialError:
            return
        self._tell(study, trial, state=TrialState.PRUNED)
        summary.infeasible_now += 1

    def _heartbeat(self, study: optuna.Study, summary: RunSummary) -> None:
        """Every HEARTBEAT_S: mark our running trials alive, recover other drivers' abandoned
        ones."""
        now = time.time()
        if now - self._last_beat < HEARTBEAT_S:
            return
        self._last_beat = now
        for run in self.running.values():
            try:
                trialattrs.store_heartbeat(run.trial, now)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # taken over by another driver; its result will be dropped
        summary.recovered += self._recover(study)

    def _result(self, run: RunningTrial) -> dict[str, Any]:
        how = self.config.aggregate
        result: dict[str, Any] = {
            "scores": per_target_values(run.tracks, how),
            "track_scores": {r["track"]: r["scores"] for r in run.tracks},
            "timing": {
                k: float(sum(r["timing"].get(k, 0.0) for r in run.tracks))
                for k in ("forward", "inverse", "metric")
            },
            "seconds": time.time() - run.started,
            "tracks_evaluated": len(run.tracks),
            **run.worker,
        }
        excluded = sorted({f"{r['track']}:{t}" for r in run.tracks for t in r["excluded"]})
        if excluded:
            result["excluded"] = excluded
        return result

    def _unscored(self, run: RunningTrial, values: dict[str, float]) -> dict[str, str]:
        """Why each target without a finite score has none (stored beside the ``null``)."""
        out = {}
        for t in TARGETS:
            if math.isfinite(values[t]):
                continue
            silent = sum(t in r["excluded"] for r in run.tracks)
            if silent == len(run.tracks):
                out[t] = "silent in every track"
            elif values[t] > 0:
                out[t] = "infinite score (exact reconstruction on every scored track)"
            else:
                out[t] = "no finite score on any track"
        return out

    def _finish(self, study: optuna.Study, run: RunningTrial, summary: RunSummary) -> None:
        """Tell a trial whose evaluation ended; targets without a score are told the worst value.

        In per-target mode a target that no track scores (silent in every
        track) would fail every trial and leave the other targets without a
        best; it is told the worst value for the direction instead (Optuna
        has no "missing" objective value), its stored score is ``null`` and
        ``unscored`` says why. Stored JSON is standard: non-finite scores are
        ``null``.
        """
        from sliceq22.oracles.base import json_safe

        result = self._result(run)
        values = result["scores"]
        unscored = self._unscored(run, values)
        if unscored:
            result["unscored"] = unscored
        maximize = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
        worst = -math.inf if maximize else math.inf
        if self.config.mode == "per-target":
            told = [values[t] if t not in unscored else worst for t in TARGETS]
            hopeless = len(unscored) == len(TARGETS)
        else:
            told = [shared_value({t: v for t, v in values.items() if t not in unscored})]
            hopeless = not math.isfinite(told[0])
        if hopeless:
            result["failure"] = (
                "no finite score for any target ("
                + "; ".join(f"{t}: {why}" for t, why in unscored.items())
                + ")"
            )
        try:
            trialattrs.store_result(run.trial, json_safe(result))
        except optuna.exceptions.UpdateFinishedTrialError:
            return  # another driver failed it as abandoned and retried it
        if "failure" in result:
            if self._tell(study, run.trial, state=TrialState.FAIL):
                summary.failed_now += 1
                self._count_failure(result["failure"])
            return
        if self._tell(study, run.trial, told if len(told) > 1 else told[0]):
            summary.completed_now += 1
            self.fail_streak = 0

    def _count_failure(self, reason: str) -> None:
        self.fail_streak += 1
        self.last_failure = reason

    def _fail(
        self, study: optuna.Study, run: RunningTrial, reason: str, summary: RunSummary, retry: bool
    ) -> None:
        if study._storage.get_trial(run.trial._trial_id).state.is_finished():
            return
        try:
            run.trial.set_user_attr("failure", reason)
        except optuna.exceptions.UpdateFinishedTrialError:
            return
        if not self._tell(study, run.trial, state=TrialState.FAIL):
            return
        summary.failed_now += 1
        self._count_failure(reason)
        if retry:
            frozen = study._storage.get_trial(run.trial._trial_id)
            studies.requeue(study, frozen, self.config.retries)

    def _on_message(
        self, study: optuna.Study, run: RunningTrial, message: dict[str, Any], summary: RunSummary
    ) -> bool:
        """Handle one message of a running trial; return True when the trial is over."""
        kind = message["kind"]
        if kind == "start":
            # Written at once so `sliceq22 show` (and a node drill) can see where it runs.
            run.worker = {
                "worker_host": message["host"],
                "worker_pid": message["pid"],
                "worker_node": message.get("node"),
            }
            run.started = time.time()
            try:
                run.trial.set_user_attr(WORKER, run.worker)
            except optuna.exceptions.UpdateFinishedTrialError:
                return True
            return False
        if kind == "progress":
            # Shown by the tracks bar, never stored: progress costs no storage transaction.
            run.fraction = float(message["fraction"])
            return False
        if kind == "infeasible":
            self._reject(study, run.trial, message["reason"], summary)
            return True
        run.fraction = 0.0
        run.tracks.append(message)
        if self.config.mode == "shared" and self.config.pruner["name"] != "none":
            step = len(run.tracks) - 1
            run.trial.report(
                shared_value(per_target_values(run.tracks, self.config.aggregate)), step
            )
            if len(run.tracks) < len(self.track_names) and run.trial.should_prune():
                import ray

                ray.cancel(run.generator, force=True)
                from sliceq22.oracles.base import json_safe

                try:
                    pruner = self.config.pruner["name"]
                    trialattrs.store_result(
                        run.trial,
                        json_safe(
                            {
                                **self._result(run),
                                "pruned": f"pruned by the {pruner} pruner after "
                                f"{len(run.tracks)} of {len(self.track_names)} tracks",
                            }
                        ),
                    )
                except optuna.exceptions.UpdateFinishedTrialError:
                    return True
                if self._tell(study, run.trial, state=TrialState.PRUNED):
                    summary.pruned_now += 1
                    self.fail_streak = 0
                return True
        return False

    def _receive(self, study: optuna.Study, generator: Any, summary: RunSummary) -> None:
        """Take the next message of a ready evaluation and act on it."""
        import ray

        run = self.running[generator]
        done = False
        try:
            message = ray.get(next(generator))
            done = self._on_message(study, run, message, summary)
        except StopIteration:
            self._finish(study, run, summary)
            done = True
        except (
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.NodeDiedError,
            ray.exceptions.ActorDiedError,
            ray.exceptions.ObjectLostError,
            ray.exceptions.OwnerDiedError,
        ) as exc:
            self._fail(study, run, f"worker died: {type(exc).__name__}", summary, retry=True)
            done = True
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            text = str(cause).strip().splitlines()
            self._fail(
                study,
                run,
                f"{type(cause).__name__}: {text[-1] if text else ''}",
                summary,
                retry=False,
            )
            done = True
        if done:
            del self.running[generator]

    # ------------------------------------------------------------------ the loop
    def run(self) -> RunSummary:
        """Run until the study holds its budget of finished trials; return what happened.

        Several drivers may run the same study at once (on a database server):
        each starts a trial only while finished plus running trials stay below
        the budget (:meth:`_dispatch`), and a driver with nothing of
        its own to run waits while others' trials are running, taking over
        their trials if their driver stops.
        """
        from sliceq22.oracles import get_objective

        t0 = time.time()
        objective = self.config.objective
        direction = get_objective(
            str(objective["name"]), **{k: v for k, v in objective.items() if k != "name"}
        ).direction
        # Everything that can refuse the run (the stored study file, Ray, the
        # dataset) is checked before the first write: a refused run leaves the
        # stored study (its budget included) as it was, and creates none.
        existing = studies.find_study(self.config, self.storage)
        if existing is not None:
            budget = self.budget_override or studies.budget_of(existing, self.config)
            if studies.finished_count(existing) >= budget:
                study, _ = studies.open_study(
                    self.config, self.storage, direction=direction, budget=self.budget_override
                )
                summary = RunSummary(self.config.name, budget, studies.finished_count(study))
                summary.recovered = self._recover(study)
                return summary
        self._check_dataset()
        workers = self._start_ray()
        with sigterm_as_interrupt():
            return self._run_loaded(existing, direction, workers, t0)

    def _check_dataset(self) -> None:
        """Refuse a missing, changed or unusable dataset before Ray starts (no audio is read).

        Files, lengths against the excerpt, rates and truncated files are
        checked from the headers; what needs the samples (non-finite or
        all-silent audio, the fingerprint) is checked by :meth:`_load_tracks`.
        """
        from sliceq22.data.load import prepare
        from sliceq22.oracles.base import require_scorable

        require_scorable(prepare(self.config.dataset), self.config.dataset)

    def _run_loaded(
        self, existing: optuna.Study | None, direction: str, workers: int, t0: float
    ) -> RunSummary:
        """:meth:`run` once Ray is up: check the dataset, then write and run."""
        import ray

        track_refs = self._load_tracks(existing)
        study, _ = studies.open_study(
            self.config, self.storage, direction=direction, budget=self.budget_override
        )
        if studies.ATTR_DATASET not in study.user_attrs:
            studies.set_json_attr(study, studies.ATTR_DATASET, self.shipped.fingerprint)
        budget = studies.budget_of(study, self.config)
        summary = RunSummary(self.config.name, budget, studies.finished_count(study))
        summary.unscorable = dict(self.unscorable)
        if self.unscorable and self.notify is not None:
            self.notify(
                f"{', '.join(self.unscorable)}: silent in every track, so never scored; "
                "the other targets are"
            )
        summary.recovered = self._recover(study)
        self._enqueue_references(study)
        self.points = space_points(self.config.transforms)
        capacity = workers + self.queue_ahead
        evaluate = remote_evaluate()
        bars = _Progress(budget, self.config.name, len(self.track_names), self.progress)
        streak = 0
        try:
            while True:
                raise_if_terminated()  # a safe point: no storage call is half-way
                full = memoised = False
                while len(self.running) < capacity and not self.grid_exhausted:
                    raise_if_terminated()
                    outcome = self._dispatch(study, evaluate, track_refs, summary, budget)
                    if outcome == "full":
                        full = True
                        break
                    if outcome == "exhausted":
                        break
                    if outcome == "memoised":
                        memoised = True
                        if self.running:
                            break  # take the running trials' messages between memoised draws
                        continue
                    if outcome == "lost":
                        continue
                    streak = streak + 1 if outcome == "infeasible" else 0
                    if streak >= MAX_INFEASIBLE_STREAK:
                        raise Sliceq22Error(
                            f"{streak} candidates in a row were infeasible; widen the constraints "
                            "or narrow the search space (see `sliceq22 show` for the reasons)"
                        )
                bars.show(study, self.running.values(), self.told)
                if not self.running:
                    if self.grid_exhausted or self.space_exhausted or not full:
                        break
                    finished, running = studies.budget_usage(study)
                    if finished >= budget:
                        break
                    if running:
                        # Other drivers' trials fill the budget: wait for them, and take
                        # them over (fail and retry) if their driver vanishes.
                        time.sleep(POLL_S)
                        raise_if_terminated()
                        self._heartbeat(study, summary)
                    continue
                # After a memoised draw, only look for messages: the next draw is due at once.
                ready, _ = ray.wait(
                    list(self.running), num_returns=1, timeout=0 if memoised else HEARTBEAT_S
                )
                self._heartbeat(study, summary)
                for generator in ready:
                    self._receive(study, generator, summary)
                if self.fail_streak >= MAX_FAILURE_STREAK:
                    raise Sliceq22Error(
                        f"{self.fail_streak} trials in a row failed (last: {self.last_failure}); "
                        f"stopping. See `sliceq22 show {self.config.name}` for the reasons"
                    )
        except BaseException:
            self._abandon_running(study)
            raise
        finally:
            bars.close(study)
        summary.finished = studies.finished_count(study)
        summary.seconds = time.time() - t0
        summary.grid_exhausted = self.grid_exhausted
        if self.space_exhausted and self.points is not None:
            summary.space_exhausted = len(self.points)
        return summary

    def _abandon_running(self, study: optuna.Study) -> None:
        """On an error or Ctrl-C, fail what is running (with a reason) and requeue it for the next
        run.

        When the storage itself is gone nothing can be written: the running
        trials are left RUNNING and the next run recovers them (their driver's
        process is gone by then).
        """
        import ray

        from sliceq22.errors import StorageError

        for generator, run in list(self.running.items()):
            try:
                ray.cancel(generator, force=True)
            except Exception:  # already finished or its worker is gone: nothing to cancel
                pass
            try:
                self._fail(
                    study, run, "interrupted: the driver stopped", RunSummary("", 0, 0), retry=True
                )
            except StorageError:
                pass
        self.running.clear()


def _engine_of(storage: Any) -> Any:
    """The SQLAlchemy engine under a (wrapped, cached) Optuna RDB storage, or ``None``."""
    for _ in range(3):
        engine = getattr(storage, "engine", None)
        if engine is not None:
            return engine
        storage = getattr(storage, "inner", None) or getattr(storage, "_backend", None)
        if storage is None:
            return None
    return None


class _Progress:
    """Progress bars on stderr: finished trials, and tracks of the running trials.

    The tracks bar appears when trials span several tracks, or when a worker
    reports progress within a track (a long track); it moves with that
    progress (``#12 3/14 45%``: trial 12 has scored 3 of 14 tracks and is 45 %
    through the fourth).
    """

    def __init__(self, budget: int, name: str, n_tracks: int, enabled: bool) -> None:
        self.enabled = enabled
        self.n_tracks = n_tracks
        self.trials = self.tracks = None
        self._told, self._counted = -1, 0.0
        if not enabled:
            return
        from tqdm import tqdm

        self.trials = tqdm(
            total=budget,
            desc=f"{name}: trials",
            unit="trial",
            file=sys.stderr,
            dynamic_ncols=True,
            position=0,
        )
        if n_tracks > 1:
            self._open_tracks()

    def _open_tracks(self) -> None:
        from tqdm import tqdm

        # No rate or ETA: the count restarts as trials come and go, so a rate would be noise.
        self.tracks = tqdm(
            total=0,
            desc="  tracks of running trials",
            unit="track",
            file=sys.stderr,
            dynamic_ncols=True,
            position=1,
            leave=False,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
        )

    def show(self, study: optuna.Study, running: Any, told: int) -> None:
        """Redraw: the storage's count (other drivers' trials included) and the running trials.

        The count is read again only when this driver told a result or every
        few seconds (for other drivers' results): reading every trial at each
        message would cost more than the bar is worth.
        """
        if self.trials is None:
            return
        now = time.monotonic()
        if told != self._told or now - self._counted > POLL_S:
            self.trials.n = studies.finished_count(study)
            self._told, self._counted = told, now
        self.trials.refresh()
        runs = list(running)
        if self.tracks is None and any(r.fraction > 0 for r in runs):
            self._open_tracks()
        if self.tracks is not None:
            self.tracks.total = self.n_tracks * len(runs)
            self.tracks.n = sum(len(r.tracks) + r.fraction for r in runs)
            self.tracks.set_postfix_str(
                ", ".join(_trial_progress(r, self.n_tracks) for r in runs), refresh=False
            )
            self.tracks.refresh()

    def close(self, study: optuna.Study) -> None:
        if self.tracks is not None:
            self.tracks.close()
        if self.trials is not None:
            try:
                self.trials.n = studies.finished_count(study)
            except Exception:  # the storage may be what failed; the bar still closes
                pass
            self.trials.close()


def _trial_progress(run: RunningTrial, n_tracks: int) -> str:
    """``#12 3/14 45%``: trial, tracks scored, and how far the current track is (if reported)."""
    text = f"#{run.trial.number} {len(run.tracks)}/{n_tracks}"
    return f"{text} {run.fraction:.0%}" if run.fraction > 0 else text
