"""The STFT control: reconstruction on music, agreement with scipy, shapes, batching, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

from sliceq22.errors import ParameterError
from sliceq22.transforms import make_transform
from sliceq22.transforms.base import Coefficients, snr_db
from sliceq22.transforms.stft import Stft
from transformcheck import RATE, assert_batch_matches_single_calls, mixture_excerpt


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    """3 s of the example's mixture, float32 ``(2, 132300)``."""
    return mixture_excerpt(3)


@pytest.mark.parametrize(
    "params",
    [
        {"n_fft": 4096, "hop": 1024},  # the Open-Unmix default
        {"n_fft": 2048, "hop": 512, "window": "hamming"},
        {"n_fft": 1024, "hop": 1024, "window": "boxcar"},
        {"n_fft": 4096, "hop": 2048},
    ],
)
def test_perfect_reconstruction_on_music(audio: np.ndarray, params: dict) -> None:
    transform = make_transform("stft", params)
    for x in (audio, audio[:, : 3 * RATE - 777]):  # a length that is no multiple of the hop
        restored = transform.inverse(transform.forward(x), x.shape[-1])
        assert restored.dtype == np.float64 and restored.shape == x.shape
        assert snr_db(x, restored) >= 120.0


def test_default_is_open_unmix() -> None:
    params = make_transform("stft").params
    assert (params["n_fft"], params["hop"], params["window"]) == (4096, 1024, "hann")


def test_forward_matches_scipy(audio: np.ndarray) -> None:
    """Centred frames of a periodic Hann window: scipy.signal.stft with zero boundaries.

    scipy scales by ``1 / Σ window`` and pads half a frame at both ends; the
    frames both compute must agree.
    """
    n_fft, hop = 4096, 1024
    x = audio[0].astype(np.float64)
    (ours,) = make_transform("stft", {"n_fft": n_fft, "hop": hop, "precision": "double"}).forward(x)
    window = scipy.signal.get_window("hann", n_fft)  # periodic by default
    _, _, reference = scipy.signal.stft(
        x, window=window, nperseg=n_fft, noverlap=n_fft - hop, boundary="zeros", padded=True
    )
    reference = reference * window.sum()
    frames = min(ours.shape[-1], reference.shape[-1])
    assert frames >= x.shape[-1] // hop
    np.testing.assert_allclose(ours[:, :frames], reference[:, :frames], rtol=0, atol=1e-9)


def test_block_shapes_match_forward(audio: np.ndarray) -> None:
    transform = make_transform("stft", {"n_fft": 4096, "hop": 1024})
    for length in (1, 1023, 1024, 44100, audio.shape[-1]):
        (spectrum,) = transform.forward(audio[:, :length])
        assert [spectrum.shape[1:]] == transform.block_shapes(length)
        assert transform.n_coefficients(length) == spectrum[0].size
    assert transform.slice_length is None


def test_stereo_and_batch_equal_per_channel_calls(audio: np.ndarray) -> None:
    transform = make_transform("stft", {"n_fft": 2048, "hop": 512})
    x = audio[:, :RATE]
    batch = np.stack([x, 0.25 * x[::-1]])  # (2 signals, 2 channels, samples)
    assert_batch_matches_single_calls(transform, batch, atol=1e-12)


def test_frequencies() -> None:
    transform = make_transform("stft", {"n_fft": 4096, "hop": 1024}, rate=RATE)
    freqs = transform.frequencies()
    assert freqs.shape == (transform.block_shapes(RATE)[0][0],)
    assert freqs[0] == 0.0 and freqs[-1] == RATE / 2
    assert freqs[1] == pytest.approx(RATE / 4096)


def test_feasibility() -> None:
    single = make_transform("stft", {"n_fft": 4096, "hop": 1024}).feasibility()
    assert single.ok and 130.0 <= single.snr_db < 200.0  # float32 arithmetic, the default
    double = make_transform("stft", {"n_fft": 4096, "hop": 1024, "precision": "double"})
    assert double.feasibility().ok and double.feasibility().snr_db >= 200.0


class _ShortInverse(Stft):
    """An STFT whose inverse drops the last sample (a broken family, for the probe)."""

    family = "stft-short-inverse"  # its own entries in the probe cache

    def inverse(self, coefficients: Coefficients, length: int) -> np.ndarray:
        return super().inverse(coefficients, length)[..., :-1]


def test_probe_checks_the_shape_before_the_snr() -> None:
    """A wrong output shape is the probe's reason; no SNR is computed from it.

    The SNR of arrays of different shapes would raise (or broadcast) instead
    of giving a reason.
    """
    transform = _ShortInverse({"n_fft": 2048, "hop": 512})
    length = transform.probe_length()
    result = transform.feasibility()
    assert not result.ok
    assert result.reason == f"inverse returned shape ({length - 1},), expected ({length},)"
    assert math.isnan(result.snr_db)


def test_inverse_refuses_blocks_of_another_shape(audio: np.ndarray) -> None:
    transform = make_transform("stft", {"n_fft": 2048, "hop": 512})
    (block,) = transform.forward(audio[:, :RATE])
    assert block.shape == (2, 1025, 88)
    with pytest.raises(
        ParameterError,
        match=r"^stft: coefficient block of shape \(2, 1025, 86\) does not match "
        r"\(2, 1025, 88\) for 44100 samples$",
    ):
        transform.inverse([block[..., :-2]], RATE)
    with pytest.raises(ParameterError, match=r"^stft: got 2 coefficient blocks, expected 1 for"):
        transform.inverse([block, block], RATE)
    with pytest.raises(ParameterError, match=r"does not match \(2, 1025, 45\) for 22050 samples"):
        transform.inverse([block], RATE // 2)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"n_fft": 4096, "hop": 3000}, "hop 3000 must be at most n_fft/2 = 2048"),
        ({"n_fft": 1024, "hop": 2048, "window": "boxcar"}, "hop 2048 must not exceed n_fft 1024"),
        ({"n_fft": 8}, "n_fft: 8 is below the minimum 16"),
        ({"hop": 0}, "hop: 0 is below the minimum 1"),
        ({"n_fft": "4096.5"}, "'4096.5' is not a valid int"),
        ({"window": "kaiser"}, "'kaiser' is not one of"),
        ({"nfft": 4096}, "unknown parameter 'nfft' \\(did you mean 'n_fft'"),
    ],
)
def test_validation_names_the_bad_value(params: dict, needle: str) -> None:
    with pytest.raises(ParameterError, match=needle):
        make_transform("stft", params)
