"""De-overlap of the OLA view on the bundled example: exactness, MPI cost, streaming, learning."""

from __future__ import annotations

import numpy as np
import pytest
import stempeg

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.deoverlap import make_deoverlap, mpi_ola_estimates
from sliceq22.deoverlap.methods import Halves, Learned, Mixture
from sliceq22.deoverlap.modelfile import load_model
from sliceq22.deoverlap.split import assemble, guided_shares, halves, overlap_add
from sliceq22.deoverlap.training import fit, self_reconstruction, split_by_track
from sliceq22.oracles.mpi import mpi_estimates
from sliceq22.transforms import make_transform, presets

EDGE = 4096
#: bark-262 (the published sliCQT) and the seed's framewise NSGCQ (docs/DESIGN notes).
SETTINGS = {
    "bark-262": ("slicqt", {}),
    "bark-262-matrix": ("slicqt", {"rasterize": "full"}),
    "framewise-seed": (
        "nsgcq",
        dict(presets.NSGCQ_SEED_FRAMEWISE),
    ),
}
#: Largest MPI loss per target the ``mixture`` de-overlap may cost (the issue's targets).
ALLOWED_LOSS = {"bark-262": 0.2, "bark-262-matrix": 0.2, "framewise-seed": 0.3}


@pytest.fixture(scope="module")
def stems() -> np.ndarray:
    """The example's four targets, float32 ``(4, 2, samples)``, AAC edges trimmed."""
    audio, _ = stempeg.read_stems(stempeg.example_stem_path())
    return np.ascontiguousarray(np.transpose(audio, (0, 2, 1))[1:5, :, EDGE:-EDGE], np.float32)


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


def test_split_geometry_is_exact():
    rng = np.random.default_rng(1)
    slices = rng.standard_normal((2, 7, 3, 10)) + 1j * rng.standard_normal((2, 7, 3, 10))
    ola = overlap_add(slices)
    assert np.abs(assemble(ola, guided_shares(slices), 7) - slices).max() < 1e-8
    size = np.abs(slices)
    assert np.abs(assemble(overlap_add(size), guided_shares(size), 7) - size).max() < 1e-12
    # every split overlap-adds back to the view it came from
    np.testing.assert_allclose(overlap_add(halves(ola, 7)), ola, atol=1e-12)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_mixture_deoverlap_of_the_mixture_is_exact(stems: np.ndarray, name: str):
    family, params = SETTINGS[name]
    transform = make_transform(family, params)
    mixture = stems.sum(axis=0, dtype=np.float64).astype(np.float32)
    estimate = mpi_ola_estimates(transform, mixture[None], mixture, Mixture(), with_plain=False)
    assert sdr(mixture, estimate[0]) >= 100.0


@pytest.mark.parametrize("name", list(SETTINGS))
def test_mpi_through_ola_costs_little_with_mixture(stems: np.ndarray, name: str):
    family, params = SETTINGS[name]
    transform = make_transform(family, params)
    mixture = stems.sum(axis=0, dtype=np.float64).astype(np.float32)
    both = mpi_ola_estimates(transform, stems, mixture, Mixture())
    naive = mpi_ola_estimates(transform, stems, mixture, Halves(), with_plain=False)
    reference = mpi_estimates(transform, stems, mixture).estimates
    for i, target in enumerate(TARGETS):
        plain, ola = sdr(stems[i], both[4 + i]), sdr(stems[i], both[i])
        # the plain MPI of the same pass is the project's MPI oracle
        assert plain == pytest.approx(sdr(stems[i], reference[i]), abs=1e-4), target
        assert plain - ola <= ALLOWED_LOSS[name], (target, plain, ola)
        assert plain - sdr(stems[i], naive[i]) > 0.8, target  # halves loses 0.9-4 dB


@pytest.mark.parametrize("name", ["bark-262", "framewise-seed"])
def test_streamed_equals_whole_signal(stems: np.ndarray, name: str):
    family, params = SETTINGS[name]
    transform = make_transform(family, params)
    mixture = stems.sum(axis=0, dtype=np.float64).astype(np.float32)
    whole = mpi_ola_estimates(transform, stems, mixture, Mixture())
    streamed = mpi_ola_estimates(transform, stems, mixture, Mixture(), chunk_bytes=1)
    for i in range(8):
        assert sdr(stems[i % 4], streamed[i]) == pytest.approx(
            sdr(stems[i % 4], whole[i]), abs=1e-4
        )
    assert np.abs(streamed - whole).max() < 1e-5


