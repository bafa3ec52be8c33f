"""The cost of the OLA view across a study: plain MPI minus MPI through the view, per target.

A study through the view (mpi ``view = "ola"``) stores beside each trial's
scores the plain MPI of the same pass (``plain_scores``), so every complete
trial says what the view and its de-overlap cost that candidate. The report
shows the spread of that cost per target (a box with every trial as a point,
hover: the trial) and a table of its median, range and trial count, the same
medians ``sliceq22 show`` prints (:func:`~sliceq22.search.tables.view_costs`).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sliceq22 import TARGETS
from sliceq22.report.collect import StudyReport
from sliceq22.report.figure_style import COLOURS, esc, finish
from sliceq22.report.html import cell_number, table
from sliceq22.search.tables import view_costs


def costs_of(rep: StudyReport) -> dict[str, list[tuple[int, float]]]:
    """Per target, ``(trial, plain − view)`` of the study's complete trials (empty: no view)."""
    return view_costs(rep.complete)


def view_cost_figure(rep: StudyReport) -> go.Figure | None:
    """One box per target of the view's cost over the complete trials, every trial a point.

    Returns
    -------
    plotly.graph_objects.Figure or None
        ``None`` when no trial stores ``plain_scores`` (the study scores the
        plain coefficients).
    """
    costs = costs_of(rep)
    if not any(costs.values()):
        return None
    fig = go.Figure()
    for target in TARGETS:
        points = costs[target]
        if not points:
            continue
        median = float(np.median([c for _, c in points]))
        fig.add_trace(
            go.Box(
                x=[target] * len(points),
                y=[c for _, c in points],
                text=[f"trial {n}" for n, _ in points],
                name=f"{target} (median {median:.2f} {esc(rep.unit)})",
                boxpoints="all",
                jitter=0.35,
                pointpos=0,
                marker={"color": COLOURS[target], "size": 6},
                line={"color": COLOURS[target]},
                hovertemplate=f"%{{text}}<br>%{{y:.3f}} {esc(rep.unit)}<extra>{target}</extra>",
            )
        )
    fig.add_hline(y=0.0, line={"color": "#999999", "width": 1, "dash": "dot"})
    fig.update_layout(
        yaxis_title=f"plain − through the view ({esc(rep.unit)})",
        xaxis={"categoryorder": "array", "categoryarray": list(TARGETS)},
    )
    n = max(len(v) for v in costs.values())
    return finish(fig, f"Cost of the OLA view over {n} complete trials", 420)


def view_cost_table(rep: StudyReport) -> str:
    """HTML table (``id="view-cost"``): per target the median, lowest and highest cost, trials.

    Empty string when no trial stores ``plain_scores``.
    """
    costs = costs_of(rep)
    if not any(costs.values()):
        return ""
    rows = []
    for target in TARGETS:
        values = [c for _, c in costs[target]]
        if not values:
            continue
        rows.append(
            [
                f'<td data-target="{target}">{target}</td>',
                cell_number(float(np.median(values)), attrs=f' data-median="{target}"'),
                cell_number(min(values)),
                cell_number(max(values)),
                f'<td class="num">{len(values)}</td>',
            ]
        )
    unit = esc(rep.unit)
    header = ["target", f"median ({unit})", f"lowest ({unit})", f"highest ({unit})", "trials"]
    return table(header, rows, attrs='id="view-cost"')


__all__ = ["costs_of", "view_cost_figure", "view_cost_table"]
