"""Every family's coefficient blocks seen as ``(signals, channels, bands, positions)``.

The multichannel Wiener filters keep statistics per band (norbert's "bins")
and treat every time position of a band alike (its "frames"). Every family
puts a block's band axis second-to-last: the STFT ``(..., bins, frames)``,
the sliCQT and framewise NSGCQ ``(..., slices, bands, width)``, full NSGCQ
``(..., bands, frames)``; the other trailing axes are time. This module reads
a run of bands of a block in that layout (in double precision, for the
filters' arithmetic), writes results back into a block of the original
layout, and numbers every band of a transform (:class:`BandLayout`) so
statistics gathered on one piece are found again on another.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sliceq22.transforms.base import Coefficients

#: Bytes of double-precision input one run of bands holds (the filters' temporaries are a
#: few times that): small enough to stay in cache-friendly, allocator-reused arrays.
RUN_BYTES = 4 * 2**20


def band_view(block: np.ndarray) -> np.ndarray:
    """A view ``(signals, channels, bands, *time_axes)`` of a block ``(signals, channels, ...)``."""
    return np.moveaxis(block, -2, 2)


def band_runs(view: np.ndarray, budget: int = RUN_BYTES) -> Iterator[tuple[int, int]]:
    """Band ranges ``[lo, hi)`` of ``view`` whose complex128 copy holds about ``budget`` bytes."""
    bands = view.shape[2]
    per_band = 16 * max(1, view.size // max(1, bands))
    step = max(1, int(budget // per_band))
    for lo in range(0, bands, step):
        yield lo, min(lo + step, bands)


def read_run(view: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """complex128 ``(signals, channels, hi - lo, positions)``: bands ``[lo, hi)``, time flat."""
    run = np.asarray(view[:, :, lo:hi], dtype=np.complex128)
    return run.reshape(*run.shape[:3], -1)


def write_run(view: np.ndarray, lo: int, hi: int, values: np.ndarray) -> None:
    """Write ``(signals, channels, hi - lo, positions)`` into bands ``[lo, hi)`` of ``view``."""
    part = view[:, :, lo:hi]
    part[...] = values.reshape(part.shape)


class BandLayout:
    """Global numbers of the bands of a transform's blocks, for one signal length.

    Parameters
    ----------
    shapes : list of tuple of int
        :meth:`~sliceq22.transforms.base.Transform.block_shapes` for the length.

    Attributes
    ----------
    offsets : list of int
        Global number of each block's first band (blocks in order).
    total : int
        Bands in all blocks.
    """

    def __init__(self, shapes: list[tuple[int, ...]]) -> None:
        counts = [int(shape[-2]) for shape in shapes]
        self.offsets = [int(v) for v in np.concatenate([[0], np.cumsum(counts)[:-1]])]
        self.counts = counts
        self.total = int(sum(counts))

    def ranges(
        self, blocks: Coefficients, bands: list[tuple[int, int]] | None
    ) -> list[tuple[int, int]]:
        """Global band range ``[lo, hi)`` each block of a piece holds.

        Parameters
        ----------
        blocks : Coefficients
            The piece's blocks ``(signals, channels, ...)``.
        bands : list of (int, int) or None
            Per block, the range of its own bands held
            (:attr:`~sliceq22.transforms.streaming.Piece.bands`); ``None``:
            every band of every block.
        """
        out = []
        for b, block in enumerate(blocks):
            start, stop = bands[b] if bands is not None else (0, block.shape[-2])
            if stop - start != block.shape[-2]:
                raise ValueError(
                    f"block {b} holds {block.shape[-2]} bands, but the piece says [{start}, {stop})"
                )
            out.append((self.offsets[b] + start, self.offsets[b] + stop))
        return out
