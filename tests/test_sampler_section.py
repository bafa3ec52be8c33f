"""``[sampler] multivariate``: TPE modelling the parameters jointly, checked, stored, resumable.

Studies stored before the key existed resume under a file that leaves it at
its default; a file that sets it differs from them.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from inprocess import study_config, study_text
from sliceq22.errors import StudyFileError
from sliceq22.search.config import parse_study_text
from sliceq22.search.study import ATTR_CONFIG, find_study, make_sampler, open_study


def _tpe(folder: Path, multivariate: str) -> str:
    text = study_text(folder)
    return text.replace('name = "random"', f'name = "tpe"\nmultivariate = {multivariate}')


def test_multivariate_builds_a_grouped_multivariate_tpe(tmp_path: Path) -> None:
    sampler = make_sampler(parse_study_text(_tpe(tmp_path, "true")))
    assert isinstance(sampler, optuna.samplers.TPESampler)
    # the conditional space needs group=True, or multivariate TPE samples independently
    assert sampler._multivariate and sampler._group  # noqa: SLF001 - what Optuna was given
    plain = make_sampler(parse_study_text(_tpe(tmp_path, "false")))
    assert not plain._multivariate  # noqa: SLF001
    assert parse_study_text(study_text(tmp_path)).sampler.multivariate is False  # the default


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('multivariate = "yes"', "sampler.multivariate: expected true or false, got 'yes'"),
        ("multivariate = 1", "sampler.multivariate: expected true or false, got 1"),
        ("multivariate = true", "only the tpe sampler models parameters jointly, not 'random'"),
    ],
)
def test_bad_multivariate_is_a_study_file_error(tmp_path: Path, text: str, says: str) -> None:
    bad = study_text(tmp_path).replace('name = "random"', f'name = "random"\n{text}')
    with pytest.raises(StudyFileError, match=says):
        parse_study_text(bad)


def test_a_study_stored_before_the_key_resumes_at_its_default(tmp_path: Path) -> None:
    storage = optuna.storages.InMemoryStorage()
    config = study_config(tmp_path)
    study, created = open_study(config, storage, direction="maximize")
    assert created
    older = {k: dict(v) if isinstance(v, dict) else v for k, v in config.canonical().items()}
    del older["sampler"]["multivariate"]  # as a study stored before the key was added
    study.set_user_attr(ATTR_CONFIG, older)
    assert find_study(config, storage) is not None  # the same file resumes it
    with pytest.raises(StudyFileError, match=r"sampler.multivariate \(new\)"):
        find_study(parse_study_text(_tpe(tmp_path, "true")), storage)
    study.set_user_attr(ATTR_CONFIG, config.canonical())  # stored with the key, at its default
    assert find_study(config, storage) is not None
