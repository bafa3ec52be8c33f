"""Time-frequency cell geometry of coefficient blocks (:class:`CellGrid`).

Measures on cell energies (the ridge-analysis objectives) compare transforms
of different redundancy through it; every family describes its blocks with
:meth:`~sliceq22.transforms.base.Transform.cell_grid`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CellGrid:
    """Time-frequency geometry of one coefficient block, for measures on cell energies.

    Every coefficient is a cell of the time-frequency plane: band ``k`` covers
    ``[lower[k], lower[k] + bandwidths[k])`` Hz and time step ``m`` covers
    ``[time_origin + m·time_step, time_origin + (m + 1)·time_step)`` seconds.
    The cells of all blocks of one transform tile the plane once (their areas
    add up to duration × frequency range, whatever the redundancy), and the
    *comparable cell energy* is ``E = weights[k] · |c|²``: weights are chosen
    so that white noise has the same expected energy per unit area in every
    band. Measures that depend only on the density ``E / area`` then give the
    same value for ragged and rasterized forms of one transform.

    Attributes
    ----------
    frequencies : np.ndarray
        float64 ``(bands,)`` band centre frequencies in Hz.
    bandwidths : np.ndarray
        float64 ``(bands,)`` share of the frequency axis of each band in Hz
        (the channel spacing, not the window's width).
    lower : np.ndarray
        float64 ``(bands,)`` lower band edges in Hz.
    weights : np.ndarray
        float64 ``(bands,)`` energy weight per band: ``E = weights · |c|²``.
    time_step : float
        Seconds per coefficient along the block's time axis (after the slice
        overlap-add when ``sliced``).
    time_origin : float
        Start of the first cell in seconds (``-time_step / 2`` for frames
        centred on sample 0).
    edge : np.ndarray
        bool ``(bands,)``: DC and Nyquist bands, which every measure drops.
    sliced : bool
        The block is ``(slices, bands, frames)`` with half-overlapping slices;
        measures first overlap-add the slices into one time axis (the 50 %
        overlap-add of :mod:`~sliceq22.transforms.overlap_add`).
    slice_overlap : {"complex", "energy"}
        What a sliced block's overlap-add adds: the complex coefficients
        (right when coefficients of neighbouring slices at one time add up to
        the unsliced transform's, as for slice windows that sum to one and a
        phase convention that agrees between slices) or their energies.
    periodic : bool
        The time axis is circular (a full-signal NSG transform): the cells
        tile ``[0, frames · time_step)`` and the part of the first cell before
        ``0`` (with ``time_origin = -time_step / 2``) wraps to the end.
    """

    frequencies: np.ndarray
    bandwidths: np.ndarray
    lower: np.ndarray
    weights: np.ndarray
    time_step: float
    time_origin: float = 0.0
    edge: np.ndarray | None = None
    sliced: bool = False
    slice_overlap: str = "complex"
    periodic: bool = False

    def __post_init__(self) -> None:
        n = len(self.frequencies)
        for name in ("bandwidths", "lower", "weights"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"CellGrid.{name} has {len(getattr(self, name))} bands, frequencies {n}"
                )
        if self.edge is None:
            object.__setattr__(self, "edge", np.zeros(n, dtype=bool))
        if self.slice_overlap not in ("complex", "energy"):
            raise ValueError(
                f"CellGrid.slice_overlap {self.slice_overlap!r} is not complex or energy"
            )
        if not self.time_step > 0:
            raise ValueError(f"CellGrid.time_step {self.time_step!r} must be positive")

    @property
    def upper(self) -> np.ndarray:
        """Upper band edges in Hz, ``(bands,)``."""
        return self.lower + self.bandwidths

    @property
    def n_bands(self) -> int:
        """Number of bands in the block."""
        return len(self.frequencies)


def midpoint_edges(frequencies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tile the frequency axis between increasing band centres at the midpoints.

    Band ``k`` spans from the midpoint with its lower neighbour to the midpoint
    with its upper one, so its bandwidth is ``(f[k+1] - f[k-1]) / 2`` — the
    channel spacing; the two outermost bands mirror their inner half.

    Parameters
    ----------
    frequencies : np.ndarray
        ``(bands,)`` strictly increasing centre frequencies in Hz (``bands ≥ 2``).

    Returns
    -------
    lower, bandwidths : np.ndarray
        float64 ``(bands,)`` each.

    Examples
    --------
    >>> lower, width = midpoint_edges(np.array([100.0, 200.0, 400.0]))
    >>> lower.tolist(), width.tolist()
    ([50.0, 150.0, 300.0], [100.0, 150.0, 200.0])
    """
    f = np.asarray(frequencies, dtype=np.float64)
    if f.ndim != 1 or len(f) < 2 or np.any(np.diff(f) <= 0):
        raise ValueError("midpoint_edges needs at least two strictly increasing frequencies")
    middle = (f[1:] + f[:-1]) / 2.0
    edges = np.concatenate(([f[0] - (middle[0] - f[0])], middle, [f[-1] + (f[-1] - middle[-1])]))
    return edges[:-1], np.diff(edges)
