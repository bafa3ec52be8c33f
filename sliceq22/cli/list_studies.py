"""``sliceq22 list``: the studies in a storage, one row each."""

from __future__ import annotations

import argparse

from sliceq22.cli import add_storage_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``list``."""
    lister = subparsers.add_parser("list", help="list the studies in a storage")
    add_storage_argument(lister)
    lister.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    import optuna

    from sliceq22.search.storage import open_storage
    from sliceq22.search.tables import format_table

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
