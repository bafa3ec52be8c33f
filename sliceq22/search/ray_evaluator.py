"""Candidates evaluated as Ray streaming tasks (:mod:`sliceq22.search.worker`).

The evaluator :class:`~sliceq22.search.evaluator.Evaluator` that ``sliceq22
run`` uses: starts or joins Ray (:mod:`sliceq22.search.raystart`), ships the
tracks (:mod:`sliceq22.search.shipping`), and turns Ray's errors into the
evaluator's: a dead worker, node or lost object is
:class:`~sliceq22.search.evaluator.WorkerLost`, an exception inside the task
:class:`~sliceq22.search.evaluator.EvaluationFailed`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, cast

from sliceq22.data.spec import DatasetSpec
from sliceq22.search import raystart
from sliceq22.search.evaluator import (
    EvaluationEnded,
    EvaluationFailed,
    WorkerLost,
    describe_failure,
)
from sliceq22.search.messages import Message
from sliceq22.search.shipping import Shipped, ship_tracks
from sliceq22.search.worker import WORKER_ENV, remote_evaluate


class RayEvaluator:
    """Ray streaming tasks, one per candidate, one CPU each.

    Parameters
    ----------
    address : str or None
        Resolved Ray address (:func:`sliceq22.search.raystart.resolve_address`);
        ``None`` starts a local runtime.
    workers : int or None
        Parallel evaluations wanted; default one per CPU Ray reports.
    notify : callable, optional
        Called with one-line notices (the worker count capped, ...).
    """

    def __init__(
        self,
        address: str | None,
        workers: int | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.address = address
        self.workers = workers
        self.notify = notify
        self.queue_ahead = True
        self._remote: Any = None

    def start(self) -> int:
        import ray

        workers = raystart.start_ray(self.address, self.workers, WORKER_ENV, self.notify)
        if workers < int(ray.cluster_resources().get("CPU", 1)):
            # Ray would run a queued-ahead task on a free CPU at once: more
            # parallel evaluations than asked for.
            self.queue_ahead = False
        self._remote = remote_evaluate()
        return workers

    def ship(self, spec: DatasetSpec, *, via: str, mixture: str, progress: bool) -> Shipped:
        return ship_tracks(spec, via=via, mixture=mixture, progress=progress)

    def submit(
        self,
        family: str,
        params: Mapping[str, Any],
        rate: int,
        tracks: list[Any],
        objective: Mapping[str, Any],
    ) -> Hashable:
        return self._remote.remote(family, params, rate, tracks, objective)

    def ready(self, handles: Sequence[Hashable], timeout_s: float) -> list[Hashable]:
        import ray

        ready, _ = ray.wait(list(handles), num_returns=1, timeout=timeout_s)
        return list(ready)

    def receive(self, handle: Hashable) -> Message:
        import ray

        generator: Any = handle  # an ObjectRefGenerator
        try:
            message: Message = ray.get(next(generator))
            return message
        except StopIteration:
            raise EvaluationEnded() from None
        except (
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.NodeDiedError,
            ray.exceptions.ActorDiedError,
            ray.exceptions.ObjectLostError,
            ray.exceptions.OwnerDiedError,
        ) as exc:
            raise WorkerLost(f"worker died: {type(exc).__name__}") from exc
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            raise EvaluationFailed(describe_failure(cause)) from exc

    def cancel(self, handle: Hashable) -> None:
        import ray

        try:
            ray.cancel(cast(Any, handle), force=True)
        except Exception:  # already finished or its worker is gone: nothing to cancel
            pass
