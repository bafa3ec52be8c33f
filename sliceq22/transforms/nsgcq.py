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

Essentia's fragility, and what this module does about it
--------------------------------------------------------
Measured with essentia 2.1b6.dev1389:

* When the top constant-Q bin's band reaches above Nyquist, Essentia drops
  that bin but not its bandwidth, so every later band gets its neighbour's
  window length and one ``int`` is written past the end of a heap buffer
  (valgrind: ``Invalid write of size 4`` in ``designWindow``). The
  result is "non painless frame found" or an inverse shape mismatch for many
  lengths, and heap corruption that aborts the interpreter (``malloc():
  invalid size``) for some settings (e.g. 65.41–22050 Hz, 96 bins/octave, any
  length). The design (:mod:`~sliceq22.transforms.nsgcq_design`) sees the
  dropped bin coming and uses a ``maxFrequency`` half a bin above the highest
  bin that fits instead (:attr:`NsgConstantQ.essentia_max_frequency`): the
  same bins Essentia means to keep, without the bug, at every length.
* ``windowSizeFactor > 1`` shrinks the coefficient counts below the window
  lengths, so Essentia always raises "non painless frame found", after
  copying a window into a shorter buffer (heap corruption: ``free(): invalid
  pointer`` aborts the interpreter with factor 4 at 8192 samples). Refused
  before anything runs (:meth:`NsgConstantQ.unusable_reason`); nothing
  usable is lost.
