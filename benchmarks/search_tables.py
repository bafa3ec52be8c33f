"""The tables of ``benchmarks/search.py``: trials to the random-search best, and the fidelity.

Not part of the package.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from search_runs import Result, Row
from sliceq22 import TARGETS
from sliceq22.search.scoring import shared_value

#: dB within which a best counts as having reached the target.
TOLERANCE = 0.05


@dataclass
class Reach:
    """When a run came within TOLERANCE of a target vector (inf: never)."""

    trials: float  # counted trials, all components reached
    full_tracks: float
    cpu: float
    per_component: list[float]  # counted trials per component


def columns(mode: str) -> list[str]:
    return list(TARGETS) if mode == "per-target" else ["shared"]


def best_after(rows: Sequence[Row], trials: int | None, width: int) -> list[float]:
    """Best value per component over the first ``trials`` counted trials (None: all)."""
    best = [-math.inf] * width
    counted = 0
    for row in rows:
        if trials is not None and counted >= trials:
            break
        counted += row.counted
        if row.values is not None:
            best = [max(b, v) if math.isfinite(v) else b for b, v in zip(best, row.values)]
    return best


def reach(rows: Sequence[Row], target: Sequence[float]) -> Reach:
    """The counted trial, full-length track evaluations and CPU (alone) at which every
    component's best so far is within TOLERANCE of ``target``."""
    best = [-math.inf] * len(target)
    when = [math.inf] * len(target)
    counted, tracks, cpu = 0, 0, 0.0
    for row in rows:
        counted += row.counted
        tracks += row.full_tracks
        cpu += row.cpu
        if row.values is None:
            continue
        best = [max(b, v) if math.isfinite(v) else b for b, v in zip(best, row.values)]
        for c, (b, t) in enumerate(zip(best, target)):
            if when[c] == math.inf and b >= t - TOLERANCE:
                when[c] = counted
        if all(w < math.inf for w in when):
            return Reach(counted, tracks, cpu, when)
    return Reach(math.inf, math.inf, math.inf, when)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def fmt(value: float, limit: int | None = None, digits: int = 0) -> str:
    if value == math.inf:
        return f">{limit}" if limit is not None else "-"
    if math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"


def targets_of(results: Sequence[Result], mode: str, baseline: int) -> list[float]:
    """Median over the random runs' seeds of the best of their first ``baseline`` trials."""
    width = len(columns(mode))
    bests = [
        best_after(r.rows, baseline, width)
        for r in results
        if r.task.mode == mode and r.task.sampler == "random"
    ]
    return [statistics.median(b[c] for b in bests) for c in range(width)]


def gap_at(rows: Sequence[Row], trials: int, target: Sequence[float]) -> float:
    """Largest shortfall (dB) from the target over the components after ``trials`` trials."""
    best = best_after(rows, trials, len(target))
    return max(t - b for t, b in zip(target, best))


def sampler_line(args: Any, mode: str, name: str, runs: list[Result], target: list[float]) -> str:
    reaches = [reach(r.rows, target) for r in runs]
    limit = runs[0].task.trials
    trials = [x.trials for x in reaches]
    done = [x for x in reaches if x.trials < math.inf]
    spread = f"{fmt(min(trials), limit)}-{fmt(max(trials), limit)}"
    alone = _median([sum(row.cpu for row in r.rows) for r in runs])
    spent = _median([r.spent for r in runs])
    evals = _median([r.evaluations for r in runs])
    hits = _median([sum(row.hits for row in r.rows) for r in runs])
    memo = _median([r.memoised for r in runs])
    driver = _median([r.driver_cpu for r in runs])
    gap20 = _median([gap_at(r.rows, 20, target) for r in runs])
    gap_end = _median([gap_at(r.rows, limit, target) for r in runs])
    return (
        f"{mode:<10} {name:<11} {fmt(_median(trials), limit):>6} {spread:>9} "
        f"{len(done)}/{len(runs):<3} "
        f"{fmt(_median([x.full_tracks for x in reaches]), None):>6} "
        f"{fmt(_median([x.cpu for x in reaches]), None):>6} | "
        f"{limit:>3} {evals:>5.0f} {hits:>4.0f} {memo:>4.0f} {alone:>6.0f} {spent:>6.0f} "
        f"{driver:>5.1f} | {gap20:>6.2f} {gap_end:>6.2f}"
    )


def print_samplers(args: Any, results: Sequence[Result]) -> None:
    """The sampler table: per mode and sampler, medians over seeds."""
    print(
        "\nTrials to within 0.05 dB of the target (median over seeds; per-target mode: the trial "
        "by which all four targets are there, i.e. the max over targets; '>N': not within the "
        "run's N trials), and the full-length track evaluations and CPU s (alone) up to then. "
        "Per run (medians): trials, evaluations asked of the cache, cache hits, memo (study's "
        "own repeats), CPU s alone / actual, driver CPU s; gap (dB) to the target after 20 "
        "trials and at the end (negative: beyond it)."
    )
    head = (
        f"{'mode':<10} {'sampler':<11} {'trials':>6} {'min-max':>9} {'ok':<5}"
        f"{'tracks':>6} {'CPU s':>6} | {'n':>3} {'evals':>5} {'hits':>4} {'memo':>4} "
        f"{'alone':>6} {'actual':>6} {'drv s':>5} | {'gap@20':>6} {'gap@N':>6}"
    )
    for mode in ("shared", "per-target"):
        mine = [r for r in results if r.task.mode == mode]
        if not mine:
            continue
        target = targets_of(mine, mode, args.baseline_trials)
        shown = ", ".join(f"{c} {t:.3f}" for c, t in zip(columns(mode), target))
        base = args.baseline_trials
        print(f"\n{mode}: target (dB, median over seeds of the best of random-{base}): {shown}")
        print(head)
        for name in dict.fromkeys(r.task.sampler for r in mine):
            runs = [r for r in mine if r.task.sampler == name]
            print(sampler_line(args, mode, name, runs, target))
            if mode == "per-target":
                per = [reach(r.rows, target).per_component for r in runs]
                text = ", ".join(
                    f"{c} {fmt(_median([p[i] for p in per]), runs[0].task.trials)}"
                    for i, c in enumerate(columns(mode))
                )
                print(f"{'':<22} per target (median trials): {text}")
        overall = [
            max(best_after(r.rows, None, len(target))[c] for r in mine) for c in range(len(target))
        ]
        print(
            "best over every run of this mode: "
            + ", ".join(f"{c} {v:.3f}" for c, v in zip(columns(mode), overall))
        )


