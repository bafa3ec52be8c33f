"""From a described track (a :class:`TrackPlan`) to a :class:`~sliceq22.data.track.Track`.

Every source produces plans; this module alone decides what to do about sample
rates, lengths, channel counts and the excerpt, so all sources behave alike:

* more than two channels: refused;
* a mono part among stereo ones: duplicated to both channels (noted);
* a part at another rate than the dataset's: refused, or resampled with
  ``scipy.signal.resample_poly`` (``on_rate_mismatch``);
* parts of different lengths: refused, or all cut to the shortest
  (``on_length_mismatch``), noted;
* the excerpt: ``duration``/``offset`` in seconds, a missing offset drawn from
  ``sha256(seed, track name)`` so the same spec always gives the same excerpts,
  whatever other tracks are loaded;
* non-finite samples: refused; an all-silent target: kept and noted (oracles
  exclude it, see :meth:`Track.silent_targets`).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.audio import AudioPart, resample, resampled_length
from sliceq22.data.spec import DatasetSpec
from sliceq22.data.track import Track
from sliceq22.errors import DatasetError

#: Keys of :attr:`TrackPlan.parts`: the four targets and the recorded mix.
PART_KEYS: tuple[str, ...] = (*TARGETS, "mixture")


@dataclass
class TrackPlan:
    """A track described but not read yet.

    Attributes
    ----------
    name : str
        Track name.
    source : str
        Loader that made the plan.
    parts : dict[str, list[AudioPart]]
        Per target (and ``mixture``), the parts summed into it. An empty or
        absent target is silent (only OnAir's ``include_incomplete`` allows that).
    notes : list[str]
        What the source already decided (mapping rules, assumed stream order).
    subset : str
        Subset the track belongs to (``train``, an OnAir subset folder), or "".
    trim : tuple[int, int]
        Samples excluded at the start and end before the excerpt is chosen
        (the example's AAC bursts).
    folder : str
        Where the track lives, for messages.
    skip : str or None
        Why the track is skipped unless the spec opts in (an incomplete OnAir
        track); None for a usable track.
    """

    name: str
    source: str
    parts: dict[str, list[AudioPart]]
    notes: list[str] = field(default_factory=list)
    subset: str = ""
    trim: tuple[int, int] = (0, 0)
    folder: str = ""
    skip: str | None = None

    def all_parts(self) -> list[AudioPart]:
        """Every part, targets first then the mixture."""
        return [p for key in PART_KEYS for p in self.parts.get(key, [])]

    @property
    def channels(self) -> int:
        """Channels the loaded track will have (mono parts are widened to the widest)."""
        return max(p.channels for p in self.all_parts())

    def frames_at(self, rate: int) -> int:
        """Usable samples at ``rate`` if lengths agree (shortest part, minus trims)."""
        exact = [resampled_length(p.frames, p.rate, rate) for p in self.all_parts()]
        return math.floor(min(exact) + 1e-9) - sum(self.trim)


@dataclass
class Candidate:
    """A track a source found: described (probed, mapped) only if selected."""

    name: str
    subset: str
    build: Callable[[], TrackPlan]


def dataset_rate(plans: Sequence[TrackPlan], spec: DatasetSpec) -> int:
    """The sample rate all tracks are loaded at: ``spec.rate``, else the most common part rate.

    Ties go to the higher rate (no information is thrown away by default).
    """
    if spec.rate is not None:
        return spec.rate
    counts = Counter(p.rate for plan in plans for p in plan.all_parts())
    return max(counts, key=lambda r: (counts[r], r))


def check_plan(plan: TrackPlan, spec: DatasetSpec, rate: int) -> None:
    """Refuse a plan before any audio is read: channels, rates, lengths, excerpt fit.

    Raises
    ------
    DatasetError
        One line naming the file and the problem.
    """
    parts = plan.all_parts()
    if not any(plan.parts.get(t) for t in TARGETS):
        raise DatasetError(f"{plan.folder or plan.name}: no stem for any target")
    for p in parts:
        if p.channels > 2:
            raise DatasetError(
                f"{p.where}: {p.channels} channels; only mono and stereo stems are supported"
            )
        if p.rate != rate and spec.on_rate_mismatch == "refuse":
            raise DatasetError(
                f"{p.where}: sample rate {p.rate} Hz differs from the dataset's {rate} Hz; "
                "set on_rate_mismatch = 'resample' to resample it"
            )
    _length_decision(plan, spec, rate)
    choose_excerpt(plan.name, plan.frames_at(rate), rate, spec)


def _length_decision(plan: TrackPlan, spec: DatasetSpec, rate: int) -> str | None:
    """Return a note if parts differ in length and may be truncated; raise if refused."""
    parts = plan.all_parts()
    exact = [resampled_length(p.frames, p.rate, rate) for p in parts]
    # Resampling rounds lengths up to the next sample, so only a difference of a
    # whole sample or more is a real mismatch.
    if max(exact) - min(exact) < 1.0:
        return None
    listing = ", ".join(f"{p.name} {e:.0f}" for p, e in zip(parts, exact, strict=True))
    if spec.on_length_mismatch == "refuse":
        raise DatasetError(
            f"{plan.folder or plan.name}: stems differ in length ({listing} samples at {rate} Hz); "
            "set on_length_mismatch = 'truncate' to cut all to the shortest"
        )
    return (
        f"stems differed in length ({listing} samples); truncated to the shortest, "
        f"{math.floor(min(exact) + 1e-9)}"
    )


def excerpt_seed(seed: int, name: str) -> int:
    """A 64-bit number from ``seed`` and the track name (platform and numpy independent)."""
    digest = hashlib.sha256(f"{seed}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def choose_excerpt(name: str, length: int, rate: int, spec: DatasetSpec) -> tuple[int, int]:
    """Start and length (samples) of the excerpt of a track of ``length`` samples.

    ``duration`` None: from ``offset`` (or 0) to the end. ``offset`` None with a
    duration: ``excerpt_seed(seed, name) % (length - frames + 1)``. (This is the
    dataset's excerpt rule; :func:`sliceq22.data.excerpt.cut_excerpt` cuts audio
    already in memory for a spectrogram view.)

    Raises
    ------
    DatasetError
        The track is shorter than the requested excerpt.
    """
    start = 0 if spec.offset is None else round(spec.offset * rate)
    if spec.duration is None:
        if start >= length:
            raise DatasetError(
                f"track {name!r}: offset {start / rate:g} s is past its end ({length / rate:.2f} s)"
            )
        return start, length - start
    frames = round(spec.duration * rate)
    if frames > length:
        raise DatasetError(
            f"track {name!r} is {length / rate:.2f} s long, shorter than duration "
            f"{spec.duration:g} s"
        )
    if spec.offset is None:
        start = excerpt_seed(spec.seed, name) % (length - frames + 1)
    elif start + frames > length:
        raise DatasetError(
            f"track {name!r}: excerpt {spec.offset:g} s + {spec.duration:g} s ends past the "
            f"track's end ({length / rate:.2f} s)"
        )
    return start, frames


def realize(plan: TrackPlan, spec: DatasetSpec, rate: int, *, with_mixture: bool = True) -> Track:
    """Read the excerpt of a checked plan and build the :class:`Track`.

    ``with_mixture=False`` leaves the recorded mixture unread (an objective
    that uses the sum of the targets never needs it); it still takes part in
    the length checks, so the targets are the same either way.

    Parts of one target are summed in float64 and stored as float32
    ``(channels, samples)``; a target (or mixture) that is one 16-bit PCM
    file at the dataset's rate is kept as its int16 samples.
    """
    check_plan(plan, spec, rate)
    notes = list(plan.notes)
    length_note = _length_decision(plan, spec, rate)
    if length_note:
        notes.append(length_note)
    start, frames = choose_excerpt(plan.name, plan.frames_at(rate), rate, spec)
    absolute = start + plan.trim[0]
    channels = plan.channels

    arrays: dict[str, list[np.ndarray]] = {}
    for key in PART_KEYS if with_mixture else TARGETS:
        parts = plan.parts.get(key, [])
        for p in parts:
            if p.rate == rate:
                # A lone 16-bit part stays int16 in the Track (lossless, half
                # the memory); parts that are summed are read as float32.
                audio = p.read(absolute, frames, pcm16=len(parts) == 1)
            else:
                # Resample the whole part: a filtered excerpt would need the
                # filter's context on both sides anyway, and rate mismatches are rare.
                audio = resample(p.read(), p.rate, rate)[:, absolute : absolute + frames]
                notes.append(f"{p.name}: resampled {p.rate} -> {rate} Hz")
            if not _all_finite(audio):
                raise DatasetError(f"{p.where}: holds non-finite samples (NaN or infinity)")
            if audio.shape[0] == 1 and channels == 2:
                audio = np.repeat(audio, 2, axis=0)
                notes.append(f"{p.name}: mono, duplicated to both channels")
            arrays.setdefault(key, []).append(audio)

    # A decoder may deliver fewer samples than probed (AAC, truncated files).
    got = {len_ for parts in arrays.values() for len_ in (a.shape[-1] for a in parts)}
    if got != {frames}:
        short = min(got)
        if short == 0:
            raise DatasetError(
                f"{plan.folder or plan.name}: a stem delivered no samples for the excerpt"
            )
        if spec.on_length_mismatch == "refuse":
            raise DatasetError(
                f"{plan.folder or plan.name}: stems decoded to different lengths "
                f"({', '.join(str(g) for g in sorted(got))} samples); "
                "set on_length_mismatch = 'truncate' to cut all to the shortest"
            )
        notes.append(f"stems decoded to {sorted(got)} samples; truncated to {short}")
        frames = short
        arrays = {k: [a[:, :frames] for a in v] for k, v in arrays.items()}

    targets: dict[str, np.ndarray] = {}
    for t in TARGETS:
        if arrays.get(t):
            targets[t] = _sum(arrays[t])
        else:
            targets[t] = np.zeros((channels, frames), np.float32)
            notes.append(f"{t}: no stem delivered, silent")
    mixture = _sum(arrays["mixture"]) if arrays.get("mixture") else None
    track = Track(
        name=plan.name,
        rate=rate,
        targets=targets,
        recorded_mixture=mixture,
        offset=absolute,
        source=plan.source,
        notes=notes,
    )
    for t in track.silent_targets():
        if plan.parts.get(t):
            track.notes.append(f"{t}: all-silent in this excerpt (excluded from its aggregates)")
    return track


#: Samples per channel handled at a time by the checks and sums below, so
#: their temporaries stay small beside the track.
_BLOCK = 1 << 18


def _all_finite(audio: np.ndarray) -> bool:
    """Whether every sample is finite (integers always are), checked a block at a time."""
    if audio.dtype.kind in "iu":
        return True
    blocks = range(0, audio.shape[-1], _BLOCK)
    return all(np.isfinite(audio[..., i : i + _BLOCK]).all() for i in blocks)


def _sum(parts: list[np.ndarray]) -> np.ndarray:
    """One part as it is (int16 or float32); several added in float64, stored as float32.

    The sum goes a block at a time: the same float64 additions as one
    ``np.sum(np.stack(parts), axis=0)``, without whole-track temporaries.
    """
    if len(parts) == 1:
        only = parts[0]
        return only if only.dtype == np.int16 else only.astype(np.float32, copy=False)
    out: np.ndarray = np.empty(parts[0].shape, dtype=np.float32)
    for i in range(0, out.shape[-1], _BLOCK):
        block = np.stack([p[..., i : i + _BLOCK] for p in parts])
        out[..., i : i + _BLOCK] = np.sum(block, axis=0, dtype=np.float64)
    return out
