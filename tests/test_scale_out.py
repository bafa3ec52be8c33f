"""Fault drills beyond one machine: several drivers on one PostgreSQL study, a multi-node
Ray cluster losing a node, and the database going away mid-study.

Real parts only: the PostgreSQL server the suite starts from the pgserver wheel,
``ray.cluster_utils.Cluster`` with two nodes, and the CLI in subprocesses.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from optuna.trial import TrialState

from pg import PgServer
from sliceq22.search.storage import open_storage
from sliceq22.search.trialattrs import trial_attrs
from studyrun import (
    SLOW_SPACE,
    exit_report,
    finish,
    kill_session,
    run_cli,
    run_in_process,
    start_cli,
    study_text,
    trials,
    wait_for,
    write_stem_folder,
)

pytestmark = pytest.mark.slow

#: Heavier candidates (1-2 s per trial on the whole example), 10 points: two-driver, outages.

#: A space with no infeasible point (hop <= n_fft / 2 everywhere), so every trial evaluates.
SPACE = """
[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [1024, 2048, 4096] }
hop = { choices = [128, 256, 512] }
"""


def _by_state(ts) -> Counter:
    return Counter(t.state for t in ts)


def test_two_drivers_share_one_budget(pg_server: PgServer, tmp_path: Path) -> None:
    """Drill 1: two drivers, one study, budget N: exactly N complete, each candidate evaluated
    once."""
    # A fresh database: the two drivers, started at the same moment, create Optuna's tables
    # between them (serialised by sliceq22.search.storage), with no `list` first.
    url = pg_server.create_database("drill1")
    budget = 8
    # Trials of ~1 s (the whole 5.9 s example, fine hops): long enough that the
    # second driver, whose Ray runtime starts a few seconds after the first's
    # on a loaded machine, still finds work (with 1.5 s excerpts one driver
    # could finish all 8 alone).
    (tmp_path / "s.toml").write_text(
        study_text(
            "two-drivers",
            trials=budget,
            space=SLOW_SPACE,
            dataset='source = "example"',
            sampler='name = "random"\nseed = 5',
        )
    )
    procs = [
        start_cli("run", "s.toml", "--storage", url, "--workers", "1", cwd=tmp_path)
        for _ in range(2)
    ]
    results = [finish(p) for p in procs]
    for code, _, err in results:
        assert code == 0, err
    final = trials(url, "two-drivers")
    states = _by_state(final)
    assert states[TrialState.COMPLETE] == budget, states
    assert states[TrialState.RUNNING] == 0 and states[TrialState.WAITING] == 0, states
    assert states[TrialState.FAIL] == 0, [trial_attrs(t).get("failure") for t in final]
    numbers = [t.number for t in final]
    assert len(numbers) == len(set(numbers))
    # Both drivers really worked on it, and the enqueued reference was taken by one of them once.
    drivers = {trial_attrs(t)["driver_pid"] for t in final}
    assert len(drivers) == 2, drivers
    assert sum(trial_attrs(t).get("reference") == "stft-4096-1024" for t in final) == 1
    # Each trial was evaluated by exactly one worker of one driver: a result, a worker, one driver.
    for t in final:
        attrs = trial_attrs(t)
        assert (
            attrs["tracks_evaluated"] == 1
            and attrs["worker_pid"]
            and attrs["driver_pid"] in drivers
        )


def test_node_removed_mid_study_fails_and_retries_its_trials(tmp_path: Path) -> None:
    """Drill 2: a two-node Ray cluster loses its worker node; its trial fails with a reason and is
    retried."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    try:
        node = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        url = f"sqlite:///{tmp_path / 'studies.db'}"
        # 6 tracks of 4 s: a trial's evaluation lasts long enough that the one seen running
        # on the node is still in it when the node goes (a trial whose every score had
        # arrived would rightly complete; on one short track that window was too wide).
        write_stem_folder(tmp_path / "stems", n_tracks=6, seconds=4.0)
        dataset = f'source = "folder"\nroot = "{tmp_path / "stems"}"'
        (tmp_path / "s.toml").write_text(
            study_text(
                "node-loss",
                trials=6,
                space=SPACE,
                dataset=dataset,
                sampler='name = "random"\nseed = 2',
            )
        )
        proc = start_cli(
            "run", "s.toml", "--storage", url, "--ray-address", cluster.address, cwd=tmp_path
        )
        try:

            def on_node():
                return [
                    t
                    for t in trials(url, "node-loss")
                    if t.state == TrialState.RUNNING
                    and trial_attrs(t).get("worker_node") == node.node_id
                ]

            assert wait_for(lambda: bool(on_node()), timeout=180, proc=proc), exit_report(proc)
            victims = {t.number for t in on_node()}
            cluster.remove_node(node)
            code, out, err = finish(proc, timeout=400)
        finally:
            kill_session(proc)
        assert code == 0, err
    finally:
        cluster.shutdown()
    final = trials(url, "node-loss")
    by_number = {t.number: t for t in final}
    failed = [n for n in victims if by_number[n].state == TrialState.FAIL]
    assert failed, [(n, by_number[n].state) for n in victims]
    for n in failed:
        assert "worker died" in trial_attrs(by_number[n])["failure"]
        retries = [t for t in final if trial_attrs(t).get("retry_of") == n]
        assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
        assert retries[0].params == by_number[n].params
    assert _by_state(final)[TrialState.COMPLETE] == 6
    assert all(
        trial_attrs(t)["worker_node"] != node.node_id
        for t in final
        if t.state == TrialState.COMPLETE and trial_attrs(t).get("retry_of") is not None
    )


