"""Track storage: 16-bit sources kept as int16, read as soundfile's float32, bounded memory."""

from __future__ import annotations

import hashlib
import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from datatrees import RATE, excerpt
from sliceq22 import TARGETS
from sliceq22.data import DatasetSpec, load_tracks
from sliceq22.data.track import Track


def _write_pcm16_folder(
    root: Path, seconds: float, *, extremes: bool = True
) -> dict[str, np.ndarray]:
    """A folder track of 16-bit WAVs; returns soundfile's float32 read of each, ``(2, n)``."""
    folder = root / "song"
    folder.mkdir(parents=True)
    n = round(seconds * RATE)
    rng = np.random.default_rng(5)
    written = {}
    for k, name in enumerate((*TARGETS, "mixture")):
        pcm = rng.integers(-32768, 32768, size=(n, 2), dtype=np.int16)
        if extremes:  # full scale both ways, zero, and the smallest steps
            pcm[:6, 0] = [-32768, 32767, 0, 1, -1, -32767]
        if name == "vocals":
            pcm[:] = 0  # a silent target
        sf.write(folder / f"{name}.wav", pcm, RATE, subtype="PCM_16")
        back, _ = sf.read(folder / f"{name}.wav", dtype="float32", always_2d=True)
        written[name] = np.ascontiguousarray(back.T)
    return written


def _old_sha1(arrays: dict[str, np.ndarray]) -> str:
    """The fingerprint hash as studies stored it: sha1 of the float32 targets' bytes."""
    digest = hashlib.sha1()
    for t in TARGETS:
        digest.update(np.ascontiguousarray(arrays[t], np.float32).tobytes())
    return digest.hexdigest()[:16]


def test_pcm16_kept_as_int16_and_read_bit_exactly_as_soundfile(tmp_path: Path) -> None:
    written = _write_pcm16_folder(tmp_path, 0.5)
    (track,) = load_tracks(DatasetSpec(source="folder", root=str(tmp_path)))
    assert track.dtypes == {**{t: "int16" for t in TARGETS}, "mixture": "int16"}
    assert track.nbytes == 5 * 2 * 2 * track.length
    stacked = np.stack([written[t] for t in TARGETS])
    # Whole signals, through every accessor, equal soundfile's float32 read bit for bit.
    for t in TARGETS:
        got = track.targets[t]
        assert got.dtype == np.float32 and np.array_equal(got, written[t])
        assert np.array_equal(got.view(np.int32), written[t].view(np.int32))  # signs of zero too
    assert np.array_equal(track.stacked(), stacked)
    assert np.array_equal(track.recorded_mixture, written["mixture"])
    assert np.array_equal(track.mixture("recorded"), written["mixture"])
    summed = np.sum(stacked, axis=0, dtype=np.float64).astype(np.float32)
    assert np.array_equal(track.mixture("sum"), summed)
    # Stretches, with zeros outside the track.
    start, stop = -300, 1000
    part = track.read_targets(start, stop)
    assert part.dtype == np.float32 and part.shape == (4, 2, stop - start)
    assert not part[..., :300].any() and np.array_equal(part[..., 300:], stacked[..., :1000])
    tail = track.read_mixture("recorded", track.length - 10, track.length + 5)
    assert np.array_equal(tail[:, :10], written["mixture"][:, -10:]) and not tail[:, 10:].any()
    assert np.array_equal(track.read_mixture("sum", 100, 900), summed[:, 100:900])
    assert track.silent_targets() == ["vocals"]
    # The fingerprint is the float32 one: a study stored before int16 storage still matches.
    as_float = Track(
        "song", RATE, {t: written[t] for t in TARGETS}, written["mixture"], source="folder"
    )
    assert as_float.dtypes["drums"] == "float32"
    assert track.fingerprint() == as_float.fingerprint()
    assert track.fingerprint()["sha1"] == _old_sha1(written)


def test_float_sources_stay_float32(tmp_path: Path) -> None:
    folder = tmp_path / "song"
    stems = excerpt(0.3)
    folder.mkdir()
    for name, audio in stems.items():
        sf.write(folder / f"{name}.wav", audio.T, RATE, subtype="PCM_24")
    (track,) = load_tracks(DatasetSpec(source="folder", root=str(tmp_path)))
    assert set(track.dtypes.values()) == {"float32"}
    back, _ = sf.read(folder / "bass.wav", dtype="float32", always_2d=True)
    assert np.array_equal(track.targets["bass"], back.T)
    assert track.targets["bass"] is track.targets["bass"]  # float32 storage: no copy per access


def test_read_only_storage_and_pickling(tmp_path: Path) -> None:
    written = _write_pcm16_folder(tmp_path, 0.2)
    (track,) = load_tracks(DatasetSpec(source="folder", root=str(tmp_path)))
    # What a Ray worker sees: the arrays come back out of band and read-only.
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(track, protocol=5, buffer_callback=buffers.append)
    assert len(buffers) == 5  # the int16 arrays travel as raw buffers, not in the pickle
    frozen = pickle.loads(data, buffers=[memoryview(b.raw()).toreadonly() for b in buffers])
    assert not frozen._audio["drums"].flags.writeable
    assert np.array_equal(frozen.read_targets(-5, 50)[..., 5:], track.stacked()[..., :50])
    assert np.array_equal(frozen.read_mixture("recorded", 0, 40), written["mixture"][:, :40])
    assert np.array_equal(frozen.mixture("sum"), track.mixture("sum"))
    assert frozen.fingerprint() == track.fingerprint()
    # Dropping the recorded mixture shares the targets' memory.
    bare = track.without_recorded_mixture()
    assert bare.recorded_mixture is None and not bare.has_recorded_mixture
    assert np.shares_memory(bare._audio["bass"], track._audio["bass"])
    assert bare.fingerprint() == track.fingerprint()


def test_whole_track_operations_hold_no_float32_copy(tmp_path: Path) -> None:
    _write_pcm16_folder(tmp_path, 60.0, extremes=False)
    tracemalloc.start()
    try:
        (track,) = load_tracks(DatasetSpec(source="folder", root=str(tmp_path)))
        _, load_peak = tracemalloc.get_traced_memory()
        float_bytes = 4 * 2 * track.length * 4  # the four targets as float32
        assert track.nbytes == 5 * 2 * 2 * track.length
        # Loading 16-bit files: at most the int16 track plus a few blocks, no float copies.
        assert load_peak < 1.1 * track.nbytes, (load_peak, track.nbytes)
        for op in (track.silent_targets, track.fingerprint, lambda: track.read_targets(0, RATE)):
            tracemalloc.reset_peak()
            base, _ = tracemalloc.get_traced_memory()
            op()
            _, peak = tracemalloc.get_traced_memory()
            assert peak - base < float_bytes / 10, (op, peak - base, float_bytes)
    finally:
        tracemalloc.stop()


def test_bad_arguments_name_the_track() -> None:
    audio = np.zeros((2, 10), np.int16)
    with pytest.raises(Exception, match="missing target"):
        Track("x", RATE, {"drums": audio})
    track = Track("x", RATE, {t: audio for t in TARGETS})
    with pytest.raises(Exception, match="has no recorded mixture"):
        track.read_mixture("recorded", 0, 5)
    with pytest.raises(Exception, match="is not one of"):
        track.read_mixture("loud", 0, 5)
