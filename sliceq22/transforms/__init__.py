"""Time-frequency transforms behind one interface (:class:`~sliceq22.transforms.base.Transform`).

Families are imported on first use, so a study that never touches Essentia
does not pay for loading it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from sliceq22.errors import ParameterError
from sliceq22.transforms.base import Coefficients, Feasibility, Param, Transform

#: family name -> "module:Class"
FAMILIES: dict[str, str] = {
    "stft": "sliceq22.transforms.stft:Stft",
    "nsgcq": "sliceq22.transforms.nsgcq:NsgConstantQ",
    "slicqt": "sliceq22.transforms.slicqt:SliCQT",
}


def transform_class(family: str) -> type[Transform]:
    """Return the class implementing ``family``.

    Raises
    ------
    ParameterError
        If ``family`` is not a known family.
    """
    target = FAMILIES.get(family)
    if target is None:
        raise ParameterError(f"unknown transform family {family!r}; known: {', '.join(FAMILIES)}")
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


def make_transform(
    family: str, params: Mapping[str, Any] | None = None, *, rate: int = 44100
) -> Transform:
    """Build a validated transform.

    Examples
    --------
    >>> t = make_transform("stft", {"n_fft": 4096, "hop": 1024})
    >>> t.block_shapes(44100)
    [(2049, 45)]
    """
    return transform_class(family)(params, rate=rate)


__all__ = [
    "FAMILIES",
    "Coefficients",
    "Feasibility",
    "Param",
    "Transform",
    "make_transform",
    "transform_class",
]
