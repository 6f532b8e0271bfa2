"""Triangulation: table, statements and forest plot when several designs answer one question."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
from report_fixtures import FAKE_MANIFEST, fake_result

from impacteval.report import REGIMES, write_outputs
from impacteval.report.tables import estimate_rows
from impacteval.report.triangulation import (
    triangulation_forest,
    triangulation_statements,
    triangulation_table,
)
from impacteval.results import EffectEstimate


def _est(design: str, outcome: str, est: float, lo: float, hi: float,
         scale: str = "rate_ratio") -> EffectEstimate:
    return EffectEstimate(design=design, estimator=f"{design}_est", outcome=outcome,
                          estimand="ATT", scale=scale, estimate=est, std_error=0.1,
                          ci_lower=lo, ci_upper=hi, p_value=0.01, n_treated=400, n_control=400)


def _with_designs(*extra: EffectEstimate):  # type: ignore[no-untyped-def]
    r = fake_result()
    return dataclasses.replace(r, estimates=r.estimates + extra)


def test_no_triangulation_with_one_design() -> None:
    assert triangulation_table(estimate_rows(fake_result().estimates)) is None


def test_table_keeps_primary_estimates_of_shared_outcomes() -> None:
    r = _with_designs(_est("difference_in_differences", "emergency_admissions", 0.8, 0.7, 0.92),
                      _est("interrupted_time_series", "emergency_admissions", 0.85, 0.74, 0.98),
                      _est("interrupted_time_series", "deaths", 1.0, 0.8, 1.2))
    t = triangulation_table(estimate_rows(r.estimates))
    assert t is not None
    assert list(t["design"]) == ["matched_cohort", "difference_in_differences",
                                 "interrupted_time_series"]
    assert set(t["outcome"]) == {"emergency_admissions"}  # deaths: one design only
    assert t.at[0, "estimate"] == 0.75 * 1.02  # the matched (not naive) estimate
    s = triangulation_statements(t)
    assert len(s) == 1 and s[0]["statement"].startswith("all designs point the same way and")


def test_statements_disagreement_and_scales() -> None:
    t = pd.DataFrame({
        "outcome": ["a", "a", "b", "b"], "design": ["x", "y", "x", "y"],
        "estimator": ["e"] * 4, "estimand": ["ATT"] * 4,
        "scale": ["rate_ratio", "rate_ratio", "rate_ratio", "difference"],
        "estimate": [0.8, 1.2, 0.8, -3.0], "ci_lower": [0.7, 1.05, 0.6, -9.0],
        "ci_upper": [0.9, 1.4, 1.05, 2.0], "p_value": [0.01] * 4})
    s = {x["outcome"]: x["statement"] for x in triangulation_statements(t)}
    assert s["a"].startswith("the designs disagree")
    assert "uncertain size" in s["b"] and "different scales" in s["b"]
    fig = triangulation_forest(t)
    assert len(fig.axes[0].get_yticklabels()) == 4


def test_written_report_has_triangulation_section_and_data(tmp_path: Path) -> None:
    r = _with_designs(_est("difference_in_differences", "emergency_admissions", 1.1, 0.9, 1.3))
    out = write_outputs(r, tmp_path / "ev", regime=REGIMES["nhse_sde"], manifest=FAKE_MANIFEST)
    html = (out / "report.html").read_text()
    assert 'id="triangulation"' in html and "Forest plot across designs" in html
    assert "disagree" in html
    data = pd.read_csv(out / "figures" / "triangulation.csv")
    assert list(data["design"]) == ["matched_cohort", "difference_in_differences"]
    assert (out / "figures" / "triangulation.png").read_bytes()[:4] == b"\x89PNG"
    md = (out / "report.md").read_text()
    assert "## Triangulation across designs" in md
