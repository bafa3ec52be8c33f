"""One study run of ``benchmarks/search.py``: the cached evaluation, the sampler, the trial rows.

A run is the real driver in this process (:class:`~sliceq22.search.driver.StudyDriver`
on Optuna's ``InMemoryStorage`` with a
:class:`~sliceq22.search.evaluator.LocalEvaluator`), its evaluations taken
from a candidate cache on disk shared by every run of the benchmark (and its
worker processes). Not part of the package.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import pickle
import re
import time
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from sliceq22 import TARGETS
from sliceq22.search import study as studies
from sliceq22.search.config import parse_study
from sliceq22.search.driver import StudyDriver
from sliceq22.search.evaluator import LocalEvaluator
from sliceq22.search.memo import candidate_key
from sliceq22.search.messages import Infeasible, Message, Started, TrackScored
from sliceq22.search.trialattrs import MEMO_OF, is_infeasible, trial_attrs

REPO = Path(__file__).resolve().parent.parent
SHIPPED = {
    "shared": REPO / "studies" / "musdb18hq-mpi-shared.toml",
    "per-target": REPO / "studies" / "musdb18hq-mpi-per-target.toml",
}
_TPE = re.compile(r"tpe(-mv)?(?:-s(\d+))?")
_NSGA2 = re.compile(r"nsga2(?:-p(\d+))?")


@dataclass(frozen=True)
class Task:
    """One study run: ``kind`` is sampler, spearman, full-only or fidelity."""

    kind: str
    mode: str
    sampler: str
    seed: int
    trials: int
    folder: str
    fidelity: dict[str, float] | None = None
    space: str = "shipped"  # or one [[transforms]] entry's label (its family if unlabelled)


@dataclass
class Entry:
    """A cached evaluation: its messages (Infeasible or TrackScored), CPU s and tracks scored."""

    messages: list[Message]
    cpu: float
    tracks: int


@dataclass
class Use:
    """One evaluation a run asked for."""

    key: str
    excerpt: bool
    hit: bool
    cpu: float
    tracks: int


@dataclass
class Row:
    """One trial of a run, in trial order."""

    counted: bool  # counts against the budget (complete or pruned, not infeasible)
    values: list[float] | None  # full-length values (shared: 1, per-target: 4), complete only
    cpu: float  # CPU s of its evaluations, alone (memo and constraint rejections: 0)
    excerpt_cpu: float  # the part of ``cpu`` spent on excerpts
    full_tracks: int
    excerpt_tracks: int
    memo: bool
    hits: int  # evaluations taken from the benchmark's cache
    excerpt_scores: dict[str, float] | None = None
    scores: dict[str, float] | None = None


@dataclass
class Result:
    task: Task
    rows: list[Row]
    spent: float  # CPU s of the cache misses (what this run really computed)
    driver_cpu: float  # the rest of the run's CPU: Optuna, the driver, reading tracks
    wall: float
    memoised: int = 0
    evaluations: int = 0
    notes: list[str] = field(default_factory=list)


class Cache:
    """Evaluations on disk by key (one pickle each, written atomically)."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / (hashlib.sha1(key.encode()).hexdigest() + ".pkl")

    def get(self, key: str) -> Entry | None:
        try:
            with open(self._path(key), "rb") as fh:
                return pickle.load(fh)
        except FileNotFoundError:
            return None

    def put(self, key: str, entry: Entry) -> None:
        tmp = self._path(key).with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(entry, fh)
        os.replace(tmp, self._path(key))


