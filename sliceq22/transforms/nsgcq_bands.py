"""Full-mode NSGCQ streamed by bands: a few bands at a time over the whole signal.

A full-signal transform cannot be cut in time: every band is computed from
the whole signal's DFT. :class:`~sliceq22.transforms.nsgcq.NsgConstantQ`
(numpy engine, ``mode="full"``) therefore streams by bands: one real FFT per
signal and channel (:func:`signal_spectra`), then a few bands at a time
(:func:`band_pieces`): analysis, the caller's map, synthesis added into the
output spectra; then one inverse real FFT per output signal and channel.
Peak memory is the spectra of inputs and outputs plus one piece
(:func:`band_working_memory`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from sliceq22.transforms.base import Coefficients, _Clock
from sliceq22.transforms.nsgcq_numpy import BandTransform
from sliceq22.transforms.streaming import CHUNK_BYTES, BlockMap, Piece, SignalSource, call_map

if TYPE_CHECKING:
    from sliceq22.transforms.nsgcq import NsgConstantQ

#: Samples read from a :class:`SignalSource` at a time when taking whole-signal spectra.
READ_SAMPLES = 2**18

#: Bytes of input coefficients full-mode :meth:`NsgConstantQ.stream_map` hands
#: its map at a time (a run of frames of the piece's bands).
MAP_BYTES = 4 * 2**20

#: Samples per stretch of output audio that full-mode :meth:`NsgConstantQ.stream_map` yields.
YIELD_SAMPLES = 2**20

#: Full mode's peak bytes per byte of its input and output spectra (the band
#: tables and the frame-operator diagonal beside them; measured 1.1–1.2 at 4
#: and 10 minutes with ``benchmarks/fulltrack.py``).
SPECTRA_OVERHEAD = 1.2

#: One piece of bands: ``(block, first band, stop band)``, bands counted on
#: the transform's band axis (DC band 0).
BandPiece = tuple[int, int, int]


def signal_spectra(
    transform: NsgConstantQ, source: SignalSource, bands: BandTransform
) -> np.ndarray:
    """Real DFTs of every signal and channel of ``source``: ``(n_signals, channels, bins)``.

    One signal (all channels) is read at a time, in stretches of
    :data:`READ_SAMPLES`, so only one signal's samples are held besides the
    spectra (complex, ``bins = size/2 + 1`` for the DFT size of ``bands``).
    """
    n, channels, length = source.n_signals, source.channels, source.length
    spectra = np.empty((n, channels, bands.half), dtype=transform._complex)
    signal = np.zeros((channels, bands.bank.size), dtype=transform._real)
    for s in range(n):
        for start in range(0, length, READ_SAMPLES):
            stop = min(start + READ_SAMPLES, length)
            signal[:, start:stop] = source.read(start, stop)[s]
        spectra[s] = bands.spectrum(signal)
    return spectra


def band_pieces(
    transform: NsgConstantQ, size: int, signals: int, chunk_bytes: int
) -> list[BandPiece]:
    """Band runs of about ``chunk_bytes`` of coefficients each, ``signals`` channels held.

    Parameters
    ----------
    size : int
        DFT size.
    signals : int
        Signals × channels whose coefficients a piece holds at once.
    chunk_bytes : int
        Coefficient bytes per piece; a piece holds at least one band.
    """
    bands = transform._band_ranges(size)
    lengths = [shape[1] for shape in transform._layout(size)[1]]
    per_coefficient = np.dtype(transform._complex).itemsize * signals
    pieces = []
    for b, ((start, stop), m) in enumerate(zip(bands, lengths)):
        step = max(1, int(chunk_bytes // max(1, m * per_coefficient)))
        for first in range(start, stop, step):
            pieces.append((b, first, min(first + step, stop)))
    return pieces


def piece_blocks(
    transform: NsgConstantQ, spectra: np.ndarray, bands: BandTransform, piece: BandPiece
) -> tuple[Coefficients, list[tuple[int, int]]]:
    """Blocks of one band piece (other blocks empty) and each block's band range held."""
    block, first, stop = piece
    ranges = transform._band_ranges(bands.bank.size)
    shapes = transform._layout(bands.bank.size)[1]
    batch = spectra.shape[:-1]
    blocks, held = [], []
    for b, ((start, _), shape) in enumerate(zip(ranges, shapes)):
        if b == block:
            blocks.append(bands.analyse(spectra, first, stop))
            held.append((first - start, stop - start))
        else:
            blocks.append(np.zeros((*batch, 0, shape[1]), dtype=transform._complex))
            held.append((0, 0))
    return blocks, held


