"""What a study or a command asks of the data layer: :class:`DatasetSpec`.

One frozen value describes where tracks come from (source, root, subsets, ...),
which excerpt of each is used (duration, offset, seed) and what the loader may
repair (lengths, sample rates, incomplete OnAir tracks). It validates itself on
construction; :meth:`DatasetSpec.from_mapping` validates a TOML table and names
the offending key (``dataset.duration: -1 must be > 0``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sliceq22.errors import DatasetError, Sliceq22Error, StudyFileError
from sliceq22.suggest import did_you_mean

#: Sources :func:`sliceq22.data.load_tracks` knows.
SOURCES: tuple[str, ...] = ("example", "musdb", "folder", "onair")
#: MUSDB18 subsets and the train/validation split of its training subset.
MUSDB_SUBSETS: tuple[str, ...] = ("train", "test")
SPLITS: tuple[str, ...] = ("train", "valid")
LENGTH_POLICIES: tuple[str, ...] = ("refuse", "truncate")
RATE_POLICIES: tuple[str, ...] = ("refuse", "resample")

#: Fields that only mean something for some sources; a non-default value elsewhere
#: is refused so a misplaced option never silently does nothing.
_APPLIES_TO: dict[str, tuple[str, ...]] = {
    "root": ("musdb", "folder", "onair"),
    "subsets": ("musdb", "onair"),
    "split": ("musdb",),
    "is_wav": ("musdb",),
    "trim": ("example",),
    "include_incomplete": ("onair",),
    "mapping": ("onair",),
}


@dataclass(frozen=True)
class DatasetSpec:
    """Where tracks come from and which excerpt of each one is used.

    Parameters
    ----------
    source : {"example", "musdb", "folder", "onair"}
        ``example``: the MUSDB18 excerpt bundled with stempeg; ``musdb``: MUSDB18
        (``.stem.mp4``) or MUSDB18-HQ (``is_wav``) through the ``musdb`` package;
        ``folder``: one sub-folder per track holding ``drums``, ``bass``,
        ``other``, ``vocals`` (and optionally ``mixture``) audio files;
        ``onair``: the raw OnAir Music Dataset, mapped to the four targets.
    root : str or None
        Dataset folder (``musdb`` falls back to ``$MUSDB_PATH``).
    subsets : tuple of str
        ``musdb``: ``train`` and/or ``test`` (empty = both; ``split`` implies
        ``("train",)``). ``onair``: subset folder names or their suffixes
        (``misc``, ``LoFi-Vol-3``); empty = all.
    split : {None, "train", "valid"}
        ``musdb`` only: the train/validation split of the training subset.
    is_wav : bool
        ``musdb`` only: MUSDB18-HQ (WAV folders) instead of ``.stem.mp4`` files.
    tracks : tuple of str
        Track names to load, in this order; empty = all, sorted as the source lists them.
    max_tracks : int or None
        Keep only the first ``max_tracks`` tracks (after ``tracks``).
    duration : float or None
        Excerpt length in seconds; None = whole tracks.
    offset : float or None
        Excerpt start in seconds. None with a ``duration``: a random start drawn
        from ``seed`` and the track name (same spec, same excerpts).
    seed : int
        Seed of the random excerpt starts.
    trim : bool
        ``example`` only: drop the AAC priming/ending bursts at both edges.
    rate : int or None
        Sample rate of the loaded tracks; None = the rate most stem files have.
    on_length_mismatch : {"refuse", "truncate"}
        Stems of one track differ in length: refuse, or cut all to the shortest
        (recorded in ``Track.notes``).
    on_rate_mismatch : {"refuse", "resample"}
        A stem's sample rate differs from ``rate``: refuse, or resample it
        (``scipy.signal.resample_poly``, recorded in ``Track.notes``).
    include_incomplete : bool
        ``onair`` only: load tracks whose drums or bass are not delivered
        separately (the missing target is silent) instead of skipping them.
    mapping : str or None
        ``onair`` only: a TOML/JSON file whose per-track file-to-target table
        overrides the shipped one track by track.
    """

    source: str = "example"
    root: str | None = None
    subsets: tuple[str, ...] = ()
    split: str | None = None
    is_wav: bool = False
    tracks: tuple[str, ...] = ()
    max_tracks: int | None = None
    duration: float | None = None
    offset: float | None = None
    seed: int = 0
    trim: bool = True
    rate: int | None = None
    on_length_mismatch: str = "refuse"
    on_rate_mismatch: str = "refuse"
    include_incomplete: bool = False
    mapping: str | None = None

    def __post_init__(self) -> None:
        # Normalise the forgiving forms (a single string for a tuple, a Path for a
        # str) so equal specs compare and hash equal.
        for name in ("subsets", "tracks"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            elif isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        for name in ("root", "mapping"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
        if self.source == "musdb" and self.split is not None and self.subsets == ():
            object.__setattr__(self, "subsets", ("train",))
        problem = _first_problem(self.__dict__, "dataset")
        if problem:
            raise DatasetError(problem)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "dataset") -> DatasetSpec:
        """Build a spec from a plain mapping (a TOML table), naming bad keys.

        Parameters
        ----------
        data : Mapping
            Keys are the field names; absent keys take their defaults. Lists
            stand for tuples; leave a key out (or give JSON null) for None. An
            option the source does not use is accepted only at its default.
        where : str
            Key path of the table, used in messages (``dataset.duration: ...``).

        Raises
        ------
        StudyFileError
            An unknown key (with the closest known one), a value of the wrong
            type or out of range, or an option the chosen source does not use.
        """
        if not isinstance(data, Mapping):
            raise StudyFileError(f"{where}: must be a table, not {type(data).__name__}")
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                raise StudyFileError(
                    f"{where}.{key}: unknown key{did_you_mean(key, known)}; "
                    f"known keys: {', '.join(known)}"
                )
        values: dict[str, Any] = {}
        for key, value in data.items():
            values[key] = _coerce(key, value, f"{where}.{key}")
        merged: dict[str, Any] = {f.name: f.default for f in fields(cls)}
        merged.update(values)
        if merged["source"] == "musdb" and merged["split"] is not None and not merged["subsets"]:
            merged["subsets"] = ("train",)
        problem = _first_problem(merged, where)
        if problem:
            raise StudyFileError(problem)
        try:
            return cls(**merged)
        except Sliceq22Error as exc:  # pragma: no cover - the checks above are the same
            raise StudyFileError(str(exc)) from None

    def to_mapping(self) -> dict[str, Any]:
        """Plain TOML/JSON-able data that :meth:`from_mapping` turns back into this spec.

        None values and options the source does not use are left out (TOML has
        no null); tuples become lists.
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or (f.name in _APPLIES_TO and self.source not in _APPLIES_TO[f.name]):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def describe(self) -> str:
        """One line naming the dataset, for logs and progress bars."""
        parts = [self.source]
        if self.root:
            parts.append(self.root)
        if self.subsets:
            parts.append("subsets=" + ",".join(self.subsets))
        if self.split:
            parts.append(f"split={self.split}")
        if self.source == "musdb":
            parts.append("wav" if self.is_wav else "stem.mp4")
        if self.duration is not None:
            parts.append(f"{self.duration:g} s excerpts")
        return " ".join(parts)


