"""The numpy NSG constant-Q against Essentia's ``NSGConstantQ``/``NSGIConstantQ`` on short signals.

Coefficient by coefficient (to 1e-5 of the largest magnitude; Essentia's
float32 rounding is ~2e-7) and sample by sample after Essentia's inverse,
over the settings the musdb studies search (frequency ranges, bins per
octave, rasterize modes, phase modes, windows, normalisations, gamma,
minimumWindow). Also: the analytic feasibility check predicts Essentia's own
white-noise reconstruction, and the length policy's padded sizes.
"""

from __future__ import annotations

import essentia.standard as es
import numpy as np
import pytest

from sliceq22.errors import InfeasibleError
from sliceq22.transforms import make_transform
from sliceq22.transforms.base import snr_db
from sliceq22.transforms.nsgcq import (
    NsgConstantQ,
    essentia_lengths,
    filter_bank,
    reconstruction_snr_db,
)
from sliceq22.transforms.nsgcq_length import MAX_PADDING, fast_size, fft_cost, largest_prime_factor

RATE = 44100
SEED = {"minFrequency": 65.41, "maxFrequency": 6000.0, "binsPerOctave": 48}
WIDE = {"minFrequency": 32.9, "maxFrequency": 22050.0, "binsPerOctave": 24}

CASES = {
    "seed-full": (SEED, 8192),
    "seed-none": ({**SEED, "rasterize": "none"}, 8192),
    "seed-piecewise-local": ({**SEED, "rasterize": "piecewise", "phaseMode": "local"}, 20000),
    "wide-none": ({**WIDE, "rasterize": "none"}, RATE),
    "wide-full-local": ({**WIDE, "phaseMode": "local"}, 30002),
    "bins12-gamma": ({"minFrequency": 40.0, "maxFrequency": 16000.0, "binsPerOctave": 12,
                      "gamma": 20, "rasterize": "none"}, 16384),
    "bins96-minwin": ({"minFrequency": 100.0, "maxFrequency": 12000.0, "binsPerOctave": 96,
                       "minimumWindow": 16}, 16384),
    "hann": ({**SEED, "window": "hann"}, 8192),
    "hamming": ({**SEED, "window": "hamming", "rasterize": "none"}, 8192),
    "triangular": ({**SEED, "window": "triangular"}, 8192),
    "square": ({**SEED, "window": "square", "phaseMode": "local"}, 8192),
    "blackmanharris62": ({**SEED, "window": "blackmanharris62"}, 8192),
    "blackmanharris92": ({**SEED, "window": "blackmanharris92", "rasterize": "none"}, 8192),
    "impulse": ({**SEED, "normalize": "impulse"}, 8192),
    "sine": ({**SEED, "normalize": "sine", "rasterize": "piecewise"}, 12000),
}  # fmt: skip


def essentia_pair(params: dict, size: int) -> tuple:
    kwargs = NsgConstantQ.essentia_parameters(params)
    return es.NSGConstantQ(inputSize=size, **kwargs), es.NSGIConstantQ(inputSize=size, **kwargs)


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_equals_essentia(name: str) -> None:
    params, size = CASES[name]
    x = np.random.default_rng(size).standard_normal(size).astype(np.float32)
    analysis, synthesis = essentia_pair(params, size)
    cq, dc, nf = analysis(x)
    reference = [np.asarray(dc)] + [np.asarray(band, dtype=np.complex64) for band in cq]
    reference.append(np.asarray(nf))
    transform = make_transform("nsgcq", {**params, "length_policy": "exact"})
    # the setting may not reconstruct (sine, hann, blackmanharris92): compare the maps anyway
    transform._require = lambda size: None  # type: ignore[method-assign]
    blocks = transform.forward(x)
    got = [blocks[0][0], *(row for block in blocks[1:-1] for row in block), blocks[-1][0]]
    assert [len(g) for g in got] == [len(r) for r in reference]
    scale = max(float(np.abs(r).max()) for r in reference)
    error = max(float(np.abs(g - r).max()) for g, r in zip(got, reference))
    assert error <= 1e-5 * scale, error / scale
    # Essentia's own coefficients through its inverse and through ours
    cq_list = cq.tolist() if isinstance(cq, np.ndarray) else cq
    expected = synthesis(cq_list, dc, nf)
    ours = transform.inverse(
        [np.asarray(dc)[None]]
        + [np.asarray(cq[a:b], dtype=np.complex64) for a, b in _rows(blocks)]
        + [np.asarray(nf)[None]],
        size,
    )
    # ~129 dB (Essentia's float32 rounding) where the setting reconstructs; where
    # its frame operator is nearly singular (blackmanharris92) rounding weighs more
    feasible = reconstruction_snr_db(filter_bank(transform.params, RATE, size)) >= 100.0
    assert snr_db(expected, ours) >= (120.0 if feasible else 90.0)


