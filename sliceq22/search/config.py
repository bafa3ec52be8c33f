"""Study files (``studies/*.toml``): parsing and validation with key paths.

Every problem is reported with the key path that holds it
(``transforms[0].space.binsPerOctave: low 0 must be ≥ 1``) before anything
runs. A parsed :class:`StudyConfig` has a canonical form (:meth:`StudyConfig.canonical`)
stored with the study, so a rerun can tell whether the file still matches.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from sliceq22.errors import ParameterError, StudyFileError
from sliceq22.oracles.base import AGGREGATES
from sliceq22.search.sections import (
    PRUNERS,
    SAMPLERS,
    Constraints,
    FidelitySection,
    ObjectiveSection,
    PrunerSection,
    SamplerSection,
)
from sliceq22.search.space import TransformEntry, check_keys, parse_transforms, table_entries
from sliceq22.suggest import did_you_mean
from sliceq22.transforms import transform_class

#: Largest trial budget accepted: a million evaluations is years of compute; a
#: larger number is a typo, and an "until stopped" run ends anyway when the
#: space is exhausted or nothing more can be scored.
MAX_TRIALS = 1_000_000

MODES = ("shared", "per-target")
_SECTIONS = {
    "study": {"name", "description", "mode", "trials", "aggregate", "retries"},
    "dataset": None,  # validated by DatasetSpec.from_mapping
    "objective": None,  # validated against the objective registry
    "sampler": {f.name for f in fields(SamplerSection)},
    "pruner": {f.name for f in fields(PrunerSection)},
    "constraints": {f.name for f in fields(Constraints)},
    "fidelity": {f.name for f in fields(FidelitySection)},
    "transforms": None,
    "reference": None,
}


@dataclass(frozen=True)
class Reference:
    """A fixed setting evaluated as a trial of its own, for comparison (e.g. the STFT control)."""

    label: str
    family: str
    params: dict[str, Any]


@dataclass(frozen=True)
class StudyConfig:
    """A validated study file."""

    name: str
    description: str
    mode: str
    trials: int
    aggregate: str
    retries: int
    dataset: Any  # sliceq22.data.DatasetSpec
    objective: ObjectiveSection
    sampler: SamplerSection
    pruner: PrunerSection
    constraints: Constraints
    transforms: tuple[TransformEntry, ...]
    references: tuple[Reference, ...]
    source_text: str = ""
    #: ``[fidelity]``: excerpts first (None: every candidate on the full tracks).
    fidelity: FidelitySection | None = None

    @property
    def seed(self) -> int | None:
        """The sampler's seed, if the study file fixes one."""
        return self.sampler.seed

    def canonical(self) -> dict[str, Any]:
        """The parts of the study that define its results (not the budget or description)."""
        return json.loads(
            json.dumps(
                {
                    "mode": self.mode,
                    "aggregate": self.aggregate,
                    "dataset": self.raw_dataset,
                    "objective": self.objective.as_dict(),
                    "sampler": self.sampler.as_dict(),
                    "pruner": self.pruner.as_dict(),
                    "constraints": self.constraints.as_dict(),
                    "transforms": [
                        {
                            "label": e.label,
                            "family": e.family,
                            "space": [r.__dict__ for r in e.ranges],
                        }
                        for e in self.transforms
                    ],
                    "references": [r.__dict__ for r in self.references],
                    **({"fidelity": self.fidelity.as_dict()} if self.fidelity else {}),
                },
                sort_keys=True,
                default=list,
            )
        )

    @property
    def raw_dataset(self) -> dict[str, Any]:
        """The dataset specification as plain data."""
        return {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in self.dataset.__dict__.items()
        }


def _table(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, Mapping):
        raise StudyFileError(f"{key}: must be a table ([{key}])")
    allowed = _SECTIONS[key]
    if allowed is not None:
        check_keys(value, allowed, key)
    return dict(value)


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise StudyFileError(f"{where}: {value!r} must be one of {', '.join(allowed)}")
    return str(value)


