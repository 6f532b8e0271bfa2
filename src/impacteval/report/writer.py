"""Write every output of a run, atomically, after disclosure control.

:func:`write_outputs` builds the whole output folder in a temporary sibling folder and moves
it into place only when everything has been written, so that a failed or interrupted run never
leaves a half-written report that looks complete.

Layout of ``out_dir``::

    report.html      self-contained (inline CSS, figures as base64 PNG)
    report.md
    results.json     sorted keys, floats to 10 significant digits, no timestamps or paths
    tables/*.csv     released tables + tables/_sdc.json (count columns per CSV, regime)
    figures/*.png    figures drawn from released data; figures/*.csv the data behind them
    manifest.json    the caller's manifest + every file written with its sha256
    private/         row-level artefacts (Parquet) + README.txt; never to be released
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from impacteval.report import figures as figs
from impacteval.report.docx import write_docx
from impacteval.report.render import build_context, render_html, render_markdown
from impacteval.report.sdc import DisclosureRegime
from impacteval.report.sensitivity import sensitivity_record
from impacteval.report.tables import (
    ReleasedTable,
    release_estimate_details,
    release_figure_data,
    release_mapping,
    release_tables,
)
from impacteval.report.triangulation import triangulation_forest, triangulation_table
from impacteval.results import EvaluationResult, jsonable

__all__ = ["SCHEMA_VERSION", "SIGNIFICANT_DIGITS", "export_release", "stable_json", "write_outputs"]

#: Version of the results.json layout (docs/results.schema.json).
SCHEMA_VERSION = "1.1.0"
#: Floats in results.json are rounded to this many significant digits.
SIGNIFICANT_DIGITS = 10

PRIVATE_README = """\
PRIVATE - ROW-LEVEL DATA - DO NOT RELEASE

The files in this folder hold row-level (person-level) artefacts of the evaluation, such as
the matched cohort. They have NOT been through disclosure control. They must stay inside the
secure data environment and must never be copied into a release, attached to a report or
shared. Remove this folder before asking for an output check (impacteval check-outputs).
"""

_ABSOLUTE_PATH = re.compile(r"^(/|[A-Za-z]:[\\/]|\\\\)")


def _stable(value: Any) -> Any:
    """Plain JSON types with floats rounded to SIGNIFICANT_DIGITS (NaN/inf -> None)."""
    value = jsonable(value)
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


def stable_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, indent 2, rounded floats, trailing newline."""
    # default=str: a caller's manifest may hold paths or dates; results are plain already.
    return json.dumps(_stable(value), sort_keys=True, indent=2, ensure_ascii=False,
                      allow_nan=False, default=str) + "\n"


def _strip_absolute_paths(value: Any) -> Any:
    """Replace absolute paths in the config by their file name (no machine paths released)."""
    if isinstance(value, Mapping):
        return {k: _strip_absolute_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strip_absolute_paths(v) for v in value]
    if isinstance(value, str) and _ABSOLUTE_PATH.match(value):
        return Path(value).name
    return value


