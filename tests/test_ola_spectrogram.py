"""Spectrogram views of the OLA view (``sliceq22.report.spectrogram_ola``, ``spectrogram --ola``).

On the example's excerpts through real sliced transforms: the mixture's own
OLA view, de-overlapped with ``mixture``, comes back to the last bit (its
error cells are far below anything drawn), ``halves`` has a measurable
error, a target de-overlapped by its track's mixture lies in between, and
the command refuses a transform without slices or ``--deoverlap`` without
``--ola`` in one line, exit 2, before reading audio.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from sliceq22.cli import main
from sliceq22.data.load import example_tracks
from sliceq22.deoverlap import make_deoverlap
from sliceq22.report.spectrogram import FLOOR_DB
from sliceq22.report.spectrogram_ola import ola_views
from sliceq22.transforms import make_transform, presets
from test_deoverlap_bad_input import good_document, write

RATE = 44100
SETTINGS = {
    "slicqt": ("slicqt", {"scale": "bark", "bins": 100, "sllen": 18432, "trlen": 4096}),
    "nsgcq-framewise": (
        "nsgcq",
        dict(presets.NSGCQ_SEED_FRAMEWISE),
    ),
}


@pytest.fixture(scope="module")
def example() -> dict[str, np.ndarray]:
    """Two seconds of the example from 2 s: the mixture and the vocals, ``(2, samples)``."""
    (track,) = example_tracks()
    part = slice(2 * RATE, 4 * RATE)
    return {"mixture": track.mixture("sum")[:, part], "vocals": track.targets["vocals"][:, part]}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_mixtures_own_view_comes_back_with_mixture_and_not_with_halves(
    name: str, example: dict[str, np.ndarray]
) -> None:
    transform = make_transform(*SETTINGS[name], rate=RATE)
    exact = ola_views(
        transform, example["mixture"], make_deoverlap("mixture", transform), columns=240, rows=90
    )
    assert [v.kind for v in exact.views] == ["ola", "de-overlapped", "error"]
    # measured: -145 dB (slicqt), -139 dB (framewise); reconstruction 132 dB
    assert exact.peak_error_db < -100.0
    assert exact.reconstruction_snr_db > 100.0 and exact.slice_snr_db > 100.0
    error = exact.views[2]
    assert error.image.shape == (90, 240) and error.image.max() == FLOOR_DB  # nothing drawn
    naive = ola_views(
        transform, example["mixture"], make_deoverlap("halves", transform), columns=240, rows=90
    )
    # measured: 5.7 / 10.0 dB reconstruction, the loudest error cell -6 / -7.5 dB
    assert 3.0 < naive.reconstruction_snr_db < 15.0
    assert 2.0 < naive.slice_snr_db < 10.0
    assert -12.0 < naive.peak_error_db < -3.0
    assert naive.views[2].image.max() > -12  # the error panel shows it, same 0 dB as the slices
    for view in naive.views:
        assert view.image.dtype == np.int8 and view.image.min() >= FLOOR_DB
    # the OLA panel is the same whatever the split; the de-overlapped ones differ
    assert np.array_equal(exact.views[0].image, naive.views[0].image)
    assert not np.array_equal(exact.views[1].image, naive.views[1].image)


def test_a_target_is_split_by_its_tracks_mixture(example: dict[str, np.ndarray]) -> None:
    transform = make_transform(*SETTINGS["slicqt"], rate=RATE)
    guided = ola_views(
        transform,
        example["vocals"],
        make_deoverlap("mixture", transform),
        mixture=example["mixture"],
        columns=120,
        rows=60,
    )
    naive = ola_views(transform, example["vocals"], make_deoverlap("halves", transform))
    # measured: 30.8 dB guided by the mixture, 5.6 dB halves
    assert guided.reconstruction_snr_db > naive.reconstruction_snr_db + 15.0
    assert math.isfinite(guided.reconstruction_snr_db) and guided.peak_error_db < -15.0
    left = ola_views(transform, example["vocals"], make_deoverlap("halves", transform), channel=0)
    assert left.reconstruction_snr_db == pytest.approx(naive.reconstruction_snr_db, abs=1.5)


def test_a_model_file_draws_through_learned(example: dict[str, np.ndarray], tmp_path: Path) -> None:
    # zero weights: the model is the transform's stationary share, which needs no mixture
    model = write(tmp_path / "m.json", good_document())
    transform = make_transform(*SETTINGS["slicqt"], rate=RATE)
    prior = ola_views(transform, example["mixture"], make_deoverlap(f"learned:{model}", transform))
    naive = ola_views(transform, example["mixture"], make_deoverlap("halves", transform))
    assert prior.method == f"learned:{model}"
    assert prior.reconstruction_snr_db > naive.reconstruction_snr_db + 10.0
    other = write(tmp_path / "n.json", {**good_document(), "family": "nsgcq"})
    argv = ["spectrogram", "--dataset", "example", "--transform", "slicqt", "--ola"]
    assert main([*argv, "--deoverlap", f"learned:{other}", "-o", str(tmp_path / "x.html")]) == 2


def test_a_transform_without_slices_is_refused(example: dict[str, np.ndarray]) -> None:
    from sliceq22.errors import ParameterError

    stft = make_transform("stft", {"n_fft": 2048, "hop": 512}, rate=RATE)
    with pytest.raises(ParameterError, match="the OLA view needs a sliced transform"):
        ola_views(stft, example["mixture"], make_deoverlap("halves"))


# ---------------------------------------------------------------------------- the command
def test_cli_draws_the_three_panels_with_the_snr_in_the_title(tmp_path: Path, capsys) -> None:
    out = tmp_path / "v.html"
    argv = [
        "spectrogram",
        "--dataset",
        "example",
        "--target",
        "vocals",
        "--duration",
        "1.5",
        "--transform",
        "slicqt",
        "--param",
        "bins=60",
        "--param",
        "sllen=18432",
        "--ola",
        "--deoverlap",
        "halves",
        "--columns",
        "200",
        "--rows",
        "80",
        "-o",
        str(out),
    ]
    assert main(argv) == 0
    html = out.read_text()
    assert len(re.findall(r'"coloraxis":"coloraxis"', html)) == 3
    for title in ("OLA view of the slice magnitudes", "de-overlapped slices", "error against"):
        assert title in html
    snr = re.search(r"halves&#x27;: reconstruction SNR (-?\d+\.\d) dB", html)
    assert snr is not None and 3.0 < float(snr.group(1)) < 15.0, html[:2000]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--transform", "stft", "--ola"], "--ola needs a sliced transform"),
        (["--transform", "nsgcq", "--ola"], "nsgcq {"),
        (["--transform", "slicqt", "--deoverlap", "halves"], "--deoverlap halves needs --ola"),
        (["--transform", "slicqt", "--ola", "--deoverlap", "thirds"], "deoverlap 'thirds' is"),
        (
            ["--transform", "slicqt", "--ola", "--deoverlap", "learned:/no/m.json"],
            "de-overlap model '/no/m.json': no such file",
        ),
    ],
)
def test_cli_refuses_in_one_line_before_reading_audio(
    tmp_path: Path, capsys, args: list[str], says: str
) -> None:
    # the audio file does not exist: a refusal after reading it would name the file instead
    out = tmp_path / "x.html"
    assert main(["spectrogram", str(tmp_path / "absent.wav"), *args, "-o", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], captured.err
    assert captured.out == "" and not out.exists()


@pytest.mark.slow
def test_cli_png_has_the_three_panels(tmp_path: Path) -> None:
    # kaleido drives the Chromium of scripts/setup.sh, as test_spectrogram.py::test_cli_png
    import struct

    out = tmp_path / "v.png"
    argv = ["spectrogram", "--dataset", "example", "--duration", "1", "--transform", "slicqt"]
    argv += ["--param", "bins=60", "--ola", "--columns", "300", "--rows", "80", "-o", str(out)]
    assert main(argv) == 0
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width == 900 and height == 120 + 3 * 300  # three views of 300 px
