"""The parameter-importance figure of a report: PED-ANOVA per transform entry and score column."""

from __future__ import annotations

import math
import warnings

import optuna
import plotly.graph_objects as go
from optuna.trial import FrozenTrial
from plotly.subplots import make_subplots

from sliceq22.report.collect import SearchedParam, StudyReport
from sliceq22.report.figure_style import COLOURS, column_title, esc, finish
from sliceq22.search.scoring import score_of, shared_value
from sliceq22.search.trialattrs import trial_attrs


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
    trials = rep.entry_trials(entry)
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
            panels.append((entry, values, len(rep.entry_trials(entry))))
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
                    name=column_title(column),
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
    return finish(fig, "Parameter importances (PED-ANOVA, per transform entry)", height), notes


__all__ = ["importances", "param_importances"]
