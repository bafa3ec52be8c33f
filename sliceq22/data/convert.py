"""Write any loadable dataset (OnAir in particular) as a MUSDB18-HQ-shaped tree.

``OUT/train/<track>/{mixture,drums,bass,other,vocals}.wav`` as 32-bit float WAV
(sums of several stems may exceed full scale; 16-bit would clip them), which
``musdb.DB(root=OUT, is_wav=True)`` lists and ``DatasetSpec(source="musdb",
root=OUT, is_wav=True)`` loads bit-exactly. Each track is written into a
scratch folder outside ``train/`` and renamed into place, so an interrupted
conversion never leaves a half-written track that musdb would list. A manifest
``OUT/sliceq22_conversion.json`` records the spec, the rate and every track's
notes (mapping rules, truncations, resampling) and the skipped tracks.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sliceq22 import TARGETS, __version__
from sliceq22.data.audio import write_wav
from sliceq22.data.load import prepare
from sliceq22.data.plan import realize
from sliceq22.data.spec import DatasetSpec
from sliceq22.errors import DatasetError

MANIFEST = "sliceq22_conversion.json"
_SCRATCH = ".sliceq22-partial"


@dataclass
class ConversionReport:
    """What :func:`convert_to_musdb` did.

    Attributes
    ----------
    out : Path
        The tree's root (``musdb.DB(root=out, is_wav=True)``).
    written : list[str]
        Track names written under ``out/train``.
    skipped : list[tuple[str, str]]
        ``(track, reason)`` left out.
    rate : int
        Sample rate of the written files.
    manifest : Path
        The JSON manifest.
    """

    out: Path
    written: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rate: int = 0
    manifest: Path = Path()


def convert_to_musdb(
    spec: DatasetSpec,
    out: str | Path,
    *,
    overwrite: bool = False,
    mixture: str = "recorded",
    progress: bool = False,
) -> ConversionReport:
    """Load every track of ``spec`` and write it as MUSDB18-HQ.

    Parameters
    ----------
    spec : DatasetSpec
        Source to convert (its excerpt options apply: leave ``duration`` unset
        for whole tracks).
    out : path
        Output root; tracks go to ``out/train/<name>/``.
    overwrite : bool
        Replace track folders that already exist (otherwise refuse before writing).
    mixture : {"recorded", "sum"}
        What ``mixture.wav`` holds: the delivered (mastered) mix when there is
        one, else the stem sum (noted); or always the stem sum.
    progress : bool
        Show a tqdm progress bar.

    Raises
    ------
    DatasetError
        Whatever loading refuses, an existing track folder without
        ``overwrite``, or an output folder that cannot be written.
    """
    if mixture not in ("recorded", "sum"):
        raise DatasetError(f"mixture: {mixture!r} is not one of 'recorded', 'sum'")
    out = Path(out).expanduser()
    _refuse_overlap(spec, out)
    prepared = prepare(spec)
    train = out / "train"
    existing = [p.name for p in prepared.plans if (train / p.name).exists()]
    if existing and not overwrite:
        raise DatasetError(
            f"{train}: {len(existing)} track folder(s) already exist ({existing[0]!r}...); "
            "pass --overwrite to replace them"
        )
    # Folders this call creates, innermost last: removed again if the conversion
    # is refused before a track is written, so a refusal leaves nothing behind.
    created = [p for p in (*reversed(train.parents), train) if not p.exists()]
    scratch = out / _SCRATCH
    try:
        train.mkdir(parents=True, exist_ok=True)
        scratch.mkdir(exist_ok=True)
    except OSError as exc:
        _remove_empty(created)
        raise DatasetError(f"{out}: cannot create the output folder ({exc.strerror})") from None

    report = ConversionReport(out=out, skipped=list(prepared.skipped), rate=prepared.rate)
    try:
        manifest_tracks = _convert_tracks(prepared, spec, train, scratch, mixture, progress, report)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        _remove_empty(created)
        raise
    shutil.rmtree(scratch, ignore_errors=True)
    report.manifest = out / MANIFEST
    report.manifest.write_text(
        json.dumps(
            {
                "sliceq22": __version__,
                "dataset": spec.to_mapping(),
                "rate": prepared.rate,
                "tracks": manifest_tracks,
                "skipped": [{"name": n, "reason": r} for n, r in prepared.skipped],
            },
            indent=2,
        )
        + "\n"
    )
    return report


def _refuse_overlap(spec: DatasetSpec, out: Path) -> None:
    """Refuse an output tree inside the dataset it converts (or the dataset inside its tracks).

    Writing into the source would add ``train/`` to the very tree being read,
    and ``--overwrite`` could replace source folders.
    """
    root = getattr(spec, "root", None)
    if root is None:
        return
    source, target = Path(root).expanduser().resolve(), out.resolve()
    if target == source or source in target.parents:
        raise DatasetError(f"OUT {out} is inside ROOT {root}: write the converted tree elsewhere")
    if (target / "train") == source or (target / "train") in source.parents:
        raise DatasetError(f"ROOT {root} is inside OUT/train ({out / 'train'}): choose another OUT")


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders (innermost first) that are still empty."""
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:  # not empty (something was written) or already gone
            return


def _convert_tracks(
    prepared: Any,
    spec: DatasetSpec,
    train: Path,
    scratch: Path,
    mixture: str,
    progress: bool,
    report: ConversionReport,
) -> list[dict[str, Any]]:
    """Write every prepared track into ``train`` through ``scratch``; return manifest entries."""
    from tqdm import tqdm

    manifest_tracks = []
    for plan in tqdm(prepared.plans, desc="converting", unit="track", disable=not progress):
        track = realize(plan, spec, prepared.rate)
        notes = list(track.notes)
        if mixture == "recorded" and track.recorded_mixture is not None:
            mix = track.recorded_mixture
        else:
            mix = track.mixture("sum")
            notes.append("mixture.wav = sum of the four targets")
        tmp = scratch / plan.name
        if tmp.exists():
            shutil.rmtree(tmp)
        try:
            tmp.mkdir()
            for target in TARGETS:
                write_wav(tmp / f"{target}.wav", track.targets[target], track.rate)
            write_wav(tmp / "mixture.wav", mix, track.rate)
            dest = train / plan.name
            if dest.exists():
                shutil.rmtree(dest)
            tmp.rename(dest)
        except OSError as exc:
            raise DatasetError(
                f"{tmp}: cannot write the converted track ({exc.strerror})"
            ) from None
        report.written.append(plan.name)
        manifest_tracks.append(
            {
                "name": plan.name,
                "subset": plan.subset,
                "samples": track.length,
                "channels": track.channels,
                "peak": float(np.max(np.abs(track.stacked()))) if track.length else 0.0,
                "notes": notes,
            }
        )
    return manifest_tracks
