"""Masks and filters on the sliCQT (bark 262, ragged and matrix) and NSGCQ behave as theory says.

Applied to the true sources' own coefficients of each transform (the example's
first 3 s; mixture = sum of the targets):

* IRM with one target silent gives that target exactly zero;
* IBM with θ → 0 keeps the mixture for every target that sounds;
* ``wiener`` with 0 iterations is norbert's ``softmask`` of the magnitudes;
* the two-pass oracles (``mwf``, ``wiener``) give the same scores in small
  pieces as in one, on runs of slices and on full NSGCQ's pieces of bands
  (which tell a band-aware map which bands it holds).
"""

from __future__ import annotations

import numpy as np
import pytest

from sliceq22 import TARGETS
from sliceq22.data.load import example_tracks
from sliceq22.data.track import Track
from sliceq22.oracles import evaluate_candidate, get_objective
from sliceq22.oracles.band_runs import BandLayout, band_view, read_run
from sliceq22.oracles.masks import ibm_map, irm_map
from sliceq22.oracles.norbert_ref import norbert_softmask
from sliceq22.oracles.wiener import WienerPlan
from sliceq22.transforms import presets
from sliceq22.transforms.base import Transform
from sliceq22.transforms.nsgcq import NsgConstantQ
from sliceq22.transforms.slicqt import SliCQT

BARK = dict(presets.BARK262)
SEED_NSGCQ = dict(presets.NSGCQ_SEED_FRAMEWISE)
TRANSFORMS = {
    "slicqt-ragged": lambda: SliCQT(BARK),
    "slicqt-matrix": lambda: SliCQT({**BARK, "rasterize": "full"}),
    "nsgcq-framewise": lambda: NsgConstantQ(SEED_NSGCQ),
}


@pytest.fixture(scope="module")
def track() -> Track:
    (track,) = example_tracks(duration=3.0)
    return track


def forward(transform: Transform, track: Track, silent: int | None = None) -> list[np.ndarray]:
    """Blocks ``(5, 2, ...)`` of mixture (sum) and targets; target ``silent`` zeroed."""
    targets = track.stacked().copy()
    if silent is not None:
        targets[silent] = 0.0
    signals = np.concatenate([np.sum(targets, axis=0, dtype=np.float64)[None], targets])
    return transform.forward(signals.astype(np.float32))


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("alpha", [1, 2])
def test_irm_gives_a_silent_target_zero(track: Track, name: str, alpha: int):
    vocals = TARGETS.index("vocals")
    blocks = forward(TRANSFORMS[name](), track, silent=vocals)
    mixture = [b[0].copy() for b in blocks]
    estimates = irm_map(alpha)(blocks)
    assert all(np.all(e[vocals] == 0) for e in estimates)
    # The other three share the whole mixture between them (up to the originals' ε = 2.2e-16
    # beside Σ|Y|^α, which only coefficients far below the block's energy notice).
    for e, x in zip(estimates, mixture):
        residual = np.sum(np.abs(np.sum(e, axis=0) - x) ** 2)
        assert residual <= 1e-8 * np.sum(np.abs(x) ** 2)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_ibm_with_theta_near_zero_keeps_everything(track: Track, name: str):
    blocks = forward(TRANSFORMS[name](), track)
    sounding = [np.abs(b[1:]) > 0 for b in blocks]
    mixture = [b[0].copy() for b in blocks]
    estimates = ibm_map(1.0, 1e-9)(blocks)
    kept = sum(int(np.sum((e == x[None]) & s)) for e, x, s in zip(estimates, mixture, sounding))
    total = sum(int(np.sum(s)) for s in sounding)
    assert kept / total > 0.999
    # ... where θ = 0.5 keeps far less: each coefficient goes to about one target.
    halves = ibm_map(1.0, 0.5)([b.copy() for b in forward(TRANSFORMS[name](), track)])
    held = sum(int(np.sum(np.abs(e) > 0)) for e in halves)
    assert held < 0.5 * total


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_wiener_without_iterations_is_softmask(track: Track, name: str):
    transform = TRANSFORMS[name]()
    blocks = forward(transform, track)
    plan = WienerPlan(BandLayout([b.shape[2:] for b in blocks]), 2, 4, iterations=0)
    ours = plan.block_map()([b.copy() for b in blocks])
    for block, estimate in zip(blocks, ours):
        # norbert's layout: a block's bands are its bins, every time position a frame.
        run = read_run(band_view(block), 0, block.shape[-2])  # (5, C, bands, T)
        v = np.transpose(np.abs(run[1:]), (3, 2, 1, 0))
        x = np.transpose(run[0], (2, 1, 0))
        softmask = np.transpose(norbert_softmask(v, x), (3, 2, 1, 0))
        got = read_run(band_view(estimate), 0, block.shape[-2])
        assert np.max(np.abs(got - softmask)) <= 1e-6 * max(np.max(np.abs(softmask)), 1e-30)


@pytest.mark.parametrize(
    ("name", "objective", "options"),
    [
        ("slicqt-ragged", "mwf", {}),
        ("slicqt-ragged", "wiener", {"iterations": 2}),
        ("nsgcq-full", "mwf", {}),
        ("nsgcq-full", "wiener", {"iterations": 1}),
    ],
)
def test_two_pass_oracles_do_not_depend_on_the_pieces(
    track: Track, name: str, objective: str, options: dict
):
    if name == "nsgcq-full":
        transform: Transform = NsgConstantQ(
            {"mode": "full", "minFrequency": 65.41, "maxFrequency": 6000, "binsPerOctave": 24}
        )
    else:
        transform = TRANSFORMS[name]()
    scores = []
    for chunk in (2**30, 2**19):  # one piece; many pieces (of slices, or of bands)
        oracle = get_objective(objective, **options)
        oracle.chunk_bytes = chunk
        scores.append(evaluate_candidate(transform, [track], oracle)[0].scores)
    for target in TARGETS:
        assert scores[1][target] == pytest.approx(scores[0][target], abs=1e-3), target
        assert 0.0 < scores[0][target] < 25.0
