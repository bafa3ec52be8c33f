"""Non-looped tracks from the bundled example: random varispeed segments, crossfaded, per stem.

``synth.tiled_track`` repeats the example's 5.9 s, so a long track is one loop
and the longest STFT window wins on it whatever the search does. Here every
stem of every track is built on its own: segments of random length
(``SEGMENT_S``) cut from random positions of the example's stem, each played
at a seeded speed (``SPEED``, log-uniform: varispeed, so pitch and tempo move
together; ``scipy.signal.resample_poly`` with a rational approximation of the
factor), with its own gain (``GAIN``), joined by raised-cosine crossfades of
``FADE_S``. The stems drift against each other (their segment boundaries and
speeds differ), so no bar of a track recurs, within a track or across tracks.
The mixture is the sum of the written stems. Seeded: the same call writes the
same files.

Still one 5.9 s of music underneath (the same instruments and voice), so the
absolute scores are this material's, not MUSDB18-HQ's. Used by
``benchmarks/search.py``; not part of the package.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

#: Segment length range (s, of output).
SEGMENT_S = (1.5, 4.0)
#: Speed factor range (log-uniform); > 1 plays faster (shorter, higher).
SPEED = (0.75, 1.33)
#: Per-segment gain range.
GAIN = (0.3, 0.9)
#: Crossfade length (s), raised cosine.
FADE_S = 0.05
#: Largest denominator of the resampling ratio (resample_poly's up/down).
MAX_DENOMINATOR = 24


def speed_ratio(speed: float) -> Fraction:
    """``speed`` as a fraction ``down / up`` with ``up`` at most MAX_DENOMINATOR."""
    return Fraction(speed).limit_denominator(MAX_DENOMINATOR)


def varispeed(piece: np.ndarray, ratio: Fraction) -> np.ndarray:
    """``piece`` ``(channels, n)`` played at speed ``ratio`` (``n / ratio`` samples out)."""
    from scipy.signal import resample_poly

    return resample_poly(piece, ratio.denominator, ratio.numerator, axis=-1)


def stem_line(stem: np.ndarray, samples: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """One stem ``(channels, period)`` rebuilt to ``samples`` from varispeed segments, float32."""
    channels, period = stem.shape
    fade = max(1, round(FADE_S * rate))
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)).astype(np.float32)
    out = np.zeros((channels, samples + fade), dtype=np.float32)
    at = 0
    while at < samples:
        length = round(rng.uniform(*SEGMENT_S) * rate)
        ratio = speed_ratio(float(np.exp(rng.uniform(np.log(SPEED[0]), np.log(SPEED[1])))))
        need = min(period, int(np.ceil((length + fade) * ratio)) + 8)
        start = int(rng.integers(0, period - need + 1))
        piece = varispeed(stem[:, start : start + need], ratio)[:, : length + fade]
        piece = piece * np.float32(rng.uniform(*GAIN))
        piece[:, :fade] *= ramp
        piece[:, piece.shape[1] - fade :] *= ramp[::-1]
        stop = min(out.shape[1], at + piece.shape[1])
        out[:, at:stop] += piece[:, : stop - at]
        at += piece.shape[1] - fade  # the next segment fades in over this one's fade-out
    return out[:, :samples]


def varispeed_track(stems: np.ndarray, rate: int, samples: int, seed: int) -> np.ndarray:
    """Stems ``(4, channels, period)`` rebuilt to ``samples``, each on its own; int16."""
    rng = np.random.default_rng([seed, 0x5E6])
    lines = [stem_line(stems[k], samples, rate, rng) for k in range(stems.shape[0])]
    return np.clip(np.round(np.stack(lines) * 32768), -32768, 32767).astype(np.int16)


def write_varispeed_track(
    folder: Path, stems: np.ndarray, rate: int, seconds: float, seed: int
) -> None:
    """Write ``drums, bass, other, vocals, mixture .wav`` (16-bit, ``seconds``) into ``folder``."""
    import soundfile as sf

    from synth import STEMS

    folder.mkdir(parents=True, exist_ok=True)
    pcm = varispeed_track(stems, rate, round(seconds * rate), seed)
    for k, name in enumerate(STEMS):
        sf.write(folder / f"{name}.wav", pcm[k].T, rate, subtype="PCM_16")
    mixture = np.clip(pcm.sum(axis=0, dtype=np.int32), -32768, 32767).astype(np.int16)
    sf.write(folder / "mixture.wav", mixture.T, rate, subtype="PCM_16")
