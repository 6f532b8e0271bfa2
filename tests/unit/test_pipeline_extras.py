"""The extras run from the config (issue 8): subgroups, negative controls, alternative
specifications and triangulation, on a small simulated analysis-ready table with known effects,
through the runner, disclosure control and the report."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from impacteval.config import parse_config
from impacteval.config.extras import SubgroupSpec
from impacteval.exceptions import SchemaError
from impacteval.pipeline.extras import heterogeneity_p, subgroup_levels
from impacteval.results import EffectEstimate


def _estimate(value: float, lo: float, hi: float, scale: str = "rate_ratio") -> EffectEstimate:
    return EffectEstimate(design="d", estimator="e", outcome="y", estimand="ATT", scale=scale,
                          estimate=value, std_error=math.nan, ci_lower=lo, ci_upper=hi,
                          p_value=math.nan, n_treated=1, n_control=1)


def test_heterogeneity_is_cochrans_q_on_the_log_scale() -> None:
    z = stats.norm.ppf(0.975)
    a = _estimate(1.0, math.exp(-0.1 * z), math.exp(0.1 * z))
    b = _estimate(2.0, 2.0 * math.exp(-0.2 * z), 2.0 * math.exp(0.2 * z))
    w = np.array([1 / 0.1**2, 1 / 0.2**2])
    beta = np.array([0.0, math.log(2.0)])
    pooled = float((w * beta).sum() / w.sum())
    q = float((w * (beta - pooled) ** 2).sum())
    assert heterogeneity_p([a, b]) == pytest.approx(stats.chi2.sf(q, 1), rel=1e-9)
    assert heterogeneity_p([a, a]) == pytest.approx(1.0)
    assert heterogeneity_p([a]) is None
    d1, d2 = _estimate(0.0, -1, 1, "difference"), _estimate(3.0, 2, 4, "difference")
    assert heterogeneity_p([d1, d2]) < 0.01


def test_heterogeneity_agrees_with_statsmodels_meta_analysis() -> None:
    """Cochran's Q as statsmodels' combine_effects(...).test_homogeneity() computes it."""
    from statsmodels.stats.meta_analysis import combine_effects

    z = stats.norm.ppf(0.975)
    log_rr = np.array([-0.4, -0.1, 0.05, -0.25])
    se = np.array([0.12, 0.2, 0.15, 0.3])
    ests = [_estimate(math.exp(b), math.exp(b - z * s), math.exp(b + z * s))
            for b, s in zip(log_rr, se, strict=True)]
    expected = combine_effects(log_rr, se**2).test_homogeneity().pvalue
    assert heterogeneity_p(ests) == pytest.approx(expected, rel=1e-9)


def test_builtin_groupings_of_the_care_home_cohort() -> None:
    frame = pd.DataFrame({"imd_decile": [1.0, 2, 3, 10, 5.0], "imd_missing": [0, 0, 0, 0, 1],
                          "age": [66, 74.9, 75, 90, 85], "female": [1, 0, 1, 0, 1],
                          "white": [1, 0, 0, 1, 1], "ethnicity_unknown": [0, 0, 1, 0, 0]})
    imd, order, label, gap = subgroup_levels(frame, SubgroupSpec(variable="imd_quintile"),
                                             where="s")
    assert imd.tolist() == ["1", "1", "2", "5", "unknown"] and order == ["1", "2", "5",
                                                                         "unknown"]
    assert gap == ("1", "5") and "IMD" in label
    age, order, _, _ = subgroup_levels(frame, SubgroupSpec(variable="age_band"), where="s")
    assert age.tolist() == ["under 75", "under 75", "75 to under 85", "85 and over",
                            "85 and over"]
    sex, _, _, _ = subgroup_levels(frame, SubgroupSpec(variable="sex"), where="s")
    assert sex.tolist() == ["female", "male or not stated", "female", "male or not stated",
                            "female"]
    eth, order, _, _ = subgroup_levels(frame, SubgroupSpec(variable="ethnicity"), where="s")
    assert eth.tolist() == ["White", "other ethnic groups", "not stated", "White", "White"]
    assert order == ["White", "other ethnic groups", "not stated"]


def test_columns_bins_and_bad_columns() -> None:
    frame = pd.DataFrame({"score": [0.5, 2.0, np.nan, 7.0], "region": ["b", "a", None, "a"],
                          "id": range(4)})
    lv, order, _, _ = subgroup_levels(frame, SubgroupSpec(variable="score", bins=[1, 5]),
                                      where="s")
    assert lv.tolist() == ["under 1", "1 to under 5", "unknown", "5 and over"]
    assert order == ["under 1", "1 to under 5", "5 and over", "unknown"]
    lv, order, _, _ = subgroup_levels(frame, SubgroupSpec(variable="region"), where="s")
    assert order == ["a", "b", "unknown"]
    with pytest.raises(SchemaError, match="subgroups\\[2\\]"):
        subgroup_levels(frame, SubgroupSpec(variable="nope"), where="subgroups[2]")
    many = pd.DataFrame({"id": range(40)})
    with pytest.raises(SchemaError, match="too many") as info:
        subgroup_levels(many, SubgroupSpec(variable="id"), where="s")
    assert "bins" in str(info.value)


def _simulate(n: int = 4000, seed: int = 11) -> pd.DataFrame:
    """Treatment confounded by x1, x2; rate ratio 0.5 in region a, 1.0 in region b; a
    negative-control outcome z and exposure e with the same confounding and no effect."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.5, n)
    region = rng.choice(["a", "b"], n)

    def confounded() -> np.ndarray:
        return rng.binomial(1, 1 / (1 + np.exp(-(-1.0 + 0.8 * x1 + 0.5 * x2))))

    t, e = confounded(), confounded()
    py = rng.uniform(0.5, 2.0, n)
    base = np.exp(-0.5 + 0.5 * x1 + 0.3 * x2) * py
    y = rng.poisson(base * np.where(t == 1, np.where(region == "a", 0.5, 1.0), 1.0))
    return pd.DataFrame({"id": np.arange(n), "t": t, "e": e, "x1": x1, "x2": x2,
                         "region": region, "py": py, "y": y, "z": rng.poisson(base)})


