"""One budget for a study however many drivers work on it.

Each driver decides to start a trial only if the study's finished trials plus
the trials running anywhere stay below the budget. Two drivers checking at
the same moment would both see room for one more and overshoot, so the check
and Optuna's ``ask`` happen under a lock that every driver of the study takes:

- PostgreSQL: a transaction-level advisory lock (``pg_advisory_xact_lock``),
  released by the server even if the driver dies holding it.
- MySQL: ``GET_LOCK`` (written for MySQL, not tested here: no server).
- SQLite: an exclusive ``flock`` on the database file (drivers on one host
  only, which is all SQLite supports; SQLite's own locks are POSIX record
  locks, which ``flock`` does not touch).

Anything else (an in-memory storage in tests) gets a process-local lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy
import sqlalchemy.exc


def _key(study_name: str) -> int:
    """A stable signed 64-bit key for the study (advisory locks take bigint keys)."""
    digest = hashlib.sha256(f"sliceq22:{study_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class BudgetLock:
    """A lock shared by every driver of one study.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine or None
        The storage's engine (``RDBStorage.engine``); ``None`` for a
        process-local lock.
    study_name : str
        The study whose budget is guarded.
    """

    def __init__(
        self,
        engine: sqlalchemy.engine.Engine | None,
        study_name: str,
        patiently: Callable[..., Any] | None = None,
    ) -> None:
        self.engine = engine
        self.patiently = patiently or (lambda fn, *a, **k: fn(*a, **k))
        self.key = _key(study_name)
        self.name = study_name
        self._local = threading.Lock()
        self.dialect = engine.dialect.name if engine is not None else "local"
        database = engine.url.database if engine is not None else None
        self.sqlite_path = (
            Path(database)
            if self.dialect == "sqlite" and database and database != ":memory:"
            else None
        )

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the duration of the ``with`` block."""
        with self._local:
            if self.dialect == "postgresql":
                conn = self.patiently(
                    self._connect_and_lock, "SELECT pg_advisory_xact_lock(:k)", {"k": self.key}
                )
                try:
                    yield
                finally:
                    _release(conn, None)  # ending the transaction releases the lock
            elif self.dialect in ("mysql", "mariadb"):
                name = f"sliceq22:{self.key}"
                conn = self.patiently(
                    self._connect_and_lock, "SELECT GET_LOCK(:n, -1)", {"n": name}
                )
                try:
                    yield
                finally:
                    _release(conn, ("SELECT RELEASE_LOCK(:n)", {"n": name}))
            elif self.sqlite_path is not None:
                with open(self.sqlite_path, "rb") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                    try:
                        yield
                    finally:
                        fcntl.flock(handle, fcntl.LOCK_UN)
            else:
                yield

    def _connect_and_lock(
        self, statement: str, params: dict[str, Any]
    ) -> sqlalchemy.engine.Connection:
        conn = self.engine.connect()  # type: ignore[union-attr]
        try:
            conn.begin()
            conn.execute(sqlalchemy.text(statement), params)
        except BaseException:
            conn.close()
            raise
        return conn


def _release(
    conn: sqlalchemy.engine.Connection, statement: tuple[str, dict[str, Any]] | None
) -> None:
    """End the lock's transaction (and run ``statement`` first); a lost connection has released it
    already."""
    try:
        if statement is not None:
            conn.execute(sqlalchemy.text(statement[0]), statement[1])
        conn.commit()
    except sqlalchemy.exc.SQLAlchemyError:
        pass  # the server dropped the connection, and the lock with it
    finally:
        conn.close()
