"""Declared transform parameters: one :class:`Param` per name a family accepts.

A family lists its parameters in ``PARAMS``;
:meth:`~sliceq22.transforms.base.Transform.validate` coerces given values with
:meth:`Param.coerce`, so command-line strings and study-file values pass
through the same checks and errors name ``family.parameter``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sliceq22.errors import ParameterError


@dataclass(frozen=True)
class Param:
    """Declaration of one transform parameter.

    Parameters
    ----------
    name : str
        The name the transform's constructor (Essentia's name where it wraps
        Essentia) takes.
    kind : type
        ``int``, ``float``, ``str`` or ``bool``.
    default : Any
        Value used when the parameter is not given.
    choices : tuple, optional
        Allowed values of a categorical parameter.
    low, high : float, optional
        Inclusive bounds of a numeric parameter.
    doc : str
        One line for ``--help`` and error messages.
    """

    name: str
    kind: type
    default: Any
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    doc: str = ""

    def coerce(self, value: Any, family: str) -> Any:
        """Return ``value`` converted to this parameter's kind, or raise :class:`ParameterError`."""
        where = f"{family}.{self.name}"
        try:
            if self.kind is bool:
                if isinstance(value, str):
                    lowered = value.strip().lower()
                    if lowered not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(value)
                    value = lowered in ("true", "1", "yes")
                else:
                    value = bool(value)
            elif self.kind is int:
                as_float = float(value)
                if not as_float.is_integer():
                    raise ValueError(value)
                value = int(as_float)
            elif self.kind is float:
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError(value)
            else:
                value = str(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"{where}: {value!r} is not a valid {self.kind.__name__}"
            ) from None
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ParameterError(f"{where}: {value!r} is not one of {allowed}")
        if self.low is not None and value < self.low:
            raise ParameterError(f"{where}: {value!r} is below the minimum {self.low:g}")
        if self.high is not None and value > self.high:
            raise ParameterError(f"{where}: {value!r} is above the maximum {self.high:g}")
        return value
