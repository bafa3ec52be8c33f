"""The MPI oracle against a plain scipy computation, and its one-call-per-signal contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import stempeg

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.errors import DatasetError, InfeasibleError, ParameterError
from sliceq22.oracles import (
    aggregate_results,
    evaluate_candidate,
    get_objective,
    iter_candidate,
)
from sliceq22.oracles.mpi import mpi_coefficients, phase_of
from sliceq22.transforms.stft import Stft

EDGE = 4096  # AAC priming/ending bursts of the bundled example


@pytest.fixture(scope="module")
def track() -> Track:
    """The bundled MUSDB18 excerpt (edges trimmed) as a Track."""
    audio, rate = stempeg.read_stems(stempeg.example_stem_path())
    audio = np.transpose(audio, (0, 2, 1))[:, :, EDGE:-EDGE]
    return Track(
        "example",
        rate,
        dict(zip(TARGETS, audio[1:])),
        recorded_mixture=audio[0],
        source="test",
    )


def scipy_mpi(targets: np.ndarray, mixture: np.ndarray) -> np.ndarray:
    """The same oracle with scipy's STFT: Hann 4096, hop 1024, zero-padded boundaries."""
    options = {"fs": 1.0, "window": "hann", "nperseg": 4096, "noverlap": 3072}
    _, _, mix = scipy.signal.stft(mixture, **options)
    _, _, tgt = scipy.signal.stft(targets, **options)
    spectra = np.abs(tgt) * np.exp(1j * np.angle(mix))
    _, audio = scipy.signal.istft(spectra, **options)
    return audio[..., : targets.shape[-1]]


def plain_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


@pytest.mark.parametrize("mixture", ["sum", "recorded"])
def test_mpi_stft_agrees_with_scipy(track: Track, mixture: str):
    targets = track.stacked().astype(np.float64)
    reference = scipy_mpi(targets, track.mixture(mixture).astype(np.float64))
    expected = {t: plain_sdr(targets[i], reference[i]) for i, t in enumerate(TARGETS)}
    transform = Stft({"n_fft": 4096, "hop": 1024})
    (result,) = evaluate_candidate(transform, [track], get_objective("mpi", mixture=mixture))
    assert result.track == "example" and result.excluded == []
    for target in TARGETS:
        assert result.scores[target] == pytest.approx(expected[target], abs=0.05), target
    # The oracle is informative: real separation, far from perfect.
    assert all(3.0 < v < 20.0 for v in result.scores.values())
    if mixture == "recorded":
        # The mastered mix's phase is further from the targets' than their sum's.
        summed = evaluate_candidate(transform, [track], get_objective("mpi"))[0].scores
        assert np.mean(list(summed.values())) > np.mean(list(result.scores.values()))


class CountingStft(Stft):
    """The real STFT, recording the units (frames) each streamed call handles."""

    family = "stft-counting"  # its own feasibility-cache key

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.forward_calls: list[tuple[int, int]] = []  # (signals, frames)
        self.inverse_calls: list[tuple[int, int]] = []

    def forward_units(self, segment, count):
        self.forward_calls.append((segment.shape[0], count))
        return super().forward_units(segment, count)

    def inverse_units(self, blocks, count):
        self.inverse_calls.append((blocks[0].shape[0], count))
        return super().inverse_units(blocks, count)


def test_each_signal_is_transformed_once(track: Track):
    transform = CountingStft({"n_fft": 2048, "hop": 512})
    transform.feasibility()  # the probe's own calls are not the candidate's
    transform.forward_calls.clear()
    transform.inverse_calls.clear()
    objective = get_objective("mpi", metric="sdr-bss")
    objective.chunk_bytes = 2 * 2**20  # several pieces per track
    results = evaluate_candidate(transform, [track, track], objective)
    frames = transform.n_frames(track.length)
    # Per track: every frame of mixture + 4 targets (stereo) analysed once, of the
    # 4 estimates synthesised once, in several pieces.
    assert len(transform.forward_calls) >= 2 * 3
    assert {signals for signals, _ in transform.forward_calls} == {10}
    assert {signals for signals, _ in transform.inverse_calls} == {8}
    assert sum(count for _, count in transform.forward_calls) == 2 * frames
    assert sum(count for _, count in transform.inverse_calls) == 2 * frames
    assert results[0].scores == results[1].scores
    timing = results[0].timing
    assert set(timing) >= {"forward", "estimate", "inverse", "metric", "total"}
    assert all(v >= 0 for v in timing.values())
    assert timing["total"] >= timing["forward"] + timing["inverse"] + timing["metric"]


