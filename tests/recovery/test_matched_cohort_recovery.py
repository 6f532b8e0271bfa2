"""Recovery of a known rate ratio by propensity matching + MatchedRateRatio.

Simulated world (numbers chosen here, the truth is by construction): three confounders raise
both the chance of treatment and the event rate; events are over-dispersed counts over
person-time; the treatment multiplies every unit's rate by 0.75, so the ATT rate ratio is 0.75.
The naive (unmatched) comparison is biased upwards because treated units are sicker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.regression import MatchedRateRatio
from impacteval.matching import PropensityModel, nearest_neighbour_match

TRUE_RR = 0.75
N_REPS = 200
N_UNITS = 2500


def simulate(rng: np.random.Generator, n: int = N_UNITS) -> pd.DataFrame:
    age = rng.normal(0.0, 1.0, n)  # standardised age
    frail = rng.binomial(1, 0.4, n)
    prior = rng.poisson(np.exp(0.2 + 0.3 * age))  # prior-year admissions
    logit = -2.6 + 0.7 * age + 0.7 * frail + 0.2 * prior
    treated = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    py = rng.uniform(0.2, 2.0, n)
    rate = np.exp(-0.9 + 0.45 * age + 0.5 * frail + 0.15 * prior) * np.where(
        treated == 1, TRUE_RR, 1.0
    )
    frailty = rng.gamma(shape=4.0, scale=0.25, size=n)  # mean 1: over-dispersion
    y = rng.poisson(py * rate * frailty)
    return pd.DataFrame(
        {"age": age, "frail": frail, "prior": prior, "treated": treated, "py": py, "y": y}
    )


def one_replicate(rng: np.random.Generator) -> dict[str, tuple[float, float, float]]:
    df = simulate(rng)
    covs = ["age", "frail", "prior"]
    ps = PropensityModel().fit(df[covs], df["treated"].to_numpy())
    m = nearest_neighbour_match(
        ps.logit, df["treated"].to_numpy(), caliper=0.2, distance_name="logit_propensity"
    )
    md = m.match_data(df)
    roles = dict(outcome="y", treatment="treated", exposure="py")
    out = {}
    for name, est in (
        (
            "matched_poisson",
            MatchedRateRatio().fit(md, weights="weights", clusters=["subclass"], **roles),
        ),
        (
            "matched_negbin",
            MatchedRateRatio(family="negative_binomial").fit(
                md, weights="weights", clusters=["subclass"], **roles
            ),
        ),
        (
            "matched_adjusted",
            MatchedRateRatio().fit(
                md, weights="weights", clusters=["subclass"], covariates=covs, **roles
            ),
        ),
        ("naive", MatchedRateRatio().fit(df, **roles)),
    ):
        out[name] = (est.estimate, est.ci_lower, est.ci_upper)
    return out


@pytest.fixture(scope="module")
def replicates() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261130)
    runs = [one_replicate(rng) for _ in range(N_REPS)]
    return {k: np.array([r[k] for r in runs]) for k in runs[0]}


def _coverage(a: np.ndarray) -> float:
    return float(np.mean((a[:, 1] <= TRUE_RR) & (TRUE_RR <= a[:, 2])))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["matched_poisson", "matched_negbin", "matched_adjusted"])
def test_matched_estimate_recovers_truth(replicates, method: str) -> None:
    est = replicates[method]
    # mean log RR within 0.03 of log(0.75) (Monte Carlo SE of the mean is about 0.006)
    assert abs(np.mean(np.log(est[:, 0])) - np.log(TRUE_RR)) < 0.03
    cover = _coverage(est)
    assert 0.90 <= cover <= 0.99, cover


@pytest.mark.slow
def test_naive_estimate_is_biased(replicates) -> None:
    naive = replicates["naive"]
    assert np.mean(naive[:, 0]) > TRUE_RR + 0.15
    assert _coverage(naive) < 0.5
