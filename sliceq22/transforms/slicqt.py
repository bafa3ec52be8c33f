"""The sliCQT: sliced non-stationary Gabor transform (Holighaus, Dörfler, Velasco, Grill 2012).

The signal is cut into half-overlapping slices of ``sllen`` samples, each
multiplied by a Tukey window whose flat top is half a slice and whose cosine
flanks are ``trlen`` samples long; the windows of neighbouring slices sum to
one. Each windowed slice goes through a painless non-stationary Gabor frame
designed on its ``sllen``-point DFT (:mod:`sliceq22.transforms.slicqt_frame`):
one Blackman-Harris frequency window per band of a :mod:`scale
<sliceq22.transforms.scales>`, plus a DC and a Nyquist band. The canonical dual
frame inverts every slice exactly and the slices add back up to the signal.

Layout of the coefficients
--------------------------
``forward`` returns, for audio ``(..., samples)``:

* ragged (``rasterize="none"``): one block per run of consecutive bands with
  the same number of frames per slice, ``(..., slices, bands_in_block, frames)``,
  low to high frequency, the layout of sevagh/nsgt and xumx-sliCQ;
* matrix (``rasterize="full"``): one block ``(..., slices, bands, frames)``
  with every band on the finest time grid (the most frames of any band), in
  the spirit of the 2014 toolbox's rasterized CQT. This is a different frame
  (more redundant, not an interpolation of the ragged one) and still inverts
  perfectly.

Frame ``n`` of slice ``s`` sits at time ``(s - 1) · sllen/2 + n · sllen/frames``
samples of the signal, so :meth:`SliCQT.overlap_add` (the 50 % overlap-add of
:mod:`~sliceq22.transforms.overlap_add`) gives one continuous time axis per block.

Phase (``phase``): ``local`` coefficients are demodulated to each band's centre
(Essentia's ``phaseMode='local'``, the NSGT toolboxes' output up to a sign per
band); ``global`` multiplies frame ``n`` of a band centred on DFT bin ``r`` by
``exp(2πi·r·n/frames)``, so the phase is that of the band-pass signal at the
frame's time within the slice, as Essentia's ``phaseMode='global'``. The
magnitudes, and so the MPI oracle, are identical.

Speed and memory: every signal and channel goes through one batched call per
step (one ``rfft`` of all slices, one gather of all band windows, one ``ifft``
per block of equal-length bands, one sparse product for the synthesis); no
Python loop runs per band or per slice. Long inputs are processed in chunks of
slices (:data:`CHUNK_BYTES` of spectra each), so the temporaries of a full
track stay small beside its coefficients; the 6 s example is one chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from sliceq22.errors import InfeasibleError, ParameterError
from sliceq22.transforms.base import CellGrid, Coefficients, Param
from sliceq22.transforms.overlap_add import overlap_add
from sliceq22.transforms.scales import SCALES, Scale, make_scale
from sliceq22.transforms.slicqt_frame import SliceFrame, design_frame
from sliceq22.transforms.streaming import FramedTransform, Framing

#: Values of ``rasterize``: ragged blocks or one matrix.
RASTERIZE: tuple[str, ...] = ("none", "full")
#: Values of ``phase``.
PHASES: tuple[str, ...] = ("local", "global")
#: Values of ``precision``: float32/complex64 (default) or float64/complex128 arithmetic.
PRECISIONS: tuple[str, ...] = ("single", "double")
#: Slices are processed in chunks whose one-sided spectra take about this many
#: bytes, so a full track's temporaries stay small next to its coefficients.
CHUNK_BYTES = 64 * 2**20


def tukey_slice_window(sllen: int, trlen: int) -> np.ndarray:
    """The slicing window: zero, cosine rise, flat half slice, cosine fall, zero.

    Parameters
    ----------
    sllen : int
        Slice length (multiple of 4).
    trlen : int
        Length of each cosine flank (even, below ``sllen / 2``).

    Returns
    -------
    np.ndarray
        float64 ``(sllen,)``; shifted copies by ``sllen / 2`` sum to one.
    """
    quarter, half_tr = sllen // 4, trlen // 2
    window = np.zeros(sllen)
    ramp = np.arange(trlen) * (np.pi / trlen) if trlen else np.zeros(0)
    window[quarter - half_tr : quarter + half_tr] = 0.5 - 0.5 * np.cos(ramp)
    window[quarter + half_tr : 3 * quarter - half_tr] = 1.0
    window[3 * quarter - half_tr : 3 * quarter + half_tr] = 0.5 + 0.5 * np.cos(ramp)
    return window


def fast_slice_length(minimum: int) -> int:
    """Smallest slice length ``>= minimum`` that is a multiple of 4 and a fast FFT size.

    The slice DFT has exactly ``sllen`` points, so a length with a large prime
    factor makes every slice FFT slow (measured: sllen 37340 = 4·5·1867 costs
    6x the FFT time of 37500 = 4·3·5^5). Search spaces should draw ``sllen``
    from such lengths.

    Examples
    --------
    >>> fast_slice_length(37340)
    37500
    >>> fast_slice_length(18060)
    18432
    """
    length = scipy.fft.next_fast_len(max(int(minimum), 4), real=True)
    while length % 4:
        length = scipy.fft.next_fast_len(length + 1, real=True)
    return length


class SliCQT(FramedTransform):
    """Sliced constant-Q / variable-Q / mel / Bark transform with perfect reconstruction.

    Parameters (``params`` mapping)
    -------------------------------
    scale : {"cqlog", "vqlog", "mel", "bark", "oct"}
        Frequency scale, see :mod:`sliceq22.transforms.scales`.
    bins : int
        Number of bands (bins per octave for ``oct``).
    fmin, fmax : float
        Lowest and highest band centre in Hz; ``fmax`` at most Nyquist (a band
        at Nyquist itself is replaced by the Nyquist band).
    sllen : int
        Slice length in samples, a multiple of 4, at least
        :attr:`required_slice_length` for the scale.
    trlen : int
        Transition (flank) length of the slice window, even, below ``sllen/2``.
    gamma : float
        Offset in Hz of the ``vqlog`` scale (0 for the other scales).
    rasterize : {"none", "full"}
        Ragged blocks or one matrix on the finest time grid.
    phase : {"local", "global"}
        Phase convention (Essentia's ``phaseMode``).
    min_win : int
        Smallest band window in DFT bins (multiple of 4; 16 as in sevagh/nsgt).
    precision : {"single", "double"}
        Arithmetic and coefficient precision: complex64 (default: half the
        memory, faster; reconstruction still above 100 dB, see the tests) or
        complex128.

    The defaults are the Bark setting found by the xumx-sliCQ search (bark,
    262 bins, 32.9–22050 Hz, slice 18060, transition 4516).

    Examples
    --------
    >>> t = SliCQT()  # bark-262
    >>> t.block_shapes(44100)[:3]
    [(6, 1, 28), (6, 86, 16), (6, 14, 20)]
    >>> t.required_slice_length
    18060
    >>> SliCQT({"scale": "mel", "bins": 116, "fmin": 20, "sllen": 8000, "trlen": 2000})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sliceq22.errors.InfeasibleError: slicqt: slice length sllen=8000 ...: it needs sllen >= 8160
    """

    family = "slicqt"
    PARAMS = (
        Param("scale", str, "bark", choices=SCALES, doc="frequency scale"),
        Param("bins", int, 262, low=1, high=10000, doc="bands (bins per octave for 'oct')"),
        Param("fmin", float, 32.9, doc="lowest band centre in Hz"),
        Param("fmax", float, 22050.0, doc="highest band centre in Hz (at most Nyquist)"),
        Param(
            "sllen",
            int,
            18060,
            low=16,
            high=2**22,
            doc="slice length in samples (multiple of 4)",
        ),
        Param(
            "trlen",
            int,
            4516,
            low=0,
            high=2**21,
            doc="slice transition length (even, < sllen/2)",
        ),
        Param("gamma", float, 0.0, low=0.0, doc="vqlog frequency offset in Hz"),
        Param(
            "rasterize",
            str,
            "none",
            choices=RASTERIZE,
            doc="none: ragged blocks; full: matrix",
        ),
        Param(
            "phase",
            str,
            "local",
            choices=PHASES,
            doc="phase convention (Essentia phaseMode)",
        ),
        Param("min_win", int, 16, low=4, high=4096, doc="smallest band window in DFT bins"),
        Param(
            "precision",
            str,
            "single",
            choices=PRECISIONS,
            doc="single: complex64; double: complex128",
        ),
    )
    unit_axis = -3

    # ------------------------------------------------------------------ validation
    @classmethod
    def scale_of(cls, values: dict[str, Any]) -> Scale:
        """The frequency scale of a (validated) parameter set."""
        return make_scale(
            values["scale"],
            values["bins"],
            values["fmin"],
            values["fmax"],
            values["gamma"],
        )

    @classmethod
    def _check(cls, values: dict[str, Any], rate: int) -> None:
        """Cross-parameter checks.

        Raises
        ------
        ParameterError
            A value is out of range on its own or against another one.
        InfeasibleError
            ``sllen`` is shorter than the scale needs (the message gives the
            length it needs).
        """
        scale, bins, fmin, fmax = (
            values["scale"],
            values["bins"],
            values["fmin"],
            values["fmax"],
        )
        sllen, trlen, gamma = values["sllen"], values["trlen"], values["gamma"]
        nyquist = rate / 2.0
        if not fmin > 0:
            raise ParameterError(f"slicqt.fmin: {fmin!r} must be above 0 Hz")
        if fmin >= fmax:
            raise ParameterError(f"slicqt: fmin {fmin!r} must be below fmax {fmax!r}")
        if fmax > nyquist:
            raise ParameterError(
                f"slicqt.fmax: {fmax!r} Hz is above the Nyquist frequency {nyquist:g} Hz"
            )
        if scale != "oct" and bins < 2:
            raise ParameterError(f"slicqt.bins: scale {scale!r} needs at least 2 bins, got {bins}")
        if gamma != 0.0 and scale != "vqlog":
            raise ParameterError(
                f"slicqt.gamma: {gamma!r} is only used by scale 'vqlog', not {scale!r}; leave it "
                "at 0"
            )
        if scale == "vqlog" and fmin + gamma >= nyquist:
            raise ParameterError(
                f"slicqt: fmin + gamma = {fmin + gamma:g} Hz puts every band at or above "
                f"Nyquist {nyquist:g} Hz"
            )
        if sllen % 4:
            raise ParameterError(f"slicqt.sllen: {sllen} must be a multiple of 4")
        if trlen % 2:
            raise ParameterError(f"slicqt.trlen: {trlen} must be even")
        if trlen >= sllen // 2:
            raise ParameterError(
                f"slicqt.trlen: {trlen} must be below sllen/2 = {sllen // 2} "
                "(each slice keeps a flat half between its transitions)"
            )
        if values["min_win"] % 4:
            raise ParameterError(f"slicqt.min_win: {values['min_win']} must be a multiple of 4")
        needed = cls.scale_of(values).required_slice_length(rate)
        if sllen < needed:
            raise InfeasibleError(
                f"slicqt: slice length sllen={sllen} is too short for scale {scale!r} "
                f"({bins} bins, {fmin:g}-{fmax:g} Hz): it needs sllen >= {needed}"
            )

    # ------------------------------------------------------------------ set-up
    def __init__(self, params: Any = None, *, rate: int = 44100) -> None:
        super().__init__(params, rate=rate)
        p = self.params
        self.scale: Scale = self.scale_of(p)
        self.sllen: int = p["sllen"]
        self.trlen: int = p["trlen"]
        self.hop: int = self.sllen // 2
        self.frame: SliceFrame = design_frame(
            self.scale,
            rate=self.rate,
            sllen=self.sllen,
            min_win=p["min_win"],
            matrix=p["rasterize"] == "full",
            global_phase=p["phase"] == "global",
        )
        self.window = tukey_slice_window(self.sllen, self.trlen)
        self._real = np.float32 if p["precision"] == "single" else np.float64

    # ------------------------------------------------------------------ introspection
    @property
    def slice_length(self) -> int:
        return self.sllen

    @property
    def required_slice_length(self) -> int:
        """Shortest ``sllen`` this setting's scale accepts (a multiple of 4)."""
        return self.scale.required_slice_length(self.rate)

    def frequencies(self) -> np.ndarray:
        """Band centre frequencies in Hz, in block order (DC first, Nyquist last).

        Returns
        -------
        np.ndarray
            float64 ``(bands,)``, the concatenated band axes (second-to-last
            axis) of all blocks: 0 Hz, the scale's bands below Nyquist,
            ``rate / 2``.
        """
        return self.frame.frequencies.copy()

    def n_slices(self, length: int) -> int:
        """Number of slices covering ``length`` samples.

        The signal is padded by half a slice in front and with zeros to whole
        quarter slices plus three more at the end; slices start every half slice.
        """
        if length < 1:
            raise ParameterError(f"slicqt: signal length {length} must be at least 1 sample")
        quarters = -(-length // (self.sllen // 4))
        return (quarters + 1) // 2 + 1

    def block_shapes(self, length: int) -> list[tuple[int, ...]]:
        n = self.n_slices(length)
        return [(n, count, frames) for _, count, frames in self.frame.blocks]

    def describe(self, length: int) -> dict[str, Any]:
        out = super().describe(length)
        out["required_slice_length"] = self.required_slice_length
        out["bands"] = len(self.frame.frequencies)
        return out

    def overlap_add(self, coefficients: Coefficients) -> list[np.ndarray]:
        """50 % overlap-add of each block's slices into one time axis (not invertible).

        Parameters
        ----------
        coefficients : Coefficients
            Blocks ``(..., slices, bands, frames)`` from :meth:`forward`.

        Returns
        -------
        list[np.ndarray]
            Blocks ``(..., bands, (slices + 1) · frames / 2)``.
        """
        return [overlap_add(block) for block in coefficients]

    def cell_grid(self, length: int) -> list[CellGrid]:
        """Time-frequency cells of each block, on the overlap-added time axis.

        The measures overlap-add each block's slices (complex: the slice
        windows sum to one and the even centre bins keep the phase of
        neighbouring slices in step, so the sum is the unsliced frame's
        coefficient). Band ``k`` then has ``M_k`` frames per ``sllen``
        samples: time step ``sllen / (M_k · rate)``, first frame centred at
        ``-sllen / 2``. Bandwidths tile the scale at the midpoints between
        band centres. Coefficients are ``ifft``s of ``M_k`` windowed bins, so
        white noise gives ``E|c_k|² ∝ ‖g_k‖² / M_k²``; the comparable cell
        energy is ``E = M_k · (Δf_k / bin) / ‖g_k‖² · |c|²`` (``‖g_k‖²`` the
        band window's energy), which is ``∝ M_k · |c|²`` wherever the window
        is twice the channel spacing.
        """
        from sliceq22.transforms.base import midpoint_edges

        frame = self.frame
        freqs = frame.frequencies
        n_bands = len(freqs)
        lower = np.zeros(n_bands)
        width = np.zeros(n_bands)
        if n_bands > 3:
            lower[1:-1], width[1:-1] = midpoint_edges(freqs[1:-1])
        else:  # one scale band: it spans from DC to Nyquist
            lower[1], width[1] = 0.0, freqs[-1]
        width[0] = lower[1]  # DC band up to the first scale band (dropped by measures)
        lower[-1] = lower[-2] + width[-2]
        width[-1] = max(freqs[-1] - lower[-1], 0.0)
        edge = np.zeros(n_bands, dtype=bool)
        edge[[0, -1]] = True
        bin_hz = self.rate / self.sllen
        grids = []
        for (first, count, frames), (offset, _, _) in zip(frame.blocks, frame.segments):
            band = slice(first, first + count)
            values = frame._weights[offset : offset + count * frames].reshape(count, frames)
            window_energy = np.sum(values**2, axis=-1)
            step = self.sllen / (frames * self.rate)
            grids.append(
                CellGrid(
                    frequencies=freqs[band],
                    bandwidths=width[band],
                    lower=lower[band],
                    weights=frames * (width[band] / bin_hz) / window_energy,
                    time_step=step,
                    time_origin=-self.hop / self.rate - step / 2.0,
                    edge=edge[band],
                    sliced=True,
                )
            )
        return grids

    # ------------------------------------------------------------------ the transform
    def _chunk(self, signals: int) -> int:
        """Slices per processing chunk, so the slice spectra of a chunk stay near
        :data:`CHUNK_BYTES`."""
        per_slice = signals * (self.sllen // 2 + 1) * 16
        return max(1, CHUNK_BYTES // per_slice)

    def framing(self, length: int) -> Framing:
        """Slice ``u`` reads signal samples ``[(u - 1)·sllen/2, (u + 1)·sllen/2)``."""
        return Framing(self.hop, self.sllen, self.hop, self.n_slices(length))

    def forward_units(self, segment: np.ndarray, count: int) -> Coefficients:
        """Coefficients of ``count`` slices of a padded segment ``(signals, (count + 1)·sllen/2)``.

        Returns
        -------
        Coefficients
            complex64 (``precision="double"``: complex128) blocks
            ``(signals, count, bands_in_block, frames)``.
        """
        segment = np.asarray(segment, dtype=self._real)
        signals = segment.shape[0]
        views = sliding_window_view(segment, self.sllen, axis=-1)[:, :: self.hop][:, :count]
        window = self.window.astype(self._real)
        dtype = np.result_type(self._real, np.complex64)
        blocks = [
            np.empty((signals, count, bands, frames), dtype)
            for _, bands, frames in self.frame.blocks
        ]
        step = self._chunk(signals)
        windowed = np.empty((signals, min(step, count), self.sllen), dtype=self._real)
        for first in range(0, count, step):
            last = min(count, first + step)
            part_in = windowed[:, : last - first]
            np.multiply(views[:, first:last], window, out=part_in)
            spectra = scipy.fft.rfft(part_in, axis=-1)
            # Band spectra straight into the output blocks, then IFFTs in place.
            chunk = [block[:, first:last] for block in blocks]
            self.frame.analyse(spectra, chunk)
            for part in chunk:
                result = scipy.fft.ifft(part, axis=-1, overwrite_x=True)
                if not np.may_share_memory(result, part):  # scipy chose not to work in place
                    part[...] = result
        return blocks

    def inverse_units(self, blocks: Coefficients, count: int) -> np.ndarray:
        """Synthesis of ``count`` slices, overlap-added: ``(signals, (count + 1)·sllen/2)``."""
        signals = np.shape(blocks[0])[0]
        signal = np.zeros((signals, (count + 1) * self.hop), dtype=self._real)
        step = self._chunk(signals)
        for first in range(0, count, step):
            last = min(count, first + step)
            parts = [
                scipy.fft.fft(
                    np.asarray(block)[:, first:last].reshape(-1, *np.shape(block)[2:]), axis=-1
                )
                for block in blocks
            ]
            spectra = self.frame.synthesise(parts)  # (signals · slices, sllen/2+1)
            slices = scipy.fft.irfft(spectra, n=self.sllen, axis=-1)
            slices = slices.reshape(signals, last - first, 1, self.sllen)
            # 50 % overlap-add of the chunk's slices.
            signal[:, first * self.hop : (last + 1) * self.hop] += overlap_add(slices)[:, 0]
        return signal