class CachedEvaluate:
    """The ``evaluate`` of a LocalEvaluator: ``evaluate_stream`` through the cache, logged."""

    def __init__(self, cache: Cache, excerpt_samples: int | None) -> None:
        self.cache = cache
        self.excerpt_samples = excerpt_samples
        self.log: list[Use] = []

    def __call__(
        self,
        family: str,
        params: Mapping[str, Any],
        rate: int,
        tracks: list[Any],
        objective: Mapping[str, Any],
    ) -> Iterator[Message]:
        from sliceq22.search.worker import evaluate_stream

        yield Started(host="benchmark", pid=os.getpid())
        cand = candidate_key(family, params)
        where = sorted((t.name, int(t.length), int(t.offset)) for t in tracks)
        key = json.dumps([where, dict(objective), cand], sort_keys=True, default=str)
        entry = self.cache.get(key)
        hit = entry is not None
        if entry is None:
            t0 = time.process_time()
            messages = [
                m
                for m in evaluate_stream(family, params, rate, tracks, objective)
                if isinstance(m, Infeasible | TrackScored)
            ]
            cpu = time.process_time() - t0
            scored = sum(isinstance(m, TrackScored) for m in messages)
            entry = Entry(messages, cpu, scored)
            self.cache.put(key, entry)
        excerpt = self.excerpt_samples is not None and all(
            t.length <= 1.01 * self.excerpt_samples + 2 for t in tracks
        )
        self.log.append(Use(cand, excerpt, hit, entry.cpu, entry.tracks))
        yield from entry.messages


def sampler_check(name: str) -> None:
    """Refuse a sampler name this benchmark does not know (ValueError)."""
    if name in ("random", "qmc", "cmaes") or _TPE.fullmatch(name) or _NSGA2.fullmatch(name):
        return
    raise ValueError(f"unknown sampler {name!r}")


def make_named_sampler(name: str, config: Any) -> optuna.samplers.BaseSampler:
    """The sampler of a benchmark name (``tpe`` is the study file's, built by the package)."""
    seed = config.sampler.seed
    if name in ("tpe", "cmaes"):  # study-file samplers (build_config names cmaes there)
        return studies.make_sampler(config)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False)
    nsga = _NSGA2.fullmatch(name)
    if nsga:
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=int(nsga[1] or 50))
    tpe = _TPE.fullmatch(name)
    assert tpe, name
    startup = int(tpe[2]) if tpe[2] else config.sampler.startup_trials
    multivariate = bool(tpe[1])
    return optuna.samplers.TPESampler(
        seed=seed,
        n_startup_trials=startup,
        multivariate=multivariate,
        group=multivariate,
    )


@contextlib.contextmanager
def sampler_of_run(sampler: optuna.samplers.BaseSampler) -> Iterator[None]:
    """Let the driver's study be created with ``sampler`` (the study module's factory, patched)."""
    original = studies.make_sampler
    studies.make_sampler = lambda config: sampler  # type: ignore[assignment]
    try:
        yield
    finally:
        studies.make_sampler = original  # type: ignore[assignment]


def space_labels(mode: str = "shared") -> list[str]:
    """The labels (or families) of the shipped study's ``[[transforms]]`` entries."""
    with open(SHIPPED[mode], "rb") as fh:
        doc = tomllib.load(fh)
    return [_label(t) for t in doc["transforms"]]


def _label(entry: Mapping[str, Any]) -> str:
    """A ``[[transforms]]`` entry's name: its label, else its family."""
    return str(entry.get("label", entry["family"]))


def build_config(task: Task) -> Any:
    """The shipped study of ``task.mode`` on the task's folder, budget, seed and fidelity.

    A ``task.space`` other than ``shipped`` keeps that one ``[[transforms]]`` entry and no
    ``[[reference]]``: a search within one family, where its numeric parameters decide.
    """
    with open(SHIPPED[task.mode], "rb") as fh:
        doc = tomllib.load(fh)
    doc["study"]["name"] = f"bench-{task.kind}-{task.space}-{task.sampler}-{task.seed}"
    doc["study"]["trials"] = task.trials
    doc["dataset"] = {"source": "folder", "root": task.folder}
    doc["sampler"]["seed"] = task.seed
    if task.sampler == "cmaes":
        doc["sampler"] = {"name": "cmaes", "seed": task.seed}
    if task.space != "shipped":
        kept = [t for t in doc["transforms"] if _label(t) == task.space]
        if not kept:
            raise ValueError(f"no [[transforms]] entry {task.space!r} in {SHIPPED[task.mode]}")
        doc["transforms"] = kept
        doc.pop("reference", None)
    if task.fidelity is not None:
        doc["fidelity"] = dict(task.fidelity)
    return parse_study(doc)


