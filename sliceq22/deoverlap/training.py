"""Training the learned de-overlap on tracks, and scoring de-overlaps by self-reconstruction.

Both stream a track a piece of slices at a time
(:func:`~sliceq22.deoverlap.pieces.halo_pieces`), so a full-length track
costs what the streamed MPI evaluation costs. Training adds every OLA
position of every target and channel to the normal equations
(:class:`~sliceq22.deoverlap.learned.NormalEquations`) once; the fit is one
small linear solve. Self-reconstruction de-overlaps a target's own OLA
magnitudes, gives the slices the target's own phase, inverts, and scores
``10·log10(Σs² / Σ(s - ŝ)²)`` per target.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from sliceq22 import TARGETS, __version__
from sliceq22.data.track import Track
from sliceq22.deoverlap.learned import PAIR_SCALES, SCALES, NormalEquations
from sliceq22.deoverlap.methods import Deoverlap
from sliceq22.deoverlap.modelfile import DeoverlapModel
from sliceq22.deoverlap.pieces import halo_pieces, sliced, synthesise_stream
from sliceq22.deoverlap.prior import stationary_prior
from sliceq22.deoverlap.split import guided_shares, overlap_add
from sliceq22.deoverlap.synthesis_gain import synthesis_gains
from sliceq22.errors import ParameterError
from sliceq22.oracles.mpi import TrackSignals
from sliceq22.transforms.base import Coefficients, Transform

#: Neighbouring slices each side a training piece carries (the features' reach).
TRAIN_HALO = 2
#: How training rows are weighted (stored in the model's training facts).
WEIGHTING = "magnitude² × band synthesis gain"


def split_by_track(
    names: Sequence[str], test_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Seeded split of track names into training and held-out tracks.

    ``floor(test_fraction · n)`` tracks are held out, at least one when
    ``test_fraction > 0`` and there are two tracks or more; at least one
    track always trains.

    Examples
    --------
    >>> split_by_track(["a", "b", "c", "d"], 0.25, 0)
    (['a', 'b', 'c'], ['d'])
    >>> split_by_track(["only"], 0.25, 0)
    (['only'], [])
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ParameterError(f"--test-fraction {test_fraction!r} must be in [0, 1)")
    order = list(names)
    random.Random(seed).shuffle(order)
    held = math.floor(test_fraction * len(order))
    if test_fraction > 0 and len(order) >= 2:
        held = max(held, 1)
    held = min(held, len(order) - 1)
    test = set(order[len(order) - held :]) if held else set()
    return [n for n in names if n not in test], [n for n in names if n in test]


def accumulate(
    transform: Transform,
    track: Track,
    equations: NormalEquations,
    *,
    chunk_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Add every OLA position of a track's four targets (both channels) to ``equations``.

    Each band's magnitudes are scaled by the square root of its synthesis gain
    (:func:`~sliceq22.deoverlap.synthesis_gain.synthesis_gains`), so its rows
    weigh what its errors weigh in the time domain; the features (log-steps
    within a band) and the true shares do not change with the scale.
    """
    framed = sliced(transform)
    priors = stationary_prior(framed)
    scales = [np.sqrt(g)[:, None].astype(np.float32) for g in synthesis_gains(framed)]
    source = TrackSignals(track)
    for piece in halo_pieces(framed, source, TRAIN_HALO, chunk_bytes=chunk_bytes):
        n = piece.hi - piece.lo
        chunks = (piece.first - piece.lo, piece.first - piece.lo + piece.count)
        for block, prior, scale in zip(piece.blocks, priors, scales):
            magnitude = np.abs(block[1:]) * scale
            equations.add(overlap_add(magnitude), guided_shares(magnitude), prior, n, chunks)
        if progress is not None:
            progress(piece.first + piece.count, piece.units)


