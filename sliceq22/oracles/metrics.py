"""Separation metrics: global SDR (MDX 2021) and museval's BSSv4 framewise SDR.

Shapes
------
Audio is ``(..., channels, samples)``; every leading index is one *source*
(target). A 2-D array is one source. Scores come back with the leading shape:
a float for one source, ``(sources,)`` for a stack of them.

Silence (a defined result, never NaN noise)
-------------------------------------------
* A source whose reference is all zero has no SDR: its score is ``nan``. The
  objectives report such a target as *excluded* and aggregates skip it.
* :func:`sdr_bss` reproduces museval 0.4.1 exactly where museval gives a
  result: a frame is ``nan`` for **every** source when the reference or the
  estimate of **any** source is silent in that frame (museval's test is
  ``all(sum over channels == 0)``, so a frame whose channels cancel exactly
  counts as silent too), and the score is the median over the remaining
  frames (``np.nanmedian``, as museval's ``TrackStore`` aggregates).
* museval refuses (``ValueError``) a source whose whole reference or whole
  estimate is silent. Here such a source leaves the joint silence rule (it
  would otherwise blank every frame of the others): a silent reference gives
  ``nan`` frames; a silent estimate of a sounding reference is scored by the
  formula (0 dB where the reference sounds).
* A frame or signal without error scores ``+inf`` (museval's ``_safe_db``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sliceq22.errors import ParameterError

#: The regulariser of the MDX 2021 starter kit, added to both energies when
#: ``delta`` is asked for (default 0: the plain ratio).
MDX_DELTA = 1e-7


def _as_sources(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return float64 ``(sources, channels, samples)`` views of both inputs."""
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ValueError(
            f"reference {reference.shape} and estimate {estimate.shape} differ in shape"
        )
    if reference.ndim == 1:  # mono (samples,)
        reference, estimate = reference[None], estimate[None]
    n_channels, n_samples = reference.shape[-2:]
    return (
        reference.reshape(-1, n_channels, n_samples),
        estimate.reshape(-1, n_channels, n_samples),
    )


def _leading_shape(reference: np.ndarray) -> tuple[int, ...]:
    shape = np.shape(reference)
    return tuple(shape[:-2]) if len(shape) >= 2 else ()