def stream_band_coefficients(
    transform: NsgConstantQ, source: SignalSource, chunk_bytes: int | None
) -> Iterator[Piece]:
    """Pieces of ``bands``: the coefficients of a few bands at a time, all frames of them.

    The real DFT of every signal and channel is taken once
    (``(n_signals, channels, size/2 + 1)`` complex); a piece holds about
    ``chunk_bytes`` (default :data:`~sliceq22.transforms.streaming.CHUNK_BYTES`).
    """
    size = transform.dft_size(source.length)
    transform._require(size)
    bands = transform._band_transform(size)
    signals = source.n_signals * source.channels
    pieces = band_pieces(transform, size, signals, chunk_bytes or CHUNK_BYTES)
    spectra = signal_spectra(transform, source, bands)
    for piece in pieces:
        blocks, held = piece_blocks(transform, spectra, bands, piece)
        yield Piece(blocks, "bands", bands=held, total=len(pieces))


def band_working_memory(
    transform: NsgConstantQ, length: int, channels: int, n_in: int, n_out: int, chunk_bytes: int
) -> int:
    """Bytes :func:`stream_map_bands` holds besides the track.

    The one-sided spectra of every input and output signal and channel
    (``size/2 + 1`` complex values each), :data:`SPECTRA_OVERHEAD` more for
    the band tables, and two pieces of bands.
    """
    size = transform.dft_size(length)
    half = size // 2 + 1
    spectra = (n_in + n_out) * channels * half * np.dtype(transform._complex).itemsize
    return int(SPECTRA_OVERHEAD * spectra + 2 * chunk_bytes)


