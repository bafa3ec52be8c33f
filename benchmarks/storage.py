"""Storage overhead per trial: SQLite vs PostgreSQL, with 2 Ray workers and without Ray.

Run: ``.venv/bin/python benchmarks/storage.py [--trials 40] [--raw-trials 100]``

1. Driver: the same study (trivial evaluation, as in ``benchmarks/scaling.py``:
   a 0.05 s excerpt and a 64-point STFT, about a millisecond of work) run by
   :class:`~sliceq22.search.driver.StudyDriver` with 2 workers on an SQLite file
   and on a PostgreSQL database; prints wall ms per trial for each and the
   ratio PostgreSQL / SQLite.
2. Raw storage operations, no Ray: Optuna's ``ask``, one ``suggest``,
   ``set_user_attr`` and ``tell`` timed one by one, and the per-trial sequence
   (ask, the STFT entry's parameters, the attribute writes, tell) with
   attributes written one fact at a time (13 writes) and packed (3 writes),
   plus one read of every trial of a study of that size (the driver counts
   finished trials from such reads).

PostgreSQL is the server the ``pgserver`` wheel ships, started here from
``tests/pg.py`` (TCP on 127.0.0.1, password authentication, default durability
settings, like SQLite's default synchronous writes) and deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import optuna
import ray

from pg import PgServer
from scaling import STUDY
from sliceq22.search.config import parse_study_text
from sliceq22.search.driver import StudyDriver
from sliceq22.search.space import sample_candidate
from sliceq22.search.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

WORKERS = 2
# : A realistic attribute set: what a finished trial carries (per-target scores, per-track scores,
# timing).
SCORES = {"drums": 3.1, "bass": 2.7, "other": 1.9, "vocals": 4.2}
FACTS = {
    "label": "stft",
    "family": "stft",
    "transform_params": {"n_fft": 64, "hop": 16},
    "driver_host": "host",
    "driver_pid": 1234,
    "heartbeat": 0.0,
    "worker_host": "host",
    "worker_pid": 4321,
    "scores": SCORES,
    "track_scores": {"track": SCORES},
    "timing": {"forward": 1e-4, "inverse": 1e-4, "metric": 1e-3},
    "seconds": 0.01,
    "tracks_evaluated": 1,
}
PACKED = {
    "sliceq22.candidate": {
        k: FACTS[k] for k in ("label", "family", "transform_params", "driver_host", "driver_pid")
    },
    "sliceq22.worker": {k: FACTS[k] for k in ("worker_host", "worker_pid")},
    "sliceq22.result": {
        k: FACTS[k] for k in ("scores", "track_scores", "timing", "seconds", "tracks_evaluated")
    },
}


def config_text(name: str, trials: int) -> str:
    return STUDY.format(name=name, trials=trials, duration=0.05, n_fft=[64], hop=[16])


def driver_run(url: str, name: str, trials: int) -> tuple[float, int]:
    """Run the trivial study to ``trials`` with 2 workers; return (wall seconds of the run,
    complete trials)."""
    config = parse_study_text(config_text(name, trials))
    driver = StudyDriver(config, open_storage(url), workers=WORKERS, progress=False)
    start = time.perf_counter()
    driver.run()
    wall = time.perf_counter() - start
    study = optuna.load_study(study_name=name, storage=url)
    return wall, sum(1 for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE)


@contextlib.contextmanager
def _timed(bucket: list[float]) -> Iterator[None]:
    """Append the seconds the ``with`` block took to ``bucket``."""
    t0 = time.perf_counter()
    yield
    bucket.append(time.perf_counter() - t0)


def raw_ops(url: str, n: int) -> dict[str, float]:
    """Mean seconds of each storage operation and of the per-trial sequences (no Ray, no
    evaluation)."""
    config = parse_study_text(config_text("raw", n))
    storage = open_storage(url)
    study = optuna.create_study(
        study_name="raw",
        storage=storage,
        directions=["maximize"] * 4,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "ask",
            "suggest",
            "set_user_attr",
            "tell",
            "trial, 13 single writes",
            "trial, 3 packed writes",
        )
    }
    values = list(SCORES.values())
    for i in range(n):
        packed = i % 2 == 1  # alternate the two schemes so both see the same study sizes
        t0 = time.perf_counter()
        with _timed(times["ask"]):
            trial = study.ask()
        with _timed(times["suggest"]):
            sample_candidate(trial, config.transforms)
        for key, value in (PACKED if packed else FACTS).items():
            with _timed(times["set_user_attr"]):
                trial.set_user_attr(key, value)
        with _timed(times["tell"]):
            study.tell(trial, values)
        times["trial, 3 packed writes" if packed else "trial, 13 single writes"].append(
            time.perf_counter() - t0
        )
    reads: list[float] = []
    for _ in range(5):
        with _timed(reads):
            study.get_trials(deepcopy=False)
    out = {k: statistics.mean(v) for k, v in times.items()}
    out[f"read all {n} trials"] = statistics.median(reads)
    storage.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="trials per driver run")
    parser.add_argument(
        "--raw-trials", type=int, default=100, help="trials of the raw-operation study"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    server = PgServer().start()
    print(
        f"PostgreSQL {server.url().replace(server.password, '***')} started in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    ray.init(num_cpus=WORKERS, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = {
                "sqlite": lambda name: f"sqlite:///{Path(tmp) / (name + '.db')}",
                "postgresql": lambda name: server.create_database(name),
            }
            # Warm-up: Ray worker processes start, imports, the excerpt decodes (once per storage
            # kind).
            for kind, url in urls.items():
                driver_run(url(f"warmup_{kind}"), "warmup", 4)

            walls: dict[str, float] = {}
            for kind, url in urls.items():
                wall, done = driver_run(url(f"driver_{kind}"), "driver", args.trials)
                walls[kind] = wall / done
            print(f"\ndriver, {WORKERS} workers, trivial evaluation, {args.trials} trials")
            for kind, per in walls.items():
                print(f"  {kind:10s} {1000 * per:7.1f} ms/trial")
            print(f"  ratio postgresql / sqlite: {walls['postgresql'] / walls['sqlite']:.2f}x")

            raw = {kind: raw_ops(url(f"raw_{kind}"), args.raw_trials) for kind, url in urls.items()}
            print(f"\nraw storage operations, no Ray ({args.raw_trials} trials; mean ms)")
            print(f"  {'operation':28s} {'sqlite':>8s} {'postgresql':>11s} {'ratio':>7s}")
            for op in raw["sqlite"]:
                a, b = 1000 * raw["sqlite"][op], 1000 * raw["postgresql"][op]
                print(f"  {op:28s} {a:8.2f} {b:11.2f} {b / a:6.2f}x")
            print(
                "  (the driver makes its storage calls one after another, so with a trivial "
                "evaluation its ms/trial is mostly storage: compare it with the 'trial' rows)"
            )
    finally:
        ray.shutdown()
        server.close()


if __name__ == "__main__":
    main()
