"""The separation metrics accumulated stretch by stretch, for streamed evaluations.

Both metrics are ratios of sums of squares, so a track never has to be held
whole: :class:`GlobalSdrSums` keeps ``Σ s²`` and ``Σ (s − ŝ)²`` per source,
:class:`BssSdrSums` the same per one-second frame plus museval's silence flags.
Fed the whole signal in any number of consecutive stretches they give what
:func:`~sliceq22.oracles.metrics.sdr_global` and
:func:`~sliceq22.oracles.metrics.sdr_bss_frames` give on the whole arrays (up
to the order of float64 additions: ~1e-12 dB).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from sliceq22.errors import ParameterError
from sliceq22.oracles.metrics import _to_db, bss_frames_from_sums, frame_count, nan_median


class MetricSums(ABC):
    """Sums of one metric over the stretches of a track seen so far.

    Parameters
    ----------
    sources : int
        Number of sources (targets) scored together.
    length : int
        Samples per channel of the whole track.
    rate : int
        Sample rate in Hz.
    """

    def __init__(self, sources: int, length: int, rate: int) -> None:
        self.sources, self.length, self.rate = int(sources), int(length), int(rate)
        self.seen = 0

    def add(self, reference: np.ndarray, estimate: np.ndarray, start: int) -> None:
        """Add the stretch ``[start, start + k)`` of every source.

        Parameters
        ----------
        reference, estimate : np.ndarray
            ``(sources, channels, k)``, any real dtype (summed in float64).
        start : int
            First sample of the stretch; stretches must follow each other.
        """
        if start != self.seen:
            raise ValueError(f"stretch starts at {start}, expected {self.seen}")
        if reference.shape != estimate.shape or reference.shape[0] != self.sources:
            raise ValueError(
                f"reference {reference.shape} and estimate {estimate.shape} must both be "
                f"({self.sources}, channels, samples)"
            )
        if reference.shape[-1]:
            self._add(
                np.asarray(reference, dtype=np.float64),
                np.asarray(estimate, dtype=np.float64),
                start,
            )
        self.seen += reference.shape[-1]

    @abstractmethod
    def _add(self, reference: np.ndarray, estimate: np.ndarray, start: int) -> None:
        """Accumulate a float64 stretch."""

    @abstractmethod
    def result(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Scores ``(sources,)`` in dB and frames ``(sources, frames)`` (or ``None``)."""


class GlobalSdrSums(MetricSums):
    """``10·log10(Σ s² / Σ (s − ŝ)²)`` per source (MDX 2021), accumulated."""

    def __init__(self, sources: int, length: int, rate: int) -> None:
        super().__init__(sources, length, rate)
        self.power = np.zeros(self.sources)
        self.error = np.zeros(self.sources)

    def _add(self, reference: np.ndarray, estimate: np.ndarray, start: int) -> None:
        flat = reference.reshape(self.sources, -1)
        difference = (reference - estimate).reshape(self.sources, -1)
        self.power += np.einsum("sn,sn->s", flat, flat)
        self.error += np.einsum("sn,sn->s", difference, difference)

    def result(self) -> tuple[np.ndarray, None]:
        return _to_db(self.power, self.error), None


class BssSdrSums(MetricSums):
    """museval's BSSv4 SDR per one-second frame (window = hop = rate), accumulated.

    Frames follow :func:`~sliceq22.oracles.metrics.frame_count`: whole windows
    only, the trailing partial window dropped, one whole-signal frame for a
    signal no longer than a window. The silence flags keep museval's rules
    (:func:`~sliceq22.oracles.metrics.bss_frames_from_sums`).
    """

    def __init__(self, sources: int, length: int, rate: int) -> None:
        super().__init__(sources, length, rate)
        win = hop = self.rate
        self.frames = frame_count(self.length, win, hop)
        # samples per frame; a short signal is one frame of all its samples
        self.hop = hop if self.length > win else max(self.length, 1)
        shape = (self.sources, self.frames)
        self.power = np.zeros(shape)
        self.error = np.zeros(shape)
        self.ref_sounds = np.zeros(shape, dtype=bool)
        self.est_sounds = np.zeros(shape, dtype=bool)
        self.ref_anywhere = np.zeros(self.sources, dtype=bool)
        self.est_anywhere = np.zeros(self.sources, dtype=bool)

    def _add(self, reference: np.ndarray, estimate: np.ndarray, start: int) -> None:
        ref_sum = _channel_sum(reference) != 0.0  # (sources, k): museval's silence test
        est_sum = _channel_sum(estimate) != 0.0
        self.ref_anywhere |= ref_sum.any(axis=-1)
        self.est_anywhere |= est_sum.any(axis=-1)
        covered = self.frames * self.hop  # samples that belong to some frame
        stop = min(start + reference.shape[-1], covered)
        if stop <= start:
            return
        keep = slice(0, stop - start)
        difference = reference[..., keep] - estimate[..., keep]
        power = np.einsum("scn,scn->sn", reference[..., keep], reference[..., keep])
        error = np.einsum("scn,scn->sn", difference, difference)
        frame = np.arange(start, stop) // self.hop
        # Frame boundaries inside the stretch: add each run of equal frames.
        cuts = np.flatnonzero(np.diff(frame)) + 1
        starts = np.concatenate(([0], cuts))
        index = frame[starts]
        self.power[:, index] += np.add.reduceat(power, starts, axis=-1)
        self.error[:, index] += np.add.reduceat(error, starts, axis=-1)
        self.ref_sounds[:, index] |= np.logical_or.reduceat(ref_sum[:, keep], starts, axis=-1)
        self.est_sounds[:, index] |= np.logical_or.reduceat(est_sum[:, keep], starts, axis=-1)

    def frame_scores(self) -> np.ndarray:
        """SDR in dB per frame, ``(sources, frames)`` (``nan``: silent frame)."""
        return bss_frames_from_sums(
            self.power,
            self.error,
            ref_sounds=self.ref_sounds,
            est_sounds=self.est_sounds,
            ref_sounds_anywhere=self.ref_anywhere,
            est_sounds_anywhere=self.est_anywhere,
        )

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        frames = self.frame_scores()
        return np.atleast_1d(nan_median(frames, axis=-1)), frames


def _channel_sum(audio: np.ndarray) -> np.ndarray:
    """``(sources, channels, k)`` -> ``(sources, k)``, channels added in order (as museval)."""
    total = audio[:, 0].copy()
    for channel in range(1, audio.shape[1]):
        total += audio[:, channel]
    return total


#: metric name -> its accumulator.
METRIC_SUMS: dict[str, type[MetricSums]] = {
    "sdr-global": GlobalSdrSums,
    "sdr-bss": BssSdrSums,
}


def metric_sums(name: str, sources: int, length: int, rate: int) -> MetricSums:
    """A fresh accumulator of metric ``name`` for ``sources`` sources of ``length`` samples.

    Raises
    ------
    ParameterError
        For an unknown metric, naming the known ones.
    """
    try:
        cls = METRIC_SUMS[name]
    except KeyError:
        raise ParameterError(f"unknown metric {name!r}; known: {', '.join(METRIC_SUMS)}") from None
    return cls(sources, length, rate)


__all__ = ["METRIC_SUMS", "BssSdrSums", "GlobalSdrSums", "MetricSums", "metric_sums"]
