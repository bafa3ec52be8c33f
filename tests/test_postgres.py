"""Studies on a real PostgreSQL server (started by the suite from the pgserver wheel), real Optuna,
real Ray.

Everything goes through the CLI with a password-authenticated TCP URL; the
password must show up nowhere: not in any command's output, not in the study
stored in the database, not in the report.
"""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path
from urllib.parse import quote

import optuna
import pytest
from optuna.trial import TrialState

from pg import PgServer, postgres_processes
from sliceq22 import TARGETS
from sliceq22.search.trialattrs import trial_attrs
from studyrun import (
    SLOW_SPACE,
    kill_session,
    run_cli,
    run_clis,
    start_cli,
    study_text,
    trials,
    wait_for,
)

pytestmark = pytest.mark.slow


def _complete(ts) -> list:
    return [t for t in ts if t.state == TrialState.COMPLETE]


def _masked(url: str, password: str) -> str:
    return url.replace(f":{password}@", ":***@")


def test_server_is_real_and_checks_the_password(pg_server: PgServer) -> None:
    import psycopg2

    assert pg_server.running() and set(pg_server.server_pids()) <= set(postgres_processes())
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(
            host="127.0.0.1",
            port=pg_server.port,
            user="sliceq22",
            password="not-it",
            dbname="sliceq22",
        )


def test_study_on_postgres_end_to_end_without_the_password(
    pg_server: PgServer, tmp_path: Path
) -> None:
    pw = pg_server.password
    url = pg_server.create_database("e2e")
    (tmp_path / "s.toml").write_text(study_text("pg-e2e", trials=4))
    outputs = []

    done = run_cli("run", "s.toml", "--storage", url, "--workers", "2", cwd=tmp_path)
    outputs.append(done)
    assert done.returncode == 0, done.stderr
    assert "4/4 trials finished" in done.stdout

    ts = trials(url, "pg-e2e")
    complete = _complete(ts)
    assert len(complete) == 4 and len({t.number for t in ts}) == len(ts)
    assert all(isinstance(trial_attrs(t)["scores"][x], float) for t in complete for x in TARGETS)

    exported = run_cli("export", "pg-e2e", "--storage", url, "-o", "best.json", cwd=tmp_path)
    outputs.append(exported)
    assert exported.returncode == 0, exported.stderr
    doc = json.loads((tmp_path / "best.json").read_text())
    assert doc["study"] == "pg-e2e" and doc["mode"] == "per-target"
    by_number = {t.number: t for t in complete}
    for i, target in enumerate(TARGETS):
        best = max(complete, key=lambda t: t.values[i])
        entry = doc["targets"][target]
        assert entry["trial"] == best.number and entry["score"] == best.values[i]
        assert entry["score"] == trial_attrs(by_number[entry["trial"]])["scores"][target]
        stored = trial_attrs(by_number[entry["trial"]])["transform_params"]
        assert {k: entry["params"][k] for k in stored} == stored
    reference = next(t for t in complete if trial_attrs(t).get("reference") == "stft-4096-1024")
    assert doc["reference"]["stft-4096-1024"]["scores"] == trial_attrs(reference)["scores"]

    shown = run_cli("show", "pg-e2e", "--storage", url, cwd=tmp_path)
    listed = run_cli("list", "--storage", url, cwd=tmp_path)
    # The storage can also come from the environment; the report names it, masked.
    reported = run_cli(
        "report",
        "pg-e2e",
        "--no-spectrograms",
        "-o",
        "r.html",
        cwd=tmp_path,
        env={"SLICEQ22_STORAGE": url},
    )
    outputs += [shown, listed, reported]
    assert shown.returncode == 0 and "4/4 finished" in shown.stdout, shown.stderr
    assert listed.returncode == 0 and "pg-e2e" in listed.stdout, listed.stderr
    assert reported.returncode == 0, reported.stderr
    html = (tmp_path / "r.html").read_text()
    assert _masked(url, pw) in html and pw not in html

    for result in outputs:
        assert pw not in result.stdout and pw not in result.stderr, result.args
    # Nothing in the database holds it either: study and trial attributes, every row of every table.
    study = optuna.load_study(study_name="pg-e2e", storage=url)
    stored = [study.user_attrs] + [[t.user_attrs, t.system_attrs] for t in study.trials]
    assert "sliceq22.study_file" in study.user_attrs and pw not in json.dumps(stored, default=str)
    dump = pg_server.dump("e2e")
    assert "sliceq22.study_file" in dump and "transform_params" in dump  # the dump holds the study
    assert pw not in dump


def test_unreachable_or_refused_postgres_is_one_masked_line(
    pg_server: PgServer, tmp_path: Path
) -> None:
    pw = pg_server.password
    (tmp_path / "s.toml").write_text(study_text("nowhere"))
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    unreachable = f"postgresql+psycopg2://sliceq22:{pw}@127.0.0.1:{closed_port}/studies"
    wrong_pw = f"pw-wrong-{secrets.token_hex(6)}"
    cases = [
        (args, unreachable, "Connection refused")
        for args in (
            ["run", "s.toml"],
            ["resume", "nowhere"],
            ["show", "nowhere"],
            ["list"],
            ["export", "nowhere"],
            ["report", "nowhere"],
        )
    ]
    cases += [
        (["run", "s.toml"], pg_server.url(password=wrong_pw), "password authentication failed"),
        (["show", "nowhere"], pg_server.url("no_such_db"), 'database "no_such_db" does not exist'),
    ]
    # Independent refusals: run at the same time (studyrun.run_clis), each checked as before.
    results = run_clis(
        [[*args, "--storage", url] for args, url, _ in cases], cwd=tmp_path, timeout=60
    )
    for (args, url, message), result in zip(cases, results):
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, (args, result.stderr)
        assert "***" in lines[0] and message in lines[0], (args, lines[0])
        for secret in (pw, wrong_pw):
            assert secret not in result.stderr and secret not in result.stdout, (args, lines[0])


