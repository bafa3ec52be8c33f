"""Load tracks for a :class:`DatasetSpec`: discover, select, check everything, then read.

All refusals happen before the first sample is read (rates, channels, lengths,
excerpt fit are known from probing), so a bad stem in the last track does not
cost the loading of all the others first.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sliceq22.data import folder as folder_source
from sliceq22.data import musdb_source, onair
from sliceq22.data.example import example_plan
from sliceq22.data.plan import (
    Candidate,
    TrackPlan,
    check_plan,
    choose_excerpt,
    dataset_rate,
    realize,
)
from sliceq22.data.spec import DatasetSpec
from sliceq22.data.track import Track
from sliceq22.errors import DatasetError, Sliceq22Error
from sliceq22.suggest import did_you_mean

log = logging.getLogger("sliceq22.data")


@dataclass
class Prepared:
    """Checked plans, ready to be read.

    Attributes
    ----------
    plans : list[TrackPlan]
        Selected tracks in load order.
    rate : int
        Sample rate every track is loaded at.
    skipped : list[tuple[str, str]]
        ``(track, reason)`` of tracks left out (incomplete OnAir tracks).
    """

    plans: list[TrackPlan]
    rate: int
    skipped: list[tuple[str, str]] = field(default_factory=list)


def discover(spec: DatasetSpec) -> list[Candidate]:
    """Every track the source offers, in the source's order (nothing probed yet)."""
    if spec.source == "example":
        plan = example_plan(spec.trim)
        return [Candidate(plan.name, "", lambda: plan)]
    if spec.source == "musdb":
        return musdb_source.discover(spec)
    if spec.source == "folder":
        return folder_source.discover(spec)
    if spec.source == "onair":
        return onair.discover(spec)
    raise DatasetError(f"dataset.source: {spec.source!r} is unknown")  # pragma: no cover


def _select(candidates: list[Candidate], spec: DatasetSpec) -> list[Candidate]:
    if not spec.tracks:
        return candidates
    by_name = {c.name: c for c in candidates}
    out = []
    for name in spec.tracks:
        if name not in by_name:
            hint = did_you_mean(name, by_name, cutoff=0.5)
            raise DatasetError(f"dataset.tracks: {name!r} is not in {spec.describe()}{hint}")
        out.append(by_name[name])
    return out


def prepare(spec: DatasetSpec) -> Prepared:
    """Discover, select and check the tracks of ``spec`` without reading audio.

    Raises
    ------
    DatasetError
        Missing root, zero tracks, an unknown track name, or any stem refused by
        :func:`sliceq22.data.plan.check_plan`.
    """
    plans: list[TrackPlan] = []
    skipped: list[tuple[str, str]] = []
    for cand in _select(discover(spec), spec):
        plan = cand.build()
        if plan.skip is not None and not spec.include_incomplete:
            if spec.tracks:
                raise DatasetError(
                    f"track {cand.name!r}: {plan.skip}; set include_incomplete = true to load "
                    "it with the missing target silent"
                )
            log.warning(
                "skipping track %r: %s (set include_incomplete = true to load it)",
                cand.name,
                plan.skip,
            )
            skipped.append((cand.name, plan.skip))
            continue
        plans.append(plan)
        if spec.max_tracks is not None and len(plans) >= spec.max_tracks:
            break
    if not plans:
        reasons = "; ".join(f"{n}: {r}" for n, r in skipped)
        raise DatasetError(f"{spec.describe()}: no usable track ({reasons or 'none found'})")
    rate = dataset_rate(plans, spec)
    for plan in plans:
        check_plan(plan, spec, rate)
    return Prepared(plans, rate, skipped)


def iter_tracks(
    prepared: Prepared, spec: DatasetSpec, progress: bool = False, *, with_mixture: bool = True
) -> Iterator[Track]:
    """Read the prepared tracks one at a time (so a caller can hold one full-length track, not all).

    Parameters
    ----------
    prepared : Prepared
        :func:`prepare`'s result for ``spec``.
    spec : DatasetSpec
        The spec it was prepared from.
    progress : bool
        Show a tqdm progress bar on stderr.
    with_mixture : bool
        Read the recorded mixtures (see :func:`~sliceq22.data.plan.realize`).
    """
    from tqdm import tqdm

    bar = tqdm(
        prepared.plans, desc="loading tracks", unit="track", disable=not progress, leave=False
    )
    for plan in bar:
        bar.set_postfix_str(plan.name[:40])
        yield realize(plan, spec, prepared.rate, with_mixture=with_mixture)


