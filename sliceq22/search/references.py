"""Reference trials (a study file's ``[[reference]]``) under the search space's own parameter names.

A reference whose family and values lie in one of the study's transform
entries is enqueued with that entry's Optuna parameter names
(``stft.n_fft``, and ``transform`` when the study has several entries), so
optuna-dashboard and Optuna's plots and importances see it as a point of the
space. Its label is the trial's ``reference`` attribute. A reference outside
the space keeps names of its own (``reference:LABEL.n_fft``), which Optuna
cannot place in the space's distributions; studies stored before this change
have those names for every reference and read the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import optuna

from sliceq22.errors import ParameterError
from sliceq22.search.space import TRANSFORM_PARAM, ParamRange, TransformEntry
from sliceq22.search.trialattrs import REFERENCE
from sliceq22.transforms import transform_class

#: Prefix of the parameter names of a reference outside the search space.
OWN_PREFIX = "reference:"


def own_names(label: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter names of a reference outside the space: ``reference:LABEL.NAME``."""
    return {f"{OWN_PREFIX}{label}.{k}": v for k, v in params.items()}


_MISSING = object()


def _fit(rng: ParamRange, value: Any) -> Any:
    """``value`` as ``rng`` produces it (a categorical's own choice), or ``_MISSING``."""
    if rng.kind == "fixed":
        return value if value == rng.value else _MISSING
    if rng.kind == "categorical":
        for choice in rng.choices:
            if isinstance(choice, bool) == isinstance(value, bool) and choice == value:
                return choice
        return _MISSING
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _MISSING
    if rng.kind == "int" and float(value) != int(value):
        return _MISSING
    low, high = float(rng.low), float(rng.high)  # type: ignore[arg-type]
    if not low <= float(value) <= high:
        return _MISSING
    if rng.step:
        steps = (float(value) - low) / float(rng.step)
        if abs(steps - round(steps)) > 1e-9:
            return _MISSING
    return int(value) if rng.kind == "int" else float(value)


def space_params(
    family: str, params: Mapping[str, Any], entries: tuple[TransformEntry, ...]
) -> dict[str, Any] | None:
    """The Optuna parameters under which the space draws exactly ``family(params)``, or ``None``.

    Parameters
    ----------
    family, params : str, mapping
        The reference's transform.
    entries : tuple of TransformEntry
        The study's search space.

    Returns
    -------
    dict or None
        Space names to values (``{"stft.n_fft": 4096, "stft.hop": 1024}``) for
        the first entry of the family whose ranges hold the reference's values
        and whose drawn parameters are the reference's (defaults filled in);
        ``None`` when no entry does.
    """
    try:
        cls = transform_class(family)
        wanted = cls.validate(dict(params))
    except ParameterError:
        return None
    for entry in entries:
        if entry.family != family:
            continue
        chosen: dict[str, Any] = {}
        fits = True
        for rng in entry.ranges:
            if not rng.active(chosen):
                continue
            value = _fit(rng, wanted.get(rng.name))
            if value is _MISSING:
                fits = False
                break
            chosen[rng.name] = value
        if not fits:
            continue
        try:
            if cls.validate(chosen) != wanted:
                continue  # the reference sets something this entry leaves at another value
        except ParameterError:
            continue
        names = entry.optuna_params(chosen)
        if len(entries) > 1:
            names[TRANSFORM_PARAM] = entry.label
        return names
    return None


def enqueue_references(
    study: optuna.Study, references: Any, entries: tuple[TransformEntry, ...]
) -> None:
    """Enqueue each reference once per study, under the space's names where it lies in the space.

    A reference already in the study (a trial with its label, in any state,
    under either naming) is not enqueued again. The caller holds the study's
    lock, so two drivers starting together do not both enqueue it.
    """
    labelled = {t.user_attrs.get(REFERENCE) for t in study.get_trials(deepcopy=False)}
    for ref in references:
        if ref.label in labelled:
            continue
        params = space_params(ref.family, ref.params, entries)
        if params is None:
            params = own_names(ref.label, ref.params)
        study.enqueue_trial(params, user_attrs={REFERENCE: ref.label})


def draw_reference(trial: optuna.Trial, ref: Any, entries: tuple[TransformEntry, ...]) -> None:
    """Record the reference's parameters on its trial, under the names it was enqueued with.

    A trial enqueued with the space's names draws them from the space (the
    enqueued values come back); one enqueued with its own names (outside the
    space, or stored before this naming) records those as one-value
    categoricals.
    """
    from sliceq22.search.space import sample_candidate

    fixed = getattr(trial, "_fixed_params", None)  # the enqueued parameters (Optuna internals)
    if fixed is None:
        in_space = space_params(ref.family, ref.params, entries) is not None
    else:
        in_space = bool(fixed) and not any(str(k).startswith(OWN_PREFIX) for k in fixed)
    if not in_space:
        for k, v in ref.params.items():
            trial.suggest_categorical(f"{OWN_PREFIX}{ref.label}.{k}", [v])
        return
    sample_candidate(trial, entries)
