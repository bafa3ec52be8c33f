"""``sliceq22 report`` on real studies (real Optuna, Ray, SQLite, audio), checked in headless
Chromium.

Two studies are run through the CLI at the same time, each into its own SQLite
file: a per-target study of the STFT and the sliCQT on two short stem folders
(random sampler, so the parameters vary), and a two-trial shared study whose
name is an HTML/JS injection attempt. The reports are compared with ``sliceq22 export`` and
``sliceq22 show --json``, and the first one is opened in Debian's Chromium
(driven over the DevTools protocol on a pipe, standard library only): every
plotly figure must have drawn, nothing may be logged as an error, and a
screenshot is kept in ``artifacts/``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import struct
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import optuna
import pytest

from sliceq22 import TARGETS
from sliceq22.search.trialattrs import trial_attrs
from tests.studyrun import STFT_SPACE, run_cli, run_clis, study_text, write_stem_folder
from tests.studyrun import trials as _trials

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No "/": study names may not hold path separators (tests/test_bad_input.py).
EVIL = "<script>alert(1)<script> & co"

SLICQT_SPACE = """
[[transforms]]
label = "slicqt"
family = "slicqt"
[transforms.space]
scale = { choices = ["bark", "mel"] }
bins = { low = 24, high = 64 }
sllen = { value = 32768 }
trlen = { value = 4096 }

# Always refused by constraints.max_slice_length: the report must list it with its reason.
[[transforms]]
label = "slicqt-long"
family = "slicqt"
[transforms.space]
bins = { low = 24, high = 64 }
sllen = { value = 65536 }
"""


# ---------------------------------------------------------------------------- the studies
@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run both studies and write their reports and exports; return paths and documents."""
    root = tmp_path_factory.mktemp("report")
    stems = write_stem_folder(root / "stems", 2, 1.5)
    url = f"sqlite:///{root / 'studies.db'}"
    per_target = study_text(
        "tf-search",
        mode="per-target",
        trials=6,
        dataset=f'source = "folder"\nroot = "{stems}"',
        space=STFT_SPACE + SLICQT_SPACE,
        sampler='name = "random"\nseed = 3',
        extra="[constraints]\nmax_slice_length = 32768\n",
    )
    shared = study_text(EVIL, mode="shared", trials=2, sampler='name = "random"\nseed = 1')
    (root / "a.toml").write_text(per_target)
    (root / "b.toml").write_text(shared)
    out: dict[str, Any] = {"root": root, "url": url}
    b_url = f"sqlite:///{root / 'studies-b.db'}"
    # The two runs overlap (each waits mostly for its own Ray runtime to start and stop), each
    # into its own file; b is then copied into a's file, so export, show and report pick a
    # named study out of a file holding two, as before.
    runs = [
        ("a.toml", url, "2"),
        ("b.toml", b_url, "1"),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(run_cli, "run", file, "--storage", where, "--workers", n, cwd=root)
            for file, where, n in runs
        ]
        for future in futures:
            done = future.result()
            assert done.returncode == 0, done.stderr
    optuna.copy_study(from_study_name=EVIL, from_storage=b_url, to_storage=url)
    calls = [
        [command, name, "--storage", url, "-o", f"{key}.{suffix}"]
        for key, name in (("a", "tf-search"), ("b", EVIL))
        for command, suffix in (("export", "json"), ("report", "html"))
    ]
    for result in run_clis(calls, cwd=root):
        assert result.returncode == 0, result.stderr
    for key, name in (("a", "tf-search"), ("b", EVIL)):
        out[key] = {
            "name": name,
            "html": (root / f"{key}.html").read_text(encoding="utf-8"),
            "path": root / f"{key}.html",
            "export": json.loads((root / f"{key}.json").read_text()),
            "show": _overview(url, name),
        }
    return out


def _overview(url: str, name: str) -> dict[str, Any]:
    """What ``sliceq22 show NAME --json`` prints (the same function, without another process)."""
    from sliceq22.search.storage import open_storage
    from sliceq22.search.study import budget_of, load_existing
    from sliceq22.search.tables import overview

    study, config = load_existing(name, open_storage(url, create=False))
    return overview(study, budget_of(study, config))


