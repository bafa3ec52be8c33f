"""Essentia's NSG constant-Q transform: reconstruction, shapes, validation, feasibility, batching.

Audio is the MUSDB18 excerpt bundled with stempeg, decoded directly (a few
seconds of the mixture, past the AAC priming burst). Essentia itself is only
called here with settings that never reach its top-bin bug (see the module
docstring of :mod:`sliceq22.transforms.nsgcq`).
"""

from __future__ import annotations

import math
import re

import essentia.standard as es
import numpy as np
import pytest

from sliceq22.errors import InfeasibleError, ParameterError
from sliceq22.transforms import make_transform, presets
from sliceq22.transforms.base import snr_db
from sliceq22.transforms.nsgcq import NsgConstantQ, essentia_lengths, tukey_frame_window
from transformcheck import RATE, assert_batch_matches_single_calls, mixture_excerpt

#: The seed's framewise setting (issue 2).
SEED = dict(presets.NSGCQ_SEED)
SEED_FRAMEWISE = dict(presets.NSGCQ_SEED_FRAMEWISE)
#: The xumx-sliCQ-like wide setting of issue 2: maxFrequency at Nyquist.
WIDE_FRAMEWISE = {
    "minFrequency": 32.9,
    "maxFrequency": 22050.0,
    "binsPerOctave": 24,
    "mode": "framewise",
    "frameSize": 16384,
    "transitionSize": 2048,
}


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    """3 s of the example's mixture, float32 ``(2, 132300)``."""
    return mixture_excerpt(3)


# ---------------------------------------------------------------------------- reconstruction
@pytest.mark.parametrize(
    "params",
    [
        {**SEED, "rasterize": "full"},
        {**SEED, "rasterize": "none"},
        {"rasterize": "piecewise"},  # Essentia's defaults otherwise
        {**SEED_FRAMEWISE},
        {**SEED_FRAMEWISE, "rasterize": "none"},
        {**WIDE_FRAMEWISE},
        {**WIDE_FRAMEWISE, "rasterize": "none"},
    ],
    ids=["full-full", "full-none", "full-piecewise", "seed-framewise", "seed-framewise-none",
         "wide-framewise", "wide-framewise-none"],
)  # fmt: skip
def test_perfect_reconstruction_on_music(audio: np.ndarray, params: dict) -> None:
    transform = make_transform("nsgcq", params)
    coefficients = transform.forward(audio)
    restored = transform.inverse(coefficients, audio.shape[-1])
    assert restored.dtype == np.float64 and restored.shape == audio.shape
    assert snr_db(audio, restored) >= 120.0
    assert all(block.dtype == np.complex64 for block in coefficients)


@pytest.mark.parametrize("length", [24576, 34816, 44100, 45057])
@pytest.mark.parametrize("rasterize", ["full", "none"])
def test_nyquist_max_frequency_full_signal(audio: np.ndarray, length: int, rasterize: str) -> None:
    """maxFrequency = Nyquist at lengths where Essentia called with it fails.

    Measured with the raw parameters (32.9–22050 Hz, 24 bins/octave):
    Essentia raises "non painless frame found" (full) or an inverse shape
    mismatch (none) at 24576, 34816 and 44100 samples, because it drops the
    21845 Hz bin without its bandwidth. The transform passes Essentia a
    maxFrequency half a bin above the last bin that fits instead.
    """
    params = {
        "minFrequency": 32.9,
        "maxFrequency": 22050.0,
        "binsPerOctave": 24,
        "rasterize": rasterize,
    }
    transform = make_transform("nsgcq", params)
    x = audio[:, :length]
    restored = transform.inverse(transform.forward(x), length)
    assert snr_db(x, restored) >= 120.0
    top = 32.9 * 2.0 ** (224 / 24)  # the last bin whose band ends below Nyquist
    assert transform.frequencies()[-2] == pytest.approx(top)
    assert top < transform.essentia_max_frequency < 32.9 * 2.0 ** (225 / 24)


