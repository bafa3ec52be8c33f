"""The study report: summary, curves, importances, per-track spread, failures, spectrograms.

:func:`build_report` turns a stored study into one self-contained HTML page
(:class:`~sliceq22.report.html.Page`). The best-settings table is the
``sliceq22 export`` document (:func:`sliceq22.search.export.export_best`)
printed beside the reference scores, so the two never disagree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import optuna

from sliceq22 import TARGETS
from sliceq22.report import figures
from sliceq22.report.collect import StudyReport, collect
from sliceq22.report.html import Page, cell_number, duration, esc, json_block, table
from sliceq22.report.paired_table import confirmation_rows, paired_rows
from sliceq22.report.spectrogram_section import spectrogram_section
from sliceq22.search.config import StudyConfig
from sliceq22.search.scoring import score_of, shared_value
from sliceq22.search.trialattrs import trial_attrs

#: Sections in page order: (anchor, heading).
SECTIONS = (
    ("summary", "Summary"),
    ("history", "Optimisation history"),
    ("importances", "Parameter importances"),
    ("slices", "Slice plots"),
    ("parallel", "Parallel coordinates"),
    ("per-track", "Per-track scores"),
    ("failures", "Failures and infeasible candidates"),
    ("spectrograms", "Spectrograms"),
    ("study-file", "Study file and versions"),
)


@dataclasses.dataclass(frozen=True)
class ReportOptions:
    """What to include and how large.

    Attributes
    ----------
    spectrograms : bool
        Load one excerpt of the dataset and draw it under the best settings.
    excerpt_seconds : float
        Length of that excerpt (taken from the middle of the first track).
    columns, rows : int
        Display grid of each spectrogram view (size of the report grows with it).
    storage_label : str
        The storage URL to print (password already masked).
    """

    spectrograms: bool = True
    excerpt_seconds: float = 4.0
    columns: int = 600
    rows: int = 160
    storage_label: str = ""


def build_report(
    study: optuna.Study, config: StudyConfig, options: ReportOptions | None = None
) -> str:
    """Return the report of ``study`` as one HTML document."""
    options = options or ReportOptions()
    rep = collect(study, config)
    page = Page(f"sliceq22 report: {rep.name}")
    page.add(_header(rep, options))
    _summary(page, rep)
    _view_cost(page, rep)
    _history(page, rep)
    _importances(page, rep)
    _slices(page, rep)
    _parallel(page, rep)
    _per_track(page, rep)
    _failures(page, rep)
    page.add(_h2("spectrograms"))
    spectrogram_section(page, rep, options)
    _study_file(page, rep)
    return page.render()


def _h2(anchor: str) -> str:
    return f'<h2 id="{anchor}">{dict(SECTIONS)[anchor]}</h2>'


def _header(rep: StudyReport, options: ReportOptions) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = " ".join(f'<a href="#{a}">{h}</a>' for a, h in SECTIONS)
    desc = f"<p>{esc(rep.description)}</p>" if rep.description else ""
    where = f" from <code>{esc(options.storage_label)}</code>" if options.storage_label else ""
    return (
        f'<header><h1>Study <span id="study-name">{esc(rep.name)}</span></h1>{desc}'
        f'<p class="muted">{esc(rep.mode)} mode · {esc(rep.export["aggregate"])} over tracks of '
        f"{esc(rep.objective_label)} · generated {now}{where} by sliceq22</p>"
        f"<nav>{nav}</nav></header>"
    )


# ---------------------------------------------------------------------------- summary
def _params_cell(entry: dict[str, Any], trial: optuna.trial.FrozenTrial) -> str:
    shown = trial_attrs(trial).get("transform_params") or {}
    text = ", ".join(
        f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items()
    )
    full = esc(", ".join(f"{k}={v!r}" for k, v in entry["params"].items()))
    return (
        f'<td><code>{esc(text)}</code> <span class="muted" title="{full}">(all: hover)</span></td>'
    )


def _transform_cell(entry: dict[str, Any]) -> str:
    label = entry.get("label") or entry["family"]
    if label == entry["family"]:
        return esc(label)
    return f'{esc(label)} <span class="muted">({esc(entry["family"])})</span>'


def best_rows(rep: StudyReport) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the best-settings table (the export document beside the references)."""
    refs = rep.export["reference"]
    header = ["target", "best", "trial", "transform", "parameters"]
    for label in refs:
        header += [f"{esc(label)}", f"Δ vs {esc(label)}"]
    rows: list[list[str]] = []
    sign = 1.0 if rep.maximize else -1.0

    def ref_cells(column: str, best: float | None) -> list[str]:
        cells = []
        for ref in refs.values():
            scores = ref["scores"]
            value = shared_value(scores) if column == "shared" else score_of(scores, column)
            cells.append(cell_number(value))
            if best is None or math.isnan(value):
                cells.append(cell_number(None))
            else:
                delta = best - value
                css = (
                    "num better" if sign * delta > 0 else "num worse" if sign * delta < 0 else "num"
                )
                cells.append(cell_number(delta, css=css))
        return cells

    entries = [(t, rep.export["targets"].get(t)) for t in TARGETS]
    if rep.export.get("shared"):
        entries.append(("shared", rep.export["shared"]))
    for column, entry in entries:
        if entry is None:
            rows.append(
                [f"<td>{column}</td>", cell_number(None), "–", "–", "–", *ref_cells(column, None)]
            )
            continue
        trial = rep.trials_by_number[entry["trial"]]
        rows.append(
            [
                f'<td data-target="{column}">{column}</td>',
                cell_number(entry["score"], attrs=f' data-best="{column}"'),
                f'<td class="num">{entry["trial"]}</td>',
                _transform_cell(entry),
                _params_cell(entry, trial),
                *ref_cells(column, entry["score"]),
            ]
        )
    return header, rows