def run_task(job: tuple[Task, str]) -> Result:
    """Run one study to its budget; its trials as rows (picklable, for a process pool)."""
    import warnings

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*independent sampling.*")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task, cache_folder = job
    config = build_config(task)
    rate = 44100
    excerpt = None if task.fidelity is None else round(task.fidelity["excerpt"] * rate)
    evaluate = CachedEvaluate(Cache(cache_folder), excerpt)
    storage = optuna.storages.InMemoryStorage()
    sampler = make_named_sampler(task.sampler, config)
    w0, c0 = time.time(), time.process_time()
    with sampler_of_run(sampler):
        summary = StudyDriver(
            config, storage, progress=False, evaluator=LocalEvaluator(evaluate)
        ).run()
    cpu, wall = time.process_time() - c0, time.time() - w0
    study = optuna.load_study(study_name=config.name, storage=storage)
    spent = sum(u.cpu for u in evaluate.log if not u.hit)
    return Result(
        task,
        trial_rows(study, evaluate.log, task.mode),
        spent,
        cpu - spent,
        wall,
        memoised=summary.memoised_now,
        evaluations=len(evaluate.log),
    )


def _uses_of(trial_key: str, log: list[Use], at: int) -> list[Use]:
    """The log entries of one evaluated trial from ``at``: an excerpt stage, then a full one."""
    uses: list[Use] = []
    while at < len(log) and log[at].key == trial_key:
        if uses and not (uses[-1].excerpt and not log[at].excerpt):
            break
        uses.append(log[at])
        at += 1
    if not uses:
        raise RuntimeError(f"no evaluation logged for {trial_key}")
    return uses


def trial_rows(study: optuna.Study, log: list[Use], mode: str) -> list[Row]:
    """Each trial's outcome and cost, in trial order (one evaluation at a time: log order)."""
    rows, at = [], 0
    for trial in sorted(study.trials, key=lambda t: t.number):
        attrs = trial_attrs(trial)
        infeasible = is_infeasible(trial)
        memo = MEMO_OF in attrs
        uses: list[Use] = []
        if not memo and "worker_host" in attrs:
            uses = _uses_of(candidate_key(attrs["family"], attrs["transform_params"]), log, at)
            at += len(uses)
        values = None
        if trial.state == TrialState.COMPLETE:
            values = [float(v) for v in trial.values]
            if mode == "per-target" and len(values) != len(TARGETS):
                raise RuntimeError("per-target trial without four values")
        stage = trial.user_attrs.get("fidelity")
        rows.append(
            Row(
                counted=trial.state in (TrialState.COMPLETE, TrialState.PRUNED) and not infeasible,
                values=values,
                cpu=sum(u.cpu for u in uses),
                excerpt_cpu=sum(u.cpu for u in uses if u.excerpt),
                full_tracks=sum(u.tracks for u in uses if not u.excerpt),
                excerpt_tracks=sum(u.tracks for u in uses if u.excerpt),
                memo=memo,
                hits=sum(u.hit for u in uses),
                excerpt_scores=_floats(stage.get("excerpt_scores")) if stage else None,
                scores=_floats(attrs.get("scores")) if values is not None else None,
            )
        )
    if at != len(log):
        raise RuntimeError(f"{len(log) - at} evaluations not matched to a trial")
    return rows


def _floats(raw: Any) -> dict[str, float] | None:
    if not isinstance(raw, dict):
        return None
    return {k: (math.nan if v is None else float(v)) for k, v in raw.items()}
