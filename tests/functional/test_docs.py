"""The documentation site builds and matches the code it describes.

- docs/reference/cli.md is what docs/scripts/gen_cli_reference.py renders from the parser;
- every dotted name in the Python API page imports;
- every registered estimator is on the Python API page, every notebook on the notebooks page;
- the required columns in the bring-your-own-extract guide are the contract's;
- ``mkdocs build --strict`` succeeds (skipped, with the reason, if mkdocs is not installed).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def _generator():  # the script is not a package module: load it from its path
    spec = importlib.util.spec_from_file_location(
        "gen_cli_reference", DOCS / "scripts" / "gen_cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    from impacteval.cli import build_parser

    expected = _generator().render(build_parser())
    committed = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert committed == expected, "run: python docs/scripts/gen_cli_reference.py"


def test_cli_reference_lists_every_command() -> None:
    from impacteval.cli import build_parser

    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"## `impacteval {name}`" in page


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def _api_names() -> list[str]:
    page = (DOCS / "reference" / "python-api.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `(impacteval(?:\.\w+)+)` \|", page, flags=re.M)


def test_python_api_page_names_exist() -> None:
    names = _api_names()
    assert len(names) > 40
    missing = []
    for name in names:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert not missing, f"documented but not importable: {missing}"


def test_python_api_page_lists_every_registered_estimator() -> None:
    from impacteval.estimators import ESTIMATORS

    for module in ("impacteval.estimators.did", "impacteval.estimators.its",
                   "impacteval.estimators.synthetic"):
        importlib.import_module(module)
    page = (DOCS / "reference" / "python-api.md").read_text(encoding="utf-8")
    builtin = [n for n in ESTIMATORS.names()
               if ESTIMATORS.get(n).__module__.startswith("impacteval.")]
    undocumented = [n for n in builtin if f"| `{n}` |" not in page]
    assert not undocumented, f"add to docs/reference/python-api.md: {undocumented}"
    for name in _api_names():
        obj = _resolve(name)
        if isinstance(obj, type) and name.startswith("impacteval.estimators."):
            row = re.search(rf"^\| `{re.escape(name)}` \| `(\w+)` \|", page, flags=re.M)
            if row:
                assert ESTIMATORS.get(row.group(1)) is obj


def test_notebooks_page_lists_every_notebook() -> None:
    page = (DOCS / "reference" / "notebooks.md").read_text(encoding="utf-8")
    for nb in (REPO / "notebooks").glob("*.ipynb"):
        assert f"`{nb.name}`" in page


def test_extract_guide_required_columns_match_the_contract() -> None:
    from impacteval.data.contract import CONTRACT

    page = (DOCS / "how-to" / "bring-your-own-extract.md").read_text(encoding="utf-8")
    for table, schema in CONTRACT.items():
        row = re.search(rf"^\| `{table}`[^|]*\|[^|]*\|([^|]*)\|", page, flags=re.M)
        assert row, f"no row for {table}"
        documented = re.findall(r"`(\w+)`", row.group(1))
        cols = schema.columns.values() if isinstance(schema.columns, dict) else schema.columns
        required = [c.name for c in cols if c.required]
        assert documented == required, table


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip("mkdocs is not installed (dev extra); the site build is not checked")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "-f", str(REPO / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").is_file()
