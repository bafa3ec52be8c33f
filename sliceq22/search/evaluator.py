"""Where a study's candidates are evaluated: the evaluator the driver talks to.

The driver (:class:`~sliceq22.search.driver.StudyDriver`) never calls Ray
itself. It hands candidates to an :class:`Evaluator`, waits for evaluations
with a message ready, takes one message at a time
(:mod:`sliceq22.search.messages`) and cancels a pruned one. Two evaluators:

:class:`~sliceq22.search.ray_evaluator.RayEvaluator`
    Ray streaming tasks on a local runtime or a cluster (what ``sliceq22 run`` uses).
:class:`LocalEvaluator`
    Evaluations as generators in this process, one message at a time,
    round-robin: synchronous and deterministic, for tests of the driver's
    logic (dispatch, pruning, failures, budget) against Optuna's
    ``InMemoryStorage`` in milliseconds.

How an evaluation ends is said by exceptions from :meth:`Evaluator.receive`:
:class:`EvaluationEnded` (its last message was taken), :class:`WorkerLost`
(its process died: the trial is failed and its candidate retried) and
:class:`EvaluationFailed` (it raised: failed, not retried, since it would
raise again).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from sliceq22.data.spec import DatasetSpec
from sliceq22.search.messages import Message
from sliceq22.search.shipping import IN_PROCESS, Shipped, ship_tracks

#: ``evaluate(family, params, rate, track_handles, objective)``: the messages of one candidate.
EvaluateFn = Callable[
    [str, Mapping[str, Any], int, list[Any], Mapping[str, Any]], Iterator[Message]
]


class EvaluationEnded(Exception):
    """The evaluation has no message left: its last track was scored."""


class WorkerLost(Exception):
    """The process running the evaluation died (the candidate is worth another try)."""


class EvaluationFailed(Exception):
    """The evaluation raised; ``str(exc)`` is ``"ErrorType: its last line"``."""


def describe_failure(exc: BaseException) -> str:
    """``"ErrorType: last line of the message"``: how a failure is stored on its trial."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


class Evaluator(Protocol):
    """What the driver needs of the place where candidates are evaluated."""

    #: Whether Ray-style queueing ahead of the workers is useful (set by :meth:`start`).
    queue_ahead: bool

    def start(self) -> int:
        """Bring the workers up; return how many evaluations run in parallel."""
        ...

    def ship(self, spec: DatasetSpec, *, via: str, mixture: str, progress: bool) -> Shipped:
        """Read every track once and make it reachable by the evaluations."""
        ...

    def submit(
        self,
        family: str,
        params: Mapping[str, Any],
        rate: int,
        tracks: list[Any],
        objective: Mapping[str, Any],
    ) -> Hashable:
        """Start evaluating one candidate; return its handle."""
        ...

    def ready(self, handles: Sequence[Hashable], timeout_s: float) -> list[Hashable]:
        """Handles among ``handles`` with a message (or their end) ready, waiting up to
        ``timeout_s``."""
        ...

    def receive(self, handle: Hashable) -> Message:
        """The next message of an evaluation.

        Raises
        ------
        EvaluationEnded, WorkerLost, EvaluationFailed
            See the module docstring.
        """
        ...

    def cancel(self, handle: Hashable) -> None:
        """Stop an evaluation (pruned, or the driver stops); no error if it already ended."""
        ...


class _LocalRun:
    """One in-process evaluation: a generator of messages (hashable by identity)."""

    def __init__(self, messages: Iterator[Message]) -> None:
        self.messages = messages


class LocalEvaluator:
    """Evaluations as generators in this process, one message per :meth:`receive`.

    Parameters
    ----------
    evaluate : callable, optional
        ``evaluate(family, params, rate, track_handles, objective)`` yielding
        the messages of one candidate; default
        :func:`sliceq22.search.worker.evaluate_stream` (the real objective on
        the real transforms, as a Ray worker runs it). It may raise
        :class:`WorkerLost` to act as a dying worker.
    workers : int
        Evaluations in flight at once (their messages interleave round-robin).
    """

    queue_ahead = False

    def __init__(self, evaluate: EvaluateFn | None = None, workers: int = 1) -> None:
        if evaluate is None:
            from sliceq22.search.worker import evaluate_stream

            evaluate = evaluate_stream
        self.evaluate = evaluate
        self.workers = max(1, int(workers))

    def start(self) -> int:
        return self.workers

    def ship(self, spec: DatasetSpec, *, via: str, mixture: str, progress: bool) -> Shipped:
        # ``via`` is for Ray: in this process the tracks are simply held.
        return ship_tracks(spec, via=IN_PROCESS, mixture=mixture, progress=progress)

    def submit(
        self,
        family: str,
        params: Mapping[str, Any],
        rate: int,
        tracks: list[Any],
        objective: Mapping[str, Any],
    ) -> Hashable:
        return _LocalRun(self.evaluate(family, params, rate, tracks, objective))

    def ready(self, handles: Sequence[Hashable], timeout_s: float) -> list[Hashable]:
        return list(handles)  # a generator always has its next message (or its end) at hand

    def receive(self, handle: Hashable) -> Message:
        run = handle
        assert isinstance(run, _LocalRun)
        try:
            return next(run.messages)
        except StopIteration:
            raise EvaluationEnded() from None
        except WorkerLost:
            raise
        except Exception as exc:
            raise EvaluationFailed(describe_failure(exc)) from exc

    def cancel(self, handle: Hashable) -> None:
        assert isinstance(handle, _LocalRun)
        handle.messages.close()  # type: ignore[attr-defined]
