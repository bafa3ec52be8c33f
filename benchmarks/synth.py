"""Full-length tracks synthesized from the bundled example, written as 16-bit WAV stems.

The example's stems (the MUSDB18 excerpt inside stempeg, AAC edge bursts
trimmed) are tiled to the wanted length; every repeat of every stem gets its
own gain, drawn from a generator seeded by the track's index, so the same call
always writes the same files and no two repeats (or tracks) are identical.
The mixture is the sum of the written stems (clipped to full scale).

Used by ``benchmarks/fullstudy.py`` and ``benchmarks/trackmem.py``; not part
of the package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: musdb's 14 validation track names (``musdb/configs/mus.yaml``): a
#: ``train/`` folder holding these is the ``split = "valid"`` of a MUSDB18-HQ tree.
VALIDATION_TRACKS: tuple[str, ...] = (
    "Actions - One Minute Smile",
    "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies",
    "Patrick Talbot - A Reason To Leave",
    "Triviul - Angelsaint",
    "Alexander Ross - Goodbye Bolero",
    "Fergessen - Nos Palpitants",
    "Leaf - Summerghost",
    "Skelpolu - Human Mistakes",
    "Young Griffo - Pennies",
    "ANiMAL - Rockshow",
    "James May - On The Line",
    "Meaxic - Take A Step",
    "Traffic Experiment - Sirens",
)
STEMS = ("drums", "bass", "other", "vocals")
#: Samples of AAC priming/ending bursts dropped at each edge of the example.
TRIM = 4096


def example_stems() -> tuple[np.ndarray, int]:
    """The example's four targets, trimmed: float32 ``(4, channels, samples)`` and the rate."""
    import stempeg

    stems, rate = stempeg.read_stems(stempeg.example_stem_path())
    # stempeg: (streams, samples, channels), streams mixture, drums, bass, other, vocals.
    targets = np.transpose(stems[1:5, TRIM:-TRIM], (0, 2, 1)).astype(np.float32)
    return np.ascontiguousarray(targets), int(rate)


def tiled_track(stems: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Stems tiled to ``samples``, one gain in [0.35, 0.9] per repeat and stem.

    Returns int16 ``(4, channels, samples)``.
    """
    rng = np.random.default_rng(seed)
    n_stems, channels, period = stems.shape
    out = np.empty((n_stems, channels, samples), dtype=np.int16)
    for start in range(0, samples, period):
        stop = min(samples, start + period)
        gains = rng.uniform(0.35, 0.9, size=(n_stems, 1, 1)).astype(np.float32)
        piece = stems[..., : stop - start] * gains
        out[..., start:stop] = np.clip(np.round(piece * 32768), -32768, 32767).astype(np.int16)
    return out


def write_track(
    folder: Path, stems: np.ndarray, rate: int, seconds: float, seed: int, subtype: str = "PCM_16"
) -> None:
    """Write ``drums, bass, other, vocals, mixture .wav`` of ``seconds`` into ``folder``.

    ``subtype`` is soundfile's: ``PCM_16`` (MUSDB18-HQ's) or ``FLOAT`` (the same
    samples as 32-bit float).
    """
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    pcm = tiled_track(stems, round(seconds * rate), seed)
    for k, name in enumerate(STEMS):
        sf.write(folder / f"{name}.wav", pcm[k].T, rate, subtype=subtype)
    mixture = np.clip(pcm.sum(axis=0, dtype=np.int32), -32768, 32767).astype(np.int16)
    sf.write(folder / "mixture.wav", mixture.T, rate, subtype=subtype)


def track_seconds(index: int, count: int, low_min: float, high_min: float) -> float:
    """Seconds of track ``index`` of ``count``, spread evenly over ``[low_min, high_min]`` min."""
    if count == 1:
        return 60.0 * (low_min + high_min) / 2
    return 60.0 * (low_min + (high_min - low_min) * index / (count - 1))


def write_musdb_tree(root: Path, tracks: int, low_min: float, high_min: float) -> list[str]:
    """A MUSDB18-HQ-shaped tree ``root/train/<validation track>/*.wav``; returns the track names.

    At most 14 tracks (musdb's validation split has 14).
    """
    if not 1 <= tracks <= len(VALIDATION_TRACKS):
        raise ValueError(f"tracks must be 1..{len(VALIDATION_TRACKS)}")
    stems, rate = example_stems()
    names = list(VALIDATION_TRACKS[:tracks])
    for i, name in enumerate(names):
        seconds = track_seconds(i, tracks, low_min, high_min)
        write_track(root / "train" / name, stems, rate, seconds, seed=i)
    (root / "test").mkdir(parents=True, exist_ok=True)
    return names
