"""Streamed ridge measures equal the whole-signal path, for every way a transform is cut.

The reference is the whole-signal form: one forward call of all targets,
:func:`~sliceq22.oracles.cells.block_powers`, the measure on whole arrays
(:meth:`RidgeObjective.values`). The streamed form reads the track a piece of
coefficients at a time (``chunk_bytes`` forced small, so the 6 s example
spans dozens of pieces). Framed and sliced families are cut by their own
``stream_coefficients``; full-signal NSGCQ pieces (ranges of bands) and
framewise NSGCQ runs of slices are cut here from a real whole-signal forward
output. The two forms differ only in the order of floating-point sums.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import pytest

from sliceq22 import TARGETS
from sliceq22.data import example_tracks
from sliceq22.data.track import Track
from sliceq22.oracles import get_objective
from sliceq22.oracles.ridge import CellStream, block_powers
from sliceq22.transforms import make_transform
from sliceq22.transforms.base import Coefficients
from sliceq22.transforms.streaming import ArraySource, Piece

#: Coefficient bytes per piece: the example spans 30 (sliCQT) to 255 (STFT) pieces.
SMALL = 2**18
REGION = {"fmin": 40.0, "fmax": 16000.0}
MEASURES = {
    "renyi-3": ("renyi", {}),
    "shannon": ("renyi", {"alpha": 1}),
    "renyi-0.5": ("renyi", {"alpha": 0.5}),
    "hoyer": ("hoyer", {}),
    "tonal-ridge": ("tonal-ridge", {}),
    "renyi-mean": ("renyi", {"channels": "mean"}),
    "tonal-ridge-mean": ("tonal-ridge", {"channels": "mean"}),
}
FRAMED = {
    "stft-4096-1024": ("stft", {"n_fft": 4096, "hop": 1024}),
    "slicqt-bark262": ("slicqt", {}),
    "slicqt-bark262-matrix": ("slicqt", {"rasterize": "full"}),
}
NSG = {"minFrequency": 32.7, "maxFrequency": 17000.0, "binsPerOctave": 24}
FRAMEWISE = {**NSG, "mode": "framewise", "frameSize": 16384, "transitionSize": 2048}


@pytest.fixture(scope="module")
def example() -> Track:
    (track,) = example_tracks()
    return track


def objective(name: str):
    measure, options = MEASURES[name]
    made = get_objective(measure, **REGION, **options)
    made.chunk_bytes = SMALL
    return made


def run(generator):
    """Drive a generator to its end; its Progress items and its return value."""
    items = []
    while True:
        try:
            items.append(next(generator))
        except StopIteration as stop:
            return items, stop.value


@functools.cache
def whole_forward(family: str, items: tuple) -> Coefficients:
    """One whole-signal forward of the example's targets per setting (tests share it)."""
    (track,) = example_tracks()
    return make_transform(family, dict(items)).forward(track.stacked())


def band_pieces(blocks: Coefficients, step: int) -> Iterator[Piece]:
    """Ranges of ``step`` bands of a whole forward output, as a full-signal family hands them out.

    Bands are numbered across blocks, so a piece may end one block and start the next.
    """
    sizes = [np.shape(block)[-2] for block in blocks]
    edges = np.concatenate([[0], np.cumsum(sizes)])
    starts = range(0, int(edges[-1]), step)
    for start in starts:
        stop = min(start + step, int(edges[-1]))
        ranges = []
        for first, size in zip(edges[:-1], sizes):
            lo, hi = max(start - first, 0), min(stop - first, size)
            ranges.append((int(lo), int(hi)) if hi > lo else (0, 0))
        parts = [block[..., lo:hi, :] for block, (lo, hi) in zip(blocks, ranges)]
        yield Piece(parts, "bands", bands=ranges, total=len(starts))


def slice_pieces(blocks: Coefficients, step: int) -> Iterator[Piece]:
    """Runs of ``step`` slices of a whole sliced forward output ``(..., slices, bands, frames)``."""
    total = np.shape(blocks[0])[-3]
    for first in range(0, total, step):
        count = min(step, total - first)
        parts = [block[..., first : first + count, :, :] for block in blocks]
        yield Piece(parts, "units", first, count, total=total)


# ---------------------------------------------------------------------------- framed families
@pytest.mark.parametrize("measure", list(MEASURES))
@pytest.mark.parametrize("name", list(FRAMED))
def test_streamed_track_equals_the_whole_signal_path(example, name, measure):
    family, params = FRAMED[name]
    transform = make_transform(family, {**params, "precision": "double"})
    scored = objective(measure)
    expected = scored.values(transform, example.stacked())[0]
    progress = []
    result = scored.evaluate_track(transform, example, progress=progress.append)
    got = np.array([result.scores[t] for t in TARGETS])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)
    assert result.diagnostics["pieces"] >= 25 and len(progress) == result.diagnostics["pieces"]
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[-1].fraction == 1.0
    assert np.all(np.isfinite(got))


@pytest.mark.parametrize("name", ["stft-4096-1024", "slicqt-bark262"])
def test_single_precision_stays_within_1e_6_of_double(example, name):
    """Measured on the example: ≤ 1.3e-7 bits (renyi), ≤ 1.3e-8 (hoyer, tonal-ridge)."""
    family, params = FRAMED[name]
    for measure in ("renyi-3", "hoyer", "tonal-ridge"):
        scored = objective(measure)
        double = scored.evaluate_track(
            make_transform(family, {**params, "precision": "double"}), example
        ).scores
        single = scored.evaluate_track(make_transform(family, params), example).scores
        difference = max(abs(single[t] - double[t]) for t in TARGETS)
        assert difference <= (1e-6 if measure == "renyi-3" else 1e-7), (measure, difference)