def _run_with_outage(
    server: PgServer, url: str, tmp_path: Path, name: str, outage_s: float, patience: int
) -> tuple[int, str, str]:
    # ~1 s trials on the whole example: the outage must begin while trials remain
    # (with 1.5 s excerpts and memoised repeats all 6 could finish before it).
    (tmp_path / f"{name}.toml").write_text(
        study_text(
            name,
            trials=6,
            space=SLOW_SPACE,
            dataset='source = "example"',
            sampler='name = "random"\nseed = 9',
        )
    )
    proc = start_cli(
        "run",
        f"{name}.toml",
        "--storage",
        url,
        "--workers",
        "2",
        "--db-patience",
        str(patience),
        cwd=tmp_path,
    )
    try:
        assert wait_for(
            lambda: len([t for t in trials(url, name) if t.state == TrialState.COMPLETE]) >= 2,
            timeout=180,
            proc=proc,
        ), exit_report(proc)
        server.stop()
        if patience < outage_s:
            # The driver must give up while the database is away: keep it away until the
            # driver has exited (at most outage_s), not a fixed time that either wastes
            # seconds or, on a loaded machine, may end before the driver has given up.
            wait_for(lambda: proc.poll() is not None, timeout=outage_s)
        else:
            time.sleep(outage_s)
        server.start()
        return finish(proc, timeout=300)
    finally:
        kill_session(proc)


def test_database_outage_is_waited_out(tmp_path: Path) -> None:
    """Drill 4a: the database stops for a few seconds; the driver waits, then finishes the
    budget."""
    with PgServer() as server:
        url = server.create_database("outage")
        code, _, err = _run_with_outage(server, url, tmp_path, "outage", outage_s=5, patience=60)
        assert code == 0, err
        assert "lost the study storage" in err and server.password not in err
        final = trials(url, "outage")
        states = _by_state(final)
        assert states[TrialState.COMPLETE] == 6 and states[TrialState.RUNNING] == 0, states
        assert len({t.number for t in final}) == len(final)