class _Cells(HTMLParser):
    """Collect the cells of the tables with an id: ``tables[id] = [[(attrs, text), ...], ...]``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[dict[str, str | None], str]]]] = {}
        self._table: str | None = None
        self._cell: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id"):
            self._table = dict(attrs)["id"]
            self.tables[self._table] = []
        elif self._table and tag == "tr":
            self.tables[self._table].append([])
        elif self._table and tag in ("td", "th"):
            self._cell, self._text = dict(attrs), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif self._table and tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append((self._cell, "".join(self._text).strip()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)


def _tables(html: str) -> dict[str, list[list[tuple[dict[str, str | None], str]]]]:
    parser = _Cells()
    parser.feed(html)
    return parser.tables


# ---------------------------------------------------------------------------- content
@pytest.mark.parametrize("key", ["a", "b"])
def test_summary_table_equals_export(studies: dict[str, Any], key: str) -> None:
    study = studies[key]
    doc = study["export"]
    rows = _tables(study["html"])["best-settings"]
    header = [text for _, text in rows[0]]
    refs = list(doc["reference"])
    assert refs == ["stft-4096-1024"] and header[5] == "stft-4096-1024"
    best = {}
    for row in rows[1:]:
        target = row[0][1]
        best[target] = (
            float(row[1][0]["data-value"]),
            int(row[2][1]),
            float(row[5][0]["data-value"]),
        )
    for target in TARGETS:
        entry = doc["targets"][target]
        score, trial, ref = best[target]
        assert score == entry["score"]  # exact: the page keeps the full value
        assert trial == entry["trial"]
        assert ref == doc["reference"]["stft-4096-1024"]["scores"][target]
    if doc["mode"] == "shared":
        assert (
            best["shared"][0] == doc["shared"]["score"]
            and best["shared"][1] == doc["shared"]["trial"]
        )
    else:
        assert doc["shared"] is None and "shared" not in best
    # Trial counts are the ones `sliceq22 show` reports.
    counts = {row[0][1]: int(row[1][1]) for row in _tables(study["html"])["trial-counts"][1:]}
    shown = {("failed" if k == "fail" else k): v for k, v in study["show"]["counts"].items() if v}
    assert counts == shown


def test_report_is_self_contained_and_small(studies: dict[str, Any]) -> None:
    for key in ("a", "b"):
        html = studies[key]["html"]
        size = len(html.encode("utf-8"))
        assert size < 10_000_000, f"{key}: {size / 1e6:.1f} MB"
        assert html.count("* plotly.js v") == 1  # the library embedded exactly once
        # Nothing fetched: no external script, style sheet, image or frame.
        assert not re.search(r"<(script|img|iframe)[^>]*\bsrc=", html)
        assert not re.search(r"<link[^>]*\bhref=", html)
    a = studies["a"]["html"]
    # Per-target study: 4 spectrogram figures (one per target), importances drawn (random
    # parameters).
    assert len(re.findall(r'<div id="figure-\d+" class="plotly-graph-div"', a)) >= 10
    for target in TARGETS:
        assert f"{target}: the {target} stem of track" in a
    importances = a.split('id="importances"')[1].split('id="slices"')[0]
    assert "plotly-graph-div" in importances
    # The two-trial study cannot rank parameters: a note instead of a figure.
    b = studies["b"]["html"]
    section = b.split('id="importances"')[1].split('id="slices"')[0]
    assert "plotly-graph-div" not in section and "importances need at least 2" in section


def test_failures_are_grouped_with_reasons(studies: dict[str, Any]) -> None:
    # Every "slicqt-long" candidate exceeds the slice-length constraint (and an STFT hop above
    # n_fft/2 is refused too): infeasible, with a reason, grouped by the rule they broke.
    infeasible = studies["a"]["show"]["counts"].get("infeasible", 0)
    assert infeasible >= 1
    rows = _tables(studies["a"]["html"])["failures"][1:]
    assert sum(int(row[1][1]) for row in rows if row[0][1] == "infeasible") == infeasible
    long = [row for row in rows if "exceeds constraints.max_slice_length" in row[3][1]]
    assert (
        len(long) == 1 and long[0][2][1] == "slice length # exceeds constraints.max_slice_length #"
    )
    numbers = [int(n) for n in long[0][4][1].split(", ")]
    trials = {t.number: t for t in _trials(studies["url"], "tf-search")}
    assert all(trial_attrs(trials[n])["label"] == "slicqt-long" for n in numbers)


def test_study_name_with_script_renders_as_text(studies: dict[str, Any]) -> None:
    html = studies["b"]["html"]
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;script&gt; &amp; co" in html
    # Only our own scripts: PlotlyConfig, plotly.js, and one per figure.
    figures = len(re.findall(r'class="plotly-graph-div"', html))
    assert len(re.findall(r"<script\b", html)) == 2 + figures
    page = _render(studies["b"]["path"], None)
    assert page["name"] == EVIL  # shown literally
    assert not page["dialogs"], page["dialogs"]
    assert not page["errors"], page["errors"]


def test_report_cli_errors(studies: dict[str, Any]) -> None:
    root, url = studies["root"], studies["url"]
    missing = run_cli("report", "nope", "--storage", url, cwd=root)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "no study named 'nope'" in missing.stderr
    assert "tf-search" in missing.stderr
    folder = run_cli("report", "tf-search", "--storage", url, "-o", "no/such/dir/r.html", cwd=root)
    assert folder.returncode == 2 and "does not exist" in folder.stderr


# ---------------------------------------------------------------------------- headless Chromium
class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

    Messages are JSON terminated by NUL; Chromium reads fd 3 and writes fd 4.
    """

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="sliceq22-chromium-")
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()
        args = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # bash puts the pipe ends on the descriptors Chromium expects, then becomes Chromium.
        wire = f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}'
        self.proc = subprocess.Popen(
            ["bash", "-c", wire, "chromium", *args],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def call(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 60,
    ) -> dict:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            reply = self._next(end - time.monotonic())
            if reply is None:
                continue
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def _next(self, timeout: float) -> dict | None:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._r], [], [], max(0.0, timeout))
            if not ready:
                return None
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)
        os.close(self._r)
        os.close(self._w)
        shutil.rmtree(self.profile, ignore_errors=True)


