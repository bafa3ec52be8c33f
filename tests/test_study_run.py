"""Studies end to end on real Optuna, real Ray (local runtime) and real SQLite, through the CLI."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from optuna.trial import TrialState

from sliceq22 import TARGETS
from sliceq22.search.trialattrs import trial_attrs
from studyrun import (
    exit_report,
    finish,
    kill_session,
    run_cli,
    run_clis,
    run_in_process,
    start_cli,
    study_text,
    trials,
    wait_for,
    write_stem_folder,
)

pytestmark = pytest.mark.slow


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studies.db'}"


def _complete(ts) -> list:
    return [t for t in ts if t.state == TrialState.COMPLETE]


def test_study_runs_exports_and_continues(tmp_path: Path) -> None:
    # hop 1024 with n_fft 512 or 1024 is infeasible for a Hann window: recorded as such
    # (PRUNED with the reason, so TPE learns to avoid it), not counted against the budget.
    (tmp_path / "s.toml").write_text(study_text("e2e", trials=5))
    url = _url(tmp_path)
    done = run_cli("run", "s.toml", "--storage", url, "--workers", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "5/5 trials finished" in done.stdout
    for target in TARGETS:
        assert target in done.stdout

    ts = trials(url, "e2e")
    complete = _complete(ts)
    assert len(complete) == 5
    assert all(isinstance(trial_attrs(t)["scores"][x], float) for t in complete for x in TARGETS)
    infeasible = [t for t in ts if "infeasible" in trial_attrs(t)]
    assert all(t.state == TrialState.PRUNED for t in infeasible)
    assert all("hop" in trial_attrs(t)["infeasible"] for t in infeasible)
    reference = [t for t in complete if trial_attrs(t).get("reference") == "stft-4096-1024"]
    assert len(reference) == 1 and reference[0].number == 0

    exported = run_cli("export", "e2e", "--storage", url, "-o", "best.json", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    doc = json.loads((tmp_path / "best.json").read_text())
    assert doc["study"] == "e2e" and doc["mode"] == "per-target" and doc["shared"] is None
    by_number = {t.number: t for t in complete}
    for target in TARGETS:
        best = max(complete, key=lambda t: t.values[TARGETS.index(target)])
        entry = doc["targets"][target]
        assert entry["score"] == pytest.approx(best.values[TARGETS.index(target)], abs=0)
        assert entry["score"] == trial_attrs(by_number[entry["trial"]])["scores"][target]
        assert entry["family"] == "stft"
        stored = trial_attrs(by_number[entry["trial"]])["transform_params"]
        assert {k: entry["params"][k] for k in stored} == stored
        assert (
            entry["params"]["window"] == "hann"
        )  # defaults filled in: the constructor takes it as is
    ref = doc["reference"]["stft-4096-1024"]
    assert ref["params"]["n_fft"] == 4096 and ref["scores"] == trial_attrs(reference[0])["scores"]

    # Already at budget: nothing more runs. --trials raises the budget, counting stored trials.
    again = run_cli("run", "s.toml", "--storage", url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(_complete(trials(url, "e2e"))) == 5
    more = run_cli(
        "resume", "e2e", "--storage", url, "--trials", "7", "--workers", "1", cwd=tmp_path
    )
    assert more.returncode == 0, more.stderr
    after = trials(url, "e2e")
    assert len(_complete(after)) == 7
    assert {t.number: t.values for t in complete} == {
        t.number: t.values for t in _complete(after) if t.number in by_number
    }

    shown = run_cli("show", "e2e", "--storage", url, cwd=tmp_path)
    assert shown.returncode == 0 and "7/7 finished" in shown.stdout
    listed = run_cli("list", "--storage", url, cwd=tmp_path)
    assert listed.returncode == 0 and "e2e" in listed.stdout

    # The same name with a different study file: refused, storage untouched.
    (tmp_path / "changed.toml").write_text(
        study_text("e2e", trials=5).replace("[512, 1024, 2048, 4096]", "[512, 8192]")
    )
    refused = run_cli("run", "changed.toml", "--storage", url, cwd=tmp_path)
    assert refused.returncode == 2
    assert (
        "exists with a different study file" in refused.stderr and "Traceback" not in refused.stderr
    )
    assert len(refused.stderr.strip().splitlines()) == 1
    assert [(t.number, t.state, t.values) for t in trials(url, "e2e")] == [
        (t.number, t.state, t.values) for t in after
    ]


def test_bad_storage_and_names(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(study_text("x"))
    cases = [
        (
            ["run", "s.toml", "--storage", "postgresql+psycopg2://me:hunter2@127.0.0.1:9/none"],
            "cannot open storage",
        ),
        (
            ["run", "s.toml", "--storage", f"sqlite:///{tmp_path}/no/such/dir/x.db"],
            "does not exist",
        ),
        (["show", "nope", "--storage", _url(tmp_path)], "no study storage"),
        (["run", "missing.toml"], "study file not found"),
        (
            ["run", "s.toml", "--ray-address", "127.0.0.1:9"],
            "cannot reach the Ray cluster at 127.0.0.1:9",
        ),
    ]
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    cases.append(
        (["run", "s.toml", "--storage", f"sqlite:///{tmp_path}/junk.db"], "cannot open storage")
    )
    # Independent refusals: run at the same time (studyrun.run_clis), each checked as before.
    results = run_clis([args for args, _ in cases], cwd=tmp_path, timeout=120)
    for (args, message), result in zip(cases, results):
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "hunter2" not in result.stderr
    assert (tmp_path / "junk.db").read_bytes() == b"this is not a database" * 100


def test_read_only_storage_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    # Root ignores file permissions; dropping the DAC-override capabilities from the
    # child makes it see permissions as any user would (the interpreter under /root
    # stays readable: root owns it).
    no_override = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    (tmp_path / "s.toml").write_text(study_text("ro", trials=2))
    db = tmp_path / "ro.db"
    # The study with one finished trial, made in this process (no Ray runtime to start):
    # what is tested is how the CLI treats it once read-only.
    run_in_process(tmp_path / "s.toml", f"sqlite:///{db}", trials=1)
    db.chmod(0o444)
    before = db.read_bytes()
    locked_dir = tmp_path / "locked"
    locked_dir.mkdir()
    locked_dir.chmod(0o555)
    cases = [
        (["run", "s.toml", "--storage", f"sqlite:///{db}", "--trials", "2"], "is read-only"),
        (["resume", "ro", "--storage", f"sqlite:///{db}", "--trials", "2"], "is read-only"),
        (["run", "s.toml", "--storage", f"sqlite:///{locked_dir / 'new.db'}"], "folder"),
    ]
    for args, message in cases:
        result = run_cli(*args, cwd=tmp_path, prefix=no_override)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert db.read_bytes() == before
    assert not (locked_dir / "new.db").exists()
    # Reading a read-only study still works.
    shown = run_cli("show", "ro", "--storage", f"sqlite:///{db}", cwd=tmp_path, prefix=no_override)
    assert shown.returncode == 0 and "1/1 finished" in shown.stdout, shown.stderr
    assert db.read_bytes() == before


def _two_done_one_running(url: str, name: str) -> bool:
    """At least two trials complete and one running, in one read of the study."""
    now = trials(url, name)
    return len(_complete(now)) >= 2 and any(t.state == TrialState.RUNNING for t in now)


def test_resume_after_driver_sigkill(tmp_path: Path) -> None:
    # 6 tracks of 3 s: an evaluated trial runs ~1 s (on 1.5 s of the example, ~0.2 s:
    # a poll could miss every moment with one running and fail the drill).
    write_stem_folder(tmp_path / "stems", n_tracks=6, seconds=3.0)
    dataset = f'source = "folder"\nroot = "{tmp_path / "stems"}"'
    (tmp_path / "s.toml").write_text(study_text("crash", trials=8, dataset=dataset))
    url = _url(tmp_path)
    proc = start_cli("run", "s.toml", "--storage", url, "--workers", "1", cwd=tmp_path)
    try:
        assert wait_for(lambda: _two_done_one_running(url, "crash"), timeout=180, proc=proc), (
            exit_report(proc)
        )
    finally:
        kill_session(proc)
    # Read after the kill: nothing changes any more, and this is what the killed run left.
    at_kill = trials(url, "crash")
    before = {t.number: t.values for t in _complete(at_kill)}
    leftovers = [t.number for t in at_kill if t.state == TrialState.RUNNING]
    assert leftovers, [(t.number, t.state) for t in at_kill]  # the kill landed mid-trial

    resumed = run_cli("resume", "crash", "--storage", url, "--workers", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    final = trials(url, "crash")
    complete = _complete(final)
    assert len(complete) == 8
    assert all(before[n] == t.values for t in complete for n in [t.number] if n in before)
    assert set(before) <= {t.number for t in complete}
    by_number = {t.number: t for t in final}
    for n in leftovers:
        assert by_number[n].state == TrialState.FAIL
        assert "abandoned" in trial_attrs(by_number[n])["failure"]
        retried = [t for t in final if trial_attrs(t).get("retry_of") == n]
        if "label" in trial_attrs(by_number[n]):
            assert len(retried) == 1 and retried[0].params == by_number[n].params
        else:  # killed while its candidate was being drawn: nothing ran, nothing to retry
            assert not retried
    assert not [t for t in final if t.state == TrialState.RUNNING]


def test_worker_killed_mid_trial_is_failed_and_retried(tmp_path: Path) -> None:
    # 8 tracks of 5 s: an evaluation lasts ~1.5 s (streamed evaluation is fast), so the
    # worker found running a trial is still in it when the kill lands; a kill after its
    # last track's score has arrived would rightly complete that trial instead.
    write_stem_folder(tmp_path / "stems", n_tracks=8, seconds=5.0)
    dataset = f'source = "folder"\nroot = "{tmp_path / "stems"}"'
    (tmp_path / "s.toml").write_text(study_text("workerkill", trials=5, dataset=dataset))
    url = _url(tmp_path)
    proc = start_cli("run", "s.toml", "--storage", url, "--workers", "1", cwd=tmp_path)
    try:

        def running_worker():
            for t in trials(url, "workerkill"):
                if (
                    t.state == TrialState.RUNNING
                    and "worker_pid" in trial_attrs(t)
                    and 1 <= t.number <= 3  # a later trial follows on the same worker
                ):
                    return t
            return None

        found: list = []
        assert wait_for(
            lambda: found.append(running_worker()) or found[-1] is not None,
            timeout=180,
            proc=proc,
        ), exit_report(proc)
        victim = found[-1]  # the trial seen running, not a second read that may miss it
        pid = trial_attrs(victim)["worker_pid"]
        os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    finally:
        kill_session(proc)
    final = trials(url, "workerkill")
    # The trial the kill hit: Ray queues a task ahead on the worker, so its number is not
    # known in advance; its pid is.
    died = [t for t in final if "worker died" in str(trial_attrs(t).get("failure", ""))]
    assert len(_complete(final)) == 5
    if not died:
        # Rare: the kill landed after the victim's last score had arrived, and the worker
        # had nothing queued: that trial is complete, as its scores are all there.
        by_number = {t.number: t for t in final}
        assert by_number[victim.number].state == TrialState.COMPLETE
        assert trial_attrs(by_number[victim.number])["worker_pid"] == pid
        return
    assert len(died) == 1, [(t.number, t.state) for t in final]
    failed = died[0]
    # Not necessarily the victim or later: twice in CI the trial before the victim died
    # (seen RUNNING, the victim already had its values), its stream cut with the worker
    # before all its scores reached the driver. The pid says which process the kill hit.
    assert failed.state == TrialState.FAIL
    assert trial_attrs(failed)["worker_pid"] == pid
    retry = [t for t in final if trial_attrs(t).get("retry_of") == failed.number]
    assert (
        len(retry) == 1
        and retry[0].state == TrialState.COMPLETE
        and retry[0].params == failed.params
    )


def test_per_target_best_at_least_shared_best(tmp_path: Path) -> None:
    # The same grid of candidates in both modes, so the comparison is of bookkeeping, not luck.
    space = """