def test_iter_candidate_is_lazy_per_track(track: Track):
    transform = CountingStft({"n_fft": 1024, "hop": 256})
    transform.feasibility()
    transform.forward_calls.clear()
    results = iter_candidate(transform, [track, track, track], get_objective("mpi"))
    first = next(results)
    # a pruner can stop after any track: only the first track was analysed
    assert sum(count for _, count in transform.forward_calls) == transform.n_frames(track.length)
    assert set(first.scores) == set(TARGETS)


def test_sdr_bss_objective_reports_frames(track: Track):
    (result,) = evaluate_candidate(
        Stft({"n_fft": 4096, "hop": 1024}), [track], get_objective("mpi", metric="sdr-bss")
    )
    frames = result.diagnostics["frames"]
    assert set(frames) == set(TARGETS)
    assert len(frames["bass"]) == track.length // track.rate
    assert result.scores["bass"] == pytest.approx(float(np.nanmedian(frames["bass"])))


def test_silent_target_is_excluded_not_aggregated(track: Track):
    targets = dict(track.targets)
    targets["vocals"] = np.zeros_like(targets["vocals"])
    instrumental = Track("instrumental", track.rate, targets)
    transform = Stft({"n_fft": 4096, "hop": 1024})
    objective = get_objective("mpi")
    results = evaluate_candidate(transform, [track, instrumental], objective)
    assert results[1].excluded == ["vocals"]
    assert math.isnan(results[1].scores["vocals"])
    assert all(math.isfinite(results[1].scores[t]) for t in TARGETS[:3])
    # The aggregate of vocals comes from the one track that has them.
    assert aggregate_results(results)["vocals"] == results[0].scores["vocals"]
    assert results[1].to_dict()["scores"]["vocals"] is None


def test_inplace_estimates_equal_the_copying_ones():
    rng = np.random.default_rng(2)
    blocks = [
        rng.standard_normal((5, 2, 7, 3)) + 1j * rng.standard_normal((5, 2, 7, 3)) for _ in range(2)
    ]
    expected = [np.abs(b[1:]) * np.exp(1j * np.angle(b[0])) for b in blocks]
    copied = mpi_coefficients(blocks)
    inplace = mpi_coefficients([b.copy() for b in blocks], inplace=True)
    for e, c, i in zip(expected, copied, inplace):
        np.testing.assert_allclose(c, e, rtol=1e-12)
        np.testing.assert_allclose(i, e, rtol=1e-12)


def test_phase_of_zero_is_one():
    coefficients = np.array([0j, 3 + 4j, -2j])
    np.testing.assert_allclose(phase_of(coefficients), [1, 0.6 + 0.8j, -1j])


class LossyStft(Stft):
    """A real STFT whose inverse loses half the amplitude: no perfect reconstruction."""

    family = "stft-lossy"

    def inverse(self, coefficients, length):
        return 0.5 * super().inverse(coefficients, length)


def test_unusable_transform_is_refused_before_any_track(track: Track):
    transform = LossyStft({"n_fft": 1024, "hop": 256})
    with pytest.raises(InfeasibleError, match="no perfect reconstruction"):
        next(iter_candidate(transform, [track], get_objective("mpi")))
    with pytest.raises(InfeasibleError):
        get_objective("mpi").evaluate_track(transform, track)


def test_recorded_mixture_must_exist(track: Track):
    bare = Track("bare", track.rate, dict(track.targets))
    with pytest.raises(DatasetError, match="no recorded mixture"):
        get_objective("mpi", mixture="recorded").evaluate_track(Stft(), bare)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("oracle", {}, "unknown objective 'oracle'; known: mpi"),
        ("mpi", {"metric": "sdr-v3"}, "known: sdr-global, sdr-bss"),
        ("mpi", {"mixture": "mastered"}, "'mastered' is not one of sum, recorded"),
        ("mpi", {"metrc": "sdr-bss"}, "unknown option.*'metrc'.*known: metric, mixture"),
    ],
)
def test_objective_errors_name_the_known_values(name, options, message):
    with pytest.raises(ParameterError, match=message):
        get_objective(name, **options)


def test_objective_defaults():
    objective = get_objective("mpi", metric=None)
    assert objective.name == "mpi" and objective.direction == "maximize"
    assert objective.options == {
        "metric": "sdr-global",
        "mixture": "sum",
        "view": "plain",
        "deoverlap": "mixture",
    }
