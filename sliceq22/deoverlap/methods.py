"""The three de-overlaps behind one interface: ``halves``, ``mixture``, ``learned:PATH``.

Each turns the OLA view of a piece of slices ``[lo, hi)`` (magnitudes or
complex) into slices, and says which of them are exact for the piece
(``[vlo, vhi)``: slices near a piece's ends lack neighbours; see
:mod:`~sliceq22.deoverlap.pieces`). :attr:`Deoverlap.halo` is how many
neighbouring slices each side a piece must carry for its core to come out
as in the whole signal.

``mixture`` splits each position in proportion to the mixture's own slices
(:func:`~sliceq22.deoverlap.split.guided_shares`), then refines
:data:`REFINE` times: the estimate (split magnitudes with the mixture's
phase) is synthesised, analysed again, and its own slices guide the next
split. The ratio assumes the target is the same fraction of the mixture in
both overlapping slices; the re-analysed estimate knows how the target's
energy is placed under each slice's window, which the framewise NSGCQ (whose
synthesis weights every slice by its window again) needs most: at the seed's
setting the plain ratio loses 0.30–0.67 dB of MPI, the refined one 0.21–0.27.
The mixture's own OLA comes back exactly (the estimate is the mixture, so
every refinement keeps it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from sliceq22.deoverlap.learned import learned_split
from sliceq22.deoverlap.modelfile import DeoverlapModel, load_model
from sliceq22.deoverlap.pieces import resynthesise, sliced
from sliceq22.deoverlap.prior import stationary_prior
from sliceq22.deoverlap.split import assemble, guided_shares, halves
from sliceq22.errors import ParameterError
from sliceq22.transforms.base import Coefficients, Transform

#: Consistency refinements of the ``mixture`` de-overlap.
REFINE = 2
#: Kinds of ``deoverlap`` option.
KINDS: tuple[str, ...] = ("halves", "mixture", "learned:PATH")

Split = tuple[Coefficients, int, int]


class Deoverlap(ABC):
    """A de-overlap: OLA blocks of a piece -> slices.

    Attributes
    ----------
    name : str
        As written in the ``deoverlap`` option.
    halo : int
        Neighbouring slices each side a piece needs.
    """

    name = ""
    halo = 1

    @abstractmethod
    def split(
        self,
        transform: Transform,
        ola: Coefficients,
        mixture: Coefficients | None,
        lo: int,
        hi: int,
        length: int,
    ) -> Split:
        """Slices of a piece from its OLA view.

        Parameters
        ----------
        transform : Transform
            The sliced transform.
        ola : Coefficients
            Per block ``(signals, channels, bands, (hi - lo + 1)·h)``.
        mixture : Coefficients or None
            The mixture's slices ``(channels, hi - lo, bands, 2h)`` (``mixture`` needs them).
        lo, hi : int
            Slices of the piece; ``length`` is the track's samples.

        Returns
        -------
        (slices, vlo, vhi)
            Per block ``(signals, channels, hi - lo, bands, 2h)``; slices
            ``[vlo, vhi)`` equal the whole-signal result.
        """

    @staticmethod
    def _valid(transform: Transform, lo: int, hi: int, length: int, shrink: int) -> Split:
        units = sliced(transform).framing(length).units
        vlo = lo if lo == 0 else lo + shrink
        vhi = hi if hi == units else hi - shrink
        return [], vlo, vhi


class Halves(Deoverlap):
    """Half of every position to each slice: the naive baseline."""

    name = "halves"

    def split(self, transform, ola, mixture, lo, hi, length):
        _, vlo, vhi = self._valid(transform, lo, hi, length, 1)
        return [halves(block, hi - lo) for block in ola], vlo, vhi


class Mixture(Deoverlap):
    """Split by the mixture's slices, refined by re-analysing the estimate (parameter-free)."""

    name = "mixture"

    def __init__(self, refine: int = REFINE) -> None:
        self.refine = int(refine)
        self.halo = 1 + 2 * self.refine

    def split(self, transform, ola, mixture, lo, hi, length):
        if mixture is None:
            raise ParameterError("deoverlap 'mixture' needs the mixture's slices")
        n = hi - lo
        complex_view = any(np.iscomplexobj(block) for block in ola)
        guides = [m if complex_view else np.abs(m) for m in mixture]
        shares = [guided_shares(g)[None] for g in guides]
        slices = [assemble(o, s, n) for o, s in zip(ola, shares)]
        _, vlo, vhi = self._valid(transform, lo, hi, length, 1)
        if complex_view:
            return slices, vlo, vhi
        framed = sliced(transform)
        phases = [_phase(m) for m in mixture]
        for _ in range(self.refine):
            signals, channels = np.shape(slices[0])[:2]
            estimate = [(s * p[None])[:, :, vlo - lo : vhi - lo] for s, p in zip(slices, phases)]
            flat = [e.reshape(signals * channels, *e.shape[2:]) for e in estimate]
            again, glo, ghi = resynthesise(framed, flat, vlo, vhi, length)
            for k, block in enumerate(again):
                guide = np.abs(block).reshape(signals, channels, *block.shape[1:])
                fresh = guided_shares(guide)
                h = guide.shape[-1] // 2
                # chunks whose two slices are both re-analysed (and the track's end chunks)
                a = (glo - lo + (glo > 0)) * h
                b = (ghi - lo + 1 - (ghi < framed.framing(length).units)) * h
                offset = (glo - lo) * h
                share = np.broadcast_to(shares[k], ola[k].shape).copy()
                share[..., a:b] = fresh[..., a - offset : b - offset]
                shares[k] = share
            slices = [assemble(o, s, n) for o, s in zip(ola, shares)]
            _, vlo, vhi = self._valid(transform, glo, ghi, length, 1)
        return slices, vlo, vhi