def load_tracks(spec: DatasetSpec, progress: bool = False) -> list[Track]:
    """Load the tracks (excerpts) a spec describes.

    Parameters
    ----------
    spec : DatasetSpec
        What to load.
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    list[Track]
        Float32 ``(channels, samples)`` targets, all at one sample rate; the same
        spec gives the same excerpts (see :func:`dataset_fingerprint`).

    Raises
    ------
    DatasetError
        One line naming the path and the problem.
    """
    return list(iter_tracks(prepare(spec), spec, progress))


def example_tracks(
    duration: float | None = None,
    trim: bool = True,
    *,
    offset: float | None = None,
    seed: int = 0,
) -> list[Track]:
    """The bundled MUSDB18 excerpt as a one-track list (see :mod:`sliceq22.data.example`).

    ``trim=True`` drops the 4096 samples at each edge that hold AAC bursts
    (260096 samples remain); ``trim=False`` gives all 268288 decoded samples.
    """
    return load_tracks(
        DatasetSpec(source="example", duration=duration, offset=offset, seed=seed, trim=trim)
    )


def dataset_fingerprint(tracks: Sequence[Track]) -> dict[str, Any]:
    """What identifies a loaded dataset, as plain JSON-able data.

    Returns
    -------
    dict
        ``count``; ``rate`` (an int, or a sorted list if tracks differ);
        ``tracks``: per track ``name, source, offset, samples, rate, channels,
        sha1`` (a hash of its four targets); ``sha1``: a hash of all of that.
        Paths are left out, so a moved dataset keeps its fingerprint.
    """
    return fingerprint_of([track_entry(t) for t in tracks])


def track_entry(track: Track) -> dict[str, Any]:
    """One track's entry of :func:`dataset_fingerprint` (its fingerprint and source)."""
    entry = track.fingerprint()
    entry["source"] = track.source
    return entry


def fingerprint_of(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """:func:`dataset_fingerprint` from the tracks' entries (:func:`track_entry`), in load order."""
    entries = list(entries)
    rates = sorted({e["rate"] for e in entries})
    digest = hashlib.sha1(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:16]
    return {
        "count": len(entries),
        "rate": rates[0] if len(rates) == 1 else rates,
        "tracks": entries,
        "sha1": digest,
    }


def describe_tracks(spec: DatasetSpec) -> list[dict[str, Any]]:
    """Per track, what would be loaded and any problem — without reading audio.

    Unlike :func:`prepare` this never stops at the first problem: each row has
    ``name, subset, status`` (``ok``, ``skipped`` or ``refused``), ``problem``,
    ``seconds``, ``rate``, ``channels``, ``parts`` (target -> file names),
    ``excerpt`` (start, samples) and ``notes``.
    """
    rows: list[dict[str, Any]] = []
    built: list[tuple[dict[str, Any], TrackPlan]] = []
    for cand in _select(discover(spec), spec):
        row: dict[str, Any] = {
            "name": cand.name,
            "subset": cand.subset,
            "status": "ok",
            "problem": "",
        }
        rows.append(row)
        try:
            plan = cand.build()
        except Sliceq22Error as exc:
            row.update(status="refused", problem=str(exc))
            continue
        row["notes"] = plan.notes
        row["parts"] = {k: [p.name for p in v] for k, v in plan.parts.items()}
        if plan.skip is not None and not spec.include_incomplete:
            row.update(status="skipped", problem=plan.skip)
            continue
        built.append((row, plan))
    if built:
        rate = dataset_rate([p for _, p in built], spec)
        for row, plan in built:
            row.update(rate=rate, channels=plan.channels)
            try:
                check_plan(plan, spec, rate)
                frames = plan.frames_at(rate)
                row["seconds"] = round(frames / rate, 3)
                row["excerpt"] = list(choose_excerpt(plan.name, frames, rate, spec))
                row["excerpt"][0] += plan.trim[0]
            except Sliceq22Error as exc:
                row.update(status="refused", problem=str(exc))
    return rows
