"""A folder of stems: one sub-folder per track holding ``drums``, ``bass``, ``other``,
``vocals`` and optionally ``mixture`` audio files (WAV, FLAC, AIFF, OGG via soundfile).

Sub-folders that hold none of those names are ignored (notes, artwork); one that
holds some but not all four targets is refused, naming the missing stem.
"""

from __future__ import annotations

from pathlib import Path

from sliceq22 import TARGETS
from sliceq22.data.audio import AUDIO_EXTENSIONS, AudioPart, probe_file
from sliceq22.data.plan import Candidate, TrackPlan
from sliceq22.data.spec import DatasetSpec
from sliceq22.errors import DatasetError

_NAMES = (*TARGETS, "mixture")


def existing_root(spec: DatasetSpec) -> Path:
    """``spec.root`` as an existing folder, or a :class:`DatasetError`."""
    root = Path(str(spec.root)).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: dataset root does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset root is not a folder")
    return root


def _stem_files(folder: Path) -> dict[str, list[Path]]:
    """Audio files of a folder named after a target or ``mixture`` (case-insensitive)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS:
            stem = path.stem.lower()
            if stem in _NAMES:
                found.setdefault(stem, []).append(path)
    return found


def discover(spec: DatasetSpec) -> list[Candidate]:
    """List track folders under ``spec.root`` (sorted by name)."""
    root = existing_root(spec)
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if _stem_files(folder):
            out.append(Candidate(folder.name, "", _builder(folder)))
    if not out:
        hint = ""
        if any((root / s).is_dir() for s in ("train", "test")):
            hint = "; it looks like a MUSDB18-HQ tree: use source 'musdb' with is_wav = true"
        raise DatasetError(
            f"{root}: no track folder (a sub-folder holding drums, bass, other, vocals "
            f"audio files){hint}"
        )
    return out


def _builder(folder: Path):
    def build() -> TrackPlan:
        files = _stem_files(folder)
        parts: dict[str, list[AudioPart]] = {}
        for name in _NAMES:
            paths = files.get(name, [])
            if len(paths) > 1:
                raise DatasetError(
                    f"{folder}: several files for {name} ({', '.join(p.name for p in paths)}); "
                    "keep one"
                )
            if not paths:
                if name == "mixture":
                    continue
                raise DatasetError(f"{folder}: missing stem {name} (expected {name}.wav or .flac)")
            parts[name] = [probe_file(paths[0])]
        notes = (
            []
            if "mixture" in parts
            else ["no mixture file: no recorded mixture (oracles use the stem sum)"]
        )
        return TrackPlan(
            name=folder.name, source="folder", parts=parts, notes=notes, folder=str(folder)
        )

    return build