def fit(
    settings: Sequence[Transform],
    tracks: Iterable[Track],
    *,
    ridge: float = 1e-6,
    chunk_bytes: int | None = None,
    on_track: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[DeoverlapModel, NormalEquations]:
    """Fit one model for every setting of one family on the tracks.

    Returns
    -------
    (model, equations)
        The model (``training`` facts filled in but the caller's split) and
        the accumulated normal equations.
    """
    families = {t.family for t in settings}
    if len(families) != 1:
        raise ParameterError(f"one model serves one family; got {', '.join(sorted(families))}")
    start = time.perf_counter()
    equations = NormalEquations(SCALES, PAIR_SCALES)
    names = []
    for track in tracks:
        names.append(track.name)
        if on_track is not None:
            on_track(track.name)
        for transform in settings:
            accumulate(transform, track, equations, chunk_bytes=chunk_bytes, progress=progress)
    if equations.rows == 0 or equations.energy <= 0.0 or not np.trace(equations.gram) > 0.0:
        # zero magnitudes give rows but nothing to learn: a model of zeros would be written
        raise ParameterError("no training positions: the tracks are silent or too short")
    theta = equations.solve(ridge)
    training: dict[str, Any] = {
        "tracks": names,
        "targets": list(TARGETS),
        "rows": equations.rows,
        "ridge": ridge,
        "weighting": WEIGHTING,
        "seconds": round(time.perf_counter() - start, 3),
        "relative_residual": round(equations.residual(theta), 6),
        "sliceq22": __version__,
    }
    settings_out = [dict(t.params) for t in settings]
    model = DeoverlapModel(families.pop(), SCALES, theta, settings_out, training, PAIR_SCALES)
    return model, equations


def self_reconstruction(
    transform: Transform,
    track: Track,
    methods: Sequence[Deoverlap],
    *,
    chunk_bytes: int | None = None,
) -> dict[str, dict[str, float]]:
    """SNR in dB per method and target of a track's own OLA magnitudes, de-overlapped, own phase.

    ``mixture`` is guided by the sum of the targets; silent targets score ``nan``.
    """
    framed = sliced(transform)
    source = TrackSignals(track)
    n_targets = len(TARGETS)
    halo = max(m.halo for m in methods)

    def estimates() -> Iterable[tuple[int, int, Coefficients]]:
        for piece in halo_pieces(framed, source, halo, chunk_bytes=chunk_bytes):
            core = slice(piece.first - piece.lo, piece.first - piece.lo + piece.count)
            mixture = [b[0] for b in piece.blocks]
            ola = [overlap_add(np.abs(b[1:])) for b in piece.blocks]
            outs: list[list[np.ndarray]] = [[] for _ in piece.blocks]
            for method in methods:
                slices, _, _ = method.split(framed, ola, mixture, piece.lo, piece.hi, track.length)
                for k, (block, split) in enumerate(zip(piece.blocks, slices)):
                    own = block[1:, :, core]
                    size = np.abs(own)
                    phase = np.divide(own, size, out=np.ones_like(own), where=size > 0)
                    outs[k].append(split[:, :, core] * phase)
            yield piece.first, piece.count, [np.concatenate(o) for o in outs]

    n_out = n_targets * len(methods)
    signal = np.zeros((n_out,))
    error = np.zeros((n_out,))
    stream = synthesise_stream(framed, track.length, track.channels, n_out, iter(estimates()))
    for first, audio in stream:
        truth = track.read_targets(first, first + audio.shape[-1]).astype(np.float64)
        truth = np.tile(truth, (len(methods), 1, 1))
        signal += np.sum(truth**2, axis=(1, 2))
        error += np.sum((truth - audio) ** 2, axis=(1, 2))
    out: dict[str, dict[str, float]] = {}
    for m, method in enumerate(methods):
        scores = {}
        for i, target in enumerate(TARGETS):
            s, e = signal[m * n_targets + i], error[m * n_targets + i]
            scores[target] = float(10 * np.log10(s / e)) if s > 0 and e > 0 else float("nan")
        out[method.name] = scores
    return out
