"""A full-size study on this machine: MUSDB18-HQ-shaped full-length tracks, two Ray workers.

Run: ``.venv/bin/python benchmarks/fullstudy.py`` (not in CI; the full size
writes ~3 GB of WAVs and runs for a long time). Quick check of the whole path:
``.venv/bin/python benchmarks/fullstudy.py --tracks 2 --minutes 0.3``.

1. Writes a MUSDB18-HQ tree ``train/<track>/{mixture,drums,bass,other,vocals}.wav``
   (16-bit PCM, like MUSDB18-HQ) of ``--tracks`` tracks (default 14) named
   after musdb's validation tracks, so the study's ``split = "valid"`` selects
   them, with lengths spread over ``--minutes`` (default 3-5). The audio is the
   bundled example's stems tiled with deterministic per-repeat gains
   (``benchmarks/synth.py``). Into a temporary folder, or ``--root`` (an
   existing complete tree there is reused).
2. Runs ``sliceq22 run STUDY --trials 4 --workers 2`` with ``MUSDB_PATH`` set
   to the tree and a fresh SQLite storage next to it, in its own session.
3. Every 0.5 s samples the machine's used memory (``/proc/meminfo``
   MemTotal - MemAvailable) and the summed RSS of every process of the run's
   session (the driver, Ray's GCS, raylet and workers; shared pages such as
   the object store count once per process that maps them, so the sum can
   exceed what the machine uses).
4. Prints each trial's time (from the stored study) and the peaks.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import STEMS, VALIDATION_TRACKS, write_musdb_tree

REPO = Path(__file__).resolve().parent.parent
STUDY = REPO / "studies" / "musdb18hq-mpi-per-target.toml"


def used_memory_kb() -> int:
    """MemTotal - MemAvailable of the machine, in KiB."""
    fields = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            key, value = line.split(":", 1)
            fields[key] = int(value.split()[0])
    return fields["MemTotal"] - fields["MemAvailable"]


def session_rss_kb(session: int) -> int:
    """Summed VmRSS of every process in ``session`` (KiB)."""
    total = 0
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            if os.getsid(int(pid_dir.name)) != session:
                continue
            for line in (pid_dir / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ProcessLookupError):
            continue
    return total


class Sampler(threading.Thread):
    """Samples memory every ``interval`` seconds until stopped; keeps the peaks."""

    def __init__(self, session: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.session, self.interval = session, interval
        self.peak_used = self.peak_tree = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_used = max(self.peak_used, used_memory_kb())
            self.peak_tree = max(self.peak_tree, session_rss_kb(self.session))
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def kill_session(session: int) -> None:
    """SIGKILL what is left of the run's session (Ray processes that outlive their driver)."""
    for pid_dir in Path("/proc").iterdir():
        if pid_dir.name.isdigit():
            try:
                if os.getsid(int(pid_dir.name)) == session:
                    os.kill(int(pid_dir.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue


def tree_complete(root: Path, tracks: int) -> bool:
    """Whether ``root`` already holds the first ``tracks`` validation tracks."""
    return all(
        (root / "train" / name / f"{s}.wav").is_file()
        for name in VALIDATION_TRACKS[:tracks]
        for s in (*STEMS, "mixture")
    )


def parse_minutes(text: str) -> tuple[float, float]:
    """``"3-5"`` -> (3, 5); ``"0.3"`` -> (0.3, 0.3)."""
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def report(url: str, name: str) -> None:
    """Per trial: number, state, seconds (stored start to end; and in the worker), mean score."""
    import optuna

    from sliceq22.search.trialattrs import trial_attrs

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=url)
    print(f"{'trial':>5}  {'state':<9} {'seconds':>8} {'in worker':>9}  {'mean':>6}  candidate")
    seconds = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial_attrs(trial)
        took = float("nan")
        if trial.datetime_start and trial.datetime_complete:
            took = (trial.datetime_complete - trial.datetime_start).total_seconds()
            if trial.state == optuna.trial.TrialState.COMPLETE:  # not the refused candidates
                seconds.append(took)
        values = trial.values or []
        mean = sum(values) / len(values) if values else float("nan")
        label = f"{attrs.get('label', '?')} {attrs.get('transform_params', {})}"
        print(
            f"{trial.number:>5}  {trial.state.name:<9} {took:>8.1f} "
            f"{float(attrs.get('seconds', float('nan'))):>9.1f}  {mean:>6.2f}  {label[:90]}"
        )
    if seconds:
        print(
            f"time per trial: mean {sum(seconds) / len(seconds):.1f} s, "
            f"min {min(seconds):.1f} s, max {max(seconds):.1f} s "
            f"({len(seconds)} complete trials)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=14, help="tracks (1-14, default 14)")
    parser.add_argument("--minutes", default="3-5", help="track lengths, LOW-HIGH or one value")
    parser.add_argument(
        "--root", type=Path, help="where to write the tree (default: a temp folder)"
    )
    parser.add_argument("--study", type=Path, default=STUDY, help="study file")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tracks-via", default="auto", help="passed to sliceq22 run")
    parser.add_argument("--timeout", type=float, default=6 * 3600, help="seconds before giving up")
    args = parser.parse_args()
    low, high = parse_minutes(args.minutes)

    with tempfile.TemporaryDirectory(prefix="sliceq22-fullstudy-") as tmp:
        root = args.root or Path(tmp) / "musdb18hq"
        if tree_complete(root, args.tracks):
            print(f"reusing the tree in {root}")
        else:
            t0 = time.time()
            names = write_musdb_tree(root, args.tracks, low, high)
            print(
                f"wrote {len(names)} tracks of {low:g}-{high:g} min to {root} "
                f"in {time.time() - t0:.0f} s"
            )
        url = f"sqlite:///{Path(tmp) / 'fullstudy.db'}"
        command = [
            sys.executable,
            "-m",
            "sliceq22",
            "run",
            str(args.study),
            "--storage",
            url,
            "--trials",
            str(args.trials),
            "--workers",
            str(args.workers),
            "--tracks-via",
            args.tracks_via,
        ]
        env = {**os.environ, "MUSDB_PATH": str(root)}
        baseline = used_memory_kb()
        print("running:", " ".join(command[1:]), flush=True)
        t0 = time.time()
        proc = subprocess.Popen(command, env=env, start_new_session=True, cwd=tmp)
        sampler = Sampler(proc.pid)
        sampler.start()
        try:
            status = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            sampler.stop()
            kill_session(proc.pid)
        wall = time.time() - t0
        print(f"\nrun exit status {status}, {wall:.0f} s wall")
        import tomllib

        name = tomllib.loads(args.study.read_text())["study"]["name"]
        try:
            report(url, name)
        except Exception as exc:  # a failed run may have no study to report
            print(f"no study to report ({exc})")
        print(
            f"peak memory of the machine: {sampler.peak_used / 2**20:.2f} GB used "
            f"({(sampler.peak_used - baseline) / 2**20:.2f} GB above the {baseline / 2**20:.2f} GB "
            "used before the run); peak summed RSS of the run's processes (Ray's included): "
            f"{sampler.peak_tree / 2**20:.2f} GB; {sampler.samples} samples every 0.5 s"
        )
        return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
