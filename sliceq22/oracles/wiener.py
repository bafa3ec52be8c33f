"""norbert's Wiener filter as an oracle: softmask start, then EM iterations, on any transform.

norbert's ``wiener(v, x, iterations, use_softmask=True)`` with ``v = |Y_j|``
(the true magnitudes of each target, per channel) and ``x`` the mixture's
coefficients, computed in double precision:

1. ``y_j = v_j / (ε + Σ_k v_k) · x`` (``softmask``); all values are divided by
   ``m = max(1, max|x| / 10)``, the scale norbert works at.
2. Each EM iteration re-estimates per target and band ``f`` the PSD ``v_j =
   mean_c |y_j|²`` and the spatial covariance ``R_j(f) = Σ_t y_j y_jᴴ / (ε +
   Σ_t v_j)`` over every time position ``t`` of the band, then filters every
   coefficient: ``y_j = v_j R_j (Σ_k v_k R_k + √ε·I)⁻¹ x``.
3. The estimates are ``y_j · m``.

A transform's band plays the role of norbert's frequency bin and every time
position of the band (the STFT's frames; the sliCQT's slices × their frames)
the role of its frames, as xumx-sliCQ's blockwise Wiener filter flattens
them.

Why not call norbert: its EM needs every frame of a bin at once (the whole
track's coefficients, several copies in complex128), which the streaming
evaluation never holds. ``R_j(f)`` and ``m`` are sums and a maximum over the
whole track, so iteration ``k`` is computed exactly by streaming the track
``k`` times forward only (gathering the sums of iteration ``k`` from the
estimates of iteration ``k − 1``, recomputed per piece), then once more to
filter and invert: ``iterations + 1`` passes, the same result as norbert on
the whole track for any piece size (tested against norbert in
``tests/test_oracles_reference.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.errors import ParameterError
from sliceq22.oracles.band_runs import BandLayout, band_runs, band_view, read_run, write_run
from sliceq22.oracles.masks import EPS
from sliceq22.oracles.spatial import channel_power, outer_sum, squared_magnitude, wiener_filter
from sliceq22.oracles.streamed import OraclePlan, StreamedOracle
from sliceq22.transforms.base import Coefficients, Transform
from sliceq22.transforms.streaming import Piece

#: norbert's mixture covariance regulariser, ``√ε·I`` with ε of float64.
REGULARISATION = float(np.sqrt(EPS))


def softmask_estimates(mixture: np.ndarray, magnitudes: np.ndarray) -> np.ndarray:
    """norbert's ``softmask`` of the targets' magnitudes.

    Parameters
    ----------
    mixture : np.ndarray
        Complex ``(C, bands, T)``.
    magnitudes : np.ndarray
        Real ``(J, C, bands, T)``: ``|Y_j|``, the targets' magnitudes.

    Returns
    -------
    np.ndarray
        ``|Y_j| / (ε + Σ_k |Y_k|) · x``, ``(J, C, bands, T)``.
    """
    return magnitudes * (mixture / (EPS + np.sum(magnitudes, axis=0)))[None]


def read_inputs(view: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The mixture (complex128 ``(C, bands, T)``) and the targets' magnitudes (float64
    ``(J, C, bands, T)``) of bands ``[lo, hi)`` of a :func:`band_view`.

    Only magnitudes of the targets enter norbert's filter, so they are taken in the
    coefficients' own precision (single: one rounding, ~6e-8) and never widened to complex.
    """
    mixture = read_run(view[:1], lo, hi)[0]
    magnitudes = np.abs(view[1:, :, lo:hi]).astype(np.float64)
    return mixture, magnitudes.reshape(*magnitudes.shape[:3], -1)


