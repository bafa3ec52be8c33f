"""The non-stationary Gabor frame of one sliCQT slice, designed on its DFT.

For a slice of ``L = sllen`` samples the frame has one frequency window per
band: band ``k`` is centred on the even DFT bin ``r_k`` nearest to its centre
frequency and spans ``M_k`` bins. Following Holighaus et al. 2012 (and the
sliced variant of the NSGT toolboxes, sevagh/nsgt), the widths are

* DC band: ``2·f_1``; first and last scale band: ``f / q``; the other scale
  bands: the distance between their two neighbours; Nyquist band: twice the
  distance from the last band to Nyquist (all in bins, ``f·L/rate``),

rounded to a multiple of 4 and at least ``min_win``. The windows are the
Blackman-Harris window with the coefficients that make its ends exactly zero
(0.35872, 0.48832, 0.14128, 0.01168); a DC or Nyquist band wider than its
neighbour gets a flat top with Hann flanks as wide as the neighbour's window.

Each band yields ``M_k`` frames per slice (ragged) or ``max(M)`` frames
(matrix): ``c_k = ifft(window · X[r_k + j])`` over the band's bins ``j``,
circularly ordered so bin ``r_k`` is frame-frequency 0 (local phase) or
``r_k mod frames`` (global phase). Every window fits in its frame count, so
the frame is *painless*: its frame operator is the diagonal
``d[b] = Σ_k frames_k · window_k[b]²`` (over positive and mirrored negative
bands) and the canonical dual windows are ``window_k / d``.

Real signals: only the bands from DC to Nyquist are kept. The negative-
frequency bands hold the complex conjugates, so synthesis adds each band's
contribution at bin ``b`` plus the conjugate of the mid bands' contributions at
``L - b`` (which only matters where a window crosses Nyquist or zero).

All of it is precomputed, so analysis is one gather per block and synthesis
one sparse matrix product, whatever the batch size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse

from sliceq22.errors import InfeasibleError
from sliceq22.transforms.scales import Scale

# Blackman-Harris coefficients whose sum with alternating signs is exactly 0,
# so each window ends at zero where its neighbour peaks.
_BLACKMAN_HARRIS = (0.35872, 0.48832, 0.14128, 0.01168)


def blackman_harris(length: int | np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Zero-centred Blackman-Harris window of ``length`` bins at integer ``offsets``.

    Parameters
    ----------
    length : int
        Window length (even).
    offsets : np.ndarray
        Bin offsets from the centre, in ``[-length/2, length/2)``.

    Returns
    -------
    np.ndarray
        Window values, 1 at offset 0 (up to the coefficient sum), 0 at ``±length/2``.
    """
    a0, a1, a2, a3 = _BLACKMAN_HARRIS
    phase = 2.0 * np.pi * offsets / length
    return a0 + a1 * np.cos(phase) + a2 * np.cos(2 * phase) + a3 * np.cos(3 * phase)


def flat_top(length: int, flank: int, offsets: np.ndarray) -> np.ndarray:
    """Zero-centred window of ``length`` bins: 1 in the middle, Hann flanks reaching 0 at the ends.

    The flanks together form a Hann window of ``flank`` bins (the neighbouring
    band's window length), so the DC and Nyquist bands meet their neighbour smoothly.
    """
    beyond = np.abs(offsets) - (length - flank) / 2.0
    return np.where(
        beyond <= 0,
        1.0,
        0.5 + 0.5 * np.cos(2.0 * np.pi * np.maximum(beyond, 0) / flank),
    )


def band_widths(centres: np.ndarray, q: np.ndarray, sllen: int, min_win: int) -> np.ndarray:
    """Window lengths in DFT bins of the DC, scale and Nyquist bands.

    Parameters
    ----------
    centres : np.ndarray
        ``(bands + 2,)`` centre positions in (fractional) bins: 0, the scale
        bands below Nyquist, ``sllen / 2``.
    q : np.ndarray
        ``(bands,)`` quality factors of the scale bands.
    sllen : int
        Slice length (the DFT size).
    min_win : int
        Smallest window length.

    Returns
    -------
    np.ndarray
        int ``(bands + 2,)`` lengths, multiples of 4 (when ``min_win`` is), at least ``min_win``.
    """
    last = len(centres) - 2  # index of the last scale band
    widths = np.empty(len(centres))
    widths[0] = 2.0 * centres[1]
    widths[2:last] = centres[3 : last + 1] - centres[1 : last - 1]
    widths[1] = centres[1] / q[0]
    widths[last] = centres[last] / q[-1]
    widths[last + 1] = (sllen - centres[last]) - centres[last]  # mirrored neighbour - last band
    # np.rint rounds half to even, as the reference toolboxes do.
    rounded = np.rint(widths / 4.0).astype(np.int64) * 4
    return np.maximum(rounded, min_win)


