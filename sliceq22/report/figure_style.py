"""What every study figure of a report shares: colours, escaping, hover text, the layout.

User-supplied strings (labels, track names) are HTML-escaped before they go
into a figure: plotly renders a subset of HTML in its text, and escaped
entities are shown literally.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from optuna.trial import FrozenTrial

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
    """HTML-escape a user-supplied value for plotly text (shown literally by plotly).

    Examples
    --------
    >>> esc("<b>&")
    '&lt;b&gt;&amp;'
    """
    return html.escape(str(text), quote=True)


def reference_colour(k: int) -> str:
    """Colour of the ``k``-th reference trial (cycling)."""
    return REFERENCE_COLOURS[k % len(REFERENCE_COLOURS)]


def column_title(column: str) -> str:
    """Legend name of a score column (a target, or ``"shared"``)."""
    return "shared (mean over targets)" if column == "shared" else column


def params_text(trial: FrozenTrial, limit: int = 90) -> str:
    """``"label: k=v, ..."`` of a trial's transform, escaped, cut to ``limit`` characters."""
    params = trial_attrs(trial).get("transform_params") or {}
    text = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return esc(f"{trial_attrs(trial).get('label', '?')}: {text}")


def best_so_far(values: Sequence[float], maximize: bool) -> list[float]:
    """Running best of ``values`` (NaN until the first finite value; NaNs skipped).

    Examples
    --------
    >>> best_so_far([1.0, float("nan"), 0.5, 2.0], maximize=True)
    [1.0, 1.0, 1.0, 2.0]
    """
    out: list[float] = []
    best = math.nan
    for v in values:
        if not math.isnan(v) and (math.isnan(best) or (v > best if maximize else v < best)):
            best = v
        out.append(best)
    return out


def finish(fig: go.Figure, title: str, height: int) -> go.Figure:
    """Title (escaped), template, height and margins of a study figure."""
    fig.update_layout(
        title={"text": esc(title), "x": 0.0, "xref": "paper", "xanchor": "left"},
        template=TEMPLATE,
        height=height,
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
    )
    return fig


__all__ = [
    "BEST_COLOUR",
    "COLOURS",
    "REFERENCE_COLOURS",
    "TEMPLATE",
    "best_so_far",
    "column_title",
    "esc",
    "finish",
    "params_text",
    "reference_colour",
]
