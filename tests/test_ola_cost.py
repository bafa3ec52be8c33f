"""The OLA view across a study: its cost in the report, and its memory in the constraint check.

A study through the view (mpi ``view = "ola"``) runs in-process on noise
tracks (:mod:`inprocess`) into an SQLite file; ``sliceq22 report`` on it
shows per target the median of plain − view over the complete trials, the
same medians ``show`` prints. The memory estimate behind
``constraints.max_memory_mb`` knows the view's pieces (neighbouring slices,
8 signals out), and the driver passes it the study's objective.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from inprocess import RATE, study_text, write_noise_tracks
from sliceq22 import TARGETS
from sliceq22.cli import main
from sliceq22.deoverlap.methods import halo_of
from sliceq22.deoverlap.pieces import halo_working_memory
from sliceq22.search.config import parse_study_text
from sliceq22.search.constraints import check_candidate, estimate_memory_mb
from sliceq22.search.driver import StudyDriver
from sliceq22.search.evaluator import LocalEvaluator
from sliceq22.search.storage import open_storage
from sliceq22.search.tables import results_table
from sliceq22.search.trialattrs import trial_attrs
from sliceq22.transforms import make_transform, presets
from test_ola_view import OLA, SLICED

#: The framewise seed and bark-262 (benchmarks/fulltrack.py's candidates).
SEED = dict(presets.NSGCQ_SEED_FRAMEWISE)
BARK262 = dict(presets.BARK262)
FOUR_MINUTES = 240 * 44100


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_noise_tracks(tmp_path_factory.mktemp("olacost"))


def _run(folder: Path, url: str, objective: str = OLA, extra: str = "", trials: int = 3) -> None:
    text = study_text(folder, trials=trials, objective=objective, space=SLICED, extra=extra)
    config = parse_study_text(text)
    StudyDriver(config, open_storage(url), progress=False, evaluator=LocalEvaluator()).run()


def test_the_report_shows_the_views_cost_per_target(folder: Path, tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    space = SLICED.replace("[12, 24]", "[12, 24, 36]")
    text = study_text(folder, trials=3, objective=OLA, space=space)
    config = parse_study_text(text)
    StudyDriver(config, open_storage(url), progress=False, evaluator=LocalEvaluator()).run()
    study = optuna.load_study(study_name=config.name, storage=url)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 3
    expected = {}
    for target in TARGETS:
        costs = [
            trial_attrs(t)["plain_scores"][target] - trial_attrs(t)["scores"][target]
            for t in complete
        ]
        assert all(-0.5 < c < 3.0 for c in costs)  # the view costs a little, never much
        expected[target] = float(np.median(costs))
    out = tmp_path / "r.html"
    assert main(["report", config.name, "--storage", url, "-o", str(out), "--no-spectrograms"]) == 0
    html = out.read_text()
    assert "Cost of the OLA view" in html and "<code>mixture</code>" in html
    table = html[
        html.index('id="view-cost"') : html.index("</table>", html.index('id="view-cost"'))
    ]
    for target in TARGETS:
        found = re.search(rf'data-value="([^"]+)" data-median="{target}"', table)
        assert found is not None, table
        assert float(found.group(1)) == pytest.approx(expected[target], abs=1e-12)
    assert table.count('<td class="num">3</td>') == len(TARGETS)  # three trials each
    # the figure: one box per target, every trial a point
    assert html.count('"boxpoints":"all"') >= len(TARGETS)
    assert "Cost of the OLA view over 3 complete trials" in html
    # the same medians as the table after run and show
    line = results_table(study, config).splitlines()[-1]
    shown = ", ".join(f"{t} {expected[t]:.2f}" for t in TARGETS)
    assert line.endswith(shown), line


def test_a_plain_study_has_no_view_cost_in_its_report(folder: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _run(folder, url, objective='name = "mpi"', trials=1)
    out = tmp_path / "r.html"
    assert main(["report", "inprocess", "--storage", url, "-o", str(out), "--no-spectrograms"]) == 0
    assert "Cost of the OLA view" not in out.read_text()


def test_the_reports_spectrograms_show_what_an_ola_study_searched_through(
    folder: Path, tmp_path: Path
) -> None:
    """With spectrograms on, an OLA study draws each best's OLA view, de-overlapped (with the
    study's method, guided by the track's mixture) and the error; a plain study its usual views."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    _run(folder, url, objective=OLA.replace('"mixture"', '"halves"'), trials=1)
    _run(folder, url.replace("s.db", "p.db"), objective='name = "mpi"', trials=1)
    pages = {}
    for db in ("s.db", "p.db"):
        out = tmp_path / f"{db}.html"
        argv = ["report", "inprocess", "--storage", f"sqlite:///{tmp_path / db}", "-o", str(out)]
        assert main([*argv, "--excerpt", "1"]) == 0
        pages[db] = out.read_text()
    section = pages["s.db"][pages["s.db"].index('id="spectrograms"') :]
    said = r"de-overlap &#x27;halves&#x27;: reconstruction SNR (-?[0-9.]+) dB"  # html-escaped
    titles = re.findall(said, section)
    assert len(titles) == len(TARGETS)  # one figure per target, its SNR in the title
    assert all(0.0 < float(v) < 40.0 for v in titles)  # halves: lossy, not garbage, not exact
    assert "could not draw" not in section and "<code>halves</code> brings back" in section
    plain = pages["p.db"][pages["p.db"].index('id="spectrograms"') :]
    assert "reconstruction SNR" not in plain and "could not draw" not in plain
    assert plain.count("Ragged view") >= len(TARGETS)


