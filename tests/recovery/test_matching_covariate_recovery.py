"""Recovery of a known ATT by Mahalanobis and genetic matching (slow).

Simulated world (numbers chosen here; the truth is by construction): two normal and one
binary confounder raise both the chance of treatment (about 25% treated) and the outcome;
the treatment adds TAU = 2 to every unit's outcome, so the ATT is 2. The naive difference in
means is biased upwards by about 1.5.

* Mahalanobis 1:1 nearest-neighbour matching without replacement, then regression of the
  outcome on treatment and the covariates in the matched sample with standard errors
  clustered by matched pair (MatchIt's recommended analysis; :mod:`impacteval.inference.cluster`).
* Genetic matching (with replacement) and the Abadie-Imbens standard error
  (:mod:`impacteval.inference.abadie_imbens`), no bias adjustment.

Coverage of the nominal 95% interval must lie within 3.5 Monte Carlo standard errors
(``sqrt(0.95 * 0.05 / reps)``) of 0.95.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.inference.abadie_imbens import abadie_imbens_att, weighted_pairs
from impacteval.inference.cluster import sandwich_cov
from impacteval.matching.genetic import GeneticMatcher
from impacteval.matching.multivariate import covariate_match

TAU = 2.0
Z95 = 1.959963984540054


def simulate(rng: np.random.Generator, n: int = 800) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    x3 = rng.integers(0, 2, n)
    eta = -1.6 + 0.8 * x1 + 0.5 * x2 + 0.4 * x3
    t = rng.random(n) < 1 / (1 + np.exp(-eta))
    y = 1 + TAU * t + 1.5 * x1 + 1.0 * x2 + 0.5 * x3 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3}), t, y


def _coverage_band(reps: int) -> tuple[float, float]:
    mc_se = np.sqrt(0.95 * 0.05 / reps)
    return 0.95 - 3.5 * mc_se, 0.95 + 3.5 * mc_se


@pytest.mark.slow
def test_mahalanobis_matching_regression_ci_covers_att() -> None:
    rng = np.random.default_rng(20261130)
    reps = 200
    est, covered, naive = [], 0, []
    for _ in range(reps):
        X, t, y = simulate(rng)
        naive.append(y[t].mean() - y[~t].mean())
        m = covariate_match(X, t)
        keep = np.flatnonzero(m.matched)
        D = np.column_stack([np.ones(keep.size), t[keep], X.to_numpy(float)[keep]])
        b, *_ = np.linalg.lstsq(D, y[keep], rcond=None)
        scores = D * (y[keep] - D @ b)[:, None]
        V, _ = sandwich_cov(np.linalg.inv(D.T @ D), scores, m.subclass()[keep].reshape(-1, 1))
        est.append(b[1])
        covered += abs(b[1] - TAU) <= Z95 * np.sqrt(V[1, 1])
    assert np.mean(naive) - TAU > 1.0  # the naive comparison is badly biased
    assert abs(np.mean(est) - TAU) < 3.5 * np.std(est) / np.sqrt(reps)
    lo, hi = _coverage_band(reps)
    assert lo <= covered / reps <= hi


@pytest.mark.slow
def test_genetic_matching_abadie_imbens_ci_covers_att() -> None:
    rng = np.random.default_rng(7)
    reps = 150
    est, covered, naive = [], 0, []
    for r in range(reps):
        X, t, y = simulate(rng)
        naive.append(y[t].mean() - y[~t].mean())
        g = GeneticMatcher(pop_size=8, max_generations=2, seed=r).fit(X, t)
        a = abadie_imbens_att(y, weighted_pairs(g.match))
        est.append(a.att)
        covered += abs(a.att - TAU) <= Z95 * a.se
    bias_naive = np.mean(naive) - TAU
    assert bias_naive > 1.0
    # matching without bias adjustment keeps a small finite-sample bias: at most 10% of naive
    assert abs(np.mean(est) - TAU) < 0.1 * bias_naive
    lo, hi = _coverage_band(reps)
    assert lo <= covered / reps <= hi
