"""The learned de-overlap: a share model linear in its parameters, fitted by least squares.

The model sees only the OLA view. At every OLA position it predicts the share
of the later slice as the transform's stationary share ``p``
(:mod:`~sliceq22.deoverlap.prior`) plus a correction where the split is
uncertain::

    share = clip(p + p·(1 - p) · Σ_f Σ_b θ[f, b] · feature_f · basis_b, 0, 1)

Features (the feature set :data:`FEATURE_SET`; all dimensionless, so one
model serves any band count and setting of a family), from the band's own
log-magnitude envelope ``L = log O`` at time offsets ``d = scale · h`` of the
OLA axis (``h`` positions per chunk): a constant; the *steps* after and
before, ``tanh((L(t + d) - L(t)) / 2)`` and ``tanh((L(t) - L(t - d)) / 2)``,
at every offset of :data:`SCALES` (where does the energy sit, earlier or
later, and how sharply does it change?); and the products of every pair
(squares included) of the steps at the offsets of :data:`PAIR_SCALES`, which
let the correction depend on how the envelope bends, not only on its slope.
Bases (:data:`BASES`): ``1, p - ½, (p - ½)², spread, spread·(p - ½), edge``
and, for bands whose atoms span most of a slice (``spread >`` :data:`LONG_SPREAD`),
``long, long·(p - ½), long·(p - ½)²``
(:class:`~sliceq22.deoverlap.prior.BlockPrior`): the correction depends on
the position within the crossfade and on the band's atom length relative to
the slice. Channels are de-overlapped independently (the same model for
left and right).

Fitting minimises ``Σ O² (share_true - share)²`` over every position, the
squared error of the split magnitudes (training weights each band by its
synthesis gain, :mod:`~sliceq22.deoverlap.synthesis_gain`, so the sum
estimates the time-domain error), which is a linear least-squares
problem in θ: :class:`NormalEquations` accumulates ``XᵀX`` and ``Xᵀy`` piece
by piece (exact, streaming, any number of tracks and settings) and
:meth:`NormalEquations.solve` solves them with a small ridge.
"""

from __future__ import annotations

import numpy as np

from sliceq22.deoverlap.prior import BlockPrior, tiled_share
from sliceq22.deoverlap.split import assemble

#: Name of the feature set (stored in model files; another set needs retraining).
FEATURE_SET = "own-steps+pairs"
#: Offsets of the step features, in units of the chunk length ``h`` (at most 1:
#: :attr:`~sliceq22.deoverlap.methods.Learned.halo` is 2 slices).
SCALES: tuple[float, ...] = (1 / 16, 1 / 8, 3 / 16, 1 / 4, 3 / 8, 1 / 2, 3 / 4, 1.0)
#: Offsets whose steps are multiplied pairwise.
PAIR_SCALES: tuple[float, ...] = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 1.0)
#: Names of the bases each feature is multiplied by.
BASES: tuple[str, ...] = (
    "1", "p", "p2", "spread", "spread*p", "edge", "long", "long*p", "long*p2"
)  # fmt: skip
#: Bands whose stationary spread exceeds this are *long* (atoms span most of a slice).
LONG_SPREAD = 0.7
#: Added to magnitudes before the logarithm (absolute, so pieces of a track agree).
LOG_FLOOR = 1e-9
#: Rows whose weight ``p·(1 - p)`` is below this carry no information and are skipped.
MIN_WEIGHT = 1e-4
#: Positions whose features are held at once (prediction; training per few bands).
ROW_BATCH = 1 << 15


def n_features(scales: tuple[float, ...] = SCALES, pairs: tuple[float, ...] = PAIR_SCALES) -> int:
    """Features: ``1 + 2·len(scales) + m·(m + 1)/2`` with ``m = 2·len(pairs)`` (95)."""
    m = 2 * len(pairs)
    return 1 + 2 * len(scales) + m * (m + 1) // 2


def n_parameters(scales: tuple[float, ...] = SCALES, pairs: tuple[float, ...] = PAIR_SCALES) -> int:
    """Parameters: ``n_features · len(BASES)`` (855 by default)."""
    return n_features(scales, pairs) * len(BASES)


def _shift(values: np.ndarray, d: int) -> np.ndarray:
    """``values[..., t + d]`` along the last axis, clamped at the ends."""
    index = np.clip(np.arange(values.shape[-1]) + d, 0, values.shape[-1] - 1)
    return values[..., index]


