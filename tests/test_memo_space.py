"""Whether a search space is finite and small enough to be exhausted, decided quickly."""

from __future__ import annotations

import time

from sliceq22.search.config import parse_study_text
from sliceq22.search.memo import MAX_ENUMERATED, space_points


def _entries(space: str):
    text = f'[study]\nname = "s"\n[[transforms]]\nfamily = "stft"\n[transforms.space]\n{space}\n'
    return parse_study_text(text).transforms


def test_a_small_grid_is_enumerated_with_its_conditional_parameters() -> None:
    keys = space_points(
        _entries("n_fft = { choices = [1024, 2048] }\nhop = { low = 256, high = 258 }")
    )
    assert keys is not None and len(keys) == 2 * 3


def test_a_huge_integer_space_is_endless_without_enumerating_it() -> None:
    t0 = time.perf_counter()
    keys = space_points(
        _entries("n_fft = { low = 256, high = 4096 }\nhop = { low = 64, high = 128 }")
    )
    assert keys is None
    assert (4096 - 256 + 1) * (128 - 64 + 1) > MAX_ENUMERATED
    assert time.perf_counter() - t0 < 0.1  # decided from the bound, not by keying candidates


def test_a_continuous_parameter_makes_the_space_endless() -> None:
    assert space_points(_entries("n_fft = 2048\nhop = { low = 256.0, high = 512.0 }")) is None
