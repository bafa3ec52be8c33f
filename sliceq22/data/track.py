"""One track type for every data source: four targets, an optional recorded mix.

A track keeps each signal as the loader delivered it: 16-bit PCM sources
(MUSDB18-HQ's WAVs) as int16, everything else as float32, both
``(channels, samples)``. int16 is lossless for those sources and half the
memory (a 10-minute stereo track's four targets: 0.42 GB instead of 0.85 GB),
which matters in every worker and in Ray's object store. Readers always get
float32: int16 samples are scaled by 1/32768, which is exactly what
soundfile's (libsndfile's) float read of the same file gives, bit for bit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from sliceq22 import TARGETS
from sliceq22.errors import DatasetError

#: int16 sample -> float32, as libsndfile normalises 16-bit PCM (a power of
#: two: the product is exact).
PCM16_SCALE = np.float32(1.0 / 32768.0)
#: Samples per channel converted at a time by whole-track operations
#: (fingerprint, mixture), so none of them holds a float32 copy of a track.
BLOCK = 1 << 18
#: Key of the recorded mixture among a track's signals.
MIXTURE = "mixture"


def _stored(audio: np.ndarray) -> np.ndarray:
    """int16 kept as int16, anything else as float32; C-contiguous ``(channels, samples)``."""
    audio = np.asarray(audio)
    dtype = np.int16 if audio.dtype == np.int16 else np.float32
    return np.ascontiguousarray(audio, dtype=dtype)


def to_float32(audio: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A stored signal (or a stretch of one) as float32 of the same shape, into ``out`` if given.

    int16 is scaled by 1/32768 (libsndfile's float read); float32 is copied.
    """
    if out is None:
        out = np.empty(audio.shape, dtype=np.float32)
    if audio.dtype == np.int16:
        np.multiply(audio, PCM16_SCALE, out=out)
    else:
        out[...] = audio
    return out


class _FloatTargets(Mapping[str, np.ndarray]):
    """``track.targets``: target name -> float32 ``(channels, samples)``.

    float32-stored targets are returned as they are (no copy); int16-stored
    ones are converted on each access (a new float32 array), so code that
    only needs a stretch should use :meth:`Track.read_targets` instead.
    """

    def __init__(self, audio: Mapping[str, np.ndarray]) -> None:
        self._audio = audio

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in TARGETS:
            raise KeyError(key)
        stored = self._audio[key]
        return stored if stored.dtype == np.float32 else to_float32(stored)

    def __iter__(self) -> Iterator[str]:
        return iter(TARGETS)

    def __len__(self) -> int:
        return len(TARGETS)


