"""Which NSG constant-Q settings and DFT sizes can run, and why not.

Essentia's fragility, and what the nsgcq modules do about it
------------------------------------------------------------
Measured with essentia 2.1b6.dev1389:

* When the top constant-Q bin's band reaches above Nyquist, Essentia drops
  that bin but not its bandwidth, so every later band gets its neighbour's
  window length and one ``int`` is written past the end of a heap buffer
  (valgrind: ``Invalid write of size 4`` in ``designWindow``). The
  result is "non painless frame found" or an inverse shape mismatch for many
  lengths, and heap corruption that aborts the interpreter (``malloc():
  invalid size``) for some settings (e.g. 65.41–22050 Hz, 96 bins/octave, any
  length). The design (:mod:`~sliceq22.transforms.nsgcq_design`) sees the
  dropped bin coming and uses a ``maxFrequency`` half a bin above the highest
  bin that fits instead
  (:attr:`~sliceq22.transforms.nsgcq.NsgConstantQ.essentia_max_frequency`):
  the same bins Essentia means to keep, without the bug, at every length.
* ``windowSizeFactor > 1`` shrinks the coefficient counts below the window
  lengths, so Essentia always raises "non painless frame found", after
  copying a window into a shorter buffer (heap corruption: ``free(): invalid
  pointer`` aborts the interpreter with factor 4 at 8192 samples). Refused
  before anything runs (:func:`unusable_reason`); nothing
  usable is lost.
* ``normalize="sine"``, windows other than hannnsgcq/hamming/square, very
  short frequency windows (``minimumWindow`` against few bins per band) lose
  perfect reconstruction, depending on the DFT size: Essentia's dual adds
  its float32 epsilon to the frame operator's diagonal, and short windows
  leave bins uncovered. The composite analysis-synthesis map is diagonal in
  frequency, so the numpy engine computes the white-noise reconstruction SNR
  of a (setting, DFT size) exactly from the design
  (:func:`~sliceq22.transforms.nsgcq_bank.reconstruction_snr_db`, measured
  within ~1 dB of Essentia's noise probe) before its first use; the Essentia
  engine runs a white-noise probe through Essentia. A failure raises
  :class:`~sliceq22.errors.InfeasibleError` with the reason, so no score is
  ever computed from a transform that does not reconstruct.
"""

from __future__ import annotations

from typing import Any

from sliceq22.transforms.nsgcq_bank import filter_bank, painless_problem, reconstruction_snr_db
from sliceq22.transforms.probe import FEASIBLE_SNR_DB


def unusable_reason(values: dict[str, Any]) -> str | None:
    """Why a setting must never run, or ``None``.

    ``windowSizeFactor > 1`` never reconstructs (Essentia raises "non
    painless frame found") and makes Essentia copy a frequency window into
    a shorter buffer first (heap corruption; the interpreter may abort), so
    it is refused without computing anything.

    Parameters
    ----------
    values : dict
        A validated nsgcq setting.
    """
    factor = values["windowSizeFactor"]
    if factor > 1:
        return (
            f"nsgcq: windowSizeFactor {factor} > 1 is never run: Essentia cannot invert it "
            "(non painless frame) and corrupts its heap trying (the process can abort)"
        )
    return None


#: Outcome of :func:`size_problem` per (rate, setting, DFT size) in this
#: process: ``None`` if the numpy engine reconstructs, else the reason.
_SIZE_CHECKS: dict[tuple[Any, ...], str | None] = {}


def size_problem(values: dict[str, Any], rate: int, size: int) -> str | None:
    """Why the numpy engine does not reconstruct at DFT size ``size``, or ``None``.

    Every window must fit in its band's coefficients (:func:`painless_problem`),
    and the white-noise reconstruction SNR computed from the frame operator
    (:func:`reconstruction_snr_db`) must reach
    :data:`~sliceq22.transforms.probe.FEASIBLE_SNR_DB`. Cached per setting and
    size: the bank of a long signal takes a while to build.

    Parameters
    ----------
    values : dict
        A validated nsgcq setting (``windowSizeFactor`` 1).
    rate : int
        Sample rate in Hz.
    size : int
        Even DFT size (Essentia's ``inputSize``).

    Returns
    -------
    str or None
        ``"nsgcq at inputSize {size}: ..."``, or ``None`` if it reconstructs.
    """
    key = (rate, tuple(sorted(values.items())), size)
    if key not in _SIZE_CHECKS:
        bank = filter_bank(values, rate, size)
        where = f"nsgcq at inputSize {size}"
        problem = painless_problem(bank)
        if problem is not None:
            _SIZE_CHECKS[key] = f"{where}: {problem}"
        else:
            snr = reconstruction_snr_db(bank)
            _SIZE_CHECKS[key] = (
                None
                if snr >= FEASIBLE_SNR_DB
                else f"{where}: no perfect reconstruction (white-noise SNR {snr:.1f} dB "
                f"< {FEASIBLE_SNR_DB:.0f} dB, from the frame operator)"
            )
    return _SIZE_CHECKS[key]
