"""The ridge measures accumulated over :class:`~sliceq22.oracles.cell_stream.PowerChunk` s.

Each measure keeps what it needs of the cells seen so far, so a long signal
never has all its cells in memory. With cell energy ``E``, area ``A``,
density ``e = E / A`` and total ``T = ΣE`` (``p = E / T``):

* Rényi (α ≠ 1): ``Σ A (p/A)^α = T^-α Σ A e^α``; kept as a running peak
  ``e_max`` and ``S = Σ A (e / e_max)^α`` (rescaled when the peak grows), so
  nothing over- or underflows, as the whole-signal form normalises by its peak;
* Shannon (α = 1): ``-Σ p log2(p / A) = -(1/T) Σ E log2 e + log2 T``;
* Hoyer: ``Σ √(p A) = T^-½ Σ √(E A)``;
* tonal ridges: band energies per common frame, added from every chunk that
  overlaps the frame; frames that end before the :class:`CellStream`'s
  frontier are complete, their peaks are picked and only two sums per signal
  are kept.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from sliceq22.oracles.cell_stream import PowerChunk
from sliceq22.oracles.cells import Cells, clip_cells
from sliceq22.oracles.ridge_measures import (
    RidgeBands,
    frame_bounds,
    frame_energies,
    power_of,
    ridge_capture,
    ridge_ratio,
)
from sliceq22.transforms.base import CellGrid


class CellAccumulator(Protocol):
    """What a streamed ridge measure does with the chunks of one signal set."""

    def add(self, chunk: PowerChunk) -> None:
        """Take in one chunk of cell energies."""

    def advance(self, frontier: float) -> None:
        """No later chunk holds a cell starting before ``frontier`` seconds."""

    def result(self) -> tuple[np.ndarray, dict[str, Any]]:
        """The measure per leading index (``nan`` without energy) and JSON-ready extras."""


class DensitySums(ABC):
    """Running sums over the clipped cells, from which a density measure is finished.

    Parameters
    ----------
    grids : Sequence[CellGrid]
        One per block.
    duration : float
        Signal duration in seconds.
    fmin, fmax : float
        Frequency region in Hz.
    """

    def __init__(
        self, grids: Sequence[CellGrid], duration: float, fmin: float, fmax: float
    ) -> None:
        self.grids = list(grids)
        self.duration, self.fmin, self.fmax = duration, fmin, fmax
        self.total: np.ndarray | None = None  # ΣE per leading index
        self.area = 0.0
        self.cells = 0

    def add(self, chunk: PowerChunk) -> None:
        grid = self.grids[chunk.block]
        cells = clip_cells(
            chunk.power, grid, self.duration, self.fmin, self.fmax, chunk.bands, chunk.first
        )
        if cells is None:
            return
        energy = cells.energy.sum(axis=-1)
        self.total = energy if self.total is None else self.total + energy
        self.area += float(cells.area.sum())
        self.cells += int(cells.area.size)
        self._add(cells)

    def advance(self, frontier: float) -> None:
        """Nothing to finish early: the sums are complete only at the end."""

    def result(self) -> tuple[np.ndarray, dict[str, Any]]:
        if self.total is None:
            raise ValueError(f"no cell of the transform lies in {self.fmin:g}-{self.fmax:g} Hz")
        silent = self.total <= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            value = self._value(np.where(silent, 1.0, self.total))
        return np.where(silent, np.nan, value), {"cells": self.cells, "area": self.area}

    @abstractmethod
    def _add(self, cells: Cells) -> None:
        """Add the measure's own sums over ``cells``."""

    @abstractmethod
    def _value(self, total: np.ndarray) -> np.ndarray:
        """The measure from the sums, ``total`` = ΣE (1 where silent)."""


class RenyiSums(DensitySums):
    """Rényi entropy of order ``alpha`` ≠ 1: running peak density and rescaled ``Σ A e^α``."""

    def __init__(
        self, grids: Sequence[CellGrid], duration: float, fmin: float, fmax: float, alpha: float
    ) -> None:
        super().__init__(grids, duration, fmin, fmax)
        self.alpha = float(alpha)
        self.peak: np.ndarray | None = None  # e_max so far
        self.scaled: np.ndarray | None = None  # Σ A (e / e_max)^α so far

    def _add(self, cells: Cells) -> None:
        density = cells.energy / cells.area
        peak = density.max(axis=-1)
        if self.peak is None or self.scaled is None:
            self.peak, self.scaled = np.zeros_like(peak), np.zeros_like(peak)
        grown = np.maximum(self.peak, peak)
        safe = np.where(grown > 0, grown, 1.0)
        self.scaled *= power_of(self.peak / safe, self.alpha)
        self.peak = grown
        density /= safe[..., None]
        self.scaled += np.einsum("...i,i->...", power_of(density, self.alpha), cells.area)

    def _value(self, total: np.ndarray) -> np.ndarray:
        assert self.peak is not None and self.scaled is not None
        peak = np.where(self.peak > 0, self.peak, 1.0) / total  # the peak of p / A
        return (self.alpha * np.log2(peak) + np.log2(self.scaled)) / (1.0 - self.alpha)


