"""Spectrogram views of a sliced transform's OLA view: the view, its de-overlap, the error.

A sliced transform (the sliCQT, framewise NSGCQ) gives each slice a block
spanning twice the hop; a demixing network sees the 50 % overlap-add (OLA)
of the slice magnitudes, and its output must be split back into slices
(:mod:`sliceq22.deoverlap`). These views show what that costs for one
signal, drawn by the spectrogram views' own machinery
(:func:`~sliceq22.report.spectrogram.overlap_added_view`,
:func:`~sliceq22.report.spectrogram.ragged_view`) on the comparable cell
energies ``w_k · |c|²`` of :mod:`~sliceq22.report.spectrogram_energy`:

``ola``
    ``w_k · OLA(|s|)²``, channels added: the view, on the signal's time axis.
``de-overlapped``
    ``w_k · |ŝ|²`` of the slices the de-overlap gives back, laid end to end
    as in the ragged view, in dB below the loudest *true* slice cell.
``error``
    ``w_k · (|ŝ| - |s|)²`` per cell, on the same axes and the same 0 dB, so
    an error cell at -30 dB is as loud as a signal cell at -30 dB.

The numbers (:class:`OlaViews`) are not clipped at the display floor:
``reconstruction_snr_db`` is the self-reconstruction SNR of
``benchmarks/deoverlap.py`` (de-overlapped magnitudes with the signal's own
phase, inverted, against the signal), ``slice_snr_db`` the same on the slice
magnitudes, ``peak_error_db`` the loudest error cell against the loudest
true cell.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from sliceq22.deoverlap.methods import Deoverlap
from sliceq22.deoverlap.pieces import sliced
from sliceq22.deoverlap.split import overlap_add
from sliceq22.errors import ParameterError
from sliceq22.oracles.cells import cell_energies
from sliceq22.report.spectrogram import overlap_added_view, ragged_view
from sliceq22.report.spectrogram_energy import BlockEnergy, block_energies
from sliceq22.report.spectrogram_figure import SpectrogramView
from sliceq22.transforms.base import Coefficients, Transform


@dataclass
class OlaViews:
    """The three views of a de-overlapped OLA view and what they come to.

    Attributes
    ----------
    views : list[SpectrogramView]
        ``ola``, ``de-overlapped``, ``error``.
    method : str
        The de-overlap, as named in ``--deoverlap``.
    reconstruction_snr_db : float
        ``10·log10(Σ x² / Σ (x - x̂)²)`` of the signal ``x`` and ``x̂`` = the
        inverse of the de-overlapped magnitudes with the signal's own phase
        (``inf`` when exact).
    slice_snr_db : float
        ``10·log10(Σ |s|² / Σ (|ŝ| - |s|)²)`` over every slice coefficient.
    peak_error_db : float
        The loudest error cell's comparable energy in dB against the loudest
        true slice cell's (DC and Nyquist bands left out).
    """

    views: list[SpectrogramView]
    method: str
    reconstruction_snr_db: float
    slice_snr_db: float
    peak_error_db: float

    def describe(self) -> str:
        """``"de-overlap 'halves': reconstruction SNR 7.4 dB, slices 6.9 dB, ..."``."""
        return (
            f"de-overlap {self.method!r}: reconstruction SNR {self.reconstruction_snr_db:.1f} dB "
            f"(own phase), slice magnitudes {self.slice_snr_db:.1f} dB, loudest error cell "
            f"{self.peak_error_db:.1f} dB"
        )


def _channels(audio: np.ndarray) -> np.ndarray:
    """float32 ``(channels, samples)`` from ``(samples,)`` or ``(channels, samples)``."""
    audio = np.asarray(audio, dtype=np.float32)
    audio = audio[None] if audio.ndim == 1 else audio
    if audio.ndim != 2 or audio.shape[-1] == 0:
        raise ParameterError(
            f"audio must be (channels, samples) with samples > 0, got shape {audio.shape}"
        )
    return audio


def _snr_db(signal: float, error: float) -> float:
    """``10·log10(signal / error)``; ``inf`` for no error, ``nan`` for no signal."""
    if signal <= 0:
        return math.nan
    return math.inf if error <= 0 else 10.0 * math.log10(signal / error)


def _ola_energies(
    truth: list[BlockEnergy], magnitudes: Coefficients, channel: int | None
) -> list[BlockEnergy]:
    """``w_k · OLA(|s|)²`` of every block on its measured axis, channels added.

    The grid's complex overlap-add of real magnitudes is the OLA of the magnitudes.
    """
    out = []
    for block, m in zip(truth, magnitudes):
        m = m if channel is None else m[channel : channel + 1]
        grid = dataclasses.replace(block.grid, slice_overlap="complex")
        out.append(BlockEnergy(block.slices, cell_energies(m, grid, sum_axis=0), block.grid))
    return out


def _peak(blocks: list[BlockEnergy]) -> float:
    """The loudest drawn cell of ``blocks``' slices (DC and Nyquist bands left out)."""
    return max((float(b.slices[:, b.keep].max(initial=0.0)) for b in blocks), default=0.0)


