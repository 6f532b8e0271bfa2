"""Interrupted time series and SPC from one YAML file (issue 5): an SPC design on an
analysis-ready series checked against qicharts2, ITS and SPC series built from episode tables
(small synthetic extract), and bad inputs that exit with code 2 and say where."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.functional.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "reference" / "data"
SPC_REF = json.loads((DATA / "spc_reference.json").read_text())


def _write(tmp_path: Path, cfg: dict[str, Any]) -> Path:
    cfg["evaluation"]["output_dir"] = str(tmp_path / "outputs")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _run(tmp_path: Path, cfg: dict[str, Any]) -> Path:
    proc = run_cli("run", "--quiet", str(_write(tmp_path, cfg)))
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "outputs" / cfg["evaluation"]["id"]


def _spc_cdi(tmp_path: Path) -> dict[str, Any]:
    shutil.copy(DATA / "spc_cdi.csv", tmp_path / "spc_cdi.csv")
    cfg = yaml.safe_load((REPO / "configs" / "spc_cdi.yaml").read_text())
    cfg["data"]["table"] = "spc_cdi.csv"
    return cfg


def test_spc_cdi_matches_qicharts2_and_releases_chart_files(tmp_path: Path) -> None:
    """configs/spc_cdi.yaml: the Laney U' chart of qicharts2's cdi example, limits frozen on
    24 months (qicharts2 0.8.1: tests/reference/data/spc_reference.json,
    qic_up_cdi_freeze24), released as PNG, SVG and CSV with the counts rounded."""
    out = _run(tmp_path, _spc_cdi(tmp_path))
    fig = out / "figures"
    assert {"spc_n.png", "spc_n.svg", "spc_n.csv"} <= {p.name for p in fig.iterdir()}
    data = pd.read_csv(fig / "spc_n.csv")
    ref = SPC_REF["qic_up_cdi_freeze24"]
    np.testing.assert_allclose(data["centre"], ref["cl"], rtol=1e-9)
    np.testing.assert_allclose(data["lower"], ref["lcl"], rtol=1e-9)
    np.testing.assert_allclose(data["upper"], ref["ucl"], rtol=1e-9)
    assert "y" not in data.columns  # the ratio would give the unrounded count back
    released = pd.to_numeric(data["events"], errors="coerce").dropna()
    assert (released % 5 == 0).all()  # nhse_sde: rounded to 5, small counts suppressed
    res = json.loads((out / "results.json").read_text())
    (summary,) = res["diagnostics"]["spc"]
    assert summary["chart"] == "u'" and summary["baseline_points"] == 24
    assert summary["latest_variation"] == "special_cause_improvement"
    assert summary["assurance"] == "inconsistent"  # target 5 lies within the limits
    report = (out / "report.md").read_text()
    assert "## Statistical process control" in report
    assert "Special cause variation: improvement" in report
    assert "regression to the mean" in report.lower()


@pytest.mark.parametrize(("change", "where"), [
    (lambda c: c["spc"].pop("denominator"), "spc.denominator"),
    (lambda c: c["spc"].update(time="week"), "week"),
    (lambda c: c["spc"].update(rebase_at=["2010-01-01"]), "rebase_at"),
    (lambda c: c["spc"].update(chart="x"), "spc.chart"),
    (lambda c: c.update(its={"time": "month", "interruptions": [3]}), "its"),
])
def test_spc_bad_inputs_exit_2(tmp_path: Path, change: Any, where: str) -> None:
    cfg = _spc_cdi(tmp_path)
    change(cfg)
    proc = run_cli("run", "--quiet", str(_write(tmp_path, cfg)))
    assert proc.returncode == 2, proc.stderr
    assert where in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def small_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic extract (3,000 people) for the episode-table entry."""
    from impacteval.data.synth import generate

    out = tmp_path_factory.mktemp("synth_its") / "extract"
    generate(3000, 2017, out)
    return out


def _episode(cfg_name: str, data: Path) -> dict[str, Any]:
    cfg = yaml.safe_load((REPO / "configs" / cfg_name).read_text())
    for table in ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths",
                  "settings"):
        cfg["data"][table] = str(data / f"{table}.parquet")
    return cfg


def test_controlled_its_from_episode_tables(tmp_path: Path, small_extract: Path) -> None:
    """configs/its_care_homes.yaml: monthly series of care-home residents in 04N and the
    comparison areas built from the episode tables, a controlled quasi-Poisson ITS with a
    resident-years offset; the built series is kept privately, the charts are released."""
    out = _run(tmp_path, _episode("its_care_homes.yaml", small_extract))
    res = json.loads((out / "results.json").read_text())
    assert [e["outcome"] for e in res["estimates"]] == ["emergency_admissions", "ae_attendances"]
    for e in res["estimates"]:
        assert e["scale"] == "rate_ratio" and e["ci_lower"] < e["estimate"] < e["ci_upper"]
        assert e["details"]["controlled"] is True
    assert res["attrition"][0]["step"] == "series_population"
    series = pd.read_parquet(out / "private" / "analysis_table.parquet")
    assert sorted(series["group"].unique()) == [0, 1]
    assert (series.groupby("group").size() == 44).all()  # Jan 2013 - Aug 2016
    assert (series["person_years"] > 0).all()
    assert {"its_plot.svg", "spc_chart.svg"} <= {p.name for p in (out / "figures").iterdir()}
    report = (out / "report.md").read_text()
    assert "care-home residents" in report and "History:" in report


def test_spc_from_episode_tables(tmp_path: Path, small_extract: Path) -> None:
    """configs/spc_care_homes.yaml: an XmR chart of the monthly rate per 1,000 resident-years,
    re-based in January 2015."""
    out = _run(tmp_path, _episode("spc_care_homes.yaml", small_extract))
    data = pd.read_csv(out / "figures" / "spc_emergency_admissions.csv")
    assert len(data) == 44
    assert sorted(data["part"].unique()) == [0, 1]
    assert pd.to_datetime(data.loc[data["part"] == 1, "x"]).min() == pd.Timestamp("2015-01-01")
    res = json.loads((out / "results.json").read_text())
    assert res["diagnostics"]["spc"][0]["parts"] == 2


def test_its_series_ending_after_the_cut_is_a_config_error(tmp_path: Path,
                                                           small_extract: Path) -> None:
    cfg = _episode("its_care_homes.yaml", small_extract)
    cfg["its"]["series"]["end"] = "2016-09-30"
    proc = run_cli("validate", str(_write(tmp_path, cfg)))
    assert proc.returncode == 2 and "its.series.end is after data.data_cut" in proc.stderr