def em_step(estimates: np.ndarray, mixture: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """One of norbert's EM filterings with covariances already re-estimated.

    Parameters
    ----------
    estimates : np.ndarray
        complex128 ``(J, C, bands, T)``: the previous iteration's estimates.
    mixture : np.ndarray
        complex128 ``(C, bands, T)``.
    covariances : np.ndarray
        ``R_j`` of those bands, ``(J, C, C, bands)``.

    Returns
    -------
    np.ndarray
        ``v_j R_j (Σ_k v_k R_k + √ε·I)⁻¹ x`` with ``v = mean_c |estimates|²``.
    """
    psd = channel_power(estimates)
    return wiener_filter(psd, covariances, mixture, regularisation=REGULARISATION, scalar_eps=EPS)


class WienerPlan(OraclePlan):
    """``iterations`` statistics passes (one per EM iteration), then the filter."""

    takes_bands = True

    def __init__(self, layout: BandLayout, channels: int, targets: int, iterations: int) -> None:
        super().__init__()
        self.layout, self.passes = layout, iterations
        self.scale, self.peak = 1.0, 0.0
        self.covariances: list[np.ndarray] = []  # R of iterations 1, 2, ...
        self.sums = np.zeros((targets, channels, channels, layout.total), dtype=np.complex128)
        self.weights = np.zeros((targets, layout.total))

    def estimates(
        self, mixture: np.ndarray, magnitudes: np.ndarray, part: slice, iterations: int
    ) -> np.ndarray:
        """Estimates after ``iterations`` EM steps at norbert's scale, ``(J, C, bands, T)``."""
        if self.scale != 1.0:
            mixture = mixture / self.scale
        estimates = softmask_estimates(mixture, magnitudes)
        for covariances in self.covariances[:iterations]:
            estimates = em_step(estimates, mixture, covariances[..., part])
        return estimates

    def gather(self, piece: Piece, index: int) -> None:
        for block, (first, _) in zip(piece.blocks, self.layout.ranges(piece.blocks, piece.bands)):
            view = band_view(block)
            for lo, hi in band_runs(view):
                mixture, magnitudes = read_inputs(view, lo, hi)
                if index == 0 and mixture.size:
                    self.peak = max(self.peak, float(np.sqrt(squared_magnitude(mixture).max())))
                part = slice(first + lo, first + hi)
                estimates = self.estimates(mixture, magnitudes, part, index)
                for j, y in enumerate(estimates):
                    outer = outer_sum(y)  # (C, C, bands)
                    self.sums[j, ..., part] += outer
                    # Σ_t v_j = Σ_t mean_c |y_c|²: the trace of the outer sum over C
                    self.weights[j, part] += np.real(np.einsum("aaf->f", outer)) / len(y)

    def end_pass(self, index: int) -> None:
        factor = 1.0
        if index == 0:
            # The first pass ran at scale 1, before max|x| was known; the sums scale as m⁻².
            self.scale = max(1.0, self.peak / 10.0)
            factor = self.scale**-2
        weight = EPS + self.weights * factor
        self.covariances.append(self.sums * factor / weight[:, None, None, :])
        self.sums[...] = 0.0
        self.weights[...] = 0.0

    def __call__(
        self, blocks: Coefficients, bands: list[tuple[int, int]] | None = None
    ) -> Coefficients:
        out = []
        for block, (first, _) in zip(blocks, self.layout.ranges(blocks, bands)):
            estimates = np.empty(block[1:].shape, dtype=block.dtype)
            view, target_view = band_view(block), band_view(estimates)
            for lo, hi in band_runs(view):
                mixture, magnitudes = read_inputs(view, lo, hi)
                part = slice(first + lo, first + hi)
                values = self.estimates(mixture, magnitudes, part, self.passes)
                write_run(target_view, lo, hi, values * self.scale)
            out.append(estimates)
        return out

    def block_map(self) -> WienerPlan:
        return self


class WienerObjective(StreamedOracle):
    """norbert's ``wiener`` (softmask start, EM iterations, stereo) as an oracle, scored by an SDR.

    Options
    -------
    iterations : int
        EM iterations, ≥ 0 (default 1; 0 is norbert's ``softmask`` of the
        magnitudes). Each costs one more forward pass over the track.
    metric, mixture
        As :class:`~sliceq22.oracles.streamed.StreamedOracle`.
    """

    name = "wiener"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {**StreamedOracle.DEFAULTS, "iterations": 1}

    def _check_oracle_options(self, options: dict[str, Any]) -> None:
        value = options["iterations"]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            if not (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
                raise ParameterError(f"wiener: iterations must be an integer, got {value!r}")
        iterations = int(value)
        if iterations < 0:
            raise ParameterError(f"wiener: iterations must be ≥ 0, got {iterations}")
        options["iterations"] = iterations

    def plan(self, transform: Transform, track: Track) -> OraclePlan:
        """``iterations`` forward passes gathering covariances, then the filter."""
        layout = BandLayout(transform.block_shapes(track.length))
        return WienerPlan(layout, track.channels, len(TARGETS), self.options["iterations"])
