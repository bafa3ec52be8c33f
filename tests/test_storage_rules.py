"""Storage URLs and databases: what is refused (one line, exit 2), what is never created.

Real SQLite files and the suite's real PostgreSQL server; the CLI in subprocesses.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

from sliceq22.search.storage import OPTUNA_TABLES, open_storage
from studyrun import run_cli, run_clis, study_text


def _one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("not-a-url", "give sqlite:///not-a-url"),
        ("/some/path/studies.db", "give sqlite:////some/path/studies.db"),
        ("foo://bar", "unknown kind of database 'foo'"),
        ("sqlite:////", "is a folder, not a database file"),
        ("sqlite://", "in-memory database"),
    ],
)
def test_bad_urls_name_the_form_to_use(tmp_path: Path, storage: str, message: str) -> None:
    (tmp_path / "s.toml").write_text(study_text("u", trials=1))
    calls = [["list"], ["show", "u"], ["run", "s.toml"], ["dashboard", "u"]]
    results = run_clis([[*args, "--storage", storage] for args in calls], cwd=tmp_path, timeout=60)
    for args, result in zip(calls, results):
        line = _one_line(result)
        assert message in line, (args, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_in_memory_storage_is_refused_for_writers(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(study_text("m", trials=1))
    calls = [
        [*args, "--storage", storage]
        for storage in ("sqlite:///", "sqlite://", "sqlite:///:memory:")
        for args in (["run", "s.toml"], ["resume", "m"])
    ]
    for result in run_clis(calls, cwd=tmp_path, timeout=60):
        line = _one_line(result)
        assert "in-memory" in line and "sqlite:///" in line, line


def test_folder_as_storage_says_it_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(study_text("f", trials=1))
    line = _one_line(run_cli("run", "s.toml", "--storage", f"sqlite:///{tmp_path}", cwd=tmp_path))
    assert f"{tmp_path} is a folder" in line and f"sqlite:///{tmp_path}/sliceq22.db" in line


def test_foreign_database_is_never_given_optuna_tables(tmp_path: Path) -> None:
    db = tmp_path / "someone-else.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    before = db.read_bytes()
    (tmp_path / "s.toml").write_text(study_text("f", trials=1))
    url = f"sqlite:///{db}"
    cases = (
        (["list"], "holds no studies: it holds 1 table(s) of another program (invoices)"),
        (["show", "f"], "of another program"),
        (["export", "f"], "of another program"),
        (["run", "s.toml"], "does not add its tables to another program's database"),
        (["resume", "f"], "of another program"),
    )
    results = run_clis([[*args, "--storage", url] for args, _ in cases], cwd=tmp_path, timeout=60)
    for (args, message), result in zip(cases, results):
        line = _one_line(result)
        assert message in line, (args, line)
    assert db.read_bytes() == before and _tables(db) == {"invoices"}


def test_readers_never_create_tables(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    listed = run_cli("list", "--storage", f"sqlite:///{empty}", cwd=tmp_path)
    assert listed.returncode == 0 and "no studies" in listed.stdout
    line = _one_line(run_cli("show", "x", "--storage", f"sqlite:///{empty}", cwd=tmp_path))
    assert "no study named 'x'" in line
    assert empty.stat().st_size == 0
    missing = tmp_path / "missing.db"
    _one_line(run_cli("list", "--storage", f"sqlite:///{missing}", cwd=tmp_path))
    assert not missing.exists()


@pytest.mark.slow
def test_fresh_postgresql_database_opened_by_many_processes_at_once(
    pg_server, tmp_path: Path
) -> None:
    """Optuna's table creation races (UNIQUE violations) unless serialised; here it is."""
    url = pg_server.create_database("race")
    # Every process imports, says so on stdout, then polls (each ms) for the go file: all
    # four open the storage within a few milliseconds of each other, as soon as the slowest
    # is ready (rather than at a fixed time chosen late enough for a loaded machine).
    go = tmp_path / "go"
    code = (
        "import os, sys, time; from sliceq22.search.storage import open_storage; "
        "print('ready', flush=True)\n"
        "while not os.path.exists(sys.argv[2]): time.sleep(0.001)\n"
        "open_storage(sys.argv[1]); print('ok')"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        go.touch()
    finally:
        go.touch()  # never leave a process spinning
    outcomes = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outcomes):
        assert proc.returncode == 0 and out.strip() == "ok", err[-2000:]
    engine = sqlalchemy.create_engine(url)
    try:
        tables = set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert OPTUNA_TABLES - {"alembic_version"} <= tables


@pytest.mark.slow
def test_fresh_postgresql_database_is_read_without_creating_tables(pg_server) -> None:
    url = pg_server.create_database("untouched")
    storage = open_storage(url, create=False)
    assert storage.get_all_studies() == []
    engine = sqlalchemy.create_engine(url)
    try:
        assert sqlalchemy.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
