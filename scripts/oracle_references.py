"""Reference scores of sigsep-mus-oracle's IBM, IRM and MWF on the bundled example.

Runs the SiSEC 2018 oracles *unmodified* from a checkout of
https://github.com/sigsep/sigsep-mus-oracle (its ``IBM.py``, ``IRM.py`` and
``MWF.py`` are imported from the checkout, not copied): the only change is
made to numpy before the import, ``np.float = float``, because numpy ≥ 1.24
removed the alias they use. The track is the bundled MUSDB18 excerpt as
``sliceq22.data.load.example_tracks()`` gives it (edges trimmed, float32
stems), handed over as float64 with the mixture taken as the sum of the four
targets; each estimate is scored with the project's ``sdr-global`` against
its target. The values land in a small JSON file that
``tests/test_oracles_reference.py`` compares the project's oracles with.

    git clone https://github.com/sigsep/sigsep-mus-oracle /tmp/sigsep-mus-oracle
    .venv/bin/python scripts/oracle_references.py /tmp/sigsep-mus-oracle

The originals' STFT is scipy's ``stft(x, nperseg=2048)``: periodic Hann, hop
1024, ``boundary='zeros'``, ``padded=True``; the inverse ``istft`` cut to the
track's length.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "oracle_references.json"

#: (label, module, function, keyword arguments): the SiSEC 2018 settings.
RUNS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("ibm alpha=1 theta=0.5", "IBM", "IBM", {"alpha": 1, "theta": 0.5}),
    ("ibm alpha=2 theta=0.5", "IBM", "IBM", {"alpha": 2, "theta": 0.5}),
    ("irm alpha=1", "IRM", "IRM", {"alpha": 1}),
    ("irm alpha=2", "IRM", "IRM", {"alpha": 2}),
    ("mwf", "MWF", "MWF", {}),
]


def example_as_musdb_track() -> tuple[Any, np.ndarray, str]:
    """The example as the originals read a musdb track: ``audio`` and ``sources[name].audio``,
    ``(samples, channels)`` float64; also the targets ``(4, channels, samples)`` and the name."""
    sys.path.insert(0, str(ROOT))
    from sliceq22 import TARGETS
    from sliceq22.data.load import example_tracks

    (track,) = example_tracks()
    targets = track.stacked().astype(np.float64)
    sources = {name: SimpleNamespace(audio=targets[i].T) for i, name in enumerate(TARGETS)}
    mixture = np.sum(targets, axis=0)
    return SimpleNamespace(audio=mixture.T, sources=sources), targets, track.name


def import_originals(checkout: Path) -> dict[str, Any]:
    """Import IBM, IRM and MWF from ``checkout`` after restoring ``np.float``."""
    np.float = float  # type: ignore[attr-defined]  # removed in numpy 1.24, used by the originals
    sys.path.insert(0, str(checkout))
    return {name: importlib.import_module(name) for name in ("IBM", "IRM", "MWF")}


def commit_of(checkout: Path) -> str | None:
    """The checkout's git commit, if it is a git work tree."""
    done = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a sigsep-mus-oracle checkout")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    modules = import_originals(args.checkout)
    from sliceq22 import TARGETS
    from sliceq22.oracles.metrics import sdr_global

    track, targets, name = example_as_musdb_track()
    scores: dict[str, dict[str, float]] = {}
    for label, module, function, kwargs in RUNS:
        estimates = getattr(modules[module], function)(track, **kwargs)
        estimated = np.stack([estimates[t].T for t in TARGETS])
        values = np.atleast_1d(sdr_global(targets, estimated))
        scores[label] = {t: round(float(v), 6) for t, v in zip(TARGETS, values)}
        print(label, scores[label])
    record = {
        "produced_by": "scripts/oracle_references.py",
        "originals": {
            "repository": "https://github.com/sigsep/sigsep-mus-oracle",
            "commit": commit_of(args.checkout),
            "change": "np.float = float set on numpy before import (numpy >= 1.24)",
        },
        "versions": {
            "numpy": np.__version__,
            "scipy": importlib.import_module("scipy").__version__,
        },
        "track": {"name": name, "samples": int(targets.shape[-1]), "mixture": "sum of targets"},
        "stft": "scipy.signal.stft(nperseg=2048): periodic Hann, hop 1024, boundary zeros, padded",
        "metric": "sdr-global",
        "scores": scores,
    }
    args.output.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
