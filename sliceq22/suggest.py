"""The "did you mean" hint every message about an unknown name ends with.

One helper, so a misspelt key, source, track or parameter is answered the same
way everywhere (:func:`difflib.get_close_matches`, the closest name only).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any


def did_you_mean(
    name: Any,
    choices: Iterable[Any],
    *,
    cutoff: float = 0.6,
    quote: Callable[[str], str] = repr,
    template: str = " (did you mean {}?)",
) -> str:
    """Return a hint naming the choice closest to ``name``, or ``""`` if none is close.

    Parameters
    ----------
    name : Any
        The name that was not found (turned into a string first).
    choices : Iterable
        The names that exist (each turned into a string).
    cutoff : float
        Similarity in [0, 1] a choice needs to be suggested
        (:func:`difflib.get_close_matches`).
    quote : Callable[[str], str]
        How the suggested name is written (``repr`` gives ``'duration'``).
    template : str
        The hint, with ``{}`` standing for the quoted name; starts with the
        space that separates it from the message.

    Returns
    -------
    str
        ``template`` filled in, or ``""`` when no choice reaches ``cutoff``.

    Examples
    --------
    >>> did_you_mean("duraton", ["duration", "offset"])
    " (did you mean 'duration'?)"
    >>> did_you_mean("xyz", ["duration", "offset"])
    ''
    >>> did_you_mean("serch", ["search", "study"], quote=lambda s: f"[{s}]")
    ' (did you mean [search]?)'
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=cutoff)
    return template.format(quote(close[0])) if close else ""
