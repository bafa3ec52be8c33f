"""Small dataset trees built from the bundled example, for the data-layer tests.

The audio comes from decoding the example with stempeg directly (not through
sliceq22's loader), from its clean middle (past the AAC edge bursts), so what a
test writes is known independently of the code under test.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100
TARGETS = ("drums", "bass", "other", "vocals")
STREAMS = ("mixture", *TARGETS)
#: Excerpts start one second in: well past the example's 4096-sample edge bursts.
CLEAN_START = RATE


@functools.lru_cache(maxsize=1)
def example_streams() -> np.ndarray:
    """The example decoded by stempeg: float32 ``(5, 2, 268288)``, streams in file order."""
    import stempeg

    stems, rate = stempeg.read_stems(stempeg.example_stem_path())
    assert rate == RATE
    out = np.ascontiguousarray(np.transpose(stems, (0, 2, 1)), dtype=np.float32)
    out.setflags(write=False)
    return out


def excerpt(seconds: float = 1.0, start: int = CLEAN_START) -> dict[str, np.ndarray]:
    """``{mixture, drums, bass, other, vocals}`` -> float32 ``(2, n)`` copies from the example."""
    n = round(seconds * RATE)
    streams = example_streams()
    return {name: streams[k][:, start : start + n].copy() for k, name in enumerate(STREAMS)}


def write(path: Path, audio: np.ndarray, rate: int = RATE, subtype: str = "FLOAT") -> np.ndarray:
    """Write ``(channels, n)`` (or ``(n,)`` mono) audio; return what the file holds, read back.

    The read-back array (float32 ``(channels, n)``) is the reference a loader
    must reproduce sample by sample.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = np.asarray(audio, np.float32)
    data = audio if audio.ndim == 1 else audio.T
    sf.write(str(path), data, rate, subtype=subtype)
    back, back_rate = sf.read(str(path), dtype="float32", always_2d=True)
    assert back_rate == rate
    return np.ascontiguousarray(back.T)


def musdb_hq_track(
    root: Path,
    name: str,
    stems: dict[str, np.ndarray],
    subset: str = "train",
    rates: dict[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """Write ``root/subset/name/<stem>.wav`` for each entry of ``stems``; return what was
    written."""
    folder = root / subset / name
    rates = rates or {}
    return {s: write(folder / f"{s}.wav", a, rates.get(s, RATE)) for s, a in stems.items()}


def stem_mp4(path: Path, stems: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Write a five-stream ``.stem.mp4`` (ALAC, lossless 16-bit) in MUSDB stream order.

    Returns the 16-bit-quantised float32 arrays the file holds (from the WAVs
    FFmpeg encoded). No NI ``stem`` metadata box is written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.src"
    tmp.mkdir(exist_ok=True)
    written = {}
    inputs: list[str] = []
    for s in STREAMS:
        wav = tmp / f"{s}.wav"
        written[s] = write(wav, stems[s], subtype="PCM_16")
        inputs += ["-i", str(wav)]
    maps = [a for k in range(len(STREAMS)) for a in ("-map", str(k))]
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, *maps, "-c:a", "alac", str(path)],
        check=True,
    )
    return written


def onair_track(
    root: Path,
    subset: str,
    title: str,
    files: dict[str, np.ndarray],
    rates: dict[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """Write an OnAir track folder ``root/subset/"<title> - OnAir Music"/`` with raw-named files.

    ``files`` maps file names (``"Kick.wav"``; the key ``"mix"`` becomes the
    mastered mix ``"<title> - OnAir Music.wav"``) to audio; returns file name ->
    what was written.
    """
    folder = root / subset / f"{title} - OnAir Music"
    rates = rates or {}
    out = {}
    for fname, audio in files.items():
        real = f"{title} - OnAir Music.wav" if fname == "mix" else fname
        out[real] = write(folder / real, audio, rates.get(fname, RATE))
    return out


def split_signal(audio: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """Split ``audio`` into ``k`` float32 parts with random per-sample weights (sum ~ audio)."""
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(k), size=audio.shape[-1]).T  # (k, n), columns sum to 1
    return [(audio * w[i]).astype(np.float32) for i in range(k)]
