"""Audio parts: one stream of audio that contributes to a target, probed before it is read.

Every source describes a track as parts (a WAV/FLAC file, one stream of a
``.stem.mp4``, or an array already in memory) so one piece of code
(:mod:`sliceq22.data.plan`) checks rates, lengths and channels and reads only
the excerpt it needs. Arrays are float32 ``(channels, samples)`` throughout.

Why not read through ``musdb``/``stempeg`` everywhere: musdb decodes WAV files
through FFmpeg as 16-bit PCM (``ffmpeg_format="s16le"``), which quantises float
WAVs and clips sums above full scale, and it passes the *mixture's* stream info
when reading a stem, so a mono stem is reshaped into a corrupted half-length
stereo array. soundfile reads WAV/FLAC bit-exactly and partially (an excerpt
costs only its own samples).
"""

from __future__ import annotations

import json
import math
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sliceq22.errors import DatasetError

#: File extensions read with soundfile (libsndfile).
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".aif", ".aiff", ".ogg")


@dataclass
class AudioPart(ABC):
    """One mono or multichannel audio signal, described before it is read.

    Attributes
    ----------
    where : str
        What to name in messages (a path, ``path#stream``).
    rate : int
        Sample rate in Hz.
    channels : int
        Channel count.
    frames : int
        Samples per channel as probed (decoders may deliver a few more or fewer;
        :mod:`~sliceq22.data.plan` checks what was read).
    label : str
        How this part got its target (an OnAir mapping rule), empty if obvious.
    """

    where: str
    rate: int
    channels: int
    frames: int
    label: str = field(default="", kw_only=True)

    @abstractmethod
    def read(self, start: int = 0, frames: int | None = None, *, pcm16: bool = False) -> np.ndarray:
        """Return float32 ``(channels, n)`` from sample ``start``; ``frames=None`` reads to the end.

        With ``pcm16`` a 16-bit PCM source comes back as its int16 samples
        (lossless, half the memory; float32 is those times 1/32768); other
        sources ignore it.
        """

    @property
    def name(self) -> str:
        """Short name for notes (file name, stream number)."""
        return Path(self.where).name


@dataclass
class FilePart(AudioPart):
    """A WAV/FLAC/AIFF/OGG file read with soundfile."""

    path: str = field(default="", kw_only=True)
    #: libsndfile's subtype (``PCM_16``, ``FLOAT``, ...), "" if unknown.
    subtype: str = field(default="", kw_only=True)

    def read(self, start: int = 0, frames: int | None = None, *, pcm16: bool = False) -> np.ndarray:
        import soundfile as sf

        dtype = "int16" if pcm16 and self.subtype == "PCM_16" else "float32"
        try:
            with sf.SoundFile(self.path) as fh:
                return _read_blocks(fh, start, frames, dtype)
        except (RuntimeError, OSError) as exc:  # LibsndfileError is a RuntimeError
            raise DatasetError(f"{self.path}: unreadable audio file ({_one_line(exc)})") from None


#: Frames read per soundfile call: the (frames, channels) block is transposed
#: into the (channels, frames) result, so the whole file is never held twice.
READ_BLOCK = 1 << 16


def _read_blocks(fh: Any, start: int, frames: int | None, dtype: str) -> np.ndarray:
    """``frames`` (None: to the end) from ``start`` of an open SoundFile: ``(channels, n)``."""
    total = max(0, fh.frames - start)
    n = total if frames is None or frames < 0 else min(frames, total)
    out = np.empty((fh.channels, n), dtype=dtype)
    if n == 0:
        return out
    fh.seek(start)
    block = np.empty((min(n, READ_BLOCK), fh.channels), dtype=dtype)
    done = 0
    while done < n:
        got = fh.read(min(READ_BLOCK, n - done), dtype=dtype, always_2d=True, out=block)
        if len(got) == 0:  # a file shorter than its header says
            return np.ascontiguousarray(out[:, :done])
        out[:, done : done + len(got)] = got.T
        done += len(got)
    return out


