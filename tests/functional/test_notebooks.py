"""Every notebook in notebooks/ runs top to bottom on its own generated data.

With nbclient, nbformat and ipykernel installed (the dev extra) each notebook is executed in a
real Jupyter kernel, as a user would run it; without them, its code cells are run in order in a
fresh Python process (the notebooks use no IPython magics, checked below), so the check does
not depend on Jupyter. Neither needs network access. Each notebook asserts its own results
against the truth of its simulator (seeded), so a notebook whose numbers drift fails here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
HAVE_JUPYTER = all(importlib.util.find_spec(m) is not None
                   for m in ("nbclient", "nbformat", "ipykernel"))
TIMEOUT_S = 180  # per notebook; each takes under 15 s on one core (00: about 30 s)

# the pipeline from Python, one notebook per design family (issue 10) and "write your own
# estimator"
EXPECTED = {
    "00_pipeline_in_python",
    "01_matched_cohort", "02_difference_in_differences", "03_interrupted_time_series_and_spc",
    "04_synthetic_control", "05_regression_discontinuity", "06_instrumental_variables",
    "07_write_your_own_estimator",
}


def _cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    return nb["cells"]


def test_one_notebook_per_design_family() -> None:
    assert EXPECTED <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean(path: Path) -> None:
    """Committed without outputs, and plain Python (no ! or % lines), so the fallback works."""
    cells = _cells(path)
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        assert not cell.get("outputs"), f"{path.name}: clear outputs before committing"
        assert cell.get("execution_count") is None
        for line in "".join(cell["source"]).splitlines():
            assert not line.lstrip().startswith(("!", "%")), f"{path.name}: magic {line!r}"


def _run_with_kernel(path: Path, workdir: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()


def _run_as_script(path: Path, workdir: Path) -> None:
    code = "\n\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "code")
    script = workdir / f"{path.stem}.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(script)], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stderr[-3000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    if HAVE_JUPYTER:
        _run_with_kernel(path, tmp_path)
    else:
        _run_as_script(path, tmp_path)
    # notebooks write nothing next to themselves
    assert not any(p for p in tmp_path.iterdir() if p.suffix not in (".py",))
