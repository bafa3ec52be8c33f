"""What runs inside a Ray worker: one candidate, evaluated track by track.

The evaluation is a Ray *streaming generator* task: it yields one message per
track so the driver can report intermediate values, prune, and cancel the rest
of a bad candidate's work, and progress messages within long tracks. Tracks
arrive as object references (put once by the driver, read zero-copy by every
worker on a node) or as recipes each worker reads from the dataset itself
(:mod:`sliceq22.search.shipping`).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any

from sliceq22.search.messages import Infeasible, Message, Started, TrackProgress, TrackScored

#: Seconds between progress messages of one task: enough for a bar to move,
#: few enough that the driver spends nothing noticeable on them.
PROGRESS_INTERVAL_S = 1.0

#: Environment every worker starts with: numeric libraries single-threaded, so
#: workers do not fight over the cores Ray gave them.
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


def evaluate_stream(
    family: str,
    params: Mapping[str, Any],
    rate: int,
    track_refs: list[Any],
    objective: Mapping[str, Any],
    node: str | None = None,
) -> Iterator[Message]:
    """Evaluate one candidate, yielding typed messages (:mod:`sliceq22.search.messages`).

    :class:`~sliceq22.search.messages.Started` first; then
    :class:`~sliceq22.search.messages.Infeasible` if the transform's probe
    refuses the setting (and nothing else), or per track, in order,
    :class:`~sliceq22.search.messages.TrackProgress` while it is evaluated
    (from the objective's :class:`~sliceq22.oracles.base.Progress`, at most one
    per :data:`PROGRESS_INTERVAL_S`; none for a quicker track) and its
    :class:`~sliceq22.search.messages.TrackScored`.

    ``track_refs`` holds, per track, what :func:`~sliceq22.search.shipping.fetch_track`
    takes: an object reference, a :class:`~sliceq22.search.shipping.TrackRecipe`
    or (in-process) the :class:`~sliceq22.data.track.Track` itself. ``node``
    is the Ray node id the evaluation runs on, if any.
    """
    from sliceq22.errors import InfeasibleError
    from sliceq22.oracles import TrackResult
    from sliceq22.search.sections import ObjectiveSection
    from sliceq22.search.shipping import fetch_track
    from sliceq22.transforms import make_transform

    yield Started(host=socket.gethostname(), pid=os.getpid(), node=node)
    transform = make_transform(family, params, rate=rate)
    feasibility = transform.feasibility()
    if not feasibility.ok:
        yield Infeasible(feasibility.reason)
        return
    scorer = ObjectiveSection.from_mapping(objective).build()
    for handle in track_refs:
        track = fetch_track(handle)
        result = None
        last = time.monotonic()  # a track shorter than the interval sends no progress
        try:
            for item in scorer.iter_track(transform, track):
                if isinstance(item, TrackResult):
                    result = item
                    continue
                now = time.monotonic()
                if now - last >= PROGRESS_INTERVAL_S:
                    last = now
                    yield TrackProgress(track.name, float(item.fraction))
        except InfeasibleError as exc:
            # Some settings reconstruct at the probe's length but not at a track's
            # (Essentia's filter bank depends on the input length): never scored.
            yield Infeasible(f"{track.name}: {exc}")
            return
        del track  # the next track is read (or fetched) without this one still held
        if result is None:  # pragma: no cover - an objective that yields no result is a bug
            raise RuntimeError(f"{scorer.name}: iter_track ended without a TrackResult")
        yield TrackScored(
            track=result.track,
            scores={k: float(v) for k, v in result.scores.items()},
            timing={k: float(v) for k, v in result.timing.items()},
            excluded=list(result.excluded),
            companions={
                name: {k: float(v) for k, v in result.diagnostics[name].items()}
                for name in scorer.companions()
            },
        )


def _evaluate_on_ray_node(
    family: str,
    params: Mapping[str, Any],
    rate: int,
    track_refs: list[Any],
    objective: Mapping[str, Any],
) -> Iterator[Message]:
    """:func:`evaluate_stream` inside a Ray task, which knows its node id."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    yield from evaluate_stream(family, params, rate, track_refs, objective, node=node)


def remote_evaluate():  # -> ray.remote_function.RemoteFunction
    """The Ray task wrapping :func:`evaluate_stream` (built lazily: Ray is imported on demand).

    ``max_retries=0``: a worker that dies is the driver's to account for
    (fail the trial with the reason, re-enqueue its parameters a bounded
    number of times), not Ray's to retry silently.
    """
    import ray

    return ray.remote(num_returns="streaming", max_retries=0, num_cpus=1)(_evaluate_on_ray_node)
