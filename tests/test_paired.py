"""The paired comparison of a best trial with a reference: known per-track differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sliceq22.search.paired import PairedComparison, compare, differences, track_scores


def test_all_positive_differences_have_the_exact_signed_rank_p_value() -> None:
    diffs = np.array([0.3, 0.1, 0.7, 0.2, 0.5, 0.9, 0.4, 0.6])
    result = compare(diffs)
    assert result is not None
    # every rank on one side: the exact two-sided p-value is 2 / 2**n
    assert result.p_value == pytest.approx(2 / 2**8)
    assert result.mean_difference == pytest.approx(0.4625)
    assert result.better_on == 8 and result.tracks == 8
    assert result.ci_low is not None and result.ci_high is not None
    assert 0.1 <= result.ci_low < result.mean_difference < result.ci_high <= 0.9


def test_the_bootstrap_interval_matches_the_normal_approximation_for_many_tracks() -> None:
    diffs = np.random.default_rng(1).normal(0.25, 0.5, size=200)
    result = compare(diffs)
    assert result is not None and result.ci_low is not None and result.ci_high is not None
    half = 1.959964 * diffs.std(ddof=0) / math.sqrt(diffs.size)
    assert result.ci_low == pytest.approx(diffs.mean() - half, abs=0.02)
    assert result.ci_high == pytest.approx(diffs.mean() + half, abs=0.02)
    # and the p-value is scipy's (normal approximation at this size)
    assert result.p_value == pytest.approx(stats.wilcoxon(diffs).pvalue)


def test_signs_follow_the_direction_and_degenerate_cases_say_none() -> None:
    diffs = np.array([-1.0, -2.0, 0.5])
    assert compare(diffs, maximize=True).better_on == 1  # type: ignore[union-attr]
    assert compare(diffs, maximize=False).better_on == 2  # type: ignore[union-attr]
    single = compare(np.array([0.4]))
    assert single == PairedComparison(1, 0.4, None, None, None, 1)
    zeros = compare(np.zeros(4))
    assert zeros is not None and zeros.p_value is None and zeros.ci_low == 0.0
    assert compare(np.array([])) is None


def test_differences_pair_tracks_by_name_and_skip_missing_scores() -> None:
    candidate = {"b": 2.0, "a": 5.0, "c": float("nan"), "d": 1.0}
    reference = {"a": 4.0, "b": 3.0, "c": 1.0, "e": 0.0, "d": None}
    assert differences(candidate, reference).tolist() == [1.0, -1.0]


def test_track_scores_of_one_target_or_the_per_track_mean() -> None:
    attrs = {"track_scores": {"t0": {"drums": 1.0, "bass": 3.0, "other": None, "vocals": 2.0}}}
    assert track_scores(attrs, "bass") == {"t0": 3.0}
    assert track_scores(attrs, None) == {"t0": 2.0}  # the silent target is left out


def test_describe_reads_as_one_line() -> None:
    result = PairedComparison(14, 0.314, 0.12, 0.5, 0.0041, 12)
    assert result.describe("dB") == "+0.31 dB [+0.12, +0.50], p=0.0041, better on 12/14 tracks"
