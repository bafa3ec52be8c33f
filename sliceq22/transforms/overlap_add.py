"""The 50 % overlap-add of adjacent slices of a sliced transform.

Sliced transforms (framewise NSGCQ, the sliCQT) analyse half-overlapping
slices; each slice's coefficient block spans twice the hop. Adding the second
half of slice ``i`` to the first half of slice ``i + 1`` gives one continuous
time axis, the view Essentia's ``nsgcq_overlap_add`` and the xumx-sliCQ model use.
"""

from __future__ import annotations

import numpy as np


def overlap_add(slices: np.ndarray) -> np.ndarray:
    """Overlap-add half-overlapping slices into one time axis.

    Parameters
    ----------
    slices : np.ndarray
        ``(..., n_slices, bands, frames)``; ``frames`` must be even.

    Returns
    -------
    np.ndarray
        ``(..., bands, (n_slices + 1) * frames // 2)``.

    Examples
    --------
    >>> overlap_add(np.ones((3, 1, 4))).tolist()
    [[1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0]]
    """
    slices = np.asarray(slices)
    if slices.ndim < 3:
        raise ValueError(f"overlap_add expects (..., slices, bands, frames), got {slices.shape}")
    *batch, n_slices, bands, frames = slices.shape
    if frames % 2:
        raise ValueError(f"overlap_add needs an even number of frames per slice, got {frames}")
    hop = frames // 2
    out = np.zeros((*batch, bands, (n_slices + 1) * hop), dtype=slices.dtype)
    for i in range(n_slices):
        out[..., i * hop : i * hop + frames] += slices[..., i, :, :]
    return out
