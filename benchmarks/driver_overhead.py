"""The driver's own cost per trial, in this process, against Optuna's bare ask/tell.

Run: ``.venv/bin/python benchmarks/driver_overhead.py [--trials 60] [--repeat 5]``.

The study driver runs with the in-process :class:`~sliceq22.search.evaluator.LocalEvaluator`
and an evaluation that yields its messages at once (one track, fixed scores),
so what is timed is the driver itself: the budget check under the lock, ask,
drawing and storing the candidate (constraints, memo), the messages, the
result attributes and tell. The reference, timed in the same run on the same
kind of storage with the same sampler, is Optuna's bare loop (ask, two
suggests, tell with four values). Both on ``InMemoryStorage`` and on an
SQLite file; medians over ``--repeat`` runs, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import soundfile

from sliceq22 import TARGETS
from sliceq22.search.config import parse_study_text
from sliceq22.search.driver import StudyDriver
from sliceq22.search.evaluator import LocalEvaluator
from sliceq22.search.messages import Message, Started, TrackScored
from sliceq22.search.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)

RATE = 8000
STUDY = """
[study]
name = "{name}"
mode = "per-target"
trials = {trials}

[dataset]
source = "folder"
root = "{root}"

[sampler]
name = "random"
seed = 3

[[transforms]]
family = "stft"
[transforms.space]
n_fft = {{ low = 256, high = 4096, log = true }}
hop = {{ low = 64, high = 128 }}
"""


def instant(
    family: str,
    params: Mapping[str, Any],
    rate: int,
    tracks: list[Any],
    objective: Mapping[str, Any],
) -> Iterator[Message]:
    """An evaluation that costs nothing: where it runs, then one score per track."""
    yield Started("here", 0)
    for track in tracks:
        yield TrackScored(track.name, {t: float(params["n_fft"]) for t in TARGETS}, {}, [])


def write_track(root: Path) -> Path:
    folder = root / "track0"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("mixture", *TARGETS):
        soundfile.write(folder / f"{name}.wav", 0.1 * rng.standard_normal((RATE, 2)), RATE)
    return root


def driver_seconds(root: Path, url: str | None, name: str, trials: int) -> float:
    config = parse_study_text(STUDY.format(name=name, trials=trials, root=root))
    storage = optuna.storages.InMemoryStorage() if url is None else open_storage(url)
    driver = StudyDriver(config, storage, progress=False, evaluator=LocalEvaluator(instant))
    t0 = time.perf_counter()
    summary = driver.run()
    assert summary.completed_now == trials, summary
    return time.perf_counter() - t0


def bare_seconds(url: str | None, name: str, trials: int) -> float:
    storage = optuna.storages.InMemoryStorage() if url is None else open_storage(url)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        directions=["maximize"] * 4,
        sampler=optuna.samplers.RandomSampler(seed=3),
    )
    t0 = time.perf_counter()
    for _ in range(trials):
        trial = study.ask()
        n_fft = trial.suggest_int("stft.n_fft", 256, 4096, log=True)
        trial.suggest_int("stft.hop", 64, 128)
        study.tell(trial, [float(n_fft)] * 4)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = write_track(Path(tmp) / "tracks")
        print(f"{args.trials} trials per run, median of {args.repeat} runs (ms per trial)")
        print(f"{'storage':<10} {'driver':>8} {'bare':>8} {'ratio':>6}")
        for kind in ("memory", "sqlite"):
            driver, bare = [], []
            for i in range(args.repeat):
                url = None if kind == "memory" else f"sqlite:///{tmp}/s{i}.db"
                driver.append(driver_seconds(root, url, f"d{i}", args.trials))
                bare.append(bare_seconds(url, f"b{i}", args.trials))
            d = 1000 * statistics.median(driver) / args.trials
            b = 1000 * statistics.median(bare) / args.trials
            print(f"{kind:<10} {d:8.1f} {b:8.1f} {d / b:6.2f}")


if __name__ == "__main__":
    main()
