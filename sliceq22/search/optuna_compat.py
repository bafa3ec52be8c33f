"""Every use of Optuna beyond its public API, in one place, each with its reason.

The driver needs a few things Optuna offers only to its own code: writing to a
trial that no :class:`optuna.Trial` object of this process holds (another
driver's abandoned trial), a heartbeat that is not a user attribute, the
SQLAlchemy engine under a cached RDB storage (the budget lock), and telling a
GridSampler study outside ``optimize``. ``tests/test_optuna_compat.py``
checks each of these against the installed Optuna, so an Optuna release that
changes one fails there, with the reason, not deep inside a study run.
``pyproject.toml`` bounds ``optuna`` to :data:`TESTED_MAJOR`.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, Trial, TrialState

from sliceq22.search.trialattrs import FAILURE

#: The Optuna major version these workarounds were written and tested against.
TESTED_MAJOR = 5

#: What Optuna's ``Study.stop`` raises outside ``optimize`` (GridSampler calls it from ``tell``).
STOP_OUTSIDE_OPTIMIZE = "Study.stop"


def storage_of(study: optuna.Study) -> BaseStorage:
    """The storage of ``study`` (Optuna has no public accessor for it)."""
    return study._storage


def trial_id(trial: Trial | FrozenTrial) -> int:
    """The storage's id of a trial (public only through the storage API)."""
    return trial._trial_id


def reread(study: optuna.Study, trial: Trial | FrozenTrial) -> FrozenTrial:
    """The trial as stored now (another driver may have finished it meanwhile)."""
    return storage_of(study).get_trial(trial_id(trial))


def set_user_attr(study: optuna.Study, trial: Trial | FrozenTrial, key: str, value: Any) -> None:
    """Set a user attribute of any of the study's running trials, ours or another driver's.

    ``Trial.set_user_attr`` needs a :class:`optuna.Trial` this process asked
    for; an abandoned trial of another driver is only a :class:`FrozenTrial`.

    Raises
    ------
    optuna.exceptions.UpdateFinishedTrialError
        The trial is finished.
    """
    storage_of(study).set_trial_user_attr(trial_id(trial), key, value)


def set_system_attr(study: optuna.Study, trial: Trial | FrozenTrial, key: str, value: Any) -> None:
    """Set a system attribute (Optuna deprecated the public setter; the heartbeat needs one).

    Raises
    ------
    optuna.exceptions.UpdateFinishedTrialError
        The trial is finished.
    """
    storage_of(study).set_trial_system_attr(trial_id(trial), key, value)


def fail_quietly(study: optuna.Study, trial: Trial | FrozenTrial, reason: str) -> None:
    """Store ``reason`` as ``failure`` and the state FAIL, without the sampler's ``after_trial``.

    For trials whose driver is gone or stopping: the sampler of this process
    never saw them (another driver's) or must not react now (a GridSampler
    would call ``Study.stop``).

    Raises
    ------
    optuna.exceptions.UpdateFinishedTrialError
        The trial was finished meanwhile.
    """
    storage = storage_of(study)
    storage.set_trial_user_attr(trial_id(trial), FAILURE, reason)
    storage.set_trial_state_values(trial_id(trial), state=TrialState.FAIL)


def tell(
    study: optuna.Study,
    trial: Trial | int,
    values: float | Sequence[float] | None = None,
    state: TrialState | None = None,
) -> tuple[FrozenTrial | None, bool]:
    """``study.tell`` outside ``optimize``: ``(the told trial, whether a grid is exhausted)``.

    The told trial is ``None`` when the trial was already finished (another
    driver took it for abandoned, and failed it); if that happens between
    this check and Optuna's own, ``skip_if_finished`` returns the stored trial
    (in another state than the one told) or the storage refuses the write.
    Optuna's GridSampler calls ``Study.stop`` from ``tell`` once every grid
    point is taken, which raises outside ``optimize``; the trial is stored by
    then (Optuna stores it first), so the exhausted grid is a reason to stop
    asking, not an error.
    """
    wanted = state if state is not None else TrialState.COMPLETE
    number = trial if isinstance(trial, int) else trial.number
    stored = (
        study.get_trials(deepcopy=False)[number] if isinstance(trial, int) else reread(study, trial)
    )
    if stored.state.is_finished():
        return None, False
    try:
        told = study.tell(trial, values, state=state, skip_if_finished=True)
    except optuna.exceptions.UpdateFinishedTrialError:
        return None, False
    except RuntimeError as exc:
        if STOP_OUTSIDE_OPTIMIZE not in str(exc):
            raise
        return study.get_trials(deepcopy=False)[number], True
    return (told if told.state == wanted else None), False


def engine_of(storage: Any) -> Any:
    """The SQLAlchemy engine under a (wrapped, cached) Optuna RDB storage, or ``None``.

    ``optuna.storages.get_storage`` wraps an RDBStorage in a private
    ``_CachedStorage`` whose ``_backend`` is the RDBStorage (with ``engine``).
    """
    for _ in range(3):
        engine = getattr(storage, "engine", None)
        if engine is not None:
            return engine
        storage = getattr(storage, "inner", None) or getattr(storage, "_backend", None)
        if storage is None:
            return None
    return None


def storage_methods() -> tuple[str, ...]:
    """Names of every public operation of :class:`optuna.storages.BaseStorage`.

    A wrapping storage (:class:`~sliceq22.search.resilient.PatientStorage`)
    delegates exactly these, so a method Optuna adds is delegated too.

    Examples
    --------
    >>> {"get_trial", "set_trial_state_values", "remove_session"} <= set(storage_methods())
    True
    """
    return tuple(
        name
        for name, member in inspect.getmembers(BaseStorage, inspect.isfunction)
        if not name.startswith("_")
    )
