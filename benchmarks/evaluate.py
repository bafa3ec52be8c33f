"""Where one candidate's evaluation spends its time, against the bare library calls.

Run: ``.venv/bin/python benchmarks/evaluate.py [--repeat 3] [--no-museval]``

1. Per candidate (STFT 4096/1024, NSGCQ full-signal, NSGCQ framewise at the
   seed's settings) on the bundled example: the MPI objective's phases through
   the project's API — forward (mixture + 4 targets, one batched call),
   estimate (the elementwise oracle), inverse (4 estimates, one call), metric
   (global SDR) — next to the bare library calls doing the same transforms in
   the same run: Essentia ``NSGConstantQ``/``NSGIConstantQ`` called directly per
   channel (framewise: ``essentia.pytools.spectral.nsgcqgram``/``nsgicqgram``,
   the reference slicing), scipy ``stft``/``istft`` for the STFT. Each bare
   forward builds its algorithm once per candidate, as any candidate must.
   Prints the overhead (project forward+inverse over bare forward+inverse;
   target ≤ 50 %).
2. ``sdr-bss`` (numpy) against ``museval.evaluate(win=hop=44100)`` on the four
   MPI estimates of the STFT: both times and the speed-up (target ≥ 500×).

Threads are pinned to 1 (numpy/BLAS/FFT) so the numbers compare like for like.
Times are medians over ``--repeat`` fresh transforms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np

from sliceq22.data import example_tracks
from sliceq22.data.track import Track
from sliceq22.errors import Sliceq22Error
from sliceq22.oracles import get_objective
from sliceq22.oracles.metrics import sdr_bss
from sliceq22.oracles.mpi import mpi_estimates
from sliceq22.transforms import make_transform
from sliceq22.transforms.base import Transform

SEED_NSGCQ = {"minFrequency": 65.41, "maxFrequency": 6000.0, "binsPerOctave": 48}
CANDIDATES: dict[str, tuple[str, dict]] = {
    "stft 4096/1024": ("stft", {"n_fft": 4096, "hop": 1024}),
    "nsgcq full": ("nsgcq", {**SEED_NSGCQ, "rasterize": "full"}),
    # minimumWindow 8: what Essentia's framewise reference (pytools) hard-codes.
    "nsgcq framewise": (
        "nsgcq",
        {
            **SEED_NSGCQ,
            "mode": "framewise",
            "frameSize": 8192,
            "transitionSize": 1024,
            "minimumWindow": 8,
        },
    ),
}
#: Project parameters that are not Essentia NSGConstantQ parameters.
SLICING = ("frameSize", "transitionSize")


def timed(call: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


# ---------------------------------------------------------------- bare references
def bare_stft(signals: np.ndarray, targets: int, params: dict) -> tuple[float, float]:
    """scipy.signal.stft of all signals (batched), istft of ``targets`` of them."""
    import scipy.signal

    options = {
        "window": "hann",
        "nperseg": params["n_fft"],
        "noverlap": params["n_fft"] - params["hop"],
    }
    t_forward, (_, _, spectra) = timed(lambda: scipy.signal.stft(signals, **options))
    t_inverse, _ = timed(lambda: scipy.signal.istft(spectra[1 : 1 + targets], **options))
    return t_forward, t_inverse


def _essentia_params(transform: Transform) -> dict:
    import essentia.standard as es

    accepted = set(es.NSGConstantQ().parameterNames())
    params = {k: v for k, v in transform.params.items() if k in accepted and k not in SLICING}
    params["sampleRate"] = float(transform.rate)
    return params


def bare_nsgcq_full(signals: np.ndarray, targets: int, transform: Transform) -> tuple[float, float]:
    """Essentia NSGConstantQ per channel of every signal, NSGIConstantQ per channel of
    ``targets``."""
    import essentia.standard as es

    params = _essentia_params(transform)
    length = signals.shape[-1]
    channels = [np.ascontiguousarray(x, dtype=np.float32) for x in signals.reshape(-1, length)]
    n_inverse = targets * signals.shape[1]

    def forward():
        algorithm = es.NSGConstantQ(inputSize=length, **params)
        return [algorithm(x) for x in channels]

    def inverse(coefficients):
        algorithm = es.NSGIConstantQ(inputSize=length, **params)
        # Straight back in: with rasterize='none' the forward's lists of lists are
        # exactly what NSGIConstantQ accepts.
        return [algorithm(cq, dc, nf) for cq, dc, nf in coefficients]

    t_forward, coefficients = timed(forward)
    t_inverse, _ = timed(
        lambda: inverse(coefficients[signals.shape[1] : signals.shape[1] + n_inverse])
    )
    return t_forward, t_inverse


def bare_nsgcq_framewise(
    signals: np.ndarray, targets: int, transform: Transform
) -> tuple[float, float]:
    """Essentia's own framewise reference (``nsgcqgram``/``nsgicqgram``) per channel."""
    from essentia.pytools.spectral import nsgcqgram, nsgicqgram

    params = _essentia_params(transform)
    params.pop("minimumWindow", None)  # the pytools fix it at 8
    params.pop("windowSizeFactor", None)
    frame = {k: transform.params[k] for k in SLICING}
    length = signals.shape[-1]
    channels = [np.ascontiguousarray(x, dtype=np.float32) for x in signals.reshape(-1, length)]
    n_inverse = targets * signals.shape[1]
    t_forward, coefficients = timed(lambda: [nsgcqgram(x, **frame, **params) for x in channels])
    chosen = coefficients[signals.shape[1] : signals.shape[1] + n_inverse]
    t_inverse, _ = timed(
        lambda: [nsgicqgram(cq, dc, nf, **frame, **params) for cq, dc, nf in chosen]
    )
    return t_forward, t_inverse


