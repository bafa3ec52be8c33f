"""How fast the samplers converge on the shipped MUSDB18-HQ spaces, and what cheap-first saves.

Run: ``.venv/bin/python benchmarks/search.py`` (minutes to an hour; ``--quick``
checks the whole path in about a minute). Not in CI.

What it does
------------
1. Writes two folder datasets of 16-bit WAV stems built from the bundled
   example, not looped (``benchmarks/material.py``): per track and per stem
   independently, segments of 1.5-4 s cut from random positions of the
   example's stem, each played at its own seeded speed (varispeed,
   0.75-1.33) and gain, joined by 50 ms raised-cosine crossfades; the mixture
   is the sum. (Tiled loops of the example, ``synth.tiled_track``, which this
   used before, made one candidate the best for every target and every
   sampler.) Dataset A (``--tracks`` tracks of ``--seconds`` s, default 3 x
   30 s) is searched by every sampler; dataset B (``--fidelity-tracks`` x
   ``--fidelity-seconds``, default 3 x 180 s) is for the fidelity part. B's
   length is the real workload's order: what cheap-first saves is set by the
   excerpt's share of a track, and MUSDB18-HQ's tracks average ~249 s (the 14
   validation tracks ~55 min), where a 10 s excerpt is ~4 % of a track; on
   60 s tracks (B's earlier default) it cost ~19 % of a full evaluation,
   probes and set-up included, which alone put a ``<= 40 %`` target out of
   reach; on B it costs ~6 %. 180 s rather than 240 s for time (a full
   evaluation of B costs ~3-100 s CPU by candidate, median ~15 s).
   Underneath it is still the example's 5.9 s of the same instruments and
   voice, so the absolute scores, and how well an excerpt stands for its
   track, are this material's, not MUSDB18-HQ's.
2. Builds study files from ``studies/musdb18hq-mpi-{shared,per-target}.toml``:
   their ``[[transforms]]``, ``[[reference]]`` (the two reference trials come
   first and count as trials, as in the shipped studies), ``[constraints]``,
   ``[objective]`` and ``[sampler]`` (TPE, 20 startup trials), with the
   dataset replaced by the folder, the budget by ``--trials`` and the seed by
   each run's.
3. Runs every study with the real driver in-process
   (``StudyDriver(config, InMemoryStorage(), evaluator=LocalEvaluator(...))``,
   one evaluation at a time, ``--workers`` such runs in parallel processes).
   Samplers the study files cannot name (TPE multivariate with ``group``,
   other startup counts, QMC, NSGA-II's population) are put in by replacing
   ``sliceq22.search.study.make_sampler`` for the run; ``tpe`` is the shipped
   one, built by the package.
4. Every evaluation goes through a candidate cache shared by all runs of this
   benchmark (a folder of pickles keyed by the tracks, the objective and
   ``sliceq22.search.memo.candidate_key``): a candidate evaluated before, in
   any run, costs nothing. Counted per run: *actual* CPU (cache misses, this
   process's CPU time) and CPU *alone* (the sum of the costs of every
   evaluation the run used, what it would have cost by itself). The study's
   own result memo (a candidate drawn again within a study is told its stored
   result, ``memo_of``) costs nothing in either and is counted as ``memo``.
   Seeded samplers that start with random draws (TPE's startup trials,
   NSGA-II's first generation, QMC's categorical fallback) draw what
   ``RandomSampler`` with the same seed draws, so they mostly hit the cache.
5. Sampler runs: the random sampler runs ``--baseline-trials`` (60) trials per
   seed; its best per seed (shared value, or per target) after those trials,
   median over the seeds, is the *target*. For every sampler and seed: the
   number of trials (counted against the budget: complete and pruned;
   infeasible candidates do not count), the full-length track evaluations and
   the CPU (alone) until the best so far is within 0.05 dB of the target.
   Per-target mode: the trial by which all four targets are within 0.05 dB of
   theirs (the max over targets), with the per-target medians beside it. A
   run that never gets there within its ``--trials`` counts as more than
   ``--trials``.
6. Fidelity (dataset B): (a) Spearman's rank correlation between excerpt and
   full-length scores, per target and shared, over ``--spearman`` random
   candidates, for 10 s and 30 s excerpts (``[fidelity] promote = 1``: every
   candidate is scored both ways; ``--excerpts``). (b) Shared mode
   (``--fidelity-mode``), the shipped TPE, per seed: a full-length-only study
   of ``--fidelity-trials`` (24) trials against a ``[fidelity] excerpt = E,
   promote = P, startup = S`` study (E in ``--cheap-excerpts``, default
   10 s; P in ``--promote`` and S ``--fidelity-startup``, default the
   package's: 0.3 and 0; reference trials always go on to full length) of
   twice as many trials (its unpromoted candidates count against the
   budget): the fidelity run's CPU (excerpts included) until its best
   full-length score is within 0.05 dB of the full-only run's final best, as
   a fraction of the full-only run's CPU.

``--only samplers`` (or ``--no-fidelity``) and ``--only fidelity`` run one part.

    .venv/bin/python benchmarks/search.py --quick
    .venv/bin/python benchmarks/search.py --only samplers --seeds 5 --trials 30 --cache DIR
    .venv/bin/python benchmarks/search.py --only fidelity --promote 0.2 0.3 --cache DIR
    .venv/bin/python benchmarks/search.py --samplers random tpe tpe-mv-s10 --mode shared
    .venv/bin/python benchmarks/search.py --only samplers --space slicqt --samplers random tpe cmaes

Samplers (``--samplers``): ``random``, ``qmc`` (scrambled Sobol), ``tpe``
(the shipped default: univariate, the study file's 20 startup trials),
``tpe-sN`` (N startup trials), ``tpe-mv`` and ``tpe-mv-sN`` (multivariate
with ``group``, for the conditional space), ``nsga2`` (population 50, as
shipped) and ``nsga2-pN`` (per-target mode only), ``cmaes`` (Optuna's
CmaEsSampler as a study file names it; shared mode only; needs ``pip install
cmaes``). Not run: see :data:`EXCLUDED`.

``--space`` (sampler runs): ``shipped`` (default) searches the shipped
studies' whole space, every family with the two reference trials; a family
entry's label (``stft``, ``slicqt``, ``nsgcq-framewise``) keeps that entry
alone and no reference, so that the family's numeric parameters decide, not
which grid point of the STFT a draw lands on. The target is then random-60's
best within that family.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import importlib.util
import multiprocessing
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import optuna

from material import write_varispeed_track
from search_runs import Task, run_task, sampler_check, space_labels
from search_tables import print_fidelity, print_samplers
from sliceq22.search.sections import FidelitySection
from synth import STEMS, example_stems

#: Optuna samplers not run here, and why.
EXCLUDED = {
    "gp": "GPSampler needs PyTorch (from PyPI several GB with its CUDA libraries; not an "
    "acceptable dependency for a worker that must fit in a fraction of a machine)",
    "grid": "the shipped spaces have continuous parameters",
    "nsga3": "NSGAIIISampler differs from NSGA-II only in selection for many objectives; "
    "within a 40-60 trial budget its first generation (random) is all there is",
}
#: Samplers run in one mode only, and why.
ONE_MODE = {
    "nsga2": ("per-target", "a multi-objective sampler"),
    "cmaes": (
        "shared",
        "CmaEsSampler takes one objective; it models the numeric parameters of the intersection "
        "space (empty in the shipped spaces: a family choice, then that family's parameters) "
        "and draws categorical ones at random; needs `pip install cmaes`",
    ),
}
DEFAULT_SAMPLERS = ["random", "qmc", "tpe", "tpe-s10", "tpe-mv", "tpe-mv-s10", "nsga2", "nsga2-p10"]


def write_dataset(root: Path, tracks: int, seconds: float, seed: int) -> Path:
    """``tracks`` non-looped folders of ``seconds`` s stems under ``root`` (reused when
    complete): ``material.write_varispeed_track``, seeded by the track's index. The folder
    names (``varispeed<i>``) are in the candidate cache's key, so a cache written on other
    material (``synth``'s loops: ``track<i>``) is never mistaken for this one's; track ``i``
    is seeded ``seed + i``."""
    stems, rate = example_stems()
    for i in range(tracks):
        folder = root / f"varispeed{i}"
        if all((folder / f"{n}.wav").exists() for n in (*STEMS, "mixture")):
            continue
        write_varispeed_track(folder, stems, rate, seconds, seed=seed + i)
    return root


def sampler_tasks(args: argparse.Namespace, folder: Path, modes: list[str]) -> list[Task]:
    """Random first (the baseline, and the cache the seeded startups hit), then the others."""
    tasks = []
    seeds = [2022 + i for i in range(args.seeds)]
    names = ["random"] + [s for s in args.samplers if s != "random"]
    for name in names:
        for mode in modes:
            only = ONE_MODE.get(re.sub(r"-p\d+$", "", name))
            if only is not None and only[0] != mode:
                continue
            trials = max(args.trials, args.baseline_trials) if name == "random" else args.trials
            for seed in seeds:
                tasks.append(
                    Task("sampler", mode, name, seed, trials, str(folder), space=args.space)
                )
    return tasks


def fidelity_tasks(args: argparse.Namespace, folder: Path) -> list[Task]:
    """Spearman studies and full-only runs interleaved (so that two runs seldom evaluate the
    same candidates at once), then the fidelity runs, whose early candidates are cached."""
    seeds = [2022 + i for i in range(args.fidelity_seeds)]
    n, mode = args.fidelity_trials, args.fidelity_mode
    spearman = [
        Task("spearman", "shared", "random", 2022, args.spearman, str(folder), _fid(e, 1.0, 0))
        for e in args.excerpts
    ]
    full = [Task("full-only", mode, "tpe", seed, n, str(folder)) for seed in reversed(seeds)]
    tasks = []
    while spearman or full:
        tasks += [spearman.pop(0)] if spearman else []
        tasks += [full.pop(0)] if full else []
    for seed in seeds:
        for e in args.cheap_excerpts:
            for promote in args.promote:
                fid = _fid(e, promote, args.fidelity_startup)
                tasks.append(Task("fidelity", mode, "tpe", seed, 2 * n, str(folder), fid))
    return tasks


def _fid(excerpt: float, promote: float, startup: int) -> dict[str, float]:
    return {"excerpt": float(excerpt), "promote": promote, "startup": startup}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--trials", type=int, default=40, help="trials per run (random: at least 60)")
    p.add_argument("--baseline-trials", type=int, default=60)
    p.add_argument("--samplers", nargs="+", default=DEFAULT_SAMPLERS)
    p.add_argument("--tracks", type=int, default=3)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--mode", choices=["shared", "per-target", "both"], default="both")
    p.add_argument(
        "--space",
        choices=["shipped", *space_labels()],
        default="shipped",
        help="sampler runs' space: the shipped studies' (every family, with the references), "
        "or one family's entry alone, without references, where its numeric parameters decide",
    )
    p.add_argument("--fidelity-tracks", type=int, default=3)
    p.add_argument("--fidelity-seconds", type=float, default=180.0)
    p.add_argument("--fidelity-seeds", type=int, default=3)
    p.add_argument("--fidelity-trials", type=int, default=24)
    p.add_argument("--fidelity-mode", choices=["shared", "per-target"], default="shared")
    p.add_argument("--excerpts", type=float, nargs="+", default=[10.0, 30.0], help="Spearman")
    p.add_argument(
        "--cheap-excerpts", type=float, nargs="+", default=[10.0], help="fidelity runs' excerpt"
    )
    p.add_argument("--spearman", type=int, default=24, help="random candidates for Spearman")
    p.add_argument(
        "--promote",
        type=float,
        nargs="+",
        default=[FidelitySection.promote],
        help="fidelity runs' promote fraction(s) (default: the package's)",
    )
    p.add_argument(
        "--fidelity-startup",
        type=int,
        default=FidelitySection.startup,
        help="fidelity runs' startup (default: the package's)",
    )
    p.add_argument("--only", choices=["samplers", "fidelity"], help="run one part (default: both)")
    p.add_argument("--no-fidelity", action="store_true", help="the same as --only samplers")
    p.add_argument("--workers", type=int, default=2, help="runs in parallel processes")
    p.add_argument("--root", type=Path, help="dataset folder (default: a temporary one)")
    p.add_argument(
        "--cache",
        type=Path,
        help="candidate cache folder to reuse (default: a fresh temporary one); evaluations "
        "found there keep the CPU they cost when computed, so 'alone' stays right and "
        "'actual' counts only the new ones",
    )
    p.add_argument("--quick", action="store_true", help="a smoke configuration (~1 minute)")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.trials, args.baseline_trials = 2, 6, 8
        args.tracks, args.seconds = 2, 8.0
        if args.samplers == DEFAULT_SAMPLERS:  # a --samplers given is kept
            args.samplers = ["random", "qmc", "tpe", "tpe-s3", "tpe-mv-s3", "nsga2-p4"]
        args.fidelity_tracks, args.fidelity_seconds = 2, 12.0
        args.fidelity_seeds, args.fidelity_trials, args.spearman = 1, 4, 5
        args.excerpts = args.cheap_excerpts = [3.0]
    if args.no_fidelity:
        args.only = "samplers"
    for name in args.samplers:
        if name in EXCLUDED:
            p.error(f"--samplers {name}: not run here: {EXCLUDED[name]}")
        try:
            sampler_check(name)
        except ValueError as err:
            p.error(f"--samplers {name}: {err}")
    if "cmaes" in args.samplers and importlib.util.find_spec("cmaes") is None:
        p.error("--samplers cmaes: the cmaes package is not installed (pip install cmaes)")
    return args


def run_all(tasks: list[Task], workers: int, cache: Path) -> list:
    """Run the tasks (in order, ``workers`` at a time); return their results in task order."""
    jobs = [(task, str(cache)) for task in tasks]
    if workers <= 1:
        return [run_task(job) for job in jobs]
    with multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=20) as pool:
        results = []
        for i, result in enumerate(pool.imap(run_task, jobs, chunksize=1)):
            results.append(result)
            t = tasks[i]
            print(
                f"  [{i + 1}/{len(tasks)}] {t.kind} {t.mode} {t.sampler} seed {t.seed}: "
                f"{result.wall:.0f} s, {result.spent:.0f} s CPU",
                file=sys.stderr,
                flush=True,
            )
        return results


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    args = parse_args(argv)
    modes = ["shared", "per-target"] if args.mode == "both" else [args.mode]
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="sliceq22-search-") as tmp:
        root = args.root or Path(tmp)
        folder_a = folder_b = None
        if args.only != "fidelity":
            folder_a = write_dataset(root / "a", args.tracks, args.seconds, seed=1000)
        if args.only != "samplers":
            b = write_dataset(root / "b", args.fidelity_tracks, args.fidelity_seconds, seed=2000)
            folder_b = b
        print(f"datasets written in {time.time() - t0:.1f} s", file=sys.stderr)
        tasks = [] if folder_b is None else fidelity_tasks(args, folder_b)
        tasks += [] if folder_a is None else sampler_tasks(args, folder_a, modes)
        cache = args.cache or Path(tmp) / "cache"
        cache.mkdir(parents=True, exist_ok=True)
        results = run_all(tasks, args.workers, cache)
    if folder_a is not None:
        print_setup(args, modes, time.time() - t0)
        print_samplers(args, [r for r in results if r.task.kind == "sampler"])
    if folder_b is not None:
        print_fidelity(args, [r for r in results if r.task.kind != "sampler"])
    print(
        f"\nwall time {time.time() - t0:.0f} s, CPU (actual, all runs) "
        f"{sum(r.spent for r in results):.0f} s eval + "
        f"{sum(r.driver_cpu for r in results):.0f} s driver"
    )
    return 0


def print_setup(args: argparse.Namespace, modes: list[str], wall: float) -> None:
    print(
        f"benchmarks/search.py: dataset A {args.tracks} x {args.seconds:g} s, "
        f"modes {', '.join(modes)}, seeds {args.seeds} (2022...), {args.trials} trials per run "
        f"(random {max(args.trials, args.baseline_trials)}), target = median over seeds of the "
        f"best of {args.baseline_trials} random trials, reached = within 0.05 dB"
    )
    print(f"  space: {args.space}" + ("" if args.space == "shipped" else " alone, no references"))
    for name, (mode, why) in ONE_MODE.items():
        print(f"  {name}: {mode} mode only: {why}")
    for name, why in EXCLUDED.items():
        print(f"  not run: {name}: {why}")


if __name__ == "__main__":
    sys.exit(main())
