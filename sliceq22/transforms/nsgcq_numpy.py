"""Essentia's NSG constant-Q analysis and dual synthesis in numpy, band by band, any batch.

For a DFT size ``size`` (:class:`~sliceq22.transforms.nsgcq_bank.FilterBank`),
band ``j`` of the analysis is (as in Essentia's ``NSGConstantQ``):

1. the signal's DFT ``X`` (one real FFT: bin ``k`` above Nyquist is
   ``conj(X[size - k])``; Essentia reads bin ``|k|`` unconjugated for the DC
   band's negative bins);
2. the bins ``first_j … first_j + Lg_j - 1`` weighted by the band's window and
   written to ``M_j`` slots: bin ``k`` to slot ``k mod M`` (``phaseMode``
   global) or ``(k - centre) mod M`` (local);
3. an inverse DFT of length ``M_j`` divided by ``M_j``.

Synthesis (Essentia's ``NSGIConstantQ``) takes the DFT of each band's
coefficients times ``M_j``, weights the slots with the dual window
``w / diag`` (:func:`~sliceq22.transforms.nsgcq_bank.frame_diagonal`) and
adds them to the output spectrum at bins ``0 … size/2``; one inverse real
FFT gives the signal. Everything is batched over leading axes and runs in
float32/complex64 (``precision="single"``) or float64/complex128.

:class:`BandTransform` does it a band range at a time over whole spectra
(full-signal mode, where the spectra of a long signal are large and the
windows long); :class:`FrameTables` precomputes gather tables and a sparse
synthesis matrix for small DFT sizes (framewise mode, many frames at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.sparse

from sliceq22.transforms.nsgcq_bank import FilterBank, frame_diagonal

#: Worker threads of scipy's FFTs (the evaluation runs one worker per core).
FFT_WORKERS = 1


@dataclass(frozen=True)
class _Segment:
    """A run of window elements reading consecutive DFT bins into consecutive slots."""

    start: int  #: first window element
    stop: int  #: one past the last window element
    bin: int  #: real-FFT bin of element ``start`` (steps by ``step``)
    step: int  #: +1, or -1 where the bins run backwards (mirrored reads)
    conj: bool  #: read the conjugate (bins above Nyquist)
    slot: int  #: slot of element ``start`` (consecutive, no wrap inside)
    direct: bool  #: bins are the output bins themselves (``0 … size/2``), kept by synthesis


def band_segments(bank: FilterBank, band: int, global_phase: bool) -> list[_Segment]:
    """Cut band ``band``'s window into runs of consecutive bins and slots.

    A typical band is one or two runs (two where its slots wrap at ``M``);
    the DC and Nyquist bands add runs for their mirrored reads.
    """
    size, half = bank.size, bank.size // 2
    m = int(bank.lengths[band])
    lg = len(bank.windows[band])
    first = int(bank.first[band])
    centre = int(bank.centres[band])
    segments: list[_Segment] = []
    i = 0
    while i < lg:
        x = first + i
        slot = x % m if global_phase else (x - centre) % m
        run = m - slot  # until the slots wrap
        if x < 0:  # Essentia reads bin |x| (unconjugated), running backwards
            k = (-x) % size
            run = min(run, -x)  # up to bin 1 (x = -1)
            seg = (k, -1, False, False)
        else:
            k = x % size
            if k <= half:
                run = min(run, half - k + 1)
                seg = (k, 1, False, x < size)
            else:  # above Nyquist: conj(X[size - k]), running backwards
                run = min(run, size - k)
                seg = (size - k, -1, True, False)
        run = min(run, lg - i)
        segments.append(_Segment(i, i + run, seg[0], seg[1], seg[2], slot, seg[3]))
        i += run
    return segments


def _bins(segment: _Segment) -> slice:
    n = segment.stop - segment.start
    if segment.step == 1:
        return slice(segment.bin, segment.bin + n)
    stop = segment.bin - n
    return slice(segment.bin, stop if stop >= 0 else None, -1)


class BandTransform:
    """Analysis and synthesis of runs of bands over whole spectra (full-signal mode).

    Parameters
    ----------
    bank : FilterBank
        The design at the DFT size of the (padded) signal.
    global_phase : bool
        Essentia's ``phaseMode="global"``.
    real : type
        ``np.float32`` or ``np.float64``: precision of windows and spectra.
    """

    def __init__(self, bank: FilterBank, global_phase: bool, real: type = np.float32) -> None:
        self.bank = bank
        self.global_phase = global_phase
        self.real = real
        self.complex = np.result_type(real, np.complex64)
        self._segments = [band_segments(bank, j, global_phase) for j in range(bank.n_bands)]
        self._diag: np.ndarray | None = None

    @property
    def half(self) -> int:
        """Bins of the real spectrum, ``size // 2 + 1``."""
        return self.bank.size // 2 + 1

    def diagonal(self) -> np.ndarray:
        """The frame operator's diagonal on bins ``0 … size/2`` (computed once)."""
        if self._diag is None:
            self._diag = frame_diagonal(self.bank, self.real)
        return self._diag

    def release(self) -> None:
        """Drop the cached diagonal (``size / 2`` values)."""
        self._diag = None

    # ------------------------------------------------------------------ spectra
    def spectrum(self, signal: np.ndarray) -> np.ndarray:
        """Real DFT of ``(..., samples ≤ size)`` zero-padded to ``size``: ``(..., size//2+1)``."""
        signal = np.asarray(signal, dtype=self.real)
        return scipy.fft.rfft(signal, n=self.bank.size, axis=-1, workers=FFT_WORKERS)

    def signal(self, spectrum: np.ndarray) -> np.ndarray:
        """Inverse real DFT of ``(..., size//2 + 1)``: ``(..., size)`` (may overwrite the input)."""
        return scipy.fft.irfft(
            spectrum, n=self.bank.size, axis=-1, overwrite_x=True, workers=FFT_WORKERS
        )

    # ------------------------------------------------------------------ bands
    def window(self, band: int) -> np.ndarray:
        """Band ``band``'s window in the working precision."""
        return self.bank.windows[band].astype(self.real, copy=False)

    def analyse(
        self, spectrum: np.ndarray, start: int, stop: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Coefficients of bands ``[start, stop)`` (equal ``M``): ``(..., stop - start, M)``.

        Parameters
        ----------
        spectrum : np.ndarray
            ``(..., size // 2 + 1)`` from :meth:`spectrum`.
        out : np.ndarray, optional
            C-contiguous complex ``(..., stop - start, M)`` to compute into
            (reused buffers spare the page faults of fresh large arrays).
        """
        m = int(self.bank.lengths[start])
        batch = spectrum.shape[:-1]
        if out is None:
            out = np.zeros((*batch, stop - start, m), dtype=self.complex)
        else:
            out.fill(0)
        for r, j in enumerate(range(start, stop)):
            w = self.window(j)
            row = out[..., r, :]
            for s in self._segments[j]:
                target = row[..., s.slot : s.slot + s.stop - s.start]
                np.multiply(spectrum[..., _bins(s)], w[s.start : s.stop], out=target)
                if s.conj:
                    np.conjugate(target, out=target)
        return scipy.fft.ifft(out, axis=-1, overwrite_x=True, workers=FFT_WORKERS)

    def synthesise(self, coefficients: np.ndarray, start: int, out: np.ndarray) -> None:
        """Add the synthesis of bands ``[start, start + bands)`` to spectra.

        Parameters
        ----------
        coefficients : np.ndarray
            ``(..., bands, M)``; may be overwritten.
        out : np.ndarray
            ``(..., size // 2 + 1)`` complex accumulator (same leading axes),
            updated in place.
        """
        coefficients = np.asarray(coefficients, dtype=self.complex)
        spectra = scipy.fft.fft(coefficients, axis=-1, overwrite_x=True, workers=FFT_WORKERS)
        diag = self.diagonal()
        for r in range(spectra.shape[-2]):
            j = start + r
            m = self.real(self.bank.lengths[j])
            w = self.window(j)
            row = spectra[..., r, :]
            for s in self._segments[j]:
                if not s.direct:
                    continue  # Essentia overwrites bins above Nyquist by the mirror
                n = s.stop - s.start
                dual = w[s.start : s.stop] * m / diag[s.bin : s.bin + n]
                segment = row[..., s.slot : s.slot + n]
                segment *= dual
                out[..., s.bin : s.bin + n] += segment

    # ------------------------------------------------------------------ whole signals
    def forward(self, signal: np.ndarray, blocks: Sequence[tuple[int, int]]) -> list[np.ndarray]:
        """Blocks ``(..., stop - start, M)`` of ``signal`` ``(..., samples ≤ size)``."""
        spectrum = self.spectrum(signal)
        return [self.analyse(spectrum, start, stop) for start, stop in blocks]

    def inverse(
        self, coefficients: Sequence[np.ndarray], blocks: Sequence[tuple[int, int]]
    ) -> np.ndarray:
        """Signal ``(..., size)`` from blocks ``(..., bands, M)`` of the band ranges ``blocks``."""
        batch = np.shape(coefficients[0])[:-2]
        out = np.zeros((*batch, self.half), dtype=self.complex)
        for block, (start, _) in zip(coefficients, blocks):
            self.synthesise(np.array(block, dtype=self.complex), start, out)
        return self.signal(out)


class FrameTables:
    """Analysis gathers and a sparse synthesis matrix for a small DFT size (framewise mode).

    Per block of equal-``M`` bands: ``sources`` ``(bands, M)`` index into
    ``[X, conj(X)]`` (the real spectrum, then its conjugate), ``kernels`` the
    window value per slot (0 where no bin lands); synthesis is one sparse
    ``(size//2 + 1, bands·M)`` matrix per block holding ``M · w / diag``.
    """

    def __init__(
        self,
        bank: FilterBank,
        blocks: Sequence[tuple[int, int]],
        global_phase: bool,
        real: type = np.float32,
    ) -> None:
        self.bank = bank
        self.real = real
        self.complex = np.result_type(real, np.complex64)
        half = bank.size // 2 + 1
        diag = frame_diagonal(bank, np.float64)
        self.sources: list[np.ndarray] = []
        self.kernels: list[np.ndarray] = []
        self.synthesis: list[scipy.sparse.csr_matrix] = []
        for start, stop in blocks:
            m = int(bank.lengths[start])
            sources = np.zeros((stop - start, m), dtype=np.int64)
            kernels: np.ndarray = np.zeros((stop - start, m), dtype=real)
            rows, cols, values = [], [], []
            for r, j in enumerate(range(start, stop)):
                w = bank.windows[j]
                for s in band_segments(bank, j, global_phase):
                    n = s.stop - s.start
                    bins = np.arange(s.bin, s.bin + s.step * n, s.step)
                    slots = np.arange(s.slot, s.slot + n)
                    sources[r, slots] = bins + (half if s.conj else 0)
                    kernels[r, slots] = w[s.start : s.stop]
                    if s.direct:
                        rows.append(bins)
                        cols.append(r * m + slots)
                        values.append(w[s.start : s.stop] * m / diag[bins])
            self.sources.append(sources)
            self.kernels.append(kernels)
            matrix = scipy.sparse.csr_matrix(
                (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                shape=(half, (stop - start) * m),
                dtype=self.complex,
            )
            self.synthesis.append(matrix)

    def forward(self, frames: np.ndarray) -> list[np.ndarray]:
        """Blocks ``(n, bands, M)`` of real frames ``(n, size)``."""
        spectrum = scipy.fft.rfft(np.asarray(frames, dtype=self.real), axis=-1, workers=FFT_WORKERS)
        half = spectrum.shape[-1]
        both = None
        blocks = []
        for sources, kernels in zip(self.sources, self.kernels):
            if sources.max() < half:  # no bin above Nyquist: gather from the spectrum itself
                product = np.take(spectrum, sources, axis=-1)  # (n, bands, M)
            else:
                if both is None:
                    both = np.concatenate([spectrum, spectrum.conj()], axis=-1)
                product = np.take(both, sources, axis=-1)
            product *= kernels
            blocks.append(scipy.fft.ifft(product, axis=-1, overwrite_x=True, workers=FFT_WORKERS))
        return blocks

    def inverse(self, blocks: Sequence[np.ndarray]) -> np.ndarray:
        """Frames ``(n, size)`` from blocks ``(n, bands, M)`` (float of the precision)."""
        n = np.shape(blocks[0])[0]
        out = np.zeros((self.bank.size // 2 + 1, n), dtype=self.complex)
        for block, matrix in zip(blocks, self.synthesis):
            # FFT over M of the (bands, M, n) view, so the result is laid out
            # (bands·M, n) as the sparse product reads it (no transposed copy)
            view = np.moveaxis(np.asarray(block, dtype=self.complex), 0, -1)
            spectra = scipy.fft.fft(view, axis=1, workers=FFT_WORKERS)
            out += matrix @ spectra.reshape(-1, n)
        return scipy.fft.irfft(out.T, n=self.bank.size, axis=-1, workers=FFT_WORKERS)
