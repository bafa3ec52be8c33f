"""What every objective returns and how per-track scores are aggregated."""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.errors import DatasetError, InfeasibleError, ParameterError

# json_safe lives in sliceq22.jsonsafe; importable from here too, as before.
from sliceq22.jsonsafe import json_safe
from sliceq22.transforms.base import Transform

AGGREGATES: tuple[str, ...] = ("median", "mean")

#: Shortest track (excerpt) that is scored, in seconds. A few samples
#: reconstruct exactly under any transform (an SDR of +inf) and say nothing
#: about separation; museval's BSSv4 windows are 1 s, so this only rules out
#: tracks too short for any score to mean something.
MIN_SCORED_SECONDS = 0.1


def require_scorable(prepared: Any, spec: Any) -> None:
    """Refuse a prepared dataset with a track too short to score, before any audio is read.

    Parameters
    ----------
    prepared : sliceq22.data.load.Prepared
        :func:`sliceq22.data.load.prepare`'s result for ``spec``.
    spec : sliceq22.data.DatasetSpec
        The dataset spec (its excerpt settings decide each track's length).
    """
    from sliceq22.data.plan import choose_excerpt

    for plan in prepared.plans:
        frames = choose_excerpt(plan.name, plan.frames_at(prepared.rate), prepared.rate, spec)[1]
        require_scorable_length(plan.name, frames, prepared.rate)


def require_scorable_length(name: str, frames: int, rate: int) -> None:
    """Refuse a track too short to be scored, giving its length.

    Raises
    ------
    DatasetError
        ``frames`` is below :data:`MIN_SCORED_SECONDS` at ``rate``.
    """
    if frames < MIN_SCORED_SECONDS * rate:
        raise DatasetError(
            f"track {name!r} is {frames} samples ({frames / rate:.3f} s) long: too short to "
            f"score; tracks need at least {MIN_SCORED_SECONDS:g} s"
        )


