"""MPI through the OLA view: target magnitudes overlap-added, de-overlapped, mixture phase.

For each target the estimate is ``inverse(D(OLA(|T(target)|)) · T(mix) / |T(mix)|)``
with ``D`` a de-overlap (:mod:`~sliceq22.deoverlap.methods`): what a demixing
network that predicted every OLA magnitude perfectly would get back. Beside
it the plain MPI estimate (``|T(target)|`` with the mixture's phase) comes out
of the same pass, so each candidate shows what the view costs.

:func:`stream_mpi_ola` is the streamed form the ``mpi`` objective uses: the
same ``(start, audio)`` stream as :meth:`Transform.stream_map` with the five
signals of :class:`~sliceq22.oracles.mpi.TrackSignals`, pieces of slices
carrying :attr:`Deoverlap.halo` neighbours each side
(:func:`~sliceq22.deoverlap.pieces.halo_pieces`), so its memory is the
streaming evaluation's plus the halo. :func:`mpi_ola_estimates` is the
whole-signal form (one piece holding every slice), the reference the
streamed result is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from sliceq22.deoverlap.methods import Deoverlap
from sliceq22.deoverlap.pieces import (
    HaloPiece,
    halo_pieces,
    sliced,
    synthesise_stream,
)
from sliceq22.deoverlap.split import overlap_add
from sliceq22.transforms.base import Coefficients, Transform
from sliceq22.transforms.streaming import ArraySource, SignalSource, collect

#: Pieces of the whole-signal form: one piece, whatever the track's length.
WHOLE = 1 << 62


def ola_mpi_piece(
    transform: Transform,
    deoverlap: Deoverlap,
    piece: HaloPiece,
    length: int,
    *,
    with_plain: bool = True,
) -> Coefficients:
    """Estimates of a piece's core slices: through the OLA view, then (optionally) plain MPI.

    Parameters
    ----------
    transform : Transform
        The sliced transform.
    deoverlap : Deoverlap
        How the OLA view is split back.
    piece : HaloPiece
        Blocks ``(1 + targets, channels, hi - lo, bands, 2h)``: the mixture,
        then the targets, for slices ``[lo, hi)``.
    length : int
        Samples of the track.
    with_plain : bool
        Append the plain MPI estimates.

    Returns
    -------
    Coefficients
        Blocks ``(targets · (2 if with_plain else 1), channels, count, bands,
        2h)`` of the core slices ``[first, first + count)``: OLA estimates
        first, plain ones after.
    """
    mixture = [block[0] for block in piece.blocks]
    magnitudes = [np.abs(block[1:]) for block in piece.blocks]
    ola = [overlap_add(m) for m in magnitudes]
    slices, vlo, vhi = deoverlap.split(transform, ola, mixture, piece.lo, piece.hi, length)
    if not vlo <= piece.first or piece.first + piece.count > vhi:
        raise RuntimeError(f"halo too small: slices [{vlo}, {vhi}) do not cover the piece's core")
    core = slice(piece.first - piece.lo, piece.first - piece.lo + piece.count)
    out = []
    for mix, split, plain in zip(mixture, slices, magnitudes):
        magnitude = np.abs(mix[:, core])
        phase = np.divide(
            mix[:, core], magnitude, out=np.ones_like(mix[:, core]), where=magnitude > 0
        )
        parts = [split[:, :, core] * phase]
        if with_plain:
            parts.append(plain[:, :, core] * phase)
        out.append(np.concatenate(parts).astype(mix.dtype, copy=False))
    return out


def stream_mpi_ola(
    transform: Transform,
    source: SignalSource,
    deoverlap: Deoverlap,
    *,
    with_plain: bool = True,
    chunk_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Stream MPI-through-OLA (and plain MPI) estimates of a track, a piece of slices at a time.

    Parameters
    ----------
    source : SignalSource
        Signal 0 the mixture, then the targets (as ``TrackSignals``).

    Yields
    ------
    (start, audio)
        float64 ``(targets · (2 if with_plain else 1), channels, k)`` from
        sample ``start``, in order: OLA estimates, then plain MPI.
    """
    framed = sliced(transform)
    n_targets = source.n_signals - 1
    n_out = n_targets * (2 if with_plain else 1)

    def estimates() -> Iterator[tuple[int, int, Coefficients]]:
        for piece in halo_pieces(framed, source, deoverlap.halo, chunk_bytes=chunk_bytes):
            blocks = ola_mpi_piece(framed, deoverlap, piece, source.length, with_plain=with_plain)
            yield piece.first, piece.count, blocks

    yield from synthesise_stream(
        framed, source.length, source.channels, n_out, estimates(), progress
    )


def mpi_ola_estimates(
    transform: Transform,
    targets: np.ndarray,
    mixture: np.ndarray,
    deoverlap: Deoverlap,
    *,
    with_plain: bool = True,
    chunk_bytes: int | None = WHOLE,
) -> np.ndarray:
    """MPI-through-OLA estimates of a track held in memory.

    Parameters
    ----------
    targets : np.ndarray
        ``(targets, channels, samples)``.
    mixture : np.ndarray
        ``(channels, samples)``.
    chunk_bytes : int or None
        Piece size; the default is one piece (the whole-signal reference).

    Returns
    -------
    np.ndarray
        float64 ``(targets · (2 if with_plain else 1), channels, samples)``.
    """
    audio = np.concatenate([np.asarray(mixture)[None], np.asarray(targets)]).astype(np.float32)
    source = ArraySource(audio)
    n_out = (source.n_signals - 1) * (2 if with_plain else 1)
    stream = stream_mpi_ola(
        transform, source, deoverlap, with_plain=with_plain, chunk_bytes=chunk_bytes
    )
    return collect(stream, (n_out, source.channels, source.length))
