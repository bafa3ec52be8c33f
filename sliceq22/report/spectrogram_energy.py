"""The comparable cell energies a spectrogram view draws, one :class:`BlockEnergy` per block.

A transform's coefficients are a list of blocks ``(channels, *block_shape)``
(:mod:`sliceq22.transforms.base`): ``(bands, frames)`` for a full-signal
transform, ``(slices, bands, frames)`` for a sliced one, ``(frames,)`` for a
block holding one band. Bands are compared by their *comparable cell energy*
``w_k · |c|²`` from the family's :meth:`~sliceq22.transforms.base.Transform.cell_grid`,
computed by the ridge measures' own functions
(:func:`sliceq22.oracles.cells.cell_energies`, and
:func:`~sliceq22.oracles.cells.slice_energies` for the slices of a sliced
block), so a picture and a ridge score see the same energies. Channels are
added cell by cell, as the ridge measures' default ``channels = "sum"`` does.

A family that does not describe its cells (``cell_grid`` raises
``NotImplementedError``) is still drawn: its grid is made from
``frequencies()`` with weights ``M_k`` (cell energy of a nonstationary Gabor
frame scales as ``1 / M_k``, ``M_k`` = the band's cells per slice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sliceq22.errors import ParameterError, Sliceq22Error
from sliceq22.oracles.cells import cell_energies, slice_energies
from sliceq22.transforms.base import CellGrid, Coefficients, Transform


@dataclass
class BlockEnergy:
    """Comparable cell energies of one coefficient block, ready to draw.

    Attributes
    ----------
    slices : np.ndarray
        float64 ``(slices, bands, frames)``: ``w_k · |c|²`` of every slice
        (one slice for a full-signal block), channels added.
    measured : np.ndarray
        float64 ``(bands, frames')``: the same energies on the block's measured
        time axis, exactly :func:`~sliceq22.oracles.cells.cell_energies` (sliced
        blocks overlap-added, periodic ones with their wrap column); cell ``m``
        spans ``[grid.time_origin + m·step, ... + (m + 1)·step)`` seconds.
    grid : CellGrid
        The block's cell grid (band frequencies in Hz, time step in s, DC/Nyquist bands).
    """

    slices: np.ndarray
    measured: np.ndarray
    grid: CellGrid

    @property
    def sliced(self) -> bool:
        """Half-overlapping slices (the measured axis is their overlap-add)."""
        return self.grid.sliced

    @property
    def keep(self) -> np.ndarray:
        """bool ``(bands,)``: the bands drawn (DC and Nyquist left out)."""
        return ~np.asarray(self.grid.edge, dtype=bool)

    @property
    def freqs(self) -> np.ndarray:
        """``(bands,)`` centre frequencies in Hz."""
        return np.asarray(self.grid.frequencies, dtype=float)


def band_count(shape: tuple[int, ...]) -> int:
    """Bands of a block of one channel's shape ``(frames,)``, ``(bands, frames)`` or
    ``(slices, bands, frames)``."""
    if len(shape) == 1:
        return 1
    if len(shape) in (2, 3):
        return int(shape[-2])
    raise ParameterError(
        f"cannot draw a coefficient block of shape {shape}: expected (bands, frames) "
        "or (slices, bands, frames)"
    )


def band_frequencies(transform: Transform, blocks: list[tuple[int, ...]]) -> np.ndarray:
    """Centre frequency (Hz) of every band, in block order: ``transform.frequencies()``.

    Parameters
    ----------
    transform : Transform
        Any sliceq22 transform (every family defines ``frequencies()``).
    blocks : list[tuple[int, ...]]
        One channel's block shapes (see :func:`band_count`).

    Returns
    -------
    np.ndarray
        float64 ``(bands,)`` over all blocks.

    Raises
    ------
    ParameterError
        The transform gives a different number of frequencies than its blocks hold bands.
    """
    # Transform declares frequencies() (issue #14); the ignore goes once transforms/base.py does.
    found = transform.frequencies()
    flat = np.ravel(np.asarray(found, dtype=float))
    total = sum(band_count(shape) for shape in blocks)
    if flat.size != total:
        raise ParameterError(
            f"{transform.family}: frequencies() gives {flat.size} bands but its coefficient "
            f"blocks hold {total}"
        )
    return flat


def cell_grids(transform: Transform, shapes: list[tuple[int, ...]], length: int) -> list[CellGrid]:
    """The transform's cell grids for ``length`` samples, one per block.

    ``NotImplementedError`` (a family that does not describe its cells) is
    answered with :func:`gabor_grids`, so the family can still be drawn.
    """
    try:
        return list(transform.cell_grid(length))
    except NotImplementedError:
        return gabor_grids(transform, shapes, length)


def gabor_grids(transform: Transform, shapes: list[tuple[int, ...]], length: int) -> list[CellGrid]:
    """Cell grids from ``frequencies()`` with weights ``M_k`` (a nonstationary Gabor frame).

    Time steps spread each band's ``M_k`` cells over the signal (full-signal
    blocks) or over a slice of the overlap-added axis (sliced blocks, the first
    frame centred half a slice before the signal). Bandwidths are unknown and
    left at 0: the views use frequencies, weights and times only.
    """
    freqs = band_frequencies(transform, shapes)
    slice_len = transform.slice_length
    grids, start = [], 0
    for shape in shapes:
        n_bands, cells = band_count(shape), int(shape[-1])
        sliced = len(shape) == 3 and bool(slice_len)
        if sliced:
            assert slice_len is not None
            step, origin = slice_len / (cells * transform.rate), -slice_len / (2 * transform.rate)
        else:
            step, origin = length / (cells * transform.rate), 0.0
        f = freqs[start : start + n_bands]
        start += n_bands
        grids.append(
            CellGrid(
                f,
                np.zeros(n_bands),
                f.copy(),
                np.full(n_bands, float(cells)),
                step,
                origin,
                sliced=sliced,
            )
        )
    return grids


def _one_channel(block: np.ndarray, channel: int | None) -> np.ndarray:
    """``(channels, *shape)`` -> ``(k, *shape)``: the chosen channel, or all of them."""
    if channel is None:
        return block
    if not 0 <= channel < block.shape[0]:
        raise ParameterError(
            f"channel {channel} does not exist: the audio has {block.shape[0]} channel(s)"
        )
    return block[channel : channel + 1]


def block_energies(
    transform: Transform, coefs: Coefficients, length: int, channel: int | None
) -> list[BlockEnergy]:
    """The comparable cell energies of every block of ``transform.forward(audio)``.

    Parameters
    ----------
    transform : Transform
        The transform that made ``coefs``.
    coefs : Coefficients
        Blocks ``(channels, *block_shape)``.
    length : int
        Samples of the analysed audio.
    channel : int, optional
        Only this channel; default all channels added cell by cell.

    Returns
    -------
    list[BlockEnergy]
        One per block, in block order.
    """
    shapes = [tuple(c.shape[1:]) for c in coefs]
    grids = cell_grids(transform, shapes, length)
    if len(grids) != len(coefs):
        raise ValueError(f"{len(coefs)} coefficient blocks but {len(grids)} cell grids")
    out = []
    for block, grid in zip(coefs, grids):
        c = _one_channel(np.asarray(block), channel)
        if c.ndim == 2:  # (k, frames): one band
            c = c[:, None, :]
        per_slice = slice_energies(c, grid, sum_axis=0)
        slices = per_slice if grid.sliced else per_slice[None]
        out.append(BlockEnergy(slices, cell_energies(c, grid, sum_axis=0), grid))
    return out


def layout_variant(transform: Transform, rasterize: str) -> Transform | None:
    """The same setting in another of the family's own layouts (``rasterize``), or ``None``.

    Families with a ``rasterize`` parameter (nsgcq, slicqt) compute a ragged
    (``"none"``) and a matrix (``"full"``) form themselves; the views use
    those rather than imitating one from the other.
    """
    declared = {p.name: p for p in type(transform).PARAMS}
    param = declared.get("rasterize")
    if (
        param is None
        or rasterize not in (param.choices or ())
        or transform.params.get("rasterize") == rasterize
    ):
        return None
    try:
        return type(transform)({**transform.params, "rasterize": rasterize}, rate=transform.rate)
    except Sliceq22Error:  # a layout may refuse what the other accepts
        return None


def variant_energies(
    transform: Transform | None, audio: np.ndarray, channel: int | None
) -> list[BlockEnergy] | None:
    """:func:`block_energies` of ``audio (channels, samples)`` under a layout variant.

    ``None`` if there is no variant or it refuses the audio (e.g. the other
    layout is larger than a memory bound: the views fall back to one layout).
    """
    if transform is None:
        return None
    try:
        return block_energies(transform, transform.forward(audio), audio.shape[-1], channel)
    except Sliceq22Error:
        return None


__all__ = [
    "BlockEnergy",
    "band_count",
    "band_frequencies",
    "block_energies",
    "cell_grids",
    "gabor_grids",
    "layout_variant",
    "variant_energies",
]
