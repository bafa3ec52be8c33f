"""The learned de-overlap's model file: standard JSON, validated on load.

::

    {"format": "sliceq22-deoverlap", "version": 2, "family": "slicqt",
     "features": "own-steps+pairs", "scales": [0.0625, ...], "pair_scales": [0.0625, ...],
     "bases": ["1", "p", ...], "weights": [...],
     "settings": [{"scale": "bark", "bins": 262, ...}, ...],
     "training": {"tracks": [...], "held_out": [...], "targets": [...], "rows": 123,
                  "seconds": 4.2, "seed": 0, "relative_residual": 0.31, "sliceq22": "0.1.0"}}

``features``, ``scales``, ``pair_scales`` and ``bases`` say which features the
weights belong to (:mod:`~sliceq22.deoverlap.learned`); ``settings`` are the
complete transform parameters the model was trained on; ``training`` holds
the facts of the fit. Any problem (missing or unreadable file, not JSON,
wrong format, an older version or another feature set, which need
retraining, weights that do not fit the features, NaN or infinity, a family
other than the transform's) is a :class:`ModelFileError` with one line
naming the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sliceq22.deoverlap.learned import BASES, FEATURE_SET, PAIR_SCALES, n_parameters
from sliceq22.errors import ParameterError

FORMAT = "sliceq22-deoverlap"
#: Version 1 (the 66-parameter model of slopes and curvatures) is refused: retrain.
VERSION = 2
#: Families with slices, the only ones a de-overlap applies to.
SLICED_FAMILIES: tuple[str, ...] = ("slicqt", "nsgcq")


class ModelFileError(ParameterError):
    """A de-overlap model file is missing, corrupt, or for another family."""


@dataclass
class DeoverlapModel:
    """A fitted share model (:mod:`~sliceq22.deoverlap.learned`) and what it was trained on.

    Attributes
    ----------
    family : str
        The transform family it serves.
    scales, pair_scales : tuple of float
        Step offsets and the offsets multiplied pairwise.
    weights : np.ndarray
        float64 ``(n_parameters(scales, pair_scales),)``, feature-major.
    settings, training
        Transform parameters trained on; facts of the fit.
    """

    family: str
    scales: tuple[float, ...]
    weights: np.ndarray
    settings: list[dict[str, Any]] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    pair_scales: tuple[float, ...] = PAIR_SCALES

    @property
    def parameters(self) -> int:
        """Number of fitted parameters."""
        return int(self.weights.size)

    def to_json(self) -> dict[str, Any]:
        """The file's document (standard JSON: no NaN or infinity)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "family": self.family,
            "features": FEATURE_SET,
            "scales": list(self.scales),
            "pair_scales": list(self.pair_scales),
            "bases": list(BASES),
            "weights": [float(w) for w in self.weights],
            "settings": self.settings,
            "training": self.training,
        }

    def save(self, path: str | Path) -> None:
        """Write the model file (refuses non-finite numbers)."""
        text = json.dumps(self.to_json(), indent=1, allow_nan=False)
        Path(path).write_text(text + "\n")


def _fail(path: str | Path, problem: str) -> ModelFileError:
    return ModelFileError(f"de-overlap model {str(path)!r}: {problem}")


def _finite_list(value: Any, path: str | Path, what: str) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise _fail(path, f"{what} must be a list of numbers")
    if not all(math.isfinite(v) for v in value):
        raise _fail(path, f"{what} holds NaN or infinity")
    return [float(v) for v in value]


def _reject_constant(token: str) -> float:
    raise ValueError(f"{token} is not standard JSON")


def load_model(path: str | Path, family: str | None = None) -> DeoverlapModel:
    """Read and validate a model file.

    Parameters
    ----------
    path : str or Path
    family : str, optional
        The transform family it must serve.

    Raises
    ------
    ModelFileError
        One line naming the file and the problem.
    """
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot be read ({type(exc).__name__})") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise _fail(path, f"is not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _fail(path, f"is not a {FORMAT} file")
    if document.get("version") != VERSION:
        raise _fail(
            path,
            f"has version {document.get('version')!r}; this sliceq22 reads {VERSION} "
            "(retrain it with `sliceq22 deoverlap train`)",
        )
    stored = document.get("family")
    if stored not in SLICED_FAMILIES:
        raise _fail(path, f"family {stored!r} is not one of {', '.join(SLICED_FAMILIES)}")
    if family is not None and stored != family:
        raise _fail(path, f"was trained for family {stored!r}, not {family!r}")
    if document.get("bases") != list(BASES):
        raise _fail(path, f"bases {document.get('bases')!r} are not {list(BASES)}")
    if document.get("features") != FEATURE_SET:
        raise _fail(
            path,
            f"features {document.get('features')!r} are not {FEATURE_SET!r} "
            "(retrain it with `sliceq22 deoverlap train`)",
        )
    scales = tuple(_finite_list(document.get("scales"), path, "scales"))
    pairs = tuple(_finite_list(document.get("pair_scales"), path, "pair_scales"))
    if not scales or any(not 0 < s <= 1 for s in (*scales, *pairs)):
        raise _fail(path, "scales and pair_scales must be in (0, 1] (the halo is 2 slices)")
    weights = _finite_list(document.get("weights"), path, "weights")
    need = n_parameters(scales, pairs)
    if len(weights) != need:
        raise _fail(path, f"has {len(weights)} weights; its features need {need}")
    settings, training = document.get("settings", []), document.get("training", {})
    if not isinstance(settings, list) or not all(isinstance(s, dict) for s in settings):
        raise _fail(path, "settings must be a list of parameter tables")
    if not isinstance(training, dict):
        raise _fail(path, "training must be a table")
    return DeoverlapModel(stored, scales, np.asarray(weights), settings, training, pairs)
