"""The simulators' ``truth`` is what a correct estimator recovers on average.

check_estimator's recovery check and the contract cases rely on these truths, so each is
checked over independent seeds: the mean estimate is within 4 Monte Carlo standard errors
(sd / sqrt(R)) of the truth, with an estimator whose assumptions hold by construction.
R is small to keep the file fast; 4 MC SEs keeps the false-alarm rate below 1e-4 per check.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from impacteval.estimators.did import TwoWayFixedEffects
from impacteval.estimators.its import InterruptedTimeSeries
from impacteval.estimators.iv import InstrumentalVariables
from impacteval.estimators.rdd import RegressionDiscontinuity
from impacteval.estimators.regression import MatchedRateRatio
from impacteval.testing import (
    SimulatedStudy,
    simulate_instrumental_variables,
    simulate_matched_cohort,
    simulate_panel,
    simulate_regression_discontinuity,
    simulate_time_series,
)

R = 20


def _mean_within_mc_error(fit: Callable[[int], float], truth: float, log: bool = False) -> None:
    values = np.array([fit(seed) for seed in range(100, 100 + R)])
    if log:
        values, truth = np.log(values), math.log(truth)
    mc_se = values.std(ddof=1) / math.sqrt(R)
    assert abs(values.mean() - truth) <= 4 * mc_se, (values.mean(), truth, mc_se)


@pytest.mark.slow
def test_matched_cohort_truth_is_the_att_rate_ratio() -> None:
    def fit(seed: int) -> float:
        s: SimulatedStudy = simulate_matched_cohort(2000, rate_ratio=0.75, seed=seed)
        return MatchedRateRatio(interactions=False).fit(s.data, **s.roles).estimate

    _mean_within_mc_error(fit, 0.75, log=True)


@pytest.mark.slow
def test_regression_discontinuity_truth_is_the_jump() -> None:
    def fit(seed: int) -> float:
        s = simulate_regression_discontinuity(1500, effect=0.5, seed=seed)
        return RegressionDiscontinuity().fit(s.data, **s.roles).estimate

    _mean_within_mc_error(fit, 0.5)


@pytest.mark.slow
def test_instrumental_variables_truth_is_the_late() -> None:
    def fit(seed: int) -> float:
        s = simulate_instrumental_variables(2000, effect=2.0, seed=seed)
        return InstrumentalVariables().fit(s.data, **s.roles).estimate

    _mean_within_mc_error(fit, 2.0)


@pytest.mark.slow
def test_panel_truth_is_the_twfe_effect_with_one_adoption_date() -> None:
    def fit(seed: int) -> float:
        s = simulate_panel(30, 10, effect=5.0, adoption=(6,), seed=seed)
        return TwoWayFixedEffects().fit(s.data, **s.roles).estimate

    _mean_within_mc_error(fit, 5.0)


@pytest.mark.slow
def test_time_series_truth_is_the_level_change() -> None:
    def fit(seed: int) -> float:
        s = simulate_time_series(72, interruption=48, rate_ratio=0.8, seed=seed)
        model = InterruptedTimeSeries(family="poisson", errors="iid", slope_change=False,
                                      seasonality="fourier", period=12)
        return model.fit(s.data, **s.roles).estimate

    _mean_within_mc_error(fit, 0.8, log=True)
