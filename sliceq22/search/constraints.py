"""Feasibility before any audio is touched: parameters, slice length, size, memory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sliceq22.deoverlap.methods import halo_of
from sliceq22.deoverlap.pieces import halo_working_memory
from sliceq22.errors import InfeasibleError, ParameterError
from sliceq22.search.config import Constraints
from sliceq22.transforms import make_transform
from sliceq22.transforms.base import Transform
from sliceq22.transforms.streaming import FramedTransform

#: Resident bytes of an evaluating process before any track: Python, numpy,
#: scipy and sliceq22's oracles (measured: ``sliceq22 evaluate`` peaks at
#: 0.13 GB on a 6 s track, of which the track and its pieces are ~25 MB).
PROCESS_BYTES = 100 * 2**20
#: Extra resident bytes of a process that runs Essentia itself
#: (``nsgcq`` with ``engine = "essentia"``).
ESSENTIA_BYTES = 60 * 2**20


def estimate_memory_mb(
    transform: Transform,
    *,
    length: int,
    channels: int,
    track_bytes: int | None = None,
    objective: Mapping[str, Any] | None = None,
) -> float:
    """Peak resident memory of one MPI evaluation of ``transform`` on a track, in MiB.

    The process itself (:data:`PROCESS_BYTES`, plus :data:`ESSENTIA_BYTES`
    for Essentia's own nsgcq engine), the track as it is held (``track_bytes``; default four float32
    targets), and what the transform's streaming holds beside it
    (:meth:`~sliceq22.transforms.base.Transform.working_memory` for the
    oracle's 5 signals in and 4 out). The ridge objectives hold about as
    much (4 signals in, none out, but their cell statistics: measured up to
    21 % above this estimate for tonal-ridge on the STFT).
    ``benchmarks/fulltrack.py`` prints the estimate beside the measured peak
    of every family and objective. Through the OLA view (``objective`` is
    ``mpi`` with ``view = "ola"``) the pieces carry the de-overlap's
    neighbouring slices and 8 signals come out, not 4
    (:func:`~sliceq22.deoverlap.pieces.halo_working_memory`).

    Parameters
    ----------
    transform : Transform
        The candidate.
    length, channels : int
        The longest track's samples per channel, and channels.
    track_bytes : int, optional
        Bytes of the longest track as loaded.
    objective : Mapping, optional
        The study's ``[objective]`` (:meth:`~sliceq22.search.sections.ObjectiveSection.as_dict`);
        default the plain MPI.

    Returns
    -------
    float
        MiB.
    """
    if track_bytes is None:
        track_bytes = 4 * channels * length * 4
    essentia = transform.family == "nsgcq" and transform.params.get("engine") == "essentia"
    base = PROCESS_BYTES + (ESSENTIA_BYTES if essentia else 0)
    halo = _ola_halo(objective)
    if halo is not None and isinstance(transform, FramedTransform):
        working = halo_working_memory(transform, length, channels, halo)
    else:
        working = transform.working_memory(length, channels, n_in=5, n_out=4)
    return (base + track_bytes + working) / 2**20


def _ola_halo(objective: Mapping[str, Any] | None) -> int | None:
    """The de-overlap's halo when ``objective`` scores through the OLA view, else ``None``."""
    if objective is None or objective.get("name", "mpi") != "mpi":
        return None
    if objective.get("view") != "ola":
        return None
    return halo_of(str(objective.get("deoverlap", "mixture")))


def check_candidate(
    family: str,
    params: Mapping[str, Any],
    constraints: Constraints,
    *,
    rate: int,
    length: int,
    channels: int,
    longest: int | None = None,
    track_bytes: int | None = None,
    objective: Mapping[str, Any] | None = None,
) -> str | None:
    """Why a candidate cannot be evaluated, or ``None`` if it may be.

    Only parameter validation and arithmetic on the transform's declared
    shapes run here: no audio, no probe (the worker runs the probe).
    ``length`` (the shortest track) sizes the coefficient checks; the memory
    estimate uses the longest track (``longest``, default ``length``) held as
    ``track_bytes`` (default: four float32 targets), scored by ``objective``
    (the study's ``[objective]`` as a dict; default the plain MPI).
    """
    try:
        transform = make_transform(family, params, rate=rate)
    except (ParameterError, InfeasibleError) as exc:
        return str(exc)
    slice_length = transform.slice_length
    if constraints.max_slice_length is not None and slice_length is not None:
        if slice_length > constraints.max_slice_length:
            return (
                f"slice length {slice_length} exceeds constraints.max_slice_length "
                f"{constraints.max_slice_length}"
            )
    try:
        n = transform.n_coefficients(length)
    except (ParameterError, InfeasibleError) as exc:
        return str(exc)
    per_second = n / (length / rate)
    if (
        constraints.max_coefficients_per_second is not None
        and per_second > constraints.max_coefficients_per_second
    ):
        return (
            f"{per_second:,.0f} coefficients per second exceed "
            "constraints.max_coefficients_per_second "
            f"{_limit(constraints.max_coefficients_per_second)}"
        )
    memory = estimate_memory_mb(
        transform,
        length=longest or length,
        channels=channels,
        track_bytes=track_bytes,
        objective=objective,
    )
    if constraints.max_memory_mb is not None and memory > constraints.max_memory_mb:
        return (
            f"estimated {memory:,.0f} MiB per evaluation exceeds constraints.max_memory_mb "
            f"{_limit(constraints.max_memory_mb)}"
        )
    return None


def _limit(value: float) -> str:
    """A limit as the user wrote it: thousands separated, small ones not rounded to 0."""
    return f"{value:,.0f}" if value >= 100 else f"{value:g}"
