"""The OnAir Music Dataset: raw stems as the artists delivered them, mapped to the four targets.

Layout (v4): subset folders ``OnAir-Music-Dataset-v4-misc`` and
``OnAir-Music-Dataset-v4-LoFi-Vol-3``; each track is a folder
``"<Title> - OnAir Music"`` holding the mastered mix ``"<Title> - OnAir Music.wav"``
and free-named stems (``Kick.wav``, ``Idea 2 Stems - Drums.wav``, ...). ``root``
may be the folder holding the subset folders, one subset folder, or any folder
of track folders.

Mapping, in this order:

1. the per-track table: the shipped ``onair_mapping.toml``, overridden track by
   track by the user's ``mapping`` file (TOML or JSON, same schema);
2. files the table does not list, and tracks it does not know: the name rules
   of :data:`NAME_RULES` on the file's base name (the part after the last
   ``" - "``, so ``"Ronin ft. KXNE Stems - 808"`` is judged by ``808``), first
   match wins, everything else is ``other``. The matched rule is recorded in
   ``Track.notes``.

Several files per target are summed. The mixture kept as
``Track.recorded_mixture`` is the mastered mix (it differs from the stem sum,
which oracles use by default). Tracks whose drums or bass are not delivered
separately are skipped and reported unless ``include_incomplete`` (the missing
target is then silent).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sliceq22 import TARGETS
from sliceq22.data.audio import AUDIO_EXTENSIONS, AudioPart, probe_file
from sliceq22.data.folder import existing_root
from sliceq22.data.plan import Candidate, TrackPlan
from sliceq22.data.spec import DatasetSpec
from sliceq22.errors import DatasetError
from sliceq22.suggest import did_you_mean

log = logging.getLogger(__name__)

#: Name rules, tried in order on the lower-cased stem label: (target, rule, pattern).
#: Drum words come before ``bass`` so a "Bass Drum" is a drum.
NAME_RULES: tuple[tuple[str, str, str], ...] = (
    ("drums", "kick", r"kick"),
    ("drums", "snare", r"snare"),
    ("drums", "hat", r"(?<![a-z])(?:hi-?)?hats?(?![a-z])"),
    ("drums", "drum", r"drum"),
    ("drums", "brush", r"brush"),
    ("drums", "tambo", r"tambo"),
    ("bass", "bass", r"bass"),
    ("bass", "808", r"808"),
    ("vocals", "vox", r"vox"),
    ("vocals", "vocal", r"vocal"),
    ("vocals", "acappella", r"a ?capp?ell?a"),
)
_ENTRY_KEYS = (*TARGETS, "mixture", "incomplete")
_MIX_NAMES = ("mix", "mixture")


@dataclass
class MappingEntry:
    """How one track's files map to targets.

    Attributes
    ----------
    files : dict[str, list[str]]
        ``mixture`` and target names to file names in the track folder.
    incomplete : str or None
        Why the track cannot give four separate targets (skipped unless opted in).
    origin : str
        Where the entry comes from (``shipped table``, a user file).
    """

    files: dict[str, list[str]] = field(default_factory=dict)
    incomplete: str | None = None
    origin: str = ""


def rule_target(filename: str) -> tuple[str, str]:
    """Target and rule name for a stem file by its base name (``"other", "default"`` if none).

    >>> rule_target("Idea 2 Stems - Drums.wav")
    ('drums', 'drum')
    >>> rule_target("Ronin ft. KXNE Stems - 808.wav")
    ('bass', '808')
    """
    label = Path(filename).stem.rsplit(" - ", 1)[-1].lower()
    for target, rule, pattern in NAME_RULES:
        if re.search(pattern, label):
            return target, rule
    return "other", "default"


@functools.lru_cache(maxsize=1)
def shipped_mapping() -> dict[str, MappingEntry]:
    """The per-track table shipped in ``sliceq22/data/onair_mapping.toml``."""
    text = resources.files("sliceq22.data").joinpath("onair_mapping.toml").read_text("utf-8")
    return _parse_mapping(tomllib.loads(text), "shipped table")


def load_mapping(path: str | Path | None = None) -> dict[str, MappingEntry]:
    """The shipped table, with the tracks of the user's file (TOML or JSON) replacing theirs."""
    table = dict(shipped_mapping())
    if path is None:
        return table
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetError(f"{path}: mapping file does not exist")
    try:
        text = path.read_text("utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        raise DatasetError(
            f"{path}: unreadable mapping file ({' '.join(str(exc).split())})"
        ) from None
    table.update(_parse_mapping(data, str(path)))
    return table


def _parse_mapping(data: Any, origin: str) -> dict[str, MappingEntry]:
    if not isinstance(data, dict) or not isinstance(data.get("tracks"), dict):
        raise DatasetError(f'{origin}: a mapping needs a [tracks."<track folder>"] table per track')
    out = {}
    for name, entry in data["tracks"].items():
        where = f"{origin}: tracks.{name!r}"
        if not isinstance(entry, dict):
            raise DatasetError(f"{where}: must be a table")
        for key in entry:
            if key not in _ENTRY_KEYS:
                raise DatasetError(f"{where}.{key}: unknown key{did_you_mean(key, _ENTRY_KEYS)}")
        incomplete = entry.get("incomplete")
        if incomplete is not None and not isinstance(incomplete, str):
            raise DatasetError(f"{where}.incomplete: must be a reason string")
        files: dict[str, list[str]] = {}
        seen: dict[str, str] = {}
        for key in (*TARGETS, "mixture"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DatasetError(f"{where}.{key}: must be a list of file names")
            for v in value:
                if v in seen:
                    raise DatasetError(f"{where}: {v!r} is listed under both {seen[v]} and {key}")
                seen[v] = key
            files[key] = list(value)
        if incomplete is None and not any(files[t] for t in TARGETS):
            raise DatasetError(f"{where}: lists no file for any target")
        out[str(name)] = MappingEntry(files=files, incomplete=incomplete, origin=origin)
    return out


def _audio_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")
    )


