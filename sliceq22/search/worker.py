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
) -> Iterator[dict[str, Any]]:
    """Evaluate one candidate, yielding a message per track.

    Messages
    --------
    ``{"kind": "start", "host": str, "pid": int, "node": str}`` first (``node``: Ray node id);
    ``{"kind": "infeasible", "reason": str}`` if the transform's probe refuses the setting;
    ``{"kind": "progress", "track": str, "fraction": float}`` while a track is
    evaluated (from the objective's :class:`~sliceq22.oracles.base.Progress`,
    at most one per :data:`PROGRESS_INTERVAL_S`; none for a quicker track);
    ``{"kind": "track", "track": str, "scores": {target: float}, "timing": {...},
    "excluded": [...]}`` for each track, in order.

    ``track_refs`` holds, per track, what :func:`~sliceq22.search.shipping.fetch_track`
    takes: an object reference or a :class:`~sliceq22.search.shipping.TrackRecipe`.
    """
    import ray

    from sliceq22.errors import InfeasibleError
    from sliceq22.oracles import TrackResult, get_objective
    from sliceq22.search.shipping import fetch_track
    from sliceq22.transforms import make_transform

    yield {
        "kind": "start",
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "node": ray.get_runtime_context().get_node_id(),
    }
    transform = make_transform(family, params, rate=rate)
    feasibility = transform.feasibility()
    if not feasibility.ok:
        yield {"kind": "infeasible", "reason": feasibility.reason}
        return
    options = {k: v for k, v in objective.items() if k != "name"}
    scorer = get_objective(str(objective["name"]), **options)
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
                    yield {
                        "kind": "progress",
                        "track": track.name,
                        "fraction": float(item.fraction),
                    }
        except InfeasibleError as exc:
            # Some settings reconstruct at the probe's length but not at a track's
            # (Essentia's filter bank depends on the input length): never scored.
            yield {"kind": "infeasible", "reason": f"{track.name}: {exc}"}
            return
        del track  # the next track is read (or fetched) without this one still held
        if result is None:  # pragma: no cover - an objective that yields no result is a bug
            raise RuntimeError(f"{scorer.name}: iter_track ended without a TrackResult")
        yield {
            "kind": "track",
            "track": result.track,
            "scores": {k: float(v) for k, v in result.scores.items()},
            "timing": {k: float(v) for k, v in result.timing.items()},
            "excluded": list(result.excluded),
        }


def remote_evaluate():  # -> ray.remote_function.RemoteFunction
    """The Ray task wrapping :func:`evaluate_stream` (built lazily: Ray is imported on demand).

    ``max_retries=0``: a worker that dies is the driver's to account for
    (fail the trial with the reason, re-enqueue its parameters a bounded
    number of times), not Ray's to retry silently.
    """
    import ray

    return ray.remote(num_returns="streaming", max_retries=0, num_cpus=1)(evaluate_stream)
