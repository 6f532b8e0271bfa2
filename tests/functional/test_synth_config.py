"""Synthetic control from the YAML config (issue 6): the area x month panel built from episode
tables, several treated areas on an analysis-ready table, and bad inputs (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from impacteval.report import check_outputs
from tests.functional.conftest import REPO, run_cli

EFFECT = -20.0


def _panel(path: Path, *, n_areas: int = 16, effect: float = EFFECT, seed: int = 5) -> None:
    """Area x month rates from a two-factor model; areas A00 and A01 change (2015-01, 2015-07)."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2012-01-01", "2016-12-01", freq="MS")
    f = rng.normal(size=(len(months), 2)).cumsum(axis=0)
    rows = []
    for i in range(n_areas):
        load = rng.uniform(0.5, 1.5, size=2)
        base = 200 + 10 * rng.normal() + 8 * f @ load + rng.normal(0, 3, len(months))
        start = {0: "2015-01-01", 1: "2015-07-01"}.get(i)
        for m, y in zip(months, base, strict=True):
            if start is not None and m >= pd.Timestamp(start):
                y += effect
            rows.append({"area": f"A{i:02d}", "month": m.date().isoformat(),
                         "population": 5000, "admissions_rate": y})
    pd.DataFrame(rows).to_csv(path, index=False)


def _cfg(tmp_path: Path, synth: dict, **extra: dict) -> Path:
    cfg = {"evaluation": {"id": "sc", "design": "synthetic_control", "seed": 11,
                          "output_dir": str(tmp_path / "outputs")},
           "data": {"table": "panel.csv"},
           "roles": {"unit_id": "area", "outcomes": ["admissions_rate"]},
           "synth": {"time": "month", "population": "population", **synth}, **extra}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return tmp_path / "config.yaml"


TWO = [{"area": "A00", "start": "2015-01-01"}, {"area": "A01", "start": "2015-07-01"}]


def test_several_treated_areas_from_a_ready_table(tmp_path: Path) -> None:
    _panel(tmp_path / "panel.csv")
    proc = run_cli("run", "--quiet", str(_cfg(tmp_path, {"treated": TWO, "washout": 1,
                                                         "placebo_draws": 200})))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "outputs" / "sc"
    res = json.loads((out / "results.json").read_text())
    (est,) = res["estimates"]
    assert est["estimator"] == "synthetic_control_several:synthetic_control"
    assert est["ci_lower"] < EFFECT < est["ci_upper"]
    assert est["p_value"] < 0.05
    diag = res["diagnostics"]
    assert [d["reason"] for d in diag["donor_pool"]].count("donor") == 14
    assert set(diag["outcomes"]["admissions_rate"]["pre_rmspe"]) == {"A00", "A01"}
    for fig in ("trajectory", "gaps", "placebo_distribution", "weights"):
        assert (out / "figures" / f"synth_{fig}_admissions_rate.png").is_file()
        assert (out / "figures" / f"synth_{fig}_admissions_rate.csv").is_file()
    assert check_outputs(out) == [] or all("private" in p for p in check_outputs(out))
    first = (out / "results.json").read_bytes()
    proc = run_cli("run", "--quiet", str(tmp_path / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert (out / "results.json").read_bytes() == first  # byte-identical for the same seed


def test_generalized_method_from_the_registry(tmp_path: Path) -> None:
    _panel(tmp_path / "panel.csv")
    cfg = _cfg(tmp_path, {"treated": TWO, "method": "generalized", "replications": 50})
    proc = run_cli("run", "--quiet", str(cfg))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "outputs" / "sc"
    res = json.loads((out / "results.json").read_text())
    (est,) = res["estimates"]
    assert est["estimator"] == "generalized_synthetic_control"
    assert est["ci_lower"] < EFFECT < est["ci_upper"]
    assert (out / "figures" / "synth_att_by_event_time_admissions_rate.png").is_file()


def test_classic_one_area_reports_placebo_p_value_and_checks(tmp_path: Path) -> None:
    _panel(tmp_path / "panel.csv")
    cfg = _cfg(tmp_path, {"treated": TWO[:1], "exclude": ["A01"],
                          "in_time_placebo": "2014-01-01", "leave_one_out": True})
    proc = run_cli("run", "--quiet", str(cfg))
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "outputs" / "sc" / "results.json").read_text())
    (est,) = res["estimates"]
    assert est["estimator"] == "synthetic_control"
    # the treated area's post/pre RMSPE ratio is the largest of 15: p = 1/15
    assert est["p_value"] == pytest.approx(1 / 15)
    assert est["estimate"] == pytest.approx(EFFECT, abs=5)
    d = res["diagnostics"]["outcomes"]["admissions_rate"]
    assert abs(d["in_time_placebo"]["att"]) < abs(EFFECT) / 2  # no effect before the start
    assert d["leave_one_out"]
    assert d["pre_rmspe"] > 0
    ratios = pd.read_csv(tmp_path / "outputs" / "sc" / "figures" /
                         "synth_placebo_ratios_admissions_rate.csv")
    assert len(ratios) == 15


