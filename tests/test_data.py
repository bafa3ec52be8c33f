"""Data layer: DatasetSpec validation, the bundled example, MUSDB18(-HQ) and stem folders.

Trees are written from the example's clean middle (tests/datatrees.py); every
loaded array is compared sample by sample with what the files hold, and every
refusal's message is checked.
"""

from __future__ import annotations

import struct
from pathlib import Path

import musdb
import numpy as np
import pytest
import stempeg
from scipy.signal import resample_poly

from datatrees import (
    RATE,
    TARGETS,
    example_streams,
    excerpt,
    musdb_hq_track,
    stem_mp4,
    write,
)
from sliceq22.data import DatasetSpec, dataset_fingerprint, example_tracks, load_tracks
from sliceq22.data.audio import decode_stream
from sliceq22.data.stems_mp4 import stem_order
from sliceq22.errors import DatasetError, StudyFileError

VALID = "Actions - One Minute Smile"  # in musdb's validation list


def hq(root: Path, **kw) -> DatasetSpec:
    return DatasetSpec(source="musdb", root=str(root), is_wav=True, **kw)


# --------------------------------------------------------------------------- spec
@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"duration": -1}, "dataset.duration: -1 must be > 0"),
        ({"duraton": 2}, "dataset.duraton: unknown key (did you mean 'duration'?)"),
        (
            {"source": "musbd"},
            "dataset.source: 'musbd' is not one of example, musdb, folder, onair (did you mean "
            "'musdb'?)",
        ),
        (
            {"source": "musdb", "split": "valid", "subsets": ["train", "test"]},
            "dataset.split: 'valid' needs subsets = ['train']",
        ),
        (
            {"source": "musdb", "subsets": ["validation"]},
            "dataset.subsets: 'validation' is not a MUSDB18 subset",
        ),
        ({"source": "folder"}, "dataset.root: required for source 'folder'"),
        (
            {"source": "folder", "root": "x", "split": "train"},
            "dataset.split: only used by source 'musdb', not by 'folder'",
        ),
        ({"offset": -0.5, "duration": 1}, "dataset.offset: -0.5 must be >= 0"),
        ({"duration": "long"}, "dataset.duration: 'long' must be a number of seconds"),
        ({"max_tracks": 0}, "dataset.max_tracks: 0 must be >= 1"),
        ({"is_wav": "yes", "source": "musdb"}, "dataset.is_wav: 'yes' must be true or false"),
        (
            {"on_length_mismatch": "pad"},
            "dataset.on_length_mismatch: 'pad' is not one of refuse, truncate",
        ),
        (
            {"on_rate_mismatch": "convert"},
            "dataset.on_rate_mismatch: 'convert' is not one of refuse, resample",
        ),
        ({"tracks": ["a", "a"]}, "dataset.tracks: ['a', 'a'] names an entry twice"),
    ],
)
def test_spec_from_mapping_refusals_name_the_key(table, message):
    with pytest.raises(StudyFileError) as err:
        DatasetSpec.from_mapping(table)
    assert str(err.value).startswith(message), str(err.value)


def test_spec_roundtrip_and_split_implies_train():
    spec = DatasetSpec.from_mapping(
        {
            "source": "musdb",
            "root": "/data/musdb",
            "split": "valid",
            "is_wav": True,
            "duration": 5,
            "seed": 3,
        }
    )
    assert spec.subsets == ("train",) and spec.duration == 5.0
    assert DatasetSpec.from_mapping(spec.to_mapping()) == spec
    assert "trim" not in spec.to_mapping()  # an option musdb does not use
    # Every field, None included (a spec stored as JSON), reads back too.
    raw = {k: list(v) if isinstance(v, tuple) else v for k, v in spec.__dict__.items()}
    assert DatasetSpec.from_mapping(raw) == spec
    with pytest.raises(StudyFileError, match=r"^study\.data\.duration: 0 must be > 0"):
        DatasetSpec.from_mapping({"duration": 0}, where="study.data")
    with pytest.raises(DatasetError, match=r"dataset\.trim: only used by source 'example'"):
        DatasetSpec(source="folder", root="x", trim=False)


