"""Command-line options for a :class:`DatasetSpec`, shared by the sub-commands that load tracks.

``add_dataset_arguments(parser)`` adds ``--dataset --root --subset --split
--is-wav --track --max-tracks --duration --offset --seed --no-trim --rate
--on-length-mismatch --on-rate-mismatch --include-incomplete --mapping``;
``spec_from_args(args)`` builds the (validated) spec from them.
"""

from __future__ import annotations

import argparse

from sliceq22.data.spec import LENGTH_POLICIES, RATE_POLICIES, SOURCES, DatasetSpec


def parse_seconds(text: str) -> float:
    """argparse ``type`` for a time in seconds: the number, or a usage error naming ``text``."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None


def add_dataset_arguments(parser: argparse.ArgumentParser, *, source: bool = True) -> None:
    """Add the dataset options in an argument group ``tracks``.

    ``source=False`` leaves out ``--dataset`` and ``--root`` (for commands that
    take them as positional arguments).
    """
    g = parser.add_argument_group("tracks")
    if source:
        g.add_argument(
            "--dataset",
            default="example",
            choices=SOURCES,
            metavar="SOURCE",
            help=f"track source: {', '.join(SOURCES)} (default example)",
        )
        g.add_argument("--root", metavar="DIR", help="dataset folder (musdb: default $MUSDB_PATH)")
    g.add_argument(
        "--subset",
        action="append",
        metavar="NAME",
        help="musdb: train/test; onair: subset folder (repeatable)",
    )
    if source:
        g.add_argument(
            "--split", metavar="NAME", help="musdb: train or valid (of the train subset)"
        )
        g.add_argument("--is-wav", action="store_true", help="musdb: MUSDB18-HQ WAV folders")
    g.add_argument("--track", action="append", metavar="NAME", help="only this track (repeatable)")
    g.add_argument("--max-tracks", type=int, metavar="N", help="only the first N tracks")
    if source:
        g.add_argument(
            "--duration", type=parse_seconds, metavar="S", help="excerpt length in seconds"
        )
        g.add_argument(
            "--offset",
            type=parse_seconds,
            metavar="S",
            help="excerpt start in seconds (default: seeded random with --duration)",
        )
        g.add_argument("--seed", type=int, default=0, help="seed of random excerpt starts")
        g.add_argument(
            "--no-trim",
            action="store_true",
            help="example: keep the AAC edge bursts (raw 268288 samples)",
        )
    g.add_argument("--rate", type=int, metavar="HZ", help="sample rate (default: the most common)")
    g.add_argument(
        "--on-length-mismatch",
        choices=LENGTH_POLICIES,
        default="refuse",
        help="stems of different lengths: refuse (default) or truncate to the shortest",
    )
    g.add_argument(
        "--on-rate-mismatch",
        choices=RATE_POLICIES,
        default="refuse",
        help="a stem at another sample rate: refuse (default) or resample",
    )
    g.add_argument(
        "--include-incomplete",
        action="store_true",
        help="onair: load tracks without separate drums/bass (missing target silent)",
    )
    g.add_argument(
        "--mapping",
        metavar="FILE",
        help="onair: TOML/JSON per-track mapping overriding the shipped table",
    )


def spec_from_args(args: argparse.Namespace, **override: object) -> DatasetSpec:
    """Build the spec from parsed options (``override`` sets fields directly).

    Every option's default is the spec's default, so only options the user
    gives are checked against the source (``--split`` with ``--dataset folder``
    is refused with the spec's one-line message).
    """
    values: dict[str, object] = {
        "source": getattr(args, "dataset", "example"),
        "root": getattr(args, "root", None),
        "subsets": tuple(args.subset or ()),
        "split": getattr(args, "split", None),
        "is_wav": getattr(args, "is_wav", False),
        "tracks": tuple(args.track or ()),
        "max_tracks": args.max_tracks,
        "duration": getattr(args, "duration", None),
        "offset": getattr(args, "offset", None),
        "seed": getattr(args, "seed", 0),
        "trim": not getattr(args, "no_trim", False),
        "rate": args.rate,
        "on_length_mismatch": args.on_length_mismatch,
        "on_rate_mismatch": args.on_rate_mismatch,
        "include_incomplete": args.include_incomplete,
        "mapping": args.mapping,
    }
    values.update(override)
    return DatasetSpec(**values)  # type: ignore[arg-type]
