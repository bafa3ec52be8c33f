"""Comparable cell energies of a transform's coefficients, clipped to a measured region.

Every coefficient is a *cell* of the time-frequency plane, described by its
block's :class:`~sliceq22.transforms.base.CellGrid`. :func:`cell_energies` is
the one computation of the comparable energy ``E = w_k · |c|²`` on a block's
measured time axis (sliced blocks overlap-added, periodic ones with their
wrap column); the ridge measures use it (whole blocks through
:func:`block_powers`, pieces through :mod:`sliceq22.oracles.cell_stream`), and
the spectrogram views of :mod:`sliceq22.report` draw it too (and
:func:`slice_energies`, its per-slice form). :func:`clip_cells` then keeps
the cells inside ``[fmin, fmax]`` Hz and ``[0, duration]`` seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sliceq22.errors import InfeasibleError
from sliceq22.transforms.base import CellGrid, Coefficients, Transform
from sliceq22.transforms.overlap_add import overlap_add

#: A transform must cover ``[fmin, fmax]`` to within this factor (a quarter tone).
COVERAGE_TOLERANCE = 2.0 ** (1.0 / 24.0)


@dataclass
class Cells:
    """Comparable energies and areas of the kept cells of one forward call.

    Attributes
    ----------
    energy : np.ndarray
        float64 ``(..., cells)``: ``E = w · |c|²`` clipped to the region.
    area : np.ndarray
        float64 ``(cells,)``: cell areas in s·Hz.
    """

    energy: np.ndarray
    area: np.ndarray

    @property
    def total_area(self) -> float:
        """Area of the region the cells cover, s·Hz."""
        return float(self.area.sum())


def squared_magnitude(
    block: np.ndarray, sum_axis: int | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """float64 ``|c|²``, added over ``sum_axis`` one entry at a time (no full-size temporary).

    Parameters
    ----------
    block : np.ndarray
        Complex (or real) coefficients, any shape.
    sum_axis : int, optional
        A non-negative axis to add over (e.g. 1 for the channels of
        ``(signals, channels, ...)``).
    out : np.ndarray, optional
        float64 array to add into (returned).

    Returns
    -------
    np.ndarray
        float64, ``block``'s shape without ``sum_axis``.

    Examples
    --------
    >>> squared_magnitude(np.array([[3 + 4j], [1j]]), sum_axis=0).tolist()
    [26.0]
    """
    parts = [block] if sum_axis is None else np.moveaxis(block, sum_axis, 0)
    power = out
    for part in parts:
        if power is None:
            power = np.square(part.real, dtype=np.float64)
        else:
            power += np.square(part.real, dtype=np.float64)
        if np.iscomplexobj(part):
            power += np.square(part.imag, dtype=np.float64)
    assert power is not None
    return power


def slice_energies(
    block: np.ndarray,
    grid: CellGrid,
    sum_axis: int | None = None,
    bands: tuple[int, int] | None = None,
) -> np.ndarray:
    """Comparable cell energies ``w_k · |c|²`` of a block on its own axes (no overlap-add).

    The per-slice form of :func:`cell_energies`: a sliced block keeps its
    slices apart (the spectrogram's ragged view lays them end to end).

    Parameters
    ----------
    block : np.ndarray
        Complex ``(..., bands, frames)`` or ``(..., slices, bands, frames)``.
    grid : CellGrid
        The block's cell grid (its ``weights``).
    sum_axis : int, optional
        A non-negative leading axis added over (e.g. the channels).
    bands : (int, int), optional
        The band range ``[start, stop)`` of the grid ``block`` holds (default: all).

    Returns
    -------
    np.ndarray
        float64, ``block``'s shape without ``sum_axis``, in the energy unit of
        the grid's weights (``|c|²`` scaled per band).

    Examples
    --------
    >>> from sliceq22.transforms.base import CellGrid
    >>> grid = CellGrid(np.array([1.0, 2.0]), np.ones(2), np.zeros(2), np.array([1.0, 3.0]), 0.1)
    >>> slice_energies(np.array([[1j, 2.0], [1.0, 1.0]]), grid).tolist()
    [[1.0, 4.0], [3.0, 3.0]]
    """
    return _weighted(squared_magnitude(np.asarray(block), sum_axis), grid, bands)


def _weighted(power: np.ndarray, grid: CellGrid, bands: tuple[int, int] | None) -> np.ndarray:
    """``power (..., bands, frames)`` times the grid's weights of ``bands``, in place."""
    start, stop = (0, grid.n_bands) if bands is None else bands
    if power.shape[-2] != stop - start:
        raise ValueError(
            f"coefficient block with {power.shape[-2]} bands but its grid range has {stop - start}"
        )
    power *= grid.weights[start:stop, None]
    return power


def cell_energies(
    block: np.ndarray,
    grid: CellGrid,
    sum_axis: int | None = None,
    bands: tuple[int, int] | None = None,
) -> np.ndarray:
    """Comparable cell energies ``w_k · |c|²`` of one whole block on its measured time axis.

    Parameters
    ----------
    block : np.ndarray
        Complex ``(..., bands, frames)``, or ``(..., slices, bands, frames)``
        for a sliced grid; every frame (every slice) of the signal.
    grid : CellGrid
        The block's cell grid.
    sum_axis : int, optional
        A non-negative leading axis added over (1: the channels of
        ``(signals, channels, ...)``), after a complex overlap-add.
    bands : (int, int), optional
        The band range ``[start, stop)`` of the grid ``block`` holds (default: all).

    Returns
    -------
    np.ndarray
        float64 ``(..., bands, frames')``: ``frames' = (slices + 1) · frames / 2``
        for sliced grids (complex or energy overlap-add, as
        ``grid.slice_overlap`` says), ``frames + 1`` for periodic grids (the
        first frame repeated at the end: the part of the first cell before 0
        wraps there, and clipping to ``[0, duration]`` keeps the right halves),
        ``frames`` otherwise.
    """
    block = np.asarray(block)
    if grid.sliced and grid.slice_overlap == "complex":
        # overlap-add each channel's complex slices before squaring them
        parts = [block] if sum_axis is None else np.moveaxis(block, sum_axis, 0)
        power = None
        for part in parts:
            power = squared_magnitude(overlap_add(part), out=power)
        assert power is not None
    else:
        power = squared_magnitude(block, sum_axis)
        if grid.sliced:
            power = overlap_add(power)
    power = _weighted(power, grid, bands)
    if grid.periodic:
        power = np.concatenate([power, power[..., :1]], axis=-1)
    return power


def block_powers(
    coefficients: Coefficients, grids: Sequence[CellGrid], sum_axis: int | None = None
) -> list[np.ndarray]:
    """:func:`cell_energies` of every block of a whole forward output.

    Parameters
    ----------
    coefficients : Coefficients
        Blocks ``(..., bands, frames)`` or, for sliced grids,
        ``(..., slices, bands, frames)``.
    grids : Sequence[CellGrid]
        One per block.
    sum_axis : int, optional
        A leading axis (non-negative) over which the energies are added.

    Returns
    -------
    list[np.ndarray]
        float64 ``(..., bands, frames')`` per block (see :func:`cell_energies`).
    """
    if len(coefficients) != len(grids):
        raise ValueError(f"{len(coefficients)} coefficient blocks but {len(grids)} cell grids")
    return [cell_energies(block, grid, sum_axis) for block, grid in zip(coefficients, grids)]


def band_fractions(grid: CellGrid, fmin: float, fmax: float) -> np.ndarray:
    """Share of each band inside ``[fmin, fmax]`` (0 for DC/Nyquist bands), ``(bands,)``."""
    low = np.maximum(grid.lower, fmin)
    high = np.minimum(grid.upper, fmax)
    width = np.where(grid.bandwidths > 0, grid.bandwidths, 1.0)
    fraction = np.clip((high - low) / width, 0.0, 1.0)
    fraction[grid.bandwidths <= 0] = 0.0
    fraction[grid.edge] = 0.0
    return fraction


def time_fractions(grid: CellGrid, n_frames: int, duration: float, first: int = 0) -> np.ndarray:
    """Share of time steps ``[first, first + n_frames)`` inside ``[0, duration]`` s.

    Returns
    -------
    np.ndarray
        float64 ``(n_frames,)`` in ``[0, 1]``.
    """
    start = grid.time_origin + grid.time_step * np.arange(first, first + n_frames)
    low = np.maximum(start, 0.0)
    high = np.minimum(start + grid.time_step, duration)
    return np.clip((high - low) / grid.time_step, 0.0, 1.0)


def frequency_coverage(grids: Sequence[CellGrid]) -> tuple[float, float]:
    """Lowest lower edge and highest upper edge of the non-DC/Nyquist bands, in Hz."""
    inner = [(g, ~np.asarray(g.edge, dtype=bool)) for g in grids]  # CellGrid sets edge
    lows = [g.lower[keep] for g, keep in inner if np.any(keep)]
    highs = [g.upper[keep] for g, keep in inner if np.any(keep)]
    if not lows:
        return math.nan, math.nan
    return float(min(a.min() for a in lows)), float(max(a.max() for a in highs))


def check_coverage(
    transform: Transform, grids: Sequence[CellGrid], fmin: float, fmax: float
) -> None:
    """Refuse a transform whose bands do not cover ``[fmin, fmax]`` (within a quarter tone).

    Raises
    ------
    InfeasibleError
        Naming the covered range and what to change.
    """
    low, high = frequency_coverage(grids)
    if not (low <= fmin * COVERAGE_TOLERANCE and high >= fmax / COVERAGE_TOLERANCE):
        raise InfeasibleError(
            f"{transform.family}: its bands cover {low:.1f}-{high:.1f} Hz (DC/Nyquist bands "
            f"excluded) but the objective measures {fmin:g}-{fmax:g} Hz; set the objective's "
            "fmin/fmax inside every compared transform's range"
        )


def clip_cells(
    power: np.ndarray,
    grid: CellGrid,
    duration: float,
    fmin: float,
    fmax: float,
    bands: tuple[int, int] | None = None,
    first: int = 0,
) -> Cells | None:
    """The cells of one stretch of one block inside the region, flattened.

    Parameters
    ----------
    power : np.ndarray
        float64 ``(..., bands, frames)`` from :func:`cell_energies` (or a
        stretch of it).
    grid : CellGrid
        The block's grid.
    duration : float
        Signal duration in seconds.
    fmin, fmax : float
        Frequency region in Hz.
    bands : (int, int), optional
        Band range of the grid ``power`` holds (default: all).
    first : int
        Index of ``power``'s first frame on the block's measured time axis.

    Returns
    -------
    Cells or None
        ``energy (..., cells)`` (a cell cut in half keeps half its energy)
        and ``area (cells,)``; ``None`` if no cell lies in the region.
    """
    start, stop = (0, grid.n_bands) if bands is None else bands
    fb = band_fractions(grid, fmin, fmax)[start:stop]
    ft = time_fractions(grid, power.shape[-1], duration, first)
    rows = np.flatnonzero(fb > 0)
    columns = np.flatnonzero(ft > 0)
    if len(rows) == 0 or len(columns) == 0:
        return None
    part = power[..., rows, :][..., columns]
    energy = part * (fb[rows, None] * ft[None, columns])
    widths = grid.bandwidths[start:stop][rows] * fb[rows]
    area = widths[:, None] * (grid.time_step * ft[columns])[None, :]
    return Cells(energy.reshape(*part.shape[:-2], -1), area.ravel())


def flatten_cells(
    powers: Sequence[np.ndarray],
    grids: Sequence[CellGrid],
    duration: float,
    fmin: float,
    fmax: float,
) -> Cells:
    """Clip the cells of all blocks to the region and flatten them.

    Parameters
    ----------
    powers : Sequence[np.ndarray]
        From :func:`block_powers` (leading axes already reduced as wanted),
        ``(..., bands, frames)`` per block.
    grids : Sequence[CellGrid]
        One per block.
    duration : float
        Signal duration in seconds.
    fmin, fmax : float
        Frequency region in Hz.

    Returns
    -------
    Cells
        ``energy (..., cells)``, ``area (cells,)``.
    """
    kept = [clip_cells(power, grid, duration, fmin, fmax) for power, grid in zip(powers, grids)]
    parts = [cells for cells in kept if cells is not None]
    if not parts:
        raise ValueError(f"no cell of the transform lies in {fmin:g}-{fmax:g} Hz")
    energy = np.concatenate([c.energy for c in parts], axis=-1)
    return Cells(energy, np.concatenate([c.area for c in parts]))
