"""Assembling the report page: one self-contained HTML file, plotly.js embedded once.

Every user-supplied string (study name, description, labels, track names,
reasons, the study file) passes through :func:`esc` before it reaches the page;
figure JSON is serialised by plotly, which escapes ``<`` and ``/`` inside
``<script>`` blocks.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

#: Page style: readable tables, figures full width, nothing fetched from the network.
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1240px; padding: 0 24px 48px; color: #222; line-height: 1.45; }
header { border-bottom: 2px solid #333; margin-bottom: 12px; padding: 16px 0 8px; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { margin-top: 34px; border-bottom: 1px solid #ccc; }
h3 { margin-bottom: 4px; }
nav a { margin-right: 14px; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 0.92em; }
th, td { border: 1px solid #d5d5d5; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.better { color: #176b1d; } td.worse { color: #a11; }
.note { color: #555; font-size: 0.92em; } .muted { color: #777; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; }
.figure { margin: 10px 0 24px; }
"""


def esc(value: Any) -> str:
    """HTML-escape any value for text or attribute context."""
    return html.escape(str(value), quote=True)


def number(value: float | None, digits: int = 2) -> str:
    """A score cell's text: fixed decimals, ``–`` for missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def duration(seconds: float) -> str:
    """``3 h 02 min``, ``4 min 05 s`` or ``12.3 s``."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{seconds:.1f} s"


def table(header: Sequence[str] | None, rows: Iterable[Sequence[str]], *, attrs: str = "") -> str:
    """An HTML table (``header=None``: no header row); header and cells are *already* HTML."""
    head = "".join(f"<th>{h}</th>" for h in header or ())
    body = "\n".join(
        "<tr>"
        + "".join(cell if cell.startswith("<td") else f"<td>{cell}</td>" for cell in row)
        + "</tr>"
        for row in rows
    )
    thead = f"<thead><tr>{head}</tr></thead>\n" if header else ""
    return f"<table {attrs}>\n{thead}<tbody>\n{body}\n</tbody></table>"


def cell_number(value: float | None, *, css: str = "num", attrs: str = "") -> str:
    """A right-aligned number cell keeping the full value in ``data-value`` (for readers and
    tests)."""
    full = "" if value is None else repr(float(value))
    return f'<td class="{css}" data-value="{esc(full)}"{attrs}>{number(value)}</td>'


class Page:
    """An HTML page with plotly figures; plotly.js is embedded exactly once, in the head.

    Parameters
    ----------
    title : str
        Page title (user text: escaped here).
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []
        self.n_figures = 0

    def add(self, markup: str) -> None:
        """Append markup (already escaped)."""
        self.parts.append(markup)

    def figure(self, fig: Any, caption: str = "") -> None:
        """Append a plotly figure as a div (no plotly.js: the head holds it) with an optional
        caption (HTML)."""
        self.n_figures += 1
        div = fig.to_html(
            include_plotlyjs=False,
            full_html=False,
            div_id=f"figure-{self.n_figures}",
            config={"displaylogo": False, "responsive": True},
        )
        cap = f'<p class="note">{caption}</p>' if caption else ""
        self.parts.append(f'<div class="figure">{div}{cap}</div>')

    def render(self) -> str:
        """The complete document."""
        from plotly.offline import get_plotlyjs

        return "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{esc(self.title)}</title>",
                f"<style>{STYLE}</style>",
                # MathJax off: plotly would otherwise try to typeset '$' in labels from a CDN.
                "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>",
                f'<script type="text/javascript">{get_plotlyjs()}</script>',
                "</head><body>",
                *self.parts,
                "</body></html>",
            ]
        )


def json_block(value: Any) -> str:
    """Pretty JSON in a ``<pre>`` (escaped)."""
    return f"<pre>{esc(json.dumps(value, indent=2, sort_keys=True, default=str))}</pre>"
