"""norbert 0.2.1 (sigsep's Wiener library), imported and called with its quirks guarded.

The ``wiener`` oracle (:mod:`sliceq22.oracles.wiener`) streams norbert's
algorithm; this module calls norbert itself on whole arrays, as the
reference that oracle is tested against. Guarded quirks:

* ``wiener`` divides its mixture argument in place when ``max|x| > 10``:
  the mixture is copied first.
* In complex64 its regulariser ``√ε·I`` (ε of the input's precision) swamps
  the covariances (vocals 9.1 -> 4.8 dB on the example): inputs are cast to
  complex128 / float64.
* It imports ``scipy.ndimage.filters``, deprecated and to be removed in
  SciPy 2.0: the import runs with that deprecation silenced, and where the
  module is gone a stand-in holding the same function is registered first.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from typing import Any

import numpy as np


def load_norbert() -> Any:
    """The ``norbert`` module, importable on SciPy versions without ``scipy.ndimage.filters``."""
    if "norbert" in sys.modules:
        return sys.modules["norbert"]
    import scipy.ndimage

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            importlib.import_module("scipy.ndimage.filters")
        except ImportError:  # SciPy 2.0: the old namespace is gone
            shim = types.ModuleType("scipy.ndimage.filters")
            shim.gaussian_filter1d = scipy.ndimage.gaussian_filter1d  # type: ignore[attr-defined]
            sys.modules["scipy.ndimage.filters"] = shim
        return importlib.import_module("norbert")


def norbert_wiener(
    magnitudes: np.ndarray, mixture: np.ndarray, iterations: int = 1, use_softmask: bool = True
) -> np.ndarray:
    """``norbert.wiener`` in double precision, leaving its inputs untouched.

    Parameters
    ----------
    magnitudes : np.ndarray
        Nonnegative ``(frames, bins, {1, channels}, sources)``: the sources' spectrograms.
    mixture : np.ndarray
        Complex ``(frames, bins, channels)``.
    iterations : int
        EM iterations (0: the initial estimate only).
    use_softmask : bool
        Start from norbert's ``softmask`` (else magnitudes with the mixture's phase).

    Returns
    -------
    np.ndarray
        complex128 ``(frames, bins, channels, sources)``.
    """
    norbert = load_norbert()
    v = np.array(magnitudes, dtype=np.float64)  # copies: norbert may scale in place
    x = np.array(mixture, dtype=np.complex128)
    return np.asarray(norbert.wiener(v, x, iterations, use_softmask=use_softmask))


def norbert_softmask(magnitudes: np.ndarray, mixture: np.ndarray) -> np.ndarray:
    """``norbert.softmask`` in double precision: ``(frames, bins, channels, sources)``."""
    norbert = load_norbert()
    v = np.array(magnitudes, dtype=np.float64)
    x = np.array(mixture, dtype=np.complex128)
    return np.asarray(norbert.softmask(v, x))