@dataclass
class TrackResult:
    """Scores of one candidate on one track.

    Attributes
    ----------
    track : str
        Track name.
    scores : dict[str, float]
        One score per target, MUSDB order; ``nan`` for excluded targets.
    timing : dict[str, float]
        Seconds per phase (``forward``, ``inverse``, ``metric``, ...).
    excluded : list[str]
        Targets without a defined score (silent in this track).
    diagnostics : dict
        Objective-specific extras, JSON-ready.
    """

    track: str
    scores: dict[str, float]
    timing: dict[str, float] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; non-finite floats become ``None`` (JSON has no NaN)."""
        return json_safe(asdict(self))


@dataclass(frozen=True)
class Progress:
    """How far the evaluation of one track has come.

    Attributes
    ----------
    done, total : int
        Pieces of work done and in all (units, bands or signals of the
        transform's streaming, see :mod:`sliceq22.transforms.streaming`).
    """

    done: int
    total: int

    @property
    def fraction(self) -> float:
        """``done / total`` in ``[0, 1]``."""
        return min(1.0, self.done / self.total) if self.total > 0 else 1.0


def aggregate(values: Iterable[float], how: str = "median") -> float:
    """Median or mean of ``values`` ignoring NaN (``nan`` only if every value is NaN).

    Examples
    --------
    >>> aggregate([1.0, float("nan"), 3.0])
    2.0
    >>> aggregate([float("nan")])
    nan
    """
    if how not in AGGREGATES:
        raise ParameterError(f"aggregate {how!r} is not one of {', '.join(AGGREGATES)}")
    array = np.asarray(list(values), dtype=np.float64)
    if array.size == 0 or np.all(np.isnan(array)):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf in a mean is still nan
        return float(np.nanmedian(array) if how == "median" else np.nanmean(array))


def aggregate_results(results: Iterable[TrackResult], how: str = "median") -> dict[str, float]:
    """Per-target aggregate over tracks, MUSDB order (``nan`` if excluded everywhere)."""
    results = list(results)
    return {t: aggregate((r.scores.get(t, math.nan) for r in results), how) for t in TARGETS}


def require_feasible(transform: Transform) -> None:
    """Raise :class:`InfeasibleError` with the probe's reason if ``transform`` cannot be scored."""
    verdict = transform.feasibility()
    if not verdict.ok:
        defaults = {p.name: p.default for p in transform.PARAMS}
        given = ", ".join(f"{k}={v!r}" for k, v in transform.params.items() if defaults.get(k) != v)
        reason = verdict.reason.removeprefix("InfeasibleError: ")
        raise InfeasibleError(f"{transform.family}({given}) is unusable: {reason}")


class Objective(ABC):
    """A score of a transform on tracks with ground truth.

    Subclasses set ``name``, ``direction``, ``unit`` and ``DEFAULTS`` (every
    option with its default), may normalise/check options in :meth:`_check_options`, and
    implement :meth:`iter_track` (a generator of :class:`Progress`, then the
    :class:`TrackResult`); :meth:`evaluate_track` runs it to the end.

    Parameters
    ----------
    **options
        Option values by name; missing ones take ``DEFAULTS``. Unknown names
        raise :class:`ParameterError`.
    """

    name: ClassVar[str]
    direction: ClassVar[str]  # "maximize" | "minimize"
    #: Unit of the scores, printed beside them (``"dB"``, ``"bits"``, ``"ratio"``). Every
    #: objective declares a non-empty one; an objective wrapping another may set it per
    #: instance (the contrast takes its base's).
    unit: str
    DEFAULTS: ClassVar[Mapping[str, Any]] = {}
    #: Coefficient bytes one piece of a streamed track may hold (``None``: the
    #: transform's default, :data:`~sliceq22.transforms.streaming.CHUNK_BYTES`).
    #: Not an option: it changes memory and speed, never the score.
    chunk_bytes: int | None = None

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.DEFAULTS))
        if unknown:
            known = ", ".join(self.DEFAULTS) or "none"
            raise ParameterError(
                f"{self.name}: unknown option(s) {', '.join(map(repr, unknown))}; known: {known}"
            )
        values = {**self.DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
        self._check_options(values)
        self.options: dict[str, Any] = values

    def _check_options(self, options: dict[str, Any]) -> None:
        """Normalise ``options`` in place; raise :class:`ParameterError` on a bad value."""

    def check_transform(self, transform: Transform) -> None:
        """Raise :class:`ParameterError` if this objective cannot score ``transform`` at all
        (before any audio is read); every transform by default."""

    def companions(self) -> list[str]:
        """Names of score sets kept beside the objective's own in ``TrackResult.diagnostics``
        (each target -> score; e.g. ``plain`` for MPI through the OLA view). None by default."""
        return []

    @abstractmethod
    def iter_track(self, transform: Transform, track: Track) -> Iterator[Progress | TrackResult]:
        """Score ``transform`` on one track (all targets at once), reporting progress.

        Yields
        ------
        Progress or TrackResult
            Any number of :class:`Progress` while the track streams through
            the transform, then exactly one :class:`TrackResult`, last.
        """

    def evaluate_track(
        self,
        transform: Transform,
        track: Track,
        progress: Callable[[Progress], None] | None = None,
    ) -> TrackResult:
        """Score ``transform`` on one track; ``progress`` is called with each :class:`Progress`.

        Returns
        -------
        TrackResult
            The last item of :meth:`iter_track`.
        """
        result: TrackResult | None = None
        for item in self.iter_track(transform, track):
            if isinstance(item, TrackResult):
                result = item
            elif progress is not None:
                progress(item)
        if result is None:  # pragma: no cover - an objective that yields no result is a bug
            raise RuntimeError(f"{self.name}: iter_track ended without a TrackResult")
        return result

    def describe(self) -> dict[str, Any]:
        """Name, direction and options, JSON-ready (the unit is :attr:`unit`)."""
        return {"name": self.name, "direction": self.direction, "options": dict(self.options)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({args})"
