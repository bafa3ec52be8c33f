"""Spectrogram views (``sliceq22.report.spectrogram``) and ``sliceq22 spectrogram``, on real
transforms.

Signals with known answers: sines must peak at their frequencies, a click at
its time (in the ragged view of a full-signal transform and in the
overlap-added view of a sliced one, whose slices start half a slice before
the signal), and the ragged view must draw each band with as many cells as
the transform declares for it (``block_shapes``).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile

from sliceq22.data.excerpt import cut_excerpt as excerpt
from sliceq22.errors import ParameterError
from sliceq22.oracles.cells import block_powers
from sliceq22.report.spectrogram import FLOOR_DB, compute_views
from sliceq22.report.spectrogram_energy import block_energies
from sliceq22.transforms import make_transform
from tests.studyrun import run_cli
from tests.transformcheck import mixture_excerpt

RATE = 44100
SETTINGS = {
    "stft": ("stft", {"n_fft": 4096, "hop": 1024}),
    "slicqt": ("slicqt", {"scale": "bark", "bins": 100, "sllen": 18432, "trlen": 4096}),
    "nsgcq": ("nsgcq", {"minFrequency": 40.0, "maxFrequency": 16000.0, "binsPerOctave": 24}),
    "nsgcq-framewise": (
        "nsgcq",
        {
            "mode": "framewise",
            "frameSize": 8192,
            "transitionSize": 1024,
            "minFrequency": 65.41,
            "maxFrequency": 6000.0,
            "binsPerOctave": 48,
        },
    ),
}


def _sines(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    mono = 0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.2 * np.sin(2 * np.pi * 3000.0 * t)
    return np.stack([mono, 0.8 * mono]).astype(np.float32)


def _view(views, kind):
    (view,) = [v for v in views if v.kind == kind]
    return view


@pytest.mark.parametrize("name", list(SETTINGS))
def test_sines_peak_at_their_frequencies(name: str) -> None:
    family, params = SETTINGS[name]
    views = compute_views(
        make_transform(family, params, rate=RATE), _sines(), columns=400, rows=300
    )
    kinds = [v.kind for v in views]
    sliced = family == "slicqt" or params.get("mode") == "framewise"
    assert kinds == (["ragged", "matrix", "overlap-add"] if sliced else ["ragged", "matrix"])
    for view in views:
        assert (
            view.image.dtype == np.int8 and view.image.max() == 0 and view.image.min() >= FLOOR_DB
        )
        assert view.image.shape[1] <= 400 and view.image.shape[0] <= 300
    for view in (v for v in views if v.kind != "matrix"):
        assert view.log_y and view.y_title == "frequency (Hz)"
        # Mean level per row, in the middle half of the time axis (no edge effects).
        middle = view.image[:, view.image.shape[1] // 4 : 3 * view.image.shape[1] // 4].astype(
            float
        )
        level = middle.mean(axis=1)
        first = view.y[np.argmax(level)]
        assert abs(np.log2(first / 440.0)) < 0.06, (view.kind, first)  # within a semitone
        away = np.abs(np.log2(view.y / 440.0)) > 0.5
        second = view.y[away][np.argmax(level[away])]
        assert abs(np.log2(second / 3000.0)) < 0.06, (view.kind, second)


@pytest.mark.parametrize(
    "name,kind",
    [
        ("stft", "ragged"),
        ("nsgcq", "ragged"),
        ("slicqt", "overlap-add"),
        ("nsgcq-framewise", "overlap-add"),
    ],
)
def test_click_is_drawn_at_its_time(name: str, kind: str) -> None:
    family, params = SETTINGS[name]
    audio = np.random.default_rng(0).standard_normal((1, 2 * RATE)).astype(np.float32) * 1e-5
    click = int(0.75 * RATE)
    audio[0, click] = 1.0
    view = _view(
        compute_views(make_transform(family, params, rate=RATE), audio, columns=500, rows=200), kind
    )
    assert view.x_title == "time (s)"
    high = view.y > 2000.0  # fine time resolution in every family up there
    loudest = view.x[np.argmax(view.image[high].astype(float).mean(axis=0))]
    assert abs(loudest - 0.75) < 0.03, loudest  # an STFT hop is 23 ms
    assert view.x_range in (None, (0.0, 2.0))


def test_ragged_view_draws_each_band_with_its_own_cells() -> None:
    family, params = SETTINGS["slicqt"]
    transform = make_transform(family, {**params, "rasterize": "none"}, rate=RATE)
    audio = np.random.default_rng(1).standard_normal((1, RATE)).astype(np.float32)
    columns = 3000
    ragged = _view(compute_views(transform, audio, columns=columns, rows=600), "ragged")
    freqs = transform.frequencies()
    shapes = transform.block_shapes(audio.shape[-1])
    cells = np.concatenate([[s[0] * s[2]] * s[1] for s in shapes])  # slices × frames, per band
    changes = {}
    for band in (5, len(freqs) // 2, len(freqs) - 10):
        row = ragged.image[np.argmin(np.abs(np.log(ragged.y / freqs[band])))].astype(int)
        where = np.flatnonzero(np.diff(row))
        # Slices end to end: cell of pixel j = floor((j + 1/2) · cells / columns). The drawn value
        # may change only where the cell does (equal neighbours in dB need not change it).
        # (Within a pixel: a boundary that falls exactly between two pixels may round either way.)
        cell = np.floor((np.arange(columns) + 0.5) * cells[band] / columns).astype(int)
        before, after = cell[np.maximum(where - 1, 0)], cell[np.minimum(where + 2, columns - 1)]
        assert np.all(before != after), band
        changes[band] = len(where)
        assert 0 < changes[band] <= cells[band] - 1
    low, mid, high = sorted(changes)
    assert changes[low] < changes[mid] < changes[high]  # time resolution grows with frequency


def test_matrix_view_uses_the_family_rasterized_form() -> None:
    family, params = SETTINGS["slicqt"]
    audio = _sines(1.0)
    transform = make_transform(family, {**params, "rasterize": "none"}, rate=RATE)
    matrix = _view(compute_views(transform, audio, columns=100000, rows=1000), "matrix")
    (full,) = make_transform(family, {**params, "rasterize": "full"}, rate=RATE).block_shapes(
        audio.shape[-1]
    )
    slices, bands, frames = full
    assert "rasterize=full" in matrix.note
    assert matrix.image.shape == (bands - 2, slices * frames)  # DC and Nyquist bands left out
    labels = matrix.y_ticks[1]
    assert all(label.endswith("Hz") for label in labels)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_view_energies_are_the_ridge_measures_energies(name: str) -> None:
    # The bundled example's mixture, one forward call: the views draw exactly the comparable cell
    # energies the ridge measures score (channels added, sliced blocks overlap-added).
    family, params = SETTINGS[name]
    transform = make_transform(family, params, rate=RATE)
    audio = mixture_excerpt(1)
    coefs = transform.forward(audio)
    grids = transform.cell_grid(audio.shape[-1])
    drawn = block_energies(transform, coefs, audio.shape[-1], None)
    # The ridge objectives' call: (signals, channels, ...) blocks, channels summed (axis 1).
    ridge = block_powers([c[None] for c in coefs], grids, sum_axis=1)
    assert len(drawn) == len(ridge)
    for view_block, ridge_block in zip(drawn, ridge):
        np.testing.assert_array_equal(view_block.measured, ridge_block[0])


def test_a_family_without_cell_grid_is_drawn_from_its_frequencies() -> None:
    family, params = SETTINGS["stft"]
    base = type(make_transform(family, params, rate=RATE))

    class NoCells(base):
        def cell_grid(self, length: int):
            raise NotImplementedError("no cells")

    class WrongFrequencies(NoCells):
        def frequencies(self) -> np.ndarray:
            return super().frequencies()[:-1]

    ragged = _view(compute_views(NoCells(params, rate=RATE), _sines(), rows=300), "ragged")
    level = ragged.image.astype(float).mean(axis=1)
    assert abs(np.log2(ragged.y[np.argmax(level)] / 440.0)) < 0.06
    with pytest.raises(ParameterError, match="frequencies"):
        compute_views(WrongFrequencies(params, rate=RATE), _sines())


def test_excerpt_bounds() -> None:
    audio = np.arange(2 * 1000, dtype=np.float32).reshape(2, 1000)
    part, start = excerpt(audio, 100, 2.0, 3.0)
    assert part.shape == (2, 300) and start == 2.0 and part[0, 0] == 200
    middle, start = excerpt(audio, 100, None, 4.0)
    assert middle.shape == (2, 400) and start == 3.0
    tail, _ = excerpt(audio, 100, 8.0, 5.0)
    assert tail.shape == (2, 200)
    for bad in ((-1.0, 1.0), (10.0, 1.0), (0.0, 0.0)):
        with pytest.raises(ParameterError):
            excerpt(audio, 100, *bad)


# ---------------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "tone.wav"
    soundfile.write(path, _sines(2.0).T, RATE, subtype="FLOAT")
    return path


def _heatmaps(html: str) -> int:
    # Each view's heatmap trace (not the template's defaults) uses the shared colour axis.
    return len(re.findall(r'"coloraxis":"coloraxis"', html))


def test_cli_html_from_file_and_dataset(tone: Path) -> None:
    folder = tone.parent
    done = run_cli(
        "spectrogram",
        str(tone),
        "--transform",
        "stft",
        "--param",
        "n_fft=2048",
        "--param",
        "hop=512",
        "--start",
        "0.5",
        "--duration",
        "1",
        "-o",
        "t.html",
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    html = (folder / "t.html").read_text()
    assert html.count("* plotly.js v") == 1 and _heatmaps(html) == 2
    assert "tone.wav from 0.50 s, 1.00 s" in html
    data = run_cli(
        "spectrogram",
        "--dataset",
        "example",
        "--target",
        "vocals",
        "--duration",
        "1",
        "--offset",
        "2",
        "--transform",
        "slicqt",
        "--param",
        "bins=60",
        "--param",
        "sllen=18432",
        "-o",
        "v.html",
        "--columns",
        "300",
        "--rows",
        "100",
        cwd=folder,
    )
    assert data.returncode == 0, data.stderr
    html = (folder / "v.html").read_text()
    # The example's excerpt times count from the file's first sample (4096 trimmed samples before
    # it).
    assert _heatmaps(html) == 3 and re.search(r"vocals of [^\"]+ from 2\.09 s, 1\.00 s", html)


@pytest.mark.slow
def test_cli_png(tone: Path) -> None:
    # kaleido 1.x drives the Chromium that scripts/setup.sh installs (no browser download).
    folder = tone.parent
    done = run_cli(
        "spectrogram",
        str(tone),
        "--transform",
        "stft",
        "--columns",
        "600",
        "--rows",
        "120",
        "-o",
        "t.png",
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    head = (folder / "t.png").read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width == 900 and height == 120 + 2 * 300  # max(900, columns + 200); two views of 300 px


@pytest.mark.parametrize(
    "args,message",
    [
        (["--transform", "nope"], "unknown transform family 'nope'"),
        (["--transform", "stft", "-o", "x.txt"], "must end in .html or .png"),
        (["--transform", "stft", "--channel", "3"], "channel 3 does not exist"),
        (
            ["--transform", "stft", "--param", "n_fft=512", "--param", "hop=1024"],
            "hop 1024 must be at most",
        ),
    ],
)
def test_cli_errors(tone: Path, args: list[str], message: str) -> None:
    done = run_cli("spectrogram", str(tone), *args, cwd=tone.parent)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1


def test_cli_missing_file(tmp_path: Path) -> None:
    done = run_cli("spectrogram", "absent.wav", "--transform", "stft", cwd=tmp_path)
    assert done.returncode == 2 and "absent.wav: file does not exist" in done.stderr
