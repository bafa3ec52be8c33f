"""A drawable spectrogram view (:class:`SpectrogramView`) and the plotly figure of several.

:func:`sliceq22.report.spectrogram.compute_views` makes the views; this module
only draws them, one panel per view on one shared dB colour scale.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np

from sliceq22.report.display_grid import FLOOR_DB


@dataclass
class SpectrogramView:
    """One drawable view: an int8 dB image with its axes.

    Attributes
    ----------
    kind : str
        ``"ragged"``, ``"matrix"``, ``"overlap-add"``, or the OLA views
        (:mod:`~sliceq22.report.spectrogram_ola`) ``"ola"``, ``"de-overlapped"``, ``"error"``.
    image : np.ndarray
        int8 ``(rows, columns)``, dB in ``[FLOOR_DB, 0]``; row 0 is the lowest frequency.
    x : np.ndarray
        ``(columns,)`` column centres: seconds (``ragged``, ``overlap-add``) or frame index
        (``matrix``).
    y : np.ndarray
        ``(rows,)`` row centres: Hz (``ragged``, ``overlap-add``) or band index.
    x_title, y_title : str
        Axis titles.
    log_y : bool
        Draw ``y`` on a log axis.
    y_ticks : tuple[list[float], list[str]] or None
        Tick positions and Hz labels for a band-index axis.
    note : str
        What the view shows, for a caption.
    x_range : tuple[float, float] or None
        Visible x range in seconds (the signal's duration where the cells cover more).
    """

    kind: str
    image: np.ndarray
    x: np.ndarray
    y: np.ndarray
    x_title: str
    y_title: str
    log_y: bool = False
    y_ticks: tuple[list[float], list[str]] | None = None
    note: str = ""
    x_range: tuple[float, float] | None = None


#: Panel titles by view kind.
PANEL_TITLES = {
    "ragged": "ragged (per-band time resolution to scale)",
    "matrix": "rasterized matrix",
    "overlap-add": "overlap-added slices",
    "ola": "OLA view of the slice magnitudes",
    "de-overlapped": "de-overlapped slices",
    "error": "error against the true slices",
}


def views_figure(views: list[SpectrogramView], title: str, *, height_per_view: int = 300) -> Any:
    """A plotly figure with one panel per view, sharing one dB colour scale.

    Parameters
    ----------
    views : list[SpectrogramView]
        The panels, top to bottom.
    title : str
        User text (file or track names): it is HTML-escaped here.
    height_per_view : int
        Pixels per panel.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    plot_area = height_per_view * len(views) - 10
    # ~90 px between panels whatever their number: room for an axis title and the next panel's
    # title.
    spacing = min(0.3, 90 / plot_area) if len(views) > 1 else 0.0
    fig = make_subplots(
        rows=len(views),
        cols=1,
        vertical_spacing=spacing,
        subplot_titles=[PANEL_TITLES.get(v.kind, v.kind) for v in views],
    )
    for i, v in enumerate(views, start=1):
        y_hover = "%{y:.1f} Hz" if v.y_title.startswith("frequency") else "band %{y}"
        x_hover = "%{x:.3f} s" if "time" in v.x_title else "frame %{x:.0f}"
        fig.add_trace(
            go.Heatmap(
                z=v.image,
                x=v.x,
                y=v.y,
                coloraxis="coloraxis",
                hovertemplate=f"{x_hover}<br>{y_hover}<br>%{{z}} dB<extra>{v.kind}</extra>",
            ),
            row=i,
            col=1,
        )
        fig.update_xaxes(
            title_text=html.escape(v.x_title),
            row=i,
            col=1,
            **({"range": list(v.x_range)} if v.x_range else {}),
        )
        yaxis: dict[str, Any] = {"title_text": v.y_title}
        if v.log_y:
            yaxis["type"] = "log"
        if v.y_ticks:
            yaxis["tickvals"], yaxis["ticktext"] = v.y_ticks
        fig.update_yaxes(row=i, col=1, **yaxis)
    fig.update_layout(
        title={"text": html.escape(title), "x": 0.0, "xref": "paper", "xanchor": "left"},
        template="plotly_white",
        height=120 + height_per_view * len(views),
        margin={"l": 70, "r": 20, "t": 80, "b": 50},
        coloraxis={
            "colorscale": "Magma",
            "cmin": FLOOR_DB,
            "cmax": 0.0,
            "colorbar": {"title": {"text": "dB"}, "len": 0.8},
        },
    )
    return fig


def describe_views(views: list[SpectrogramView]) -> str:
    """One caption line per view."""
    return " ".join(v.note for v in views)


__all__ = ["PANEL_TITLES", "SpectrogramView", "describe_views", "views_figure"]