def _rows(blocks: list[np.ndarray]) -> list[tuple[int, int]]:
    """Constant-Q band ranges of the middle blocks."""
    out, start = [], 0
    for block in blocks[1:-1]:
        out.append((start, start + block.shape[0]))
        start += block.shape[0]
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_analytic_snr_predicts_essentias_reconstruction(name: str) -> None:
    """The frame-operator SNR is within 3 dB of Essentia's, or both exceed 120 dB.

    Essentia's float32 rounding caps its own round trip near 128 dB, so
    settings above that agree only in being feasible.
    """
    params, size = CASES[name]
    values = NsgConstantQ.validate(params)
    predicted = reconstruction_snr_db(filter_bank(values, RATE, size))
    analysis, synthesis = essentia_pair(params, size)
    x = np.random.default_rng(1).standard_normal(size).astype(np.float32)
    cq, dc, nf = analysis(x)
    measured = snr_db(x, synthesis(cq.tolist() if isinstance(cq, np.ndarray) else cq, dc, nf))
    if min(predicted, measured) < 120.0:
        assert abs(predicted - measured) <= 3.0, (predicted, measured)
    else:
        assert measured >= 120.0


def test_infeasible_settings_are_refused_with_the_snr() -> None:
    """hann windows (peaks at the band edges, as Essentia places them) do not reconstruct."""
    transform = make_transform("nsgcq", {**SEED, "window": "hann"})
    match = r"inputSize 8192: no perfect reconstruction.*SNR 2\d"
    with pytest.raises(InfeasibleError, match=match):
        transform.forward(np.zeros(8192, dtype=np.float32))
    assert not transform.feasibility().ok
    assert not transform._engines  # decided without Essentia


def test_double_precision_follows_essentias_map() -> None:
    params, size = CASES["seed-none"]
    x = np.random.default_rng(5).standard_normal(size)
    single = make_transform("nsgcq", {**params, "length_policy": "exact"}).forward(x)
    double = make_transform(
        "nsgcq", {**params, "length_policy": "exact", "precision": "double"}
    ).forward(x)
    assert all(b.dtype == np.complex128 for b in double)
    scale = max(float(np.abs(b).max()) for b in double)
    assert max(float(np.abs(s - d).max()) for s, d in zip(single, double)) <= 1e-6 * scale


@pytest.mark.parametrize("seconds", [6, 240])
def test_fast_size_pads_a_little_to_fast_band_lengths(seconds: int) -> None:
    values = NsgConstantQ.validate({"minFrequency": 32.9, "maxFrequency": 21000.0,
                                    "binsPerOctave": 48})  # fmt: skip
    length = seconds * RATE
    size = fast_size(values, RATE, length)
    assert length <= size <= length * (1 + MAX_PADDING) and size % 2 == 0
    _, bands, _ = essentia_lengths(values, RATE, size)
    assert largest_prime_factor(bands[-1]) <= 11
    if seconds == 240:  # exact: M = 145004 = 4·36251
        _, exact, _ = essentia_lengths(values, RATE, length)
        assert largest_prime_factor(exact[-1]) == 36251
        assert fft_cost(exact[-1]) > 5 * fft_cost(bands[-1])


def test_fast_and_exact_lengths_reconstruct_and_agree_in_shape() -> None:
    x = np.random.default_rng(2).standard_normal((2, 3 * RATE + 7)).astype(np.float32)
    for policy in ("fast", "exact"):
        transform = make_transform("nsgcq", {**WIDE, "length_policy": policy})
        restored = transform.inverse(transform.forward(x), x.shape[-1])
        assert restored.shape == x.shape and snr_db(x, restored) >= 110.0
        size = transform.dft_size(x.shape[-1])
        assert (
            transform.block_shapes(x.shape[-1])[1][1]
            == essentia_lengths(transform.params, RATE, size)[1][0]
        )


@pytest.mark.parametrize("extra", [{}, {"rasterize": "none", "phaseMode": "local"}])
def test_framewise_numpy_equals_essentia_frame_by_frame(extra: dict) -> None:
    """Framewise forward and inverse: the numpy engine against Essentia called per frame."""
    params = {**SEED, "mode": "framewise", "frameSize": 8192, "transitionSize": 1024, **extra}
    x = np.random.default_rng(4).standard_normal((2, RATE)).astype(np.float32)
    ours = make_transform("nsgcq", params)
    theirs = make_transform("nsgcq", {**params, "engine": "essentia"})
    got, reference = ours.forward(x), theirs.forward(x)
    scale = max(float(np.abs(b).max()) for b in reference)
    assert max(float(np.abs(g - r).max()) for g, r in zip(got, reference)) <= 1e-5 * scale
    restored, expected = ours.inverse(got, RATE), theirs.inverse(reference, RATE)
    assert snr_db(expected, restored) >= 120.0 and snr_db(x, restored) >= 120.0
