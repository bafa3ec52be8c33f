"""What every coefficient-domain oracle shares: five signals in, four estimates out, streamed.

An oracle of this kind (MPI, the ideal masks, the Wiener filters) turns the
coefficients of the mixture and the four targets into the coefficients of
four estimates, inverts them and scores them against the targets. The track
streams through the transform a piece at a time
(:meth:`~sliceq22.transforms.base.Transform.stream_map`) and the metric
accumulates its sums stretch by stretch
(:mod:`~sliceq22.oracles.metric_sums`), so memory is bounded by the piece
size plus the track, whatever the track's length.

Oracles that need statistics of the whole track (the multichannel Wiener
filters' spatial covariances per band) first run *statistics passes*:
forward-only streams of the same pieces
(:meth:`~sliceq22.transforms.base.Transform.stream_coefficients`) whose
coefficients feed an accumulator; the last pass maps and inverts. A
:class:`OraclePlan` says how many statistics passes there are, what each
piece adds, and gives the map of the final pass.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.errors import ParameterError
from sliceq22.oracles.base import Objective, Progress, TrackResult, require_feasible
from sliceq22.oracles.metric_sums import metric_sums
from sliceq22.oracles.metrics import get_metric
from sliceq22.oracles.signals import MIXTURES, TrackSignals
from sliceq22.transforms.base import Transform
from sliceq22.transforms.streaming import CHUNK_BYTES, BlockMap, Piece

#: Progress steps per pass of a multi-pass oracle (its pieces differ per pass).
STEPS_PER_PASS = 1000


class OraclePlan:
    """How one oracle evaluates one track: statistics passes, then a map.

    The default plan has no statistics pass and maps with :attr:`fn`.

    Parameters
    ----------
    fn : BlockMap, optional
        The final map, blocks ``(5, channels, ...)`` -> ``(4, channels, ...)``.
    """

    #: Forward-only passes over the track before the final one.
    passes: int = 0

    def __init__(self, fn: BlockMap | None = None) -> None:
        self.fn = fn

    def gather(self, piece: Piece, index: int) -> None:
        """Add the statistics of one piece of pass ``index`` (``0 <= index < passes``)."""

    def end_pass(self, index: int) -> None:
        """Called after the last piece of statistics pass ``index``."""

    def block_map(self) -> BlockMap:
        """The map of the final pass (after every statistics pass)."""
        if self.fn is None:  # pragma: no cover - a plan without a map is a bug
            raise RuntimeError("OraclePlan has no map")
        return self.fn


class StreamedOracle(Objective):
    """A coefficient-domain oracle scored by an SDR (higher is better).

    Options shared by every such oracle
    -----------------------------------
    metric : {"sdr-global", "sdr-bss"}
        ``sdr-global`` (default, MDX 2021) or museval's BSSv4 median framewise
        SDR (the sounding targets of a track evaluated together, as museval does).
    mixture : {"sum", "recorded"}
        ``sum`` (default): the sum of the four targets; ``recorded``: the
        mastered mix shipped with the track.

    Subclasses add options to :attr:`DEFAULTS`, check them in
    :meth:`_check_oracle_options` and give a :meth:`plan` per track. Targets
    silent in a track are excluded (score ``nan``, listed in
    ``TrackResult.excluded``); their estimates are still computed (batching).
    """

    direction = "maximize"
    unit = "dB"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {"metric": "sdr-global", "mixture": "sum"}

    def _check_options(self, options: dict[str, Any]) -> None:
        options["metric"] = str(options["metric"])
        get_metric(options["metric"])
        options["mixture"] = str(options["mixture"])
        if options["mixture"] not in MIXTURES:
            raise ParameterError(
                f"{self.name}: mixture {options['mixture']!r} is not one of {', '.join(MIXTURES)}"
            )
        self._check_oracle_options(options)

    def _check_oracle_options(self, options: dict[str, Any]) -> None:
        """Normalise the oracle's own options in place; raise :class:`ParameterError`."""

    @abstractmethod
    def plan(self, transform: Transform, track: Track) -> OraclePlan:
        """The passes and the map for ``track`` under ``transform``."""

    def iter_track(self, transform: Transform, track: Track) -> Iterator[Progress | TrackResult]:
        """Score one track: oracle estimates streamed into the metric's sums.

        Yields
        ------
        Progress
            After every piece of every pass.
        TrackResult
            Last: ``scores`` per target in dB (``nan`` for excluded),
            ``timing`` (seconds: ``forward``, ``estimate``, ``inverse``,
            ``metric``, with statistics passes ``statistics``, ``total``;
            ``cpu``: the process's CPU seconds), ``diagnostics`` (metric,
            mixture, samples, and for ``sdr-bss`` the framewise SDR per
            target as lists).
        """
        require_feasible(transform)
        start, cpu_start = time.perf_counter(), time.process_time()
        source = TrackSignals(track, self.options["mixture"])
        plan = self.plan(transform, track)
        timing: dict[str, float] = {"metric": 0.0}
        yield from self._statistics_passes(transform, source, plan, timing)
        excluded = track.silent_targets()
        keep = [i for i, t in enumerate(TARGETS) if t not in excluded]
        groups = [None, *self.companions()]  # the scored estimates, then companion groups
        sums = [
            metric_sums(self.options["metric"], len(keep), track.length, track.rate) for _ in groups
        ]
        done = {"pieces": 0, "total": 1}

        def tick(pieces: int, total: int) -> None:
            done["pieces"], done["total"] = pieces, total

        stream = self.estimate_stream(transform, source, plan, tick, timing)
        # all targets sound in most tracks: then no indexing copies
        chosen = slice(None) if len(keep) == len(TARGETS) else keep
        n = len(TARGETS)
        for first, estimates in stream:
            if keep and estimates.shape[-1]:
                metric_start = time.perf_counter()
                stop = first + estimates.shape[-1]
                truth = track.read_targets(first, stop)[chosen]
                for g, group in enumerate(sums):
                    group.add(truth, estimates[g * n : (g + 1) * n][chosen], first)
                timing["metric"] += time.perf_counter() - metric_start
            yield self._progress(plan, plan.passes, done["pieces"] / max(1, done["total"]), done)
        scores, frames_out = _scores(sums[0], keep)
        timing["total"] = time.perf_counter() - start
        timing["cpu"] = time.process_time() - cpu_start
        diagnostics: dict[str, Any] = {
            "metric": self.options["metric"],
            "mixture": self.options["mixture"],
            "samples": track.length,
        }
        if frames_out:
            diagnostics["frames"] = frames_out
        for name, group in zip(groups[1:], sums[1:], strict=True):
            diagnostics[str(name)] = _scores(group, keep)[0]
        yield TrackResult(track.name, scores, timing, excluded, diagnostics)

    def companions(self) -> list[str]:
        """Names of estimate groups scored beside the oracle's own (none by default).

        :meth:`estimate_stream` then yields ``4 · (1 + len(companions))``
        signals: the scored estimates, then each companion's four, whose
        scores go into ``TrackResult.diagnostics[name]`` (e.g. MPI through
        the OLA view keeps the plain MPI as ``plain``).
        """
        return []

    def estimate_stream(
        self,
        transform: Transform,
        source: TrackSignals,
        plan: OraclePlan,
        tick: Any,
        timing: dict[str, float],
    ) -> Iterator[tuple[int, Any]]:
        """The final pass: ``(first sample, estimates (groups · 4, channels, k))`` stretches."""
        return transform.stream_map(
            source,
            plan.block_map(),
            len(TARGETS) * (1 + len(self.companions())),
            chunk_bytes=self.chunk_bytes,
            progress=tick,
            timing=timing,
        )

    def _statistics_passes(
        self, transform: Transform, source: TrackSignals, plan: OraclePlan, timing: dict[str, float]
    ) -> Iterator[Progress]:
        """Run ``plan``'s forward-only passes, a :class:`Progress` after every piece.

        Their pieces hold the five input signals only (no outputs beside
        them), so they are given half the final pass's budget: the
        statistics work in double precision.
        """
        budget = (self.chunk_bytes or CHUNK_BYTES) // 2
        for index in range(plan.passes):
            clock = time.perf_counter()
            seen = 0
            for piece in transform.stream_coefficients(source, chunk_bytes=budget):
                now = time.perf_counter()
                timing["forward"] = timing.get("forward", 0.0) + now - clock
                plan.gather(piece, index)
                seen = piece.first + piece.count if piece.kind == "units" else seen + 1
                total = piece.total
                del piece
                clock = time.perf_counter()
                timing["statistics"] = timing.get("statistics", 0.0) + clock - now
                yield self._progress(plan, index, seen / max(1, total), None)
            plan.end_pass(index)

    @staticmethod
    def _progress(
        plan: OraclePlan, index: int, fraction: float, done: dict[str, int] | None
    ) -> Progress:
        """One-pass oracles report the transform's own pieces; others, steps of all passes."""
        if plan.passes == 0 and done is not None:
            return Progress(done["pieces"], done["total"])
        fraction = min(1.0, max(0.0, fraction))
        steps = int(round((index + fraction) * STEPS_PER_PASS))
        return Progress(steps, (plan.passes + 1) * STEPS_PER_PASS)


def _scores(sums: Any, keep: list[int]) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Per-target scores (``nan`` for excluded targets) and framewise values, if any."""
    scores = dict.fromkeys(TARGETS, float("nan"))
    frames_out: dict[str, list[float]] = {}
    if keep:
        values, frames = sums.result()
        for j, i in enumerate(keep):
            scores[TARGETS[i]] = float(values[j])
            if frames is not None:
                frames_out[TARGETS[i]] = [float(v) for v in frames[j]]
    return scores, frames_out
