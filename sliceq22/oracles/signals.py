"""The five signals a coefficient-domain oracle streams: the mixture and the four targets."""

from __future__ import annotations

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.errors import ParameterError

#: How the oracle's mixture is formed.
MIXTURES: tuple[str, ...] = ("sum", "recorded")


class TrackSignals:
    """The oracle's five signals of a track, read a stretch at a time.

    A :class:`~sliceq22.transforms.streaming.SignalSource`: signal 0 is the
    mixture (``sum`` of the targets, or the ``recorded`` one), 1–4 the targets
    in MUSDB order, float32 ``(5, channels, k)``; the five are never stacked for
    the whole track.
    """

    def __init__(self, track: Track, mixture: str = "sum") -> None:
        if mixture not in MIXTURES:
            raise ParameterError(f"mpi: mixture {mixture!r} is not one of {', '.join(MIXTURES)}")
        self.track, self.mixture = track, mixture
        self.n_signals = 1 + len(TARGETS)
        self.channels, self.length = track.channels, track.length
        if mixture == "recorded":
            track.mixture("recorded")  # refuses a track without one, before any work

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((self.n_signals, self.channels, stop - start), dtype=np.float32)
        out[1:] = self.track.read_targets(start, stop)
        if self.mixture == "sum":
            # added in float64 and rounded once, as Track.mixture("sum")
            out[0] = np.sum(out[1:], axis=0, dtype=np.float64)
        else:
            out[0] = self.track.read_mixture("recorded", start, stop)
        return out
