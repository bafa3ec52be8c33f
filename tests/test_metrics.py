"""Metrics against museval itself (BSSv4) and against the MDX 2021 formula."""

from __future__ import annotations

import math

import museval
import numpy as np
import pytest
import stempeg

from sliceq22.errors import ParameterError
from sliceq22.oracles import aggregate, get_metric
from sliceq22.oracles.metrics import (
    MDX_DELTA,
    frame_count,
    sdr_bss,
    sdr_bss_frames,
    sdr_global,
)

RATE = 44100
EDGE = 4096  # AAC priming/ending bursts of the bundled example


def museval_frames(references: np.ndarray, estimates: np.ndarray, win: int, hop: int) -> np.ndarray:
    """museval's framewise v4 SDR for our ``(sources, channels, samples)`` layout."""
    sdr, _isr, _sir, _sar = museval.evaluate(
        np.transpose(references, (0, 2, 1)),
        np.transpose(estimates, (0, 2, 1)),
        win=win,
        hop=hop,
    )
    return np.asarray(sdr)


@pytest.fixture(scope="module")
def example() -> np.ndarray:
    """The bundled MUSDB18 excerpt's four targets, float64 ``(4, 2, samples)``."""
    audio, rate = stempeg.read_stems(stempeg.example_stem_path())
    assert rate == RATE
    return np.ascontiguousarray(np.transpose(audio[1:], (0, 2, 1))[:, :, EDGE:-EDGE])


@pytest.fixture(scope="module")
def leaky(example: np.ndarray) -> np.ndarray:
    """Realistic estimates: each target with a different gain, leakage of the
    next target and a little noise (SDRs of a few to ~20 dB)."""
    rng = np.random.default_rng(7)
    gains = np.array([0.95, 1.05, 0.8, 1.0])[:, None, None]
    leak = np.array([0.1, 0.3, 0.5, 0.2])[:, None, None]
    noise = 0.01 * rng.standard_normal(example.shape)
    return gains * example + leak * np.roll(example, 1, axis=0) + noise


@pytest.fixture(scope="module")
def museval_leaky(example: np.ndarray, leaky: np.ndarray) -> np.ndarray:
    # ~10-12 s: run once for the module.
    return museval_frames(example, leaky, RATE, RATE)


def test_sdr_bss_equals_museval_on_the_example(example, leaky, museval_leaky):
    ours = sdr_bss(example, leaky, RATE, RATE, RATE)
    reference = np.nanmedian(museval_leaky, axis=1)
    assert ours.shape == (4,)
    assert np.all(np.isfinite(reference))
    # The estimates are realistic: a spread of SDRs, not one trivial value.
    assert reference.min() < 10.0 < reference.max()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)


