"""Shared inputs and checks for the transform tests (STFT, NSG constant-Q, sliCQT).

The audio is the MUSDB18 excerpt bundled with stempeg, decoded by stempeg
directly (not through sliceq22's loader), so what a test feeds a transform is
known independently of the code under test.
"""

from __future__ import annotations

import numpy as np
import stempeg

from sliceq22.transforms import presets

RATE = 44100
#: The example's first samples hold the AAC priming burst; excerpts start past it.
PRIMING = 8192

#: The setting the xumx-sliCQ search found (also the sliCQT's defaults; benchmarks use it too).
BARK262 = dict(presets.BARK262)


def mixture_excerpt(seconds: int = 3) -> np.ndarray:
    """``seconds`` of the example's mixture past the priming burst.

    Returns
    -------
    numpy.ndarray
        float32, contiguous, ``(2, seconds * 44100)`` (channels, samples).
    """
    stems, rate = stempeg.read_stems(stempeg.example_stem_path())
    assert rate == RATE
    return np.ascontiguousarray(stems[0, PRIMING : PRIMING + seconds * RATE].T, dtype=np.float32)


def assert_batch_matches_single_calls(transform, batch: np.ndarray, atol: float = 1e-12) -> None:
    """A batched forward and inverse equal one call per signal and channel.

    Parameters
    ----------
    transform : sliceq22.transforms.base.Transform
        The transform under test.
    batch : numpy.ndarray
        ``(signals, channels, samples)``.
    atol : float
        Absolute tolerance of the coefficient and sample comparisons (0: bitwise equal).
    """
    signals, channels, length = batch.shape
    together = transform.forward(batch)
    restored = transform.inverse(together, length)
    assert restored.shape == batch.shape
    for s in range(signals):
        for c in range(channels):
            alone = transform.forward(batch[s, c])
            assert len(alone) == len(together)
            for block_all, block_one in zip(together, alone):
                np.testing.assert_allclose(block_all[s, c], block_one, rtol=0, atol=atol)
            single = transform.inverse(alone, length)
            np.testing.assert_allclose(restored[s, c], single, rtol=0, atol=atol)
