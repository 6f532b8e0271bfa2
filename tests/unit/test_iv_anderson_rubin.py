"""Unit tests of the Anderson-Rubin statistic and confidence set.

Independent sources: statsmodels OLS Wald tests (HC1 and cluster-robust with Stata's
correction) for the statistic at a given ``b``; for classical errors, the closed-form solution
of the quadratic inequality ``RSS_r(b) - RSS_u(b) <= c * q / df * RSS_u(b)`` (Dufour and Taamouti
2005), with the quadratics recovered from three least-squares fits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from impacteval.estimators.iv import anderson_rubin, stock_yogo_critical_values
from impacteval.estimators.iv.anderson_rubin import AndersonRubinStatistic, confidence_set


def _design(seed: int, n: int, pi: np.ndarray, rho: float = 0.6, beta: float = 1.0):
    rng = np.random.default_rng(seed)
    q = len(pi)
    z = rng.normal(size=(n, q))
    w = np.column_stack([np.ones(n), rng.normal(size=n)])
    u = rng.normal(size=n)
    v = rho * u + math.sqrt(1 - rho**2) * rng.normal(size=n)
    x = z @ pi + 0.5 * w[:, 1] + v
    y = beta * x + 0.3 * w[:, 1] + u
    return y, x, z, w


def _rss(target: np.ndarray, regressors: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(regressors, target, rcond=None)
    r = target - regressors @ coef
    return float(r @ r)


def _closed_form_set(y, x, z, w, level):
    """Classical AR set from the quadratic inequality (independent of the module)."""
    n, q = z.shape
    df = n - w.shape[1] - q
    crit = stats.f.ppf(level, q, df)
    full = np.column_stack([w, z])

    def g(b: float) -> float:  # <= 0 inside the set
        t = y - b * x
        rss_u = _rss(t, full)
        rss_r = _rss(t, w)
        return (rss_r - rss_u) - crit * q / df * rss_u

    # g is a quadratic in b: recover its coefficients from three points
    pts = np.array([-1.0, 0.0, 1.0])
    a2, a1, a0 = np.polyfit(pts, [g(p) for p in pts], 2)
    disc = a1 * a1 - 4 * a2 * a0
    if disc < 0:
        return [] if a2 > 0 else [(-math.inf, math.inf)]
    r1, r2 = sorted(np.roots([a2, a1, a0]).real)
    if a2 > 0:
        return [(r1, r2)]
    return [(-math.inf, r1), (r2, math.inf)]


@pytest.mark.parametrize(
    ("seed", "pi", "expected_shape"),
    [
        (1, np.array([0.5]), "bounded"),
        (2, np.array([0.4, 0.2]), "bounded"),
        (3, np.array([0.02]), None),  # very weak: unbounded in some form
        (4, np.array([0.03, 0.01, 0.02]), None),
    ],
)
def test_classical_set_equals_closed_form(seed, pi, expected_shape) -> None:
    y, x, z, w = _design(seed, 300, pi)
    res = anderson_rubin(y, x, z, w, cov_type="unadjusted", level=0.95)
    expected = _closed_form_set(y, x, z, w, 0.95)
    assert len(res.intervals) == len(expected)
    for (lo, hi), (elo, ehi) in zip(res.intervals, expected, strict=True):
        for got, want in ((lo, elo), (hi, ehi)):
            if math.isinf(want):
                assert got == want
            else:
                assert got == pytest.approx(want, rel=1e-7, abs=1e-9)
    if expected_shape is not None:
        assert res.shape == expected_shape
    else:
        assert res.bounded is False


def test_disjoint_two_rays_found() -> None:
    """Weak first stage but a clear reduced form: the set is two rays (Dufour 1997)."""
    found = False
    for seed in range(40):
        y, x, z, w = _design(seed, 200, np.array([0.08]), rho=0.9, beta=3.0)
        expected = _closed_form_set(y, x, z, w, 0.95)
        if len(expected) == 2:
            res = anderson_rubin(y, x, z, w, cov_type="unadjusted")
            assert res.shape == "disjoint"
            assert res.bounded is False
            (l1, h1), (l2, h2) = res.intervals
            assert l1 == -math.inf and h2 == math.inf
            assert h1 == pytest.approx(expected[0][1], rel=1e-7)
            assert l2 == pytest.approx(expected[1][0], rel=1e-7)
            assert not res.contains((h1 + l2) / 2)
            assert res.contains(h1 - 1e3) and res.contains(l2 + 1e3)
            found = True
            break
    assert found, "no seed produced two rays; the design needs adjusting"


def test_empty_set_when_overidentifying_restrictions_fail() -> None:
    rng = np.random.default_rng(11)
    n = 2000
    z = rng.normal(size=(n, 2))
    w = np.ones((n, 1))
    u = rng.normal(size=n)
    x = z @ np.array([1.0, 1.0]) + 0.5 * u + rng.normal(size=n)
    y = x + 3.0 * z[:, 1] + u  # the second instrument has a direct effect: invalid
    res = anderson_rubin(y, x, z, w, cov_type="unadjusted")
    assert res.shape == "empty"
    assert res.intervals == ()
    assert math.isnan(res.ci_lower) and math.isnan(res.ci_upper)


@pytest.mark.parametrize("cov_type", ["robust", "clustered"])
def test_robust_statistic_equals_statsmodels_wald(cov_type: str) -> None:
    y, x, z, w = _design(5, 400, np.array([0.3, 0.1]))
    rng = np.random.default_rng(9)
    groups = rng.integers(0, 40, size=len(y))
    stat = AndersonRubinStatistic(
        y, x, z, w, cov_type=cov_type, clusters=groups if cov_type == "clustered" else None
    )
    exog = np.column_stack([w, z])
    r = np.zeros((2, exog.shape[1]))
    r[0, -2] = r[1, -1] = 1.0
    for b in (-2.0, 0.0, 0.7, 1.0, 25.0):
        ols = sm.OLS(y - b * x, exog)
        if cov_type == "robust":
            fitted = ols.fit(cov_type="HC1")
        else:
            fitted = ols.fit(cov_type="cluster", cov_kwds={"groups": groups})
        wald = float(np.squeeze(fitted.wald_test(r, use_f=False, scalar=True).statistic))
        assert float(stat(b)[0]) == pytest.approx(wald, rel=1e-9)


def test_statistic_at_infinity_is_first_stage_wald() -> None:
    y, x, z, w = _design(6, 400, np.array([0.3, 0.1]))
    stat = AndersonRubinStatistic(y, x, z, w, cov_type="robust")
    fitted = sm.OLS(x, np.column_stack([w, z])).fit(cov_type="HC1")
    r = np.zeros((2, 4))
    r[0, 2] = r[1, 3] = 1.0
    wald = float(np.squeeze(fitted.wald_test(r, use_f=False, scalar=True).statistic))
    assert stat.at_infinity() == pytest.approx(wald, rel=1e-9)
    assert float(stat(1e9)[0]) == pytest.approx(wald, rel=1e-5)


@pytest.mark.parametrize("cov_type", ["unadjusted", "robust"])
def test_coarse_grid_still_finds_a_narrow_set(cov_type) -> None:
    """A 5-point grid far from the set still finds it (the minimiser joins the grid)."""
    y, x, z, w = _design(7, 5000, np.array([1.0, 0.5]))
    stat = AndersonRubinStatistic(y, x, z, w, cov_type=cov_type)
    fine, _ = confidence_set(stat, 0.95, n_grid=4001)
    # centre the coarse grid far away so that no grid point falls inside the set
    coarse, _ = confidence_set(stat, 0.95, centre=50.0, scale=10.0, n_grid=5)
    assert len(fine) == len(coarse) == 1
    assert coarse[0][0] == pytest.approx(fine[0][0], rel=1e-8)
    assert coarse[0][1] == pytest.approx(fine[0][1], rel=1e-8)


def test_test_statistic_p_value_and_null() -> None:
    y, x, z, w = _design(8, 300, np.array([0.5]), beta=0.0)
    res = anderson_rubin(y, x, z, w, cov_type="unadjusted", null=0.0)
    # classical AR test of beta = 0 is the F test of the instruments in y on (w, z)
    fitted = sm.OLS(y, np.column_stack([w, z])).fit()
    f = fitted.f_test(np.array([[0.0, 0.0, 1.0]]))
    assert res.statistic == pytest.approx(float(np.squeeze(f.fvalue)), rel=1e-9)
    assert res.p_value == pytest.approx(float(f.pvalue), rel=1e-8)
    assert res.df == (1, 300 - 3)
    assert res.contains(0.0) == (res.p_value > 0.05)


def test_stock_yogo_values() -> None:
    # Stock and Yogo (2005) Table 5.2, one endogenous regressor: 16.38 (1 instrument),
    # 19.93 (2), 22.30 (3) for a maximal 10% size; Table 5.1 starts at 3 instruments (9.08)
    assert stock_yogo_critical_values(1)["2sls_size_0.10"] == 16.38
    assert stock_yogo_critical_values(2)["2sls_size_0.10"] == 19.93
    assert stock_yogo_critical_values(3)["2sls_size_0.10"] == 22.30
    assert stock_yogo_critical_values(3)["2sls_bias_0.10"] == 9.08
    assert "2sls_bias_0.10" not in stock_yogo_critical_values(2)
    # with one instrument LIML is 2SLS, so the size tables agree
    liml, tsls = stock_yogo_critical_values(1, method="liml"), stock_yogo_critical_values(1)
    for size in ("0.10", "0.15", "0.20", "0.25"):
        assert liml[f"liml_size_{size}"] == tsls[f"2sls_size_{size}"]
    assert stock_yogo_critical_values(0) == {}
    assert stock_yogo_critical_values(31) == {}


def test_classical_minimiser_is_liml() -> None:
    """LIML minimises the classical AR statistic (Anderson and Rubin 1949)."""
    import pandas as pd
    from linearmodels.iv import IVLIML

    y, x, z, w = _design(12, 500, np.array([0.4, 0.3, 0.2]))
    stat = AndersonRubinStatistic(y, x, z, w, cov_type="unadjusted")
    liml = IVLIML(
        pd.Series(y), pd.DataFrame(w), pd.DataFrame({"x": x}), pd.DataFrame(z, columns=list("abc"))
    ).fit(cov_type="unadjusted")
    assert stat.minimiser() == pytest.approx(float(liml.params["x"]), rel=1e-8)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(30, 400),
    strength=st.floats(0.0, 1.0),
    q=st.integers(1, 3),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_classical_set_equals_closed_form_property(seed, n, strength, q, level) -> None:
    """Any data: the classical AR set is exactly the solution of the quadratic inequality."""
    y, x, z, w = _design(seed, n, np.full(q, strength), rho=0.8)
    res = anderson_rubin(y, x, z, w, cov_type="unadjusted", level=level)
    expected = _closed_form_set(y, x, z, w, level)
    assert len(res.intervals) == len(expected)
    for (lo, hi), (elo, ehi) in zip(res.intervals, expected, strict=True):
        for got, want in ((lo, elo), (hi, ehi)):
            if math.isinf(want):
                assert got == want
            else:
                assert got == pytest.approx(want, rel=1e-6, abs=1e-8)
