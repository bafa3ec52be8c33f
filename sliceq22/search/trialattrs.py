"""What sliceq22 stores on each trial, and how to read it back.

Every ``set_user_attr`` is its own database transaction, so the driver packs
the bulky facts of a trial into a few JSON attributes written at the moments
they become known. What a person looks at first (in ``sliceq22 show``, or in
optuna-dashboard, which cuts every non-text attribute at 1024 characters with
no marker) has short attributes of its own, so nothing bulky hides it:

``scores`` (when the evaluation ends, complete or pruned)
    Target -> aggregate score over the tracks evaluated (``null`` when a target
    has no score).
``failure``, ``infeasible``, ``pruned`` (when they happen)
    One line: why the trial failed, why its candidate was refused before any
    audio was touched, why the pruner stopped it.
``reference`` (at enqueue time)
    The reference's label, for a trial that evaluates a study file's
    ``[[reference]]``; with ``attempt`` and ``retry_of`` for re-runs.

The packed ones:

``sliceq22.candidate`` (at dispatch)
    ``label``, ``family``, ``transform_params``, ``driver_host``, ``driver_pid``.
``sliceq22.worker`` (with the worker's first message, or with the result)
    ``worker_host``, ``worker_pid``, ``worker_node`` (Ray node id).
``sliceq22.result`` (when the evaluation ends, complete or pruned)
    ``seconds`` (wall), ``tracks_evaluated``, ``timing`` (seconds of
    forward/inverse/metric work), ``excluded`` (``track:target`` pairs left
    out), the worker's facts, and last the bulky ``track_scores`` (track ->
    target -> score).

The driver's heartbeat for a running trial is a *system* attribute
(``sliceq22.heartbeat``, epoch seconds): it is bookkeeping, and optuna-dashboard
does not show system attributes, so finished trials do not carry a stale one.

Studies written before this layout (``scores`` and ``failure`` inside
``sliceq22.result``, ``infeasible`` inside ``sliceq22.candidate``, a
``heartbeat`` user attribute) read the same: readers use :func:`trial_attrs`,
which merges all of these into one flat mapping with the names above, so no
reader depends on the packing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optuna.trial import FrozenTrial

if TYPE_CHECKING:
    from optuna import Trial

CANDIDATE = "sliceq22.candidate"
WORKER = "sliceq22.worker"
RESULT = "sliceq22.result"
PACKED = (CANDIDATE, WORKER, RESULT)
#: Short attributes (see the module docstring).
SCORES = "scores"
FAILURE = "failure"
INFEASIBLE = "infeasible"
PRUNED = "pruned"
#: The ``[[reference]]`` label of a reference trial, its attempt number and the trial it retries.
REFERENCE = "reference"
ATTEMPT = "attempt"
RETRY_OF = "retry_of"
#: In the candidate and the result of a trial told an earlier trial's result: that trial's number.
MEMO_OF = "memo_of"
#: Short attributes of their own (see the module docstring), written before the packed result.
SHORT = (SCORES, FAILURE, INFEASIBLE, PRUNED)
#: Trial system attribute holding the driver's last heartbeat (epoch seconds).
HEARTBEAT = "sliceq22.heartbeat"
#: Longest text a short attribute holds (optuna-dashboard shows text whole, but keep it a line).
MAX_REASON = 1000


def trial_attrs(trial: FrozenTrial) -> dict[str, Any]:
    """A trial's sliceq22 facts as one flat mapping (see the module docstring for the keys).

    Parameters
    ----------
    trial : optuna.trial.FrozenTrial
        Any trial; attributes it does not have are simply absent.

    Returns
    -------
    dict
        Top-level user attributes, with the packed ones expanded in place.
    """
    raw = trial.user_attrs
    flat: dict[str, Any] = {}
    for key in PACKED:
        packed = raw.get(key)
        if isinstance(packed, dict):
            flat.update(packed)
    # Top-level attributes win: they are the short ones of the current layout.
    flat.update({k: v for k, v in raw.items() if k not in PACKED})
    beats = [
        b
        for b in (flat.get("heartbeat"), trial.system_attrs.get(HEARTBEAT))
        if isinstance(b, (int, float))
    ]
    if beats:
        flat["heartbeat"] = max(beats)
    return flat


def is_infeasible(trial: FrozenTrial) -> bool:
    """Whether the trial is a candidate refused before (or instead of) evaluation."""
    raw = trial.user_attrs
    return INFEASIBLE in raw or INFEASIBLE in (raw.get(CANDIDATE) or {})


def _line(reason: Any) -> str:
    text = " ".join(str(reason).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def store_candidate(trial: Trial, candidate: dict[str, Any], infeasible: str | None = None) -> None:
    """Store the candidate drawn for ``trial`` and, if refused, why (its own attribute).

    Raises
    ------
    optuna.exceptions.UpdateFinishedTrialError
        When another driver finished the trial meanwhile (the caller decides).
    """
    trial.set_user_attr(CANDIDATE, {k: v for k, v in candidate.items() if k != INFEASIBLE})
    if infeasible is not None:
        trial.set_user_attr(INFEASIBLE, _line(infeasible))


def store_result(trial: Trial, result: dict[str, Any]) -> None:
    """Store an evaluation's result: the bulky part packed, the short part in attributes of its own.

    Parameters
    ----------
    trial : optuna.Trial
        The running trial.
    result : dict
        The driver's result: any of :data:`SHORT` (``scores``, ``failure``,
        ``pruned``) plus the packed facts (``track_scores``, ``timing``, …).

    Raises
    ------
    optuna.exceptions.UpdateFinishedTrialError
        When another driver finished the trial meanwhile.
    """
    packed = {k: v for k, v in result.items() if k not in SHORT and k != "track_scores"}
    if "track_scores" in result:
        packed["track_scores"] = result["track_scores"]  # last: what a cut loses first
    trial.set_user_attr(RESULT, packed)
    for key in SHORT:
        if key in result:
            value = result[key]
            trial.set_user_attr(key, value if key == "scores" else _line(value))


def store_heartbeat(trial: Trial, when: float) -> None:
    """Record that ``trial``'s driver is alive (a system attribute: not shown as a trial fact)."""
    from sliceq22.search import optuna_compat

    optuna_compat.set_system_attr(trial.study, trial, HEARTBEAT, float(when))