@dataclass
class StreamPart(AudioPart):
    """One audio stream of a multi-stream container (``.stem.mp4``), decoded by FFmpeg.

    FFmpeg decodes to float32 (no 16-bit quantisation or clipping, unlike musdb's
    ``s16le``) with the stream's own channel count, so a mono stream stays mono
    until the loader converts it explicitly. Decoding is whole-stream (AAC seeking
    is not sample exact); :meth:`read` slices afterwards.
    """

    path: str = field(default="", kw_only=True)
    stream: int = field(default=0, kw_only=True)

    def read(self, start: int = 0, frames: int | None = None, *, pcm16: bool = False) -> np.ndarray:
        stop = None if frames is None else start + frames
        return decode_stream(self.path, self.stream, self.channels, start, stop)


@dataclass
class ArrayPart(AudioPart):
    """Audio already in memory (the decoded bundled example)."""

    data: np.ndarray = field(default_factory=lambda: np.zeros((2, 0), np.float32), kw_only=True)

    def read(self, start: int = 0, frames: int | None = None, *, pcm16: bool = False) -> np.ndarray:
        stop = None if frames is None else start + frames
        # A copy: the caller owns its array, the decoded cache stays untouched.
        return np.array(self.data[:, start:stop], dtype=np.float32, order="C", copy=True)


def probe_file(path: Path | str, *, label: str = "") -> FilePart:
    """Describe an audio file without reading its samples.

    Raises
    ------
    DatasetError
        The file does not exist, libsndfile cannot read it, or it holds no samples.
    """
    import soundfile as sf

    path = str(path)
    _require_file(path)
    try:
        info = sf.info(path)
    except (RuntimeError, OSError) as exc:
        raise DatasetError(f"{path}: unreadable audio file ({_one_line(exc)})") from None
    if info.frames <= 0:
        raise DatasetError(f"{path}: audio file holds no samples")
    if str(info.format) == "WAV":
        declared, present = wav_data_bytes(path)
        if declared > present:
            per_frame = present // info.frames  # bytes per frame, all channels
            frames = declared // per_frame if per_frame else "more"
            raise DatasetError(
                f"{path}: truncated WAV file: its header declares {frames} frames, the file holds "
                f"{info.frames} (an interrupted copy or download?); copy or export it again"
            )
    return FilePart(
        where=path,
        rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        label=label,
        path=path,
        subtype=str(info.subtype),
    )


def _require_file(path: str) -> None:
    """Refuse a missing path, and a folder given where an audio file is wanted, by name."""
    if Path(path).is_dir():
        raise DatasetError(f"{path}: is a folder, not an audio file")
    if not Path(path).is_file():
        raise DatasetError(f"{path}: file does not exist")


def wav_data_bytes(path: str) -> tuple[int, int]:
    """Bytes of sample data a RIFF/WAVE file's header declares, and the bytes it holds.

    libsndfile reads a truncated WAV quietly as a shorter one; the ``data``
    chunk's declared size against the bytes after it tells the two apart.
    Streamed WAVs that leave the size unset (0 or 0xFFFFFFFF) and RF64/W64
    files are not judged (``(0, 0)``).

    Parameters
    ----------
    path : str
        A file libsndfile reports as WAV.

    Returns
    -------
    (declared, present) : tuple of int
        Equal (or ``(0, 0)``) when the file is complete or cannot be judged.
    """
    import struct

    size = Path(path).stat().st_size
    with open(path, "rb") as fh:
        if fh.read(4) != b"RIFF":
            return 0, 0
        fh.seek(12)
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return 0, 0
            chunk, length = head[:4], struct.unpack("<I", head[4:])[0]
            if chunk == b"data":
                if length in (0, 0xFFFFFFFF):
                    return 0, 0
                return length, min(length, size - fh.tell())
            fh.seek(length + (length & 1), 1)  # chunks are padded to an even size


