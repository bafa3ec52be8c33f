"""Essentia's NSG constant-Q transform (``NSGConstantQ``/``NSGIConstantQ``, the 2014 toolbox).

Two modes (parameter ``mode``):

``"full"``
    One transform of the whole signal per channel at DFT size
    :meth:`NsgConstantQ.dft_size` (the signal length rounded up to even, or a
    slightly longer size with fast FFTs: ``length_policy``; the signal is
    zero-padded to it and the inverse crops the padding off). It cannot be
    cut in time, so :meth:`~NsgConstantQ.stream_map` streams it by bands:
    one real FFT per signal and channel, then a few bands at a time
    (analysis, the caller's map, synthesis into output spectra), then one
    inverse real FFT per output signal and channel.
``"framewise"``
    The sliced transform of ``essentia.pytools.spectral.nsgcqgram``: the signal
    is cut into half-overlapping frames of ``frameSize`` samples, each holding
    a Tukey-windowed segment of ``frameSize/2 + transitionSize`` samples
    (cosine flanks of ``transitionSize`` samples centred a hop apart, flat in
    between, zeros around), and every frame goes through the transform with
    ``inputSize=frameSize``. Unlike the reference (about 17 dB SNR, because of
    how it pads the signal edges), the signal is placed so that every sample
    lies where the windows of neighbouring frames sum to exactly one, and the
    inverse weights each frame with the canonical dual window
    ``w / Σ w²`` (the reference's "inverse Tukey" window), so reconstruction is
    as exact as the per-frame transform. A frame is a streaming unit
    (:class:`~sliceq22.transforms.streaming.FramedTransform`, blocks
    ``(slices, bands, frames)``).

Engines (parameter ``engine``): ``"numpy"`` (default) computes Essentia's
design with numpy/scipy FFTs (:mod:`~sliceq22.transforms.nsgcq_numpy`), batched
over signals and frames, in float32/complex64 (``precision="single"``) or
float64/complex128; it equals Essentia's output to ~2e-7 of the largest
coefficient and its inverse to ~129 dB (Essentia's own float32 rounding).
``"essentia"`` calls Essentia itself (:mod:`~sliceq22.transforms.nsgcq_essentia`),
the reference; it holds the whole signal's coefficients (no streaming).

Layout of the coefficients
--------------------------
complex blocks, low to high frequency:

* block 0: the DC band (Essentia's ``constantqdc``), ``(..., 1, frames_dc)``;
* blocks 1 … B-2: the constant-Q bands (``constantq``), one block per run of
  consecutive bands with the same number of frames — ``rasterize="full"``
  gives a single ``(bands, frames)`` matrix, ``"piecewise"`` a few blocks,
  ``"none"`` many;
* block B-1: the Nyquist band (``constantqnf``), ``(..., 1, frames_nf)``.

Framewise mode keeps the slice axis: every block is ``(..., slices, bands,
frames)`` and :meth:`NsgConstantQ.overlap_add` gives the 50 % overlap-add
view. :meth:`NsgConstantQ.frequencies` lists the band centres in this order.

Essentia's fragility (a dropped top bin, ``windowSizeFactor``, settings that
do not reconstruct) and what is done about it: :mod:`~sliceq22.transforms.nsgcq_feasibility`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from sliceq22.errors import InfeasibleError, ParameterError
from sliceq22.transforms import nsgcq_params
from sliceq22.transforms.base import CellGrid, Coefficients, Feasibility, Transform
from sliceq22.transforms.nsgcq_bands import (
    MAP_BYTES,
    READ_SAMPLES,
    SPECTRA_OVERHEAD,
    YIELD_SAMPLES,
    band_working_memory,
    stream_band_coefficients,
    stream_map_bands,
)
from sliceq22.transforms.nsgcq_bank import (
    ESSENTIA_EPS,
    WINDOWS,
    FilterBank,
    essentia_window,
    filter_bank,
    frame_diagonal,
    painless_problem,
    reconstruction_snr_db,
    synthesis_gain,
)
from sliceq22.transforms.nsgcq_cells import nsgcq_cell_grid
from sliceq22.transforms.nsgcq_design import _runs, design, essentia_lengths, tukey_frame_window
from sliceq22.transforms.nsgcq_essentia import (
    ESSENTIA_PARAMS,
    FRAME_ANALYSIS_TOLERANCE,
    MAX_ENGINES,
    EssentiaEngines,
)
from sliceq22.transforms.nsgcq_feasibility import size_problem, unusable_reason
from sliceq22.transforms.nsgcq_framewise import NsgFramewise
from sliceq22.transforms.nsgcq_length import fast_size
from sliceq22.transforms.nsgcq_numpy import BandTransform, FrameTables
from sliceq22.transforms.nsgcq_params import PRECISIONS
from sliceq22.transforms.streaming import (
    CHUNK_BYTES,
    BlockMap,
    Piece,
    SignalSource,
)

# The names other modules and tests import from here (moved to the modules
# that do each job, re-exported so those imports keep working).
__all__ = [
    "ESSENTIA_EPS",
    "ESSENTIA_PARAMS",
    "FRAME_ANALYSIS_TOLERANCE",
    "MAP_BYTES",
    "MAX_ENGINES",
    "PRECISIONS",
    "READ_SAMPLES",
    "SPECTRA_OVERHEAD",
    "YIELD_SAMPLES",
    "WINDOWS",
    "BandTransform",
    "EssentiaEngines",
    "FilterBank",
    "FrameTables",
    "NsgConstantQ",
    "design",
    "essentia_lengths",
    "essentia_window",
    "fast_size",
    "filter_bank",
    "frame_diagonal",
    "painless_problem",
    "reconstruction_snr_db",
    "synthesis_gain",
    "tukey_frame_window",
]


class NsgConstantQ(NsgFramewise):
    """Essentia's NSG constant-Q transform, full-signal or framewise.

    Parameters: :data:`~sliceq22.transforms.nsgcq_params.PARAMS` (Essentia's
    names and defaults; ``sampleRate`` is the transform's ``rate``), each
    explained in :mod:`~sliceq22.transforms.nsgcq_params`.

    Notes
    -----
    ``nsgcqgram`` hard-codes ``minimumWindow=8``; here it is the parameter
    (Essentia's default 4) in both modes.
    """

    family = "nsgcq"
    # Declared with their rules in nsgcq_params; framewise parameters act only
    # in framewise mode, the length policy only in full mode.
    PARAMS = nsgcq_params.PARAMS
    ONLY_WITH = nsgcq_params.ONLY_WITH
    unit_axis = -3

    @classmethod
    def _check(cls, values: dict[str, Any], rate: int) -> None:
        nsgcq_params.check_params(values, rate)

    def __init__(self, params: Any = None, *, rate: int = 44100) -> None:
        super().__init__(params, rate=rate)
        self._design = design(self.params, self.rate)
        self.framewise: bool = self.params["mode"] == "framewise"
        self.frame_size: int = self.params["frameSize"]
        self.hop: int = self.frame_size // 2
        self.transition: int = self.params["transitionSize"]
        self.window = (
            tukey_frame_window(self.frame_size, self.transition) if self.framewise else None
        )
        self._real = np.float32 if self.params["precision"] == "single" else np.float64
        self._complex = np.result_type(self._real, np.complex64)
        self.uses_essentia: bool = self.params["engine"] == "essentia"
        self._essentia = EssentiaEngines(self)
        self._engines = self._essentia.engines  # Essentia pairs made so far, by inputSize
        self._bands: BandTransform | None = None  # full mode: the last DFT size's
        self._tables: FrameTables | None = None  # framewise: built on first use

    # ------------------------------------------------------------------ introspection
    @property
    def essentia_max_frequency(self) -> float:
        """The ``maxFrequency`` Essentia is given (differs where it would drop the top bin)."""
        return self._design.essentia_max_frequency

    @property
    def slice_length(self) -> int | None:
        return self.frame_size if self.framewise else None

    def dft_size(self, length: int) -> int:
        """The DFT size (Essentia's ``inputSize``) a ``length``-sample signal is analysed at.

        Framewise: ``frameSize``. Full: the length rounded up to even
        (``length_policy="exact"``) or the cheapest size up to 5 % longer
        (``"fast"``, :func:`~sliceq22.transforms.nsgcq_length.fast_size`);
        the signal is zero-padded to it and the inverse crops it back.
        """
        self._check_length(length)
        if self.framewise:
            return self.frame_size
        if self.params["length_policy"] == "fast":
            return fast_size(self.params, self.rate, int(length))
        return int(length) + int(length) % 2

    _essentia_size = dft_size

    def _layout(self, size: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Constant-Q band runs and ``(bands, frames)`` of each block at DFT size ``size``.

        Raises
        ------
        InfeasibleError
            For a setting that must never run (:meth:`unusable_reason`), so
            size checks reject it before any audio is touched.
        """
        reason = self.unusable_reason()
        if reason is not None:
            raise InfeasibleError(reason)
        dc, bands, nyquist = essentia_lengths(self.params, self.rate, size)
        runs = _runs(bands)
        shapes = [(1, dc)] + [(stop - start, bands[start]) for start, stop in runs] + [(1, nyquist)]
        return runs, shapes

    def block_shapes(self, length: int) -> list[tuple[int, ...]]:
        self._check_length(length)
        _, shapes = self._layout(self._essentia_size(length))
        if self.framewise:
            n = self.n_slices(length)
            return [(n, *shape) for shape in shapes]
        return list(shapes)

    def frequencies(self) -> np.ndarray:
        """Band centre frequencies in Hz, in block order (DC 0 Hz first, Nyquist last).

        Returns
        -------
        np.ndarray
            float64 ``(bands,)``: the concatenated band axes (second-to-last
            axis) of all blocks, ``0, f_0 … f_{n-1}, rate/2`` with
            ``f_j = minFrequency · 2^(j / binsPerOctave)``.
        """
        return np.concatenate(([0.0], self._design.bin_frequencies, [self.rate / 2.0]))

    def cell_grid(self, length: int) -> list[CellGrid]:
        """Time-frequency cells of each block (:class:`~sliceq22.transforms.base.CellGrid`).

        Geometric constant-Q bands, weights that make white noise equally
        dense in every band: :func:`~sliceq22.transforms.nsgcq_cells.nsgcq_cell_grid`.
        """
        return nsgcq_cell_grid(self, length)

    def describe(self, length: int) -> dict[str, Any]:
        out = super().describe(length)
        out["bands"] = int(self._design.n_bins) + 2
        out["essentia_maxFrequency"] = self.essentia_max_frequency
        return out

    # ------------------------------------------------------------------ feasibility
    def unusable_reason(self) -> str | None:
        """Why this setting must never run, or ``None`` (``windowSizeFactor > 1``:
        :func:`~sliceq22.transforms.nsgcq_feasibility.unusable_reason`)."""
        return unusable_reason(self.params)

    def feasibility(self) -> Feasibility:
        """The base noise probe, after refusing settings that must never run.

        See :meth:`unusable_reason`.
        """
        reason = self.unusable_reason()
        if reason is not None:
            return Feasibility(False, reason)
        return super().feasibility()

    def feasibility_for_length(self, length: int) -> Feasibility:
        """Whether the transform reconstructs at the DFT size a ``length``-sample signal needs.

        Full mode depends on the length (the filter bank is designed on the
        whole signal's DFT); framewise mode only on ``frameSize``. The numpy
        engine decides from the design alone (:meth:`size_problem`: no
        transform is run, whatever the length); the Essentia engine probes
        Essentia at that size. Cached per setting and size.
        """
        reason = self.unusable_reason()
        if reason is not None:
            return Feasibility(False, reason)
        problem = self.size_problem(self.dft_size(length))
        return Feasibility(problem is None, problem or "")

    def size_problem(self, size: int) -> str | None:
        """Why the transform does not reconstruct at DFT size ``size``, or ``None``.

        Numpy engine: every window must fit in its band's coefficients, and
        the white-noise reconstruction SNR computed from the frame operator
        must reach :data:`~sliceq22.transforms.probe.FEASIBLE_SNR_DB`
        (:func:`~sliceq22.transforms.nsgcq_feasibility.size_problem`). Essentia
        engine: Essentia's own noise probe.
        """
        reason = self.unusable_reason()
        if reason is not None:
            return reason
        if self.uses_essentia:
            try:
                self._essentia.get(size)
            except InfeasibleError as exc:
                return str(exc)
            return None
        return size_problem(self.params, self.rate, size)

    def _require(self, size: int) -> None:
        problem = self.size_problem(size)
        if problem is not None:
            raise InfeasibleError(problem)

    # ------------------------------------------------------------------ Essentia's parameters
    @classmethod
    def essentia_parameters(cls, params: dict[str, Any], *, rate: int = 44100) -> dict[str, Any]:
        """Keyword arguments for Essentia's ``NSGConstantQ``/``NSGIConstantQ`` for this setting.

        Everything but ``inputSize``: the Essentia parameters of ``params``
        (validated), ``sampleRate=rate``, and ``maxFrequency`` moved half a bin
        above the last bin that fits where Essentia would otherwise drop its
        top bin and corrupt its heap (see the module docstring). Use these, not
        the raw parameters, to run the same transform with Essentia directly.

        Examples
        --------
        >>> params = {"minFrequency": 32.9, "maxFrequency": 22050, "binsPerOctave": 24}
        >>> NsgConstantQ.essentia_parameters(params)["maxFrequency"]  # doctest: +ELLIPSIS
        21531.8...
        """
        values = cls.validate(params, rate=rate)
        kwargs = {name: values[name] for name in ESSENTIA_PARAMS}
        kwargs["maxFrequency"] = design(values, rate).essentia_max_frequency
        kwargs["sampleRate"] = float(rate)
        return kwargs

    # ------------------------------------------------------------------ engines
    def _engine(self, size: int) -> Any:
        """Essentia's instance pair for ``inputSize=size`` (created and probed on first use)."""
        return self._essentia.get(size)

    def _band_ranges(self, size: int) -> list[tuple[int, int]]:
        """Band range ``[start, stop)`` of every block (DC band 0, Nyquist band last)."""
        runs, _ = self._layout(size)
        last = runs[-1][1] + 1
        return [(0, 1)] + [(start + 1, stop + 1) for start, stop in runs] + [(last, last + 1)]

    def _band_transform(self, size: int) -> BandTransform:
        """The numpy full-signal engine at DFT size ``size`` (the last one is kept)."""
        if self._bands is None or self._bands.bank.size != size:
            self._bands = None  # free the previous size's diagonal first
            bank = filter_bank(self.params, self.rate, size)
            self._bands = BandTransform(bank, self.params["phaseMode"] == "global", self._real)
        return self._bands

    # ------------------------------------------------------------------ the transform
    def forward(self, audio: np.ndarray) -> Coefficients:
        """Analyse real audio ``(..., samples)`` into complex blocks (layout: module docstring).

        Raises
        ------
        InfeasibleError
            If the setting does not reconstruct at this length (:meth:`size_problem`).
        """
        audio = np.asarray(audio)
        if audio.ndim < 1:
            raise ParameterError("nsgcq: audio must have a samples axis")
        batch, length = audio.shape[:-1], audio.shape[-1]
        size = self.dft_size(length)
        self._require(size)
        flat = audio.reshape(-1, length)
        if self.framewise:
            blocks = self._forward_frames(flat)
        elif self.uses_essentia:
            flat32 = np.asarray(flat, dtype=np.float32)
            blocks = self._essentia.analyse(flat32, size)
            blocks = [b.astype(self._complex, copy=False) for b in blocks]
        else:
            blocks = self._band_transform(size).forward(flat, self._band_ranges(size))
        return [block.reshape(*batch, *block.shape[1:]) for block in blocks]

    def inverse(self, coefficients: Coefficients, length: int) -> np.ndarray:
        """Synthesise float64 audio ``(..., length)`` from (possibly modified) coefficients."""
        self._check_length(length)
        size = self.dft_size(length)
        self._require(size)
        batch = self.check_blocks(coefficients, length)
        flat = [np.asarray(b).reshape(-1, *np.shape(b)[len(batch) :]) for b in coefficients]
        if self.framewise:
            out = self._inverse_frames(flat, length)
        elif self.uses_essentia:
            out = self._essentia.synthesise(flat, size)[:, :length]
        else:
            out = self._band_transform(size).inverse(flat, self._band_ranges(size))[:, :length]
        return np.asarray(out, dtype=np.float64).reshape(*batch, length)

    # ------------------------------------------------------------------ full mode: bands
    def stream_coefficients(
        self, source: SignalSource, *, chunk_bytes: int | None = None
    ) -> Iterator[Piece]:
        """Framewise: runs of frames (``units``). Full (numpy engine): runs of bands (``bands``).

        Full mode takes the real DFT of every signal and channel once
        (``(n_signals, channels, size/2 + 1)`` complex), then yields the
        coefficients of a few bands at a time, all frames of them, so a piece
        holds about ``chunk_bytes``.
        """
        if self.framewise:
            yield from super().stream_coefficients(source, chunk_bytes=chunk_bytes)
            return
        if self.uses_essentia:  # one whole piece
            yield from Transform.stream_coefficients(self, source, chunk_bytes=chunk_bytes)
            return
        yield from stream_band_coefficients(self, source, chunk_bytes)

    def working_memory(
        self, length: int, channels: int, n_in: int, n_out: int, chunk_bytes: int | None = None
    ) -> int:
        """Bytes :meth:`stream_map` holds besides the track.

        Framewise: a piece of frames (:class:`FramedTransform`). Full mode
        (numpy engine): the one-sided spectra of every input and output signal
        and channel (``size/2 + 1`` complex values each, ``size`` the DFT size
        of :meth:`dft_size`), :data:`SPECTRA_OVERHEAD` more for the band
        tables, and two pieces of bands. Essentia's engine: every
        coefficient (:meth:`Transform.working_memory`).
        """
        if self.framewise:
            return super().working_memory(length, channels, n_in, n_out, chunk_bytes)
        if self.uses_essentia:
            return Transform.working_memory(self, length, channels, n_in, n_out, chunk_bytes)
        return band_working_memory(self, length, channels, n_in, n_out, chunk_bytes or CHUNK_BYTES)

    def stream_map(
        self,
        source: SignalSource,
        fn: BlockMap,
        n_out: int,
        *,
        chunk_bytes: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        timing: dict[str, float] | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Map the coefficients of ``source``'s signals to ``n_out`` output signals, piece by piece.

        Framewise: runs of frames (:class:`FramedTransform`). Full mode
        (numpy engine): the input spectra ``(n_signals, channels, size/2+1)``,
        then per piece of bands the coefficients of all input signals, ``fn``
        (on runs of frames of about :data:`MAP_BYTES`: it is elementwise),
        and the synthesis of those bands added to the output spectra
        ``(n_out, channels, size/2+1)``; the input spectra are freed after
        the last band, then each output spectrum is inverted (and freed) and
        the audio is yielded in stretches of :data:`YIELD_SAMPLES`. Peak
        memory: the spectra of inputs and outputs (4 bytes per sample per
        signal and channel in single precision) and one piece.
        """
        passes: dict[str, Any] = dict(chunk_bytes=chunk_bytes, progress=progress, timing=timing)
        if self.framewise:
            yield from super().stream_map(source, fn, n_out, **passes)
            return
        if self.uses_essentia:  # the whole signal at once
            yield from Transform.stream_map(self, source, fn, n_out, **passes)
            return
        yield from stream_map_bands(self, source, fn, n_out, **passes)
