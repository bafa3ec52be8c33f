"""Spectrogram views of one transform of one signal: ragged, rasterized matrix, overlap-added
slices.

A transform's coefficients are a list of blocks ``(..., *block_shape)``
(:mod:`sliceq22.transforms.base`): ``(bands, frames)`` for a full-signal
transform, ``(slices, bands, frames)`` for a sliced one, ``(frames,)`` for a
block holding one band. Bands of different blocks may differ in time
resolution. Three views are drawn, all in log magnitude (dB below the loudest
cell):

``ragged``
    Every band's cells at their true time extent and every band at its centre
    frequency on a log-frequency axis: a band with coarse time resolution shows
    wide cells, a sparse (linear) low-frequency band grid shows tall rows. For
    sliced transforms the slices are laid end to end (the axis is "slice
    time", twice the signal's duration for half-overlapping slices).
``matrix``
    The rasterized matrix a network would take: each band's magnitudes
    linearly interpolated to the finest band's frame count, rows of equal
    height (band index, ticks labelled in Hz), columns = frames.
``overlap-add``
    Sliced transforms only: the half-overlapping slices of each block
    overlap-added (as the xumx-sliCQ front end and the ridge measures do) into
    one continuous time axis, drawn to scale like the ragged view.

Where the pieces live:

- :mod:`sliceq22.report.spectrogram_energy`: the comparable cell energies of
  each block (the ridge measures' :func:`~sliceq22.oracles.cells.cell_energies`);
- :mod:`sliceq22.report.display_grid`: dB and pixels;
- :mod:`sliceq22.report.spectrogram_figure`: :class:`SpectrogramView` and its plotly figure;
- :func:`sliceq22.data.excerpt.cut_excerpt`: cutting the audio drawn.
"""

from __future__ import annotations

import numpy as np

from sliceq22.data.excerpt import cut_excerpt
from sliceq22.errors import ParameterError
from sliceq22.report.display_grid import (
    FLOOR_DB,
    hz_label,
    log_rows,
    on_grid,
    pool_rows,
    to_db,
)
from sliceq22.report.spectrogram_energy import (
    BlockEnergy,
    band_frequencies,
    block_energies,
    layout_variant,
    variant_energies,
)
from sliceq22.report.spectrogram_figure import SpectrogramView, describe_views, views_figure
from sliceq22.transforms.base import Transform

#: The old name of :func:`sliceq22.data.excerpt.cut_excerpt` (``sliceq22.cli.spectrogram``).
excerpt = cut_excerpt


