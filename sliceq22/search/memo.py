"""Which candidates a study has already settled: the memo, and a finite space's exhaustion.

Within one study the objective and the dataset are fixed (the study file and
the dataset fingerprint are checked on every run), so a candidate's result
depends only on its transform family and parameters. A candidate drawn again
is told the stored result instead of being evaluated again
(:meth:`CandidateIndex.memo`), and a search space with finitely many
candidates is exhausted once every one of them is settled
(:func:`space_points`, :meth:`CandidateIndex.settled`).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sliceq22.errors import Sliceq22Error
from sliceq22.search.space import ParamRange, TransformEntry
from sliceq22.search.trialattrs import CANDIDATE, INFEASIBLE, RESULT, trial_attrs

#: Candidates enumerated at most to decide whether a space is finite and small
#: enough to be exhausted; a larger space is treated as endless (its budget ends it).
#: Keying a candidate takes ~30 µs: 20,000 cost a run ~0.6 s of start-up at most.
MAX_ENUMERATED = 20_000


def _canonical(value: Any) -> Any:
    # Floats drawn on a step grid (0.1 * 3) and read back from JSON may differ in
    # the last bits; 12 significant digits identify a grid point.
    if isinstance(value, float):
        return float(f"{value:.12g}")
    return value


def candidate_key(family: str, params: Mapping[str, Any]) -> str:
    """A string naming one candidate: its family and complete parameters (defaults filled in).

    Two parameter sets that build the same transform (one spelling a default
    out, one leaving it implicit) have the same key.
    """
    from sliceq22.transforms import transform_class

    try:
        full = transform_class(family).validate(params)
    except Sliceq22Error:  # refused parameters: keyed as given (they are infeasible either way)
        full = dict(params)
    items = {str(k): _canonical(v) for k, v in full.items()}
    return json.dumps([family, items], sort_keys=True, default=str)


def _values(rng: ParamRange) -> list[Any] | None:
    """Every value a range can take, or ``None`` if it is continuous or too long to list."""
    if rng.kind == "fixed":
        return [rng.value]
    if rng.kind == "categorical":
        return list(rng.choices)
    low, high = rng.bounds
    if rng.kind == "int":
        step = int(rng.step or 1)
        count = (int(high) - int(low)) // step + 1
        if count > MAX_ENUMERATED:
            return None
        return list(range(int(low), int(high) + 1, step))
    if rng.step is None:
        return None
    count = int((float(high) - float(low)) / float(rng.step) + 1e-9) + 1
    if count > MAX_ENUMERATED:
        return None
    return [float(low) + i * float(rng.step) for i in range(count)]


def _entry_points(entry: TransformEntry) -> Iterator[dict[str, Any]] | None:
    """Every parameter set an entry can draw (conditional parameters honoured), or ``None``."""
    listed = [_values(rng) for rng in entry.ranges]
    if any(v is None for v in listed):
        return None
    # An upper bound (conditional parameters counted as always drawn): a space that may be
    # larger than the limit is endless without enumerating it.
    if math.prod(len(v or ()) or 1 for v in listed) > MAX_ENUMERATED:
        return None

    def walk(i: int, chosen: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if i == len(entry.ranges):
            yield dict(chosen)
            return
        rng = entry.ranges[i]
        if not rng.active(chosen):
            yield from walk(i + 1, chosen)
            return
        for value in listed[i] or []:
            chosen[rng.name] = value
            yield from walk(i + 1, chosen)
            del chosen[rng.name]

    return walk(0, {})


def space_points(entries: tuple[TransformEntry, ...]) -> set[str] | None:
    """The keys of every candidate of a finite search space; ``None`` if it is continuous or huge.

    Parameters
    ----------
    entries : tuple of TransformEntry
        The study's ``[[transforms]]``.

    Returns
    -------
    set of str or None
        :func:`candidate_key` of each candidate, or ``None`` when some
        parameter is continuous or there are more than :data:`MAX_ENUMERATED`.
    """
    keys: set[str] = set()
    for entry in entries:
        points = _entry_points(entry)
        if points is None:
            return None
        for params in itertools.islice(points, MAX_ENUMERATED + 1):
            keys.add(candidate_key(entry.family, params))
            if len(keys) > MAX_ENUMERATED:
                return None
    return keys


class CandidateIndex:
    """The candidates of a study's trials by key, read incrementally from the storage.

    A finished trial never changes, so each is keyed once; a scan costs one
    ``get_trials`` of the study (which the budget check reads anyway).
    """

    def __init__(self) -> None:
        self._keys: dict[int, str | None] = {}

    def key_of(self, trial: FrozenTrial) -> str | None:
        """The trial's candidate key, or ``None`` before its candidate is stored."""
        if trial.number not in self._keys or self._keys[trial.number] is None:
            attrs = trial_attrs(trial)
            family = attrs.get("family")
            params = attrs.get("transform_params")
            key = candidate_key(family, params) if family and isinstance(params, dict) else None
            if not trial.state.is_finished():
                return key  # a running trial's candidate is cached when it finishes
            self._keys[trial.number] = key
        return self._keys[trial.number]

    def memo(self, study: optuna.Study, key: str) -> FrozenTrial | None:
        """A settled trial whose result a new draw of ``key`` can take over, or ``None``.

        A COMPLETE trial with a stored result, or a candidate found infeasible
        (by the worker's probe: the driver's own checks run anyway). Pruned
        evaluations are not reused: the pruner judged them against the trials
        of their time, and a failure may not happen again.
        """
        states = (TrialState.COMPLETE, TrialState.PRUNED)
        for trial in study.get_trials(deepcopy=False, states=states):
            if self.key_of(trial) != key:
                continue
            attrs = trial_attrs(trial)
            if trial.state == TrialState.COMPLETE and RESULT in trial.user_attrs:
                return trial
            if trial.state == TrialState.PRUNED and INFEASIBLE in attrs:
                return trial
        return None

    def settled(self, study: optuna.Study) -> tuple[set[str], bool]:
        """Keys of finished candidates (complete, pruned or failed), and whether any trial waits.

        A failed candidate that will be retried is WAITING again, so a space
        is exhausted only when its points are settled and nothing waits.
        """
        keys: set[str] = set()
        waiting = False
        for trial in study.get_trials(deepcopy=False):
            if trial.state == TrialState.WAITING:
                waiting = True
            elif trial.state.is_finished() and CANDIDATE in trial.user_attrs:
                key = self.key_of(trial)
                if key is not None:
                    keys.add(key)
        return keys, waiting
