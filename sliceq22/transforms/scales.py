"""Frequency scales of the sliCQT: where the bands sit and how sharp they are.

A scale gives, for each band ``k``, a centre frequency ``f_k`` (Hz, increasing)
and a quality factor ``q_k`` (centre frequency over twice the bandwidth, the
convention of the NSGT toolboxes). The sliCQT uses ``q`` only at the two ends
of the scale and to decide how long a slice must be; inside the scale the band
widths follow from the spacing of the neighbours.

Scales (``bins`` is the number of bands, except for ``oct``):

``cqlog``
    Constant-Q, ``bins`` bands log-spaced from ``fmin`` to ``fmax`` inclusive.
``vqlog``
    Variable-Q: the ``cqlog`` frequencies shifted up by ``gamma`` Hz, which
    widens the low bands (lower Q) as in Schörkhuber et al. 2014 and sevagh/nsgt.
``mel``
    ``bins`` bands evenly spaced in mel, ``2595·log10(1 + f/700)``.
``bark``
    ``bins`` bands evenly spaced in Bark, ``6·asinh(f/600)`` (Traunmüller's
    inverse of the sinh form, as in sevagh/nsgt).
``oct``
    Essentia-style octave scale for comparison with ``nsgcq``: ``bins`` is
    *bins per octave*, bands at ``fmin·2^(j/bins)`` for
    ``j = 0 … floor(bins·log2(fmax/fmin))`` (the last band lands at or below
    ``fmax``, as Essentia's ``NSGConstantQ`` places them).

For the warped scales (``vqlog``, ``mel``, ``bark``) ``q = f / (2·df/dk)``: the
analytic form of the central difference the reference toolbox takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Scale names accepted by :func:`make_scale`.
SCALES: tuple[str, ...] = ("cqlog", "vqlog", "mel", "bark", "oct")

# A band is only usable if its frequency window spans more than this many bins
# of the slice's DFT: the NSGT toolboxes warn "Q-factor too high" below it.
_MIN_BAND_BINS = 8.0


@dataclass(frozen=True)
class Scale:
    """Band centre frequencies and quality factors of one scale setting.

    Attributes
    ----------
    name : str
        One of :data:`SCALES`.
    frequencies : np.ndarray
        ``(bands,)`` centre frequencies in Hz, strictly increasing.
    q : np.ndarray
        ``(bands,)`` quality factors (centre frequency / (2 · bandwidth)).
    """

    name: str
    frequencies: np.ndarray
    q: np.ndarray

    def required_slice_length(self, rate: int) -> int:
        """Shortest slice length (a multiple of 4) whose DFT resolves every band.

        A band of quality ``q`` at ``f`` Hz needs more than 8 DFT bins of width
        ``rate / sllen``: ``sllen > 8 · rate · q / f``.

        Parameters
        ----------
        rate : int
            Sample rate in Hz.

        Returns
        -------
        int
            The smallest feasible ``sllen``.
        """
        need = float(np.max(_MIN_BAND_BINS * rate * self.q / self.frequencies))
        length = math.floor(need) + 1
        return length + (-length) % 4


def _log_q(ratio: float) -> float:
    # Quality factor of a log-spaced scale with neighbour ratio `ratio`
    # (band edges at the geometric midpoints between neighbours).
    return math.sqrt(ratio) / (ratio - 1.0) / 2.0


def make_scale(name: str, bins: int, fmin: float, fmax: float, gamma: float = 0.0) -> Scale:
    """Build the scale ``name`` (see the module docstring for each definition).

    Parameters
    ----------
    name : str
        One of :data:`SCALES`.
    bins : int
        Number of bands, or bins per octave for ``oct``.
    fmin, fmax : float
        Lowest and highest centre frequency in Hz (``oct`` may stop below ``fmax``).
    gamma : float
        Frequency offset in Hz of ``vqlog``; ignored by the other scales.

    Returns
    -------
    Scale
        Frequencies and quality factors, before bands at or above Nyquist are dropped.

    Raises
    ------
    ValueError
        For an unknown name or arguments no scale can be built from (the
        transform validates its parameters before calling this).
    """
    if name == "oct":
        count = math.floor(bins * math.log2(fmax / fmin) + 1e-9) + 1
        ratio = 2.0 ** (1.0 / bins)
        freqs = fmin * ratio ** np.arange(count)
        return Scale(name, freqs, np.full(count, _log_q(ratio)))
    if bins < 2:
        raise ValueError(f"scale {name!r} needs at least 2 bins, got {bins}")
    k = np.arange(bins, dtype=np.float64)
    if name in ("cqlog", "vqlog"):
        odiv = (math.log2(fmax) - math.log2(fmin)) / (bins - 1)
        ratio = 2.0**odiv
        base = fmin * ratio**k
        if name == "cqlog":
            return Scale(name, base, np.full(bins, _log_q(ratio)))
        freqs = base + gamma
        return Scale(name, freqs, freqs / (2.0 * base * math.log(ratio)))
    if name == "mel":
        mmin = 2595.0 * math.log10(1.0 + fmin / 700.0)
        mmax = 2595.0 * math.log10(1.0 + fmax / 700.0)
        step = (mmax - mmin) / (bins - 1)
        freqs = 700.0 * (10.0 ** ((mmin + k * step) / 2595.0) - 1.0)
        slope = step * math.log(10.0) / 2595.0 * (freqs + 700.0)  # df/dk
        return Scale(name, freqs, freqs / (2.0 * slope))
    if name == "bark":
        bmin = 6.0 * math.asinh(fmin / 600.0)
        bmax = 6.0 * math.asinh(fmax / 600.0)
        step = (bmax - bmin) / (bins - 1)
        barks = bmin + k * step
        freqs = 600.0 * np.sinh(barks / 6.0)
        slope = step * 100.0 * np.cosh(barks / 6.0)  # df/dk
        return Scale(name, freqs, freqs / (2.0 * slope))
    raise ValueError(f"unknown scale {name!r}; known: {', '.join(SCALES)}")
