"""De-overlap of the OLA view: the learned model beside ``halves`` and ``mixture``.

Tracks are synthesized from the bundled example (``synth.tiled_track``: stems
tiled with a seeded gain per repeat). To keep training and held-out tracks
apart, training tracks are cut from the first 60 % of the example's stems and
held-out tracks from the last 40 %. One model per family is trained on one
setting (bark-262; the seed's framewise NSGCQ) and scored on it and on two
settings it never saw. Per setting it prints the model's parameters and
training time, the self-reconstruction SNR per target on the held-out tracks
(own phase; median over tracks) for ``learned``, ``halves`` and ``mixture``,
and the MPI-through-OLA cost (plain MPI minus MPI through the view, dB, per
target, median over tracks) of ``learned`` and ``mixture``.

Usage: ``.venv/bin/python benchmarks/deoverlap.py [--seconds 4] [--train 3] [--test 2]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sliceq22 import TARGETS
from sliceq22.data.track import Track
from sliceq22.deoverlap.methods import Halves, Learned, Mixture
from sliceq22.deoverlap.mpi_ola import stream_mpi_ola
from sliceq22.deoverlap.training import fit, self_reconstruction
from sliceq22.oracles.mpi import TrackSignals
from sliceq22.transforms import make_transform, presets
from synth import example_stems, tiled_track

SEED_FRAMEWISE = dict(presets.NSGCQ_SEED_FRAMEWISE)
#: family -> (label, params) trained on, then settings it never saw.
PLAN = {
    "slicqt": [
        ("bark-262", {}),
        ("cqlog-48 24576/4096", {"scale": "cqlog", "bins": 48, "fmin": 80.0, "sllen": 24576,
                                 "trlen": 4096}),
        ("mel-116 matrix 12288/2048", {"scale": "mel", "bins": 116, "fmin": 20.0,
                                       "sllen": 12288, "trlen": 2048, "rasterize": "full"}),
    ],
    "nsgcq": [
        ("framewise seed", SEED_FRAMEWISE),
        ("framewise 16384/2048 24bpo", {**SEED_FRAMEWISE, "frameSize": 16384,
                                        "transitionSize": 2048, "binsPerOctave": 24,
                                        "minFrequency": 32.7, "maxFrequency": 16000.0}),
        ("framewise 8192/2048 96bpo", {**SEED_FRAMEWISE, "transitionSize": 2048,
                                       "binsPerOctave": 96, "minFrequency": 100.0}),
    ],
}  # fmt: skip


def tracks(stems: np.ndarray, part: slice, count: int, seconds: float, seed: int) -> list[Track]:
    """``count`` tracks of ``seconds`` tiled from the stems' stretch ``part``."""
    out = []
    for k in range(count):
        pcm = tiled_track(stems[..., part], round(seconds * 44100), seed + k)
        audio = pcm.astype(np.float32) / 32768
        out.append(Track(f"synth-{seed + k}", 44100, dict(zip(TARGETS, audio)), source="bench"))
    return out


def ola_cost(transform, track: Track, method) -> dict[str, float]:
    """Plain MPI minus MPI through the view, per target (dB)."""
    signal, error = np.zeros(8), np.zeros(8)
    for first, audio in stream_mpi_ola(transform, TrackSignals(track), method):
        truth = np.tile(track.read_targets(first, first + audio.shape[-1]), (2, 1, 1))
        signal += np.sum(truth.astype(np.float64) ** 2, axis=(1, 2))
        error += np.sum((truth - audio) ** 2, axis=(1, 2))
    sdr = 10 * np.log10(signal / error)
    return {t: float(sdr[4 + i] - sdr[i]) for i, t in enumerate(TARGETS)}


def median_over(rows: list[dict[str, float]]) -> dict[str, float]:
    return {t: float(np.median([r[t] for r in rows])) for t in TARGETS}


def cells(values: dict[str, float]) -> str:
    return (
        " ".join(f"{values[t]:6.2f}" for t in TARGETS)
        + f" | {np.median(list(values.values())):6.2f}"
    )


def split_from_arguments(description: str) -> tuple[argparse.Namespace, list[Track], list[Track]]:
    """``--seconds/--train/--test`` parsed, and the training and held-out tracks they ask for.

    Training tracks are cut from the first 60 % of the example's stems, held-out
    tracks from the last 40 %.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--train", type=int, default=3)
    parser.add_argument("--test", type=int, default=2)
    args = parser.parse_args()
    stems, _ = example_stems()
    cut = int(0.6 * stems.shape[-1])
    train = tracks(stems, slice(0, cut), args.train, args.seconds, 100)
    test = tracks(stems, slice(cut, None), args.test, args.seconds, 200)
    return args, train, test


def main() -> None:
    args, train, test = split_from_arguments(__doc__.splitlines()[0])
    print(f"{args.train} training / {args.test} held-out tracks of {args.seconds:g} s")
    print(f"{'setting / method':<34} {'d':>6} {'b':>6} {'o':>6} {'v':>6} | median")
    for family, settings in PLAN.items():
        trained = make_transform(family, settings[0][1])
        start = time.process_time()
        model, _ = fit([trained], train)
        seconds = time.process_time() - start
        print(f"{family} model: {model.parameters} parameters, trained on {settings[0][0]} "
              f"in {seconds:.1f} s CPU ({model.training['rows']} positions)")  # fmt: skip
        for label, params in settings:
            transform = make_transform(family, params)
            methods = [Learned(model), Halves(), Mixture()]
            per_track = [self_reconstruction(transform, t, methods) for t in test]
            print(f"  {label}  (self-reconstruction SNR, dB)")
            for method in methods:
                values = median_over([r[method.name] for r in per_track])
                print(f"    {method.name:<30} {cells(values)}")
            for method in (methods[0], methods[2]):
                cost = median_over([ola_cost(transform, t, method) for t in test])
                print(f"    MPI cost via {method.name:<17} {cells(cost)}")


if __name__ == "__main__":
    main()
