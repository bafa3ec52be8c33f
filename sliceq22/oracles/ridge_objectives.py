"""The ridge-analysis objectives: options, whole-signal and streamed scoring of a track.

Definitions and normalisation: :mod:`sliceq22.oracles.ridge`.
"""

from __future__ import annotations

import math
import time
from abc import abstractmethod
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.errors import ParameterError
from sliceq22.oracles.base import Objective, Progress, TrackResult, require_feasible
from sliceq22.oracles.cell_stream import CellStream, TargetSource
from sliceq22.oracles.cells import block_powers, check_coverage, flatten_cells
from sliceq22.oracles.ridge_measures import hoyer_sparsity, renyi_entropy, tonal_ridge_fraction
from sliceq22.oracles.ridge_stream import (
    CellAccumulator,
    HoyerSums,
    RenyiSums,
    RidgeFrames,
    ShannonSums,
)
from sliceq22.transforms.base import CellGrid, Transform
from sliceq22.transforms.streaming import ArraySource, Piece, SignalSource

#: Ways to treat the channels of a target.
CHANNEL_MODES: tuple[str, ...] = ("sum", "mean")
#: Length and seed of the white-noise probe behind the tonal-ridge baseline.
NOISE_SECONDS = 8.0
NOISE_SEED = 0


