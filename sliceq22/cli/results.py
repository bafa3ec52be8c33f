"""``sliceq22 export``, ``sliceq22 list`` and ``sliceq22 show``: read results back."""

from __future__ import annotations

import argparse
import json

from sliceq22.cli import add_storage_argument
from sliceq22.errors import Sliceq22Error


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export``, ``list`` and ``show``."""
    export = subparsers.add_parser(
        "export",
        help="write the best parameters per target",
        description="Write the best transform and parameters per target (and the shared best) "
        "of study NAME, with the reference (STFT control) scores, as JSON.",
    )
    export.add_argument("name")
    add_storage_argument(export)
    export.add_argument(
        "-o",
        "--output",
        default="best.json",
        metavar="FILE",
        help="output file (default best.json)",
    )
    export.add_argument(
        "--format",
        choices=("json", "essentia"),
        default="json",
        help="json: one document; essentia: one parameter file per target "
        "(FILE-<target>.json) that the transform's constructor takes as keyword arguments",
    )
    export.set_defaults(handler=_export)

    lister = subparsers.add_parser("list", help="list the studies in a storage")
    add_storage_argument(lister)
    lister.set_defaults(handler=_list)

    show = subparsers.add_parser(
        "show", help="show a study: trials by state, best per target, progress, running trials"
    )
    show.add_argument("name")
    add_storage_argument(show)
    show.add_argument("--json", action="store_true", help="print the overview as JSON")
    show.set_defaults(handler=_show)


def _open(args: argparse.Namespace):
    from sliceq22.search.storage import open_storage
    from sliceq22.search.study import load_existing

    return load_existing(args.name, open_storage(args.storage, create=False))


def _export(args: argparse.Namespace) -> int:
    from sliceq22.cli.outpath import check_output_file
    from sliceq22.search.results import export_best, write_export

    out = check_output_file(args.output)
    study, config = _open(args)
    doc = export_best(study, config)
    if not doc["targets"]:
        raise Sliceq22Error(f"study {args.name!r} has no complete trial yet; nothing to export")
    for path in write_export(doc, out, args.format):
        print(f"wrote {path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    import optuna

    from sliceq22.search.results import format_table
    from sliceq22.search.storage import open_storage

    storage = open_storage(args.storage, create=False)
    rows = []
    for s in sorted(
        optuna.get_all_study_summaries(storage, include_best_trial=False),
        key=lambda s: s.study_name,
    ):
        attrs = s.user_attrs
        # A name from before names were checked may hold a newline: shown quoted, one row.
        name = s.study_name if s.study_name.isprintable() else repr(s.study_name)
        rows.append(
            [
                name,
                attrs.get("sliceq22.mode", "?"),
                s.n_trials,
                attrs.get("sliceq22.trials", "?"),
                str(attrs.get("sliceq22.description", ""))[:50],
            ]
        )
    if not rows:
        print("no studies in this storage")
        return 0
    print(format_table(["study", "mode", "trials", "budget", "description"], rows))
    return 0


def _show(args: argparse.Namespace) -> int:
    from sliceq22.search.results import format_table, overview, results_table
    from sliceq22.search.study import budget_of

    study, config = _open(args)
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
