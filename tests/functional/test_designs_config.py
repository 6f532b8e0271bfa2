"""Regression discontinuity and IV from one YAML file on an analysis-ready table (issue 7:
"usable from an analysis-ready table"), checked against published numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.functional.conftest import run_cli

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"


def _run(tmp_path: Path, cfg: dict) -> dict:
    cfg["evaluation"]["output_dir"] = str(tmp_path / "outputs")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_cli("run", "--quiet", str(tmp_path / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "outputs" / cfg["evaluation"]["id"]
    assert (out / "report.html").is_file()
    return json.loads((out / "results.json").read_text())


def test_rdd_senate_from_config(tmp_path: Path) -> None:
    """rdrobust's documented example rdrobust(vote, margin): 7.414, h = 17.754
    (Calonico, Cattaneo, Farrell & Titiunik, rdrobust documentation; data senate.csv)."""
    d = pd.read_csv(DATA / "senate.csv").dropna(subset=["vote", "margin"])
    d.to_csv(tmp_path / "senate.csv", index=False)
    res = _run(tmp_path, {
        "evaluation": {"id": "senate", "design": "regression_discontinuity", "estimand": "ATE"},
        "data": {"table": "senate.csv"},
        "roles": {"outcomes": ["vote"]},
        "rdd": {"running": "margin", "cutoff": 0, "balance_covariates": ["population"]},
    })
    (est,) = res["estimates"]
    assert est["estimate"] == pytest.approx(7.414, abs=5e-4)
    assert est["details"]["h_left"] == pytest.approx(17.754, abs=5e-4)
    assert 0 < res["diagnostics"]["density_test"]["p_value"] < 1
    assert res["diagnostics"]["covariate_jumps"]


def test_iv_mroz_from_config(tmp_path: Path) -> None:
    """Wooldridge, Introductory Econometrics, Example 15.5: educ 0.0614 (se 0.0314)."""
    d = pd.read_csv(DATA / "iv_mroz_psid1976.csv")
    d = d[d["participation"] == "yes"].assign(lwage=lambda x: np.log(x["wage"]),
                                              expersq=lambda x: x["experience"] ** 2)
    d.to_csv(tmp_path / "mroz.csv", index=False)
    res = _run(tmp_path, {
        "evaluation": {"id": "mroz", "design": "instrumental_variables", "estimand": "LATE"},
        "data": {"table": "mroz.csv"},
        "roles": {"outcomes": ["lwage"]},
        "iv": {"treatment": "education", "instruments": ["meducation", "feducation"],
               "covariates": ["experience", "expersq"], "cov_type": "unadjusted"},
    })
    (est,) = res["estimates"]
    assert est["estimate"] == pytest.approx(0.0614, abs=5e-5)
    assert est["std_error"] == pytest.approx(0.0314, abs=5e-5)
    assert res["diagnostics"]["first_stage"]


def test_design_section_must_match_design(tmp_path: Path) -> None:
    cfg = {"evaluation": {"id": "x", "design": "regression_discontinuity",
                          "output_dir": str(tmp_path / "o")},
           "data": {"table": "t.csv"}, "roles": {"outcomes": ["y"]}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_cli("validate", str(tmp_path / "config.yaml"))
    assert proc.returncode == 2 and "needs an 'rdd' section" in proc.stderr


def test_rdd_on_the_cohort_from_episode_tables(tmp_path: Path, synth_dir: Path) -> None:
    """The RD design on the cohort the episode stages build (running variable: age at move-in).
    Age in whole years has few distinct values: the density test is reported as not
    computable, and the evaluation still completes."""
    from tests.functional.conftest import demo_config

    cfg = demo_config(synth_dir, tmp_path / "outputs")
    cfg["evaluation"].update(id="age_rd", design="regression_discontinuity", estimand="ATE")
    cfg.pop("matching")
    cfg.pop("analysis")
    cfg["outcomes"] = ["emergency_admissions"]
    cfg["rdd"] = {"running": "age", "cutoff": 85, "balance_covariates": ["charlson"]}
    res = _run(tmp_path, cfg)
    (est,) = res["estimates"]
    assert est["design"] == "regression_discontinuity"
    assert est["ci_lower"] < est["ci_upper"]
    assert res["diagnostics"]["density_test"]["available"] is False


def test_its_sicily_from_config(tmp_path: Path) -> None:
    """Lopez Bernal, Cummins & Gasparrini (2017), Int J Epidemiol, smoking ban in Sicily:
    Poisson segmented regression with log(stdpop) offset, level change only: RR 0.894
    (0.865 to 0.925), as the authors' published R code prints (tests/reference/data/its_README.md).
    The SPC u-chart and the ITS plot are released with their counts under disclosure control."""
    (tmp_path / "sicily.csv").write_bytes((DATA / "its_sicily.csv").read_bytes())
    res = _run(tmp_path, {
        "evaluation": {"id": "sicily", "design": "interrupted_time_series", "estimand": "ATE"},
        "data": {"table": "sicily.csv"},
        "roles": {"outcomes": ["aces"]},
        "its": {"time": "time", "interruptions": [37], "population": "stdpop",
                "family": "poisson", "errors": "iid", "slope_change": False, "spc_chart": "u"},
    })
    (est,) = res["estimates"]
    assert est["scale"] == "rate_ratio"
    assert (round(est["estimate"], 3), round(est["ci_lower"], 3), round(est["ci_upper"], 3)) == (
        0.894, 0.865, 0.925)
    spc = pd.read_csv(tmp_path / "outputs" / "sicily" / "figures" / "spc_chart.csv")
    assert (spc["events"] % 5 == 0).all()  # counts rounded by the default regime


def test_its_on_episode_tables_needs_a_series_section() -> None:
    """On episode tables the ITS builds its series (its.series); a data.table column name
    (its.time) or the care-home cohort section are errors that say so."""
    from impacteval.config import parse_config
    from impacteval.exceptions import ConfigError

    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "demo.yaml").read_text())
    raw["evaluation"]["design"] = "interrupted_time_series"
    raw["its"] = {"time": "month", "interruptions": ["2015-06-01"]}
    with pytest.raises(ConfigError, match="its.series"):
        parse_config(raw)
