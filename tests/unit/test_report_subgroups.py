"""Subgroup/equity tables: multiplicity adjustment, disclosure control per subgroup, gap wording."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from report_fixtures import FAKE_MANIFEST, fake_result
from statsmodels.stats.multitest import multipletests

from impacteval.exceptions import SchemaError
from impacteval.report import REGIMES, check_outputs, export_release, write_outputs
from impacteval.report.subgroups import adjust_pvalues, gap_statement, release_subgroups

REGIME = REGIMES["nhse_sde"]
ROOT = Path(__file__).resolve().parents[2]


def _level(level: str, n: int, ev_t: int, ev_c: int, py: float, est: float) -> dict:
    return {"level": level, "n_treated": n, "n_control": n, "events_treated": ev_t,
            "events_control": ev_c, "person_years_treated": py, "person_years_control": py,
            "estimate": est, "ci_lower": est * 0.8, "ci_upper": est * 1.25}


def imd_record(p: float = 0.004) -> dict:
    # quintile 1 most deprived: the comparison-arm gap 1-vs-5 is (300-100)/200*1000 = 1000
    # per 1,000 PY; the treated-arm gap is (180-95)/200*1000 = 425, smaller -> narrowed
    return {
        "variable": "imd_quintile", "label": "IMD quintile", "outcome": "emergency_admissions",
        "scale": "rate_ratio", "interaction_p": p, "gap_levels": ["1", "5"],
        "levels": [_level("1", 120, 180, 300, 200.0, 0.6), _level("2", 90, 120, 150, 150.0, 0.8),
                   _level("3", 80, 100, 110, 140.0, 0.9), _level("4", 100, 110, 120, 160.0, 0.92),
                   _level("5", 100, 95, 100, 200.0, 0.95),
                   _level("unknown", 4, 3, 5, 6.0, 0.6)],
    }


def sex_record() -> dict:
    return {"variable": "sex", "outcome": "emergency_admissions", "scale": "rate_ratio",
            "interaction_p": 0.40,
            "levels": [_level("female", 300, 400, 500, 500.0, 0.8),
                       _level("male", 194, 208, 285, 356.0, 0.73)]}


def test_adjusted_pvalues_equal_statsmodels() -> None:
    p = [0.01, 0.04, 0.03, 0.20, np.nan, 0.002]
    holm, bh = adjust_pvalues(p)
    ok = ~np.isnan(p)
    exp_holm = multipletests(np.array(p)[ok], method="holm")[1]
    exp_bh = multipletests(np.array(p)[ok], method="fdr_bh")[1]
    np.testing.assert_allclose(holm[ok], exp_holm, rtol=1e-12)
    np.testing.assert_allclose(bh[ok], exp_bh, rtol=1e-12)
    assert np.isnan(holm[4]) and np.isnan(bh[4])


def test_release_suppresses_small_levels_and_protects_the_total() -> None:
    safe, log = release_subgroups([imd_record(), sex_record()], REGIME)
    imd = safe[safe["variable"] == "imd_quintile"].set_index("level")
    # 'unknown' has 4 treated (< 10): suppressed; the 'All' row would give it back (494 minus
    # the others), so a second cell of the same column is suppressed too
    label = REGIME.label
    for col in ("n_treated", "n_control", "events_treated", "events_control"):
        assert imd.at["unknown", col] == label
        assert (imd[col] == label).sum() >= 2, col
    assert "All" in imd.index
    actions = {e["action"] for e in log}
    assert {"primary_suppression", "secondary_suppression", "rounded"} <= actions
    # rates recomputed from released (rounded) events: 180 -> 180, 200 PY -> 900.0
    assert imd.at["1", "rate_treated"] == 900.0
    # Holm over the two interaction tests: 2 * 0.004 and max(0.008, 0.40)
    assert imd.at["1", "interaction_p_holm"] == pytest.approx(0.008)
    sex = safe[safe["variable"] == "sex"].set_index("level")
    assert sex.at["male", "interaction_p_holm"] == pytest.approx(0.40)
    assert sex.at["All", "n_treated"] == 495  # 494 rounded to 5


def test_gap_statements() -> None:
    narrowed = gap_statement(imd_record(), 0.008)
    assert narrowed is not None and "narrowed" in narrowed
    assert "between IMD quintile 1 and 5" in narrowed
    held = gap_statement(imd_record(), 0.30)
    assert held is not None and "held" in held
    rec = imd_record()
    rec["levels"][0] = _level("1", 120, 420, 300, 200.0, 1.4)  # treated gap 1625 > 1000
    widened = gap_statement(rec, 0.001)
    assert widened is not None and "widened" in widened
    assert gap_statement(sex_record(), 0.01) is None  # no gap_levels given


def test_bad_record_raises_schema_error() -> None:
    bad = {"variable": "sex", "outcome": "x", "levels": [{"level": "f", "n_treated": 3}]}
    with pytest.raises(SchemaError, match="lacks"):
        release_subgroups([bad], REGIME)


def test_written_report_shows_subgroups_and_passes_output_check(tmp_path: Path) -> None:
    r = fake_result()
    r = dataclasses.replace(r, diagnostics={**r.diagnostics,
                                            "subgroups": [imd_record(), sex_record()]})
    out = write_outputs(r, tmp_path / "ev", regime=REGIME, manifest=FAKE_MANIFEST)
    doc = json.loads((out / "results.json").read_text())
    jsonschema.Draft202012Validator(
        json.loads((ROOT / "docs" / "results.schema.json").read_text())).validate(doc)
    assert "subgroups" not in doc["diagnostics"]  # raw counts never released
    assert doc["sdc"]["count_fields"]["subgroups"] == [
        "n_treated", "n_control", "events_treated", "events_control"]
    assert len(doc["subgroups"]) == 7 + 3
    html = (out / "report.html").read_text()
    assert 'id="subgroups"' in html and "narrowed" in html
    assert (out / "tables" / "subgroups.csv").exists()
    release = export_release(out, tmp_path / "release")
    assert check_outputs(release) == []
    # the checker catches an unsafe subgroup cell slipped into the release
    csv = release / "tables" / "subgroups.csv"
    text = csv.read_text()
    assert ",<10," in text
    csv.write_text(text.replace(",<10,", ",4,", 1))
    problems = check_outputs(release)
    assert problems and all("subgroups.csv" in p for p in problems)


def test_strobe_notes_mention_subgroups() -> None:
    from impacteval.report.render import build_context
    from impacteval.report.tables import release_mapping, release_tables

    r = fake_result()
    r = dataclasses.replace(r, diagnostics={**r.diagnostics, "subgroups": [imd_record()]})
    tables = release_tables(r, REGIME)
    diagnostics, _ = release_mapping(
        {k: v for k, v in r.diagnostics.items() if k != "subgroups"}, REGIME)
    ctx = build_context(r, tables, REGIME, manifest=FAKE_MANIFEST, figures={},
                        diagnostics=diagnostics, sdc_log=[])
    notes = {s["item"]: s["note"] for s in ctx["strobe"]}
    assert "subgroup effects for 1 variable(s)" in notes["17"]
    assert ctx["subgroups"][0]["gap"].startswith("The gap between IMD quintile 1 and 5 narrowed")