[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [1024, 4096] }
hop = { choices = [256, 512] }
"""
    # Both modes run at the same time, each into its own SQLite file with its own Ray runtime
    # (a grid study sees every candidate whatever the timing): one wait for Ray, not two.
    procs = {}
    for mode in ("per-target", "shared"):
        (tmp_path / f"{mode}.toml").write_text(
            study_text(mode, mode=mode, trials=5, space=space, sampler='name = "grid"\nseed = 1')
        )
        url = f"sqlite:///{tmp_path / f'{mode}.db'}"
        procs[mode] = start_cli(
            "run", f"{mode}.toml", "--storage", url, "--workers", "2", cwd=tmp_path
        )
    try:
        finished = {mode: finish(proc) for mode, proc in procs.items()}
    finally:
        for proc in procs.values():
            kill_session(proc)
    docs = {}
    for mode, (code, _, err) in finished.items():
        assert code == 0, err
        url = f"sqlite:///{tmp_path / f'{mode}.db'}"
        assert (
            run_cli("export", mode, "--storage", url, "-o", f"{mode}.json", cwd=tmp_path).returncode
            == 0
        )
        docs[mode] = json.loads((tmp_path / f"{mode}.json").read_text())
    shared = docs["shared"]["shared"]
    assert shared is not None and docs["per-target"]["shared"] is None
    assert shared["score"] == pytest.approx(sum(shared["scores"][t] for t in TARGETS) / 4)
    for target in TARGETS:
        assert docs["per-target"]["targets"][target]["score"] >= shared["scores"][target] - 1e-9
    # Grid studies see every candidate: the per-target bests are the same in both modes.
    for target in TARGETS:
        assert docs["per-target"]["targets"][target]["score"] == pytest.approx(
            docs["shared"]["targets"][target]["score"], abs=1e-9
        )


def test_pruning_stops_a_bad_trial_early(tmp_path: Path) -> None:
    write_stem_folder(tmp_path / "stems", n_tracks=4, seconds=1.0)
    dataset = f'source = "folder"\nroot = "{tmp_path / "stems"}"'
    # Three good references set the median; the searched space holds only tiny, poor STFTs.
    space = """