def stream_map_bands(
    transform: NsgConstantQ,
    source: SignalSource,
    fn: BlockMap,
    n_out: int,
    *,
    chunk_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    timing: dict[str, float] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Full-mode :meth:`~sliceq22.transforms.base.Transform.stream_map`, by pieces of bands.

    The input spectra ``(n_signals, channels, size/2+1)``, then per piece of
    bands the coefficients of all input signals, ``fn`` (on runs of frames of
    about :data:`MAP_BYTES`: it is elementwise), and the synthesis of those
    bands added to the output spectra ``(n_out, channels, size/2+1)``; the
    input spectra are freed after the last band, then each output spectrum
    is inverted (and freed) and the audio is yielded in stretches of
    :data:`YIELD_SAMPLES`. Peak memory: the spectra of inputs and outputs (4
    bytes per sample per signal and channel in single precision) and one
    piece.

    Yields
    ------
    start : int
        First sample of the stretch; ``0`` with no samples after each piece
        (no audio is final before the last band).
    audio : np.ndarray
        float64 ``(n_out, channels, samples)``.
    """
    clock = _Clock(timing)
    channels, length = source.channels, source.length
    size = transform.dft_size(length)
    transform._require(size)
    bands = transform._band_transform(size)
    signals = (source.n_signals + n_out) * channels
    pieces = band_pieces(transform, size, signals, chunk_bytes or CHUNK_BYTES)
    spectra = signal_spectra(transform, source, bands)
    outputs = np.zeros((n_out, channels, bands.half), dtype=transform._complex)
    clock.lap("forward")
    yield from _map_pieces(transform, bands, spectra, outputs, pieces, fn, clock, progress)
    del spectra
    audio = _output_signals(transform, bands, outputs)
    transform._bands = None  # its diagonal (2 bytes per sample) is not needed any more
    clock.lap("inverse")
    if progress is not None:
        progress(len(pieces) + 1, len(pieces) + 1)
    for start in range(0, length, YIELD_SAMPLES):
        stop = min(start + YIELD_SAMPLES, length)
        yield start, audio[:, :, start:stop].astype(np.float64)


def _map_pieces(
    transform: NsgConstantQ,
    bands: BandTransform,
    spectra: np.ndarray,
    outputs: np.ndarray,
    pieces: list[BandPiece],
    fn: BlockMap,
    clock: _Clock,
    progress: Callable[[int, int], None] | None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Analyse, map and synthesise every piece into ``outputs``; an empty stretch after each.

    No audio is final before the last band: the empty stretch hands control
    to the consumer (progress, cancellation) after each piece.
    """
    n_in, channels = spectra.shape[:2]
    n_out = outputs.shape[0]
    # One buffer for all pieces, and the map applied to runs of frames of
    # about MAP_BYTES: large arrays allocated afresh per piece would be
    # page-faulted in every time (a band at 10 minutes is ~50 MB for all
    # signals). The map's output overwrites the inputs it was computed from
    # (it is elementwise), so the outputs need no buffer of their own.
    shapes = transform._layout(bands.bank.size)[1]
    largest = max((stop - first) * shapes[block][1] for block, first, stop in pieces)
    buffer = np.empty(max(n_in, n_out) * channels * largest, dtype=transform._complex)
    nothing = np.zeros((n_out, channels, 0), dtype=np.float64)
    for index, (block, first, stop) in enumerate(pieces):
        shape = (stop - first, shapes[block][1])
        held = buffer[: n_in * channels * math.prod(shape)].reshape(n_in, channels, *shape)
        bands.analyse(spectra, first, stop, out=held)
        clock.lap("forward")
        result = buffer[: n_out * channels * math.prod(shape)].reshape(n_out, channels, *shape)
        start = transform._band_ranges(bands.bank.size)[block][0]
        ranges = [(0, 0)] * len(shapes)
        ranges[block] = (first - start, stop - start)
        _map_in_runs(fn, held, result, block, shapes, transform._complex, ranges)
        clock.lap("estimate")
        bands.synthesise(result, first, outputs)
        clock.lap("inverse")
        if progress is not None:
            progress(index + 1, len(pieces) + 1)
        yield 0, nothing
        clock.reset()


def _map_in_runs(
    fn: BlockMap,
    held: np.ndarray,
    result: np.ndarray,
    block: int,
    shapes: list[tuple[int, int]],
    dtype: Any,
    ranges: list[tuple[int, int]],
) -> None:
    """``result = fn(held)`` for one block's bands, a run of about :data:`MAP_BYTES` of frames
    at a time (the other blocks passed empty; ``ranges``: the bands held per block, for a map
    that ``takes_bands``)."""
    n_in, channels, _, n_frames = held.shape
    frames = max(1, MAP_BYTES // max(1, held.nbytes // n_frames))
    for a in range(0, n_frames, frames):
        blocks = [np.zeros((n_in, channels, 0, s[1]), dtype=dtype) for s in shapes]
        blocks[block] = held[..., a : a + frames]
        result[..., a : a + frames] = call_map(fn, blocks, ranges)[block]


def _output_signals(
    transform: NsgConstantQ, bands: BandTransform, outputs: np.ndarray
) -> np.ndarray:
    """Invert each output spectrum into its own memory: ``(n_out, channels, ≥ size)`` real.

    The ``2·(size/2 + 1)`` reals of a spectrum hold its ``size`` samples, so
    the audio costs no more than the spectra.
    """
    audio = outputs.view(transform._real)
    n_out, channels = outputs.shape[:2]
    for s in range(n_out):
        for c in range(channels):
            samples = bands.signal(outputs[s, c])
            audio[s, c, : samples.shape[-1]] = samples
            del samples
    return audio
