"""A run ends on its own when nothing more can be scored: real Ray, real Optuna, real SQLite.

(The budget far beyond a finite space, repeated candidates and a target silent
in every track are run end to end by ``tests/test_bad_input.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import optuna
import pytest
import soundfile

from localray import start_local_ray
from sliceq22 import TARGETS
from sliceq22.errors import Sliceq22Error
from sliceq22.search.config import parse_study_text
from sliceq22.search.driver import MAX_FAILURE_STREAK, StudyDriver
from sliceq22.search.storage import open_storage

# A real Ray runtime and a whole study run to its failure streak (~30 s).
pytestmark = pytest.mark.slow

ray = pytest.importorskip("ray")
TESTS = Path(__file__).resolve().parent

STUDY = """
[study]
name = "fails"
mode = "per-target"
trials = 1000
retries = 0

[dataset]
source = "folder"
root = "{root}"

[objective]
name = "always-fails"

[sampler]
name = "random"
seed = 1

[[transforms]]
family = "stft"
[transforms.space]
n_fft = {{ choices = [1024, 2048] }}
hop = {{ low = 128, high = 512 }}
"""


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray runtime whose workers know the failing objective."""
    start_local_ray("failobjective", num_cpus=1)
    yield
    ray.shutdown()


def test_a_run_stops_after_failures_in_a_row(local_ray, tmp_path: Path) -> None:
    folder = tmp_path / "ds" / "t"
    folder.mkdir(parents=True)
    noise = np.random.default_rng(0).standard_normal((22050, 2)).astype(np.float32) * 0.1
    for name in ("mixture", *TARGETS):
        soundfile.write(folder / f"{name}.wav", noise, 44100, subtype="FLOAT")
    config = parse_study_text(STUDY.format(root=tmp_path / "ds"), "fails.toml")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    driver = StudyDriver(config, open_storage(url, create=True), workers=1, progress=False)
    with pytest.raises(
        Sliceq22Error,
        match=rf"{MAX_FAILURE_STREAK} trials in a row failed "
        r"\(last: RuntimeError: always-fails: fails on purpose on t\)",
    ):
        driver.run()
    trials = optuna.load_study(study_name="fails", storage=url).get_trials()
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    # Stopped at the streak (plus the one started ahead), none left running.
    assert MAX_FAILURE_STREAK <= len(failed) <= MAX_FAILURE_STREAK + 1
    assert {t.state for t in trials} == {optuna.trial.TrialState.FAIL}