def _rename(view: SpectrogramView, kind: str, note: str) -> SpectrogramView:
    return dataclasses.replace(view, kind=kind, note=note)


def ola_views(
    transform: Transform,
    audio: np.ndarray,
    method: Deoverlap,
    *,
    mixture: np.ndarray | None = None,
    channel: int | None = None,
    columns: int = 900,
    rows: int = 256,
) -> OlaViews:
    """The OLA view of ``audio``'s slice magnitudes, its de-overlap by ``method``, and the error.

    Parameters
    ----------
    transform : Transform
        A sliced transform (else a one-line :class:`ParameterError`).
    audio : np.ndarray
        Real ``(samples,)`` or ``(channels, samples)`` at ``transform.rate``.
    method : Deoverlap
        The de-overlap (:func:`~sliceq22.deoverlap.make_deoverlap`).
    mixture : np.ndarray, optional
        The mixture ``audio`` is part of, same shape (``mixture`` is guided by
        its slices); default ``audio`` itself (``audio`` is a mixture).
    channel : int, optional
        Draw and score this channel; default all channels (energies added).
    columns, rows : int
        Display grid (pixels) of each view.

    Returns
    -------
    OlaViews
    """
    framed = sliced(transform, "the OLA view")
    audio = _channels(audio)
    length = audio.shape[-1]
    coefs = framed.forward(audio)
    guide = coefs if mixture is None else framed.forward(_channels(mixture))
    magnitudes = [np.abs(b) for b in coefs]
    ola = [overlap_add(m)[None] for m in magnitudes]
    units = framed.framing(length).units
    split, _, _ = method.split(framed, ola, guide, 0, units, length)
    estimates = [s[0] for s in split]  # (channels, slices, bands, 2h) magnitudes
    truth = block_energies(framed, coefs, length, channel)  # checks the channel
    shown = slice(None) if channel is None else slice(channel, channel + 1)
    # the numbers, unclipped
    rebuilt = framed.inverse([e * _phase(c) for e, c in zip(estimates, coefs)], length)
    x = audio[shown].astype(np.float64)
    reconstruction = _snr_db(float(np.sum(x**2)), float(np.sum((x - rebuilt[shown]) ** 2)))
    errors = [e - m for e, m in zip(estimates, magnitudes)]
    slices = _snr_db(
        sum(float(np.sum(np.square(m[shown], dtype=np.float64))) for m in magnitudes),
        sum(float(np.sum(np.square(d[shown], dtype=np.float64))) for d in errors),
    )
    error_blocks = block_energies(framed, errors, length, channel)
    reference = _peak(truth)
    peak_error = 10.0 * math.log10(max(_peak(error_blocks), 1e-300) / max(reference, 1e-300))
    views = _draw(
        framed, length, truth, magnitudes, estimates, error_blocks, channel, (columns, rows)
    )
    return OlaViews(views, method.name, reconstruction, slices, peak_error)


def _phase(coefficients: np.ndarray) -> np.ndarray:
    magnitude = np.abs(coefficients)
    return np.divide(coefficients, magnitude, out=np.ones_like(coefficients), where=magnitude > 0)


def _draw(
    framed: Transform,
    length: int,
    truth: list[BlockEnergy],
    magnitudes: Coefficients,
    estimates: Coefficients,
    errors: list[BlockEnergy],
    channel: int | None,
    size: tuple[int, int],
) -> list[SpectrogramView]:
    """The three panels; the de-overlapped slices and the error at the true slices' 0 dB."""
    columns, rows = size
    duration = length / framed.rate
    reference = _peak(truth)
    ola = overlap_added_view(_ola_energies(truth, magnitudes, channel), duration, columns, rows)
    split = block_energies(framed, estimates, length, channel)
    back = ragged_view(split, duration, framed, columns, rows, True, reference)
    wrong = ragged_view(errors, duration, framed, columns, rows, True, reference)
    return [
        _rename(
            ola,
            "ola",
            "OLA view: the slice magnitudes overlap-added into one time axis (what a demixing "
            "network sees), comparable energy of each cell at its true duration.",
        ),
        _rename(
            back,
            "de-overlapped",
            "De-overlapped: the slices split back from the OLA view, laid end to end, in dB "
            "below the loudest true slice cell.",
        ),
        _rename(
            wrong,
            "error",
            "Error: (de-overlapped − true magnitude)² per cell, weighted like the energies, in dB "
            "below the loudest true slice cell.",
        ),
    ]


__all__ = ["OlaViews", "ola_views"]
