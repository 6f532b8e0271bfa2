"""The rate-ratio model converges with covariates far from zero (a calendar year) and their
interactions with treatment, and agrees with statsmodels' GLM on the same model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from impacteval.estimators.regression import MatchedRateRatio


def test_calendar_year_covariate_converges_and_matches_statsmodels() -> None:
    rng = np.random.default_rng(3)
    n = 600
    year = rng.integers(2014, 2017, n).astype(float)
    age = rng.normal(85, 6, n)
    t = rng.integers(0, 2, n)
    py = rng.uniform(0.2, 2.0, n)
    mu = py * np.exp(-0.5 + 0.03 * (age - 85) + 0.1 * (year - 2015) + np.log(0.75) * t)
    df = pd.DataFrame({"y": rng.poisson(mu), "t": t, "py": py, "age": age, "year": year})
    est = MatchedRateRatio(interactions=False).fit(
        df, outcome="y", treatment="t", exposure="py", covariates=["age", "year"])
    X = sm.add_constant(df[["t", "age", "year"]].astype(float))
    ref = sm.GLM(df["y"], X, family=sm.families.Poisson(), offset=np.log(df["py"])).fit()
    # without interactions the marginal rate ratio equals exp(beta_t)
    assert est.estimate == pytest.approx(np.exp(ref.params["t"]), rel=1e-8)
    inter = MatchedRateRatio(interactions=True).fit(
        df, outcome="y", treatment="t", exposure="py", covariates=["age", "year"])
    assert 0.5 < inter.estimate < 1.1
