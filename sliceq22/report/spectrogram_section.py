"""The report's spectrogram section: each target's best setting drawn on an excerpt of the study's
first track.

A plain study draws the transform's usual views (ragged, matrix, overlap-add).
A study scored through the OLA view (``[objective] view = "ola"``) draws what
it searched through instead: the target's OLA view, the slices its
de-overlap (the study's ``deoverlap``, guided by the track's mixture) brings
back, and the error against the true slices, with the reconstruction SNR in
the title (:func:`~sliceq22.report.spectrogram_ola.ola_views`, the panels of
``sliceq22 spectrogram --ola``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.excerpt import cut_excerpt
from sliceq22.errors import Sliceq22Error
from sliceq22.report.collect import StudyReport
from sliceq22.report.html import Page, esc
from sliceq22.search.trialattrs import trial_attrs

if TYPE_CHECKING:
    from sliceq22.report.build import ReportOptions
    from sliceq22.report.spectrogram_figure import SpectrogramView


def load_excerpt_track(rep: StudyReport) -> Any:
    """The study's first track (only that one is decoded), as the study loads it."""
    from sliceq22.data import load_tracks

    spec = rep.config.dataset
    fp = rep.dataset
    names = [t.get("name") for t in fp.get("tracks", [])] if isinstance(fp, dict) else []
    if names and names[0] and hasattr(spec, "tracks"):
        try:  # only the first track of the study: no need to decode a whole dataset for one picture
            spec = dataclasses.replace(spec, tracks=(names[0],))
        except (TypeError, ValueError, Sliceq22Error):
            pass
    tracks = load_tracks(spec)
    if not tracks:
        raise Sliceq22Error("the dataset has no tracks")
    return tracks[0]


def spectrogram_section(page: Page, rep: StudyReport, options: ReportOptions) -> None:
    """Add the section's figures (or a note saying why there are none) to ``page``."""
    if not options.spectrograms:
        page.add('<p class="note">left out (--no-spectrograms)</p>')
        return
    if not rep.export["targets"]:
        page.add('<p class="note">no complete trial yet</p>')
        return
    try:
        track = load_excerpt_track(rep)
    except (
        Exception
    ) as exc:  # data not on this machine, a decoder missing: the rest of the report stands
        page.add(
            '<p class="note">spectrograms left out: the dataset could not be loaded here '
            f"({esc(exc)})</p>"
        )
        return
    options_ = rep.config.objective.options
    # Through the OLA view: the study's de-overlap, guided by the mixture the oracle saw
    # (cut once here, not per target); a plain study draws the usual views.
    method = str(options_.get("deoverlap", "mixture")) if options_.get("view") == "ola" else None
    mixture = None
    if method is not None:
        kind = str(options_.get("mixture", "sum"))
        mixture, _ = cut_excerpt(track.mixture(kind), track.rate, None, options.excerpt_seconds)
        page.add(
            '<p class="note">The study scored every candidate through the OLA view: each '
            "target's view under its best setting, the slices "
            f"<code>{esc(method)}</code> brings back from it (guided by the track's mixture) "
            "and the error per cell against the true slices.</p>"
        )
    for target in TARGETS:
        entry = rep.export["targets"].get(target)
        if entry is not None:
            _target_figure(page, rep, options, track, target, entry, method, mixture)


def _target_figure(
    page: Page,
    rep: StudyReport,
    options: ReportOptions,
    track: Any,
    target: str,
    entry: dict[str, Any],
    method: str | None,
    mixture: np.ndarray | None,
) -> None:
    from sliceq22.report.spectrogram import views_figure

    trial = rep.trials_by_number[entry["trial"]]
    audio, start = cut_excerpt(track.targets[target], track.rate, None, options.excerpt_seconds)
    params = trial_attrs(trial).get("transform_params") or {}
    label = entry.get("label") or entry["family"]
    try:
        drawn = _views(options, entry["family"], params, track.rate, audio, method, mixture)
    except Exception as exc:  # a setting that analyses the study's excerpt may refuse a shorter one
        number = entry["trial"]
        page.add(f'<p class="note">{target}: could not draw trial {number} ({esc(exc)})</p>')
        return
    views, note, described = drawn
    seconds = audio.shape[-1] / track.rate
    start += track.offset / track.rate  # in the recording, not the study's excerpt
    title = (
        f"{target}: the {target} stem of {track.name}, {start:.2f}–{start + seconds:.2f} s, "
        f"under trial {entry['trial']} ({label})" + (f"; {described}" if described else "")
    )
    page.figure(views_figure(views, title, height_per_view=260), esc(note))


def _views(
    options: ReportOptions,
    family: str,
    params: dict[str, Any],
    rate: int,
    audio: np.ndarray,
    method: str | None,
    mixture: np.ndarray | None,
) -> tuple[list[SpectrogramView], str, str]:
    """The views to draw, their caption and what the OLA views come to (``""`` when plain).

    ``method`` names the de-overlap of an OLA study (``None``: a plain study);
    ``audio`` and ``mixture`` are ``(channels, samples)`` excerpts at ``rate``.
    """
    from sliceq22.report.spectrogram import compute_views
    from sliceq22.transforms import make_transform

    transform = make_transform(family, params, rate=rate)
    comparable = " Comparable cell energy in dB below the loudest cell, channels added."
    if method is None:
        views = compute_views(transform, audio, columns=options.columns, rows=options.rows)
        return views, " ".join(v.note for v in views) + comparable, ""
    from sliceq22.deoverlap import make_deoverlap
    from sliceq22.report.spectrogram_ola import ola_views

    drawn = ola_views(
        transform,
        audio,
        make_deoverlap(method, transform),
        mixture=mixture,
        columns=options.columns,
        rows=options.rows,
    )
    return drawn.views, " ".join(v.note for v in drawn.views) + comparable, drawn.describe()
