"""Splitting an overlap-added (OLA) view back into half-overlapping slices.

A sliced block ``(..., n, bands, 2h)`` overlap-adds (:func:`overlap_add`) into
``(..., bands, (n + 1)·h)``: chunk ``j`` of ``h`` positions holds the second
half of slice ``j - 1`` (the *earlier* part) plus the first half of slice ``j``
(the *later* part). Chunk 0 has only a later part and chunk ``n`` only an
earlier one. Every de-overlap here is a *share*: the fraction of each OLA
value given to the later slice, the rest to the earlier one, so the slices
always overlap-add back to the view they came from.
"""

from __future__ import annotations

import numpy as np

from sliceq22.transforms.overlap_add import overlap_add

__all__ = ["assemble", "guided_shares", "halves", "overlap_add", "split_parts"]

#: Relative floor of the complex guide's denominator (against its largest value).
COMPLEX_FLOOR = 1e-12


def split_parts(slices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The earlier and later parts of every OLA position, on the OLA axis.

    Parameters
    ----------
    slices : np.ndarray
        ``(..., n, bands, 2h)``.

    Returns
    -------
    earlier, later : np.ndarray
        ``(..., bands, (n + 1)·h)`` each: ``earlier`` holds the second half of
        slice ``j - 1`` in chunk ``j`` (zero in chunk 0), ``later`` the first
        half of slice ``j`` (zero in chunk ``n``); ``earlier + later`` is the OLA.

    Examples
    --------
    >>> e, l = split_parts(np.arange(8.0).reshape(2, 1, 4))
    >>> e.tolist(), l.tolist()
    ([[0.0, 0.0, 2.0, 3.0, 6.0, 7.0]], [[0.0, 1.0, 4.0, 5.0, 0.0, 0.0]])
    """
    *batch, n, bands, frames = slices.shape
    h = frames // 2
    moved = np.moveaxis(slices, -3, -2)  # (..., bands, n, 2h)
    earlier = np.zeros((*batch, bands, n + 1, h), dtype=slices.dtype)
    later = np.zeros_like(earlier)
    earlier[..., 1:, :] = moved[..., h:]
    later[..., :n, :] = moved[..., :h]
    shape = (*batch, bands, (n + 1) * h)
    return earlier.reshape(shape), later.reshape(shape)


def assemble(ola: np.ndarray, share: np.ndarray | float, n: int) -> np.ndarray:
    """Slices from an OLA view and the share of each position given to the later slice.

    Parameters
    ----------
    ola : np.ndarray
        ``(..., bands, (n + 1)·h)``, real (magnitudes) or complex.
    share : np.ndarray or float
        Broadcastable to ``ola``; real in [0, 1] or complex. Chunk 0 goes
        wholly to slice 0 and chunk ``n`` wholly to slice ``n - 1``, whatever
        ``share`` says there (those chunks have one slice).
    n : int
        Number of slices.

    Returns
    -------
    np.ndarray
        ``(..., n, bands, 2h)`` whose :func:`overlap_add` is ``ola``.

    Examples
    --------
    >>> assemble(np.array([[1.0, 1.0, 2.0, 2.0, 1.0, 1.0]]), 0.5, 2)[:, 0].tolist()
    [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """
    *batch, bands, total = ola.shape
    h = total // (n + 1)
    chunks = ola.reshape(*batch, bands, n + 1, h)
    share_chunks = np.broadcast_to(share, ola.shape).reshape(chunks.shape)
    later = chunks * share_chunks
    out = np.empty((*batch, bands, n, 2 * h), dtype=later.dtype)
    out[..., :h] = later[..., :n, :]
    out[..., h:] = chunks[..., 1:, :] - later[..., 1:, :]
    out[..., 0, :h] = chunks[..., 0, :]  # chunk 0: slice 0 alone
    out[..., n - 1, h:] = chunks[..., n, :]  # chunk n: slice n - 1 alone
    return np.moveaxis(out, -2, -3)


def halves(ola: np.ndarray, n: int) -> np.ndarray:
    """The naive split: half of every position to each slice (a baseline).

    Parameters
    ----------
    ola : np.ndarray
        ``(..., bands, (n + 1)·h)``.
    n : int
        Number of slices.

    Returns
    -------
    np.ndarray
        ``(..., n, bands, 2h)``.
    """
    return assemble(ola, 0.5, n)


def guided_shares(guide: np.ndarray) -> np.ndarray:
    """Shares that split a guide's own OLA back into the guide's slices exactly.

    Parameters
    ----------
    guide : np.ndarray
        ``(..., n, bands, 2h)``: magnitudes (real, ≥ 0) or complex slices.

    Returns
    -------
    np.ndarray
        ``(..., bands, (n + 1)·h)``: ``later / (earlier + later)``; 0.5 where
        both parts are zero. Complex guides give complex shares, with the
        denominator floored at :data:`COMPLEX_FLOOR` of its largest value.
    """
    earlier, later = split_parts(guide)
    total = earlier + later
    if np.iscomplexobj(total):
        power = np.abs(total) ** 2
        floor = COMPLEX_FLOOR * float(power.max(initial=0.0)) + np.finfo(power.dtype).tiny
        return later * np.conj(total) / (power + floor)
    out = np.full(total.shape, 0.5, dtype=np.result_type(total.dtype, np.float32))
    np.divide(later, total, out=out, where=total > 0)
    return out
