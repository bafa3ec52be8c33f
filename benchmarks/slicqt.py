"""Per-candidate MPI time of the sliCQT against the STFT control, measured in one run.

Run: ``.venv/bin/python benchmarks/slicqt.py [--repeat 5] [--matrix]``

Each candidate does what one MPI evaluation does on the bundled example
(untrimmed, 268288 stereo samples, 6.1 s, recorded mixture): forward of the
mixture and the four targets (one batched call), the elementwise oracle,
inverse of the four estimates (one call), global SDR. Candidates:

* ``slicqt bark-262`` — bark, 262 bins, 32.9–22050 Hz, sllen 18060, trlen 4516
  (the xumx-sliCQ setting; ragged);
* ``slicqt cqlog-142`` — cqlog, 142 bins, 129.7–22050 Hz, sllen 37500 (the
  scale's required length 37340 rounded up to a fast FFT size by
  ``fast_slice_length``), trlen 9374; ragged;
* ``slicqt cqlog-142 @37340`` — the same at the required length itself, whose
  DFT size 4·5·1867 is slow: what an FFT-unfriendly ``sllen`` costs;
* ``slicqt bark-262 single`` — the same in single precision (complex64);
* ``stft 4096/1024`` — the control, through ``make_transform("stft", ...)``;
* with ``--matrix`` also the bark-262 matrix form.

Threads are pinned to 1 before numpy loads. Times are the median (and the
minimum) over ``--repeat`` evaluations after one warm-up, the candidates taking
turns; each candidate's transform is built once, as a worker builds it once per
trial (``build`` is that time, imports excluded). Targets
(issue 5): bark-262 ≤ 0.6 s per candidate and ≤ 3× the STFT control.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = "1"

# The bark-262 setting is the one the sliCQT tests check against sevagh/nsgt.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

# Imported after the thread pinning above, which must precede numpy.
import numpy as np

from sliceq22 import TARGETS
from sliceq22.data import example_tracks
from sliceq22.oracles.metrics import sdr_global
from sliceq22.oracles.mpi import mpi_estimates
from sliceq22.transforms import make_transform
from transformcheck import BARK262

CQLOG = {
    "scale": "cqlog",
    "bins": 142,
    "fmin": 129.7,
    "fmax": 22050,
    "sllen": 37500,
    "trlen": 9374,
}
PHASES = ("forward", "estimate", "inverse", "metric", "total")


def evaluate(transform, targets: np.ndarray, mixture: np.ndarray) -> tuple[dict, np.ndarray]:
    """One MPI evaluation: phase times in seconds and the four global SDRs."""
    start = time.perf_counter()
    result = mpi_estimates(transform, targets, mixture)
    metric_start = time.perf_counter()
    scores = sdr_global(targets, result.estimates)
    end = time.perf_counter()
    timing = dict(result.timing, metric=end - metric_start, total=end - start)
    return timing, np.asarray(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed evaluations per candidate")
    parser.add_argument("--matrix", action="store_true", help="also time the bark-262 matrix form")
    args = parser.parse_args()

    (track,) = example_tracks(trim=False)
    targets = track.stacked()
    mixture = track.mixture("recorded")
    print(
        f"example: {targets.shape[1]} channels x {targets.shape[-1]} samples "
        f"({targets.shape[-1] / track.rate:.2f} s), recorded mixture, {args.repeat} repeats, 1 "
        "thread"
    )

    candidates = {
        "stft 4096/1024": ("stft", {"n_fft": 4096, "hop": 1024}),
        "slicqt bark-262": ("slicqt", BARK262),
        "slicqt bark-262 single": ("slicqt", {**BARK262, "precision": "single"}),
        "slicqt cqlog-142": ("slicqt", CQLOG),
        "slicqt cqlog-142 @37340": ("slicqt", {**CQLOG, "sllen": 37340, "trlen": 9336}),
    }
    if args.matrix:
        candidates["slicqt bark-262 matrix"] = (
            "slicqt",
            {**BARK262, "rasterize": "full"},
        )

    transforms, builds = {}, {}
    for name, (family, params) in candidates.items():
        make_transform(family, params, rate=track.rate)  # first build pays the imports
        build_start = time.perf_counter()
        transforms[name] = make_transform(family, params, rate=track.rate)
        builds[name] = time.perf_counter() - build_start
        evaluate(transforms[name], targets, mixture)  # warm-up: page faults, FFT plans
    # Round-robin, so that load from other processes hits every candidate alike.
    runs: dict[str, list] = {name: [] for name in candidates}
    for _ in range(args.repeat):
        for name, transform in transforms.items():
            runs[name].append(evaluate(transform, targets, mixture))
    rows = {}
    for name, done in runs.items():
        median = {p: statistics.median(r[0][p] for r in done) for p in PHASES}
        best = min(r[0]["total"] for r in done)
        redundancy = transforms[name].redundancy(targets.shape[-1])
        rows[name] = (median, best, done[-1][1], builds[name], redundancy)

    control = rows["stft 4096/1024"][0]["total"]
    header = f"{'candidate':24s} {'build':>7s} " + " ".join(f"{p:>9s}" for p in PHASES)
    print(header + f" {'min':>7s} {'x stft':>7s} {'redund':>7s}")
    for name, (median, best, _, build, redundancy) in rows.items():
        cells = " ".join(f"{median[p]:9.3f}" for p in PHASES)
        print(
            f"{name:24s} {build:7.3f} {cells} {best:7.3f} {median['total'] / control:7.2f} "
            f"{redundancy:7.2f}"
        )
    print("\nglobal SDR (dB)         " + " ".join(f"{t:>8s}" for t in TARGETS))
    for name, (_, _, scores, _, _) in rows.items():
        print(f"{name:24s}" + " ".join(f"{s:8.3f}" for s in scores))

    bark = rows["slicqt bark-262"][0]["total"]
    print(
        f"\nbark-262 per candidate: {bark:.3f} s (target <= 0.6 s: "
        f"{'met' if bark <= 0.6 else 'NOT met'}), {bark / control:.2f}x the STFT control "
        f"(target <= 3x: {'met' if bark <= 3 * control else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