def _dataset(rep: StudyReport) -> str:
    fp = rep.dataset
    tracks = fp.get("tracks") if isinstance(fp, dict) else None
    if isinstance(tracks, list) and tracks and all(isinstance(t, dict) for t in tracks):
        keys = list(dict.fromkeys(k for t in tracks for k in t))
        rows = []
        for t in tracks:
            row = []
            for k in keys:
                v = t.get(k, "")
                if (
                    k == "offset"
                    and isinstance(v, int)
                    and isinstance(t.get("rate"), int)
                    and t["rate"] > 0
                ):
                    row.append(
                        f'<td class="num">{v} <span class="muted">({v / t["rate"]:.2f} '
                        "s)</span></td>"
                    )
                else:
                    row.append(
                        f'<td class="num">{esc(v)}</td>' if isinstance(v, int | float) else esc(v)
                    )
            rows.append(row)
        others = {k: v for k, v in fp.items() if k != "tracks"}
        extra = json_block(others) if others else ""
        return (
            f"<h3>Dataset ({len(tracks)} track(s))</h3>"
            + table([esc(k) for k in keys], rows)
            + extra
        )
    if fp is None:
        return (
            '<h3>Dataset</h3><p class="note">no dataset fingerprint stored '
            "(the study has not loaded its tracks yet)</p>"
        )
    return "<h3>Dataset</h3>" + json_block(fp)


def _summary(page: Page, rep: StudyReport) -> None:
    counts = rep.counts
    order = ["complete", "pruned", "infeasible", "fail", "running", "waiting"]
    states = [s for s in order if counts.get(s)] + sorted(
        s for s in counts if s not in order and counts[s]
    )
    count_rows = [
        [
            esc("failed" if s == "fail" else s),
            f'<td class="num" data-state="{esc(s)}">{counts[s]}</td>',
        ]
        for s in states
    ]
    facts = [
        ["finished (complete + pruned) / budget", f"{rep.finished} / {rep.budget}"],
        ["time: first start to last finish", duration(rep.times["wall_s"])],
        ["time: sum of trial durations", duration(rep.times["trial_s"])],
        ["time: sum of worker evaluations", duration(rep.times["evaluation_s"])],
        ["sampler", esc(json_compact(rep.config.sampler.as_dict()))],
        ["pruner", esc(json_compact(rep.config.pruner.as_dict()))],
        ["objective", esc(json_compact(rep.config.objective.as_dict()))],
    ]
    header, rows = best_rows(rep)
    direction = "higher is better" if rep.maximize else "lower is better"
    page.add(_h2("summary"))
    page.add(
        '<div style="display:flex; gap:32px; flex-wrap:wrap">'
        + "<div><h3>Trials by state</h3>"
        + table(["state", "trials"], count_rows, attrs='id="trial-counts"')
        + "</div><div><h3>Run</h3>"
        + table(None, facts)
        + "</div></div>"
    )
    page.add(
        f'<h3>Best settings</h3><p class="note">{esc(rep.export["aggregate"])} over tracks of '
        f"{esc(rep.objective_label)} in {esc(rep.unit)} ({direction}); the same values "
        "<code>sliceq22 export</code> writes. Reference columns: the reference trials' scores "
        "on the same tracks.</p>"
    )
    page.add(table(header, rows, attrs='id="best-settings"'))
    paired_header, paired = paired_rows(rep.export)
    if paired:
        page.add(
            '<h3>Is the best really better?</h3><p class="note">Each best against each '
            f"reference on the tracks both scored: mean per-track difference in {esc(rep.unit)}, "
            "its 95 % bootstrap interval (tracks resampled) and the two-sided Wilcoxon "
            "signed-rank p-value. The best of many trials is biased upwards: an interval "
            "that spans 0 means the gain may not survive other tracks.</p>"
        )
        page.add(table(paired_header, paired, attrs='id="paired"'))
    held_header, held = confirmation_rows(rep.export)
    if held:
        tracks = rep.export["confirmation"]["tracks"]
        page.add(
            f'<h3>Held-out confirmation</h3><p class="note">The top candidates and the '
            f"references re-scored by <code>sliceq22 confirm</code> on {len(tracks)} track(s) "
            f"the search never saw ({esc(rep.export['confirmation']['dataset'])}), in "
            f"{esc(rep.unit)}: how much of each gain survives.</p>"
        )
        page.add(table(held_header, held, attrs='id="confirmation"'))
    page.add(_dataset(rep))


