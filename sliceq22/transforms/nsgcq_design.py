"""Essentia's NSG constant-Q filter-bank design, reproduced in float32 without calling Essentia.

Essentia's ``NSGConstantQ``/``NSGIConstantQ`` (the 2014 toolbox of
Schörkhuber, Klapuri, Holighaus and Dörfler) design, for an input of ``size``
samples, one frequency window per band on the ``size``-point DFT:

* bins ``f_j = minFrequency · 2^(j / binsPerOctave)``, bandwidths
  ``B_j = Q f_j + gamma`` with ``Q = 2^(1/b) - 2^(-1/b)``; a DC band
  (bandwidth ``2·minFrequency``) below and a Nyquist band above; the
  constant-Q bands mirrored above Nyquist;
* band ``j`` is centred on DFT bin ``floor(f_j / fftres)`` (``ceil`` for the
  mirrored bands), its window is ``int(B_j / fftres + 0.5)`` bins long (at
  least ``minimumWindow``), made by Essentia's ``Windowing`` and read in
  ``fftshift`` order, so element ``i`` weighs bin ``centre - Lg//2 + i``;
* the DC and Nyquist windows, when longer than their neighbour's, are ones
  with the neighbour's window in the middle, divided by ``sqrt(length)``
  (Tukey-like once read in ``fftshift`` order);
* every band has ``M`` coefficients (:func:`essentia_lengths`: the window
  length, rasterized, rounded up to even).

Everything is computed in float32 as Essentia does, so lengths and positions
agree bit for bit (the tests compare with Essentia's output sizes on random
settings). The filter bank of one DFT size and its frame operator (the
feasibility check without an Essentia probe) are in
:mod:`~sliceq22.transforms.nsgcq_bank`; the framewise analysis window is
:func:`tukey_frame_window`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, SupportsFloat

import numpy as np

from sliceq22.errors import ParameterError

_f32 = np.float32


# ---------------------------------------------------------------------------- bins in float32
def _libm_log2f() -> Callable[[SupportsFloat], float]:
    """``log2f`` from the C library Essentia calls, so the float32 design matches bit for bit."""
    name = ctypes.util.find_library("m") or "libm.so.6"
    try:
        fn = ctypes.CDLL(name).log2f
    except (OSError, AttributeError):  # no libm: numpy's float32 log2 is within an ulp
        return lambda v: float(np.log2(_f32(v)))
    fn.restype = ctypes.c_float
    fn.argtypes = [ctypes.c_float]
    return lambda v: float(fn(float(v)))


_log2f = _libm_log2f()


@dataclass(frozen=True)
class _Design:
    """Essentia's constant-Q bins for one setting (no input length involved)."""

    n_bins: int  #: constant-Q bins Essentia keeps
    bin_frequencies: np.ndarray  #: float64 ``(n_bins,)`` nominal centres in Hz
    essentia_max_frequency: float  #: the ``maxFrequency`` passed to Essentia


def _top_bin(fmin: float, fmax: float, bins: int) -> int:
    """Index of Essentia's top bin: ``floor(binsPerOctave · log2(max/min))`` in float32."""
    ratio = _f32(_f32(fmax) / _f32(fmin))
    return math.floor(_f32(_f32(bins) * _f32(_log2f(ratio))))


