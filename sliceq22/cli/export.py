"""``sliceq22 export``: write the best parameters per target of a stored study."""

from __future__ import annotations

import argparse

from sliceq22.cli import add_storage_argument, open_stored_study
from sliceq22.errors import Sliceq22Error


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export``."""
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


def _export(args: argparse.Namespace) -> int:
    from sliceq22.cli.outpath import check_output_file
    from sliceq22.search.export import export_best, write_export

    out = check_output_file(args.output)
    study, config = open_stored_study(args.name, args.storage)
    doc = export_best(study, config)
    if not doc["targets"]:
        raise Sliceq22Error(f"study {args.name!r} has no complete trial yet; nothing to export")
    for path in write_export(doc, out, args.format):
        print(f"wrote {path}")
    return 0
