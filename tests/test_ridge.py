"""Ridge-analysis objectives: the normalisation across transforms, and what they prefer.

Reference values come from theory, not from the implementation: a complex
Gaussian coefficient has an exponentially distributed energy ``X``, so white
noise spread evenly over an area ``S`` (s·Hz) has
``H_α = log2 S + log2 Γ(α + 1) / (1 - α)`` bits whatever the transform
(Shannon: ``log2 S - ψ(2) / ln 2``), and Hoyer ``1 - E√X / √(E X) = 1 - √π / 2``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.special import gammaln, psi
from scipy.stats import spearmanr

from sliceq22 import TARGETS
from sliceq22.data import example_tracks
from sliceq22.data.track import Track
from sliceq22.errors import InfeasibleError, ParameterError
from sliceq22.oracles import get_objective
from sliceq22.oracles.ridge import (
    block_powers,
    flatten_cells,
    hoyer_sparsity,
    renyi_entropy,
)
from sliceq22.transforms import make_transform

RATE = 44100
SECONDS = 4.0
FMIN, FMAX = 40.0, 16000.0
REGION = {"fmin": FMIN, "fmax": FMAX}


def stft(n_fft: int, hop: int | None = None):
    return make_transform("stft", {"n_fft": n_fft, "hop": hop or n_fft // 4})


def nsgcq(bins: int, rasterize: str = "none"):
    # maxFrequency above FMAX: Essentia is fragile near Nyquist, and the
    # objective only needs the bands to reach FMAX.
    return make_transform(
        "nsgcq",
        {
            "minFrequency": 32.7,
            "maxFrequency": 17000.0,
            "binsPerOctave": bins,
            "rasterize": rasterize,
        },
    )


def noise_theory(alpha: float) -> float:
    """Rényi entropy of white noise over the measured region, from the exponential law."""
    area = math.log2(SECONDS * (FMAX - FMIN))
    if alpha == 1.0:
        return area - psi(2.0) / math.log(2.0)
    return area + gammaln(alpha + 1.0) / math.log(2.0) / (1.0 - alpha)


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(7).standard_normal((1, 1, int(SECONDS * RATE)))


@pytest.fixture(scope="module")
def example() -> Track:
    (track,) = example_tracks()
    return track


def synthetic() -> np.ndarray:
    """A steady harmonic tone and a click train, ``(2, 1, samples)``."""
    t = np.arange(int(SECONDS * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * 220.0 * h * t + h) / h for h in range(1, 11))
    clicks = np.zeros_like(t)
    clicks[RATE // 8 :: RATE // 4] = 1.0
    return np.stack([tone, clicks])[:, None, :]


# ---------------------------------------------------------------------------- geometry
def test_stft_cells_tile_the_measured_region_once():
    for n_fft, hop in ((1024, 256), (4096, 1024), (4096, 512), (16384, 4096)):
        transform = stft(n_fft, hop)
        length = int(SECONDS * RATE) + 123
        grids = transform.cell_grid(length)
        assert [(g.n_bands,) for g in grids] == [(s[0],) for s in transform.block_shapes(length)]
        powers = [np.ones(shape) for shape in transform.block_shapes(length)]
        cells = flatten_cells(powers, grids, length / RATE, FMIN, FMAX)
        assert cells.total_area == pytest.approx(length / RATE * (FMAX - FMIN), rel=1e-12)


def test_slicqt_cells_tile_the_measured_region_once():
    for params in (
        {},
        {"rasterize": "full"},
        {"scale": "mel", "bins": 120, "sllen": 16384, "trlen": 4096, "fmin": 30.0},
    ):
        transform = make_transform("slicqt", params)
        length = int(SECONDS * RATE)
        grids = transform.cell_grid(length)
        assert all(g.sliced for g in grids)
        powers = [np.ones(shape) for shape in transform.block_shapes(length)]
        cells = flatten_cells(block_powers(powers, grids), grids, SECONDS, FMIN, FMAX)
        assert cells.total_area == pytest.approx(SECONDS * (FMAX - FMIN), rel=1e-9)


GEOMETRY_CASES = [
    ("stft", {"n_fft": 4096, "hop": 1024}),
    ("stft", {"n_fft": 16384, "hop": 4096}),
    ("nsgcq", {"minFrequency": 100.0, "maxFrequency": 17000.0, "binsPerOctave": 24}),
    (
        "nsgcq",
        {"minFrequency": 100.0, "maxFrequency": 17000.0, "binsPerOctave": 24, "rasterize": "none"},
    ),
    (
        "nsgcq",
        {
            "minFrequency": 100.0,
            "maxFrequency": 17000.0,
            "binsPerOctave": 24,
            "mode": "framewise",
            "frameSize": 16384,
            "transitionSize": 2048,
        },
    ),
    ("slicqt", {}),
    ("slicqt", {"rasterize": "full"}),
]


@pytest.mark.parametrize(("family", "params"), GEOMETRY_CASES)
def test_cells_sit_where_a_click_and_a_sine_are(family, params):
    """Energy-weighted cell times and frequencies land on a click's time and a sine's pitch."""
    transform = make_transform(family, params)
    length = int(SECONDS * RATE)
    click = np.zeros(length)
    click[int(1.5 * RATE)] = 1.0
    sine = np.sin(2 * np.pi * 1000.0 * np.arange(length) / RATE)
    grids = transform.cell_grid(length)
    powers = block_powers(transform.forward(np.stack([click, sine])), grids)
    time_sum = freq_sum = 0.0
    energy = np.zeros(2)
    for power, grid in zip(powers, grids):
        kept = power[:, ~grid.edge]
        times = grid.time_origin + (np.arange(power.shape[-1]) + 0.5) * grid.time_step
        time_sum += float(np.sum(kept[0] * times))
        freq_sum += float(np.sum(kept[1].sum(axis=-1) * grid.frequencies[~grid.edge]))
        energy += kept.sum(axis=(-1, -2))
    assert time_sum / energy[0] == pytest.approx(1.5, abs=0.002)
    assert freq_sum / energy[1] == pytest.approx(1000.0, rel=0.01)


# ---------------------------------------------------------------------------- white noise
@pytest.mark.parametrize("alpha", [3.0, 1.0, 0.5])
def test_white_noise_renyi_agrees_across_stft_sizes_with_theory(noise, alpha):
    objective = get_objective("renyi", alpha=alpha, **REGION)
    values = [float(objective.values(stft(n), noise)[0][0]) for n in (1024, 4096, 16384)]
    assert max(values) - min(values) < 0.05, values
    assert values == pytest.approx([noise_theory(alpha)] * 3, abs=0.05)


def test_white_noise_renyi_within_0_2_bits_across_stft_and_nsgcq(noise):
    objective = get_objective("renyi", **REGION)  # alpha 3
    transforms = {f"stft {n}": stft(n) for n in (1024, 4096, 16384)}
    transforms |= {f"nsgcq {b}": nsgcq(b) for b in (12, 24, 48, 96)}
    transforms["slicqt bark-262"] = make_transform("slicqt", {})
    base = {"minFrequency": 32.7, "maxFrequency": 17000.0, "binsPerOctave": 24}
    transforms["nsgcq framewise"] = make_transform(
        "nsgcq", {**base, "mode": "framewise", "frameSize": 16384, "transitionSize": 2048}
    )
    transforms["nsgcq framewise local"] = make_transform(
        "nsgcq",
        {
            **base,
            "mode": "framewise",
            "frameSize": 16384,
            "transitionSize": 2048,
            "phaseMode": "local",
        },
    )
    transforms["nsgcq gamma 20"] = make_transform("nsgcq", {**base, "gamma": 20})
    values = {name: float(objective.values(t, noise)[0][0]) for name, t in transforms.items()}
    spread = max(values.values()) - min(values.values())
    assert spread < 0.2, values
    assert all(abs(v - noise_theory(3.0)) < 0.1 for v in values.values()), values


def test_white_noise_hoyer_matches_the_exponential_law(noise):
    objective = get_objective("hoyer", **REGION)
    for transform in (stft(1024), stft(16384), nsgcq(48), make_transform("slicqt", {})):
        value = float(objective.values(transform, noise)[0][0])
        assert value == pytest.approx(1.0 - math.sqrt(math.pi) / 2.0, abs=0.005), transform


def test_hoyer_is_renyi_one_half_rescaled(example):
    transform = stft(4096)
    audio = example.stacked()
    grids = transform.cell_grid(example.length)
    powers = [p.sum(axis=1) for p in block_powers(transform.forward(audio), grids)]
    cells = flatten_cells(powers, grids, example.duration, FMIN, FMAX)
    half = renyi_entropy(cells, 0.5)
    expected = 1.0 - 2.0 ** ((half - math.log2(cells.total_area)) / 2.0)
    np.testing.assert_allclose(hoyer_sparsity(cells), expected, rtol=1e-12)


# ---------------------------------------------------------------------------- framewise speed path
@pytest.mark.parametrize(
    "extra",
    [{"binsPerOctave": 48},
     {"binsPerOctave": 24, "rasterize": "none", "phaseMode": "local"}],
    ids=["48-full-global", "24-none-local"],
)  # fmt: skip
def test_framewise_nsgcq_coefficients_are_essentias_per_frame_output(example, extra):
    """The framewise forward (numpy, for speed) holds what Essentia returns frame by frame.

    The frames are built here from the documented layout (``frameSize/2 +
    transitionSize/2`` ... zeros, Tukey window, half overlap) and sent through
    Essentia's ``NSGConstantQ`` one at a time, as the reference.
    """
    import essentia.standard as es

    from sliceq22.transforms.nsgcq import NsgConstantQ, tukey_frame_window

    frame, transition = 16384, 2048
    params = {
        "minFrequency": 32.7,
        "maxFrequency": 17000.0,
        "mode": "framewise",
        "frameSize": frame,
        "transitionSize": transition,
        **extra,
    }
    transform = make_transform("nsgcq", params)
    x = example.mixture()[0, 5 * RATE : 6 * RATE + RATE // 2].astype(np.float32)
    blocks = transform.forward(x)
    # the fast path is on (else this only compares Essentia with itself)
    assert transform._engine(frame).frames is not None

    hop = frame // 2
    slices = -(-(x.size + transition) // hop)
    padded = np.zeros((slices + 1) * hop, dtype=np.float32)
    front = (hop + transition) // 2
    padded[front : front + x.size] = x
    window = tukey_frame_window(frame, transition).astype(np.float32)
    analysis = es.NSGConstantQ(inputSize=frame, **NsgConstantQ.essentia_parameters(params))
    assert blocks[0].shape[0] == slices
    for k in range(slices):
        cq, dc, nf = analysis(padded[k * hop : k * hop + frame] * window)
        reference = [np.asarray(band, dtype=np.complex64) for band in (dc, *cq, nf)]
        got = [row for block in blocks for row in block[k]]  # bands, low to high
        assert len(got) == len(reference)
        scale = max(np.abs(r).max() for r in reference)
        for g, r in zip(got, reference):
            assert g.shape == r.shape
            # Essentia computes in float32: agreement to its rounding, not bit for bit
            assert np.abs(g - r).max() <= 1e-5 * scale


# ---------------------------------------------------------------------------- grid invariance
def test_ragged_and_rasterized_nsgcq_agree(noise, example):
    renyi = get_objective("renyi", **REGION)
    ragged, raster = nsgcq(48, "none"), nsgcq(48, "full")
    for audio in (noise, example.stacked()):
        a = renyi.values(ragged, audio)[0]
        b = renyi.values(raster, audio)[0]
        np.testing.assert_allclose(a, b, atol=0.05)


def test_ragged_and_matrix_slicqt_agree(example):
    renyi = get_objective("renyi", **REGION)
    a = renyi.values(make_transform("slicqt", {}), example.stacked())[0]
    b = renyi.values(make_transform("slicqt", {"rasterize": "full"}), example.stacked())[0]
    np.testing.assert_allclose(a, b, atol=0.05)


def test_refining_the_stft_hop_does_not_change_the_value(example):
    renyi = get_objective("renyi", **REGION)
    audio = example.stacked()
    values = [renyi.values(stft(4096, hop), audio)[0] for hop in (1024, 512, 256)]
    np.testing.assert_allclose(values[1], values[0], atol=0.02)
    np.testing.assert_allclose(values[2], values[0], atol=0.02)


# ---------------------------------------------------------------------------- preferences
@pytest.mark.parametrize("name", ["renyi", "hoyer"])
def test_tone_prefers_frequency_and_clicks_time_resolution(name):
    objective = get_objective(name, **REGION)
    better = np.argmin if objective.direction == "minimize" else np.argmax
    signals = synthetic()
    for family in (
        [stft(1024), stft(4096), stft(16384)],  # coarse -> fine frequency resolution
        [nsgcq(12), nsgcq(24), nsgcq(48), nsgcq(96)],
    ):
        values = np.array([objective.values(t, signals)[0] for t in family])  # (transforms, 2)
        assert better(values[:, 0]) == len(family) - 1, values  # tone: finest frequency
        assert better(values[:, 1]) == 0, values  # clicks: finest time


def test_tonal_ridge_is_zero_on_noise_and_high_on_a_resolved_tone(noise):
    objective = get_objective("tonal-ridge", **REGION)
    tone_and_clicks = synthetic()
    for transform in (stft(16384), nsgcq(96)):
        (on_noise,), _ = objective.values(
            transform, np.random.default_rng(3).standard_normal(noise.shape)
        )
        assert abs(on_noise) < 0.02
        (tone, clicks), diagnostics = objective.values(transform, tone_and_clicks)
        assert 0.0 < diagnostics["noise_fraction"] < 0.5
        assert tone > 0.8 and clicks < 0.1
    coarse = objective.values(stft(1024), tone_and_clicks)[0][0]
    assert coarse < 0.2  # 43 Hz bins cannot put the harmonics within ±25 cents


RESOLUTIONS = [1024, 2048, 4096, 8192, 16384]


@pytest.fixture(scope="module")
def example_hoyer(example):
    objective = get_objective("hoyer", **REGION)
    return np.array(
        [
            [objective.evaluate_track(stft(n), example).scores[t] for t in TARGETS]
            for n in RESOLUTIONS
        ]
    )


def test_example_pitched_targets_prefer_finer_frequency_resolution_than_drums(example_hoyer):
    best = dict(zip(TARGETS, np.argmax(example_hoyer, axis=0)))
    for target in ("bass", "other", "vocals"):
        assert RESOLUTIONS[best[target]] > RESOLUTIONS[best["drums"]], best


@pytest.mark.parametrize("name", ["renyi", "hoyer"])
def test_stereo_channels_rank_transforms_alike(example, name):
    objective = get_objective(name, **REGION)
    transforms = [stft(n) for n in RESOLUTIONS] + [nsgcq(b) for b in (12, 24, 48, 96)]
    audio = example.stacked()
    left = np.array([objective.values(t, audio[:, :1])[0] for t in transforms])
    right = np.array([objective.values(t, audio[:, 1:])[0] for t in transforms])
    for j, target in enumerate(TARGETS):
        rho = spearmanr(left[:, j], right[:, j]).statistic
        assert rho >= 0.9, (target, rho)


# ---------------------------------------------------------------------------- objective API
def test_objectives_registered_with_directions():
    assert get_objective("renyi").direction == "minimize"
    assert get_objective("hoyer").direction == "maximize"
    assert get_objective("tonal-ridge").direction == "maximize"
    assert get_objective("renyi").options["alpha"] == 3.0
    tonal = get_objective("tonal-ridge")
    assert (tonal.options["peaks"], tonal.options["cents"]) == (10, 25.0)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("renyi", {"alpha": 0}, "renyi: option alpha = 0 must be > 0"),
        ("renyi", {"alpha": "x"}, "renyi: option alpha = 'x' is not a number"),
        ("renyi", {"fmin": 500, "fmax": 100}, "option fmax = 100 must be above fmin = 500"),
        ("renyi", {"fmin": -1}, "option fmin = -1 must be ≥ 0"),
        ("hoyer", {"channels": "left"}, "hoyer: option channels = 'left' is not one of sum, mean"),
        ("hoyer", {"alpha": 2}, "hoyer: unknown option(s) 'alpha'"),
        ("tonal-ridge", {"peaks": 0}, "tonal-ridge: option peaks = 0 must be a whole number"),
        ("tonal-ridge", {"peaks": 2.5}, "option peaks = 2.5 must be a whole number"),
        ("tonal-ridge", {"cents": -5}, "tonal-ridge: option cents = -5 must be in (0, 600]"),
        ("tonal-ridge", {"frame": 0}, "tonal-ridge: option frame = 0 must be > 0"),
    ],
)
def test_bad_options_name_the_option(name, options, message):
    with pytest.raises(ParameterError) as info:
        get_objective(name, **options)
    assert message in str(info.value)


def test_fmax_above_nyquist_is_refused(example):
    with pytest.raises(ParameterError, match="fmax = 30000 Hz is above Nyquist"):
        get_objective("renyi", fmax=30000).evaluate_track(stft(4096), example)


def test_transform_not_covering_the_region_is_infeasible_before_any_audio():
    class Counting(type(stft(1024))):
        calls = 0

        def forward(self, audio):
            Counting.calls += 1
            return super().forward(audio)

    short = Counting({"n_fft": 512, "hop": 128})  # lowest bin above DC starts at 43 Hz
    objective = get_objective("renyi", fmin=32.9, fmax=FMAX)
    audio = np.zeros((1, 1, RATE))
    calls_before = Counting.calls
    with pytest.raises(
        InfeasibleError, match="cover 43.1-.* but the objective measures 32.9-16000"
    ):
        objective.values(short, audio)
    assert Counting.calls == calls_before


def test_evaluate_track_excludes_silent_targets_and_times_phases(example):
    targets = dict(example.targets)
    targets["vocals"] = np.zeros_like(targets["vocals"])
    track = Track(name="no vocals", rate=example.rate, targets=targets)
    for name in ("renyi", "hoyer", "tonal-ridge"):
        result = get_objective(name, **REGION).evaluate_track(stft(4096), track)
        assert result.excluded == ["vocals"] and math.isnan(result.scores["vocals"])
        assert all(math.isfinite(result.scores[t]) for t in TARGETS[:3])
        assert set(result.timing) == {"forward", "metric", "total"}
        assert result.diagnostics["fmin"] == FMIN


def test_channels_mean_averages_the_per_channel_values(example):
    audio = example.stacked()
    mean = get_objective("renyi", channels="mean", **REGION).values(stft(4096), audio)[0]
    single = get_objective("renyi", **REGION)
    left = single.values(stft(4096), audio[:, :1])[0]
    right = single.values(stft(4096), audio[:, 1:])[0]
    np.testing.assert_allclose(mean, (left + right) / 2, rtol=1e-12)


# ---------------------------------------------------------------------------- CLI
def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sliceq22",
            "evaluate",
            "--dataset",
            "example",
            "--duration",
            "2",
            "--offset",
            "1",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def test_cli_evaluate_prints_renyi_per_target():
    from sliceq22.data import DatasetSpec, load_tracks

    options = [
        "--objective",
        "renyi",
        "--option",
        "alpha=2",
        "--option",
        "fmax=16000",
        "--transform",
        "stft",
        "--param",
        "n_fft=2048",
        "--param",
        "hop=512",
    ]
    done = _cli(*options, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["objective"]["name"] == "renyi"
    assert document["objective"]["direction"] == "minimize"
    assert document["objective"]["options"]["alpha"] == 2.0
    (track,) = load_tracks(DatasetSpec(source="example", duration=2.0, offset=1.0))
    expected = get_objective("renyi", alpha=2, fmax=16000).evaluate_track(
        make_transform("stft", {"n_fft": 2048, "hop": 512}), track
    )
    assert document["scores"] == pytest.approx(expected.scores, abs=1e-9)

    table = _cli(*options)
    assert table.returncode == 0, table.stderr
    assert "renyi" in table.stdout and "bits" in table.stdout
    row = next(line for line in table.stdout.splitlines() if line.startswith("median over"))
    numbers = [float(v) for v in row.split()[-4:]]
    assert numbers == pytest.approx([expected.scores[t] for t in TARGETS], abs=1e-3)


def test_cli_evaluate_names_a_bad_objective_option():
    done = _cli("--objective", "renyi", "--metric", "sdr-bss")
    assert done.returncode == 2
    assert "renyi: unknown option(s) 'metric'" in done.stderr
    assert "Traceback" not in done.stderr
