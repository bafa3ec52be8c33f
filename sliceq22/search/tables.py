"""What a person reads about a study: the overview of its trials and plain-text tables.

:func:`overview` counts trials by state with the running ones (``sliceq22 show``
and the report); :func:`results_table` is the best-per-target table printed by
``show`` and after ``run``; :func:`format_table` aligns any rows.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from sliceq22 import TARGETS
from sliceq22.search.config import StudyConfig
from sliceq22.search.export import complete_trials, export_best
from sliceq22.search.paired import PairedComparison
from sliceq22.search.scoring import score_of, shared_value
from sliceq22.search.trialattrs import FAILURE, INFEASIBLE, trial_attrs


def overview(study: optuna.Study, budget: int) -> dict[str, Any]:
    """Counts by state (infeasible apart from failed), progress, running trials with age and
    host."""
    trials = study.get_trials(deepcopy=False)
    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    running = []
    now = time.time()
    for t in trials:
        if INFEASIBLE in trial_attrs(t):
            counts["infeasible"] += 1
            failures["infeasible: " + str(trial_attrs(t)[INFEASIBLE])[:120]] += 1
        else:
            counts[t.state.name.lower()] += 1
            if t.state == TrialState.FAIL:
                failures[str(trial_attrs(t).get(FAILURE, "unknown"))[:120]] += 1
        if t.state == TrialState.RUNNING:
            started = t.datetime_start.timestamp() if t.datetime_start else now
            beat = trial_attrs(t).get("heartbeat")
            running.append(
                {
                    "trial": t.number,
                    "age_s": now - started,
                    "host": trial_attrs(t).get("worker_host") or trial_attrs(t).get("driver_host"),
                    "heartbeat_age_s": None if beat is None else now - float(beat),
                    "label": trial_attrs(t).get("label"),
                }
            )
    finished = counts["complete"] + counts["pruned"]
    return {
        "study": study.study_name,
        "budget": budget,
        "finished": finished,
        "counts": dict(counts),
        "failures": dict(failures),
        "running": running,
    }


def format_table(header: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table with aligned columns (numbers right-aligned, 2 decimals)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            # No score (no complete trial, or a target never scored) reads as a dash, not "nan".
            return "-" if not math.isfinite(v) else f"{v:.2f}"
        return str(v)

    text = [[cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(header)
    ]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) if rows else False
        for i in range(len(header))
    ]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(r) for r in text)
    return "\n".join(out)


def _short_params(params: dict[str, Any], limit: int = 70) -> str:
    text = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def results_table(study: optuna.Study, config: StudyConfig) -> str:
    """The final table: best per target (and shared) beside the reference scores."""
    doc = export_best(study, config)
    refs = doc["reference"]
    header = ["target", "best", "trial", "transform", "parameters"] + [
        f"ref {label}" for label in refs
    ]
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    rows = []
    for target in TARGETS:
        entry = doc["targets"].get(target)
        ref_scores = [score_of(refs[label]["scores"], target) for label in refs]
        if entry is None:
            rows.append([target, math.nan, "-", "-", "-", *ref_scores])
            continue
        shown = trial_attrs(by_number[entry["trial"]]).get("transform_params", {})
        rows.append(
            [
                target,
                entry["score"],
                entry["trial"],
                entry["label"],
                _short_params(shown),
                *ref_scores,
            ]
        )
    if doc["shared"] is not None:
        s = doc["shared"]
        shown = trial_attrs(by_number[s["trial"]]).get("transform_params", {})
        ref_shared = [shared_value(refs[label]["scores"]) for label in refs]
        rows.append(
            ["shared", s["score"], s["trial"], s["label"], _short_params(shown), *ref_shared]
        )
    title = (
        f"{config.name}: {config.aggregate} over tracks of {config.objective.describe()}"
        f" ({config.objective.unit})"
    )
    notes = [
        f"{target}: no score ({why})"
        for target, why in unscored_reasons(study).items()
        if target not in doc["targets"]
    ]
    lines = [title, format_table(header, rows), *notes, *view_cost_lines(study, config)]
    lines += paired_lines(doc, config)
    return "\n".join(lines + confirmation_lines(study, config, doc))


def paired_lines(doc: dict[str, Any], config: StudyConfig) -> list[str]:
    """Per reference, the best's per-track paired comparison with it (mean difference,
    95 % bootstrap interval, signed-rank p-value), one line per target (and shared)."""
    rows = [(t, doc["targets"][t]) for t in TARGETS if t in doc["targets"]]
    if doc["shared"] is not None:
        rows.append(("shared", doc["shared"]))
    lines = []
    for label in doc["reference"]:
        lines.append(f"best − ref {label}, paired over tracks:")
        for name, entry in rows:
            result = (entry.get("versus") or {}).get(label)
            if result is None:
                lines.append(f"  {name}: no track scored by both")
                continue
            lines.append(f"  {name}: {PairedComparison(**result).describe(config.objective.unit)}")
    return lines


def unscored_reasons(study: optuna.Study) -> dict[str, str]:
    """Why targets had no score in the study's complete trials (the first reason stored)."""
    reasons: dict[str, str] = {}
    for trial in complete_trials(study):
        for target, why in (trial_attrs(trial).get("unscored") or {}).items():
            reasons.setdefault(target, str(why))
    return reasons


