"""MatchedMeanDifference and MatchedRiskContrast against R's lm + sandwich::vcovCL on MatchIt's matched `lalonde`.

Source of every expected number: tests/reference/data/matchit_lalonde_outcome.json, written by
tests/reference/scripts/matchit_lalonde_outcome.R (MatchIt 4.5.1 with upstream's abs() fix,
sandwich 3.0.2, R 4.2.2). The matched sample (ids, subclass, weights) is taken from the JSON,
so this tests the outcome analysis alone. The g-computation contrast in R is built from
model.matrix with treat set to 1 and 0 for the matched treated units.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from impacteval.estimators.regression import MatchedMeanDifference, MatchedRiskContrast

DATA = Path(__file__).parent / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
RTOL = 1e-6


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "matchit_lalonde_outcome.json").read_text())


@pytest.fixture(scope="module")
def matched(ref: dict) -> pd.DataFrame:
    d = pd.read_csv(DATA / "lalonde_matchit.csv").set_index("id")
    md = d.loc[ref["ids"]].reset_index()
    return md.assign(subclass=ref["subclass"], weights=ref["weights"])


@pytest.mark.parametrize(
    ("case", "covariance", "adjusted"),
    [
        ("plain_hc1", "HC1", False),
        ("plain_hc0", "HC0", False),
        ("adjusted_hc1", "HC1", True),
        ("adjusted_hc0", "HC0", True),
    ],
)
def test_equals_lm_vcovcl(ref: dict, matched: pd.DataFrame, case, covariance, adjusted) -> None:
    before = matched.copy()
    est = MatchedMeanDifference(covariance=covariance).fit(
        matched,
        outcome="re78",
        treatment="treat",
        weights="weights",
        clusters=["subclass"],
        covariates=COVARIATES if adjusted else (),
    )
    assert est.estimate == pytest.approx(ref[case]["estimate"], rel=RTOL)
    assert est.std_error == pytest.approx(ref[case]["se"], rel=RTOL)
    assert est.scale == "difference" and est.estimand == "ATT"
    assert est.details["n_clusters"] == [185]
    pd.testing.assert_frame_equal(matched, before)


@pytest.mark.parametrize(("case", "adjusted"), [("risk_plain", False), ("risk_adjusted", True)])
def test_risk_contrasts_equal_glm_gcomputation(ref: dict, matched: pd.DataFrame, case, adjusted):
    """Binary outcome any earnings in 1978 (re78 > 0); R: glm + vcovCL + delta method."""
    data = matched.assign(employed=(matched["re78"] > 0).astype(int))
    roles = {
        "outcome": "employed",
        "treatment": "treat",
        "weights": "weights",
        "clusters": ["subclass"],
        "covariates": [c for c in COVARIATES if c != "race"] if adjusted else (),
    }
    rd = MatchedRiskContrast().fit(data, **roles)
    rr = MatchedRiskContrast(contrast="risk_ratio").fit(data, **roles)
    expected = ref[case]
    assert rd.estimate == pytest.approx(expected["rd"], rel=RTOL)
    assert rd.std_error == pytest.approx(expected["rd_se"], rel=RTOL)
    assert rr.estimate == pytest.approx(expected["rr"], rel=RTOL)
    assert rr.std_error == pytest.approx(expected["log_rr_se"], rel=RTOL)
    assert rd.details["risk_control"] == pytest.approx(expected["p0"], rel=RTOL)
    assert rr.scale == "risk_ratio" and rd.scale == "difference"
