"""The ridge measures on whole arrays of cells: Rényi entropy, Hoyer sparsity, tonal ridges.

These are the reference (whole-signal) forms; :mod:`sliceq22.oracles.ridge_stream`
accumulates the same quantities a piece at a time. See
:mod:`sliceq22.oracles.ridge` for the definitions and the normalisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sliceq22.oracles.cells import Cells, band_fractions
from sliceq22.transforms.base import CellGrid

#: Neighbouring band densities within this relative difference count as equal
#: when peaks are picked (a plateau's peak is its lowest band). Full plateaus
#: are real: at low frequencies neighbouring NSGCQ bands can share their DFT
#: bins and hold the same energy; without the tolerance the last bits of a
#: sum's rounding (a streamed sum order, single precision) would pick the peak.
PEAK_TIE = 1e-6


def _probabilities(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """``p`` (..., cells) and a mask of leading entries with no energy at all."""
    total = cells.energy.sum(axis=-1, keepdims=True)
    silent = total[..., 0] <= 0
    return cells.energy / np.where(total > 0, total, 1.0), silent


def renyi_entropy(cells: Cells, alpha: float = 3.0) -> np.ndarray:
    """Area-weighted Rényi entropy ``1/(1-α) · log2 Σ p^α A^(1-α)`` in bits.

    Parameters
    ----------
    cells : Cells
        Energies ``(..., cells)`` and areas.
    alpha : float
        Order, > 0; 1 gives the Shannon entropy ``-Σ p log2(p / A)``.

    Returns
    -------
    np.ndarray
        float64 ``(...)``; ``nan`` where there is no energy.
    """
    p, silent = _probabilities(cells)
    density = p / cells.area
    if alpha == 1.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log2(np.where(density > 0, density, 1.0)), 0.0)
        value = -terms.sum(axis=-1)
    else:
        # Σ A·d^α = d_max^α · Σ A·(d/d_max)^α: no under/overflow for large α.
        peak = density.max(axis=-1, keepdims=True)
        peak = np.where(peak > 0, peak, 1.0)
        density /= peak
        total = np.einsum("...i,i->...", power_of(density, alpha), cells.area)
        with np.errstate(divide="ignore"):
            value = (alpha * np.log2(peak[..., 0]) + np.log2(total)) / (1.0 - alpha)
    return np.where(silent, np.nan, value)


def power_of(x: np.ndarray, alpha: float) -> np.ndarray:
    """``x ** alpha`` for ``x >= 0``, by multiplication for small whole ``alpha`` (pow is slow)."""
    if float(alpha).is_integer() and 2 <= alpha <= 8:
        out = x * x
        for _ in range(int(alpha) - 2):
            out *= x
        return out
    return x**alpha


def hoyer_sparsity(cells: Cells) -> np.ndarray:
    """Area-weighted Hoyer sparsity ``1 - Σ √(p A) / √(Σ A)`` in ``[0, 1)``.

    Returns
    -------
    np.ndarray
        float64 ``(...)``; ``nan`` where there is no energy.
    """
    p, silent = _probabilities(cells)
    ratio = np.sum(np.sqrt(p * cells.area), axis=-1) / math.sqrt(cells.total_area)
    return np.where(silent, np.nan, 1.0 - ratio)


# ---------------------------------------------------------------------------- tonal ridges
def frame_bounds(duration: float, frame: float) -> np.ndarray:
    """Edges of the common time frames in seconds, ``(frames + 1,)``, the last at ``duration``."""
    n_frames = max(1, math.ceil(duration / frame - 1e-9))
    return np.minimum(np.arange(n_frames + 1) * frame, duration)


def frame_energies(power: np.ndarray, origin: float, step: float, bounds: np.ndarray) -> np.ndarray:
    """Energy of each band in each common frame, cells spread evenly over their duration.

    Parameters
    ----------
    power : np.ndarray
        float64 ``(..., bands, M)``: cell ``m`` spans ``origin + [m, m + 1) · step`` s.
    origin, step : float
        Seconds.
    bounds : np.ndarray
        ``(J + 1,)`` increasing frame edges in seconds.

    Returns
    -------
    np.ndarray
        float64 ``(..., bands, J)``: the part of ``power`` inside each frame
        (cells outside ``[origin, origin + M·step)`` contribute nothing).
    """
    n_steps = power.shape[-1]
    position = (bounds - origin) / step
    index = np.floor(position).astype(np.int64)
    fraction = position - index
    inside = (index >= 0) & (index < n_steps)
    fraction = np.where(inside, fraction, 0.0)
    index = np.clip(index, 0, n_steps)  # before the first cell: 0; after the last: all
    cumulative = np.concatenate(
        [np.zeros((*power.shape[:-1], 1)), np.cumsum(power, axis=-1)], axis=-1
    )
    at = cumulative[..., index] + power[..., np.minimum(index, n_steps - 1)] * fraction
    return np.diff(at, axis=-1)


@dataclass(frozen=True)
class RidgeBands:
    """The bands of all blocks inside the region, as the tonal-ridge measure sees them.

    Energies of the kept bands are concatenated block after block (the
    *stacked* axis); ``order`` sorts that axis by band centre.

    Attributes
    ----------
    rows : list[np.ndarray]
        Per block, int ``(kept,)``: its band indices inside the region.
    fractions : list[np.ndarray]
        Per block, float64 ``(kept,)``: share of each kept band inside the region.
    offsets : list[int]
        Per block, position of its first kept band on the stacked axis.
    order : np.ndarray
        int ``(bands,)``: stacked position of the ``i``-th band by centre frequency.
    low, high, centre : np.ndarray
        float64 ``(bands,)``: clipped edges and centres in Hz, by centre frequency.
    """

    rows: list[np.ndarray]
    fractions: list[np.ndarray]
    offsets: list[int]
    order: np.ndarray
    low: np.ndarray
    high: np.ndarray
    centre: np.ndarray

    @classmethod
    def build(cls, grids: Sequence[CellGrid], fmin: float, fmax: float) -> RidgeBands:
        """The kept bands of ``grids`` inside ``[fmin, fmax]`` Hz."""
        rows, fractions, offsets, lows, highs, centres = [], [], [], [], [], []
        offset = 0
        for grid in grids:
            fb = band_fractions(grid, fmin, fmax)
            kept = np.flatnonzero(fb > 0)
            rows.append(kept)
            fractions.append(fb[kept])
            offsets.append(offset)
            offset += len(kept)
            lows.append(np.maximum(grid.lower[kept], fmin))
            highs.append(np.minimum(grid.upper[kept], fmax))
            centres.append(grid.frequencies[kept])
        order = np.argsort(np.concatenate(centres), kind="stable")
        return cls(
            rows, fractions, offsets, order, np.concatenate(lows)[order],
            np.concatenate(highs)[order], np.concatenate(centres)[order],
        )  # fmt: skip

    @property
    def n_bands(self) -> int:
        """Kept bands of all blocks."""
        return len(self.order)


def ridge_capture(
    stacked: np.ndarray, bands: RidgeBands, peaks: int, cents: float
) -> tuple[np.ndarray, np.ndarray]:
    """Energy within ±``cents`` of the ``peaks`` strongest peaks of each frame, and all energy.

    Parameters
    ----------
    stacked : np.ndarray
        float64 ``(..., bands, frames)``: band energies per common frame, on
        ``bands``' stacked axis.
    bands : RidgeBands
        The band layout.
    peaks : int
        K, peaks per frame.
    cents : float
        δ, half-width of each peak's window in cents.

    Returns
    -------
    captured, total : np.ndarray
        float64 ``(...)``, summed over the frames.
    """
    low, high, centre = bands.low, bands.high, bands.centre
    # (..., frames, bands): frequency last so the per-frame work is vectorised
    energy = np.swapaxes(stacked[..., bands.order, :], -1, -2)
    density = energy / (high - low)

    # local maxima of the density along frequency (a plateau: its lowest band), the K
    # strongest per frame
    left = np.concatenate([np.full_like(density[..., :1], -np.inf), density[..., :-1]], axis=-1)
    right = np.concatenate([density[..., 1:], np.full_like(density[..., :1], -np.inf)], axis=-1)
    tie = 1.0 + PEAK_TIE
    peak = (density > left * tie) & (density * tie >= right) & (density > 0)
    strength = np.where(peak, density, -np.inf)
    k = min(peaks, strength.shape[-1])
    top = np.argpartition(-strength, k - 1, axis=-1)[..., :k]
    valid = np.isfinite(np.take_along_axis(strength, top, axis=-1))
    ratio = 2.0 ** (cents / 1200.0)
    f_peak = np.where(valid, centre[top], 0.0)
    f_peak = np.sort(f_peak, axis=-1)  # invalid (0 Hz, empty windows) first
    w_low = f_peak / ratio
    w_high = f_peak * ratio
    # windows of equal log-width sorted by centre: clip each to the previous one's top
    previous = np.concatenate([np.zeros_like(w_high[..., :1]), w_high[..., :-1]], axis=-1)
    w_low = np.maximum(w_low, previous)
    w_high = np.maximum(w_high, w_low)

    # cumulative energy along frequency, linear inside each band
    prefix = np.concatenate([np.zeros_like(energy[..., :1]), np.cumsum(energy, axis=-1)], axis=-1)

    def cumulative(f: np.ndarray) -> np.ndarray:
        band = np.clip(np.searchsorted(low, f, side="right") - 1, 0, len(low) - 1)
        inside = np.clip((f - low[band]) / (high[band] - low[band]), 0.0, 1.0)
        before = np.take_along_axis(prefix, band, axis=-1)
        return before + np.take_along_axis(energy, band, axis=-1) * inside

    captured = (cumulative(w_high) - cumulative(w_low)).sum(axis=(-1, -2))
    return captured, energy.sum(axis=(-1, -2))


def ridge_ratio(captured: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``captured / total``, ``nan`` where there is no energy."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, captured / np.where(total > 0, total, 1.0), np.nan)


def tonal_ridge_fraction(
    powers: Sequence[np.ndarray],
    grids: Sequence[CellGrid],
    duration: float,
    fmin: float,
    fmax: float,
    peaks: int = 10,
    cents: float = 25.0,
    frame: float = 0.025,
) -> np.ndarray:
    """Fraction of the energy within ±``cents`` of the ``peaks`` strongest peaks per frame.

    Parameters
    ----------
    powers : Sequence[np.ndarray]
        From :func:`~sliceq22.oracles.cells.block_powers`, ``(..., bands, frames)`` per block.
    grids : Sequence[CellGrid]
        One per block.
    duration : float
        Signal duration in seconds.
    fmin, fmax : float
        Frequency region in Hz.
    peaks : int
        K, peaks per frame.
    cents : float
        δ, half-width of each peak's window in cents.
    frame : float
        Length of a frame of the common time grid in seconds.

    Returns
    -------
    np.ndarray
        float64 ``(...)`` in ``[0, 1]``; ``nan`` where there is no energy.
    """
    bounds = frame_bounds(duration, frame)
    bands = RidgeBands.build(grids, fmin, fmax)
    energies = [
        frame_energies(power[..., rows, :], grid.time_origin, grid.time_step, bounds)
        * fraction[:, None]
        for power, grid, rows, fraction in zip(powers, grids, bands.rows, bands.fractions)
    ]
    captured, total = ridge_capture(np.concatenate(energies, axis=-2), bands, peaks, cents)
    return ridge_ratio(captured, total)
