"""Cheap first: score every candidate on short excerpts, full length only the promising ones.

On full-length tracks a candidate costs minutes of CPU. With a study file's
``[fidelity]`` section, a trial is first scored on an ``excerpt`` of every
track (seconds, at a seeded position: the same excerpts for every candidate)
and goes on to the full tracks only if its excerpt scores rank among the best
``promote`` fraction of the excerpt scores seen so far (successive halving
with one rung, over duration). Always promoted: a reference trial (a study
file's ``[[reference]]``: export's paired comparison ``versus`` needs its
full-length scores on the same tracks as the best's), and the first
``startup`` candidates (default 0: the best excerpt so far is promoted
anyway, since rank 1 is always within the fraction, so the very first
candidate goes on by rank).

- Shared mode: ranked by the shared value (mean over targets of the
  aggregates); the excerpt value is reported to Optuna as step 0, so TPE
  learns from the candidates it did not promote.
- Per-target mode: Optuna's pruners do not take multi-objective trials; the
  rule here: promoted when the candidate ranks within ``promote / 4`` for
  *any* target (per-target mode looks for each target's best; the fraction
  is shared among the targets so that about ``promote`` of the candidates go
  on, not up to four times as many; each target's best so far always goes on).

A candidate that is not promoted is told PRUNED with its excerpt scores and
the reason (``pruned``), and counts against the budget like any pruned trial.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sliceq22 import TARGETS
from sliceq22.data.spec import DatasetSpec
from sliceq22.errors import Sliceq22Error
from sliceq22.search.scoring import shared_value
from sliceq22.search.sections import FidelitySection

#: The trial attribute holding a trial's excerpt stage (scores, tracks, promotion).
ATTR = "fidelity"


def excerpt_spec(spec: DatasetSpec, section: FidelitySection) -> DatasetSpec:
    """The study's dataset cut to the fidelity excerpts (seeded positions, the spec's seed).

    Raises
    ------
    Sliceq22Error
        The study's own excerpts are not longer than the fidelity excerpt.
    """
    if spec.duration is not None and section.excerpt >= spec.duration:
        raise Sliceq22Error(
            f"fidelity.excerpt {section.excerpt:g} s is not shorter than the study's "
            f"dataset.duration {spec.duration:g} s: nothing to save"
        )
    return dataclasses.replace(spec, duration=section.excerpt, offset=None)


def _rank(value: float, others: Sequence[float], maximize: bool) -> int:
    """1-based rank of ``value`` among ``others`` plus itself (ties share the better rank)."""
    better = sum(1 for v in others if (v > value if maximize else v < value))
    return better + 1


def promotion(
    scores: Mapping[str, float],
    earlier: Sequence[Mapping[str, float]],
    section: FidelitySection,
    *,
    shared: bool,
    maximize: bool,
    reference: str | None = None,
) -> tuple[bool, str]:
    """Whether a candidate with excerpt ``scores`` goes on to full length, and why.

    Parameters
    ----------
    scores : mapping of str to float
        The candidate's excerpt aggregates per target.
    earlier : sequence of mappings
        The excerpt aggregates of the study's earlier candidates.
    section : FidelitySection
        ``promote`` fraction and ``startup`` count.
    shared, maximize : bool
        Study mode and direction.
    reference : str, optional
        The label of a reference trial: always promoted.

    Returns
    -------
    (bool, str)
        The decision and a one-line reason (stored on the trial).

    Examples
    --------
    >>> section = FidelitySection(excerpt=30.0, promote=0.5, startup=1)
    >>> promotion({"vocals": 5.0}, [{"vocals": 6.0}, {"vocals": 4.0}], section,
    ...           shared=True, maximize=True)
    (True, 'excerpt rank 2 of 3 (shared), within the best 0.5')
    """
    if reference is not None:
        return True, f"reference {reference!r}: always full length (paired comparisons)"
    if len(earlier) < section.startup:
        return True, f"one of the first {section.startup} candidates (fidelity.startup)"
    columns: list[str | None] = [None] if shared else list(TARGETS)
    # Per target, the fraction is shared among the targets: any of them can promote, so each
    # gets its part, and about `promote` of the candidates go on (fewer when targets agree).
    share = section.promote / len(columns)
    allowed = max(1, math.ceil(share * (len(earlier) + 1)))
    best = None
    for column in columns:
        mine = _value(scores, column)
        if not math.isfinite(mine):
            continue
        others = [v for v in (_value(e, column) for e in earlier) if math.isfinite(v)]
        rank = _rank(mine, others, maximize)
        if best is None or rank < best[0]:
            best = (rank, column or "shared", len(others) + 1)
    if best is None:
        return False, "no finite excerpt score"
    rank, column, n = best
    verdict = rank <= allowed
    where = "within" if verdict else "not within"
    part = "" if shared else f" / {len(columns)} targets"
    return verdict, (
        f"excerpt rank {rank} of {n} ({column}), {where} the best {section.promote:g}{part}"
    )


def _value(scores: Mapping[str, Any], column: str | None) -> float:
    if column is None:
        return shared_value(dict(scores))
    value = scores.get(column)
    return float(value) if isinstance(value, int | float) else math.nan


def earlier_excerpt_scores(study: Any, number: int) -> list[dict[str, float]]:
    """The excerpt aggregates of the study's other trials that finished their excerpt stage."""
    out = []
    for trial in study.get_trials(deepcopy=False):
        stage = trial.user_attrs.get(ATTR)
        if trial.number != number and isinstance(stage, dict):
            scores = stage.get("excerpt_scores")
            if isinstance(scores, dict):
                out.append({t: (math.nan if v is None else float(v)) for t, v in scores.items()})
    return out
