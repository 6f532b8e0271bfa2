"""Output checking: scan a release folder for cells that fail disclosure control.

:func:`check_outputs` is what ``impacteval check-outputs DIR`` runs (exit code 2 when it
returns problems). It reads ``tables/_sdc.json`` (written by
:func:`~impacteval.report.writer.write_outputs`) to know which columns of each CSV are counts
and which regime applies, and checks ``results.json``'s count fields the same way. Problems are
described by file, column and row number, never by the offending value.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from impacteval.report.sdc import DisclosureRegime, is_count_name

__all__ = ["check_outputs"]

_ROW_LEVEL_SUFFIXES = (".parquet", ".feather", ".arrow", ".rds", ".dta", ".sav", ".pkl")


def _regime_from(record: Mapping[str, Any]) -> DisclosureRegime:
    fields = {k: record[k] for k in DisclosureRegime.__dataclass_fields__ if k in record}
    return DisclosureRegime(**fields)


def _cell_problem(text: str, regime: DisclosureRegime, *, midpoint6: bool) -> str | None:
    """Why a released count cell is unsafe, or None."""
    text = text.strip()
    if text == "" or text == regime.label:
        return None
    try:
        x = float(text)
    except ValueError:
        return "is neither a number nor the suppression label"
    if x < 0 or not x.is_integer():
        return "is not a whole, non-negative count"
    if midpoint6:
        return None if x == 0 or (x + 3) % 6 == 0 else "is not a midpoint-6 value"
    if regime.is_small(x):
        return f"is below the threshold {regime.min_count} and not suppressed"
    if int(x) % regime.round_to != 0:
        return f"is not a multiple of {regime.round_to}"
    return None


def _check_csv(
    path: Path, rel: str, record: Mapping[str, Any], regime: DisclosureRegime
) -> list[str]:
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        counts = list(record.get("count_columns") or [])
        mp6 = list(record.get("midpoint6_columns") or [])
        absent = [c for c in counts + mp6 if c not in header]
        if absent:
            problems.append(f"{rel}: count column(s) {absent} listed in _sdc.json are missing")
        undeclared = [c for c in header if c.endswith("_midpoint6") and c not in mp6]
        if undeclared:
            problems.append(f"{rel}: midpoint-6 column(s) {undeclared} not listed in _sdc.json")
        row_filter: Mapping[str, Sequence[str]] = record.get("count_rows") or {}
        for line, row in enumerate(reader, start=2):
            if row_filter and not all(
                str(row.get(k, "")) in {str(v) for v in vals} for k, vals in row_filter.items()
            ):
                continue
            for c in counts:
                if c in row:
                    why = _cell_problem(row[c] or "", regime, midpoint6=False)
                    if why:
                        problems.append(f"{rel}: line {line}, column {c!r} {why}")
            for c in mp6:
                if c in row:
                    why = _cell_problem(row[c] or "", regime, midpoint6=True)
                    if why:
                        problems.append(f"{rel}: line {line}, column {c!r} {why}")
    return problems


def _json_cell(value: Any, regime: DisclosureRegime) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return None if value == regime.label else "is text other than the suppression label"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "is not a count"
    return _cell_problem(str(value), regime, midpoint6=False)


def _check_count_named(values: Any, where: str, regime: DisclosureRegime) -> list[str]:
    """Count-named numeric entries of a mapping (nested) must be released counts."""
    if not isinstance(values, Mapping):
        return []
    problems: list[str] = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            problems += _check_count_named(value, f"{where}.{key}", regime)
        elif is_count_name(str(key)) and isinstance(value, (int, float, str)) and not isinstance(
            value, bool
        ):
            why = _json_cell(value, regime)
            if why:
                problems.append(f"results.json: {where}.{key} {why}")
    return problems


def _check_results_json(path: Path, regime: DisclosureRegime) -> list[str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return ["results.json: cannot be read as JSON"]
    problems: list[str] = []
    declared = (doc.get("sdc") or {}).get("count_fields") or {}
    fields = {
        "estimates": ["n_treated", "n_control"],
        "attrition": ["n_treated", "n_control"],
        "outcome_summary": ["n_persons", "events"],
    }
    for section, cols in declared.items():
        fields[section] = sorted(set(fields.get(section, [])) | set(cols))
    problems += _check_count_named(doc.get("diagnostics"), "diagnostics", regime)
    for i, est in enumerate(doc.get("estimates") or []):
        if isinstance(est, Mapping):
            problems += _check_count_named(est.get("details"), f"estimates[{i}].details", regime)
    for section, cols in fields.items():
        rows = doc.get(section) or []
        if not isinstance(rows, list):
            continue
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                continue
            for c in cols:
                if c in row:
                    why = _json_cell(row[c], regime)
                    if why:
                        problems.append(f"results.json: {section}[{i}].{c} {why}")
    return problems


def check_outputs(folder: Path, *, regime: DisclosureRegime | None = None) -> list[str]:
    """Scan a release folder and list every disclosure-control problem found.

    Checks: no ``private/`` folder and no row-level data files; ``tables/_sdc.json`` present
    and covering every CSV under ``tables/`` and ``figures/``; every count cell is empty, the
    suppression label, or a whole number that is not below the threshold and is a multiple of
    ``round_to`` (midpoint-6 columns: 0 or ``6k - 3``); the count fields of ``results.json``
    (``n_treated``, ``n_control``, attrition and outcome-summary counts, and count-named
    entries of ``diagnostics`` and of each estimate's ``details``) likewise.

    Parameters
    ----------
    folder
        The release folder (a copy of an output folder without ``private/``).
    regime
        The regime to check against; by default the one recorded in ``tables/_sdc.json``.

    Returns
    -------
    list of str
        Problems (empty when the folder passes). Messages name files, rows and columns, never
        cell values.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return [f"{folder.name}: not a folder"]
    problems: list[str] = []
    if (folder / "private").exists():
        problems.append(
            "private/: a release must not contain the private folder (row-level data); copy the "
            "outputs without it (impacteval.report.export_release) and check the copy"
        )
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and p.suffix.lower() in _ROW_LEVEL_SUFFIXES and not rel.startswith("private/"):
            problems.append(f"{rel}: row-level data file in a release")
    sdc_path = folder / "tables" / "_sdc.json"
    csvs = sorted(
        p.relative_to(folder).as_posix()
        for sub in ("tables", "figures")
        for p in (folder / sub).glob("*.csv")
        if (folder / sub).is_dir()
    )
    record: Mapping[str, Any] = {}
    if sdc_path.is_file():
        try:
            record = json.loads(sdc_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            problems.append("tables/_sdc.json: cannot be read as JSON")
    elif csvs:
        problems.append("tables/_sdc.json: missing, so no CSV can be checked")
    if regime is None and record.get("regime"):
        try:
            regime = _regime_from(record["regime"])
        except (TypeError, ValueError) as exc:
            problems.append(f"tables/_sdc.json: invalid regime ({type(exc).__name__})")
    if regime is None:
        return problems + [f"{c}: no disclosure regime recorded" for c in csvs]
    files: Mapping[str, Any] = record.get("files") or {}
    for rel in csvs:
        if rel not in files:
            problems.append(f"{rel}: not covered by tables/_sdc.json")
            continue
        problems += _check_csv(folder / rel, rel, files[rel], regime)
    if (folder / "results.json").is_file():
        problems += _check_results_json(folder / "results.json", regime)
    return problems
