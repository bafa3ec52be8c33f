"""Tracks into Ray workers (object store or read from the dataset) and progress within a track.

Real Ray (a local runtime), real Optuna on SQLite, real transforms: the
objective (``tests/progressobjective.py``) streams an STFT's coefficients piece
by piece and yields a real ``Progress`` per piece; the Ray workers register it
through Ray's ``worker_process_setup_hook``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import optuna
import pytest
import soundfile as sf

import progressobjective
from localray import start_local_ray
from sliceq22 import TARGETS
from sliceq22.cli import main
from sliceq22.data import DatasetSpec, load_tracks
from sliceq22.errors import DatasetError
from sliceq22.search.config import parse_study_text
from sliceq22.search.driver import StudyDriver
from sliceq22.search.messages import Message, Started, TrackProgress, TrackScored
from sliceq22.search.shipping import TrackRecipe, ship_tracks
from sliceq22.search.storage import open_storage
from sliceq22.search.worker import PROGRESS_INTERVAL_S, remote_evaluate

# A real Ray runtime and whole studies through the CLI (~35 s).
pytestmark = pytest.mark.slow

ray = pytest.importorskip("ray")
TESTS = Path(__file__).resolve().parent
STFT = {"n_fft": 1024, "hop": 256}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray runtime whose workers know the test objective."""
    start_local_ray("progressobjective", num_cpus=2)
    yield
    ray.shutdown()


def _write_pcm16_tracks(root: Path, n: int, seconds: float) -> Path:
    """``n`` folder tracks of 16-bit WAV stems and mixture, cut from the example."""
    from datatrees import example_streams

    streams = example_streams()
    length = round(seconds * 44100)
    for i in range(n):
        folder = root / f"track{i}"
        folder.mkdir(parents=True)
        start = 8192 + i * 20000
        for k, name in enumerate(("mixture", *TARGETS)):
            sf.write(
                folder / f"{name}.wav",
                streams[k][:, start : start + length].T,
                44100,
                subtype="PCM_16",
            )
    return root


def _messages(handles: list, objective: dict) -> list[Message]:
    generator = remote_evaluate().remote("stft", STFT, 44100, handles, objective)
    return [ray.get(ref) for ref in generator]


def test_worker_forwards_throttled_progress_then_the_score(local_ray, tmp_path: Path) -> None:
    root = _write_pcm16_tracks(tmp_path, 1, 2.0)
    spec = DatasetSpec(source="folder", root=str(root))
    (track,) = load_tracks(spec)
    objective = {"name": progressobjective.NAME, "sleep": 0.02}
    t0 = time.monotonic()
    messages = _messages([ray.put(track.without_recorded_mixture())], objective)
    elapsed = time.monotonic() - t0
    kinds = [type(m) for m in messages]
    assert kinds[0] is Started and kinds[-1] is TrackScored and set(kinds[1:-1]) == {TrackProgress}
    progress = [m for m in messages if isinstance(m, TrackProgress)]
    fractions = [m.fraction for m in progress]
    assert all(m.track == "track0" for m in progress)
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] <= 1
    # ~175 pieces of >= 0.02 s each (>= 3.5 s of work), one Progress each: the worker
    # sends at most one message a second, so many pieces lie between two messages.
    assert 2 <= len(progress) <= elapsed / PROGRESS_INTERVAL_S + 1, (fractions, elapsed)
    piece = 2 * 256 / 88200  # a piece of 64 KiB holds two STFT frames of the 8 signals
    assert min(np.diff(fractions)) > 10 * piece, fractions
    # The score is the objective's own, computed in the worker.
    local = progressobjective.PieceProgressObjective(sleep=0.0)
    from sliceq22.transforms import make_transform

    expected = local.evaluate_track(make_transform("stft", STFT), track).scores
    assert messages[-1].scores == pytest.approx(expected, abs=1e-9)
    assert PROGRESS_INTERVAL_S == 1.0


