"""The study driver's progress bars on stderr: finished trials, and tracks of running trials."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

import optuna

from sliceq22.search import study as studies
from sliceq22.search.run_records import RunningTrial

#: Seconds between reads of the storage's trial count for the bar (other drivers' results).
RECOUNT_S = 2.0


class RunProgress:
    """Progress bars on stderr: finished trials, and tracks of the running trials.

    The tracks bar appears when trials span several tracks, or when a worker
    reports progress within a track (a long track); it moves with that
    progress (``#12 3/14 45%``: trial 12 has scored 3 of 14 tracks and is 45 %
    through the fourth).

    Parameters
    ----------
    budget : int
        Finished trials wanted (the trials bar's total).
    name : str
        The study's name.
    n_tracks : int
        Tracks per trial.
    enabled : bool
        ``False``: draw nothing.
    """

    def __init__(self, budget: int, name: str, n_tracks: int, enabled: bool) -> None:
        self.enabled = enabled
        self.n_tracks = n_tracks
        self.trials: Any = None
        self.tracks: Any = None
        self._told, self._counted = -1, 0.0
        if not enabled:
            return
        from tqdm import tqdm

        self.trials = tqdm(
            total=budget,
            desc=f"{name}: trials",
            unit="trial",
            file=sys.stderr,
            dynamic_ncols=True,
            position=0,
        )
        if n_tracks > 1:
            self._open_tracks()

    def _open_tracks(self) -> None:
        from tqdm import tqdm

        # No rate or ETA: the count restarts as trials come and go, so a rate would be noise.
        self.tracks = tqdm(
            total=0,
            desc="  tracks of running trials",
            unit="track",
            file=sys.stderr,
            dynamic_ncols=True,
            position=1,
            leave=False,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}",
        )

    def show(self, study: optuna.Study, running: Iterable[RunningTrial], told: int) -> None:
        """Redraw: the storage's count (other drivers' trials included) and the running trials.

        The count is read again only when this driver told a result or every
        few seconds (for other drivers' results): reading every trial at each
        message would cost more than the bar is worth.
        """
        if self.trials is None:
            return
        now = time.monotonic()
        if told != self._told or now - self._counted > RECOUNT_S:
            self.trials.n = studies.finished_count(study)
            self._told, self._counted = told, now
        self.trials.refresh()
        runs = list(running)
        if self.tracks is None and any(r.fraction > 0 for r in runs):
            self._open_tracks()
        if self.tracks is not None:
            self.tracks.total = self.n_tracks * len(runs)
            self.tracks.n = sum(len(r.tracks) + r.fraction for r in runs)
            self.tracks.set_postfix_str(
                ", ".join(trial_progress(r, self.n_tracks) for r in runs), refresh=False
            )
            self.tracks.refresh()

    def close(self, study: optuna.Study) -> None:
        """Close the bars, the trials bar at the storage's final count."""
        if self.tracks is not None:
            self.tracks.close()
        if self.trials is not None:
            try:
                self.trials.n = studies.finished_count(study)
            except Exception:  # the storage may be what failed; the bar still closes
                pass
            self.trials.close()


def trial_progress(run: RunningTrial, n_tracks: int) -> str:
    """``#12 3/14 45%``: trial, tracks scored, and how far the current track is (if reported)."""
    text = f"#{run.trial.number} {len(run.tracks)}/{n_tracks}"
    return f"{text} {run.fraction:.0%}" if run.fraction > 0 else text