# ------------------------------------------------------------------------ example
def test_example_raw_shape_and_stream_order():
    raw = example_tracks(trim=False)[0]
    assert raw.length == 268288 and raw.channels == 2 and raw.rate == RATE and raw.offset == 0
    streams = example_streams()
    # Loaded targets are the file's streams 1-4 (checked against its stem metadata).
    for k, t in enumerate(TARGETS, start=1):
        assert np.array_equal(raw.targets[t], streams[k])
    assert np.array_equal(raw.recorded_mixture, streams[0])
    assert stem_order(stempeg.example_stem_path()) == (
        list(TARGETS),
        ["Drums", "Bass", "Other", "Vox"],
    )
    # The decoder path used for .stem.mp4 datasets gives the same samples as stempeg.
    path = stempeg.example_stem_path()
    assert np.array_equal(decode_stream(path, 2, 2), streams[2])


def _window_snr(track, start, stop, w=512):
    """SNR (dB) of the stem sum against the recorded mixture in w-sample windows."""
    mix = track.recorded_mixture.astype(np.float64)
    est = track.mixture("sum").astype(np.float64)
    out = []
    for i in range(start, stop - w + 1, w):
        p = np.sum(mix[:, i : i + w] ** 2)
        if p > 0:
            out.append(10 * np.log10(p / np.sum((mix[:, i : i + w] - est[:, i : i + w]) ** 2)))
    return np.array(out)


def _click(track, start, stop):
    return max(np.abs(np.diff(track.targets[t][:, start:stop], axis=-1)).max() for t in TARGETS)


def test_example_trim_removes_the_edge_bursts():
    raw = example_tracks(trim=False)[0]
    trimmed = example_tracks()[0]
    assert trimmed.length == 268288 - 2 * 4096 and trimmed.offset == 4096
    assert np.array_equal(trimmed.targets["vocals"], raw.targets["vocals"][:, 4096:-4096])
    # Priming: the raw file starts with exact zeros in all five streams.
    assert not np.any(example_streams()[:, :, :1984])
    edge = 4096
    for t in (raw, trimmed):
        n = t.length
        body = _window_snr(t, edge, n - edge)
        head, tail = _window_snr(t, 0, edge), _window_snr(t, n - edge, n)
        body_click = _click(t, edge, n - edge)
        if t is raw:
            # Bursts: the stem sum no longer resembles the mixture, and the edges
            # hold steps more than twice the largest in the music.
            assert head.min() < 0 and tail.min() < 0
            assert _click(t, 0, edge) > 2 * body_click and _click(t, n - edge, n) > 2 * body_click
        else:
            # Trimmed edges look like the rest of the excerpt.
            assert head.min() > body.min() - 1 and tail.min() > body.min() - 1
            assert _click(t, 0, edge) <= body_click and _click(t, n - edge, n) <= body_click


def test_example_excerpts_are_deterministic_and_exact():
    full = example_tracks()[0]
    a = example_tracks(duration=1.5, seed=7)[0]
    b = load_tracks(DatasetSpec(duration=1.5, seed=7))[0]
    assert a.offset == b.offset and np.array_equal(a.stacked(), b.stacked())
    assert a.length == int(1.5 * RATE)
    assert 4096 <= a.offset <= 4096 + full.length - a.length
    rel = a.offset - 4096
    assert np.array_equal(a.stacked(), full.stacked()[..., rel : rel + a.length])
    offsets = {example_tracks(duration=1.5, seed=s)[0].offset for s in range(6)}
    assert len(offsets) > 1  # the seed moves the excerpt
    fixed = example_tracks(duration=1.0, offset=2.0)[0]
    assert fixed.offset == 4096 + 2 * RATE
    assert dataset_fingerprint([a]) == dataset_fingerprint([b])
    assert dataset_fingerprint([a]) != dataset_fingerprint([fixed])
    fp = dataset_fingerprint([a])
    assert (
        fp["rate"] == RATE
        and fp["tracks"][0]["offset"] == a.offset
        and fp["tracks"][0]["samples"] == a.length
    )
    with pytest.raises(DatasetError, match=r"is 5\.90 s long, shorter than duration 7 s"):
        example_tracks(duration=7.0)


