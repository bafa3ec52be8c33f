"""Comparable cell energies of a long signal, a piece of coefficients at a time.

:meth:`~sliceq22.transforms.base.Transform.stream_coefficients` hands out
the forward coefficients in pieces (runs of frames or slices, ranges of
bands, or the whole signal); :class:`CellStream` turns each into
:class:`PowerChunk` s: stretches of the arrays
:func:`~sliceq22.oracles.cells.block_powers` would give for the whole
signal, each cell in exactly one chunk. Sliced blocks need their
neighbours for the 50 % overlap-add: the second half of a piece's last slice
(complex, per channel, or energy, as the grid says) is carried to the next
piece.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.oracles.cells import cell_energies, squared_magnitude
from sliceq22.transforms.base import CellGrid
from sliceq22.transforms.overlap_add import overlap_add
from sliceq22.transforms.streaming import Piece


@dataclass
class TargetSource:
    """The chosen targets of a track as a :class:`~sliceq22.transforms.streaming.SignalSource`.

    Parameters
    ----------
    track : Track
        The track.
    keep : list[int]
        Indices of the targets to read, MUSDB order.
    """

    track: Track
    keep: list[int]
    n_signals: int = field(init=False)
    channels: int = field(init=False)
    length: int = field(init=False)

    def __post_init__(self) -> None:
        self.n_signals = len(self.keep)
        self.channels = self.track.channels
        self.length = self.track.length

    def read(self, start: int, stop: int) -> np.ndarray:
        """float32 ``(kept targets, channels, stop - start)``; zeros outside the track."""
        targets = self.track.read_targets(start, stop)
        return targets if self.keep == list(range(len(TARGETS))) else targets[self.keep]


@dataclass
class PowerChunk:
    """A stretch of one block's comparable cell energies.

    Attributes
    ----------
    block : int
        Block index.
    bands : (int, int)
        Band range ``[start, stop)`` of the block's grid.
    first : int
        Index of the first column on the block's measured time axis (after
        the slice overlap-add; with the wrap column of periodic grids).
    power : np.ndarray
        float64 ``(..., stop - start, columns)``: ``w · |c|²``, leading axes
        as the signals (and channels, unless added).
    """

    block: int
    bands: tuple[int, int]
    first: int
    power: np.ndarray

    @property
    def stop(self) -> int:
        """One past the last column."""
        return self.first + self.power.shape[-1]


class CellStream:
    """Turns pieces of a forward transform into :class:`PowerChunk` s.

    Parameters
    ----------
    grids : Sequence[CellGrid]
        The transform's cell grids for the signal's length, one per block.
    sum_axis : int, optional
        Leading axis of the piece blocks to add the energies over (1: the
        channels of ``(signals, channels, ...)``), after a complex overlap-add.

    Attributes
    ----------
    frontier : float
        Seconds: no later chunk holds a cell that starts before it (``-inf``
        until run-of-units pieces move it; ``inf`` after the last unit).
    """

    def __init__(self, grids: Sequence[CellGrid], sum_axis: int | None = None) -> None:
        self.grids = list(grids)
        self.sum_axis = sum_axis
        self.frontier = -math.inf
        self._next_unit = 0
        self._carry: list[np.ndarray | None] = [None] * len(self.grids)
        self._columns = [0] * len(self.grids)  # columns of each block handed out so far

    def chunks(self, piece: Piece) -> Iterator[PowerChunk]:
        """The cell energies of ``piece``, block by block."""
        if len(piece.blocks) != len(self.grids):
            raise ValueError(f"{len(piece.blocks)} coefficient blocks but {len(self.grids)} grids")
        if piece.kind == "units":
            yield from self._units(piece)
        elif piece.kind == "bands":
            assert piece.bands is not None
            for index, (block, grid) in enumerate(zip(piece.blocks, self.grids)):
                start, stop = piece.bands[index]
                if stop > start:
                    power = cell_energies(block, grid, self.sum_axis, (start, stop))
                    yield PowerChunk(index, (start, stop), 0, power)
        elif piece.kind == "whole":
            for index, (block, grid) in enumerate(zip(piece.blocks, self.grids)):
                power = cell_energies(block, grid, self.sum_axis)
                yield PowerChunk(index, (0, grid.n_bands), 0, power)
        else:
            raise ValueError(f"piece of unknown kind {piece.kind!r}")

    def _units(self, piece: Piece) -> Iterator[PowerChunk]:
        if piece.first != self._next_unit:
            raise ValueError(f"piece starts at unit {piece.first}, expected {self._next_unit}")
        self._next_unit = piece.first + piece.count
        last = self._next_unit >= piece.total
        for index, (block, grid) in enumerate(zip(piece.blocks, self.grids)):
            if grid.periodic:
                raise ValueError("a periodic (full-signal) grid cannot be cut into units")
            if grid.sliced:
                power, first = self._slices(index, block, grid, piece, last)
            else:  # frames: one column per unit
                power, first = cell_energies(block, grid, self.sum_axis), piece.first
            self._columns[index] = first + power.shape[-1]
            yield PowerChunk(index, (0, grid.n_bands), first, power)
        if last:
            self.frontier = math.inf
        else:
            self.frontier = min(
                g.time_origin + g.time_step * n for g, n in zip(self.grids, self._columns)
            )

    def _slices(
        self, index: int, block: np.ndarray, grid: CellGrid, piece: Piece, last: bool
    ) -> tuple[np.ndarray, int]:
        """Overlap-added energies of a run of slices, with the previous run's carried half.

        ``block (..., count, bands, frames)``: slice ``u`` covers columns
        ``[u·h, u·h + frames)`` with ``h = frames / 2``; columns before the
        next run's first slice are complete, the rest is carried.
        """
        half = block.shape[-1] // 2
        if grid.slice_overlap == "complex":
            summed = overlap_add(block)  # (..., bands, (count + 1)·h), complex, every channel
        else:
            summed = overlap_add(squared_magnitude(block, self.sum_axis))
        carry = self._carry[index]
        if carry is not None:
            summed[..., :half] += carry
        done = summed.shape[-1] if last else piece.count * half
        self._carry[index] = None if last else summed[..., done:].copy()
        summed = summed[..., :done]
        if grid.slice_overlap == "complex":
            power = squared_magnitude(summed, self.sum_axis)
        else:
            power = summed
        power *= grid.weights[:, None]
        return power, piece.first * half
