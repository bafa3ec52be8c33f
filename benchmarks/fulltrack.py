"""Full-length tracks: time and peak memory of one candidate, per family, 6 s to 10 minutes.

Writes synthesized full-length tracks itself: the bundled example's stems
(edges trimmed) tiled to the wanted length with a deterministic gain per
repeat, as a folder dataset of 16-bit PCM WAVs (MUSDB18-HQ's format). Each
candidate is evaluated by ``sliceq22 evaluate --json`` in a fresh subprocess;
its wall time, CPU time and peak RSS come from the OS (``os.wait4``'s rusage of
that process alone).

Printed per candidate and length: the process's wall s, CPU s and peak RSS
GB, the memory estimate behind ``constraints.max_memory_mb``, the
evaluation's own CPU s (``timing.cpu``: start-up and WAV loading left out) and
per audio second, and the ratio of that cost at full length to that at 6 s.
In the same run: the bare FFT floor of the stft candidate (float32 rfft of
every frame of the 10 input channels, irfft of the 8 output channels, in its
own subprocess) and, on a 60 s track, the scores of the pre-streaming path
(whole-track arrays, double precision) beside the streamed single-precision
scores.

    .venv/bin/python benchmarks/fulltrack.py                  # 6 s, 4 min, 10 min
    .venv/bin/python benchmarks/fulltrack.py --minutes 4 --only stft slicqt
    .venv/bin/python benchmarks/fulltrack.py --objective tonal-ridge --only stft slicqt
    .venv/bin/python benchmarks/fulltrack.py --minutes 4 --no-whole --only slicqt \
        nsgcq-framewise --option view=ola --option deoverlap=mixture

With ``--option`` (objective options, as ``sliceq22 evaluate --option``) each
candidate is measured twice in the same run: with the plain objective and
with the options (rows ``NAME+``), and the options' evaluation CPU is printed
relative to the plain one's; the memory estimate is the options' own (through
the OLA view: pieces with neighbouring slices and 8 signals out).

The memory estimate printed beside each peak is the MPI oracle's (the one
``constraints.max_memory_mb`` checks); the ridge objectives hold four signals
in and none out, plus their cell statistics.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sliceq22 import TARGETS
from sliceq22.transforms import presets

ROOT = Path(__file__).resolve().parent.parent
SLICEQ22 = [sys.executable, "-m", "sliceq22"]
RATE = 44100
#: Samples of the bundled example after its AAC edges are trimmed.
EXAMPLE_SAMPLES = 260096

#: The candidates of issue #12, by short name: (family, params).
CANDIDATES: dict[str, tuple[str, dict[str, object]]] = {
    "stft": ("stft", {"n_fft": 4096, "hop": 1024}),
    "slicqt": ("slicqt", dict(presets.BARK262)),
    "nsgcq-framewise": ("nsgcq", dict(presets.NSGCQ_SEED_FRAMEWISE)),
    "nsgcq-full": (
        "nsgcq",
        {
            "mode": "full",
            "minFrequency": 32.9,
            "maxFrequency": 21000,
            "binsPerOctave": 48,
            "rasterize": "full",
        },
    ),
}
#: Issue #12's targets: peak RSS GB at 4 and 10 minutes, and time vs the stft candidate.
RSS_TARGETS = {
    "stft": (0.7, 1.3),
    "slicqt": (0.75, 1.3),
    "nsgcq-framewise": (0.8, 1.3),
    "nsgcq-full": (2.0, 3.5),
}
TIME_TARGETS = {"slicqt": 1.3, "nsgcq-framewise": 2.5, "nsgcq-full": 5.0}


def example_stems() -> np.ndarray:
    """The bundled example's four target stems, float32 ``(4, 2, samples)``, edges trimmed."""
    sys.path.insert(0, str(ROOT))
    from sliceq22.data.load import example_tracks

    (track,) = example_tracks()
    return track.stacked()


