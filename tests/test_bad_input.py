"""Bad and unusual inputs across every command: one line, exit status 2, nothing stored changes.

Every case runs the real command line (in this process through
:func:`sliceq22.cli.main`, or as a subprocess where it starts Ray or used to
hang) and asserts its exit status, that stderr is at most one line with no
traceback, and that the study storage given to it holds the same studies,
study attributes and trials (states, values, parameters, attributes) after
as before. Runs that used to never end have a timeout that fails the test.

One shared storage holds a real study, run once by the ``world`` fixture
(which is itself the case of a budget far beyond a 4-point space, with one
target silent in every track: it must end on its own).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import soundfile

from sliceq22 import TARGETS
from sliceq22.cli import main
from sliceq22.search.trialattrs import trial_attrs

CLI = [sys.executable, "-m", "sliceq22"]
RATE = 44100
#: Seconds a subprocess case may take before it counts as a hang.
HANG_S = 240

STUDY = """
[study]
name = "{name}"
mode = "per-target"
trials = {trials}

[dataset]
source = "folder"
root = "{root}"
{dataset_extra}

[objective]
name = "mpi"

[sampler]
name = "random"
seed = 3

[[transforms]]
family = "stft"
[transforms.space]
n_fft = {{ choices = [1024, 2048] }}
hop = {{ choices = [256, 512] }}
"""


def study_file(
    name: str = "fix",
    *,
    trials: int | str = 1000000,
    root: str = "ds/fix",
    dataset_extra: str = "",
    replace: tuple[str, str] | None = None,
    append: str = "",
) -> str:
    """The fixture's study file, or a variant of it (one key replaced or a section added)."""
    text = STUDY.format(name=name, trials=trials, root=root, dataset_extra=dataset_extra)
    if replace is not None:
        assert replace[0] in text, replace
        text = text.replace(*replace)
    return text + append


# ---------------------------------------------------------------------------- the world
def _write_track(
    folder: Path,
    seconds: float,
    *,
    silent: tuple[str, ...] = (),
    fill: float | None = None,
    seed: int = 0,
) -> None:
    """Noise stems (and their sum as the mixture) as float WAVs; ``fill`` sets every sample."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = max(1, int(seconds * RATE))
    stems = {}
    for target in TARGETS:
        audio = (0.1 * rng.standard_normal((n, 2))).astype(np.float32)
        if target in silent:
            audio[:] = 0.0
        if fill is not None:
            audio[:] = fill
        stems[target] = audio
    stems["mixture"] = sum(stems[t] for t in TARGETS).astype(np.float32)
    for name, audio in stems.items():
        soundfile.write(folder / f"{name}.wav", audio, RATE, subtype="FLOAT")


@dataclass
class World:
    """The folder every case runs in, its storages, and the fixture study's outcome."""

    root: Path
    url: str
    foreign: str
    fixture_run: subprocess.CompletedProcess


