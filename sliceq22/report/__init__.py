"""Reports and pictures: the study report (``sliceq22 report``) and spectrogram views
(``sliceq22 spectrogram``).

- :mod:`sliceq22.report.collect`: what a report reads from a stored study;
- :mod:`sliceq22.report.figures`: history, importances, slices, parallel coordinates, per-track
  scores (gathered from :mod:`~sliceq22.report.history`, :mod:`~sliceq22.report.importances`,
  :mod:`~sliceq22.report.param_plots`, :mod:`~sliceq22.report.track_scores`, styled by
  :mod:`~sliceq22.report.figure_style`);
- :mod:`sliceq22.report.spectrogram`: ragged, rasterized and overlap-added views of one transform
  (energies in :mod:`~sliceq22.report.spectrogram_energy`, pixels in
  :mod:`~sliceq22.report.display_grid`, the figure in :mod:`~sliceq22.report.spectrogram_figure`);
- :mod:`sliceq22.report.html`: the self-contained page (plotly.js embedded once);
- :mod:`sliceq22.report.build`: :func:`build_report`.
"""

from __future__ import annotations

from sliceq22.report.build import ReportOptions, build_report

__all__ = ["ReportOptions", "build_report"]