def steps(ola: np.ndarray, h: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The steps after and before every position at offset ``scale · h``.

    Parameters
    ----------
    ola : np.ndarray
        Magnitudes ``(..., (n + 1)·h)``.

    Returns
    -------
    after, before : np.ndarray
        Shaped like ``ola``, in (-1, 1).
    """
    log = np.log(np.abs(ola).astype(np.float64) + LOG_FLOOR)
    d = max(1, round(scale * h))
    return np.tanh((_shift(log, d) - log) / 2.0), np.tanh((log - _shift(log, -d)) / 2.0)


def feature_array(
    ola: np.ndarray, h: int, scales: tuple[float, ...], pairs: tuple[float, ...]
) -> np.ndarray:
    """The features of every position of ``ola``.

    Parameters
    ----------
    ola : np.ndarray
        Magnitudes ``(..., (n + 1)·h)``.

    Returns
    -------
    np.ndarray
        float64 ``(*ola.shape, n_features(scales, pairs))``: the constant, the
        steps (after, before) per scale, then the pairwise products (squares
        included) of the pair steps, in upper-triangle order.
    """
    cache = {s: steps(ola, h, s) for s in dict.fromkeys((*scales, *pairs))}
    single = [x for s in scales for x in cache[s]]
    paired = [x for s in pairs for x in cache[s]]
    out = np.empty((n_features(scales, pairs), *np.shape(ola)))  # each feature contiguous
    out[0] = 1.0
    for k, x in enumerate(single):
        out[1 + k] = x
    k = 1 + len(single)
    for i, x in enumerate(paired):
        for y in paired[i:]:
            np.multiply(x, y, out=out[k])
            k += 1
    return np.moveaxis(out, 0, -1)


def bases(prior: BlockPrior, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The stationary share ``p`` ``(bands, (n + 1)·h)`` and the bases ``(B, bands, (n + 1)·h)``."""
    p = tiled_share(prior, n)
    c = p - 0.5
    spread = np.broadcast_to(prior.spread, p.shape)
    edge = np.broadcast_to(prior.edge, p.shape)
    long = np.broadcast_to((prior.spread > LONG_SPREAD).astype(np.float64), p.shape)
    one = np.ones_like(p)
    return p, np.stack([one, c, c**2, spread, spread * c, edge, long, long * c, long * c**2])


def predict_shares(
    ola: np.ndarray,
    prior: BlockPrior,
    n: int,
    theta: np.ndarray,
    scales: tuple[float, ...] = SCALES,
    pairs: tuple[float, ...] = PAIR_SCALES,
) -> np.ndarray:
    """Shares of one block's OLA positions, ``(..., bands, (n + 1)·h)`` in [0, 1].

    The bases depend only on the band and the position ``k`` in the chunk, so
    the weights are folded into one vector per (band, ``k``) first
    (``Σ_b θ[f, b]·basis_b``) and each position costs one dot product over
    the features. Bands are done a few at a time (about :data:`ROW_BATCH`
    positions), so a piece's features are never all held at once.
    """
    h = prior.share.shape[-1]
    p, basis = bases(prior, n)
    weights = np.asarray(theta, dtype=np.float64).reshape(-1, len(BASES))
    folded = np.einsum("fb,bqk->qkf", weights, basis[:, :, :h])  # (bands, h, features)
    magnitude = np.abs(ola)
    out = np.empty(magnitude.shape, dtype=np.float64)
    bands, total = p.shape
    lead = magnitude.shape[:-2]
    whole = int(np.prod(lead)) * total <= ROW_BATCH
    for index in [(...,)] if whole else list(np.ndindex(*lead)):
        part = magnitude[index]
        group = max(1, ROW_BATCH // (part[..., 0, :].size or 1))
        for g0 in range(0, bands, group):
            g1 = min(bands, g0 + group)
            x = np.moveaxis(feature_array(part[..., g0:g1, :], h, scales, pairs), -1, 0)
            x = x.reshape(*x.shape[:-1], total // h, h)  # (features, ..., g, chunks, h)
            correction = np.einsum("f...gch,ghf->...gch", x, folded[g0:g1])
            correction = correction.reshape(*correction.shape[:-2], total)
            share = p[g0:g1] + p[g0:g1] * (1.0 - p[g0:g1]) * correction
            out[index][..., g0:g1, :] = np.clip(share, 0.0, 1.0)
    return out


def learned_split(
    ola: np.ndarray,
    prior: BlockPrior,
    n: int,
    theta: np.ndarray,
    scales: tuple[float, ...] = SCALES,
    pairs: tuple[float, ...] = PAIR_SCALES,
) -> np.ndarray:
    """Slices ``(..., n, bands, 2h)`` from one block's OLA ``(..., bands, (n + 1)·h)``.

    ``ola`` may be magnitudes or complex; the shares come from its magnitudes.
    """
    return assemble(ola, predict_shares(ola, prior, n, theta, scales, pairs), n)


class NormalEquations:
    """``XᵀX`` and ``Xᵀy`` of the share model's least-squares fit, accumulated exactly.

    Parameters
    ----------
    scales, pairs : tuple of float
        Step offsets (:data:`SCALES`) and the offsets multiplied pairwise
        (:data:`PAIR_SCALES`).
    """

    def __init__(
        self, scales: tuple[float, ...] = SCALES, pairs: tuple[float, ...] = PAIR_SCALES
    ) -> None:
        self.scales = tuple(scales)
        self.pairs = tuple(pairs)
        size = n_parameters(self.scales, self.pairs)
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
        keep = p * (1.0 - p) >= MIN_WEIGHT
        a, b = chunks if chunks is not None else (0, n + 1)
        keep[..., : max(a, 1) * h] = False
        keep[..., min(b, n) * h :] = False
        bands, total = p.shape
        group = max(1, ROW_BATCH // total)
        for g0 in range(0, bands, group):
            g1 = min(bands, g0 + group)
            self._add_bands(ola[..., g0:g1, :], true_share[..., g0:g1, :], p[g0:g1],
                            basis[:, g0:g1], keep[g0:g1], h)  # fmt: skip

    def _add_bands(
        self,
        ola: np.ndarray,
        true_share: np.ndarray,
        p: np.ndarray,
        basis: np.ndarray,
        keep: np.ndarray,
        h: int,
    ) -> None:
        """Add the positions of a few bands, grouped by (band, position in the chunk).

        The bases depend only on the band and the position ``k`` in the chunk,
        so ``XᵀX = Σ_q (Σ_{rows of q} g² x xᵀ) ⊗ (β_q β_qᵀ)`` over the groups
        ``q = (band, k)``: the feature Gram matrices of a group (``F²`` per
        row, not ``(F·B)²``) are summed over the chunks, signals and channels
        first, then spread over the bases once.

        Parameters
        ----------
        ola, true_share : np.ndarray
            ``(..., bands, (n + 1)·h)``.
        p, keep : np.ndarray
            ``(bands, (n + 1)·h)``: stationary share, positions added.
        basis : np.ndarray
            ``(B, bands, (n + 1)·h)``.
        """
        bands, total = p.shape
        chunks = total // h
        size = n_features(self.scales, self.pairs)
        weight = np.where(keep, p * (1.0 - p), 0.0)
        grams = np.zeros((bands * h, size, size))
        moments = np.zeros((bands * h, size))
        for index in np.ndindex(*ola.shape[:-2]):
            magnitude = ola[index]
            gain = (magnitude * weight).reshape(-1, 1)
            target = (magnitude * (true_share[index] - p) * keep).reshape(-1, 1)
            x = feature_array(magnitude, h, self.scales, self.pairs).reshape(-1, size)
            xg = (x * gain).reshape(bands, chunks, h, size).transpose(0, 2, 1, 3)
            xg = xg.reshape(bands * h, chunks, size)
            y = target.reshape(bands, chunks, h).transpose(0, 2, 1).reshape(bands * h, chunks)
            grams += np.matmul(xg.transpose(0, 2, 1), xg)
            moments += np.einsum("qcf,qc->qf", xg, y)
            self.rows += int(keep.sum())
            self.energy += float(np.sum(target**2))
        beta = basis[:, :, :h].reshape(len(BASES), bands * h).T  # the bases repeat every chunk
        outer = (beta[:, :, None] * beta[:, None, :]).reshape(bands * h, -1)
        spread = (outer.T @ grams.reshape(bands * h, -1)).reshape(
            len(BASES), len(BASES), size, size
        )
        self.gram += spread.transpose(2, 0, 3, 1).reshape(self.gram.shape)
        self.moment += np.einsum("qf,qi->fi", moments, beta).reshape(-1)

    def merge(self, other: NormalEquations) -> None:
        """Add another accumulator's sums (same features)."""
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
