"""Helpers for the study tests: write study files and stem folders, run the CLI, read storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import soundfile

from sliceq22 import TARGETS

CLI = [sys.executable, "-m", "sliceq22"]

STFT_SPACE = """
[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [512, 1024, 2048, 4096] }
hop = { choices = [128, 256, 512, 1024] }
"""

#: Trials of 1-2 s on the whole example (tiny hops of long FFTs): a drill's kill or second
#: driver lands while trials still run, even on a loaded machine. 18 candidates, so that a
#: budget of 8 random draws repeats few of them (a repeat is told the stored result at once).
SLOW_SPACE = """
[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [4096, 8192] }
hop = { choices = [64, 80, 96, 112, 128, 144, 160, 176, 192] }
"""


def study_text(
    name: str,
    *,
    mode: str = "per-target",
    trials: int = 4,
    dataset: str = 'source = "example"\nduration = 1.5',
    space: str = STFT_SPACE,
    extra: str = "",
    sampler: str = 'name = "tpe"\nseed = 7\nstartup_trials = 2',
) -> str:
    """A small study file; tests vary its parts."""
    return f"""
[study]
name = "{name}"
mode = "{mode}"
trials = {trials}

[dataset]
{dataset}

[objective]
name = "mpi"
metric = "sdr-global"

[sampler]
{sampler}

[[reference]]
label = "stft-4096-1024"
family = "stft"
params = {{ n_fft = 4096, hop = 1024 }}
{space}
{extra}
"""


def write_stem_folder(root: Path, n_tracks: int, seconds: float) -> Path:
    """A folder dataset (one sub-folder per track, WAV stems) cut from the bundled example."""
    import stempeg

    stems, rate = stempeg.read_stems(stempeg.example_stem_path())
    length = int(seconds * rate)
    start = 8192
    for i in range(n_tracks):
        folder = root / f"track{i}"
        folder.mkdir(parents=True)
        offset = start + i * (stems.shape[1] - 2 * start - length) // max(1, n_tracks - 1)
        for k, name in enumerate(("mixture", *TARGETS)):
            soundfile.write(
                folder / f"{name}.wav",
                stems[k, offset : offset + length].astype(np.float32),
                rate,
                subtype="FLOAT",
            )
    return root


def run_cli(
    *args: str,
    cwd: Path,
    timeout: float = 300,
    env: dict | None = None,
    prefix: list[str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``sliceq22 ARGS`` (after the ``prefix`` command, if any) and return the completed
    process."""
    full_env = {**os.environ, "SLICEQ22_NO_PROGRESS": "1", **(env or {})}
    return subprocess.run(
        [*(prefix or []), *CLI, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def run_clis(
    calls: list[list[str]], *, cwd: Path, timeout: float = 300
) -> list[subprocess.CompletedProcess]:
    """Run independent ``sliceq22`` commands at the same time; their results, in order.

    For commands that are each refused or only read: most of a CLI call's wall time is
    starting the interpreter and importing, which overlaps across processes.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(run_cli, *args, cwd=cwd, timeout=timeout) for args in calls]
        return [future.result() for future in futures]


def run_in_process(study_file: Path, url: str, *, trials: int | None = None) -> None:
    """Run a study to ``trials`` (default its budget) in this process, without Ray.

    For tests whose claim is about a later CLI command on an existing study: the
    study is made by the real driver, objective and transforms
    (:class:`~sliceq22.search.evaluator.LocalEvaluator`, what a Ray worker runs), in
    a fraction of the time a ``sliceq22 run`` subprocess takes to start and stop its
    Ray runtime. The storage's connections are closed before returning, so nothing
    in this process touches the file afterwards.
    """
    from sliceq22.search.config import load_study_file
    from sliceq22.search.driver import StudyDriver
    from sliceq22.search.evaluator import LocalEvaluator
    from sliceq22.search.storage import open_storage

    storage = open_storage(url, create=True)
    try:
        StudyDriver(
            load_study_file(study_file),
            storage,
            budget=trials,
            progress=False,
            evaluator=LocalEvaluator(),
        ).run()
    finally:
        if isinstance(storage, optuna.storages.RDBStorage):
            storage.engine.dispose()


def start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    """Start ``sliceq22 ARGS`` in its own session, so the driver and its Ray processes can be
    killed together."""
    env = {**os.environ, "SLICEQ22_NO_PROGRESS": "1"}
    return subprocess.Popen(
        [*CLI, *args],
        cwd=cwd,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def exit_report(proc: subprocess.Popen) -> str:
    """What a started CLI said, for a failed wait: its stderr once it has exited."""
    if proc.poll() is None:
        return "the CLI is still running"
    return f"the CLI exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"


def kill_session(proc: subprocess.Popen) -> None:
    """SIGKILL the process and everything in its session (the local Ray runtime included)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    _kill_orphans(proc.pid)


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    """Wait for a :func:`start_cli` process; return its status, stdout and stderr."""
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        kill_session(proc)
    return proc.returncode, out, err


def _kill_orphans(session: int) -> None:
    # Ray's agents can outlive their driver; find them by session id.
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            if os.getsid(int(pid_dir.name)) == session:
                os.kill(int(pid_dir.name), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            continue


def trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    """Every trial of study ``name``."""
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def wait_for(
    predicate, timeout: float, interval: float = 0.1, *, proc: subprocess.Popen | None = None
) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass.

    With ``proc``, also stop once that process has exited (after one last try of the
    predicate): what the test waits for can no longer happen, so a failing drill fails at
    once instead of after the whole timeout.
    """
    end = time.time() + timeout
    while time.time() < end:
        exited = proc is not None and proc.poll() is not None
        try:
            if predicate():
                return True
        except Exception:  # the storage may be mid-creation while the driver starts
            pass
        if exited:
            return False
        time.sleep(interval)
    return False
