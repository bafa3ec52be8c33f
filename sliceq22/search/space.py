"""Search spaces: which transform families a study searches and each parameter's range.

Optuna parameter names are namespaced by the entry's label
(``"nsgcq-framewise.binsPerOctave"``) because two entries may share a parameter
name with different ranges, which one Optuna distribution per name cannot hold.
The label itself is the categorical parameter ``"transform"`` when a study has
more than one entry.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna

from sliceq22.errors import ParameterError, StudyFileError
from sliceq22.suggest import did_you_mean
from sliceq22.transforms import transform_class

#: Name of the categorical parameter choosing between transform entries.
TRANSFORM_PARAM = "transform"


@dataclass(frozen=True)
class ParamRange:
    """How one parameter is searched.

    Exactly one of ``value`` (fixed), ``choices`` (categorical) or
    ``low``/``high`` (numeric; ``log`` and ``step`` optional) is set.
    ``when`` maps earlier parameters of the same entry to the values under
    which this one is sampled at all (conditional parameters).
    """

    name: str
    kind: str  # "fixed" | "categorical" | "int" | "float"
    value: Any = None
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` of a numeric ("int" or "float") range, which sets both."""
        if self.low is None or self.high is None:
            raise ParameterError(f"{self.name}: a {self.kind} range without low and high")
        return self.low, self.high

    def active(self, chosen: Mapping[str, Any]) -> bool:
        """Whether this parameter applies given the values chosen so far."""
        return all(chosen.get(name) in allowed for name, allowed in self.when)

    def sample(self, trial: optuna.Trial, prefix: str) -> Any:
        """Draw this parameter from ``trial`` (define-by-run)."""
        key = f"{prefix}.{self.name}"
        if self.kind == "fixed":
            return self.value
        if self.kind == "categorical":
            return trial.suggest_categorical(key, list(self.choices))
        low, high = self.bounds
        if self.kind == "int":
            return trial.suggest_int(
                key, int(low), int(high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(key, float(low), float(high), step=self.step, log=self.log)


@dataclass(frozen=True)
class TransformEntry:
    """One transform family with its search ranges, under a label unique in the study."""

    label: str
    family: str
    ranges: tuple[ParamRange, ...] = field(default_factory=tuple)

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        """Draw a complete parameter mapping for this entry from ``trial``."""
        chosen: dict[str, Any] = {}
        for rng in self.ranges:
            if rng.active(chosen):
                chosen[rng.name] = rng.sample(trial, self.label)
        return chosen

    def optuna_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The Optuna parameter dict that makes :meth:`sample` return ``params`` (for
        enqueueing)."""
        return {
            f"{self.label}.{rng.name}": params[rng.name]
            for rng in self.ranges
            if rng.kind != "fixed" and rng.name in params
        }


def check_keys(table: Mapping[str, Any], allowed: set[str] | tuple[str, ...], where: str) -> None:
    """Refuse a key of ``table`` outside ``allowed``, naming its path and the closest allowed key.

    Raises
    ------
    StudyFileError
        ``dataset.duraton: unknown key (did you mean 'duration'?); allowed: ...``
    """
    names = sorted(allowed)
    for key in table:
        if key not in allowed:
            hint = did_you_mean(key, names)
            raise StudyFileError(f"{where}.{key}: unknown key{hint}; allowed: {', '.join(names)}")


def table_entries(
    raw: list[Any], where: str, allowed: set[str], required: tuple[str, ...] = ("family",)
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each entry of an array of tables (``[[where]]``) with its key path, checked.

    Raises
    ------
    StudyFileError
        An entry that is not a table, has an unknown key, or lacks a required one.
    """
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise StudyFileError(f"{at}: must be a table")
        check_keys(item, allowed, at)
        for key in required:
            if key not in item:
                raise StudyFileError(f"{at}.{key}: missing")
        yield at, item


def _parse_range(name: str, spec: Any, where: str) -> ParamRange:
    if not isinstance(spec, Mapping):
        if isinstance(spec, list):
            if not spec:
                raise StudyFileError(f"{where}: an empty list of choices")
            return ParamRange(name, "categorical", choices=tuple(spec))
        return ParamRange(name, "fixed", value=spec)
    check_keys(spec, {"low", "high", "log", "step", "choices", "value", "type", "when"}, where)
    when_spec = spec.get("when", {})
    if not isinstance(when_spec, Mapping):
        raise StudyFileError(f'{where}.when: must be a table such as {{ mode = "framewise" }}')
    when = tuple((str(k), tuple(v) if isinstance(v, list) else (v,)) for k, v in when_spec.items())
    if "value" in spec:
        return ParamRange(name, "fixed", value=spec["value"], when=when)
    if "choices" in spec:
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise StudyFileError(f"{where}.choices: must be a non-empty list")
        return ParamRange(name, "categorical", choices=tuple(choices), when=when)
    if "low" not in spec or "high" not in spec:
        raise StudyFileError(f"{where}: give value, choices, or low and high")
    low, high = spec["low"], spec["high"]
    for key, bound in (("low", low), ("high", high)):
        if (
            isinstance(bound, bool)
            or not isinstance(bound, int | float)
            or not math.isfinite(bound)
        ):
            raise StudyFileError(f"{where}.{key}: {bound!r} must be a finite number")
    kind = spec.get("type") or (
        "int" if isinstance(low, int) and isinstance(high, int) else "float"
    )
    if kind not in ("int", "float"):
        raise StudyFileError(f"{where}.type: {kind!r} must be 'int' or 'float'")
    if low > high:
        raise StudyFileError(f"{where}: low {low} must be ≤ high {high}")
    log = bool(spec.get("log", False))
    if log and low <= 0:
        raise StudyFileError(f"{where}.low: {low} must be > 0 on a log scale")
    step = spec.get("step")
    if step is not None and (not isinstance(step, int | float) or step <= 0):
        raise StudyFileError(f"{where}.step: {step!r} must be a positive number")
    if step is not None and log:
        raise StudyFileError(f"{where}: step and log cannot be combined")
    return ParamRange(name, kind, low=low, high=high, log=log, step=step, when=when)


def _check_against_family(entry: TransformEntry, where: str) -> None:
    """Refuse names the family does not know and bounds its parameters forbid."""
    try:
        cls = transform_class(entry.family)
    except ParameterError as exc:
        raise StudyFileError(f"{where}.family: {exc}") from None
    declared = {p.name: p for p in cls.PARAMS}
    seen: set[str] = set()
    for rng in entry.ranges:
        at = f"{where}.space.{rng.name}"
        if rng.name not in declared:
            try:
                cls.validate({rng.name: None})
            except ParameterError as exc:
                raise StudyFileError(f"{at}: {exc}") from None
        for cond, _ in rng.when:
            if cond not in seen:
                raise StudyFileError(f"{at}.when: {cond!r} must be a parameter declared before it")
        seen.add(rng.name)
        param = declared[rng.name]
        values: list[Any] = []
        if rng.kind == "fixed":
            values = [rng.value]
        elif rng.kind == "categorical":
            values = list(rng.choices)
        else:
            values = [rng.low, rng.high]
        for value in values:
            try:
                param.coerce(value, entry.family)
            except ParameterError as exc:
                raise StudyFileError(f"{at}: {exc}") from None
        _check_condition(entry, rng, cls, at)


def _check_condition(entry: TransformEntry, rng: ParamRange, cls: Any, at: str) -> None:
    """Refuse a searched parameter that some draws would give where it has no effect.

    A parameter the family uses only under another's values
    (``Transform.ONLY_WITH``, e.g. nsgcq's ``frameSize`` only in framewise mode)
    must be drawn only under them: the other parameter fixed to such a value
    (or defaulting to one), or a ``when`` that says so.
    """
    if rng.name not in cls.ONLY_WITH:
        return
    condition, allowed = cls.ONLY_WITH[rng.name]
    source = next((r for r in entry.ranges if r.name == condition), None)
    if source is None:
        possible = [next(p.default for p in cls.PARAMS if p.name == condition)]
    elif source.kind == "fixed":
        possible = [source.value]
    else:
        possible = list(source.choices)
    restricted = dict(rng.when).get(condition)
    if restricted is not None:
        possible = [v for v in possible if v in restricted]
    if any(v not in allowed for v in possible):
        wanted = " or ".join(repr(v) for v in allowed)
        raise StudyFileError(
            f"{at}: {entry.family} uses {rng.name} only when {condition} is {wanted}; "
            f"fix {condition} to it or add when = {{ {condition} = {allowed[0]!r} }}".replace(
                "'", '"'
            )
        )


def parse_transforms(raw: Any, where: str = "transforms") -> tuple[TransformEntry, ...]:
    """Parse the ``[[transforms]]`` array of a study file.

    Each element: ``family`` (required), ``label`` (defaults to the family;
    unique), ``space`` (table of parameter -> fixed value, list of choices, or
    range table ``{low, high, log, step, type, choices, value, when}``).
    """
    if not isinstance(raw, list) or not raw:
        raise StudyFileError(f"{where}: give at least one [[transforms]] entry with a family")
    entries: list[TransformEntry] = []
    for at, item in table_entries(raw, where, {"family", "label", "space"}):
        family = str(item["family"])
        label = str(item.get("label", family))
        if "." in label or not label:
            raise StudyFileError(f"{at}.label: {label!r} must be non-empty and contain no '.'")
        space = item.get("space", {})
        if not isinstance(space, Mapping):
            raise StudyFileError(f"{at}.space: must be a table")
        ranges = tuple(_parse_range(str(k), v, f"{at}.space.{k}") for k, v in space.items())
        entry = TransformEntry(label, family, ranges)
        _check_against_family(entry, at)
        entries.append(entry)
    labels = [e.label for e in entries]
    dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dupes:
        raise StudyFileError(
            f'{where}: labels must be unique; repeated: {", ".join(dupes)} (set label = "...")'
        )
    return tuple(entries)


def sample_candidate(
    trial: optuna.Trial, entries: tuple[TransformEntry, ...]
) -> tuple[TransformEntry, dict[str, Any]]:
    """Draw the transform entry and its parameters for one trial."""
    if len(entries) == 1:
        entry = entries[0]
    else:
        label = trial.suggest_categorical(TRANSFORM_PARAM, [e.label for e in entries])
        entry = next(e for e in entries if e.label == label)
    return entry, entry.sample(trial)


def entry_for_trial(
    params: Mapping[str, Any], entries: tuple[TransformEntry, ...]
) -> TransformEntry:
    """The entry a stored trial's Optuna parameters belong to."""
    if len(entries) == 1:
        return entries[0]
    label = params.get(TRANSFORM_PARAM)
    for entry in entries:
        if entry.label == label:
            return entry
    raise StudyFileError(
        f"stored trial names transform {label!r}, which the study file does not define"
    )


def transform_params(params: Mapping[str, Any], entry: TransformEntry) -> dict[str, Any]:
    """Rebuild the constructor parameters of ``entry`` from a stored trial's Optuna params."""
    chosen: dict[str, Any] = {}
    for rng in entry.ranges:
        if not rng.active(chosen):
            continue
        if rng.kind == "fixed":
            chosen[rng.name] = rng.value
        else:
            key = f"{entry.label}.{rng.name}"
            if key in params:
                chosen[rng.name] = params[key]
    return chosen
