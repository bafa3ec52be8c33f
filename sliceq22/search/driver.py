"""The study driver: Optuna's ask/tell loop feeding an evaluator (Ray workers, or in-process).

One driver per study run is the only process that writes to the storage. It
asks Optuna for a candidate, rejects infeasible ones before any audio is
touched, starts an evaluation per feasible candidate
(:mod:`sliceq22.search.evaluator`), reports each track's scores as they
arrive (pruning a bad candidate and cancelling its evaluation), and tells
Optuna the result (:mod:`sliceq22.search.outcomes`). Worker deaths fail the
trial with a reason and re-enqueue its parameters (bounded); a killed
driver's RUNNING trials are recovered the same way by the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import cast

import optuna

from sliceq22.errors import Sliceq22Error
from sliceq22.interrupt import raise_if_terminated, sigterm_as_interrupt
from sliceq22.search import drawing, optuna_compat, raystart, references, trialattrs
from sliceq22.search import study as studies
from sliceq22.search.budgetlock import BudgetLock
from sliceq22.search.config import StudyConfig
from sliceq22.search.evaluator import EvaluationEnded, EvaluationFailed, Evaluator, WorkerLost
from sliceq22.search.memo import CandidateIndex, space_points
from sliceq22.search.messages import Infeasible, Message, Started, TrackProgress, TrackScored
from sliceq22.search.outcomes import INTERRUPTED, TrialOutcomes
from sliceq22.search.progress_bars import RunProgress
from sliceq22.search.resilient import DEFAULT_PATIENCE_S, PatientStorage
from sliceq22.search.run_records import RunningTrial, RunSummary
from sliceq22.search.run_tracks import check_dataset, load_excerpts, load_tracks
from sliceq22.search.shipping import Shipped
from sliceq22.search.storage import mask_url
from sliceq22.search.trialattrs import WORKER

__all__ = ["MAX_FAILURE_STREAK", "MAX_INFEASIBLE_STREAK", "RunSummary", "StudyDriver"]

#: Consecutive infeasible candidates after which the search space is judged hopeless.
MAX_INFEASIBLE_STREAK = 200
#: Consecutive failed trials after which a run stops: something fails every
#: candidate (the dataset, the workers' memory), and retrying would never end.
MAX_FAILURE_STREAK = 10
#: Seconds between heartbeats written for running trials (and checks for abandoned ones).
HEARTBEAT_S = 10.0
#: Seconds between looks at the storage while only other drivers' trials run.
POLL_S = 2.0


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
    evaluator : Evaluator, optional
        Where candidates are evaluated; default a
        :class:`~sliceq22.search.ray_evaluator.RayEvaluator` for ``workers`` and
        ``ray_address`` (a :class:`~sliceq22.search.evaluator.LocalEvaluator`
        evaluates in this process, synchronously).
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
        evaluator: Evaluator | None = None,
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
        self.tracks_via = tracks_via
        if evaluator is None:
            from sliceq22.search.ray_evaluator import RayEvaluator

            # resolve_address refuses ray:// (and dashboard URLs) before any write.
            evaluator = RayEvaluator(raystart.resolve_address(ray_address), workers, notify)
        self.evaluator = evaluator
        self.budget_override = budget
        self.progress = progress
        self.queue_ahead = max(0, int(queue_ahead))
        self.stale_after_s = float(stale_after_s)
        self.running: dict[Hashable, RunningTrial] = {}
        self._last_beat = time.time()
        self.index = CandidateIndex()
        #: Keys of every candidate of a finite space (None: endless), set by :meth:`run`.
        self.points: set[str] | None = None
        self.space_exhausted = False
        #: Points of a grid study's grid (None: not a grid study).
        self.grid_size = drawing.grid_size(config)
        self.unscorable: dict[str, str] = {}
        self.lock = BudgetLock(
            optuna_compat.engine_of(storage), config.name, getattr(storage, "patiently", None)
        )
        #: Set once the study is open (:meth:`_run_loaded`).
        self.outcomes: TrialOutcomes
        self.shipped: Shipped
        #: The fidelity excerpts of the tracks, scored first (None: no [fidelity]).
        self.excerpts: Shipped | None = None

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

    # ------------------------------------------------------------------ the run
    def run(self) -> RunSummary:
        """Run until the study holds its budget of finished trials; return what happened.

        Several drivers may run the same study at once (on a database server):
        each starts a trial only while finished plus running trials stay below
        the budget (:meth:`_dispatch`), and a driver with nothing of
        its own to run waits while others' trials are running, taking over
        their trials if their driver stops.
        """

        t0 = time.time()
        direction = self.config.objective.build().direction
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
        check_dataset(self.config.dataset)
        workers = self.evaluator.start()
        if not self.evaluator.queue_ahead:
            self.queue_ahead = 0
        with sigterm_as_interrupt():
            return self._run_loaded(existing, direction, workers, t0)

    def _open(self, existing: optuna.Study | None, direction: str) -> optuna.Study:
        """Load the tracks, then open (or create) the study: the run's first write."""
        stored = None if existing is None else existing.user_attrs.get(studies.ATTR_DATASET)
        self.shipped, self.unscorable = load_tracks(
            self.evaluator, self.config, stored, via=self.tracks_via, progress=self.progress
        )
        self.excerpts = load_excerpts(
            self.evaluator, self.config, self.shipped, via=self.tracks_via, progress=self.progress
        )
        study, _ = studies.open_study(
            self.config, self.storage, direction=direction, budget=self.budget_override
        )
        if studies.ATTR_DATASET not in study.user_attrs:
            studies.set_json_attr(study, studies.ATTR_DATASET, self.shipped.fingerprint)
        return study

    def _run_loaded(
        self, existing: optuna.Study | None, direction: str, workers: int, t0: float
    ) -> RunSummary:
        """:meth:`run` once the workers are up: check the dataset, then write and run."""
        study = self._open(existing, direction)
        budget = studies.budget_of(study, self.config)
        summary = RunSummary(self.config.name, budget, studies.finished_count(study))
        summary.unscorable = dict(self.unscorable)
        if self.unscorable and self.notify is not None:
            self.notify(
                f"{', '.join(self.unscorable)}: silent in every track, so never scored; "
                "the other targets are"
            )
        self.outcomes = TrialOutcomes(study, self.config, summary)
        summary.recovered = self._recover(study)
        with self.lock.held():  # two drivers starting together must not both enqueue them
            references.enqueue_references(study, self.config.references, self.config.transforms)
        self.points = space_points(self.config.transforms)
        bars = RunProgress(budget, self.config.name, len(self.shipped.names), self.progress)
        try:
            self._loop(study, summary, budget, workers + self.queue_ahead, bars)
        except BaseException:
            self._abandon_running(study)
            raise
        finally:
            bars.close(study)
        summary.finished = studies.finished_count(study)
        summary.seconds = time.time() - t0
        summary.grid_exhausted = self.outcomes.grid_exhausted
        if self.space_exhausted and self.points is not None:
            summary.space_exhausted = len(self.points)
        return summary

    def _loop(
        self,
        study: optuna.Study,
        summary: RunSummary,
        budget: int,
        capacity: int,
        bars: RunProgress,
    ) -> None:
        """Start candidates up to ``capacity``, take the evaluations' messages, until done."""
        streak = 0
        while True:
            raise_if_terminated()  # a safe point: no storage call is half-way
            full, memoised, streak = self._fill(study, budget, capacity, streak)
            bars.show(study, self.running.values(), self.outcomes.told)
            if not self.running:
                if self._nothing_to_wait_for(study, budget, full, summary):
                    return
                continue
            # After a memoised draw, only look for messages: the next draw is due at once.
            ready = self.evaluator.ready(list(self.running), 0 if memoised else HEARTBEAT_S)
            self._heartbeat(study, summary)
            for handle in ready:
                self._receive(handle)
            if self.outcomes.fail_streak >= MAX_FAILURE_STREAK:
                raise Sliceq22Error(
                    f"{self.outcomes.fail_streak} trials in a row failed "
                    f"(last: {self.outcomes.last_failure}); stopping. "
                    f"See `sliceq22 show {self.config.name}` for the reasons"
                )

    def _fill(
        self, study: optuna.Study, budget: int, capacity: int, streak: int
    ) -> tuple[bool, bool, int]:
        """Dispatch until ``capacity`` evaluations run or nothing more can start.

        Returns ``(budget full, a draw was memoised, infeasible streak)``.
        """
        while len(self.running) < capacity and not self.outcomes.grid_exhausted:
            raise_if_terminated()
            outcome = self._dispatch(study, budget)
            if outcome == "full":
                return True, False, streak
            if outcome == "exhausted":
                break
            if outcome == "memoised":
                if self.running:
                    return False, True, streak  # take the running trials' messages between draws
                continue
            if outcome == "lost":
                continue
            streak = streak + 1 if outcome == "infeasible" else 0
            if streak >= MAX_INFEASIBLE_STREAK:
                raise Sliceq22Error(
                    f"{streak} candidates in a row were infeasible; widen the constraints "
                    "or narrow the search space (see `sliceq22 show` for the reasons)"
                )
        return False, False, streak

    def _nothing_to_wait_for(
        self, study: optuna.Study, budget: int, full: bool, summary: RunSummary
    ) -> bool:
        """With none of our trials running: True when the run is over, else wait a poll.

        Other drivers' trials may fill the budget: wait for them, and take them
        over (fail and retry) if their driver vanishes.
        """
        if self.outcomes.grid_exhausted or self.space_exhausted or not full:
            return True
        finished, running = studies.budget_usage(study)
        if finished >= budget:
            return True
        if running:
            time.sleep(POLL_S)
            raise_if_terminated()
            self._heartbeat(study, summary)
        return False

    # ------------------------------------------------------------------ trials
    def _dispatch(self, study: optuna.Study, budget: int) -> str:
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
            if drawing.space_settled(study, self.index, self.points):
                self.space_exhausted = True
                return "exhausted"
            trial = study.ask()
            try:
                drawn = drawing.draw(study, trial, self.config, self.index, self.shipped)
                if drawn is not None and drawn.memo is not None:
                    return self.outcomes.memoise(trial, drawn.memo, drawn.candidate())
            except BaseException:
                self.outcomes.drop_unstarted(trial)
                raise
        if drawn is None:
            return "lost"
        return self._start(trial, drawn)

    def _start(self, trial: optuna.Trial, drawn: drawing.Drawn) -> str:
        """Start the evaluation of a stored candidate (or record it infeasible)."""
        try:
            if drawn.infeasible is not None:
                self.outcomes.reject(trial)
                return "infeasible"
            first = self.excerpts or self.shipped  # cheap first (fidelity), if asked for
            handle = self.evaluator.submit(
                drawn.family,
                drawn.params,
                first.rate,
                first.handles,
                self.config.objective.as_dict(),
            )
            stage = "full" if self.excerpts is None else "excerpt"
            self.running[handle] = RunningTrial(
                trial, drawn.label, drawn.family, drawn.params, handle, stage=stage
            )
        except BaseException:
            # Stopped (Ctrl-C, SIGTERM) between storing the candidate and starting it:
            # nothing else knows of the trial, so it is failed and requeued here.
            if not any(run.trial is trial for run in self.running.values()):
                self.outcomes.drop_unstarted(trial)
            raise
        return "started"

    def _grid_has_room(self, study: optuna.Study) -> bool:
        """For a grid study: whether some grid point is neither finished nor running."""
        if self.grid_size is None:
            return True
        room, exhausted = drawing.grid_room(study, self.grid_size)
        self.outcomes.grid_exhausted = self.outcomes.grid_exhausted or exhausted
        return room

    def _recover(self, study: optuna.Study) -> list[int]:
        """Fail and retry other drivers' abandoned trials (under the lock, see
        :meth:`_dispatch`)."""
        own = {run.trial.number for run in self.running.values()}
        with self.lock.held():
            return studies.recover_abandoned(
                study, self.config.retries, own=own, stale_after_s=self.stale_after_s, locked=True
            )

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

    # ------------------------------------------------------------------ messages
    def _on_message(self, run: RunningTrial, message: Message) -> bool:
        """Handle one message of a running trial; return True when the trial is over."""
        if isinstance(message, Started):
            # Written at once so `sliceq22 show` (and a node drill) can see where it runs.
            run.worker = {
                "worker_host": message.host,
                "worker_pid": message.pid,
                "worker_node": message.node,
            }
            run.started = time.time()
            try:
                run.trial.set_user_attr(WORKER, run.worker)
            except optuna.exceptions.UpdateFinishedTrialError:
                return True
            return False
        if isinstance(message, TrackProgress):
            # Shown by the tracks bar, never stored: progress costs no storage transaction.
            run.fraction = message.fraction
            return False
        if isinstance(message, Infeasible):
            self.outcomes.reject(run.trial, message.reason)
            return True
        if not isinstance(message, TrackScored):  # pragma: no cover - a worker of another version
            raise Sliceq22Error(f"unexpected message from an evaluation: {message!r}")
        run.fraction = 0.0
        run.tracks.append(message)
        return self.outcomes.prune_if_due(
            run, len(self.shipped.names), lambda: self.evaluator.cancel(run.handle)
        )

    def _receive(self, handle: Hashable) -> None:
        """Take the next message of a ready evaluation and act on it."""
        run = self.running[handle]
        try:
            done = self._on_message(run, self.evaluator.receive(handle))
        except (EvaluationEnded, WorkerLost) as exc:
            # A worker lost after every track's score had arrived took only the end of
            # the stream with it: the trial is done, not failed.
            stage = self.excerpts if run.stage == "excerpt" and self.excerpts else self.shipped
            if isinstance(exc, EvaluationEnded) or len(run.tracks) == len(stage.names):
                self._receive_end(run)
            else:
                self.outcomes.fail(run.trial, str(exc), retry=True)
            done = True
        except EvaluationFailed as exc:
            self.outcomes.fail(run.trial, str(exc), retry=False)
            done = True
        if done:
            del self.running[handle]

    def _receive_end(self, run: RunningTrial) -> None:
        """An evaluation has scored every track: promote its excerpt or finish the trial."""
        if run.stage == "excerpt" and self.outcomes.excerpt_done(run):
            self._promote(run)
        elif run.stage == "full":
            self.outcomes.finish(run)

    def _promote(self, run: RunningTrial) -> None:
        """Start the full-length evaluation of a candidate its excerpts promoted."""
        run.handle = self.evaluator.submit(
            run.family,
            run.params,
            self.shipped.rate,
            self.shipped.handles,
            self.config.objective.as_dict(),
        )
        run.stage, run.tracks, run.fraction = "full", [], 0.0
        self.running[run.handle] = run

    def _abandon_running(self, study: optuna.Study) -> None:
        """On an error or Ctrl-C, fail what is running (with a reason) and requeue it for the next
        run.

        When the storage itself is gone nothing can be written: the running
        trials are left RUNNING and the next run recovers them (their driver's
        process is gone by then).
        """
        from sliceq22.errors import StorageError

        for handle, run in list(self.running.items()):
            self.evaluator.cancel(handle)
            try:
                self.outcomes.fail(run.trial, INTERRUPTED, retry=True)
            except StorageError:
                pass
        self.running.clear()