def test_learned_model_on_a_held_out_stretch(stems: np.ndarray, tmp_path):
    """Trained on the first half of the example, scored on the second (own phase)."""
    transform = make_transform("slicqt", {})
    half = stems.shape[-1] // 2
    first = Track("first", 44100, dict(zip(TARGETS, stems[..., :half])), source="test")
    second = Track("second", 44100, dict(zip(TARGETS, stems[..., half:])), source="test")
    model, equations = fit([transform], [first])
    assert model.parameters == 855 and equations.rows > 100_000
    model.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json", "slicqt")
    np.testing.assert_array_equal(loaded.weights, model.weights)
    scores = self_reconstruction(transform, second, [Halves(), Learned(loaded)])
    learned = np.median(list(scores["learned"].values()))
    assert learned >= 30.0
    assert learned - np.median(list(scores["halves"].values())) >= 15.0
    # streamed pieces give the same scores
    small = self_reconstruction(transform, second, [Learned(loaded)], chunk_bytes=1)
    for target in TARGETS:
        assert small["learned"][target] == pytest.approx(scores["learned"][target], abs=1e-4)
    # and MPI through OLA with it stays near plain MPI
    mixture = stems.sum(axis=0, dtype=np.float64).astype(np.float32)
    method = make_deoverlap(f"learned:{tmp_path / 'm.json'}", transform)
    both = mpi_ola_estimates(transform, stems, mixture, method)
    for i in range(4):
        assert sdr(stems[i], both[4 + i]) - sdr(stems[i], both[i]) <= 0.5


def test_split_by_track_is_seeded_and_keeps_a_training_track():
    names = [f"t{i}" for i in range(10)]
    train, test = split_by_track(names, 0.3, 7)
    assert len(test) == 3 and set(train) | set(test) == set(names)
    assert split_by_track(names, 0.3, 7) == (train, test)
    assert split_by_track(names, 0.3, 8) != (train, test)
    assert split_by_track(["a", "b"], 0.9, 0)[0] != []


def test_normal_equations_grouped_by_band_and_position_are_exact():
    """The grouped accumulation equals the explicit design matrix (and predicts with it)."""
    from sliceq22.deoverlap.learned import (
        BASES,
        MIN_WEIGHT,
        NormalEquations,
        bases,
        feature_array,
        predict_shares,
    )
    from sliceq22.deoverlap.prior import BlockPrior

    rng = np.random.default_rng(0)
    bands, h, n = 5, 8, 6
    share = np.clip(rng.random((bands, h)), 0.05, 0.95)
    prior = BlockPrior(share, rng.random((bands, 1)), (np.arange(bands)[:, None] == 0) * 1.0)
    ola = rng.random((2, 3, bands, (n + 1) * h)) + 0.01
    true = rng.random(ola.shape)
    equations = NormalEquations()
    equations.add(ola, true, prior, n, (1, 5))
    p, basis = bases(prior, n)
    keep = p * (1 - p) >= MIN_WEIGHT
    keep[:, :h] = False
    keep[:, 5 * h :] = False
    gram, moment = 0.0, 0.0
    for index in np.ndindex(2, 3):
        x = feature_array(ola[index], h, equations.scales, equations.pairs)[keep]
        gain = (ola[index] * p * (1 - p))[keep]
        design = (x[:, :, None] * basis[:, keep].T[:, None, :]).reshape(len(x), -1) * gain[:, None]
        gram = gram + design.T @ design
        moment = moment + design.T @ (ola[index] * (true[index] - p))[keep]
    np.testing.assert_allclose(equations.gram, gram, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(equations.moment, moment, rtol=1e-10, atol=1e-12)
    assert equations.rows == 6 * keep.sum()
    theta = equations.solve()
    x = feature_array(ola[1, 2], h, equations.scales, equations.pairs)
    x = x.reshape(-1, x.shape[-1])
    fields = (x @ theta.reshape(-1, len(BASES))) * basis.reshape(len(BASES), -1).T
    expected = np.clip(p + p * (1 - p) * fields.sum(-1).reshape(p.shape), 0, 1)
    np.testing.assert_allclose(predict_shares(ola, prior, n, theta)[1, 2], expected, atol=1e-12)
