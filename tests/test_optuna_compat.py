"""What sliceq22 relies on beyond Optuna's public API: these fail when an Optuna release
changes one of them (see ``sliceq22/search/optuna_compat.py`` for each reason)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

from sliceq22.search import optuna_compat
from sliceq22.search.resilient import PatientStorage


def _study(storage: object = None, sampler: object = None) -> optuna.Study:
    return optuna.create_study(
        storage=storage or optuna.storages.InMemoryStorage(), sampler=sampler
    )


def test_the_installed_optuna_is_the_tested_major_and_pyproject_bounds_it() -> None:
    assert int(optuna.__version__.split(".")[0]) == optuna_compat.TESTED_MAJOR
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    (spec,) = [d for d in project["project"]["dependencies"] if d.startswith("optuna>")]
    assert f"<{optuna_compat.TESTED_MAJOR + 1}" in spec


def test_storage_and_trial_id_reach_the_trial_in_the_storage() -> None:
    storage = optuna.storages.InMemoryStorage()
    study = _study(storage)
    trial = study.ask()
    assert optuna_compat.storage_of(study) is storage
    frozen = storage.get_trial(optuna_compat.trial_id(trial))
    assert frozen.number == trial.number and frozen.state == TrialState.RUNNING
    assert optuna_compat.trial_id(frozen) == optuna_compat.trial_id(trial)


def test_attributes_of_a_frozen_running_trial_can_be_set_and_finished_ones_refuse() -> None:
    study = _study()
    study.ask()
    (frozen,) = study.get_trials()  # what a driver sees of another driver's trial
    optuna_compat.set_user_attr(study, frozen, "note", "x")
    optuna_compat.set_system_attr(study, frozen, "beat", 1.5)
    again = optuna_compat.reread(study, frozen)
    assert again.user_attrs["note"] == "x" and again.system_attrs["beat"] == 1.5
    optuna_compat.fail_quietly(study, frozen, "abandoned")
    failed = optuna_compat.reread(study, frozen)
    assert failed.state == TrialState.FAIL and failed.user_attrs["failure"] == "abandoned"
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        optuna_compat.fail_quietly(study, frozen, "twice")


def test_tell_outside_optimize_survives_the_grid_samplers_stop() -> None:
    study = _study(sampler=optuna.samplers.GridSampler({"x": [1, 2]}, seed=0))
    first, second = study.ask(), study.ask()
    first.suggest_categorical("x", [1, 2])
    second.suggest_categorical("x", [1, 2])
    told, exhausted = optuna_compat.tell(study, first, 1.0)
    assert told is not None and told.state == TrialState.COMPLETE and not exhausted
    # Optuna's GridSampler calls Study.stop once every point is taken: it raises outside
    # optimize (the text the compat layer matches), after the trial is stored
    with pytest.raises(RuntimeError, match=optuna_compat.STOP_OUTSIDE_OPTIMIZE):
        study.stop()
    told, exhausted = optuna_compat.tell(study, second, 2.0)
    assert exhausted and told is not None and told.value == 2.0
    assert optuna.samplers.GridSampler({"x": [1, 2]}).is_exhausted(study)
    # a finished trial: told nothing, no error
    assert optuna_compat.tell(study, second, 3.0) == (None, False)


def test_engine_of_finds_the_engine_under_optunas_cached_storage(tmp_path: Path) -> None:
    storage = optuna.storages.get_storage(f"sqlite:///{tmp_path / 'x.db'}")
    assert not isinstance(storage, optuna.storages.RDBStorage)  # the private cache wraps it
    engine = optuna_compat.engine_of(storage)
    assert isinstance(engine, sqlalchemy.engine.Engine)
    assert optuna_compat.engine_of(PatientStorage(storage, label="x")) is engine
    assert optuna_compat.engine_of(optuna.storages.InMemoryStorage()) is None


def test_the_patient_storage_wraps_every_operation_optuna_defines() -> None:
    names = set(optuna_compat.storage_methods())
    assert set(optuna.storages.BaseStorage.__abstractmethods__) <= names
    assert "remove_session" in names  # missed by the hand-kept list this replaced
    rdb_public = {n for n in dir(optuna.storages.RDBStorage) if not n.startswith("_")} & set(
        dir(optuna.storages.BaseStorage)
    )
    assert {n for n in rdb_public if callable(getattr(optuna.storages.BaseStorage, n))} <= names
    for name in names:
        assert getattr(PatientStorage, name).__name__ == name
    # and it works as a storage: a study runs through it
    study = _study(PatientStorage(optuna.storages.InMemoryStorage(), label="memory"))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(study.trials) == 2