def _releasable_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config for results.json: absolute paths reduced to file names, and without
    ``evaluation.output_dir`` (where the outputs went is not part of the analysis, and
    results.json must not change when the same analysis is written elsewhere)."""
    out = dict(_strip_absolute_paths(config))
    if isinstance(out.get("evaluation"), Mapping):
        out["evaluation"] = {k: v for k, v in out["evaluation"].items() if k != "output_dir"}
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(r) for r in frame.astype(object).where(frame.notna(), None).to_dict(
        orient="records")]


def _results_document(
    result: EvaluationResult,
    tables: Mapping[str, ReleasedTable],
    regime: DisclosureRegime,
    diagnostics: Mapping[str, Any],
    sdc_log: list[dict[str, Any]],
) -> dict[str, Any]:
    estimates = []
    est_table = tables["estimates"].frame
    for i, e in enumerate(result.estimates):
        d = e.to_dict()
        d["n_treated"] = est_table.at[i, "n_treated"]
        d["n_control"] = est_table.at[i, "n_control"]
        d["method"] = est_table.at[i, "method"]
        d["details"], _ = release_estimate_details(d["details"], regime)
        estimates.append(d)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "evaluation": {
            "id": result.evaluation_id,
            "title": result.title,
            "design": result.design,
        },
        "config": _releasable_config(result.config),
        "estimates": estimates,
        "balance": _records(tables["balance"].frame),
        "attrition": _records(tables["attrition"].frame),
        "outcome_summary": (
            _records(tables["outcome_summary"].frame) if "outcome_summary" in tables else None
        ),
        "diagnostics": dict(diagnostics),
        "sdc": {
            "regime": regime.to_dict(),
            "count_fields": {
                "estimates": ["n_treated", "n_control"],
                "attrition": list(tables["attrition"].count_columns),
                "outcome_summary": (
                    list(tables["outcome_summary"].count_columns)
                    if "outcome_summary" in tables else []
                ),
                **(
                    {"subgroups": list(tables["subgroups"].count_columns)}
                    if "subgroups" in tables else {}
                ),
            },
            "summary": _log_summary(sdc_log),
        },
        "truth": dict(result.truth) if result.truth is not None else None,
        "sensitivity": sensitivity_record(result),
        "subgroups": _records(tables["subgroups"].frame) if "subgroups" in tables else None,
    }
    return doc


def _log_summary(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cells per (table, action), sorted: what the SDC log says without cell-level detail."""
    totals: dict[tuple[str, str], int] = {}
    for e in log:
        key = (str(e["table"]), str(e["action"]))
        totals[key] = totals.get(key, 0) + int(e["cells"])
    return [{"table": t, "action": a, "cells": n} for (t, a), n in sorted(totals.items())]


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def _figure_sets(
    result: EvaluationResult,
    tables: Mapping[str, ReleasedTable],
    regime: DisclosureRegime,
) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, ReleasedTable], list[str]]:
    """PNG bytes, SVG bytes and released data per figure.

    The report draws ``flow``, ``love_plot``, ``forest`` and (from binned figure data)
    ``propensity_overlap`` itself from released tables; every ``result.figure_data`` frame is released
    after disclosure control. A supplied figure is released only with the data behind it (a
    ``result.figure_data`` entry of the same name): without it, its counts cannot be checked, so
    it is withheld and listed in the report. A supplied figure may be a callable that draws it
    from the released data (so the picture shows the counts after disclosure control, not the
    raw ones); the series designs' charts are also written as SVG (``svgs``).
    """
    pngs: dict[str, bytes] = {}
    svgs: dict[str, bytes] = {}
    data: dict[str, ReleasedTable] = {}
    matching = dict(result.config.get("matching") or {})
    threshold = float(matching.get("smd_threshold", 0.1))
    flow = ReleasedTable("flow", tables["attrition"].frame, tables["attrition"].count_columns)
    pngs["flow"] = figs.figure_png(figs.flow_diagram(flow.frame))
    data["flow"] = flow
    bal = tables["balance"].frame
    if len(bal):  # designs without matching or weighting have no balance table
        love_cols = [c for c in ("covariate", "smd_before", "smd_after") if c in bal.columns]
        data["love_plot"] = ReleasedTable("love_plot", bal[love_cols])
        pngs["love_plot"] = figs.figure_png(figs.love_plot(bal, threshold))
    est = tables["estimates"].frame
    if len(est):  # a monitoring run (SPC) has no estimates
        forest_cols = ["outcome", "method", "scale", "estimate", "ci_lower", "ci_upper"]
        data["forest"] = ReleasedTable("forest", est[forest_cols])
        pngs["forest"] = figs.figure_png(figs.forest_plot(est, result.truth))
    tri = triangulation_table(est)
    if tri is not None:
        data["triangulation"] = ReleasedTable("triangulation", tri)
        pngs["triangulation"] = figs.figure_png(triangulation_forest(tri))
    for name in sorted(result.figure_data):
        data[name] = release_figure_data(name, result.figure_data[name], regime)
    overlap = data.get("propensity_overlap")
    if overlap is not None and {"bin_lower", "bin_upper", "n_treated", "n_control"} <= set(
        overlap.frame.columns
    ):
        pngs["propensity_overlap"] = figs.figure_png(figs.overlap_plot(overlap.frame))
    withheld = []
    for name in sorted(result.figures):
        if name in pngs:
            continue
        if name in data:
            fig = result.figures[name]
            if callable(fig):  # drawn from the released data
                fig = fig(data[name].frame)
            pngs[name] = figs.figure_png(fig)
            if figs.wants_svg(name):
                svgs[name] = figs.figure_svg(fig)
        else:
            withheld.append(name)
    return pngs, svgs, data, withheld


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _build(
    result: EvaluationResult, folder: Path, regime: DisclosureRegime, manifest: Mapping[str, Any],
    *, docx: bool = False,
) -> None:
    tables = release_tables(result, regime)
    # subgroup records are released as their own table (tables/subgroups.csv)
    diagnostics, diag_log = release_mapping(
        {k: v for k, v in result.diagnostics.items() if k != "subgroups"}, regime
    )
    sdc_log: list[dict[str, Any]] = [dict(e) for t in tables.values() for e in t.log] + diag_log
    pngs, svgs, fig_data, withheld = _figure_sets(result, tables, regime)
    sdc_log += [dict(e) for t in fig_data.values() for e in t.log]

    (folder / "tables").mkdir()
    (folder / "figures").mkdir()
    files: dict[str, Any] = {}
    for name, t in tables.items():
        _write_csv(t.frame, folder / "tables" / f"{name}.csv")
        files[f"tables/{name}.csv"] = t.sdc_record()
    for name, t in fig_data.items():
        _write_csv(t.frame, folder / "figures" / f"{name}.csv")
        files[f"figures/{name}.csv"] = t.sdc_record()
    for name, png in pngs.items():
        (folder / "figures" / f"{name}.png").write_bytes(png)
    for name, svg in svgs.items():
        (folder / "figures" / f"{name}.svg").write_bytes(svg)
    (folder / "tables" / "_sdc.json").write_text(
        stable_json({"regime": regime.to_dict(), "files": files}), encoding="utf-8"
    )

    doc = _results_document(result, tables, regime, diagnostics, sdc_log)
    (folder / "results.json").write_text(stable_json(doc), encoding="utf-8")

    context = build_context(
        result,
        tables,
        regime,
        manifest=manifest,
        figures={n: base64.b64encode(b).decode("ascii") for n, b in pngs.items()},
        diagnostics=diagnostics,
        sdc_log=sdc_log,
        withheld_figures=withheld,
    )
    (folder / "report.html").write_text(render_html(context), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(context), encoding="utf-8")
    if docx:
        write_docx(folder)

    if result.private:
        private = folder / "private"
        private.mkdir()
        (private / "README.txt").write_text(PRIVATE_README, encoding="utf-8")
        for name, frame in sorted(result.private.items()):
            frame.to_parquet(private / f"{name}.parquet", index=False)

    written = sorted(p for p in folder.rglob("*") if p.is_file())
    listing = [
        {"path": p.relative_to(folder).as_posix(), "sha256": _sha256(p),
         "bytes": p.stat().st_size}
        for p in written
    ]
    full = {**jsonable(dict(manifest)), "files": listing}
    (folder / "manifest.json").write_text(stable_json(full), encoding="utf-8")


