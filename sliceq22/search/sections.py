"""Typed sections of a study file: ``[objective]``, ``[sampler]``, ``[pruner]``, ``[constraints]``.

Each is a frozen dataclass holding every setting with its default, so a
study's canonical form (:meth:`~sliceq22.search.config.StudyConfig.canonical`,
stored with the study and compared on every rerun) shows the defaults too,
and code reads ``config.sampler.startup_trials`` instead of looking a key up
with a default of its own. Parsing and validation with key paths live in
:mod:`sliceq22.search.config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sliceq22.oracles.base import Objective

SAMPLERS = ("tpe", "random", "grid", "cmaes", "nsga2")
PRUNERS = ("none", "median", "successive-halving")


@dataclass(frozen=True)
class ObjectiveSection:
    """``[objective]``: the registered objective's name and its own options.

    Attributes
    ----------
    name : str
        A name of :func:`sliceq22.oracles.get_objective`'s registry.
    options : dict
        The objective's keyword options as written (``metric``, ``mixture``, ...);
        options left out take the objective's defaults.

    Examples
    --------
    >>> section = ObjectiveSection.from_mapping({"name": "mpi", "metric": "sdr-bss"})
    >>> section.as_dict(), section.mixture
    ({'name': 'mpi', 'metric': 'sdr-bss'}, 'sum')
    >>> section.build().name, section.unit
    ('mpi', 'dB')
    """

    name: str = "mpi"
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> ObjectiveSection:
        """From the table as written (or as sent to a worker): ``name`` plus options."""
        return cls(str(raw.get("name", "mpi")), {k: v for k, v in raw.items() if k != "name"})

    def as_dict(self) -> dict[str, Any]:
        """``{"name": ..., **options}``: what is stored and sent to the workers."""
        return {"name": self.name, **self.options}

    def build(self) -> Objective:
        """The objective, built (raises ``ParameterError`` for a bad option)."""
        from sliceq22.oracles import get_objective

        return get_objective(self.name, **self.options)

    @property
    def unit(self) -> str:
        """The unit of the objective's scores (``dB`` for MPI, and contrast over MPI)."""
        return self.build().unit

    @property
    def mixture(self) -> str:
        """Which mixture the objective scores against (``sum`` or ``recorded``)."""
        return str(self.options.get("mixture", "sum"))

    @property
    def metric(self) -> str | None:
        """The metric option, when written."""
        metric = self.options.get("metric")
        return None if metric is None else str(metric)

    def describe(self) -> str:
        """``"mpi sdr-bss"``: name and metric, for titles."""
        return f"{self.name} {self.metric}" if self.metric else self.name


@dataclass(frozen=True)
class SamplerSection:
    """``[sampler]``: which Optuna sampler proposes candidates.

    Attributes
    ----------
    name : {"tpe", "random", "grid", "cmaes", "nsga2"}
        The sampler.
    seed : int or None
        Its seed (``None``: not reproducible).
    startup_trials : int
        TPE's random trials before it models the space.
    multivariate : bool
        TPE only: model the parameters jointly (Optuna's ``multivariate=True``
        with ``group=True``, which splits the conditional space into the
        parameter groups drawn together: one per transform family) instead
        of one by one.
    """

    name: str = "tpe"
    seed: int | None = None
    startup_trials: int = 8
    multivariate: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Every setting, defaults included."""
        return asdict(self)


@dataclass(frozen=True)
class PrunerSection:
    """``[pruner]``: stopping bad candidates after their first tracks (shared mode).

    Attributes
    ----------
    name : {"none", "median", "successive-halving"}
        The pruner.
    warmup_tracks : int
        Tracks every candidate is scored on before it can be pruned (the
        median pruner's warm-up steps; successive halving's minimum resource,
        at least 1).
    """

    name: str = "none"
    warmup_tracks: int = 1

    def as_dict(self) -> dict[str, Any]:
        """Every setting, defaults included."""
        return asdict(self)


@dataclass(frozen=True)
class Constraints:
    """``[constraints]``: bounds checked before any audio is touched; ``None`` means unbounded."""

    max_slice_length: int | None = None
    max_coefficients_per_second: float | None = None
    max_memory_mb: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Every bound, ``None`` for unbounded."""
        return asdict(self)


@dataclass(frozen=True)
class FidelitySection:
    """``[fidelity]``: score candidates on excerpts first (:mod:`sliceq22.search.fidelity`).

    Attributes
    ----------
    excerpt : float
        Seconds of each track a candidate is scored on first (seeded positions).
    promote : float
        Fraction of the candidates, ranked by their excerpt scores, that go on
        to the full tracks, in ``(0, 1]``.
    startup : int
        The first candidates, always promoted. Default 0: the best excerpt so
        far is always within the fraction (rank 1), so the first candidate goes
        on by rank; reference trials always go on (export's paired comparisons).
    """

    excerpt: float = 30.0
    promote: float = 0.3
    startup: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Every setting."""
        return asdict(self)
