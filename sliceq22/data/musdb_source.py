"""MUSDB18 (``.stem.mp4``) and MUSDB18-HQ (``is_wav``) through the ``musdb`` package.

``musdb.DB`` lists the tracks (subsets, the train/validation split, names);
everything musdb 0.4.3 is lenient about is checked here instead of trusted:

* a root that does not exist, or holds none of the requested subsets or no
  track: musdb returns an empty DB without error — refused;
* a missing stem: musdb drops it silently (and fails later with an
  inhomogeneous-shape error) — refused, naming the file;
* a mono stem among stereo ones: musdb reads every stem with the mixture's
  stream info, so the mono samples are reshaped into a half-length, interleaved
  "stereo" array — read with soundfile instead and duplicated to both channels;
* musdb decodes through 16-bit PCM (``s16le``), quantising float WAVs and
  clipping sums above full scale — WAVs are read bit-exactly with soundfile and
  ``.stem.mp4`` streams decoded by FFmpeg to float32;
* the stream order of a ``.stem.mp4`` is taken from the file's stem metadata,
  not assumed.

Lengths, rates and channel counts are then checked like every source's
(:mod:`sliceq22.data.plan`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sliceq22 import TARGETS
from sliceq22.data.audio import AudioPart, probe_file, probe_streams
from sliceq22.data.plan import Candidate, TrackPlan
from sliceq22.data.spec import MUSDB_SUBSETS, DatasetSpec
from sliceq22.data.stems_mp4 import stem_order
from sliceq22.errors import DatasetError


def musdb_root(spec: DatasetSpec) -> Path:
    """The dataset root: ``spec.root`` or ``$MUSDB_PATH``; refused if missing."""
    root = spec.root or os.environ.get("MUSDB_PATH")
    if not root:
        raise DatasetError("dataset.root: not given and $MUSDB_PATH is not set (source 'musdb')")
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetError(f"{path}: dataset root does not exist")
    if not path.is_dir():
        raise DatasetError(f"{path}: dataset root is not a folder")
    return path


def discover(spec: DatasetSpec) -> list[Candidate]:
    """List the tracks of a MUSDB18 / MUSDB18-HQ root in musdb's order (subset, then name)."""
    import musdb

    root = musdb_root(spec)
    subsets = list(spec.subsets) or list(MUSDB_SUBSETS)
    present = [s for s in subsets if (root / s).is_dir()]
    if spec.subsets:
        for s in subsets:
            if s not in present:
                raise DatasetError(f"{root / s}: subset folder does not exist")
    elif not present:
        raise DatasetError(
            f"{root}: no train/ or test/ folder; a MUSDB18 root holds the subsets train and test"
        )
    try:
        db = musdb.DB(root=str(root), subsets=present, split=spec.split, is_wav=spec.is_wav)
    except Exception as exc:  # musdb lets ffprobe errors of a bad mixture escape
        _pinpoint(root, present, spec.is_wav)
        raise DatasetError(f"{root}: musdb cannot list the dataset ({exc})") from None
    if len(db) == 0:
        raise DatasetError(_empty_message(root, present, spec))
    out = []
    for mus_track in db.tracks:
        if spec.is_wav:
            folder = Path(mus_track.path).parent
            out.append(
                Candidate(
                    mus_track.name,
                    mus_track.subset,
                    _wav_builder(mus_track.name, mus_track.subset, folder),
                )
            )
        else:
            path = Path(mus_track.path)
            out.append(
                Candidate(
                    mus_track.name,
                    mus_track.subset,
                    _stem_builder(mus_track.name, mus_track.subset, path),
                )
            )
    return out


def _wav_builder(name: str, subset: str, folder: Path) -> Callable[[], TrackPlan]:
    def build() -> TrackPlan:
        parts: dict[str, list[AudioPart]] = {}
        notes: list[str] = []
        for target in TARGETS:
            path = folder / f"{target}.wav"
            if not path.is_file():
                raise DatasetError(
                    f"{folder}: missing stem {target}.wav (musdb would drop it silently)"
                )
            parts[target] = [probe_file(path)]
        mixture = folder / "mixture.wav"
        if mixture.is_file():
            parts["mixture"] = [probe_file(mixture)]
        else:
            notes.append("no mixture.wav: no recorded mixture (oracles use the stem sum)")
        return TrackPlan(
            name=name, source="musdb", parts=parts, notes=notes, subset=subset, folder=str(folder)
        )

    return build


def _stem_builder(name: str, subset: str, path: Path) -> Callable[[], TrackPlan]:
    def build() -> TrackPlan:
        streams = probe_streams(path)
        if len(streams) != 5:
            raise DatasetError(
                f"{path}: {len(streams)} audio streams; a MUSDB18 stem file has 5 "
                "(mixture, drums, bass, other, vocals)"
            )
        order, _raw = stem_order(path)
        notes = []
        if order is None:
            order = list(TARGETS)
            notes.append("no stem metadata in the file; assumed MUSDB stream order")
        elif order != list(TARGETS):
            notes.append(f"streams 1-4 are {', '.join(order)} (from the stem metadata)")
        parts: dict[str, list[AudioPart]] = {"mixture": [streams[0]]}
        for k, target in enumerate(order, start=1):
            parts[target] = [streams[k]]
        return TrackPlan(
            name=name, source="musdb", parts=parts, notes=notes, subset=subset, folder=str(path)
        )

    return build


def _empty_message(root: Path, subsets: list[str], spec: DatasetSpec) -> str:
    where = ", ".join(subsets)
    split = f", split {spec.split!r}" if spec.split else ""
    kind = "track folders (MUSDB18-HQ, is_wav)" if spec.is_wav else ".stem.mp4 files (MUSDB18)"
    hint = ""
    folders = [p for s in subsets for p in (root / s).iterdir() if p.is_dir()]
    stems = [p for s in subsets for p in (root / s).glob("*.stem.mp4")]
    if not spec.is_wav and folders:
        hint = "; it holds track folders: set is_wav = true for MUSDB18-HQ"
    elif spec.is_wav and stems:
        hint = "; it holds .stem.mp4 files: set is_wav = false for MUSDB18"
    elif spec.split and folders + stems:
        hint = (
            "; no track there is in musdb's list for this split "
            "(split only applies to MUSDB18's own tracks)"
        )
    return f"{root}: no {kind} in subset {where}{split}{hint}"


def _pinpoint(root: Path, subsets: list[str], is_wav: bool) -> None:
    """Raise a :class:`DatasetError` naming the file musdb choked on, if one can be found."""
    for s in subsets:
        if is_wav:
            for folder in sorted(p for p in (root / s).iterdir() if p.is_dir()):
                mixture = folder / "mixture.wav"
                if mixture.is_file():
                    probe_file(mixture)
        else:
            for path in sorted((root / s).glob("*.stem.mp4")):
                probe_streams(path)
