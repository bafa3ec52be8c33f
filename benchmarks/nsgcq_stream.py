"""Peak memory and time of nsgcq candidates streamed through an MPI map on long tracks.

Run: ``.venv/bin/python benchmarks/nsgcq_stream.py [--seconds 240]
[--candidates full,framewise,stft,exact]``

The bundled example's four targets (past the AAC priming) are tiled to
``--seconds`` with a deterministic random gain per repeat (seed 0) and held in
memory as float32 ``(4, 2, samples)``, as a track is. Each candidate runs in a
fresh subprocess: ``transform.stream_map`` over five signals (the mixture,
summed on each read, and the four targets; every read returns a fresh copy,
as ``Track.read_targets`` does), the map is the mixture-phase oracle (target
magnitudes with the mixture's phase), and the global SDR sums are accumulated
per stretch of output. Printed per candidate, one JSON line: wall and CPU
seconds of the streaming (imports and the track excluded), peak RSS of the
process (``VmHWM``), the four SDRs and the DFT size (full nsgcq).

Candidates (issue 12): ``full`` nsgcq 32.9–21000 Hz, 48 bins/octave,
rasterize full (``length_policy`` fast, the default); ``exact`` the same
at the exact length; ``framewise`` the seed's setting (65.41–6000 Hz, 48
bins/octave, frames of 8192, transitions of 1024); ``stft`` 4096/1024.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RATE = 44100
PRIMING = 8192
WIDE = {"minFrequency": 32.9, "maxFrequency": 21000.0, "binsPerOctave": 48}
CANDIDATES = {
    "full": ("nsgcq", WIDE),
    "exact": ("nsgcq", {**WIDE, "length_policy": "exact"}),
    "framewise": (
        "nsgcq",
        {"minFrequency": 65.41, "maxFrequency": 6000.0, "binsPerOctave": 48,
         "mode": "framewise", "frameSize": 8192, "transitionSize": 1024},
    ),
    "stft": ("stft", {}),
}  # fmt: skip


def tiled_targets(seconds: int, cache: Path) -> np.ndarray:
    """The example's targets tiled to ``seconds``: float32 ``(4, 2, seconds · rate)``."""
    path = cache / f"targets_{seconds}s.npy"
    if not path.exists():
        import stempeg

        stems, rate = stempeg.read_stems(stempeg.example_stem_path())
        assert rate == RATE
        stems = stems[1:, PRIMING:].astype(np.float32)  # (4, samples, 2)
        n = seconds * RATE
        repeats = -(-n // stems.shape[1])
        gains = np.random.default_rng(0).uniform(0.5, 1.5, (repeats, 4)).astype(np.float32)
        tiles = np.concatenate([stems * g[:, None, None] for g in gains], axis=1)[:, :n]
        np.save(path, np.ascontiguousarray(tiles.transpose(0, 2, 1)))
    return np.load(path)


class TrackSource:
    """Mixture (summed on read) and four targets; every read is a fresh float32 copy."""

    def __init__(self, targets: np.ndarray) -> None:
        self.targets = targets
        self.n_signals, self.channels, self.length = 5, targets.shape[1], targets.shape[2]

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.zeros((5, self.channels, stop - start), dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self.length)
        if hi > lo:
            part = self.targets[:, :, lo:hi]
            out[1:, :, lo - start : hi - start] = part
            out[0, :, lo - start : hi - start] = part.sum(axis=0, dtype=np.float64)
        return out


def mixture_phase(blocks: list[np.ndarray]) -> list[np.ndarray]:
    """Target magnitudes (signals 1–4) with the mixture's phase (signal 0)."""
    out = []
    for block in blocks:
        magnitude = np.abs(block[0])
        out.append(np.abs(block[1:]) * (block[0] / np.where(magnitude > 0, magnitude, 1.0)))
    return out


def run_one(name: str, seconds: int, cache: Path) -> dict:
    """One candidate in this process (called in a fresh subprocess)."""
    from sliceq22.transforms import make_transform

    family, params = CANDIDATES[name]
    targets = tiled_targets(seconds, cache)
    transform = make_transform(family, params)
    wall, cpu = time.perf_counter(), time.process_time()
    signal, error = np.zeros(4), np.zeros(4)
    for start, audio in transform.stream_map(TrackSource(targets), mixture_phase, 4):
        reference = targets[:, :, start : start + audio.shape[-1]].astype(np.float64)
        signal += np.sum(reference**2, axis=(1, 2))
        error += np.sum((reference - audio) ** 2, axis=(1, 2))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    size = transform.dft_size(targets.shape[-1]) if family == "nsgcq" else None
    return {
        "candidate": name,
        "seconds": seconds,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_gb": round(peak_kb / 2**20, 3),
        "sdr_db": [round(v, 5) for v in 10 * np.log10(signal / error)],
        "dft_size": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=240)
    parser.add_argument("--candidates", default="full,framewise,stft")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/sliceq22-nsgcq-stream"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(run_one(args.child, args.seconds, args.cache)))
        return
    tiled_targets(args.seconds, args.cache)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for name in args.candidates.split(","):
        command = [sys.executable, __file__, "--child", name, "--seconds", str(args.seconds),
                   "--cache", str(args.cache)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        print(done.stdout.strip() or done.stderr.strip()[-2000:], flush=True)


if __name__ == "__main__":
    main()