def test_database_outage_beyond_patience_stops_cleanly_then_resumes(tmp_path: Path) -> None:
    """Drill 4b: the database stays away longer than the patience: one clear line, exit 2; resume
    finishes."""
    with PgServer() as server:
        url = server.create_database("longoutage")
        # The outage lasts until the driver exits (at most 60 s): beyond the 2 s patience.
        code, _, err = _run_with_outage(server, url, tmp_path, "long", outage_s=60, patience=2)
        assert code == 2, err
        last = err.strip().splitlines()[-1]
        assert (
            "lost the study storage" in last
            and "sliceq22 resume" in last
            and "Traceback" not in err
        )
        assert server.password not in err
        before = {t.number: t.values for t in trials(url, "long") if t.state == TrialState.COMPLETE}
        assert before
        resumed = run_cli("resume", "long", "--storage", url, "--workers", "2", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        final = trials(url, "long")
        complete = {t.number: t.values for t in final if t.state == TrialState.COMPLETE}
        assert len(complete) == 6
        assert all(complete[n] == v for n, v in before.items())
        assert not [t for t in final if t.state == TrialState.RUNNING]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_budget_lock_excludes_a_second_driver(
    backend: str, pg_server: PgServer, tmp_path: Path
) -> None:
    """The lock under which drivers check the budget and ask really excludes another holder."""
    import threading

    import sqlalchemy

    from sliceq22.search.budgetlock import BudgetLock

    if backend == "postgresql":
        url = pg_server.create_database("lockcheck")
    else:
        url = f"sqlite:///{tmp_path / 'lock.db'}"
    open_storage(url)
    # Two engines: two drivers' connections (for SQLite, two open files).
    first = BudgetLock(sqlalchemy.create_engine(url), "study")
    second = BudgetLock(sqlalchemy.create_engine(url), "study")
    other_study = BudgetLock(sqlalchemy.create_engine(url), "another study")
    held = threading.Event()

    def hold() -> None:
        with first.held():
            held.set()
            time.sleep(1.5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(30)
    start = time.monotonic()
    if backend == "postgresql":  # a different study's lock is independent
        with other_study.held():
            assert time.monotonic() - start < 0.5
    with second.held():
        waited = time.monotonic() - start
    holder.join()
    assert waited > 1.0, waited


def test_trial_with_a_stale_heartbeat_from_another_host_is_failed_and_retried(
    tmp_path: Path,
) -> None:
    """A trial left RUNNING by a driver on another machine that stopped beating is taken over."""
    import optuna

    from sliceq22.search.trialattrs import CANDIDATE

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    text = study_text("stale", trials=3, space=SPACE, sampler='name = "random"\nseed = 4')
    (tmp_path / "s.toml").write_text(text)
    # The study and its first trial, made in this process (no Ray runtime to start); the run
    # that must take the ghost over is the CLI's, below.
    run_in_process(tmp_path / "s.toml", url, trials=1)
    # What a driver on another host leaves behind when it loses power mid-trial.
    study = optuna.load_study(study_name="stale", storage=url)
    ghost = study.ask(
        {"stft.n_fft": optuna.distributions.CategoricalDistribution([1024, 2048, 4096])}
    )
    ghost.suggest_categorical("stft.hop", [128, 256, 512])
    params = {"n_fft": ghost.params["stft.n_fft"], "hop": ghost.params["stft.hop"]}
    ghost.set_user_attr(
        CANDIDATE,
        {
            "label": "stft",
            "family": "stft",
            "transform_params": params,
            "driver_host": "elsewhere.example",
            "driver_pid": 1,
        },
    )
    ghost.set_user_attr("heartbeat", time.time() - 1000)
    done = run_cli("run", "s.toml", "--storage", url, "--trials", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"recovered abandoned trial(s) {ghost.number}" in done.stdout
    final = {t.number: t for t in trials(url, "stale")}
    assert final[ghost.number].state == TrialState.FAIL
    assert (
        "no heartbeat from its driver on elsewhere.example"
        in trial_attrs(final[ghost.number])["failure"]
    )
    retry = [t for t in final.values() if trial_attrs(t).get("retry_of") == ghost.number]
    assert (
        len(retry) == 1
        and retry[0].state == TrialState.COMPLETE
        and retry[0].params == final[ghost.number].params
    )
    assert sum(t.state == TrialState.COMPLETE for t in final.values()) == 3
