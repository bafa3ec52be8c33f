r"""``sliceq22 spectrogram``: draw one transform of one file or dataset track.

Examples
--------
    sliceq22 spectrogram song.wav --transform slicqt --param scale=bark --param bins=262 \
        -o song.html
    sliceq22 spectrogram --dataset example --target vocals --transform stft \
        --param n_fft=4096 -o vocals.png
    sliceq22 spectrogram --dataset example --target vocals --duration 4 --transform slicqt \
        --ola --deoverlap halves -o vocals-ola.html
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from sliceq22 import TARGETS
from sliceq22.cli.dataset_args import add_dataset_arguments, parse_seconds, spec_from_args
from sliceq22.errors import DatasetError, ParameterError, Sliceq22Error

#: What ``--target`` may name.
SIGNALS = (*TARGETS, "mixture")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``spectrogram``."""
    parser = subparsers.add_parser(
        "spectrogram",
        help="draw one transform of an audio file or dataset track (HTML or PNG)",
        description="Draw the coefficients of one transform setting for an audio file, or for a "
        "target of a dataset track when AUDIO is left out: the ragged view (every band's time "
        "resolution to scale), the rasterized matrix and, for sliced transforms, the overlap-added "
        "slices. Log magnitude, frequency in Hz, time in seconds. PNG output needs the kaleido "
        "package and a Chromium.",
    )
    parser.add_argument(
        "audio",
        nargs="?",
        metavar="AUDIO",
        help="audio file (WAV/FLAC/AIFF/OGG, or anything FFmpeg decodes: its first stream)",
    )
    tf = parser.add_argument_group("transform")
    tf.add_argument(
        "--transform", required=True, metavar="FAMILY", help="transform family: stft, nsgcq, slicqt"
    )
    tf.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="transform parameter (repeatable), e.g. --param n_fft=4096",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        default="spectrogram.html",
        metavar="FILE",
        help="FILE.html (interactive, self-contained) or FILE.png (default spectrogram.html)",
    )
    out.add_argument(
        "--channel",
        type=int,
        metavar="N",
        help="draw channel N (0 = left); default: the energy averaged over channels",
    )
    out.add_argument(
        "--start",
        type=parse_seconds,
        metavar="S",
        help="excerpt start in seconds (AUDIO; with a dataset, the same as --offset)",
    )
    out.add_argument(
        "--target",
        choices=SIGNALS,
        default="mixture",
        help="dataset signal to draw (default mixture: the sum of the targets)",
    )
    out.add_argument(
        "--columns", type=int, default=1200, metavar="N", help="pixels along time (default 1200)"
    )
    out.add_argument(
        "--rows", type=int, default=360, metavar="N", help="pixels along frequency (default 360)"
    )
    ola = parser.add_argument_group("OLA view (sliced transforms: slicqt, framewise nsgcq)")
    ola.add_argument(
        "--ola",
        action="store_true",
        help="draw instead the overlap-added (OLA) view of the slice magnitudes, the slices "
        "de-overlapped back from it, and their error against the true slices (dB per cell; "
        "the reconstruction SNR in the title)",
    )
    ola.add_argument(
        "--deoverlap",
        metavar="METHOD",
        help="with --ola: halves, mixture (default; guided by the mixture: a dataset target's "
        "track mixture, else the drawn signal itself) or learned:PATH",
    )
    add_dataset_arguments(parser)
    parser.set_defaults(handler=_spectrogram)


def _read_file(path: str) -> tuple[np.ndarray, int]:
    from sliceq22.data.audio import AUDIO_EXTENSIONS, probe_file, probe_streams

    if Path(path).suffix.lower() in AUDIO_EXTENSIONS:
        part: Any = probe_file(path)
    else:
        part = probe_streams(path)[0]
    audio = part.read()
    # Evaluation refuses such a file (data.plan); a drawing of it would be one flat colour.
    if not np.isfinite(audio).all():
        raise DatasetError(f"{path}: holds non-finite samples (NaN or infinity)")
    return audio, int(part.rate)


