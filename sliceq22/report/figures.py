"""The study figures of a report: history, importances, slices, parallel coordinates, per-track
scores.

Each builder takes a :class:`~sliceq22.report.collect.StudyReport` and returns
plotly figures (or ``None`` and a note saying why a figure cannot be drawn,
e.g. too few trials for importances), with scores in the objective's unit
(``rep.unit``). This module gathers them; each lives with its helpers:

- :mod:`sliceq22.report.history`: :func:`history`;
- :mod:`sliceq22.report.importances`: :func:`param_importances`, :func:`importances`;
- :mod:`sliceq22.report.param_plots`: :func:`slices`, :func:`parallel`;
- :mod:`sliceq22.report.track_scores`: :func:`per_track`;
- :mod:`sliceq22.report.figure_style`: colours, escaping and layout they share.
"""

from __future__ import annotations

from sliceq22.report.figure_style import (
    BEST_COLOUR,
    COLOURS,
    REFERENCE_COLOURS,
    TEMPLATE,
    esc,
)
from sliceq22.report.history import history
from sliceq22.report.importances import importances, param_importances
from sliceq22.report.param_plots import parallel, slices
from sliceq22.report.track_scores import per_track

__all__ = [
    "BEST_COLOUR",
    "COLOURS",
    "REFERENCE_COLOURS",
    "TEMPLATE",
    "esc",
    "history",
    "importances",
    "param_importances",
    "parallel",
    "per_track",
    "slices",
]
