"""A real Ray head on 127.0.0.1 for the Ray Jobs tests: its own temp dir, ports and token.

``ray start --head --block`` runs in the foreground, and a SIGTERM to it stops
every process it started, so the head is stopped by the pid this helper
started, never with ``ray stop`` (which would stop every Ray process on the
machine, other sessions' included). Processes that outlive it (their command
lines name this head's own temp dir, which nothing else uses) are then ended by
their pids too.

The head uses token authentication with a token of its own (``RAY_AUTH_MODE``
and ``RAY_AUTH_TOKEN`` in :attr:`RayHead.env`), so ``~/.ray/auth_token`` is
neither read nor written. Every client (``ray job submit``) needs the same env.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Self

#: The ``ray`` command of the interpreter running the tests.
RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _free_range(width: int) -> int:
    """The first of ``width`` consecutive ports that are free now (worker ports)."""
    for _ in range(200):
        base = 20000 + secrets.randbelow(20000)
        socks = []
        try:
            for port in range(base, base + width):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no free range of ports")


def _pids_of(text: str, session: int | None) -> list[int]:
    """Processes whose command line contains ``text`` (this head's unique temp dir) or in
    ``session``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            in_session = session is not None and os.getsid(int(entry.name)) == session
        except OSError:
            continue
        if text in cmdline or in_session:
            pids.append(int(entry.name))
    return pids


class RayHead:
    """``ray start --head --block`` on 127.0.0.1 with its own temp dir, ports and auth token.

    Parameters
    ----------
    num_cpus : int
        CPUs the head offers.
    """

    def __init__(self, num_cpus: int = 2) -> None:
        self.num_cpus = num_cpus
        # Short: Ray's unix sockets live under it, and socket paths are limited to 107 bytes.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="sq22ray-", dir="/tmp"))
        self.gcs_port = _free_port()
        self.dashboard_port = _free_port()
        self.token = secrets.token_hex(16)
        self.env = {
            **os.environ,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": self.token,
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        self.env.pop("RAY_ADDRESS", None)
        self.process: subprocess.Popen | None = None

    @property
    def gcs_address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the head and wait until its Jobs API answers."""
        workers = _free_range(40)
        command = [
            RAY,
            "start",
            "--head",
            "--block",
            "--disable-usage-stats",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(self.gcs_port),
            "--num-cpus",
            str(self.num_cpus),
            "--temp-dir",
            str(self.temp_dir),
            "--include-dashboard",
            "true",
            "--dashboard-host",
            "127.0.0.1",
            "--dashboard-port",
            str(self.dashboard_port),
            "--ray-client-server-port",
            str(_free_port()),
            "--node-manager-port",
            str(_free_port()),
            "--object-manager-port",
            str(_free_port()),
            "--dashboard-agent-listen-port",
            str(_free_port()),
            "--dashboard-agent-grpc-port",
            str(_free_port()),
            "--runtime-env-agent-port",
            str(_free_port()),
            "--metrics-export-port",
            str(_free_port()),
            "--min-worker-port",
            str(workers),
            "--max-worker-port",
            str(workers + 39),
            "--object-store-memory",
            str(200 * 1024 * 1024),
        ]
        self.log = open(self.temp_dir / "head.log", "w")
        self.process = subprocess.Popen(
            command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"ray start exited {self.process.returncode}:\n{self.head_log()}"
                )
            try:
                request = urllib.request.Request(
                    f"{self.dashboard_url}/api/jobs/",
                    headers={"Authorization": f"Bearer {self.token}"},
                )
                with urllib.request.urlopen(request, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(
            f"the Ray head's Jobs API did not answer in {timeout_s:.0f} s:\n{self.head_log()}"
        )

    def head_log(self) -> str:
        self.log.flush()
        return (self.temp_dir / "head.log").read_text(errors="replace")[-4000:]

    def leftover_pids(self) -> list[int]:
        """Processes of this head still alive (none after :meth:`close`)."""
        return _pids_of(str(self.temp_dir), self.process.pid if self.process is not None else None)

    def close(self) -> None:
        """Stop the head by its pid, then any process of it that is left, and delete the temp
        dir."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        deadline = time.monotonic() + 15
        while self.leftover_pids() and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in self.leftover_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
        if hasattr(self, "log"):
            self.log.close()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
