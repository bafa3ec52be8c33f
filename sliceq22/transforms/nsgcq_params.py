"""The parameters of :class:`~sliceq22.transforms.nsgcq.NsgConstantQ` and their rules.

:data:`PARAMS` declares every parameter (Essentia's names and defaults),
:data:`ONLY_WITH` which of them act only in one mode, and :func:`check_params`
the cross-parameter rules a setting must pass before anything is designed.

Parameters (Essentia's names and defaults; ``sampleRate`` is the transform's ``rate``)
----------------------------------------------------------------------------------------
minFrequency, maxFrequency : float
    Lowest and highest constant-Q bin in Hz (27.5, 7040). ``maxFrequency``
    may be Nyquist: bins whose band would pass it are left out (see
    :mod:`~sliceq22.transforms.nsgcq_feasibility`).
binsPerOctave : int
    Bins per octave (48).
gamma : int
    Bandwidth offset in Hz, ``B_k = Q f_k + gamma`` (0).
rasterize : {"full", "piecewise", "none"}
    Frames per band: all equal, powers of two, or each band its own ("full").
phaseMode : {"global", "local"}
    Essentia's phase convention ("global").
normalize : {"none", "sine", "impulse"}
    Coefficient normalisation ("none"; "sine" does not reconstruct).
window : str
    Frequency window, one of :data:`WINDOWS` ("hannnsgcq").
minimumWindow : int
    Smallest frequency window in DFT bins (4).
windowSizeFactor : int
    Essentia's window size divisor (1; larger values corrupt Essentia's heap
    and are refused as infeasible).
mode : {"full", "framewise"}
    Whole-signal transform or the sliced transform of ``nsgcqgram`` ("full").
frameSize : int
    Framewise frame (slice) length in samples, a multiple of 4 (8192,
    ``nsgcqgram``'s default). Ignored in full mode.
transitionSize : int
    Framewise Tukey flank length, even, below ``frameSize / 2`` (1024).
    Ignored in full mode.
engine : {"numpy", "essentia"}
    Who computes the transform ("numpy"; "essentia": Essentia itself, the
    reference, without streaming).
precision : {"single", "double"}
    float32/complex64 ("single") or float64/complex128 arithmetic (numpy
    engine; Essentia always computes in float32).
length_policy : {"fast", "exact"}
    Full mode: analyse at the signal's length rounded up to even
    ("exact"), or zero-padded by at most 5 % to the size with the
    cheapest FFTs ("fast"). Ignored in framewise mode.
"""

from __future__ import annotations

from typing import Any

from sliceq22.errors import ParameterError
from sliceq22.transforms.nsgcq_bank import WINDOWS
from sliceq22.transforms.nsgcq_design import design
from sliceq22.transforms.params import Param

#: Values of ``precision``: float32/complex64 (default) or float64/complex128 arithmetic.
PRECISIONS: tuple[str, ...] = ("single", "double")

#: Every nsgcq parameter, in declaration order (see the class docstring).
PARAMS: tuple[Param, ...] = (
    Param("minFrequency", float, 27.5, doc="lowest constant-Q bin in Hz"),
    Param("maxFrequency", float, 7040.0, doc="highest constant-Q bin in Hz (at most Nyquist)"),
    Param("binsPerOctave", int, 48, low=1, high=1024, doc="bins per octave"),
    Param("gamma", int, 0, low=0, high=100000, doc="bandwidth offset in Hz: B_k = Q f_k + gamma"),
    Param("rasterize", str, "full", choices=("full", "piecewise", "none"), doc="frames per band"),
    Param("phaseMode", str, "global", choices=("global", "local"), doc="phase convention"),
    Param(
        "normalize",
        str,
        "none",
        choices=("none", "sine", "impulse"),
        doc="coefficient normalisation",
    ),
    Param("window", str, "hannnsgcq", choices=WINDOWS, doc="frequency window of each band"),
    Param("minimumWindow", int, 4, low=2, high=65536, doc="smallest frequency window in DFT bins"),
    Param(
        "windowSizeFactor",
        int,
        1,
        low=1,
        high=64,
        doc="window sizes rounded to multiples of this",
    ),
    Param(
        "mode",
        str,
        "full",
        choices=("full", "framewise"),
        doc="whole signal or half-overlapped frames",
    ),
    Param("frameSize", int, 8192, low=16, high=2**24, doc="framewise: frame length in samples"),
    Param(
        "transitionSize",
        int,
        1024,
        low=0,
        high=2**23,
        doc="framewise: Tukey flank length in samples",
    ),
    Param(
        "engine",
        str,
        "numpy",
        choices=("numpy", "essentia"),
        doc="numpy (streams, any precision) or Essentia itself (the reference)",
    ),
    Param(
        "precision",
        str,
        "single",
        choices=PRECISIONS,
        doc="single: float32/complex64; double: float64/complex128",
    ),
    Param(
        "length_policy",
        str,
        "fast",
        choices=("fast", "exact"),
        doc="full mode: pad by at most 5 % to fast FFT sizes, or the exact length",
    ),
)

#: Framewise parameters act only in framewise mode, the length policy only in
#: full mode (:meth:`~sliceq22.transforms.base.Transform.check_relevant`).
ONLY_WITH: dict[str, tuple[str, tuple[Any, ...]]] = {
    "frameSize": ("mode", ("framewise",)),
    "transitionSize": ("mode", ("framewise",)),
    "length_policy": ("mode", ("full",)),
}


def check_params(values: dict[str, Any], rate: int) -> None:
    """Cross-parameter rules of a complete nsgcq setting.

    Parameters
    ----------
    values : dict
        Every parameter of :data:`PARAMS`, coerced to its kind.
    rate : int
        Sample rate in Hz (Nyquist is ``rate / 2``).

    Raises
    ------
    ParameterError
        Naming the values that break a rule: frequencies out of order or
        above Nyquist, a lowest band reaching below 0 Hz, no bin below
        Nyquist, or a framewise frame/transition pair that cannot tile.
    """
    fmin, fmax, bins = values["minFrequency"], values["maxFrequency"], values["binsPerOctave"]
    nyquist = rate / 2.0
    if not fmin > 0:
        raise ParameterError(f"nsgcq: minFrequency {fmin!r} must be above 0 Hz")
    if fmin >= fmax:
        raise ParameterError(f"nsgcq: minFrequency {fmin!r} must be below maxFrequency {fmax!r}")
    if fmax > nyquist:
        raise ParameterError(
            f"nsgcq: maxFrequency {fmax!r} is above Nyquist {nyquist:g} Hz (rate {rate})"
        )
    q = 2.0 ** (1.0 / bins) - 2.0 ** (-1.0 / bins)
    lowest = fmin - (q * fmin + values["gamma"]) / 2.0
    if lowest < 0:
        raise ParameterError(
            f"nsgcq: the band of the bin at minFrequency {fmin!r} would start at "
            f"{lowest:.2f} Hz (binsPerOctave {bins}, gamma {values['gamma']}); "
            "raise minFrequency or lower gamma"
        )
    design(values, rate)  # no bin below Nyquist
    if values["mode"] == "framewise":
        frame, transition = values["frameSize"], values["transitionSize"]
        if frame % 4:
            raise ParameterError(
                f"nsgcq: frameSize {frame} must be a multiple of 4 (frames overlap by half and "
                "each centres its Tukey segment)"
            )
        if transition % 2:
            raise ParameterError(f"nsgcq: transitionSize {transition} must be even")
        if transition >= frame // 2:
            raise ParameterError(
                f"nsgcq: transitionSize {transition} must be below frameSize/2 = {frame // 2}"
            )
