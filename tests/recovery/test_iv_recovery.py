"""Recovery of known effects by the instrumental-variables estimator (simulated data).

Designs (all numbers below are properties of these simulations, fixed by their seeds):

- strong instruments, constant effect 1.0, endogeneity ``corr(u, v) = 0.7``: 2SLS unbiased,
  Wald and Anderson-Rubin intervals cover at about 95%, OLS biased upwards;
- one weak instrument (concentration parameter n pi^2 = 0.5, endogeneity 0.95): the 2SLS Wald interval
  under-covers while the Anderson-Rubin set covers at the nominal rate (it is exact for
  normal homoskedastic errors: Anderson and Rubin 1949);
- binary instrument and treatment with heterogeneous effects (compliers 2.0, always-takers
  5.0, never-takers -1.0, and confounded baseline outcomes): the estimate is the complier
  effect (LATE = 2.0, Imbens and Angrist 1994), not the average effect (1.7), and not OLS.

Coverage over many replications uses the same building blocks as the estimator
(linearmodels IV2SLS with ``debiased=True`` and :func:`anderson_rubin`); a subset of
replications checks that :class:`InstrumentalVariables` returns exactly those numbers.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from linearmodels.iv import IV2SLS

from impacteval.estimators.iv import InstrumentalVariables, WeakInstrumentWarning, anderson_rubin

pytestmark = pytest.mark.slow


def _simulate(rng: np.random.Generator, n: int, pi: np.ndarray, rho: float, beta: float):
    q = len(pi)
    z = rng.normal(size=(n, q))
    age = rng.normal(size=n)
    u = rng.normal(size=n)
    v = rho * u + math.sqrt(1.0 - rho**2) * rng.normal(size=n)
    x = z @ pi + 0.5 * age + v
    y = beta * x + 0.3 * age + u
    cols = {f"z{j}": z[:, j] for j in range(q)}
    return pd.DataFrame({"y": y, "x": x, "age": age, **cols})


def _ols_slope(df: pd.DataFrame) -> float:
    design = np.column_stack([np.ones(len(df)), df["age"].to_numpy(), df["x"].to_numpy()])
    coef, *_ = np.linalg.lstsq(design, df["y"].to_numpy(), rcond=None)
    return float(coef[2])


def _blocks(df: pd.DataFrame, instruments: list[str], cov_type: str, level: float = 0.95):
    w = df[["age"]].assign(const=1.0)
    fitted = IV2SLS(df["y"], w, df[["x"]], df[instruments]).fit(cov_type=cov_type, debiased=True)
    ci = fitted.conf_int(level).loc["x"]
    ar = anderson_rubin(
        df["y"].to_numpy(),
        df["x"].to_numpy(),
        df[instruments].to_numpy(),
        w[["const", "age"]].to_numpy(),
        cov_type=cov_type,  # type: ignore[arg-type]
        level=level,
    )
    return float(fitted.params["x"]), (float(ci["lower"]), float(ci["upper"])), ar


def test_strong_instruments_unbiased_and_covering() -> None:
    rng = np.random.default_rng(20261130)
    beta, reps = 1.0, 200
    est, wald_cover, ar_cover, ols_est = [], [], [], []
    for r in range(reps):
        df = _simulate(rng, 500, np.array([0.5, 0.3]), rho=0.7, beta=beta)
        b, (lo, hi), ar = _blocks(df, ["z0", "z1"], "robust")
        est.append(b)
        wald_cover.append(lo <= beta <= hi)
        ar_cover.append(ar.contains(beta))
        ols_est.append(_ols_slope(df))
        if r < 3:  # the estimator returns exactly these numbers
            fit = InstrumentalVariables(cov_type="robust").fit(
                df, outcome="y", treatment="x", instruments=["z0", "z1"], covariates=["age"]
            )
            assert fit.estimate == pytest.approx(b, rel=1e-12)
            assert (fit.ci_lower, fit.ci_upper) == pytest.approx((lo, hi), rel=1e-12)
            assert fit.details["anderson_rubin"]["ci_lower"] == pytest.approx(ar.ci_lower)
            assert fit.details["ols"]["estimate"] == pytest.approx(ols_est[-1], rel=1e-9)
    est_a = np.asarray(est)
    mc_se = est_a.std(ddof=1) / math.sqrt(reps)
    bias = est_a.mean() - beta
    assert abs(bias) < 3 * mc_se + 0.01, f"2SLS bias {bias:.4f} (MC SE {mc_se:.4f})"
    # OLS is biased by cov(x, u) / var(x | age) = 0.7 / (0.34 + 1) ~ 0.52
    ols_bias = float(np.mean(ols_est)) - beta
    assert 0.4 < ols_bias < 0.65
    # 200 replications: binomial SE of a 95% coverage is 1.5 points
    assert 0.91 <= np.mean(wald_cover) <= 0.99
    assert 0.91 <= np.mean(ar_cover) <= 0.99


def test_weak_instrument_wald_undercovers_ar_covers() -> None:
    rng = np.random.default_rng(7)
    beta, reps, n = 1.0, 300, 200
    wald_cover, ar_cover, ar_robust_cover, unbounded, est = [], [], [], [], []
    for _ in range(reps):
        # first-stage concentration n * pi^2 = 0.5: a very weak instrument
        df = _simulate(rng, n, np.array([0.05]), rho=0.95, beta=beta)
        b, (lo, hi), ar = _blocks(df, ["z0"], "unadjusted")
        est.append(b)
        wald_cover.append(lo <= beta <= hi)
        ar_cover.append(ar.contains(beta))
        unbounded.append(not ar.bounded)
        ar_robust = anderson_rubin(
            df["y"].to_numpy(),
            df["x"].to_numpy(),
            df[["z0"]].to_numpy(),
            np.column_stack([np.ones(n), df["age"].to_numpy()]),
            cov_type="robust",
        )
        ar_robust_cover.append(ar_robust.contains(beta))
    wald = float(np.mean(wald_cover))
    ar_rate = float(np.mean(ar_cover))
    # binomial SE of a 95% coverage over 300 replications is 1.3 points
    assert wald < 0.88, f"Wald coverage {wald:.3f} should be well below 95%"
    assert 0.92 <= ar_rate <= 0.98, f"AR coverage {ar_rate:.3f}"
    assert 0.90 <= float(np.mean(ar_robust_cover)) <= 0.98
    # weak instruments give unbounded AR sets in a sizeable share of samples (honestly
    # reported, not truncated)
    assert np.mean(unbounded) > 0.5
    # 2SLS is biased towards OLS (here upwards): median bias clearly positive
    assert np.median(est) - beta > 0.2


def test_weak_instrument_estimator_warns() -> None:
    rng = np.random.default_rng(3)
    df = _simulate(rng, 200, np.array([0.05]), rho=0.9, beta=1.0)
    with pytest.warns(WeakInstrumentWarning):
        fit = InstrumentalVariables(cov_type="unadjusted").fit(
            df, outcome="y", treatment="x", instruments=["z0"], covariates=["age"]
        )
    assert fit.details["weak_instruments"] is True


def _late_data(rng: np.random.Generator, n: int) -> pd.DataFrame:
    kind = rng.choice(3, size=n, p=[0.2, 0.3, 0.5])  # always-, never-takers, compliers
    z = rng.integers(0, 2, size=n)
    d = np.where(kind == 0, 1, np.where(kind == 1, 0, z))
    effect = np.array([5.0, -1.0, 2.0])[kind]
    baseline = np.array([3.0, -2.0, 0.0])[kind]  # confounding: type shifts the outcome
    y = baseline + effect * d + rng.normal(size=n)
    return pd.DataFrame({"y": y, "d": d, "z": z})


def test_binary_instrument_recovers_late() -> None:
    rng = np.random.default_rng(11)
    late, ate = 2.0, 0.2 * 5.0 + 0.3 * -1.0 + 0.5 * 2.0
    reps = 25
    est, cover, naive = [], [], []
    for _ in range(reps):
        df = _late_data(rng, 4000)
        with warnings.catch_warnings():
            warnings.simplefilter("error", WeakInstrumentWarning)  # strong: 50% compliers
            fit = InstrumentalVariables().fit(df, outcome="y", treatment="d", instruments=["z"])
        est.append(fit.estimate)
        cover.append(fit.ci_lower <= late <= fit.ci_upper)
        naive.append(fit.details["ols"]["estimate"])
        assert fit.estimand == "LATE"
        assert fit.n_treated + fit.n_control == 4000
    est_a = np.asarray(est)
    mc_se = est_a.std(ddof=1) / math.sqrt(reps)
    assert abs(est_a.mean() - late) < 3 * mc_se + 0.01
    assert abs(est_a.mean() - ate) > 10 * mc_se  # not the average effect
    assert abs(np.mean(naive) - late) > 1.0  # OLS is confounded by type
    assert sum(cover) >= 21  # 25 draws from Binomial(25, 0.95): P(X < 21) ~ 0.007
