"""The mixture-phase oracle (MPI): true magnitudes, the mixture's phase.

For each target, the estimate is ``inverse(|T(target)| · T(mix) / |T(mix)|)``:
what a demixing network that predicted every magnitude perfectly would get
back under transform ``T``. Its SDR bounds how well a magnitude-only model can
do with that transform, which is what the parameter search optimises.

The five signals (mixture and four targets) go through ``T`` together and
the four estimates come back together, so each signal is transformed exactly
once per candidate. A track streams through the transform a piece at a time
(:meth:`~sliceq22.transforms.base.Transform.stream_map`: runs of frames or
slices, or bands of a full-signal transform), and the metric accumulates its
sums stretch by stretch (:mod:`~sliceq22.oracles.metric_sums`), so memory is
bounded by the piece size (:data:`~sliceq22.transforms.streaming.CHUNK_BYTES`)
plus the track itself, whatever the track's length. :func:`mpi_estimates` is
the whole-signal path, kept as the reference the streamed scores are tested
against.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from sliceq22.data.track import Track
from sliceq22.errors import ParameterError

# TrackSignals and MIXTURES live in sliceq22.oracles.signals; importable from here, as before.
from sliceq22.oracles.signals import MIXTURES, TrackSignals
from sliceq22.oracles.streamed import OraclePlan, StreamedOracle
from sliceq22.transforms.base import Coefficients, Transform

#: What the oracle's target magnitudes go through: the coefficients, or the OLA view.
VIEWS: tuple[str, ...] = ("plain", "ola")

__all__ = [
    "MIXTURES",
    "MpiObjective",
    "MpiResult",
    "TrackSignals",
    "mpi_coefficients",
    "mpi_estimates",
    "mpi_map",
    "phase_of",
]


def phase_of(mixture: np.ndarray) -> np.ndarray:
    """Unit-modulus phase factors ``c / |c|`` of complex coefficients (1 where ``c == 0``).

    Parameters
    ----------
    mixture : np.ndarray
        Complex coefficients, any shape.

    Returns
    -------
    np.ndarray
        Complex array of the same shape and dtype with ``|·| = 1``.
    """
    magnitude = np.abs(mixture)
    # np.angle(0) is 0, so a zero coefficient takes phase 0 (factor 1), as in
    # the exp(1j·angle) formulation; dividing avoids the trigonometry.
    return np.divide(mixture, magnitude, out=np.ones_like(mixture), where=magnitude > 0)


def mpi_coefficients(coefficients: Coefficients, *, inplace: bool = False) -> Coefficients:
    """Oracle estimates from the batched forward output, block by block.

    Parameters
    ----------
    coefficients : Coefficients
        Blocks ``(1 + n_targets, ..., *block_shape)``: index 0 is the mixture,
        then the targets.
    inplace : bool
        Write the estimates over the targets' coefficients (the returned blocks
        are views of the input). Saves a copy of the largest arrays of an
        evaluation (a full track through a redundant transform is gigabytes).

    Returns
    -------
    Coefficients
        Blocks ``(n_targets, ..., *block_shape)``: ``|target| · phase(mixture)``.
    """
    estimates = []
    for block in coefficients:
        phase = phase_of(block[0])[None]
        targets = block[1:]
        if inplace and targets.flags.writeable:
            np.multiply(np.abs(targets), phase, out=targets)
            estimates.append(targets)
        else:
            estimates.append(np.abs(targets) * phase)
    return estimates


@dataclass
class MpiResult:
    """Oracle estimates of one track plus where the time went.

    Attributes
    ----------
    estimates : np.ndarray
        float64 ``(n_targets, channels, samples)``.
    timing : dict[str, float]
        Seconds spent in ``forward`` (5 signals), ``estimate`` (the elementwise
        oracle) and ``inverse`` (the estimates).
    """

    estimates: np.ndarray
    timing: dict[str, float] = field(default_factory=dict)


def mpi_estimates(transform: Transform, targets: np.ndarray, mixture: np.ndarray) -> MpiResult:
    """Run the MPI oracle on one track.

    Parameters
    ----------
    transform : Transform
        A feasible transform.
    targets : np.ndarray
        ``(n_targets, channels, samples)``.
    mixture : np.ndarray
        ``(channels, samples)``.

    Returns
    -------
    MpiResult
        Estimates ``(n_targets, channels, samples)`` and phase timings.
    """
    targets = np.asarray(targets)
    mixture = np.asarray(mixture)
    if mixture.shape != targets.shape[1:]:
        raise ValueError(f"mixture {mixture.shape} does not match targets {targets.shape[1:]}")
    length = targets.shape[-1]
    start = time.perf_counter()
    coefficients = transform.forward(np.concatenate([mixture[None], targets]))
    after_forward = time.perf_counter()
    # The forward output is ours: estimates overwrite the targets' coefficients.
    estimated = mpi_coefficients(coefficients, inplace=True)
    del coefficients
    after_estimate = time.perf_counter()
    estimates = transform.inverse(estimated, length)
    after_inverse = time.perf_counter()
    return MpiResult(
        estimates=np.asarray(estimates, dtype=np.float64),
        timing={
            "forward": after_forward - start,
            "estimate": after_estimate - after_forward,
            "inverse": after_inverse - after_estimate,
        },
    )


def mpi_map(blocks: Coefficients) -> Coefficients:
    """The oracle on one piece: blocks ``(5, ...)`` (mixture, targets) -> ``(4, ...)`` estimates.

    Overwrites the targets' coefficients (the piece is the oracle's own).
    """
    return mpi_coefficients(blocks, inplace=True)


class MpiObjective(StreamedOracle):
    """Mixture-phase oracle scored by an SDR (higher is better).

    Options
    -------
    metric : {"sdr-global", "sdr-bss"}
        ``sdr-global`` (default, MDX 2021, xumx-sliCQ's search) or museval's
        BSSv4 median framewise SDR. ``sdr-bss`` evaluates the sounding targets
        of a track together, as museval does (its silent-frame rule couples them).
    mixture : {"sum", "recorded"}
        ``sum`` (default): the sum of the four targets; ``recorded``: the
        mastered mix shipped with the track.
    view : {"plain", "ola"}
        ``plain`` (default): the transform's own coefficients. ``ola``
        (sliced transforms only): the target magnitudes are overlap-added
        into one time axis, de-overlapped back into slices (``deoverlap``),
        given the mixture's phase, inverted and scored; the plain MPI of the
        same pass is kept as ``diagnostics["plain"]`` so the view's cost is
        visible per candidate (:mod:`sliceq22.deoverlap`).
    deoverlap : str
        With ``view = "ola"``: ``mixture`` (default, guided by the mixture's
        slices), ``halves`` (the naive split) or ``learned:PATH`` (a model file
        of ``sliceq22 deoverlap train``).

    Targets that are silent in a track are excluded: score ``nan``, listed in
    ``TrackResult.excluded``; their estimates are still computed (batching).
    The track streams through the transform in pieces of at most
    :attr:`chunk_bytes` of coefficients (``None``: the transform's default);
    see :class:`~sliceq22.oracles.streamed.StreamedOracle`.
    """

    name = "mpi"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {
        **StreamedOracle.DEFAULTS,
        "view": "plain",
        "deoverlap": "mixture",
    }

    def _check_oracle_options(self, options: dict[str, Any]) -> None:
        options["view"] = str(options["view"])
        if options["view"] not in VIEWS:
            raise ParameterError(f"mpi: view {options['view']!r} is not one of {', '.join(VIEWS)}")
        options["deoverlap"] = str(options["deoverlap"])
        if options["view"] == "ola":
            from sliceq22.deoverlap import make_deoverlap

            make_deoverlap(options["deoverlap"])  # unknown names, missing or corrupt model files

    def check_transform(self, transform: Transform) -> None:
        """Through the OLA view, only sliced transforms (the sliCQT, framewise NSGCQ)."""
        if self.options["view"] == "ola":
            from sliceq22.deoverlap.pieces import sliced

            sliced(transform)

    def plan(self, transform: Transform, track: Track) -> OraclePlan:
        """One pass, :func:`mpi_map` (through the OLA view: :meth:`estimate_stream`)."""
        self.check_transform(transform)  # a transform without slices: before any audio
        return OraclePlan(mpi_map)

    def companions(self) -> list[str]:
        """Through the OLA view, the plain MPI of the same pass is scored too."""
        return ["plain"] if self.options["view"] == "ola" else []

    def estimate_stream(
        self,
        transform: Transform,
        source: TrackSignals,
        plan: OraclePlan,
        tick: Any,
        timing: dict[str, float],
    ) -> Iterator[tuple[int, Any]]:
        if self.options["view"] != "ola":
            return super().estimate_stream(transform, source, plan, tick, timing)
        from sliceq22.deoverlap import make_deoverlap, stream_mpi_ola

        method = make_deoverlap(self.options["deoverlap"], transform)
        return stream_mpi_ola(
            transform, source, method, with_plain=True, chunk_bytes=self.chunk_bytes, progress=tick
        )
