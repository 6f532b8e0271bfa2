"""The matching: section's option checks and the matching stage's column checks (issue 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from impacteval.config.models import MatchingSpec
from impacteval.exceptions import ConfigError, DesignError
from impacteval.pipeline.matching_step import run_matching


@pytest.mark.parametrize(("options", "message"), [
    ({"method": "genetic", "replace": False}, "genetic matching is with replacement"),
    ({"method": "genetic", "caliper": 0.1}, "matching.caliper is not available"),
    ({"method": "genetic", "exact": ["sex"]}, "matching.exact is not available"),
    ({"method": "genetic", "distance": "mahalanobis"}, "remove matching.distance"),
    ({"distance": "mahalanobis", "distance_weights": {"age": 2}},
     "distance_weights needs distance: generalized_mahalanobis"),
    ({"distance": "generalized_mahalanobis", "distance_weights": {"age": -1}}, ">= 0"),
    ({"method": "optimal", "replace": True}, "without replacement"),
    ({"propensity": {"model": "gradient_boosting", "spline_df": 3}}, "logistic model only"),
    ({"propensity": {"model": "gradient_boosting", "interactions": True}},
     "logistic model only"),
    ({"calipers": {"age": -1}}, "calipers must be > 0"),
    ({"caliper": None, "caliper_scale": "raw"}, "caliper_scale: raw needs"),
    ({"ratio": 0}, "greater than or equal to 1"),
    ({"common_support": "trim"}, "common_support"),
])
def test_bad_options(options: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MatchingSpec(**options)


def test_genetic_defaults_to_replacement_without_caliper() -> None:
    spec = MatchingSpec(method="genetic")
    assert spec.replace and spec.caliper is None
    assert spec.distance == "generalized_mahalanobis"


def _frame(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.normal(80, 5, n), "sex": rng.integers(0, 2, n),
                       "ward": np.where(rng.random(n) < 0.5, "a", "b")})
    t = rng.random(n) < 1 / (1 + np.exp(-(df["age"] - 80) / 5))
    return df, t


@pytest.mark.parametrize(("options", "where"), [
    ({"exact": ["nosuch"]}, "matching.exact"),
    ({"calipers": {"nosuch": 1.0}}, "matching.calipers"),
    ({"calipers": {"ward": 1.0}}, "matching.calipers"),
    ({"distance": "generalized_mahalanobis", "distance_weights": {"ward": 1.0}},
     "matching.distance_weights"),
])
def test_bad_columns_name_the_key(options: dict, where: str) -> None:
    df, t = _frame()
    with pytest.raises(ConfigError) as info:
        run_matching(df, t, covariates=["age", "sex"], spec=MatchingSpec(**options), seed=1)
    assert info.value.where == where


def test_exact_stratum_labels_hold_within_pairs() -> None:
    df, t = _frame()
    for method in ("nearest", "optimal"):
        step = run_matching(df, t, covariates=["age", "sex"], seed=1,
                            spec=MatchingSpec(method=method, exact=["ward", "sex"]))
        p = step.match.pairs
        for col in ("ward", "sex"):
            a = step.frame[col].to_numpy()
            assert (a[p["treated_index"]] == a[p["control_index"]]).all()


def test_per_covariate_caliper_holds_with_a_propensity_distance() -> None:
    df, t = _frame()
    step = run_matching(df, t, covariates=["age", "sex"], seed=1,
                        spec=MatchingSpec(calipers={"age": 0.5}, caliper=None))
    p = step.match.pairs
    age = step.frame["age"].to_numpy()
    assert np.abs(age[p["treated_index"]] - age[p["control_index"]]).max() <= 0.5


def test_crump_trims_propensity_outside_the_band() -> None:
    df, t = _frame()
    step = run_matching(df, t, covariates=["age", "sex"], seed=1,
                        spec=MatchingSpec(common_support="crump", trim_alpha=0.3))
    e = np.asarray(step.fitted.propensity)
    assert e.min() >= 0.3 and e.max() <= 0.7 and len(step.frame) < len(df)


def test_no_unit_left_in_support_is_a_design_error() -> None:
    df, _ = _frame()
    rng = np.random.default_rng(2)
    t = rng.random(len(df)) < 1 / (1 + np.exp(-(df["age"].to_numpy() - 80)))
    with pytest.raises(DesignError, match="common support"):
        run_matching(df, t, covariates=["age", "sex"], seed=1,
                     spec=MatchingSpec(common_support="crump", trim_alpha=0.4999))
