"""What an evaluation tells the driver, one typed message at a time.

An evaluation (a Ray task, or a call in this process) yields
:class:`Started` first, then :class:`TrackProgress` while a long track is
scored, a :class:`TrackScored` per track in order, or :class:`Infeasible`
when the transform refuses the setting. The classes are plain frozen
dataclasses: they travel through Ray's object store by pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Started:
    """The evaluation started: where it runs.

    Attributes
    ----------
    host : str
        The worker's host name.
    pid : int
        The worker's process id.
    node : str or None
        The Ray node id (``None`` in-process).
    """

    host: str
    pid: int
    node: str | None = None


@dataclass(frozen=True)
class TrackProgress:
    """How far the track being scored is (``fraction`` in ``[0, 1]``); shown, never stored."""

    track: str
    fraction: float


@dataclass(frozen=True)
class Infeasible:
    """The transform's probe (or a track's length) refuses the setting: never scored."""

    reason: str


@dataclass(frozen=True)
class TrackScored:
    """One track's result.

    Attributes
    ----------
    track : str
        Track name.
    scores : dict of str to float
        Per target, the objective's score (NaN: no score, e.g. a silent target).
    timing : dict of str to float
        Seconds spent per stage (``forward``, ``inverse``, ``metric``, ...).
    excluded : list of str
        Targets excluded from this track's scores (silent).
    companions : dict of str to dict
        Score sets kept beside the objective's own
        (:meth:`~sliceq22.oracles.base.Objective.companions`), name -> target -> score.
    """

    track: str
    scores: dict[str, float]
    timing: dict[str, float] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    companions: dict[str, dict[str, float]] = field(default_factory=dict)


#: Any message of an evaluation.
Message = Started | TrackProgress | Infeasible | TrackScored
