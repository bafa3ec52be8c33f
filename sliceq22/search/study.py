"""Optuna studies for sliceq22: creation, loading, attributes, samplers, pruners, recovery.

A study lives only in its storage. Its user attributes hold everything needed
to reproduce it: the study file text and canonical form, the budget, package
versions and the dataset fingerprint.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
import warnings
from importlib import metadata
from typing import Any, Literal, cast

import optuna
from optuna.trial import TrialState

from sliceq22 import TARGETS
from sliceq22.errors import StorageError, StudyFileError
from sliceq22.search import optuna_compat
from sliceq22.search.config import StudyConfig, parse_study_text
from sliceq22.search.sections import SamplerSection
from sliceq22.search.trialattrs import (
    ATTEMPT,
    CANDIDATE,
    REFERENCE,
    RETRY_OF,
    is_infeasible,
    trial_attrs,
)

#: Study attributes written by sliceq22.
ATTR_CONFIG = "sliceq22.config"
ATTR_FILE = "sliceq22.study_file"
ATTR_BUDGET = "sliceq22.trials"
ATTR_VERSIONS = "sliceq22.versions"
ATTR_DATASET = "sliceq22.dataset"
ATTR_MODE = "sliceq22.mode"

#: A running trial whose heartbeat is older than this is taken as abandoned.
STALE_AFTER_S = 120.0


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine results."""
    out = {"python": platform.python_version()}
    for name in ("sliceq22", "numpy", "scipy", "essentia", "optuna", "ray", "museval", "musdb"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def make_sampler(config: StudyConfig) -> optuna.samplers.BaseSampler:
    """The sampler named in the study file (samplers are not stored: rebuilt each run)."""
    s = config.sampler
    seed = s.seed
    name = s.name
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "grid":
        space = grid_space(config)
        assert space is not None
        return optuna.samplers.GridSampler(space, seed=seed)
    if s.multivariate:
        # group=True: the space is conditional (a family, then its parameters), and without
        # groups multivariate TPE falls back to independent sampling for all of it.
        with warnings.catch_warnings():  # both options are "experimental" in Optuna 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=s.startup_trials, multivariate=True, group=True
            )
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=s.startup_trials, multivariate=False
    )


def grid_space(config: StudyConfig) -> dict[str, list[Any]] | None:
    """The grid of a grid study (Optuna parameter name -> values); ``None`` for other samplers."""
    if config.sampler.name != "grid":
        return None
    space: dict[str, list[Any]] = {}
    for entry in config.transforms:
        for rng in entry.ranges:
            key = f"{entry.label}.{rng.name}"
            if rng.kind == "categorical":
                space[key] = list(rng.choices)
            elif rng.kind in ("int", "float"):
                low, high = rng.bounds
                step = rng.step
                assert step is not None  # parse_study requires a step for the grid sampler
                values, v = [], float(low)
                while v <= float(high) + 1e-9:
                    values.append(int(round(v)) if rng.kind == "int" else v)
                    v += float(step)
                space[key] = values
    if len(config.transforms) > 1:
        space["transform"] = [e.label for e in config.transforms]
    return space


def make_pruner(config: StudyConfig) -> optuna.pruners.BasePruner:
    """The pruner named in the study file; pruning steps are tracks."""
    p = config.pruner
    if p.name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=p.warmup_tracks)
    if p.name == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, p.warmup_tracks))
    return optuna.pruners.NopPruner()


def directions(config: StudyConfig, direction: str) -> list[str]:
    """One direction (shared) or one per target (per-target)."""
    return [direction] * (len(TARGETS) if config.mode == "per-target" else 1)


#: Study-file keys added after studies were stored, with their defaults: a stored study
#: without one was made under the default, so a file at the default resumes it.
ADDED_KEYS: dict[str, Any] = {"sampler.multivariate": SamplerSection().multivariate}
_NO_DEFAULT = object()


def _diff(stored: Any, current: Any, path: str = "") -> list[str]:
    if isinstance(stored, dict) and isinstance(current, dict):
        out: list[str] = []
        for key in sorted(set(stored) | set(current)):
            sub = f"{path}.{key}" if path else key
            if key not in stored:
                if ADDED_KEYS.get(sub, _NO_DEFAULT) != current[key]:
                    out.append(f"{sub} (new)")
            elif key not in current:
                out.append(f"{sub} (removed)")
            else:
                out.extend(_diff(stored[key], current[key], sub))
        return out
    return [] if stored == current else [f"{path}: stored {stored!r}, file {current!r}"]