def write_track(stems: np.ndarray, seconds: float, folder: Path) -> None:
    """Tile ``stems`` to ``seconds`` with a gain per repeat (seeded) as 16-bit WAVs in
    ``folder``."""
    import soundfile as sf

    length = int(round(seconds * RATE))
    repeats = -(-length // stems.shape[-1])
    gains = np.random.default_rng(12).uniform(0.5, 1.0, size=(repeats, len(TARGETS)))
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(TARGETS):
        tiled = np.concatenate([stems[i] * gains[r, i] for r in range(repeats)], axis=-1)
        sf.write(folder / f"{name}.wav", tiled[:, :length].T, RATE, subtype="PCM_16")


def write_tracks_elsewhere(lengths: dict[str, float], tmp: Path) -> dict[str, Path]:
    """Write one folder dataset per length, in a subprocess.

    Linux carries a process's peak RSS over ``fork``/``exec`` into its
    children's ``ru_maxrss``, so the measuring process must stay small: the
    audio is made by a child of its own.
    """
    roots = {label: tmp / label.replace(" ", "") for label in lengths}
    spec = json.dumps({str(roots[label] / "track"): seconds for label, seconds in lengths.items()})
    subprocess.run([sys.executable, __file__, "--write", spec], check=True, cwd=ROOT)
    return roots


def evaluation_seconds(stdout: str) -> float:
    """CPU seconds of the evaluation itself (all tracks' ``timing.cpu``, else ``total``).

    Process start-up (imports) and loading the WAVs are left out, so the cost
    per audio second compares the evaluation at 6 s and at full length.
    """
    tracks = json.loads(stdout)["tracks"]
    return sum(t["timing"].get("cpu", t["timing"]["total"]) for t in tracks)


def run_measured(command: list[str]) -> tuple[float, float, float, str]:
    """Run ``command``; return wall s, CPU s (user + system), peak RSS GB and its stdout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 2**20, stdout  # ru_maxrss is KiB on Linux


#: The objective every candidate is scored with (``--objective``).
OBJECTIVE = ["--objective", "mpi"]


def evaluate_command(
    root: Path, family: str, params: dict[str, object], options: list[str] | None = None
) -> list[str]:
    command = [
        *SLICEQ22,
        "evaluate",
        "--dataset",
        "folder",
        "--root",
        str(root),
        "--transform",
        family,
        "--json",
        *OBJECTIVE,
    ]
    for key, value in params.items():
        command += ["--param", f"{key}={value}"]
    for option in options or []:
        command += ["--option", option]
    return command


FLOOR = r"""
import sys, time, numpy as np, scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
samples = int(sys.argv[1]); n_fft, hop = 4096, 1024
rng = np.random.default_rng(0)
x = rng.standard_normal((10, samples + n_fft)).astype(np.float32)
w = np.hanning(n_fft + 1)[:-1].astype(np.float32)
start = time.process_time()
step = 256
for first in range(0, samples // hop + 1, step):
    frames = sliding_window_view(x, n_fft, axis=-1)[:, ::hop][:, first:first + step]
    spectra = scipy.fft.rfft(frames * w, axis=-1)
    scipy.fft.irfft(spectra[:8], n=n_fft, axis=-1)
print(time.process_time() - start)
"""


def fft_floor(samples: int) -> float:
    """CPU seconds of the stft candidate's bare FFTs on ``samples`` samples (own process)."""
    out = subprocess.run(
        [sys.executable, "-c", FLOOR, str(samples)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


WHOLE = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from sliceq22.data.load import load_tracks
from sliceq22.data.spec import DatasetSpec
from sliceq22.oracles.metrics import sdr_global
from sliceq22.oracles.mpi import mpi_estimates
from sliceq22.transforms import make_transform
family, params, root = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
(track,) = load_tracks(DatasetSpec(source="folder", root=root))
transform = make_transform(family, {**params, "precision": "double"})
oracle = mpi_estimates(transform, track.stacked(), track.mixture("sum"))
print(json.dumps([float(v) for v in sdr_global(track.stacked(), oracle.estimates)]))
"""


ESTIMATE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from sliceq22.search.constraints import estimate_memory_mb
from sliceq22.transforms import make_transform
family, params, length = sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
objective = json.loads(sys.argv[5])
# the tracks are 16-bit WAVs, held as int16: four stereo targets, 2 bytes a sample
print(estimate_memory_mb(make_transform(family, params), length=length, channels=2,
                         track_bytes=4 * 2 * length * 2, objective=objective) / 1024)
"""


def memory_estimate_gb(
    family: str, params: dict[str, object], samples: int, options: list[str] | None = None
) -> float:
    """``constraints.max_memory_mb``'s estimate for this candidate, in GiB (own process)."""
    objective = {"name": OBJECTIVE[1], **dict(o.split("=", 1) for o in options or [])}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            ESTIMATE,
            str(ROOT),
            family,
            json.dumps(params),
            str(samples),
            json.dumps(objective),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout)


def with_options(
    options: list[str],
    names: list[str],
    lengths: dict[str, float],
    cpu_of: dict[tuple[str, str], float],
    rss: dict[tuple[str, str], float],
    estimated: dict[tuple[str, str], float],
) -> None:
    """Each candidate with ``options`` (rows ``NAME+``) against itself plain, in the same run."""
    for name in names:
        for label in lengths:
            plain, ours = (name, label), (name + "+", label)
            error = estimated[ours] / rss[ours] - 1.0
            print(
                f"  {name:<16} {label:>7} with {' '.join(options)}: evaluation CPU "
                f"{cpu_of[ours] / cpu_of[plain]:.2f}x plain, peak RSS {rss[ours]:.3f} GB "
                f"({rss[ours] - rss[plain]:+.3f} GB), memory estimate {error:+.0%} of it"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes",
        type=float,
        nargs="+",
        default=[4.0, 10.0],
        help="full-track lengths in minutes (default 4 10)",
    )
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per candidate and length")
    parser.add_argument(
        "--no-whole",
        action="store_true",
        help="skip the 60 s comparison with the pre-streaming path",
    )
    parser.add_argument(
        "--objective",
        default="mpi",
        help="objective to score with (mpi, renyi, hoyer, tonal-ridge; default mpi)",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="objective option (repeatable, e.g. view=ola): each candidate is also run with it",
    )
    parser.add_argument("--write", help=argparse.SUPPRESS)  # internal: {folder: seconds}
    args = parser.parse_args()
    OBJECTIVE[:] = ["--objective", args.objective]
    if args.objective != "mpi":
        args.no_whole = True  # the whole-path check compares MPI scores
    if args.write:
        stems = example_stems()
        for folder, seconds in json.loads(args.write).items():
            write_track(stems, seconds, Path(folder))
        return

    with tempfile.TemporaryDirectory(prefix="sliceq22-fulltrack-") as tmp:
        lengths = {"6 s": EXAMPLE_SAMPLES / RATE}
        lengths.update({f"{m:g} min": 60.0 * m for m in args.minutes})
        if not args.no_whole:
            lengths["60 s (whole-path check)"] = 60.0
        roots = write_tracks_elsewhere(lengths, Path(tmp))
        check = roots.pop("60 s (whole-path check)", None)
        lengths.pop("60 s (whole-path check)", None)

        print(
            f"{'candidate':<16} {'length':>7} {'wall s':>8} {'CPU s':>8} {'RSS GB':>7} "
            f"{'est. GB':>7} {'eval CPU s':>10} {'/audio s':>9}"
        )
        cost: dict[tuple[str, str], float] = {}
        rss: dict[tuple[str, str], float] = {}
        cpu_of: dict[tuple[str, str], float] = {}
        estimated: dict[tuple[str, str], float] = {}
        variants = [("", [])] + ([("+", args.option)] if args.option else [])
        rows = [
            (name + suffix, name, options) for name in args.only for suffix, options in variants
        ]
        for row, name, options in rows:
            family, params = CANDIDATES[name]
            for label, seconds in lengths.items():
                runs = [
                    run_measured(evaluate_command(roots[label], family, params, options))
                    for _ in range(args.repeat)
                ]
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                peak = max(r[2] for r in runs)
                evaluation = statistics.median(evaluation_seconds(r[3]) for r in runs)
                estimate = memory_estimate_gb(family, params, int(round(seconds * RATE)), options)
                estimated[row, label] = estimate
                cost[row, label], rss[row, label], cpu_of[row, label] = (
                    evaluation / seconds,
                    peak,
                    evaluation,
                )
                print(
                    f"{row:<16} {label:>7} {wall:8.1f} {cpu:8.1f} {peak:7.2f} {estimate:7.2f} "
                    f"{evaluation:10.2f} {evaluation / seconds:9.4f}",
                    flush=True,
                )

        longest = list(lengths)[-1]
        print("\nratios and targets")
        if args.option:
            with_options(args.option, args.only, lengths, cpu_of, rss, estimated)
        for name in args.only:
            for label in lengths:
                if label == "6 s":
                    continue
                ratio = cost[name, label] / cost[name, "6 s"]
                print(
                    f"  {name:<16} {label:>7}: evaluation CPU per audio second {ratio:.2f}x "
                    "that at 6 s (target <= 1.15)"
                )
            for label in lengths:
                if label != "6 s":
                    error = estimated[name, label] / rss[name, label] - 1.0
                    print(
                        f"  {name:<16} {label:>7}: memory estimate {error:+.0%} of the measured "
                        "peak (target within ±30 %)"
                    )
            targets = RSS_TARGETS.get(name, ())
            for label, target in zip(("4 min", "10 min"), targets):
                if (name, label) in rss:
                    verdict = "ok" if rss[name, label] <= target else "MISS"
                    print(
                        f"  {name:<16} {label:>7}: peak RSS {rss[name, label]:.2f} GB "
                        f"(target <= {target} GB) {verdict}"
                    )
        if "4 min" in lengths:
            floor = fft_floor(int(240 * RATE))
            print(f"\nstft FFT floor on 4 min: {floor:.2f} s CPU")
            if ("stft", "4 min") in cpu_of:
                stft_cpu = cpu_of["stft", "4 min"]
                print(
                    f"  stft candidate's evaluation {stft_cpu:.2f} s CPU = {stft_cpu / floor:.2f}x "
                    "the floor (target <= 3)"
                )
                for name, target in TIME_TARGETS.items():
                    if (name, "4 min") in cpu_of:
                        ratio = cpu_of[name, "4 min"] / stft_cpu
                        print(f"  {name:<16} {ratio:.2f}x the stft candidate (target <= {target})")
        print(f"(longest length measured: {longest})")

        if check is not None:
            root = check
            print("\n60 s track: streamed single precision vs whole-track double (sdr-global, dB)")
            for name in args.only:
                family, params = CANDIDATES[name]
                streamed = json.loads(run_measured(evaluate_command(root, family, params))[3])
                whole = json.loads(
                    subprocess.run(
                        [
                            sys.executable,
                            "-c",
                            WHOLE,
                            str(ROOT),
                            family,
                            json.dumps(params),
                            str(root),
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                )
                ours = [streamed["scores"][t] for t in TARGETS]
                diff = max(abs(a - b) for a, b in zip(ours, whole))
                print(
                    f"  {name:<16} streamed {' '.join(f'{v:.4f}' for v in ours)}  "
                    f"whole {' '.join(f'{v:.4f}' for v in whole)}  max |diff| {diff:.1e}"
                )


if __name__ == "__main__":
    main()
