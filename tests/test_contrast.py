"""The contrast objective: J_j = s_j + λ·c_j around a base objective."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from sliceq22 import TARGETS
from sliceq22.data import example_tracks
from sliceq22.data.track import Track
from sliceq22.errors import ParameterError, StudyFileError
from sliceq22.oracles import OBJECTIVES, get_objective
from sliceq22.oracles.contrast import contrast_scores
from sliceq22.search.config import parse_study_text
from sliceq22.transforms import make_transform

REGION = {"fmin": 40.0, "fmax": 16000.0}


@pytest.fixture(scope="module")
def track() -> Track:
    (example,) = example_tracks(duration=3.0)
    return example


def test_contrast_arithmetic_for_a_minimised_base():
    # renyi-like: lower is better, so s = -value
    values = {"drums": 6.0, "bass": 8.0, "other": 9.0, "vocals": 7.0}
    guarded, contrast = contrast_scores(values, "minimize", 0.5)
    # vocals: s = -7, others -6, -8, -9 -> mean -23/3; c = -7 + 23/3 = 2/3
    assert contrast["vocals"] == pytest.approx(2.0 / 3.0)
    assert guarded["vocals"] == pytest.approx(-7.0 + 0.5 * 2.0 / 3.0)
    assert contrast["drums"] == pytest.approx(-6.0 + 24.0 / 3.0)
    assert sum(contrast.values()) == pytest.approx(0.0)  # contrasts of all targets cancel


def test_excluded_targets_leave_the_means():
    values = {"drums": 1.0, "bass": 3.0, "other": math.nan, "vocals": 5.0}
    guarded, contrast = contrast_scores(values, "maximize", 1.0)
    assert math.isnan(guarded["other"]) and math.isnan(contrast["other"])
    assert contrast["vocals"] == pytest.approx(5.0 - 2.0)
    lonely, _ = contrast_scores({"drums": 2.0}, "maximize", 1.0)
    assert lonely["drums"] == 2.0  # no sounding other: J = s


def test_contrast_alone_rewards_making_the_others_worse():
    # The documented hazard: the vocal contrast grows when only the other targets get
    # worse; the guarded score grows by λ times as much, never more.
    before = {"drums": 0.8, "bass": 0.8, "other": 0.8, "vocals": 0.8}
    after = {"drums": 0.5, "bass": 0.5, "other": 0.5, "vocals": 0.8}
    (j0, c0), (j1, c1) = (contrast_scores(v, "maximize", 0.25) for v in (before, after))
    assert c1["vocals"] - c0["vocals"] == pytest.approx(0.3)
    assert j1["vocals"] - j0["vocals"] == pytest.approx(0.25 * 0.3)


def test_contrast_track_scores_follow_the_base_objective(track):
    transform = make_transform("stft", {"n_fft": 4096, "hop": 1024})
    base = get_objective("hoyer", **REGION).evaluate_track(transform, track)
    objective = get_objective("contrast", base="hoyer", **{"lambda": 0.5}, **REGION)
    assert objective.direction == "maximize"
    result = objective.evaluate_track(transform, track)
    s = np.array([base.scores[t] for t in TARGETS])
    for j, target in enumerate(TARGETS):
        c = s[j] - np.mean(np.delete(s, j))
        assert result.scores[target] == pytest.approx(s[j] + 0.5 * c, rel=1e-12)
    assert result.diagnostics["base"] == "hoyer"
    assert result.diagnostics["base_scores"] == pytest.approx(base.scores)


def test_lambda_zero_is_the_oriented_base(track):
    transform = make_transform("stft", {"n_fft": 2048, "hop": 512})
    renyi = get_objective("renyi", **REGION).evaluate_track(transform, track)
    plain = get_objective("contrast", **{"lambda": 0}, **REGION).evaluate_track(transform, track)
    for target in TARGETS:
        assert plain.scores[target] == pytest.approx(-renyi.scores[target], rel=1e-12)


def test_description_round_trips_and_keeps_the_base_options():
    objective = get_objective("contrast", base="renyi", alpha=2, fmax=12000, **{"lambda": 2})
    described = objective.describe()
    assert described["name"] == "contrast" and described["direction"] == "maximize"
    assert described["options"]["alpha"] == 2.0 and described["options"]["base"] == "renyi"
    again = get_objective("contrast", **described["options"])
    assert again.options == objective.options
    assert objective.unit == "bits"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base": "contrast"}, "contrast: option base = 'contrast' would contrast itself"),
        ({"lambda": -1}, "contrast: option lambda = -1 must be a number ≥ 0"),
        ({"lambda": "much"}, "contrast: option lambda = 'much' is not a number"),
        ({"base": "psnr"}, "contrast: base objective: unknown objective 'psnr'"),
        ({"base": "renyi", "alpha": 0}, "contrast: base objective: renyi: option alpha = 0"),
        ({"base": "hoyer", "metric": "sdr-bss"}, "hoyer: unknown option(s) 'metric'"),
    ],
)
def test_bad_options_name_the_option(options, message):
    with pytest.raises(ParameterError) as info:
        get_objective("contrast", **options)
    assert message in str(info.value)


STUDY = """
[study]
name = "ridge"
mode = "{mode}"
trials = 2

[dataset]
source = "example"
duration = 1.0

[objective]
{objective}

[[transforms]]
family = "stft"
[transforms.space]
n_fft = {{ choices = [2048, 4096] }}
hop = {{ choices = [512] }}
"""


@pytest.mark.parametrize("mode", ["shared", "per-target"])
@pytest.mark.parametrize(
    ("objective", "direction"),
    [
        ('name = "renyi"\nalpha = 2\nfmax = 16000', "minimize"),
        ('name = "hoyer"\nfmin = 50', "maximize"),
        ('name = "tonal-ridge"\npeaks = 5\ncents = 20', "maximize"),
        ('name = "contrast"\nbase = "renyi"\nlambda = 0.5', "maximize"),
    ],
)
def test_study_files_select_ridge_objectives(mode, objective, direction):
    config = parse_study_text(STUDY.format(mode=mode, objective=objective))
    built = config.objective.build()
    assert built.direction == direction


def test_study_file_with_a_bad_option_names_it():
    text = STUDY.format(mode="shared", objective='name = "renyi"\nalpah = 2')
    with pytest.raises(StudyFileError, match="objective: renyi: unknown option.*'alpah'"):
        parse_study_text(text)


# ---------------------------------------------------------------------------- units
def test_every_registered_objective_declares_a_unit():
    for name in OBJECTIVES:
        unit = get_objective(name).unit
        assert isinstance(unit, str) and unit.strip(), name
    # The contrast's J = s + λ·c is in its base's unit.
    assert get_objective("contrast", base="mpi").unit == "dB"
    assert get_objective("contrast", base="hoyer").unit == "ratio"
    text = STUDY.format(mode="shared", objective='name = "contrast"\nbase = "mpi"')
    assert parse_study_text(text).objective.unit == "dB"  # the report's and table's


def test_contrast_unit_is_printed_with_its_scores():
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    args = ["--dataset", "example", "--duration", "2", "--offset", "1", "--objective", "contrast"]
    args += ["--option", "base=mpi", "--transform", "stft", "--param", "n_fft=2048"]
    done = subprocess.run(
        [sys.executable, "-m", "sliceq22", "evaluate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("mean over targets")]
    assert re.match(r"mean over targets: -?[\d.]+ dB ", line), line
