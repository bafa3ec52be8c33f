"""The in-process driver tests' pieces: noise tracks, a small study file, a scripted evaluation.

The scripted evaluation (:class:`Script`) yields real messages with scores
computed from the parameters, and a dying worker or a raising evaluation
where a test asks for one, so the driver's loop is exercised in milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from sliceq22 import TARGETS
from sliceq22.search.config import parse_study_text
from sliceq22.search.evaluator import WorkerLost
from sliceq22.search.messages import Infeasible, Message, Started, TrackProgress, TrackScored

RATE = 8000
N_TRACKS = 3

SPACE = """
[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [256, 512, 1024, 2048] }
hop = { choices = [64, 128] }
"""


def write_noise_tracks(
    root: Path, n: int = N_TRACKS, *, seed: int = 0, prefix: str = "track"
) -> Path:
    """``n`` tracks of 0.25 s of noise per target, WAV stems (what `source = "folder"` reads)."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        track = root / f"{prefix}{i}"
        track.mkdir()
        stems = {t: 0.1 * rng.standard_normal((RATE // 4, 2)) for t in TARGETS}
        soundfile.write(track / "mixture.wav", sum(stems.values()), RATE, subtype="FLOAT")
        for t, audio in stems.items():
            soundfile.write(track / f"{t}.wav", audio, RATE, subtype="FLOAT")
    return root


def study_text(
    folder: Path,
    *,
    mode: str = "per-target",
    trials: int = 4,
    extra: str = "",
    objective: str = 'name = "mpi"',
    space: str = SPACE,
) -> str:
    """A small study file on the noise tracks of ``folder``; tests vary its parts."""
    return f"""
[study]
name = "inprocess"
mode = "{mode}"
trials = {trials}
retries = 1

[dataset]
source = "folder"
root = "{folder}"

[objective]
{objective}

[sampler]
name = "random"
seed = 3
{extra}
{space}
"""


def study_config(folder: Path, **parts: Any) -> Any:
    """:func:`study_text`, parsed."""
    return parse_study_text(study_text(folder, **parts))


def score(params: Mapping[str, Any], track: int, target: str) -> float:
    """A deterministic score: larger n_fft is better, tracks and targets shift it."""
    return math.log2(params["n_fft"]) + 0.1 * track + 0.01 * TARGETS.index(target)


class Script:
    """A scripted evaluation that records what the driver asked of it."""

    def __init__(self, **rules: Any) -> None:
        self.rules = rules
        self.calls: list[dict[str, Any]] = []
        self.yielded_tracks: list[int] = []  # per call: track messages handed to the driver

    def __call__(
        self,
        family: str,
        params: Mapping[str, Any],
        rate: int,
        tracks: list[Any],
        objective: Mapping[str, Any],
    ) -> Iterator[Message]:
        self.calls.append(dict(params))
        call = len(self.calls) - 1
        self.yielded_tracks.append(0)
        yield Started(host="here", pid=1)
        retried = self.rules.get("dies_once") and self._seen(params) > 1
        if params["n_fft"] in self.rules.get("dies", ()) and not retried:
            raise WorkerLost("worker died: test")
        if params["n_fft"] in self.rules.get("raises", ()):
            raise ValueError("a bug in the objective\nsecond line")
        if params["n_fft"] in self.rules.get("infeasible", ()):
            yield Infeasible("the probe refuses it")
            return
        for i, track in enumerate(tracks):
            yield TrackProgress(track.name, 0.5)
            self.yielded_tracks[call] += 1
            yield TrackScored(track.name, {t: score(params, i, t) for t in TARGETS}, {}, [])
        if params["n_fft"] in self.rules.get("dies_after_last_track", ()):
            # the worker dies after its last message, before the stream's end reaches the driver
            raise WorkerLost("worker died: test")

    def _seen(self, params: Mapping[str, Any]) -> int:
        return sum(c == dict(params) for c in self.calls)
