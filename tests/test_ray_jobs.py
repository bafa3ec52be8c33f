"""Ray Jobs: a study submitted with ``ray job submit`` to a real head on 127.0.0.1, and Ray
addresses.

The head is ``ray start --head --block`` with its own temp dir, ports and auth
token (:mod:`rayhead`), stopped by its pid at the end; no Ray process of it is
left. The job's entrypoint is this interpreter running ``-m sliceq22``, and the
job's runtime env gives it this checkout (``PYTHONPATH``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from optuna.trial import TrialState

import sliceq22
from rayhead import RAY, RayHead
from sliceq22.search.trialattrs import trial_attrs
from studyrun import run_cli, study_text, trials

pytestmark = pytest.mark.slow

SOURCE = str(Path(sliceq22.__file__).resolve().parent.parent)


def _submit(
    head: RayHead, *args: str, env_vars: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``ray job submit`` (waiting for the end) of ``python -m sliceq22 ARGS``."""
    runtime_env = {"env_vars": {"PYTHONPATH": SOURCE, **(env_vars or {})}}
    return subprocess.run(
        [
            RAY,
            "job",
            "submit",
            "--address",
            head.dashboard_url,
            "--runtime-env-json",
            json.dumps(runtime_env),
            "--",
            sys.executable,
            "-m",
            "sliceq22",
            *args,
        ],
        env=head.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def head():
    with RayHead(num_cpus=2) as started:
        yield started
        assert started.process is not None
    assert not started.leftover_pids(), "Ray processes of the test head are left"


def test_study_submitted_as_a_ray_job(head: RayHead, tmp_path: Path) -> None:
    study = tmp_path / "jobs.toml"
    study.write_text(study_text("jobs", trials=3))
    db = tmp_path / "jobs.db"
    url = f"sqlite:///{db}"

    # OMP_NUM_THREADS in the job's env as well as in sliceq22's worker env: Ray refuses the
    # same variable in both unless the driver leaves it to the job.
    done = _submit(
        head,
        "run",
        str(study),
        "--storage",
        url,
        "--workers",
        "2",
        env_vars={"SLICEQ22_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3/3 trials finished" in done.stdout, done.stdout[-3000:]
    # The driver joined the head (RAY_ADDRESS), it did not start a runtime of its own.
    assert "num_cpus" not in done.stdout and "local Ray runtime" not in done.stdout

    final = trials(url, "jobs")
    states = Counter(t.state for t in final)
    assert states[TrialState.COMPLETE] == 3 and states[TrialState.FAIL] == 0, states
    nodes = {trial_attrs(t)["worker_node"] for t in final}
    assert len(nodes) == 1
    head_nodes = _nodes(head)
    assert nodes <= head_nodes, (nodes, head_nodes)
    reference = [t for t in final if trial_attrs(t).get("reference") == "stft-4096-1024"]
    assert len(reference) == 1 and reference[0].params == {"stft.n_fft": 4096, "stft.hop": 1024}

    # Resuming is another job on the same storage: the budget grows, earlier trials stay.
    more = _submit(
        head,
        "resume",
        "jobs",
        "--storage",
        url,
        "--trials",
        "4",
        env_vars={"SLICEQ22_NO_PROGRESS": "1"},
    )
    assert more.returncode == 0, more.stdout[-3000:]
    after = trials(url, "jobs")
    assert sum(t.state == TrialState.COMPLETE for t in after) == 4
    assert {t.number: t.values for t in after if t.number < 3} == {
        t.number: t.values for t in final
    }


def test_relative_storage_in_a_job_is_refused(head: RayHead, tmp_path: Path) -> None:
    study = tmp_path / "rel.toml"
    study.write_text(study_text("rel", trials=1))
    done = _submit(head, "run", str(study), "--storage", "sqlite:///rel.db")
    assert done.returncode != 0
    assert "inside a Ray job" in done.stdout and "sqlite:////" in done.stdout, done.stdout[-2000:]
    assert "Traceback" not in done.stdout


def _nodes(head: RayHead) -> set[str]:
    """Node ids of the head's cluster, from its state API."""
    import urllib.request

    request = urllib.request.Request(
        f"{head.dashboard_url}/api/v0/nodes", headers={"Authorization": f"Bearer {head.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = json.load(answer)
    return {node["node_id"] for node in body["data"]["result"]["result"]}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--ray-address", "ray://127.0.0.1:10001"], {}, "Ray Client (ray://) cannot run"),
        ([], {"RAY_ADDRESS": "ray://127.0.0.1:10001"}, "RAY_ADDRESS ray://127.0.0.1:10001"),
        (["--ray-address", "http://127.0.0.1:8265"], {}, "is a Ray dashboard (Jobs API) URL"),
        (["--ray-address", "not an address"], {}, "is not HOST:PORT"),
    ],
)
def test_unusable_ray_addresses_are_refused_before_any_write(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    (tmp_path / "s.toml").write_text(study_text("addr", trials=1))
    url = f"sqlite:///{tmp_path / 'a.db'}"
    result = run_cli("run", "s.toml", "--storage", url, *args, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr, lines
    if "ray://" in message or "RAY_ADDRESS" in message:
        assert "ray job submit" in lines[0]
    listed = run_cli("list", "--storage", url, cwd=tmp_path)
    assert "no studies" in listed.stdout


def test_workers_above_the_cpus_are_capped_with_a_line(tmp_path: Path) -> None:
    import os

    (tmp_path / "s.toml").write_text(study_text("cap", trials=2))
    result = run_cli(
        "run",
        "s.toml",
        "--storage",
        f"sqlite:///{tmp_path / 'c.db'}",
        "--workers",
        "1000",
        cwd=tmp_path,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    cpus = os.cpu_count()
    assert (
        f"--workers 1000 is more than the {cpus} CPU(s) Ray reports; running {cpus}"
        in result.stderr
    )