def spearman_lines(results: Sequence[Result]) -> list[str]:
    from scipy.stats import spearmanr

    lines = []
    for r in results:
        pairs = [
            (row.excerpt_scores, row.scores)
            for row in r.rows
            if row.excerpt_scores is not None and row.scores is not None
        ]
        parts = []
        for target in [*TARGETS, "shared"]:
            xs, ys = [], []
            for excerpt, full in pairs:
                x = shared_value(excerpt) if target == "shared" else excerpt.get(target, math.nan)
                y = shared_value(full) if target == "shared" else full.get(target, math.nan)
                if math.isfinite(x) and math.isfinite(y):
                    xs.append(x)
                    ys.append(y)
            rho = spearmanr(xs, ys).statistic if len(xs) > 2 else math.nan
            parts.append(f"{target} {rho:.3f}")
        excerpt_cpu = sum(row.excerpt_cpu for row in r.rows)
        full_cpu = sum(row.cpu for row in r.rows) - excerpt_cpu
        lines.append(
            f"  {r.task.fidelity['excerpt']:g} s excerpts, {len(pairs)} candidates: "
            + ", ".join(parts)
            + f"  (CPU: excerpt stages {excerpt_cpu:.0f} s incl. probes, full stages "
            f"{full_cpu:.0f} s)"
        )
    return lines


def fidelity_lines(args: Any, results: Sequence[Result]) -> list[str]:
    """Per seed: the full-only run against each excerpt length's fidelity run."""
    lines = []
    ratios: dict[tuple[float, float], list[float]] = {}
    for full in [r for r in results if r.task.kind == "full-only"]:
        cols = columns(full.task.mode)
        final = best_after(full.rows, None, len(cols))
        full_cpu = sum(row.cpu for row in full.rows)
        at_best = reach(full.rows, [v + TOLERANCE for v in final])  # when it found its best
        lines.append(
            f"  seed {full.task.seed} full-only, {full.task.trials} trials: final best "
            + ", ".join(f"{c} {v:.3f}" for c, v in zip(cols, final))
            + f"; CPU {full_cpu:.0f} s ({at_best.cpu:.0f} s to its best, trial "
            f"{fmt(at_best.trials)}), {sum(row.full_tracks for row in full.rows)} track evals"
        )
        for fid in results:
            if fid.task.kind != "fidelity" or fid.task.seed != full.task.seed:
                continue
            assert fid.task.fidelity is not None
            excerpt, promote = fid.task.fidelity["excerpt"], fid.task.fidelity["promote"]
            got = reach(fid.rows, final)
            ratio = got.cpu / full_cpu if full_cpu else math.nan
            ratios.setdefault((excerpt, promote), []).append(ratio)
            own = best_after(fid.rows, None, len(cols))
            promoted = sum(1 for row in fid.rows if row.full_tracks)
            excerpted = sum(1 for row in fid.rows if row.excerpt_tracks)
            lines.append(
                f"    fidelity {excerpt:g} s, promote {promote:g}, {fid.task.trials} trials: "
                f"reached it at trial "
                f"{fmt(got.trials, fid.task.trials)} with CPU {fmt(got.cpu, None)} s "
                f"= {fmt(100 * ratio, None)} % of full-only; final best "
                + ", ".join(f"{c} {v:.3f}" for c, v in zip(cols, own))
                + f"; CPU {sum(row.cpu for row in fid.rows):.0f} s in all "
                f"({sum(row.excerpt_cpu for row in fid.rows):.0f} s excerpts), "
                f"{promoted}/{excerpted} promoted"
            )
    for (excerpt, promote), values in ratios.items():
        shown = ", ".join(fmt(100 * v, None) for v in values)
        lines.append(
            f"  {excerpt:g} s excerpts, promote {promote:g}: CPU to the full-only final best, "
            f"% of full-only's CPU, per seed: {shown} "
            f"(median {fmt(100 * _median(values), None)} %; '-': not reached)"
        )
    return lines


def print_fidelity(args: Any, results: Sequence[Result]) -> None:
    print(
        f"\nFidelity (dataset B: {args.fidelity_tracks} x {args.fidelity_seconds:g} s). "
        "Spearman rank correlation of excerpt vs full-length scores over random candidates "
        "(median over tracks, per target and the shared value):"
    )
    for line in spearman_lines([r for r in results if r.task.kind == "spearman"]):
        print(line)
    print(
        f"\nCheap first vs full-length only ({args.fidelity_mode} mode, the shipped TPE; "
        f"fidelity runs: startup {args.fidelity_startup}, references always full length, twice "
        "the trials; CPU alone, excerpts included):"
    )
    for line in fidelity_lines(args, results):
        print(line)
