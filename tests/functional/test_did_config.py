"""Difference-in-differences from one YAML file (issue 4): on an analysis-ready panel (the
mpdta data of the R package did, checked against committed reference numbers) and on episode
tables (an area x quarter panel built from a small synthetic extract), plus bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.functional.conftest import run_cli

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"
#: Ten of the synthetic extract's areas (the intervention area and comparison areas first).
AREAS = ("04N", "03W", "04C", "10X", "06H", "06Q", "99E", "00L", "01H", "02Q")


def _config(tmp_path: Path, did: dict, *, id_: str = "mpdta", roles: dict | None = None) -> Path:
    (tmp_path / "mpdta.csv").write_bytes((DATA / "did_mpdta.csv").read_bytes())
    cfg = {"evaluation": {"id": id_, "design": "difference_in_differences",
                          "output_dir": str(tmp_path / "outputs")},
           "data": {"table": "mpdta.csv"},
           "roles": roles or {"unit_id": "countyreal", "outcomes": ["lemp"]},
           "did": {"time": "year", "cohort": "first.treat", **did}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _run(path: Path) -> tuple[dict, Path]:
    proc = run_cli("run", "--quiet", str(path))
    assert proc.returncode == 0, proc.stderr
    cfg = yaml.safe_load(path.read_text())
    out = Path(cfg["evaluation"]["output_dir"]) / cfg["evaluation"]["id"]
    return json.loads((out / "results.json").read_text()), out


def test_callaway_santanna_mpdta_from_config(tmp_path: Path) -> None:
    """Outcome regression, never-treated controls, universal base period: the group
    aggregation -0.0310 (SE 0.0124) and the dynamic effects as the differences package
    (tests/reference/data/did_mpdta_differences.json) and did's README; analytic pre-trend
    Wald p 0.16812 (did's README)."""
    ref = json.loads((DATA / "did_mpdta_differences.json").read_text())
    case = ref["cases"]["reg|never_treated|none|ant0|universal"]
    res, out = _run(_config(tmp_path, {"estimator": "callaway_santanna", "est_method": "reg",
                                       "base_period": "universal", "pretrend_bootstrap": 199}))
    (est,) = res["estimates"]
    assert est["estimate"] == pytest.approx(case["group_overall"][0]["estimate"], abs=1e-8)
    assert est["std_error"] == pytest.approx(case["group_overall"][0]["std_error"], abs=1e-8)
    pre = res["diagnostics"]["pretrend_wald"]
    assert pre["p_value_chi2"] == pytest.approx(0.16812, abs=5e-6)
    assert pre["test"] == "wild_bootstrap" and 0 < pre["p_value"] <= 1
    # the event-study figure data: the dynamic aggregation, treated-unit counts under SDC
    es = pd.read_csv(out / "figures" / "event_study.csv")
    dyn = {r["dynamic"]: r["estimate"] for r in case["dynamic"]}
    for _, row in es.dropna(subset=["std_error"]).iterrows():
        assert row["estimate"] == pytest.approx(dyn[row["event_time"]], abs=1e-8)
    counts = es["n_treated_units"].astype(str)
    assert all(c == "<10" or int(c) % 5 == 0 for c in counts)
    assert (out / "figures" / "event_study.png").is_file()
    bounds = pd.read_csv(out / "figures" / "sensitivity_bounds.csv")
    assert list(bounds.columns[:3]) == ["m_bar", "lower", "upper"]
    assert res["diagnostics"]["sensitivity_relative_magnitudes"]["breakdown_m_bar"] > 0
    # smoothness confidence intervals (covariance from the influence functions): widen with M
    flci = pd.read_csv(out / "figures" / "sensitivity_smoothness.csv")
    assert len(flci) == 10 and flci["m"].iloc[0] == 0
    assert (flci["ci_upper"] - flci["ci_lower"]).is_monotonic_increasing
    report = (out / "report.md").read_text()
    assert "figures/event_study.png" in report and "figures/sensitivity_bounds.png" in report


def test_twoway_with_bacon_and_sun_abraham(tmp_path: Path) -> None:
    """TWFE on mpdta (-0.0365) equals the weighted sum of its Goodman-Bacon comparisons,
    which the report shows; the Sun-Abraham event study matches pyfixest's ``sunab``."""
    res, out = _run(_config(tmp_path, {"estimator": "twoway", "pretrend_bootstrap": 199}))
    (est,) = res["estimates"]
    bacon = res["diagnostics"]["bacon_decomposition"]
    assert est["estimate"] == pytest.approx(-0.0365, abs=5e-5)
    assert bacon["twfe_estimate"] == pytest.approx(est["estimate"], abs=1e-10)
    comp = pd.read_csv(out / "figures" / "bacon_decomposition.csv")
    assert (comp["weight"] * comp["estimate"]).sum() == pytest.approx(est["estimate"], abs=1e-10)
    assert "figures/bacon_decomposition.png" in (out / "report.md").read_text()
    smooth = res["diagnostics"]["sensitivity_smoothness"]
    assert smooth["target_event_times"] == {"0": 1.0, "1": 0.0, "2": 0.0, "3": 0.0}
    assert "figures/sensitivity_smoothness.png" in (out / "report.md").read_text()

    ref = json.loads((DATA / "did_event_study_pyfixest.json").read_text())["sun_abraham"]
    sub = tmp_path / "sa"
    sub.mkdir()
    res, out = _run(_config(sub, {"estimator": "sun_abraham", "pretrend_test": "hotelling"}))
    es = pd.read_csv(out / "figures" / "event_study.csv").dropna(subset=["std_error"])
    assert es["event_time"].tolist() == ref["event_time"]
    assert es["estimate"].to_numpy() == pytest.approx(ref["estimate"], abs=1e-10)
    pre = res["diagnostics"]["pretrend_wald"]
    assert pre["test"] == "hotelling" and pre["p_value"] == pre["hotelling_p_value"]
    assert "bacon_decomposition" not in res["diagnostics"]


def test_poisson_did_on_an_area_panel_built_from_episode_tables(tmp_path: Path) -> None:
    """Episode tables -> area x quarter panel of event counts and registered person-years ->
    TWFE Poisson rate ratios; the event study of the rate, the wild-bootstrap pre-trend test
    (few adopting areas) and the disclosure-controlled figure data are in the outputs."""
    from impacteval.data.synth import generate

    data = tmp_path / "extract"
    generate(4000, 2017, data)
    cfg = {
        "evaluation": {"id": "areas", "design": "difference_in_differences",
                       "output_dir": str(tmp_path / "outputs")},
        "data": {t: str(data / f"{t}.parquet") for t in
                 ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths",
                  "settings")} | {"data_cut": "2016-08-31"},
        "outcomes": ["emergency_admissions"],
        "did": {"estimator": "poisson", "pretrend_bootstrap": 199,
                "panel": {"start": "2013-04-01", "end": "2016-07-01", "period": "quarter",
                          "adoption": {"04N": "2014-10-01", "03W": "2015-04-01"},
                          "areas": list(AREAS)}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res, out = _run(path)
    (est,) = res["estimates"]
    assert est["scale"] == "rate_ratio" and est["outcome"] == "emergency_admissions"
    assert 0 < est["ci_lower"] < est["estimate"] < est["ci_upper"]
    assert "cell_rates" not in est["details"] or all(
        "events" not in row for row in est["details"]["cell_rates"])
    assert res["diagnostics"]["periods"] == 13
    assert res["diagnostics"]["pretrend_wald"]["test"] == "wild_bootstrap"
    flow = pd.read_csv(out / "tables" / "attrition.csv")
    assert flow["step"].tolist()[0] == "panel"
    es = pd.read_csv(out / "figures" / "event_study.csv")
    assert set(es["n_treated_units"].astype(str)) <= {"<10", "0"}  # two adopting areas
    panel = pd.read_parquet(out / "private" / "analysis_table.parquet")
    assert len(panel) == panel["unit_id"].nunique() * 13
    assert set(panel["unit_id"]) == set(AREAS)  # did.panel.areas keeps these only

    # an adopting area that is not in the panel is a design error naming the key
    from impacteval.exceptions import DesignError
    from impacteval.pipeline.runner import run

    cfg["did"]["panel"]["adoption"]["ZZZ"] = "2015-01-01"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.raises(DesignError, match="did.panel.adoption.*ZZZ|ZZZ.*did.panel.adoption"):
        run(path, progress=False)


@pytest.mark.parametrize(("did", "roles", "message"), [
    ({"estimator": "twoway", "time": None}, None, "needs did.time"),
    ({"estimator": "poisson"}, None, "needs roles.exposure"),
    ({"estimator": "twoway", "cohort": "treat_year"}, None, "missing column(s): treat_year"),
    ({"estimator": "twoway", "cohort": "treat"}, None, "changes within a unit"),
    ({"estimator": "sun_abraham"}, {"unit_id": "countyreal", "outcomes": ["lemp"],
                                    "covariates": ["lpop"]}, "take no covariates"),
    ({"estimator": "did_2x2"}, None, "did.estimator"),
])
def test_bad_did_inputs(tmp_path: Path, did: dict, roles: dict | None, message: str) -> None:
    """One clear error naming the key or column (in process; the CLI's exit code 2 for the
    same errors is checked below)."""
    from impacteval.exceptions import ImpactEvalError
    from impacteval.pipeline.runner import run

    path = _config(tmp_path, did, roles=roles)
    if did.get("cohort") == "treat":  # 'treat' is constant within unit: make it vary
        df = pd.read_csv(tmp_path / "mpdta.csv")
        df.loc[df["year"] == 2007, "treat"] = 2007
        df.to_csv(tmp_path / "mpdta.csv", index=False)
    cfg = yaml.safe_load(path.read_text())
    cfg["did"] = {k: v for k, v in cfg["did"].items() if v is not None}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.raises(ImpactEvalError) as err:
        run(path, progress=False)
    assert message in str(err.value)


def test_bad_did_inputs_exit_2(tmp_path: Path) -> None:
    """Bad data (a cohort column that changes within units) and a bad design (covariates with
    an event study) stop with exit code 2 and a message, no traceback."""
    path = _config(tmp_path, {"estimator": "twoway", "cohort": "treat"})
    df = pd.read_csv(tmp_path / "mpdta.csv")
    df.loc[df["year"] == 2007, "treat"] = 2007
    df.to_csv(tmp_path / "mpdta.csv", index=False)
    proc = run_cli("run", "--quiet", str(path))
    assert proc.returncode == 2 and "changes within a unit" in proc.stderr
    assert "Traceback" not in proc.stderr
    path = _config(tmp_path, {"estimator": "sun_abraham"}, roles={
        "unit_id": "countyreal", "outcomes": ["lemp"], "covariates": ["lpop"]})
    proc = run_cli("run", "--quiet", str(path))
    assert proc.returncode == 2 and "take no covariates" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_did_section_and_entry_point_must_agree(tmp_path: Path) -> None:
    """A panel-building section with an analysis-ready table, and a DiD without a section."""
    path = _config(tmp_path, {"panel": {"start": "2013-01-01", "adoption": {"A": "2014-01-01"}}})
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2 and "did.panel builds a panel" in proc.stderr
    cfg = yaml.safe_load(path.read_text())
    del cfg["did"]
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2 and "needs a 'did' section" in proc.stderr


@pytest.mark.parametrize("name", ["did_mpdta.yaml", "did_areas.yaml"])
def test_example_configs_validate(name: str) -> None:
    from impacteval.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / name)
    assert cfg.evaluation.design == "difference_in_differences" and cfg.did is not None
