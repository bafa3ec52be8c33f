"""Study-file validation: every problem named by its key path, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sliceq22.errors import StudyFileError
from sliceq22.search.config import load_study_file, parse_study_text
from sliceq22.search.storage import mask_url

ROOT = Path(__file__).resolve().parents[1]

BASE = """
[study]
name = "t"
mode = "shared"
trials = 3

[dataset]
source = "example"
duration = 1.0

[[transforms]]
family = "stft"
[transforms.space]
n_fft = { choices = [1024, 2048] }
hop = { low = 128, high = 512, log = true }
"""


def test_shipped_study_files_validate() -> None:
    files = sorted((ROOT / "studies").glob("*.toml"))
    assert {f.name for f in files} >= {
        "example.toml",
        "musdb18hq-mpi-shared.toml",
        "musdb18hq-mpi-per-target.toml",
    }
    for path in files:
        config = load_study_file(path)
        assert config.transforms, path
        assert config.trials >= 1


def test_base_parses_with_defaults() -> None:
    config = parse_study_text(BASE)
    assert config.mode == "shared" and config.trials == 3 and config.aggregate == "median"
    assert config.objective.name == "mpi"
    (entry,) = config.transforms
    assert [r.name for r in entry.ranges] == ["n_fft", "hop"]
    assert entry.ranges[1].log and entry.ranges[1].kind == "int"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace('name = "t"', 'name = "t"\ncolour = 1'), "study.colour: unknown key"),
        (lambda s: s + "\n[samplr]\nname='tpe'\n", "did you mean [sampler]"),
        (
            lambda s: s.replace("low = 128", "lo = 128"),
            "transforms[0].space.hop.lo: unknown key (did you mean 'low'?)",
        ),
        (
            lambda s: s.replace('family = "stft"', 'family = "stft"\nspce = 1'),
            "transforms[0].spce: unknown key (did you mean 'space'?)",
        ),
        (
            lambda s: s.replace('mode = "shared"', 'mode = "both"'),
            "study.mode: 'both' must be one of shared, per-target",
        ),
        (lambda s: s.replace("trials = 3", "trials = 0"), "study.trials: 0 must be ≥ 1"),
        (
            lambda s: s.replace("low = 128, high = 512", "low = 512, high = 128"),
            "transforms[0].space.hop: low 512 must be ≤ high 128",
        ),
        (
            lambda s: s.replace("low = 128, high = 512", "low = 0, high = 512"),
            "transforms[0].space.hop.low: 0 must be > 0 on a log scale",
        ),
        (
            lambda s: s.replace("n_fft = {", "nfft = {"),
            "transforms[0].space.nfft: stft: unknown parameter 'nfft' (did you mean 'n_fft'?)",
        ),
        (
            lambda s: s.replace("[1024, 2048]", "[1024, 'big']"),
            "transforms[0].space.n_fft: stft.n_fft: 'big' is not a valid int",
        ),
        (
            lambda s: s.replace('family = "stft"', 'family = "wavelet"'),
            "transforms[0].family: unknown transform family 'wavelet'",
        ),
        (lambda s: s.replace("low = 128", "low = 0"), "transforms[0].space.hop"),
        (
            lambda s: s + "\n[pruner]\nname = 'median'\n".replace("median", "hyperband"),
            "pruner.name: 'hyperband' must be one of",
        ),
        (lambda s: s.replace('source = "example"', 'source = "nowhere"'), "dataset.source"),
        (lambda s: s + "\n[objective]\nname = 'psnr'\n", "objective:"),
    ],
)
def test_errors_name_the_key_path(edit, message: str) -> None:
    with pytest.raises(StudyFileError) as info:
        parse_study_text(edit(BASE), "t.toml")
    text = str(info.value)
    assert text.startswith("t.toml: ")
    assert message in text, text


def test_per_target_refuses_a_pruner() -> None:
    text = BASE.replace('mode = "shared"', 'mode = "per-target"') + "\n[pruner]\nname = 'median'\n"
    with pytest.raises(StudyFileError, match="cannot prune multi-objective"):
        parse_study_text(text)


def test_malformed_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\nname = 1\n")
    with pytest.raises(StudyFileError, match="not valid TOML"):
        load_study_file(bad)
    with pytest.raises(StudyFileError, match="study file not found"):
        load_study_file(tmp_path / "missing.toml")


def test_canonical_form_ignores_budget_and_description() -> None:
    a = parse_study_text(BASE)
    b = parse_study_text(
        BASE.replace("trials = 3", "trials = 30").replace(
            'name = "t"', 'name = "t"\ndescription = "x"'
        )
    )
    c = parse_study_text(BASE.replace("[1024, 2048]", "[1024, 4096]"))
    assert a.canonical() == b.canonical()
    assert a.canonical() != c.canonical()


def test_passwords_are_masked() -> None:
    assert (
        mask_url("postgresql+psycopg2://me:s3cr%40t@db.example:5432/x")
        == "postgresql+psycopg2://me:***@db.example:5432/x"
    )
    assert mask_url("sqlite:///a.db") == "sqlite:///a.db"


def test_cmaes_is_refused_where_it_cannot_run() -> None:
    import importlib.util

    from sliceq22.errors import StudyFileError
    from studyrun import study_text

    per_target = study_text("c", sampler='name = "cmaes"\nseed = 1')
    with pytest.raises(StudyFileError, match="cmaes takes one objective"):
        parse_study_text(per_target)
    shared = study_text("c", mode="shared", sampler='name = "cmaes"\nseed = 1')
    if importlib.util.find_spec("cmaes") is None:
        with pytest.raises(StudyFileError, match="cmaes needs the cmaes package"):
            parse_study_text(shared)
    else:
        assert parse_study_text(shared).sampler.name == "cmaes"