# ---------------------------------------------------------------------------- memory
@pytest.mark.parametrize(("family", "params"), [("slicqt", BARK262), ("nsgcq", SEED)])
def test_the_estimate_knows_the_views_pieces(family: str, params: dict) -> None:
    transform = make_transform(family, params)
    track = 4 * 2 * FOUR_MINUTES * 2

    def estimate(objective: dict | None) -> float:
        return estimate_memory_mb(
            transform, length=FOUR_MINUTES, channels=2, track_bytes=track, objective=objective
        )

    plain = estimate(None)
    assert estimate({"name": "mpi", "view": "plain"}) == plain
    assert estimate({"name": "tonal-ridge"}) == plain
    views = {
        m: estimate({"name": "mpi", "view": "ola", "deoverlap": m}) for m in ("halves", "mixture")
    }
    assert estimate({"name": "mpi", "view": "ola"}) == views["mixture"]  # the default
    # the view holds more than plain MPI (measured 4 min: +0.16 to +0.22 GB), well under a GB
    for value in views.values():
        assert 80 < value - plain < 300
    # what the view adds is the pieces: the track's length changes nothing of it
    working = halo_working_memory(transform, FOUR_MINUTES, 2, halo_of("mixture"))
    ten = halo_working_memory(transform, 600 * 44100, 2, halo_of("mixture"))
    assert working == ten


def test_the_driver_checks_memory_against_the_studys_objective(
    folder: Path, tmp_path: Path
) -> None:
    length = RATE // 4
    transform = make_transform("slicqt", _sliced_params(12), rate=RATE)
    plain = estimate_memory_mb(transform, length=length, channels=2)
    view = estimate_memory_mb(transform, length=length, channels=2, objective={"view": "ola"})
    assert view > plain + 5  # the pieces: 1/4 s of noise at 8 kHz holds a few slices
    budget = (plain + view) / 2
    extra = f"[constraints]\nmax_memory_mb = {budget:.1f}"
    config = parse_study_text(study_text(folder, objective=OLA, space=SLICED, extra=extra))
    reason = check_candidate(
        "slicqt",
        _sliced_params(12),
        config.constraints,
        rate=RATE,
        length=length,
        channels=2,
        objective=config.objective.as_dict(),
    )
    assert reason is not None and "exceeds constraints.max_memory_mb" in reason
    url = f"sqlite:///{tmp_path / 's.db'}"
    _run(folder, url, extra=extra, trials=2)
    study = optuna.load_study(study_name="inprocess", storage=url)
    refused = [str(trial_attrs(t).get("infeasible", "")) for t in study.get_trials()]
    assert refused and all("max_memory_mb" in r for r in refused), refused
    _run(folder, f"sqlite:///{tmp_path / 'p.db'}", objective='name = "mpi"', extra=extra, trials=2)
    plain_study = optuna.load_study(
        study_name="inprocess", storage=f"sqlite:///{tmp_path / 'p.db'}"
    )
    assert len(plain_study.get_trials(states=(TrialState.COMPLETE,))) == 2


def _sliced_params(bins: int) -> dict:
    """The SLICED space's fixed parameters with ``bins``."""
    return {
        "scale": "bark",
        "bins": bins,
        "fmin": 80.0,
        "fmax": 4000.0,
        "sllen": 8192,
        "trlen": 2048,
    }
