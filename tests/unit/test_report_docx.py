"""Optional DOCX report (pandoc): content, determinism, manifest, and a clear error without it."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from report_fixtures import FAKE_MANIFEST, rich_result

from impacteval.exceptions import ConfigError
from impacteval.report import REGIMES, write_outputs
from impacteval.report.docx import find_pandoc

PANDOC = find_pandoc()
needs_pandoc = pytest.mark.skipif(
    PANDOC is None, reason="pandoc not installed: the optional DOCX report was not tested")
REGIME = REGIMES["nhse_sde"]


@needs_pandoc
def test_docx_has_the_report_and_is_deterministic(tmp_path: Path) -> None:
    a = write_outputs(rich_result(), tmp_path / "a", regime=REGIME, manifest=FAKE_MANIFEST,
                      docx=True)
    b = write_outputs(rich_result(), tmp_path / "b", regime=REGIME, manifest=FAKE_MANIFEST,
                      docx=True)
    assert (a / "report.docx").read_bytes() == (b / "report.docx").read_bytes()
    with zipfile.ZipFile(a / "report.docx") as z:
        names = z.namelist()
    assert "word/document.xml" in names
    assert sum(n.startswith("word/media/") for n in names) >= 5  # the report's figures
    assert PANDOC is not None
    text = subprocess.run([PANDOC, str(a / "report.docx"), "-t", "plain"], capture_output=True,
                          text=True, check=True).stdout
    for heading in ("Summary for commissioners", "Can these results be trusted?",
                    "Sensitivity analyses", "Subgroups and equity", "Reporting checklists"):
        assert heading in text
    manifest = json.loads((a / "manifest.json").read_text())
    assert "report.docx" in [f["path"] for f in manifest["files"]]
    assert not list(a.glob(".report.docx*"))


def test_without_pandoc_a_clear_error_and_nothing_written(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPACTEVAL_PANDOC", str(tmp_path / "no-such-pandoc"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="pandoc") as err:
        write_outputs(rich_result(), tmp_path / "out", regime=REGIME, manifest=FAKE_MANIFEST,
                      docx=True)
    assert "apt-get install pandoc" in str(err.value)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".out.*"))
