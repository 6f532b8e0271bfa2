"""Matching and balance against R's MatchIt 4.5.1 on MatchIt's `lalonde` data.

Source of every expected number: tests/reference/data/matchit_lalonde.json, written by
tests/reference/scripts/matchit_lalonde.R (MatchIt 4.5.1 built with upstream's abs() fix, see
tests/reference/scripts/build_matchit_fixed.sh; sandwich 3.0.2, R 4.2.2 from Debian).
Data: tests/reference/data/lalonde_matchit.csv (see tests/reference/data/README_lalonde.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impacteval.inference.cluster import sandwich_cov
from impacteval.matching import PropensityModel, balance_table, nearest_neighbour_match

DATA = Path(__file__).parent / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
RTOL = 1e-6


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "matchit_lalonde.json").read_text())


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return pd.read_csv(DATA / "lalonde_matchit.csv")


@pytest.fixture(scope="module")
def fitted(lalonde: pd.DataFrame):
    return PropensityModel().fit(lalonde[COVARIATES], lalonde["treat"].to_numpy())


def _r_name(name: str) -> str:
    return {"intercept": "(Intercept)"}.get(name, name.replace("[", "").replace("]", ""))


def _pairs_as_ids(result, ids: np.ndarray) -> set[tuple[str, str]]:
    p = result.pairs
    return set(zip(ids[p["treated_index"]], ids[p["control_index"]], strict=True))


def test_logit_coefficients_match_glm(ref: dict, fitted) -> None:
    expected = ref["default"]["coef"]
    got = {_r_name(k): v for k, v in fitted.coef.items()}
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=RTOL), name


def test_propensity_matches_matchit_distance(ref: dict, fitted) -> None:
    np.testing.assert_allclose(
        fitted.propensity, np.array(ref["default"]["distance"], dtype=float), rtol=RTOL
    )
    np.testing.assert_allclose(
        fitted.logit, np.array(ref["logit"]["distance"], dtype=float), rtol=RTOL
    )


CASES = [
    ("default", dict(), "propensity"),
    ("logit", dict(), "logit"),
    ("smallest", dict(order="smallest"), "propensity"),
    ("data_order", dict(order="data"), "propensity"),
    ("ratio2", dict(ratio=2), "propensity"),
    ("replace", dict(replace=True), "propensity"),
    ("caliper", dict(caliper=0.05), "propensity"),
    ("logit_caliper_ratio2", dict(caliper=0.2, ratio=2), "logit"),
    ("exact_married", dict(exact="married"), "propensity"),
    ("exact_race_caliper", dict(exact="race", caliper=0.1), "propensity"),
]
OPTIONS = {c[0]: c[1] for c in CASES}


def _options(lalonde: pd.DataFrame, options: dict) -> dict:
    """Exact-matching options name a column; pass its values."""
    if "exact" in options:
        return {**options, "exact": lalonde[options["exact"]].to_numpy()}
    return options


@pytest.mark.parametrize(("case", "options", "scale"), CASES, ids=[c[0] for c in CASES])
def test_pairs_and_weights_identical_on_r_distance(
    ref: dict, lalonde: pd.DataFrame, case: str, options: dict, scale: str
) -> None:
    """The matching algorithm alone: same distance in, same pairs and weights out."""
    r = ref[case]
    ids = lalonde["id"].to_numpy()
    result = nearest_neighbour_match(
        np.array(r["distance"], dtype=float),
        lalonde["treat"].to_numpy(),
        **_options(lalonde, options),
    )
    assert _pairs_as_ids(result, ids) == {tuple(p) for p in r["pairs"]}
    np.testing.assert_allclose(result.weights, r["weights"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("case", "options", "scale"), CASES, ids=[c[0] for c in CASES])
def test_pairs_identical_end_to_end(
    ref: dict, lalonde: pd.DataFrame, fitted, case: str, options: dict, scale: str
) -> None:
    """Our propensity model + our matcher reproduce MatchIt's matched pairs exactly."""
    distance = fitted.propensity if scale == "propensity" else fitted.logit
    result = nearest_neighbour_match(
        distance, lalonde["treat"].to_numpy(), **_options(lalonde, options)
    )
    assert _pairs_as_ids(result, lalonde["id"].to_numpy()) == {tuple(p) for p in ref[case]["pairs"]}