@pytest.fixture(scope="module")
def extras_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from impacteval.pipeline.runner import run

    tmp = tmp_path_factory.mktemp("extras")
    _simulate().to_csv(tmp / "table.csv", index=False)
    raw = {
        "evaluation": {"id": "extras", "output_dir": str(tmp / "out")},
        "data": {"table": "table.csv"},
        "roles": {"unit_id": "id", "treatment": "t", "outcomes": ["y"],
                  "covariates": ["x1", "x2"], "exposure": "py"},
        "analysis": {"cluster": "pair"},
        "subgroups": [{"variable": "region", "gap_levels": ["a", "b"]},
                      {"variable": "x1", "bins": [0], "label": "x1 band"}],
        "negative_controls": {"outcomes": ["z"], "exposures": ["e"]},
        "alternative_specifications": [{"name": "NB", "analysis": {"family":
                                                                    "negative_binomial"}},
                                       {"name": "x1 only", "roles": {"covariates": ["x1"]}}],
        "triangulation": [{"design": "regression_discontinuity",
                           "rdd": {"running": "x1", "cutoff": 0.0}}],
    }
    cfg = parse_config(raw, base_dir=tmp)
    return tmp, run(cfg, progress=False)


def test_subgroup_effects_recover_the_simulated_difference(extras_run) -> None:
    _, outcome = extras_run
    records = {r["variable"]: r for r in outcome.result.diagnostics["subgroups"]}
    region = {lv["level"]: lv for lv in records["region"]["levels"]}
    assert set(region) == {"a", "b"}
    assert region["a"]["ci_lower"] < 0.5 < region["a"]["ci_upper"]
    assert region["b"]["ci_lower"] < 1.0 < region["b"]["ci_upper"]
    assert records["region"]["interaction_p"] < 0.001  # 0.5 vs 1.0 is detected
    assert records["x1"]["interaction_p"] > 0.05       # no difference by x1 band
    # each level is matched within itself: its matched arms are the same size (1:1)
    assert all(lv["n_treated"] == lv["n_control"] for lv in region.values())