#: Per plotly div: what was drawn.
PROBE = """(() => [...document.querySelectorAll('div.plotly-graph-div')].map(d => ({
  id: d.id,
  ready: !!d._fullLayout,
  height: d.getBoundingClientRect().height,
  types: (d._fullData || []).map(t => t.type),
  svg: d.querySelectorAll('svg.main-svg').length,
  nodes: d.querySelectorAll('svg.main-svg *').length,
  points: d.querySelectorAll('.scatterlayer .point, .boxlayer .point, .barlayer .point').length,
  lines: d.querySelectorAll('.scatterlayer .js-line').length,
  images: [...d.querySelectorAll('svg image')].map(i => (i.getAttribute('href') || '').length),
  canvas: [...d.querySelectorAll('canvas')].map(c => c.width * c.height),
  axes: d.querySelectorAll('.parcoords .y-axis, .parcoords .axis').length,
})))()"""


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            out.append(json.dumps(p.get("exceptionDetails", {}))[:400])
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(json.dumps(p.get("args", []))[:400])
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(p["entry"].get("text", "")[:400])
    return out


def _render(path: Path, screenshot: Path | None, width: int = 1280) -> dict[str, Any]:
    """Open ``path`` from a file URL, wait for every figure, collect what was drawn and logged."""
    browser = Chromium()
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            browser.call(f"{domain}.enable", session=session)
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        browser.call("Page.navigate", {"url": path.resolve().as_uri()}, session=session)

        def evaluate(expression: str) -> Any:
            return browser.call(
                "Runtime.evaluate",
                {"expression": expression, "returnByValue": True},
                session=session,
            )["result"].get("value")

        end = time.monotonic() + 60
        while time.monotonic() < end:
            if evaluate("document.readyState") == "complete":
                figures = evaluate(PROBE)
                if figures and all(f["ready"] for f in figures):
                    break
            time.sleep(0.25)
        height = int(evaluate("document.documentElement.scrollHeight"))
        # The whole page as one viewport, so every figure is laid out and drawn for the screenshot.
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": min(height, 16000), "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        time.sleep(1.5)
        figures = evaluate(PROBE)
        if screenshot is not None:
            data = browser.call("Page.captureScreenshot", {"format": "png"}, session=session)[
                "data"
            ]
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(data))
        name = evaluate("document.getElementById('study-name').textContent")
        dialogs = [e for e in browser.events if e.get("method") == "Page.javascriptDialogOpening"]
        return {
            "figures": figures,
            "errors": _errors(browser.events),
            "name": name,
            "dialogs": dialogs,
            "height": height,
        }
    finally:
        browser.close()


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_report_renders_in_headless_chromium(studies: dict[str, Any]) -> None:
    shot = ARTIFACTS / "report-tf-search.png"
    page = _render(studies["a"]["path"], shot)
    assert not page["errors"], page["errors"]
    figures = page["figures"]
    expected = len(re.findall(r'class="plotly-graph-div"', studies["a"]["html"]))
    assert len(figures) == expected >= 10
    kinds: set[str] = set()
    for f in figures:
        assert f["ready"] and f["height"] > 150 and f["svg"] >= 1 and f["nodes"] > 30, f
        kinds.update(f["types"])
        if "heatmap" in f["types"]:
            # One rendered image per heatmap trace, each a real raster (a data URL of some size).
            assert len(f["images"]) == f["types"].count("heatmap") and min(f["images"]) > 2000, f
        elif "parcoords" in f["types"]:
            assert f["canvas"] and max(f["canvas"]) > 0 and f["axes"] > 0, f
        else:
            assert f["points"] + f["lines"] > 0, f
    assert {"scatter", "bar", "box", "heatmap", "parcoords"} <= kinds
    width, height = _png_size(shot)
    assert width == 1280 and height == min(page["height"], 16000) > 4000
