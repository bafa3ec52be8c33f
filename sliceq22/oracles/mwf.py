"""The multichannel Wiener filter oracle with time-invariant spatial covariances (SiSEC 2018 MWF).

sigsep-mus-oracle's ``MWF.py``, on any transform, streamed in two passes:

1. Per target ``j`` and band ``f`` (a transform's band, an STFT bin), the
   spatial covariance ``R_j(f) ∝ Σ_t y yᴴ / (ε + P0)`` over every time position
   ``t`` of the band, ``y = Y_j(f, t)`` the target's channel vector and ``P0 =
   mean_c |y_c|²``; then normalised to trace ``C`` (channels) and ``ε·I`` added.
   This needs the whole track: the first pass streams the coefficients
   forward only and accumulates the sums per band.
2. Per coefficient, the PSD ``P_j = Re(yᴴ R_j⁻¹ y) / C``, the mixture model
   ``Cxx = Σ_j P_j R_j`` and the estimate ``P_j R_j Cxx⁻¹ x`` (``x`` the
   mixture's channel vector); the second pass maps and inverts.

One deliberate difference: the original normalises with ``np.trace`` of the
``(F, C, C)`` array of all bins, which sums over the bin axis and a channel
axis (the diagonal of bins 0 and 1, a vector over the last channel axis),
not each bin's own trace. Here each band is divided by its own trace, as the
model means; on the bundled example this moves the scores by hundredths of
a dB (see the README, "What each oracle means").
"""

from __future__ import annotations

import numpy as np

from sliceq22.data.track import Track
from sliceq22.oracles.band_runs import BandLayout, band_runs, band_view, read_run, write_run
from sliceq22.oracles.masks import EPS
from sliceq22.oracles.spatial import (
    channel_power,
    hermitian_form,
    identity,
    invert,
    outer_sum,
    wiener_filter,
)
from sliceq22.oracles.streamed import OraclePlan, StreamedOracle
from sliceq22.transforms.base import Coefficients, Transform
from sliceq22.transforms.streaming import Piece


def covariance_sums(targets: np.ndarray) -> np.ndarray:
    """``Σ_t y yᴴ / (ε + P0)`` per target and band: ``(J, C, bands, T)`` -> ``(J, C, C, bands)``."""
    weight = 1.0 / (EPS + channel_power(targets))  # (J, bands, T)
    return np.stack([outer_sum(targets[j], weight[j]) for j in range(targets.shape[0])])


def normalised_covariances(sums: np.ndarray) -> np.ndarray:
    """Each band's sum scaled to trace ``C``, plus ``ε·I``: ``(J, C, C, bands)``.

    A band where a target never sounds (trace 0) gets the identity: its PSD
    is then 0 everywhere, so its estimate is 0 whatever the matrix.
    """
    channels, bands = sums.shape[1], sums.shape[-1]
    trace = np.real(np.einsum("jaaf->jf", sums))
    silent = trace <= 0
    scale = np.divide(channels, trace, out=np.zeros_like(trace), where=~silent)
    covariances = sums * scale[:, None, None, :]
    eye = identity(channels, bands)
    for j in range(sums.shape[0]):
        covariances[j][..., silent[j]] = eye[..., silent[j]]
    return covariances + EPS * eye[None]


def mwf_estimates(
    mixture: np.ndarray, targets: np.ndarray, covariances: np.ndarray, inverses: np.ndarray
) -> np.ndarray:
    """The filter on a run of bands.

    Parameters
    ----------
    mixture : np.ndarray
        complex128 ``(C, bands, T)``.
    targets : np.ndarray
        complex128 ``(J, C, bands, T)``.
    covariances, inverses : np.ndarray
        ``R_j`` and ``R_j⁻¹`` of those bands, ``(J, C, C, bands)``.

    Returns
    -------
    np.ndarray
        complex128 ``(J, C, bands, T)``: ``P_j R_j Cxx⁻¹ x``.
    """
    channels = mixture.shape[0]
    psd = np.stack(
        [hermitian_form(targets[j], inverses[j][..., None]) / channels for j in range(len(targets))]
    )  # (J, bands, T)
    return wiener_filter(psd, covariances, mixture, det_eps=EPS)


class MwfPlan(OraclePlan):
    """Two passes: covariance sums per band, then the filter."""

    passes = 1
    takes_bands = True

    def __init__(self, layout: BandLayout, channels: int, targets: int) -> None:
        super().__init__()
        self.layout = layout
        self.sums = np.zeros((targets, channels, channels, layout.total), dtype=np.complex128)
        self.covariances = self.inverses = self.sums

    def gather(self, piece: Piece, index: int) -> None:
        for block, (first, _) in zip(piece.blocks, self.layout.ranges(piece.blocks, piece.bands)):
            view = band_view(block)
            for lo, hi in band_runs(view):
                run = read_run(view, lo, hi)
                self.sums[..., first + lo : first + hi] += covariance_sums(run[1:])

    def end_pass(self, index: int) -> None:
        self.covariances = normalised_covariances(self.sums)
        # sigsep's invert(R, eps): ε added to each determinant
        inverses = invert(np.moveaxis(self.covariances, 0, 2), det_eps=EPS)  # (C, C, J, bands)
        self.inverses = np.moveaxis(inverses, 2, 0)

    def __call__(
        self, blocks: Coefficients, bands: list[tuple[int, int]] | None = None
    ) -> Coefficients:
        out = []
        for block, (first, _) in zip(blocks, self.layout.ranges(blocks, bands)):
            estimates = np.empty(block[1:].shape, dtype=block.dtype)
            view, target_view = band_view(block), band_view(estimates)
            for lo, hi in band_runs(view):
                run = read_run(view, lo, hi)
                part = slice(first + lo, first + hi)
                values = mwf_estimates(
                    run[0], run[1:], self.covariances[..., part], self.inverses[..., part]
                )
                write_run(target_view, lo, hi, values)
            out.append(estimates)
        return out

    def block_map(self) -> MwfPlan:
        return self


class MwfObjective(StreamedOracle):
    """Multichannel Wiener filter oracle (sigsep-mus-oracle's ``MWF``), scored by an SDR.

    Two passes over the track (see the module docstring); options ``metric``
    and ``mixture`` as :class:`~sliceq22.oracles.streamed.StreamedOracle`.
    """

    name = "mwf"

    def plan(self, transform: Transform, track: Track) -> OraclePlan:
        """Covariance sums over the whole track, then the filter."""
        from sliceq22 import TARGETS

        layout = BandLayout(transform.block_shapes(track.length))
        return MwfPlan(layout, track.channels, len(TARGETS))
