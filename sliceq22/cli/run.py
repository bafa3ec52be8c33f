"""``sliceq22 run``: run a study to its budget (``resume`` reuses its options and loop)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from sliceq22.cli import add_storage_argument
from sliceq22.errors import Sliceq22Error

if TYPE_CHECKING:
    from sliceq22.search.config import StudyConfig


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _budget(text: str) -> int:
    from sliceq22.search.config import MAX_TRIALS

    value = _positive(text)
    if value > MAX_TRIALS:
        raise argparse.ArgumentTypeError(f"{value} is more than the {MAX_TRIALS:,} trials allowed")
    return value


def add_execution_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of a study run (storage, budget, workers, Ray, progress).

    Shared by ``run`` and ``resume``.
    """
    add_storage_argument(parser)
    parser.add_argument(
        "--trials",
        type=_budget,
        metavar="N",
        help="total finished trials wanted, counting those already stored",
    )
    parser.add_argument(
        "--workers", type=_positive, metavar="N", help="parallel evaluations (default: one per CPU)"
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="join an existing Ray cluster (e.g. 10.0.0.1:6379) instead of a local runtime",
    )
    parser.add_argument(
        "--db-patience",
        type=_positive,
        metavar="SECONDS",
        default=60,
        help="how long to wait out a lost database connection before stopping cleanly "
        "(default 60; finished trials are always kept, `resume` continues)",
    )
    parser.add_argument(
        "--tracks-via",
        choices=("auto", "object-store", "dataset"),
        default="auto",
        help="how tracks reach the workers: Ray's object store (only the "
        "driver needs the dataset) or each worker reads them from the dataset "
        "(the same path on every node); auto (default): dataset on a local "
        "Ray runtime, else object-store",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``run``."""
    run = subparsers.add_parser(
        "run",
        help="run (or continue) the study a study file defines",
        description="Run the study defined by STUDY.toml until it holds its budget of finished "
        "trials. Running it again continues the stored study (the file must still match).",
    )
    run.add_argument("study_file", metavar="STUDY.toml")
    add_execution_arguments(run)
    run.set_defaults(handler=_run)


def execute(config: StudyConfig, args: argparse.Namespace) -> int:
    """Run the study ``config`` to its budget under the :func:`add_execution_arguments` options."""
    import warnings

    import optuna

    from sliceq22.search.driver import StudyDriver
    from sliceq22.search.storage import open_storage
    from sliceq22.search.study import load_existing
    from sliceq22.search.tables import results_table

    # The progress bar and the results table say what matters; Optuna's per-trial
    # log lines and its experimental-API notices would bury them.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = open_storage(args.storage, create=True)
    progress = (
        not (args.no_progress or args.quiet) and os.environ.get("SLICEQ22_NO_PROGRESS") != "1"
    )
    driver = StudyDriver(
        config,
        storage,
        workers=args.workers,
        ray_address=args.ray_address,
        budget=args.trials,
        progress=progress,
        patience_s=args.db_patience,
        notify=None if args.quiet else _notify,
        tracks_via=args.tracks_via,
    )
    summary = driver.run()
    if args.quiet:
        return 0
    study, _ = load_existing(config.name, storage)
    print(results_table(study, config))
    parts = [f"{summary.finished}/{summary.budget} trials finished"]
    for label, n in (
        ("completed", summary.completed_now),
        ("pruned", summary.pruned_now),
        ("failed", summary.failed_now),
        ("infeasible", summary.infeasible_now),
    ):
        if n:
            parts.append(f"{n} {label} in this run")
    if summary.memoised_now:
        parts.append(f"{summary.memoised_now} repeated candidate(s) given their stored result")
    if summary.recovered:
        parts.append(f"recovered abandoned trial(s) {', '.join(map(str, summary.recovered))}")
    print("; ".join(parts) + (f" ({summary.seconds:.1f} s)" if summary.seconds else ""))
    if summary.grid_exhausted and summary.finished < summary.budget:
        print(f"the grid is exhausted: every candidate was evaluated ({summary.finished} finished)")
    elif summary.space_exhausted and summary.finished < summary.budget:
        print(
            f"the search space is exhausted: all {summary.space_exhausted} candidates were "
            f"evaluated ({summary.finished} of {summary.budget} trials finished)"
        )
    elif summary.finished < summary.budget:
        raise Sliceq22Error(
            f"study {config.name!r} stopped at {summary.finished} of {summary.budget} trials"
        )
    return 0


def _notify(text: str) -> None:
    import sys

    print(f"sliceq22: {text}", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    from sliceq22.search.config import load_study_file

    return execute(load_study_file(args.study_file), args)
