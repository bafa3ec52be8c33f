"""OnAir Music Dataset: mapping raw stems to the four targets, robustness, conversion to MUSDB18-HQ.

Trees mimic the v4 layout (subset folders, ``"<Title> - OnAir Music"`` track
folders, free-named stems) with audio cut from the bundled example.
"""

from __future__ import annotations

import json
import logging

import musdb
import numpy as np
import pytest

from datatrees import RATE, TARGETS, excerpt, onair_track, split_signal
from sliceq22.cli import main
from sliceq22.data import DatasetSpec, describe_tracks, load_tracks
from sliceq22.data.onair import rule_target
from sliceq22.errors import DatasetError

MISC = "OnAir-Music-Dataset-v4-misc"
LOFI = "OnAir-Music-Dataset-v4-LoFi-Vol-3"


def summed(*parts: np.ndarray) -> np.ndarray:
    """Reference sum of written files: float64 accumulation, stored as float32."""
    return np.sum(np.stack(parts), axis=0, dtype=np.float64).astype(np.float32)


def onair(root, **kw) -> DatasetSpec:
    return DatasetSpec(source="onair", root=str(root), **kw)


@pytest.fixture
def tree(tmp_path):
    """Three tracks: one from the shipped table, one mapped by name rules
    (with a mono stem and a 48 kHz stem), one without a separate bass."""
    root = tmp_path / "onair"
    a = excerpt(0.5, RATE)
    hats, kick, snare = split_signal(a["drums"], 3, seed=1)
    lead, amb, pluck = split_signal(a["other"], 3, seed=2)
    set_me_free = onair_track(
        root,
        MISC,
        "Set Me Free",
        {
            "mix": a["mixture"],
            "Hats.wav": hats,
            "Kick.wav": kick,
            "Snare.wav": snare,
            "Bass.wav": a["bass"],
            "Vox.wav": a["vocals"],
            "Lead Fill.wav": lead,
            "Ambience, FX, Drones.wav": amb,
            "Pluck.wav": pluck,
        },
    )
    b = excerpt(0.5, 2 * RATE)
    drums, brushes = split_signal(b["drums"], 2, seed=3)
    from scipy.signal import resample_poly

    keys48 = resample_poly(b["other"].astype(np.float64), 160, 147, axis=-1).astype(np.float32)
    idea9 = onair_track(
        root,
        LOFI,
        "Night Drive",
        {
            "mix": b["mixture"],
            "Idea 9 Stems - Drums.wav": drums,
            "Idea 9 Stems - Brushes.wav": brushes,
            "Idea 9 Stems - 808.wav": b["bass"][0],  # mono
            "Idea 9 Stems - Vocal Chops.wav": b["vocals"],
            "Idea 9 Stems - Keys.wav": keys48,
        },
        rates={"Idea 9 Stems - Keys.wav": 48000},
    )
    c = excerpt(0.5, 3 * RATE)
    nobass = onair_track(
        root,
        LOFI,
        "No Low End",
        {
            "mix": c["mixture"],
            "Drums.wav": c["drums"],
            "Keys.wav": c["other"],
            "Vox.wav": c["vocals"],
        },
    )
    return root, {
        "set_me_free": set_me_free,
        "idea9": idea9,
        "nobass": nobass,
        "keys_original": b["other"],
    }


def test_rules_on_base_names():
    assert rule_target("Idea 2 Stems - Drums.wav") == ("drums", "drum")
    assert rule_target("Ronin ft. KXNE Stems - 808.wav") == ("bass", "808")
    assert rule_target("Bass Drum.wav") == ("drums", "drum")  # a kick, not the bass
    assert rule_target("Hi-Hat Open.wav") == ("drums", "hat")
    assert rule_target("Chat FX.wav") == ("other", "default")  # "hat" only as a word
    assert rule_target("Ronin ft. KXNE Stems - Acappella.wav") == ("vocals", "acappella")
    assert rule_target("Tambourine.wav") == ("drums", "tambo")
    assert rule_target("FX, Ambience, Drones.wav") == ("other", "default")
    # Only the stem's own label counts, not a title before " - ".
    assert rule_target("Drum Song Stems - Vox.wav") == ("vocals", "vox")


