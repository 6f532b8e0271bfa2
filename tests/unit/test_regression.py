"""Unit tests: MatchedRateRatio behaviour, errors and purity; cluster-robust covariance algebra."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators import ESTIMATORS, Estimator
from impacteval.estimators.regression import MatchedRateRatio
from impacteval.exceptions import ConfigError, EstimationError
from impacteval.inference.cluster import cluster_meat, sandwich_cov

ROLES = dict(outcome="y", treatment="t", exposure="py")


@pytest.fixture
def matched() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n_pairs = 150
    df = pd.DataFrame(
        {
            "pair": np.repeat(np.arange(n_pairs), 2),
            "t": np.tile([1, 0], n_pairs),
            "home": rng.choice([f"H{i}" for i in range(12)], 2 * n_pairs),
            "age": rng.normal(0, 1, 2 * n_pairs),
            "sex": rng.choice(["F", "M"], 2 * n_pairs),
            "py": rng.uniform(0.2, 2.0, 2 * n_pairs),
        }
    )
    df["y"] = rng.poisson(df["py"] * np.exp(-0.5 - 0.3 * df["t"] + 0.4 * df["age"]))
    df["w"] = 1.0
    return df


def test_registered_and_frozen() -> None:
    assert ESTIMATORS.get("matched_rate_ratio") is MatchedRateRatio
    est = MatchedRateRatio()
    assert isinstance(est, Estimator)
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.family = "negative_binomial"  # type: ignore[misc]
    with pytest.raises(TypeError):
        MatchedRateRatio("poisson")  # type: ignore[misc]  # keyword-only


def test_fit_is_pure(matched: pd.DataFrame) -> None:
    before = matched.copy()
    est = MatchedRateRatio(family="negative_binomial")
    a = est.fit(matched, clusters=["pair", "home"], covariates=["age", "sex"], weights="w", **ROLES)
    pd.testing.assert_frame_equal(matched, before)
    b = est.fit(matched, clusters=["pair", "home"], covariates=["age", "sex"], weights="w", **ROLES)
    assert a.to_dict() == b.to_dict()


def test_estimate_record(matched: pd.DataFrame) -> None:
    est = MatchedRateRatio(ci_level=0.9).fit(matched, clusters=["pair"], **ROLES)
    assert (est.scale, est.estimand, est.estimator, est.design) == (
        "rate_ratio",
        "ATT",
        "matched_rate_ratio",
        "matched_cohort",
    )
    assert est.n_treated == est.n_control == 150
    assert est.ci_lower < est.estimate < est.ci_upper
    assert est.ci_level == 0.9
    z90 = 1.6448536269514722  # qnorm(0.95)
    assert np.log(est.ci_upper) - np.log(est.estimate) == pytest.approx(z90 * est.std_error)
    d = est.details
    assert d["se_scale"] == "log" and d["family"] == "poisson" and d["cluster"] == ["pair"]
    assert d["n_events_treated"] == matched.loc[matched.t == 1, "y"].sum()
    json.dumps(est.to_dict())  # JSON-ready


def test_zero_weight_rows_are_dropped(matched: pd.DataFrame) -> None:
    w = matched.assign(w=np.where(matched["pair"] < 100, 1.0, 0.0))
    a = MatchedRateRatio().fit(w, clusters=["pair"], weights="w", **ROLES)
    b = MatchedRateRatio().fit(matched[matched["pair"] < 100], clusters=["pair"], **ROLES)
    assert a.estimate == pytest.approx(b.estimate, rel=1e-12)
    assert a.std_error == pytest.approx(b.std_error, rel=1e-12)
    assert a.n_treated == 100


def test_g_computation_without_interactions_is_exp_beta(matched: pd.DataFrame) -> None:
    est = MatchedRateRatio(interactions=False).fit(
        matched, clusters=["pair"], covariates=["age", "sex"], **ROLES
    )
    assert est.details["marginal"] is True
    # log-linear model without interactions: the marginal ratio equals exp(b_treated)
    assert est.estimate == pytest.approx(np.exp(est.details["log_rate_ratio"]))
    inter = MatchedRateRatio().fit(matched, clusters=["pair"], covariates=["age", "sex"], **ROLES)
    assert inter.estimate == pytest.approx(est.estimate, rel=0.1)


def test_no_events_in_an_arm_is_an_estimation_error(matched: pd.DataFrame) -> None:
    df = matched.assign(y=np.where(matched["t"] == 0, 0, matched["y"]))
    with pytest.raises(EstimationError, match="no y events in the control arm") as info:
        MatchedRateRatio().fit(df, clusters=["pair"], **ROLES)
    assert info.value.where == "analysis.y" and info.value.hint


def test_zero_person_time(matched: pd.DataFrame) -> None:
    df = matched.assign(py=np.where(matched.index < 3, 0.0, matched["py"]))
    with pytest.raises(EstimationError, match="3 unit"):
        MatchedRateRatio().fit(df, **ROLES)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="py"), "not in the data"),
        (lambda d: d.assign(y=-d["y"] - 1), "negative"),
        (lambda d: d.assign(t=d["t"] * 2), "0/1"),
        (lambda d: d.assign(age=np.nan), "missing"),
        (lambda d: d.assign(pair=np.where(d.index == 0, np.nan, d["pair"])), "missing"),
    ],
)
def test_bad_inputs(matched: pd.DataFrame, change, message: str) -> None:
    with pytest.raises(EstimationError, match=message):
        MatchedRateRatio().fit(change(matched), clusters=["pair"], covariates=["age"], **ROLES)


def test_option_errors(matched: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="family"):
        MatchedRateRatio(family="binomial")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cluster_se"):
        MatchedRateRatio(cluster_se=False).fit(matched, clusters=["pair"], **ROLES)
    with pytest.raises(ConfigError, match="one or two"):
        MatchedRateRatio().fit(matched, clusters=["pair", "home", "sex"], **ROLES)


def test_constant_covariate_is_reported(matched: pd.DataFrame) -> None:
    with pytest.raises(EstimationError, match="singular"):
        MatchedRateRatio().fit(matched.assign(c=1.0), covariates=["c"], **ROLES)


# -- cluster-robust covariance algebra ----------------------------------------------------


def test_two_way_with_identical_dimensions_equals_one_way() -> None:
    rng = np.random.default_rng(1)
    u = rng.normal(size=(50, 3))
    g = rng.integers(0, 7, 50)
    one, _ = cluster_meat(u, pd.DataFrame({"a": g}))
    two, n = cluster_meat(u, pd.DataFrame({"a": g, "b": g}))
    np.testing.assert_allclose(two, one)
    assert n == [7, 7]


def test_unit_clusters_equal_hc0_with_n_over_n_minus_1() -> None:
    rng = np.random.default_rng(2)
    u = rng.normal(size=(40, 2))
    bread = np.linalg.inv(rng.normal(size=(2, 2)) + 5 * np.eye(2))
    cov, n = sandwich_cov(bread, u, None)
    expected = bread @ (u.T @ u) @ bread * 40 / 39
    np.testing.assert_allclose(cov, (expected + expected.T) / 2)
    assert n == [40]
    cov1, _ = sandwich_cov(bread, u, None, kind="HC1")
    np.testing.assert_allclose(cov1, cov * 39 / 38)
