"""``sliceq22 resume``: continue a stored study by name, with the study file stored in it."""

from __future__ import annotations

import argparse

from sliceq22.cli import open_stored_study
from sliceq22.cli.run import add_execution_arguments, execute


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``resume``."""
    resume = subparsers.add_parser(
        "resume",
        help="continue a stored study by name",
        description="Continue the stored study NAME with the study file stored in it "
        "(after a crash, a kill, or to raise its budget with --trials).",
    )
    resume.add_argument("name")
    add_execution_arguments(resume)
    resume.set_defaults(handler=_resume)


def _resume(args: argparse.Namespace) -> int:
    _, config = open_stored_study(args.name, args.storage)
    return execute(config, args)
