"""optuna-dashboard on sliceq22 studies: the ``dashboard`` command on a real study, and what it
shows.

optuna-dashboard shows every non-text attribute cut at 1024 characters with no
marker; what a person reads first must therefore be short and of its own.
References lie in the space under its own names; finished trials carry no
heartbeat attribute. Real Optuna, Ray and SQLite; the dashboard is a real
server on 127.0.0.1, stopped by its pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from sliceq22.search.config import parse_study_text
from sliceq22.search.references import space_params
from sliceq22.search.trialattrs import CANDIDATE, RESULT, SHORT, is_infeasible, trial_attrs
from studyrun import CLI, run_cli, study_text, trials

#: optuna-dashboard 0.21's cut (``optuna_dashboard._serializer.MAX_ATTR_LENGTH``).
CUT = 1024


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A finished study with an infeasible candidate and a reference.

    The grid has 3 feasible points (hop 1024 > n_fft 512 / 2 is refused): a budget of 4
    (the reference and 3 grid points) visits every point, the infeasible one included.
    """
    folder = tmp_path_factory.mktemp("dash")
    space = """
[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [512, 4096] }
hop = { choices = [256, 1024] }
"""
    (folder / "s.toml").write_text(
        study_text("dash", trials=4, space=space, sampler='name = "grid"\nseed = 1')
    )
    url = f"sqlite:///{folder / 'dash.db'}"
    done = run_cli("run", "s.toml", "--storage", url, cwd=folder, timeout=300)
    assert done.returncode == 0, done.stderr
    return folder, url


def _shown(value: object) -> str:
    """An attribute as optuna-dashboard shows it (its ``serialize_attrs``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    text = json.dumps(value)
    return text[:CUT]


@pytest.mark.slow
def test_what_a_person_reads_first_is_short_and_of_its_own(study: tuple[Path, str]) -> None:
    _, url = study
    final = trials(url, "dash")
    complete = [t for t in final if t.state == TrialState.COMPLETE]
    infeasible = [t for t in final if is_infeasible(t)]
    assert complete and infeasible
    for t in complete:
        assert set(t.user_attrs["scores"]) == {"drums", "bass", "other", "vocals"}
        assert len(_shown(t.user_attrs["scores"])) < CUT
        assert json.loads(_shown(t.user_attrs["scores"])) == trial_attrs(t)["scores"]
        # The bulky part holds no scores of its own, and its per-track detail comes last.
        assert (
            "scores" not in t.user_attrs[RESULT]
            and list(t.user_attrs[RESULT])[-1] == "track_scores"
        )
    for t in infeasible:
        reason = t.user_attrs["infeasible"]
        assert isinstance(reason, str) and "hop" in reason and len(reason) < CUT
        assert "infeasible" not in t.user_attrs[CANDIDATE]
    for t in final:
        # No stale heartbeat shown on a finished trial (it is a system attribute).
        assert "heartbeat" not in t.user_attrs
        assert all(len(_shown(t.user_attrs[k])) < CUT for k in SHORT if k in t.user_attrs)


@pytest.mark.slow
def test_reference_lies_in_the_space_under_its_names(study: tuple[Path, str]) -> None:
    _, url = study
    final = trials(url, "dash")
    reference = [t for t in final if t.user_attrs.get("reference") == "stft-4096-1024"]
    assert len(reference) == 1
    assert reference[0].params == {"stft.n_fft": 4096, "stft.hop": 1024}
    assert trial_attrs(reference[0])["transform_params"] == {"n_fft": 4096, "hop": 1024}
    assert all(not k.startswith("reference:") for t in final for k in t.params)


def test_space_params_only_where_the_reference_lies_in_the_space() -> None:
    config = parse_study_text(
        study_text(
            "p",
            space="""
[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [1024, 4096] }
hop = { low = 256, high = 1024, step = 256 }