def _view_cost(page: Page, rep: StudyReport) -> None:
    """Through the OLA view: the view's cost across the study (nothing for a plain study)."""
    from sliceq22.report.view_cost import view_cost_figure, view_cost_table

    fig = view_cost_figure(rep)
    if fig is None:
        return
    method = rep.config.objective.options.get("deoverlap", "mixture")
    page.add(
        '<h3 id="view-cost-heading">Cost of the OLA view</h3><p class="note">Every complete '
        "trial is scored through the OLA view (magnitudes overlap-added, de-overlapped by "
        f"<code>{esc(method)}</code>) and, in the same pass, as plain MPI: the cost is plain − "
        f"view per target, in {esc(rep.unit)} (above 0: the view loses).</p>"
    )
    page.add(view_cost_table(rep))
    page.figure(fig, "Each point a complete trial (hover: its number); the box: its quartiles.")


def json_compact(value: Any) -> str:
    """``{a: 1, b: "x"}`` on one line."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


# ---------------------------------------------------------------------------- figures
def _figure_section(
    page: Page, anchor: str, figs: list[Any], empty: str, caption: str = ""
) -> None:
    """Section ``anchor``: each of ``figs`` with ``caption`` (HTML), or the note ``empty`` (HTML)
    if there is none."""
    page.add(_h2(anchor))
    if not figs:
        page.add(f'<p class="note">{empty}</p>')
    for fig in figs:
        page.figure(fig, caption)


def _optional(fig: Any) -> list[Any]:
    """A figure that may be None as a list of zero or one figures."""
    return [] if fig is None else [fig]


def _history(page: Page, rep: StudyReport) -> None:
    _figure_section(
        page,
        "history",
        _optional(figures.history(rep)),
        "no complete trial yet",
        "Each trial's score and the best so far; dashed: reference trials."
        if rep.mode == "per-target"
        else (
            "The study's objective (mean over targets) with the best so far, and each trial's "
            "four per-target scores."
        ),
    )


def _importances(page: Page, rep: StudyReport) -> None:
    page.add(_h2("importances"))
    fig, notes = figures.importances(rep)
    if fig is not None:
        page.figure(
            fig,
            "PED-ANOVA importances (Optuna's default evaluator) of each transform entry's searched "
            "parameters: how differently the best 10 % of its complete sampled trials are "
            "distributed from all of them. A few trials make them rough.",
        )
    for note in notes:
        page.add(f'<p class="note">{esc(note)}</p>')


def _slices(page: Page, rep: StudyReport) -> None:
    _figure_section(
        page,
        "slices",
        [fig for _, fig in figures.slices(rep)],
        "no searched parameter with complete trials",
    )


def _parallel(page: Page, rep: StudyReport) -> None:
    _figure_section(
        page,
        "parallel",
        [fig for _, fig in figures.parallel(rep)],
        "parallel coordinates need at least 2 complete trials of a transform entry",
        "Drag along an axis to select a range.",
    )


def _per_track(page: Page, rep: StudyReport) -> None:
    _figure_section(
        page,
        "per-track",
        _optional(figures.per_track(rep)),
        "no complete trial yet",
        "Every track's score under the best setting for each target, the shared best and the "
        "references: the spread behind the aggregate in the summary.",
    )


def _failures(page: Page, rep: StudyReport) -> None:
    page.add(_h2("failures"))
    if not rep.failures:
        page.add('<p class="note">no failed or infeasible trial</p>')
        return
    rows = []
    for g in rep.failures:
        shown = ", ".join(str(n) for n in g.trials[:20]) + (" …" if len(g.trials) > 20 else "")
        rows.append(
            [
                esc(g.kind),
                f'<td class="num">{len(g.trials)}</td>',
                f"<code>{esc(g.pattern)}</code>",
                esc(g.example),
                esc(shown),
            ]
        )
    page.add(
        '<p class="note">Grouped by reason with numbers blanked (#). Infeasible candidates were '
        "refused before any audio work and do not count against the budget; failed trials crashed "
        "or were abandoned (and were retried where allowed).</p>"
    )
    page.add(
        table(["kind", "trials", "reason", "example", "trial numbers"], rows, attrs='id="failures"')
    )


def _study_file(page: Page, rep: StudyReport) -> None:
    page.add(_h2("study-file"))
    page.add(
        f"<details open><summary>study file</summary><pre>{esc(rep.study_file)}</pre></details>"
    )
    page.add(f"<details><summary>package versions</summary>{json_block(rep.versions)}</details>")
