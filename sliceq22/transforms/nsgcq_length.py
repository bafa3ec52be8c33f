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

#: Padding allowed by :func:`fast_size`, as a fraction of the signal length.
MAX_PADDING = 0.01

#: FFTs whose length has a prime factor above 11 cost this many times more
#: per point (pocketfft falls back to slower passes; measured ~3× at M = 145004).
SLOW_FACTOR_COST = 3.0


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


def fft_cost(n: int) -> float:
    """Relative cost of one complex FFT of length ``n``: ``n log2 n``, more for slow lengths."""
    if n < 2:
        return 1.0
    slow = SLOW_FACTOR_COST if largest_prime_factor(n) > 11 else 1.0
    return n * math.log2(n) * slow


def transform_cost(values: dict[str, Any], rate: int, size: int) -> float:
    """Relative FFT cost of one analysis (or synthesis) of one channel at DFT size ``size``.

    A real FFT of ``size`` points (half a complex one) plus one complex FFT
    of ``M_j`` points per band.
    """
    dc, bands, nyquist = essentia_lengths(values, rate, size)
    return fft_cost(size) / 2.0 + fft_cost(dc) + fft_cost(nyquist) + sum(map(fft_cost, bands))


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
    """The even DFT size in ``[L, L·(1 + MAX_PADDING)]`` with the cheapest FFTs.

    The band FFTs dominate (hundreds of bands of up to ``M`` points against
    one real FFT of ``L``), so the candidates are, for every top-band length
    ``M`` in range that is 11-smooth (fast for pocketfft), the shortest size
    giving it, and the 11-smooth sizes; each is costed with all its band
    lengths (:func:`transform_cost`). Ties keep the shorter size.
    """
    exact = length + length % 2
    limit = int(exact * (1.0 + MAX_PADDING))
    sizes = np.arange(exact, limit + 1, 2, dtype=np.int64)
    tops = _top_window_lengths(values, rate, sizes)
    first = np.flatnonzero(np.diff(tops, prepend=-1))  # first size of each top length
    candidates = {exact}
    candidates.update(int(sizes[i]) for i in first if largest_prime_factor(int(tops[i])) <= 11)
    n = exact
    while True:
        n = scipy.fft.next_fast_len(n + 1)
        if n > limit:
            break
        if n % 2 == 0:
            candidates.add(n)
    costs = {n: transform_cost(values, rate, n) for n in sorted(candidates)}
    return min(costs, key=lambda n: (costs[n], n))
