"""The new oracles through ``sliceq22 evaluate`` and study files: good options work, bad ones are
one line and exit status 2."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from sliceq22.cli import main
from sliceq22.errors import ParameterError
from sliceq22.oracles import get_objective
from sliceq22.search.config import parse_study_text

EXAMPLE = ["evaluate", "--dataset", "example", "--duration", "2"]

STUDY = """
[study]
name = "t"
mode = "shared"
trials = 2

[dataset]
source = "example"

[[transforms]]
family = "stft"
[transforms.space]
n_fft = {{ choices = [1024, 2048] }}

[objective]
{objective}
"""


def invoke(argv: list[str]) -> tuple[int, str, str]:
    """``sliceq22 ARGV`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("objective", "options", "says"),
    [
        ("ibm", ["alpha=0"], "alpha"),
        ("ibm", ["alpha=-1"], "alpha"),
        ("irm", ["alpha=0"], "alpha"),
        ("irm", ["alpha=nan"], "alpha"),
        ("ibm", ["theta=0"], "theta"),
        ("ibm", ["theta=1"], "theta"),
        ("ibm", ["theta=1.5"], "theta"),
        ("ibm", ["theta=half"], "theta"),
        ("wiener", ["iterations=-1"], "iterations"),
        ("wiener", ["iterations=1.5"], "iterations"),
        ("wiener", ["alpha=2"], "unknown option"),
        ("mwf", ["iterations=1"], "unknown option"),
        ("irm", ["theta=0.5"], "unknown option"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(objective: str, options: list[str], says: str):
    argv = [*EXAMPLE, "--objective", objective]
    for option in options:
        argv += ["--option", option]
    rc, out, err = invoke(argv)
    lines = err.strip().splitlines()
    assert rc == 2, (rc, out, err)
    assert len(lines) == 1 and lines[0].startswith("sliceq22"), err
    assert "Traceback" not in err
    assert says in lines[0] and objective in lines[0], lines[0]


def test_evaluate_runs_an_oracle_with_options():
    rc, out, err = invoke(
        [*EXAMPLE, "--objective", "ibm", "--option", "alpha=2", "--option", "theta=0.4", "--json"]
    )
    assert rc == 0, err
    report = json.loads(out)
    (track,) = report["tracks"]
    assert all(3.0 < v < 20.0 for v in track["scores"].values())
    assert "alpha" in json.dumps(report) and "0.4" in json.dumps(report)


@pytest.mark.parametrize(
    ("objective", "options"),
    [("wiener", {"iterations": 2}), ("mwf", {}), ("ibm", {"alpha": 2}), ("irm", {})],
)
def test_study_files_take_the_oracles(objective: str, options: dict):
    lines = [f'name = "{objective}"', *(f"{k} = {v}" for k, v in options.items())]
    config = parse_study_text(STUDY.format(objective="\n".join(lines)))
    built = config.objective.build()
    assert built.name == objective and built.unit == "dB" and built.direction == "maximize"
    for key, value in options.items():
        assert built.options[key] == value


def test_study_file_with_a_bad_option_names_it():
    with pytest.raises(Exception, match="iterations"):
        parse_study_text(STUDY.format(objective='name = "wiener"\niterations = -2'))


def test_mpi_stays_the_default():
    assert parse_study_text(STUDY.format(objective="")).objective.build().name == "mpi"
    with pytest.raises(ParameterError, match="theta"):
        get_objective("ibm", theta=0.0)
