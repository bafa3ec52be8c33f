"""The one interface every transform implements.

Shapes
------
Audio is real, ``(..., samples)``: any leading batch dimensions (channels, or
signals × channels) are carried through. ``forward`` returns
:data:`Coefficients`, a list of complex arrays ``(..., *block_shape)``: one array
for a rasterized (matrix) transform, several for a ragged one whose blocks differ
in time resolution. Sliced transforms keep the slice axis inside the block shape
(``(..., slices, bands, frames)``). Oracles work on the list elementwise, so they
never need to know which form they hold.

This module holds the :class:`Transform` base class; the parameter
declaration (:mod:`~sliceq22.transforms.params`), the cell geometry
(:mod:`~sliceq22.transforms.cell_grid`) and the feasibility probe
(:mod:`~sliceq22.transforms.probe`) live in their own modules and are
re-exported here.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from sliceq22.errors import ParameterError
from sliceq22.suggest import did_you_mean

# Re-exported: they were defined here before the split, and callers import them from here.
from sliceq22.transforms.cell_grid import CellGrid, midpoint_edges
from sliceq22.transforms.params import Param
from sliceq22.transforms.probe import FEASIBLE_SNR_DB, Feasibility, noise_probe, snr_db

#: Coefficients of one forward call: complex arrays ``(..., *block_shape)``.
Coefficients = list[np.ndarray]

__all__ = [
    "FEASIBLE_SNR_DB",
    "CellGrid",
    "Coefficients",
    "Feasibility",
    "Param",
    "Transform",
    "midpoint_edges",
    "snr_db",
]


class _Clock:
    """Adds the seconds since the last lap to ``timing[phase]`` (nothing if ``timing`` is None)."""

    def __init__(self, timing: dict[str, float] | None) -> None:
        self.timing = timing
        self.last = time.perf_counter()

    def reset(self) -> None:
        """Start the next lap now (time spent by a generator's consumer is not ours)."""
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        if self.timing is not None:
            self.timing[phase] = self.timing.get(phase, 0.0) + now - self.last
        self.last = now


class Transform(ABC):
    """A forward/inverse time-frequency transform built from a validated parameter set.

    Subclasses declare ``family`` and ``PARAMS``, may add cross-parameter checks
    in :meth:`_check`, and implement :meth:`forward`, :meth:`inverse`,
    :meth:`block_shapes` and :meth:`frequencies`.

    Contracts every family keeps: :meth:`inverse` refuses coefficient blocks
    whose number or shapes do not match :meth:`block_shapes` for the length
    with :class:`~sliceq22.errors.ParameterError` (through
    :meth:`check_blocks`, so the message is the same whatever the family);
    :meth:`frequencies` gives one centre frequency in Hz per band, in block
    order.

    Parameters
    ----------
    params : Mapping[str, Any], optional
        Parameter values by name; missing ones take their defaults. Strings are
        accepted (``"4096"``) so command-line values pass straight through.
    rate : int
        Sample rate of the audio, in Hz.
    """

    family: ClassVar[str]
    PARAMS: ClassVar[tuple[Param, ...]]
    #: Parameters that act only under another parameter's values: name ->
    #: (that parameter, the values). Given under any other value they would be
    #: ignored without a word; :meth:`check_relevant` refuses them where a
    #: person gives parameters (``--param``, a study file).
    ONLY_WITH: ClassVar[dict[str, tuple[str, tuple[Any, ...]]]] = {}

    def __init__(self, params: Mapping[str, Any] | None = None, *, rate: int = 44100) -> None:
        if int(rate) <= 0:
            raise ParameterError(f"{self.family}: sample rate {rate!r} must be positive")
        self.rate = int(rate)
        self.params: dict[str, Any] = self.validate(params or {}, rate=self.rate)

    # ------------------------------------------------------------------ validation
    @classmethod
    def validate(cls, params: Mapping[str, Any], *, rate: int = 44100) -> dict[str, Any]:
        """Return the complete, typed parameter set, or raise :class:`ParameterError`.

        Parameters
        ----------
        params : Mapping[str, Any]
            Given values; unknown names are refused with the closest known name.
        rate : int
            Sample rate the transform will run at (Nyquist checks need it).

        Returns
        -------
        dict
            Every declared parameter, in declaration order.
        """
        known = {p.name: p for p in cls.PARAMS}
        for name in params:
            if name not in known:
                hint = did_you_mean(name, known)
                raise ParameterError(
                    f"{cls.family}: unknown parameter {name!r}{hint}; known: {', '.join(known)}"
                )
        values = {
            p.name: p.coerce(params[p.name], cls.family) if p.name in params else p.default
            for p in cls.PARAMS
        }
        cls._check(values, rate)
        return values

    @classmethod
    def check_relevant(cls, given: Mapping[str, Any], *, rate: int = 44100) -> None:
        """Refuse a given parameter that has no effect under the others (:attr:`ONLY_WITH`).

        Not part of :meth:`validate`, which must accept its own complete output
        (every name filled in) again; this judges what a person wrote, where
        a value equal to the default still says they meant it to act.

        Raises
        ------
        ParameterError
            ``nsgcq.frameSize: only used when mode is 'framewise', and mode is 'full'; ...``
        """
        values = cls.validate(given, rate=rate)
        for name in given:
            if name not in cls.ONLY_WITH:
                continue
            condition, allowed = cls.ONLY_WITH[name]
            if values[condition] not in allowed:
                wanted = " or ".join(repr(v) for v in allowed)
                raise ParameterError(
                    f"{cls.family}.{name}: only used when {condition} is {wanted}, and "
                    f"{condition} is {values[condition]!r}; set {condition} = {allowed[0]!r} "
                    f"or leave {name} out"
                )

    @classmethod
    def _check(cls, values: dict[str, Any], rate: int) -> None:
        """Cross-parameter checks; raise :class:`ParameterError` naming the bad values."""

    # ------------------------------------------------------------------ the transform
    @abstractmethod
    def forward(self, audio: np.ndarray) -> Coefficients:
        """Analyse real audio ``(..., samples)`` into complex coefficients.

        Parameters
        ----------
        audio : np.ndarray
            Real signal(s), ``(..., samples)``; float32 or float64.

        Returns
        -------
        Coefficients
            List of complex arrays ``(..., *block_shape)``, one per block.
        """

    @abstractmethod
    def inverse(self, coefficients: Coefficients, length: int) -> np.ndarray:
        """Synthesise real audio ``(..., length)`` (float64) from coefficients.

        Parameters
        ----------
        coefficients : Coefficients
            As returned by :meth:`forward`, possibly modified elementwise:
            blocks ``(..., *block_shape)`` with the shapes of
            :meth:`block_shapes` for ``length`` and one batch shape.
        length : int
            Number of samples of the signal that was analysed.

        Returns
        -------
        np.ndarray
            float64 ``(..., length)``.

        Raises
        ------
        ParameterError
            If the blocks do not match :meth:`block_shapes` for ``length`` (in
            number or shape): implementations call :meth:`check_blocks` before
            synthesising anything.
        """

    @abstractmethod
    def block_shapes(self, length: int) -> list[tuple[int, ...]]:
        """Shape of each coefficient block (without batch dimensions) for ``length`` samples."""

    @abstractmethod
    def frequencies(self) -> np.ndarray:
        """Centre frequency of every band in Hz, in block order.

        Returns
        -------
        np.ndarray
            float64 ``(bands,)``: one entry per row of the band axis of each
            block (the second-to-last axis), blocks concatenated in order,
            from 0 Hz (DC) to ``rate / 2`` (Nyquist). Independent of the
            signal length.
        """

    def check_blocks(self, coefficients: Coefficients, length: int) -> tuple[int, ...]:
        """Refuse blocks that do not match :meth:`block_shapes` for ``length``; return the batch.

        Every family's :meth:`inverse` calls it first, so mismatched blocks
        raise the same error whatever the family.

        Returns
        -------
        tuple of int
            The leading (batch) shape shared by all blocks.

        Raises
        ------
        ParameterError
            Naming the block and the expected shape (also a ``ValueError``).
        """
        expected = self.block_shapes(length)
        if len(coefficients) != len(expected):
            raise ParameterError(
                f"{self.family}: got {len(coefficients)} coefficient blocks, expected "
                f"{len(expected)} for {length} samples"
            )
        first = np.shape(coefficients[0])
        batch = tuple(first[: len(first) - len(expected[0])])
        for block, shape in zip(coefficients, expected):
            if tuple(np.shape(block)) != (*batch, *shape):
                raise ParameterError(
                    f"{self.family}: coefficient block of shape {tuple(np.shape(block))} does not "
                    f"match {(*batch, *shape)} for {length} samples"
                )
        return batch

    # ------------------------------------------------------------------ pieces
    def stream_coefficients(self, source: Any, *, chunk_bytes: int | None = None) -> Iterator[Any]:
        """The forward coefficients of ``source``'s signals, a piece at a time.

        Parameters
        ----------
        source : ~sliceq22.transforms.streaming.SignalSource
            ``n_signals`` signals of ``channels`` channels and ``length`` samples.
        chunk_bytes : int, optional
            Coefficient bytes one piece may hold (all signals and channels);
            default :data:`~sliceq22.transforms.streaming.CHUNK_BYTES`.

        Yields
        ------
        ~sliceq22.transforms.streaming.Piece
            Blocks ``(n_signals, channels, ...)``. This fallback yields one
            ``whole`` piece; framed and full-signal families cut finer.
        """
        from sliceq22.transforms.streaming import Piece

        yield Piece(self.forward(source.read(0, source.length)), "whole")

    def stream_map(
        self,
        source: Any,
        fn: Any,
        n_out: int,
        *,
        chunk_bytes: int | None = None,
        progress: Any = None,
        timing: dict[str, float] | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Map the coefficients of ``source``'s signals to ``n_out`` output signals, piece by piece.

        Parameters
        ----------
        source : ~sliceq22.transforms.streaming.SignalSource
            Input signals ``(n_signals, channels, length)``.
        fn : ~sliceq22.transforms.streaming.BlockMap
            Elementwise map from blocks ``(n_signals, channels, ...)`` to
            blocks ``(n_out, channels, ...)``.
        n_out : int
            Number of output signals.
        chunk_bytes : int, optional
            Coefficient bytes one piece may hold (inputs and outputs).
        progress : callable, optional
            Called as ``progress(done, total)`` after each piece.
        timing : dict, optional
            Seconds spent are added under ``forward``, ``estimate`` (in
            ``fn``) and ``inverse``.

        Yields
        ------
        start : int
            First sample of this stretch of output.
        audio : np.ndarray
            ``(n_out, channels, samples)`` synthesised audio; the stretches
            follow each other and cover ``[0, length)``; a stretch may be
            empty (a piece done with no audio final yet), so a consumer
            regains control after every piece. This fallback yields the
            whole signal at once.
        """
        clock = _Clock(timing)
        coefficients = self.forward(source.read(0, source.length))
        clock.lap("forward")
        outputs = fn(coefficients)
        del coefficients
        clock.lap("estimate")
        audio = self.inverse(outputs, source.length)
        clock.lap("inverse")
        if progress is not None:
            progress(1, 1)
        yield 0, audio

    def working_memory(
        self, length: int, channels: int, n_in: int, n_out: int, chunk_bytes: int | None = None
    ) -> int:
        """Bytes an evaluation holds besides the track, for :meth:`stream_map` on one track.

        Parameters
        ----------
        length, channels : int
            The track's samples per channel and channels.
        n_in, n_out : int
            Input and output signals of the map (MPI: 5 and 4).
        chunk_bytes : int, optional
            The piece budget (default :data:`~sliceq22.transforms.streaming.CHUNK_BYTES`).

        Returns
        -------
        int
            This fallback (no streaming): every coefficient of every signal,
            plus float64 audio in and out.
        """
        signals = (n_in + n_out) * channels
        return signals * (self.n_coefficients(length) * self.coefficient_bytes() + length * 8)

    def coefficient_bytes(self) -> int:
        """Bytes of one complex coefficient as the family computes it.

        16 (complex128) for ``precision = "double"``, else 8 (complex64):
        every family sets ``_real`` from its ``precision`` parameter.
        """
        return 16 if getattr(self, "_real", np.float32) == np.float64 else 8

    # ------------------------------------------------------------------ introspection
    @property
    def slice_length(self) -> int | None:
        """Samples per slice/frame for sliced transforms, ``None`` for full-signal ones."""
        return None

    def n_coefficients(self, length: int) -> int:
        """Number of complex coefficients for one channel of ``length`` samples."""
        return int(sum(math.prod(shape) for shape in self.block_shapes(length)))

    def redundancy(self, length: int) -> float:
        """Complex coefficients per real input sample."""
        return self.n_coefficients(length) / float(length)

    def describe(self, length: int) -> dict[str, Any]:
        """A JSON-ready summary: family, parameters, block shapes, sizes."""
        shapes = self.block_shapes(length)
        return {
            "family": self.family,
            "params": dict(self.params),
            "rate": self.rate,
            "length": int(length),
            "blocks": len(shapes),
            "block_shapes": [list(s) for s in shapes],
            "n_coefficients": self.n_coefficients(length),
            "redundancy": self.redundancy(length),
            "slice_length": self.slice_length,
        }

    def cell_grid(self, length: int) -> list[CellGrid]:
        """Time-frequency cell geometry of each block for ``length`` samples.

        Ridge-analysis objectives (:mod:`sliceq22.oracles.ridge`) need it to
        compare transforms of different redundancy. Families implement it
        next to :meth:`block_shapes`; one :class:`CellGrid` per block, in
        block order.

        Raises
        ------
        NotImplementedError
            If the family does not describe its cells.
        """
        raise NotImplementedError(
            f"transform family {self.family!r} does not describe its time-frequency cells "
            "(Transform.cell_grid), which the ridge-analysis objectives need"
        )

    # ------------------------------------------------------------------ feasibility
    def probe_length(self) -> int:
        """Length of the noise probe: long enough to exercise slicing, short enough to be cheap."""
        return 4 * (self.slice_length or 0) + 2 * self.rate

    def feasibility(self) -> Feasibility:
        """Whether this setting reconstructs, measured once per setting with a noise probe.

        A short white-noise probe goes through :meth:`forward` and
        :meth:`inverse`; any exception, an output of another shape (checked
        before the SNR) or an SNR below :data:`FEASIBLE_SNR_DB` makes the
        setting unusable, with the reason. Results are cached per
        (family, parameters, rate) in this process
        (:func:`~sliceq22.transforms.probe.noise_probe`).
        """
        return noise_probe(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"