def compute_views(
    transform: Transform,
    audio: np.ndarray,
    *,
    channel: int | None = None,
    columns: int = 900,
    rows: int = 256,
) -> list[SpectrogramView]:
    """Analyse ``audio`` with ``transform`` and build its views.

    Parameters
    ----------
    transform : Transform
        Any sliceq22 transform. Its ``cell_grid(length)`` (band frequencies,
        energy weights, time steps, DC/Nyquist bands) places and weighs the
        cells (see :mod:`sliceq22.report.spectrogram_energy`).
    audio : np.ndarray
        Real ``(samples,)`` or ``(channels, samples)`` at ``transform.rate``.
    channel : int, optional
        Draw this channel; default the energies of all channels added.
    columns, rows : int
        Display grid (pixels) of each view.

    Returns
    -------
    list[SpectrogramView]
        ``ragged`` and ``matrix``, plus ``overlap-add`` for sliced transforms.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2 or audio.shape[-1] == 0:
        raise ParameterError(
            f"audio must be (channels, samples) with samples > 0, got shape {audio.shape}"
        )
    length = audio.shape[-1]
    duration = length / transform.rate
    blocks = block_energies(transform, transform.forward(audio), length, channel)
    # The ragged and matrix views come from the family's own layouts where it has both.
    ragged = variant_energies(layout_variant(transform, "none"), audio, channel) or blocks
    matrix = variant_energies(layout_variant(transform, "full"), audio, channel)
    if matrix is None and transform.params.get("rasterize") == "full":
        matrix = blocks
    sliced = any(b.sliced for b in blocks)
    views = [ragged_view(ragged, duration, transform, columns, rows, sliced)]
    views.append(_matrix(ragged, matrix, rows, columns, sliced))
    if sliced:
        views.append(overlap_added_view(ragged, duration, columns, rows))
    return views


def _rows_view(
    kind: str,
    per_band: list[tuple[np.ndarray, np.ndarray]],
    rows: int,
    x: np.ndarray,
    x_title: str,
    note: str,
    x_range: tuple[float, float] | None,
) -> SpectrogramView:
    """Bands ``(freqs (bands,), dB (bands, columns))`` on log-frequency rows (band rows if
    fewer than two bands are above 0 Hz)."""
    freqs = np.concatenate([f for f, _ in per_band])
    values = np.concatenate([v for _, v in per_band], axis=0)
    positive = freqs > 0
    if positive.sum() >= 2:
        centres, image = log_rows(freqs[positive], values[positive], rows)
        return SpectrogramView(
            kind,
            np.round(image).astype(np.int8),
            x,
            centres,
            x_title,
            "frequency (Hz)",
            log_y=True,
            note=note,
            x_range=x_range,
        )
    order = np.argsort(freqs)
    first, image = pool_rows(values[order], rows)
    return SpectrogramView(
        kind,
        np.round(image).astype(np.int8),
        x,
        first.astype(float),
        x_title,
        "band",
        note=note,
        x_range=x_range,
    )


def ragged_view(
    blocks: list[BlockEnergy],
    duration: float,
    transform: Transform,
    columns: int,
    rows: int,
    sliced: bool,
    reference: float | None = None,
) -> SpectrogramView:
    """The ``ragged`` view of ``blocks``: slices end to end for a sliced transform.

    ``reference`` is the energy at 0 dB (default the loudest cell drawn).
    """
    slice_len = transform.slice_length
    if sliced and slice_len:
        dbs = to_db([b.slices[:, b.keep] for b in blocks], reference)
        n_slices = max(b.slices.shape[0] for b in blocks)
        span = n_slices * slice_len / transform.rate
        per_band = []
        for b, db in zip(blocks, dbs):
            cells = np.concatenate(list(db), axis=-1)  # slices end to end: (bands, slices · cells)
            step = slice_len / (db.shape[-1] * transform.rate)
            per_band.append((b.freqs[b.keep], on_grid(cells, 0.0, step, 0.0, span, columns)))
        x_title = f"slice time (s): {n_slices} slices of {slice_len} samples end to end"
        note = (
            "Ragged view: each band's cells at their true duration and centre frequency, slices "
            "laid end to end (neighbouring slices overlap by half in the signal)."
        )
    else:
        span = duration
        dbs = to_db([b.measured[b.keep] for b in blocks], reference)
        per_band = [
            (
                b.freqs[b.keep],
                on_grid(db, b.grid.time_origin, b.grid.time_step, 0.0, span, columns),
            )
            for b, db in zip(blocks, dbs)
        ]
        x_title = "time (s)"
        note = "Ragged view: each band's cells at their true duration and centre frequency."
    x = (np.arange(columns) + 0.5) * span / columns
    return _rows_view("ragged", per_band, rows, x, x_title, note, None)


def _on_frames(energy: np.ndarray, frames: int) -> np.ndarray:
    """``(slices, bands, m)`` linearly interpolated to ``frames`` per band and slice."""
    m = energy.shape[-1]
    if m == frames:
        return energy
    src = (np.arange(m) + 0.5) / m
    dst = (np.arange(frames) + 0.5) / frames
    rows = [np.interp(dst, src, row) for row in energy.reshape(-1, m)]
    return np.stack(rows).reshape(*energy.shape[:-1], frames)


def _matrix(
    blocks: list[BlockEnergy],
    native: list[BlockEnergy] | None,
    rows: int,
    columns: int,
    sliced: bool,
) -> SpectrogramView:
    source = native if native is not None else blocks
    drawn = [b for b in source if b.keep.any()]  # a DC or Nyquist block is not drawn
    frames = max(b.slices.shape[-1] for b in drawn)
    n_slices = max(b.slices.shape[0] for b in source)
    parts = []
    for b in drawn:
        e = _on_frames(b.slices[:, b.keep], frames)
        if e.shape[0] < n_slices:
            e = np.concatenate([e, np.zeros((n_slices - e.shape[0], *e.shape[1:]))], axis=0)
        parts.append((b.freqs[b.keep], e))
    freqs = np.concatenate([f for f, _ in parts])
    order = np.argsort(freqs, kind="stable")
    matrix = np.concatenate([e for _, e in parts], axis=1)[:, order, :]  # (slices, bands, frames)
    flat = np.concatenate(list(matrix), axis=-1)  # slices end to end
    (db,) = to_db([flat])
    total = flat.shape[-1]
    pixels = min(columns, total)
    first, pooled = pool_rows(on_grid(db, 0.0, 1.0, 0.0, float(total), pixels), rows)
    x = (np.arange(pixels) + 0.5) * total / pixels - 0.5
    sorted_f = freqs[order]
    picks = np.unique(np.linspace(0, len(first) - 1, min(8, len(first))).astype(int))
    ticks = ([float(first[i]) for i in picks], [hz_label(float(sorted_f[first[i]])) for i in picks])
    how = (
        "the family's own rasterized form (rasterize=full)"
        if native is not None
        else "one frame rate for all bands"
        if all(b.slices.shape[-1] == frames for b in source)
        else "every band interpolated to the finest band's frames"
    )
    note = (
        f"Rasterized matrix: {len(sorted_f)} bands × {frames} frames"
        + (f" per slice × {n_slices} slices" if sliced and n_slices > 1 else "")
        + f", {how}; rows of equal height."
    )
    return SpectrogramView(
        "matrix",
        np.round(pooled).astype(np.int8),
        x,
        first.astype(float),
        "frame" + (" (slices end to end)" if sliced and n_slices > 1 else ""),
        "band (labelled by centre frequency)",
        y_ticks=ticks,
        note=note,
    )


def overlap_added_view(
    blocks: list[BlockEnergy], duration: float, columns: int, rows: int
) -> SpectrogramView:
    """The ``overlap-add`` view: each sliced block's ``measured`` (overlap-added) energies."""
    sliced = [b for b in blocks if b.sliced]
    dbs = to_db([b.measured[b.keep] for b in sliced])
    start = min(b.grid.time_origin for b in sliced)
    end = max(b.grid.time_origin + b.measured.shape[-1] * b.grid.time_step for b in sliced)
    per_band = [
        (b.freqs[b.keep], on_grid(db, b.grid.time_origin, b.grid.time_step, start, end, columns))
        for b, db in zip(sliced, dbs)
    ]
    x = start + (np.arange(columns) + 0.5) * (end - start) / columns
    note = (
        "Overlap-added slices: neighbouring half-overlapping slices summed into one time axis "
        "(the signal's), each band's cells at their true duration."
    )
    return _rows_view("overlap-add", per_band, rows, x, "time (s)", note, (0.0, duration))


__all__ = [
    "FLOOR_DB",
    "SpectrogramView",
    "band_frequencies",
    "compute_views",
    "cut_excerpt",
    "describe_views",
    "excerpt",
    "overlap_added_view",
    "ragged_view",
    "views_figure",
]
