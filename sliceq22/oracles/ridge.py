"""Ridge analysis: how concentrated a target's energy is in a transform's time-frequency plane.

These objectives score a transform directly on the ground-truth targets,
without the separation oracle: a representation in which a target's energy
sits in few, sharp ridges is one a demixing model can mask well.

Normalisation (why transforms of different redundancy compare fairly)
---------------------------------------------------------------------
Every coefficient is a *cell* of the time-frequency plane (its
:class:`~sliceq22.transforms.base.CellGrid`): area ``A`` = time step ×
channel spacing, in s·Hz, so the cells of one transform tile the plane once
whatever its redundancy (an STFT with hop ``h`` and ``n_fft`` bins: ``A =
h / n_fft``; an NSG channel with ``M_k`` coefficients over ``L`` samples:
``A = L / (M_k · rate) × Δf_k``). The comparable cell energy is ``E = w_k ·
|c|²`` with the family's weight (STFT: 1; Essentia's NSGCQ, whose
coefficients scale with ``1 / M_k``: ``M_k``), chosen so white noise has the
same expected energy per unit area in every band. Then

* ``p = E / ΣE`` over the kept cells, where DC and Nyquist bands are dropped
  and every cell is clipped to ``[fmin, fmax]`` Hz and to the signal's
  duration (a cell cut in half keeps half its energy and half its area);
* every measure is a functional of the density ``p / A``, so the ragged and
  rasterized forms of one transform agree and refining a grid does not change
  the value (white noise gives about ``log2(total area) - 1.29`` bits of
  ``renyi`` for every transform).

A transform whose non-DC/Nyquist bands do not reach down to ``fmin`` and up to
``fmax`` (within a quarter tone) cannot be compared with the others (part of
the plane would be missing) and is refused as infeasible before any audio is
transformed: set the objective's ``fmin``/``fmax`` inside every searched
transform's range.

Measures
--------
``renyi``
    ``H_α = 1/(1 - α) · log2 Σ p_i^α A_i^(1-α)`` in bits (α = 1: Shannon,
    ``-Σ p log2(p / A)``). Lower is more concentrated. Default α = 3.
``hoyer``
    Area-weighted Hoyer sparsity ``1 - Σ √(p_i A_i) / √(Σ A_i)``: the L1/L2
    ratio of the amplitude density against that of a flat density, which is
    ``1 - 2^((H_½ - log2 ΣA) / 2)``, a decreasing function of Rényi α = ½.
    0 for a flat density, towards 1 for a single ridge; higher is sparser.
``tonal-ridge``
    The fraction of energy within ±δ cents of the K strongest spectral peaks
    of each frame of a common time grid (frames of ``frame`` seconds; a cell's
    energy is spread evenly over its duration and bandwidth), normalised by
    the same transform setting's value on white noise:
    ``(X - X_noise) / (1 - X_noise)`` (1: all energy on K sharp ridges per
    frame, 0: no more than noise). Peaks are local maxima of the energy
    density along frequency (neighbours within :data:`PEAK_TIE` of each
    other count as equal: a plateau's peak is its lowest band); overlapping
    peak windows are counted once.

Streaming
---------
A track is scored a piece of coefficients at a time
(:meth:`~sliceq22.transforms.base.Transform.stream_coefficients`, pieces of
about :attr:`RidgeObjective.chunk_bytes`), so a full-length track never has
all its coefficients in memory: :mod:`~sliceq22.oracles.cell_stream` turns
pieces into cell energies (carrying the slice overlap-add across pieces),
:mod:`~sliceq22.oracles.ridge_stream` accumulates what each measure needs.
:meth:`RidgeObjective.values` keeps the whole-signal form (one forward call,
:func:`~sliceq22.oracles.cells.block_powers`, the measures of
:mod:`~sliceq22.oracles.ridge_measures`); both give the same values up to
the order of floating-point sums. Modules: :mod:`~sliceq22.oracles.cells`
(cell energies, clipping, coverage), :mod:`~sliceq22.oracles.ridge_measures`,
:mod:`~sliceq22.oracles.cell_stream`, :mod:`~sliceq22.oracles.ridge_stream`
and :mod:`~sliceq22.oracles.ridge_objectives` (the objectives); this module
documents them, and every public name is importable from here.

Memory and precision (4-minute stereo track, 4 targets, one process): peak
RSS 0.47–0.53 GB for stft 4096/1024 and slicqt bark-262, of which 0.39 GB is
the process with the track loaded (the whole-signal path: 4.0 GB for the
stft). Single precision (the default) moves the example's scores by ≤ 1.3e-7
bits (renyi) and ≤ 1.3e-8 (hoyer, tonal-ridge) against double.
"""

from __future__ import annotations

from sliceq22.oracles.cell_stream import CellStream, PowerChunk, TargetSource
from sliceq22.oracles.cells import (
    COVERAGE_TOLERANCE,
    Cells,
    band_fractions,
    block_powers,
    cell_energies,
    check_coverage,
    clip_cells,
    flatten_cells,
    frequency_coverage,
    squared_magnitude,
    time_fractions,
)
from sliceq22.oracles.ridge_measures import (
    PEAK_TIE,
    RidgeBands,
    hoyer_sparsity,
    renyi_entropy,
    ridge_capture,
    tonal_ridge_fraction,
)
from sliceq22.oracles.ridge_objectives import (
    CHANNEL_MODES,
    NOISE_SECONDS,
    NOISE_SEED,
    HoyerObjective,
    RenyiObjective,
    RidgeObjective,
    TonalRidgeObjective,
)
from sliceq22.oracles.ridge_stream import (
    CellAccumulator,
    HoyerSums,
    RenyiSums,
    RidgeFrames,
    ShannonSums,
)

__all__ = [
    "CHANNEL_MODES",
    "COVERAGE_TOLERANCE",
    "NOISE_SECONDS",
    "NOISE_SEED",
    "PEAK_TIE",
    "CellAccumulator",
    "CellStream",
    "Cells",
    "HoyerObjective",
    "HoyerSums",
    "PowerChunk",
    "RenyiObjective",
    "RenyiSums",
    "RidgeBands",
    "RidgeFrames",
    "RidgeObjective",
    "ShannonSums",
    "TargetSource",
    "TonalRidgeObjective",
    "band_fractions",
    "block_powers",
    "cell_energies",
    "check_coverage",
    "clip_cells",
    "flatten_cells",
    "frequency_coverage",
    "hoyer_sparsity",
    "renyi_entropy",
    "ridge_capture",
    "squared_magnitude",
    "time_fractions",
    "tonal_ridge_fraction",
]
