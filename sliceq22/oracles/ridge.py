"""Ridge analysis: how concentrated a target's energy is in a transform's time-frequency plane.

These objectives score a transform directly on the ground-truth targets,
without the separation oracle: a representation in which a target's energy
sits in few, sharp ridges is one a demixing model can mask well.

Normalisation (why transforms of different redundancy compare fairly)
---------------------------------------------------------------------
Every coefficient is a *cell* of the time-frequency plane (its
:class:`~sliceq22.transforms.base.CellGrid`): area ``A`` = time step ×
channel spacing, in s·Hz, so the cells of one transform tile the plane once
whatever its redundancy (an STFT with hop ``h`` and ``n_fft`` bins: ``A =
h / n_fft``; an NSG channel with ``M_k`` coefficients over ``L`` samples:
``A = L / (M_k · rate) × Δf_k``). The comparable cell energy is ``E = w_k ·
|c|²`` with the family's weight (STFT: 1; Essentia's NSGCQ, whose
coefficients scale with ``1 / M_k``: ``M_k``), chosen so white noise has the
same expected energy per unit area in every band. Then

* ``p = E / ΣE`` over the kept cells, where DC and Nyquist bands are dropped
  and every cell is clipped to ``[fmin, fmax]`` Hz and to the signal's
  duration (a cell cut in half keeps half its energy and half its area);
* every measure is a functional of the density ``p / A``, so the ragged and
  rasterized forms of one transform agree and refining a grid does not change
  the value (white noise gives about ``log2(total area) - 1.29`` bits of
  ``renyi`` for every transform).

A transform whose non-DC/Nyquist bands do not reach down to ``fmin`` and up to
``fmax`` (within a quarter tone) cannot be compared with the others (part of
the plane would be missing) and is refused as infeasible before any audio is
transformed: set the objective's ``fmin``/``fmax`` inside every searched
transform's range.

Measures
--------
``renyi``
    ``H_α = 1/(1 - α) · log2 Σ p_i^α A_i^(1-α)`` in bits (α = 1: Shannon,
    ``-Σ p log2(p / A)``). Lower is more concentrated. Default α = 3.
``hoyer``
    Area-weighted Hoyer sparsity ``1 - Σ √(p_i A_i) / √(Σ A_i)``: the L1/L2
    ratio of the amplitude density against that of a flat density, which is
    ``1 - 2^((H_½ - log2 ΣA) / 2)``, a decreasing function of Rényi α = ½.
    0 for a flat density, towards 1 for a single ridge; higher is sparser.
``tonal-ridge``
    The fraction of energy within ±δ cents of the K strongest spectral peaks
    of each frame of a common time grid (frames of ``frame`` seconds; a cell's
    energy is spread evenly over its duration and bandwidth), normalised by
    the same transform setting's value on white noise:
    ``(X - X_noise) / (1 - X_noise)`` (1: all energy on K sharp ridges per
    frame, 0: no more than noise). Peaks are local maxima of the energy
    density along frequency; overlapping peak windows are counted once.
"""

from __future__ import annotations

import math
import time
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.errors import InfeasibleError, ParameterError
from sliceq22.oracles.base import Objective, Progress, TrackResult, require_feasible
from sliceq22.transforms.base import CellGrid, Coefficients, Transform
from sliceq22.transforms.overlap_add import overlap_add

#: A transform must cover ``[fmin, fmax]`` to within this factor (a quarter tone).
COVERAGE_TOLERANCE = 2.0 ** (1.0 / 24.0)
#: Ways to treat the channels of a target.
CHANNEL_MODES: tuple[str, ...] = ("sum", "mean")
#: Length and seed of the white-noise probe behind the tonal-ridge baseline.
NOISE_SECONDS = 8.0
NOISE_SEED = 0


