"""The stationary share of a sliced transform: how its slices split white noise.

For a stationary signal the share of OLA position ``k`` (of ``h``) in band
``b`` that belongs to the later slice is a property of the transform alone:
the slice windows and each band's atom length. It is measured once per
setting on seeded white noise, ``mean|s[b, k]| / (mean|s[b, k]| + mean|s[b, h
+ k]|)`` over slices away from the edges. It equals the per-(band, position)
median split fitted on music (within 0.5 dB of self-reconstruction SNR on the
example, bark-262 and framewise), with no data and no parameters, and it is
what the learned model corrects (:mod:`~sliceq22.deoverlap.learned`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sliceq22.deoverlap.pieces import cached_per_setting, sliced
from sliceq22.transforms.base import Transform
from sliceq22.transforms.streaming import FramedTransform

#: Slices of white noise measured (the two at each end are left out).
PROBE_SLICES = 36
#: Seed of the probe's noise.
PROBE_SEED = 20261215

_CACHE: dict[str, list[BlockPrior]] = {}


@dataclass(frozen=True)
class BlockPrior:
    """The stationary share of one block and what describes its bands.

    Attributes
    ----------
    share : np.ndarray
        float64 ``(bands, h)``: the later slice's share of each OLA position.
    spread : np.ndarray
        float64 ``(bands, 1)``: ``4 · mean_k share·(1 - share)``, 0 for a hard
        switch between slices, 1 for an even split everywhere (long atoms).
    edge : np.ndarray
        float64 ``(bands, 1)``: 1 for the DC and Nyquist bands, else 0.
    """

    share: np.ndarray
    spread: np.ndarray
    edge: np.ndarray


def stationary_prior(transform: Transform) -> list[BlockPrior]:
    """The :class:`BlockPrior` of every block of a sliced transform (cached per setting).

    Returns
    -------
    list[BlockPrior]
        One per block of :meth:`Transform.forward`, in order.
    """
    return cached_per_setting(_CACHE, sliced(transform, "a de-overlap"), _measure)


def _measure(framed: FramedTransform) -> list[BlockPrior]:
    """Every block's :class:`BlockPrior`, measured on seeded white noise."""
    hop = framed.framing(framed.rate).hop
    noise = np.random.default_rng(PROBE_SEED).standard_normal((2, PROBE_SLICES * hop))
    frequencies = framed.frequencies()
    priors, band = [], 0
    for block in framed.forward(noise.astype(np.float32)):
        mean = np.abs(block[:, 2:-2]).astype(np.float64).mean(axis=(0, 1))  # (bands, 2h)
        h = mean.shape[-1] // 2
        total = mean[:, :h] + mean[:, h:]
        share = np.full(total.shape, 0.5)
        np.divide(mean[:, :h], total, out=share, where=total > 0)
        spread = 4.0 * np.mean(share * (1.0 - share), axis=-1, keepdims=True)
        freqs = frequencies[band : band + share.shape[0]]
        edge = ((freqs <= 0.0) | (freqs >= framed.rate / 2.0)).astype(np.float64)[:, None]
        priors.append(BlockPrior(share, spread, edge))
        band += share.shape[0]
    return priors


def tiled_share(prior: BlockPrior, n: int) -> np.ndarray:
    """The stationary share on the OLA axis of ``n`` slices: ``(bands, (n + 1)·h)``."""
    return np.tile(prior.share, (1, n + 1))
