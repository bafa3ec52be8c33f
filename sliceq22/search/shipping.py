"""How a study's tracks reach the Ray workers, within bounded memory.

Two ways, chosen per run (``sliceq22 run --tracks-via``):

``object-store``
    The driver reads each track once and puts it in Ray's object store;
    workers read it zero-copy (read-only arrays). Only the driver's machine
    needs the dataset. The store holds the whole dataset for the whole run,
    so it is kept small: 16-bit sources travel as int16 (see
    :class:`~sliceq22.data.track.Track`) and the recorded mixture only when
    the objective uses it (``mixture = "recorded"``).
``dataset``
    The driver sends each worker a :class:`TrackRecipe` (the checked plan:
    file paths, excerpt, rate) and the worker reads the track itself, one at
    a time, for each candidate. Nothing sits in the object store; every
    worker must see the dataset at the same absolute path (one machine, or a
    shared filesystem). A worker checks that it read what the driver
    fingerprinted (length and a spot hash of the samples).

``auto`` (the default) picks ``dataset`` when every Ray node is the driver's
own machine (a local runtime: the files are certainly visible) and the
source is files, else ``object-store``. The driver never holds more than one
track at a time either way.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from sliceq22.data.audio import FilePart, StreamPart
from sliceq22.data.load import fingerprint_of, iter_tracks, prepare, track_entry
from sliceq22.data.plan import TrackPlan, realize
from sliceq22.data.spec import DatasetSpec
from sliceq22.data.track import Track
from sliceq22.errors import DatasetError

#: Accepted values of ``--tracks-via``.
TRACKS_VIA: tuple[str, ...] = ("auto", "object-store", "dataset")
#: Tracks kept as they are, for an evaluator in this process (no Ray; not a CLI choice).
IN_PROCESS = "in-process"


@dataclass
class TrackRecipe:
    """What a worker needs to read one track itself.

    Attributes
    ----------
    plan : TrackPlan
        The checked plan, file paths made absolute.
    spec : DatasetSpec
        The dataset spec (excerpt, length and rate rules).
    rate : int
        The dataset's sample rate in Hz.
    with_mixture : bool
        Whether to read the recorded mixture.
    samples : int
        Samples per channel the driver read.
    spot : str
        :meth:`Track.spot_hash` of what the driver read.
    """

    plan: TrackPlan
    spec: DatasetSpec
    rate: int
    with_mixture: bool
    samples: int
    spot: str

    @property
    def name(self) -> str:
        """The track's name."""
        return self.plan.name

    def load(self) -> Track:
        """Read the track; refuse one that differs from what the driver read.

        Raises
        ------
        DatasetError
            The files changed, or this machine sees other files at those paths.
        """
        track = realize(self.plan, self.spec, self.rate, with_mixture=self.with_mixture)
        if track.length != self.samples or track.spot_hash() != self.spot:
            raise DatasetError(
                f"{self.plan.folder or self.name}: differs from what the driver read "
                f"({track.length} samples, expected {self.samples}, or other samples); every "
                "worker must see the driver's dataset files (or use --tracks-via object-store)"
            )
        return track


def fetch_track(handle: Any) -> Track:
    """The track behind a handle: read it (:class:`TrackRecipe`), get it from Ray's store,
    or the track itself (in-process evaluation)."""
    if isinstance(handle, Track):
        return handle
    if isinstance(handle, TrackRecipe):
        return handle.load()
    import ray

    return ray.get(handle)


