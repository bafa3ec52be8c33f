"""Essentia's own ``NSGConstantQ``/``NSGIConstantQ``: instances, probes, per-frame calls.

The reference the numpy implementation (:mod:`~sliceq22.transforms.nsgcq_numpy`)
is tested against, and the engine of ``engine="essentia"``. Each instance pair
(one per Essentia ``inputSize``) is checked once with a white-noise probe
before its first use, and its output shapes against the float32 design
(:mod:`~sliceq22.transforms.nsgcq_design`).

Calling Essentia frame by frame is slow: each call reconfigures an inverse
FFT per band (~6 ms per 16384-sample frame at 48 bins/octave), and its Python
binding walks lists of lists. For framewise analysis the map is therefore
measured from Essentia itself on two impulses (:class:`_FrameAnalysis`) and
applied to all frames at once with numpy's FFTs, if it reproduces Essentia's
output to :data:`FRAME_ANALYSIS_TOLERANCE`; synthesis calls Essentia per frame.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sliceq22.errors import InfeasibleError
from sliceq22.transforms.base import FEASIBLE_SNR_DB, snr_db

#: Parameters passed to Essentia unchanged (``maxFrequency`` goes through
#: :meth:`NsgConstantQ.essentia_max_frequency`).
ESSENTIA_PARAMS: tuple[str, ...] = (
    "minFrequency",
    "binsPerOctave",
    "gamma",
    "rasterize",
    "phaseMode",
    "normalize",
    "window",
    "minimumWindow",
    "windowSizeFactor",
)

#: Essentia instance pairs kept per transform object (one per input length).
MAX_ENGINES = 4

#: Outcome of each (setting, Essentia input length) noise probe in this
#: process: ``None`` if the pair reconstructs, else the reason.
_ENGINE_PROBES: dict[tuple[Any, ...], str | None] = {}


def _direct(algorithm: Any) -> Callable[..., Any]:
    """The algorithm's C++ ``compute`` without the Python wrapper's type walk.

    ``essentia.standard`` checks the type of every element of a list of lists
    in Python before each call (``common.determineEdt``): 0.07–0.2 s per call
    for a few seconds of audio, four times the inverse transform itself. This
    module always passes exactly the types the C++ side takes (float32
    contiguous frames; a list of lists of Python complex and complex64
    vectors), so it calls ``__compute__`` directly when the binding has it.
    """
    return getattr(algorithm, "__compute__", algorithm)


@dataclass
class _Engine:
    """One ``NSGConstantQ``/``NSGIConstantQ`` pair for one input length, and its block layout."""

    size: int
    analysis: Callable[[np.ndarray], tuple[Any, np.ndarray, np.ndarray]]
    synthesis: Callable[[list, np.ndarray, np.ndarray], np.ndarray]
    runs: list[tuple[int, int]]  #: constant-Q band ranges of blocks 1 … B-2
    shapes: list[tuple[int, int]]  #: ``(bands, frames)`` of every block, DC first
    #: framewise only: Essentia's analysis applied to many frames at once, or
    #: ``None`` (call Essentia frame by frame)
    frames: _FrameAnalysis | None = None


#: The numpy framewise analysis (:class:`_FrameAnalysis`) is used only if it
#: reproduces Essentia's own output on its probes to this fraction of the
#: largest coefficient magnitude (measured: ~3e-7, Essentia's float32 rounding).
FRAME_ANALYSIS_TOLERANCE = 1e-5

#: Positions of a band whose kernel is below this fraction of the band's
#: largest are too faint to read their source bin from the probe's phase.
_PHASE_RELIABLE = 1e-3


@dataclass(frozen=True)
class _FrameAnalysis:
    """Essentia's ``NSGConstantQ`` at one ``inputSize`` as gathers and batched inverse FFTs.

    For a fixed ``inputSize`` Essentia's analysis is a fixed linear map: the
    DFT ``X`` of the frame; for band ``j``, a length-``M_j`` vector whose
    position ``q`` holds one DFT bin times the band's frequency window (placed
    and, in global phase mode, rotated); its inverse DFT divided by ``M_j``.
    Essentia reconfigures an inverse FFT for every band on every call (about
    12 µs per band, 6 ms per 16384-sample frame at 48 bins/octave), so
    framewise mode, which calls it once per slice, spends nearly all its time
    there. This class measures the map from Essentia itself
    (:func:`_measure_frame_analysis`) and applies it to all slices of a
    signal at once.

    Attributes
    ----------
    sources : tuple of np.ndarray
        Per block, int64 ``(bands, M)``: index into ``[X, conj(X)]`` (the
        ``size // 2 + 1`` bins of the real DFT, then their conjugates), the
        bin each position reads. Essentia reads bin ``|k|`` for the DC band's
        negative bins and the conjugate of bin ``size - k`` above Nyquist.
    kernels : tuple of np.ndarray
        Per block, complex64 ``(bands, M)``: the window value at each position
        (0 where no bin is placed).
    """

    sources: tuple[np.ndarray, ...]
    kernels: tuple[np.ndarray, ...]

    def __call__(
        self, frames: np.ndarray, out: Sequence[np.ndarray] | None = None
    ) -> list[np.ndarray]:
        """Analyse float32 frames ``(n, size)`` into complex64 blocks ``(n, bands, M)``.

        ``out``, if given, holds one complex64 ``(n, bands, M)`` array per
        block to write into (no intermediate copy).
        """
        spectrum = np.fft.rfft(frames, axis=-1)  # complex64 for float32 frames
        both = np.concatenate([spectrum, spectrum.conj()], axis=-1)
        blocks = []
        for b, (sources, kernel) in enumerate(zip(self.sources, self.kernels)):
            product = np.take(both, sources, axis=-1)  # (n, bands, M)
            product *= kernel
            # numpy's inverse DFT divides by M, as Essentia does after its IFFT
            target = None if out is None else out[b]
            blocks.append(np.fft.ifft(product, axis=-1, out=target))
        return blocks


def _essentia_blocks(engine: _Engine, signal: np.ndarray) -> list[np.ndarray]:
    """Essentia's analysis of one float32 signal as complex128 blocks ``(bands, M)``."""
    cq, dc, nf = engine.analysis(np.ascontiguousarray(signal, dtype=np.float32))
    blocks = [np.asarray(dc, dtype=np.complex128)[None]]
    blocks.extend(np.asarray(cq[start:stop], dtype=np.complex128) for start, stop in engine.runs)
    blocks.append(np.asarray(nf, dtype=np.complex128)[None])
    return blocks


def _band_sources(at_zero: np.ndarray, at_one: np.ndarray, size: int) -> np.ndarray:
    """Which DFT bin each position of each band reads, from impulses at samples 0 and 1.

    Parameters
    ----------
    at_zero, at_one : np.ndarray
        complex128 ``(bands, M)``: the DFT of Essentia's coefficients of an
        impulse at sample 0 (the kernels, as every bin is 1) and at sample 1
        (bin ``k`` is ``exp(-2πik/size)``), i.e. what each position holds
        before Essentia's inverse DFT.
    size : int
        Essentia's ``inputSize``.

    Returns
    -------
    np.ndarray
        int64 ``(bands, M)``: the full-spectrum bin ``g`` in ``[0, size)``
        whose value (``conj(X[size - g])`` above Nyquist) each position holds.

    Notes
    -----
    Consecutive positions hold consecutive bins ``k`` (modulo ``M``, within
    the band's window of at most ``M`` bins), so every ``k`` is the
    strongest position's bin (read exactly from its phase) plus the offset
    ``d ≡ q - q_max (mod M)``, ``d`` in ``[-M/2, M/2)`` or one period off; the
    phase picks the period wherever the kernel is not faint. The DC band
    reads bin ``|k|`` for its negative bins, so both signs of the strongest
    bin are tried.
    """
    bands, m = at_zero.shape
    magnitude = np.abs(at_zero)
    rows = np.arange(bands)
    peak = np.argmax(magnitude, axis=-1)
    ratio = at_one[rows, peak] / at_zero[rows, peak]
    peak_bin = np.round(-np.angle(ratio) * size / (2.0 * np.pi)).astype(np.int64) % size
    offset = (np.arange(m)[None, :] - peak[:, None] + m // 2) % m - m // 2
    reliable = magnitude >= _PHASE_RELIABLE * magnitude.max(axis=-1, keepdims=True)
    best: np.ndarray | None = None
    cost: np.ndarray | None = None
    for sign in (1, -1):
        k = sign * peak_bin[:, None] + offset
        candidates = np.abs(np.stack([k - m, k, k + m])) % size  # (3, bands, M)
        misfit = np.abs(at_one - at_zero * np.exp(-2j * np.pi * candidates / size))
        choice = np.where(reliable, np.argmin(misfit, axis=0), 1)[None]
        chosen = np.take_along_axis(candidates, choice, axis=0)[0]
        total = np.where(reliable, np.take_along_axis(misfit, choice, axis=0)[0], 0.0).sum(-1)
        if best is None or cost is None:  # the first sign
            best, cost = chosen, total
        else:
            better = (total < cost)[:, None]
            best = np.where(better, chosen, best)
            cost = np.minimum(total, cost)
    assert best is not None  # both signs were tried
    return best


def _measure_frame_analysis(engine: _Engine) -> _FrameAnalysis | None:
    """Measure Essentia's analysis map at ``engine.size``; ``None`` unless it reproduces Essentia.

    Three Essentia calls: impulses at samples 0 and 1 give the kernels and
    source bins (:func:`_band_sources`); the impulse at 1 and seeded white
    noise must then come out of :class:`_FrameAnalysis` as they come out of
    Essentia, to :data:`FRAME_ANALYSIS_TOLERANCE` of the largest magnitude.
    """
    size = engine.size
    half = size // 2 + 1
    impulse = np.zeros(size, dtype=np.float32)
    impulse[0] = 1.0
    shifted = np.roll(impulse, 1)
    noise = np.random.default_rng(size + 1).standard_normal(size).astype(np.float32)
    try:
        zero, one, reference = (_essentia_blocks(engine, x) for x in (impulse, shifted, noise))
    except (RuntimeError, TypeError, ValueError):
        return None
    sources, kernels = [], []
    for c_zero, c_one in zip(zero, one):
        at_zero = np.fft.fft(c_zero, axis=-1)
        bins = _band_sources(at_zero, np.fft.fft(c_one, axis=-1), size)
        sources.append(np.where(bins < half, bins, half + (size - bins)))
        kernels.append(at_zero.astype(np.complex64))
    fast = _FrameAnalysis(tuple(sources), tuple(kernels))
    for signal, expected in ((shifted, one), (noise, reference)):
        got = fast(signal[None])
        scale = max(float(np.abs(block).max()) for block in expected)
        error = max(float(np.abs(g[0] - e).max()) for g, e in zip(got, expected))
        if not error <= FRAME_ANALYSIS_TOLERANCE * scale:
            return None
    return fast


class EssentiaEngines:
    """Essentia instance pairs of one nsgcq setting, one per ``inputSize``, probed on creation.

    Parameters
    ----------
    owner : NsgConstantQ
        The transform: its ``params``, ``rate``, ``unusable_reason()``,
        ``_layout(size)``, ``essentia_max_frequency`` and ``framewise``.
    """

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self.engines: OrderedDict[int, _Engine] = OrderedDict()

    def kwargs(self, size: int) -> dict[str, Any]:
        """Essentia's keyword arguments for ``inputSize=size``."""
        kwargs = {name: self.owner.params[name] for name in ESSENTIA_PARAMS}
        kwargs["maxFrequency"] = self.owner.essentia_max_frequency
        kwargs["sampleRate"] = float(self.owner.rate)
        kwargs["inputSize"] = size
        return kwargs

    def get(self, size: int) -> _Engine:
        """The Essentia pair for ``inputSize=size``, created and probed on first use.

        Raises
        ------
        InfeasibleError
            If the setting is refused (``unusable_reason``), Essentia raises,
            its shapes differ from the design, or a white-noise probe does not
            come back at :data:`FEASIBLE_SNR_DB`.
        """
        engine = self.engines.get(size)
        if engine is not None:
            self.engines.move_to_end(size)
            return engine
        owner = self.owner
        reason = owner.unusable_reason()
        if reason is not None:
            raise InfeasibleError(reason)
        key = (owner.rate, tuple(sorted(owner.params.items())), size)
        known = _ENGINE_PROBES.get(key, "")
        if known:
            raise InfeasibleError(known)
        es = _essentia_standard()
        runs, shapes = owner._layout(size)
        kwargs = self.kwargs(size)
        try:
            analysis = es.NSGConstantQ(**kwargs)
            synthesis = es.NSGIConstantQ(**kwargs)
        except RuntimeError as exc:
            _ENGINE_PROBES[key] = f"nsgcq: Essentia refuses the setting: {exc}"
            raise InfeasibleError(_ENGINE_PROBES[key]) from None
        engine = _Engine(size, _direct(analysis), _direct(synthesis), runs, shapes)
        if known is not None:  # not probed before in this process
            problem = _probe(engine)
            _ENGINE_PROBES[key] = problem
            if problem is not None:
                raise InfeasibleError(problem)
        if owner.framewise:
            engine.frames = _measure_frame_analysis(engine)
        self.engines[size] = engine
        while len(self.engines) > MAX_ENGINES:
            self.engines.popitem(last=False)
        return engine

    # ------------------------------------------------------------------ many signals
    def analyse(self, signals: np.ndarray, size: int) -> list[np.ndarray]:
        """Essentia's analysis of float32 ``(n, ≤ size)`` signals: complex64 ``(n, bands, M)``.

        Signals shorter than ``size`` are zero-padded. Framewise engines use
        the measured fast path when it reproduces Essentia.
        """
        engine = self.get(size)
        n = signals.shape[0]
        if engine.frames is not None and signals.shape[-1] == size:
            return engine.frames(np.ascontiguousarray(signals, dtype=np.float32))
        blocks = [np.empty((n, *s), dtype=np.complex64) for s in engine.shapes]
        buffer = np.zeros(size, dtype=np.float32)

        def run() -> None:
            for i in range(n):
                buffer[: signals.shape[-1]] = signals[i]
                _analyse(engine, buffer, blocks, (i,))

        _call(run, size)
        return blocks

    def synthesise(self, blocks: Sequence[np.ndarray], size: int) -> np.ndarray:
        """Essentia's inverse of blocks ``(n, bands, M)``: float64 ``(n, size)``."""
        engine = self.get(size)
        n = np.shape(blocks[0])[0]
        out = np.empty((n, size), dtype=np.float64)

        def run() -> None:
            for i in range(n):
                out[i] = _synthesise(engine, blocks, (i,))

        _call(run, size)
        return out


def _probe(engine: _Engine) -> str | None:
    """White noise through Essentia's pair: ``None`` if it reconstructs, else why not."""
    size = engine.size
    noise = np.random.default_rng(size).standard_normal(size).astype(np.float32)
    where = f"nsgcq at Essentia inputSize {size}"
    try:
        cq, dc, nf = engine.analysis(noise)
        got = [(1, len(dc))] + [(stop - start, len(cq[start])) for start, stop in engine.runs]
        got.append((1, len(nf)))
        if len(cq) != engine.runs[-1][1] or got != engine.shapes:
            return (
                f"{where}: Essentia returned {len(cq)} constant-Q bands and blocks {got}, "
                f"expected {engine.runs[-1][1]} and {engine.shapes}"
            )
        if isinstance(cq, np.ndarray):  # rasterize full: the C++ side takes lists only
            cq = cq.tolist()
        restored = engine.synthesis(cq, dc, nf)
    except (RuntimeError, TypeError, ValueError) as exc:
        return f"{where}: Essentia fails: {exc}"
    if restored.shape != noise.shape:
        return f"{where}: inverse returned {restored.shape[0]} samples, expected {size}"
    snr = snr_db(noise, restored)
    if not snr >= FEASIBLE_SNR_DB:
        return (
            f"{where}: no perfect reconstruction (noise probe SNR {snr:.1f} dB "
            f"< {FEASIBLE_SNR_DB:.0f} dB)"
        )
    return None


def _analyse(engine: _Engine, frame: np.ndarray, blocks: list[np.ndarray], index: tuple) -> None:
    """Essentia forward of one float32 frame into ``blocks[b][index]``."""
    cq, dc, nf = engine.analysis(frame)
    blocks[0][index][0] = dc
    for b, (start, stop) in enumerate(engine.runs, start=1):
        # A list of Python complex (rasterize none/piecewise) converts in
        # one assignment; a complex64 matrix (full) is sliced.
        blocks[b][index] = cq[start:stop]
    blocks[-1][index][0] = nf


def _synthesise(engine: _Engine, blocks: Sequence[np.ndarray], index: tuple) -> np.ndarray:
    """Essentia inverse of ``blocks[b][index]``: float32 ``(inputSize,)``."""
    dc = np.ascontiguousarray(blocks[0][index][0], dtype=np.complex64)
    nf = np.ascontiguousarray(blocks[-1][index][0], dtype=np.complex64)
    # NSGIConstantQ refuses a list of arrays (LIST_ARRAY) and, called
    # directly, a matrix: it takes a list of lists, which .tolist() builds in C.
    cq: list = []
    for block in blocks[1:-1]:
        cq.extend(np.asarray(block[index], dtype=np.complex64).tolist())
    return engine.synthesis(cq, dc, nf)


def _call(fn: Callable[[], Any], size: int) -> Any:
    try:
        return fn()
    except RuntimeError as exc:  # Essentia's own refusal, e.g. after a probe on other data
        raise InfeasibleError(
            f"nsgcq at Essentia inputSize {size}: Essentia fails: {exc}"
        ) from None


def _essentia_standard() -> Any:
    """``essentia.standard``, imported without its start-up notice.

    Importing it logs "[ INFO ] MusicExtractorSVM: no classifier models were
    configured" to stderr, which would break the one-line error contract of the
    command line and clutter every study's output.
    """
    import essentia

    essentia.log.infoActive = False
    import essentia.standard as es

    return es
