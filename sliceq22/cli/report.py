"""``sliceq22 report``: one self-contained HTML page about a stored study."""

from __future__ import annotations

import argparse

from sliceq22.cli import add_storage_argument
from sliceq22.errors import Sliceq22Error


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} must be positive")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``report``."""
    report = subparsers.add_parser(
        "report",
        help="write an HTML report of a study",
        description="Write one self-contained HTML file (opens offline) about study NAME: summary "
        "with the best settings per target beside the reference scores, optimisation history, "
        "parameter importances, slice plots, parallel coordinates, per-track scores, failures, and "
        "spectrograms of one excerpt under the best setting for each target.",
    )
    report.add_argument("name")
    add_storage_argument(report)
    report.add_argument(
        "-o",
        "--output",
        default="report.html",
        metavar="FILE",
        help="output file (default report.html)",
    )
    report.add_argument(
        "--no-spectrograms",
        action="store_true",
        help="leave out the spectrograms (no dataset loading)",
    )
    report.add_argument(
        "--excerpt",
        type=_positive_float,
        default=4.0,
        metavar="SECONDS",
        help="length of the spectrogram excerpt (default 4 s, from the middle of the first track)",
    )
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from sliceq22.cli.outpath import check_output_file
    from sliceq22.report import ReportOptions, build_report
    from sliceq22.search.storage import mask_url, open_storage, resolve_storage
    from sliceq22.search.study import load_existing

    out = check_output_file(args.output)
    study, config = load_existing(args.name, open_storage(args.storage, create=False))
    options = ReportOptions(
        spectrograms=not args.no_spectrograms,
        excerpt_seconds=args.excerpt,
        storage_label=mask_url(resolve_storage(args.storage)),
    )
    document = build_report(study, config, options)
    try:
        out.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise Sliceq22Error(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {out} ({len(document.encode('utf-8')) / 1e6:.1f} MB)")
    return 0