def _balance_frame(lalonde: pd.DataFrame, fitted) -> pd.DataFrame:
    X = lalonde[COVARIATES].copy()
    X.insert(0, "distance", fitted.propensity)
    return X


def _compare_balance(got: pd.DataFrame, expected: dict) -> None:
    names = [_r_name(c) for c in got["covariate"]]
    assert names == expected["covariate"]
    for col in ("mean_treated", "mean_control", "smd", "variance_ratio", "ecdf_mean", "ecdf_max"):
        exp = np.array([np.nan if v is None else v for v in expected[col]], dtype=float)
        np.testing.assert_allclose(
            got[col].to_numpy(dtype=float), exp, rtol=RTOL, atol=1e-12, err_msg=col
        )
    np.testing.assert_array_equal(got["ks"].to_numpy(), got["ecdf_max"].to_numpy())


@pytest.mark.parametrize("case", ["default", "ratio2", "replace", "caliper"])
def test_balance_before_and_after_match_summary(
    ref: dict, lalonde: pd.DataFrame, fitted, case: str
) -> None:
    X = _balance_frame(lalonde, fitted)
    t = lalonde["treat"].to_numpy()
    _compare_balance(balance_table(X, t), ref[case]["balance"]["all"])
    _compare_balance(
        balance_table(X, t, np.array(ref[case]["weights"])), ref[case]["balance"]["matched"]
    )


def test_balance_ate_denominator_is_pooled(ref: dict, lalonde: pd.DataFrame, fitted) -> None:
    X = _balance_frame(lalonde, fitted)
    got = balance_table(X, lalonde["treat"].to_numpy(), estimand="ATE")
    expected = ref["ate_unmatched"]["balance"]["all"]
    np.testing.assert_allclose(got["smd"].to_numpy(), expected["smd"], rtol=RTOL)


@pytest.mark.parametrize("case", ["default", "ratio2", "replace", "caliper"])
def test_att_from_weighted_regression(ref: dict, lalonde: pd.DataFrame, fitted, case: str) -> None:
    result = nearest_neighbour_match(
        fitted.propensity, lalonde["treat"].to_numpy(), **OPTIONS[case]
    )
    w = result.weights
    y = lalonde["re78"].to_numpy()
    t = lalonde["treat"].to_numpy() == 1
    att = np.average(y[t], weights=w[t]) - np.average(y[~t], weights=w[~t])
    assert att == pytest.approx(ref[case]["att"], rel=RTOL)


def test_att_cluster_se_by_subclass(ref: dict, lalonde: pd.DataFrame, fitted) -> None:
    """lm(re78 ~ treat, weights) + sandwich::vcovCL(cluster = ~subclass) (HC1 for lm)."""
    result = nearest_neighbour_match(fitted.propensity, lalonde["treat"].to_numpy())
    md = result.match_data(lalonde)
    X = np.column_stack([np.ones(len(md)), md["treat"].to_numpy(float)])
    w = md["weights"].to_numpy()
    y = md["re78"].to_numpy()
    XtW = X.T * w
    beta = np.linalg.solve(XtW @ X, XtW @ y)
    scores = X * (w * (y - X @ beta))[:, None]
    cov, n_clusters = sandwich_cov(np.linalg.inv(XtW @ X), scores, md[["subclass"]], kind="HC1")
    assert n_clusters == [int(result.n_matched_treated)]
    assert np.sqrt(cov[1, 1]) == pytest.approx(ref["default"]["att_se_cluster_subclass"], rel=RTOL)