def test_tracks_via_dataset_are_read_by_the_worker_and_checked(local_ray, tmp_path: Path) -> None:
    root = _write_pcm16_tracks(tmp_path, 2, 0.5)
    spec = DatasetSpec(source="folder", root=str(root))
    store = ship_tracks(spec, via="object-store", mixture="sum")
    files = ship_tracks(spec, via="dataset", mixture="sum")
    assert store.fingerprint == files.fingerprint
    tracks = load_tracks(spec)
    assert store.track_bytes == max(4 * 2 * 2 * t.length for t in tracks)
    assert store.longest == max(t.length for t in tracks) == store.length  # equal lengths
    # The object store holds int16 targets only: no recorded mixture for a "sum" objective.
    assert store.store_bytes == sum(4 * 2 * 2 * t.length for t in tracks)
    assert files.store_bytes == 0 and all(isinstance(h, TrackRecipe) for h in files.handles)
    with_mix = ship_tracks(spec, via="object-store", mixture="recorded")
    assert with_mix.store_bytes == sum(t.nbytes for t in tracks) == store.store_bytes * 5 // 4
    stored = ray.get(store.handles[0])
    assert stored.dtypes == {t: "int16" for t in TARGETS} and not stored.has_recorded_mixture
    assert not stored._audio["drums"].flags.writeable  # zero-copy from the store
    assert np.array_equal(stored.read_targets(-10, 100), tracks[0].read_targets(-10, 100))
    # The same scores either way.
    objective = {"name": progressobjective.NAME, "sleep": 0.0}
    by_store = [m for m in _messages(store.handles, objective) if isinstance(m, TrackScored)]
    by_files = [m for m in _messages(files.handles, objective) if isinstance(m, TrackScored)]
    assert [m.scores for m in by_store] == [m.scores for m in by_files]
    assert [m.track for m in by_files] == ["track0", "track1"]
    # A worker that reads other samples than the driver did refuses the track.
    audio, rate = sf.read(root / "track1" / "bass.wav", dtype="int16")
    sf.write(root / "track1" / "bass.wav", audio // 2, rate, subtype="PCM_16")
    with pytest.raises(ray.exceptions.RayTaskError, match="differs from what the driver read"):
        _messages(files.handles, objective)
    # Paths are absolute: the worker's working directory does not matter.
    recipe = files.handles[0]
    assert all(Path(p.path).is_absolute() for parts in recipe.plan.parts.values() for p in parts)
    with pytest.raises(DatasetError, match="--tracks-via 'disk' is not one of"):
        ship_tracks(spec, via="disk")


STUDY = """
[study]
name = "{name}"
mode = "per-target"
trials = 2

[dataset]
source = "folder"
root = "{root}"

[objective]
name = "piece-progress"
sleep = 0.02

[sampler]
name = "random"
seed = 1

[[transforms]]
family = "stft"
[transforms.space]
n_fft = {{ choices = [1024] }}
hop = {{ choices = [256, 512] }}
"""


@pytest.mark.parametrize("via", ["auto", "object-store"])
def test_study_bar_shows_progress_within_a_track_and_stores_none(
    local_ray, tmp_path: Path, capsys, via: str
) -> None:
    root = _write_pcm16_tracks(tmp_path / "data", 1, 2.0)
    config = parse_study_text(STUDY.format(name=f"progress-{via}", root=root), "study.toml")
    url = f"sqlite:///{tmp_path / 'study.db'}"
    driver = StudyDriver(
        config, open_storage(url, create=True), workers=1, progress=True, tracks_via=via
    )
    summary = driver.run()
    assert summary.completed_now == 2
    # On a local runtime, auto lets the worker read the files: nothing in the object store.
    assert driver.shipped.via == ("dataset" if via == "auto" else "object-store")
    assert driver.shipped.store_bytes == (0 if via == "auto" else 4 * 2 * 2 * 88200)
    err = capsys.readouterr().err
    shown = re.findall(r"#(\d+) 0/1 (\d+)%", err)
    assert shown and all(0 < int(p) <= 100 for _, p in shown), err[-2000:]
    # Progress is display only: the stored trials hold their usual facts and nothing else.
    study = optuna.load_study(study_name=config.name, storage=url)
    for trial in study.get_trials():
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert "progress" not in json.dumps(trial.user_attrs)


def test_evaluate_progress_goes_to_stderr_only(capsys) -> None:
    progressobjective.register()
    status = main(
        [
            "evaluate",
            "--dataset",
            "example",
            "--duration",
            "2",
            "--transform",
            "stft",
            "--param",
            "n_fft=1024",
            "--param",
            "hop=256",
            "--objective",
            "piece-progress",
            "--option",
            "sleep=0.005",
            "--progress",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0
    document = json.loads(out)  # stdout is one clean JSON document
    assert list(document["scores"]) == list(TARGETS)
    fractions = [int(p) for p in re.findall(r"track 1/1 (\d+)%", err)]
    assert fractions and max(fractions) >= 50 and fractions == sorted(fractions), err[-1000:]
    # Without --progress and without a terminal: no bar.
    main(
        [
            "evaluate",
            "--dataset",
            "example",
            "--duration",
            "2",
            "--transform",
            "stft",
            "--param",
            "n_fft=1024",
            "--param",
            "hop=256",
            "--objective",
            "piece-progress",
            "--option",
            "sleep=0",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert "track 1/1" not in err and json.loads(out)["scores"]
