"""Unit tests for the regression discontinuity package (impacteval.estimators.rdd)."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import FrozenInstanceError

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from impacteval.estimators import ESTIMATORS
from impacteval.estimators.rdd import (
    MassPointsWarning,
    RegressionDiscontinuity,
    density_test,
    rd_plot,
)
from impacteval.estimators.rdd.local_poly import kernel_weights, nn_residuals
from impacteval.exceptions import ConfigError, DesignError, SchemaError


def _nn_residuals_loop(x: np.ndarray, d: np.ndarray, nnmatch: int) -> np.ndarray:
    """Observation-by-observation statement of the nearest-neighbour residual (test oracle).

    Grows the window around observation i by whole groups of tied values, nearer side first
    (both when equidistant up to a relative sqrt(eps), as rdrobust), until it holds at least
    min(nnmatch, n - 1) other observations.
    """
    n = len(x)
    out = np.empty_like(d)
    cap = min(nnmatch, n - 1)
    for i in range(n):
        lo = int(np.searchsorted(x, x[i], side="left"))
        hi = int(np.searchsorted(x, x[i], side="right"))  # window is [lo, hi)
        while hi - lo - 1 < cap:
            grow_left = grow_right = False
            if lo == 0:
                grow_right = True
            elif hi == n:
                grow_left = True
            else:
                dl, dr = x[i] - x[lo - 1], x[hi] - x[i]
                tol = max(dl, dr) * math.sqrt(np.finfo(float).eps)  # equidistant up to rounding
                grow_right = dl - dr > tol or abs(dl - dr) <= tol
                grow_left = dr - dl > tol or abs(dl - dr) <= tol
            if grow_left:
                lo = int(np.searchsorted(x, x[lo - 1], side="left"))
            if grow_right:
                hi = int(np.searchsorted(x, x[hi], side="right"))
        j = hi - lo - 1
        others = (d[lo:hi].sum(axis=0) - d[i]) / j
        out[i] = math.sqrt(j / (j + 1)) * (d[i] - others)
    return out


def _sharp_data(n: int = 2000, seed: int = 1, jump: float = 0.5, noise: float = 0.3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    y = 1 + x - 0.5 * x**2 + jump * (x >= 0) + rng.normal(0, noise, n)
    return pd.DataFrame({"score": x, "y": y, "age": rng.normal(50, 10, n),
                         "practice": rng.integers(0, 40, n)})


# ---------------------------------------------------------------- building blocks
@pytest.mark.parametrize("kernel", ["triangular", "epanechnikov", "uniform"])
def test_kernel_weights_integrate_to_one(kernel: str) -> None:
    h = 2.5
    grid = np.linspace(-h, h, 200_001)
    w = kernel_weights(grid, h, kernel)  # type: ignore[arg-type]
    assert np.trapezoid(w, grid) == pytest.approx(1.0, abs=1e-6)
    assert kernel_weights(np.array([h * 1.0001, -h * 1.0001]), h, kernel).tolist() == [0, 0]  # type: ignore[arg-type]


@pytest.mark.parametrize("nnmatch", [1, 3, 5])
def test_nn_residuals_match_loop_with_ties(nnmatch: int) -> None:
    rng = np.random.default_rng(7)
    x = np.sort(np.round(rng.uniform(0, 3, 120), 1))  # many ties
    d = rng.normal(size=(120, 3))
    got = nn_residuals(x, d, nnmatch)
    np.testing.assert_allclose(got, _nn_residuals_loop(x, d, nnmatch), rtol=1e-12, atol=1e-12)


def test_nn_residuals_small_sample_caps_neighbours() -> None:
    x = np.array([0.0, 1.0, 2.0])
    d = np.array([[1.0], [2.0], [6.0]])
    got = nn_residuals(x, d, nnmatch=3)  # only 2 others exist
    expected = np.sqrt(2 / 3) * (d[:, 0] - (d.sum() - d[:, 0]) / 2)
    np.testing.assert_allclose(got[:, 0], expected)


# ---------------------------------------------------------------- estimator behaviour
def test_registered_and_frozen() -> None:
    assert ESTIMATORS.get("regression_discontinuity") is RegressionDiscontinuity
    est = RegressionDiscontinuity()
    with pytest.raises(FrozenInstanceError):
        est.p = 2  # type: ignore[misc]
    assert est.design == "regression_discontinuity"


def test_exact_recovery_without_noise() -> None:
    """A locally linear truth with a jump of 3 is fitted exactly by a local linear fit."""
    x = np.linspace(-1, 1, 401)
    df = pd.DataFrame({"x": x, "y": 1 + 2 * x + 3 * (x >= 0)})
    res = RegressionDiscontinuity().fit(df, outcome="y", running="x", h=0.5)
    assert res.estimate == pytest.approx(3.0, abs=1e-10)
    assert res.details["estimate_bias_corrected"] == pytest.approx(3.0, abs=1e-10)
    assert res.design == "regression_discontinuity" and res.scale == "difference"


def test_fit_result_fields_and_purity() -> None:
    df = _sharp_data()
    before = df.copy(deep=True)
    est = RegressionDiscontinuity(cutoff=0.0, vce="hc1")
    res = est.fit(df, outcome="y", running="score", covariates=["age"])
    pd.testing.assert_frame_equal(df, before)
    assert est == RegressionDiscontinuity(cutoff=0.0, vce="hc1")
    d = res.details
    assert res.ci_lower == pytest.approx(d["ci_lower_robust"])
    assert res.std_error == pytest.approx(d["se_robust"])
    assert d["ci_lower_robust"] < d["estimate_bias_corrected"] < d["ci_upper_robust"]
    assert d["n_h_left"] == res.n_control and d["n_h_right"] == res.n_treated
    assert d["n_left"] + d["n_right"] == len(df)
    assert set(d["covariate_coefficients"]) == {"age"}
    assert res.estimate == pytest.approx(0.5, abs=0.15)
    json.dumps(res.to_dict())  # JSON-ready
    assert res.tidy().shape[0] == 1


def test_missing_rows_dropped_and_counted() -> None:
    df = _sharp_data()
    df.loc[:9, "y"] = np.nan
    res = RegressionDiscontinuity().fit(df, outcome="y", running="score")
    assert res.details["n_dropped_missing"] == 10
    assert df["y"].isna().sum() == 10  # input untouched


def test_cutoff_shifts_like_the_running_variable() -> None:
    df = _sharp_data()
    a = RegressionDiscontinuity().fit(df, outcome="y", running="score")
    shifted = df.assign(score=df["score"] + 65.0)
    b = RegressionDiscontinuity(cutoff=65.0).fit(shifted, outcome="y", running="score")
    assert b.estimate == pytest.approx(a.estimate, rel=1e-6)
    assert b.details["h_left"] == pytest.approx(a.details["h_left"], rel=1e-6)


def test_cluster_uses_cr1_and_counts_clusters() -> None:
    df = _sharp_data()
    res = RegressionDiscontinuity().fit(df, outcome="y", running="score", cluster="practice")
    assert res.details["vce"] == "cr1"
    assert res.details["n_clusters"] == 40


def test_fuzzy_recovers_ratio() -> None:
    rng = np.random.default_rng(3)
    n = 6000
    x = rng.uniform(-1, 1, n)
    take = (rng.uniform(size=n) < np.where(x >= 0, 0.8, 0.2)).astype(float)
    y = 0.5 * x + 2.0 * take + rng.normal(0, 0.5, n)
    df = pd.DataFrame({"x": x, "t": take, "y": y})
    res = RegressionDiscontinuity(fuzzy=True).fit(df, outcome="y", running="x", treatment="t")
    assert res.estimate == pytest.approx(2.0, abs=0.4)
    assert res.details["first_stage_estimate"] == pytest.approx(0.6, abs=0.1)
    assert res.ci_lower < 2.0 < res.ci_upper


def test_covariate_balance_and_bandwidth_sensitivity() -> None:
    df = _sharp_data()
    est = RegressionDiscontinuity()
    bal = est.covariate_balance(df, running="score", covariates=["age"])
    assert list(bal["covariate"]) == ["age"]
    assert bal.loc[0, "ci_lower"] < 0 < bal.loc[0, "ci_upper"]  # age is smooth at the cutoff
    sens = est.bandwidth_sensitivity(df, outcome="y", running="score", multipliers=(0.75, 1.0))
    base = est.fit(df, outcome="y", running="score")
    row = sens[sens["multiplier"] == 1.0].iloc[0]
    assert row["estimate"] == pytest.approx(base.estimate)
    assert row["ci_lower"] == pytest.approx(base.ci_lower)
    explicit = est.bandwidth_sensitivity(df, outcome="y", running="score", bandwidths=[0.3, 0.6])
    assert explicit["h_left"].tolist() == [0.3, 0.6]
    assert explicit["b_left"].tolist() == [0.3, 0.6]
    assert explicit["multiplier"].isna().all()


def test_mass_points_warn_and_adjust() -> None:
    rng = np.random.default_rng(5)
    age = rng.integers(55, 85, 5000).astype(float)  # age in whole years, cutoff 70
    df = pd.DataFrame({"age": age, "y": 0.1 * age + 1.0 * (age >= 70) + rng.normal(0, 1, 5000)})
    with pytest.warns(MassPointsWarning, match="mass points"):
        res = RegressionDiscontinuity(cutoff=70).fit(df, outcome="y", running="age")
    assert res.details["mass_points_adjusted"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error", MassPointsWarning)
        RegressionDiscontinuity(cutoff=70, masspoints="off").fit(df, outcome="y", running="age")


# ---------------------------------------------------------------- errors
SECRET = 987654.321  # a value planted in the data that must never appear in a message


def _assert_no_values(exc: pytest.ExceptionInfo[BaseException]) -> None:
    assert str(SECRET) not in str(exc.value) and "987654" not in str(exc.value)


def test_error_no_observations_on_one_side() -> None:
    df = _sharp_data()
    df = df[df["score"] < 0].copy()
    df.loc[df.index[0], "y"] = SECRET
    with pytest.raises(DesignError, match="no observations at or above the cutoff") as exc:
        RegressionDiscontinuity().fit(df, outcome="y", running="score")
    _assert_no_values(exc)


def test_error_too_few_within_bandwidth() -> None:
    df = _sharp_data()
    df.loc[df.index[0], "y"] = SECRET
    with pytest.raises(DesignError, match="too few observations within the bandwidth") as exc:
        RegressionDiscontinuity().fit(df, outcome="y", running="score", h=0.001)
    _assert_no_values(exc)


def test_error_too_few_to_select() -> None:
    df = _sharp_data(n=15)
    with pytest.raises(DesignError, match="too few to select a bandwidth"):
        RegressionDiscontinuity().fit(df, outcome="y", running="score")


def test_error_fuzzy_treatment_does_not_jump() -> None:
    rng = np.random.default_rng(2)
    df = _sharp_data(n=3000)
    df["t"] = (rng.uniform(size=len(df)) < 0.5).astype(float)  # same take-up on both sides
    df.loc[df.index[0], "y"] = SECRET
    with pytest.raises(DesignError, match="does not jump at the cutoff") as exc:
        RegressionDiscontinuity(fuzzy=True).fit(df, outcome="y", running="score", treatment="t")
    _assert_no_values(exc)
    df["t"] = 1.0
    with pytest.raises(DesignError, match="constant on both sides"):
        RegressionDiscontinuity(fuzzy=True).fit(df, outcome="y", running="score", treatment="t")


@pytest.mark.parametrize(
    "kwargs, where",
    [
        ({"p": -1}, "regression_discontinuity.p"),
        ({"p": 2, "q": 2}, "regression_discontinuity.q"),
        ({"kernel": "gaussian"}, "regression_discontinuity.kernel"),
        ({"bwselect": "ik"}, "regression_discontinuity.bwselect"),
        ({"vce": "hc4"}, "regression_discontinuity.vce"),
        ({"nnmatch": 0}, "regression_discontinuity.nnmatch"),
        ({"level": 95}, "regression_discontinuity.level"),
        ({"masspoints": "yes"}, "regression_discontinuity.masspoints"),
    ],
)
def test_bad_parameters(kwargs: dict, where: str) -> None:
    with pytest.raises(ConfigError) as exc:
        RegressionDiscontinuity(**kwargs)
    assert exc.value.where == where


def test_role_errors() -> None:
    df = _sharp_data().assign(t=0.0)
    with pytest.raises(ConfigError, match="fuzzy design needs the treatment"):
        RegressionDiscontinuity(fuzzy=True).fit(df, outcome="y", running="score")
    with pytest.raises(ConfigError, match="only used by a fuzzy design"):
        RegressionDiscontinuity().fit(df, outcome="y", running="score", treatment="t")
    with pytest.raises(ConfigError, match="cluster"):
        RegressionDiscontinuity(vce="hc3").fit(df, outcome="y", running="score", cluster="practice")
    with pytest.raises(SchemaError) as exc:
        RegressionDiscontinuity().fit(df, outcome="nope", running="score")
    assert exc.value.where == "data.nope"
    with pytest.raises(ConfigError):
        RegressionDiscontinuity().fit(df, outcome="y", running="score", h=-1.0)


# ---------------------------------------------------------------- density test and plot
def test_density_test_detects_manipulation() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(0, 1, 4000)
    smooth = density_test(x)
    assert smooth.p_value > 0.01
    # Push 40% of the units just below the cutoff to just above it (sorting/manipulation).
    moved = (x > -0.3) & (x < 0) & (rng.uniform(size=x.size) < 0.4)
    manipulated = np.where(moved, -x, x)
    res = density_test(manipulated)
    assert res.p_value < 0.01 and res.statistic > 0
    assert res.density_right > res.density_left


def test_density_test_errors() -> None:
    with pytest.raises(DesignError, match="distinct values"):
        density_test(np.r_[np.linspace(-1, -0.1, 10), np.linspace(0, 1, 100)])
    with pytest.raises(DesignError):
        density_test(np.linspace(-1, 1, 200), p=9)


@pytest.mark.parametrize("binning", ["es", "qs"])
def test_rd_plot(binning: str) -> None:
    df = _sharp_data(n=1000)
    before = df.copy()
    plot = rd_plot(df, outcome="y", running="score", n_bins=(10, 8), binning=binning)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(df, before)
    assert isinstance(plot.figure, Figure)
    assert plot.bins["n"].sum() == len(df)
    assert (plot.bins["side"] == "left").sum() <= 10 and (plot.bins["side"] == "right").sum() <= 8
    left = plot.bins[plot.bins["side"] == "left"]
    assert (left["x_upper"] <= 0).all()
    if binning == "qs":
        assert left["n"].max() - left["n"].min() <= 2
    gap = plot.fit.groupby("side")["fitted"].agg(["first", "last"])
    assert gap.loc["right", "first"] - gap.loc["left", "last"] == pytest.approx(0.5, abs=0.3)
    with pytest.raises(ConfigError):
        rd_plot(df, outcome="y", running="score", binning="xx")  # type: ignore[arg-type]
