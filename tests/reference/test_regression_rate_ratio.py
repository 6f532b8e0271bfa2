"""MatchedRateRatio against R: glm(poisson) / MASS::glm.nb with offset and prior weights,
sandwich::vcovCL (type "HC0": factor G/(G-1) per clustering dimension) and a numDeriv
delta method for the g-computation rate ratio.

Source of every expected number: tests/reference/data/rate_ratio_glm.json, written by
tests/reference/scripts/rate_ratio_glm.R (R 4.2.2, sandwich 3.0.2, MASS from Debian) from the
simulated matched sample tests/reference/data/rate_ratio_sim.csv that the same script wrote.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.regression import MatchedRateRatio

DATA = Path(__file__).parent / "data"
RTOL = 1e-6
ROLES = dict(outcome="y", treatment="treat", exposure="py", weights="w")


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "rate_ratio_glm.json").read_text())


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return pd.read_csv(DATA / "rate_ratio_sim.csv")


def _se(cov: list[list[float]], j: int = 1) -> float:
    return math.sqrt(cov[j][j])


@pytest.mark.parametrize(
    ("clusters", "cluster_se", "key"),
    [
        (["pair"], True, "vcov_pair"),
        (["pair", "setting"], True, "vcov_pair_setting"),
        (None, True, "vcov_hc0"),
        (None, False, "vcov_model"),
    ],
)
def test_poisson_rate_ratio_and_se(ref, sim, clusters, cluster_se, key) -> None:
    est = MatchedRateRatio(cluster_se=cluster_se).fit(sim, clusters=clusters, **ROLES)
    r = ref["poisson"]
    assert est.details["log_rate_ratio"] == pytest.approx(r["coef"][1], rel=RTOL)
    assert est.estimate == pytest.approx(math.exp(r["coef"][1]), rel=RTOL)
    assert est.std_error == pytest.approx(_se(r[key]), rel=RTOL)
    z = 1.959963984540054  # qnorm(0.975)
    assert est.ci_lower == pytest.approx(math.exp(r["coef"][1] - z * _se(r[key])), rel=RTOL)
    assert est.ci_upper == pytest.approx(math.exp(r["coef"][1] + z * _se(r[key])), rel=RTOL)


def test_marginal_rate_ratio_by_g_computation(ref, sim) -> None:
    est = MatchedRateRatio().fit(sim, clusters=["pair"], covariates=["x1", "x2"], **ROLES)
    r = ref["adjusted"]
    assert est.details["marginal"] is True
    assert est.details["log_rate_ratio"] == pytest.approx(r["log_rr"], rel=RTOL)
    # numDeriv's Richardson extrapolation is accurate to about 1e-8 relative here
    assert est.std_error == pytest.approx(r["se_log_rr"], rel=1e-6)


def test_negative_binomial_matches_glm_nb(ref, sim) -> None:
    r = ref["negbin"]
    est = MatchedRateRatio(family="negative_binomial").fit(sim, clusters=["pair"], **ROLES)
    assert est.details["alpha"] == pytest.approx(r["alpha"], rel=1e-5)
    assert est.details["log_rate_ratio"] == pytest.approx(r["coef"][1], rel=1e-6)
    assert est.std_error == pytest.approx(_se(r["vcov_pair"]), rel=1e-6)
    model = MatchedRateRatio(family="negative_binomial", cluster_se=False).fit(sim, **ROLES)
    assert model.std_error == pytest.approx(_se(r["vcov_model"]), rel=1e-6)


def test_crude_rates_and_absolute_difference(sim) -> None:
    """Crude weighted rates per 1,000 person-years, computed here by hand from the CSV."""
    est = MatchedRateRatio().fit(sim, clusters=["pair"], **ROLES)
    t = sim["treat"] == 1
    w, y, py = sim["w"], sim["y"], sim["py"]
    rate_t = (w * y)[t].sum() / (w * py)[t].sum() * 1000
    rate_c = (w * y)[~t].sum() / (w * py)[~t].sum() * 1000
    assert est.details["rate_treated"] == pytest.approx(rate_t, rel=1e-12)
    assert est.details["rate_control"] == pytest.approx(rate_c, rel=1e-12)
    # Poisson with only a treatment term reproduces the crude weighted rate ratio exactly
    assert est.estimate == pytest.approx(rate_t / rate_c, rel=1e-9)
    d = est.details
    assert d["absolute_difference_per_1000_py"] == pytest.approx((est.estimate - 1) * rate_c)
    assert d["absolute_difference_ci_lower"] == pytest.approx((est.ci_lower - 1) * rate_c)
    assert d["absolute_difference_ci_upper"] == pytest.approx((est.ci_upper - 1) * rate_c)
    assert d["n_clusters"] == [sim["pair"].nunique()]
    assert np.isclose(d["person_years_treated"], (w * py)[t].sum())
