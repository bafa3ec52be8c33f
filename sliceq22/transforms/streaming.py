"""Piecewise evaluation of a transform over a long signal, within a memory budget.

A full-length track through a redundant transform is gigabytes of
coefficients; every oracle only needs them a piece at a time. This module
defines how a transform hands out its coefficients in pieces and how an
elementwise oracle (MPI, masks) maps the pieces of several input signals to
output audio, so one evaluation holds at most ``chunk_bytes`` of coefficients
besides the track itself.

Three ways a family can be cut
------------------------------
``units``
    Framed and sliced transforms (the STFT's frames, the sliCQT's slices,
    framewise NSGCQ's frames): unit ``u`` reads padded samples ``[u·hop,
    u·hop + width)`` (the signal starts ``front`` samples into the padded
    axis), so a run of units needs only its own stretch of audio and its
    synthesis overlap-adds into a rolling buffer. Such families derive from
    :class:`FramedTransform`.
``bands``
    Full-signal NSG transforms, which cannot be cut in time: each band is
    computed over the whole signal from the signal's spectrum, a few bands at
    a time (the family overrides :meth:`Transform.stream_map` and
    :meth:`Transform.stream_coefficients`).
``whole``
    The fallback of :class:`~sliceq22.transforms.base.Transform`: one piece,
    the whole signal.

Sources
-------
Audio comes from a :class:`SignalSource`, which reads any stretch of the
signals on demand, so the five signals of an MPI evaluation (mixture and four
targets) are never stacked for the whole track.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sliceq22.transforms.base import Coefficients, Transform, _Clock

#: Default bytes of coefficients (input and output signals, all channels) one
#: piece may hold. Arrays below ~30 MB are reused by the allocator instead of
#: being faulted in afresh, so small pieces are also the fastest.
CHUNK_BYTES = 24 * 2**20

#: Resident bytes of a streamed piece per byte of its coefficients (the
#: windowed frames, spectra and synthesised frames beside them; fitted to the
#: peak RSS that ``benchmarks/fulltrack.py`` measures for the STFT, the
#: sliCQT and framewise NSGCQ at 4 and 10 minutes).
PIECE_OVERHEAD = 1.5

#: An elementwise map from the coefficients of the input signals, blocks
#: ``(inputs, channels, ...)``, to those of the output signals, blocks
#: ``(outputs, channels, ...)`` of the same trailing shape. It may overwrite its
#: input. It must act on each coefficient position independently (the MPI
#: oracle, ideal masks, a per-position Wiener filter), because it sees one
#: piece at a time.
#:
#: A map whose answer depends on *which* bands it sees (per-band statistics, as
#: the multichannel Wiener filters keep) sets the attribute ``takes_bands =
#: True``; it is then called as ``fn(blocks, bands=...)`` on pieces that hold
#: only some bands of a block (full-signal NSGCQ's band pieces), ``bands``
#: being per block the range ``[start, stop)`` of its band axis (the
#: second-to-last) that the blocks hold, as :attr:`Piece.bands`. Called as
#: ``fn(blocks)``, every block holds all its bands.
BlockMap = Callable[[Coefficients], Coefficients]


def call_map(fn: BlockMap, blocks: Coefficients, bands: list[tuple[int, int]]) -> Coefficients:
    """``fn(blocks)``, or ``fn(blocks, bands=bands)`` for a map with ``takes_bands``."""
    if getattr(fn, "takes_bands", False):
        return fn(blocks, bands=bands)  # type: ignore[call-arg]
    return fn(blocks)


class SignalSource(Protocol):
    """Several signals of one length, read a stretch at a time.

    Attributes
    ----------
    n_signals : int
        Number of signals (e.g. mixture and four targets: 5).
    channels : int
        Channels per signal.
    length : int
        Samples per channel.
    """

    n_signals: int
    channels: int
    length: int

    def read(self, start: int, stop: int) -> np.ndarray:
        """float32 ``(n_signals, channels, stop - start)``; zeros outside ``[0, length)``."""
        ...


@dataclass
class ArraySource:
    """A :class:`SignalSource` over an array already in memory.

    Parameters
    ----------
    audio : np.ndarray
        ``(signals, channels, samples)`` (a 2-D array is one signal).
    """

    audio: np.ndarray
    n_signals: int = field(init=False)
    channels: int = field(init=False)
    length: int = field(init=False)

    def __post_init__(self) -> None:
        audio = np.asarray(self.audio)
        if audio.ndim == 2:
            audio = audio[None]
        if audio.ndim != 3:
            raise ValueError(f"ArraySource needs (signals, channels, samples), got {audio.shape}")
        self.audio = audio
        self.n_signals, self.channels, self.length = (int(n) for n in audio.shape)

    def read(self, start: int, stop: int) -> np.ndarray:
        return read_padded(self.audio, start, stop)


def read_padded(audio: np.ndarray, start: int, stop: int) -> np.ndarray:
    """float32 ``audio[..., start:stop]`` with zeros where the range leaves ``[0, samples)``.

    Examples
    --------
    >>> read_padded(np.arange(1, 4, dtype=np.float32)[None], -1, 5).tolist()
    [[0.0, 1.0, 2.0, 3.0, 0.0, 0.0]]
    """
    n = audio.shape[-1]
    lo, hi = max(start, 0), min(stop, n)
    if start >= 0 and stop <= n and audio.dtype == np.float32:
        return audio[..., start:stop]
    out = np.zeros((*audio.shape[:-1], stop - start), dtype=np.float32)
    if hi > lo:
        out[..., lo - start : hi - start] = audio[..., lo:hi]
    return out


@dataclass
class Piece:
    """Coefficients of one piece of a signal, as :meth:`Transform.forward` would give them.

    Attributes
    ----------
    blocks : Coefficients
        Per block, ``(signals, channels, *piece_shape)``: the block of the
        whole-signal forward output restricted to this piece.
    kind : {"units", "bands", "whole"}
        How the piece was cut (see the module docstring).
    first, count : int
        ``units``: the units ``[first, first + count)`` along each block's unit
        axis (:attr:`FramedTransform.unit_axis`). ``whole``: 0 and 1.
    bands : list of (int, int) or None
        ``bands``: per block, the band range ``[start, stop)`` along the
        block's band axis this piece holds (``(0, 0)``: none of that block);
        every frame of those bands is present.
    total : int
        Units (``units``), band-block pieces (``bands``) or 1 (``whole``) in
        all, for progress.
    """

    blocks: Coefficients
    kind: str
    first: int = 0
    count: int = 1
    bands: list[tuple[int, int]] | None = None
    total: int = 1


@dataclass(frozen=True)
class Framing:
    """How a framed transform tiles a signal of one length.

    Attributes
    ----------
    hop : int
        Samples between consecutive units.
    width : int
        Samples each unit reads (and its synthesis writes).
    front : int
        Zeros before the signal on the padded axis: unit ``u`` reads signal
        samples ``[u·hop - front, u·hop - front + width)``.
    units : int
        Units covering the signal.
    """

    hop: int
    width: int
    front: int
    units: int

    def segment(self, first: int, count: int) -> tuple[int, int]:
        """Signal sample range ``[start, stop)`` read by units ``[first, first + count)``."""
        start = first * self.hop - self.front
        return start, start + (count - 1) * self.hop + self.width


def overlap_add_units(units: np.ndarray, hop: int) -> np.ndarray:
    """Overlap-add ``(..., count, width)`` units placed ``hop`` apart into
    ``(..., (count-1)·hop + width)``.

    Vectorised over the units: one strided addition per ``hop``-long part of
    a unit (``ceil(width / hop)`` of them), not one per unit.

    Examples
    --------
    >>> overlap_add_units(np.ones((3, 4)), 2).tolist()
    [1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0]
    """
    *batch, count, width = units.shape
    parts = -(-width // hop)
    total = (count - 1) * hop + width
    out = np.zeros((*batch, (count - 1 + parts) * hop), dtype=units.dtype)
    for j in range(parts):
        part = units[..., j * hop : (j + 1) * hop]
        size = part.shape[-1]
        view = out[..., j * hop : j * hop + count * hop].reshape(*batch, count, hop)
        view[..., :size] += part
    return out[..., :total]


class FramedTransform(Transform):
    """A transform computed unit by unit (frames or slices), streamed by runs of units.

    Subclasses implement :meth:`framing`, :meth:`forward_units`,
    :meth:`inverse_units` and :attr:`unit_axis`, and may give a
    :meth:`synthesis_norm_window`; :meth:`forward` and :meth:`inverse` of the
    whole signal are built from them (so the whole-signal path and the
    streamed path are the same arithmetic).
    """

    #: Axis of the units in each block, counted from the end (``-1``: the
    #: STFT's frames; ``-3``: slices of ``(slices, bands, frames)``).
    unit_axis: int = -1

    @abstractmethod
    def framing(self, length: int) -> Framing:
        """The tiling of a ``length``-sample signal."""

    @abstractmethod
    def forward_units(self, segment: np.ndarray, count: int) -> Coefficients:
        """Coefficients of ``count`` consecutive units.

        Parameters
        ----------
        segment : np.ndarray
            float32 (or float64) ``(signals, (count - 1)·hop + width)``: the
            padded samples the units read (see :meth:`Framing.segment`).
        count : int
            Number of units.

        Returns
        -------
        Coefficients
            Blocks ``(signals, ...)`` with ``count`` entries along :attr:`unit_axis`.
        """

    @abstractmethod
    def inverse_units(self, blocks: Coefficients, count: int) -> np.ndarray:
        """Overlap-added synthesis of ``count`` consecutive units, before normalisation.

        Parameters
        ----------
        blocks : Coefficients
            ``(signals, ...)`` with ``count`` units along :attr:`unit_axis`.

        Returns
        -------
        np.ndarray
            ``(signals, (count - 1)·hop + width)``; dividing the sum over all
            units by the overlap-added :meth:`synthesis_norm_window` (if any)
            gives the signal.
        """

    def synthesis_norm_window(self) -> np.ndarray | None:
        """``(width,)`` per-unit weight whose overlap-add divides the synthesis, or ``None``."""
        return None

    def unit_coefficients(self, length: int) -> int:
        """Complex coefficients per unit and channel (all blocks)."""
        total = 0
        for shape in self.block_shapes(length):
            axis = len(shape) + self.unit_axis
            total += math.prod(shape) // shape[axis]
        return total

    def units_per_piece(self, length: int, signals: int, chunk_bytes: int) -> int:
        """Units per piece so ``signals`` signals' coefficients stay near ``chunk_bytes``."""
        per_unit = max(1, self.unit_coefficients(length) * self.coefficient_bytes() * signals)
        return max(1, int(chunk_bytes // per_unit))

    def working_memory(
        self, length: int, channels: int, n_in: int, n_out: int, chunk_bytes: int | None = None
    ) -> int:
        """Bytes :meth:`stream_map` holds besides the track (see :meth:`Transform.working_memory`).

        One piece's coefficients of the ``n_in + n_out`` signals (at most
        ``chunk_bytes``, or one unit if a unit is larger) times
        :data:`PIECE_OVERHEAD` for the temporaries beside them (windowed
        frames, spectra, synthesised frames), plus the float64 overlap-add
        buffer of the outputs.
        """
        framing = self.framing(length)
        signals = (n_in + n_out) * channels
        step = min(self.units_per_piece(length, signals, chunk_bytes or CHUNK_BYTES), framing.units)
        piece = step * self.unit_coefficients(length) * self.coefficient_bytes() * signals
        pending = n_out * channels * ((step - 1) * framing.hop + framing.width) * 8 * 2
        return int(PIECE_OVERHEAD * piece + pending)

    # ------------------------------------------------------------------ whole signal
    def forward(self, audio: np.ndarray) -> Coefficients:
        audio = np.asarray(audio)
        batch, length = audio.shape[:-1], audio.shape[-1]
        framing = self.framing(length)
        start, stop = framing.segment(0, framing.units)
        segment = read_padded(audio.reshape(-1, length), start, stop)
        blocks = self.forward_units(segment, framing.units)
        return [block.reshape(*batch, *block.shape[1:]) for block in blocks]

    def inverse(self, coefficients: Coefficients, length: int) -> np.ndarray:
        self.check_blocks(coefficients, length)
        framing = self.framing(length)
        first = np.asarray(coefficients[0])
        batch = first.shape[: first.ndim - len(self.block_shapes(length)[0])]
        flat = [np.asarray(b).reshape(-1, *np.shape(b)[len(batch) :]) for b in coefficients]
        out = self.inverse_units(flat, framing.units)
        norm = self._norm(framing, 0, framing.units)
        if norm is not None:
            out = out / np.where(norm > 1e-12, norm, 1.0)
        start = framing.front
        return np.asarray(out[:, start : start + length], dtype=np.float64).reshape(*batch, length)

    def _norm(self, framing: Framing, first: int, count: int) -> np.ndarray | None:
        """Overlap-added :meth:`synthesis_norm_window` of units ``[first, first + count)``.

        It depends only on ``count`` (every unit has the same window), so it
        is computed once per count (pieces mostly share one) and cached.
        """
        window = self.synthesis_norm_window()
        if window is None:
            return None
        cache: dict[tuple[int, int, int], np.ndarray] = self.__dict__.setdefault("_norms", {})
        key = (framing.hop, framing.width, count)
        if key not in cache:
            if len(cache) > 4:
                cache.clear()
            tiles = np.broadcast_to(window, (count, framing.width))
            cache[key] = overlap_add_units(tiles, framing.hop)
        return cache[key]

    # ------------------------------------------------------------------ pieces
    def _pieces(self, source: SignalSource, framing: Framing, step: int) -> Iterator[Piece]:
        signals = source.n_signals * source.channels
        for first in range(0, framing.units, step):
            count = min(step, framing.units - first)
            start, stop = framing.segment(first, count)
            segment = source.read(start, stop).reshape(signals, -1)
            blocks = self.forward_units(segment, count)
            shaped = [b.reshape(source.n_signals, source.channels, *b.shape[1:]) for b in blocks]
            yield Piece(shaped, "units", first, count, total=framing.units)

    def stream_coefficients(
        self, source: SignalSource, *, chunk_bytes: int | None = None
    ) -> Iterator[Piece]:
        framing = self.framing(source.length)
        signals = source.n_signals * source.channels
        step = self.units_per_piece(source.length, signals, chunk_bytes or CHUNK_BYTES)
        yield from self._pieces(source, framing, step)

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
        clock = _Clock(timing)
        framing = self.framing(source.length)
        channels, length = source.channels, source.length
        signals = (source.n_signals + n_out) * channels
        step = self.units_per_piece(length, signals, chunk_bytes or CHUNK_BYTES)
        hop, front = framing.hop, framing.front
        normalised = self.synthesis_norm_window() is not None
        # Rolling buffers on the padded axis: padded samples [base, base + len)
        # that later units may still add to.
        base = 0
        pending = np.zeros((n_out * channels, 0), dtype=np.float64)
        pending_norm = np.zeros(0, dtype=np.float64)
        emitted = 0  # signal samples yielded so far
        for piece in self._pieces(source, framing, step):
            clock.lap("forward")
            outputs = fn(piece.blocks)
            del piece.blocks
            clock.lap("estimate")
            flat = [b.reshape(n_out * channels, *b.shape[2:]) for b in outputs]
            del outputs
            synthesis = self.inverse_units(flat, piece.count)
            del flat
            offset = piece.first * hop
            end = offset + synthesis.shape[-1]
            grow = end - base - pending.shape[-1]
            if grow > 0:
                pending = np.concatenate(
                    [pending, np.zeros((pending.shape[0], grow), dtype=np.float64)], axis=-1
                )
                pending_norm = np.concatenate([pending_norm, np.zeros(grow)])
            pending[:, offset - base : end - base] += synthesis
            del synthesis
            if normalised:
                norm = self._norm(framing, piece.first, piece.count)
                assert norm is not None  # normalised: the transform has a synthesis norm window
                pending_norm[offset - base : end - base] += norm
            last = piece.first + piece.count >= framing.units
            # Padded samples before the next unit's start are complete.
            done = end if last else (piece.first + piece.count) * hop
            stop = min(done - front, length)
            ready = max(stop, emitted)
            lo, hi = emitted + front - base, ready + front - base
            audio = pending[:, lo:hi]
            if normalised:
                norm = pending_norm[lo:hi]
                audio = audio / np.where(norm > 1e-12, norm, 1.0)
            else:
                audio = audio.copy()
            if done > base:
                pending = pending[:, done - base :].copy()
                pending_norm = pending_norm[done - base :].copy()
                base = done
            clock.lap("inverse")
            if progress is not None:
                progress(piece.first + piece.count, framing.units)
            yield emitted, audio.reshape(n_out, channels, -1)
            clock.reset()
            emitted = ready


def collect(stream: Iterator[tuple[int, np.ndarray]], shape: Sequence[int]) -> np.ndarray:
    """Assemble the output of :meth:`Transform.stream_map` into one float64 array ``shape``."""
    out = np.zeros(tuple(shape), dtype=np.float64)
    for start, audio in stream:
        out[..., start : start + audio.shape[-1]] = audio
    return out