class Learned(Deoverlap):
    """The fitted share model of a model file (:mod:`~sliceq22.deoverlap.learned`)."""

    halo = 2

    def __init__(self, model: DeoverlapModel, name: str = "learned") -> None:
        self.model = model
        self.name = name

    def split(self, transform, ola, mixture, lo, hi, length):
        priors = stationary_prior(transform)
        n = hi - lo
        model = self.model
        slices = [
            learned_split(o, p, n, model.weights, model.scales, model.pair_scales)
            for o, p in zip(ola, priors)
        ]
        _, vlo, vhi = self._valid(transform, lo, hi, length, self.halo)
        return slices, vlo, vhi


def _phase(block: np.ndarray) -> np.ndarray:
    magnitude = np.abs(block)
    return np.divide(block, magnitude, out=np.ones_like(block), where=magnitude > 0)


def halo_of(text: str) -> int:
    """Neighbouring slices each side a piece carries for the de-overlap ``text`` names.

    Read from the classes, not from a model file (the memory estimate asks it
    for every drawn candidate): ``halves`` 1, ``mixture`` 5, ``learned:PATH`` 2.

    Examples
    --------
    >>> halo_of("halves"), halo_of("mixture"), halo_of("learned:/any/model.json")
    (1, 5, 2)
    """
    if text == "mixture":
        return Mixture().halo
    if text.startswith("learned:"):
        return Learned.halo
    return Halves.halo


def make_deoverlap(text: str, transform: Transform | None = None) -> Deoverlap:
    """The de-overlap an option names: ``halves``, ``mixture`` or ``learned:PATH``.

    Raises
    ------
    ParameterError
        An unknown name; :class:`~sliceq22.deoverlap.modelfile.ModelFileError`
        for a missing or corrupt model file, or one for another family than
        ``transform``'s; a transform without slices.
    """
    if transform is not None:
        sliced(transform, f"deoverlap {text!r}")
    if text == "halves":
        return Halves()
    if text == "mixture":
        return Mixture()
    kind, sep, path = text.partition(":")
    if kind == "learned" and sep and path:
        family = transform.family if transform is not None else None
        return Learned(load_model(Path(path).expanduser(), family), text)
    raise ParameterError(f"deoverlap {text!r} is not one of {', '.join(KINDS)}")
