"""Native Instruments stem files (``.stem.mp4``): stream order from the file's own metadata.

A stem file holds five audio streams: the mixture, then four stems. Which stem
is which is written in a JSON ``stem`` box under ``moov/udta`` (the NI Stems
format); MUSDB18 writes ``Drums, Bass, Other, Vox``. ffprobe does not expose
that box, so it is read here by walking the MP4 box tree (headers only).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, BinaryIO

from sliceq22 import TARGETS
from sliceq22.errors import DatasetError

#: Names NI stem metadata uses for the MUSDB targets (lower-cased).
_STEM_NAMES = {
    "drums": "drums",
    "bass": "bass",
    "other": "other",
    "vocals": "vocals",
    "vox": "vocals",
    "vocal": "vocals",
}


def _boxes(fh: BinaryIO, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """List ``(type, payload_start, payload_end)`` of the boxes between two offsets."""
    out = []
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        size, kind = struct.unpack(">I4s", fh.read(8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", fh.read(8))
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            break  # corrupt box: stop rather than loop
        out.append((kind, pos + header, min(pos + size, end)))
        pos += size
    return out


def read_stem_metadata(path: Path | str) -> dict[str, Any] | None:
    """Return the JSON of the ``moov/udta/stem`` box, or None if the file has none."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            for kind, a, b in _boxes(fh, 0, size):
                if kind != b"moov":
                    continue
                for kind2, a2, b2 in _boxes(fh, a, b):
                    if kind2 != b"udta":
                        continue
                    for kind3, a3, b3 in _boxes(fh, a2, b2):
                        if kind3 == b"stem":
                            fh.seek(a3)
                            return json.loads(fh.read(b3 - a3).decode("utf-8").rstrip("\0"))
    except (OSError, ValueError, struct.error):
        return None
    return None


def stem_order(path: Path | str) -> tuple[list[str] | None, list[str]]:
    """Targets of streams 1-4 according to the file's metadata.

    Returns
    -------
    order : list of str or None
        MUSDB target names in stream order (None when the file has no metadata).
    raw : list of str
        The names as written in the file.

    Raises
    ------
    DatasetError
        The metadata names something other than the four MUSDB targets.
    """
    meta = read_stem_metadata(path)
    if meta is None or "stems" not in meta:
        return None, []
    raw = [str(s.get("name", "")) for s in meta["stems"]]
    order = [_STEM_NAMES.get(n.strip().lower(), "") for n in raw]
    if sorted(order) != sorted(TARGETS):
        raise DatasetError(
            f"{path}: stem metadata names the streams {raw}; expected drums, bass, other, vocals"
        )
    return order, raw
