"""The report's "is the best really better?" table: each best against each reference, per track.

One row per (target or shared, reference): tracks scored by both, the mean
per-track difference, its 95 % bootstrap interval and the signed-rank
p-value, from the export document's ``versus`` entries
(:mod:`sliceq22.search.paired`), so the report and ``sliceq22 export`` agree.
"""

from __future__ import annotations

import math
from typing import Any

from sliceq22 import TARGETS
from sliceq22.report.html import cell_number, esc


def _interval(result: dict[str, Any]) -> str:
    if result["ci_low"] is None:
        return '<td class="num muted">–</td>'
    return f'<td class="num">[{result["ci_low"]:+.2f}, {result["ci_high"]:+.2f}]</td>'


def paired_rows(export: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the paired-comparison table (no rows without references).

    Parameters
    ----------
    export : dict
        The :func:`~sliceq22.search.export.export_best` document.
    """
    header = ["best for", "reference", "tracks", "mean Δ", "95 % interval", "p", "better on"]
    entries = [(t, export["targets"].get(t)) for t in TARGETS]
    if export.get("shared"):
        entries.append(("shared", export["shared"]))
    rows: list[list[str]] = []
    for column, entry in entries:
        for label, result in ((entry or {}).get("versus") or {}).items():
            if result is None:
                continue
            p_value = result["p_value"]
            rows.append(
                [
                    f"<td>{esc(column)}</td>",
                    f"<td>{esc(label)}</td>",
                    f'<td class="num">{result["tracks"]}</td>',
                    cell_number(result["mean_difference"]),
                    _interval(result),
                    f'<td class="num">{p_value:.3g}</td>'
                    if p_value is not None
                    else '<td class="num muted">–</td>',
                    f'<td class="num">{result["better_on"]}/{result["tracks"]}</td>',
                ]
            )
    return header, rows


def confirmation_rows(export: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the held-out confirmation (``sliceq22 confirm``): per re-scored
    candidate, its search and held-out scores (shared mean, or per target); no rows without one.
    """
    confirmation = export.get("confirmation")
    if not confirmation:
        return [], []
    shared = export["mode"] == "shared"
    columns = ["shared"] if shared else list(TARGETS)
    header = ["trial", "transform", "scores on", *columns]
    rows: list[list[str]] = []
    for c in confirmation["candidates"]:
        name = f"reference:{c['reference']}" if c.get("reference") else str(c["label"])
        for kind, scores in (("search", c["search"]), ("held out", c["held_out"])):
            values = [_mean(scores)] if shared else [scores.get(t) for t in columns]
            rows.append(
                [
                    f'<td class="num">{c["trial"]}</td>',
                    f"<td>{esc(name)}</td>",
                    f"<td>{kind}</td>",
                    *(cell_number(v if isinstance(v, int | float) else None) for v in values),
                ]
            )
    return header, rows


def _mean(scores: dict[str, Any]) -> float | None:
    finite = [v for v in scores.values() if isinstance(v, int | float) and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None
