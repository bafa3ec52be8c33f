"""Bad input to the de-overlap: one line on stderr, exit status 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sliceq22.cli import main
from sliceq22.deoverlap import make_deoverlap
from sliceq22.deoverlap.modelfile import ModelFileError, load_model
from sliceq22.errors import ParameterError
from sliceq22.transforms import make_transform

SLICED = ["--dataset", "example", "--duration", "0.5", "--offset", "0"]


def good_document() -> dict:
    return {
        "format": "sliceq22-deoverlap",
        "version": 2,
        "family": "slicqt",
        "features": "own-steps+pairs",
        "scales": [0.5],
        "pair_scales": [0.5],
        "bases": ["1", "p", "p2", "spread", "spread*p", "edge", "long", "long*p", "long*p2"],
        # 1 constant + 2 steps + 3 products of the 2 pair steps, times 9 bases
        "weights": [0.0] * 54,
        "settings": [],
        "training": {},
    }


def write(path: Path, document: object) -> Path:
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    status = main(args)
    err = capsys.readouterr().err
    return status, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_good_document_loads(tmp_path: Path):
    model = load_model(write(tmp_path / "m.json", good_document()), "slicqt")
    assert model.parameters == 54


@pytest.mark.parametrize(
    "change, words",
    [
        ({"family": "nsgcq"}, "trained for family 'nsgcq', not 'slicqt'"),
        ({"family": "stft"}, "family 'stft' is not one of"),
        ({"format": "other"}, "is not a sliceq22-deoverlap file"),
        ({"version": 99}, "version 99"),
        ({"version": 1}, "has version 1; this sliceq22 reads 2 (retrain it with `sliceq22"),
        ({"features": "slope+curvature"}, "features 'slope+curvature' are not"),
        ({"weights": [0.0] * 53}, "has 53 weights; its features need 54"),
        ({"weights": "zeros"}, "weights must be a list of numbers"),
        ({"scales": [-1.0]}, "must be in (0, 1]"),
        ({"pair_scales": [2.0]}, "must be in (0, 1]"),
        ({"pair_scales": "all"}, "pair_scales must be a list of numbers"),
        ({"bases": ["1"]}, "bases"),
        ({"settings": "bark"}, "settings must be a list"),
    ],
)
def test_corrupt_model_files_are_refused_in_one_line(tmp_path: Path, change: dict, words: str):
    path = write(tmp_path / "m.json", {**good_document(), **change})
    with pytest.raises(ModelFileError, match="de-overlap model") as info:
        load_model(path, "slicqt")
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["{not json", '{"weights": [NaN]}', "", "[1, 2]"])
def test_unreadable_json_is_refused(tmp_path: Path, text: str):
    with pytest.raises(ModelFileError):
        load_model(write(tmp_path / "m.json", text))


def test_view_ola_on_a_transform_without_slices():
    for family, params in [("stft", {}), ("nsgcq", {"mode": "full"})]:
        with pytest.raises(ParameterError, match="needs a sliced transform"):
            make_deoverlap("mixture", make_transform(family, params))
    with pytest.raises(ParameterError, match="is not one of halves, mixture, learned:PATH"):
        make_deoverlap("thirds", make_transform("slicqt", {}))


@pytest.mark.parametrize(
    "args, words",
    [
        (["evaluate", "--model", "{missing}"], "no such file"),
        (["evaluate", "--model", "{other}"], "was trained for family 'nsgcq', not 'slicqt'"),
        (["evaluate", "--model", "{corrupt}"], "is not valid JSON"),
        (["evaluate", "--model", "{old}"], "retrain it with `sliceq22 deoverlap train`"),
        (["evaluate", "--transform", "stft"], "needs a sliced transform"),
        (["train", "--transform", "stft", "-o", "{out}"], "needs a sliced transform"),
        (["train", "--transform", "nsgcq", "-o", "{out}"], "needs a sliced transform"),
        (["train", "--test-fraction", "1.5", "-o", "{out}"], "--test-fraction 1.5"),
        (["train", "--param", "bins=abc", "-o", "{out}"], "bins"),
    ],
)
def test_cli_refuses_in_one_line_and_writes_nothing(tmp_path: Path, capsys, args, words):
    other = write(tmp_path / "other.json", {**good_document(), "family": "nsgcq"})
    corrupt = write(tmp_path / "corrupt.json", "{oops")
    old = write(tmp_path / "old.json", {**good_document(), "version": 1})
    names = {
        "missing": str(tmp_path / "missing.json"),
        "other": str(other),
        "corrupt": str(corrupt),
        "old": str(old),
        "out": str(tmp_path / "out.json"),
    }
    before = sorted(p.name for p in tmp_path.iterdir())
    status, err = run_cli(["deoverlap", *[a.format(**names) for a in args], *SLICED], capsys)
    assert status == 2
    assert words in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_training_on_silent_tracks_is_refused_and_writes_no_model(tmp_path: Path, capsys):
    import numpy as np
    import soundfile

    track = tmp_path / "silent" / "t0"
    track.mkdir(parents=True)
    for name in ("mixture", "drums", "bass", "other", "vocals"):
        soundfile.write(track / f"{name}.wav", np.zeros((8000, 2)), 8000, subtype="FLOAT")
    out = tmp_path / "m.json"
    params = ["bins=12", "fmin=80", "fmax=3000", "sllen=8192", "trlen=2048"]
    argv = ["deoverlap", "train", "--dataset", "folder", "--root", str(track.parent)]
    argv += ["--transform", "slicqt", *(x for p in params for x in ("--param", p))]
    status, err = run_cli([*argv, "-o", str(out)], capsys)
    assert status == 2 and "the tracks are silent or too short" in one_line(err)
    assert not out.exists()
