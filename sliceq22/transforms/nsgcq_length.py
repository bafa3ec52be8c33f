"""The DFT size a full-signal nsgcq analyses a signal at: exact, or padded to fast FFT sizes.

Full-signal NSGCQ designs its filter bank on the DFT of the whole signal, so
the band lengths ``M_j`` (coefficients per band) follow the signal length
``L``. When ``L`` or the large ``M_j`` have large prime factors, the FFTs run
several times slower per point (at 240 s, ``M = 145004 = 4·36251``).
Zero-padding the signal to a slightly longer ``L'`` gives the exact NSGCQ of
the padded signal (the inverse crops the padding off again); :func:`fast_size`
picks the ``L'`` within :data:`MAX_PADDING` of ``L`` whose FFTs cost least.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import scipy.fft

from sliceq22.transforms.nsgcq_design import _bin_tops, design, essentia_lengths

#: Padding allowed by :func:`fast_size`, as a fraction of the signal length
#: (signal and top-band lengths that are both fast are rare within 1 %).
MAX_PADDING = 0.05

#: Cost per point of the whole-signal real FFT relative to a band FFT's: it
#: runs over arrays far larger than the caches. Measured: 15 ns per point
#: for 5292000 points, 9.2 ns for 72576 (both 7-smooth, float32).
SIGNAL_FFT_WEIGHT = 1.6

#: Cost of Bluestein's algorithm relative to a direct FFT of its (fast) length
#: ``≥ 2n - 1``: pocketfft's own estimate, which it uses to choose between them.
BLUESTEIN_COST = 3.0

#: Largest prime factor a candidate top-band length may have (pocketfft's
#: generic passes cost ~p per point and factor). Measured: 1.24 ms for
#: 145152 = 2^8·3^4·7 points against 8.67 ms for 145004 = 4·36251.
FAST_FACTOR = 11


@functools.lru_cache(maxsize=65536)
def largest_prime_factor(n: int) -> int:
    """Largest prime factor of ``n ≥ 1`` (1 for ``n = 1``).

    Examples
    --------
    >>> largest_prime_factor(145004)
    36251
    """
    largest, p = 1, 2
    while p * p <= n:
        while n % p == 0:
            largest, n = p, n // p
        p += 1 if p == 2 else 2
    return max(largest, n) if n > 1 else largest


@functools.lru_cache(maxsize=65536)
def _direct_cost(n: int) -> float:
    """Operations per point of a mixed-radix FFT: about ``p`` per prime factor ``p``."""
    total, rest, p = 0.0, n, 2
    while p * p <= rest:
        while rest % p == 0:
            total += 1.0 if p == 2 else (p if p <= 5 else 1.1 * p)
            rest //= p
        p += 1 if p == 2 else 2
    if rest > 1:
        total += rest if rest <= 5 else 1.1 * rest
    return total * n


@functools.lru_cache(maxsize=65536)
def fft_cost(n: int) -> float:
    """Relative cost of one complex FFT of ``n`` points, as pocketfft (scipy) would run it.

    A mixed-radix FFT (cost ~``Σ p`` per point over the prime factors ``p``)
    or, when cheaper, Bluestein's algorithm on a fast length ``≥ 2n - 1``
    (which also needs buffers of that length: slower and larger).

    Examples
    --------
    >>> round(fft_cost(145004) / fft_cost(145152), 1)  # 4·36251 against 2^8·3^4·7
    6.2
    """
    if n < 2:
        return 1.0
    return min(_direct_cost(n), BLUESTEIN_COST * _direct_cost(scipy.fft.next_fast_len(2 * n - 1)))


def uses_bluestein(n: int) -> bool:
    """Whether :func:`fft_cost` prices ``n`` points with Bluestein's algorithm."""
    return n >= 2 and fft_cost(n) < _direct_cost(n)


def transform_cost(values: dict[str, Any], rate: int, size: int) -> float:
    """Relative FFT cost of one analysis (or synthesis) of one channel at DFT size ``size``.

    A real FFT of ``size`` points (weighted by :data:`SIGNAL_FFT_WEIGHT`)
    plus one complex FFT of ``M_j`` points per band.
    """
    dc, bands, nyquist = essentia_lengths(values, rate, size)
    bands_cost = fft_cost(dc) + fft_cost(nyquist) + sum(map(fft_cost, bands))
    return SIGNAL_FFT_WEIGHT * fft_cost(size) + bands_cost


def _top_window_lengths(values: dict[str, Any], rate: int, sizes: np.ndarray) -> np.ndarray:
    """Window length (DFT bins, rounded up to even) of the top constant-Q band at each size.

    Essentia's float32 arithmetic, vectorised over ``sizes`` (as
    :func:`~sliceq22.transforms.nsgcq_design.essentia_lengths` does it for one).
    """
    d = design(values, rate)
    bins = values["binsPerOctave"]
    centres, _ = _bin_tops(values["minFrequency"], bins, values["gamma"], d.n_bins - 1)
    q = np.float32(
        math.pow(2.0, float(np.float32(1) / np.float32(bins)))
        - math.pow(2.0, float(np.float32(-1) / np.float32(bins)))
    )
    bw = np.float32(q * centres[-1] + np.float32(values["gamma"]))
    sr = np.float32(rate)
    fftres = sr / sizes.astype(np.float32)
    lengths = ((bw / fftres).astype(np.float32) + np.float32(0.5)).astype(np.int64)
    lengths = np.maximum(lengths, values["minimumWindow"])
    return lengths + lengths % 2


def fast_size(values: dict[str, Any], rate: int, length: int) -> int:
    """The even DFT size in ``[L, L·(1 + MAX_PADDING)]`` with the cheapest FFTs (model).

    The band FFTs dominate (hundreds of bands of up to ``M`` points against
    one real FFT of the signal), so the search starts from the top band's
    length: for every top length in range with no prime factor above
    :data:`FAST_FACTOR`, the size giving it whose own FFT is cheapest (a
    Bluestein FFT would also allocate buffers of twice the signal); each
    candidate is then costed with all its band lengths
    (:func:`transform_cost`). Ties keep the shorter size.
    """
    exact = length + length % 2
    limit = int(exact * (1.0 + MAX_PADDING))
    sizes = np.arange(exact, limit + 1, 2, dtype=np.int64)
    tops = _top_window_lengths(values, rate, sizes)
    candidates = {exact}
    for top in np.unique(tops):
        if largest_prime_factor(int(top)) > FAST_FACTOR:
            continue
        # the size giving this top length whose own FFT is cheapest
        candidates.add(min((int(n) for n in sizes[tops == top]), key=lambda n: (fft_cost(n), n)))
    costs = {n: transform_cost(values, rate, n) for n in sorted(candidates)}
    return min(costs, key=lambda n: (costs[n], n))