def test_table_mapping_sums_files_exactly(tree):
    root, w = tree
    t = load_tracks(onair(root, tracks=("Set Me Free - OnAir Music",)))[0]
    f = w["set_me_free"]
    assert np.array_equal(t.targets["drums"], summed(f["Hats.wav"], f["Kick.wav"], f["Snare.wav"]))
    assert np.array_equal(
        t.targets["other"],
        summed(f["Lead Fill.wav"], f["Ambience, FX, Drones.wav"], f["Pluck.wav"]),
    )
    assert np.array_equal(t.targets["bass"], f["Bass.wav"])
    assert np.array_equal(t.targets["vocals"], f["Vox.wav"])
    # The mastered mix is kept, and it is not the stem sum.
    assert np.array_equal(t.recorded_mixture, f["Set Me Free - OnAir Music.wav"])
    assert not np.allclose(t.recorded_mixture, t.mixture("sum"), atol=1e-3)
    assert "mapping: shipped table" in t.notes
    assert "drums = Hats.wav [table] + Kick.wav [table] + Snare.wav [table]" in t.notes
    assert t.source == "onair"


def test_name_rules_mono_and_48k_stems(tree):
    root, w = tree
    name = "Night Drive - OnAir Music"
    with pytest.raises(DatasetError) as err:
        load_tracks(onair(root, tracks=(name,)))
    assert str(err.value) == (
        f"{root / LOFI / name / 'Idea 9 Stems - Keys.wav'}: sample rate 48000 Hz differs from the "
        "dataset's 44100 Hz; set on_rate_mismatch = 'resample' to resample it"
    )
    t = load_tracks(onair(root, tracks=(name,), on_rate_mismatch="resample"))[0]
    f = w["idea9"]
    assert t.rate == RATE and t.length == RATE // 2
    assert np.array_equal(
        t.targets["drums"], summed(f["Idea 9 Stems - Drums.wav"], f["Idea 9 Stems - Brushes.wav"])
    )
    assert np.array_equal(t.targets["bass"], np.repeat(f["Idea 9 Stems - 808.wav"], 2, axis=0))
    assert np.array_equal(t.targets["vocals"], f["Idea 9 Stems - Vocal Chops.wav"])
    orig, got = w["keys_original"], t.targets["other"]
    mid = slice(2000, RATE // 2 - 2000)
    snr = 10 * np.log10(np.sum(orig[:, mid] ** 2) / np.sum((orig[:, mid] - got[:, mid]) ** 2))
    assert snr > 40
    assert "mapping: name rules (track not in the mapping table)" in t.notes
    assert "bass = Idea 9 Stems - 808.wav [rule '808']" in t.notes
    assert (
        "drums = Idea 9 Stems - Brushes.wav [rule 'brush'] + Idea 9 Stems - Drums.wav [rule 'drum']"
        in t.notes
    )
    assert "mixture = Night Drive - OnAir Music.wav [rule 'mastered mix']" in t.notes
    assert "Idea 9 Stems - 808.wav: mono, duplicated to both channels" in t.notes


def test_track_without_bass_skipped_unless_included(tree, caplog):
    root, w = tree
    with caplog.at_level(logging.WARNING, logger="sliceq22.data"):
        tracks = load_tracks(onair(root, on_rate_mismatch="resample"))
    # Subset folders in name order (LoFi-Vol-3 before misc), then tracks by name.
    assert [t.name for t in tracks] == ["Night Drive - OnAir Music", "Set Me Free - OnAir Music"]
    assert "skipping track 'No Low End - OnAir Music': no separate bass stem" in caplog.text
    name = "No Low End - OnAir Music"
    with pytest.raises(DatasetError) as err:
        load_tracks(onair(root, tracks=(name,)))
    assert str(err.value) == (
        f"track {name!r}: no separate bass stem; set include_incomplete = true to load it with the "
        "missing target silent"
    )
    t = load_tracks(onair(root, tracks=(name,), include_incomplete=True))[0]
    assert t.silent_targets() == ["bass"]
    assert np.array_equal(t.targets["drums"], w["nobass"]["Drums.wav"])
    assert "bass: no stem delivered, silent" in t.notes
    rows = {r["name"]: r for r in describe_tracks(onair(root))}
    assert rows[name]["status"] == "skipped"
    assert rows["Night Drive - OnAir Music"]["status"] == "refused"  # 48 kHz stem, refuse policy
    assert rows["Set Me Free - OnAir Music"]["status"] == "ok"


def test_table_marks_incomplete_and_missing_listed_file(tmp_path):
    root = tmp_path / "onair"
    a = excerpt(0.3)
    onair_track(
        root,
        MISC,
        "Reflections",
        {"mix": a["mixture"], "Beat.wav": a["drums"], "Vox.wav": a["vocals"]},
    )
    ronin = {
        "mix": a["mixture"],
        "Ronin ft. KXNE Stems - Drums.wav": a["drums"],
        "Ronin ft. KXNE Stems - 808.wav": a["bass"],
        "Ronin ft. KXNE Stems - Acappella.wav": a["vocals"],
        "Ronin ft. KXNE Stems - Main Loop.wav": a["other"],
    }
    onair_track(root, MISC, "Ronin", ronin)
    with pytest.raises(DatasetError) as err:
        load_tracks(onair(root, tracks=("Ronin - OnAir Music",)))
    assert str(err.value) == (
        f"{root / MISC / 'Ronin - OnAir Music'}: the mapping (shipped table) lists "
        "'Ronin ft. KXNE Stems - Plucks.wav' for other, but the file is missing"
    )
    # A renamed file is pointed at.
    (root / MISC / "Ronin - OnAir Music" / "Ronin ft. KXNE Stems - Main Loop.wav").rename(
        root / MISC / "Ronin - OnAir Music" / "Ronin ft. KXNE Stems - Plucks.wav"
    )
    (root / MISC / "Ronin - OnAir Music" / "Ronin ft. KXNE Stems - Drums.wav").rename(
        root / MISC / "Ronin - OnAir Music" / "Ronin ft. KXNE Stems - Drum.wav"
    )
    with pytest.raises(
        DatasetError,
        match=r"lists 'Ronin ft\. KXNE Stems - Drums\.wav' for drums, but the file "
        r"is missing \(an unlisted file is named 'Ronin ft\. KXNE Stems - Drum\.wav'\)$",
    ):
        load_tracks(onair(root, tracks=("Ronin - OnAir Music",)))
    with pytest.raises(
        DatasetError,
        match=r"Reflections - OnAir Music.*drums and bass are not delivered as separate stems",
    ):
        load_tracks(onair(root, tracks=("Reflections - OnAir Music",)))


def test_user_mapping_overrides_and_subsets(tree, tmp_path):
    root, w = tree
    table = tmp_path / "mine.toml"
    table.write_text(
        '[tracks."Night Drive - OnAir Music"]\n'
        'drums = ["Idea 9 Stems - Drums.wav", "Idea 9 Stems - Brushes.wav"]\n'
        'bass = ["Idea 9 Stems - 808.wav"]\n'
        'other = ["Idea 9 Stems - Vocal Chops.wav"]\n'
        "vocals = []\n"
    )
    t = load_tracks(
        onair(
            root,
            tracks=("Night Drive - OnAir Music",),
            mapping=str(table),
            on_rate_mismatch="resample",
        )
    )[0]
    f = w["idea9"]
    # Vocal chops moved to other; the unlisted Keys file is still mapped by rule and summed in.
    assert f"mapping: {table}" in t.notes
    assert (
        "other = Idea 9 Stems - Vocal Chops.wav [table] + Idea 9 Stems - Keys.wav [rule 'default']"
        in t.notes
    )
    assert t.silent_targets() == ["vocals"]
    keys = t.targets["other"].astype(np.float64) - f["Idea 9 Stems - Vocal Chops.wav"]
    assert np.max(np.abs(keys - w["keys_original"])[:, 2000:-2000]) < 0.01
    bad = tmp_path / "bad.toml"
    bad.write_text('[tracks."X - OnAir Music"]\ndrumz = ["Kick.wav"]\n')
    with pytest.raises(
        DatasetError,
        match=r"bad\.toml: tracks\.'X - OnAir Music'\.drumz: unknown key \(did you mean "
        r"'drums'\?\)",
    ):
        load_tracks(onair(root, mapping=str(bad)))
    assert [t.name for t in load_tracks(onair(root, subsets=("misc",)))] == [
        "Set Me Free - OnAir Music"
    ]
    with pytest.raises(
        DatasetError,
        match=r"dataset\.subsets: 'Vol-9' matches no subset folder .*found: "
        r"OnAir-Music-Dataset-v4-LoFi-Vol-3, OnAir-Music-Dataset-v4-misc",
    ):
        load_tracks(onair(root, subsets=("Vol-9",)))


def test_convert_cli_writes_a_tree_musdb_reads(tree, tmp_path, capsys):
    root, _ = tree
    out = tmp_path / "converted"
    status = main(
        [
            "data",
            "convert",
            "onair",
            str(root),
            str(out),
            "--on-rate-mismatch",
            "resample",
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    printed = captured.out
    assert status == 0
    assert f"wrote 2 track(s) at 44100 Hz to {out / 'train'}" in printed
    assert "skipped 'No Low End - OnAir Music': no separate bass stem" in printed
    # Said once, with this command's flag (the loader's warning names the study-file key).
    assert "No Low End" not in captured.err and printed.count("No Low End") == 1
    direct = load_tracks(onair(root, on_rate_mismatch="resample"))
    db = musdb.DB(root=str(out), is_wav=True)
    assert [t.name for t in db] == sorted(t.name for t in direct)
    via_musdb = {
        t.name: t for t in load_tracks(DatasetSpec(source="musdb", root=str(out), is_wav=True))
    }
    for t in direct:
        again = via_musdb[t.name]
        for s in TARGETS:
            assert np.array_equal(again.targets[s], t.targets[s]), (t.name, s)
        assert np.array_equal(again.recorded_mixture, t.recorded_mixture)
        # musdb's own reader (16-bit) agrees to its quantisation step.
        mus = next(m for m in db if m.name == t.name)
        assert np.max(np.abs(mus.targets["drums"].audio.T - t.targets["drums"])) <= 1 / 32768 + 1e-7
    manifest = json.loads((out / "sliceq22_conversion.json").read_text())
    assert manifest["rate"] == RATE and manifest["skipped"][0]["name"] == "No Low End - OnAir Music"
    assert not (out / ".sliceq22-partial").exists()
    # Again without --overwrite: refused before anything is written, one line, exit 2.
    status = main(
        [
            "data",
            "convert",
            "onair",
            str(root),
            str(out),
            "--on-rate-mismatch",
            "resample",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err == (
        f"sliceq22: error: {out / 'train'}: 2 track folder(s) already exist "
        "('Night Drive - OnAir Music'...); pass --overwrite to replace them\n"
    )
    status = main(["data", "convert", "onair", str(tmp_path / "nope"), str(out)])
    assert (
        status == 2
        and capsys.readouterr().err
        == f"sliceq22: error: {tmp_path / 'nope'}: dataset root does not exist\n"
    )


def test_info_cli_lists_tracks_and_problems(tree, capsys):
    root, _ = tree
    status = main(["data", "info", "--dataset", "onair", "--root", str(root)])
    out, err = capsys.readouterr()
    assert status == 2 and err == "sliceq22: error: 1 track(s) refused (see above)\n"
    lines = out.splitlines()
    assert lines[0] == f"onair {root}: 3 track(s)"
    assert any(
        "Night Drive - OnAir Music" in ln and "REFUSED:" in ln and "48000 Hz" in ln for ln in lines
    )
    assert any(
        "No Low End - OnAir Music" in ln and "SKIPPED: no separate bass stem" in ln for ln in lines
    )
    status = main(
        [
            "data",
            "info",
            "--dataset",
            "onair",
            "--root",
            str(root),
            "--on-rate-mismatch",
            "resample",
            "--duration",
            "0.25",
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert status == 0
    rows = {r["name"]: r for r in doc["tracks"]}
    assert rows["Set Me Free - OnAir Music"]["seconds"] == 0.5
    start, frames = rows["Set Me Free - OnAir Music"]["excerpt"]
    assert frames == RATE // 4
    # The excerpt info predicts what load_tracks reads.
    t = load_tracks(onair(root, tracks=("Set Me Free - OnAir Music",), duration=0.25))[0]
    assert t.offset == start and t.length == frames
