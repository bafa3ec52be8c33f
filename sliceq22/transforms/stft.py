"""The STFT control: the Open-Unmix front end (Hann window 4096, hop 1024)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from sliceq22.errors import ParameterError
from sliceq22.transforms.base import CellGrid, Coefficients, Param
from sliceq22.transforms.streaming import FramedTransform, Framing, overlap_add_units

#: Values of ``precision``: float32/complex64 (default) or float64/complex128 arithmetic.
PRECISIONS: tuple[str, ...] = ("single", "double")


def _window(name: str, n_fft: int) -> np.ndarray:
    # Periodic windows, as torch.stft and Open-Unmix use them.
    if name == "hann":
        return np.hanning(n_fft + 1)[:-1]
    if name == "hamming":
        return np.hamming(n_fft + 1)[:-1]
    return np.ones(n_fft)


class Stft(FramedTransform):
    """Short-time Fourier transform with centred frames and weighted overlap-add inverse.

    The signal is zero-padded by ``n_fft // 2`` at the start (frames are
    centred, as ``torch.stft(center=True)``) and up to a whole frame at the end.
    The inverse divides by the summed squared window, so any hop up to
    ``n_fft // 2`` reconstructs exactly.

    Coefficients: one block ``(..., n_fft // 2 + 1, frames)``, complex64
    (``precision="double"``: complex128). A frame is a streaming unit
    (:class:`~sliceq22.transforms.streaming.FramedTransform`): a long signal
    is analysed and synthesised a run of frames at a time.
    """

    family = "stft"
    PARAMS = (
        Param("n_fft", int, 4096, low=16, high=2**20, doc="frame length in samples"),
        Param("hop", int, 1024, low=1, high=2**19, doc="hop between frames in samples"),
        Param("window", str, "hann", choices=("hann", "hamming", "boxcar"), doc="analysis window"),
        Param(
            "precision",
            str,
            "single",
            choices=PRECISIONS,
            doc="single: float32/complex64; double: float64/complex128",
        ),
    )
    unit_axis = -1

    @classmethod
    def _check(cls, values: dict[str, Any], rate: int) -> None:
        if values["hop"] > values["n_fft"] // 2 and values["window"] != "boxcar":
            raise ParameterError(
                f"stft: hop {values['hop']} must be at most n_fft/2 = {values['n_fft'] // 2} "
                "for a tapered window to cover every sample"
            )
        if values["hop"] > values["n_fft"]:
            raise ParameterError(
                f"stft: hop {values['hop']} must not exceed n_fft {values['n_fft']}"
            )

    def __init__(self, params: Any = None, *, rate: int = 44100) -> None:
        super().__init__(params, rate=rate)
        self.n_fft: int = self.params["n_fft"]
        self.hop: int = self.params["hop"]
        self._real = np.float32 if self.params["precision"] == "single" else np.float64
        self.window = _window(self.params["window"], self.n_fft).astype(self._real)

    def n_frames(self, length: int) -> int:
        """Number of frames covering ``length`` samples."""
        return int(np.ceil(length / self.hop)) + 1

    def block_shapes(self, length: int) -> list[tuple[int, ...]]:
        return [(self.n_fft // 2 + 1, self.n_frames(length))]

    def frequencies(self) -> np.ndarray:
        """Bin centre frequencies in Hz, the block's band axis.

        Returns
        -------
        np.ndarray
            float64 ``(n_fft // 2 + 1,)``: ``k · rate / n_fft``, 0 Hz to ``rate / 2``.
        """
        return np.fft.rfftfreq(self.n_fft, 1.0 / self.rate)

    def cell_grid(self, length: int) -> list[CellGrid]:
        """One cell per bin and frame: ``hop / rate`` seconds × ``rate / n_fft`` Hz.

        Frame ``m`` is centred on sample ``m · hop``, so its cell spans
        ``[(m - 1/2)·hop, (m + 1/2)·hop)``; bin ``k`` spans ``(k ± 1/2)·rate / n_fft``.
        Every bin sees white noise through the same window, so the comparable
        cell energy is ``E = |c|²`` (weight 1); bins 0 and ``n_fft / 2`` are the
        DC and Nyquist bands.
        """
        n_bins = self.n_fft // 2 + 1
        spacing = self.rate / self.n_fft
        frequencies = np.arange(n_bins) * spacing
        edge = np.zeros(n_bins, dtype=bool)
        edge[[0, -1]] = True
        return [
            CellGrid(
                frequencies=frequencies,
                bandwidths=np.full(n_bins, spacing),
                lower=frequencies - spacing / 2.0,
                weights=np.ones(n_bins),
                time_step=self.hop / self.rate,
                time_origin=-0.5 * self.hop / self.rate,
                edge=edge,
            )
        ]

    def framing(self, length: int) -> Framing:
        """Frame ``m`` is centred on sample ``m · hop``: ``n_fft // 2`` zeros in front."""
        return Framing(self.hop, self.n_fft, self.n_fft // 2, self.n_frames(length))

    def synthesis_norm_window(self) -> np.ndarray:
        """The squared window: the weighted overlap-add divides by its overlap-add."""
        return np.square(self.window, dtype=np.float64)

    def forward_units(self, segment: np.ndarray, count: int) -> Coefficients:
        """Spectra of ``count`` frames of a padded segment: ``(signals, bins, count)``."""
        segment = np.asarray(segment, dtype=self._real)
        frames = sliding_window_view(segment, self.n_fft, axis=-1)[:, :: self.hop][:, :count]
        spectrum = scipy.fft.rfft(frames * self.window, axis=-1)  # (signals, count, bins)
        # A transposed view, not a copy: the oracles work elementwise, and the
        # inverse transposes back to the layout its FFT wants.
        return [np.swapaxes(spectrum, -1, -2)]

    def inverse_units(self, blocks: Coefficients, count: int) -> np.ndarray:
        """Windowed inverse FFTs of ``count`` frames, overlap-added:
        ``(signals, (count-1)·hop + n_fft)``."""
        (spectrum,) = blocks
        spectrum = np.asarray(spectrum, dtype=np.result_type(self._real, np.complex64))
        frames = scipy.fft.irfft(np.swapaxes(spectrum, -1, -2), n=self.n_fft, axis=-1)
        frames *= self.window
        return overlap_add_units(frames, self.hop)
