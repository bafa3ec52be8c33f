"""Spectrogram views of one transform of one signal: ragged, rasterized matrix, overlap-added
slices.

A transform's coefficients are a list of blocks ``(..., *block_shape)``
(:mod:`sliceq22.transforms.base`): ``(bands, frames)`` for a full-signal
transform, ``(slices, bands, frames)`` for a sliced one, ``(frames,)`` for a
block holding one band. Bands of different blocks may differ in time
resolution. Three views are drawn, all in log magnitude (dB below the loudest
cell):

``ragged``
    Every band's cells at their true time extent and every band at its centre
    frequency on a log-frequency axis: a band with coarse time resolution shows
    wide cells, a sparse (linear) low-frequency band grid shows tall rows. For
    sliced transforms the slices are laid end to end (the axis is "slice
    time", twice the signal's duration for half-overlapping slices).
``matrix``
    The rasterized matrix a network would take: each band's magnitudes
    linearly interpolated to the finest band's frame count, rows of equal
    height (band index, ticks labelled in Hz), columns = frames.
``overlap-add``
    Sliced transforms only: the half-overlapping slices of each block
    overlap-added (:func:`sliceq22.transforms.overlap_add.overlap_add`, on
    magnitudes, as the xumx-sliCQ front end does) into one continuous time
    axis, drawn to scale like the ragged view.

Bands are compared by their *comparable cell energy*: ``weights · |c|²`` from
the family's ``cell_grid`` where it describes its cells (which also gives the
time step and origin of every block and marks the DC and Nyquist bands, left
out), else ``M_k · |c|²`` (cell energy of a nonstationary Gabor frame scales
as ``1 / M_k``, ``M_k`` = the band's cells per slice). Images are reduced to a display grid
(nearest cell where cells are wider than
a pixel, maximum where they are narrower) and stored as int8 dB, which keeps a
report small.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np

from sliceq22.errors import ParameterError, Sliceq22Error
from sliceq22.transforms.base import Transform
from sliceq22.transforms.overlap_add import overlap_add

#: Lowest level drawn, dB below the loudest cell.
FLOOR_DB = -80.0


@dataclass
class SpectrogramView:
    """One drawable view: an int8 dB image with its axes.

    Attributes
    ----------
    kind : str
        ``"ragged"``, ``"matrix"`` or ``"overlap-add"``.
    image : np.ndarray
        int8 ``(rows, columns)``, dB in ``[FLOOR_DB, 0]``; row 0 is the lowest frequency.
    x : np.ndarray
        ``(columns,)`` column centres: seconds (``ragged``, ``overlap-add``) or frame index
        (``matrix``).
    y : np.ndarray
        ``(rows,)`` row centres: Hz (``ragged``, ``overlap-add`` when frequencies are known) or
        band index.
    x_title, y_title : str
        Axis titles.
    log_y : bool
        Draw ``y`` on a log axis.
    y_ticks : tuple[list[float], list[str]] or None
        Tick positions and Hz labels for a band-index axis.
    note : str
        What the view shows, for a caption.
    x_range : tuple[float, float] or None
        Visible x range (the signal's duration where the cells cover more).
    """

    kind: str
    image: np.ndarray
    x: np.ndarray
    y: np.ndarray
    x_title: str
    y_title: str
    log_y: bool = False
    y_ticks: tuple[list[float], list[str]] | None = None
    note: str = ""
    x_range: tuple[float, float] | None = None


@dataclass
class _Block:
    """One coefficient block prepared for drawing.

    ``energy`` is ``(slices, bands, cells)`` comparable cell energy (one slice
    for full-signal blocks); ``ola`` the overlap-added energy ``(bands, cells)``
    of a sliced block; ``origin``/``step`` place cell ``m`` of the continuous
    axis (the signal's, or the overlap-added one) at
    ``[origin + m·step, origin + (m + 1)·step)`` seconds.
    """

    energy: np.ndarray
    freqs: np.ndarray
    keep: np.ndarray
    sliced: bool
    step: float
    origin: float
    ola: np.ndarray | None = None
    periodic: bool = False


def _cell_grids(transform: Transform, length: int, n_blocks: int) -> list[Any] | None:
    getter = getattr(transform, "cell_grid", None)
    if getter is None:
        return None
    try:
        grids = getter(length)
    except NotImplementedError:
        return None
    return list(grids) if grids is not None and len(grids) == n_blocks else None


def band_frequencies(transform: Transform, blocks: list[tuple[int, ...]]) -> np.ndarray | None:
    """Centre frequency (Hz) of every band, in block order, or ``None`` if unknown.

    Uses the transform's ``frequencies()`` (a flat array over all bands, or one
    array per block); the STFT's bin frequencies otherwise.
    """
    counts = [_band_count(shape) for shape in blocks]
    total = sum(counts)
    getter = getattr(transform, "frequencies", None)
    if getter is not None:
        try:
            found = getter()
        except Exception:  # a helper that needs arguments we do not know: fall back below
            found = None
        if found is not None:
            parts = found if isinstance(found, list | tuple) else [found]
            flat = np.concatenate([np.ravel(np.asarray(f, dtype=float)) for f in parts])
            if flat.size == total:
                return flat
    n_fft = getattr(transform, "n_fft", None)
    if transform.family == "stft" and n_fft and total == n_fft // 2 + 1:
        return np.fft.rfftfreq(int(n_fft), 1.0 / transform.rate)
    return None


def _band_count(shape: tuple[int, ...]) -> int:
    if len(shape) == 1:
        return 1
    if len(shape) in (2, 3):
        return int(shape[-2])
    raise ParameterError(
        f"cannot draw a coefficient block of shape {shape}: expected (bands, frames) "
        "or (slices, bands, frames)"
    )


def _one_channel(block: np.ndarray, channel: int | None) -> np.ndarray:
    """``(channels, *shape)`` -> ``(k, *shape)``: the chosen channel, or all of them (k =
    channels)."""
    if channel is None:
        return block
    if not 0 <= channel < block.shape[0]:
        raise ParameterError(
            f"channel {channel} does not exist: the audio has {block.shape[0]} channel(s)"
        )
    return block[channel : channel + 1]


def _as_sliced(values: np.ndarray) -> np.ndarray:
    """``(k, *shape)`` -> ``(k, slices, bands, cells)``."""
    if values.ndim == 2:  # (k, frames): one band
        return values[:, None, None, :]
    if values.ndim == 3:  # (k, bands, frames)
        return values[:, None]
    return values


def _prepare(
    transform: Transform, coefs: list[np.ndarray], length: int, channel: int | None
) -> list[_Block]:
    shapes = [tuple(c.shape[1:]) for c in coefs]
    grids = _cell_grids(transform, length, len(coefs))
    freqs = None if grids else band_frequencies(transform, shapes)
    duration = length / transform.rate
    slice_len = transform.slice_length
    blocks: list[_Block] = []
    start = 0
    for i, (block, shape) in enumerate(zip(coefs, shapes)):
        c = _as_sliced(_one_channel(block, channel))  # (k, slices, bands, cells)
        n_bands, cells = c.shape[-2], c.shape[-1]
        sliced = len(shape) == 3
        grid = grids[i] if grids else None
        if grid is not None:
            f = np.asarray(grid.frequencies, dtype=float)
            weights = np.asarray(grid.weights, dtype=float)[:, None]
            keep = ~np.asarray(grid.edge, dtype=bool)
            step, origin = float(grid.time_step), float(grid.time_origin)
            complex_ola = getattr(grid, "slice_overlap", "complex") == "complex"
            periodic = bool(getattr(grid, "periodic", False))
        else:
            f = (
                freqs[start : start + n_bands]
                if freqs is not None
                else np.arange(start, start + n_bands, dtype=float)
            )
            # Cell energy of a nonstationary Gabor frame scales as 1/M_k: compare bands by M_k·|c|².
            weights = np.full((n_bands, 1), float(cells))
            keep = np.ones(n_bands, dtype=bool)
            if sliced and slice_len:
                step, origin = (
                    slice_len / (cells * transform.rate),
                    -slice_len / (2 * transform.rate),
                )
            else:
                step, origin = duration / cells, 0.0
            complex_ola = True
            periodic = False
        start += n_bands
        energy = (np.abs(c) ** 2).mean(axis=0) * weights  # (slices, bands, cells)
        ola = None
        if sliced:
            even = c if cells % 2 == 0 else np.concatenate([c, c[..., -1:]], axis=-1)
            if complex_ola:  # slice windows that sum to one: the sum is the unsliced coefficient
                ola = (np.abs(overlap_add(even)) ** 2).mean(axis=0) * weights
            else:
                ola = overlap_add(np.abs(even) ** 2).mean(axis=0) * weights
        blocks.append(_Block(energy, f, keep, sliced, step, origin, ola, periodic))
    return blocks


def _db(values: list[np.ndarray]) -> list[np.ndarray]:
    """dB below the largest value of all arrays, clipped at :data:`FLOOR_DB`."""
    peak = max((float(np.max(v)) for v in values if v.size), default=0.0)
    ref = peak if peak > 0 else 1.0
    return [np.clip(10.0 * np.log10(np.maximum(v, 1e-30) / ref), FLOOR_DB, 0.0) for v in values]


def _on_grid(
    cells: np.ndarray,
    origin: float,
    step: float,
    start: float,
    end: float,
    columns: int,
    periodic: bool = False,
) -> np.ndarray:
    """Sample ``(rows, n)`` cells onto ``columns`` equal pixels spanning ``[start, end)`` seconds.

    Cells wider than a pixel: each pixel shows the cell under its centre, so a
    coarse band stays visibly blocky. Narrower: the loudest cell in the pixel.
    Pixels outside the cells are at the floor, unless the time axis is
    ``periodic`` (a full-signal NSG transform: the first cell, centred on 0,
    wraps around to the end).
    """
    n = cells.shape[-1]
    out = np.full((cells.shape[0], columns), FLOOR_DB)
    if n == 0:
        return out
    edges = start + (end - start) * np.arange(columns + 1) / columns
    centres = 0.5 * (edges[:-1] + edges[1:])
    if periodic:
        span = n * step
        edges = origin + np.mod(edges - origin, span)
        centres = origin + np.mod(centres - origin, span)
    inside = (centres >= origin) & (centres < origin + n * step)
    if step >= (end - start) / columns:
        index = np.clip(np.floor((centres - origin) / step).astype(int), 0, n - 1)
        out[:, inside] = cells[:, index[inside]]
        return out
    first = np.clip(np.floor((edges[:-1] - origin) / step).astype(int), 0, n - 1)
    pooled = np.maximum.reduceat(cells, first, axis=1)
    out[:, inside] = pooled[:, inside]
    return out


def _log_rows(freqs: np.ndarray, rows_db: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Put bands on ``n_rows`` log-spaced frequency rows: max of the bands in a row, else the
    nearest band."""
    order = np.argsort(freqs)
    freqs, rows_db = freqs[order], rows_db[order]
    lo, hi = float(freqs[0]), float(freqs[-1])
    if hi <= lo * 1.0001:
        return freqs[:1], rows_db[:1]
    n_rows = min(n_rows, 4 * len(freqs))
    edges = np.geomspace(lo / 1.0001, hi * 1.0001, n_rows + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    which = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, n_rows - 1)
    out = np.full((n_rows, rows_db.shape[1]), -np.inf)
    np.maximum.at(out, which, rows_db)
    empty = ~np.isfinite(out[:, 0])
    if (
        empty.any()
    ):  # a row between two sparse bands shows the band nearest to it (in log frequency)
        nearest = np.abs(np.log(centres[empty])[:, None] - np.log(freqs)[None, :]).argmin(axis=1)
        out[empty] = rows_db[nearest]
    return centres, out


def _pool_rows(values: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Max-pool ``(bands, cols)`` to at most ``n_rows`` rows; returns (first band of each row,
    pooled)."""
    bands = values.shape[0]
    if bands <= n_rows:
        return np.arange(bands), values
    starts = (np.arange(n_rows) * bands) // n_rows
    return starts, np.maximum.reduceat(values, starts, axis=0)


def _hz(f: float) -> str:
    return f"{f / 1000:.3g} kHz" if f >= 1000 else f"{f:.3g} Hz"


def compute_views(
    transform: Transform,
    audio: np.ndarray,
    *,
    channel: int | None = None,
    columns: int = 900,
    rows: int = 256,
) -> list[SpectrogramView]:
    """Analyse ``audio`` with ``transform`` and build its views.

    Parameters
    ----------
    transform : Transform
        Any sliceq22 transform. Its ``cell_grid(length)`` (band frequencies,
        energy weights, time steps, DC/Nyquist bands) is used where the family
        implements it; ``frequencies()`` and ``M_k`` weights otherwise.
    audio : np.ndarray
        Real ``(samples,)`` or ``(channels, samples)`` at ``transform.rate``.
    channel : int, optional
        Draw this channel; default the energy averaged over channels.
    columns, rows : int
        Display grid (pixels) of each view.

    Returns
    -------
    list[SpectrogramView]
        ``ragged`` and ``matrix``, plus ``overlap-add`` for sliced transforms.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2 or audio.shape[-1] == 0:
        raise ParameterError(
            f"audio must be (channels, samples) with samples > 0, got shape {audio.shape}"
        )
    length = audio.shape[-1]
    duration = length / transform.rate
    blocks = _prepare(transform, transform.forward(audio), length, channel)
    known = (
        _cell_grids(transform, length, len(blocks)) is not None
        or band_frequencies(transform, [b.energy.shape[1:] for b in blocks]) is not None
    )
    # The ragged and matrix views come from the family's own layouts where it has both.
    ragged = _blocks_of(_variant(transform, "none"), audio, channel) or blocks
    matrix = _blocks_of(_variant(transform, "full"), audio, channel)
    if matrix is None and transform.params.get("rasterize") == "full":
        matrix = blocks
    sliced = any(b.sliced for b in blocks)
    views = [_ragged(ragged, known, duration, transform, columns, rows, sliced)]
    views.append(_matrix(ragged, matrix, known, rows, columns, sliced))
    if sliced:
        views.append(_overlap_added(ragged, known, duration, columns, rows))
    return views


def _rows_view(
    kind: str,
    per_band: list[tuple[np.ndarray, np.ndarray]],
    known: bool,
    rows: int,
    x: np.ndarray,
    x_title: str,
    note: str,
    x_range: tuple[float, float] | None,
) -> SpectrogramView:
    freqs = np.concatenate([f for f, _ in per_band])
    values = np.concatenate([v for _, v in per_band], axis=0)
    positive = freqs > 0
    if known and positive.sum() >= 2:
        centres, image = _log_rows(freqs[positive], values[positive], rows)
        return SpectrogramView(
            kind,
            np.round(image).astype(np.int8),
            x,
            centres,
            x_title,
            "frequency (Hz)",
            log_y=True,
            note=note,
            x_range=x_range,
        )
    order = np.argsort(freqs)
    first, image = _pool_rows(values[order], rows)
    return SpectrogramView(
        kind,
        np.round(image).astype(np.int8),
        x,
        first.astype(float),
        x_title,
        "band",
        note=note,
        x_range=x_range,
    )


def _ragged(
    blocks: list[_Block],
    known: bool,
    duration: float,
    transform: Transform,
    columns: int,
    rows: int,
    sliced: bool,
) -> SpectrogramView:
    dbs = _db([b.energy[:, b.keep] for b in blocks])
    n_slices = max(b.energy.shape[0] for b in blocks)
    slice_len = transform.slice_length
    if sliced and slice_len:
        span = n_slices * slice_len / transform.rate
        per_band = []
        for b, db in zip(blocks, dbs):
            cells = np.concatenate(list(db), axis=-1)  # slices end to end: (bands, slices · cells)
            step = slice_len / (db.shape[-1] * transform.rate)
            per_band.append((b.freqs[b.keep], _on_grid(cells, 0.0, step, 0.0, span, columns)))
        x_title = f"slice time (s): {n_slices} slices of {slice_len} samples end to end"
        note = (
            "Ragged view: each band's cells at their true duration and centre frequency, slices "
            "laid end to end (neighbouring slices overlap by half in the signal)."
        )
        start = 0.0
    else:
        span, start = duration, 0.0
        per_band = [
            (b.freqs[b.keep], _on_grid(db[0], b.origin, b.step, 0.0, span, columns, b.periodic))
            for b, db in zip(blocks, dbs)
        ]
        x_title = "time (s)"
        note = "Ragged view: each band's cells at their true duration and centre frequency."
    x = start + (np.arange(columns) + 0.5) * span / columns
    return _rows_view("ragged", per_band, known, rows, x, x_title, note, None)


def _variant(transform: Transform, rasterize: str) -> Transform | None:
    """The same setting in another of the family's own layouts (``rasterize``), or ``None``.

    Families with a ``rasterize`` parameter (nsgcq, slicqt) compute a ragged
    (``"none"``) and a matrix (``"full"``) form themselves; the views use
    those rather than imitating one from the other.
    """
    declared = {p.name: p for p in type(transform).PARAMS}
    param = declared.get("rasterize")
    if (
        param is None
        or rasterize not in (param.choices or ())
        or transform.params.get("rasterize") == rasterize
    ):
        return None
    try:
        return type(transform)({**transform.params, "rasterize": rasterize}, rate=transform.rate)
    except Sliceq22Error:  # a layout may refuse what the other accepts
        return None


def _blocks_of(
    transform: Transform | None, audio: np.ndarray, channel: int | None
) -> list[_Block] | None:
    if transform is None:
        return None
    try:
        return _prepare(transform, transform.forward(audio), audio.shape[-1], channel)
    except (
        Sliceq22Error
    ):  # e.g. the other layout is larger than a memory bound: fall back to one layout
        return None


def _matrix(
    blocks: list[_Block],
    native: list[_Block] | None,
    known: bool,
    rows: int,
    columns: int,
    sliced: bool,
) -> SpectrogramView:
    source = native if native is not None else blocks
    frames = max(b.energy.shape[-1] for b in source if b.keep.any())
    n_slices = max(b.energy.shape[0] for b in source)
    parts = []
    for b in source:
        if not b.keep.any():  # a DC or Nyquist block: not drawn
            continue
        e = b.energy[:, b.keep]
        m = e.shape[-1]
        if m != frames:  # linear interpolation of each band onto the finest band's frames
            src = (np.arange(m) + 0.5) / m
            dst = (np.arange(frames) + 0.5) / frames
            e = np.stack([np.interp(dst, src, row) for row in e.reshape(-1, m)]).reshape(
                *e.shape[:-1], frames
            )
        if e.shape[0] < n_slices:
            e = np.concatenate([e, np.zeros((n_slices - e.shape[0], *e.shape[1:]))], axis=0)
        parts.append((b.freqs[b.keep], e))
    freqs = np.concatenate([f for f, _ in parts])
    order = np.argsort(freqs, kind="stable")
    matrix = np.concatenate([e for _, e in parts], axis=1)[:, order, :]  # (slices, bands, frames)
    flat = np.concatenate(list(matrix), axis=-1)  # slices end to end
    (db,) = _db([flat])
    total = flat.shape[-1]
    pixels = min(columns, total)
    first, pooled = _pool_rows(_on_grid(db, 0.0, 1.0, 0.0, float(total), pixels), rows)
    x = (np.arange(pixels) + 0.5) * total / pixels - 0.5
    sorted_f = freqs[order]
    ticks = None
    if known:
        picks = np.unique(np.linspace(0, len(first) - 1, min(8, len(first))).astype(int))
        ticks = ([float(first[i]) for i in picks], [_hz(float(sorted_f[first[i]])) for i in picks])
    how = (
        "the family's own rasterized form (rasterize=full)"
        if native is not None
        else "one frame rate for all bands"
        if all(b.energy.shape[-1] == frames for b in source)
        else "every band interpolated to the finest band's frames"
    )
    note = (
        f"Rasterized matrix: {len(sorted_f)} bands × {frames} frames"
        + (f" per slice × {n_slices} slices" if sliced and n_slices > 1 else "")
        + f", {how}; rows of equal height."
    )
    return SpectrogramView(
        "matrix",
        np.round(pooled).astype(np.int8),
        x,
        first.astype(float),
        "frame" + (" (slices end to end)" if sliced and n_slices > 1 else ""),
        "band" + (" (labelled by centre frequency)" if known else ""),
        y_ticks=ticks,
        note=note,
    )


def _overlap_added(
    blocks: list[_Block], known: bool, duration: float, columns: int, rows: int
) -> SpectrogramView:
    sliced = [b for b in blocks if b.ola is not None]
    olas = [b.ola for b in blocks if b.ola is not None]
    dbs = _db([ola[b.keep] for b, ola in zip(sliced, olas)])
    start = min(b.origin for b in sliced)
    end = max(b.origin + ola.shape[-1] * b.step for b, ola in zip(sliced, olas))
    per_band = [
        (b.freqs[b.keep], _on_grid(db, b.origin, b.step, start, end, columns))
        for b, db in zip(sliced, dbs)
    ]
    x = start + (np.arange(columns) + 0.5) * (end - start) / columns
    note = (
        "Overlap-added slices: neighbouring half-overlapping slices summed into one time axis "
        "(the signal's), each band's cells at their true duration."
    )
    return _rows_view("overlap-add", per_band, known, rows, x, "time (s)", note, (0.0, duration))


# ---------------------------------------------------------------------------- figures
def views_figure(views: list[SpectrogramView], title: str, *, height_per_view: int = 300) -> Any:
    """A plotly figure with one panel per view, sharing one dB colour scale.

    ``title`` is user text (file or track names): it is HTML-escaped here.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = {
        "ragged": "ragged (per-band time resolution to scale)",
        "matrix": "rasterized matrix",
        "overlap-add": "overlap-added slices",
    }
    plot_area = height_per_view * len(views) - 10
    # ~90 px between panels whatever their number: room for an axis title and the next panel's
    # title.
    spacing = min(0.3, 90 / plot_area) if len(views) > 1 else 0.0
    fig = make_subplots(
        rows=len(views),
        cols=1,
        vertical_spacing=spacing,
        subplot_titles=[names.get(v.kind, v.kind) for v in views],
    )
    for i, v in enumerate(views, start=1):
        y_hover = "%{y:.1f} Hz" if v.y_title.startswith("frequency") else "band %{y}"
        x_hover = "%{x:.3f} s" if "time" in v.x_title else "frame %{x:.0f}"
        fig.add_trace(
            go.Heatmap(
                z=v.image,
                x=v.x,
                y=v.y,
                coloraxis="coloraxis",
                hovertemplate=f"{x_hover}<br>{y_hover}<br>%{{z}} dB<extra>{v.kind}</extra>",
            ),
            row=i,
            col=1,
        )
        fig.update_xaxes(
            title_text=html.escape(v.x_title),
            row=i,
            col=1,
            **({"range": list(v.x_range)} if v.x_range else {}),
        )
        yaxis: dict[str, Any] = {"title_text": v.y_title}
        if v.log_y:
            yaxis["type"] = "log"
        if v.y_ticks:
            yaxis["tickvals"], yaxis["ticktext"] = v.y_ticks
        fig.update_yaxes(row=i, col=1, **yaxis)
    fig.update_layout(
        title={"text": html.escape(title), "x": 0.0, "xref": "paper", "xanchor": "left"},
        template="plotly_white",
        height=120 + height_per_view * len(views),
        margin={"l": 70, "r": 20, "t": 80, "b": 50},
        coloraxis={
            "colorscale": "Magma",
            "cmin": FLOOR_DB,
            "cmax": 0.0,
            "colorbar": {"title": {"text": "dB"}, "len": 0.8},
        },
    )
    return fig


def excerpt(
    audio: np.ndarray, rate: int, start: float | None, duration: float | None
) -> tuple[np.ndarray, float]:
    """Cut ``[start, start + duration)`` seconds from ``(channels, samples)``; default: the middle.

    Returns the excerpt and its start time in seconds.
    """
    total = audio.shape[-1]
    want = total if duration is None else round(duration * rate)
    if want <= 0:
        raise ParameterError(f"duration {duration!r} s must be positive")
    want = min(want, total)
    if start is None:
        first = (total - want) // 2
    else:
        if start < 0:
            raise ParameterError(f"start {start!r} s must not be negative")
        first = round(start * rate)
        if first >= total:
            raise ParameterError(
                f"start {start} s is past the end of the audio ({total / rate:.2f} s)"
            )
        want = min(want, total - first)
    return audio[..., first : first + want], first / rate


def describe_views(views: list[SpectrogramView]) -> str:
    """One caption line per view."""
    return " ".join(v.note for v in views)


__all__ = [
    "FLOOR_DB",
    "SpectrogramView",
    "band_frequencies",
    "compute_views",
    "describe_views",
    "excerpt",
    "views_figure",
]
