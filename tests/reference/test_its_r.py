"""Interrupted time series models against R (glm, MASS::glm.nb, sandwich::NeweyWest, arima).

Source of every expected number: ``tests/reference/data/its_r_reference.json``, written by
``tests/reference/scripts/its_r_glm.R`` (R 4.x from Debian r-base-core, MASS, sandwich) on

* the Sicily smoking-ban series of Lopez Bernal, Cummins & Gasparrini (2017), *Int J
  Epidemiol* 46:348-355 (``its_sicily.csv``), and
* the UK seat-belt law series, R ``datasets::Seatbelts`` (Harvey & Durbin 1986, *JRSS A*
  149:187-227) (``its_seatbelts.csv``), also as a controlled ITS of front-seat (covered by
  the law) against rear-seat (comparison) casualties, with Driscoll-Kraay standard errors
  compared with ``sandwich::vcovPL``, and
* California's cigarette sales (Linden 2015; ``its_california_cigsales.csv``).

Maximum-likelihood GLMs, quasi-Poisson and Newey-West covariances agree to 1e-6 relative;
the regression with AR(1) errors is a numerical optimum in both programs (R ``optim`` BFGS,
statsmodels L-BFGS on the Kalman-filter likelihood) and agrees to 1e-4 (coefficients) and
2e-3 (standard errors, numerical Hessians).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from impacteval.estimators.its import InterruptedTimeSeries

DATA = Path(__file__).parent / "data"
REF: dict[str, Any] = json.loads((DATA / "its_r_reference.json").read_text())


def _sicily() -> pd.DataFrame:
    d = pd.read_csv(DATA / "its_sicily.csv")
    return d.assign(rate=d["aces"] / d["stdpop"] * 1e5)


def _seatbelts() -> pd.DataFrame:
    d = pd.read_csv(DATA / "its_seatbelts.csv")
    date = pd.to_datetime(pd.DataFrame({"year": d["year"], "month": d["month"], "day": 1}))
    return d.assign(date=date, log_drivers=np.log(d["drivers"]))


def _california() -> pd.DataFrame:
    d = pd.read_csv(DATA / "its_california_cigsales.csv")
    return d.assign(t=d["year"] - 1970)


def _seatbelts_stacked() -> pd.DataFrame:
    d = _seatbelts()
    front = pd.DataFrame({"date": d["date"], "y": np.log(d["front"]), "g": 1})
    rear = pd.DataFrame({"date": d["date"], "y": np.log(d["rear"]), "g": 0})
    return pd.concat([rear, front], ignore_index=True)


def _r_name(term: str) -> str:
    names = {"(Intercept)": "intercept", "t": "time", "g": "group", "t:g": "group:time",
             "g:level_1": "group:level_1", "g:slope_1": "group:slope_1"}
    if term in names:
        return names[term]
    if term.startswith("fmonth"):
        return "month_" + term.removeprefix("fmonth")
    return term


SICILY = dict(outcome="aces", time="time", interruptions=[37], population="stdpop")
SEAT = dict(outcome="DriversKilled", time="date", interruptions=["1983-02-01"])

CASES = [
    ("sicily_poisson", _sicily, dict(family="poisson", errors="iid", slope_change=False), SICILY),
    ("sicily_quasipoisson", _sicily, dict(family="quasipoisson", errors="iid", slope_change=False), SICILY),
    ("sicily_poisson_fourier", _sicily,
     dict(family="poisson", errors="iid", slope_change=False, seasonality="fourier", period=12), SICILY),
    ("sicily_quasipoisson_fourier", _sicily,
     dict(family="quasipoisson", errors="iid", slope_change=False, seasonality="fourier", period=12), SICILY),
    ("sicily_quasipoisson_fourier_slope", _sicily,
     dict(family="quasipoisson", errors="iid", seasonality="fourier", period=12), SICILY),
    ("sicily_negbin_fourier_slope", _sicily,
     dict(family="negative_binomial", errors="iid", seasonality="fourier", period=12), SICILY),
    ("sicily_poisson_slope_hac3", _sicily, dict(family="poisson", errors="hac", hac_maxlags=3), SICILY),
    ("sicily_ols_rate_fourier_slope_hac3", _sicily,
     dict(family="gaussian", errors="hac", hac_maxlags=3, seasonality="fourier", period=12),
     dict(outcome="rate", time="time", interruptions=[37])),
    ("sicily_ols_rate_fourier_slope_iid", _sicily,
     dict(family="gaussian", errors="iid", seasonality="fourier", period=12),
     dict(outcome="rate", time="time", interruptions=[37])),
    ("seatbelts_poisson_month_slope", _seatbelts,
     dict(family="poisson", errors="iid", seasonality="month"), {**SEAT, "population": "kms"}),
    ("seatbelts_negbin_month_slope", _seatbelts,
     dict(family="negative_binomial", errors="iid", seasonality="month"), {**SEAT, "population": "kms"}),
    ("seatbelts_quasipoisson_fourier_petrol", _seatbelts,
     dict(family="quasipoisson", errors="iid", slope_change=False, seasonality="fourier"),
     {**SEAT, "covariates": ["PetrolPrice"]}),
    ("california_ols_hac1", _california, dict(errors="hac", hac_maxlags=1),
     dict(outcome="cigsale", time="t", interruptions=[19])),
    ("seatbelts_controlled_ols_iid", _seatbelts_stacked,
     dict(errors="iid", seasonality="month"),
     dict(outcome="y", time="date", interruptions=["1983-02-01"], group="g")),
    ("seatbelts_controlled_ols_dk3", _seatbelts_stacked,
     dict(errors="hac", hac_maxlags=3, seasonality="month"),
     dict(outcome="y", time="date", interruptions=["1983-02-01"], group="g")),
    ("seatbelts_ols_log_month_slope_hac6", _seatbelts,
     dict(family="gaussian", errors="hac", hac_maxlags=6, seasonality="month"),
     {**SEAT, "outcome": "log_drivers"}),
]


@pytest.mark.parametrize(("name", "loader", "params", "roles"), CASES, ids=[c[0] for c in CASES])
def test_against_r(name: str, loader: Any, params: dict[str, Any], roles: dict[str, Any]) -> None:
    ref = REF[name]
    res = InterruptedTimeSeries(**params).fit_series(loader(), **roles)
    coefs = res.coefficients.set_index("term")
    terms = [_r_name(t) for t in ref["terms"]]
    assert sorted(terms) == sorted(coefs.index)
    np.testing.assert_allclose(coefs.loc[terms, "estimate"], ref["coef"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(coefs.loc[terms, "std_error"], ref["se"], rtol=1e-6)
    if "dispersion" in ref:
        assert res.details["dispersion"] == pytest.approx(ref["dispersion"], rel=1e-6)
    if "theta" in ref:
        assert 1 / res.details["alpha"] == pytest.approx(ref["theta"], rel=1e-5)


# Standard errors of the ARIMA model come from numerical Hessians. R's ``arima`` uses
# optim's finite differences (step 1e-3) in SVD-rotated regressor coordinates, which with the
# eleven month indicators of the seat-belt model is about 5% away from the GLS covariance
# (Prais-Winsten at the ML phi) that statsmodels' Hessian agrees with to 0.3%.
ARIMA_CASES = [
    ("sicily_ols_rate_slope_ar1", _sicily, dict(errors="arima"),
     dict(outcome="rate", time="time", interruptions=[37]), 2e-3),
    ("seatbelts_ols_log_month_ar1", _seatbelts,
     dict(errors="arima", slope_change=False, seasonality="month"),
     {**SEAT, "outcome": "log_drivers"}, 6e-2),
]


@pytest.mark.parametrize(("name", "loader", "params", "roles", "se_rtol"), ARIMA_CASES,
                         ids=[c[0] for c in ARIMA_CASES])
def test_arima_errors_against_r(
    name: str, loader: Any, params: dict[str, Any], roles: dict[str, Any], se_rtol: float
) -> None:
    ref = REF[name]
    res = InterruptedTimeSeries(**params).fit_series(loader(), **roles)
    coefs = res.coefficients.set_index("term")
    terms = ["intercept" if t == "1" else _r_name(t) for t in ref["terms"]]
    np.testing.assert_allclose(coefs.loc[terms, "estimate"], ref["coef"], rtol=1e-5, atol=1e-8)
    ar1, sigma2 = res.details["arma_params"]
    assert ar1 == pytest.approx(ref["ar1"], rel=1e-5)
    assert sigma2 == pytest.approx(ref["sigma2"], rel=1e-6)
    assert res.details["loglik"] == pytest.approx(ref["loglik"], rel=1e-9)
    np.testing.assert_allclose(coefs.loc[terms, "std_error"], ref["se"], rtol=se_rtol)


def test_residual_diagnostics_against_r() -> None:
    """ACF, PACF (R ``acf``/``pacf``), Ljung-Box (``Box.test``, lag 11) and Durbin-Watson of
    the deviance residuals of the tutorial's model3 (quasi-Poisson with Fourier terms)."""
    ref = REF["sicily_model3_residuals"]
    res = InterruptedTimeSeries(
        family="quasipoisson", errors="iid", slope_change=False, seasonality="fourier",
        period=12,
    ).fit_series(_sicily(), **SICILY)
    d = res.diagnostics
    np.testing.assert_allclose(d.correlogram["acf"], ref["acf"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.correlogram["pacf"], ref["pacf"], rtol=1e-9, atol=1e-12)
    assert d.ljung_box_lag == 11
    assert d.ljung_box_stat == pytest.approx(ref["ljung_box_stat"], rel=1e-9)
    assert d.ljung_box_p == pytest.approx(ref["ljung_box_p"], rel=1e-9)
    assert d.durbin_watson == pytest.approx(ref["durbin_watson"], rel=1e-12)


SARIMA = json.loads((DATA / "its_r_sarima.json").read_text())
SARIMA_CASES = [
    ("seatbelts_log_sar12", dict(arima_order=(1, 0, 0), seasonal_order=(1, 0, 0, 12),
                                 slope_change=False)),
    ("seatbelts_log_sma12_slope", dict(arima_order=(0, 0, 1), seasonal_order=(0, 0, 1, 12))),
]


@pytest.mark.parametrize(("name", "params"), SARIMA_CASES, ids=[c[0] for c in SARIMA_CASES])
def test_seasonal_arima_errors_against_r(name: str, params: dict[str, Any]) -> None:
    """Regression with seasonal ARMA errors (``seasonal_order``) against R ``arima(...,
    seasonal = list(order = ., period = 12), method = "ML")`` on the seat-belt series
    (``tests/reference/scripts/its_r_sarima.R``): the same maximum of the exact likelihood.
    R's standard errors come from optim's numerical Hessian; ours are the inverse information
    of the coefficients (GLS), which agree to a few per cent."""
    ref = SARIMA[name]
    res = InterruptedTimeSeries(errors="arima", **params).fit_series(
        _seatbelts(), **{**SEAT, "outcome": "log_drivers"})
    coefs = res.coefficients.set_index("term").loc[ref["terms"]]
    np.testing.assert_allclose(coefs["estimate"], ref["coef"], rtol=1e-4, atol=1e-7)
    *arma, sigma2 = res.details["arma_params"]
    np.testing.assert_allclose(arma, ref["arma"], rtol=1e-3)
    assert sigma2 == pytest.approx(ref["sigma2"], rel=1e-4)
    assert res.details["loglik"] == pytest.approx(ref["loglik"], rel=1e-7)
    np.testing.assert_allclose(coefs["std_error"], ref["se"], rtol=0.05)
