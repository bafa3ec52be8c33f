"""Essentia's NSG constant-Q filter bank at one DFT size, and its frame operator.

For the bins of :mod:`~sliceq22.transforms.nsgcq_design`, :func:`filter_bank`
places one frequency window per band on the ``size``-point DFT as Essentia's
``NSGConstantQ`` does (window shapes: :func:`essentia_window`), in float32
so positions and weights agree bit for bit. The frame operator of Essentia's
dual inverse is diagonal in frequency, so :func:`frame_diagonal`,
:func:`synthesis_gain` and :func:`reconstruction_snr_db` give the white-noise
reconstruction SNR analytically, and :func:`size_problem` decides from them
(and :func:`painless_problem`) whether a setting reconstructs at a DFT size
without running any transform.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sliceq22.errors import ParameterError
from sliceq22.transforms.nsgcq_design import _bin_tops, _design, _lengths

#: Essentia's window types (``NSGConstantQ.window``).
WINDOWS: tuple[str, ...] = (
    "hannnsgcq",
    "hamming",
    "hann",
    "triangular",
    "square",
    "blackmanharris62",
    "blackmanharris70",
    "blackmanharris74",
    "blackmanharris92",
)

#: Machine epsilon of Essentia's ``Real`` (float32), which its dual adds to the
#: frame operator's diagonal once per window position.
ESSENTIA_EPS = float(np.finfo(np.float32).eps)

_f32 = np.float32


# ---------------------------------------------------------------------------- windows
_BLACKMAN_HARRIS = {
    "blackmanharris62": (0.44959, 0.49364, 0.05677, 0.0),
    "blackmanharris70": (0.42323, 0.49755, 0.07922, 0.0),
    "blackmanharris74": (0.40217, 0.49703, 0.09892, 0.00188),
    "blackmanharris92": (0.35875, 0.48829, 0.14128, 0.01168),
}


def essentia_window(name: str, size: int) -> np.ndarray:
    """Essentia's ``Windowing`` window (``normalized=False``, ``zeroPhase=False``, symmetric).

    Parameters
    ----------
    name : str
        One of :data:`WINDOWS`.
    size : int
        Window length in samples (here: DFT bins), at least 2.

    Returns
    -------
    np.ndarray
        float32 ``(size,)``, computed in float64 and rounded once as Essentia
        stores it. ``hannnsgcq`` is zero-centred (its peak at index 0), the
        others peak in the middle.

    Examples
    --------
    >>> essentia_window("hannnsgcq", 4).tolist()
    [1.0, 0.5, 0.0, 0.5]
    """
    n = int(size)
    i = np.arange(n, dtype=np.float64)
    if name == "hannnsgcq":
        w = 0.5 + 0.5 * np.cos(2.0 * np.pi * i / n)
    elif name == "hann":
        w = 0.5 - 0.5 * np.cos(2.0 * np.pi * i / (n - 1.0))
    elif name == "hamming":
        w = 0.53836 - 0.46164 * np.cos(2.0 * np.pi * i / (n - 1.0))
    elif name == "triangular":
        w = 2.0 / n * (n / 2.0 - np.abs(i - (n - 1.0) / 2.0))
    elif name == "square":
        w = np.ones(n)
    elif name in _BLACKMAN_HARRIS:
        a0, a1, a2, a3 = _BLACKMAN_HARRIS[name]
        step = 2.0 * np.pi / (n - 1)
        # Essentia computes the first half and mirrors it (and the centre for odd sizes).
        half = np.minimum(i, n - 1 - i)
        w = (
            a0
            - a1 * np.cos(step * half)
            + a2 * np.cos(2 * step * half)
            - a3 * np.cos(3 * step * half)
        )
    else:
        raise ParameterError(f"nsgcq: unknown window {name!r}; known: {', '.join(WINDOWS)}")
    return w.astype(np.float32)


# ---------------------------------------------------------------------------- one filter bank
@dataclass(frozen=True)
class FilterBank:
    """Essentia's filter bank for one DFT size: where each band reads and with which weights.

    Bands are numbered as the coefficients are laid out: 0 the DC band,
    ``1 … n`` the constant-Q bands, ``n + 1`` the Nyquist band. Element ``i``
    of band ``j``'s window weighs DFT bin ``first[j] + i`` (negative bins
    and bins past ``size`` wrap as Essentia wraps them).

    Attributes
    ----------
    size : int
        DFT length (Essentia's even ``inputSize``).
    first : np.ndarray
        int64 ``(bands,)``: the bin of each window's element 0,
        ``centre - Lg // 2``.
    centres : np.ndarray
        int64 ``(bands,)``: each band's centre bin (Essentia's ``posit``).
    lengths : np.ndarray
        int64 ``(bands,)``: coefficients per band, ``M`` (rasterized, even).
    windows : tuple of np.ndarray
        Per band, float32 ``(Lg,)`` (Essentia's precision): the window in
        placement order, with Essentia's normalisation weights applied.
    mirror_first, mirror_lengths : np.ndarray
        int64 ``(n,)``: the same for the constant-Q bands mirrored above
        Nyquist (band ``n`` first), which enter the frame operator only.
    mirror_windows : tuple of np.ndarray
        float32 windows of the mirrored bands (the same arrays as their bands').
    """

    size: int
    first: np.ndarray
    centres: np.ndarray
    lengths: np.ndarray
    windows: tuple[np.ndarray, ...]
    mirror_first: np.ndarray
    mirror_lengths: np.ndarray
    mirror_windows: tuple[np.ndarray, ...]

    @property
    def n_bands(self) -> int:
        """Bands with coefficients (DC, constant-Q, Nyquist)."""
        return len(self.lengths)

    def bins(self, band: int) -> np.ndarray:
        """int64 ``(Lg,)``: the (unwrapped) DFT bin each window element of ``band`` weighs."""
        return self.first[band] + np.arange(len(self.windows[band]))


def filter_bank(values: dict[str, Any], rate: int, size: int) -> FilterBank:
    """Essentia's filter bank for validated nsgcq parameters at DFT size ``size`` (even).

    Raises
    ------
    ParameterError
        If ``windowSizeFactor`` is not 1 (Essentia cannot invert it) or
        ``size`` is odd.
    """
    if values["windowSizeFactor"] != 1:
        raise ParameterError(
            f"nsgcq: windowSizeFactor {values['windowSizeFactor']} is not supported (only 1)"
        )
    if size % 2 or size < 2:
        raise ParameterError(f"nsgcq: the DFT size {size} must be even and at least 2")
    return _filter_bank(
        values["minFrequency"],
        values["maxFrequency"],
        values["binsPerOctave"],
        values["gamma"],
        values["rasterize"],
        values["minimumWindow"],
        values["window"],
        values["normalize"],
        rate,
        size,
    )


# A bank's windows hold about one float32 per sample of the signal (42 MB at
# 4 minutes): keep only the last two sizes (a transform's and its check's).
@functools.lru_cache(maxsize=2)
def _filter_bank(
    fmin: float,
    fmax: float,
    bins: int,
    gamma: int,
    rasterize: str,
    minimum_window: int,
    window: str,
    normalize: str,
    rate: int,
    size: int,
) -> FilterBank:
    d = _design(fmin, fmax, bins, gamma, rate)
    n = d.n_bins
    sr = _f32(rate)
    fftres = _f32(sr / _f32(size))
    centres_hz, _ = _bin_tops(fmin, bins, gamma, n - 1)
    q = _f32(
        math.pow(2.0, float(_f32(1) / _f32(bins))) - math.pow(2.0, float(_f32(-1) / _f32(bins)))
    )
    widths = (q * centres_hz + _f32(gamma)).astype(np.float32)
    nyquist = _f32(sr / _f32(2))
    mirrors_hz = (sr - centres_hz[::-1]).astype(np.float32)  # band n first
    # Window lengths in bins (Essentia: bw / fftres + 0.5, truncated, at least minimumWindow).
    bw = np.concatenate(
        ([_f32(_f32(2) * _f32(fmin))], widths, [_f32(mirrors_hz[0] - centres_hz[-1])])
    ).astype(np.float32)
    lg = [max(int(_f32(_f32(v / fftres) + _f32(0.5))), minimum_window) for v in bw]
    positive_hz = np.concatenate(([_f32(0)], centres_hz, [nyquist])).astype(np.float32)
    centres = np.array([math.floor(_f32(f / fftres)) for f in positive_hz], dtype=np.int64)
    mirror_centres = np.array([math.ceil(_f32(f / fftres)) for f in mirrors_hz], dtype=np.int64)
    dc, cq, nf = _lengths(fmin, fmax, bins, gamma, rasterize, minimum_window, rate, size)
    lengths = np.array([dc, *cq, nf], dtype=np.int64)
    raw = [essentia_window(window, length) for length in lg]
    for j, neighbour in ((0, 1), (n + 1, n)):  # n: the top band's window, as its mirror's
        if lg[j] > lg[neighbour]:
            tukey = np.ones(lg[j], dtype=np.float32)
            at = lg[j] // 2 - lg[neighbour] // 2
            tukey[at : at + lg[neighbour]] = raw[neighbour]
            raw[j] = (tukey / _f32(math.sqrt(lg[j]))).astype(np.float32)
    weights = np.ones(n + 2, dtype=np.float32)
    if normalize == "sine":
        weights = (lengths.astype(np.float32) * _f32(2) / _f32(size)).astype(np.float32)
    elif normalize == "impulse":
        weights = (lengths.astype(np.float32) * _f32(2) / np.asarray(lg, np.float32)).astype(
            np.float32
        )
    placed = []
    for j, w in enumerate(raw):
        w = (w * weights[j]).astype(np.float32)
        # fftshift order: element i reads Essentia's window index (i + ceil(Lg/2)) mod Lg
        placed.append(np.roll(w, -((len(w) + 1) // 2)))
    lg_arr = np.asarray(lg, dtype=np.int64)
    mirror_windows = tuple(placed[j] for j in range(n, 0, -1))
    mirror_lg = lg_arr[n:0:-1]
    out = FilterBank(
        size=size,
        first=centres - lg_arr // 2,
        centres=centres,
        lengths=lengths,
        windows=tuple(placed),
        mirror_first=mirror_centres - mirror_lg // 2,
        mirror_lengths=lengths[n:0:-1].copy(),
        mirror_windows=mirror_windows,
    )
    for array in (out.first, out.centres, out.lengths, out.mirror_first, out.mirror_lengths):
        array.flags.writeable = False  # shared by the cache
    return out


def painless_problem(bank: FilterBank) -> str | None:
    """Why Essentia cannot run this bank ("non painless frame"), or ``None``.

    Essentia needs every window to fit in its band's ``M`` coefficients.
    """
    for j, (w, m) in enumerate(zip(bank.windows, bank.lengths)):
        if len(w) > m:
            return (
                f"non painless frame: band {j}'s window spans {len(w)} DFT bins but the band "
                f"has only {m} coefficients"
            )
    return None


def frame_diagonal(bank: FilterBank, dtype: Any = np.float64) -> np.ndarray:
    """Essentia's frame-operator diagonal on bins ``0 … size/2``: ``Σ (M·w² + eps)``.

    Essentia sums over all bands, mirrored ones included, adding its float32
    epsilon once per window element; bins are wrapped modulo ``size``
    (negative bins to ``size + k``, as its inverse does).

    Returns
    -------
    np.ndarray
        ``dtype`` ``(size // 2 + 1,)``.
    """
    half = bank.size // 2 + 1
    diag = np.zeros(half, dtype=np.float64)
    bands = zip(
        (*bank.first, *bank.mirror_first),
        (*bank.windows, *bank.mirror_windows),
        (*bank.lengths, *bank.mirror_lengths),
    )
    for first, w, m in bands:
        w = w.astype(np.float64)
        _add_wrapped(diag, int(first), w * w * float(m) + ESSENTIA_EPS, bank.size)
    return diag.astype(dtype, copy=False)


def _add_wrapped(target: np.ndarray, first: int, values: np.ndarray, size: int) -> None:
    """``target[(first + i) mod size] += values[i]`` for wrapped bins below ``len(target)``."""
    half = len(target)
    start = 0
    while start < len(values):
        k = (first + start) % size
        run = min(len(values) - start, size - k)  # until the bins wrap
        if k < half:
            stop = min(run, half - k)
            target[k : k + stop] += values[start : start + stop]
        start += run


def synthesis_gain(bank: FilterBank, diag: np.ndarray | None = None) -> np.ndarray:
    """What Essentia's analysis and dual synthesis multiply each DFT bin ``0 … size/2`` by.

    Synthesis keeps only the contributions of the bands with coefficients to
    bins ``0 … size/2`` (the rest is overwritten by the conjugate mirror), so
    the composite map is diagonal: ``Σ_j M_j w_j² / diag`` over those bands.
    """
    if diag is None:
        diag = frame_diagonal(bank)
    gain = np.zeros(bank.size // 2 + 1, dtype=np.float64)
    for first, w, m in zip(bank.first, bank.windows, bank.lengths):
        w = w.astype(np.float64)
        _add_clipped(gain, int(first), w * w * float(m))
    np.divide(gain, diag, out=gain, where=diag > 0)
    return gain


def _add_clipped(target: np.ndarray, first: int, values: np.ndarray) -> None:
    """``target[first + i] += values[i]`` where ``0 ≤ first + i < len(target)``."""
    lo, hi = max(first, 0), min(first + len(values), len(target))
    if hi > lo:
        target[lo:hi] += values[lo - first : hi - first]


def reconstruction_snr_db(bank: FilterBank) -> float:
    """Expected white-noise SNR (dB) of Essentia's analysis + dual synthesis at this size.

    The composite map multiplies bin ``k`` by :func:`synthesis_gain` ``g_k``;
    white noise has the same power in every bin of the two-sided spectrum, so
    the SNR is ``Σ c_k / Σ c_k |1 - g_k|²`` with ``c_k = 1`` at DC and
    Nyquist and 2 elsewhere. Rounding (float32: ~130 dB) comes on top.
    """
    gain = synthesis_gain(bank)
    # in place: the arrays are as long as half the signal
    np.subtract(1.0, gain, out=gain)
    np.square(gain, out=gain)
    error = 2.0 * float(np.sum(gain)) - float(gain[0]) - float(gain[-1])
    if error == 0.0:
        return math.inf
    return float(10.0 * np.log10((2.0 * len(gain) - 2.0) / error))
