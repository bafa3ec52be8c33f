"""A real PostgreSQL server for the tests and benchmarks, from the binaries the ``pgserver`` wheel
ships.

``pgserver.get_server`` itself only listens on a unix socket with ``trust``
authentication, so a password in the URL would never be checked. Here the same
bundled binaries (PostgreSQL 16) are driven directly: ``initdb`` with
SCRAM password authentication for TCP, the server on ``127.0.0.1`` at a free
port, and one URL per database::

    postgresql+psycopg2://sliceq22:<password>@127.0.0.1:<port>/<database>

PostgreSQL refuses to run as root. Under root the server runs as the system
user ``pgserver`` (created with ``useradd`` if missing, as pgserver does); its
data directory is a fresh ``/tmp/sliceq22-pg-*`` folder owned by that user, so
no existing folder's permissions change.

Use as a context manager, or ``start()`` / ``stop()`` (keeps the data, so a
test can take the database away and bring it back) / ``close()`` (stops and
deletes the folder).
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Self

with warnings.catch_warnings():
    # pgserver's import asks platformdirs for a runtime folder it never uses here ($XDG_RUNTIME_DIR
    # unset).
    warnings.simplefilter("ignore")
    import pgserver

#: The role the URLs log in as (a superuser, so tests may create databases).
USER = "sliceq22"
#: The system user the server runs as when this process is root (pgserver's choice).
SYSTEM_USER = "pgserver"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgServer:
    """One PostgreSQL server in a temporary folder.

    Parameters
    ----------
    password : str, optional
        Password of role :data:`USER`; default a random one (distinctive, so
        tests can search output for it).
    settings : dict, optional
        Extra server settings (``-c name=value``), e.g. ``{"fsync": "off"}``.
    """

    def __init__(self, password: str | None = None, settings: dict[str, str] | None = None) -> None:
        self.password = password or f"pw-{secrets.token_hex(10)}"
        self.settings = dict(settings or {})
        self.run_as = SYSTEM_USER if os.geteuid() == 0 else None
        self.root: Path | None = None
        self.port = 0
        self.start_seconds = 0.0  # initdb + first start, for the record

    # ---------------------------------------------------------------- paths
    @property
    def pgdata(self) -> Path:
        assert self.root is not None, "server not started"
        return self.root / "data"

    def url(self, database: str = USER, *, password: str | None = None) -> str:
        """SQLAlchemy URL of ``database`` over TCP, with the password (or another one, to test
        refusals)."""
        pw = self.password if password is None else password
        return f"postgresql+psycopg2://{USER}:{pw}@127.0.0.1:{self.port}/{database}"

    # ---------------------------------------------------------------- life cycle
    def _ids(self) -> tuple[int, int]:
        import pwd

        entry = pgserver.utils.ensure_user_exists(self.run_as)
        assert isinstance(entry, pwd.struct_passwd)
        return entry.pw_uid, entry.pw_gid

    def _init(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sliceq22-pg-"))
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.run_as is not None:
            uid, gid = self._ids()
            os.chown(self.root, uid, gid)
            os.chown(pwfile, uid, gid)
        # Local socket: trust (administration only); TCP: SCRAM, so a wrong password is refused.
        pgserver.initdb(
            [
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=utf8",
                "--no-sync",
            ],
            pgdata=self.pgdata,
            user=self.run_as,
        )
        pwfile.unlink()

    def start(self) -> Self:
        """Initialise (first call) and start the server; return self once it accepts connections."""
        t0 = time.perf_counter()
        if self.root is None:
            self._init()
            self.port = _free_port()
            atexit.register(self.close)  # a test session that dies early still stops its server
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root}"
        for key, value in self.settings.items():
            options += f" -c {key}={value}"
        pgserver.pg_ctl(
            ["-w", "-t", "60", "-l", str(self.root / "log"), "-o", options, "start"],
            pgdata=self.pgdata,
            user=self.run_as,
            timeout=90,
        )
        if not self.start_seconds:
            self.start_seconds = time.perf_counter() - t0
        return self

    def running(self) -> bool:
        """Whether the postmaster is up."""
        return (
            self.root is not None
            and (self.pgdata / "postmaster.pid").exists()
            and self._pid() is not None
        )

    def _pid(self) -> int | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, IndexError, ProcessLookupError):
            return None

    def stop(self) -> None:
        """Stop the server (fast shutdown: clients are disconnected) and wait for all its
        processes; the data stays."""
        if self.root is None or self._pid() is None:
            return
        pids = self.server_pids()
        try:
            pgserver.pg_ctl(
                ["-w", "-t", "30", "-m", "fast", "stop"],
                pgdata=self.pgdata,
                user=self.run_as,
                timeout=60,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass  # shutdown hung: killed below
        # pg_ctl returns when postmaster.pid is gone; its children may still be exiting.
        end = time.time() + 10
        while time.time() < end and any(_alive(p) for p in pids):
            time.sleep(0.05)
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Stop the server and delete its folder."""
        if self.root is None:
            return
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
        atexit.unregister(self.close)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- databases
    def create_database(self, name: str) -> str:
        """Create database ``name`` (owned by :data:`USER`) and return its URL."""
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=USER, password=self.password, dbname="postgres"
        )
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def dump(self, database: str) -> str:
        """Everything ``database`` holds, as the SQL text ``pg_dump`` writes (schema and rows)."""
        from pgserver._commands import POSTGRES_BIN_PATH

        done = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "pg_dump"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                USER,
                database,
            ],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout

    def server_pids(self) -> list[int]:
        """The postmaster and its children (backends, checkpointer, ...), from /proc."""
        pid = self._pid()
        if pid is None:
            return []
        pids = [pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split
                    # after ")".
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(entry.name))
                except (OSError, IndexError, ValueError):
                    continue
        return pids


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def postgres_processes() -> list[int]:
    """Pids of every live process named ``postgres`` on the machine (to check none is left behind).

    Zombies are not counted: a stopped postmaster is a child of init, which reaps it a moment later.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres" and _alive(int(entry.name)):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


__all__ = ["USER", "PgServer", "postgres_processes"]