class ShannonSums(DensitySums):
    """Shannon entropy (Rényi α = 1): ``Σ E log2 e``."""

    #: Σ E log2 e per leading index so far.
    weighted_log: np.ndarray | float = 0.0

    def _add(self, cells: Cells) -> None:
        energy = cells.energy
        positive = energy > 0
        density = np.where(positive, energy / cells.area, 1.0)
        self.weighted_log = self.weighted_log + np.sum(
            np.where(positive, energy * np.log2(density), 0.0), axis=-1
        )

    def _value(self, total: np.ndarray) -> np.ndarray:
        return -self.weighted_log / total + np.log2(total)


class HoyerSums(DensitySums):
    """Hoyer sparsity: ``Σ √(E A)``."""

    #: Σ √(E A) per leading index so far.
    amplitude: np.ndarray | float = 0.0

    def _add(self, cells: Cells) -> None:
        self.amplitude = self.amplitude + np.sum(np.sqrt(cells.energy * cells.area), axis=-1)

    def _value(self, total: np.ndarray) -> np.ndarray:
        return 1.0 - self.amplitude / np.sqrt(total) / math.sqrt(self.area)


class RidgeFrames:
    """Tonal-ridge sums: band energies of the pending common frames, captured energy so far.

    Parameters
    ----------
    grids : Sequence[CellGrid]
        One per block.
    duration : float
        Signal duration in seconds.
    fmin, fmax : float
        Frequency region in Hz.
    peaks, cents, frame : int, float, float
        As :func:`~sliceq22.oracles.ridge_measures.tonal_ridge_fraction`.

    Notes
    -----
    Memory: the pending frames' band energies, ``(signals[, channels], kept
    bands, frames)`` float64, for the frames between the frontier and the
    latest chunk's end (a piece plus one slice for framed and sliced
    transforms; every frame when pieces are ranges of bands, since their
    frontier only moves at the end).
    """

    def __init__(
        self,
        grids: Sequence[CellGrid],
        duration: float,
        fmin: float,
        fmax: float,
        peaks: int = 10,
        cents: float = 25.0,
        frame: float = 0.025,
    ) -> None:
        self.grids = list(grids)
        self.bands = RidgeBands.build(grids, fmin, fmax)
        self.bounds = frame_bounds(duration, frame)
        self.peaks, self.cents = int(peaks), float(cents)
        self.first = 0  # first pending common frame
        self.pending: np.ndarray | None = None  # (..., kept bands, pending frames)
        self.captured: np.ndarray | float = 0.0
        self.total: np.ndarray | float = 0.0
        self.peak_pending_frames = 0

    @property
    def n_frames(self) -> int:
        """Common frames in all."""
        return len(self.bounds) - 1

    def add(self, chunk: PowerChunk) -> None:
        grid = self.grids[chunk.block]
        rows = self.bands.rows[chunk.block]
        start, stop = chunk.bands
        selected = np.flatnonzero((rows >= start) & (rows < stop))
        if len(selected) == 0:
            return
        begin = grid.time_origin + grid.time_step * chunk.first
        end = grid.time_origin + grid.time_step * chunk.stop
        # frames overlapping [begin, end); earlier frames are final already (frontier ≤ begin)
        low = max(int(np.searchsorted(self.bounds, begin, side="right")) - 1, self.first)
        high = min(int(np.searchsorted(self.bounds, end, side="left")), self.n_frames)
        if high <= low:
            return
        power = chunk.power[..., rows[selected] - start, :]
        energy = frame_energies(power, begin, grid.time_step, self.bounds[low : high + 1])
        energy *= self.bands.fractions[chunk.block][selected, None]
        pending = self._pending(power.shape[:-2], high)
        # rows are sorted, so the selected ones are a run on the stacked axis: add in place
        top = self.bands.offsets[chunk.block] + int(selected[0])
        rows_slice = slice(top, top + len(selected))
        pending[..., rows_slice, low - self.first : high - self.first] += energy

    def _pending(self, leading: tuple[int, ...], high: int) -> np.ndarray:
        """The pending array, grown to hold frames up to ``high``."""
        have = 0 if self.pending is None else self.pending.shape[-1]
        need = high - self.first
        if need > have:
            grow = np.zeros((*leading, self.bands.n_bands, need - have))
            self.pending = (
                grow if self.pending is None else np.concatenate([self.pending, grow], axis=-1)
            )
            self.peak_pending_frames = max(self.peak_pending_frames, need)
        assert self.pending is not None
        return self.pending

    def advance(self, frontier: float) -> None:
        """Finish the frames that end at or before ``frontier`` seconds."""
        done = int(np.searchsorted(self.bounds[1:], frontier, side="right"))
        if done <= self.first or self.pending is None:
            return
        count = min(done - self.first, self.pending.shape[-1])
        captured, total = ridge_capture(
            self.pending[..., :count], self.bands, self.peaks, self.cents
        )
        self.captured = self.captured + captured
        self.total = self.total + total
        self.pending = self.pending[..., count:]
        self.first += count

    def result(self) -> tuple[np.ndarray, dict[str, Any]]:
        self.advance(math.inf)
        ratio = ridge_ratio(np.asarray(self.captured), np.asarray(self.total))
        return ratio, {"pending_frames": self.peak_pending_frames}
