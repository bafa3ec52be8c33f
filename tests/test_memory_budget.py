"""The shipped MUSDB18-HQ studies' memory budget admits every candidate of their spaces.

``constraints.max_memory_mb`` is a per-worker budget checked before any audio
(:func:`~sliceq22.search.constraints.estimate_memory_mb`); with streamed
evaluation no candidate of the shipped spaces needs more than it, even on a
10-minute 16-bit track (longer than any MUSDB18 track). Candidates are drawn by
Optuna's random sampler from the real study files, plus the corners of every
numeric range.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from sliceq22.search.config import load_study_file
from sliceq22.search.constraints import check_candidate, estimate_memory_mb
from sliceq22.search.space import sample_candidate
from sliceq22.transforms import make_transform

STUDIES = Path(__file__).resolve().parent.parent / "studies"
TEN_MINUTES = 600 * 44100
INT16_TRACK = 4 * 2 * TEN_MINUTES * 2  # four stereo targets held as int16


@pytest.mark.parametrize("name", ["musdb18hq-mpi-per-target", "musdb18hq-mpi-shared"])
def test_no_candidate_of_the_shipped_spaces_exceeds_the_memory_budget(name: str):
    config = load_study_file(STUDIES / f"{name}.toml")
    budget = config.constraints.max_memory_mb
    assert budget is not None and budget <= 4096  # a worker fits in a fraction of 24 GB
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
    estimates, scored = [], 0
    for _ in range(150):
        trial = study.ask()
        entry, params = sample_candidate(trial, config.transforms)
        reason = check_candidate(
            entry.family,
            params,
            config.constraints,
            rate=44100,
            length=TEN_MINUTES,
            channels=2,
            track_bytes=INT16_TRACK,
        )
        assert reason is None or "max_memory_mb" not in reason, (params, reason)
        study.tell(trial, 0.0)
        if reason is None:
            scored += 1
            estimates.append(
                estimate_memory_mb(
                    make_transform(entry.family, params),
                    length=TEN_MINUTES,
                    channels=2,
                    track_bytes=INT16_TRACK,
                )
            )
    assert scored >= 75  # the draw reached every family, not only refusals
    # the estimate is informative: it spans the space's range, and stays below budget
    assert max(estimates) <= budget and max(estimates) > 1.05 * min(estimates)


def test_the_estimate_grows_with_the_track_and_the_piece_size():
    stft = make_transform("stft", {"n_fft": 4096, "hop": 1024})
    four, ten = (estimate_memory_mb(stft, length=m * 60 * 44100, channels=2) for m in (4, 10))
    # the track is the part that grows: four float32 stereo targets
    assert ten - four == pytest.approx(6 * 60 * 44100 * 32 / 2**20, rel=0.01)
    small = stft.working_memory(TEN_MINUTES, 2, n_in=5, n_out=4, chunk_bytes=2**20)
    large = stft.working_memory(TEN_MINUTES, 2, n_in=5, n_out=4, chunk_bytes=64 * 2**20)
    assert large > 8 * small
