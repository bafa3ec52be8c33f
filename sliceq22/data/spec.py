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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from sliceq22.errors import DatasetError, Sliceq22Error, StudyFileError
from sliceq22.suggest import did_you_mean

#: Sources :func:`sliceq22.data.load_tracks` knows.
SOURCES: tuple[str, ...] = ("example", "musdb", "folder", "onair")
#: MUSDB18 subsets and the train/validation split of its training subset.
MUSDB_SUBSETS: tuple[str, ...] = ("train", "test")
SPLITS: tuple[str, ...] = ("train", "valid")
LENGTH_POLICIES: tuple[str, ...] = ("refuse", "truncate")
RATE_POLICIES: tuple[str, ...] = ("refuse", "resample")


class _Kind(NamedTuple):
    """How one kind of field is read from TOML and checked in a spec.

    ``convert`` turns a TOML value into the field's type (raising
    ``TypeError``/``ValueError`` with ``convert_says`` as the message);
    ``accepts`` checks a value of a constructed spec (``says`` otherwise);
    ``extra`` returns a further problem of an accepted value, or None.
    """

    convert: Callable[[Any], Any]
    convert_says: str
    accepts: Callable[[Any], bool]
    says: str
    extra: Callable[[Any], str | None] = lambda value: None


def _exactly(kind: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if not isinstance(value, kind):
            raise TypeError(value)
        return value

    return convert


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _to_integer(value: Any) -> int:
    if _is_integer(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(value)


def _to_seconds(value: Any) -> float:
    if not _is_number(value):
        raise TypeError(value)
    return float(value)


def _to_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError(value)
    return tuple(value)


def _repeated(value: tuple[str, ...]) -> str | None:
    return f"{list(value)!r} names an entry twice" if len(set(value)) != len(value) else None


def _infinite(value: float) -> str | None:
    return None if math.isfinite(value) else f"{value} must be finite"


_TRUE_OR_FALSE = "must be true or false"
_SECONDS = "must be a number of seconds"
_KINDS: dict[str, _Kind] = {
    # One of the field's choices (a string).
    "choice": _Kind(_exactly(str), "must be a string", lambda v: True, ""),
    # A list of distinct non-empty strings (a single string stands for a list of one).
    "names": _Kind(
        _to_names,
        "must be a list of strings",
        lambda v: isinstance(v, tuple) and all(isinstance(s, str) and s for s in v),
        "must be a list of non-empty strings",
        _repeated,
    ),
    "flag": _Kind(_exactly(bool), _TRUE_OR_FALSE, lambda v: isinstance(v, bool), _TRUE_OR_FALSE),
    "integer": _Kind(_to_integer, "must be an integer", _is_integer, "must be an integer"),
    "seconds": _Kind(_to_seconds, _SECONDS, _is_number, _SECONDS, _infinite),
    "path": _Kind(
        _exactly(str),
        "must be a string",
        lambda v: isinstance(v, str) and bool(v),
        "must be a non-empty path",
    ),
}


@dataclass(frozen=True)
class FieldSpec:
    """Declaration of one :class:`DatasetSpec` field: its kind, allowed values and users.

    Parameters
    ----------
    name : str
        The field's name (and its key in a study file's ``[dataset]`` table).
    kind : {"choice", "names", "flag", "integer", "seconds", "path"}
        ``choice``: a string among ``choices``; ``names``: a list of distinct
        non-empty strings; ``flag``: a bool; ``integer``: an int (an integral
        TOML float is accepted); ``seconds``: a finite number; ``path``: a
        non-empty string.
    choices : tuple of str
        Allowed values of a ``choice`` field.
    low : float, optional
        Lower bound of a numeric field, inclusive unless ``above``.
    above : bool
        ``low`` is exclusive (the value must be above it).
    nullable : bool
        None is allowed (and means "not set").
    sources : tuple of str
        Sources that use the field; elsewhere only its default is accepted,
        so a misplaced option never silently does nothing.
    required_by : tuple of str
        Sources for which the field must be set.
    doc : str
        What the field holds, for the "required" message.
    """

    name: str
    kind: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    above: bool = False
    nullable: bool = False
    sources: tuple[str, ...] = SOURCES
    required_by: tuple[str, ...] = ()
    doc: str = ""

    def coerce(self, value: Any, where: str) -> Any:
        """Return a TOML value converted to the field's type, or raise :class:`StudyFileError`."""
        if value is None and self.nullable:  # JSON null, e.g. a stored spec read back
            return None
        kind = _KINDS[self.kind]
        try:
            return kind.convert(value)
        except (TypeError, ValueError):
            raise StudyFileError(f"{where}: {value!r} {kind.convert_says}") from None

    def problem(self, value: Any, where: str) -> str | None:
        """Return a one-line description of what is wrong with ``value``, or None."""
        if value is None and self.nullable:
            return None
        kind = _KINDS[self.kind]
        if not kind.accepts(value):
            return f"{where}: {value!r} {kind.says}"
        if self.choices and value not in self.choices:
            allowed = ", ".join(self.choices)
            return f"{where}: {value!r} is not one of {allowed}{did_you_mean(value, self.choices)}"
        extra = kind.extra(value)
        if extra:
            return f"{where}: {extra}"
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            return f"{where}: {shown} must be {'>' if self.above else '>='} {self.low:g}"
        return None


#: Every :class:`DatasetSpec` field, in the order they are checked.
DATASET_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("source", "choice", choices=SOURCES),
    FieldSpec(
        "root",
        "path",
        nullable=True,
        sources=("musdb", "folder", "onair"),
        required_by=("folder", "onair"),
        doc="the dataset folder",
    ),
    FieldSpec("subsets", "names", sources=("musdb", "onair")),
    FieldSpec("split", "choice", choices=SPLITS, nullable=True, sources=("musdb",)),
    FieldSpec("is_wav", "flag", sources=("musdb",)),
    FieldSpec("tracks", "names"),
    FieldSpec("max_tracks", "integer", low=1, nullable=True),
    FieldSpec("duration", "seconds", low=0, above=True, nullable=True),
    FieldSpec("offset", "seconds", low=0, nullable=True),
    FieldSpec("seed", "integer"),
    FieldSpec("trim", "flag", sources=("example",)),
    FieldSpec("rate", "integer", low=1, nullable=True),
    FieldSpec("on_length_mismatch", "choice", choices=LENGTH_POLICIES),
    FieldSpec("on_rate_mismatch", "choice", choices=RATE_POLICIES),
    FieldSpec("include_incomplete", "flag", sources=("onair",)),
    FieldSpec("mapping", "path", nullable=True, sources=("onair",)),
)
_FIELDS: dict[str, FieldSpec] = {f.name: f for f in DATASET_FIELDS}


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
        for spec in DATASET_FIELDS:
            value = getattr(self, spec.name)
            if spec.kind == "names" and isinstance(value, str | list):
                object.__setattr__(self, spec.name, _to_names(value))
            elif spec.kind == "path" and isinstance(value, os.PathLike):
                object.__setattr__(self, spec.name, os.fspath(value))
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
        known = list(_FIELDS)
        for key in data:
            if key not in _FIELDS:
                raise StudyFileError(
                    f"{where}.{key}: unknown key{did_you_mean(key, known)}; "
                    f"known keys: {', '.join(known)}"
                )
        values: dict[str, Any] = {}
        for key, value in data.items():
            values[key] = _FIELDS[key].coerce(value, f"{where}.{key}")
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
            if value is None or self.source not in _FIELDS[f.name].sources:
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


def _first_problem(values: Mapping[str, Any], where: str) -> str | None:
    """Return a one-line description of the first invalid value, or None."""
    return next(_problems(values, where), None)


def _problems(values: Mapping[str, Any], where: str) -> Iterator[str]:
    """The problems of ``values``: the source, misplaced and missing options, each field, musdb."""
    source = values["source"]
    problem = _FIELDS["source"].problem(source, f"{where}.source")
    if problem:
        yield problem
        return
    defaults = {f.name: f.default for f in fields(DatasetSpec)}
    for spec in DATASET_FIELDS:
        if source not in spec.sources and values[spec.name] != defaults[spec.name]:
            users = ", ".join(repr(s) for s in spec.sources)
            yield f"{where}.{spec.name}: only used by source {users}, not by {source!r}"
    for spec in DATASET_FIELDS:
        if source in spec.required_by and not values[spec.name]:
            yield f"{where}.{spec.name}: required for source {source!r} ({spec.doc})"
    for spec in DATASET_FIELDS:
        problem = spec.problem(values[spec.name], f"{where}.{spec.name}")
        if problem:
            yield problem
    yield from _musdb_problems(values, where)


def _musdb_problems(values: Mapping[str, Any], where: str) -> Iterator[str]:
    """Problems of the subsets and split, which depend on each other and on the source."""
    if values["source"] == "musdb":
        for subset in values["subsets"]:
            if subset not in MUSDB_SUBSETS:
                yield f"{where}.subsets: {subset!r} is not a MUSDB18 subset (train, test)"
    split = values["split"]
    if split is not None and tuple(values["subsets"]) != ("train",):
        yield (
            f"{where}.split: {split!r} needs subsets = ['train'] (the split divides "
            f"the training subset), got {list(values['subsets'])!r}"
        )
