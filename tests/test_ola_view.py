"""MPI through the OLA view in studies: stored beside the plain MPI, exported, refused early."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from inprocess import study_text, write_noise_tracks
from sliceq22 import TARGETS
from sliceq22.cli import main
from sliceq22.errors import StudyFileError
from sliceq22.search.config import load_study_file, parse_study_text
from sliceq22.search.driver import StudyDriver
from sliceq22.search.evaluator import LocalEvaluator
from sliceq22.search.export import export_best
from sliceq22.search.tables import results_table
from sliceq22.search.trialattrs import trial_attrs
from studyrun import run_cli
from test_deoverlap_bad_input import good_document, write

SLICED = """
[[transforms]]
family = "slicqt"
[transforms.space]
scale = "bark"
bins = { choices = [12, 24] }
fmin = 80.0
fmax = 4000.0
sllen = 8192
trlen = 2048
"""
OLA = 'name = "mpi"\nview = "ola"\ndeoverlap = "mixture"'


def _text(folder: Path, objective: str = OLA, space: str = SLICED, extra: str = "") -> str:
    return study_text(folder, trials=2, objective=objective, space=space, extra=extra)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_noise_tracks(tmp_path_factory.mktemp("ola"))


def test_a_study_through_the_ola_view_keeps_the_plain_mpi_and_exports_the_view(
    folder: Path,
) -> None:
    config = parse_study_text(_text(folder))
    storage = optuna.storages.InMemoryStorage()
    StudyDriver(config, storage, progress=False, evaluator=LocalEvaluator()).run()
    study = optuna.load_study(study_name=config.name, storage=storage)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 2
    for trial in complete:
        attrs = trial_attrs(trial)
        view, plain = attrs["scores"], attrs["plain_scores"]
        for t in TARGETS:
            # the view loses a little against plain MPI of the same pass, never much
            assert math.isfinite(view[t]) and -0.5 < plain[t] - view[t] < 3.0
    doc = export_best(study, config)
    assert doc["objective_options"]["view"] == "ola"
    assert doc["objective_options"]["deoverlap"] == "mixture"
    assert all("plain_score" in entry for entry in doc["targets"].values())
    table = results_table(study, config)
    assert "cost of the OLA view (plain − view, median over 2 trials, dB): drums" in table


@pytest.mark.parametrize(
    ("objective", "space", "says"),
    [
        (
            OLA,
            '[[transforms]]\nfamily = "stft"\n[transforms.space]\nn_fft = 1024\n',
            "transforms.stft: objective.view = 'ola' needs a sliced transform",
        ),
        (
            OLA,
            '[[transforms]]\nfamily = "nsgcq"\n[transforms.space]\nbinsPerOctave = 12\n',
            "nsgcq has no slices",
        ),
        ('name = "mpi"\nview = "olaa"', SLICED, "mpi: view 'olaa' is not one of plain, ola"),
        ('name = "mpi"\nview = "ola"\ndeoverlap = "learned:/nowhere/m.json"', SLICED, "m.json"),
    ],
)
def test_the_view_is_refused_in_a_study_file_before_anything_runs(
    folder: Path, objective: str, space: str, says: str
) -> None:
    with pytest.raises(StudyFileError) as caught:
        parse_study_text(_text(folder, objective, space))
    assert says in str(caught.value)


def test_a_model_for_another_family_is_refused_by_the_study_file(
    folder: Path, tmp_path: Path
) -> None:
    model = write(tmp_path / "m.json", {**good_document(), "family": "nsgcq"})
    objective = f'name = "mpi"\nview = "ola"\ndeoverlap = "learned:{model}"'
    with pytest.raises(StudyFileError, match="trained for family 'nsgcq', not 'slicqt'"):
        parse_study_text(_text(folder, objective))


def test_the_shipped_ola_studies_parse() -> None:
    for name in ("example-ola", "musdb18hq-mpi-ola"):
        config = load_study_file(Path(__file__).parents[1] / "studies" / f"{name}.toml")
        assert config.objective.options["view"] == "ola"


@pytest.mark.slow
def test_the_example_ola_study_runs_end_to_end_through_the_cli(tmp_path: Path) -> None:
    # a subprocess: `run` starts a Ray runtime, which must not stay in the test process
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = Path(__file__).parents[1] / "studies" / "example-ola.toml"
    argv = ["run", str(study), "--storage", url, "--trials", "3", "--workers", "1"]
    done = run_cli(*argv, "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cost of the OLA view (plain − view" in done.stdout
    export = tmp_path / "best.json"
    done = run_cli("export", "example-ola", "--storage", url, "-o", str(export), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(export.read_text())
    assert doc["objective_options"]["view"] == "ola"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--transform", "stft", "--option", "view=ola"], "view 'ola' needs a sliced transform"),
        (
            ["--transform", "slicqt", "--option", "view=ola", "--option", "deoverlap=learned:/x"],
            "de-overlap model '/x': no such file",
        ),
        (["--transform", "slicqt", "--option", "view=flat"], "mpi: view 'flat' is not one of"),
    ],
)
def test_evaluate_refuses_a_bad_view_in_one_line_before_any_output(argv, says, capsys) -> None:
    assert main(["evaluate", "--dataset", "example", "--duration", "1", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], captured.err