@pytest.mark.parametrize("engine", ["essentia", "numpy"])
def test_coefficients_are_essentias_own(audio: np.ndarray, engine: str) -> None:
    """Full mode holds what Essentia returns, called with :meth:`essentia_parameters`.

    The Essentia engine holds exactly Essentia's output; the numpy engine
    (the default) equals it to 1e-5 of the largest magnitude (float32
    rounding: measured ~2e-7). ``length_policy="exact"`` keeps the DFT size
    at the signal's length, as Essentia's ``inputSize``.
    """
    params = {
        "minFrequency": 32.9,
        "maxFrequency": 22050.0,
        "binsPerOctave": 24,
        "rasterize": "none",
    }
    kwargs = NsgConstantQ.essentia_parameters(params)
    assert kwargs["maxFrequency"] < 22050.0 and kwargs["sampleRate"] == RATE
    x = audio[1, :RATE]
    cq, dc, nf = es.NSGConstantQ(inputSize=RATE, **kwargs)(x)
    transform = make_transform("nsgcq", {**params, "engine": engine, "length_policy": "exact"})
    blocks = transform.forward(x)
    rows = [row for block in blocks[1:-1] for row in block]
    assert len(rows) == len(cq) == 225
    reference = [np.asarray(dc)] + [np.asarray(band, dtype=np.complex64) for band in cq]
    reference.append(np.asarray(nf))
    got = [blocks[0][0], *rows, blocks[-1][0]]
    if engine == "essentia":
        assert all(np.array_equal(g, r) for g, r in zip(got, reference))
    else:
        scale = max(float(np.abs(r).max()) for r in reference)
        error = max(float(np.abs(g - r).max()) for g, r in zip(got, reference))
        assert error <= 1e-5 * scale


def test_framewise_is_linear_in_modified_coefficients(audio: np.ndarray) -> None:
    """The dual-window overlap-add is linear: scaled complex128 coefficients invert as expected."""
    transform = make_transform("nsgcq", {**SEED_FRAMEWISE, "rasterize": "none"})
    x = audio[:, : 2 * RATE]
    coefficients = transform.forward(x)
    doubled = [2.0 * block.astype(np.complex128) for block in coefficients]
    restored = transform.inverse(doubled, x.shape[-1])
    assert snr_db(2.0 * x, restored) >= 120.0


def test_stereo_and_batch_equal_per_channel_calls(audio: np.ndarray) -> None:
    x = audio[:, :RATE]
    batch = np.stack([x, x[::-1] * 0.5])  # (2 signals, 2 channels, samples)
    for params in ({**SEED, "rasterize": "none"}, {**SEED_FRAMEWISE}):
        # Essentia runs one channel at a time either way: the batch must be bitwise equal.
        assert_batch_matches_single_calls(make_transform("nsgcq", params), batch, atol=0.0)


def test_odd_length_and_float64_input(audio: np.ndarray) -> None:
    transform = make_transform("nsgcq", {**SEED, "rasterize": "none"})
    x = audio[0, : RATE + 1].astype(np.float64)
    restored = transform.inverse(transform.forward(x), x.shape[-1])
    assert restored.shape == x.shape
    assert snr_db(x, restored) >= 120.0


