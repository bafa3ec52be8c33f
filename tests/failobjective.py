"""A test objective that fails on every track, as a broken worker environment would.

Imported by the stop-condition tests and, through Ray's
``worker_process_setup_hook`` (:func:`register`), by the Ray workers they start.
"""

from __future__ import annotations

from collections.abc import Iterator

from sliceq22.oracles import Objective, Progress, TrackResult, register_objective

NAME = "always-fails"


class AlwaysFailsObjective(Objective):
    """Raises on every track: every trial of a study naming it fails in its worker."""

    name = NAME
    direction = "maximize"
    unit = "dB"

    def iter_track(self, transform, track) -> Iterator[Progress | TrackResult]:
        raise RuntimeError(f"{NAME}: fails on purpose on {track.name}")
        yield  # pragma: no cover - makes this a generator


def register() -> None:
    """Make ``get_objective("always-fails")`` work in this process."""
    register_objective(NAME, AlwaysFailsObjective)