[[transforms]]
label = "long"
family = "stft"
[transforms.space]
n_fft = 8192
hop = { choices = [2048] }
""",
        ),
        "test",
    )
    entries = config.transforms
    assert space_params("stft", {"n_fft": 4096, "hop": 1024}, entries) == {
        "stft.n_fft": 4096,
        "stft.hop": 1024,
        "transform": "stft",
    }
    assert space_params("stft", {"n_fft": 8192, "hop": 2048}, entries) == {
        "long.hop": 2048,
        "transform": "long",
    }
    assert space_params("stft", {"n_fft": 2048, "hop": 512}, entries) is None  # not a choice
    assert space_params("stft", {"n_fft": 4096, "hop": 1000}, entries) is None  # off the step
    assert space_params("stft", {"n_fft": 4096, "hop": 1024, "window": "hamming"}, entries) is None
    assert space_params("slicqt", {"bins": 262}, entries) is None


def test_older_layout_reads_the_same() -> None:
    """Studies stored before the short attributes (scores, failure, infeasible packed) read
    alike."""
    study = optuna.create_study(directions=["maximize"] * 4)
    old = study.ask()
    old.set_user_attr(
        CANDIDATE,
        {
            "label": "stft",
            "family": "stft",
            "transform_params": {},
            "infeasible": "hop 4096 > n_fft/2",
        },
    )
    old.set_user_attr(RESULT, {"scores": {"drums": 1.0}, "failure": "no finite score"})
    old.set_user_attr("heartbeat", 12.0)
    frozen = study.trials[0]
    attrs = trial_attrs(frozen)
    assert is_infeasible(frozen) and attrs["infeasible"] == "hop 4096 > n_fft/2"
    assert attrs["scores"] == {"drums": 1.0} and attrs["failure"] == "no finite score"
    assert attrs["heartbeat"] == 12.0


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


@pytest.mark.slow
def test_dashboard_command_serves_the_study(study: tuple[Path, str]) -> None:
    folder, url = study
    before = [(t.number, t.state, t.user_attrs, t.system_attrs) for t in trials(url, "dash")]
    proc = subprocess.Popen(
        [*CLI, "dashboard", "dash", "--storage", url, "--port", "0"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert "http://127.0.0.1:" in line, (
            line,
            proc.stderr.read() if proc.poll() is not None else "",
        )
        page = line.split("http://", 1)[1].split()[0]
        base = "http://" + page.split("/", 1)[0]
        assert page.endswith(f"/dashboard/studies/{_study_id(url)}")
        summaries = _get_json(f"{base}/api/studies")["study_summaries"]  # type: ignore[index]
        assert [s["study_name"] for s in summaries] == ["dash"]
        detail = _get_json(f"{base}/api/studies/{summaries[0]['study_id']}")
        assert detail["objective_names"] == ["drums", "bass", "other", "vocals"]  # type: ignore[index]
        shown = {
            a["key"]: a["value"]
            for t in detail["trials"]
            for a in t["user_attrs"]  # type: ignore[index]
            if t["state"] == "Complete"
        }
        assert "scores" in shown and "heartbeat" not in shown
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    # Reading it changed nothing.
    assert [
        (t.number, t.state, t.user_attrs, t.system_attrs) for t in trials(url, "dash")
    ] == before


def _study_id(url: str) -> int:
    storage = optuna.storages.RDBStorage(url, skip_table_creation=True)
    try:
        return storage.get_study_id_from_name("dash")
    finally:
        storage.engine.dispose()


@pytest.mark.slow
def test_dashboard_errors_are_one_line(study: tuple[Path, str], tmp_path: Path) -> None:
    folder, url = study
    result = run_cli("dashboard", "nope", "--storage", url, cwd=folder)
    assert result.returncode == 2 and "no study named 'nope'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("dashboard", "--storage", url, "--port", str(port), cwd=folder)
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    empty = tmp_path / "empty.db"
    empty.touch()
    proc = subprocess.Popen(
        [*CLI, "dashboard", "--storage", f"sqlite:///{empty}", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        base = "http://" + line.split("http://", 1)[1].split("/", 1)[0]
        assert _get_json(f"{base}/api/studies") == {"study_summaries": []}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert empty.stat().st_size == 0