# ---------------------------------------------------------------------------- shapes
@pytest.mark.parametrize(
    "params",
    [
        {**SEED, "rasterize": "full"},
        {**SEED, "rasterize": "piecewise"},
        {**SEED, "rasterize": "none", "gamma": 5, "minimumWindow": 8},
        {**SEED_FRAMEWISE, "rasterize": "piecewise"},
        {**WIDE_FRAMEWISE, "rasterize": "none"},
    ],
)
def test_block_shapes_match_forward(params: dict) -> None:
    transform = make_transform("nsgcq", params)
    for length in (20000, 44101):
        x = np.random.default_rng(length).standard_normal((2, length)).astype(np.float32)
        coefficients = transform.forward(x)
        assert [block.shape[1:] for block in coefficients] == transform.block_shapes(length)
        assert transform.n_coefficients(length) == sum(b[0].size for b in coefficients)
        bands = sum(block.shape[-2] for block in coefficients)
        assert bands == len(transform.frequencies())
        if transform.framewise:
            assert coefficients[0].shape[1] == transform.n_slices(length)
            assert transform.slice_length == params["frameSize"]
            joined = transform.overlap_add(coefficients)
            assert [j.shape[-2:] for j in joined] == [
                (b.shape[-2], (b.shape[1] + 1) * b.shape[-1] // 2) for b in coefficients
            ]
        else:
            assert transform.slice_length is None
        # DC first, Nyquist last, one band each; constant-Q blocks in between
        assert coefficients[0].shape[-2] == 1 and coefficients[-1].shape[-2] == 1
        if params.get("rasterize") == "full":
            assert len(coefficients) == 3


def test_shape_model_matches_essentia_on_random_settings() -> None:
    """The float32 reproduction of Essentia's design against Essentia's own output sizes."""
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 40:
        fmin = float(np.exp(rng.uniform(np.log(15.0), np.log(400.0))))
        fmax = float(min(22050.0, fmin * 2.0 ** rng.uniform(1.0, 11.0)))
        params = {
            "minFrequency": fmin,
            "maxFrequency": fmax,
            "binsPerOctave": int(rng.integers(1, 120)),
            "gamma": int(rng.choice([0, 0, int(rng.integers(1, 30))])),
            "rasterize": str(rng.choice(["none", "piecewise", "full"])),
            "minimumWindow": int(rng.choice([2, 4, 16])),
        }
        try:
            transform = make_transform("nsgcq", params)
        except ParameterError:
            continue
        if transform.essentia_max_frequency != fmax:
            continue  # Essentia would hit its top-bin bug with these raw parameters
        size = 2 * int(rng.integers(2000, 40000))
        analysis = es.NSGConstantQ(inputSize=size, sampleRate=RATE, **params)
        cq, dc, nf = analysis(np.zeros(size, dtype=np.float32))
        dc_len, band_lens, nf_len = essentia_lengths(transform.params, RATE, size)
        assert (len(dc), [len(c) for c in cq], len(nf)) == (dc_len, list(band_lens), nf_len), params
        assert len(cq) + 2 == len(transform.frequencies())
        checked += 1


def test_frequencies() -> None:
    transform = make_transform("nsgcq", SEED)
    freqs = transform.frequencies()
    assert freqs[0] == 0.0 and freqs[-1] == RATE / 2
    assert freqs[1] == pytest.approx(65.41)
    assert np.all(np.diff(freqs) > 0)
    # 48 bins per octave from 65.41 Hz up to 6000 Hz: floor(48 · log2(6000 / 65.41)) + 1 bins
    assert len(freqs) - 2 == math.floor(48 * math.log2(6000 / 65.41)) + 1
    np.testing.assert_allclose(freqs[1 + 48], 2 * 65.41)


def test_tukey_frame_window_sums_to_one() -> None:
    for frame, transition in ((8192, 1024), (16384, 2048), (64, 0), (64, 30)):
        w = tukey_frame_window(frame, transition)
        assert w.shape == (frame,)
        np.testing.assert_allclose(w[: frame // 2] + w[frame // 2 :], 1.0, atol=1e-15)
        assert np.count_nonzero(w) == frame // 2 + transition


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("params", "needle"),
    [
        (
            {"minFrequency": 6000, "maxFrequency": 5000},
            "minFrequency 6000.0 must be below maxFrequency 5000.0",
        ),
        ({"minFrequency": 100, "maxFrequency": 100}, "minFrequency 100.0 must be below"),
        ({"maxFrequency": 23000}, "maxFrequency 23000.0 is above Nyquist 22050"),
        ({"minFrequency": 0}, "minFrequency 0.0 must be above 0"),
        ({"binsPerOctave": 0}, "binsPerOctave: 0 is below the minimum 1"),
        ({"binsPerOctave": "many"}, "'many' is not a valid int"),
        ({"minFrequency": 30.0, "gamma": 80}, "gamma 80"),
        ({"mode": "framewise", "frameSize": 8190}, "frameSize 8190 must be a multiple of 4"),
        ({"mode": "framewise", "transitionSize": 1023}, "transitionSize 1023 must be even"),
        (
            {"mode": "framewise", "frameSize": 4096, "transitionSize": 2048},
            "transitionSize 2048 must be below",
        ),
        ({"rasterize": "sometimes"}, "'sometimes' is not one of"),
        ({"window": "kaiser"}, "'kaiser' is not one of"),
        ({"binsPerOctve": 12}, "unknown parameter 'binsPerOctve' \\(did you mean 'binsPerOctave'"),
    ],
)
def test_validation_names_the_bad_value(params: dict, needle: str) -> None:
    with pytest.raises(ParameterError, match=needle):
        make_transform("nsgcq", params)


def test_nyquist_is_relative_to_the_rate() -> None:
    with pytest.raises(ParameterError, match="22050"):
        make_transform("nsgcq", {"maxFrequency": 16000.0}, rate=22050)
    assert (
        make_transform("nsgcq", {"maxFrequency": 11025.0}, rate=22050).frequencies()[-1] == 11025.0
    )


def test_essentia_defaults() -> None:
    """Parameters default to Essentia's own defaults (read from the algorithm)."""
    algorithm = es.NSGConstantQ()
    params = make_transform("nsgcq").params
    for name in ("minFrequency", "maxFrequency", "binsPerOctave", "gamma", "rasterize", "phaseMode",
                 "normalize", "window", "minimumWindow", "windowSizeFactor"):  # fmt: skip
        assert params[name] == algorithm.paramValue(name), name
    assert params["mode"] == "full"


# ---------------------------------------------------------------------------- feasibility
def test_feasibility_accepts_a_reconstructing_setting() -> None:
    result = make_transform("nsgcq", SEED_FRAMEWISE).feasibility()
    assert result.ok and result.snr_db >= 120.0


@pytest.mark.parametrize(
    "params",
    [{**SEED, "normalize": "sine"}, {**SEED, "window": "blackmanharris92"}],
    ids=["sine", "blackmanharris92"],
)
def test_feasibility_refuses_settings_that_do_not_reconstruct(params: dict) -> None:
    transform = make_transform("nsgcq", params)
    result = transform.feasibility()
    assert not result.ok
    assert "no perfect reconstruction" in result.reason and "dB" in result.reason
    with pytest.raises(InfeasibleError, match="SNR"):
        transform.forward(np.ones(4096, dtype=np.float32))


def test_window_size_factor_is_refused_without_calling_essentia() -> None:
    """windowSizeFactor > 1 corrupts Essentia's heap: never run, in either mode."""
    for mode in ("full", "framewise"):
        transform = make_transform("nsgcq", {"windowSizeFactor": 2, "mode": mode})
        result = transform.feasibility()
        assert not result.ok and "windowSizeFactor 2" in result.reason
        assert not transform.feasibility_for_length(RATE).ok
        with pytest.raises(InfeasibleError, match="windowSizeFactor 2"):
            transform.forward(np.ones(RATE, dtype=np.float32))
        with pytest.raises(InfeasibleError, match="windowSizeFactor 2"):
            transform.n_coefficients(RATE)  # size checks refuse it before any audio
        assert not transform._engines  # no Essentia instance was ever made


def test_full_mode_feasibility_depends_on_length() -> None:
    """A setting that reconstructs at 1 s but not at 2.7 s (2-bin frequency windows).

    Full-signal Essentia designs its filter bank on the whole signal's DFT, so
    the evaluation length matters: forward refuses the long signal itself. The
    numpy engine decides from the frame operator, without running a transform
    at that length.
    """
    params = {
        "minFrequency": 16.687369062671596,
        "maxFrequency": 71.34423133051487,
        "binsPerOctave": 73,
        "rasterize": "none",
        "minimumWindow": 2,
        "length_policy": "exact",  # the DFT size is the signal's length, as in Essentia
    }
    transform = make_transform("nsgcq", params)
    assert transform.feasibility_for_length(44100).ok
    short = np.random.default_rng(1).standard_normal(44100).astype(np.float32)
    assert snr_db(short, transform.inverse(transform.forward(short), 44100)) >= 120.0
    long = transform.feasibility_for_length(117914)
    assert not long.ok and "inputSize 117914" in long.reason
    with pytest.raises(InfeasibleError, match="no perfect reconstruction"):
        transform.forward(np.zeros(117914, dtype=np.float32))


@pytest.mark.parametrize(("policy", "other"), [("exact", RATE + 1000), ("fast", 2 * RATE)])
def test_inverse_checks_the_coefficients_against_the_length(
    audio: np.ndarray, policy: str, other: int
) -> None:
    """Coefficients of another length are refused.

    With ``length_policy="fast"`` lengths that pad to the same DFT size (up
    to 5 % apart) share their coefficient shapes, so only lengths with
    another size can be told apart.
    """
    transform = make_transform("nsgcq", {**SEED, "length_policy": policy})
    coefficients = transform.forward(audio[:, :RATE])
    with pytest.raises(ValueError, match="does not match"):
        transform.inverse(coefficients, other)
    with pytest.raises(ValueError, match="blocks"):
        transform.inverse(coefficients[:2], RATE)


@pytest.mark.parametrize("params", [SEED, SEED_FRAMEWISE], ids=["full", "framewise"])
def test_inverse_refuses_blocks_of_another_shape(audio: np.ndarray, params: dict) -> None:
    """Mismatched blocks raise the ParameterError every family's inverse raises."""
    transform = make_transform("nsgcq", params)
    blocks = transform.forward(audio[:, :RATE])
    shapes = transform.block_shapes(RATE)
    wrong = [blocks[0], blocks[1][..., :-1, :], blocks[2]]
    expected = re.escape(f"(2, {', '.join(map(str, shapes[1]))}) for {RATE} samples")
    with pytest.raises(ParameterError, match=rf"^nsgcq: coefficient block of shape .* {expected}$"):
        transform.inverse(wrong, RATE)
    with pytest.raises(ParameterError, match=r"^nsgcq: got 2 coefficient blocks, expected 3 for"):
        transform.inverse(blocks[:2], RATE)


def test_describe_reports_the_essentia_max_frequency() -> None:
    transform = NsgConstantQ(WIDE_FRAMEWISE)
    info = transform.describe(RATE)
    assert info["slice_length"] == 16384
    assert info["bands"] == len(transform.frequencies()) == 227
    assert info["essentia_maxFrequency"] < 22050.0