def _to_db(power: np.ndarray, error: np.ndarray) -> np.ndarray:
    """``10·log10(power / error)``: ``+inf`` where error is 0, ``nan`` where power is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10.0 * np.log10(power / error)
    db = np.where(error == 0.0, np.inf, db)
    return np.where(power == 0.0, np.nan, db)


def _shape_result(values: np.ndarray, leading: tuple[int, ...]) -> float | np.ndarray:
    values = values.reshape(leading + values.shape[1:])
    return float(values) if values.ndim == 0 else values


def sdr_global(
    reference: np.ndarray, estimate: np.ndarray, *, delta: float = 0.0
) -> float | np.ndarray:
    """Global SDR of the Music Demixing Challenge 2021.

    ``10·log10(Σ s² / Σ (s − ŝ)²)`` over all channels and samples, in float64.

    Parameters
    ----------
    reference, estimate : np.ndarray
        ``(..., channels, samples)`` (or ``(samples,)``), same shape.
    delta : float
        Added to both sums; the MDX starter kit used :data:`MDX_DELTA`. With the
        default 0 a silent reference gives ``nan`` (see the module notes).

    Returns
    -------
    float or np.ndarray
        SDR in dB, shape ``(...)`` (a float for one source).

    Examples
    --------
    >>> s = np.array([[1.0, -1.0, 1.0, -1.0]])
    >>> round(sdr_global(s, 0.9 * s), 3)
    20.0
    """
    leading = _leading_shape(reference)
    ref, est = _as_sources(reference, estimate)
    difference = (ref - est).reshape(ref.shape[0], -1)
    flat = ref.reshape(ref.shape[0], -1)
    power = np.einsum("sn,sn->s", flat, flat) + delta
    error = np.einsum("sn,sn->s", difference, difference) + delta
    return _shape_result(_to_db(power, error), leading)


def _channel_sum(audio: np.ndarray) -> np.ndarray:
    """``(sources, channels, samples)`` -> ``(sources, samples)``, channels added in order."""
    total = audio[:, 0].copy()
    for channel in range(1, audio.shape[1]):
        total += audio[:, channel]
    return total


def frame_count(length: int, win: int, hop: int) -> int:
    """Number of museval frames: full windows only; one whole-signal frame if ``win ≥ length``."""
    if win < length:
        return int((length - win + hop) // hop)
    return 1


def sdr_bss_frames(
    reference: np.ndarray,
    estimate: np.ndarray,
    rate: int = 44100,
    win: int | None = None,
    hop: int | None = None,
    *,
    joint: bool = True,
) -> np.ndarray:
    """museval's BSSv4 SDR of every frame.

    museval 0.4.1 (``bss_eval`` with time-invariant filters, the v4 mode)
    decomposes each frame's estimate into the projections of the references;
    the SDR's numerator is the reference energy and its denominator the energy
    of the three error terms, which sum to ``ŝ − s``. So the framewise SDR is
    ``10·log10(Σ s² / Σ (s − ŝ)²)`` over the frame's samples and channels,
    computed here without the 512-tap filters.

    Parameters
    ----------
    reference, estimate : np.ndarray
        ``(..., channels, samples)``, same shape; the leading entries are the
        sources evaluated together (museval's ``references``).
    rate : int
        Sample rate; ``win`` and ``hop`` default to one second of it.
    win, hop : int, optional
        Window and hop in samples. The trailing partial window is dropped; a
        signal shorter than ``win`` is one frame.
    joint : bool
        ``True`` (museval): a frame silent in any source's reference or
        estimate is ``nan`` for all sources. ``False``: only for that source.

    Returns
    -------
    np.ndarray
        ``(..., frames)`` SDR in dB per frame (``nan``: silent frame).
    """
    win = int(rate if win is None else win)
    hop = int(rate if hop is None else hop)
    if win <= 0 or hop <= 0:
        raise ParameterError(f"sdr-bss: window {win} and hop {hop} must be positive")
    leading = _leading_shape(reference)
    ref, est = _as_sources(reference, estimate)
    n_samples = ref.shape[-1]
    n_frames = frame_count(n_samples, win, hop)
    width = min(win, n_samples)

    def framed(per_sample: np.ndarray) -> np.ndarray:
        """``(sources, samples)`` -> ``(sources, frames, width)`` (views where possible)."""
        if hop == width:
            return per_sample[:, : n_frames * width].reshape(per_sample.shape[0], n_frames, width)
        return sliding_window_view(per_sample, width, axis=-1)[:, ::hop][:, :n_frames]

    # Energies per sample (summed over channels), then per frame; einsum avoids
    # the squared temporaries (this runs once per track and candidate).
    difference = ref - est
    power = framed(np.einsum("scn,scn->sn", ref, ref)).sum(axis=-1)
    error = framed(np.einsum("scn,scn->sn", difference, difference)).sum(axis=-1)
    del difference

    # museval's silence test: the channel sum is zero at every sample of the frame.
    ref_sounds = _channel_sum(ref) != 0.0  # (sources, samples)
    est_sounds = _channel_sum(est) != 0.0
    sdr = bss_frames_from_sums(
        power,
        error,
        ref_sounds=np.asarray(framed(ref_sounds).any(axis=-1)),
        est_sounds=np.asarray(framed(est_sounds).any(axis=-1)),
        ref_sounds_anywhere=np.asarray(ref_sounds.any(axis=-1)),
        est_sounds_anywhere=np.asarray(est_sounds.any(axis=-1)),
        joint=joint,
    )
    return sdr.reshape(leading + (n_frames,))


def bss_frames_from_sums(
    power: np.ndarray,
    error: np.ndarray,
    *,
    ref_sounds: np.ndarray,
    est_sounds: np.ndarray,
    ref_sounds_anywhere: np.ndarray,
    est_sounds_anywhere: np.ndarray,
    joint: bool = True,
) -> np.ndarray:
    """museval's framewise SDR from per-frame sums, with its silence rules.

    Parameters
    ----------
    power, error : np.ndarray
        float64 ``(sources, frames)``: ``Σ s²`` and ``Σ (s − ŝ)²`` per frame.
    ref_sounds, est_sounds : np.ndarray
        bool ``(sources, frames)``: some sample of the frame has a non-zero
        channel sum in the reference / the estimate.
    ref_sounds_anywhere, est_sounds_anywhere : np.ndarray
        bool ``(sources,)``: the same over the whole signal (trailing partial
        frame included), museval's refusal test.
    joint : bool
        See :func:`sdr_bss_frames`.

    Returns
    -------
    np.ndarray
        float64 ``(sources, frames)`` SDR in dB (``nan``: silent frame).
    """
    sdr = _to_db(power, error)
    ref_silent, est_silent = ~ref_sounds, ~est_sounds
    # Sources museval would refuse outright stay out of the joint rule.
    whole_ref, whole_est = ~ref_sounds_anywhere, ~est_sounds_anywhere
    outside = whole_ref | whole_est
    own_silent = ref_silent | (est_silent & ~whole_est[:, None])
    if joint:
        inside = ~outside
        any_silent = np.any(own_silent[inside], axis=0)  # (frames,)
        silent = np.where(inside[:, None], any_silent[None, :], own_silent)
    else:
        silent = own_silent
    return np.where(silent | whole_ref[:, None], np.nan, sdr)


def nan_median(values: np.ndarray, axis: int = -1) -> float | np.ndarray:
    """``np.nanmedian`` without the all-NaN warning (an all-NaN slice gives ``nan``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = np.nanmedian(np.asarray(values, dtype=np.float64), axis=axis)
    return float(result) if np.ndim(result) == 0 else result


def sdr_bss(
    reference: np.ndarray,
    estimate: np.ndarray,
    rate: int = 44100,
    win: int | None = None,
    hop: int | None = None,
    *,
    joint: bool = True,
) -> float | np.ndarray:
    """museval's BSSv4 SDR of a track: the median over frames of :func:`sdr_bss_frames`.

    Equals ``np.nanmedian(museval.evaluate(refs, ests, win, hop)[0], axis=1)``
    (refs and ests as ``(sources, samples, channels)``) wherever museval gives
    a result; see the module notes for silent sources.

    Returns
    -------
    float or np.ndarray
        Median SDR in dB, shape ``(...)`` (``nan`` if no frame is defined).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((2, 3 * 44100))
    >>> round(sdr_bss(s, 0.5 * s), 2)
    6.02
    """
    frames = sdr_bss_frames(reference, estimate, rate, win, hop, joint=joint)
    return nan_median(frames, axis=-1)


#: A metric scores stacked sources: ``(references, estimates, rate) -> (scores, frames)``
#: with arrays ``(sources, channels, samples)``, scores ``(sources,)`` and frames
#: ``(sources, frames)`` or ``None`` for a metric without frames.
Metric = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray | None]]


def _global_metric(ref: np.ndarray, est: np.ndarray, rate: int) -> tuple[np.ndarray, None]:
    return np.atleast_1d(sdr_global(ref, est)), None


def _bss_metric(ref: np.ndarray, est: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    frames = sdr_bss_frames(ref, est, rate)
    return np.atleast_1d(nan_median(frames, axis=-1)), frames


#: name -> metric; both are maximised (dB).
METRICS: dict[str, Metric] = {
    "sdr-global": _global_metric,
    "sdr-bss": _bss_metric,
}


def get_metric(name: str) -> Metric:
    """Return the metric called ``name``, or raise :class:`ParameterError` with the known names."""
    try:
        return METRICS[name]
    except KeyError:
        raise ParameterError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None


__all__ = [
    "MDX_DELTA",
    "bss_frames_from_sums",
    "METRICS",
    "Metric",
    "frame_count",
    "get_metric",
    "nan_median",
    "sdr_bss",
    "sdr_bss_frames",
    "sdr_global",
]