def _bin_tops(fmin: float, bins: int, gamma: int, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres and upper band edges (Hz) of bins ``0 … top`` as Essentia computes them."""
    bins_f = _f32(bins)
    q = _f32(math.pow(2.0, float(_f32(1) / bins_f)) - math.pow(2.0, float(_f32(-1) / bins_f)))
    centres = np.array(
        [float(_f32(fmin)) * math.pow(2.0, float(_f32(_f32(j) / bins_f))) for j in range(top + 1)],
        dtype=np.float32,
    )
    widths = (q * centres + _f32(gamma)).astype(np.float32)
    return centres, (centres + widths / _f32(2)).astype(np.float32)


def design(values: dict[str, Any], rate: int) -> _Design:
    """Essentia's bins for a setting, and the ``maxFrequency`` that gets them without its bug.

    Raises
    ------
    ParameterError
        If no constant-Q bin fits between ``minFrequency`` and Nyquist.
    """
    return _design(
        values["minFrequency"],
        values["maxFrequency"],
        values["binsPerOctave"],
        values["gamma"],
        rate,
    )


@functools.lru_cache(maxsize=256)
def _design(fmin: float, fmax: float, bins: int, gamma: int, rate: int) -> _Design:
    nyquist = float(_f32(_f32(rate) / _f32(2)))
    top = _top_bin(fmin, fmax, bins)
    _, uppers = _bin_tops(fmin, bins, gamma, top)
    # Essentia drops the top bin when its band passes Nyquist (and then
    # misassigns window lengths and overruns a buffer). A relative margin of
    # 1e-6 keeps knife-edge cases on the safe side of its float32 comparison.
    kept = top
    while kept >= 0 and float(uppers[kept]) > nyquist * (1.0 - 1e-6):
        kept -= 1
    if kept < 0:
        raise ParameterError(
            f"nsgcq: no constant-Q bin fits below Nyquist ({nyquist:g} Hz): the band of the "
            f"bin at minFrequency {fmin!r} already reaches {float(uppers[0]):.1f} Hz"
        )
    essentia_fmax = float(fmax)
    if kept < top:
        # Half a bin above the highest bin that fits: Essentia computes exactly
        # bins 0 … kept and never reaches its pop branch.
        essentia_fmax = fmin * 2.0 ** ((kept + 0.5) / bins)
        if _top_bin(fmin, essentia_fmax, bins) != kept:  # pragma: no cover - float32 guard
            raise ParameterError(
                f"nsgcq: cannot place maxFrequency between bins {kept} and {kept + 1} "
                f"(minFrequency {fmin!r}, binsPerOctave {bins})"
            )
    centres = fmin * 2.0 ** (np.arange(kept + 1) / bins)
    centres.flags.writeable = False  # shared by the cache
    return _Design(kept + 1, centres, essentia_fmax)


def essentia_lengths(
    values: dict[str, Any], rate: int, size: int
) -> tuple[int, tuple[int, ...], int]:
    """Frames per band of Essentia's ``NSGConstantQ`` for ``inputSize=size`` (even).

    A reproduction of Essentia's float32 ``designWindow``/``createCoefficients``
    (window lengths in DFT bins, ``minimumWindow``, rasterization, rounding to
    even), checked against Essentia's output shapes in the tests and on every
    instance this module creates.

    Returns
    -------
    dc, bands, nyquist : int, tuple[int, ...], int
        Frames of the DC band, of each constant-Q band, of the Nyquist band.
    """
    return _lengths(
        values["minFrequency"],
        values["maxFrequency"],
        values["binsPerOctave"],
        values["gamma"],
        values["rasterize"],
        values["minimumWindow"],
        rate,
        size,
    )


@functools.lru_cache(maxsize=256)
def _lengths(
    fmin: float,
    fmax: float,
    bins: int,
    gamma: int,
    rasterize: str,
    minimum_window: int,
    rate: int,
    size: int,
) -> tuple[int, tuple[int, ...], int]:
    d = _design(fmin, fmax, bins, gamma, rate)
    sr = _f32(rate)
    fftres = _f32(sr / _f32(size))
    centres, _ = _bin_tops(fmin, bins, gamma, d.n_bins - 1)
    q = _f32(
        math.pow(2.0, float(_f32(1) / _f32(bins))) - math.pow(2.0, float(_f32(-1) / _f32(bins)))
    )
    widths = (q * centres + _f32(gamma)).astype(np.float32)
    mirror = _f32(sr - centres[-1])
    bw = np.concatenate(
        ([_f32(_f32(2) * _f32(fmin))], widths, [_f32(mirror - centres[-1])])
    ).astype(np.float32)
    # Essentia: bw / fftres + 0.5, truncated to int, at least minimumWindow.
    wins = [max(int(_f32(_f32(v / fftres) + _f32(0.5))), minimum_window) for v in bw]
    n = d.n_bins
    if rasterize == "full":
        wins[1 : n + 1] = [wins[n]] * n
    elif rasterize == "piecewise":
        octaves = math.ceil(_log2f(_f32(_f32(d.essentia_max_frequency) / _f32(fmin))))
        temp = _f32(math.ceil(wins[n] / 2.0**octaves) * 2.0**octaves)
        for j in range(1, n + 1):
            power = float(math.ceil(_log2f(_f32(temp / _f32(wins[j]))))) - 1.0
            wins[j] = int(float(temp) / math.pow(2.0, power))
    wins = [w + (w % 2) for w in wins]  # Essentia's FFTs need even sizes
    return wins[0], tuple(wins[1 : n + 1]), wins[n + 1]


def _runs(lengths: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of equal consecutive values."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(lengths) + 1):
        if i == len(lengths) or lengths[i] != lengths[start]:
            runs.append((start, i))
            start = i
    return runs


def tukey_frame_window(frame_size: int, transition_size: int) -> np.ndarray:
    """The framewise analysis window: zeros, cosine rise, flat top, cosine fall, zeros.

    Parameters
    ----------
    frame_size : int
        Frame length, a multiple of 4.
    transition_size : int
        Length of each cosine flank, even and below ``frame_size / 2``.

    Returns
    -------
    np.ndarray
        float64 ``(frame_size,)``. Copies shifted by ``frame_size / 2`` sum to
        exactly one: the rise is ``sin²(π(n + ½) / 2T)`` and the fall its mirror.

    Examples
    --------
    >>> w = tukey_frame_window(16, 4)
    >>> np.allclose(w[:8] + w[8:], 1.0)
    True
    """
    hop, t = frame_size // 2, transition_size
    rise = np.sin(np.pi * (np.arange(t) + 0.5) / (2 * t)) ** 2
    zeros = np.zeros((hop - t) // 2)
    return np.concatenate((zeros, rise, np.ones(hop - t), rise[::-1], zeros))
