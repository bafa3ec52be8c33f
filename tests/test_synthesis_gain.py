"""The per-band synthesis gains that weight the learned de-overlap's training rows."""

from __future__ import annotations

import numpy as np
import pytest
import stempeg

from sliceq22.deoverlap.synthesis_gain import synthesis_gains
from sliceq22.transforms import make_transform, presets


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    """The example's mixture, left channel, 4 s: float32 ``(1, samples)``."""
    audio, _ = stempeg.read_stems(stempeg.example_stem_path())
    return np.ascontiguousarray(audio[0, 8192 : 8192 + 4 * 44100, :1].T, dtype=np.float32)


def test_a_bands_gain_predicts_its_time_domain_energy_on_music(music: np.ndarray) -> None:
    # Measured on white noise, used on music: a band synthesised alone carries its gain
    # times its coefficient energy, within a factor 1.5, in each of the three blocks.
    transform = make_transform("nsgcq", dict(presets.NSGCQ_SEED_FRAMEWISE))
    gains = synthesis_gains(transform)
    blocks = transform.forward(music)
    assert [g.shape[0] for g in gains] == [b.shape[-2] for b in blocks] == [1, 313, 1]
    length = music.shape[-1]
    for k, band in [(0, 0), (1, 10), (1, 150), (1, 300), (2, 0)]:
        alone = [np.zeros_like(b) for b in blocks]
        alone[k][..., band, :] = blocks[k][..., band, :]
        energy = np.sum(transform.inverse(alone, length).astype(np.float64) ** 2)
        coefficient = np.sum(np.abs(blocks[k][..., band, :]).astype(np.float64) ** 2)
        assert 1 / 1.5 < energy / (gains[k][band] * coefficient) < 1.5, (k, band)
    # the frame is far from tight here: what makes the weighting matter
    assert gains[1].max() / gains[1].min() > 100 and gains[0][0] > 10 * np.median(gains[1])


def test_gains_are_cached_per_setting() -> None:
    bark = make_transform("slicqt", dict(presets.BARK262))
    assert synthesis_gains(bark) is synthesis_gains(make_transform("slicqt", dict(presets.BARK262)))
    first = synthesis_gains(bark)[0]
    assert first.ndim == 1 and (first > 0).all()
