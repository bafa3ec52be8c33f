"""``sliceq22 evaluate``: score one transform setting on tracks with an objective.

Examples
--------
::

    sliceq22 evaluate --dataset example --transform stft --param n_fft=4096 --param hop=1024
    sliceq22 evaluate --transform nsgcq --param minFrequency=65.41 --metric sdr-bss --json
    sliceq22 evaluate --dataset musdb --root ~/MUSDB18-HQ --is-wav --subset train --split valid
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from sliceq22 import TARGETS
from sliceq22.cli.dataset_args import add_dataset_arguments, spec_from_args
from sliceq22.errors import ParameterError

if TYPE_CHECKING:
    from sliceq22.data.load import Prepared
    from sliceq22.data.spec import DatasetSpec
    from sliceq22.oracles.base import Objective, Progress, TrackResult
    from sliceq22.transforms.base import Transform


def _one_line_error(message: str) -> NoReturn:
    """argparse's error without the usage block: one line, exit status 2."""
    print(f"sliceq22: error: evaluate: {message}", file=sys.stderr)
    sys.exit(2)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` sub-command."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score one transform setting on tracks (MPI oracle, SDR per target)",
        description="Evaluate one transform setting with an objective (default: the "
        "mixture-phase oracle scored by global SDR) and print a score per target and "
        "track, the aggregate over tracks and where the time went.",
    )
    add_dataset_arguments(parser)  # shared with the data commands
    tf = parser.add_argument_group("transform")
    tf.add_argument(
        "--transform",
        default="stft",
        metavar="FAMILY",
        help="transform family: stft (default), nsgcq, slicqt",
    )
    tf.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="transform parameter (repeatable), e.g. --param n_fft=4096",
    )

    obj = parser.add_argument_group("objective")
    obj.add_argument(
        "--objective",
        default="mpi",
        help="mpi (default), ibm, irm, wiener, mwf, renyi, hoyer, tonal-ridge or contrast",
    )
    obj.add_argument("--metric", help="sdr-global (default) or sdr-bss (museval v4 median)")
    obj.add_argument("--mixture", help="sum of the targets (default) or recorded")
    obj.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="objective option (repeatable), e.g. --objective renyi --option alpha=2 "
        "--option fmax=16000",
    )
    obj.add_argument(
        "--aggregate",
        default="median",
        metavar="HOW",
        help="aggregate over tracks: median (default) or mean",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--progress",
        action="store_true",
        help="progress bar on stderr even when stderr is not a terminal "
        "(on a terminal it is shown anyway, unless SLICEQ22_NO_PROGRESS=1)",
    )
    parser.set_defaults(handler=run)
    parser.error = _one_line_error


def parse_params(items: Sequence[str]) -> dict[str, str]:
    """``["n_fft=4096", ...]`` -> ``{"n_fft": "4096"}``; raise :class:`ParameterError` on bad
    syntax."""
    params: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ParameterError(f"--param {item!r}: expected NAME=VALUE, e.g. n_fft=4096")
        if name in params:
            raise ParameterError(f"--param {name!r} given twice ({params[name]!r} and {value!r})")
        params[name] = value
    return params


def objective_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--metric``, ``--mixture`` and ``--option NAME=VALUE`` as typed objective options.

    Values read as int, float or true/false where they parse, else as strings.
    """
    options: dict[str, Any] = {}
    if args.metric is not None:
        options["metric"] = args.metric
    if args.mixture is not None:
        options["mixture"] = args.mixture
    for name, text in parse_params(args.option).items():
        if name in options:
            raise ParameterError(f"--option {name!r} repeats --{name}")
        value: Any = text
        for kind in (int, float):
            try:
                value = kind(text)
                break
            except ValueError:
                continue
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        options[name] = value
    return options


def _fmt(value: float, width: int = 7, digits: int = 2) -> str:
    return f"{'—':>{width}}" if not math.isfinite(value) else f"{value:{width}.{digits}f}"


_PHASES = ("forward", "inverse", "metric")


def _row(
    name: str,
    scores: dict[str, float],
    timing: dict[str, float] | None,
    width: int,
    digits: int = 2,
) -> str:
    cells = " ".join(_fmt(scores[t], 7, digits) for t in TARGETS)
    times = (
        ""
        if timing is None
        else "  " + " ".join(_fmt(timing.get(p, math.nan), 9, 3) for p in _PHASES)
    )
    return f"{name:<{width}} {cells}{times}"


def show_progress(args: argparse.Namespace) -> bool:
    """``--progress``, or stderr is a terminal and ``SLICEQ22_NO_PROGRESS`` is not ``1``."""
    if args.progress:
        return True
    return sys.stderr.isatty() and os.environ.get("SLICEQ22_NO_PROGRESS") != "1"


class _TrackBar:
    """A tqdm bar on stderr over the tracks, moved within a track by the objective's progress.

    Never writes to stdout, so ``--json`` output stays one clean document.
    """

    def __init__(self, names: Sequence[str], enabled: bool) -> None:
        self.bar = None
        self.done = 0
        if not enabled:
            return
        from tqdm import tqdm

        self.bar = tqdm(
            total=len(names),
            unit="track",
            file=sys.stderr,
            dynamic_ncols=True,
            leave=False,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}]",
        )

    def start(self, index: int, name: str) -> None:
        """Track ``index`` (0-based) begins."""
        if self.bar is not None:
            self.done = index
            self.bar.set_description_str(name[:40], refresh=False)
            self._move(0.0)

    def __call__(self, progress: Progress) -> None:
        """Progress within the current track (the objective's :class:`Progress`)."""
        if self.bar is not None:
            self._move(progress.fraction)

    def _move(self, fraction: float) -> None:
        assert self.bar is not None
        self.bar.n = self.done + fraction
        self.bar.set_postfix_str(
            f"track {self.done + 1}/{self.bar.total} {fraction:.0%}", refresh=False
        )
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class _Evaluation:
    """What ``evaluate`` scores with, checked before any audio is read.

    Attributes
    ----------
    transform : Transform
        The setting, at the dataset's sample rate.
    objective : Objective
        The objective with its options.
    spec : DatasetSpec
        The dataset the command line names.
    prepared : Prepared
        The dataset's checked track plans.
    recorded_mixture : bool
        The objective wants each track's recorded mixture (``--mixture recorded``).
    """

    transform: Transform
    objective: Objective
    spec: DatasetSpec
    prepared: Prepared
    recorded_mixture: bool

    @property
    def names(self) -> list[str]:
        """The track names, in load order."""
        return [plan.name for plan in self.prepared.plans]


def _prepare_evaluation(args: argparse.Namespace) -> _Evaluation:
    """Check everything that can be checked without audio, cheapest first.

    Raises
    ------
    Sliceq22Error
        An unknown or irrelevant parameter, an infeasible setting, a bad
        objective option or aggregate, or a dataset that cannot be loaded or scored.
    """
    from sliceq22.data.load import prepare
    from sliceq22.oracles import aggregate, get_objective, require_feasible
    from sliceq22.oracles.base import require_scorable
    from sliceq22.transforms import make_transform

    params = parse_params(args.param)
    transform = make_transform(args.transform, params)
    type(transform).check_relevant(params)  # no parameter ignored without a word
    options = objective_options(args)
    objective = get_objective(args.objective, **options)
    objective.check_transform(transform)  # e.g. mpi's OLA view needs slices
    aggregate([], args.aggregate)  # validates the name
    spec = spec_from_args(args)
    require_feasible(transform)

    prepared = prepare(spec)  # refuses a bad dataset before any audio is read
    if prepared.rate != transform.rate:  # the same setting at the dataset's rate
        transform = make_transform(args.transform, params, rate=prepared.rate)
        require_feasible(transform)
    require_scorable(prepared, spec)  # before any audio is read
    recorded = options.get("mixture") == "recorded"
    return _Evaluation(transform, objective, spec, prepared, recorded)


def _print_header(ev: _Evaluation, width: int) -> None:
    """The line naming objective, setting and dataset, then the column heads."""
    objective, transform = ev.objective, ev.transform
    print(
        f"{objective.name} ({', '.join(f'{k}={v}' for k, v in objective.options.items())}) · "
        f"{transform.family} {' '.join(f'{k}={v}' for k, v in transform.params.items())} · "
        f"{ev.spec.describe()}, {len(ev.names)} track(s)",
        flush=True,
    )
    print(
        f"{'track':<{width}} "
        + " ".join(f"{t:>7}" for t in TARGETS)
        + "  "
        + " ".join(f"{p + ' s':>9}" for p in _PHASES),
        flush=True,
    )


def _score_tracks(
    ev: _Evaluation, args: argparse.Namespace, width: int, digits: int
) -> tuple[list[TrackResult], list[dict[str, Any]], int]:
    """Score every track, one in memory at a time, printing a row per track (not with ``--json``).

    Returns
    -------
    results : list of TrackResult
        One per track, in load order.
    entries : list of dict
        The tracks' fingerprint entries (:func:`~sliceq22.data.load.track_entry`).
    length : int
        Samples of the first track (0 without tracks).
    """
    from sliceq22.data.load import iter_tracks, track_entry

    results = []
    entries = []
    length = 0
    bar = _TrackBar(ev.names, show_progress(args))
    # One track in memory at a time; the recorded mixture is read only if used.
    tracks = iter_tracks(ev.prepared, ev.spec, with_mixture=ev.recorded_mixture)
    try:
        for index, track in enumerate(tracks):
            bar.start(index, track.name)
            entries.append(track_entry(track))
            length = length or track.length
            result = ev.objective.evaluate_track(ev.transform, track, progress=bar)
            del track
            results.append(result)
            if not args.json:
                if bar.bar is not None:
                    bar.bar.clear()
                print(_row(result.track, result.scores, result.timing, width, digits), flush=True)
    finally:
        bar.close()
    return results, entries, length


def _total_timing(results: Sequence[TrackResult]) -> dict[str, float]:
    """Seconds per phase summed over the tracks."""
    timing: dict[str, float] = {}
    for result in results:
        for phase, seconds in result.timing.items():
            timing[phase] = timing.get(phase, 0.0) + seconds
    return timing


def _json_document(
    ev: _Evaluation,
    args: argparse.Namespace,
    results: Sequence[TrackResult],
    entries: Sequence[dict[str, Any]],
    length: int,
) -> dict[str, Any]:
    """The ``--json`` document: aggregate and per-track scores, setting, dataset, timing."""
    from sliceq22.data.load import fingerprint_of
    from sliceq22.oracles import aggregate, aggregate_results

    scores = aggregate_results(results, args.aggregate)
    transform = ev.transform
    return {
        "scores": scores,
        "aggregate": args.aggregate,
        "mean_over_targets": aggregate(scores.values(), "mean"),
        "objective": ev.objective.describe(),
        "transform": transform.describe(length)
        if length
        else {"family": transform.family, "params": transform.params},
        "dataset": ev.spec.to_mapping(),
        "timing": _total_timing(results),
        # A null score says why (scores are null only where no track could score the target).
        "unscored": {
            t: "silent in every track"
            if all(t in r.excluded for r in results)
            else "no finite score on any track"
            for t, v in scores.items()
            if not math.isfinite(v)
        },
        "fingerprint": fingerprint_of(entries),
        "tracks": [r.to_dict() for r in results],
    }


def _print_totals(
    args: argparse.Namespace, results: Sequence[TrackResult], width: int, digits: int, unit: str
) -> None:
    """The aggregate row, the mean over targets, total times and the excluded targets."""
    from sliceq22.oracles import aggregate, aggregate_results

    scores = aggregate_results(results, args.aggregate)
    overall = aggregate(scores.values(), "mean")
    timing = _total_timing(results)
    excluded = sorted({t for r in results for t in r.excluded}, key=TARGETS.index)
    print(_row(f"{args.aggregate} over tracks", scores, None, width, digits))
    print(
        f"mean over targets: {_fmt(overall, 0, digits)}{unit}"
        f"   total time: forward {timing.get('forward', 0):.3f} s, "
        f"inverse {timing.get('inverse', 0):.3f} s, metric {timing.get('metric', 0):.3f} s"
    )
    if excluded:
        print(f"excluded (silent in some tracks, not aggregated there): {', '.join(excluded)}")


def run(args: argparse.Namespace) -> int:
    """Handler of ``sliceq22 evaluate``."""
    ev = _prepare_evaluation(args)
    width = max([24] + [len(n) for n in ev.names])
    # SDRs in dB with 2 decimals; the ridge objectives' bits and ratios need 3
    unit = " " + ev.objective.unit
    digits = 2 if unit == " dB" else 3
    if not args.json:
        _print_header(ev, width)
    results, entries, length = _score_tracks(ev, args, width, digits)
    if results and all(set(r.excluded) >= set(TARGETS) for r in results):
        from sliceq22.errors import DatasetError

        raise DatasetError(
            f"every target is silent in every track of {ev.spec.describe()}: nothing "
            "can be scored; check the dataset (sliceq22 data info)"
        )
    if args.json:
        from sliceq22.jsonsafe import json_safe

        document = _json_document(ev, args, results, entries, length)
        json.dump(json_safe(document), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    _print_totals(args, results, width, digits, unit)
    return 0
