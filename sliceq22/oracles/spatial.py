"""Small per-coefficient matrix algebra of the multichannel Wiener filters.

Channel axes come first so the two-channel formulas work on contiguous
arrays: a vector field is ``(C, ...)`` (one complex vector of ``C`` channels
per band and position), a matrix field ``(C, C, ...)``. Covariances per band
are ``(C, C, bands)`` and broadcast over positions with ``[..., None]``.
"""

from __future__ import annotations

import numpy as np


def invert(m: np.ndarray, det_eps: float = 0.0, scalar_eps: float = 0.0) -> np.ndarray:
    """Inverse of every ``C × C`` matrix of a field ``(C, C, ...)``.

    Parameters
    ----------
    m : np.ndarray
        Complex ``(C, C, ...)``.
    det_eps : float
        Added to the determinant of 2 × 2 matrices (sigsep-mus-oracle's
        ``invert``; norbert's ``_invert`` adds nothing).
    scalar_eps : float
        Added to 1 × 1 matrices before inverting (norbert's ``_invert``).

    Returns
    -------
    np.ndarray
        ``(C, C, ...)``: closed forms for ``C ≤ 2``, ``numpy.linalg.inv`` beyond.
    """
    channels = m.shape[0]
    if channels == 1:
        return 1.0 / (m + scalar_eps)
    if channels == 2:
        inv_det = 1.0 / (det_eps + m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0])
        out = np.empty_like(m)
        out[0, 0] = inv_det * m[1, 1]
        out[1, 0] = -inv_det * m[1, 0]
        out[0, 1] = -inv_det * m[0, 1]
        out[1, 1] = inv_det * m[0, 0]
        return out
    moved = np.moveaxis(m, (0, 1), (-2, -1))
    return np.moveaxis(np.linalg.inv(moved), (-2, -1), (0, 1))


def matvec(m: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``m · y`` per coefficient: ``(C, C, ...)`` times ``(C, ...)`` -> ``(C, ...)``."""
    return np.einsum("ab...,b...->a...", m, y)


def hermitian_form(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``Re(yᴴ · m · y)`` per coefficient: ``(C, ...)`` and ``(C, C, ...)`` -> real ``(...)``."""
    return np.real(np.einsum("a...,a...->...", np.conj(y), matvec(m, y)))


def outer_sum(y: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """``Σ_t w · y yᴴ`` over the last axis: ``(C, bands, T)`` -> ``(C, C, bands)``.

    Parameters
    ----------
    y : np.ndarray
        Complex ``(C, bands, T)``.
    weight : np.ndarray, optional
        Real ``(bands, T)`` weight per position (1 if omitted).
    """
    weighted = y if weight is None else y * weight[None]
    return np.einsum("afT,bfT->abf", weighted, np.conj(y))


def channel_power(y: np.ndarray) -> np.ndarray:
    """``mean_c |y_c|²``: ``(..., C, bands, T)`` -> ``(..., bands, T)`` (norbert's ``v``)."""
    return np.mean(np.square(np.abs(y)), axis=-3)


def identity(channels: int, bands: int) -> np.ndarray:
    """complex128 ``(C, C, bands)`` identity matrices."""
    eye = np.eye(channels, dtype=np.complex128)[..., None]
    return np.broadcast_to(eye, (channels, channels, bands)).copy()
