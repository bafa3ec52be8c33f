"""The framewise form of the NSG constant-Q transform: half-overlapping Tukey-windowed frames.

The signal is cut into half-overlapping frames of ``frameSize`` samples, each
holding a Tukey-windowed segment (:func:`~sliceq22.transforms.nsgcq_design.tukey_frame_window`),
placed so that every signal sample lies where the windows of neighbouring
frames sum to exactly one; every frame goes through the transform at DFT size
``frameSize``, and the inverse weights each frame with the canonical dual
window ``w / Σ w²``. A frame is a streaming unit
(:class:`~sliceq22.transforms.streaming.FramedTransform`), blocks
``(slices, bands, frames)``. :class:`NsgFramewise` holds this machinery;
:class:`~sliceq22.transforms.nsgcq.NsgConstantQ` derives from it and adds the
full-signal mode.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sliceq22.errors import ParameterError
from sliceq22.transforms.base import Coefficients
from sliceq22.transforms.nsgcq_bank import filter_bank
from sliceq22.transforms.nsgcq_essentia import EssentiaEngines
from sliceq22.transforms.nsgcq_numpy import FrameTables
from sliceq22.transforms.overlap_add import overlap_add
from sliceq22.transforms.streaming import FramedTransform, Framing, overlap_add_units


class NsgFramewise(FramedTransform):
    """Frames, their analysis and synthesis: the framewise half of
    :class:`~sliceq22.transforms.nsgcq.NsgConstantQ`, which sets the attributes."""

    #: ``mode == "framewise"``.
    framewise: bool
    #: Frame length ``frameSize``, hop between frames (half of it), Tukey flank length.
    frame_size: int
    hop: int
    transition: int
    #: float64 ``(frameSize,)`` Tukey analysis window (``None`` in full mode).
    window: np.ndarray | None
    #: Real and complex dtypes of the arithmetic (``precision``).
    _real: Any
    _complex: Any
    #: ``engine == "essentia"``, and Essentia's instances by ``inputSize``.
    uses_essentia: bool
    _essentia: EssentiaEngines
    #: The numpy framewise engine, built on first use.
    _tables: FrameTables | None

    @abstractmethod
    def _band_ranges(self, size: int) -> list[tuple[int, int]]:
        """Band range ``[start, stop)`` of every block at DFT size ``size``."""

    def n_slices(self, length: int) -> int:
        """Framewise: frames covering ``length`` samples, ``ceil((length + transition) / hop)``."""
        self._check_length(length)
        return -(-(length + self.transition) // self.hop)

    def _check_length(self, length: int) -> None:
        if int(length) < 2:
            raise ParameterError(f"nsgcq: signal length {length} must be at least 2 samples")

    def _forward_frames(self, flat: np.ndarray) -> Coefficients:
        """Blocks ``(signals, slices, bands, M)`` of signals ``(signals, length)``."""
        length = flat.shape[-1]
        framing = self.framing(length)
        segment = np.zeros((flat.shape[0], (framing.units + 1) * self.hop), dtype=self._real)
        segment[:, framing.front : framing.front + length] = flat
        return self.forward_units(segment, framing.units)

    def _inverse_frames(self, flat: Coefficients, length: int) -> np.ndarray:
        """Signals ``(signals, length)`` from blocks ``(signals, slices, bands, M)``."""
        framing = self.framing(length)
        out = self.inverse_units(flat, framing.units)
        norm = self._norm(framing, 0, framing.units)
        assert norm is not None  # framewise: the squared Tukey window
        start = framing.front
        return out[:, start : start + length] / norm[start : start + length]

    def _front(self) -> int:
        """Zeros before the signal: it starts where the first frame's rise ends."""
        return (self.hop + self.transition) // 2

    def framing(self, length: int) -> Framing:
        """Framewise: frame ``k`` reads padded samples ``[k·hop, k·hop + frameSize)``.

        With :meth:`_front` zeros in front and ``ceil((length + transitionSize)
        / hop)`` frames, every signal sample lies where the Tukey windows sum
        to one.
        """
        if not self.framewise:
            raise ParameterError("nsgcq: framing needs mode='framewise'")
        return Framing(self.hop, self.frame_size, self._front(), self.n_slices(length))

    def synthesis_norm_window(self) -> np.ndarray | None:
        """Framewise: the squared Tukey window (the dual ``w / Σ w²`` overlap-add)."""
        return None if self.window is None else np.square(self.window)

    def forward_units(self, segment: np.ndarray, count: int) -> Coefficients:
        """Blocks ``(signals, count, bands, M)`` of ``count`` frames of a padded segment."""
        segment = np.asarray(segment, dtype=self._real)
        signals = segment.shape[0]
        views = sliding_window_view(segment, self.frame_size, axis=-1)[:, :: self.hop][:, :count]
        window = self.window
        assert window is not None  # frames exist in framewise mode only
        frames = (views * window.astype(self._real)).reshape(-1, self.frame_size)
        if self.uses_essentia:
            blocks = self._essentia.analyse(np.asarray(frames, dtype=np.float32), self.frame_size)
            blocks = [b.astype(self._complex, copy=False) for b in blocks]
        else:
            blocks = self._frame_tables().forward(frames)
        return [b.reshape(signals, count, *b.shape[1:]) for b in blocks]

    def inverse_units(self, blocks: Coefficients, count: int) -> np.ndarray:
        """Dual-window-weighted syntheses of ``count`` frames, overlap-added (not normalised)."""
        signals = np.shape(blocks[0])[0]
        flat = [np.asarray(b).reshape(signals * count, *np.shape(b)[2:]) for b in blocks]
        if self.uses_essentia:
            frames = self._essentia.synthesise(flat, self.frame_size)
        else:
            frames = self._frame_tables().inverse(flat)
        frames = frames.reshape(signals, count, self.frame_size) * self.window
        return overlap_add_units(frames, self.hop)

    def _frame_tables(self) -> FrameTables:
        """The numpy framewise engine (gathers and sparse synthesis at ``frameSize``)."""
        if self._tables is None:
            bank = filter_bank(self.params, self.rate, self.frame_size)
            ranges = self._band_ranges(self.frame_size)
            self._tables = FrameTables(
                bank, ranges, self.params["phaseMode"] == "global", self._real
            )
        return self._tables

    def overlap_add(self, coefficients: Coefficients) -> list[np.ndarray]:
        """Framewise: 50 % overlap-add of each block's slices into one time axis (not invertible).

        Returns
        -------
        list[np.ndarray]
            ``(..., bands, (slices + 1) · frames / 2)`` per block.
        """
        if not self.framewise:
            raise ParameterError("nsgcq: overlap_add needs mode='framewise'")
        return [overlap_add(block) for block in coefficients]