* ``normalize="sine"``, windows other than hannnsgcq/hamming/square, very
  short frequency windows (``minimumWindow`` against few bins per band) lose
  perfect reconstruction, depending on the DFT size: Essentia's dual adds
  its float32 epsilon to the frame operator's diagonal, and short windows
  leave bins uncovered. The composite analysis-synthesis map is diagonal in
  frequency, so the numpy engine computes the white-noise reconstruction SNR
  of a (setting, DFT size) exactly from the design
  (:func:`~sliceq22.transforms.nsgcq_design.reconstruction_snr_db`, measured
  within ~1 dB of Essentia's noise probe) before its first use; the Essentia
  engine runs a white-noise probe through Essentia. A failure raises
  :class:`~sliceq22.errors.InfeasibleError` with the reason, so no score is
  ever computed from a transform that does not reconstruct.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sliceq22.errors import InfeasibleError, ParameterError
from sliceq22.transforms.base import (
    FEASIBLE_SNR_DB,
    CellGrid,
    Coefficients,
    Feasibility,
    Param,
    Transform,
    _Clock,
)
from sliceq22.transforms.nsgcq_design import (
    ESSENTIA_EPS,
    WINDOWS,
    FilterBank,
    _runs,
    design,
    essentia_lengths,
    essentia_window,
    filter_bank,
    frame_diagonal,
    painless_problem,
    reconstruction_snr_db,
    synthesis_gain,
    tukey_frame_window,
)
from sliceq22.transforms.nsgcq_essentia import (
    ESSENTIA_PARAMS,
    FRAME_ANALYSIS_TOLERANCE,
    MAX_ENGINES,
    EssentiaEngines,
)
from sliceq22.transforms.nsgcq_length import fast_size
from sliceq22.transforms.nsgcq_numpy import BandTransform, FrameTables
from sliceq22.transforms.overlap_add import overlap_add
from sliceq22.transforms.streaming import (
    CHUNK_BYTES,
    BlockMap,
    FramedTransform,
    Framing,
    Piece,
    SignalSource,
    overlap_add_units,
)

__all__ = [
    "ESSENTIA_EPS",
    "ESSENTIA_PARAMS",
    "FRAME_ANALYSIS_TOLERANCE",
    "MAX_ENGINES",
    "PRECISIONS",
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

#: Values of ``precision``: float32/complex64 (default) or float64/complex128 arithmetic.
PRECISIONS: tuple[str, ...] = ("single", "double")

#: Samples read from a :class:`SignalSource` at a time when taking whole-signal spectra.
READ_SAMPLES = 2**18

#: Bytes of input coefficients full-mode :meth:`NsgConstantQ.stream_map` hands
#: its map at a time (a run of frames of the piece's bands).
MAP_BYTES = 4 * 2**20

#: Samples per stretch of output audio that full-mode :meth:`NsgConstantQ.stream_map` yields.
YIELD_SAMPLES = 2**20

#: Outcome of the analytic reconstruction check per (setting, DFT size) in this
#: process: ``None`` if the numpy engine reconstructs, else the reason.
_SIZE_CHECKS: dict[tuple[Any, ...], str | None] = {}


#: Full mode's peak bytes per byte of its input and output spectra (the band
#: tables and the frame-operator diagonal beside them; measured 1.1–1.2 at 4
#: and 10 minutes with ``benchmarks/fulltrack.py``).
SPECTRA_OVERHEAD = 1.2


class NsgConstantQ(FramedTransform):
    """Essentia's NSG constant-Q transform, full-signal or framewise.

    Parameters (Essentia's names and defaults; ``sampleRate`` is the transform's ``rate``)
    ----------------------------------------------------------------------------------------
    minFrequency, maxFrequency : float
        Lowest and highest constant-Q bin in Hz (27.5, 7040). ``maxFrequency``
        may be Nyquist: bins whose band would pass it are left out (see the
        module docstring).
    binsPerOctave : int
        Bins per octave (48).
    gamma : int
        Bandwidth offset in Hz, ``B_k = Q f_k + gamma`` (0).
    rasterize : {"full", "piecewise", "none"}
        Frames per band: all equal, powers of two, or each band its own ("full").
    phaseMode : {"global", "local"}
        Essentia's phase convention ("global").
    normalize : {"none", "sine", "impulse"}
        Coefficient normalisation ("none"; "sine" does not reconstruct).
    window : str
        Frequency window, one of :data:`WINDOWS` ("hannnsgcq").
    minimumWindow : int
        Smallest frequency window in DFT bins (4).
    windowSizeFactor : int
        Essentia's window size divisor (1; larger values corrupt Essentia's heap
        and are refused as infeasible).
    mode : {"full", "framewise"}
        Whole-signal transform or the sliced transform of ``nsgcqgram`` ("full").
    frameSize : int
        Framewise frame (slice) length in samples, a multiple of 4 (8192,
        ``nsgcqgram``'s default). Ignored in full mode.
    transitionSize : int
        Framewise Tukey flank length, even, below ``frameSize / 2`` (1024).
        Ignored in full mode.
    engine : {"numpy", "essentia"}
        Who computes the transform ("numpy"; "essentia": Essentia itself, the
        reference, without streaming).
    precision : {"single", "double"}
        float32/complex64 ("single") or float64/complex128 arithmetic (numpy
        engine; Essentia always computes in float32).
    length_policy : {"fast", "exact"}
        Full mode: analyse at the signal's length rounded up to even
        ("exact"), or zero-padded by at most 5 % to the size with the
        cheapest FFTs ("fast"). Ignored in framewise mode.

    Notes
    -----
    ``nsgcqgram`` hard-codes ``minimumWindow=8``; here it is the parameter
    (Essentia's default 4) in both modes.
    """

    family = "nsgcq"
    PARAMS = (
        Param("minFrequency", float, 27.5, doc="lowest constant-Q bin in Hz"),
        Param("maxFrequency", float, 7040.0, doc="highest constant-Q bin in Hz (at most Nyquist)"),
        Param("binsPerOctave", int, 48, low=1, high=1024, doc="bins per octave"),
        Param(
            "gamma", int, 0, low=0, high=100000, doc="bandwidth offset in Hz: B_k = Q f_k + gamma"
        ),
        Param(
            "rasterize", str, "full", choices=("full", "piecewise", "none"), doc="frames per band"
        ),
        Param("phaseMode", str, "global", choices=("global", "local"), doc="phase convention"),
        Param(
            "normalize",
            str,
            "none",
            choices=("none", "sine", "impulse"),
            doc="coefficient normalisation",
        ),
        Param("window", str, "hannnsgcq", choices=WINDOWS, doc="frequency window of each band"),
        Param(
            "minimumWindow", int, 4, low=2, high=65536, doc="smallest frequency window in DFT bins"
        ),
        Param(
            "windowSizeFactor",
            int,
            1,
            low=1,
            high=64,
            doc="window sizes rounded to multiples of this",
        ),
        Param(
            "mode",
            str,
            "full",
            choices=("full", "framewise"),
            doc="whole signal or half-overlapped frames",
        ),
        Param("frameSize", int, 8192, low=16, high=2**24, doc="framewise: frame length in samples"),
        Param(
            "transitionSize",
            int,
            1024,
            low=0,
            high=2**23,
            doc="framewise: Tukey flank length in samples",
        ),
        Param(
            "engine",
            str,
            "numpy",
            choices=("numpy", "essentia"),
            doc="numpy (streams, any precision) or Essentia itself (the reference)",
        ),
        Param(
            "precision",
            str,
            "single",
            choices=PRECISIONS,
            doc="single: float32/complex64; double: float64/complex128",
        ),
        Param(
            "length_policy",
            str,
            "fast",
            choices=("fast", "exact"),
            doc="full mode: pad by at most 5 % to fast FFT sizes, or the exact length",
        ),
    )
    # Framewise parameters act only in framewise mode, the length policy only in full mode.
    ONLY_WITH = {
        "frameSize": ("mode", ("framewise",)),
        "transitionSize": ("mode", ("framewise",)),
        "length_policy": ("mode", ("full",)),
    }
    unit_axis = -3

    @classmethod
    def _check(cls, values: dict[str, Any], rate: int) -> None:
        fmin, fmax, bins = values["minFrequency"], values["maxFrequency"], values["binsPerOctave"]
        nyquist = rate / 2.0
        if not fmin > 0:
            raise ParameterError(f"nsgcq: minFrequency {fmin!r} must be above 0 Hz")
        if fmin >= fmax:
            raise ParameterError(
                f"nsgcq: minFrequency {fmin!r} must be below maxFrequency {fmax!r}"
            )
        if fmax > nyquist:
            raise ParameterError(
                f"nsgcq: maxFrequency {fmax!r} is above Nyquist {nyquist:g} Hz (rate {rate})"
            )
        q = 2.0 ** (1.0 / bins) - 2.0 ** (-1.0 / bins)
        lowest = fmin - (q * fmin + values["gamma"]) / 2.0
        if lowest < 0:
            raise ParameterError(
                f"nsgcq: the band of the bin at minFrequency {fmin!r} would start at "
                f"{lowest:.2f} Hz (binsPerOctave {bins}, gamma {values['gamma']}); "
                "raise minFrequency or lower gamma"
            )
        design(values, rate)  # no bin below Nyquist
        if values["mode"] == "framewise":
            frame, transition = values["frameSize"], values["transitionSize"]
            if frame % 4:
                raise ParameterError(
                    f"nsgcq: frameSize {frame} must be a multiple of 4 (frames overlap by half and "
                    "each centres its Tukey segment)"
                )
            if transition % 2:
                raise ParameterError(f"nsgcq: transitionSize {transition} must be even")
            if transition >= frame // 2:
                raise ParameterError(
                    f"nsgcq: transitionSize {transition} must be below frameSize/2 = {frame // 2}"
                )

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

    def n_slices(self, length: int) -> int:
        """Framewise: frames covering ``length`` samples, ``ceil((length + transition) / hop)``."""
        self._check_length(length)
        return -(-(length + self.transition) // self.hop)

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

    def _check_length(self, length: int) -> None:
        if int(length) < 2:
            raise ParameterError(f"nsgcq: signal length {length} must be at least 2 samples")

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
        """Time-frequency cells of each block (see :class:`~sliceq22.transforms.base.CellGrid`).

        Constant-Q bands tile the frequency axis geometrically: band ``f_j``
        spans ``f_j · 2^(±1 / (2 · binsPerOctave))``. A band with ``M`` frames
        over Essentia's ``inputSize`` samples (the signal, or one frame in
        framewise mode) has time step ``inputSize / (M · rate)``. Essentia's
        coefficients are ``M``-point inverse FFTs (scaled by ``1 / M``) of the
        band's windowed bins, so white noise gives ``E|c|² ∝ win / M²`` for a
        window of ``win`` bins; the comparable cell energy is
        ``E = M · (Δf / (win · rate / inputSize)) · |c|²``, which is
        ``∝ M · |c|²`` in the constant-Q case (``win ∝ Δf``) and also accounts
        for ``gamma`` and ``minimumWindow`` widening the windows. Full mode is
        circular (frame ``n`` centred at ``n`` steps); framewise blocks are
        overlap-added (complex: the Tukey windows sum to one and, as checked
        on white noise, the phases of neighbouring frames agree), frame ``n``
        of slice ``k`` centred at sample ``k · hop + n · step`` of the padded
        signal, which starts :meth:`_front` samples before the audio.
        """
        self._check_length(length)
        size = self._essentia_size(length)
        _, shapes = self._layout(size)
        _, windows, _ = essentia_lengths({**self.params, "rasterize": "none"}, self.rate, size)
        bins = self.params["binsPerOctave"]
        centres = self._design.bin_frequencies
        lower = centres * 2.0 ** (-0.5 / bins)
        width = centres * 2.0 ** (0.5 / bins) - lower
        weight_per_frame = width / (np.asarray(windows, dtype=np.float64) * self.rate / size)
        # DC (0 Hz up to the first band) and Nyquist (last band to rate/2): dropped by measures
        nyquist = self.rate / 2.0
        lower = np.concatenate(([0.0], lower, [lower[-1] + width[-1]]))
        width = np.concatenate(([lower[1]], width, [max(nyquist - lower[-1], 0.0)]))
        weight_per_frame = np.concatenate(([1.0], weight_per_frame, [1.0]))
        frequencies = self.frequencies()
        grids, first = [], 0
        for index, (count, frames) in enumerate(shapes):
            band = slice(first, first + count)
            first += count
            step = size / (frames * self.rate)
            if self.framewise:
                origin, periodic = -self._front() / self.rate - step / 2.0, False
            else:
                origin, periodic = -step / 2.0, True
            grids.append(
                CellGrid(
                    frequencies=frequencies[band],
                    bandwidths=width[band],
                    lower=lower[band],
                    weights=frames * weight_per_frame[band],
                    time_step=step,
                    time_origin=origin,
                    edge=np.full(count, index in (0, len(shapes) - 1)),
                    sliced=self.framewise,
                    slice_overlap="complex" if self.params["phaseMode"] == "global" else "energy",
                    periodic=periodic,
                )
            )
        return grids

    def describe(self, length: int) -> dict[str, Any]:
        out = super().describe(length)
        out["bands"] = int(self._design.n_bins) + 2
        out["essentia_maxFrequency"] = self.essentia_max_frequency
        return out

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

    # ------------------------------------------------------------------ feasibility
    def unusable_reason(self) -> str | None:
        """Why this setting must never run, or ``None``.

        ``windowSizeFactor > 1`` never reconstructs (Essentia raises "non
        painless frame found") and makes Essentia copy a frequency window into
        a shorter buffer first (heap corruption; the interpreter may abort), so
        it is refused without computing anything.
        """
        factor = self.params["windowSizeFactor"]
        if factor > 1:
            return (
                f"nsgcq: windowSizeFactor {factor} > 1 is never run: Essentia cannot invert it "
                "(non painless frame) and corrupts its heap trying (the process can abort)"
            )
        return None

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
        (:func:`~sliceq22.transforms.nsgcq_design.reconstruction_snr_db`) must
        reach :data:`~sliceq22.transforms.base.FEASIBLE_SNR_DB`. Essentia
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
        key = (self.rate, tuple(sorted(self.params.items())), size)
        if key not in _SIZE_CHECKS:
            bank = filter_bank(self.params, self.rate, size)
            where = f"nsgcq at inputSize {size}"
            problem = painless_problem(bank)
            if problem is not None:
                _SIZE_CHECKS[key] = f"{where}: {problem}"
            else:
                snr = reconstruction_snr_db(bank)
                _SIZE_CHECKS[key] = (
                    None
                    if snr >= FEASIBLE_SNR_DB
                    else f"{where}: no perfect reconstruction (white-noise SNR {snr:.1f} dB "
                    f"< {FEASIBLE_SNR_DB:.0f} dB, from the frame operator)"
                )
        return _SIZE_CHECKS[key]

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

    def _frame_tables(self) -> FrameTables:
        """The numpy framewise engine (gathers and sparse synthesis at ``frameSize``)."""
        if self._tables is None:
            bank = filter_bank(self.params, self.rate, self.frame_size)
            ranges = self._band_ranges(self.frame_size)
            self._tables = FrameTables(
                bank, ranges, self.params["phaseMode"] == "global", self._real
            )
        return self._tables

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
            framing = self.framing(length)
            segment = np.zeros((flat.shape[0], (framing.units + 1) * self.hop), dtype=self._real)
            segment[:, framing.front : framing.front + length] = flat
            blocks = self.forward_units(segment, framing.units)
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
            framing = self.framing(length)
            out = self.inverse_units(flat, framing.units)
            norm = self._norm(framing, 0, framing.units)
            assert norm is not None  # framewise: the squared Tukey window
            start = framing.front
            out = out[:, start : start + length] / norm[start : start + length]
        elif self.uses_essentia:
            out = self._essentia.synthesise(flat, size)[:, :length]
        else:
            out = self._band_transform(size).inverse(flat, self._band_ranges(size))[:, :length]
        return np.asarray(out, dtype=np.float64).reshape(*batch, length)

    # ------------------------------------------------------------------ framewise: units
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

    # ------------------------------------------------------------------ full mode: bands
    def _spectra(self, source: SignalSource, bands: BandTransform) -> np.ndarray:
        """Real DFTs of every signal and channel of ``source``: ``(n_signals, channels, bins)``.

        One signal (all channels) is read at a time, in stretches, so only
        one signal's samples are held besides the spectra.
        """
        n, channels, length = source.n_signals, source.channels, source.length
        spectra = np.empty((n, channels, bands.half), dtype=self._complex)
        signal = np.zeros((channels, bands.bank.size), dtype=self._real)
        for s in range(n):
            for start in range(0, length, READ_SAMPLES):
                stop = min(start + READ_SAMPLES, length)
                signal[:, start:stop] = source.read(start, stop)[s]
            spectra[s] = bands.spectrum(signal)
        return spectra

    def _band_pieces(self, size: int, signals: int, chunk_bytes: int) -> list[tuple[int, int, int]]:
        """``(block, start, stop)`` band runs of one piece each, ``signals`` channels held."""
        bands = self._band_ranges(size)
        lengths = [shape[1] for shape in self._layout(size)[1]]
        per_coefficient = np.dtype(self._complex).itemsize * signals
        pieces = []
        for b, ((start, stop), m) in enumerate(zip(bands, lengths)):
            step = max(1, int(chunk_bytes // max(1, m * per_coefficient)))
            for first in range(start, stop, step):
                pieces.append((b, first, min(first + step, stop)))
        return pieces

    def _piece_blocks(
        self, spectra: np.ndarray, transform: BandTransform, piece: tuple[int, int, int]
    ) -> tuple[Coefficients, list[tuple[int, int]]]:
        """Blocks of one band piece (other blocks empty) and each block's band range held."""
        block, first, stop = piece
        ranges = self._band_ranges(transform.bank.size)
        shapes = self._layout(transform.bank.size)[1]
        batch = spectra.shape[:-1]
        blocks, held = [], []
        for b, ((start, _), shape) in enumerate(zip(ranges, shapes)):
            if b == block:
                blocks.append(transform.analyse(spectra, first, stop))
                held.append((first - start, stop - start))
            else:
                blocks.append(np.zeros((*batch, 0, shape[1]), dtype=self._complex))
                held.append((0, 0))
        return blocks, held

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
        size = self.dft_size(source.length)
        self._require(size)
        transform = self._band_transform(size)
        signals = source.n_signals * source.channels
        pieces = self._band_pieces(size, signals, chunk_bytes or CHUNK_BYTES)
        spectra = self._spectra(source, transform)
        for piece in pieces:
            blocks, held = self._piece_blocks(spectra, transform, piece)
            yield Piece(blocks, "bands", bands=held, total=len(pieces))

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
        size = self.dft_size(length)
        spectra = (n_in + n_out) * channels * (size // 2 + 1) * np.dtype(self._complex).itemsize
        return int(SPECTRA_OVERHEAD * spectra + 2 * (chunk_bytes or CHUNK_BYTES))

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
        clock = _Clock(timing)
        channels, length = source.channels, source.length
        size = self.dft_size(length)
        self._require(size)
        transform = self._band_transform(size)
        signals = (source.n_signals + n_out) * channels
        pieces = self._band_pieces(size, signals, chunk_bytes or CHUNK_BYTES)
        spectra = self._spectra(source, transform)
        outputs = np.zeros((n_out, channels, transform.half), dtype=self._complex)
        clock.lap("forward")
        # One buffer for all pieces, and the map applied to runs of frames of
        # about MAP_BYTES: large arrays allocated afresh per piece would be
        # page-faulted in every time (a band at 10 minutes is ~50 MB for all
        # signals). The map's output overwrites the inputs it was computed from
        # (it is elementwise), so the outputs need no buffer of their own.
        shapes = self._layout(size)[1]
        largest = max((stop - first) * shapes[block][1] for block, first, stop in pieces)
        rows = max(source.n_signals, n_out) * channels
        buffer = np.empty(rows * largest, dtype=self._complex)
        nothing = np.zeros((n_out, channels, 0), dtype=np.float64)
        for index, piece in enumerate(pieces):
            block, first, stop = piece
            shape = (stop - first, shapes[block][1])
            held = buffer[: source.n_signals * channels * math.prod(shape)]
            held = held.reshape(source.n_signals, channels, *shape)
            transform.analyse(spectra, first, stop, out=held)
            clock.lap("forward")
            result = buffer[: n_out * channels * math.prod(shape)].reshape(n_out, channels, *shape)
            frames = max(1, MAP_BYTES // max(1, held.nbytes // shape[1]))
            for a in range(0, shape[1], frames):
                blocks = [
                    np.zeros((source.n_signals, channels, 0, s[1]), dtype=self._complex)
                    for s in shapes
                ]
                blocks[block] = held[..., a : a + frames]
                result[..., a : a + frames] = fn(blocks)[block]
            clock.lap("estimate")
            transform.synthesise(result, first, outputs)
            clock.lap("inverse")
            if progress is not None:
                progress(index + 1, len(pieces) + 1)
            # no audio is final before the last band: an empty stretch hands
            # control to the consumer (progress, cancellation) after each piece
            yield 0, nothing
            clock.reset()
        del spectra
        # Each output spectrum is inverted into its own memory (its 2·(size/2 + 1)
        # reals hold the size samples), so the audio costs no more than the spectra.
        audio = outputs.view(self._real)
        for s in range(n_out):
            for c in range(channels):
                samples = transform.signal(outputs[s, c])
                audio[s, c, : samples.shape[-1]] = samples
                del samples
        self._bands = None  # its diagonal (2 bytes per sample) is not needed any more
        clock.lap("inverse")
        if progress is not None:
            progress(len(pieces) + 1, len(pieces) + 1)
        for start in range(0, length, YIELD_SAMPLES):
            stop = min(start + YIELD_SAMPLES, length)
            yield start, audio[:, :, start:stop].astype(np.float64)
