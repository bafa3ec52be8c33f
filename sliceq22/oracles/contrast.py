"""Contrast: how much better one target is represented than the others.

For a base objective with per-target scores ``v_j``, orient them so higher is
better (``s_j = v_j`` for a maximised base, ``s_j = -v_j`` for a minimised one
such as ``renyi``), then

* contrast ``c_j = s_j - mean over the other sounding targets of s_i``;
* score ``J_j = s_j + λ · c_j`` (maximised).

Contrast alone rewards making the *other* targets worse: a transform that
blurs drums scores a higher vocal contrast without representing vocals any
better. That is why the score is always guarded by the target's own ``s_j``;
``λ`` (option ``lambda``, default 1) sets how much the contrast counts. With
``λ = 0`` this is the base objective with its sign made "higher is better".

A target with no score (silent) is excluded and left out of the others'
means; a target without any sounding other keeps ``J_j = s_j`` (``c_j = 0``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.errors import ParameterError
from sliceq22.oracles.base import Objective, Progress, TrackResult
from sliceq22.transforms.base import Transform


def contrast_scores(
    scores: Mapping[str, float], direction: str, weight: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Guarded contrast scores from a base objective's per-target scores.

    Parameters
    ----------
    scores : Mapping[str, float]
        Base scores per target (``nan`` for excluded targets).
    direction : {"maximize", "minimize"}
        The base objective's direction.
    weight : float
        λ.

    Returns
    -------
    guarded, contrast : dict[str, float]
        ``J_j = s_j + λ c_j`` and ``c_j`` per target, MUSDB order.

    Examples
    --------
    >>> j, c = contrast_scores({"drums": 1.0, "bass": 2.0, "other": 3.0, "vocals": 6.0},
    ...                        "maximize", 1.0)
    >>> c["vocals"], j["vocals"]
    (4.0, 10.0)
    """
    sign = 1.0 if direction == "maximize" else -1.0
    oriented = {t: sign * float(scores.get(t, math.nan)) for t in TARGETS}
    guarded, contrast = {}, {}
    for target in TARGETS:
        own = oriented[target]
        others = [oriented[t] for t in TARGETS if t != target and math.isfinite(oriented[t])]
        if not math.isfinite(own):
            guarded[target] = contrast[target] = math.nan
            continue
        c = own - float(np.mean(others)) if others else 0.0
        contrast[target] = c
        guarded[target] = own + weight * c
    return guarded, contrast


class ContrastObjective(Objective):
    """``J_j = s_j + λ·c_j`` around a base objective (higher is better).

    Options
    -------
    base : str
        The base objective (default ``"renyi"``; any registered objective but
        ``contrast``).
    lambda : float
        λ ≥ 0, weight of the contrast (default 1).
    Any other option is passed to the base objective, which validates it
    (e.g. ``alpha`` for ``renyi``, ``metric`` for ``mpi``).

    Warnings
    --------
    The contrast term alone rewards making the other targets worse; it is
    never used without the target's own score.
    """

    name = "contrast"
    direction = "maximize"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {"base": "renyi", "lambda": 1.0}

    def __init__(self, **options: Any) -> None:
        from sliceq22.oracles import get_objective

        own = {k: v for k, v in options.items() if k in self.DEFAULTS}
        passed = {k: v for k, v in options.items() if k not in self.DEFAULTS}
        super().__init__(**own)
        try:
            self.base = get_objective(self.options["base"], **passed)
        except ParameterError as exc:
            raise ParameterError(f"contrast: base objective: {exc}") from None
        self.unit = self.base.unit  # J = s + λ·c is in the base's unit (sign made "higher")
        self.options.update(self.base.options)

    def _check_options(self, options: dict[str, Any]) -> None:
        options["base"] = str(options["base"])
        if options["base"] == self.name:
            raise ParameterError("contrast: option base = 'contrast' would contrast itself")
        value = options["lambda"]
        try:
            weight = math.nan if isinstance(value, bool) else float(value)
        except (TypeError, ValueError):
            weight = math.nan
        if isinstance(value, bool) or (math.isnan(weight) and not isinstance(value, float)):
            raise ParameterError(f"contrast: option lambda = {value!r} is not a number")
        if not (math.isfinite(weight) and weight >= 0):
            raise ParameterError(f"contrast: option lambda = {value!r} must be a number ≥ 0")
        options["lambda"] = weight

    def iter_track(self, transform: Transform, track: Track) -> Iterator[Progress | TrackResult]:
        """Score one track with the base objective, then form the guarded contrast.

        Returns
        -------
        TrackResult
            ``scores`` = ``J`` per target; ``diagnostics`` hold the base
            objective's name, scores and diagnostics, and the contrasts.
        """
        result: TrackResult | None = None
        for item in self.base.iter_track(transform, track):
            if isinstance(item, TrackResult):
                result = item
            else:
                yield item
        assert result is not None
        guarded, contrast = contrast_scores(
            result.scores, self.base.direction, self.options["lambda"]
        )
        diagnostics = {
            "base": self.base.name,
            "base_direction": self.base.direction,
            "base_scores": dict(result.scores),
            "contrast": contrast,
            "lambda": self.options["lambda"],
            "base_diagnostics": result.diagnostics,
        }
        yield TrackResult(
            result.track, guarded, dict(result.timing), list(result.excluded), diagnostics
        )
