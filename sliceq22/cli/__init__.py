"""The ``sliceq22`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``;
heavy libraries (Ray, Optuna, Essentia) are imported inside the handlers so
``sliceq22 --help`` stays instant. Errors a user can cause
(:class:`~sliceq22.errors.Sliceq22Error`) end in one line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from sliceq22 import __version__
from sliceq22.errors import Sliceq22Error
from sliceq22.interrupt import EXIT_TERMINATED, Terminated, was_terminated

if TYPE_CHECKING:
    import optuna

    from sliceq22.search.config import StudyConfig

#: Modules under ``sliceq22.cli`` that register sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "evaluate",
    "run",
    "resume",
    "export",
    "list_studies",
    "show",
    "confirm",
    "data",
    "report",
    "spectrogram",
    "dashboard",
    "deoverlap",
)


def add_storage_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--storage URL`` (the study storage) to a sub-command that reads stored studies."""
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="study storage (default $SLICEQ22_STORAGE or sqlite:///sliceq22.db)",
    )


def open_stored_study(name: str, storage: str | None) -> tuple[optuna.Study, StudyConfig]:
    """The stored study ``name`` and its study file, from an existing storage.

    Parameters
    ----------
    name : str
        The study's name.
    storage : str or None
        Storage URL (``--storage``); None = ``$SLICEQ22_STORAGE`` or the default.

    Raises
    ------
    Sliceq22Error
        No such storage or study, or its stored study file no longer validates.
    """
    from sliceq22.search.storage import open_storage
    from sliceq22.search.study import load_existing

    return load_existing(name, open_storage(storage, create=False))


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2.

    argparse prints the whole usage block first; the user contract is one
    line (``--help`` shows the usage). Sub-command parsers inherit the class.
    """

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("sliceq22").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"sliceq22: error: {where}{message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every sub-command registered."""
    parser = OneLineParser(
        prog="sliceq22",
        description="Search the parameters of time-frequency transforms for music demixing.",
    )
    parser.add_argument("--version", action="version", version=f"sliceq22 {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"sliceq22.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status = args.handler(args)
    except Sliceq22Error as exc:
        print(f"sliceq22: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM during a run (sliceq22.interrupt)
        if isinstance(exc, Terminated) or was_terminated():
            print(
                "sliceq22: terminated (SIGTERM); running trials were stopped and are run again "
                "by the next run or resume",
                file=sys.stderr,
            )
            return EXIT_TERMINATED
        print("sliceq22: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        sys.stderr.close()
        return 0
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
