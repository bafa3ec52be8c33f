"""The learned de-overlap: a share model linear in its parameters, fitted by least squares.

The model sees only the OLA view. At every OLA position it predicts the share
of the later slice as the transform's stationary share ``p``
(:mod:`~sliceq22.deoverlap.prior`) plus a correction where the split is
uncertain::

    share = clip(p + p·(1 - p) · Σ_f Σ_b θ[f, b] · feature_f · basis_b, 0, 1)

Features (all dimensionless, so one model serves any band count and setting
of a family): a constant and, at time offsets ``d = scale · h`` of the OLA
axis (``h`` positions per chunk; :data:`SCALES`), the slope
``tanh((log O(t + d) - log O(t - d)) / 2)`` and curvature ``tanh((log O(t +
d) + log O(t - d) - 2 log O(t)) / 2)`` of the band's own log-magnitude
envelope (where is the energy, earlier or later?). Bases: ``1, p - ½, (p -
½)², spread, spread·(p - ½), edge`` (:class:`~sliceq22.deoverlap.prior.BlockPrior`),
which let the correction depend on the position within the crossfade and
the band's atom length relative to the slice. Channels are de-overlapped
independently (the same model for left and right).

Fitting minimises ``Σ O² (share_true - share)²`` over every position, the
squared error of the split magnitudes, which is a linear least-squares
problem in θ: :class:`NormalEquations` accumulates ``XᵀX`` and ``Xᵀy`` piece
by piece (exact, streaming, any number of tracks and settings) and
:meth:`NormalEquations.solve` solves them with a small ridge.
"""

from __future__ import annotations

import numpy as np

from sliceq22.deoverlap.prior import BlockPrior, tiled_share
from sliceq22.deoverlap.split import assemble

#: Offsets of the envelope features, in units of the chunk length ``h``.
SCALES: tuple[float, ...] = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
#: Names of the bases each feature is multiplied by.
BASES: tuple[str, ...] = ("1", "p", "p2", "spread", "spread*p", "edge")
#: Added to magnitudes before the logarithm (absolute, so pieces of a track agree).
LOG_FLOOR = 1e-9
#: Rows whose weight ``p·(1 - p)`` is below this carry no information and are skipped.
MIN_WEIGHT = 1e-4
#: Rows per batch of the design matrix.
ROW_BATCH = 1 << 15


def n_parameters(scales: tuple[float, ...] = SCALES) -> int:
    """Parameters of the model: ``(1 + 2·len(scales)) · len(BASES)`` (66 by default)."""
    return (1 + 2 * len(scales)) * len(BASES)


def _shift(values: np.ndarray, d: int) -> np.ndarray:
    """``values[..., t + d]`` along the last axis, clamped at the ends."""
    index = np.clip(np.arange(values.shape[-1]) + d, 0, values.shape[-1] - 1)
    return values[..., index]


def envelope_features(ola: np.ndarray, h: int, scales: tuple[float, ...]) -> list[np.ndarray]:
    """The features of one block: ``1 + 2·len(scales)`` arrays shaped like ``ola``.

    Parameters
    ----------
    ola : np.ndarray
        Magnitudes ``(..., bands, (n + 1)·h)``.
    """
    log = np.log(np.abs(ola).astype(np.float64) + LOG_FLOOR)
    features = [np.ones_like(log)]
    for scale in scales:
        d = max(1, round(scale * h))
        after, before = _shift(log, d), _shift(log, -d)
        features.append(np.tanh((after - before) / 2.0))
        features.append(np.tanh((after + before - 2.0 * log) / 2.0))
    return features