def _int(value: Any, where: str, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StudyFileError(f"{where}: {value!r} must be an integer")
    if low is not None and value < low:
        raise StudyFileError(f"{where}: {value} must be ≥ {low}")
    return value


def _positive(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise StudyFileError(f"{where}: {value!r} must be a positive number")
    return value


def _study_name(raw: Any) -> str:
    """The study name, refused if it could not be typed back or shown in one table cell.

    A name is typed on the command line (``show NAME``) and printed in
    ``list``'s table: path separators and control characters (a newline)
    would break both, so they are refused with the character named.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise StudyFileError("study.name: missing; every study needs a name")
    if not isinstance(raw, str):
        raise StudyFileError(f"study.name: {raw!r} must be a string")
    name = raw.strip()
    for char in name:
        if char in "/\\" or not char.isprintable():
            raise StudyFileError(
                f"study.name: {name!r} contains {char!r}; use letters, digits, spaces and "
                "punctuation other than / and \\ (no control characters)"
            )
    if len(name) > 200:
        raise StudyFileError(f"study.name: {len(name)} characters; at most 200")
    return name


def _references(raw: Any) -> tuple[Reference, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise StudyFileError("reference: must be an array of tables ([[reference]])")
    refs = []
    for at, item in table_entries(raw, "reference", {"label", "family", "params"}):
        params = item.get("params", {})
        if not isinstance(params, Mapping):
            raise StudyFileError(f"{at}.params: must be a table")
        try:
            cls = transform_class(str(item["family"]))
            validated = cls.validate(params)
            cls.check_relevant(params)
        except ParameterError as exc:
            raise StudyFileError(f"{at}: {exc}") from None
        label = str(item.get("label", item["family"]))
        refs.append(Reference(label, str(item["family"]), {k: validated[k] for k in params}))
    labels = [r.label for r in refs]
    if len(set(labels)) != len(labels):
        raise StudyFileError("reference: labels must be unique")
    return tuple(refs)


def parse_study(doc: Mapping[str, Any], source_text: str = "", *, where: str = "") -> StudyConfig:
    """Validate a parsed TOML document into a :class:`StudyConfig`.

    Raises
    ------
    StudyFileError
        Naming the key path of the first problem found.
    """
    from sliceq22.data import DatasetSpec

    for key in doc:
        if key not in _SECTIONS:
            hint = did_you_mean(key, _SECTIONS, quote=lambda s: f"[{s}]")
            raise StudyFileError(f"{key}: unknown section{hint}; allowed: {', '.join(_SECTIONS)}")
    study = _table(doc, "study")
    name = _study_name(study.get("name"))  # first: an empty file says what a study needs first
    mode = _choice(study.get("mode", "shared"), MODES, "study.mode")
    dataset_raw = doc.get("dataset", {"source": "example"})
    if not isinstance(dataset_raw, Mapping):
        raise StudyFileError("dataset: must be a table ([dataset])")
    sampler = _sampler(_table(doc, "sampler"))
    if sampler.name == "cmaes":
        _check_cmaes(mode)
    transforms = parse_transforms(doc.get("transforms"))
    if sampler.name == "grid":
        _check_grid(transforms)
    objective = _objective(doc.get("objective", {"name": "mpi"}))
    references = _references(doc.get("reference"))
    _check_view(objective, transforms, references)
    return StudyConfig(
        name=name,
        description=str(study.get("description", "")),
        mode=mode,
        trials=_trials(study.get("trials", 20)),
        aggregate=_choice(study.get("aggregate", "median"), AGGREGATES, "study.aggregate"),
        retries=_int(study.get("retries", 2), "study.retries", low=0),
        dataset=DatasetSpec.from_mapping(dict(dataset_raw), where="dataset"),
        objective=objective,
        sampler=sampler,
        pruner=_pruner(_table(doc, "pruner"), mode),
        constraints=_constraints(_table(doc, "constraints")),
        transforms=transforms,
        references=references,
        source_text=source_text,
        fidelity=_fidelity(_table(doc, "fidelity")) if "fidelity" in doc else None,
    )


def _trials(value: Any) -> int:
    trials = _int(value, "study.trials", low=1)
    if trials > MAX_TRIALS:
        raise StudyFileError(f"study.trials: {trials} is more than the {MAX_TRIALS:,} allowed")
    return trials


def _objective(raw: Any) -> ObjectiveSection:
    """``[objective]``, checked by building it (unknown names and options are refused)."""
    if not isinstance(raw, Mapping):
        raise StudyFileError("objective: must be a table ([objective])")
    section = ObjectiveSection.from_mapping(raw)
    try:
        section.build()
    except (ParameterError, TypeError) as exc:
        raise StudyFileError(f"objective: {exc}") from None
    return section


def _sampler(raw: dict[str, Any]) -> SamplerSection:
    defaults = SamplerSection()
    seed = raw.get("seed")
    name = _choice(raw.get("name", defaults.name), SAMPLERS, "sampler.name")
    return SamplerSection(
        name=name,
        seed=None if seed is None else _int(seed, "sampler.seed", low=0),
        startup_trials=_int(
            raw.get("startup_trials", defaults.startup_trials), "sampler.startup_trials", low=0
        ),
        multivariate=_multivariate(raw.get("multivariate", defaults.multivariate), name),
    )


def _multivariate(value: Any, sampler: str) -> bool:
    if not isinstance(value, bool):
        raise StudyFileError(f"sampler.multivariate: expected true or false, got {value!r}")
    if value and sampler != "tpe":
        raise StudyFileError(
            f"sampler.multivariate: only the tpe sampler models parameters jointly, not {sampler!r}"
        )
    return value


def _check_cmaes(mode: str) -> None:
    """Optuna's CmaEsSampler takes one objective and needs the ``cmaes`` package."""
    import importlib.util

    if mode == "per-target":
        raise StudyFileError(
            "sampler.name: cmaes takes one objective and per-target studies have four; "
            'use mode = "shared", or tpe, random or nsga2'
        )
    if importlib.util.find_spec("cmaes") is None:
        raise StudyFileError(
            "sampler.name: cmaes needs the cmaes package, which is not installed "
            "(pip install cmaes); tpe, random, grid and nsga2 need nothing more"
        )


def _pruner(raw: dict[str, Any], mode: str) -> PrunerSection:
    defaults = PrunerSection()
    section = PrunerSection(
        name=_choice(raw.get("name", defaults.name), PRUNERS, "pruner.name"),
        warmup_tracks=_int(
            raw.get("warmup_tracks", defaults.warmup_tracks), "pruner.warmup_tracks", low=0
        ),
    )
    if section.name != "none" and mode == "per-target":
        raise StudyFileError(
            "pruner.name: per-target studies have four objectives and Optuna cannot prune "
            'multi-objective trials; use mode = "shared" or pruner = "none"'
        )
    return section


def _constraints(raw: dict[str, Any]) -> Constraints:
    max_slice = raw.get("max_slice_length")
    return Constraints(
        max_slice_length=None
        if max_slice is None
        else _int(max_slice, "constraints.max_slice_length", low=1),
        max_coefficients_per_second=_positive(
            raw.get("max_coefficients_per_second"), "constraints.max_coefficients_per_second"
        ),
        max_memory_mb=_positive(raw.get("max_memory_mb"), "constraints.max_memory_mb"),
    )


def _fidelity(raw: dict[str, Any]) -> FidelitySection:
    """``[fidelity]``: excerpt seconds > 0, promote fraction in (0, 1], startup ≥ 0."""
    defaults = FidelitySection()
    excerpt = _positive(raw.get("excerpt", defaults.excerpt), "fidelity.excerpt")
    promote = _positive(raw.get("promote", defaults.promote), "fidelity.promote")
    assert excerpt is not None and promote is not None  # the defaults are numbers
    if promote > 1:
        raise StudyFileError(f"fidelity.promote: {promote!r} must be a fraction in (0, 1]")
    startup = _int(raw.get("startup", defaults.startup), "fidelity.startup", low=0)
    return FidelitySection(float(excerpt), float(promote), startup)


def _sliced(family: str, fixed: dict[str, Any]) -> bool:
    """Whether a transform entry (its family and fixed parameters) always has slices."""
    return family == "slicqt" or (family == "nsgcq" and fixed.get("mode") == "framewise")


def _check_view(
    objective: ObjectiveSection,
    transforms: tuple[TransformEntry, ...],
    references: tuple[Reference, ...],
) -> None:
    """``view = "ola"`` needs sliced transforms everywhere, and a ``learned:PATH`` model that
    serves each of their families: refused here, before anything is stored."""
    if objective.options.get("view") != "ola":
        return
    from sliceq22.deoverlap.modelfile import ModelFileError, load_model

    entries = [
        (
            f"transforms.{e.label}",
            e.family,
            {r.name: r.value for r in e.ranges if r.kind == "fixed"},
        )
        for e in transforms
    ] + [(f"reference.{r.label}", r.family, dict(r.params)) for r in references]
    deoverlap = str(objective.options.get("deoverlap", "mixture"))
    for where, family, fixed in entries:
        if not _sliced(family, fixed):
            raise StudyFileError(
                f"{where}: objective.view = 'ola' needs a sliced transform (slicqt, or nsgcq "
                f"with mode = 'framewise' fixed); {family} has no slices"
            )
        if deoverlap.startswith("learned:"):
            try:
                load_model(deoverlap.removeprefix("learned:"), family)
            except ModelFileError as exc:
                raise StudyFileError(f"objective.deoverlap: {exc}") from None


def _check_grid(transforms: tuple[TransformEntry, ...]) -> None:
    """The grid sampler needs a finite list of values for every searched parameter."""
    for entry in transforms:
        for rng in entry.ranges:
            if rng.kind in ("int", "float") and rng.step is None:
                raise StudyFileError(
                    f"transforms.{entry.label}.space.{rng.name}: the grid sampler needs "
                    "choices or a step for every searched parameter"
                )


def load_study_file(path: str | Path) -> StudyConfig:
    """Read and validate a study file.

    Raises
    ------
    StudyFileError
        If the file is missing, is not valid TOML, or fails validation.
    """
    path = Path(path)
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is accepted and dropped.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise StudyFileError(f"{path}: study file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyFileError(f"{path}: cannot read the study file ({exc})") from None
    return parse_study_text(text, str(path))


def parse_study_text(text: str, label: str = "<study>") -> StudyConfig:
    """Parse and validate the text of a study file (``label`` prefixes every error)."""
    text = text.removeprefix("\ufeff")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(f"{label}: not valid TOML: {exc}") from None
    try:
        return parse_study(doc, text)
    except StudyFileError as exc:
        raise StudyFileError(f"{label}: {exc}") from None
