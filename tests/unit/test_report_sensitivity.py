"""Report: credibility checklist, sensitivity section, code lists, STROBE/RECORD, results.json.

Inputs are the fake result (report_fixtures.py) with ``diagnostics["sensitivity"]`` filled as
the pipeline will fill it: Rosenbaum bounds of the published lead data (Rosenbaum 2002,
section 4.3.3; tests/reference/data/lead_pairs.csv), negative-control estimates and an
alternative specification.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from report_fixtures import FAKE_MANIFEST, fake_result

from impacteval.checks import rosenbaum_wilcoxon
from impacteval.derive.codelists import codelist_versions
from impacteval.report import REGIMES, check_outputs, export_release, write_outputs
from impacteval.report.checklists import RECORD_ITEMS, STROBE_ITEMS, design_diagnostics
from impacteval.report.render import build_context, render_html, render_markdown
from impacteval.report.tables import release_mapping, release_tables
from impacteval.results import EffectEstimate, EvaluationResult

REGIME = REGIMES["nhse_sde"]
ROOT = Path(__file__).resolve().parents[2]
LEAD = pd.read_csv(ROOT / "tests" / "reference" / "data" / "lead_pairs.csv")


def _est(outcome: str, rr: float, lo: float, hi: float, **details: object) -> EffectEstimate:
    return EffectEstimate(design="matched_cohort", estimator="matched_rate_ratio",
                          outcome=outcome, estimand="ATT", scale="rate_ratio", estimate=rr,
                          std_error=0.1, ci_lower=lo, ci_upper=hi, p_value=0.2, n_treated=398,
                          n_control=398, details={"sample": "matched", **details})


def _rich(design: str = "matched_cohort", **diag: object) -> EvaluationResult:
    r = fake_result()
    lead = rosenbaum_wilcoxon(LEAD["treated"], LEAD["control"], gammas=[1, 2, 3, 4, 5])
    extra = (
        _est("elective_hip_replacement", 1.03, 0.86, 1.24),
        _est("cataract_surgery", 0.71, 0.58, 0.87),
        _est("emergency_admissions", 0.80, 0.69, 0.93, specification="caliper 0.1 SD"),
    )
    diagnostics = {
        **r.diagnostics,
        "sensitivity": {
            "rosenbaum": {"emergency_admissions": lead.to_dict()},
            "negative_controls": {"outcomes": ["elective_hip_replacement", "cataract_surgery"]},
        },
        **diag,
    }
    return dataclasses.replace(r, design=design, estimates=r.estimates + extra,
                               diagnostics=diagnostics)


def _context(result: EvaluationResult) -> dict:
    tables = release_tables(result, REGIME)
    diagnostics, _ = release_mapping(result.diagnostics, REGIME)
    return build_context(result, tables, REGIME, manifest=FAKE_MANIFEST, figures={},
                         diagnostics=diagnostics, sdc_log=[])


def test_evalue_column_and_sensitivity_section() -> None:
    ctx = _context(_rich())
    # matched emergency admissions RR 0.765 (0.75 * 1.02): E = 1/0.765 + sqrt(...) = 1.94;
    # CI upper limit 0.765 * exp(1.96 * 0.09) = 0.9126 -> E = 1.42 (VanderWeele & Ding eq.)
    first = ctx["estimates"][0]
    assert first["evalue"] == "1.94 (1.42)"
    naive = ctx["estimates"][1]
    assert naive["evalue"] == "-"  # no E-value for the naive comparison
    sens = ctx["sensitivity"]
    assert [v["outcome"] for v in sens["evalues"]][:3] == [
        "emergency admissions", "A&E attendances", "elective admissions"]
    rb = sens["rosenbaum"][0]
    assert rb["gamma_critical"] == "4.43"  # tests/reference/data/rosenbaum_reference.json
    assert [b["p_upper"] for b in rb["bounds"]] == ["<0.001", "0.002", "0.013", "0.037", "0.069"]
    nc = {n["outcome"]: n for n in sens["negative_controls"]}
    assert nc["elective hip replacement"]["ok"] is True
    assert nc["cataract surgery"]["ok"] is False
    assert sens["alternatives"] == [{
        "outcome": "emergency admissions", "specification": "caliper 0.1 SD",
        "estimate": "0.80", "ci": "0.69 to 0.93", "primary": "0.77", "primary_ci": "0.64 to 0.91"}]
    html, md = render_html(ctx), render_markdown(ctx)
    for text in (html, md):
        assert "caliper 0.1 SD" in text and "residual confounding" in text
    assert "&Gamma; = 4.43" in html and "Gamma = 4.43" in md


def test_credibility_checklist_reflects_diagnostics() -> None:
    ctx = _context(_rich())
    rows = {c["question"]: c for c in ctx["credibility"]}
    assert rows["Are the compared groups balanced on recorded characteristics?"]["status"] == "no"
    assert rows["Do negative controls show no effect, as they should?"]["status"] == "no"
    assert rows["Were trends parallel before the intervention?"]["status"] == "n/a"
    assert rows["Was disclosure control applied to every released count?"]["status"] == "yes"
    assert ctx["credibility_summary"].startswith("Credibility checks: ")
    assert "failed" in ctx["credibility_summary"]


def test_before_after_design_failing_diagnostics_become_limitations() -> None:
    r = _rich(design="interrupted_time_series", pretrend_p_value=0.012, first_stage_f=4.2)
    ctx = _context(r)
    rows = {c["question"]: c for c in ctx["credibility"]}
    trend = rows["Were trends parallel before the intervention?"]
    assert trend["status"] == "no" and "0.012" in trend["detail"]
    limits = " ".join(ctx["limitations"])
    assert "this is a before-and-after comparison" in limits  # regression to the mean
    assert "parallel trends before the intervention is in doubt" in limits
    assert "a relevant (strong) instrument is in doubt" in limits
    keys = [a["key"] for a in ctx["assumptions"]]
    assert keys == ["pretrend_p_value", "first_stage_f", "max_abs_smd_after"]
    no_trend = _context(_rich(design="before_after"))
    rows = {c["question"]: c for c in no_trend["credibility"]}
    assert rows["Were trends parallel before the intervention?"]["status"] == "caution"


def test_design_diagnostics_rules() -> None:
    rows = design_diagnostics({"first_stage_f": 25.0, "density_test_p_value": 0.01,
                               "max_abs_smd_after": 0.08, "ignored": 3.0}, 0.1)
    assert [(r["key"], r["ok"]) for r in rows] == [
        ("first_stage_f", True), ("density_test_p_value", False), ("max_abs_smd_after", True)]


def test_codelists_with_versions() -> None:
    versions = codelist_versions()
    ctx = _context(_rich())
    names = [c["name"] for c in ctx["codelists"]]
    assert names == ["charlson_1987", "hfrs"]  # inferred from covariates charlson, hfrs
    assert ctx["codelists"][1]["version"] == versions["hfrs"]["version"]
    given = _context(_rich(codelists=["acsc", "frailty_iau6"]))
    assert [c["name"] for c in given["codelists"]] == ["acsc", "frailty_iau6"]
    assert given["codelists"][0]["source"] == versions["acsc"]["source"]


def test_strobe_and_record_items_filled_and_anchored() -> None:
    ctx = _context(_rich())
    assert [s["item"] for s in ctx["strobe"]] == [str(i) for i in range(1, 23)]
    assert [s["item"] for s in ctx["record"]] == [i for i, _, _ in RECORD_ITEMS]
    assert len(STROBE_ITEMS) == 22
    notes = {s["item"]: s["note"] for s in ctx["strobe"] + ctx["record"]}
    assert "charlson_1987 v1.0.0" in notes["7"] and "charlson_1987 v1.0.0" in notes["7.1"]
    assert "apc_episodes 100.0%" in notes["1.3"]  # 611,192 of 611,200 linked (rounded)
    assert notes["13"] == "5 steps, from 430 treated to 400"  # released (rounded) counts
    assert "Rosenbaum bounds for 1 outcome(s); 2 negative control(s)" in notes["17"]
    assert all(notes[i] for i in notes), [i for i in notes if not notes[i]]
    html = render_html(ctx)
    for s in ctx["strobe"] + ctx["record"]:
        assert f'id="{s["section"]}"' in html


def test_written_outputs_release_sensitivity_safely(tmp_path: Path) -> None:
    out = write_outputs(_rich(), tmp_path / "run", regime=REGIME, manifest=FAKE_MANIFEST)
    doc = json.loads((out / "results.json").read_text())
    schema = json.loads((ROOT / "docs" / "results.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    rb = doc["diagnostics"]["sensitivity"]["rosenbaum"]["emergency_admissions"]
    assert rb["n_pairs"] == 35 and rb["n_nonzero"] == 30  # 33 and 32 rounded to 5
    ev = doc["sensitivity"]["evalues"][0]
    x = 1 / (0.75 * 1.02)  # matched RR of the fixture, inverted (protective)
    assert ev["outcome"] == "emergency_admissions"
    assert ev["point"] == pytest.approx(x + math.sqrt(x * (x - 1)), rel=1e-9)
    assert [n["excludes_null"] for n in doc["sensitivity"]["negative_controls"]] == [False, True]
    assert check_outputs(export_release(out, tmp_path / "release")) == []


def test_summary_uses_own_design_primary_estimates_with_evalue_sentence() -> None:
    other = EffectEstimate(design="difference_in_differences", estimator="did",
                           outcome="emergency_admissions", estimand="ATT", scale="rate_ratio",
                           estimate=1.3, std_error=0.1, ci_lower=1.1, ci_upper=1.5,
                           p_value=0.01, n_treated=10, n_control=10)
    r = _rich()
    r = dataclasses.replace(r, estimates=r.estimates + (other,))
    ctx = _context(r)
    outcomes = [s["outcome"] for s in ctx["summaries"]]
    # one summary per outcome: not the alternative specification, not the other design
    assert outcomes.count("emergency_admissions") == 1
    first = ctx["summaries"][0]
    assert first["headline"].startswith("an estimated 24% fewer emergency admissions")
    # E-value 1.94 (VanderWeele & Ding eq. for RR 0.765): 'moderate' band [1.5, 2.5)
    assert first["evalue"] == (
        "To explain this away, a difference between the groups that the data do not record "
        "would need to be moderate: associated with both receiving the intervention and with "
        "emergency admissions by a factor of about 1.9 each (E-value; 1.4 to make the effect "
        "uncertain).")
    elective = next(s for s in ctx["summaries"] if s["outcome"] == "elective_admissions")
    assert elective["evalue"] is None  # CI includes no effect: nothing to explain away
    assert ctx["triangulation"] is not None


def test_rich_report_internal_links_resolve(tmp_path: Path) -> None:
    import re

    from report_fixtures import rich_result

    out = write_outputs(rich_result(), tmp_path / "rich", regime=REGIME, manifest=FAKE_MANIFEST)
    html = (out / "report.html").read_text()
    ids = set(re.findall(r'id="([^"]+)"', html))
    links = set(re.findall(r'href="#([^"]+)"', html))
    assert {"triangulation", "sensitivity", "subgroups", "checklists"} <= ids
    assert links and links <= ids, links - ids
    assert check_outputs(export_release(out, tmp_path / "release")) == []


def test_generic_methods_state_the_design_assumption() -> None:
    ctx = _context(dataclasses.replace(fake_result(), design="regression_discontinuity"))
    html, md = render_html(ctx), render_markdown(ctx)
    for text in (html, md):
        assert "Design: regression discontinuity; estimand ATT." in text
        assert "the density test probes sorting." in text
    assert _context(fake_result())["design_assumption"] is None  # own template


def test_alternatives_compare_with_the_same_designs_primary() -> None:
    from report_fixtures import rich_result

    ctx = _context(rich_result())
    alt = ctx["sensitivity"]["alternatives"]
    # primary = the matched-cohort estimate 0.765 (0.64 to 0.91), not the DiD one (0.82)
    assert alt == [{"outcome": "emergency admissions", "specification": "caliper 0.1 SD",
                    "estimate": "0.80", "ci": "0.69 to 0.93", "primary": "0.77",
                    "primary_ci": "0.64 to 0.91"}]
    names = [v["outcome"] for v in ctx["sensitivity"]["evalues"]]
    assert "emergency admissions (difference in differences)" in names


def test_design_diagnostics_read_the_pipelines_nested_records() -> None:
    # shapes written by impacteval.pipeline.designs (RDD density test, IV first stage)
    rows = design_diagnostics({"density_test": {"statistic": 2.4, "p_value": 0.016},
                               "first_stage": {"f_statistic": 30.0, "weak_instrument_f": 28.5},
                               "pretrend_wald": {"p_value": 0.44}}, 0.1)
    got = {r["key"]: (r["value"], r["ok"]) for r in rows}
    assert got == {"pretrend_p_value": ("0.44", True), "first_stage_f": ("28.5", True),
                   "density_test_p_value": ("0.016", False)}