def write_outputs(
    result: EvaluationResult,
    out_dir: Path,
    *,
    regime: DisclosureRegime,
    manifest: Mapping[str, Any],
    docx: bool = False,
) -> Path:
    """Write all outputs of an evaluation to ``out_dir``, atomically.

    Everything is built in ``out_dir.parent / f".{out_dir.name}.tmp-<pid>"`` and renamed into
    place at the end (temporary siblings left by processes that no longer run are removed
    first). An existing ``out_dir`` is moved aside and deleted only after the new one
    is in place. On any error the temporary folder is removed, the previous ``out_dir`` (if any)
    is left as it was, and the error is re-raised.

    Parameters
    ----------
    result
        What the run produced (counts unrounded: disclosure control is applied here).
    out_dir
        The output folder, e.g. ``outputs/<evaluation id>``.
    regime
        The disclosure regime for every released count.
    manifest
        Run metadata (config hash, input hashes, versions, seed, engine, timings); written to
        ``manifest.json`` with the list of files and their sha256 added under ``files``.
    docx
        Also write ``report.docx`` (converted from report.md by pandoc; optional format,
        :func:`impacteval.report.docx.write_docx`). Without pandoc this raises ConfigError and
        nothing is written.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    DisclosureError
        A table would release an identifier column, or a count is invalid.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{pid}"
    old = out_dir.parent / f".{out_dir.name}.old-{pid}"
    for stale in (tmp, old, *_abandoned(out_dir)):
        if stale.exists():
            shutil.rmtree(stale)
    tmp.mkdir()
    try:
        _build(result, tmp, regime, manifest, docx=docx)
        if out_dir.exists():
            os.replace(out_dir, old)
            try:
                os.replace(tmp, out_dir)
            except BaseException:
                os.replace(old, out_dir)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _abandoned(out_dir: Path) -> list[Path]:
    """Temporary siblings of ``out_dir`` left by processes that no longer run."""
    found = []
    for p in out_dir.parent.glob(f".{out_dir.name}.*-*"):
        kind, _, pid = p.name[len(out_dir.name) + 2:].partition("-")
        if kind in ("tmp", "old") and pid.isdigit() and not _alive(int(pid)):
            found.append(p)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def export_release(out_dir: Path, release_dir: Path) -> Path:
    """Copy an output folder to a release folder, leaving out ``private/``.

    The copy is what an output checker reviews (``impacteval check-outputs RELEASE_DIR``).

    Raises
    ------
    FileExistsError
        ``release_dir`` exists already (never overwrite a release silently).
    """
    out_dir, release_dir = Path(out_dir), Path(release_dir)
    shutil.copytree(out_dir, release_dir, ignore=_ignore_private(out_dir))
    return release_dir


def _ignore_private(root: Path) -> Any:
    def ignore(folder: str, names: list[str]) -> set[str]:
        return {"private"} if Path(folder) == root and "private" in names else set()

    return ignore
