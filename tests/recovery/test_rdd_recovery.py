"""Recovery: simulated sharp and fuzzy RD with a known jump (bias and robust CI coverage).

Data-generating process: the "Lee (2008)" model of Calonico, Cattaneo and Titiunik (2014,
Econometrica, section 5, Model 1): x = 2 Beta(2, 4) - 1, fifth-order polynomials fitted to
the US House data on each side, noise sd 0.1295, true jump 0.52 - 0.48 = 0.04. CCT report
empirical coverage of the robust bias-corrected 95% interval close to 95% for this model.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.rdd import RegressionDiscontinuity

TRUE_JUMP = 0.04  # CCT (2014) Model 1: 0.52 - 0.48
N = 500  # sample size of the CCT simulations
REPS = 300
SEED = 20261130


def lee_model(rng: np.random.Generator, n: int) -> pd.DataFrame:
    x = 2 * rng.beta(2, 4, size=n) - 1
    left = 0.48 + 1.27 * x + 7.18 * x**2 + 20.21 * x**3 + 21.54 * x**4 + 7.33 * x**5
    right = 0.52 + 0.84 * x - 3.00 * x**2 + 7.99 * x**3 - 9.01 * x**4 + 3.56 * x**5
    y = np.where(x < 0, left, right) + rng.normal(0, 0.1295, size=n)
    return pd.DataFrame({"x": x, "y": y})


@pytest.mark.slow
def test_sharp_rd_bias_and_coverage() -> None:
    rng = np.random.default_rng(SEED)
    est = RegressionDiscontinuity()
    conventional, bias_corrected, covered = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(REPS):
            res = est.fit(lee_model(rng, N), outcome="y", running="x")
            conventional.append(res.estimate)
            bias_corrected.append(res.details["estimate_bias_corrected"])
            covered.append(res.ci_lower <= TRUE_JUMP <= res.ci_upper)
    conventional_arr = np.asarray(conventional)
    sd = conventional_arr.std(ddof=1)
    # This model is strongly curved near the cutoff: at the MSE-optimal bandwidth the
    # conventional estimate keeps a bias of a fraction of its s.d. (measured here: 0.022,
    # 0.38 s.d.) and the bias-corrected one less (0.016); what the robust interval promises
    # is coverage, which CCT report as about 93-95% for n = 500 (measured here: 93.7%).
    assert abs(np.mean(bias_corrected) - TRUE_JUMP) < 0.3 * sd
    assert abs(np.mean(bias_corrected) - TRUE_JUMP) < abs(conventional_arr.mean() - TRUE_JUMP)
    coverage = float(np.mean(covered))
    # Monte Carlo s.e. of a 95% coverage over 300 replications is 0.0126.
    assert 0.90 <= coverage <= 0.99


@pytest.mark.slow
def test_sharp_rd_smooth_model_unbiased() -> None:
    """Gently curved outcome (quadratic), true jump 0.3: bias near 0, coverage near 95%."""
    rng = np.random.default_rng(SEED + 2)
    est = RegressionDiscontinuity()
    estimates, covered = [], []
    for _ in range(200):
        x = rng.uniform(-1, 1, 1000)
        y = 0.5 + 0.6 * x + 0.3 * x**2 + 0.3 * (x >= 0) + rng.normal(0, 0.5, 1000)
        res = est.fit(pd.DataFrame({"x": x, "y": y}), outcome="y", running="x")
        estimates.append(res.estimate)
        covered.append(res.ci_lower <= 0.3 <= res.ci_upper)
    arr = np.asarray(estimates)
    mc_se = arr.std(ddof=1) / np.sqrt(arr.size)
    assert abs(arr.mean() - 0.3) < 3 * mc_se
    # Monte Carlo s.e. of a 95% coverage over 200 replications is 0.0154.
    assert 0.90 <= np.mean(covered) <= 0.99


@pytest.mark.slow
def test_fuzzy_rd_recovers_complier_effect() -> None:
    rng = np.random.default_rng(SEED + 1)
    est = RegressionDiscontinuity(fuzzy=True)
    estimates, covered = [], []
    for _ in range(100):
        n = 2000
        x = rng.uniform(-1, 1, n)
        take = (rng.uniform(size=n) < np.where(x >= 0, 0.75, 0.25)).astype(float)
        y = 1 + 0.8 * x - 0.6 * x**2 + 1.5 * take + rng.normal(0, 1, n)
        res = est.fit(pd.DataFrame({"x": x, "t": take, "y": y}), outcome="y", running="x",
                      treatment="t")
        estimates.append(res.estimate)
        covered.append(res.ci_lower <= 1.5 <= res.ci_upper)
    arr = np.asarray(estimates)
    assert abs(np.median(arr) - 1.5) < 0.25 * arr.std(ddof=1)
    assert 0.88 <= np.mean(covered) <= 1.0
