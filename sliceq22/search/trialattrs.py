"""What sliceq22 stores on each trial, and how to read it back.

Every ``set_user_attr`` is its own database transaction, so the driver packs a
trial's facts into a few JSON attributes written at the moments they become
known, instead of one attribute per fact:

``sliceq22.candidate`` (at dispatch)
    ``label``, ``family``, ``transform_params``, ``driver_host``, ``driver_pid``.
``sliceq22.worker`` (with the first heartbeat, or with the result)
    ``worker_host``, ``worker_pid``, ``worker_node`` (Ray node id).
``sliceq22.result`` (when the evaluation ends, complete or pruned)
    ``scores`` (target -> aggregate), ``track_scores`` (track -> target -> score),
    ``timing`` (seconds of forward/inverse/metric work), ``seconds`` (wall),
    ``tracks_evaluated``, and ``excluded`` (``track:target`` pairs left out).

Single attributes, written when they happen: ``heartbeat`` (epoch seconds),
``infeasible`` (reason), ``failure`` (reason), and the enqueue-time ``reference``,
``attempt`` and ``retry_of``.

Readers use :func:`trial_attrs`, which merges all of these into one flat
mapping with the names above, so no reader depends on the packing.
"""

from __future__ import annotations

from typing import Any

from optuna.trial import FrozenTrial

CANDIDATE = "sliceq22.candidate"
WORKER = "sliceq22.worker"
RESULT = "sliceq22.result"
PACKED = (CANDIDATE, WORKER, RESULT)


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
    flat = {k: v for k, v in raw.items() if k not in PACKED}
    for key in PACKED:
        packed = raw.get(key)
        if isinstance(packed, dict):
            flat.update(packed)
    return flat


def is_infeasible(trial: FrozenTrial) -> bool:
    """Whether the trial is a candidate refused before (or instead of) evaluation."""
    raw = trial.user_attrs
    return "infeasible" in raw or "infeasible" in (raw.get(CANDIDATE) or {})