def _wait_for_config(study: optuna.Study, patience_s: float = 15.0) -> Any:
    """The stored canonical study file, waiting briefly if another driver is creating the study.

    Optuna creates a study and its attributes in separate transactions, so a
    second driver started at the same moment can find the study before its
    attributes; a study with no trials and no config yet is such a study.
    """
    end = time.monotonic() + patience_s
    while True:
        stored = study.user_attrs.get(ATTR_CONFIG)
        if stored is not None or study.get_trials(deepcopy=False) or time.monotonic() > end:
            return stored
        time.sleep(0.2)


def find_study(config: StudyConfig, storage: optuna.storages.BaseStorage) -> optuna.Study | None:
    """The stored study of ``config``'s name, checked against the file; ``None`` if there is none.

    Writes nothing: a run validates everything (this, Ray, the dataset)
    before its first write, so a refused run leaves the stored study as it was.

    Raises
    ------
    StudyFileError
        A study of that name exists with a different study file (the
        differing keys are listed) or was not made by sliceq22.
    """
    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    if config.name not in {s.study_name for s in summaries}:
        return None
    study = optuna.load_study(
        study_name=config.name,
        storage=storage,
        sampler=make_sampler(config),
        pruner=make_pruner(config),
    )
    stored = _wait_for_config(study)
    if stored is None:
        raise StudyFileError(
            f"study {config.name!r} exists in this storage but was not made by sliceq22; "
            "choose another study.name"
        )
    differences = _diff(stored, config.canonical())
    if differences:
        shown = "; ".join(differences[:5]) + (" …" if len(differences) > 5 else "")
        raise StudyFileError(
            f"study {config.name!r} exists with a different study file: {shown}. "
            "Rename the study (study.name) to start a new one, or restore the file"
        )
    return study


def open_study(
    config: StudyConfig,
    storage: optuna.storages.BaseStorage,
    *,
    direction: str,
    budget: int | None = None,
) -> tuple[optuna.Study, bool]:
    """Create the study or load the existing one with the same name (storing ``budget``).

    Returns
    -------
    (study, created)

    Raises
    ------
    StudyFileError
        If a study of that name exists with a different study file (the
        differing keys are listed; nothing is written).
    """
    study = find_study(config, storage)
    if study is not None:
        if budget is not None:
            study.set_user_attr(ATTR_BUDGET, int(budget))
        return study, False
    try:
        study = optuna.create_study(
            study_name=config.name,
            storage=storage,
            sampler=make_sampler(config),
            pruner=make_pruner(config),
            # The objective's direction is "minimize" or "maximize" (optuna types it Literal).
            directions=cast("list[Literal['minimize', 'maximize']]", directions(config, direction)),
        )
    except optuna.exceptions.DuplicatedStudyError:  # another driver created it first
        return open_study(config, storage, direction=direction, budget=budget)
    study.set_user_attr(ATTR_CONFIG, config.canonical())
    study.set_user_attr(ATTR_FILE, config.source_text)
    study.set_user_attr(ATTR_BUDGET, int(budget or config.trials))
    study.set_user_attr(ATTR_VERSIONS, package_versions())
    study.set_user_attr(ATTR_MODE, config.mode)
    study.set_user_attr("sliceq22.description", config.description)
    study.set_user_attr("sliceq22.objective", config.objective.as_dict())
    study.set_user_attr("sliceq22.created", time.time())
    names = (
        list(TARGETS)
        if config.mode == "per-target"
        else [f"{config.aggregate} {config.objective.name} (mean over targets)"]
    )
    with warnings.catch_warnings():
        # experimental since Optuna 3.2 and unchanged since; the names are only labels
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(names)
    return study, True


def load_existing(
    name: str, storage: optuna.storages.BaseStorage
) -> tuple[optuna.Study, StudyConfig]:
    """Load a sliceq22 study by name with the study file it was created from.

    Raises
    ------
    StorageError
        If no study of that name exists (the known names are listed).
    """
    names = sorted(
        s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)
    )
    if name not in names:
        known = ", ".join(names) if names else "none"
        raise StorageError(f"no study named {name!r} in this storage (studies: {known})")
    study = optuna.load_study(study_name=name, storage=storage)
    text = study.user_attrs.get(ATTR_FILE)
    if text is None:
        raise StorageError(f"study {name!r} was not made by sliceq22 (no study file stored)")
    config = parse_study_text(text, f"stored study file of {name!r}")
    study.sampler = make_sampler(config)
    study.pruner = make_pruner(config)
    return study, config


