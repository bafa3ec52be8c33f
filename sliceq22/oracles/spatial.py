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
    if m.shape[0] == 2:  # written out: einsum's generic loop is several times slower
        return np.stack([m[0, 0] * y[0] + m[0, 1] * y[1], m[1, 0] * y[0] + m[1, 1] * y[1]])
    return np.einsum("ab...,b...->a...", m, y)


def hermitian_form(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``Re(yᴴ · m · y)`` per coefficient, ``m`` Hermitian: ``(C, ...)``, ``(C, C, ...)`` ->
    ``(...)``."""
    if m.shape[0] == 2:
        cross = np.real(np.conj(y[0]) * m[0, 1] * y[1])
        return (
            np.real(m[0, 0]) * squared_magnitude(y[0])
            + np.real(m[1, 1]) * squared_magnitude(y[1])
            + 2.0 * cross
        )
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
    if y.shape[0] == 2:  # the diagonal is real: |y|², and the lower triangle mirrors the upper
        out = np.empty((2, 2, y.shape[1]), dtype=np.result_type(y.dtype, np.complex64))
        power = squared_magnitude(y)
        if weight is not None:
            power *= weight[None]
        out[0, 0] = np.sum(power[0], axis=-1)
        out[1, 1] = np.sum(power[1], axis=-1)
        out[0, 1] = np.sum(weighted[0] * np.conj(y[1]), axis=-1)
        out[1, 0] = np.conj(out[0, 1])
        return out
    return np.einsum("afT,bfT->abf", weighted, np.conj(y))


def wiener_filter(
    psd: np.ndarray,
    covariances: np.ndarray,
    mixture: np.ndarray,
    *,
    regularisation: float = 0.0,
    det_eps: float = 0.0,
    scalar_eps: float = 0.0,
) -> np.ndarray:
    """Multichannel Wiener estimates ``v_j R_j (Σ_k v_k R_k + r·I)⁻¹ x`` of every source.

    Parameters
    ----------
    psd : np.ndarray
        Real ``(J, bands, T)``: each source's power spectral density ``v_j``.
    covariances : np.ndarray
        Hermitian ``(J, C, C, bands)``: each source's spatial covariance ``R_j`` per band.
    mixture : np.ndarray
        Complex ``(C, bands, T)``.
    regularisation : float
        ``r``, added to the mixture model's diagonal (norbert: ``√ε``).
    det_eps, scalar_eps : float
        As :func:`invert`.

    Returns
    -------
    np.ndarray
        complex128 ``(J, C, bands, T)``.
    """
    if mixture.shape[0] != 2:
        model = mix_model(psd, covariances, regularisation)
        z = matvec(invert(model, det_eps, scalar_eps), mixture)
        return np.stack([psd[j] * matvec(covariances[j][..., None], z) for j in range(len(psd))])
    # Two channels, written out on the Hermitian model [[d0, c], [c*, d1]] with real diagonals:
    # real products where the values are real, about half the work of the complex 2 × 2 algebra.
    r00, r11 = np.real(covariances[:, 0, 0])[..., None], np.real(covariances[:, 1, 1])[..., None]
    r01 = covariances[:, 0, 1][..., None]  # (J, bands, 1)
    d0 = np.sum(psd * r00, axis=0) + regularisation
    d1 = np.sum(psd * r11, axis=0) + regularisation
    c = np.sum(psd * r01.real, axis=0) + 1j * np.sum(psd * r01.imag, axis=0)
    inv_det = 1.0 / (det_eps + d0 * d1 - squared_magnitude(c))
    x0, x1 = mixture
    z0 = (d1 * x0 - c * x1) * inv_det
    z1 = (d0 * x1 - np.conj(c) * x0) * inv_det
    out = np.empty((len(psd), 2, *mixture.shape[1:]), dtype=np.complex128)
    for j in range(len(psd)):
        out[j, 0] = psd[j] * (r00[j] * z0 + r01[j] * z1)
        out[j, 1] = psd[j] * (np.conj(r01[j]) * z0 + r11[j] * z1)
    return out


def mix_model(psd: np.ndarray, covariances: np.ndarray, regularisation: float = 0.0) -> np.ndarray:
    """``Σ_j v_j R_j + r·I`` per coefficient: ``(J, bands, T)``, ``(J, C, C, bands)`` ->
    ``(C, C, bands, T)``."""
    channels = covariances.shape[1]
    model = np.zeros((channels, channels, *psd.shape[1:]), dtype=np.complex128)
    for a in range(channels):
        for b in range(channels):
            if b < a and channels == 2:
                continue  # Hermitian: filled from the upper triangle below
            for j in range(psd.shape[0]):
                model[a, b] += psd[j] * covariances[j, a, b][:, None]
        model[a, a] += regularisation
    if channels == 2:
        model[1, 0] = np.conj(model[0, 1])
    return model


def squared_magnitude(y: np.ndarray) -> np.ndarray:
    """``|y|²`` as ``re² + im²`` (no square root, unlike ``abs``)."""
    return np.square(y.real) + np.square(y.imag)


def channel_power(y: np.ndarray) -> np.ndarray:
    """``mean_c |y_c|²``: ``(..., C, bands, T)`` -> ``(..., bands, T)`` (norbert's ``v``)."""
    return np.mean(squared_magnitude(y), axis=-3)


def identity(channels: int, bands: int) -> np.ndarray:
    """complex128 ``(C, C, bands)`` identity matrices."""
    eye = np.eye(channels, dtype=np.complex128)[..., None]
    return np.broadcast_to(eye, (channels, channels, bands)).copy()