@pytest.mark.parametrize(
    "params", [FRAMED["slicqt-bark262"][1], {**FRAMEWISE, "phaseMode": "local"}],
    ids=["slicqt-complex-overlap", "nsgcq-framewise-energy-overlap"],
)  # fmt: skip
def test_cell_stream_reassembles_the_whole_overlap_added_energies(example, params):
    """Chunks of runs of slices, laid side by side, are bit for bit the whole block powers."""
    family = "slicqt" if "scale" in params or not params.get("mode") else "nsgcq"
    transform = make_transform(family, params)
    audio = example.stacked()[:2, :, : 4 * example.rate]
    grids = transform.cell_grid(audio.shape[-1])
    blocks = transform.forward(audio)
    expected = block_powers(blocks, grids, sum_axis=1)
    got = [np.zeros_like(power) for power in expected]
    stream = CellStream(grids, sum_axis=1)
    pieces = 0
    for piece in slice_pieces(blocks, 3):
        pieces += 1
        for chunk in stream.chunks(piece):
            got[chunk.block][..., chunk.first : chunk.stop] += chunk.power
    assert pieces >= 4
    assert stream.frontier == np.inf
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def test_tonal_ridge_holds_only_the_frames_near_the_piece(example):
    scored = objective("tonal-ridge")
    result = scored.evaluate_track(make_transform("stft", {"precision": "double"}), example)
    frames = int(np.ceil(example.duration / scored.options["frame"]))
    # a piece of 2**18 bytes holds 2 STFT frames of 8 signals (93 ms): a few common frames
    assert result.diagnostics["pending_frames"] <= 8 < frames // 20


# ---------------------------------------------------------------------------- cut here
def reference(scored, transform, blocks: Coefficients, track: Track) -> np.ndarray:
    """What :meth:`RidgeObjective.values` computes, from an already computed whole forward."""
    grids = scored.grids(transform, track.length)
    sum_axis = 1 if scored.options["channels"] == "sum" else None
    powers = block_powers(blocks, grids, sum_axis)
    values = scored.measure(powers, grids, track.duration, transform)[0]
    return values.mean(axis=1) if sum_axis is None else values


def test_reference_is_what_values_computes(example):
    scored = objective("hoyer")
    transform = make_transform("nsgcq", {**NSG, "rasterize": "full"})
    blocks = whole_forward("nsgcq", tuple({**NSG, "rasterize": "full"}.items()))
    expected = scored.values(transform, example.stacked())[0]
    np.testing.assert_array_equal(reference(scored, transform, blocks, example), expected)


@pytest.mark.parametrize("measure", list(MEASURES))
@pytest.mark.parametrize("rasterize", ["full", "none"])
def test_full_signal_nsgcq_by_ranges_of_bands_equals_the_whole_path(example, rasterize, measure):
    params = {**NSG, "rasterize": rasterize}
    transform = make_transform("nsgcq", params)
    scored = objective(measure)
    blocks = whole_forward("nsgcq", tuple(params.items()))
    expected = reference(scored, transform, blocks, example)
    assert sum(np.shape(b)[-2] for b in blocks) > 100  # many pieces of 7 bands
    progress, (values, extra) = run(
        scored.stream_values(transform, band_pieces(blocks, 7), example.length)
    )
    if scored.options["channels"] == "mean":
        values = values.mean(axis=1)
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=0)
    assert extra["pieces"] == len(progress) > 15
    assert progress[-1].fraction == 1.0


@pytest.mark.parametrize("measure", ["renyi-3", "hoyer", "tonal-ridge"])
@pytest.mark.parametrize("phase", ["global", "local"])
def test_framewise_nsgcq_by_runs_of_slices_equals_the_whole_path(example, phase, measure):
    params = {**FRAMEWISE, "phaseMode": phase}
    transform = make_transform("nsgcq", params)
    scored = objective(measure)
    blocks = whole_forward("nsgcq", tuple(params.items()))
    expected = reference(scored, transform, blocks, example)
    progress, (values, _) = run(
        scored.stream_values(transform, slice_pieces(blocks, 2), example.length)
    )
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=0)
    assert len(progress) >= 10


def test_score_source_streams_an_array(example):
    scored = objective("hoyer")
    transform = make_transform("stft", {"n_fft": 2048, "hop": 512, "precision": "double"})
    audio = example.stacked()[:, :, : 2 * example.rate]
    expected = scored.values(transform, audio)[0]
    values, extra = scored.score_source(transform, ArraySource(audio))
    np.testing.assert_allclose(values, expected, rtol=1e-9)
    assert extra["pieces"] > 10


def test_a_family_without_pieces_is_scored_as_one_whole_piece(example):
    """A transform without pieces (Transform's fallback) gives one piece and the same values.

    Essentia's own nsgcq engine transforms the whole signal at once.
    """
    params = {**NSG, "rasterize": "full", "engine": "essentia"}
    transform = make_transform("nsgcq", params)
    scored = objective("tonal-ridge")
    pieces = list(transform.stream_coefficients(ArraySource(example.stacked()[:1])))
    assert len(pieces) == 1 and pieces[0].kind == "whole"
    blocks = whole_forward("nsgcq", tuple(params.items()))
    expected = reference(scored, transform, blocks, example)
    progress = []
    result = scored.evaluate_track(transform, example, progress=progress.append)
    np.testing.assert_allclose([result.scores[t] for t in TARGETS], expected, rtol=1e-9)
    assert [(p.done, p.total) for p in progress] == [(1, 1)]
