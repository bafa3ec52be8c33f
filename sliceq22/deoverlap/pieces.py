"""Streaming a sliced transform in pieces that carry neighbouring slices (a halo).

The OLA view couples neighbouring slices: chunk ``j`` holds slices ``j - 1``
and ``j``, so de-overlapping the slices of a piece needs slices beyond it.
:func:`halo_pieces` hands out runs of slices ``[first, first + count)`` with
``halo`` more on each side (clipped to the track), the per-piece function
returns estimates for the core slices only, and :func:`synthesise_stream`
overlap-adds their synthesis into audio exactly as
:meth:`~sliceq22.transforms.streaming.FramedTransform.stream_map` does. Each
core slice is computed from the same neighbourhood in every piece layout, so
streamed results equal the whole-signal ones (one piece holding every slice).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from sliceq22.errors import ParameterError
from sliceq22.transforms.base import Coefficients, Transform
from sliceq22.transforms.streaming import (
    CHUNK_BYTES,
    FramedTransform,
    Framing,
    SignalSource,
    overlap_add_units,
)

#: Resident bytes of a piece of MPI through the OLA view per byte of its input
#: and output coefficients (fitted to the peak RSS ``benchmarks/fulltrack.py
#: --option view=ola`` measures for bark-262 and the framewise seed).
HALO_PIECE_OVERHEAD = 3.3


def sliced(transform: Transform, what: str = "view 'ola'") -> FramedTransform:
    """``transform`` as a sliced :class:`FramedTransform`, or a one-line :class:`ParameterError`.

    Sliced: slices are the units and blocks are ``(slices, bands, frames)``
    (the sliCQT; NSGCQ with ``mode = "framewise"``).
    """
    framewise = getattr(transform, "framewise", True)
    if not isinstance(transform, FramedTransform) or transform.unit_axis != -3 or not framewise:
        raise ParameterError(
            f"{what} needs a sliced transform (slicqt, or nsgcq with mode = 'framewise'); "
            f"{transform.family} {dict(transform.params)} has no slices"
        )
    return transform


_T = TypeVar("_T")
#: Settings a per-setting probe cache keeps before it starts again.
PROBE_CACHE_SETTINGS = 8


def cached_per_setting(
    cache: dict[str, _T], framed: FramedTransform, compute: Callable[[FramedTransform], _T]
) -> _T:
    """``compute(framed)``, kept in ``cache`` per setting (family, rate, parameters).

    For the white-noise probes of a setting (stationary share, synthesis gains):
    computed once per setting, a few settings at a time.
    """
    key = json.dumps([framed.family, framed.rate, dict(framed.params)], sort_keys=True)
    if key not in cache:
        if len(cache) > PROBE_CACHE_SETTINGS:
            cache.clear()
        cache[key] = compute(framed)
    return cache[key]


@dataclass
class HaloPiece:
    """Coefficients of slices ``[lo, hi)``, of which ``[first, first + count)`` are the core.

    Attributes
    ----------
    blocks : Coefficients
        ``(signals, channels, hi - lo, bands, frames)`` per block.
    lo, hi : int
        Slices held.
    first, count : int
        Core slices, whose estimates the piece delivers.
    units : int
        Slices of the whole track.
    """

    blocks: Coefficients
    lo: int
    hi: int
    first: int
    count: int
    units: int


def halo_step(
    transform: FramedTransform, length: int, signals: int, halo: int, chunk_bytes: int | None
) -> int:
    """Core slices per piece of :func:`halo_pieces`: the piece budget less the halo.

    At least ``2·halo`` core slices, so a piece holds at most twice its core.
    """
    step = transform.units_per_piece(length, signals, chunk_bytes or CHUNK_BYTES)
    return max(step - 2 * halo, 2 * halo, 1)


def halo_working_memory(
    transform: FramedTransform,
    length: int,
    channels: int,
    halo: int,
    *,
    n_in: int = 5,
    n_out: int = 8,
    chunk_bytes: int | None = None,
) -> int:
    """Bytes MPI through the OLA view holds besides the track (``stream_mpi_ola``).

    One piece's input coefficients (``n_in`` signals of ``core + 2·halo``
    slices) and output coefficients (``n_out`` signals of the core: the view's
    and the plain estimates) times :data:`HALO_PIECE_OVERHEAD` for what the
    de-overlap holds beside them (magnitudes, their OLA, shares, the split
    slices; ``mixture``'s re-synthesised and re-analysed estimates), plus the
    float64 overlap-add buffer of the outputs and its normalisation.

    Parameters
    ----------
    transform : FramedTransform
        A sliced transform.
    length, channels : int
        The track's samples per channel and channels.
    halo : int
        Neighbouring slices each side (:attr:`~sliceq22.deoverlap.methods.Deoverlap.halo`).
    n_in, n_out : int
        Signals in (mixture and targets) and out (OLA and plain estimates).

    Returns
    -------
    int
        Bytes.
    """
    framing = transform.framing(length)
    core = min(halo_step(transform, length, n_in * channels, halo, chunk_bytes), framing.units)
    held = min(core + 2 * halo, framing.units)
    per_slice = transform.unit_coefficients(length) * transform.coefficient_bytes() * channels
    coefficients = (held * n_in + core * n_out) * per_slice
    pending = n_out * channels * ((core - 1) * framing.hop + framing.width) * 8 * 2
    return int(HALO_PIECE_OVERHEAD * coefficients + pending)


def halo_pieces(
    transform: FramedTransform,
    source: SignalSource,
    halo: int,
    *,
    chunk_bytes: int | None = None,
) -> Iterator[HaloPiece]:
    """Runs of slices with ``halo`` neighbours each side, a piece near ``chunk_bytes``.

    A piece holds at least ``2·halo`` core slices, so the halo costs at most
    twice the core.
    """
    framing = transform.framing(source.length)
    signals = source.n_signals * source.channels
    step = halo_step(transform, source.length, signals, halo, chunk_bytes)
    for first in range(0, framing.units, step):
        count = min(step, framing.units - first)
        lo, hi = max(0, first - halo), min(framing.units, first + count + halo)
        start, stop = framing.segment(lo, hi - lo)
        segment = source.read(start, stop).reshape(signals, -1)
        blocks = transform.forward_units(segment, hi - lo)
        shaped = [b.reshape(source.n_signals, source.channels, *b.shape[1:]) for b in blocks]
        yield HaloPiece(shaped, lo, hi, first, count, framing.units)


def resynthesise(
    transform: FramedTransform, blocks: Coefficients, lo: int, hi: int, length: int
) -> tuple[Coefficients, int, int]:
    """Re-analyse the audio that slices ``[lo, hi)`` synthesise: the consistent slices.

    The synthesis is normalised and cut to the signal (zeros outside ``[0,
    length)``) as :meth:`FramedTransform.inverse` does, and analysed again
    where it is complete: slice ``u`` needs slices ``u - 1`` and ``u + 1``
    unless it is the first or last of the track.

    Parameters
    ----------
    blocks : Coefficients
        ``(signals, hi - lo, bands, frames)`` per block.

    Returns
    -------
    blocks, glo, ghi
        Coefficients ``(signals, ghi - glo, bands, frames)`` of slices ``[glo, ghi)``.
    """
    framing = transform.framing(length)
    count = hi - lo
    audio = np.asarray(transform.inverse_units(blocks, count), dtype=np.float64)
    window = transform.synthesis_norm_window()
    if window is not None:
        norm = overlap_add_units(np.broadcast_to(window, (count, framing.width)), framing.hop)
        audio = audio / np.where(norm > 1e-12, norm, 1.0)
    # Padded sample p is signal sample p - front: keep [0, length) only.
    first_sample = lo * framing.hop - framing.front
    index = np.arange(audio.shape[-1]) + first_sample
    audio[:, (index < 0) | (index >= length)] = 0.0
    glo, ghi = lo + (lo > 0), hi - (hi < framing.units)
    start = (glo - lo) * framing.hop
    stop = start + (ghi - glo - 1) * framing.hop + framing.width
    return transform.forward_units(audio[:, start:stop], ghi - glo), glo, ghi


def synthesise_stream(
    transform: FramedTransform,
    length: int,
    channels: int,
    n_out: int,
    estimates: Iterator[tuple[int, int, Coefficients]],
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Overlap-add the synthesis of streamed estimates into audio, as ``stream_map`` does.

    Parameters
    ----------
    estimates : iterator of (first, count, blocks)
        Consecutive runs of slices, blocks ``(n_out, channels, count, bands, frames)``.

    Yields
    ------
    (start, audio)
        float64 ``(n_out, channels, k)`` signal samples from ``start``, in order.
    """
    framing: Framing = transform.framing(length)
    hop, front = framing.hop, framing.front
    window = transform.synthesis_norm_window()
    base, emitted = 0, 0
    pending = np.zeros((n_out * channels, 0))
    pending_norm = np.zeros(0)
    for first, count, blocks in estimates:
        flat = [b.reshape(n_out * channels, *b.shape[2:]) for b in blocks]
        synthesis = transform.inverse_units(flat, count)
        offset, end = first * hop, first * hop + synthesis.shape[-1]
        grow = end - base - pending.shape[-1]
        if grow > 0:
            pending = np.concatenate([pending, np.zeros((pending.shape[0], grow))], axis=-1)
            pending_norm = np.concatenate([pending_norm, np.zeros(grow)])
        pending[:, offset - base : end - base] += synthesis
        if window is not None:
            tiles = np.broadcast_to(window, (count, framing.width))
            pending_norm[offset - base : end - base] += overlap_add_units(tiles, hop)
        done = end if first + count >= framing.units else (first + count) * hop
        ready = max(min(done - front, length), emitted)
        lo, hi = emitted + front - base, ready + front - base
        audio = pending[:, lo:hi].copy()
        if window is not None:
            norm = pending_norm[lo:hi]
            audio /= np.where(norm > 1e-12, norm, 1.0)
        if done > base:
            pending, pending_norm = pending[:, done - base :].copy(), pending_norm[done - base :]
            base = done
        if progress is not None:
            progress(first + count, framing.units)
        yield emitted, audio.reshape(n_out, channels, -1)
        emitted = ready