@dataclass
class Shipped:
    """The tracks of a run, ready for the workers.

    Attributes
    ----------
    handles : list
        Per track, an ``ObjectRef`` (object store) or a :class:`TrackRecipe`.
    via : str
        ``object-store`` or ``dataset``.
    names : list[str]
        Track names, in order.
    rate : int
        Sample rate in Hz.
    length, longest : int
        Samples of the shortest and of the longest track; ``channels``: of the widest.
    track_bytes : int
        Bytes of the largest track as the workers hold it (int16 or float32
        storage, recorded mixture only if shipped), for memory estimates.
    fingerprint : dict
        :func:`~sliceq22.data.load.dataset_fingerprint` of the tracks.
    store_bytes : int
        Bytes of audio put in the object store (0 with ``dataset``).
    """

    handles: list[Any]
    via: str
    names: list[str]
    rate: int
    length: int
    channels: int
    fingerprint: dict[str, Any]
    store_bytes: int = 0
    longest: int = 0
    track_bytes: int = 0
    #: Per target, the tracks in which it is silent (no score can exist there).
    silent_in: dict[str, list[str]] = dataclasses.field(default_factory=dict)


def resolve_via(via: str, spec: DatasetSpec) -> str:
    """``auto`` -> ``dataset`` on a local Ray runtime with a file dataset, else ``object-store``.

    Needs Ray initialised (it looks at the cluster's nodes).
    """
    if via == IN_PROCESS:
        return via
    if via not in TRACKS_VIA:
        raise DatasetError(f"--tracks-via {via!r} is not one of {', '.join(TRACKS_VIA)}")
    if via != "auto":
        return via
    if spec.source == "example":  # decoded in memory: nothing for a worker to read
        return "object-store"
    import ray

    here = ray.get_runtime_context().get_node_id()
    alive = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
    return "dataset" if alive == [here] else "object-store"


def ship_tracks(
    spec: DatasetSpec, *, via: str = "auto", mixture: str = "sum", progress: bool = False
) -> Shipped:
    """Read every track once (fingerprint, sizes) and make it reachable by the workers.

    Parameters
    ----------
    spec : DatasetSpec
        The study's dataset.
    via : {"auto", "object-store", "dataset", "in-process"}
        See the module docstring; ``in-process`` keeps the tracks themselves as
        handles (for an evaluator in this process: a small dataset).
    mixture : str
        The objective's ``mixture`` option: the recorded mixture is shipped
        (and read) only for ``"recorded"``.
    progress : bool
        Show the loading bar on stderr.

    Raises
    ------
    DatasetError
        Any problem of the dataset (one line naming the file).
    """
    via = resolve_via(via, spec)
    with_mixture = mixture == "recorded"
    prepared = prepare(spec)
    shipped = Shipped([], via, [], prepared.rate, 0, 0, {})
    entries, lengths = [], []
    tracks = iter_tracks(prepared, spec, progress, with_mixture=with_mixture)
    for plan, track in zip(prepared.plans, tracks, strict=True):
        entries.append(track_entry(track))
        shipped.names.append(track.name)
        lengths.append(track.length)
        shipped.channels = max(shipped.channels, track.channels)
        shipped.track_bytes = max(shipped.track_bytes, track.nbytes)
        for target in track.silent_targets():
            shipped.silent_in.setdefault(target, []).append(track.name)
        if via == IN_PROCESS:
            shipped.handles.append(track)
        elif via == "object-store":
            import ray

            shipped.handles.append(ray.put(track))
            shipped.store_bytes += track.nbytes
        else:
            shipped.handles.append(
                TrackRecipe(
                    _portable(plan),
                    spec,
                    prepared.rate,
                    with_mixture,
                    track.length,
                    track.spot_hash(),
                )
            )
        del track  # one track in the driver at a time
    shipped.length, shipped.longest = min(lengths), max(lengths)
    shipped.fingerprint = fingerprint_of(entries)
    return shipped


def _portable(plan: TrackPlan) -> TrackPlan:
    """The plan with absolute file paths (a worker's working directory is not the driver's)."""
    parts = {
        key: [
            dataclasses.replace(p, path=os.path.abspath(p.path))
            if isinstance(p, (FilePart, StreamPart)) and p.path
            else p
            for p in parts
        ]
        for key, parts in plan.parts.items()
    }
    return dataclasses.replace(plan, parts=parts)