def _dataset_signal(args: argparse.Namespace) -> tuple[np.ndarray, int, str, np.ndarray | None]:
    """The drawn signal, its rate, what it is, and its track's mixture (``None`` if it is one)."""
    from sliceq22.data import load_tracks

    override: dict[str, Any] = {}
    if args.start is not None:
        if args.offset is not None and args.offset != args.start:
            raise ParameterError(
                f"--start {args.start} and --offset {args.offset} disagree; give one"
            )
        override["offset"] = args.start
    if args.track and len(args.track) > 1:
        raise ParameterError(
            f"draw one track at a time (got --track {' --track '.join(args.track)})"
        )
    spec = spec_from_args(args, **override)
    if not args.track:
        spec = dataclasses.replace(spec, max_tracks=1)
    tracks = load_tracks(spec)
    if not tracks:
        raise DatasetError(f"no track found in {spec.describe()}")
    track = tracks[0]
    mixture = track.mixture("sum")
    audio = mixture if args.target == "mixture" else track.targets[args.target]
    start = track.offset / track.rate
    what = f"{args.target} of {track.name} from {start:.2f} s"
    return audio, track.rate, what, None if args.target == "mixture" else mixture


def _check_ola(args: argparse.Namespace, transform: Any) -> Any:
    """The de-overlap ``--ola`` draws with, or ``None``; refused in one line before any audio."""
    from sliceq22.deoverlap import make_deoverlap
    from sliceq22.deoverlap.pieces import sliced

    if not args.ola:
        if args.deoverlap is not None:
            raise ParameterError(
                f"--deoverlap {args.deoverlap} needs --ola (it splits the OLA view back)"
            )
        return None
    sliced(transform, "--ola")
    return make_deoverlap(args.deoverlap or "mixture", transform)


def _spectrogram(args: argparse.Namespace) -> int:
    from sliceq22.cli.evaluate import parse_params
    from sliceq22.cli.outpath import check_output_file
    from sliceq22.report.spectrogram import compute_views, excerpt, views_figure
    from sliceq22.transforms import make_transform

    out = Path(args.output)
    kind = out.suffix.lower()
    if kind not in (".html", ".htm", ".png"):
        raise Sliceq22Error(f"{out}: output must end in .html or .png")
    check_output_file(out)
    for name in ("columns", "rows"):
        if getattr(args, name) < 8:
            raise ParameterError(f"--{name} {getattr(args, name)} must be at least 8")
    params = parse_params(args.param)
    # Validate the transform (and --ola) before any audio is read (the rate is checked below).
    first = make_transform(args.transform, params)
    type(first).check_relevant(params)
    method = _check_ola(args, first)
    mixture = None
    if args.audio is not None:
        audio, rate = _read_file(args.audio)
        audio, start = excerpt(audio, rate, args.start or 0.0, args.duration)
        what = f"{Path(args.audio).name} from {start:.2f} s"
    else:
        audio, rate, what, mixture = _dataset_signal(args)
    transform = make_transform(args.transform, params, rate=rate)
    seconds = audio.shape[-1] / rate
    setting = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
    channel = "channels averaged" if args.channel is None else f"channel {args.channel}"
    title = f"{args.transform} ({setting}): {what}, {seconds:.2f} s, {channel}"
    if method is None:
        views = compute_views(
            transform, audio, channel=args.channel, columns=args.columns, rows=args.rows
        )
    else:
        from sliceq22.report.spectrogram_ola import ola_views

        drawn = ola_views(
            transform,
            audio,
            method,
            mixture=mixture,
            channel=args.channel,
            columns=args.columns,
            rows=args.rows,
        )
        views, title = drawn.views, f"{title}; {drawn.describe()}"
    fig = views_figure(views, title)
    if kind == ".png":
        _write_png(fig, out, width=max(900, args.columns + 200))
    else:
        try:
            fig.write_html(
                out, include_plotlyjs=True, full_html=True, config={"displaylogo": False}
            )
        except OSError as exc:
            raise Sliceq22Error(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"wrote {out}")
    return 0


def _write_png(fig: Any, out: Path, *, width: int) -> None:
    """Static image through kaleido (1.x drives a Chrome/Chromium; Debian's ``chromium`` works)."""
    try:
        import kaleido  # noqa: F401 - only to give a clear message when it is missing
    except ImportError:
        raise Sliceq22Error(
            "PNG output needs the kaleido package (pip install 'kaleido>=1'), which drives a local "
            "Chrome/Chromium (Debian: apt-get install chromium); write an .html file instead"
        ) from None
    try:
        fig.write_image(out, format="png", width=width, height=fig.layout.height, scale=1)
    except Exception as exc:  # kaleido reports a missing browser or a crashed one as various errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Sliceq22Error(
            f"PNG export failed ({first}): kaleido needs a Chrome/Chromium it can start "
            "(Debian: apt-get install chromium; or set BROWSER_PATH); write an .html file instead"
        ) from None