@dataclass(frozen=True)
class SliceFrame:
    """A designed slice frame with its analysis and synthesis index plans.

    Attributes
    ----------
    sllen : int
        DFT length of a slice.
    frequencies : np.ndarray
        ``(bands,)`` band centres in Hz: 0, the scale bands below Nyquist, Nyquist.
    centres : np.ndarray
        int ``(bands,)`` centre bins (even).
    widths : np.ndarray
        int ``(bands,)`` window lengths in bins.
    frames : np.ndarray
        int ``(bands,)`` coefficients per slice of each band.
    blocks : list[tuple[int, int, int]]
        ``(first band, bands, frames)`` of each coefficient block.
    segments : list[tuple[int, int, int]]
        ``(offset, bands, frames)`` of each block in the flat per-slice vector.
    """

    sllen: int
    frequencies: np.ndarray
    centres: np.ndarray
    widths: np.ndarray
    frames: np.ndarray
    blocks: list[tuple[int, int, int]]
    segments: list[tuple[int, int, int]]
    # analysis: block entries = spectrum[gather] (conjugated at conj_at) * weights
    _gather: np.ndarray
    _conj_at: list[np.ndarray]
    _weights: np.ndarray
    # synthesis: spectrum = direct @ entries + conj(mirror @ entries)
    _direct: scipy.sparse.csr_array
    _mirror: scipy.sparse.csr_array
    # the above converted to single precision on first use
    _single: dict = field(default_factory=dict, compare=False, repr=False)

    def _plans(
        self, dtype: np.dtype
    ) -> tuple[np.ndarray, scipy.sparse.csr_array, scipy.sparse.csr_array]:
        """Analysis weights and synthesis matrices in the precision of ``dtype``."""
        if np.dtype(dtype) not in (np.dtype(np.complex64), np.dtype(np.float32)):
            return self._weights, self._direct, self._mirror
        if not self._single:
            self._single["plans"] = (
                self._weights.astype(np.float32),
                self._direct.astype(np.complex64),
                self._mirror.astype(np.complex64),
            )
        return self._single["plans"]

    @property
    def total_frames(self) -> int:
        """Coefficients per slice and channel, all bands together."""
        return int(self.frames.sum())

    def analyse(self, spectra: np.ndarray, out: list[np.ndarray]) -> None:
        """Windowed band spectra of each slice, block by block, ready for the IFFT.

        Parameters
        ----------
        spectra : np.ndarray
            complex ``(..., sllen // 2 + 1)`` one-sided slice spectra.
        out : list[np.ndarray]
            Per block, complex ``(..., bands, frames)`` arrays (views allowed)
            that receive each band's windowed bins in frame-frequency order.
        """
        weights = self._plans(spectra.dtype)[0]
        for (start, count, frames), conj_at, dest in zip(self.segments, self._conj_at, out):
            stop = start + count * frames
            flat = dest.reshape(*dest.shape[:-2], count * frames)  # a view: frames are contiguous
            np.take(spectra, self._gather[start:stop], axis=-1, out=flat, mode="clip")
            if conj_at.size:
                flat[..., conj_at] = np.conj(flat[..., conj_at])
            flat *= weights[start:stop]

    def synthesise(self, spectra: list[np.ndarray]) -> np.ndarray:
        """One-sided slice spectra from the FFTs of the coefficients (the dual frame).

        Parameters
        ----------
        spectra : list[np.ndarray]
            Per block, complex ``(rows, bands, frames)``: the FFT along frames
            of that block's coefficients.

        Returns
        -------
        np.ndarray
            complex ``(rows, sllen // 2 + 1)``.
        """
        rows = spectra[0].shape[0]
        dtype = np.result_type(spectra[0], np.complex64)
        _, direct, mirror = self._plans(dtype)
        # Sparse (bins x frames) times dense (frames x rows): the scatter-add
        # runs in compiled code with the rows contiguous.
        stacked = np.empty((self.total_frames, rows), dtype=dtype)
        for (start, count, frames), block in zip(self.segments, spectra):
            stacked[start : start + count * frames] = block.reshape(rows, -1).T
        out = direct @ stacked
        if mirror.nnz:
            out += np.conj(mirror @ stacked)
        return np.ascontiguousarray(out.T)


