"""The optimisation-history figure of a report: every trial's score and the best so far.

Per-target mode: one panel per target (the Pareto front of four objectives
cannot be drawn; each target's best-so-far is what the export keeps). Shared
mode: the aggregate (best so far, pruned trials at their partial value) above
the four per-target scores of each trial. Reference trials are horizontal
lines. Scores are in the objective's unit (:attr:`StudyReport.unit`).
"""

from __future__ import annotations

from typing import Any, cast

import plotly.graph_objects as go
from optuna.trial import FrozenTrial
from plotly.subplots import make_subplots

from sliceq22 import TARGETS
from sliceq22.report.collect import StudyReport
from sliceq22.report.figure_style import (
    COLOURS,
    best_so_far,
    esc,
    finish,
    params_text,
    reference_colour,
)
from sliceq22.search.trialattrs import trial_attrs


def history(rep: StudyReport) -> go.Figure | None:
    """Optimisation history of a study (``None`` before its first complete trial).

    Parameters
    ----------
    rep : StudyReport
        The study; scores are drawn in ``rep.unit`` against the trial number.

    Returns
    -------
    plotly.graph_objects.Figure or None
        Four panels (per-target mode) or two (shared mode).
    """
    if not rep.complete:
        return None
    if rep.mode == "per-target":
        return _per_target_history(rep)
    return _shared_history(rep)


def _span(rep: StudyReport) -> list[int]:
    """First and last trial number drawn: the x extent of the reference lines."""
    numbers = [t.number for t in rep.complete]
    return [min(numbers), max(numbers + [t.number for t in rep.pruned])]


def _best_line(numbers: list[int], ys: list[float], colour: str, **legend: Any) -> go.Scatter:
    return go.Scatter(
        x=numbers,
        y=best_so_far(ys, legend.pop("maximize")),
        mode="lines",
        name="best so far",
        line={"color": colour, "shape": "hv", "width": 2},
        hoverinfo="skip",
        **legend,
    )


def _reference_lines(
    rep: StudyReport, column: str, span: list[int], **legend: Any
) -> list[go.Scatter]:
    """One dashed horizontal line per reference trial at its ``column`` score."""
    lines = []
    for k, (label, ref) in enumerate(rep.reference_trials().items()):
        y = rep.score(ref, column)
        group = {"legendgroup": f"ref{k}", **legend} if legend else {}
        lines.append(
            go.Scatter(
                x=span,
                y=[y, y],
                mode="lines",
                name=esc(label),
                line={"color": reference_colour(k), "dash": "dash", "width": 1.5},
                hovertemplate=f"{esc(label)}: %{{y:.3f}} {esc(rep.unit)}<extra></extra>",
                **group,
            )
        )
    return lines


def _per_target_history(rep: StudyReport) -> go.Figure:
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=list(TARGETS),
        shared_xaxes=True,
        vertical_spacing=0.12,
        horizontal_spacing=0.08,
    )
    numbers = [t.number for t in rep.complete]
    hover = [params_text(t) for t in rep.complete]
    span = _span(rep)
    unit = esc(rep.unit)
    for i, target in enumerate(TARGETS):
        row, col = i // 2 + 1, i % 2 + 1
        ys = [rep.score(t, target) for t in rep.complete]
        first = i == 0
        trials = go.Scatter(
            x=numbers,
            y=ys,
            mode="markers",
            name="trial",
            legendgroup="trial",
            showlegend=first,
            marker={"color": COLOURS[target], "size": 7, "opacity": 0.7},
            text=hover,
            hovertemplate=f"trial %{{x}}<br>%{{y:.3f}} {unit}<br>%{{text}}<extra>{target}</extra>",
        )
        best = _best_line(
            numbers,
            ys,
            COLOURS[target],
            maximize=rep.maximize,
            legendgroup="best",
            showlegend=first,
        )
        for trace in [trials, best, *_reference_lines(rep, target, span, showlegend=first)]:
            fig.add_trace(trace, row=row, col=col)
        fig.update_yaxes(
            title_text=f"{esc(rep.objective_label)} ({unit})" if col == 1 else None,
            row=row,
            col=col,
        )
    fig.update_xaxes(title_text="trial", row=2)
    return finish(fig, "Optimisation history per target", 620)


def _pruned_markers(rep: StudyReport) -> go.Scatter:
    """Pruned trials at their partial (shared) value."""
    return go.Scatter(
        x=[t.number for t in rep.pruned],
        y=[rep.score(t, "shared") for t in rep.pruned],
        mode="markers",
        name="pruned (partial)",
        marker={"symbol": "x", "color": "#999999", "size": 8},
        text=[
            f"{trial_attrs(t).get('tracks_evaluated', '?')} track(s) evaluated" for t in rep.pruned
        ],
        hovertemplate=f"trial %{{x}} pruned<br>%{{y:.3f}} {esc(rep.unit)}<br>%{{text}}"
        "<extra></extra>",
    )


def _aggregate_value(rep: StudyReport, trial: FrozenTrial) -> float:
    # A complete trial with values has a value in a shared (single-objective) study.
    return float(cast(float, trial.value)) if trial.values else rep.score(trial, "shared")


def _shared_history(rep: StudyReport) -> go.Figure:
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=["aggregate (the study's objective)", "per-target scores of each trial"],
    )
    unit = esc(rep.unit)
    numbers = [t.number for t in rep.complete]
    ys = [_aggregate_value(rep, t) for t in rep.complete]
    aggregate = go.Scatter(
        x=numbers,
        y=ys,
        mode="markers",
        name="trial (aggregate)",
        text=[params_text(t) for t in rep.complete],
        marker={"color": COLOURS["shared"], "size": 8},
        hovertemplate=f"trial %{{x}}<br>%{{y:.3f}} {unit}<br>%{{text}}<extra></extra>",
    )
    top = [aggregate, _best_line(numbers, ys, COLOURS["shared"], maximize=rep.maximize)]
    if rep.pruned:
        top.append(_pruned_markers(rep))
    for trace in [*top, *_reference_lines(rep, "shared", _span(rep))]:
        fig.add_trace(trace, row=1, col=1)
    for target in TARGETS:
        fig.add_trace(
            go.Scatter(
                x=numbers,
                y=[rep.score(t, target) for t in rep.complete],
                mode="markers+lines",
                name=target,
                line={"color": COLOURS[target], "width": 1},
                marker={"size": 6},
                hovertemplate=f"trial %{{x}}<br>%{{y:.3f}} {unit}<extra>{target}</extra>",
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text=unit)
    fig.update_xaxes(title_text="trial", row=2, col=1)
    return finish(
        fig, f"Optimisation history ({rep.export['aggregate']} over tracks, mean over targets)", 640
    )


__all__ = ["history"]
