"""Putting cell energies on a display grid: dB below the peak, pixels in time, rows in frequency.

Shared by the spectrogram views (:mod:`sliceq22.report.spectrogram`). Images
are reduced to a display grid (nearest cell where cells are wider than a
pixel, maximum where they are narrower) and stored as int8 dB, which keeps a
report small.
"""

from __future__ import annotations

import numpy as np

#: Lowest level drawn, dB below the loudest cell.
FLOOR_DB = -80.0


def to_db(values: list[np.ndarray], reference: float | None = None) -> list[np.ndarray]:
    """Energies in dB below the largest value of all arrays, clipped at :data:`FLOOR_DB`.

    Parameters
    ----------
    values : list[np.ndarray]
        Non-negative energies, any shapes.
    reference : float, optional
        The energy at 0 dB instead of the largest value (an error drawn
        against the signal it is the error of).

    Returns
    -------
    list[np.ndarray]
        float64, the same shapes, dB in ``[FLOOR_DB, 0]``.

    Examples
    --------
    >>> [a.tolist() for a in to_db([np.array([1.0, 0.1]), np.array([0.0])])]
    [[0.0, -10.0], [-80.0]]
    """
    peak = max((float(np.max(v)) for v in values if v.size), default=0.0)
    peak = peak if reference is None else float(reference)
    ref = peak if peak > 0 else 1.0
    return [np.clip(10.0 * np.log10(np.maximum(v, 1e-30) / ref), FLOOR_DB, 0.0) for v in values]


def on_grid(
    cells: np.ndarray, origin: float, step: float, start: float, end: float, columns: int
) -> np.ndarray:
    """Sample ``(rows, n)`` cells onto ``columns`` equal pixels spanning ``[start, end)`` seconds.

    Cells wider than a pixel: each pixel shows the cell under its centre, so a
    coarse band stays visibly blocky. Narrower: the loudest cell in the pixel.
    Pixels outside the cells are at the floor.

    Parameters
    ----------
    cells : np.ndarray
        dB ``(rows, n)``; cell ``m`` spans ``[origin + m·step, origin + (m + 1)·step)`` s.
    origin, step : float
        Seconds.
    start, end : float
        Seconds shown.
    columns : int
        Pixels.

    Returns
    -------
    np.ndarray
        dB ``(rows, columns)``.
    """
    n = cells.shape[-1]
    out = np.full((cells.shape[0], columns), FLOOR_DB)
    if n == 0:
        return out
    edges = start + (end - start) * np.arange(columns + 1) / columns
    centres = 0.5 * (edges[:-1] + edges[1:])
    inside = (centres >= origin) & (centres < origin + n * step)
    if step >= (end - start) / columns:
        index = np.clip(np.floor((centres - origin) / step).astype(int), 0, n - 1)
        out[:, inside] = cells[:, index[inside]]
        return out
    first = np.clip(np.floor((edges[:-1] - origin) / step).astype(int), 0, n - 1)
    pooled = np.maximum.reduceat(cells, first, axis=1)
    out[:, inside] = pooled[:, inside]
    return out


def log_rows(freqs: np.ndarray, rows_db: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Put bands on at most ``n_rows`` log-spaced frequency rows.

    A row shows the loudest of its bands; a row between two sparse bands shows
    the band nearest to it in log frequency.

    Parameters
    ----------
    freqs : np.ndarray
        ``(bands,)`` positive centre frequencies in Hz.
    rows_db : np.ndarray
        dB ``(bands, columns)``.
    n_rows : int
        Rows wanted (at most four per band are made).

    Returns
    -------
    centres, image : np.ndarray
        Row centres in Hz ``(rows,)`` and dB ``(rows, columns)``.
    """
    order = np.argsort(freqs)
    freqs, rows_db = freqs[order], rows_db[order]
    lo, hi = float(freqs[0]), float(freqs[-1])
    if hi <= lo * 1.0001:
        return freqs[:1], rows_db[:1]
    n_rows = min(n_rows, 4 * len(freqs))
    edges = np.geomspace(lo / 1.0001, hi * 1.0001, n_rows + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    which = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, n_rows - 1)
    out = np.full((n_rows, rows_db.shape[1]), -np.inf)
    np.maximum.at(out, which, rows_db)
    empty = ~np.isfinite(out[:, 0])
    if empty.any():
        nearest = np.abs(np.log(centres[empty])[:, None] - np.log(freqs)[None, :]).argmin(axis=1)
        out[empty] = rows_db[nearest]
    return centres, out


def pool_rows(values: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Max-pool ``(bands, columns)`` to at most ``n_rows`` rows of consecutive bands.

    Returns
    -------
    first, pooled : np.ndarray
        The first band index of each row ``(rows,)`` and ``(rows, columns)``.

    Examples
    --------
    >>> first, pooled = pool_rows(np.array([[1.0], [3.0], [2.0], [0.0]]), 2)
    >>> first.tolist(), pooled.tolist()
    ([0, 2], [[3.0], [2.0]])
    """
    bands = values.shape[0]
    if bands <= n_rows:
        return np.arange(bands), values
    starts = (np.arange(n_rows) * bands) // n_rows
    return starts, np.maximum.reduceat(values, starts, axis=0)


def hz_label(f: float) -> str:
    """``"440 Hz"``, ``"3 kHz"``: a frequency for a tick label.

    Examples
    --------
    >>> hz_label(440.0), hz_label(3000.0)
    ('440 Hz', '3 kHz')
    """
    return f"{f / 1000:.3g} kHz" if f >= 1000 else f"{f:.3g} Hz"


__all__ = ["FLOOR_DB", "hz_label", "log_rows", "on_grid", "pool_rows", "to_db"]
