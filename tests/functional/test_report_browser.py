"""The HTML report in a real browser: Debian's headless Chromium.

The report is rendered from the fake result with every optional part (``rich_result`` in
tests/unit/report_fixtures.py: sensitivity, subgroups, triangulation) with
``write_outputs`` and opened in headless Chromium without the DevTools protocol:

* ``--dump-dom`` with a copy of the report that carries a small probe script (appended by the
  test; the released report has no script). After the ``load`` event the probe records, in the
  DOM, which section anchors exist, which images failed to decode and the page title.
* ``--enable-logging=stderr --v=0`` makes Chromium write every console message of the page to
  stderr as ``INFO:CONSOLE``; the test fails on any of them (the report has no script, so any
  console message is an error: a blocked resource, a parse problem, an uncaught exception).
* ``--screenshot`` saves a PNG under the test's tmp path; the test checks it is a real PNG of
  the requested size that is not one flat colour.

Negative controls show each check can fail: a page that logs a console error, throws, and
carries a broken image is flagged by the same helpers.

On a machine without Chromium the tests are skipped with a visible reason (``.ci/run``
installs Debian's ``chromium`` package so CI always runs them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from report_fixtures import FAKE_MANIFEST, rich_result

from impacteval.report import REGIMES, write_outputs

pytestmark = pytest.mark.browser

#: Candidate executables: $IMPACTEVAL_CHROMIUM, then Debian's and other usual names.
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Sections every report must show (ids of <section> elements in report.html.j2).
KEY_SECTIONS = ("summary", "credibility", "methods", "participants", "descriptive", "balance",
                "outcomes", "results", "triangulation", "sensitivity", "subgroups",
                "limitations", "reproducibility", "checklists")

WINDOW = (1280, 2400)

_PROBE = """
<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                   .map(function (i) { return i.alt || i.src.slice(0, 40); });
  var ids = Array.prototype.slice.call(document.querySelectorAll("section[id]"))
                 .map(function (s) { return s.id; });
  var pre = document.createElement("pre");
  pre.id = "impacteval-probe";
  pre.textContent = JSON.stringify({title: document.title, sections: ids,
                                    images: imgs.length, broken: broken,
                                    h2: Array.prototype.slice.call(
                                      document.querySelectorAll("h2")).map(
                                        function (h) { return h.textContent; })});
  document.body.appendChild(pre);
});
</script>
"""


def _chromium() -> str | None:
    env = os.environ.get("IMPACTEVAL_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()
needs_browser = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no headless Chromium found (install Debian's 'chromium' package or set "
           "IMPACTEVAL_CHROMIUM); the browser test of report.html was not run",
)


@dataclass(frozen=True)
class BrowserRun:
    """What one headless Chromium run produced."""

    stdout: str
    console: list[str]
    returncode: int


def _run(page: Path, profile: Path, *extra: str) -> BrowserRun:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        "--hide-scrollbars", f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=10000", *extra, page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return BrowserRun(stdout=proc.stdout, console=console, returncode=proc.returncode)


def _probe(dom: str) -> dict:
    m = re.search(r'<pre id="impacteval-probe">(.*?)</pre>', dom, flags=re.S)
    assert m, "the probe did not run: the page did not finish loading"
    text = m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return json.loads(text.replace("&amp;", "&"))


def _with_probe(html: str) -> str:
    assert html.count("</body>") == 1
    return html.replace("</body>", _PROBE + "</body>")


def _png_summary(path: Path) -> tuple[int, int, int]:
    """Width, height and number of distinct row byte-strings of an 8-bit RGB(A) PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, bit_depth, colour = 8, b"", 0, 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, bit_depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert bit_depth == 8 and colour in (2, 6), (bit_depth, colour)
    raw = zlib.decompress(idat)
    stride = width * (3 if colour == 2 else 4) + 1
    # filter byte + row: identical rows of a flat page compress to identical filtered bytes
    rows = {raw[i * stride:(i + 1) * stride] for i in range(height)}
    return width, height, len(rows)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "rushcliffe-demo"
    return write_outputs(rich_result(), out, regime=REGIMES["nhse_sde"], manifest=FAKE_MANIFEST)


@needs_browser
def test_report_loads_without_console_errors_and_shows_key_sections(
    report_dir: Path, tmp_path: Path
) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # the released report runs no code
    assert not re.search(r'(src|href)="(https?:)?//', html)  # self-contained
    page = tmp_path / "report_probe.html"
    page.write_text(_with_probe(html), encoding="utf-8")
    run = _run(page, tmp_path / "profile", "--dump-dom")
    assert run.returncode == 0
    assert run.console == [], run.console
    probe = _probe(run.stdout)
    assert probe["title"] == "Enhanced support for care-home residents"
    missing = [s for s in KEY_SECTIONS if s not in probe["sections"]]
    assert not missing, f"sections missing from the rendered page: {missing}"
    assert probe["images"] >= 5  # flow, love plot, overlap, forest, triangulation (+ design)
    assert probe["broken"] == [], probe["broken"]
    assert "Summary for commissioners" in probe["h2"]
    assert "Can these results be trusted?" in probe["h2"]
    assert "Reporting checklists" in probe["h2"]


@needs_browser
def test_report_screenshot_is_a_non_blank_png(report_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    run = _run(report_dir / "report.html", tmp_path / "profile", f"--screenshot={shot}")
    assert run.returncode == 0 and shot.exists(), run
    assert run.console == [], run.console
    width, height, distinct_rows = _png_summary(shot)
    assert (width, height) == WINDOW
    # a blank (all-white or all-one-colour) page has one distinct row; text and the NHS-blue
    # header give hundreds
    assert distinct_rows > 100, distinct_rows


@needs_browser
def test_negative_control_console_error_and_broken_image_are_detected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(_with_probe(
        "<!DOCTYPE html><html><head><title>bad</title></head><body><section id='summary'>"
        "<img alt='broken figure' src='data:image/png;base64,AAAA'>"
        "<script>console.error('negative-control'); throw new Error('thrown');</script>"
        "</section></body></html>"
    ), encoding="utf-8")
    run = _run(bad, tmp_path / "profile", "--dump-dom")
    assert any("negative-control" in c for c in run.console)
    assert any("Uncaught Error: thrown" in c for c in run.console)
    probe = _probe(run.stdout)
    assert probe["broken"] == ["broken figure"]
    assert probe["sections"] == ["summary"]


def test_png_summary_flags_a_blank_image(tmp_path: Path) -> None:
    """The blank-screenshot check itself (no browser needed): a flat PNG has one distinct row."""
    width, height = 64, 48
    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                             0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    path = tmp_path / "blank.png"
    path.write_bytes(png)
    assert _png_summary(path) == (64, 48, 1)
