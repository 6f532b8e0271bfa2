"""Logistic propensity with splines and interactions against R's glm on MatchIt's lalonde.

Expected numbers: tests/reference/data/propensity_splines_lalonde.json, written by
tests/reference/scripts/propensity_splines_lalonde.R (base R glm and splines::ns; the data
and its licence: tests/reference/data/README_lalonde.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impacteval.matching.propensity import PropensityModel, TermExpansion

DATA = Path(__file__).parent / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "propensity_splines_lalonde.json").read_text())


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return pd.read_csv(DATA / "lalonde_matchit.csv")


def test_spline_propensity_matches_glm_with_natural_splines(ref: dict, lalonde: pd.DataFrame
                                                            ) -> None:
    fit = PropensityModel(spline_df=3).fit(lalonde[COVARIATES], lalonde["treat"].to_numpy())
    assert fit.expansion is not None
    # re74 and re75 have too many zeros for distinct knots: linear, as in the R formula
    assert set(fit.expansion.knots) == {"age", "educ"}
    np.testing.assert_allclose(fit.propensity, ref["spline_propensity"], rtol=1e-7)


def test_interaction_propensity_matches_glm_with_all_pairs(ref: dict, lalonde: pd.DataFrame
                                                           ) -> None:
    fit = PropensityModel(interactions=True).fit(lalonde[COVARIATES],
                                                 lalonde["treat"].to_numpy())
    assert len(fit.coef) == ref["interaction_rank"]
    np.testing.assert_allclose(fit.propensity, ref["interaction_propensity"], rtol=1e-7)


def test_expansion_reapplies_to_new_rows(lalonde: pd.DataFrame) -> None:
    X = lalonde[COVARIATES]
    fit = PropensityModel(spline_df=3, interactions=True).fit(X, lalonde["treat"].to_numpy())
    np.testing.assert_allclose(fit.predict(X.iloc[:20]), fit.propensity[:20], rtol=1e-12)
    exp = TermExpansion.fit(X, spline_df=3, interactions=False)
    assert [c for c in exp.transform(X).columns if "'" in c] == ["age'1", "age'2", "educ'1",
                                                                 "educ'2"]
