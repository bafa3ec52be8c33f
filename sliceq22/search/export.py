"""The best trials of a study and the ``sliceq22 export`` document made of them.

:func:`export_best` picks the best complete trial per target (and the shared
best) beside the reference scores; :func:`write_export` writes it as strict
JSON, or as one constructor-parameter file per target. The tables a person
reads (``show``, the table after ``run``) are in :mod:`sliceq22.search.tables`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sliceq22 import TARGETS
from sliceq22.errors import Sliceq22Error
from sliceq22.search import paired
from sliceq22.search.config import StudyConfig
from sliceq22.search.trialattrs import REFERENCE, trial_attrs
from sliceq22.transforms import transform_class

#: The study attribute :mod:`sliceq22.search.confirm` stores (named here: confirm imports us).
CONFIRMATION = "sliceq22.confirmation"


def _maximize(study: optuna.Study) -> bool:
    return study.directions[0] == optuna.study.StudyDirection.MAXIMIZE


def complete_trials(study: optuna.Study) -> list[FrozenTrial]:
    """COMPLETE trials that carry per-target scores."""
    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if isinstance(trial_attrs(t).get("scores"), dict)
    ]


def constructor_params(trial: FrozenTrial) -> dict[str, Any]:
    """The trial's transform parameters, complete (defaults filled), under the constructor's names.

    Families that wrap a library whose constructor takes a subset of our
    parameters (nsgcq: Essentia's ``NSGConstantQ``) say so with an
    ``export_params`` class method.
    """
    cls = transform_class(trial_attrs(trial)["family"])
    params = cls.validate(trial_attrs(trial).get("transform_params", {}))
    exporter = getattr(cls, "export_params", None)
    return exporter(params) if exporter is not None else params


def essentia_params(
    family: str, params: dict[str, Any], rate: int = 44100
) -> dict[str, Any] | None:
    """For ``nsgcq``: the keyword arguments ``essentia.standard.NSGConstantQ`` takes
    (all but ``inputSize``), with ``maxFrequency`` made safe for Essentia's
    near-Nyquist bug (see :meth:`NsgConstantQ.essentia_parameters`); ``None`` for
    other families. ``frameSize``/``transitionSize`` of framewise mode are not
    NSGConstantQ arguments and stay in ``params``."""
    if family != "nsgcq":
        return None
    from sliceq22.transforms.nsgcq import NsgConstantQ  # = transform_class("nsgcq")

    return NsgConstantQ.essentia_parameters(params, rate=rate)


def _entry(trial: FrozenTrial, score: float) -> dict[str, Any]:
    family = trial_attrs(trial)["family"]
    params = constructor_params(trial)
    entry = {
        "family": family,
        "label": trial_attrs(trial).get("label"),
        "params": params,
        "score": float(score),
        "trial": trial.number,
    }
    essentia = essentia_params(family, params)
    if essentia is not None:
        entry["essentia"] = essentia
    return entry


def best_per_target(study: optuna.Study) -> dict[str, tuple[FrozenTrial, float]]:
    """For each target, the complete trial with the best score for it."""
    sign = 1.0 if _maximize(study) else -1.0
    best: dict[str, tuple[FrozenTrial, float]] = {}
    for trial in complete_trials(study):
        for target in TARGETS:
            score = trial_attrs(trial)["scores"].get(target)
            if not isinstance(score, int | float) or not math.isfinite(score):
                continue  # no score for this target (stored as null, with its reason)
            if target not in best or sign * score > sign * best[target][1]:
                best[target] = (trial, score)
    return best


def best_shared(study: optuna.Study) -> tuple[FrozenTrial, float] | None:
    """The best trial of a shared (single-objective) study, ``None`` in per-target mode."""
    if len(study.directions) != 1 or not complete_trials(study):
        return None
    trial = study.best_trial
    value = trial.value
    assert value is not None  # a complete single-objective trial
    return trial, float(value)


def reference_trials(study: optuna.Study) -> dict[str, FrozenTrial]:
    """Complete reference trials by label (e.g. the STFT control)."""
    return {
        trial_attrs(t)[REFERENCE]: t for t in complete_trials(study) if REFERENCE in trial_attrs(t)
    }


def export_best(study: optuna.Study, config: StudyConfig) -> dict[str, Any]:
    """The export document: best per target, the shared best, and the reference scores.

    Shape::

        {"study": str, "mode": "shared"|"per-target", "objective": {...},
         "targets": {target: {"family", "label", "params", "score", "trial", "versus"}},
         "shared": {"family", "label", "params", "score", "trial", "scores", "versus"} | None,
         "reference": {label: {"family", "params", "scores", "trial"}}}

    ``versus`` holds, per reference label, the per-track paired comparison of
    the best with that reference (:class:`~sliceq22.search.paired.PairedComparison`:
    mean difference, bootstrap interval, signed-rank p-value), or ``null``
    when they share no scored track.
    """
    shared = best_shared(study) if config.mode == "shared" else None
    doc: dict[str, Any] = {
        "study": study.study_name,
        "mode": config.mode,
        "objective": config.objective.as_dict(),
        # every option with its default (e.g. mpi's view and deoverlap), as the trials used them
        "objective_options": config.objective.build().options,
        "aggregate": config.aggregate,
        "targets": {
            t: _entry(trial, score) for t, (trial, score) in best_per_target(study).items()
        },
        "shared": None,
        "reference": {},
    }
    if shared is not None:
        trial, value = shared
        doc["shared"] = {**_entry(trial, value), "scores": trial_attrs(trial)["scores"]}
    references = reference_trials(study)
    maximize = _maximize(study)
    for target, (trial, _) in best_per_target(study).items():
        doc["targets"][target]["versus"] = _versus(trial, references, target, maximize)
        plain = trial_attrs(trial).get("plain_scores")
        if isinstance(plain, dict):  # MPI through the OLA view: the plain MPI of the same pass
            doc["targets"][target]["plain_score"] = plain.get(target)
    if shared is not None:
        doc["shared"]["versus"] = _versus(shared[0], references, None, maximize)
    confirmation = study.user_attrs.get(CONFIRMATION)
    if isinstance(confirmation, dict):
        doc["confirmation"] = confirmation
        _add_held_out(doc, confirmation, maximize)
    for label, trial in references.items():
        doc["reference"][label] = {
            "family": trial_attrs(trial)["family"],
            "params": constructor_params(trial),
            "scores": trial_attrs(trial)["scores"],
            "trial": trial.number,
        }
    return doc


def _versus(
    best: FrozenTrial, references: dict[str, FrozenTrial], target: str | None, maximize: bool
) -> dict[str, Any]:
    """Paired comparison of ``best`` with each reference on ``target`` (``None``: shared)."""
    mine = paired.track_scores(trial_attrs(best), target)
    out: dict[str, Any] = {}
    for label, ref in references.items():
        theirs = paired.track_scores(trial_attrs(ref), target)
        result = paired.compare(paired.differences(mine, theirs), maximize=maximize)
        out[label] = None if result is None else result.as_dict()
    return out


def _add_held_out(doc: dict[str, Any], confirmation: dict[str, Any], maximize: bool) -> None:
    """Give each best that was re-scored on held-out tracks its ``held_out`` entry: the score
    there and the paired comparison with each reference there."""
    by_trial = {c["trial"]: c for c in confirmation.get("candidates", [])}
    refs = {c["reference"]: c for c in by_trial.values() if c.get("reference")}
    entries = [(t, doc["targets"][t]) for t in doc["targets"]]
    if doc["shared"] is not None:
        entries.append((None, doc["shared"]))
    for target, entry in entries:
        mine = by_trial.get(entry["trial"])
        if mine is None or "failure" in mine:
            continue
        held = mine["held_out"]
        score = paired.shared_of(held) if target is None else held.get(target)
        versus = {}
        for label, ref in refs.items():
            diffs = paired.differences(
                paired.track_scores({"track_scores": mine["held_out_tracks"]}, target),
                paired.track_scores({"track_scores": ref["held_out_tracks"]}, target),
            )
            result = paired.compare(diffs, maximize=maximize)
            versus[label] = None if result is None else result.as_dict()
        entry["held_out"] = {"score": score, "versus": versus}


def strict_json(value: Any, **kwargs: Any) -> str:
    """``value`` as standard JSON: a non-finite number becomes ``null`` (never NaN/Infinity)."""
    from sliceq22.jsonsafe import json_safe

    return json.dumps(json_safe(value), allow_nan=False, **kwargs)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise Sliceq22Error(f"cannot write {path}: {exc.strerror or exc}") from None


def write_export(doc: dict[str, Any], out: Path, fmt: str) -> list[Path]:
    """Write the export as one JSON file (``json``) or one parameter file per target (``essentia``).

    Raises
    ------
    Sliceq22Error
        A file cannot be written (a folder in the way, no permission, disk full).
    """
    if fmt == "json":
        _write(out, strict_json(doc, indent=2, sort_keys=False) + "\n")
        return [out]
    written = []
    stem = out.name[: -len(".json")] if out.name.endswith(".json") else out.name
    for target, entry in doc["targets"].items():
        path = out.with_name(f"{stem}-{target}.json")
        _write(path, strict_json(entry.get("essentia", entry["params"]), indent=2) + "\n")
        written.append(path)
    return written