[[reference]]
label = "stft-2048-512"
family = "stft"
params = { n_fft = 2048, hop = 512 }

[[reference]]
label = "stft-8192-2048"
family = "stft"
params = { n_fft = 8192, hop = 2048 }

[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [16, 32] }
hop = { choices = [4, 8] }

[pruner]
name = "median"
warmup_tracks = 1
"""
    url = _url(tmp_path)
    (tmp_path / "s.toml").write_text(
        study_text("prune", mode="shared", trials=5, dataset=dataset, space=space)
    )
    result = run_cli("run", "s.toml", "--storage", url, "--workers", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    final = trials(url, "prune")
    pruned = [
        t for t in final if t.state == TrialState.PRUNED and "infeasible" not in trial_attrs(t)
    ]
    assert len(pruned) == 2
    for t in pruned:
        assert trial_attrs(t)["tracks_evaluated"] < 4
        assert set(t.intermediate_values) == set(range(trial_attrs(t)["tracks_evaluated"]))
    assert all(len(trial_attrs(t)["track_scores"]) == 4 for t in _complete(final))


def test_one_worker_fixed_seed_is_reproducible(tmp_path: Path) -> None:
    # The two runs go at the same time, each in its own folder (its own default storage and
    # its own Ray runtime): the order must not depend on timing, so overlapping them only
    # varies the timing more, and it halves the wait for two Ray runtimes to start and stop.
    procs = {}
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        (folder / "s.toml").write_text(study_text("repro", trials=6))
        # default storage in the working directory
        procs[run] = start_cli("run", "s.toml", "--workers", "1", cwd=folder)
    try:
        finished = {run: finish(proc) for run, proc in procs.items()}
    finally:
        for proc in procs.values():
            kill_session(proc)
    orders = []
    for run in ("a", "b"):
        folder = tmp_path / run
        code, _, err = finished[run]
        assert code == 0, err
        assert (folder / "sliceq22.db").exists()
        orders.append(
            [(t.params, t.state) for t in trials(f"sqlite:///{folder / 'sliceq22.db'}", "repro")]
        )
    assert orders[0] == orders[1]
    assert len({json.dumps(p, sort_keys=True) for p, _ in orders[0]}) >= 4


def test_study_runs_on_a_converted_onair_tree(tmp_path: Path) -> None:
    from datatrees import RATE, excerpt, onair_track, split_signal

    root = tmp_path / "onair"
    for i, title in enumerate(("First Light", "Second Wind")):
        a = excerpt(1.0, (i + 1) * RATE)
        kick, snare = split_signal(a["drums"], 2, seed=i)
        onair_track(
            root,
            "OnAir-Music-Dataset-v4-misc",
            title,
            {
                "mix": a["mixture"],
                "Kick.wav": kick,
                "Snare.wav": snare,
                "Bass.wav": a["bass"],
                "Vox.wav": a["vocals"],
                "Guitar.wav": a["other"],
            },
        )
    out = tmp_path / "converted"
    converted = run_cli(
        "data", "convert", "onair", str(root), str(out), "--no-progress", cwd=tmp_path
    )
    assert converted.returncode == 0, converted.stderr
    dataset = f'source = "musdb"\nroot = "{out}"\nis_wav = true'
    (tmp_path / "s.toml").write_text(study_text("onair", mode="shared", trials=3, dataset=dataset))
    url = _url(tmp_path)
    result = run_cli("run", "s.toml", "--storage", url, "--workers", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    complete = _complete(trials(url, "onair"))
    assert len(complete) == 3
    assert all(
        set(trial_attrs(t)["track_scores"])
        == {"First Light - OnAir Music", "Second Wind - OnAir Music"}
        for t in complete
    )