# ---------------------------------------------------------------------------- cells
@dataclass
class Cells:
    """Comparable energies and areas of the kept cells of one forward call.

    Attributes
    ----------
    energy : np.ndarray
        float64 ``(..., cells)``: ``E = w · |c|²`` clipped to the region.
    area : np.ndarray
        float64 ``(cells,)``: cell areas in s·Hz.
    """

    energy: np.ndarray
    area: np.ndarray

    @property
    def total_area(self) -> float:
        """Area of the region the cells cover, s·Hz."""
        return float(self.area.sum())


def block_powers(
    coefficients: Coefficients, grids: Sequence[CellGrid], sum_axis: int | None = None
) -> list[np.ndarray]:
    """Comparable cell energies per block: ``w_k · |c|²``, slices overlap-added.

    Parameters
    ----------
    coefficients : Coefficients
        Blocks ``(..., bands, frames)`` or, for sliced grids,
        ``(..., slices, bands, frames)``.
    grids : Sequence[CellGrid]
        One per block.
    sum_axis : int, optional
        A leading axis (non-negative, e.g. 1 for the channels of
        ``(signals, channels, ...)``) over which the energies are added, one
        slice at a time (no full-size temporary).

    Returns
    -------
    list[np.ndarray]
        float64 ``(..., bands, frames')`` per block: ``frames' = (slices + 1) · frames / 2``
        for sliced blocks (complex or energy overlap-add, as the grid says),
        ``frames + 1`` for periodic ones (the first frame repeated at the end,
        see :class:`~sliceq22.transforms.base.CellGrid`).
    """
    if len(coefficients) != len(grids):
        raise ValueError(f"{len(coefficients)} coefficient blocks but {len(grids)} cell grids")
    powers = []
    for block, grid in zip(coefficients, grids):
        block = np.asarray(block)
        parts = [block] if sum_axis is None else np.moveaxis(block, sum_axis, 0)
        power = None
        for part in parts:
            if grid.sliced and grid.slice_overlap == "complex":
                part = overlap_add(part)
            if power is None:
                power = np.square(part.real, dtype=np.float64)
            else:
                power += np.square(part.real, dtype=np.float64)
            power += np.square(part.imag, dtype=np.float64)
        if grid.sliced and grid.slice_overlap == "energy":
            power = overlap_add(power)
        if grid.periodic:
            # the first cell's part before 0 wraps to the end: repeat it there,
            # the clipping to [0, duration] then keeps the right halves
            power = np.concatenate([power, power[..., :1]], axis=-1)
        if power.shape[-2] != grid.n_bands:
            raise ValueError(
                f"coefficient block with {power.shape[-2]} bands but its grid has {grid.n_bands}"
            )
        power *= grid.weights[:, None]
        powers.append(power)
    return powers


def band_fractions(grid: CellGrid, fmin: float, fmax: float) -> np.ndarray:
    """Share of each band inside ``[fmin, fmax]`` (0 for DC/Nyquist bands), ``(bands,)``."""
    low = np.maximum(grid.lower, fmin)
    high = np.minimum(grid.upper, fmax)
    width = np.where(grid.bandwidths > 0, grid.bandwidths, 1.0)
    fraction = np.clip((high - low) / width, 0.0, 1.0)
    fraction[grid.bandwidths <= 0] = 0.0
    fraction[grid.edge] = 0.0
    return fraction


def time_fractions(grid: CellGrid, n_frames: int, duration: float) -> np.ndarray:
    """Share of each time step inside ``[0, duration]`` seconds, ``(frames,)``."""
    start = grid.time_origin + grid.time_step * np.arange(n_frames)
    low = np.maximum(start, 0.0)
    high = np.minimum(start + grid.time_step, duration)
    return np.clip((high - low) / grid.time_step, 0.0, 1.0)


def frequency_coverage(grids: Sequence[CellGrid]) -> tuple[float, float]:
    """Lowest lower edge and highest upper edge of the non-DC/Nyquist bands, in Hz."""
    lows = [g.lower[~g.edge] for g in grids if np.any(~g.edge)]
    highs = [g.upper[~g.edge] for g in grids if np.any(~g.edge)]
    if not lows:
        return math.nan, math.nan
    return float(min(a.min() for a in lows)), float(max(a.max() for a in highs))