def bare_calls(name: str, transform: Transform, signals: np.ndarray) -> tuple[float, float]:
    if transform.family == "stft":
        return bare_stft(signals, 4, transform.params)
    if transform.params.get("mode") == "framewise":
        return bare_nsgcq_framewise(signals, 4, transform)
    return bare_nsgcq_full(signals, 4, transform)


# ---------------------------------------------------------------- the benchmark
def candidate_times(name: str, family: str, params: dict, track: Track, repeat: int) -> dict | None:
    try:
        make_transform(family, params)
    except (ImportError, Sliceq22Error) as exc:  # a missing family is reported, not fatal
        print(f"{name:<18} unavailable: {type(exc).__name__}: {exc}")
        return None
    verdict = make_transform(family, params).feasibility()
    if not verdict.ok:
        print(f"{name:<18} infeasible: {verdict.reason}")
        return None
    objective = get_objective("mpi")
    signals = np.concatenate([track.mixture("sum")[None], track.stacked()])
    project: dict[str, list[float]] = {}
    bare: dict[str, list[float]] = {"forward": [], "inverse": []}
    for _ in range(repeat):
        transform = make_transform(family, params)  # a fresh candidate; the probe is cached
        transform.feasibility()
        result = objective.evaluate_track(transform, track)
        for phase, seconds in result.timing.items():
            project.setdefault(phase, []).append(seconds)
        t_forward, t_inverse = bare_calls(name, transform, signals)
        bare["forward"].append(t_forward)
        bare["inverse"].append(t_inverse)
    med = {k: statistics.median(v) for k, v in project.items()}
    med.update({f"bare {k}": statistics.median(v) for k, v in bare.items()})
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh transforms per candidate")
    parser.add_argument("--no-museval", action="store_true", help="skip the ~12 s museval run")
    args = parser.parse_args()

    (track,) = example_tracks()
    print(
        f"bundled example: {track.name}, {track.length} samples ({track.duration:.2f} s), "
        f"{track.channels} channels; threads pinned to 1; median of {args.repeat}\n"
    )
    header = (
        f"{'candidate':<18} {'fwd×5':>7} {'est':>7} {'inv×4':>7} {'metric':>7} "
        f"{'total':>7} | {'bare fwd':>8} {'bare inv':>8} | {'overhead':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = {}
    for name, (family, params) in CANDIDATES.items():
        med = candidate_times(name, family, params, track, args.repeat)
        if med is None:
            continue
        rows[name] = med
        ours = med["forward"] + med["inverse"]
        reference = med["bare forward"] + med["bare inverse"]
        print(
            f"{name:<18} {med['forward']:7.3f} {med['estimate']:7.3f} {med['inverse']:7.3f} "
            f"{med['metric']:7.3f} {med['total']:7.3f} | {med['bare forward']:8.3f} "
            f"{med['bare inverse']:8.3f} | {100 * (ours / reference - 1):+7.1f}%",
            flush=True,
        )
    print(
        "(seconds; overhead = project forward+inverse over the bare calls − 1; target ≤ +50 %;"
        " bare stft = scipy.signal.stft/istft)\n"
    )

    # sdr-bss against museval on realistic estimates (the STFT's MPI).
    targets = track.stacked().astype(np.float64)
    estimates = mpi_estimates(
        make_transform("stft", {"n_fft": 4096, "hop": 1024}), targets, track.mixture("sum")
    ).estimates
    sdr_bss(targets, estimates, track.rate)  # warm-up
    ours_times = [timed(lambda: sdr_bss(targets, estimates, track.rate))[0] for _ in range(20)]
    ours = statistics.median(ours_times)
    scores = sdr_bss(targets, estimates, track.rate)
    print(f"sdr-bss (numpy):  {1e3 * ours:8.2f} ms for 4 targets  {np.round(scores, 4).tolist()}")
    if args.no_museval:
        return
    import museval

    t_museval, (sdr, *_rest) = timed(
        lambda: museval.evaluate(
            np.transpose(targets, (0, 2, 1)),
            np.transpose(estimates, (0, 2, 1)),
            win=track.rate,
            hop=track.rate,
        )
    )
    reference = np.nanmedian(sdr, axis=1)
    print(
        f"museval v4:       {1e3 * t_museval:8.0f} ms for 4 targets  "
        f"{np.round(reference, 4).tolist()}"
    )
    print(
        f"speed-up {t_museval / ours:,.0f}× (target ≥ 500×); "
        f"max |difference| {np.max(np.abs(scores - reference)):.2e} dB"
    )


if __name__ == "__main__":
    main()
