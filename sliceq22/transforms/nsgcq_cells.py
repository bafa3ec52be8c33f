"""Time-frequency cells of the NSG constant-Q transform's blocks (:class:`CellGrid`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sliceq22.transforms.cell_grid import CellGrid
from sliceq22.transforms.nsgcq_design import essentia_lengths

if TYPE_CHECKING:
    from sliceq22.transforms.nsgcq import NsgConstantQ


def nsgcq_cell_grid(transform: NsgConstantQ, length: int) -> list[CellGrid]:
    """Time-frequency cells of each block (see :class:`~sliceq22.transforms.base.CellGrid`).

    Constant-Q bands tile the frequency axis geometrically: band ``f_j``
    spans ``f_j · 2^(±1 / (2 · binsPerOctave))``. A band with ``M`` frames
    over Essentia's ``inputSize`` samples (the signal, or one frame in
    framewise mode) has time step ``inputSize / (M · rate)``. Essentia's
    coefficients are ``M``-point inverse FFTs (scaled by ``1 / M``) of the
    band's windowed bins, so white noise gives ``E|c|² ∝ win / M²`` for a
    window of ``win`` bins; the comparable cell energy is
    ``E = M · (Δf / (win · rate / inputSize)) · |c|²``, which is
    ``∝ M · |c|²`` in the constant-Q case (``win ∝ Δf``) and also accounts
    for ``gamma`` and ``minimumWindow`` widening the windows. Full mode is
    circular (frame ``n`` centred at ``n`` steps); framewise blocks are
    overlap-added (complex: the Tukey windows sum to one and, as checked
    on white noise, the phases of neighbouring frames agree), frame ``n``
    of slice ``k`` centred at sample ``k · hop + n · step`` of the padded
    signal, which starts ``transform._front()`` samples before the audio.
    """
    transform._check_length(length)
    size = transform._essentia_size(length)
    _, shapes = transform._layout(size)
    unrasterized = {**transform.params, "rasterize": "none"}
    _, windows, _ = essentia_lengths(unrasterized, transform.rate, size)
    bins = transform.params["binsPerOctave"]
    centres = transform._design.bin_frequencies
    lower = centres * 2.0 ** (-0.5 / bins)
    width = centres * 2.0 ** (0.5 / bins) - lower
    weight_per_frame = width / (np.asarray(windows, dtype=np.float64) * transform.rate / size)
    # DC (0 Hz up to the first band) and Nyquist (last band to rate/2): dropped by measures
    nyquist = transform.rate / 2.0
    lower = np.concatenate(([0.0], lower, [lower[-1] + width[-1]]))
    width = np.concatenate(([lower[1]], width, [max(nyquist - lower[-1], 0.0)]))
    weight_per_frame = np.concatenate(([1.0], weight_per_frame, [1.0]))
    frequencies = transform.frequencies()
    grids, first = [], 0
    for index, (count, frames) in enumerate(shapes):
        band = slice(first, first + count)
        first += count
        step = size / (frames * transform.rate)
        if transform.framewise:
            origin, periodic = -transform._front() / transform.rate - step / 2.0, False
        else:
            origin, periodic = -step / 2.0, True
        grids.append(
            CellGrid(
                frequencies=frequencies[band],
                bandwidths=width[band],
                lower=lower[band],
                weights=frames * weight_per_frame[band],
                time_step=step,
                time_origin=origin,
                edge=np.full(count, index in (0, len(shapes) - 1)),
                sliced=transform.framewise,
                slice_overlap="complex" if transform.params["phaseMode"] == "global" else "energy",
                periodic=periodic,
            )
        )
    return grids