def check_coverage(transform: Transform, grids: Sequence[CellGrid], fmin: float, fmax: float) -> None:
    """Refuse a transform whose bands do not cover ``[fmin, fmax]`` (within a quarter tone).

    Raises
    ------
    InfeasibleError
        Naming the covered range and what to change.
    """
    low, high = frequency_coverage(grids)
    if not (low <= fmin * COVERAGE_TOLERANCE and high >= fmax / COVERAGE_TOLERANCE):
        raise InfeasibleError(
            f"{transform.family}: its bands cover {low:.1f}-{high:.1f} Hz (DC/Nyquist bands "
            f"excluded) but the objective measures {fmin:g}-{fmax:g} Hz; set the objective's "
            "fmin/fmax inside every compared transform's range"
        )


def flatten_cells(
    powers: Sequence[np.ndarray],
    grids: Sequence[CellGrid],
    duration: float,
    fmin: float,
    fmax: float,
) -> Cells:
    """Clip the cells of all blocks to the region and flatten them.

    Parameters
    ----------
    powers : Sequence[np.ndarray]
        From :func:`block_powers` (leading axes already reduced as wanted),
        ``(..., bands, frames)`` per block.
    grids : Sequence[CellGrid]
        One per block.
    duration : float
        Signal duration in seconds.
    fmin, fmax : float
        Frequency region in Hz.

    Returns
    -------
    Cells
        ``energy (..., cells)``, ``area (cells,)``.
    """
    energies, areas = [], []
    for power, grid in zip(powers, grids):
        fb = band_fractions(grid, fmin, fmax)
        ft = time_fractions(grid, power.shape[-1], duration)
        bands = np.flatnonzero(fb > 0)
        frames = np.flatnonzero(ft > 0)
        if len(bands) == 0 or len(frames) == 0:
            continue
        part = power[..., bands, :][..., frames]
        scale = fb[bands, None] * ft[None, frames]
        energies.append((part * scale).reshape(*part.shape[:-2], -1))
        area = (grid.bandwidths[bands] * fb[bands])[:, None] * (grid.time_step * ft[frames])[None, :]
        areas.append(area.ravel())
    if not energies:
        raise ValueError(f"no cell of the transform lies in {fmin:g}-{fmax:g} Hz")
    return Cells(np.concatenate(energies, axis=-1), np.concatenate(areas))


def _probabilities(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """``p`` (..., cells) and a mask of leading entries with no energy at all."""
    total = cells.energy.sum(axis=-1, keepdims=True)
    silent = total[..., 0] <= 0
    return cells.energy / np.where(total > 0, total, 1.0), silent


# ---------------------------------------------------------------------------- measures
def renyi_entropy(cells: Cells, alpha: float = 3.0) -> np.ndarray:
    """Area-weighted Rényi entropy ``1/(1-α) · log2 Σ p^α A^(1-α)`` in bits.

    Parameters
    ----------
    cells : Cells
        Energies ``(..., cells)`` and areas.
    alpha : float
        Order, > 0; 1 gives the Shannon entropy ``-Σ p log2(p / A)``.

    Returns
    -------
    np.ndarray
        float64 ``(...)``; ``nan`` where there is no energy.
    """
    p, silent = _probabilities(cells)
    density = p / cells.area
    if alpha == 1.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log2(np.where(density > 0, density, 1.0)), 0.0)
        value = -terms.sum(axis=-1)
    else:
        # Σ A·d^α = d_max^α · Σ A·(d/d_max)^α: no under/overflow for large α.
        peak = density.max(axis=-1, keepdims=True)
        peak = np.where(peak > 0, peak, 1.0)
        density /= peak
        total = np.einsum("...i,i->...", _power(density, alpha), cells.area)
        with np.errstate(divide="ignore"):
            value = (alpha * np.log2(peak[..., 0]) + np.log2(total)) / (1.0 - alpha)
    return np.where(silent, np.nan, value)


