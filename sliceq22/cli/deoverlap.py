"""``sliceq22 deoverlap train|evaluate``: fit and score the learned de-overlap on tracks.

Examples
--------
::

    sliceq22 deoverlap train --dataset folder --root ~/stems --transform slicqt -o bark.json
    sliceq22 deoverlap train --transform slicqt --setting bins=200,sllen=16384,trlen=4096 -o m.json
    sliceq22 deoverlap evaluate --model bark.json --dataset folder --root ~/other-stems
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from sliceq22 import TARGETS
from sliceq22.cli.dataset_args import add_dataset_arguments, spec_from_args
from sliceq22.cli.evaluate import parse_params, show_progress
from sliceq22.errors import ParameterError

if TYPE_CHECKING:
    from sliceq22.data.load import Prepared
    from sliceq22.data.spec import DatasetSpec
    from sliceq22.transforms.base import Transform

#: Methods ``evaluate`` scores beside the model.
BASELINES: tuple[str, ...] = ("halves", "mixture")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``deoverlap`` with its ``train`` and ``evaluate`` sub-commands."""
    parser = subparsers.add_parser(
        "deoverlap",
        help="train and score the learned de-overlap of the OLA view (sliced transforms)",
        description="Fit the learned de-overlap (a share model linear in its parameters, "
        "least squares) on tracks, or score de-overlaps by self-reconstruction SNR.",
    )
    sub = parser.add_subparsers(dest="deoverlap_command", metavar="ACTION", required=True)
    train = sub.add_parser("train", help="fit a model on tracks, split by track")
    _common(train)
    train.add_argument("-o", "--output", required=True, metavar="MODEL.json", help="model file")
    train.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="K=V,K=V",
        help="another setting of the same family to train on (repeatable; over --param)",
    )
    train.add_argument("--test-fraction", type=float, default=0.25, help="tracks held out")
    train.add_argument("--split-seed", type=int, default=0, help="seed of the track split")
    train.add_argument("--ridge", type=float, default=1e-6, help="relative ridge of the fit")
    train.set_defaults(handler=run_train)
    evaluate = sub.add_parser("evaluate", help="self-reconstruction SNR per target on tracks")
    _common(evaluate)
    evaluate.add_argument("--model", metavar="MODEL.json", help="learned model to score")
    evaluate.add_argument(
        "--include-training",
        action="store_true",
        help="also score the tracks the model was trained on",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON document")
    evaluate.set_defaults(handler=run_evaluate)


def _common(parser: argparse.ArgumentParser) -> None:
    add_dataset_arguments(parser)
    parser.add_argument("--transform", default="slicqt", metavar="FAMILY", help="slicqt or nsgcq")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="transform parameter"
    )
    parser.add_argument("--progress", action="store_true", help="progress on stderr")


def _transform(family: str, params: dict[str, Any], rate: int) -> Transform:
    from sliceq22.deoverlap.pieces import sliced
    from sliceq22.oracles import require_feasible
    from sliceq22.transforms import make_transform

    transform = make_transform(family, params, rate=rate)
    type(transform).check_relevant(params)
    sliced(transform, "a de-overlap")
    require_feasible(transform)
    return transform


def _settings(args: argparse.Namespace, rate: int) -> list[Transform]:
    base = parse_params(args.param)
    out = [_transform(args.transform, base, rate)]
    for text in getattr(args, "setting", []):
        extra = parse_params([item for item in text.split(",") if item.strip()])
        out.append(_transform(args.transform, {**base, **extra}, rate))
    return out


def _prepare(args: argparse.Namespace) -> tuple[DatasetSpec, Prepared, list[Transform]]:
    from sliceq22.data.load import prepare

    spec = spec_from_args(args)
    settings = _settings(args, 44100)  # refuse bad settings before any audio
    prepared = prepare(spec)
    if prepared.rate != 44100:
        settings = _settings(args, prepared.rate)
    return spec, prepared, settings


def _say(args: argparse.Namespace, text: str) -> None:
    if show_progress(args):
        print(text, file=sys.stderr, flush=True)


def run_train(args: argparse.Namespace) -> int:
    """Fit on the training tracks, score held-out tracks, write the model file last."""
    from sliceq22.cli.outpath import check_output_file
    from sliceq22.data.load import Prepared, iter_tracks
    from sliceq22.deoverlap.methods import Learned, make_deoverlap
    from sliceq22.deoverlap.training import fit, self_reconstruction, split_by_track

    output = check_output_file(args.output)
    spec, prepared, settings = _prepare(args)
    names = [plan.name for plan in prepared.plans]
    train, test = split_by_track(names, args.test_fraction, args.split_seed)
    _say(args, f"deoverlap train: {len(train)} training, {len(test)} held-out tracks")
    chosen = Prepared([p for p in prepared.plans if p.name in train], prepared.rate)

    def on_track(name: str) -> None:
        _say(args, f"  training on {name}")

    model, _ = fit(
        settings, iter_tracks(chosen, spec, with_mixture=False), ridge=args.ridge, on_track=on_track
    )
    model.training.update(held_out=test, split_seed=args.split_seed, dataset=spec.describe())
    held: dict[str, Any] = {}
    if test:
        methods = [Learned(model), *(make_deoverlap(m) for m in BASELINES)]
        rest = Prepared([p for p in prepared.plans if p.name in test], prepared.rate)
        for track in iter_tracks(rest, spec, with_mixture=False):
            _say(args, f"  scoring held-out {track.name}")
            held[track.name] = self_reconstruction(settings[0], track, methods)
    model.training["held_out_snr_db"] = held
    model.save(output)
    print(
        f"wrote {output}: {model.parameters} parameters, {model.training['rows']} positions, "
        f"{model.training['seconds']:.1f} s, {len(train)} training / {len(test)} held-out tracks"
    )
    for name, scores in held.items():
        for method, values in scores.items():
            print(_row(f"{name[:28]} {method}", values))
    return 0


def _row(label: str, values: dict[str, float]) -> str:
    cells = " ".join(f"{values[t]:7.2f}" for t in TARGETS)
    return f"{label:<44} {cells}"


def run_evaluate(args: argparse.Namespace) -> int:
    """Self-reconstruction SNR of ``halves``, ``mixture`` and the model (if given) per track."""
    from sliceq22.data.load import Prepared, iter_tracks
    from sliceq22.deoverlap.methods import make_deoverlap
    from sliceq22.deoverlap.training import self_reconstruction

    spec, prepared, settings = _prepare(args)
    transform = settings[0]
    methods = [make_deoverlap(m, transform) for m in BASELINES]
    trained: set[str] = set()
    if args.model:
        learned = make_deoverlap(f"learned:{args.model}", transform)
        methods.append(learned)
        trained = set(getattr(learned, "model").training.get("tracks", []))
    plans = [p for p in prepared.plans if args.include_training or p.name not in trained]
    if not plans:
        raise ParameterError("every track was used to train the model; pass --include-training")
    results: dict[str, Any] = {}
    for track in iter_tracks(Prepared(plans, prepared.rate), spec, with_mixture=False):
        _say(args, f"deoverlap evaluate: {track.name}")
        results[track.name] = self_reconstruction(transform, track, methods)
    if args.json:
        from sliceq22.jsonsafe import json_safe

        document = {"transform": transform.family, "params": dict(transform.params)}
        print(json.dumps(json_safe({**document, "tracks": results}), allow_nan=False))
        return 0
    print(f"{'track method':<44} " + " ".join(f"{t:>7}" for t in TARGETS))
    for track_name, scores in results.items():
        for method, values in scores.items():
            print(_row(f"{track_name[:28]} {method}", values))
    return 0