def test_every_password_form_is_masked(pg_server: PgServer, tmp_path: Path) -> None:
    # A password with URL-special characters, given percent-encoded (the correct form), as a
    # libpq query parameter (SQLAlchemy passes it to psycopg2), and pasted raw (a user's mistake).
    import psycopg2

    token = "".join(
        secrets.choice("ghjkmnpqrstvwxyz") for _ in range(10)
    )  # no digits: cannot match a port or pid
    secret = f"p@ss:w/rd?{token}"
    conn = psycopg2.connect(
        host="127.0.0.1",
        port=pg_server.port,
        user="sliceq22",
        password=pg_server.password,
        dbname="postgres",
    )
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE ROLE odd LOGIN PASSWORD %s", (secret,))
            cur.execute("CREATE DATABASE odd OWNER odd")
    finally:
        conn.close()
    port, enc = pg_server.port, quote(secret, safe="")
    wrong = quote(f"no{secret}", safe="")
    works = [
        f"postgresql+psycopg2://odd:{enc}@127.0.0.1:{port}/odd",
        f"postgresql+psycopg2:///odd?host=127.0.0.1&port={port}&user=odd&password={enc}",
    ]
    fails = [
        f"postgresql+psycopg2://odd:{wrong}@127.0.0.1:{port}/odd",
        f"postgresql+psycopg2:///odd?host=127.0.0.1&port={port}&user=odd&password={wrong}",
        f"postgresql+psycopg2://odd:{secret}@127.0.0.1:{port}/odd",
    ]
    # The whole secret, raw or encoded, or any part of it: its random tail and its distinctive head.
    pieces = (secret, enc, wrong, token, "p@ss:", "p%40ss")
    problems = []  # every form is tried, so one failure shows them all
    results = run_clis(
        [["list", "--storage", url] for url in works + fails], cwd=tmp_path, timeout=60
    )
    for url, result in zip(works + fails, results):
        out = result.stdout + result.stderr
        ok = result.returncode == (0 if url in works else 2) and not [p for p in pieces if p in out]
        if url in fails:
            ok = ok and len(result.stderr.strip().splitlines()) == 1 and "***" in result.stderr
        if not ok:
            problems.append((result.returncode, out.strip()))
    assert not problems, "\n".join(f"exit {code}: {out}" for code, out in problems)


def test_resume_after_driver_sigkill_on_postgres(pg_server: PgServer, tmp_path: Path) -> None:
    # Drill 3 of issue 7: SIGKILL the driver (and its Ray runtime) mid-trial, then resume.
    url = pg_server.create_database("crash")
    # Trials of 1-2 s each (SLOW_SPACE) and a budget that takes seconds, so that the kill,
    # a few ms after a running trial is seen, cannot land after the study is done.
    (tmp_path / "s.toml").write_text(
        study_text("pg-crash", trials=6, space=SLOW_SPACE, dataset='source = "example"')
    )
    proc = start_cli("run", "s.toml", "--storage", url, "--workers", "1", cwd=tmp_path)

    # Kill once a trial is recorded as dispatched (its candidate and driver named on it), so that
    # most
    # often a killed trial has a candidate to retry; another may have been asked for but not yet
    # drawn.
    def mid_trial(ts) -> bool:
        return len(_complete(ts)) >= 2 and any(
            t.state == TrialState.RUNNING and "driver_pid" in trial_attrs(t) for t in ts
        )

    try:
        assert wait_for(lambda: mid_trial(trials(url, "pg-crash")), timeout=180, proc=proc)
    finally:
        kill_session(proc)
    # Read after the kill: nothing changes any more, and this is what the killed run left.
    at_kill = trials(url, "pg-crash")
    before = {t.number: (t.params, t.values) for t in _complete(at_kill)}
    running = {t.number: trial_attrs(t) for t in at_kill if t.state == TrialState.RUNNING}
    leftovers = sorted(running)
    assert leftovers, [(t.number, t.state) for t in at_kill]  # the kill landed mid-trial

    resumed = run_cli("resume", "pg-crash", "--storage", url, "--workers", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "6/6 trials finished" in resumed.stdout
    assert f"recovered abandoned trial(s) {', '.join(map(str, leftovers))}" in resumed.stdout, (
        running,
        resumed.stdout,
    )
    final = trials(url, "pg-crash")
    complete = _complete(final)
    assert len(complete) == 6
    assert len({t.number for t in final}) == len(final)
    now = {t.number: (t.params, t.values) for t in complete}
    assert all(now[n] == before[n] for n in before)  # no completed trial lost or changed
    by_number = {t.number: t for t in final}
    for n in leftovers:
        assert (
            by_number[n].state == TrialState.FAIL
            and "abandoned" in trial_attrs(by_number[n])["failure"]
        )
        retried = [t for t in final if trial_attrs(t).get("retry_of") == n]
        if (
            "driver_pid" not in running[n]
        ):  # killed before its candidate was recorded: nothing ran, no retry
            assert not retried
            continue
        assert len(retried) == 1 and retried[0].params == by_number[n].params
        assert retried[0].state == TrialState.COMPLETE or "infeasible" in trial_attrs(retried[0])
    assert not [t for t in final if t.state == TrialState.RUNNING]