def test_negative_controls_alternatives_and_triangulation_are_estimated(extras_run) -> None:
    _, outcome = extras_run
    by = {}
    for e in outcome.result.estimates:
        key = (e.outcome, e.design, e.details.get("negative_control"),
               e.details.get("specification"), e.details.get("sample"))
        by[key] = e
    nc_out = by[("z", "matched_cohort", "outcome", None, "matched")]
    nc_exp = next(e for e in outcome.result.estimates if e.details.get("exposure") == "e")
    for e in (nc_out, nc_exp):
        assert e.ci_lower < 1.0 < e.ci_upper  # no effect, as simulated
    primary = by[("y", "matched_cohort", None, None, "matched")]
    nb = by[("y", "matched_cohort", None, "NB", "matched")]
    assert nb.estimate == pytest.approx(primary.estimate, rel=0.1)
    alt_diag = outcome.result.diagnostics["alternative_specifications"]
    assert alt_diag["x1 only"]["propensity_covariates"] == ["x1"]  # roles re-read
    assert alt_diag["NB"]["propensity_covariates"] == ["x1", "x2"]
    assert any(e.design == "regression_discontinuity" for e in outcome.result.estimates)
    # the main analysis is unchanged by the extras: no naive estimate of a re-run
    naive = [e for e in outcome.result.estimates if e.details.get("sample") == "naive"]
    assert [e.outcome for e in naive] == ["y"]


def test_outputs_show_every_extra_after_disclosure_control(extras_run) -> None:
    from impacteval.report import check_outputs, export_release

    tmp, outcome = extras_run
    out = outcome.out_dir
    res = json.loads((out / "results.json").read_text())
    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" /
                         "results.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(res)
    assert {r["variable"] for r in res["subgroups"]} == {"region", "x1"}
    kinds = {(r["outcome"], r["kind"]) for r in res["sensitivity"]["negative_controls"]}
    assert kinds == {("z", "outcome"), ("e", "exposure")}
    assert all(r["verdict"] == "no effect detected, as expected"
               for r in res["sensitivity"]["negative_controls"])
    html = (out / "report.html").read_text()
    for heading in ("Subgroups and equity", "Negative controls", "Alternative specifications",
                    "Triangulation across designs"):
        assert heading in html, heading
    assert "alternative: NB" in (out / "tables" / "estimates.csv").read_text()
    release = export_release(out, tmp / "release")
    assert check_outputs(release) == []


def test_non_matching_design_has_no_balance_section_and_checklists_point_at_real_sections(
        tmp_path: Path) -> None:
    from impacteval.pipeline.runner import run

    _simulate(1500).to_csv(tmp_path / "table.csv", index=False)
    raw = {"evaluation": {"id": "rd", "design": "regression_discontinuity",
                          "output_dir": str(tmp_path / "out")},
           "data": {"table": "table.csv"},
           "roles": {"unit_id": "id", "outcomes": ["y"]},
           "rdd": {"running": "x1", "cutoff": 0.0}}
    outcome = run(parse_config(raw, base_dir=tmp_path), progress=False)
    html = (outcome.out_dir / "report.html").read_text()
    md = (outcome.out_dir / "report.md").read_text()
    assert 'id="balance"' not in html and 'href="#balance"' not in html
    assert "## Balance" not in md
    assert not (outcome.out_dir / "figures" / "love_plot.png").exists()
    ids = set(re.findall(r'id="([^"]+)"', html))
    assert set(re.findall(r'href="#([^"]+)"', html)) <= ids
    assert "matched and naive" not in html


def test_imd_gap_falls_back_to_the_quintiles_that_were_estimated(tmp_path: Path) -> None:
    """With no one in quintile 1, the gap statement compares quintiles 2 and 5."""
    from impacteval.pipeline.runner import run

    table = _simulate(3000)
    rng = np.random.default_rng(3)
    table["imd_quintile"] = rng.choice([2, 3, 5], len(table))
    table.to_csv(tmp_path / "table.csv", index=False)
    raw = {"evaluation": {"id": "imd", "output_dir": str(tmp_path / "out")},
           "data": {"table": "table.csv"},
           "roles": {"unit_id": "id", "treatment": "t", "outcomes": ["y"],
                     "covariates": ["x1", "x2"], "exposure": "py"},
           "analysis": {"naive_comparison": False},
           "subgroups": ["imd_quintile"]}
    outcome = run(parse_config(raw, base_dir=tmp_path), progress=False)
    (record,) = outcome.result.diagnostics["subgroups"]
    assert [lv["level"] for lv in record["levels"]] == ["2", "3", "5"]
    assert record["gap_levels"] == ["2", "5"]
    assert "gap between IMD quintile (1 = most deprived) 2 and 5" in (
        outcome.out_dir / "report.html").read_text()