def _power(x: np.ndarray, alpha: float) -> np.ndarray:
    """``x ** alpha`` for ``x >= 0``, by multiplication for small whole ``alpha`` (pow is slow)."""
    if float(alpha).is_integer() and 2 <= alpha <= 8:
        out = x * x
        for _ in range(int(alpha) - 2):
            out *= x
        return out
    return x**alpha


def hoyer_sparsity(cells: Cells) -> np.ndarray:
    """Area-weighted Hoyer sparsity ``1 - Σ √(p A) / √(Σ A)`` in ``[0, 1)``.

    Returns
    -------
    np.ndarray
        float64 ``(...)``; ``nan`` where there is no energy.
    """
    p, silent = _probabilities(cells)
    ratio = np.sum(np.sqrt(p * cells.area), axis=-1) / math.sqrt(cells.total_area)
    return np.where(silent, np.nan, 1.0 - ratio)


def _frame_energies(power: np.ndarray, grid: CellGrid, bounds: np.ndarray) -> np.ndarray:
    """Energy of each band in each common frame, cells spread evenly over their duration.

    ``power (..., bands, M)``, ``bounds (J + 1,)`` seconds -> ``(..., bands, J)``.
    """
    n_steps = power.shape[-1]
    position = (bounds - grid.time_origin) / grid.time_step
    index = np.floor(position).astype(np.int64)
    fraction = position - index
    inside = (index >= 0) & (index < n_steps)
    fraction = np.where(inside, fraction, 0.0)
    index = np.clip(index, 0, n_steps)  # before the first cell: 0; after the last: all
    cumulative = np.concatenate(
        [np.zeros((*power.shape[:-1], 1)), np.cumsum(power, axis=-1)], axis=-1
    )
    at = cumulative[..., index] + power[..., np.minimum(index, n_steps - 1)] * fraction
    return np.diff(at, axis=-1)


