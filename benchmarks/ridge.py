"""Ridge-analysis objectives on the bundled example: per-target table, time per evaluation.

Run: ``.venv/bin/python benchmarks/ridge.py [--repeat 3] [--quick]``

Prints, measured in one run with numeric libraries pinned to one thread:

1. White noise (6 s, mono): ``renyi`` (α = 3) per transform, the spread across
   transforms and the theoretical value ``log2(area) - log2(6)/2`` (complex
   Gaussian cells; issue 6: spread ≤ 0.2 bits).
2. Ragged against rasterized forms of one setting on the example's targets
   (issue 6: ≤ 0.05 bits).
3. Per objective (``renyi``, ``hoyer``, ``tonal-ridge``) the per-target table
   over transforms, the best transform per target (``*``), and the time per
   evaluation. One evaluation is what a study runs per track and transform:
   ``evaluate_track`` scoring all four targets, stereo (4 targets x 2
   channels), streamed through the transform a piece of coefficients at a
   time (single precision, the default); the time per target is that
   evaluation's time divided by 4. Each cell is timed ``--repeat`` times after
   one warm-up call; min and median are printed, per target, and the median
   as a ratio to the MPI objective (global SDR) on the STFT 4096/1024 control
   measured in the same run. Target (issue 6): ≤ 0.5 s per target per transform.
4. Spearman correlation between the left and right channels' values over the
   transforms, per target (issue 6: ≥ 0.9).

All objectives measure 40–16000 Hz (``fmin``/``fmax``), the range every
transform below covers.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np
from scipy.stats import spearmanr

from sliceq22 import TARGETS
from sliceq22.data import example_tracks
from sliceq22.oracles import get_objective
from sliceq22.transforms import make_transform

REGION = {"fmin": 40.0, "fmax": 16000.0}
NSG = {"minFrequency": 32.7, "maxFrequency": 17000.0}


def transforms(quick: bool) -> dict[str, tuple[str, dict]]:
    """Label -> (family, params), coarse to fine frequency resolution within a family."""
    out: dict[str, tuple[str, dict]] = {}
    for n in (1024, 4096, 16384) if quick else (1024, 2048, 4096, 8192, 16384):
        out[f"stft {n}/{n // 4}"] = ("stft", {"n_fft": n, "hop": n // 4})
    for bins in (12, 24, 48, 96):
        out[f"nsgcq {bins}/oct ragged"] = (
            "nsgcq",
            {**NSG, "binsPerOctave": bins, "rasterize": "none"},
        )
    if not quick:
        out["nsgcq 48/oct matrix"] = ("nsgcq", {**NSG, "binsPerOctave": 48, "rasterize": "full"})
        out["nsgcq 48/oct framewise"] = (
            "nsgcq",
            {
                **NSG,
                "binsPerOctave": 48,
                "mode": "framewise",
                "frameSize": 16384,
                "transitionSize": 2048,
            },
        )
        out["slicqt bark-262 matrix"] = ("slicqt", {"rasterize": "full"})
    out["slicqt bark-262"] = ("slicqt", {})
    return out


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Min and median seconds of ``repeat`` calls after one warm-up, and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per cell (default 3)")
    parser.add_argument("--quick", action="store_true", help="fewer transforms")
    args = parser.parse_args()

    (track,) = example_tracks()
    built = {label: make_transform(f, p) for label, (f, p) in transforms(args.quick).items()}
    width = max(len(label) for label in built) + 2
    print(
        f"example: {track.name}, {track.length} samples x {track.channels} channels "
        f"({track.duration:.2f} s); region {REGION['fmin']:g}-{REGION['fmax']:g} Hz\n"
    )

    # 1. white noise
    seconds = 6.0
    noise = np.random.default_rng(0).standard_normal((1, 1, int(seconds * track.rate)))
    theory = math.log2(seconds * (REGION["fmax"] - REGION["fmin"])) - 0.5 * math.log2(6.0)
    renyi = get_objective("renyi", **REGION)
    print(f"1. white noise, renyi alpha=3 (theory {theory:.3f} bits)")
    values = {}
    for label, transform in built.items():
        values[label] = float(renyi.values(transform, noise)[0][0])
        print(f"   {label:<{width}} {values[label]:8.3f}  ({values[label] - theory:+.3f})")
    spread = max(values.values()) - min(values.values())
    print(f"   spread across transforms: {spread:.3f} bits (target <= 0.2)\n")

    # 2. ragged vs rasterized
    print("2. ragged vs rasterized, renyi alpha=3 on the example's targets (bits)")
    pairs = [
        ("nsgcq 48/oct", "nsgcq", {**NSG, "binsPerOctave": 48}),
        ("slicqt bark-262", "slicqt", {}),
    ]
    for label, family, params in pairs:
        key = "rasterize"
        a = renyi.evaluate_track(make_transform(family, {**params, key: "none"}), track).scores
        b = renyi.evaluate_track(make_transform(family, {**params, key: "full"}), track).scores
        diffs = [abs(a[t] - b[t]) for t in TARGETS]
        print(
            f"   {label:<{width}} max |ragged - matrix| = {max(diffs):.4f}  "
            + " ".join(f"{t}={a[t]:.3f}/{b[t]:.3f}" for t in TARGETS)
        )
    print()

    # reference: the MPI objective on the STFT control, same run
    control = make_transform("stft", {"n_fft": 4096, "hop": 1024})
    mpi = get_objective("mpi")
    _, mpi_seconds, _ = timed(lambda: mpi.evaluate_track(control, track), args.repeat)
    print(
        f"reference: mpi (sdr-global) on stft 4096/1024: {mpi_seconds:.3f} s per evaluation "
        "(median)\n"
    )

    audio = track.stacked()
    for number, name in enumerate(("renyi", "hoyer", "tonal-ridge"), start=3):
        objective = get_objective(name, **REGION)
        better = min if objective.direction == "minimize" else max
        unit = objective.unit
        print(
            f"{number}. {name} ({objective.direction}, {unit}); seconds per evaluation of 4 "
            f"stereo targets (streamed) and per target (/4), min and median of "
            f"{args.repeat}"
        )
        print(
            f"   {'transform':<{width}}"
            + "".join(f"{t:>10}" for t in TARGETS)
            + f"{'eval med':>9}{'tgt min':>9}{'tgt med':>9}{'x mpi':>7}"
        )
        table: dict[str, dict[str, float]] = {}
        seconds_per: dict[str, float] = {}
        fastest: dict[str, float] = {}
        for label, transform in built.items():
            fastest[label], seconds_per[label], result = timed(
                lambda t=transform, o=objective: o.evaluate_track(t, track), args.repeat
            )
            table[label] = result.scores
        best = {t: better(table, key=lambda label, t=t: table[label][t]) for t in TARGETS}
        for label in built:
            cells = "".join(
                f"{table[label][t]:9.3f}{'*' if best[t] == label else ' '}" for t in TARGETS
            )
            s = seconds_per[label]
            print(
                f"   {label:<{width}}{cells}{s:9.3f}{fastest[label] / 4:9.3f}{s / 4:9.3f}"
                f"{s / mpi_seconds:7.2f}"
            )
        slowest = max(seconds_per, key=seconds_per.get)
        print("   best: " + ", ".join(f"{t} -> {best[t]}" for t in TARGETS))
        print(
            f"   slowest: {slowest}, {seconds_per[slowest] / 4:.3f} s per target median, "
            f"{fastest[slowest] / 4:.3f} min (target <= 0.5)"
        )

        # stereo agreement
        left = np.array([objective.values(t, audio[:, :1])[0] for t in built.values()])
        right = np.array([objective.values(t, audio[:, 1:])[0] for t in built.values()])
        rho = {t: spearmanr(left[:, j], right[:, j]).statistic for j, t in enumerate(TARGETS)}
        below = [t for t in TARGETS if not rho[t] >= 0.9]
        print(
            "   Spearman left vs right over transforms: "
            + ", ".join(f"{t} {rho[t]:.3f}" for t in TARGETS)
            + " (target >= 0.9"
            + (f"; below: {', '.join(below)})" if below else ")")
            + "\n"
        )


if __name__ == "__main__":
    main()