class Track:
    """A track with ground truth, possibly an excerpt of a longer recording.

    Parameters
    ----------
    name : str
        Track name, unique within a dataset.
    rate : int
        Sample rate in Hz.
    targets : Mapping[str, np.ndarray]
        ``drums, bass, other, vocals``, each ``(channels, samples)``, all of one
        shape: int16 (16-bit PCM, kept as int16) or anything else (stored as
        float32).
    recorded_mixture : np.ndarray or None
        The mastered mix as delivered, same shape and storage rule; it differs
        from the sum of the targets (mastering), so oracles default to the sum.
    offset : int
        Start of this excerpt in the source recording, in samples.
    source : str
        Which loader produced the track (``example``, ``musdb``, ``folder``, ``onair``).
    notes : list[str], optional
        What the loader changed (trimmed, truncated, converted mono to stereo, ...).

    Attributes
    ----------
    targets : Mapping[str, np.ndarray]
        Float32 ``(channels, samples)`` per target, MUSDB order (int16-stored
        targets are converted on access).
    recorded_mixture : np.ndarray or None
        Float32 ``(channels, samples)`` or None.
    """

    def __init__(
        self,
        name: str,
        rate: int,
        targets: Mapping[str, np.ndarray],
        recorded_mixture: np.ndarray | None = None,
        offset: int = 0,
        source: str = "",
        notes: list[str] | None = None,
    ) -> None:
        self.name = name
        self.rate = int(rate)
        self.offset = int(offset)
        self.source = source
        self.notes = list(notes) if notes is not None else []
        missing = [t for t in TARGETS if t not in targets]
        if missing:
            raise DatasetError(f"track {name!r}: missing target(s) {', '.join(missing)}")
        shapes = {t: np.shape(targets[t]) for t in TARGETS}
        if len(set(shapes.values())) != 1:
            raise DatasetError(f"track {name!r}: targets differ in shape: {shapes}")
        self._audio: dict[str, np.ndarray] = {t: _stored(targets[t]) for t in TARGETS}
        if recorded_mixture is not None:
            mixture = _stored(recorded_mixture)
            if mixture.shape != shapes["drums"]:
                raise DatasetError(
                    f"track {name!r}: recorded mixture shape "
                    f"{mixture.shape} differs from the targets' {shapes['drums']}"
                )
            self._audio[MIXTURE] = mixture

    def __repr__(self) -> str:
        kinds = ",".join(sorted({str(a.dtype) for a in self._audio.values()}))
        return (
            f"Track({self.name!r}, rate={self.rate}, channels={self.channels}, "
            f"samples={self.length}, {kinds}, recorded mixture: {self.has_recorded_mixture})"
        )

    # ------------------------------------------------------------------ shape
    @property
    def channels(self) -> int:
        """Number of audio channels."""
        return int(self._audio["drums"].shape[0])

    @property
    def length(self) -> int:
        """Number of samples per channel."""
        return int(self._audio["drums"].shape[-1])

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.length / self.rate

    @property
    def nbytes(self) -> int:
        """Bytes of audio the track holds (targets and recorded mixture, as stored)."""
        return int(sum(a.nbytes for a in self._audio.values()))

    @property
    def dtypes(self) -> dict[str, str]:
        """How each signal is stored (``int16`` or ``float32``), targets then ``mixture``."""
        return {k: str(a.dtype) for k, a in self._audio.items()}

    # ------------------------------------------------------------------ whole signals
    @property
    def targets(self) -> Mapping[str, np.ndarray]:
        """Float32 ``(channels, samples)`` per target (see :class:`_FloatTargets`)."""
        return _FloatTargets(self._audio)

    @property
    def has_recorded_mixture(self) -> bool:
        """Whether the track came with its mastered mix."""
        return MIXTURE in self._audio

    @property
    def recorded_mixture(self) -> np.ndarray | None:
        """The mastered mix, float32 ``(channels, samples)``, or None."""
        stored = self._audio.get(MIXTURE)
        if stored is None:
            return None
        return stored if stored.dtype == np.float32 else to_float32(stored)

    def without_recorded_mixture(self) -> Track:
        """The same track without its recorded mixture (the arrays are shared, not copied)."""
        return Track(
            self.name,
            self.rate,
            {t: self._audio[t] for t in TARGETS},
            offset=self.offset,
            source=self.source,
            notes=self.notes,
        )

    def stacked(self) -> np.ndarray:
        """Targets stacked in MUSDB order: float32 ``(4, channels, samples)``."""
        return self.read_targets(0, self.length)

    def mixture(self, kind: str = "sum") -> np.ndarray:
        """The mixture an oracle should see: float32 ``(channels, samples)``.

        Parameters
        ----------
        kind : {"sum", "recorded"}
            ``sum`` (default): the sum of the four targets, as xumx-sliCQ's
            oracle used, added in float64 and rounded once; ``recorded``: the
            mastered mix delivered with the track.
        """
        if kind == "recorded":
            self._require_recorded()
            return self.recorded_mixture  # type: ignore[return-value]
        self._check_kind(kind)
        out = np.empty((self.channels, self.length), dtype=np.float32)
        for start in range(0, self.length, BLOCK):
            stop = min(start + BLOCK, self.length)
            out[:, start:stop] = self.read_mixture("sum", start, stop)
        return out

    # ------------------------------------------------------------------ stretches
    def read_targets(self, start: int, stop: int) -> np.ndarray:
        """Targets in MUSDB order for samples ``[start, stop)``: float32
        ``(4, channels, stop - start)``.

        Samples outside ``[0, length)`` read as zeros, so streaming
        evaluations can ask for the padding of their first and last frames.
        Works on read-only storage (Ray's zero-copy arrays).
        """
        out = np.zeros((len(TARGETS), self.channels, stop - start), dtype=np.float32)
        for i, t in enumerate(TARGETS):
            self._read_into(self._audio[t], start, stop, out[i])
        return out

    def read_mixture(self, kind: str, start: int, stop: int) -> np.ndarray:
        """The mixture (see :meth:`mixture`) for samples ``[start, stop)``: float32
        ``(channels, n)``.

        ``sum`` is added in float64 and rounded once, as :meth:`mixture` does.
        """
        if kind == "recorded":
            self._require_recorded()
            out = np.zeros((self.channels, stop - start), dtype=np.float32)
            self._read_into(self._audio[MIXTURE], start, stop, out)
            return out
        self._check_kind(kind)
        targets = self.read_targets(start, stop)
        return np.asarray(np.sum(targets, axis=0, dtype=np.float64)).astype(np.float32)

    @staticmethod
    def _read_into(stored: np.ndarray, start: int, stop: int, out: np.ndarray) -> None:
        lo, hi = max(start, 0), min(stop, stored.shape[-1])
        if hi > lo:
            to_float32(stored[:, lo:hi], out=out[:, lo - start : hi - start])

    def _require_recorded(self) -> None:
        if MIXTURE not in self._audio:
            raise DatasetError(f"track {self.name!r} has no recorded mixture")

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in ("sum", "recorded"):
            raise DatasetError(f"mixture {kind!r} is not one of 'sum', 'recorded'")

    # ------------------------------------------------------------------ facts
    def silent_targets(self) -> list[str]:
        """Targets that are all zero in this track/excerpt (their scores are undefined)."""
        # On the stored samples: an int16 zero is exactly a float zero.
        return [t for t in TARGETS if not np.any(self._audio[t])]

    def spot_hash(self, windows: int = 32, width: int = 512) -> str:
        """A cheap content check: sha1 of ``windows`` evenly spaced stretches of ``width`` samples.

        For a worker that loads a track itself to confirm it read what the
        driver fingerprinted, in microseconds instead of a pass over the track.
        """
        digest = hashlib.sha1()
        span = max(0, self.length - width)
        for k in range(windows):
            start = span * k // max(1, windows - 1)
            digest.update(self.read_targets(start, start + width).data)
        return digest.hexdigest()[:16]

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this excerpt: name, offset, length, rate and a content hash.

        The hash is over the float32 bytes of the four targets, whatever the
        storage (so a study's stored fingerprint holds when a 16-bit dataset
        is loaded as int16), converted a block at a time.
        """
        digest = hashlib.sha1()
        block = np.empty(BLOCK * 4, dtype=np.float32)
        for t in TARGETS:
            flat = self._audio[t].reshape(-1)  # C order: the bytes tobytes() gave
            for start in range(0, flat.size, block.size):
                part = flat[start : start + block.size]
                digest.update(to_float32(part, out=block[: part.size]).data)
        return {
            "name": self.name,
            "offset": int(self.offset),
            "samples": self.length,
            "rate": self.rate,
            "channels": self.channels,
            "sha1": digest.hexdigest()[:16],
        }
