"""Ideal masks: binary (IBM) and ratio (IRM), as SiSEC 2018's oracles define them.

Both act on each coefficient alone, on any transform:

* IBM (``alpha``, ``theta``): ``M_j = 1`` where ``|Y_j|^α / (ε + |X|^α) ≥ θ``,
  else 0; the estimate is ``M_j · X`` (sigsep-mus-oracle's ``IBM.py``: a target
  takes the mixture where it holds at least ``θ`` of its ``α``-spectrogram).
* IRM (``alpha``): ``M_j = P_j / (ε + Σ_k P_k)``, ``P = |Y|^α``; the estimate is
  ``M_j · X`` (``IRM.py``). With ``α = 1`` it is norbert's ``softmask`` of the
  magnitudes.

``X`` is the mixture's coefficient, ``Y_j`` the target's, ``ε`` the float64
machine epsilon (the originals' ``np.finfo(np.float).eps``): it only keeps a
zero mixture coefficient from dividing by zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from sliceq22.data.track import Track
from sliceq22.errors import ParameterError
from sliceq22.oracles.streamed import OraclePlan, StreamedOracle
from sliceq22.transforms.base import Coefficients, Transform
from sliceq22.transforms.streaming import BlockMap

#: The originals' epsilon, whatever the coefficients' precision.
EPS = float(np.finfo(np.float64).eps)


def ibm_estimates(
    mixture: np.ndarray, targets: np.ndarray, alpha: float = 1.0, theta: float = 0.5
) -> np.ndarray:
    """Ideal binary masks applied to the mixture.

    Parameters
    ----------
    mixture : np.ndarray
        Complex ``(...)``: the mixture's coefficients.
    targets : np.ndarray
        Complex ``(n_targets, ...)``: the targets' coefficients. Overwritten
        with the estimates when writable (the caller's piece is its own).
    alpha : float
        Exponent of the magnitudes (1: magnitude, 2: power), > 0.
    theta : float
        Threshold in (0, 1) on ``|Y_j|^α / |X|^α``.

    Returns
    -------
    np.ndarray
        Complex ``(n_targets, ...)``: ``X`` where the mask is 1, 0 elsewhere.
    """
    # |Y|^α ≥ θ·(ε + |X|^α) is the originals' |Y|^α / (ε + |X|^α) ≥ θ without the division.
    level = theta * (EPS + _power(mixture, alpha))
    keep = _power(targets, alpha) >= level[None]
    out = targets if targets.flags.writeable else np.empty_like(targets)
    np.multiply(mixture[None], keep, out=out)
    return out


def irm_estimates(mixture: np.ndarray, targets: np.ndarray, alpha: float = 2.0) -> np.ndarray:
    """Ideal ratio masks applied to the mixture.

    Parameters
    ----------
    mixture : np.ndarray
        Complex ``(...)``.
    targets : np.ndarray
        Complex ``(n_targets, ...)``; overwritten with the estimates when writable.
    alpha : float
        Exponent of the magnitudes (1: magnitude, 2: power), > 0.

    Returns
    -------
    np.ndarray
        Complex ``(n_targets, ...)``: ``P_j / (ε + Σ P) · X`` with ``P = |Y|^α``.
    """
    powers = _power(targets, alpha)
    gain = mixture / (EPS + np.sum(powers, axis=0))
    out = targets if targets.flags.writeable else np.empty_like(targets)
    np.multiply(powers, gain[None], out=out)
    return out


def _power(values: np.ndarray, alpha: float) -> np.ndarray:
    """``|values|^α`` in the values' real precision (no power call for α = 1 or 2)."""
    magnitude = np.abs(values)
    if alpha == 1:
        return magnitude
    if alpha == 2:
        return np.square(magnitude, out=magnitude)
    return np.power(magnitude, alpha, out=magnitude)


def ibm_map(alpha: float, theta: float) -> BlockMap:
    """The IBM on one piece: blocks ``(5, ...)`` (mixture, targets) -> ``(4, ...)``."""

    def fn(blocks: Coefficients) -> Coefficients:
        return [ibm_estimates(block[0], block[1:], alpha, theta) for block in blocks]

    return fn


def irm_map(alpha: float) -> BlockMap:
    """The IRM on one piece: blocks ``(5, ...)`` (mixture, targets) -> ``(4, ...)``."""

    def fn(blocks: Coefficients) -> Coefficients:
        return [irm_estimates(block[0], block[1:], alpha) for block in blocks]

    return fn


def check_alpha(name: str, value: Any) -> float:
    """``alpha`` as a float > 0, or :class:`ParameterError` naming it."""
    alpha = _number(name, "alpha", value)
    if not alpha > 0 or not np.isfinite(alpha):
        raise ParameterError(f"{name}: alpha must be a finite number > 0, got {value!r}")
    return alpha


def _number(name: str, option: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{name}: {option} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: {option} must be a number, got {value!r}") from None


class IbmObjective(StreamedOracle):
    """Ideal binary mask oracle (sigsep-mus-oracle's ``IBM``), scored by an SDR.

    Options
    -------
    alpha : float
        Exponent of the magnitudes, > 0 (default 1; SiSEC 2018 also ran 2).
    theta : float
        Threshold in (0, 1) (default 0.5: the target holds at least half).
    metric, mixture
        As :class:`~sliceq22.oracles.streamed.StreamedOracle`.
    """

    name = "ibm"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {**StreamedOracle.DEFAULTS, "alpha": 1, "theta": 0.5}

    def _check_oracle_options(self, options: dict[str, Any]) -> None:
        options["alpha"] = check_alpha(self.name, options["alpha"])
        theta = _number(self.name, "theta", options["theta"])
        if not 0 < theta < 1:
            raise ParameterError(f"{self.name}: theta must be in (0, 1), got {options['theta']!r}")
        options["theta"] = theta

    def plan(self, transform: Transform, track: Track) -> OraclePlan:
        """One pass, :func:`ibm_map`."""
        return OraclePlan(ibm_map(self.options["alpha"], self.options["theta"]))


class IrmObjective(StreamedOracle):
    """Ideal ratio mask oracle (sigsep-mus-oracle's ``IRM``), scored by an SDR.

    Options
    -------
    alpha : float
        Exponent of the magnitudes, > 0 (default 2, the original's; 1 is the
        magnitude ratio mask, norbert's ``softmask``).
    metric, mixture
        As :class:`~sliceq22.oracles.streamed.StreamedOracle`.
    """

    name = "irm"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {**StreamedOracle.DEFAULTS, "alpha": 2}

    def _check_oracle_options(self, options: dict[str, Any]) -> None:
        options["alpha"] = check_alpha(self.name, options["alpha"])

    def plan(self, transform: Transform, track: Track) -> OraclePlan:
        """One pass, :func:`irm_map`."""
        return OraclePlan(irm_map(self.options["alpha"]))
