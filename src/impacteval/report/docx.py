"""Optional DOCX report: the Markdown report converted by pandoc (if installed).

Word documents are what many NHS boards circulate. The DOCX is converted from ``report.md``
(the same released tables and figures, so it adds nothing to check) by the ``pandoc`` program
with ``SOURCE_DATE_EPOCH=0``, which makes the file byte-identical for the same report. pandoc is
not a Python dependency: without it, :func:`write_docx` raises a ConfigError saying how to get
it, and the HTML and Markdown reports are unaffected.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from impacteval.exceptions import ConfigError

__all__ = ["find_pandoc", "write_docx"]


def find_pandoc() -> str | None:
    """Path of the pandoc executable ($IMPACTEVAL_PANDOC, then PATH), or None."""
    env = os.environ.get("IMPACTEVAL_PANDOC")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    return shutil.which("pandoc")


def write_docx(folder: Path, *, pandoc: str | None = None, timeout: float = 120.0) -> Path:
    """Write ``report.docx`` next to ``report.md`` in an output folder.

    Parameters
    ----------
    folder
        A folder holding ``report.md`` and its ``figures/`` (e.g. the temporary build folder
        of :func:`~impacteval.report.write_outputs`).
    pandoc
        The pandoc executable (default: :func:`find_pandoc`).
    timeout
        Seconds before the conversion is abandoned.

    Returns
    -------
    Path
        ``folder / "report.docx"``.

    Raises
    ------
    ConfigError
        pandoc is not installed, or the conversion failed (the message gives pandoc's exit
        status only: the report's content is never echoed).
    """
    folder = Path(folder)
    exe = pandoc or find_pandoc()
    if exe is None:
        raise ConfigError("a DOCX report needs the pandoc program, which was not found",
                          where="report.docx",
                          hint="install pandoc (Debian: apt-get install pandoc) or set "
                               "IMPACTEVAL_PANDOC; the HTML and Markdown reports need nothing")
    source = folder / "report.md"
    if not source.is_file():
        raise ConfigError("report.md not found in the output folder", where="report.docx",
                          hint="write the outputs first (write_outputs)")
    target = folder / "report.docx"
    partial = folder / ".report.docx.partial"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    try:
        proc = subprocess.run(
            [exe, "report.md", "--from=gfm", "--to=docx", "--resource-path=.",
             f"--output={partial.name}"],
            cwd=folder, env=env, capture_output=True, timeout=timeout, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"pandoc could not be run ({type(exc).__name__})",
                          where="report.docx", hint="check the pandoc installation") from None
    if proc.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise ConfigError(f"pandoc failed with exit status {proc.returncode}",
                          where="report.docx", hint="run pandoc on report.md by hand to see why")
    os.replace(partial, target)
    return target
