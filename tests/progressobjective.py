"""A test objective that streams a real transform piece by piece and yields real Progress.

Imported by the progress tests and, through Ray's ``worker_process_setup_hook``
(:func:`register`), by the Ray workers they start, so a study can name it.
Its score per target is the energy of the target's coefficients in dB; each
piece also sleeps ``sleep`` seconds so that a 2-second track takes long
enough for the worker's throttled progress messages (one per second) to flow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from sliceq22 import TARGETS
from sliceq22.oracles import Objective, Progress, TrackResult, register_objective
from sliceq22.transforms.streaming import ArraySource

NAME = "piece-progress"


class PieceProgressObjective(Objective):
    """Coefficient energy per target, computed from ``stream_coefficients`` pieces."""

    name = NAME
    direction = "maximize"
    unit = "|c|²"
    DEFAULTS: ClassVar[dict[str, Any]] = {"sleep": 0.02, "chunk_bytes": 1 << 16}

    def iter_track(self, transform, track) -> Iterator[Progress | TrackResult]:
        source = ArraySource(track.read_targets(0, track.length))
        energy = np.zeros(len(TARGETS))
        done = 0
        chunk = int(self.options["chunk_bytes"])
        for piece in transform.stream_coefficients(source, chunk_bytes=chunk):
            for block in piece.blocks:  # (signals, channels, ...)
                energy += np.sum(np.abs(block.reshape(len(TARGETS), -1)) ** 2, axis=1)
            done += piece.count if piece.kind == "units" else 1
            time.sleep(float(self.options["sleep"]))
            yield Progress(done, piece.total)
        scores = {t: 10 * math.log10(e) if e > 0 else math.nan for t, e in zip(TARGETS, energy)}
        timing = {"forward": 0.0, "inverse": 0.0, "metric": 0.0}
        yield TrackResult(track.name, scores, timing=timing)


def register() -> None:
    """Make ``get_objective("piece-progress")`` work in this process."""
    register_objective(NAME, PieceProgressObjective)
