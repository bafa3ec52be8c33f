"""Each oracle's cost per candidate relative to ``mpi``, on the full-length benchmark's track.

The synthesized full-length track of ``benchmarks/fulltrack.py`` (the
bundled example's stems tiled to the wanted length with a gain per repeat,
16-bit WAVs); each (candidate, oracle) is one ``sliceq22 evaluate --json`` in
a fresh subprocess, whose CPU seconds of the evaluation itself
(``timing.cpu``) and peak RSS are measured as ``fulltrack.py`` does. Ratios
are to ``mpi`` on the same transform in the same run.

Targets (issue #16): ``ibm`` and ``irm`` ≤ 1.3× ``mpi``; ``wiener`` with one
iteration ≤ 4× ``mpi``; peak RSS within the full-length targets of
``fulltrack.RSS_TARGETS`` (+30 % for ``wiener`` and ``mwf``).

    .venv/bin/python benchmarks/oracles.py                    # 4 min; stft, slicqt, nsgcq-framewise
    .venv/bin/python benchmarks/oracles.py --minutes 1 --only stft
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fulltrack  # noqa: E402  (benchmarks/ is not a package)

#: Oracle runs: label -> objective options (``--option``).
ORACLES: dict[str, tuple[str, dict[str, object]]] = {
    "mpi": ("mpi", {}),
    "ibm": ("ibm", {"alpha": 1, "theta": 0.5}),
    "irm": ("irm", {"alpha": 2}),
    "wiener": ("wiener", {"iterations": 1}),
    "mwf": ("mwf", {}),
}
#: Time targets relative to mpi (None: reported only).
TIME_TARGETS: dict[str, float | None] = {"ibm": 1.3, "irm": 1.3, "wiener": 4.0, "mwf": None}
#: Extra peak memory allowed over the full-length RSS target.
RSS_ALLOWANCE = {"wiener": 1.3, "mwf": 1.3}


def command(root: Path, candidate: str, oracle: str) -> list[str]:
    """``sliceq22 evaluate`` of one candidate with one oracle, JSON out."""
    family, params = fulltrack.CANDIDATES[candidate]
    argv = fulltrack.evaluate_command(root, family, params)
    name, options = ORACLES[oracle]
    argv[argv.index("--objective") + 1] = name
    for key, value in options.items():
        argv += ["--option", f"{key}={value}"]
    return argv


def measure(root: Path, candidate: str, oracle: str) -> dict[str, object]:
    """CPU s of the evaluation, peak RSS GB and scores of one run."""
    wall, cpu, rss, stdout = fulltrack.run_measured(command(root, candidate, oracle))
    (track,) = json.loads(stdout)["tracks"]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "evaluation_cpu_s": fulltrack.evaluation_seconds(stdout),
        "peak_rss_gb": rss,
        "scores": track["scores"],
    }


def verdicts(candidate: str, oracle: str, row: dict, mpi: dict, minutes: float) -> list[str]:
    """Which targets this run meets or misses (time ratio; RSS at 4 and 10 minutes)."""
    notes = []
    ratio = float(row["evaluation_cpu_s"]) / float(mpi["evaluation_cpu_s"])
    row["ratio_to_mpi"] = ratio
    limit = TIME_TARGETS.get(oracle)
    if limit is not None:
        notes.append(f"time {'ok' if ratio <= limit else 'MISSED'} (≤ {limit}×)")
    targets = fulltrack.RSS_TARGETS.get(candidate)
    if targets is not None and minutes in (4.0, 10.0):
        allowed = targets[0 if minutes == 4.0 else 1] * RSS_ALLOWANCE.get(oracle, 1.0)
        ok = float(row["peak_rss_gb"]) <= allowed
        notes.append(f"RSS {'ok' if ok else 'MISSED'} (≤ {allowed:.2f} GB)")
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0, help="track length (default 4)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(fulltrack.CANDIDATES),
        default=["stft", "slicqt", "nsgcq-framewise"],
    )
    parser.add_argument("--oracles", nargs="+", choices=list(ORACLES), default=list(ORACLES))
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    oracles = ["mpi", *[o for o in args.oracles if o != "mpi"]]
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        label = f"{args.minutes:g} min"
        root = fulltrack.write_tracks_elsewhere({label: args.minutes * 60.0}, Path(tmp))[label]
        print(f"{label} track; evaluation CPU s, ratio to mpi, peak RSS GB, mean score dB")
        for candidate in args.only:
            results[candidate] = {}
            for oracle in oracles:
                row = measure(root, candidate, oracle)
                mpi = results[candidate].get("mpi", row)
                notes = verdicts(candidate, oracle, row, mpi, args.minutes)
                results[candidate][oracle] = row
                scores = [v for v in row["scores"].values() if v is not None]  # type: ignore
                print(
                    f"{candidate:16s} {oracle:7s} {row['evaluation_cpu_s']:7.2f} s "
                    f"{row['ratio_to_mpi']:5.2f}× {row['peak_rss_gb']:5.2f} GB "
                    f"{sum(scores) / len(scores):6.2f} dB  {'; '.join(notes)}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")


if __name__ == "__main__":
    main()
