"""``sliceq22 show``: a stored study's trials by state, best per target, progress."""

from __future__ import annotations

import argparse
import json

from sliceq22.cli import add_storage_argument, open_stored_study


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``show``."""
    show = subparsers.add_parser(
        "show", help="show a study: trials by state, best per target, progress, running trials"
    )
    show.add_argument("name")
    add_storage_argument(show)
    show.add_argument("--json", action="store_true", help="print the overview as JSON")
    show.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> int:
    from sliceq22.search.study import budget_of
    from sliceq22.search.tables import format_table, overview, results_table

    study, config = open_stored_study(args.name, args.storage)
    info = overview(study, budget_of(study, config))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    counts = ", ".join(f"{n} {state}" for state, n in sorted(info["counts"].items())) or "no trials"
    print(f"study {info['study']}: {info['finished']}/{info['budget']} finished ({counts})")
    if config.description:
        print(config.description)
    print()
    print(results_table(study, config))
    if info["running"]:
        print("\nrunning trials")
        print(
            format_table(
                ["trial", "transform", "host", "age s", "heartbeat s"],
                [
                    [
                        r["trial"],
                        r["label"] or "?",
                        r["host"] or "?",
                        round(r["age_s"], 1),
                        "-" if r["heartbeat_age_s"] is None else round(r["heartbeat_age_s"], 1),
                    ]
                    for r in info["running"]
                ],
            )
        )
    if info["failures"]:
        print("\nfailures and infeasible candidates")
        print(
            format_table(
                ["count", "reason"],
                [
                    [n, reason]
                    for reason, n in sorted(info["failures"].items(), key=lambda kv: -kv[1])
                ],
            )
        )
    return 0
