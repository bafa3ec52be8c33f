"""What runs inside a Ray worker: one candidate, evaluated track by track.

The evaluation is a Ray *streaming generator* task: it yields one message per
track so the driver can report intermediate values, prune, and cancel the rest
of a bad candidate's work. Tracks arrive as object references (put once by the
driver, read zero-copy by every worker on a node).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from typing import Any

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
    ``{"kind": "track", "track": str, "scores": {target: float}, "timing": {...}, "excluded": [...]}``
    for each track, in order.
    """
    import ray

    from sliceq22.errors import InfeasibleError
    from sliceq22.oracles import get_objective
    from sliceq22.transforms import make_transform

    yield {"kind": "start", "host": socket.gethostname(), "pid": os.getpid(),
           "node": ray.get_runtime_context().get_node_id()}
    transform = make_transform(family, params, rate=rate)
    feasibility = transform.feasibility()
    if not feasibility.ok:
        yield {"kind": "infeasible", "reason": feasibility.reason}
        return
    options = {k: v for k, v in objective.items() if k != "name"}
    scorer = get_objective(str(objective["name"]), **options)
    for ref in track_refs:
        track = ray.get(ref)
        try:
            result = scorer.evaluate_track(transform, track)
        except InfeasibleError as exc:
            # Some settings reconstruct at the probe's length but not at a track's
            # (Essentia's filter bank depends on the input length): never scored.
            yield {"kind": "infeasible", "reason": f"{track.name}: {exc}"}
            return
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
