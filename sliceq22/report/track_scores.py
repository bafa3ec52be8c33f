"""The per-track figure of a report: every track's score under the best settings and references."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from optuna.trial import FrozenTrial

from sliceq22 import TARGETS
from sliceq22.report.collect import StudyReport
from sliceq22.report.figure_style import BEST_COLOUR, COLOURS, esc, finish, reference_colour
from sliceq22.search.trialattrs import trial_attrs


def _track_points(trial: FrozenTrial, target: str) -> tuple[list[str], list[float]]:
    per_track = trial_attrs(trial).get("track_scores") or {}
    names, values = [], []
    for name, scores in per_track.items():
        v = scores.get(target)
        if v is not None and not math.isnan(float(v)):
            names.append(esc(name))
            values.append(float(v))
    return names, values


def per_track(rep: StudyReport) -> go.Figure | None:
    """Per-track scores of the best setting for each target (box + every track as a point).

    Beside it, the shared best (shared mode) and each reference on the same
    tracks, so a reader sees spread and pairing, not just one aggregate.
    """
    best = rep.export["targets"]
    if not best:
        return None
    series: list[tuple[str, str, dict[str, FrozenTrial]]] = [
        (
            "best for the target",
            BEST_COLOUR,
            {t: rep.trials_by_number[e["trial"]] for t, e in best.items()},
        )
    ]
    if rep.export.get("shared"):
        trial = rep.trials_by_number[rep.export["shared"]["trial"]]
        series.append(("shared best", COLOURS["shared"], {t: trial for t in TARGETS}))
    for k, (label, ref) in enumerate(rep.reference_trials().items()):
        series.append((esc(label), reference_colour(k), {t: ref for t in TARGETS}))
    fig = go.Figure()
    for name, colour, trials in series:
        xs, ys, text = [], [], []
        for target in TARGETS:
            if target not in trials:
                continue
            names, values = _track_points(trials[target], target)
            xs += [target] * len(values)
            ys += values
            text += [f"{n} (trial {trials[target].number})" for n in names]
        fig.add_trace(
            go.Box(
                x=xs,
                y=ys,
                name=name,
                text=text,
                boxpoints="all",
                jitter=0.35,
                pointpos=0,
                marker={"color": colour, "size": 6},
                line={"color": colour},
                hovertemplate=f"%{{text}}<br>%{{y:.3f}} {esc(rep.unit)}<extra>%{{x}}</extra>",
            )
        )
    fig.update_layout(
        boxmode="group",
        yaxis_title=f"{esc(rep.objective_label)} per track ({esc(rep.unit)})",
        xaxis={"categoryorder": "array", "categoryarray": list(TARGETS)},
    )
    return finish(fig, "Per-track scores of the best settings", 460)


__all__ = ["per_track"]