def bases(prior: BlockPrior, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """The stationary share ``p`` on the OLA axis and the bases ``(bands, (n + 1)·h)``."""
    p = tiled_share(prior, n)
    centred = p - 0.5
    spread = np.broadcast_to(prior.spread, p.shape)
    edge = np.broadcast_to(prior.edge, p.shape)
    return p, [np.ones_like(p), centred, centred**2, spread, spread * centred, edge]


def predict_shares(
    ola: np.ndarray, prior: BlockPrior, n: int, theta: np.ndarray, scales: tuple[float, ...]
) -> np.ndarray:
    """Shares of one block's OLA positions, ``(..., bands, (n + 1)·h)`` in [0, 1]."""
    h = prior.share.shape[-1]
    p, basis = bases(prior, n)
    weights = np.asarray(theta, dtype=np.float64).reshape(-1, len(BASES))
    correction = np.zeros(np.shape(ola), dtype=np.float64)
    for f, feature in enumerate(envelope_features(ola, h, scales)):
        field = sum(w * b for w, b in zip(weights[f], basis))
        correction += feature * field
    return np.clip(p + p * (1.0 - p) * correction, 0.0, 1.0)


def learned_split(
    ola: np.ndarray, prior: BlockPrior, n: int, theta: np.ndarray, scales: tuple[float, ...]
) -> np.ndarray:
    """Slices ``(..., n, bands, 2h)`` from one block's OLA (magnitudes or complex)."""
    return assemble(ola, predict_shares(np.abs(ola), prior, n, theta, scales), n)


class NormalEquations:
    """``XᵀX`` and ``Xᵀy`` of the share model's least-squares fit, accumulated exactly.

    Parameters
    ----------
    scales : tuple of float
        Feature offsets (:data:`SCALES`).
    """

    def __init__(self, scales: tuple[float, ...] = SCALES) -> None:
        self.scales = tuple(scales)
        size = n_parameters(self.scales)
        self.gram = np.zeros((size, size))
        self.moment = np.zeros(size)
        self.rows = 0
        self.energy = 0.0  # Σ y², the residual of θ = 0

    def add(
        self,
        ola: np.ndarray,
        true_share: np.ndarray,
        prior: BlockPrior,
        n: int,
        chunks: tuple[int, int] | None = None,
    ) -> None:
        """Add one block's positions (of chunks ``[a, b)`` of the ``n + 1``, default all).

        Parameters
        ----------
        ola : np.ndarray
            Magnitudes ``(..., bands, (n + 1)·h)``.
        true_share : np.ndarray
            The shares that split ``ola`` into the true slices
            (:func:`~sliceq22.deoverlap.split.guided_shares` of them), same shape.
        chunks : (int, int), optional
            Only these chunks (a streamed piece adds the chunks of its core
            slices, so every chunk of a track is added once). The first and
            last chunk of the array are never added: they have one slice, or
            lack the neighbours their features need.
        """
        h = prior.share.shape[-1]
        p, basis = bases(prior, n)
        ola = np.abs(ola).astype(np.float64)
        gain = np.broadcast_to(ola * (p * (1.0 - p)), ola.shape)
        keep = np.broadcast_to(p * (1.0 - p) >= MIN_WEIGHT, ola.shape)
        keep = keep.copy()
        a, b = chunks if chunks is not None else (0, n + 1)
        keep[..., : max(a, 1) * h] = False
        keep[..., min(b, n) * h :] = False
        target = (ola * (true_share - p))[keep]
        gain = gain[keep]
        masked_bases = [np.broadcast_to(b, ola.shape)[keep] for b in basis]
        features = [f[keep] * gain for f in envelope_features(ola, h, self.scales)]
        for start in range(0, target.size, ROW_BATCH):
            rows = slice(start, start + ROW_BATCH)
            parts = [b[rows] for b in masked_bases]
            x = np.stack([f[rows] * b for f in features for b in parts], axis=-1)
            self.gram += x.T @ x
            self.moment += x.T @ target[rows]
        self.rows += int(target.size)
        self.energy += float(target @ target)

    def merge(self, other: NormalEquations) -> None:
        """Add another accumulator's sums (same scales)."""
        self.gram += other.gram
        self.moment += other.moment
        self.rows += other.rows
        self.energy += other.energy

    def solve(self, ridge: float = 1e-6) -> np.ndarray:
        """θ minimising ``‖y - Xθ‖² + ridge · mean(diag XᵀX) · ‖θ‖²``."""
        size = len(self.moment)
        scale = ridge * max(float(np.trace(self.gram)) / size, 1e-300)
        return np.linalg.solve(self.gram + scale * np.eye(size), self.moment)

    def residual(self, theta: np.ndarray) -> float:
        """``‖y - Xθ‖² / ‖y‖²`` on the accumulated rows (1: no better than the prior)."""
        value = self.energy - 2 * theta @ self.moment + theta @ self.gram @ theta
        return float(value / self.energy) if self.energy > 0 else 0.0
