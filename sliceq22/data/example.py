"""The bundled example: the MUSDB18 excerpt shipped inside ``stempeg``.

``stempeg.read_stems(stempeg.example_stem_path())`` gives float64
``(5, 268288, 2)`` at 44.1 kHz: streams mixture, drums, bass, other, vocals
(checked against the file's NI ``stem`` metadata: ``Drums, Bass, Other, Vox``).

Edge artefacts, measured with FFmpeg 5.1 (identical in all five streams):

* samples ``[0, 1984)``: exact zeros (AAC encoder priming, not flagged in the
  container, so the decoder outputs it);
* ``[1984, 2176)``: a click burst, peak ~0.7 in every stream (the bass stem's
  normal peak is ~0.1); the stem sum differs from the mixture by -8 to -12 dB
  SNR there, against ~22 dB in the middle of the file;
* ``[266668, 266860)``: the ending burst, peak ~1.0 in every stream, followed by
  a decaying tail to sample 267455 and zeros to the end (268288).

With ``trim=True`` (the default) the first and last :data:`TRIM_SAMPLES`
(4096, four AAC frames) are dropped, which removes both bursts with a margin of
~1900 samples at the start and ~2500 at the end: 260096 samples (5.90 s) remain,
and ``Track.offset`` still counts from the file's first decoded sample.
``trim=False`` gives the raw 268288 samples (issue 5's reference numbers).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.audio import ArrayPart
from sliceq22.data.plan import TrackPlan
from sliceq22.data.stems_mp4 import stem_order
from sliceq22.errors import DatasetError

#: Samples dropped at each edge of the example when ``trim`` is on.
TRIM_SAMPLES = 4096
#: Decoded length of the example (samples per channel).
RAW_SAMPLES = 268288


def example_path() -> Path:
    """Path of the bundled ``.stem.mp4``."""
    import stempeg

    return Path(stempeg.example_stem_path())


@functools.lru_cache(maxsize=1)
def _decoded() -> tuple[np.ndarray, int]:
    """Decode once per process: float32 ``(5, 2, samples)`` in stream order, and the rate."""
    import stempeg

    path = example_path()
    try:
        stems, rate = stempeg.read_stems(str(path))
    except Exception as exc:  # stempeg raises bare Warning/RuntimeError
        raise DatasetError(f"{path}: cannot decode the bundled example ({exc})") from None
    audio = np.ascontiguousarray(np.transpose(stems, (0, 2, 1)), dtype=np.float32)
    audio.setflags(write=False)
    return audio, int(rate)


def example_plan(trim: bool = True) -> TrackPlan:
    """Describe the bundled example as a :class:`TrackPlan` (decoded in memory)."""
    path = example_path()
    audio, rate = _decoded()
    if audio.shape[0] != 5:
        raise DatasetError(f"{path}: {audio.shape[0]} streams, expected 5")
    order, _raw = stem_order(path)
    notes = []
    if order is None:
        order = list(TARGETS)
        notes.append("no stem metadata in the file; assumed MUSDB stream order")
    parts: dict[str, list] = {"mixture": [_part(path, 0, audio[0], rate)]}
    for k, target in enumerate(order, start=1):
        parts[target] = [_part(path, k, audio[k], rate)]
    trims = (TRIM_SAMPLES, TRIM_SAMPLES) if trim else (0, 0)
    if trim:
        notes.append(f"trimmed {TRIM_SAMPLES} samples at each edge (AAC priming/ending bursts)")
    return TrackPlan(
        name=path.name.removesuffix(".stem.mp4"),
        source="example",
        parts=parts,
        notes=notes,
        trim=trims,
        folder=str(path),
    )


def _part(path: Path, stream: int, data: np.ndarray, rate: int) -> ArrayPart:
    return ArrayPart(
        where=f"{path}#{stream}",
        rate=rate,
        channels=int(data.shape[0]),
        frames=int(data.shape[-1]),
        data=data,
    )