# -------------------------------------------------------------------- MUSDB18-HQ
def test_musdb_hq_tree_loads_exactly_with_split(tmp_path):
    written = {
        VALID: musdb_hq_track(tmp_path, VALID, excerpt(1.0, RATE)),
        "Zz - Other": musdb_hq_track(tmp_path, "Zz - Other", excerpt(1.0, 2 * RATE)),
        "Test - Song": musdb_hq_track(
            tmp_path, "Test - Song", excerpt(1.0, 3 * RATE), subset="test"
        ),
    }
    tracks = load_tracks(hq(tmp_path))
    assert [t.name for t in tracks] == [VALID, "Zz - Other", "Test - Song"]
    for t in tracks:
        for s in TARGETS:
            assert np.array_equal(t.targets[s], written[t.name][s]), (t.name, s)
        assert np.array_equal(t.recorded_mixture, written[t.name]["mixture"])
    assert [t.name for t in load_tracks(hq(tmp_path, split="valid"))] == [VALID]
    assert [t.name for t in load_tracks(hq(tmp_path, split="train"))] == ["Zz - Other"]
    assert [t.name for t in load_tracks(hq(tmp_path, subsets=("test",)))] == ["Test - Song"]
    ex = load_tracks(hq(tmp_path, tracks=("Zz - Other",), duration=0.5, offset=0.25))[0]
    start = int(0.25 * RATE)
    assert ex.offset == start
    assert np.array_equal(
        ex.targets["bass"], written["Zz - Other"]["bass"][:, start : start + RATE // 2]
    )
    with pytest.raises(
        DatasetError,
        match=r"dataset\.tracks: 'Zz - Othr' is not in .* \(did you mean 'Zz - Other'\?\)",
    ):
        load_tracks(hq(tmp_path, tracks=("Zz - Othr",)))


def test_musdb_roots_refused(tmp_path):
    with pytest.raises(DatasetError, match=r"/nowhere: dataset root does not exist$"):
        load_tracks(hq(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"empty: no train/ or test/ folder"):
        load_tracks(hq(tmp_path / "empty"))
    (tmp_path / "empty" / "train").mkdir()
    with pytest.raises(
        DatasetError, match=r"empty: no track folders \(MUSDB18-HQ, is_wav\) in subset train"
    ):
        load_tracks(hq(tmp_path / "empty"))
    with pytest.raises(DatasetError, match=r"empty/test: subset folder does not exist"):
        load_tracks(hq(tmp_path / "empty", subsets=("test",)))
    musdb_hq_track(tmp_path / "hq", "A - B", excerpt(0.2))
    with pytest.raises(DatasetError, match=r"it holds track folders: set is_wav = true"):
        load_tracks(DatasetSpec(source="musdb", root=str(tmp_path / "hq")))
    with pytest.raises(DatasetError, match=r"no track there is in musdb's list for this split"):
        load_tracks(hq(tmp_path / "hq", split="valid"))


def test_missing_stem_refused_where_musdb_drops_it(tmp_path):
    stems = excerpt(0.5)
    del stems["bass"]
    musdb_hq_track(tmp_path, "A - B", stems)
    # musdb itself lists the track without its bass ...
    assert "bass" not in musdb.DB(root=str(tmp_path), is_wav=True)[0].sources
    # ... the loader refuses, naming the folder and the file.
    with pytest.raises(DatasetError) as err:
        load_tracks(hq(tmp_path))
    assert (
        str(err.value)
        == f"{tmp_path / 'train' / 'A - B'}: missing stem bass.wav (musdb would drop it silently)"
    )


def test_mono_stem_duplicated_where_musdb_corrupts_it(tmp_path):
    stems = excerpt(0.5)
    stems["bass"] = stems["bass"][0]  # mono
    written = musdb_hq_track(tmp_path, "A - B", stems)
    corrupted = musdb.DB(root=str(tmp_path), is_wav=True)[0].sources["bass"].audio
    assert corrupted.shape == (int(0.5 * RATE) // 2, 2)  # musdb: half length, interleaved
    t = load_tracks(hq(tmp_path))[0]
    assert t.targets["bass"].shape == (2, int(0.5 * RATE))
    assert np.array_equal(t.targets["bass"][0], written["bass"][0])
    assert np.array_equal(t.targets["bass"][1], written["bass"][0])
    assert np.array_equal(t.targets["drums"], written["drums"])
    assert "bass.wav: mono, duplicated to both channels" in t.notes


def test_length_mismatch_refused_or_truncated(tmp_path):
    stems = excerpt(1.0)
    stems["vocals"] = stems["vocals"][:, : RATE - 100]
    written = musdb_hq_track(tmp_path, "A - B", stems)
    with pytest.raises(DatasetError) as err:
        load_tracks(hq(tmp_path))
    msg = str(err.value)
    assert msg.startswith(
        f"{tmp_path / 'train' / 'A - B'}: stems differ in length (drums.wav 44100, "
    )
    assert "vocals.wav 44000" in msg and msg.endswith(
        "set on_length_mismatch = 'truncate' to cut all to the shortest"
    )
    t = load_tracks(hq(tmp_path, on_length_mismatch="truncate"))[0]
    assert t.length == RATE - 100
    for s in TARGETS:
        assert np.array_equal(t.targets[s], written[s][:, : RATE - 100])
    assert any("truncated to the shortest, 44000" in n for n in t.notes)


def test_rate_mismatch_refused_or_resampled(tmp_path):
    stems = excerpt(1.0)
    original_bass = stems["bass"]
    # The bass delivered at 48 kHz: the same signal, resampled up.
    stems["bass"] = resample_poly(original_bass.astype(np.float64), 160, 147, axis=-1).astype(
        np.float32
    )
    musdb_hq_track(tmp_path, "A - B", stems, rates={"bass": 48000})
    with pytest.raises(DatasetError) as err:
        load_tracks(hq(tmp_path))
    assert str(err.value) == (
        f"{tmp_path / 'train' / 'A - B' / 'bass.wav'}: sample rate 48000 Hz differs from the "
        "dataset's 44100 Hz; set on_rate_mismatch = 'resample' to resample it"
    )
    t = load_tracks(hq(tmp_path, on_rate_mismatch="resample"))[0]
    assert t.rate == RATE and t.length == RATE
    # Back at 44.1 kHz the bass matches the original away from the filter's edge effects.
    mid = slice(2000, RATE - 2000)
    err_db = 10 * np.log10(
        np.sum(original_bass[:, mid] ** 2)
        / np.sum((original_bass[:, mid] - t.targets["bass"][:, mid]) ** 2)
    )
    assert err_db > 40
    assert "bass.wav: resampled 48000 -> 44100 Hz" in t.notes
    # Asking for 48 kHz resamples the other four instead.
    t48 = load_tracks(hq(tmp_path, rate=48000, on_rate_mismatch="resample"))[0]
    assert t48.rate == 48000 and t48.length == 48000
    assert np.array_equal(t48.targets["bass"], write(tmp_path / "x.wav", stems["bass"], 48000))


def test_three_channels_and_unreadable_files_refused(tmp_path):
    stems = excerpt(0.3)
    stems["other"] = np.concatenate([stems["other"], stems["other"][:1]])
    musdb_hq_track(tmp_path / "a", "A - B", stems)
    with pytest.raises(DatasetError) as err:
        load_tracks(hq(tmp_path / "a"))
    assert (
        str(err.value) == f"{tmp_path / 'a' / 'train' / 'A - B' / 'other.wav'}: 3 channels; "
        "only mono and stereo stems are supported"
    )
    musdb_hq_track(tmp_path / "b", "A - B", excerpt(0.3))
    (tmp_path / "b" / "train" / "A - B" / "drums.wav").write_bytes(b"RIFF not really a wav file")
    with pytest.raises(DatasetError) as err:
        load_tracks(hq(tmp_path / "b"))
    assert str(err.value).startswith(
        f"{tmp_path / 'b' / 'train' / 'A - B' / 'drums.wav'}: unreadable audio file ("
    )
    assert "\n" not in str(err.value)


def test_non_finite_samples_refused(tmp_path):
    stems = excerpt(0.3)
    stems["other"][0, 100] = np.nan
    musdb_hq_track(tmp_path, "A - B", stems)
    with pytest.raises(DatasetError, match=r"other\.wav: holds non-finite samples"):
        load_tracks(hq(tmp_path))


# ---------------------------------------------------------------- MUSDB18 (mp4)
def test_musdb_stem_mp4_decodes_exactly_and_checks_streams(tmp_path):
    written = stem_mp4(tmp_path / "train" / "A - B.stem.mp4", excerpt(0.5))
    t = load_tracks(DatasetSpec(source="musdb", root=str(tmp_path)))[0]
    assert t.name == "A - B" and t.length == int(0.5 * RATE)
    for s in TARGETS:
        assert np.array_equal(t.targets[s], written[s]), s
    assert np.array_equal(t.recorded_mixture, written["mixture"])
    assert "no stem metadata in the file; assumed MUSDB stream order" in t.notes
    # A mono stream is decoded with its own channel count, then duplicated.
    mono = excerpt(0.5)
    mono["bass"] = mono["bass"][1]
    written_mono = stem_mp4(tmp_path / "mono" / "train" / "E - F.stem.mp4", mono)
    tm = load_tracks(DatasetSpec(source="musdb", root=str(tmp_path / "mono")))[0]
    assert np.array_equal(tm.targets["bass"], np.repeat(written_mono["bass"], 2, axis=0))
    assert np.array_equal(tm.targets["vocals"], written_mono["vocals"])
    # A stem file with four streams is refused.
    path = tmp_path / "four" / "train" / "C - D.stem.mp4"
    stems = excerpt(0.2)
    path.parent.mkdir(parents=True)
    import subprocess

    ins = []
    for k, s in enumerate(("mixture", "drums", "bass", "other")):
        write(tmp_path / f"{s}.wav", stems[s], subtype="PCM_16")
        ins += ["-i", str(tmp_path / f"{s}.wav")]
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            *ins,
            "-map",
            "0",
            "-map",
            "1",
            "-map",
            "2",
            "-map",
            "3",
            "-c:a",
            "alac",
            str(path),
        ],
        check=True,
    )
    with pytest.raises(
        DatasetError, match=r"C - D\.stem\.mp4: 4 audio streams; a MUSDB18 stem file has 5"
    ):
        load_tracks(DatasetSpec(source="musdb", root=str(tmp_path / "four")))


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_stem_metadata_order_is_read_and_checked(tmp_path):
    def file_with(names):
        stem = (
            '{"version": 1, "stems": [' + ", ".join(f'{{"name": "{n}"}}' for n in names) + "]}"
        ).encode()
        path = tmp_path / f"{'_'.join(names)}.stem.mp4"
        path.write_bytes(
            _box(b"ftyp", b"M4A \0\0\0\0")
            + _box(b"moov", _box(b"mvhd", b"\0" * 8) + _box(b"udta", _box(b"stem", stem)))
        )
        return path

    assert stem_order(file_with(["Vox", "Drums", "Bass", "Other"]))[0] == [
        "vocals",
        "drums",
        "bass",
        "other",
    ]
    with pytest.raises(
        DatasetError, match=r"stem metadata names the streams \['Drums', 'Bass', 'Synth', 'Vox'\]"
    ):
        stem_order(file_with(["Drums", "Bass", "Synth", "Vox"]))


# ------------------------------------------------------------------------- folder
def test_folder_source_flac_optional_mixture_and_silent_target(tmp_path):
    a = excerpt(0.5)
    written_a = {
        s: write(tmp_path / "song a" / f"{s}.flac", a[s], subtype="PCM_24") for s in TARGETS
    }
    b = excerpt(0.5, 2 * RATE)
    b["vocals"] = np.zeros_like(b["vocals"])
    written_b = {s: write(tmp_path / "song b" / f"{s}.wav", b[s]) for s in ("mixture", *TARGETS)}
    (tmp_path / "artwork").mkdir()
    (tmp_path / "artwork" / "cover.txt").write_text("not a track")
    tracks = load_tracks(DatasetSpec(source="folder", root=str(tmp_path)))
    assert [t.name for t in tracks] == ["song a", "song b"]
    ta, tb = tracks
    for s in TARGETS:
        assert np.array_equal(ta.targets[s], written_a[s])
        assert np.array_equal(tb.targets[s], written_b[s])
    assert ta.recorded_mixture is None and np.array_equal(tb.recorded_mixture, written_b["mixture"])
    assert tb.silent_targets() == ["vocals"]
    assert "vocals: all-silent in this excerpt (excluded from its aggregates)" in tb.notes
    assert np.isfinite(tb.mixture("sum")).all()
    assert dataset_fingerprint(tracks)["count"] == 2
    (tmp_path / "song a" / "bass.flac").unlink()
    with pytest.raises(DatasetError) as err:
        load_tracks(DatasetSpec(source="folder", root=str(tmp_path)))
    assert (
        str(err.value) == f"{tmp_path / 'song a'}: missing stem bass (expected bass.wav or .flac)"
    )


def test_folder_root_refusals(tmp_path):
    with pytest.raises(DatasetError, match=r"missing: dataset root does not exist$"):
        load_tracks(DatasetSpec(source="folder", root=str(tmp_path / "missing")))
    musdb_hq_track(tmp_path, "A - B", excerpt(0.1))
    with pytest.raises(
        DatasetError,
        match=r"no track folder .*looks like a MUSDB18-HQ tree: use source 'musdb' with is_wav = "
        r"true",
    ):
        load_tracks(DatasetSpec(source="folder", root=str(tmp_path)))