def _make_files(root: Path) -> None:
    _write_track(root / "ds/fix/a", 0.5, silent=("bass",), seed=1)
    _write_track(root / "ds/fix/b", 0.5, silent=("bass",), seed=2)
    _write_track(root / "ds/ok/track0", 1.0, seed=3)
    _write_track(root / "ds/allsilent/t", 0.5, silent=TARGETS)
    _write_track(root / "ds/short/t", 1 / RATE)
    _write_track(root / "ds/nan/t", 0.5, fill=float("nan"))
    _write_track(root / "ds/inf/t", 0.5, fill=float("inf"))
    _write_track(root / "ds/trunc/t", 0.5)
    wav = root / "ds/trunc/t/vocals.wav"
    wav.write_bytes(wav.read_bytes()[: wav.stat().st_size // 2])
    (root / "adir").mkdir()
    (root / "adir.html").mkdir()
    (root / "adir.png").mkdir()
    (root / "afile").write_text("not a folder\n")
    (root / "notaudio.wav").write_text("hello\n")
    with contextlib.closing(sqlite3.connect(root / "people.db")) as db:  # another program's
        db.execute("create table people (name text)")
        db.commit()
    for name in ("nan", "inf", "trunc"):
        source = root / f"ds/{name}/t/" / ("vocals.wav" if name == "trunc" else "mixture.wav")
        (root / f"{name}.wav").write_bytes(source.read_bytes())
    for name, text in STUDY_FILES.items():
        path = root / "studies" / name
        path.parent.mkdir(exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    (root / "studies/adir.toml").mkdir()


def _run(*args: str, cwd: Path, timeout: float = HANG_S) -> subprocess.CompletedProcess:
    env = {**os.environ, "SLICEQ22_NO_PROGRESS": "1"}
    env.pop("SLICEQ22_STORAGE", None)
    try:
        return subprocess.run(
            [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`sliceq22 {' '.join(args)}` did not end within {timeout} s (a hang)")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Files, a storage with the fixture study (run to its end) and empty ones, a foreign one."""
    root = tmp_path_factory.mktemp("bad-input")
    _make_files(root)
    url = f"sqlite:///{root / 'studies.db'}"
    # A budget of a million on 4 candidates, bass silent in every track: this
    # used to run until killed. It must end by itself, with the other targets' bests.
    done = _run("run", "studies/fix.toml", "--storage", url, "--workers", "1", cwd=root)
    assert done.returncode == 0, done.stderr
    _add_empty_study(url)
    foreign = f"sqlite:///{root / 'foreign.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # With a trial: a study with neither trials nor attributes is taken for one being created.
    optuna.create_study(study_name="not-ours", storage=foreign).enqueue_trial({})
    optuna.create_study(study_name="line\nbreak", storage=foreign)
    return World(root, url, foreign, done)


def _add_empty_study(url: str) -> None:
    """sliceq22 studies with no trials (created as ``run`` creates them, without running)."""
    from sliceq22.search.config import parse_study_text
    from sliceq22.search.storage import open_storage
    from sliceq22.search.study import open_study

    for name, root in (("empty", "ds/fix"), ("moved", "ds/gone")):
        # "moved": its dataset folder is gone since it was created.
        config = parse_study_text(study_file(name, root=root), f"{name}.toml")
        open_study(config, open_storage(url), direction="maximize")


# ---------------------------------------------------------------------------- snapshots
def snapshot(url: str) -> dict[str, Any]:
    """Everything a command could change in a storage: studies, their attributes, their trials,
    and the schema version.

    Taken four times per case, so read straight from the storage (not through study
    summaries and loaded studies, which read every trial twice), opened without Optuna's
    table creation and alembic compatibility check: a command that dropped a table now fails
    the read instead of having it silently recreated, and the schema version is compared as
    part of the snapshot.
    """
    storage = optuna.storages.RDBStorage(
        url, skip_table_creation=True, skip_compatibility_check=True
    )
    try:
        out: dict[str, Any] = {"schema version": storage.get_current_version()}
        for study in storage.get_all_studies():
            out[study.study_name] = {
                "directions": study.directions,
                "user_attrs": study.user_attrs,
                "system_attrs": study.system_attrs,
                "trials": [
                    (t.number, t.state.name, t.values, t.params, t.user_attrs, t.system_attrs)
                    for t in storage.get_all_trials(study._study_id, deepcopy=False)
                ],
            }
        return out
    finally:
        storage.engine.dispose()


def _tables(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute("select name from sqlite_master where type='table'")}


# ---------------------------------------------------------------------------- running a case
@dataclass
class Case:
    """One input: the command line (``{url}``, ``{foreign}`` filled in), what it must do."""

    id: str
    argv: list[str]
    rc: int = 2
    says: str = ""
    subprocess: bool = False
    #: Paths (relative to the world) that must not exist afterwards.
    absent: tuple[str, ...] = ()
    #: Substrings stdout must not hold (e.g. "nan").
    not_in_stdout: tuple[str, ...] = ()
    #: SQLite files (relative to the world) whose tables must stay as they were.
    tables_kept: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def invoke(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """``sliceq22 ARGV`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return rc, out.getvalue(), err.getvalue()


def check(case: Case, world: World) -> tuple[str, str]:
    """Run ``case`` and assert the contract; return (stdout, stderr)."""
    argv = [a.format(url=world.url, foreign=world.foreign, root=world.root) for a in case.argv]
    tables = {path: _tables(world.root / path) for path in case.tables_kept}
    before = snapshot(world.url)
    foreign_before = snapshot(world.foreign)
    if case.subprocess:
        done = _run(*argv, cwd=world.root)
        rc, out, err = done.returncode, done.stdout, done.stderr
    else:
        rc, out, err = invoke(argv, world.root)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert rc == case.rc, (rc, out, err)
    assert len(lines) <= 1, f"stderr is {len(lines)} lines:\n{err}"
    if case.rc != 0:
        assert len(lines) == 1 and lines[0].startswith("sliceq22"), err
    if case.says:
        assert case.says.lower() in err.lower(), err
    for text in case.not_in_stdout:
        assert text not in out, out
    for path in case.absent:
        assert not (world.root / path).exists(), path
    for path, kept in tables.items():
        assert _tables(world.root / path) == kept, f"tables of {path} changed"
    assert snapshot(world.url) == before, "the stored study changed"
    assert snapshot(world.foreign) == foreign_before, "the foreign storage changed"
    return out, err


# ---------------------------------------------------------------------------- the corpus
STUDY_FILES: dict[str, str | bytes] = {
    "fix.toml": study_file(),
    "changed.toml": study_file(replace=("[1024, 2048]", "[512, 2048]")),
    "bom.toml": "\ufeff" + study_file("bom"),
    "allsilent.toml": study_file("allsilent", root="ds/allsilent", trials=2),
    "short.toml": study_file("short", root="ds/short", trials=2),
    "long.toml": study_file("long", root="ds/ok", dataset_extra="duration = 600", trials=2),
    "huge.toml": study_file("huge", trials="1000000000000000000000"),
    "not-ours.toml": study_file("not-ours"),
    "not-toml.toml": "[study\nname = 1",
    "empty-file.toml": "",
    "latin1.toml": study_file("latin1").replace("latin1", "caf\u00e9").encode("latin-1"),
    "unknown-section.toml": study_file("u", append="\n[studdy]\nx = 1\n"),
    "no-name.toml": study_file(replace=('name = "fix"\n', "")),
    "name-slash.toml": study_file("a/b"),
    "name-backslash.toml": study_file("a\\\\b"),
    "name-newline.toml": study_file("a\\nb"),
    "name-int.toml": study_file(replace=('name = "fix"', "name = 5")),
    "name-blank.toml": study_file("   "),
    "mode.toml": study_file(replace=('mode = "per-target"', 'mode = "both"')),
    "trials-zero.toml": study_file(trials=0),
    "trials-neg.toml": study_file(trials=-4),
    "trials-str.toml": study_file(trials='"ten"'),
    "trials-float.toml": study_file(trials=2.5),
    "trials-nan.toml": study_file(trials="nan"),
    "trials-inf.toml": study_file(trials="inf"),
    "retries.toml": study_file(replace=("trials = 1000000", "trials = 3\nretries = -1")),
    "aggregate.toml": study_file(replace=("trials = 1000000", 'trials = 3\naggregate = "max"')),
    "unknown-study-key.toml": study_file(replace=("trials = 1000000", "trails = 3")),
    "source.toml": study_file(replace=('source = "folder"', 'source = "youtube"')),
    "duration-nan.toml": study_file(dataset_extra="duration = nan"),
    "duration-inf.toml": study_file(dataset_extra="duration = inf"),
    "duration-neg.toml": study_file(dataset_extra="duration = -1.0"),
    "duration-str.toml": study_file(dataset_extra='duration = "long"'),
    "dataset-key.toml": study_file(dataset_extra="duraton = 1.0"),
    "dataset-string.toml": study_file(
        replace=('[dataset]\nsource = "folder"\nroot = "ds/fix"\n', 'dataset = "ds/fix"\n')
    ),
    "root-missing.toml": study_file(root="ds/missing"),
    "objective.toml": study_file(replace=('name = "mpi"', 'name = "magic"')),
    "metric.toml": study_file(replace=('name = "mpi"', 'name = "mpi"\nmetric = "sdr-max"')),
    "mixture.toml": study_file(replace=('name = "mpi"', 'name = "mpi"\nmixture = "blend"')),
    "sampler.toml": study_file(replace=('name = "random"', 'name = "bayes"')),
    "seed.toml": study_file(replace=("seed = 3", "seed = -3")),
    "seed-float.toml": study_file(replace=("seed = 3", "seed = 3.5")),
    "pruner.toml": study_file(append='\n[pruner]\nname = "hyperband"\n'),
    "pruner-per-target.toml": study_file(append='\n[pruner]\nname = "median"\n'),
    "memory-neg.toml": study_file(append="\n[constraints]\nmax_memory_mb = -1\n"),
    "memory-nan.toml": study_file(append="\n[constraints]\nmax_memory_mb = nan\n"),
    "slice-zero.toml": study_file(append="\n[constraints]\nmax_slice_length = 0\n"),
    "constraint-key.toml": study_file(append="\n[constraints]\nmax_ram = 3\n"),
    "no-transforms.toml": study_file().split("[[transforms]]")[0],
    "family.toml": study_file(replace=('family = "stft"', 'family = "wavelet"')),
    "space-param.toml": study_file(replace=("hop = {", "hopp = {")),
    "low-high.toml": study_file(
        replace=("hop = { choices = [256, 512] }", "hop = { low = 512, high = 128 }")
    ),
    "low-nan.toml": study_file(
        replace=("hop = { choices = [256, 512] }", "hop = { low = nan, high = 128 }")
    ),
    "high-inf.toml": study_file(
        replace=("hop = { choices = [256, 512] }", "hop = { low = 1, high = inf }")
    ),
    "log-zero.toml": study_file(
        replace=("hop = { choices = [256, 512] }", "hop = { low = 0, high = 128, log = true }")
    ),
    "choices-empty.toml": study_file(replace=("[256, 512]", "[]")),
    "step-neg.toml": study_file(
        replace=("hop = { choices = [256, 512] }", "hop = { low = 128, high = 512, step = -1 }")
    ),
    "range-key.toml": study_file(
        replace=("hop = { choices = [256, 512] }", "hop = { low = 128, hihg = 512 }")
    ),
    "when-later.toml": study_file(
        replace=(
            "n_fft = { choices = [1024, 2048] }",
            "n_fft = { choices = [1024, 2048], when = { hop = 256 } }",
        )
    ),
    "label-dot.toml": study_file(replace=('family = "stft"', 'family = "stft"\nlabel = "a.b"')),
    "labels-dup.toml": study_file(append='\n[[transforms]]\nfamily = "stft"\n'),
    "value-out.toml": study_file(replace=("[1024, 2048]", "[1024, 8]")),
    "window.toml": study_file(replace=("hop = {", 'window = "kaiser"\nhop = {')),
    "reference-family.toml": study_file(append='\n[[reference]]\nlabel = "r"\nfamily = "mp3"\n'),
    "reference-params.toml": study_file(
        append='\n[[reference]]\nlabel = "r"\nfamily = "stft"\nparams = { n_fft = "big" }\n'
    ),
    "reference-dup.toml": study_file(
        append='\n[[reference]]\nlabel = "r"\nfamily = "stft"\n\n[[reference]]\nlabel = "r"\n'
        'family = "stft"\n'
    ),
    "grid-continuous.toml": study_file(replace=('name = "random"', 'name = "grid"')).replace(
        "hop = { choices = [256, 512] }", "hop = { low = 128, high = 512 }"
    ),
    "study-not-table.toml": "study = 5\n",
    "nsgcq-mode-choices.toml": study_file().split("[[transforms]]")[0]
    + '[[transforms]]\nfamily = "nsgcq"\n[transforms.space]\nmode = { choices = ["full", '
    '"framewise"] }\nframeSize = { choices = [8192, 16384] }\n',
    "nsgcq-reference.toml": study_file(
        append='\n[[reference]]\nlabel = "r"\nfamily = "nsgcq"\nparams = { frameSize = 8192 }\n'
    ),
}

# Every command's usage errors: one line, status 2.
USAGE = [
    Case("no-command", []),
    Case("unknown-command", ["bogus"]),
    Case("run-no-file", ["run"]),
    Case("run-trials-zero", ["run", "studies/fix.toml", "--trials", "0"]),
    Case("run-trials-neg", ["run", "studies/fix.toml", "--trials", "-3"]),
    Case("run-trials-word", ["run", "studies/fix.toml", "--trials", "many"]),
    Case(
        "run-trials-huge",
        ["run", "studies/fix.toml", "--trials", "1000000000000000000000"],
        says="allowed",
    ),
    Case("run-workers-zero", ["run", "studies/fix.toml", "--workers", "0"]),
    Case("run-patience-zero", ["run", "studies/fix.toml", "--db-patience", "0"]),
    Case("run-tracks-via", ["run", "studies/fix.toml", "--tracks-via", "email"]),
    Case("resume-no-name", ["resume"]),
    Case("show-no-name", ["show"]),
    Case("export-format", ["export", "fix", "--storage", "{url}", "--format", "xml"]),
    Case("report-excerpt-zero", ["report", "fix", "--storage", "{url}", "--excerpt", "0"]),
    Case("report-excerpt-nan", ["report", "fix", "--storage", "{url}", "--excerpt", "nan"]),
    Case("spectrogram-no-transform", ["spectrogram", "notaudio.wav"]),
    Case(
        "spectrogram-columns", ["spectrogram", "nan.wav", "--transform", "stft", "--columns", "2"]
    ),
    Case("data-no-action", ["data"]),
    Case("data-convert-source", ["data", "convert", "mp3", "ds/ok", "out"]),
    Case("evaluate-unknown-flag", ["evaluate", "--bogus"]),
]

EVALUATE = [
    Case(f"evaluate-{name}", ["evaluate", *argv], says=says)
    for name, argv, says in [
        ("param-syntax", ["--param", "n_fft"], "NAME=VALUE"),
        ("param-twice", ["--param", "n_fft=4096", "--param", "n_fft=2048"], "twice"),
        ("param-empty", ["--param", "n_fft="], "NAME=VALUE"),
        ("family", ["--transform", "wavelet"], "wavelet"),
        ("param-type", ["--param", "n_fft=abc"], "n_fft"),
        ("param-nan", ["--param", "n_fft=nan"], "n_fft"),
        ("param-small", ["--param", "n_fft=8"], "n_fft"),
        ("param-huge", ["--param", "n_fft=1e99"], "n_fft"),
        ("param-unknown", ["--param", "nfft=4096"], "did you mean"),
        ("hop-too-long", ["--param", "n_fft=1024", "--param", "hop=1024"], "hop"),
        ("window", ["--param", "window=kaiser"], "window"),
        (
            "slicqt-fmin-fmax",
            ["--transform", "slicqt", "--param", "fmin=500", "--param", "fmax=100"],
            "fmin",
        ),
        ("slicqt-fmax-nyquist", ["--transform", "slicqt", "--param", "fmax=30000"], "Nyquist"),
        ("slicqt-gamma-ignored", ["--transform", "slicqt", "--param", "gamma=5"], "vqlog"),
        (
            "nsgcq-framesize-ignored",
            ["--transform", "nsgcq", "--param", "frameSize=8192", "--param", "transitionSize=1024"],
            "framewise",
        ),
        (
            "nsgcq-length-policy-ignored",
            ["--transform", "nsgcq", "--param", "mode=framewise", "--param", "length_policy=exact"],
            "full",
        ),
        ("slicqt-sllen", ["--transform", "slicqt", "--param", "sllen=1001"], "sllen"),
        ("objective", ["--objective", "magic"], "magic"),
        ("metric", ["--metric", "sdr-max"], "sdr-max"),
        ("mixture", ["--mixture", "blend"], "blend"),
        ("option", ["--option", "alpha=2"], "alpha"),
        ("aggregate", ["--aggregate", "max"], "max"),
        ("dataset", ["--dataset", "youtube"], "youtube"),
        ("root-missing", ["--dataset", "folder", "--root", "ds/missing"], "does not exist"),
        (
            "root-file",
            ["--dataset", "folder", "--root", "ds/ok/track0/mixture.wav"],
            "not a folder",
        ),
        (
            "duration-neg",
            ["--dataset", "folder", "--root", "ds/ok", "--duration", "-1"],
            "duration",
        ),
        ("duration-nan", ["--dataset", "folder", "--root", "ds/ok", "--duration", "nan"], "finite"),
        (
            "duration-inf",
            ["--dataset", "folder", "--root", "ds/ok", "--duration", "inf"],
            "duration",
        ),
        (
            "duration-long",
            ["--dataset", "folder", "--root", "ds/ok", "--duration", "600"],
            "shorter",
        ),
        ("offset-past-end", ["--dataset", "folder", "--root", "ds/ok", "--offset", "60"], "past"),
        ("track-unknown", ["--dataset", "folder", "--root", "ds/ok", "--track", "nope"], "nope"),
        ("all-silent", ["--dataset", "folder", "--root", "ds/allsilent"], "every target is silent"),
        ("one-sample", ["--dataset", "folder", "--root", "ds/short"], "too short"),
        ("nan-samples", ["--dataset", "folder", "--root", "ds/nan"], "non-finite"),
        ("inf-samples", ["--dataset", "folder", "--root", "ds/inf"], "non-finite"),
        ("truncated-wav", ["--dataset", "folder", "--root", "ds/trunc"], "truncated"),
        ("musdb-root-missing", ["--dataset", "musdb", "--root", "ds/missing"], "ds/missing"),
        ("onair-root-missing", ["--dataset", "onair", "--root", "ds/missing"], "ds/missing"),
    ]
]

SPECTROGRAM = [
    Case(f"spectrogram-{name}", ["spectrogram", *argv], says=says)
    for name, argv, says in [
        ("missing-file", ["missing.wav", "--transform", "stft"], "does not exist"),
        ("folder", ["adir", "--transform", "stft"], "is a folder"),
        ("nan", ["nan.wav", "--transform", "stft", "-o", "s.html"], "non-finite"),
        ("inf", ["inf.wav", "--transform", "stft", "-o", "s.html"], "non-finite"),
        ("truncated", ["trunc.wav", "--transform", "stft", "-o", "s.html"], "truncated"),
        ("not-audio", ["notaudio.wav", "--transform", "stft", "-o", "s.html"], "unreadable"),
        ("suffix", ["nan.wav", "--transform", "stft", "-o", "s.txt"], ".html or .png"),
        (
            "out-folder-html",
            ["ds/ok/track0/mixture.wav", "--transform", "stft", "-o", "adir.html"],
            "is a folder",
        ),
        (
            "out-folder-png",
            ["ds/ok/track0/mixture.wav", "--transform", "stft", "-o", "adir.png"],
            "is a folder",
        ),
        (
            "out-under-file",
            ["ds/ok/track0/mixture.wav", "--transform", "stft", "-o", "afile/s.html"],
            "is a file",
        ),
        (
            "out-missing-folder",
            ["ds/ok/track0/mixture.wav", "--transform", "stft", "-o", "nope/s.html"],
            "does not exist",
        ),
        ("family", ["ds/ok/track0/mixture.wav", "--transform", "wavelet"], "wavelet"),
        (
            "param",
            ["ds/ok/track0/mixture.wav", "--transform", "stft", "--param", "hop"],
            "NAME=VALUE",
        ),
        (
            "channel",
            ["ds/ok/track0/mixture.wav", "--transform", "stft", "--channel", "5", "-o", "s.html"],
            "channel 5",
        ),
        (
            "start",
            ["ds/ok/track0/mixture.wav", "--transform", "stft", "--start", "100", "-o", "s.html"],
            "past the end",
        ),
        (
            "dataset-missing",
            ["--dataset", "folder", "--root", "ds/missing", "--transform", "stft"],
            "does not exist",
        ),
        (
            "target",
            ["--dataset", "folder", "--root", "ds/ok", "--transform", "stft", "--target", "piano"],
            "piano",
        ),
    ]
]

STUDY_FILE_CASES = [
    Case(f"study-file-{name}", ["run", f"studies/{name}.toml", "--storage", "{url}"], says=says)
    for name, says in [
        ("missing", "not found"),
        ("adir", "cannot read"),
        ("not-toml", "not valid TOML"),
        ("empty-file", "study.name"),
        ("latin1", "cannot read"),
        ("unknown-section", "studdy"),
        ("no-name", "study.name"),
        ("name-slash", "'/'"),
        ("name-backslash", "'\\\\'"),
        ("name-newline", "'\\n'"),
        ("name-int", "must be a string"),
        ("name-blank", "study.name"),
        ("mode", "study.mode"),
        ("trials-zero", "study.trials"),
        ("trials-neg", "study.trials"),
        ("trials-str", "study.trials"),
        ("trials-float", "study.trials"),
        ("trials-nan", "study.trials"),
        ("trials-inf", "study.trials"),
        ("huge", "allowed"),
        ("retries", "study.retries"),
        ("aggregate", "study.aggregate"),
        ("unknown-study-key", "trails"),
        ("source", "youtube"),
        ("duration-nan", "duration"),
        ("duration-inf", "duration"),
        ("duration-neg", "duration"),
        ("duration-str", "duration"),
        ("dataset-key", "duraton"),
        ("dataset-string", "dataset"),
        ("objective", "magic"),
        ("metric", "sdr-max"),
        ("mixture", "blend"),
        ("sampler", "bayes"),
        ("seed", "sampler.seed"),
        ("seed-float", "sampler.seed"),
        ("pruner", "hyperband"),
        ("pruner-per-target", "per-target"),
        ("memory-neg", "max_memory_mb"),
        ("memory-nan", "max_memory_mb"),
        ("slice-zero", "max_slice_length"),
        ("constraint-key", "max_ram"),
        ("no-transforms", "transforms"),
        ("family", "wavelet"),
        ("space-param", "hopp"),
        ("low-high", "low 512"),
        ("low-nan", "finite"),
        ("high-inf", "finite"),
        ("log-zero", "log"),
        ("choices-empty", "choices"),
        ("step-neg", "step"),
        ("range-key", "hihg"),
        ("when-later", "declared before"),
        ("label-dot", "label"),
        ("labels-dup", "unique"),
        ("value-out", "n_fft"),
        ("window", "kaiser"),
        ("reference-family", "mp3"),
        ("reference-params", "n_fft"),
        ("reference-dup", "unique"),
        ("grid-continuous", "grid"),
        ("study-not-table", "study"),
        ("nsgcq-mode-choices", 'when = { mode = "framewise" }'),
        ("nsgcq-reference", "frameSize"),
    ]
]

STORED = [
    Case("show-unknown", ["show", "nope", "--storage", "{url}"], says="no study named"),
    Case("export-unknown", ["export", "nope", "--storage", "{url}"], says="no study named"),
    Case("report-unknown", ["report", "nope", "--storage", "{url}"], says="no study named"),
    Case("resume-unknown", ["resume", "nope", "--storage", "{url}"], says="no study named"),
    Case(
        "list-missing-storage",
        ["list", "--storage", "sqlite:///missing.db"],
        says="no study storage",
        absent=("missing.db",),
    ),
    Case(
        "show-missing-storage",
        ["show", "fix", "--storage", "sqlite:///missing.db"],
        says="no study storage",
        absent=("missing.db",),
    ),
    Case("show-missing-folder", ["show", "fix", "--storage", "sqlite:///nope/x.db"], says="nope"),
    Case(
        "export-out-folder",
        ["export", "fix", "--storage", "{url}", "-o", "adir"],
        says="is a folder",
    ),
    Case(
        "export-out-under-file",
        ["export", "fix", "--storage", "{url}", "-o", "afile/x.json"],
        says="afile is a file",
    ),
    Case(
        "export-out-missing-folder",
        ["export", "fix", "--storage", "{url}", "-o", "nope/x.json"],
        says="does not exist",
    ),
    Case(
        "export-essentia-under-file",
        ["export", "fix", "--storage", "{url}", "-o", "afile/x.json", "--format", "essentia"],
        says="is a file",
    ),
    Case(
        "report-out-folder",
        ["report", "fix", "--storage", "{url}", "-o", "adir"],
        says="is a folder",
    ),
    Case(
        "report-out-under-file",
        ["report", "fix", "--storage", "{url}", "-o", "afile/r.html"],
        says="is a file",
    ),
    Case(
        "export-empty-study",
        ["export", "empty", "--storage", "{url}", "-o", "e.json"],
        says="no complete trial",
        absent=("e.json",),
    ),
    Case("show-empty-study", ["show", "empty", "--storage", "{url}"], rc=0, not_in_stdout=("nan",)),
    Case(
        "show-json-empty-study",
        ["show", "empty", "--storage", "{url}", "--json"],
        rc=0,
        not_in_stdout=("NaN", "Infinity"),
    ),
    Case(
        "show-foreign-study",
        ["show", "not-ours", "--storage", "{foreign}"],
        says="not made by sliceq22",
    ),
    Case(
        "run-foreign-study",
        ["run", "studies/not-ours.toml", "--storage", "{foreign}"],
        says="not made by sliceq22",
    ),
    Case("list-foreign-names", ["list", "--storage", "{foreign}"], rc=0),
    Case(
        "run-changed-study-file",
        ["run", "studies/changed.toml", "--storage", "{url}"],
        says="different study file",
    ),
    Case(
        "run-root-missing",
        ["run", "studies/root-missing.toml", "--storage", "{url}"],
        says="different study file",
    ),
    # Refused by Ray before anything is written: the stored budget stays as it was.
    Case(
        "resume-bad-ray-budget",
        ["resume", "fix", "--storage", "{url}", "--trials", "500", "--ray-address", "127.0.0.1:1"],
        says="cannot reach",
    ),
    Case(
        "run-bad-ray-host",
        [
            "run",
            "studies/fix.toml",
            "--storage",
            "{url}",
            "--trials",
            "300",
            "--ray-address",
            "not_a_host:99999",
        ],
        says="not_a_host",
    ),
    Case(
        "resume-dataset-moved",
        ["resume", "moved", "--storage", "{url}", "--trials", "500"],
        says="ds/gone",
    ),
    Case(
        "run-bom-accepted",
        ["run", "studies/bom.toml", "--storage", "{url}", "--ray-address", "127.0.0.1:1"],
        says="cannot reach",
    ),
    Case(
        "data-info-missing",
        ["data", "info", "--dataset", "folder", "--root", "ds/missing"],
        says="does not exist",
    ),
    Case(
        "data-info-file",
        ["data", "info", "--dataset", "folder", "--root", "afile"],
        says="not a folder",
    ),
    Case(
        "convert-into-itself",
        ["data", "convert", "folder", "ds/ok", "ds/ok", "--no-progress"],
        says="inside ROOT",
        absent=("ds/ok/train", "ds/ok/.sliceq22-partial"),
    ),
    Case(
        "convert-into-own-folder",
        ["data", "convert", "folder", "ds/ok", "ds/ok/out", "--no-progress"],
        says="inside ROOT",
        absent=("ds/ok/out",),
    ),
    Case(
        "convert-root-missing",
        ["data", "convert", "folder", "ds/missing", "conv-a", "--no-progress"],
        says="does not exist",
        absent=("conv-a",),
    ),
    Case(
        "convert-nan-cleans-up",
        ["data", "convert", "folder", "ds/nan", "conv-b", "--no-progress"],
        says="non-finite",
        absent=("conv-b",),
    ),
    Case(
        "convert-truncated",
        ["data", "convert", "folder", "ds/trunc", "conv-c", "--no-progress"],
        says="truncated",
        absent=("conv-c",),
    ),
    Case(
        "convert-out-is-file",
        ["data", "convert", "folder", "ds/ok", "afile", "--no-progress"],
        says="afile",
    ),
    Case(
        "convert-onair-missing",
        ["data", "convert", "onair", "ds/missing", "conv-d", "--no-progress"],
        says="ds/missing",
        absent=("conv-d",),
    ),
]

# Storage URLs (part B's rules): one line, and nothing created in another program's database.
URLS = [
    Case("list-in-memory", ["list", "--storage", "sqlite://"], says="in-memory"),
    Case("list-in-memory-slash", ["list", "--storage", "sqlite:///"], says="in-memory"),
    Case("run-in-memory", ["run", "studies/fix.toml", "--storage", "sqlite://"], says="vanish"),
    Case(
        "resume-in-memory", ["resume", "fix", "--storage", "sqlite:///:memory:"], says="in-memory"
    ),
    Case("show-not-a-url", ["show", "fix", "--storage", "not-a-url"], says="sqlite:///"),
    Case("list-bare-path", ["list", "--storage", "studies.db"], says="sqlite:///studies.db"),
    Case("list-unknown-scheme", ["list", "--storage", "foo://bar"], says="unknown kind"),
    Case("list-sqlite-folder", ["list", "--storage", "sqlite:///{root}/adir"], says="is a folder"),
    Case(
        "list-other-program",
        ["list", "--storage", "sqlite:///people.db"],
        says="another program",
        tables_kept=("people.db",),
    ),
    Case(
        "run-other-program",
        ["run", "studies/fix.toml", "--storage", "sqlite:///people.db"],
        says="another program",
        tables_kept=("people.db",),
    ),
    Case(
        "run-ray-client",
        ["run", "studies/fix.toml", "--storage", "{url}", "--ray-address", "ray://127.0.0.1:10001"],
        says="ray job submit",
    ),
    Case(
        "show-postgres-unreachable",
        ["show", "fix", "--storage", "postgresql+psycopg2://u:secret@127.0.0.1:1/db"],
    ),
]

# Runs that start Ray (or used to hang): subprocesses with a timeout that fails the test.
RUNS = [
    Case(
        "run-all-silent",
        ["run", "studies/allsilent.toml", "--storage", "{url}"],
        says="every target is silent",
        subprocess=True,
    ),
    Case(
        "run-one-sample-track",
        ["run", "studies/short.toml", "--storage", "{url}"],
        says="too short",
        subprocess=True,
    ),
    Case(
        "run-duration-past-track",
        ["run", "studies/long.toml", "--storage", "{url}"],
        says="shorter than duration",
        subprocess=True,
    ),
]

CASES = USAGE + EVALUATE + SPECTROGRAM + STUDY_FILE_CASES + STORED + URLS + RUNS


def test_corpus_is_large() -> None:
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)
    assert len(CASES) >= 120, len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case: Case, world: World) -> None:
    check(case, world)


# ---------------------------------------------------------------------------- beyond one line
def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_endless_budget_ends_with_the_other_targets_bests(world: World) -> None:
    out = world.fixture_run.stdout
    assert "the search space is exhausted: all 4 candidates were evaluated" in out
    assert "bass: no score (silent in every track)" in out
    assert "repeated candidate" in out  # a million draws on 4 points: repeats cost nothing
    study = optuna.load_study(study_name="fix", storage=world.url)
    complete = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    keys = {
        json.dumps(t.params, sort_keys=True)
        for t in complete
        if "memo_of" not in t.user_attrs["sliceq22.candidate"]
    }
    assert len(keys) == 4 and len(complete) < 100
    for trial in complete:
        memo = trial.user_attrs["sliceq22.candidate"].get("memo_of")
        if memo is not None:  # told the earlier result, not evaluated again
            assert trial.values == study.trials[memo].values
            assert trial_attrs(trial)["scores"] == trial_attrs(study.trials[memo])["scores"]


def test_stored_and_exported_json_is_standard(world: World) -> None:
    path = world.root / "studies.db"
    with contextlib.closing(sqlite3.connect(path)) as db:
        for table in ("trial_user_attributes", "study_user_attributes"):
            for (value,) in db.execute(f"select value_json from {table}"):
                _strict(value)
    result = trial_attrs(optuna.load_study(study_name="fix", storage=world.url).trials[0])
    assert result["scores"]["bass"] is None
    assert result["unscored"]["bass"] == "silent in every track"
    out, _ = check(
        Case("export", ["export", "fix", "--storage", "{url}", "-o", "best.json"], rc=0), world
    )
    doc = _strict((world.root / "best.json").read_text())
    assert set(doc["targets"]) == {"drums", "other", "vocals"}
    shown, _ = check(Case("show", ["show", "fix", "--storage", "{url}", "--json"], rc=0), world)
    _strict(shown)


def test_constraint_limits_are_shown_as_written() -> None:
    from sliceq22.search.config import Constraints
    from sliceq22.search.constraints import check_candidate

    reason = check_candidate(
        "stft", {}, Constraints(max_memory_mb=0.001), rate=RATE, length=RATE, channels=2
    )
    assert reason is not None and reason.endswith("constraints.max_memory_mb 0.001"), reason


def test_list_shows_one_row_per_study_whatever_its_name(world: World) -> None:
    out, _ = check(Case("list", ["list", "--storage", "{foreign}"], rc=0), world)
    assert len(out.strip().splitlines()) == 2 + 2  # header, rule, two studies
    assert "'line\\nbreak'" in out


def test_read_only_commands_create_no_files(world: World) -> None:
    before = _tables(world.root / "studies.db")
    for argv in (["list", "--storage", "{url}"], ["show", "fix", "--storage", "{url}"]):
        check(Case("read", argv, rc=0), world)
    assert _tables(world.root / "studies.db") == before


@pytest.mark.slow
def test_sigterm_stops_a_run_cleanly(world: World) -> None:
    """SIGTERM stops a run like Ctrl-C: exit 143, one line, running trials failed and requeued."""
    url = f"sqlite:///{world.root / 'term.db'}"
    text = study_file(
        "term",
        trials=50,
        root="ds/ok",
        replace=("hop = { choices = [256, 512] }", "hop = { low = 128, high = 1024 }"),
    )
    (world.root / "studies/term.toml").write_text(text)
    env = {**os.environ, "SLICEQ22_NO_PROGRESS": "1"}
    proc = subprocess.Popen(
        [*CLI, "run", "studies/term.toml", "--storage", url, "--workers", "1"],
        cwd=world.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        end = time.time() + HANG_S
        while time.time() < end and proc.poll() is None:
            try:
                running = optuna.load_study(study_name="term", storage=url).get_trials(
                    deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
                )
                if running and "sliceq22.candidate" in running[0].user_attrs:
                    break
            except Exception:  # the study does not exist yet
                pass
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "terminated" in lines[0] and "Traceback" not in err, err
    trials = optuna.load_study(study_name="term", storage=url).get_trials()
    assert not [t for t in trials if t.state.name == "RUNNING"]
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert failed and all(t.user_attrs["failure"].startswith("interrupted") for t in failed)
    # Each with a drawn candidate runs again; one stopped while drawing is drawn anew.
    drawn = {t.number for t in failed if "sliceq22.candidate" in t.user_attrs}
    retries = {t.user_attrs.get("retry_of") for t in trials if t.state.name == "WAITING"}
    assert drawn and drawn <= retries