def tonal_ridge_fraction(
    powers: Sequence[np.ndarray],
    grids: Sequence[CellGrid],
    duration: float,
    fmin: float,
    fmax: float,
    peaks: int = 10,
    cents: float = 25.0,
    frame: float = 0.025,
) -> np.ndarray:
    """Fraction of the energy within ±``cents`` of the ``peaks`` strongest peaks per frame.

    Parameters
    ----------
    powers : Sequence[np.ndarray]
        From :func:`block_powers`, ``(..., bands, frames)`` per block.
    grids : Sequence[CellGrid]
        One per block.
    duration : float
        Signal duration in seconds.
    fmin, fmax : float
        Frequency region in Hz.
    peaks : int
        K, peaks per frame.
    cents : float
        δ, half-width of each peak's window in cents.
    frame : float
        Length of a frame of the common time grid in seconds.

    Returns
    -------
    np.ndarray
        float64 ``(...)`` in ``[0, 1]``; ``nan`` where there is no energy.
    """
    n_frames = max(1, math.ceil(duration / frame - 1e-9))
    bounds = np.minimum(np.arange(n_frames + 1) * frame, duration)
    energies, lows, highs, centres = [], [], [], []
    for power, grid in zip(powers, grids):
        fb = band_fractions(grid, fmin, fmax)
        bands = np.flatnonzero(fb > 0)
        if len(bands) == 0:
            continue
        energies.append(_frame_energies(power[..., bands, :], grid, bounds) * fb[bands, None])
        lows.append(np.maximum(grid.lower[bands], fmin))
        highs.append(np.minimum(grid.upper[bands], fmax))
        centres.append(grid.frequencies[bands])
    order = np.argsort(np.concatenate(centres), kind="stable")
    low = np.concatenate(lows)[order]
    high = np.concatenate(highs)[order]
    centre = np.concatenate(centres)[order]
    # (..., frames, bands): frequency last so the per-frame work is vectorised
    energy = np.swapaxes(np.concatenate(energies, axis=-2)[..., order, :], -1, -2)
    density = energy / (high - low)

    # local maxima of the density along frequency, the K strongest per frame
    left = np.concatenate([np.full_like(density[..., :1], -np.inf), density[..., :-1]], axis=-1)
    right = np.concatenate([density[..., 1:], np.full_like(density[..., :1], -np.inf)], axis=-1)
    strength = np.where((density > left) & (density >= right) & (density > 0), density, -np.inf)
    k = min(peaks, strength.shape[-1])
    top = np.argpartition(-strength, k - 1, axis=-1)[..., :k]
    valid = np.isfinite(np.take_along_axis(strength, top, axis=-1))
    ratio = 2.0 ** (cents / 1200.0)
    f_peak = np.where(valid, centre[top], 0.0)
    f_peak = np.sort(f_peak, axis=-1)  # invalid (0 Hz, empty windows) first
    w_low = f_peak / ratio
    w_high = f_peak * ratio
    # windows of equal log-width sorted by centre: clip each to the previous one's top
    previous = np.concatenate([np.zeros_like(w_high[..., :1]), w_high[..., :-1]], axis=-1)
    w_low = np.maximum(w_low, previous)
    w_high = np.maximum(w_high, w_low)

    # cumulative energy along frequency, linear inside each band
    prefix = np.concatenate([np.zeros_like(energy[..., :1]), np.cumsum(energy, axis=-1)], axis=-1)

    def cumulative(f: np.ndarray) -> np.ndarray:
        band = np.clip(np.searchsorted(low, f, side="right") - 1, 0, len(low) - 1)
        inside = np.clip((f - low[band]) / (high[band] - low[band]), 0.0, 1.0)
        before = np.take_along_axis(prefix, band, axis=-1)
        return before + np.take_along_axis(energy, band, axis=-1) * inside

    captured = (cumulative(w_high) - cumulative(w_low)).sum(axis=(-1, -2))
    total = energy.sum(axis=(-1, -2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, captured / np.where(total > 0, total, 1.0), np.nan)


# ---------------------------------------------------------------------------- objectives
def _option_float(name: str, options: dict[str, Any], key: str, *, allow_none: bool = False) -> None:
    value = options[key]
    if value is None and allow_none:
        return
    if isinstance(value, bool):
        raise ParameterError(f"{name}: option {key} = {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: option {key} = {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ParameterError(f"{name}: option {key} = {value!r} must be finite")
    options[key] = number


class RidgeObjective(Objective):
    """Shared machinery of the ridge-analysis objectives.

    Options
    -------
    fmin : float
        Lowest frequency measured, Hz (default 32.9, the published sliCQT
        setting's lowest band). Content below is dropped for every transform.
    fmax : float or None
        Highest frequency measured, Hz (default: Nyquist).
    channels : {"sum", "mean"}
        ``sum`` (default): one density from the energies of all channels added
        cell by cell; ``mean``: the measure per channel, averaged.
    """

    unit: ClassVar[str] = ""
    DEFAULTS: ClassVar[Mapping[str, Any]] = {"fmin": 32.9, "fmax": None, "channels": "sum"}

    def _check_options(self, options: dict[str, Any]) -> None:
        _option_float(self.name, options, "fmin")
        _option_float(self.name, options, "fmax", allow_none=True)
        if options["fmin"] < 0:
            raise ParameterError(f"{self.name}: option fmin = {options['fmin']:g} must be ≥ 0 Hz")
        if options["fmax"] is not None and not options["fmax"] > options["fmin"]:
            raise ParameterError(
                f"{self.name}: option fmax = {options['fmax']:g} must be above fmin = "
                f"{options['fmin']:g} Hz"
            )
        options["channels"] = str(options["channels"])
        if options["channels"] not in CHANNEL_MODES:
            raise ParameterError(
                f"{self.name}: option channels = {options['channels']!r} is not one of "
                f"{', '.join(CHANNEL_MODES)}"
            )

    def region(self, transform: Transform) -> tuple[float, float]:
        """``(fmin, fmax)`` in Hz for ``transform`` (``fmax`` defaults to its Nyquist)."""
        fmax = self.options["fmax"]
        nyquist = transform.rate / 2.0
        fmax = nyquist if fmax is None else float(fmax)
        if fmax > nyquist:
            raise ParameterError(
                f"{self.name}: option fmax = {fmax:g} Hz is above Nyquist ({nyquist:g} Hz)"
            )
        return self.options["fmin"], fmax

    def grids(self, transform: Transform, length: int) -> list[CellGrid]:
        """The transform's cell grids, checked to cover the measured region."""
        try:
            grids = transform.cell_grid(length)
        except NotImplementedError as exc:
            raise ParameterError(f"{self.name}: {exc}") from None
        fmin, fmax = self.region(transform)
        check_coverage(transform, grids, fmin, fmax)
        return grids

    @abstractmethod
    def measure(
        self, powers: list[np.ndarray], grids: list[CellGrid], duration: float, transform: Transform
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """The measure per leading index of ``powers`` and JSON-ready diagnostics."""

    def values(self, transform: Transform, audio: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """Score signals directly: ``audio (signals, channels, samples)`` -> ``(signals,)``.

        The signals go through one batched forward call.
        """
        audio = np.asarray(audio)
        length = audio.shape[-1]
        grids = self.grids(transform, length)
        channel_sum = 1 if self.options["channels"] == "sum" else None
        powers = block_powers(transform.forward(audio), grids, channel_sum)
        values, extra = self.measure(powers, grids, length / transform.rate, transform)
        if self.options["channels"] == "mean":
            values = np.mean(values, axis=1)
        return values, extra

    def iter_track(self, transform: Transform, track: Track) -> Iterator[Progress | TrackResult]:
        """Score the sounding targets of one track (one batched forward call).

        Returns
        -------
        TrackResult
            ``scores`` per target (``nan`` for silent targets, which are
            listed in ``excluded``), ``timing`` (``forward``, ``metric`` =
            the measure, ``total``), ``diagnostics`` (region, cells, area).
        """
        require_feasible(transform)
        start = time.perf_counter()
        grids = self.grids(transform, track.length)
        fmin, fmax = self.region(transform)
        excluded = track.silent_targets()
        keep = [i for i, t in enumerate(TARGETS) if t not in excluded]
        scores = dict.fromkeys(TARGETS, math.nan)
        forward_s = metric_s = 0.0
        diagnostics: dict[str, Any] = {"fmin": fmin, "fmax": fmax, "samples": track.length}
        if keep:
            coefficients = transform.forward(track.stacked()[keep])
            after_forward = time.perf_counter()
            forward_s = after_forward - start
            channel_sum = 1 if self.options["channels"] == "sum" else None
            powers = block_powers(coefficients, grids, channel_sum)
            del coefficients
            values, extra = self.measure(powers, grids, track.duration, transform)
            if self.options["channels"] == "mean":
                values = np.nanmean(values, axis=1) if values.size else values
            diagnostics.update(extra)
            for j, i in enumerate(keep):
                scores[TARGETS[i]] = float(values[j])
            metric_s = time.perf_counter() - after_forward
        # energy only outside the measured region leaves a target without a score
        excluded = [t for t in TARGETS if t in excluded or not math.isfinite(scores[t])]
        end = time.perf_counter()
        timing = {"forward": forward_s, "metric": metric_s, "total": end - start}
        yield TrackResult(track.name, scores, timing, excluded, diagnostics)


class RenyiObjective(RidgeObjective):
    """Area-weighted Rényi entropy of the targets' cell densities, in bits (lower is better).

    Options
    -------
    alpha : float
        Order α > 0 (default 3; 1 is Shannon). Plus ``fmin``, ``fmax``,
        ``channels`` (:class:`RidgeObjective`).
    """

    name = "renyi"
    direction = "minimize"
    unit = "bits"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {**RidgeObjective.DEFAULTS, "alpha": 3.0}

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        _option_float(self.name, options, "alpha")
        if not options["alpha"] > 0:
            raise ParameterError(f"renyi: option alpha = {options['alpha']:g} must be > 0")

    def measure(self, powers, grids, duration, transform):
        fmin, fmax = self.region(transform)
        cells = flatten_cells(powers, grids, duration, fmin, fmax)
        extra = {"cells": int(cells.area.size), "area": cells.total_area,
                 "alpha": self.options["alpha"]}
        return renyi_entropy(cells, self.options["alpha"]), extra


class HoyerObjective(RidgeObjective):
    """Area-weighted Hoyer sparsity of the targets' cell densities (higher is sparser).

    Options: ``fmin``, ``fmax``, ``channels`` (:class:`RidgeObjective`).
    """

    name = "hoyer"
    direction = "maximize"

    def measure(self, powers, grids, duration, transform):
        fmin, fmax = self.region(transform)
        cells = flatten_cells(powers, grids, duration, fmin, fmax)
        return hoyer_sparsity(cells), {"cells": int(cells.area.size), "area": cells.total_area}


_NOISE_BASELINES: dict[tuple[Any, ...], float] = {}


class TonalRidgeObjective(RidgeObjective):
    """Energy on the K strongest spectral ridges per frame, above white noise (higher is better).

    Options
    -------
    peaks : int
        K, peaks per frame (default 10).
    cents : float
        δ, half-width of a peak's window in cents (default 25).
    frame : float
        Frame length of the common time grid in seconds (default 0.025).
    Plus ``fmin``, ``fmax``, ``channels`` (:class:`RidgeObjective`).

    The white-noise value ``X_noise`` of each transform setting (8 s of seeded
    noise, mono) is computed once per process and cached; the score is
    ``(X - X_noise) / (1 - X_noise)``.
    """

    name = "tonal-ridge"
    direction = "maximize"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {
        **RidgeObjective.DEFAULTS,
        "peaks": 10,
        "cents": 25.0,
        "frame": 0.025,
    }

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        _option_float(self.name, options, "peaks")
        if not (options["peaks"] >= 1 and float(options["peaks"]).is_integer()):
            raise ParameterError(
                f"tonal-ridge: option peaks = {options['peaks']:g} must be a whole number ≥ 1"
            )
        options["peaks"] = int(options["peaks"])
        _option_float(self.name, options, "cents")
        if not 0 < options["cents"] <= 600:
            raise ParameterError(
                f"tonal-ridge: option cents = {options['cents']:g} must be in (0, 600]"
            )
        _option_float(self.name, options, "frame")
        if not options["frame"] > 0:
            raise ParameterError(
                f"tonal-ridge: option frame = {options['frame']:g} must be > 0 seconds"
            )

    def raw_fraction(self, powers, grids, duration, transform) -> np.ndarray:
        """Un-normalised ridge fraction ``X`` per leading index."""
        fmin, fmax = self.region(transform)
        o = self.options
        return tonal_ridge_fraction(
            powers, grids, duration, fmin, fmax, o["peaks"], o["cents"], o["frame"]
        )

    def noise_baseline(self, transform: Transform) -> float:
        """``X`` of white noise for this transform setting (cached per setting and options)."""
        key = (
            transform.family,
            transform.rate,
            tuple(sorted(transform.params.items())),
            *self.region(transform),
            self.options["peaks"],
            self.options["cents"],
            self.options["frame"],
        )
        cached = _NOISE_BASELINES.get(key)
        if cached is None:
            length = int(NOISE_SECONDS * transform.rate)
            noise = np.random.default_rng(NOISE_SEED).standard_normal(length)
            grids = self.grids(transform, length)
            powers = block_powers(transform.forward(noise), grids)
            cached = float(self.raw_fraction(powers, grids, NOISE_SECONDS, transform))
            _NOISE_BASELINES[key] = cached
        return cached

    def measure(self, powers, grids, duration, transform):
        baseline = self.noise_baseline(transform)
        raw = self.raw_fraction(powers, grids, duration, transform)
        extra = {"noise_fraction": baseline}
        return (raw - baseline) / (1.0 - baseline), extra
