"""``sliceq22 evaluate`` end to end, through the installed console script."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sliceq22 import TARGETS

SCRIPT = Path(sys.executable).with_name("sliceq22")
STFT = ["--transform", "stft", "--param", "n_fft=4096", "--param", "hop=1024"]


def evaluate(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    command = [str(SCRIPT), "evaluate", *args]
    if not SCRIPT.exists():  # not installed as a script: the module is the same command
        command = [sys.executable, "-m", "sliceq22", "evaluate", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@pytest.fixture(scope="module")
def as_json() -> dict:
    done = evaluate("--dataset", "example", *STFT, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_json_has_scores_per_target_and_track_details(as_json: dict):
    assert list(as_json["scores"]) == list(TARGETS)
    assert all(math.isfinite(v) for v in as_json["scores"].values())
    (track,) = as_json["tracks"]
    assert track["track"] and track["excluded"] == []
    # One track: the aggregate over tracks is that track's score.
    assert track["scores"] == as_json["scores"]
    assert set(track["timing"]) >= {"forward", "inverse", "metric"}
    assert as_json["objective"] == {
        "name": "mpi",
        "direction": "maximize",
        "options": {
            "metric": "sdr-global",
            "mixture": "sum",
            "view": "plain",
            "deoverlap": "mixture",
        },
    }
    assert as_json["transform"]["params"] == {
        "n_fft": 4096,
        "hop": 1024,
        "window": "hann",
        "precision": "single",
    }
    assert as_json["mean_over_targets"] == pytest.approx(np.mean(list(as_json["scores"].values())))


def test_json_scores_match_an_in_process_evaluation(as_json: dict):
    from sliceq22.data import DatasetSpec, load_tracks
    from sliceq22.oracles import aggregate_results, evaluate_candidate, get_objective
    from sliceq22.transforms import make_transform

    tracks = load_tracks(DatasetSpec(source="example"))
    results = evaluate_candidate(
        make_transform("stft", {"n_fft": 4096, "hop": 1024}), tracks, get_objective("mpi")
    )
    expected = aggregate_results(results)
    for target in TARGETS:
        assert as_json["scores"][target] == pytest.approx(expected[target], abs=1e-9)


def test_table_lists_each_target_and_the_aggregate(as_json: dict):
    done = evaluate(*STFT)  # --dataset example is the default
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("track"))
    assert header.split()[1:5] == list(TARGETS)
    aggregate_row = next(line for line in lines if line.startswith("median over tracks"))
    printed = [float(v) for v in aggregate_row.split()[3:7]]
    assert printed == pytest.approx([as_json["scores"][t] for t in TARGETS], abs=0.006)
    assert "forward" in done.stdout and "mean over targets" in done.stdout
    assert done.stderr == ""


def test_options_reach_the_objective_and_the_excerpt():
    done = evaluate(
        *STFT,
        "--metric",
        "sdr-bss",
        "--mixture",
        "recorded",
        "--duration",
        "3",
        "--offset",
        "1",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["objective"]["options"] == {
        "metric": "sdr-bss",
        "mixture": "recorded",
        "view": "plain",
        "deoverlap": "mixture",
    }
    (track,) = document["tracks"]
    assert track["diagnostics"]["samples"] == 3 * 44100
    # sdr-bss: three one-second frames, the score is their median.
    frames = track["diagnostics"]["frames"]["vocals"]
    assert len(frames) == 3
    assert document["scores"]["vocals"] == pytest.approx(float(np.median(frames)))


@pytest.fixture(scope="module")
def stem_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 2-second tracks of coloured noise as WAV stems; the second has no vocals."""
    import soundfile

    root = tmp_path_factory.mktemp("stems")
    rng = np.random.default_rng(11)
    for name, silent in (("alpha", None), ("beta", "vocals")):
        folder = root / name
        folder.mkdir()
        for k, target in enumerate(TARGETS):
            # Each target its own band: a one-pole low-pass of white noise, shifted.
            noise = rng.standard_normal((2 * 44100, 2))
            audio = 0.1 * np.cumsum(noise, axis=0) / np.sqrt(np.arange(1, 2 * 44100 + 1))[:, None]
            audio = (
                audio * np.cos(2 * np.pi * (200 + 900 * k) / 44100 * np.arange(2 * 44100))[:, None]
            )
            if target == silent:
                audio[:] = 0.0
            soundfile.write(
                folder / f"{target}.wav", audio.astype(np.float32), 44100, subtype="FLOAT"
            )
    return root


def test_folder_dataset_with_a_silent_target(stem_folder: Path):
    done = evaluate("--dataset", "folder", "--root", str(stem_folder), *STFT, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    alpha, beta = document["tracks"]
    assert (alpha["track"], beta["track"]) == ("alpha", "beta")
    assert beta["excluded"] == ["vocals"] and beta["scores"]["vocals"] is None
    # The silent target is left out of the aggregate, not averaged in as noise.
    assert document["scores"]["vocals"] == pytest.approx(alpha["scores"]["vocals"])
    assert document["scores"]["bass"] == pytest.approx(
        (alpha["scores"]["bass"] + beta["scores"]["bass"]) / 2
    )
    table = evaluate("--dataset", "folder", "--root", str(stem_folder), *STFT)
    assert table.returncode == 0, table.stderr
    assert "excluded (silent in some tracks, not aggregated there): vocals" in table.stdout
    beta_row = next(line for line in table.stdout.splitlines() if line.startswith("beta"))
    assert beta_row.split()[4] == "—"


def assert_user_error(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert lines[0].startswith("sliceq22: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--transform", "wavelet"], ["unknown transform family 'wavelet'", "stft"]),
        (["--param", "nfft=4096"], ["unknown parameter 'nfft'", "'n_fft'"]),
        (["--param", "n_fft=big"], ["n_fft", "'big'"]),
        (["--param", "n_fft=4096", "--param", "hop=3000"], ["hop 3000"]),
        (["--param", "n_fft"], ["--param 'n_fft'", "NAME=VALUE"]),
        (["--param", "n_fft=1", "--param", "n_fft=2"], ["given twice"]),
        (
            ["--transform", "nsgcq", "--param", "minFrequency=6000", "--param", "maxFrequency=100"],
            ["minFrequency", "maxFrequency"],
        ),
        (["--objective", "ridge9"], ["unknown objective 'ridge9'", "mpi"]),
        (["--metric", "sdr-v3"], ["unknown metric 'sdr-v3'", "sdr-global, sdr-bss"]),
        (["--mixture", "mastered"], ["'mastered'", "sum, recorded"]),
        (["--aggregate", "mode"], ["'mode'", "median, mean"]),
        (["--dataset", "musdb", "--root", "/nonexistent/musdb"], ["/nonexistent/musdb"]),
        (["--dataset", "folder", "--root", "/nonexistent/stems"], ["/nonexistent/stems"]),
        (["--dataset", "folder"], ["root"]),
        (["--dataset", "radio"], ["'radio'"]),
        (["--duration", "-2"], ["duration"]),
        (["--duration", "abc"], ["--duration", "'abc'"]),
    ],
)
def test_user_errors_are_one_line(args: list[str], fragments: list[str]):
    assert_user_error(evaluate(*args), *fragments)


def test_unusable_setting_is_refused_with_its_reason():
    # Essentia's 'sine' normalisation loses perfect reconstruction.
    done = evaluate("--transform", "nsgcq", "--param", "normalize=sine")
    assert_user_error(done, "unusable", "reconstruction")
