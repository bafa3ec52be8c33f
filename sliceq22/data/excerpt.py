"""Cutting a stretch of seconds out of audio already in memory.

:func:`cut_excerpt` takes ``[start, start + duration)`` seconds of an array
(default: the middle), for pictures and listening (``sliceq22 spectrogram``,
the report's spectrograms). It is not how a *dataset* chooses the excerpt it
scores: :func:`sliceq22.data.plan.choose_excerpt` decides a track's start and
length in samples from a :class:`~sliceq22.data.spec.DatasetSpec` (seeded
random starts, trimmed edges) before any audio is read.
"""

from __future__ import annotations

import numpy as np

from sliceq22.errors import ParameterError


def cut_excerpt(
    audio: np.ndarray, rate: int, start: float | None, duration: float | None
) -> tuple[np.ndarray, float]:
    """Cut ``[start, start + duration)`` seconds out of audio in memory.

    Parameters
    ----------
    audio : np.ndarray
        ``(..., samples)``, e.g. ``(channels, samples)``, at ``rate``.
    rate : int
        Sample rate in Hz.
    start : float or None
        First second of the excerpt (≥ 0, before the end); ``None``: centred
        in the audio.
    duration : float or None
        Length in seconds (> 0), shortened to what the audio holds; ``None``:
        all of it.

    Returns
    -------
    excerpt : np.ndarray
        ``(..., samples')``, a view of ``audio``.
    start_seconds : float
        Where the excerpt starts in ``audio``, in seconds.

    Raises
    ------
    ParameterError
        A non-positive duration, a negative start, or a start past the end.

    Examples
    --------
    >>> part, start = cut_excerpt(np.arange(10.0), 2, None, 2.0)
    >>> part.tolist(), start
    ([3.0, 4.0, 5.0, 6.0], 1.5)
    """
    total = audio.shape[-1]
    want = total if duration is None else round(duration * rate)
    if want <= 0:
        raise ParameterError(f"duration {duration!r} s must be positive")
    want = min(want, total)
    if start is None:
        first = (total - want) // 2
    else:
        if start < 0:
            raise ParameterError(f"start {start!r} s must not be negative")
        first = round(start * rate)
        if first >= total:
            raise ParameterError(
                f"start {start} s is past the end of the audio ({total / rate:.2f} s)"
            )
        want = min(want, total - first)
    return audio[..., first : first + want], first / rate


__all__ = ["cut_excerpt"]
