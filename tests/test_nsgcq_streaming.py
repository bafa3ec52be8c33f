"""nsgcq through bounded memory: streamed pieces equal the whole-signal transform.

Full mode streams by bands (one real FFT per signal and channel, then a few
bands at a time), framewise mode by runs of frames; with ``chunk_bytes``
forced small the 2-second example spans dozens of pieces. The map is
MPI-like (target magnitudes with the mixture's phase), on five signals.
"""

from __future__ import annotations

import numpy as np
import pytest

from sliceq22.transforms import make_transform, presets
from sliceq22.transforms.streaming import ArraySource, collect
from transformcheck import RATE, mixture_excerpt

SEED = dict(presets.NSGCQ_SEED)
SEED_FRAMEWISE = dict(presets.NSGCQ_SEED_FRAMEWISE)
#: The full-signal setting of issue 12 (4-minute budget 2 GB), rasterized.
WIDE = {"minFrequency": 32.9, "maxFrequency": 21000.0, "binsPerOctave": 48}

SETTINGS = {
    "full": WIDE,
    "full-none-local": {**WIDE, "binsPerOctave": 24, "rasterize": "none", "phaseMode": "local"},
    "full-piecewise-exact": {**SEED, "rasterize": "piecewise", "length_policy": "exact"},
    "framewise": SEED_FRAMEWISE,
    "framewise-none": {**SEED_FRAMEWISE, "rasterize": "none"},
}


@pytest.fixture(scope="module")
def signals() -> np.ndarray:
    """Five stereo signals of 2 s + 1 sample (odd): a 'mixture' and four 'targets', float32."""
    audio = mixture_excerpt(3)
    length = 2 * RATE + 1
    rng = np.random.default_rng(3)
    targets = np.stack(
        [audio[:, k * 9000 : k * 9000 + length] * rng.uniform(0.3, 1.0) for k in range(4)]
    )
    return np.concatenate([targets.sum(axis=0, keepdims=True), targets]).astype(np.float32)


def mpi(blocks: list[np.ndarray]) -> list[np.ndarray]:
    """Target magnitudes (signals 1–4) with the mixture's phase (signal 0), elementwise."""
    out = []
    for block in blocks:
        mixture = block[:1]
        magnitude = np.abs(mixture)
        phase = mixture / np.where(magnitude > 0, magnitude, 1.0)
        out.append(np.abs(block[1:]) * phase)
    return out


@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("name", list(SETTINGS))
def test_stream_map_equals_whole_signal(signals: np.ndarray, name: str, precision: str) -> None:
    transform = make_transform("nsgcq", {**SETTINGS[name], "precision": precision})
    length = signals.shape[-1]
    whole = transform.inverse(mpi(transform.forward(signals)), length)
    chunk = 2**18  # a few bands / frames per piece: dozens of pieces
    pieces = list(transform.stream_coefficients(ArraySource(signals), chunk_bytes=chunk))
    assert len(pieces) >= 10
    streamed = collect(
        transform.stream_map(ArraySource(signals), mpi, 4, chunk_bytes=chunk), whole.shape
    )
    error = np.abs(streamed - whole).max() / np.abs(whole).max()
    assert error <= (1e-9 if precision == "double" else 1e-5), error


@pytest.mark.parametrize("name", list(SETTINGS))
def test_stream_coefficients_reassemble_forward(signals: np.ndarray, name: str) -> None:
    transform = make_transform("nsgcq", {**SETTINGS[name], "precision": "double"})
    whole = transform.forward(signals)
    rebuilt = [np.full(b.shape, np.nan, dtype=b.dtype) for b in whole]
    pieces = list(transform.stream_coefficients(ArraySource(signals), chunk_bytes=2**18))
    kind = "units" if transform.framewise else "bands"
    assert all(p.kind == kind and p.total == len(pieces) for p in pieces)
    for piece in pieces:
        for b, block in enumerate(piece.blocks):
            if kind == "units":
                rebuilt[b][:, :, piece.first : piece.first + piece.count] = block
            else:
                start, stop = piece.bands[b]
                assert block.shape[2] == stop - start
                rebuilt[b][:, :, start:stop] = block
    for got, expected in zip(rebuilt, whole):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize(("precision", "floor"), [("single", 100.0), ("double", 130.0)])
@pytest.mark.parametrize("name", list(SETTINGS))
def test_reconstruction(signals: np.ndarray, name: str, precision: str, floor: float) -> None:
    transform = make_transform("nsgcq", {**SETTINGS[name], "precision": precision})
    x = signals[0]
    coefficients = transform.forward(x)
    dtype = np.complex64 if precision == "single" else np.complex128
    assert all(block.dtype == dtype for block in coefficients)
    restored = transform.inverse(coefficients, x.shape[-1])
    error = np.sum((restored - x) ** 2)
    assert 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / error) >= floor
