"""One track type for every data source: four targets, an optional recorded mix."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sliceq22 import TARGETS
from sliceq22.errors import DatasetError


@dataclass
class Track:
    """A track with ground truth, possibly an excerpt of a longer recording.

    Attributes
    ----------
    name : str
        Track name, unique within a dataset.
    rate : int
        Sample rate in Hz.
    targets : dict[str, np.ndarray]
        ``drums, bass, other, vocals`` (MUSDB order), float32 ``(channels, samples)``,
        all of one shape.
    recorded_mixture : np.ndarray or None
        The mastered mix as delivered, float32 ``(channels, samples)``; it differs
        from the sum of the targets (mastering), so oracles default to the sum.
    offset : int
        Start of this excerpt in the source recording, in samples.
    source : str
        Which loader produced the track (``example``, ``musdb``, ``folder``, ``onair``).
    notes : list[str]
        What the loader changed (trimmed, truncated, converted mono to stereo, ...).
    """

    name: str
    rate: int
    targets: dict[str, np.ndarray]
    recorded_mixture: np.ndarray | None = None
    offset: int = 0
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        missing = [t for t in TARGETS if t not in self.targets]
        if missing:
            raise DatasetError(f"track {self.name!r}: missing target(s) {', '.join(missing)}")
        shapes = {t: self.targets[t].shape for t in TARGETS}
        if len(set(shapes.values())) != 1:
            raise DatasetError(f"track {self.name!r}: targets differ in shape: {shapes}")
        self.targets = {
            t: np.ascontiguousarray(self.targets[t], dtype=np.float32) for t in TARGETS
        }
        if self.recorded_mixture is not None:
            self.recorded_mixture = np.ascontiguousarray(self.recorded_mixture, dtype=np.float32)
            if self.recorded_mixture.shape != shapes["drums"]:
                raise DatasetError(
                    f"track {self.name!r}: recorded mixture shape "
                    f"{self.recorded_mixture.shape} differs from the targets' {shapes['drums']}"
                )

    @property
    def channels(self) -> int:
        """Number of audio channels."""
        return int(self.targets["drums"].shape[0])

    @property
    def length(self) -> int:
        """Number of samples per channel."""
        return int(self.targets["drums"].shape[-1])

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.length / self.rate

    def stacked(self) -> np.ndarray:
        """Targets stacked in MUSDB order: float32 ``(4, channels, samples)``."""
        return np.stack([self.targets[t] for t in TARGETS])

    def mixture(self, kind: str = "sum") -> np.ndarray:
        """The mixture an oracle should see.

        Parameters
        ----------
        kind : {"sum", "recorded"}
            ``sum`` (default): the sum of the four targets, as xumx-sliCQ's
            oracle used; ``recorded``: the mastered mix delivered with the track.
        """
        if kind == "sum":
            return np.sum(self.stacked(), axis=0, dtype=np.float64).astype(np.float32)
        if kind == "recorded":
            if self.recorded_mixture is None:
                raise DatasetError(f"track {self.name!r} has no recorded mixture")
            return self.recorded_mixture
        raise DatasetError(f"mixture {kind!r} is not one of 'sum', 'recorded'")

    def read_targets(self, start: int, stop: int) -> np.ndarray:
        """Targets in MUSDB order for samples ``[start, stop)``: float32 ``(4, channels, stop - start)``.

        Samples outside ``[0, length)`` read as zeros, so streaming
        evaluations can ask for the padding of their first and last frames.
        """
        out = np.zeros((len(TARGETS), self.channels, stop - start), dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self.length)
        if hi > lo:
            for i, t in enumerate(TARGETS):
                out[i, :, lo - start : hi - start] = self.targets[t][:, lo:hi]
        return out

    def read_mixture(self, kind: str, start: int, stop: int) -> np.ndarray:
        """The mixture (see :meth:`mixture`) for samples ``[start, stop)``: float32 ``(channels, n)``.

        ``sum`` is added in float64 and rounded once, as :meth:`mixture` does.
        """
        if kind == "sum":
            targets = self.read_targets(start, stop)
            return np.sum(targets, axis=0, dtype=np.float64).astype(np.float32)
        whole = self.mixture(kind)
        out = np.zeros((self.channels, stop - start), dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self.length)
        if hi > lo:
            out[:, lo - start : hi - start] = whole[:, lo:hi]
        return out

    def silent_targets(self) -> list[str]:
        """Targets that are all zero in this track/excerpt (their scores are undefined)."""
        return [t for t in TARGETS if not np.any(self.targets[t])]

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this excerpt: name, offset, length, rate and a content hash."""
        digest = hashlib.sha1()
        for t in TARGETS:
            digest.update(self.targets[t].tobytes())
        return {
            "name": self.name,
            "offset": int(self.offset),
            "samples": self.length,
            "rate": self.rate,
            "channels": self.channels,
            "sha1": digest.hexdigest()[:16],
        }
