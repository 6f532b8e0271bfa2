"""Recovery: staggered adoption with heterogeneous, growing effects.

Data-generating process (every number below comes from it): 8 periods; cohorts first
treated in periods 3, 5 and 7 and a never-treated group; unit effects, period effects, a
covariate ``x`` whose effect on the trend (0.3 x per period) also raises the chance of early
adoption; effect of cohort g at event time e >= 0: ``(1 + e) * (1.5 if g == 3 else 1)``.
TWFE is biased here (already-treated cohorts serve as comparisons while their effects grow);
Callaway-Sant'Anna with ``x`` (DR) is not, and its analytic intervals cover at about 95 %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.did import CallawaySantAnna, TwoWayFixedEffects

T = 8
COHORTS = (3, 5, 7)


def _adoption_probabilities(x: np.ndarray) -> np.ndarray:
    """P(cohort 3, 5, 7, never | x): adoption depends on x (selection on a trend shifter)."""
    logits = np.column_stack([0.8 * x, 0.3 * x, -0.2 * x, np.zeros(x.size)])
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def _population_truth() -> float:
    """Population group aggregate: cohort shares P(G = g) by Monte Carlo over 2 million x."""
    share = _adoption_probabilities(np.random.default_rng(0).normal(size=2_000_000)).mean(axis=0)
    per_cohort = [np.mean([(1 + ev) * (1.5 if c == 3 else 1.0) for ev in range(T - c + 1)])
                  for c in COHORTS]
    return float(np.sum(share[:3] * per_cohort) / share[:3].sum())


TRUTH = _population_truth()


def _simulate(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    x = rng.normal(size=n)
    p = _adoption_probabilities(x)
    choice = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    g = np.array([*COHORTS, 0])[choice]
    t = np.arange(1, T + 1)
    e = t[None, :] - g[:, None]
    treated = (g[:, None] > 0) & (e >= 0)
    tau = np.where(treated, (1 + e) * np.where(g[:, None] == 3, 1.5, 1.0), 0.0)
    y = (rng.normal(size=n)[:, None] + 0.2 * t[None, :] + 0.3 * x[:, None] * t[None, :]
         + tau + rng.normal(size=(n, T)))
    frame = pd.DataFrame({
        "unit": np.repeat(np.arange(n), T), "period": np.tile(t, n), "y": y.ravel(),
        "cohort": np.repeat(g, T), "x": np.repeat(x, T),
        "D": treated.ravel().astype(int),
    })
    # the estimand is the population group aggregate (its SE includes the estimated shares)
    return frame, TRUTH


@pytest.mark.slow
def test_cs_unbiased_and_covers_where_twfe_is_biased() -> None:
    rng = np.random.default_rng(20261130)
    reps, n = 150, 400
    cs_err, covered, twfe_err = [], 0, []
    for rep in range(reps):
        data, truth = _simulate(n, rng)
        est = CallawaySantAnna(est_method="dr").fit(
            data, outcome="y", unit="unit", time="period", cohort="cohort", covariates=["x"])
        cs_err.append(est.estimate - truth)
        covered += est.ci_lower <= truth <= est.ci_upper
        if rep < 20:  # the TWFE bias is large: 20 replications show it (PanelOLS is slower)
            twfe = TwoWayFixedEffects().fit(data, outcome="y", treatment="D", unit="unit",
                                            time="period")
            twfe_err.append(twfe.estimate - truth)
    cs_err_a, twfe_err_a = np.array(cs_err), np.array(twfe_err)
    mc_se = cs_err_a.std(ddof=1) / np.sqrt(reps)
    # CS: mean error within 3 Monte Carlo SEs of zero
    assert abs(cs_err_a.mean()) < 3 * mc_se
    # coverage of nominal 95 %: binomial SE with 150 replications is 0.018; allow 3 SEs
    assert 0.95 - 0.055 <= covered / reps <= 0.95 + 0.045
    # TWFE: biased by far more than its Monte Carlo error (and than CS's)
    assert abs(twfe_err_a.mean()) > 10 * twfe_err_a.std(ddof=1) / np.sqrt(len(twfe_err_a))
    assert abs(twfe_err_a.mean()) > 5 * abs(cs_err_a.mean()) + 0.2


@pytest.mark.slow
def test_unconditional_cs_is_biased_when_trends_depend_on_x() -> None:
    # Same DGP: without x the parallel-trends assumption fails (x shifts trends and adoption);
    # the covariate-adjusted estimators remove the bias.
    rng = np.random.default_rng(7)
    data, truth = _simulate(6000, rng)
    kw = dict(outcome="y", unit="unit", time="period", cohort="cohort")
    plain = CallawaySantAnna(est_method="reg").fit(data, **kw)
    assert abs(plain.estimate - truth) > 4 * plain.std_error
    for method in ("reg", "ipw", "dr"):
        adj = CallawaySantAnna(est_method=method).fit(data, covariates=["x"], **kw)  # type: ignore[arg-type]
        assert abs(adj.estimate - truth) < 3.5 * adj.std_error