def _run_ffmpeg_tool(
    command: list[str], path: str, tool: str
) -> subprocess.CompletedProcess[bytes]:
    """Run an FFmpeg program on ``path``, output captured, exit status left to the caller.

    Raises
    ------
    DatasetError
        The program is not installed (``tool`` names it in the message).
    """
    try:
        return subprocess.run(command, capture_output=True, check=False)
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: decoding needs {tool}, which is not on PATH (install ffmpeg)"
        ) from None


def probe_streams(path: Path | str) -> list[StreamPart]:
    """Describe every audio stream of a container file (ffprobe).

    Raises
    ------
    DatasetError
        ffprobe cannot read the file or it holds no audio stream.
    """
    path = str(path)
    _require_file(path)
    result = _run_ffmpeg_tool(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", path], path, "FFmpeg's ffprobe"
    )
    if result.returncode != 0:
        raise DatasetError(f"{path}: unreadable audio file ({_last_line(result.stderr)})")
    streams = [
        s
        for s in json.loads(result.stdout or b"{}").get("streams", [])
        if s.get("codec_type") == "audio"
    ]
    if not streams:
        raise DatasetError(f"{path}: no audio stream in the file")
    parts = []
    for k, s in enumerate(streams):
        rate = int(s["sample_rate"])
        # duration (seconds) is set for every mp4 stream; duration_ts may be in
        # another time base than the sample rate.
        if "duration" in s:
            frames = round(float(s["duration"]) * rate)
        else:  # pragma: no cover - unusual containers
            frames = int(s.get("duration_ts", 0))
        parts.append(
            StreamPart(
                where=f"{path}#{k}",
                rate=rate,
                channels=int(s["channels"]),
                frames=frames,
                path=path,
                stream=int(s["index"]),
            )
        )
    return parts


def decode_stream(
    path: str, stream: int, channels: int, start: int = 0, stop: int | None = None
) -> np.ndarray:
    """Decode one stream of ``path`` with FFmpeg: float32 ``(channels, samples)``.

    The whole stream is decoded (AAC seeking is not sample exact); only
    samples ``[start, stop)`` are kept, transposed in one copy.
    """
    result = _run_ffmpeg_tool(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            path,
            "-map",
            f"0:{stream}",
            "-f",
            "f32le",
            "-acodec",
            "pcm_f32le",
            "pipe:1",
        ],
        path,
        "FFmpeg",
    )
    if result.returncode != 0:
        raise DatasetError(
            f"{path}: FFmpeg cannot decode stream {stream} ({_last_line(result.stderr)})"
        )
    data = np.frombuffer(result.stdout, dtype="<f4")
    if data.size % channels:
        raise DatasetError(
            f"{path}: stream {stream} decoded to a partial frame of {channels} channels"
        )
    return np.ascontiguousarray(data.reshape(-1, channels)[start:stop].T)


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample float32 ``(channels, n)`` with a polyphase filter (``scipy.signal.resample_poly``).

    Returns float32 ``(channels, ceil(n * rate_out / rate_in))``.
    """
    from scipy.signal import resample_poly

    if rate_in == rate_out:
        return audio
    g = math.gcd(rate_in, rate_out)
    out = resample_poly(audio.astype(np.float64), rate_out // g, rate_in // g, axis=-1)
    return out.astype(np.float32)


def resampled_length(frames: int, rate_in: int, rate_out: int) -> float:
    """Length in samples at ``rate_out`` of ``frames`` samples at ``rate_in`` (not rounded)."""
    return frames * rate_out / rate_in


def write_wav(path: Path | str, audio: np.ndarray, rate: int) -> None:
    """Write float32 ``(channels, samples)`` as a 32-bit float WAV (sums above 0 dBFS survive)."""
    import soundfile as sf

    sf.write(
        str(path), np.ascontiguousarray(np.asarray(audio, np.float32).T), rate, subtype="FLOAT"
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _last_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"