def _option_float(
    name: str, options: dict[str, Any], key: str, *, allow_none: bool = False
) -> None:
    """Check ``options[key]`` is a finite number and store it as float (or allowed ``None``)."""
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

    #: Coefficient bytes per piece when streaming a track (``None``: the
    #: transform's default, :data:`~sliceq22.transforms.streaming.CHUNK_BYTES`).
    #: Not an option (it does not change the score); tests force it small.
    chunk_bytes: int | None = None
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
        """The measure per leading index of whole-signal ``powers`` and JSON-ready diagnostics."""

    @abstractmethod
    def accumulator(
        self, transform: Transform, grids: list[CellGrid], duration: float
    ) -> CellAccumulator:
        """A fresh accumulator of this measure over the chunks of one signal set."""

    def finish(
        self, values: np.ndarray, extra: dict[str, Any], transform: Transform
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Turn an accumulator's result into the measure (default: as it is)."""
        return values, extra

    def values(self, transform: Transform, audio: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """Score signals with one whole-signal forward call: ``(signals, channels, samples)``.

        The reference form of :meth:`stream_values` (every coefficient in
        memory at once); fine for short signals.

        Returns
        -------
        values : np.ndarray
            float64 ``(signals,)``.
        extra : dict
            JSON-ready diagnostics.
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

    def stream_values(
        self, transform: Transform, pieces: Iterable[Piece], length: int
    ) -> Generator[Progress, None, tuple[np.ndarray, dict[str, Any]]]:
        """Score signals from the pieces of their forward transform, one piece at a time.

        Parameters
        ----------
        transform : Transform
            The transform that made the pieces.
        pieces : Iterable[Piece]
            Blocks ``(signals, channels, ...)`` of the signals' forward
            transform (:meth:`Transform.stream_coefficients`).
        length : int
            Samples per signal.

        Yields
        ------
        Progress
            After each piece.

        Returns
        -------
        values : np.ndarray
            float64 ``(signals, channels)`` with ``channels = "mean"`` (the
            caller averages), ``(signals,)`` with ``"sum"``.
        extra : dict
            JSON-ready diagnostics, with ``pieces``: how many were read.
        """
        grids = self.grids(transform, length)
        stream = CellStream(grids, 1 if self.options["channels"] == "sum" else None)
        accumulator = self.accumulator(transform, grids, length / transform.rate)
        count = 0
        for count, piece in enumerate(pieces, start=1):
            for chunk in stream.chunks(piece):
                accumulator.add(chunk)
            accumulator.advance(stream.frontier)
            done = piece.first + piece.count if piece.kind == "units" else count
            yield Progress(done, piece.total)
        values, extra = accumulator.result()
        values, extra = self.finish(values, extra, transform)
        return values, {**extra, "pieces": count}

    def score_source(
        self,
        transform: Transform,
        source: SignalSource | np.ndarray,
        chunk_bytes: int | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Score the signals of ``source`` (or an array ``(signals, channels, samples)``) streamed.

        Returns
        -------
        values : np.ndarray
            float64 ``(signals,)`` (channels added or averaged as the option says).
        extra : dict
            JSON-ready diagnostics.
        """
        if isinstance(source, np.ndarray):
            source = ArraySource(source)
        self.grids(transform, source.length)  # refuse before any audio is transformed
        pieces = transform.stream_coefficients(source, chunk_bytes=chunk_bytes or self.chunk_bytes)
        values, extra = _run(self.stream_values(transform, pieces, source.length))
        if self.options["channels"] == "mean":
            values = np.mean(values, axis=1)
        return values, extra

    def iter_track(self, transform: Transform, track: Track) -> Iterator[Progress | TrackResult]:
        """Score the sounding targets of one track, a piece of coefficients at a time.

        Yields
        ------
        Progress
            After each piece (units, band ranges or the whole signal).
        TrackResult
            Last: ``scores`` per target (``nan`` for silent targets, which
            are listed in ``excluded``), ``timing`` (``forward``: computing
            the pieces, ``metric``: the measure, ``total``), ``diagnostics``
            (region, cells, area, pieces).
        """
        require_feasible(transform)
        start = time.perf_counter()
        self.grids(transform, track.length)
        fmin, fmax = self.region(transform)
        excluded = track.silent_targets()
        keep = [i for i, t in enumerate(TARGETS) if t not in excluded]
        scores = dict.fromkeys(TARGETS, math.nan)
        forward = _Timed()
        diagnostics: dict[str, Any] = {"fmin": fmin, "fmax": fmax, "samples": track.length}
        if keep:
            source = TargetSource(track, keep)
            stream = transform.stream_coefficients(source, chunk_bytes=self.chunk_bytes)
            pieces = forward.wrap(stream)
            values, extra = yield from self.stream_values(transform, pieces, track.length)
            if self.options["channels"] == "mean":
                values = np.nanmean(values, axis=1) if values.size else values
            diagnostics.update(extra)
            for j, i in enumerate(keep):
                scores[TARGETS[i]] = float(values[j])
        # energy only outside the measured region leaves a target without a score
        excluded = [t for t in TARGETS if t in excluded or not math.isfinite(scores[t])]
        total = time.perf_counter() - start
        timing = {"forward": forward.seconds, "metric": total - forward.seconds, "total": total}
        yield TrackResult(track.name, scores, timing, excluded, diagnostics)


def _run(generator: Generator[Any, None, Any]) -> Any:
    """Run ``generator`` to its end and return its return value."""
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


class _Timed:
    """Seconds spent inside an iterator's ``next`` (where a stream computes its pieces)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, iterator: Iterator[Piece]) -> Iterator[Piece]:
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                self.seconds += time.perf_counter() - start
                return
            self.seconds += time.perf_counter() - start
            yield item


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
        extra = {
            "cells": int(cells.area.size),
            "area": cells.total_area,
            "alpha": self.options["alpha"],
        }
        return renyi_entropy(cells, self.options["alpha"]), extra

    def accumulator(
        self, transform: Transform, grids: list[CellGrid], duration: float
    ) -> CellAccumulator:
        fmin, fmax = self.region(transform)
        alpha = self.options["alpha"]
        if alpha == 1.0:
            return ShannonSums(grids, duration, fmin, fmax)
        return RenyiSums(grids, duration, fmin, fmax, alpha)

    def finish(
        self, values: np.ndarray, extra: dict[str, Any], transform: Transform
    ) -> tuple[np.ndarray, dict[str, Any]]:
        return values, {**extra, "alpha": self.options["alpha"]}


class HoyerObjective(RidgeObjective):
    """Area-weighted Hoyer sparsity of the targets' cell densities (higher is sparser).

    Options: ``fmin``, ``fmax``, ``channels`` (:class:`RidgeObjective`).
    """

    name = "hoyer"
    direction = "maximize"
    unit = "ratio"  # 1 - a ratio of norms, in [0, 1)

    def measure(self, powers, grids, duration, transform):
        fmin, fmax = self.region(transform)
        cells = flatten_cells(powers, grids, duration, fmin, fmax)
        return hoyer_sparsity(cells), {"cells": int(cells.area.size), "area": cells.total_area}

    def accumulator(
        self, transform: Transform, grids: list[CellGrid], duration: float
    ) -> CellAccumulator:
        return HoyerSums(grids, duration, *self.region(transform))


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
    unit = "fraction"  # of the energy on ridges, above white noise's
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
        raw = self.raw_fraction(powers, grids, duration, transform)
        return self.finish(raw, {}, transform)

    def accumulator(
        self, transform: Transform, grids: list[CellGrid], duration: float
    ) -> CellAccumulator:
        o = self.options
        return RidgeFrames(
            grids, duration, *self.region(transform), o["peaks"], o["cents"], o["frame"]
        )

    def finish(
        self, values: np.ndarray, extra: dict[str, Any], transform: Transform
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """``(X - X_noise) / (1 - X_noise)`` from the raw fraction ``X``."""
        baseline = self.noise_baseline(transform)
        return (values - baseline) / (1.0 - baseline), {**extra, "noise_fraction": baseline}
