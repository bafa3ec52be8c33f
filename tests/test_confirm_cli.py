"""``sliceq22 confirm`` end to end: a real study on the example, re-scored on other tracks."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from sliceq22 import TARGETS
from sliceq22.cli import main
from sliceq22.search.config import parse_study_text
from sliceq22.search.driver import StudyDriver
from sliceq22.search.evaluator import LocalEvaluator
from sliceq22.search.storage import open_storage
from studyrun import study_text, write_stem_folder

SPACE = """
[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [1024, 2048] }
hop = { choices = [512] }
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A per-target study of 2 trials (+ the STFT reference) on 1.5 s of the example, run
    in this process with the real MPI objective, in an SQLite file; and 2 held-out tracks."""
    root = tmp_path_factory.mktemp("confirm")
    url = f"sqlite:///{root / 'studies.db'}"
    config = parse_study_text(study_text("confirm", trials=2, space=SPACE))
    StudyDriver(
        config, open_storage(url, create=True), progress=False, evaluator=LocalEvaluator()
    ).run()
    return url, write_stem_folder(root / "held", 2, 1.0)


def test_confirm_stores_and_prints_the_held_out_scores(stored, capsys) -> None:
    url, held = stored
    argv = ["confirm", "confirm", "--storage", url, "--top", "1"]
    assert main([*argv, "--dataset", "folder", "--root", str(held)]) == 0
    out = capsys.readouterr().out
    assert "confirmation on 2 held-out track(s)" in out
    study = optuna.load_study(study_name="confirm", storage=url)
    confirmation = study.user_attrs["sliceq22.confirmation"]
    assert confirmation["tracks"] == ["track0", "track1"]
    labels = {c["reference"] for c in confirmation["candidates"]}
    assert "stft-4096-1024" in labels  # the reference is always re-scored
    for candidate in confirmation["candidates"]:
        assert set(candidate["held_out"]) == set(TARGETS)
        assert all(isinstance(v, float) and 0 < v < 60 for v in candidate["held_out"].values())
        assert sorted(candidate["held_out_tracks"]) == ["track0", "track1"]
    # export carries both scores
    out_file = held.parent / "best.json"
    assert main(["export", "confirm", "--storage", url, "--out", str(out_file)]) == 0
    doc = json.loads(out_file.read_text())
    for target, entry in doc["targets"].items():
        if "held_out" in entry:
            assert isinstance(entry["score"], float) and isinstance(
                entry["held_out"]["score"], float
            )
    assert any("held_out" in e for e in doc["targets"].values())
    # and the report shows the re-scored candidates and the paired comparisons
    page = held.parent / "report.html"
    argv = ["report", "confirm", "--storage", url, "-o", str(page), "--no-spectrograms"]
    assert main(argv) == 0
    html = page.read_text()
    assert 'id="confirmation"' in html and 'id="paired"' in html
    assert html.count("<td>held out</td>") == len(confirmation["candidates"])


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--top", "0"], "--top 0: must be at least 1"),
        (["--dataset", "example"], "was searched on"),
    ],
)
def test_confirm_refuses_with_one_line_and_changes_nothing(stored, capsys, extra, says) -> None:
    url, _ = stored
    before = optuna.load_study(study_name="confirm", storage=url).user_attrs
    assert main(["confirm", "confirm", "--storage", url, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    after = optuna.load_study(study_name="confirm", storage=url).user_attrs
    assert after == before
