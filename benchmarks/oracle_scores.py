"""Every oracle's global SDR per target on the bundled example, per transform: the README's table.

The example (edges trimmed, 5.9 s, mixture = sum of the targets), streamed
in the default pieces; printed as a Markdown table (dB; the mean of the four
targets last).

    .venv/bin/python benchmarks/oracle_scores.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from sliceq22 import TARGETS
from sliceq22.data.load import example_tracks
from sliceq22.oracles import evaluate_candidate, get_objective
from sliceq22.transforms import make_transform, presets

BARK = {"scale": "bark", "bins": 262, "fmin": 32.9, "fmax": 22050, "sllen": 18060, "trlen": 4516}
TRANSFORMS: dict[str, tuple[str, dict[str, object]]] = {
    "stft 4096/1024": ("stft", {"n_fft": 4096, "hop": 1024}),
    "stft 2048/1024 (SiSEC)": ("stft", {"n_fft": 2048, "hop": 1024}),
    "sliCQT bark-262 ragged": ("slicqt", BARK),
    "sliCQT bark-262 matrix": ("slicqt", {**BARK, "rasterize": "full"}),
    "NSGCQ framewise (seed)": (
        "nsgcq",
        dict(presets.NSGCQ_SEED_FRAMEWISE),
    ),
}
ORACLES: dict[str, tuple[str, dict[str, object]]] = {
    "mpi": ("mpi", {}),
    "ibm α=1": ("ibm", {"alpha": 1}),
    "ibm α=2": ("ibm", {"alpha": 2}),
    "irm α=1": ("irm", {"alpha": 1}),
    "irm α=2": ("irm", {"alpha": 2}),
    "wiener it=0": ("wiener", {"iterations": 0}),
    "wiener it=1": ("wiener", {"iterations": 1}),
    "mwf": ("mwf", {}),
}


def main() -> None:
    (track,) = example_tracks()
    print("| transform | oracle | " + " | ".join(TARGETS) + " | mean |")
    print("|---|---|" + "---:|" * (len(TARGETS) + 1))
    for label, (family, params) in TRANSFORMS.items():
        transform = make_transform(family, params)
        for name, (objective, options) in ORACLES.items():
            (result,) = evaluate_candidate(transform, [track], get_objective(objective, **options))
            values = [result.scores[t] for t in TARGETS]
            cells = " | ".join(f"{v:.2f}" for v in values)
            print(f"| {label} | {name} | {cells} | {sum(values) / len(values):.2f} |", flush=True)


if __name__ == "__main__":
    main()
