"""The study figures of a report: history, importances, slices, parallel coordinates, per-track
scores.

Each builder takes a :class:`~sliceq22.report.collect.StudyReport` and returns
plotly figures (or ``None`` and a note saying why a figure cannot be drawn,
e.g. too few trials for importances). User-supplied strings (labels, track
names) are HTML-escaped before they go into a figure: plotly renders a subset
of HTML in its text, and escaped entities are shown literally.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import optuna
import plotly.graph_objects as go
from optuna.trial import FrozenTrial
from plotly.subplots import make_subplots

from sliceq22 import TARGETS
from sliceq22.report.collect import SearchedParam, StudyReport
from sliceq22.search.scoring import score_of, shared_value
from sliceq22.search.trialattrs import trial_attrs

#: One colour per score column, the same in every figure.
COLOURS: dict[str, str] = {
    "drums": "#d62728",
    "bass": "#1f77b4",
    "other": "#2ca02c",
    "vocals": "#ff7f0e",
    "shared": "#111111",
}
#: Colours of reference trials (the STFT control first).
REFERENCE_COLOURS = ("#7f7f7f", "#9467bd", "#8c564b", "#e377c2")
#: Colour of "the best setting for each target" in per-track plots.
BEST_COLOUR = "#3366cc"
#: Plot template: plain white, light grid.
TEMPLATE = "plotly_white"


def esc(text: Any) -> str:
    """HTML-escape a user-supplied value for plotly text (shown literally by plotly)."""
    return html.escape(str(text), quote=True)


def _column_title(column: str) -> str:
    return "shared (mean over targets)" if column == "shared" else column


def _params_text(trial: FrozenTrial, limit: int = 90) -> str:
    params = trial_attrs(trial).get("transform_params") or {}
    text = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return esc(f"{trial_attrs(trial).get('label', '?')}: {text}")


def _best_so_far(values: Sequence[float], maximize: bool) -> list[float]:
    out: list[float] = []
    best = math.nan
    for v in values:
        if not math.isnan(v) and (math.isnan(best) or (v > best if maximize else v < best)):
            best = v
        out.append(best)
    return out


def _finish(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": esc(title), "x": 0.0, "xref": "paper", "xanchor": "left"},
        template=TEMPLATE,
        height=height,
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
    )
    return fig


# ---------------------------------------------------------------------------- history
def history(rep: StudyReport) -> go.Figure | None:
    """Optimisation history.

    Per-target mode: one panel per target with every trial's score and the
    best so far (the Pareto front of four objectives cannot be drawn; each
    target's best-so-far is what the export keeps). Shared mode: the aggregate
    (best so far, pruned trials at their partial value) above the four
    per-target scores of each trial. Reference trials are horizontal lines.
    """
    if not rep.complete:
        return None
    refs = rep.reference_trials()
    numbers = [t.number for t in rep.complete]
    span = [min(numbers), max(numbers + [t.number for t in rep.pruned])]
    hover = [_params_text(t) for t in rep.complete]
    if rep.mode == "per-target":
        fig = make_subplots(
            rows=2,
            cols=2,
            subplot_titles=list(TARGETS),
            shared_xaxes=True,
            vertical_spacing=0.12,
            horizontal_spacing=0.08,
        )
        for i, target in enumerate(TARGETS):
            row, col = i // 2 + 1, i % 2 + 1
            ys = [rep.score(t, target) for t in rep.complete]
            first = i == 0
            fig.add_trace(
                go.Scatter(
                    x=numbers,
                    y=ys,
                    mode="markers",
                    name="trial",
                    legendgroup="trial",
                    showlegend=first,
                    marker={"color": COLOURS[target], "size": 7, "opacity": 0.7},
                    text=hover,
                    hovertemplate="trial %{x}<br>%{y:.3f} dB<br>%{text}<extra>"
                    + target
                    + "</extra>",
                ),
                row=row,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=numbers,
                    y=_best_so_far(ys, rep.maximize),
                    mode="lines",
                    name="best so far",
                    legendgroup="best",
                    showlegend=first,
                    line={"color": COLOURS[target], "shape": "hv", "width": 2},
                    hoverinfo="skip",
                ),
                row=row,
                col=col,
            )
            for k, (label, ref) in enumerate(refs.items()):
                y = rep.score(ref, target)
                fig.add_trace(
                    go.Scatter(
                        x=span,
                        y=[y, y],
                        mode="lines",
                        name=esc(label),
                        legendgroup=f"ref{k}",
                        showlegend=first,
                        line={
                            "color": REFERENCE_COLOURS[k % len(REFERENCE_COLOURS)],
                            "dash": "dash",
                            "width": 1.5,
                        },
                        hovertemplate=f"{esc(label)}: %{{y:.3f}} dB<extra></extra>",
                    ),
                    row=row,
                    col=col,
                )
            fig.update_yaxes(
                title_text=f"{esc(rep.objective_label)} (dB)" if col == 1 else None,
                row=row,
                col=col,
            )
        fig.update_xaxes(title_text="trial", row=2)
        return _finish(fig, "Optimisation history per target", 620)

    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=["aggregate (the study's objective)", "per-target scores of each trial"],
    )
    # A complete trial with values has a value in a shared (single-objective) study.
    ys = [float(cast(float, t.value)) if t.values else rep.score(t, "shared") for t in rep.complete]
    fig.add_trace(
        go.Scatter(
            x=numbers,
            y=ys,
            mode="markers",
            name="trial (aggregate)",
            text=hover,
            marker={"color": COLOURS["shared"], "size": 8},
            hovertemplate="trial %{x}<br>%{y:.3f} dB<br>%{text}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=numbers,
            y=_best_so_far(ys, rep.maximize),
            mode="lines",
            name="best so far",
            line={"color": COLOURS["shared"], "shape": "hv", "width": 2},
            hoverinfo="skip",
        ),
        row=1,
        col=1,
    )
    if rep.pruned:
        fig.add_trace(
            go.Scatter(
                x=[t.number for t in rep.pruned],
                y=[rep.score(t, "shared") for t in rep.pruned],
                mode="markers",
                name="pruned (partial)",
                marker={"symbol": "x", "color": "#999999", "size": 8},
                text=[
                    f"{trial_attrs(t).get('tracks_evaluated', '?')} track(s) evaluated"
                    for t in rep.pruned
                ],
                hovertemplate="trial %{x} pruned<br>%{y:.3f} dB<br>%{text}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for k, (label, ref) in enumerate(refs.items()):
        y = rep.score(ref, "shared")
        fig.add_trace(
            go.Scatter(
                x=span,
                y=[y, y],
                mode="lines",
                name=esc(label),
                line={"color": REFERENCE_COLOURS[k % len(REFERENCE_COLOURS)], "dash": "dash"},
                hovertemplate=f"{esc(label)}: %{{y:.3f}} dB<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for target in TARGETS:
        fig.add_trace(
            go.Scatter(
                x=numbers,
                y=[rep.score(t, target) for t in rep.complete],
                mode="markers+lines",
                name=target,
                line={"color": COLOURS[target], "width": 1},
                marker={"size": 6},
                hovertemplate="trial %{x}<br>%{y:.3f} dB<extra>" + target + "</extra>",
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="dB")
    fig.update_xaxes(title_text="trial", row=2, col=1)
    return _finish(
        fig, f"Optimisation history ({rep.export['aggregate']} over tracks, mean over targets)", 640
    )


# ---------------------------------------------------------------------------- importances
def _entry_trials(rep: StudyReport, entry: str) -> list[FrozenTrial]:
    return [t for t in rep.searched if trial_attrs(t).get("label") == entry]


def _varying(trials: list[FrozenTrial], params: list[SearchedParam]) -> list[SearchedParam]:
    out = []
    for p in params:
        values = {repr(t.params[p.key]) for t in trials if p.key in t.params}
        if len(values) > 1 and all(p.key in t.params for t in trials):
            out.append(p)
    return out


def param_importances(
    rep: StudyReport, entry: str
) -> tuple[dict[str, dict[str, float]], str | None]:
    """PED-ANOVA importances of one entry's searched parameters, per score column.

    Only complete, sampled trials of the entry are used (reference trials
    and other families have other parameters). PED-ANOVA (Optuna's default
    evaluator; fANOVA would need scikit-learn) measures how differently the
    best 10 % of trials are distributed from all of them, and with
    ``target=`` it takes *low* values as good: a maximised score is negated.

    Returns
    -------
    (importances, note)
        ``importances[column][param name]`` in [0, 1] summing to 1 per column;
        ``note`` says why nothing could be computed (then ``importances`` is empty).
    """
    trials = _entry_trials(rep, entry)
    params = [p for p in rep.params if p.entry == entry]
    if len(trials) < 2:
        return {}, f"{len(trials)} complete trial(s) of {entry}: importances need at least 2"
    varying = _varying(trials, params)
    if not varying:
        return (
            {},
            f"no searched parameter of {entry} took more than one value in its {len(trials)} "
            "complete trials",
        )
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created in memory" line
    try:
        sub = optuna.create_study(directions=["minimize"])
    finally:
        optuna.logging.set_verbosity(verbosity)
    for t in trials:
        sub.add_trial(
            optuna.trial.create_trial(
                params={p.key: t.params[p.key] for p in varying},
                distributions={p.key: t.distributions[p.key] for p in varying},
                value=0.0,
                user_attrs={"scores": trial_attrs(t)["scores"]},
            )
        )
    sign = -1.0 if rep.maximize else 1.0
    out: dict[str, dict[str, float]] = {}
    for column in rep.columns():
        values = [rep.score(t, column) for t in trials]
        if sum(not math.isnan(v) for v in values) < 2:
            continue

        def target(t: FrozenTrial, column: str = column) -> float:
            scores = trial_attrs(t)["scores"]
            value = shared_value(scores) if column == "shared" else score_of(scores, column)
            return sign * value

        try:
            with (
                warnings.catch_warnings()
            ):  # the "low target is good" warning: we negated on purpose
                warnings.simplefilter("ignore")
                found = optuna.importance.get_param_importances(
                    sub,
                    evaluator=optuna.importance.PedAnovaImportanceEvaluator(),
                    params=[p.key for p in varying],
                    target=target,
                    normalize=True,
                )
        except (RuntimeError, ValueError) as exc:  # e.g. constant target: nothing to compare
            return {}, f"importances of {entry} could not be computed: {exc}"
        out[column] = {key.split(".", 1)[1]: float(v) for key, v in found.items()}
    if not out:
        return {}, f"no score column of {entry} has two finite values"
    if all(len(set(v.values())) == 1 for v in out.values()):
        # Normalising all-zero (or all-equal) importances gives equal shares: not a finding.
        return {}, (
            f"the {len(trials)} complete trials of {entry} do not tell its parameters apart "
            "(every parameter gets the same importance for every score): run more trials"
        )
    return out, None


def importances(rep: StudyReport) -> tuple[go.Figure | None, list[str]]:
    """Bar chart of parameter importances, one panel per transform entry, bars per score column."""
    panels: list[tuple[str, dict[str, dict[str, float]], int]] = []
    notes: list[str] = []
    for entry in rep.entries:
        values, note = param_importances(rep, entry)
        if note:
            notes.append(note)
        else:
            panels.append((entry, values, len(_entry_trials(rep, entry))))
    if not panels:
        return None, notes
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        horizontal_spacing=0.12,
        subplot_titles=[f"{esc(e)} ({n} trials)" for e, _, n in panels],
    )
    for col, (entry, values, _) in enumerate(panels, start=1):
        names = sorted({p for v in values.values() for p in v})
        for column, imp in values.items():
            fig.add_trace(
                go.Bar(
                    y=[esc(n) for n in names],
                    x=[imp.get(n, 0.0) for n in names],
                    orientation="h",
                    name=_column_title(column),
                    legendgroup=column,
                    showlegend=col == 1,
                    marker={"color": COLOURS[column]},
                    hovertemplate="%{y}: %{x:.2f}<extra>" + column + "</extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="PED-ANOVA importance", range=[0, 1], row=1, col=col)
    fig.update_layout(barmode="group")
    height = 260 + 40 * max(len({p for v in vals.values() for p in v}) for _, vals, _ in panels)
    return _finish(fig, "Parameter importances (PED-ANOVA, per transform entry)", height), notes


# ---------------------------------------------------------------------------- slices
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
    groups: dict[str, list[SearchedParam]] = {}
    for p in rep.params:
        groups.setdefault(p.entry, []).append(p)
    for entry, params in groups.items():
        trials = rep.searched if entry == "" else _entry_trials(rep, entry)
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
                        name=_column_title(column),
                        legendgroup=column,
                        showlegend=i == 0,
                        text=text,
                        marker={
                            "color": COLOURS[column],
                            "size": 8 if column == "shared" else 7,
                            "opacity": 0.75,
                            "symbol": "diamond" if column == "shared" else "circle",
                        },
                        hovertemplate="%{text}<br>%{y:.3f} dB<extra>" + column + "</extra>",
                    ),
                    row=row,
                    col=col,
                )
            fig.update_xaxes(row=row, col=col, **axis)
            if col == 1:
                fig.update_yaxes(title_text="dB", row=row, col=col)
        title = "Score by transform entry" if entry == "" else f"Slice plots: {entry}"
        out.append((entry, _finish(fig, title, 180 + 300 * rows)))
    return out


# ---------------------------------------------------------------------------- parallel coordinates
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
        trials = _entry_trials(rep, entry)
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
                    "colorbar": {"title": {"text": "mean over<br>targets (dB)"}},
                },
            )
        )
        fig = _finish(fig, f"Parallel coordinates: {entry} ({len(trials)} trials)", 420)
        fig.update_layout(margin={"l": 70, "r": 40, "t": 110, "b": 40})
        out.append((entry, fig))
    return out


# ---------------------------------------------------------------------------- per-track scores
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
        series.append(
            (esc(label), REFERENCE_COLOURS[k % len(REFERENCE_COLOURS)], {t: ref for t in TARGETS})
        )
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
                hovertemplate="%{text}<br>%{y:.3f} dB<extra>%{x}</extra>",
            )
        )
    fig.update_layout(
        boxmode="group",
        yaxis_title=f"{esc(rep.objective_label)} per track (dB)",
        xaxis={"categoryorder": "array", "categoryarray": list(TARGETS)},
    )
    return _finish(fig, "Per-track scores of the best settings", 460)
