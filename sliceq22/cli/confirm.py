"""``sliceq22 confirm``: re-score a study's top candidates on held-out tracks."""

from __future__ import annotations

import argparse
import sys

from sliceq22.cli import add_storage_argument, open_stored_study
from sliceq22.cli.dataset_args import add_dataset_arguments, spec_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``confirm``."""
    confirm = subparsers.add_parser(
        "confirm",
        help="re-score a study's top candidates and references on held-out tracks",
        description=(
            "Re-score the top K candidates of a stored study (per target, or in all for a "
            "shared study) and its references on tracks the search never saw, store the "
            "scores on the study, and print how much of each best's gain survives. "
            "`export`, `show` and `report` then carry both scores."
        ),
    )
    confirm.add_argument("name")
    add_storage_argument(confirm)
    confirm.add_argument(
        "--top", type=int, default=3, metavar="K", help="candidates per target (default 3)"
    )
    confirm.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="evaluate on a local Ray runtime with N workers (default: in this process)",
    )
    add_dataset_arguments(confirm)
    confirm.set_defaults(handler=_confirm)


def _confirm(args: argparse.Namespace) -> int:
    from sliceq22.search.confirm import confirm
    from sliceq22.search.evaluator import Evaluator, LocalEvaluator
    from sliceq22.search.tables import confirmation_lines

    study, config = open_stored_study(args.name, args.storage)
    held_out = spec_from_args(args)
    evaluator: Evaluator
    if args.workers is not None:
        from sliceq22.search.ray_evaluator import RayEvaluator

        evaluator = RayEvaluator(None, args.workers)
    else:
        evaluator = LocalEvaluator()
    evaluator.start()

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    confirm(study, config, held_out, args.top, evaluator, progress=say)
    print("\n".join(confirmation_lines(study, config)))
    return 0
