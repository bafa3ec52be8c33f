"""Score against the searched parameters: slice plots and parallel coordinates, per entry.

Scores are in the objective's unit (:attr:`StudyReport.unit`); categorical
parameters sit at their choice's index, log-searched ones on a log axis.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from optuna.trial import FrozenTrial
from plotly.subplots import make_subplots

from sliceq22 import TARGETS
from sliceq22.report.collect import SearchedParam, StudyReport
from sliceq22.report.figure_style import COLOURS, column_title, esc, finish


def _choices(param: SearchedParam, trials: list[FrozenTrial]) -> list[Any]:
    choices: list[Any] = []
    for t in trials:
        for c in getattr(t.distributions.get(param.key), "choices", ()):
            if c not in choices:
                choices.append(c)
    return choices


def _axis_values(
    param: SearchedParam, trials: list[FrozenTrial], offset: float
) -> tuple[list[Any], dict[str, Any]]:
    """x values of a slice panel and its axis settings.

    Categorical values sit at their choice's index plus ``offset``, so the
    score columns stand side by side instead of hiding each other.
    """
    values = [t.params[param.key] for t in trials]
    if param.kind == "categorical":
        choices = _choices(param, trials)
        index = {repr(c): i for i, c in enumerate(choices)}
        axis = {
            "tickvals": list(range(len(choices))),
            "ticktext": [esc(c) for c in choices],
            "range": [-0.5, len(choices) - 0.5],
        }
        return [index[repr(v)] + offset for v in values], axis
    return values, {"type": "log"} if param.log else {}


def slices(rep: StudyReport) -> list[tuple[str, go.Figure]]:
    """Slice plots: score against each searched parameter, one figure per entry, a panel per
    parameter."""
    out: list[tuple[str, go.Figure]] = []
    unit = esc(rep.unit)
    groups: dict[str, list[SearchedParam]] = {}
    for p in rep.params:
        groups.setdefault(p.entry, []).append(p)
    for entry, params in groups.items():
        trials = rep.searched if entry == "" else rep.entry_trials(entry)
        params = [p for p in params if any(p.key in t.params for t in trials)]
        if not trials or not params:
            continue
        cols = min(3, len(params))
        rows = math.ceil(len(params) / cols)
        fig = make_subplots(
            rows=rows,
            cols=cols,
            subplot_titles=[esc(p.name) for p in params],
            horizontal_spacing=0.07,
            vertical_spacing=0.18,
        )
        for i, p in enumerate(params):
            row, col = i // cols + 1, i % cols + 1
            have = [t for t in trials if p.key in t.params]
            text = [f"trial {t.number}: {esc(t.params[p.key])}" for t in have]
            columns = rep.columns()
            for k, column in enumerate(columns):
                dodge = 0.3 * (k / (len(columns) - 1) - 0.5) if len(columns) > 1 else 0.0
                xs, axis = _axis_values(p, have, dodge)
                fig.add_trace(
                    go.Scatter(
                        x=xs,
                        y=[rep.score(t, column) for t in have],
                        mode="markers",
                        name=column_title(column),
                        legendgroup=column,
                        showlegend=i == 0,
                        text=text,
                        marker={
                            "color": COLOURS[column],
                            "size": 8 if column == "shared" else 7,
                            "opacity": 0.75,
                            "symbol": "diamond" if column == "shared" else "circle",
                        },
                        hovertemplate=f"%{{text}}<br>%{{y:.3f}} {unit}<extra>{column}</extra>",
                    ),
                    row=row,
                    col=col,
                )
            fig.update_xaxes(row=row, col=col, **axis)
            if col == 1:
                fig.update_yaxes(title_text=esc(rep.unit), row=row, col=col)
        title = "Score by transform entry" if entry == "" else f"Slice plots: {entry}"
        out.append((entry, finish(fig, title, 180 + 300 * rows)))
    return out


def _dimension(param: SearchedParam, trials: list[FrozenTrial]) -> dict[str, Any]:
    values = [t.params[param.key] for t in trials]
    if param.kind == "categorical":
        choices = _choices(param, trials)
        index = {repr(c): i for i, c in enumerate(choices)}
        return {
            "label": esc(param.name),
            "values": [index[repr(v)] for v in values],
            "tickvals": list(range(len(choices))),
            "ticktext": [esc(c) for c in choices],
        }
    if param.log:
        logs = np.log10(np.asarray(values, dtype=float))
        ticks = np.linspace(logs.min(), logs.max(), 5) if logs.max() > logs.min() else logs[:1]
        return {
            "label": esc(param.name) + " (log)",
            "values": logs.tolist(),
            "tickvals": ticks.tolist(),
            "ticktext": [f"{10**v:.4g}" for v in ticks],
        }
    return {"label": esc(param.name), "values": [float(v) for v in values]}


def parallel(rep: StudyReport) -> list[tuple[str, go.Figure]]:
    """Parallel coordinates per entry: searched parameters, then the score columns; colour = mean
    over targets."""
    out: list[tuple[str, go.Figure]] = []
    for entry in rep.entries:
        trials = rep.entry_trials(entry)
        params = [
            p for p in rep.params if p.entry == entry and all(p.key in t.params for t in trials)
        ]
        if len(trials) < 2 or not params:
            continue
        dims = [_dimension(p, trials) for p in params]
        for column in TARGETS:
            dims.append({"label": column, "values": [rep.score(t, column) for t in trials]})
        colour = [rep.score(t, "shared") for t in trials]
        fig = go.Figure(
            go.Parcoords(
                dimensions=dims,
                line={
                    "color": colour,
                    "colorscale": "Viridis",
                    "showscale": True,
                    "reversescale": not rep.maximize,
                    "colorbar": {"title": {"text": f"mean over<br>targets ({esc(rep.unit)})"}},
                },
            )
        )
        fig = finish(fig, f"Parallel coordinates: {entry} ({len(trials)} trials)", 420)
        fig.update_layout(margin={"l": 70, "r": 40, "t": 110, "b": 40})
        out.append((entry, fig))
    return out


__all__ = ["parallel", "slices"]