_NULLABLE = ("root", "split", "max_tracks", "duration", "offset", "rate", "mapping")


def _coerce(key: str, value: Any, where: str) -> Any:
    """Convert a TOML value to the field's type or raise :class:`StudyFileError`."""
    if value is None and key in _NULLABLE:  # JSON null, e.g. a stored spec read back
        return None
    if key in ("source", "split", "on_length_mismatch", "on_rate_mismatch", "root", "mapping"):
        if not isinstance(value, str):
            raise StudyFileError(f"{where}: {value!r} must be a string")
        return value
    if key in ("subsets", "tracks"):
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise StudyFileError(f"{where}: {value!r} must be a list of strings")
        return tuple(value)
    if key in ("is_wav", "trim", "include_incomplete"):
        if not isinstance(value, bool):
            raise StudyFileError(f"{where}: {value!r} must be true or false")
        return value
    if key in ("max_tracks", "seed", "rate"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise StudyFileError(f"{where}: {value!r} must be an integer")
        return value
    if key in ("duration", "offset"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StudyFileError(f"{where}: {value!r} must be a number of seconds")
        return float(value)
    return value  # pragma: no cover - every field is listed above


def _first_problem(values: Mapping[str, Any], where: str) -> str | None:
    """Return a one-line description of the first invalid value, or None."""
    source = values["source"]
    if source not in SOURCES:
        hint = did_you_mean(source, SOURCES)
        return f"{where}.source: {source!r} is not one of {', '.join(SOURCES)}{hint}"
    defaults = {f.name: f.default for f in fields(DatasetSpec)}
    for key, users in _APPLIES_TO.items():
        value = values[key]
        if (
            source not in users
            and value != defaults[key]
            and not (key == "subsets" and value == ())
        ):
            names = ", ".join(repr(s) for s in users)
            return f"{where}.{key}: only used by source {names}, not by {source!r}"
    if source in ("folder", "onair") and not values["root"]:
        return f"{where}.root: required for source {source!r} (the dataset folder)"
    for key in ("subsets", "tracks"):
        value = values[key]
        if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
            return f"{where}.{key}: {value!r} must be a list of non-empty strings"
        if len(set(value)) != len(value):
            return f"{where}.{key}: {list(value)!r} names an entry twice"
    if source == "musdb":
        for subset in values["subsets"]:
            if subset not in MUSDB_SUBSETS:
                return f"{where}.subsets: {subset!r} is not a MUSDB18 subset (train, test)"
    split = values["split"]
    if split is not None:
        if split not in SPLITS:
            return f"{where}.split: {split!r} is not one of train, valid"
        if tuple(values["subsets"]) != ("train",):
            return (
                f"{where}.split: {split!r} needs subsets = ['train'] (the split divides "
                f"the training subset), got {list(values['subsets'])!r}"
            )
    for key in ("is_wav", "trim", "include_incomplete"):
        if not isinstance(values[key], bool):
            return f"{where}.{key}: {values[key]!r} must be true or false"
    for key, low in (("max_tracks", 1), ("rate", 1)):
        value = values[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return f"{where}.{key}: {value!r} must be an integer"
        if value is not None and value < low:
            return f"{where}.{key}: {value} must be >= {low}"
    if isinstance(values["seed"], bool) or not isinstance(values["seed"], int):
        return f"{where}.seed: {values['seed']!r} must be an integer"
    duration, offset = values["duration"], values["offset"]
    for key, value in (("duration", duration), ("offset", offset)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{where}.{key}: {value!r} must be a number of seconds"
        if not math.isfinite(value):
            return f"{where}.{key}: {value} must be finite"
    if duration is not None and duration <= 0:
        return f"{where}.duration: {duration:g} must be > 0"
    if offset is not None and offset < 0:
        return f"{where}.offset: {offset:g} must be >= 0"
    if values["on_length_mismatch"] not in LENGTH_POLICIES:
        return (
            f"{where}.on_length_mismatch: {values['on_length_mismatch']!r} is not one of "
            f"{', '.join(LENGTH_POLICIES)}"
        )
    if values["on_rate_mismatch"] not in RATE_POLICIES:
        return (
            f"{where}.on_rate_mismatch: {values['on_rate_mismatch']!r} is not one of "
            f"{', '.join(RATE_POLICIES)}"
        )
    for key in ("root", "mapping"):
        value = values[key]
        if value is not None and (not isinstance(value, str) or not value):
            return f"{where}.{key}: {value!r} must be a non-empty path"
    return None
