"""Study throughput with 1 and 2 Ray workers, and the driver's overhead per trial.

Run: ``.venv/bin/python benchmarks/scaling.py [--trials 24]`` on a quiet machine.

1. Throughput: the same seeded random candidates (STFT family, the bundled
   example) with 1 and then 2 workers, each on a local Ray runtime with that
   many CPUs (what ``sliceq22 run --workers N`` does); prints trials per hour
   and the speed-up (target ≥ 1.8× with 2 workers on 2 cores).
2. Overhead: a trivial evaluation (a 0.05 s excerpt, a 64-point STFT: about a
   millisecond of work) so that what remains is orchestration: ask, feasibility
   check, task start, per-track messages, tell, storage writes (target ≤ 50 ms
   of wall time per trial). The driver's own CPU time per trial is printed
   too: it is what the driver takes away from the workers on a full machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import optuna
import ray

from sliceq22.search.config import parse_study_text
from sliceq22.search.driver import StudyDriver
from sliceq22.search.storage import open_storage
from sliceq22.search.trialattrs import trial_attrs

optuna.logging.set_verbosity(optuna.logging.WARNING)

STUDY = """
[study]
name = "{name}"
mode = "per-target"
trials = {trials}

[dataset]
source = "example"
duration = {duration}

[sampler]
name = "random"
seed = 3

[[transforms]]
family = "stft"
[transforms.space]
n_fft = {{ choices = {n_fft} }}
hop = {{ choices = {hop} }}
"""


def run(
    name: str,
    workers: int,
    trials: int,
    duration: float,
    n_fft: list[int],
    hop: list[int],
    folder: Path,
    url: str | None = None,
) -> tuple[float, float, optuna.Study]:
    """Run one fresh study; return (wall seconds of the driver loop, driver CPU seconds, study)."""
    config = parse_study_text(
        STUDY.format(name=name, trials=trials, duration=duration, n_fft=n_fft, hop=hop)
    )
    url = url or f"sqlite:///{folder / (name + '.db')}"
    driver = StudyDriver(config, open_storage(url), workers=workers, progress=False)
    start, cpu = time.perf_counter(), time.process_time()
    driver.run()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, optuna.load_study(study_name=name, storage=url)


def _bare_evaluate(candidate: dict) -> float:
    """One candidate's MPI evaluation on the example, no driver, no Ray (for the hardware
    ceiling)."""
    from sliceq22.data import DatasetSpec, load_tracks
    from sliceq22.oracles import get_objective
    from sliceq22.transforms import make_transform

    tracks = load_tracks(DatasetSpec.from_mapping({"source": "example", "duration": 5.5}))
    transform = make_transform("stft", candidate, rate=tracks[0].rate)
    objective = get_objective("mpi", metric="sdr-global")
    for track in tracks:
        objective.evaluate_track(transform, track)
    return 0.0


def bare_ceiling(candidates: list[dict]) -> float:
    """Speed-up of 2 over 1 plain processes on the same candidates: what the machine itself
    allows."""
    from concurrent.futures import ProcessPoolExecutor

    walls = []
    for processes in (1, 2):
        with ProcessPoolExecutor(processes) as pool:
            list(pool.map(_bare_evaluate, candidates[:processes]))  # warm-up: imports, decoding
            start = time.perf_counter()
            list(pool.map(_bare_evaluate, candidates))
            walls.append(time.perf_counter() - start)
    return walls[0] / walls[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--overhead-trials", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        space = ([2048, 4096, 8192], [256, 512, 1024])
        walls = {}
        for workers in (1, 2):
            # As `sliceq22 run --workers N` does: a local Ray runtime with N CPUs.
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                logging_level="ERROR",
                log_to_driver=False,
            )
            # Warm-up: worker processes start, Essentia/numpy import, tracks decode.
            run(f"warmup{workers}", workers, 2 * workers, 1.0, [1024], [256], folder)
            walls[workers], _, done = run(f"w{workers}", workers, args.trials, 5.5, *space, folder)
            if workers == 1:
                n = args.overhead_trials
                o_wall, o_cpu, study = run("overhead", 1, n, 0.05, [64], [16], folder)
            ray.shutdown()
        print(
            f"throughput on the example (STFT, {args.trials} seeded random candidates, 5.5 s "
            "excerpt):"
        )
        for workers, wall in walls.items():
            print(
                f"  {workers} worker(s): {wall:7.2f} s  {3600 * args.trials / wall:8.0f} trials/h"
            )
        print(f"  speed-up 2 vs 1 workers: {walls[1] / walls[2]:.2f}x (target >= 1.8x)")
        candidates = [
            trial_attrs(t)["transform_params"]
            for t in done.trials
            if t.state == optuna.trial.TrialState.COMPLETE
        ]
        print(
            f"  reference: the same {len(candidates)} candidates in 2 vs 1 plain processes "
            f"(no driver, no Ray): {bare_ceiling(candidates):.2f}x"
        )

        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        work = sum(sum(trial_attrs(t)["timing"].values()) for t in complete)
        per_trial = (o_wall - work) / len(complete)
        print(f"orchestration overhead (trivial evaluation, 1 worker, {len(complete)} trials):")
        print(
            f"  driver wall {o_wall:.2f} s, evaluation work {work:.3f} s, driver CPU {o_cpu:.2f} s"
        )
        print(f"  wall overhead per trial: {1000 * per_trial:.1f} ms (target <= 50 ms)")
        print(f"  driver CPU per trial:    {1000 * o_cpu / len(complete):.1f} ms")


if __name__ == "__main__":
    main()