def confirmation_lines(
    study: optuna.Study, config: StudyConfig, doc: dict[str, Any] | None = None
) -> list[str]:
    """The stored confirmation (``sliceq22 confirm``): each re-scored candidate's search and
    held-out scores, and each best's paired comparison with the references on held-out tracks."""
    doc = doc if doc is not None else export_best(study, config)
    confirmation = doc.get("confirmation")
    if not confirmation:
        return []
    unit = config.objective.unit
    shared = config.mode == "shared"
    columns = ["shared"] if shared else list(TARGETS)
    header = ["trial", "transform", "scores"] + columns
    rows: list[list[Any]] = []
    for c in confirmation["candidates"]:
        name = f"reference:{c['reference']}" if c.get("reference") else c["label"]
        for kind, scores in (("search", c["search"]), ("held out", c["held_out"])):
            values = [shared_value(scores)] if shared else [score_of(scores, t) for t in columns]
            rows.append([c["trial"], name, kind, *values])
    tracks = confirmation["tracks"]
    lines = [
        "",
        f"confirmation on {len(tracks)} held-out track(s) of {confirmation['dataset']} "
        f"({unit}, top {confirmation['top']}):",
        format_table(header, rows),
    ]
    entries = [(t, doc["targets"][t]) for t in TARGETS if t in doc["targets"]]
    if doc["shared"] is not None:
        entries.append(("shared", doc["shared"]))
    for name, entry in entries:
        held = entry.get("held_out")
        if held is None:
            continue
        for label, result in held["versus"].items():
            if result is not None:
                lines.append(
                    f"  {name}, best − ref {label} held out: "
                    + PairedComparison(**result).describe(unit)
                )
    return lines


def view_costs(trials: Iterable[FrozenTrial]) -> dict[str, list[tuple[int, float]]]:
    """Through the OLA view (mpi ``view = "ola"``): per target, ``(trial number, plain − view)``
    of every trial that stores ``plain_scores`` (the plain MPI of the same pass) and two
    finite scores, in trial order."""
    costs: dict[str, list[tuple[int, float]]] = {t: [] for t in TARGETS}
    for trial in trials:
        attrs = trial_attrs(trial)
        plain = attrs.get("plain_scores")
        if not isinstance(plain, dict) or not isinstance(attrs.get("scores"), dict):
            continue
        for target in TARGETS:
            a, b = score_of(plain, target), score_of(attrs["scores"], target)
            if math.isfinite(a) and math.isfinite(b):
                costs[target].append((trial.number, a - b))
    return costs


def view_cost_lines(study: optuna.Study, config: StudyConfig) -> list[str]:
    """Through the OLA view (mpi ``view = "ola"``): what the view costs, per target, as the
    median over complete trials of plain MPI − MPI through the view (the same pass)."""
    costs = view_costs(complete_trials(study))
    if not any(costs.values()):
        return []
    unit = config.objective.unit
    parts = [f"{t} {float(np.median([c for _, c in v])):.2f}" for t, v in costs.items() if v]
    n = max(len(v) for v in costs.values())
    return [
        f"cost of the OLA view (plain − view, median over {n} trials, {unit}): " + ", ".join(parts)
    ]
