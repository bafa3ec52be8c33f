"""Reports and pictures: the study report (``sliceq22 report``) and spectrogram views
(``sliceq22 spectrogram``).

- :mod:`sliceq22.report.collect`: what a report reads from a stored study;
- :mod:`sliceq22.report.figures`: history, importances, slices, parallel coordinates, per-track
  scores;
- :mod:`sliceq22.report.spectrogram`: ragged, rasterized and overlap-added views of one transform;
- :mod:`sliceq22.report.html`: the self-contained page (plotly.js embedded once);
- :mod:`sliceq22.report.build`: :func:`build_report`.
"""

from __future__ import annotations

from sliceq22.report.build import ReportOptions, build_report

__all__ = ["ReportOptions", "build_report"]
