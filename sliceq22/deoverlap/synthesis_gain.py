"""How much a unit of coefficient energy in each band weighs in the time domain.

The sliced transforms' frames are not tight: coefficient energy in one band
synthesises to a different time-domain energy than in another. At the seed's
framewise NSGCQ a band's gain runs from ~7e-5 (the lowest constant-Q bands,
whose long atoms hold most of the coefficient energy) through ~0.07 (the band
below ``minFrequency``) to ~4700 (the band above ``maxFrequency``). The
learned de-overlap is fitted to split magnitudes; weighting each band's rows
by its gain makes the fit minimise an estimate of the time-domain error,
which is what self-reconstruction and MPI score (+0.25 dB median at the
framewise seed, ``benchmarks/deoverlap.py``). Bands are measured one at a
time on seeded white noise, cached per setting.
"""

from __future__ import annotations

import numpy as np

from sliceq22.deoverlap.pieces import cached_per_setting, sliced
from sliceq22.transforms.base import Transform
from sliceq22.transforms.streaming import FramedTransform

#: Slices of white noise synthesised per band.
PROBE_SLICES = 12
#: Seed of the probe's noise.
PROBE_SEED = 20261203

_CACHE: dict[str, list[np.ndarray]] = {}


def synthesis_gains(transform: Transform) -> list[np.ndarray]:
    """Time-domain energy per unit of coefficient energy, per band of every block.

    Returns
    -------
    list[np.ndarray]
        One float64 ``(bands,)`` per block of :meth:`Transform.forward`:
        ``Σ inverse(band alone)² / Σ |band|²`` on white noise (0 for a band
        the noise leaves empty).

    Examples
    --------
    >>> from sliceq22.transforms import make_transform
    >>> gains = synthesis_gains(make_transform("slicqt", {}))
    >>> bool(all((g > 0).all() for g in gains))
    True
    """
    return cached_per_setting(_CACHE, sliced(transform, "a de-overlap"), _measure)


def _measure(framed: FramedTransform) -> list[np.ndarray]:
    """Every block's per-band gains, one band synthesised at a time from seeded white noise."""
    length = PROBE_SLICES * framed.framing(framed.rate).hop
    noise = np.random.default_rng(PROBE_SEED).standard_normal((1, length))
    blocks = framed.forward(noise.astype(np.float32))
    alone = [np.zeros_like(b) for b in blocks]
    gains = []
    for k, block in enumerate(blocks):
        out = np.zeros(block.shape[-2])
        for band in range(block.shape[-2]):
            energy = float(np.sum(np.abs(block[..., band, :]).astype(np.float64) ** 2))
            if energy > 0.0:
                alone[k][..., band, :] = block[..., band, :]
                audio = framed.inverse(alone, length).astype(np.float64)
                out[band] = float(np.sum(audio**2)) / energy
                alone[k][..., band, :] = 0
        gains.append(out)
    return gains