def test_negative_control_columns_are_split_by_position_when_a_build_renames_them() -> None:
    import yaml

    from impacteval.pipeline.design_registry import Prepared
    from impacteval.pipeline.extras import build_config, split_outcomes

    repo = Path(__file__).resolve().parents[2]
    raw = yaml.safe_load((repo / "configs" / "demo.yaml").read_text())
    raw["outcomes"] = ["emergency_admissions", "ae_attendances"]
    raw["negative_controls"] = {"outcomes": ["elective_admissions"]}
    cfg = parse_config(raw, base_dir=repo / "configs")
    assert build_config(cfg).outcomes == [*cfg.outcomes, "elective_admissions"]
    empty = pd.DataFrame(columns=["FLOW"])

    def prepared(outcomes: list[str]) -> Prepared:
        return Prepared(frame=pd.DataFrame(), attrition=empty, source="s", outcomes=outcomes)

    renamed = prepared(["emergency_admissions_rate", "ae_attendances_rate",
                        "elective_admissions_rate"])
    assert split_outcomes(cfg, renamed) == (["emergency_admissions_rate",
                                             "ae_attendances_rate"],
                                            ["elective_admissions_rate"])
    same = prepared(["emergency_admissions", "elective_admissions", "ae_attendances", "x"])
    assert split_outcomes(cfg, same) == (["emergency_admissions", "ae_attendances", "x"],
                                         ["elective_admissions"])


def test_subgroups_of_a_design_without_arms_use_its_estimator_counts(tmp_path: Path) -> None:
    """A regression discontinuity by region: each level's sides come from the estimator (below
    and at or above the cutoff), not from a treatment column; the table passes SDC."""
    from impacteval.pipeline.runner import run
    from impacteval.report import check_outputs, export_release

    _simulate(3000).to_csv(tmp_path / "table.csv", index=False)
    raw = {"evaluation": {"id": "rd_sub", "design": "regression_discontinuity",
                          "output_dir": str(tmp_path / "out")},
           "data": {"table": "table.csv"},
           "roles": {"unit_id": "id", "outcomes": ["y"]},
           "rdd": {"running": "x1", "cutoff": 0.0},
           "subgroups": ["region"]}
    outcome = run(parse_config(raw, base_dir=tmp_path), progress=False)
    (record,) = outcome.result.diagnostics["subgroups"]
    for lv in record["levels"]:
        assert lv["events_treated"] is None and lv["estimate"] is not None
        assert lv["n_treated"] + lv["n_control"] <= 3000
    assert record["interaction_p"] is not None
    assert check_outputs(export_release(outcome.out_dir, tmp_path / "release")) == []


@pytest.mark.parametrize(("extra", "where"), [
    ({"subgroups": ["regoin"]}, "subgroups[0]"),
    ({"negative_controls": {"outcomes": ["zz"]}}, "negative_controls.outcomes"),
    ({"negative_controls": {"exposures": ["region"]}}, "data.table (table.csv).region"),
])
def test_validate_checks_the_extras_columns_before_anything_runs(
        tmp_path: Path, extra: dict, where: str) -> None:
    from impacteval.pipeline.runner import validate

    _simulate(200).to_csv(tmp_path / "table.csv", index=False)
    raw = {"evaluation": {"id": "v", "output_dir": str(tmp_path / "out")},
           "data": {"table": "table.csv"},
           "roles": {"unit_id": "id", "treatment": "t", "outcomes": ["y"],
                     "covariates": ["x1", "x2"], "exposure": "py"}, **extra}
    with pytest.raises(SchemaError) as info:
        validate(parse_config(raw, base_dir=tmp_path))
    assert str(info.value).startswith(where), str(info.value)
    assert not (tmp_path / "out").exists()