def test_frames_equal_museval_and_drop_the_trailing_partial_window(example, leaky, museval_leaky):
    frames = sdr_bss_frames(example, leaky, RATE)
    n_samples = example.shape[-1]
    assert frames.shape == museval_leaky.shape == (4, n_samples // RATE)
    assert n_samples % RATE > 0  # there is a partial window to drop
    np.testing.assert_allclose(frames, museval_leaky, rtol=0, atol=1e-6)


def test_per_frame_sdr_is_the_frame_signal_to_error_ratio(example, leaky):
    # Independent restatement of the definition for frame 2 of the bass.
    s = example[1, :, 2 * RATE : 3 * RATE]
    e = leaky[1, :, 2 * RATE : 3 * RATE]
    expected = 10 * np.log10(np.sum(s**2) / np.sum((s - e) ** 2))
    assert sdr_bss_frames(example[1], leaky[1], RATE)[2] == pytest.approx(expected, abs=1e-12)


@pytest.fixture(scope="module")
def silent_frames_case(example: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two sources, 4 s + a partial window, with museval's three kinds of silent frame."""
    refs = example[:2, :, : 4 * RATE + 5000].copy()
    rng = np.random.default_rng(3)
    ests = 0.9 * refs + 0.05 * rng.standard_normal(refs.shape)
    refs[1, :, RATE : 2 * RATE] = 0.0  # reference silent in frame 1 (source 1 only)
    refs[0, 0, 2 * RATE : 3 * RATE] = 0.25  # channels cancel exactly in frame 2:
    refs[0, 1, 2 * RATE : 3 * RATE] = -0.25  # museval's test sums the channels
    ests[0, :, 0:RATE] = 0.0  # estimate silent in frame 0
    return refs, ests


def test_silent_frames_follow_museval(silent_frames_case):
    refs, ests = silent_frames_case
    expected = museval_frames(refs, ests, RATE, RATE)
    ours = sdr_bss_frames(refs, ests, RATE)
    # museval blanks a frame for every source when any source is silent in it.
    assert np.isnan(expected).tolist() == [[True, True, True, False]] * 2
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(
        sdr_bss(refs, ests, RATE), np.nanmedian(expected, axis=1), rtol=0, atol=1e-6
    )


def test_independent_silence_only_blanks_the_silent_source(silent_frames_case):
    refs, ests = silent_frames_case
    frames = sdr_bss_frames(refs, ests, RATE, joint=False)
    # Source 0: estimate silent in frame 0, channels cancel in frame 2.
    assert np.isnan(frames[0]).tolist() == [True, False, True, False]
    # Source 1: reference silent in frame 1.
    assert np.isnan(frames[1]).tolist() == [False, True, False, False]


def test_overlapping_windows_follow_museval(example):
    refs = example[2:, :, : 4 * RATE + 777]
    rng = np.random.default_rng(5)
    ests = refs + 0.2 * refs[::-1] + 0.02 * rng.standard_normal(refs.shape)
    win, hop = 2 * RATE, RATE // 2
    expected = museval_frames(refs, ests, win, hop)
    ours = sdr_bss_frames(refs, ests, RATE, win, hop)
    assert ours.shape == expected.shape == (2, frame_count(refs.shape[-1], win, hop)) == (2, 5)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)


def test_silent_target_is_nan_and_leaves_the_others_as_museval(example, leaky, museval_leaky):
    refs = example.copy()
    refs[3] = 0.0
    # museval refuses a silent reference outright; sliceq22 defines the result.
    with pytest.raises(ValueError, match="silent"):
        museval.evaluate(np.transpose(refs, (0, 2, 1)), np.transpose(leaky, (0, 2, 1)))
    ours = sdr_bss(refs, leaky, RATE)
    assert math.isnan(ours[3])
    np.testing.assert_allclose(ours[:3], np.nanmedian(museval_leaky[:3], axis=1), rtol=0, atol=1e-6)
    assert math.isnan(sdr_global(refs[3], leaky[3]))


def test_silent_estimate_of_a_sounding_target_scores_zero_db(example, leaky):
    ests = leaky.copy()
    ests[1] = 0.0
    scores = sdr_bss(example, ests, RATE)
    assert scores[1] == 0.0
    # The other sources are not blanked by it.
    np.testing.assert_allclose(scores[[0, 2, 3]], sdr_bss(example, leaky, RATE)[[0, 2, 3]])
    assert sdr_global(example[1], ests[1]) == 0.0


def test_signal_shorter_than_a_window_is_one_frame(example, leaky):
    refs, ests = example[:, :, :30000], leaky[:, :, :30000]
    frames = sdr_bss_frames(refs, ests, RATE)
    assert frames.shape == (4, 1)
    np.testing.assert_allclose(frames[:, 0], sdr_global(refs, ests), rtol=0, atol=1e-9)


def test_sdr_global_is_the_mdx_formula(example, leaky):
    expected = [
        10 * np.log10(np.sum(example[i] ** 2) / np.sum((example[i] - leaky[i]) ** 2))
        for i in range(4)
    ]
    np.testing.assert_allclose(sdr_global(example, leaky), expected, rtol=1e-12)
    assert isinstance(sdr_global(example[0], leaky[0]), float)
    # float32 input is scored in float64.
    assert sdr_global(example[0].astype(np.float32), 0.9 * example[0].astype(np.float32)) == (
        pytest.approx(20.0, abs=1e-4)
    )


def test_sdr_global_edge_cases():
    signal = np.random.default_rng(0).standard_normal((2, 1000))
    assert sdr_global(signal, signal) == math.inf
    assert math.isnan(sdr_global(np.zeros((2, 1000)), signal))
    # With the MDX starter kit's delta a silent pair is 0 dB.
    assert sdr_global(np.zeros((2, 10)), np.zeros((2, 10)), delta=MDX_DELTA) == 0.0
    with pytest.raises(ValueError, match="differ in shape"):
        sdr_global(signal, signal[:, :-1])


def test_aggregate_ignores_nan():
    nan = float("nan")
    assert aggregate([1.0, nan, 3.0, 10.0]) == 3.0
    assert aggregate([1.0, nan, 3.0, 11.0], how="mean") == 5.0
    assert math.isnan(aggregate([nan, nan]))
    assert math.isnan(aggregate([]))
    with pytest.raises(ParameterError, match="'mode'.*median, mean"):
        aggregate([1.0], how="mode")


def test_unknown_metric_names_the_known_ones():
    with pytest.raises(ParameterError, match="sdr-global, sdr-bss"):
        get_metric("sdr-v3")