def budget_of(study: optuna.Study, config: StudyConfig) -> int:
    """The study's trial budget: stored by the last run, else the study file's."""
    return int(study.user_attrs.get(ATTR_BUDGET, config.trials))


def budget_usage(study: optuna.Study) -> tuple[int, int]:
    """``(finished, running)``: trials counting against the budget, and RUNNING trials (any
    driver's)."""
    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    finished = running = 0
    for t in study.get_trials(deepcopy=False, states=states):
        if t.state == TrialState.RUNNING:
            running += 1
        elif not is_infeasible(t):
            finished += 1
    return finished, running


def finished_count(study: optuna.Study) -> int:
    """Trials that count against the budget: complete and pruned evaluations (not infeasible
    candidates)."""
    return budget_usage(study)[0]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned_reason(
    trial: optuna.trial.FrozenTrial, now: float | None = None, stale_after_s: float = STALE_AFTER_S
) -> str | None:
    """Why a RUNNING trial is taken as abandoned, or ``None`` if its driver looks alive.

    Its driver is gone when it ran on this host and its process no longer
    exists, or, from any host, when its heartbeat (or, before the first one,
    its start) is older than ``stale_after_s``.
    """
    now = time.time() if now is None else now
    attrs = trial_attrs(trial)
    host, pid = attrs.get("driver_host"), attrs.get("driver_pid")
    if host == socket.gethostname() and isinstance(pid, int) and pid != os.getpid():
        if not _pid_alive(pid):
            return f"abandoned: its driver (pid {pid} on {host}) stopped while the trial ran"
    beat = attrs.get("heartbeat")
    if beat is None:
        beat = trial.datetime_start.timestamp() if trial.datetime_start else now
    silent = now - float(beat)
    if silent > stale_after_s:
        where = host or "an unknown host"
        return f"abandoned: no heartbeat from its driver on {where} for {silent:.0f} s"
    return None


def requeue(study: optuna.Study, trial: optuna.trial.FrozenTrial, retries: int) -> bool:
    """Enqueue a failed trial's parameters again, unless it used up its retries."""
    attempt = int(trial.user_attrs.get(ATTEMPT, 0)) + 1
    if attempt > retries:
        return False
    attrs = {ATTEMPT: attempt, RETRY_OF: trial.number}
    if REFERENCE in trial.user_attrs:
        attrs[REFERENCE] = trial.user_attrs[REFERENCE]
    study.enqueue_trial(dict(trial.params), user_attrs=attrs)
    return True


def recover_abandoned(
    study: optuna.Study,
    retries: int,
    *,
    own: set[int] | None = None,
    stale_after_s: float = STALE_AFTER_S,
    locked: bool = False,
) -> list[int]:
    """Fail the RUNNING trials of stopped drivers and re-enqueue their parameters.

    Parameters
    ----------
    own : set of int, optional
        Numbers of the caller's own running trials, never taken as abandoned.
    stale_after_s : float
        Heartbeat age after which another host's trial is taken as abandoned.
    locked : bool
        The caller holds the study's budget lock, under which drivers ask and
        store their candidate: a RUNNING trial with no stored candidate then
        belongs to a driver that died between the two, and is abandoned now.

    Returns
    -------
    list of int
        The numbers of the trials failed.
    """
    recovered = []
    reason: str | None
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if own and trial.number in own:
            continue
        if locked and CANDIDATE not in trial.user_attrs:
            reason = "abandoned: its driver stopped before the candidate was drawn"
        else:
            reason = abandoned_reason(trial, stale_after_s=stale_after_s)
        if reason is None:
            continue
        try:
            optuna_compat.fail_quietly(study, trial, reason)
        except (RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
            continue  # another driver finished or failed it meanwhile
        if CANDIDATE in trial.user_attrs:
            # A trial killed between ``ask`` and the end of its drawing holds only
            # part of a candidate; nothing of it ran, so the sampler draws anew.
            requeue(study, trial, retries)
        recovered.append(trial.number)
    return recovered


def as_stored(value: Any) -> Any:
    """``value`` as the storage gives it back: round-tripped through JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def set_json_attr(study: optuna.Study, key: str, value: Any) -> None:
    """Store a JSON-ready value as a study attribute."""
    study.set_user_attr(key, as_stored(value))