def _runs(frames: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of consecutive equal values: ``(first index, length, value)``."""
    edges = np.flatnonzero(np.diff(frames)) + 1
    starts = np.concatenate(([0], edges))
    stops = np.concatenate((edges, [len(frames)]))
    return [(int(a), int(b - a), int(frames[a])) for a, b in zip(starts, stops)]


def _scatter_matrix(
    bins: np.ndarray, entries: np.ndarray, weights: np.ndarray, shape: tuple[int, int]
):
    """Sparse ``(bins, entries)`` matrix adding ``weights · entry`` into each bin (complex data)."""
    matrix = scipy.sparse.csr_array((weights.astype(np.complex128), (bins, entries)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def design_frame(
    scale: Scale,
    *,
    rate: int,
    sllen: int,
    min_win: int,
    matrix: bool,
    global_phase: bool,
) -> SliceFrame:
    """Design the slice frame of ``scale`` and precompute its index plans.

    Parameters
    ----------
    scale : Scale
        Band centres and quality factors; bands at or above Nyquist are dropped.
    rate : int
        Sample rate in Hz.
    sllen : int
        Slice length (multiple of 4).
    min_win : int
        Smallest window length in bins.
    matrix : bool
        Give every band the largest frame count (rasterized matrix form).
    global_phase : bool
        Essentia's ``phaseMode='global'`` ordering of each band's bins.

    Returns
    -------
    SliceFrame

    Raises
    ------
    InfeasibleError
        If no scale band lies below Nyquist, a window is wider than the slice
        spectrum, or some DFT bin is covered by no window.
    """
    frequencies, widths = _kept_bands(scale, rate=rate, sllen=sllen, min_win=min_win)
    centres = (np.rint(frequencies * (sllen / rate) / 2.0).astype(np.int64)) * 2
    n_bands = len(frequencies)
    frames = np.full(n_bands, widths.max()) if matrix else widths.copy()
    blocks = [(0, n_bands, int(frames[0]))] if matrix else _runs(frames)
    segments, offset = [], 0
    for _, count, length in blocks:
        segments.append((offset, count, length))
        offset += count * length
    band_of, values, bins, entry = _window_entries(widths, centres, frames, sllen, global_phase)
    dual = _dual_values(band_of, values, bins, frames, sllen)
    gather, weights, conj_at = _analysis_plan(bins, entry, values, segments, sllen)
    direct, mirror = _synthesis_plan(band_of, bins, entry, dual, frames, sllen)
    return SliceFrame(
        sllen=sllen,
        frequencies=frequencies,
        centres=centres,
        widths=widths,
        frames=frames,
        blocks=blocks,
        segments=segments,
        _gather=gather,
        _conj_at=conj_at,
        _weights=weights,
        _direct=direct,
        _mirror=mirror,
    )


def _kept_bands(
    scale: Scale, *, rate: int, sllen: int, min_win: int
) -> tuple[np.ndarray, np.ndarray]:
    """Band centres in Hz (DC, the scale's bands below Nyquist, Nyquist) and window lengths.

    Returns
    -------
    frequencies : np.ndarray
        float64 ``(bands,)`` in Hz.
    widths : np.ndarray
        int64 ``(bands,)`` window lengths in DFT bins (:func:`band_widths`).

    Raises
    ------
    InfeasibleError
        If no scale band lies below Nyquist or a window is wider than the
        slice spectrum.
    """
    nyquist = rate / 2.0
    keep = scale.frequencies < nyquist
    if not keep.any():
        raise InfeasibleError(
            f"slicqt: no band of scale {scale.name!r} lies below Nyquist {nyquist:g} Hz"
        )
    frequencies = np.concatenate(([0.0], scale.frequencies[keep], [nyquist]))
    positions = frequencies * (sllen / rate)  # fractional DFT bins
    widths = band_widths(positions, scale.q[keep], sllen, min_win)
    if widths.max() > sllen:
        raise InfeasibleError(
            f"slicqt: a band window spans {int(widths.max())} bins, more than the "
            f"{sllen}-bin slice spectrum; use a longer sllen or fewer/wider bands"
        )
    return frequencies, widths


def _window_entries(
    widths: np.ndarray, centres: np.ndarray, frames: np.ndarray, sllen: int, global_phase: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One entry per (band, bin of its window): band, window value, DFT bin, frame slot.

    Returns
    -------
    band_of, values, bins, entry : np.ndarray
        ``(Σ widths,)`` each: the band (int), the window's value (float64),
        the DFT bin in ``[0, sllen)`` (int) and the position in the flat
        per-slice coefficient vector (int) of every entry.
    """
    n_bands = len(widths)
    band_of = np.repeat(np.arange(n_bands), widths)
    starts = np.concatenate(([0], np.cumsum(widths)[:-1]))
    within = np.arange(band_of.size) - starts[band_of]
    offsets = within - widths[band_of] // 2  # in [-M/2, M/2)
    values = blackman_harris(widths[band_of], offsets)
    for edge, neighbour in ((0, 1), (n_bands - 1, n_bands - 2)):
        if widths[edge] > widths[neighbour]:
            here = band_of == edge
            values[here] = flat_top(int(widths[edge]), int(widths[neighbour]), offsets[here])
    bins = (centres[band_of] + offsets) % sllen
    rotation = centres[band_of] if global_phase else 0
    slot = (offsets + rotation) % frames[band_of]
    frame_offsets = np.concatenate(([0], np.cumsum(frames)[:-1]))
    entry = frame_offsets[band_of] + slot
    return band_of, values, bins, entry


def _dual_values(
    band_of: np.ndarray, values: np.ndarray, bins: np.ndarray, frames: np.ndarray, sllen: int
) -> np.ndarray:
    """Canonical dual window values per entry: ``frames · window / d[bin]``.

    ``d`` is the frame operator's diagonal over the whole DFT circle, the
    negative (mirrored) scale bands included.

    Raises
    ------
    InfeasibleError
        If some DFT bin is covered by no window.
    """
    n_bands = len(frames)
    weight = frames[band_of] * values**2
    mid = (band_of > 0) & (band_of < n_bands - 1)
    diagonal = np.zeros(sllen)
    np.add.at(diagonal, bins, weight)
    np.add.at(diagonal, (-bins[mid]) % sllen, weight[mid])
    if diagonal.min() <= 1e-12 * diagonal.max():
        empty = int(np.argmin(diagonal))
        raise InfeasibleError(
            f"slicqt: DFT bin {empty} of the {sllen}-sample slice is covered by no band window"
        )
    return frames[band_of] * values / diagonal[bins]


def _analysis_plan(
    bins: np.ndarray,
    entry: np.ndarray,
    values: np.ndarray,
    segments: list[tuple[int, int, int]],
    sllen: int,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Where each coefficient reads the one-sided spectrum, its weight, and which to conjugate.

    Bins above Nyquist are read at ``sllen - bin`` and conjugated.

    Returns
    -------
    gather : np.ndarray
        int64 ``(total,)`` one-sided bin per coefficient.
    weights : np.ndarray
        float64 ``(total,)`` window value per coefficient.
    conj_at : list[np.ndarray]
        Per block, the sorted positions (within the block) to conjugate.
    """
    total = sum(count * length for _, count, length in segments)
    gather = np.zeros(total, dtype=np.int64)
    weights = np.zeros(total)
    upper = bins > sllen // 2
    gather[entry] = np.where(upper, sllen - bins, bins)
    weights[entry] = values
    conj_at = [
        np.sort(entry[upper & (entry >= start) & (entry < start + count * length)] - start)
        for start, count, length in segments
    ]
    return gather, weights, conj_at


def _synthesis_plan(
    band_of: np.ndarray,
    bins: np.ndarray,
    entry: np.ndarray,
    dual: np.ndarray,
    frames: np.ndarray,
    sllen: int,
) -> tuple[scipy.sparse.csr_array, scipy.sparse.csr_array]:
    """Sparse ``(sllen/2 + 1, Σ frames)`` maps from coefficient FFTs to the one-sided spectrum.

    ``direct`` adds each entry's own contribution at bins ``0 … sllen/2``;
    ``mirror`` the conjugate contribution of the scale bands at ``sllen - bin``
    (which only matters where a window crosses Nyquist or zero).
    """
    half = sllen // 2
    shape = (half + 1, int(frames.sum()))
    own = bins <= half
    direct = _scatter_matrix(bins[own], entry[own], dual[own], shape)
    reflected = (-bins) % sllen
    mid = (band_of > 0) & (band_of < len(frames) - 1)  # the scale bands
    mirror_ok = mid & (reflected <= half)
    mirror = _scatter_matrix(reflected[mirror_ok], entry[mirror_ok], dual[mirror_ok], shape)
    return direct, mirror