def test_area_panel_from_episode_tables(tmp_path: Path, synth_dir: Path) -> None:
    cfg = yaml.safe_load((REPO / "configs" / "synth_demo.yaml").read_text())
    for table in ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths"):
        cfg["data"][table] = str(synth_dir / f"{table}.parquet")
    cfg["evaluation"]["output_dir"] = str(tmp_path / "outputs")
    cfg["outcomes"] = ["emergency_admissions"]
    cfg["synth"]["replications"] = 50
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_cli("run", "--quiet", str(tmp_path / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "outputs" / "synth_demo"
    res = json.loads((out / "results.json").read_text())
    (est,) = res["estimates"]
    assert est["outcome"] == "emergency_admissions_rate"
    assert est["estimator"] == "synthetic_did:sdid"
    assert est["std_error"] > 0
    # 19 areas in the synthetic world: 04N and 18 donors, three washout months dropped
    assert [d["reason"] for d in res["diagnostics"]["donor_pool"]].count("donor") == 18
    assert res["diagnostics"]["panel"]["washout_dropped"] == ["2014-04-01", "2014-05-01",
                                                              "2014-06-01"]
    panel = pd.read_parquet(out / "private" / "analysis_table.parquet")
    assert {"area", "month", "population", "emergency_admissions",
            "emergency_admissions_rate"} <= set(panel.columns)
    assert not (out / "figures" / "synth_trajectory_emergency_admissions_rate.csv").read_text() \
        .count("emergency_admissions,")  # no count column is released with the figures
    from impacteval.report import export_release

    export_release(out, tmp_path / "release")
    assert check_outputs(tmp_path / "release") == []


@pytest.mark.parametrize(("synth", "where"), [
    ({"treated": TWO[:1], "exclude": [f"A{i:02d}" for i in range(2, 14)]}, "synth.exclude"),
    ({"treated": TWO[:1], "pre_period": ["2014-07-01", "2014-12-01"]}, "synth.pre_period"),
    ({"treated": [{"area": "ZZZ", "start": "2015-01-01"}]}, "synth.treated"),
    ({"treated": TWO[:1], "min_population": 6000}, "synth.exclude"),
])
def test_inference_not_identified_exits_2(tmp_path: Path, synth: dict, where: str) -> None:
    _panel(tmp_path / "panel.csv")
    proc = run_cli("run", "--quiet", str(_cfg(tmp_path, synth)))
    assert proc.returncode == 2, proc.stderr
    assert where in proc.stderr and "Traceback" not in proc.stderr
    assert "how to fix" in proc.stderr


@pytest.mark.parametrize(("synth", "text"), [
    ({"treated": TWO[:1], "method": "augmented", "predictors": [{"variable": "population"}]},
     "applies to method: classic only"),
    ({"treated": TWO, "placebos": False}, "placebos: false"),
    ({"treated": TWO[:1], "pre_period": ["2012-01-01", "2015-03-01"]}, "must end before"),
    ({"treated": [{"area": "A00", "start": 2015}], "pre_period": ["2012-01-01", "2014-01-01"]},
     "all be dates or all numbers"),
    ({"treated": TWO[:1], "methd": "classic"}, "methd"),
])
def test_bad_synth_config_exits_2(tmp_path: Path, synth: dict, text: str) -> None:
    _panel(tmp_path / "panel.csv")
    proc = run_cli("validate", str(_cfg(tmp_path, synth)))
    assert proc.returncode == 2, proc.stderr
    assert text in proc.stderr and "Traceback" not in proc.stderr


def test_missing_column_exits_2(tmp_path: Path) -> None:
    _panel(tmp_path / "panel.csv")
    cfg = _cfg(tmp_path, {"treated": TWO[:1]}, roles={"unit_id": "area",
                                                      "outcomes": ["admits"]})
    proc = run_cli("validate", str(cfg))
    assert proc.returncode == 2
    assert "admits" in proc.stderr and "data.table" in proc.stderr