def _track_folders(root: Path) -> list[tuple[str, Path]]:
    """``(subset, folder)`` of every track folder under ``root`` (depth 1 or 2)."""

    def subdirs(p: Path) -> list[Path]:
        return sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))

    direct = [d for d in subdirs(root) if _audio_files(d)]
    if direct:
        return [(root.name, d) for d in direct]
    return [(s.name, d) for s in subdirs(root) for d in subdirs(s) if _audio_files(d)]


def _subset_matches(subset: str, wanted: tuple[str, ...]) -> bool:
    s = subset.lower()
    return any(s == w.lower() or s.endswith("-" + w.lower()) for w in wanted)


def discover(spec: DatasetSpec) -> list[Candidate]:
    """List the OnAir track folders under ``spec.root`` (subset, then name order)."""
    root = existing_root(spec)
    found = _track_folders(root)
    if not found:
        raise DatasetError(
            f"{root}: no OnAir track folder (a folder of .wav stems, e.g. "
            "'OnAir-Music-Dataset-v4-misc/Set Me Free - OnAir Music/')"
        )
    if spec.subsets:
        subsets = sorted({s for s, _ in found})
        for w in spec.subsets:
            if not any(_subset_matches(s, (w,)) for s in subsets):
                raise DatasetError(
                    f"dataset.subsets: {w!r} matches no subset folder under {root} "
                    f"(found: {', '.join(subsets)})"
                )
        found = [(s, d) for s, d in found if _subset_matches(s, spec.subsets)]
    names: dict[str, Path] = {}
    for _, folder in found:
        if folder.name in names:
            raise DatasetError(
                f"{folder}: track name {folder.name!r} also in {names[folder.name].parent}; "
                "select one subset with dataset.subsets"
            )
        names[folder.name] = folder
    table = load_mapping(spec.mapping)
    return [
        Candidate(folder.name, subset, _builder(folder, subset, table.get(folder.name), spec))
        for subset, folder in found
    ]


def map_files(
    folder: Path, entry: MappingEntry | None
) -> tuple[dict[str, list[tuple[Path, str]]], list[str], str | None]:
    """Assign the audio files of a track folder to targets.

    Returns
    -------
    assignment : dict[str, list[tuple[Path, str]]]
        ``mixture`` and targets to ``(file, how)`` pairs; ``how`` is ``table`` or
        ``rule '<name>'``.
    notes : list[str]
        One line per target naming its files and how each was assigned.
    incomplete : str or None
        Why drums or bass are not separate (the track is skipped unless opted in).
    """
    files = _audio_files(folder)
    by_name = {p.name: p for p in files}
    assignment: dict[str, list[tuple[Path, str]]] = {k: [] for k in (*TARGETS, "mixture")}
    notes: list[str] = []
    incomplete = entry.incomplete if entry is not None else None
    use_table = entry is not None and entry.incomplete is None
    listed: set[str] = set()
    if use_table:
        assert entry is not None
        notes.append(f"mapping: {entry.origin}")
        claimed = {n for names in entry.files.values() for n in names}
        unlisted = [n for n in by_name if n not in claimed]
        for key, names in entry.files.items():
            for n in names:
                if n not in by_name:
                    # A renamed file shows up as an unlisted one with a similar name.
                    hint = did_you_mean(
                        n, unlisted, cutoff=0.8, template=" (an unlisted file is named {})"
                    )
                    raise DatasetError(
                        f"{folder}: the mapping ({entry.origin}) lists {n!r} for {key}, "
                        f"but the file is missing{hint}"
                    )
                assignment[key].append((by_name[n], "table"))
                listed.add(n)
    elif entry is not None:
        notes.append(
            f"mapping: name rules ({entry.origin} marks it incomplete: {entry.incomplete})"
        )
    else:
        notes.append("mapping: name rules (track not in the mapping table)")
    for path in files:
        if path.name in listed:
            continue
        is_mix = path.stem.lower() in _MIX_NAMES or path.stem == folder.name
        if is_mix and not assignment["mixture"]:
            assignment["mixture"].append((path, "rule 'mastered mix'"))
            continue
        target, rule = rule_target(path.name)
        assignment[target].append((path, f"rule {rule!r}"))
    for key in (*TARGETS, "mixture"):
        if assignment[key]:
            joined = " + ".join(f"{p.name} [{how}]" for p, how in assignment[key])
            notes.append(f"{key} = {joined}")
    if incomplete is None:
        missing = [t for t in ("drums", "bass") if not assignment[t]]
        if missing:
            incomplete = f"no separate {' or '.join(missing)} stem"
    return assignment, notes, incomplete


def _builder(folder: Path, subset: str, entry: MappingEntry | None, spec: DatasetSpec):
    def build() -> TrackPlan:
        assignment, notes, incomplete = map_files(folder, entry)
        parts: dict[str, list[AudioPart]] = {}
        if incomplete is None or spec.include_incomplete:
            # A skipped track is not probed: its files cannot fail the load.
            parts = {
                key: [probe_file(p, label=how) for p, how in pairs]
                for key, pairs in assignment.items()
                if pairs
            }
        if not assignment["mixture"]:
            notes.append("no mastered mix found: no recorded mixture")
        if incomplete is not None:
            notes.append(f"incomplete: {incomplete}")
        return TrackPlan(
            name=folder.name,
            source="onair",
            parts=parts,
            notes=[f"subset {subset}", *notes],
            subset=subset,
            folder=str(folder),
            skip=incomplete,
        )

    return build
