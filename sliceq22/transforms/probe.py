"""The feasibility probe: does a transform setting reconstruct white noise?

A setting is scored only if a short white-noise probe comes back through
``forward`` and ``inverse`` at least :data:`FEASIBLE_SNR_DB` clean and in the
shape it went in. :func:`noise_probe` runs it once per (family, rate,
parameters) in this process; :meth:`~sliceq22.transforms.base.Transform.feasibility`
calls it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sliceq22.transforms.base import Transform

#: A setting is usable only if a noise probe comes back at least this clean.
FEASIBLE_SNR_DB = 100.0


@dataclass(frozen=True)
class Feasibility:
    """Outcome of a transform's feasibility probe.

    Attributes
    ----------
    ok : bool
        Whether the setting may be scored.
    reason : str
        Why not (empty when ``ok``).
    snr_db : float
        Reconstruction SNR of the probe, ``nan`` when the probe did not run.
    """

    ok: bool
    reason: str = ""
    snr_db: float = float("nan")


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-error ratio in dB over all samples (``inf`` for an exact match).

    Parameters
    ----------
    reference, estimate : np.ndarray
        Signals of one shape (any), compared in float64.

    Returns
    -------
    float
        ``10 · log10(Σ reference² / Σ (reference - estimate)²)`` in dB.
    """
    reference = np.asarray(reference, dtype=np.float64)
    error = np.sum((reference - np.asarray(estimate, dtype=np.float64)) ** 2)
    power = np.sum(reference**2)
    if error == 0.0:
        return math.inf
    return float(10.0 * np.log10(power / error))


#: Probe results of this process by (family, rate, sorted parameters).
_PROBE_CACHE: dict[tuple[Any, ...], Feasibility] = {}


def noise_probe(transform: Transform) -> Feasibility:
    """Whether ``transform`` reconstructs a white-noise probe, measured once per setting.

    A float32 white-noise signal of :meth:`~sliceq22.transforms.base.Transform.probe_length`
    samples goes through ``forward`` and ``inverse``. Any exception, an
    output of another shape, or an SNR below :data:`FEASIBLE_SNR_DB` makes
    the setting unusable, with the reason. The shape is checked before the
    SNR is computed: a wrong shape is the reason to report, and comparing
    arrays of different shapes could broadcast or raise outside the probe.

    Parameters
    ----------
    transform : ~sliceq22.transforms.base.Transform
        The setting to probe.

    Returns
    -------
    Feasibility
        Cached per (family, rate, parameters) in this process.
    """
    key = (transform.family, transform.rate, tuple(sorted(transform.params.items())))
    cached = _PROBE_CACHE.get(key)
    if cached is not None:
        return cached
    length = transform.probe_length()
    noise = np.random.default_rng(0).standard_normal(length).astype(np.float32)
    try:
        restored = transform.inverse(transform.forward(noise), length)
    except Exception as exc:  # the library's own refusal is the reason we report
        result = Feasibility(False, f"{type(exc).__name__}: {exc}".strip())
    else:
        result = _judge(noise, restored)
    _PROBE_CACHE[key] = result
    return result


def _judge(noise: np.ndarray, restored: np.ndarray) -> Feasibility:
    """Feasibility of one probe's output: its shape first, then its SNR."""
    if np.shape(restored) != noise.shape:
        return Feasibility(
            False, f"inverse returned shape {np.shape(restored)}, expected {noise.shape}"
        )
    snr = snr_db(noise, restored)
    if not snr >= FEASIBLE_SNR_DB:
        return Feasibility(
            False,
            f"no perfect reconstruction: noise probe SNR {snr:.1f} dB < {FEASIBLE_SNR_DB:.0f} dB",
            snr,
        )
    return Feasibility(True, "", snr)
