"""``sliceq22 data``: inspect a dataset, convert OnAir (or a stem folder) to MUSDB18-HQ.

Examples::

    sliceq22 data info --dataset musdb --root ~/MUSDB18-HQ --is-wav --subset train --split valid
    sliceq22 data info --dataset onair --root ~/onair-music
    sliceq22 data convert onair ~/onair-music ~/onair-musdb --on-length-mismatch truncate
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data info`` and ``data convert``."""
    from sliceq22.cli.dataset_args import add_dataset_arguments

    parser = subparsers.add_parser(
        "data",
        help="inspect a dataset or convert OnAir stems to a MUSDB18-HQ tree",
        description="Inspect a dataset (tracks, stems, problems) or convert one to MUSDB18-HQ.",
    )
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    info = sub.add_parser(
        "info",
        help="list the tracks a dataset spec selects, their stems and any problem",
        description="List tracks without reading audio: rate, length, excerpt, stems per target, "
        "and why a track would be refused or skipped. Exit status 2 if any track is refused.",
    )
    add_dataset_arguments(info)
    info.add_argument("--json", action="store_true", help="print one JSON document")
    info.add_argument("-v", "--verbose", action="store_true", help="also print each track's notes")
    info.set_defaults(handler=run_info)

    convert = sub.add_parser(
        "convert",
        help="write a MUSDB18-HQ-shaped tree (OUT/train/<track>/*.wav, float WAV)",
        description="Load every track of SOURCE under ROOT (onair: mapped to drums, bass, other, "
        "vocals) and write OUT/train/<track>/{mixture,drums,bass,other,vocals}.wav as 32-bit "
        "float WAV, readable by musdb.DB(root=OUT, is_wav=True) and --dataset musdb --is-wav.",
    )
    convert.add_argument("source", choices=("onair", "folder"), help="layout of ROOT")
    convert.add_argument("root", metavar="ROOT", help="dataset folder to convert")
    convert.add_argument("out", metavar="OUT", help="output root (tracks go to OUT/train/)")
    add_dataset_arguments(convert, source=False)
    convert.add_argument(
        "--mixture",
        choices=("recorded", "sum"),
        default="recorded",
        help="mixture.wav: the delivered mastered mix (default; the stem sum "
        "when there is none) or always the stem sum",
    )
    convert.add_argument("--overwrite", action="store_true", help="replace existing track folders")
    convert.add_argument("--no-progress", action="store_true", help="no progress bar")
    convert.set_defaults(handler=run_convert)


def run_info(args: argparse.Namespace) -> int:
    """Handler of ``sliceq22 data info``."""
    from sliceq22.cli.dataset_args import spec_from_args
    from sliceq22.data import describe_tracks

    spec = spec_from_args(args)
    rows = describe_tracks(spec)
    if args.json:
        print(json.dumps({"dataset": spec.to_mapping(), "tracks": rows}, indent=2))
    else:
        width = max(len(r["name"]) for r in rows)
        print(f"{spec.describe()}: {len(rows)} track(s)")
        for r in rows:
            if r["status"] == "ok":
                start, frames = r["excerpt"]
                rate = r["rate"]
                what = (
                    f"{r['seconds']:8.2f} s  {rate} Hz  {r['channels']} ch  "
                    f"excerpt {start / rate:.2f}+{frames / rate:.2f} s"
                )
            else:
                what = f"{r['status'].upper()}: {r['problem']}"
            print(f"  {r['name']:<{width}}  {what}")
            if args.verbose:
                for key, names in r.get("parts", {}).items():
                    print(f"      {key}: {', '.join(names)}")
                for note in r.get("notes", []):
                    print(f"      - {note}")
    refused = [r for r in rows if r["status"] == "refused"]
    if refused:
        print(f"sliceq22: error: {len(refused)} track(s) refused (see above)", file=sys.stderr)
        return 2
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """Handler of ``sliceq22 data convert``."""
    import logging

    from sliceq22.cli.dataset_args import spec_from_args
    from sliceq22.data.convert import convert_to_musdb

    spec = spec_from_args(args, source=args.source, root=args.root)
    # The loader's own "skipping track" warning names the study-file key; the
    # summary below names this command's flag, once per track.
    loader_log = logging.getLogger("sliceq22.data")
    level = loader_log.level
    loader_log.setLevel(logging.ERROR)
    try:
        report = convert_to_musdb(
            spec,
            args.out,
            overwrite=args.overwrite,
            mixture=args.mixture,
            progress=not args.no_progress,
        )
    finally:
        loader_log.setLevel(level)
    print(f"wrote {len(report.written)} track(s) at {report.rate} Hz to {report.out / 'train'}")
    for name, reason in report.skipped:
        print(f"skipped {name!r}: {reason} (--include-incomplete loads it)")
    print(f"manifest: {report.manifest}")
    print(f"use: --dataset musdb --root {report.out} --is-wav")
    return 0
